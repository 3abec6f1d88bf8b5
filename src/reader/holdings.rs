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

/// What the escrow holds at the head, and the claims paid in blocks the store's watcher has not read yet: the
/// part of [`Holdings`] that is the same for every epoch audited against one head.
#[derive(Debug, Clone, Default)]
pub struct EscrowAtHead {
    /// The escrow's USDC balance at the head (units).
    pub escrow_usdc: alloy::primitives::U256,
    /// Claims paid after the watcher's cursor, up to the head.
    pub paid_since: BTreeSet<alloy::primitives::U256>,
}

impl LedgerAudit {
    /// The escrow's holdings at one block, the head, for the audit of `epoch`.
    pub async fn holdings(
        &self,
        provider: &DynProvider,
        start_block: u64,
        max_log_range: u64,
        epoch: Epoch,
    ) -> Result<Holdings> {
        let at_head = self.escrow_at_head(provider, start_block, max_log_range).await?;
        Ok(Holdings {
            escrow_usdc: at_head.escrow_usdc,
            owed_usdc: self.owed_before(epoch, &at_head.paid_since).await?,
        })
    }

    /// The escrow's balance at the head. The store's watcher records payments up to the block it last read (it
    /// waits for confirmations), so the withdrawals of the blocks after it, up to the head, are read here (at most
    /// `max_log_range` blocks a request): a claim paid there left the balance and is owed no more.
    pub async fn escrow_at_head(
        &self,
        provider: &DynProvider,
        start_block: u64,
        max_log_range: u64,
    ) -> Result<EscrowAtHead> {
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
        // A migrated escrow holds nothing: say so, rather than let its empty balance read as a reserve the escrow
        // cannot cover. (An escrow deployed before migrations existed has no `migratedTo`: not migrated.)
        let migration = crate::chain::bindings::escrow_migration::IEscrowMigration::new(self.escrow, provider);
        if let Ok(successor) = migration.migratedTo().block(BlockId::number(head)).call().await
            && !successor.is_zero()
        {
            return Err(crate::chain::Error::EscrowMigrated { escrow: self.escrow, successor }.into());
        }
        let escrow = crate::chain::bindings::USDCEscrow::new(self.escrow, provider);
        let usdc = escrow.usdc().call().await.map_err(|e| crate::chain::Error::from_call("usdc", e))?;
        let escrow_usdc = crate::chain::bindings::Erc20::new(usdc, provider)
            .balanceOf(self.escrow)
            .block(BlockId::number(head))
            .call()
            .await
            .map_err(|e| crate::chain::Error::from_call("balanceOf", e))?;
        Ok(EscrowAtHead { escrow_usdc, paid_since })
    }
}
