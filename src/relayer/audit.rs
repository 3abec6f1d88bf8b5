//! The conservation audit before each commitment (`reader::conservation`), with the escrow's holdings: what it
//! holds (read from the chain) and what the claims committed before the epoch that it has not paid will take
//! (from the watcher's record of withdrawals). A batch that breaks conservation is never committed.

use super::Relayer;
use crate::Result;
use crate::ids::Epoch;
use crate::reader::conservation::LedgerAudit;
use crate::settle::conservation::ExecutedLeg;
use crate::settle::pamm;
use crate::store::batches;
use crate::store::curve::Planned;

impl Relayer {
    /// The audit over the relayer's store.
    pub(super) fn ledger_audit(&self, params: &pamm::Params) -> LedgerAudit {
        LedgerAudit {
            pool: self.pool.clone(),
            chain_id: self.config.chain_id,
            escrow: self.config.escrow,
            document_limits: self.config.document_limits,
            params: *params,
            policy: self.config.conservation.clone(),
            states: self.states.clone(),
        }
    }

    /// Audits stored `batch` with the escrow's holdings; a violation halts the relayer.
    pub(super) async fn audit_before_commit(&self, batch: &batches::StoredBatch, params: &pamm::Params) -> Result<()> {
        let audit = self.ledger_audit(params);
        let c = &self.config;
        let holdings = audit.holdings(&self.provider, c.start_block, c.max_log_range, batch.epoch).await?;
        audit.audit(batch, Some(holdings)).await
    }

    /// Records what `planned`'s epoch credits each intent that traded, now that its legs executed.
    pub(super) async fn record_settlement_fills(
        &self,
        planned: &Planned,
        executed: &crate::chain::Executed,
        params: &pamm::Params,
    ) -> Result<()> {
        let leg =
            |(amount, _): (alloy::primitives::U256, _), out| (!amount.is_zero()).then_some(ExecutedLeg { amount, out });
        let (sell, buy) = (leg(planned.sell, executed.usdc_out), leg(planned.buy, executed.myco_out));
        self.ledger_audit(params).record_settlement(Epoch(planned.epoch.0), planned.spot, sell, buy).await
    }
}
