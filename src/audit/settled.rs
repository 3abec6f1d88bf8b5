//! The curve's executed settlements as the auditor reads them: forward through `EpochSettled` logs, one request
//! per range of blocks, instead of a search per epoch. Only settlements of epochs the store has not recorded are
//! kept (they are dropped once recorded), so the map holds at most the epochs the chain is ahead of the reader.

use std::collections::BTreeMap;

use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider};

use crate::Result;
use crate::chain::settlements::{ChainSettlement, executed_in};

/// Settlements read and not yet recorded, and where reading goes on.
#[derive(Debug)]
pub(super) struct Settled {
    next_block: u64,
    found: BTreeMap<u64, ChainSettlement>,
}

impl Settled {
    /// Nothing read yet; reading starts at `start_block`.
    pub(super) fn new(start_block: u64) -> Self {
        Self { next_block: start_block, found: BTreeMap::new() }
    }

    /// Reads the logs of the blocks after the last read up to `confirmations` below the head.
    pub(super) async fn read(
        &mut self,
        provider: &DynProvider,
        curve: Address,
        confirmations: u64,
        max_range: u64,
    ) -> Result<()> {
        let head = provider.get_block_number().await.map_err(crate::chain::Error::Rpc)?;
        let Some(to) = head.checked_sub(confirmations) else { return Ok(()) };
        for (from, end) in crate::chain::logs::ranges(self.next_block, to, max_range) {
            self.found.extend(executed_in(provider, curve, from, end).await?);
            self.next_block = end + 1;
        }
        Ok(())
    }

    /// The settlement of `epoch`, once read, removed from what is kept (the caller records it).
    pub(super) fn take(&mut self, epoch: u64) -> Option<ChainSettlement> {
        self.found.remove(&epoch)
    }
}
