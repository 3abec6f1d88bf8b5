//! The relayer's escrow side: the watcher's event ranges, the chain's clock, and reconciliation whenever either
//! side moved.

use tokio_util::sync::CancellationToken;

use super::Relayer;
use crate::backoff::Backoff;
use crate::settle::pamm;
use crate::store::{self, batches};
use crate::watcher::Watcher;
use crate::{Error, Result};

impl Relayer {
    /// Reads escrow events and reconciles them with the ledger whenever either side moved; keeps the chain clock.
    pub(super) async fn watch(self, params: pamm::Params, shutdown: CancellationToken) -> Result<()> {
        let c = &self.config;
        let watcher = Watcher::new(self.provider.clone(), c.escrow, c.start_block, c.confirmations, c.max_log_range);
        let mut reconciled_at = None;
        let mut backoff = Backoff::default();
        loop {
            let wait = match self.watch_once(&watcher, &params, &mut reconciled_at).await {
                Ok(caught_up) => {
                    backoff.succeeded();
                    // Behind: read the next range at once, unless asked to stop.
                    if !caught_up && !shutdown.is_cancelled() {
                        continue;
                    }
                    self.config.poll_interval
                }
                Err(e) => self.wait_out(e, "watcher", &mut backoff)?,
            };
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One watcher step: the chain's clock, one range of escrow events, and a reconciliation if anything moved.
    /// Returns whether the watcher has caught up with the confirmed head.
    async fn watch_once(
        &self,
        watcher: &Watcher,
        params: &pamm::Params,
        reconciled_at: &mut Option<(u64, usize, u64)>,
    ) -> Result<bool> {
        self.observe_clock().await?;
        let progress = watcher.poll(&self.pool).await?;
        // Either side moving: a new batch, a new escrow event, or the watcher reading past a batch's time.
        let state = (
            batches::last(&self.pool).await?.map_or(0, |(epoch, _)| epoch.0),
            store::escrow::event_count(&self.pool).await?,
            store::escrow::batches_behind_watcher(&self.pool).await?,
        );
        if *reconciled_at != Some(state) {
            let outcome = crate::reconcile::run(&self.pool, self.config.credit_within_epochs, params).await?;
            if outcome.opened > 0 || outcome.resolved > 0 {
                tracing::info!(open = outcome.open, opened = outcome.opened, resolved = outcome.resolved, "reconciled");
            }
            *reconciled_at = Some(state);
        }
        Ok(progress.caught_up)
    }

    /// Records the chain's head, its time and the node's finalized block: finality is judged by the chain's clock.
    async fn observe_clock(&self) -> Result<()> {
        use alloy::eips::BlockNumberOrTag;
        use alloy::providers::Provider;
        let rpc = |e| Error::Chain(crate::chain::Error::Rpc(e));
        let head = self.provider.get_block_by_number(BlockNumberOrTag::Latest).await.map_err(rpc)?;
        let Some(head) = head else { return Ok(()) };
        // Not every node reports a finalized block (an error or none is "unknown", not a failure).
        let finalized = self.provider.get_block_by_number(BlockNumberOrTag::Finalized).await.ok().flatten();
        store::clock::observe(
            &self.pool,
            head.header.number,
            head.header.timestamp,
            finalized.map(|b| b.header.number),
        )
        .await?;
        Ok(())
    }
}
