//! What the escrow holds and owes at the chain's head, for the conservation audit's on-chain bound: its USDC
//! balance there, and the claims committed before the audited epoch it has not paid by then. The relayer reads it
//! before each commitment, an auditor for a commitment still inside its window.

use std::collections::BTreeSet;

use alloy::eips::BlockId;
use alloy::providers::DynProvider;

use super::conservation::LedgerAudit;
use crate::Result;
use crate::chain::escrow_events::EscrowEvents;
use crate::ids::Epoch;
use crate::settle::conservation::Holdings;
use crate::store;

impl LedgerAudit {
    /// The escrow's holdings at one block, the head. The store's watcher records payments up to the block it last
    /// read (it waits for confirmations), so the withdrawals of the blocks after it, up to the head, are read here
    /// (at most `max_log_range` blocks a request): a claim paid there left the balance and is owed no more.
    pub async fn holdings(
        &self,
        provider: &DynProvider,
        start_block: u64,
        max_log_range: u64,
        epoch: Epoch,
    ) -> Result<Holdings> {
        let events = EscrowEvents::new(provider.clone(), self.escrow);
        let head = events.head().await?;
        let watched = store::escrow::cursor(&self.pool).await?.unwrap_or(start_block);
        let mut paid_since = BTreeSet::new();
        for (from, to) in crate::chain::logs::ranges(watched.max(start_block), head, max_log_range) {
            let range = events.read(from, to).await?.ok_or(crate::chain::Error::StateMoved {
                call: "escrow holdings",
                reason: format!("a reorg raced the read of blocks {from}..={to}"),
            })?;
            paid_since.extend(range.withdrawals.iter().map(|w| w.claim_id));
        }
        let escrow = crate::chain::bindings::USDCEscrow::new(self.escrow, provider);
        let usdc = escrow.usdc().call().await.map_err(|e| crate::chain::Error::from_call("usdc", e))?;
        let escrow_usdc = crate::chain::bindings::Erc20::new(usdc, provider)
            .balanceOf(self.escrow)
            .block(BlockId::number(head))
            .call()
            .await
            .map_err(|e| crate::chain::Error::from_call("balanceOf", e))?;
        Ok(Holdings { escrow_usdc, owed_usdc: self.owed_before(epoch, &paid_since).await? })
    }
}
