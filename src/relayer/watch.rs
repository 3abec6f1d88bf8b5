//! The relayer's escrow side (`crate::escrow_side`): the watcher's event ranges, the chain's clock, and
//! reconciliation whenever either side moved, with the relayer's alarms.

use tokio_util::sync::CancellationToken;

use super::Relayer;
use crate::Result;
use crate::backoff::Backoff;
use crate::escrow_side::EscrowSide;
use crate::settle::pamm;
use crate::watcher::Watcher;

impl Relayer {
    /// Reads escrow events and reconciles them with the ledger whenever either side moved; keeps the chain clock.
    pub(super) async fn watch(self, params: pamm::Params, shutdown: CancellationToken) -> Result<()> {
        let c = &self.config;
        let watcher = Watcher::new(self.provider.clone(), c.escrow, c.start_block, c.confirmations, c.max_log_range);
        let mut side = EscrowSide::new(self.pool.clone(), self.provider.clone(), watcher, c.credit_within_epochs);
        let mut backoff = Backoff::default();
        loop {
            let wait = match side.step(&params).await {
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
}
