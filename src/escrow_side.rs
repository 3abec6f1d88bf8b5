//! The escrow side of a mode that watches the chain (the relayer, an auditor): one step reads the chain's clock
//! and the next range of escrow events (`watcher`), and reconciles them with the ledger (`reconcile`) whenever
//! either side moved.

use alloy::providers::DynProvider;

use crate::settle::pamm;
use crate::store::{self, Pool, batches};
use crate::watcher::Watcher;
use crate::{Error, Result};

/// Watches one escrow into one store.
#[derive(Debug)]
pub struct EscrowSide {
    pool: Pool,
    provider: DynProvider,
    watcher: Watcher,
    credit_within_epochs: u64,
    reconciled_at: Option<(u64, u64, u64, u64)>,
}

impl EscrowSide {
    /// Reads through `watcher` into `pool`; deposits may wait `credit_within_epochs` for their credit.
    pub fn new(pool: Pool, provider: DynProvider, watcher: Watcher, credit_within_epochs: u64) -> Self {
        Self { pool, provider, watcher, credit_within_epochs, reconciled_at: None }
    }

    /// One step: the chain's clock, one range of escrow events, and a reconciliation if anything moved. Returns
    /// whether the watcher has caught up with the confirmed head.
    pub async fn step(&mut self, params: &pamm::Params) -> Result<bool> {
        self.observe_clock().await?;
        let progress = self.watcher.poll(&self.pool).await?;
        // Either side moving: a new batch, a new escrow event or reorg, or the watcher reading past a batch's time.
        let state = (
            batches::last(&self.pool).await?.map_or(0, |(epoch, _)| epoch.0),
            store::escrow::event_count(&self.pool).await?,
            store::escrow::reorg_count(&self.pool).await?,
            store::escrow::latest_batch_behind_watcher(&self.pool).await?,
        );
        if self.reconciled_at != Some(state) {
            let outcome = crate::reconcile::run(&self.pool, self.credit_within_epochs, params).await?;
            if outcome.opened > 0 || outcome.resolved > 0 {
                tracing::info!(open = outcome.open, opened = outcome.opened, resolved = outcome.resolved, "reconciled");
            }
            self.reconciled_at = Some(state);
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
