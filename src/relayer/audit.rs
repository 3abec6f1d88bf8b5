//! The conservation audit before each commitment (`reader::conservation`), with the escrow's holdings: what it
//! holds (read from the chain) and what the claims committed before the epoch that it has not paid will take
//! (from the watcher's record of withdrawals). A batch that breaks conservation is never committed.

use std::collections::BTreeSet;

use alloy::eips::BlockId;

use super::Relayer;
use crate::Result;
use crate::chain::escrow_events::EscrowEvents;
use crate::ids::Epoch;
use crate::reader::conservation::LedgerAudit;
use crate::settle::conservation::{ExecutedLeg, Holdings};
use crate::settle::pamm;
use crate::store::curve::Planned;
use crate::store::{self, batches};

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
        }
    }

    /// Audits stored `batch` with the escrow's holdings; a violation halts the relayer.
    pub(super) async fn audit_before_commit(&self, batch: &batches::StoredBatch, params: &pamm::Params) -> Result<()> {
        let audit = self.ledger_audit(params);
        let holdings = self.holdings(&audit, batch.epoch).await?;
        audit.audit(batch, Some(holdings)).await
    }

    /// What the escrow holds and owes at one block, the head: its USDC balance there, and the claims committed
    /// before `epoch` it has not paid by then. The watcher's record of payments ends at the block it last read
    /// (it waits for confirmations), so the withdrawals of the blocks after it, up to the head, are read here:
    /// a claim paid there left the balance and is owed no more.
    async fn holdings(&self, audit: &LedgerAudit, epoch: Epoch) -> Result<Holdings> {
        let events = EscrowEvents::new(self.provider.clone(), self.config.escrow);
        let head = events.head().await?;
        let watched = store::escrow::cursor(&self.pool).await?.unwrap_or(self.config.start_block);
        let mut paid_since = BTreeSet::new();
        let mut from = watched.max(self.config.start_block);
        while from <= head {
            let to = head.min(from.saturating_add(self.config.max_log_range - 1));
            let range = events.read(from, to).await?.ok_or(crate::chain::Error::StateMoved {
                call: "escrow holdings",
                reason: format!("a reorg raced the read of blocks {from}..={to}"),
            })?;
            paid_since.extend(range.withdrawals.iter().map(|w| w.claim_id));
            from = to + 1;
        }
        let escrow = crate::chain::bindings::USDCEscrow::new(self.config.escrow, &self.provider);
        let usdc = escrow.usdc().call().await.map_err(|e| crate::chain::Error::from_call("usdc", e))?;
        let escrow_usdc = crate::chain::bindings::Erc20::new(usdc, &self.provider)
            .balanceOf(self.config.escrow)
            .block(BlockId::number(head))
            .call()
            .await
            .map_err(|e| crate::chain::Error::from_call("balanceOf", e))?;
        Ok(Holdings { escrow_usdc, owed_usdc: audit.owed_before(epoch, &paid_since).await? })
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
