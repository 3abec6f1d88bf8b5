//! The escrow watcher: reads `USDCEscrow` events (`chain::escrow_events`) in bounded block ranges up to
//! `head - confirmations` and stores them with the cursor, one range per transaction, so the stored events always
//! equal the canonical chain's. It joins the chain and the store, so it lives beside both, not in either.
//!
//! Reorgs: each range stores the hash of its last block (and of every block with an event). Before reading on,
//! the watcher checks its last stored block against the chain; if the hash differs, it walks its stored hashes
//! down to the newest one the chain still has (the common ancestor), deletes everything above it and re-reads
//! from there, in one transaction. A reorg deeper than every stored hash halts the watcher loudly.

use alloy::primitives::Address;
use alloy::providers::DynProvider;

use crate::chain::Error;
use crate::chain::escrow_events::EscrowEvents;
use crate::store;

/// Watches one escrow.
#[derive(Debug, Clone)]
pub struct Watcher {
    events: EscrowEvents,
    start_block: u64,
    confirmations: u64,
    max_range: u64,
}

/// What one poll read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Deposits stored.
    pub deposits: usize,
    /// Withdrawals stored.
    pub withdrawals: usize,
    /// Whether the cursor has reached the confirmed head.
    pub caught_up: bool,
    /// The common ancestor, when this poll rewound over a reorg.
    pub rewound_to: Option<u64>,
}

impl Watcher {
    /// A watcher of the escrow at `escrow`, from `start_block`, reading only blocks with `confirmations` on top,
    /// at most `max_range` blocks per `eth_getLogs` request.
    pub fn new(provider: DynProvider, escrow: Address, start_block: u64, confirmations: u64, max_range: u64) -> Self {
        Self { events: EscrowEvents::new(provider, escrow), start_block, confirmations, max_range: max_range.max(1) }
    }

    /// Checks the last stored block against the chain (rewinding over a reorg), then reads the next range of
    /// confirmed blocks, if any, and stores its events.
    #[tracing::instrument(skip_all)]
    pub async fn poll(&self, pool: &store::Pool) -> Result<Progress, crate::Error> {
        if let Some(ancestor) = self.rewind_if_reorged(pool).await? {
            return Ok(Progress { rewound_to: Some(ancestor), ..Default::default() });
        }
        let next = store::escrow::cursor(pool).await?.unwrap_or(self.start_block);
        let head = self.events.head().await?;
        // A chain shorter than the confirmations has nothing confirmed yet: caught up, wait for blocks (a
        // "not caught up" here would have the caller read again at once, spinning).
        let Some(safe) = head.checked_sub(self.confirmations) else {
            return Ok(Progress { caught_up: true, ..Default::default() });
        };
        if next > safe {
            return Ok(Progress { caught_up: true, ..Default::default() });
        }
        let to = safe.min(next + (self.max_range - 1));
        let Some(range) = self.events.read(next, to).await? else {
            tracing::warn!(block = to, "block changed while reading its range; reading it again");
            return Ok(Progress::default());
        };
        let paid_twice = store::escrow::apply(pool, &range).await?;
        if paid_twice > 0 {
            tracing::warn!(count = paid_twice, "a claim was paid twice on chain; recorded as a mismatch");
        }
        let (deposits, withdrawals) = (range.deposits.len(), range.withdrawals.len());
        if deposits + withdrawals > 0 {
            tracing::info!(from = next, to, deposits, withdrawals, "escrow events");
        }
        Ok(Progress { deposits, withdrawals, caught_up: to == safe, rewound_to: None })
    }

    /// If the chain no longer has the last block the watcher stored, rewinds to the common ancestor.
    async fn rewind_if_reorged(&self, pool: &store::Pool) -> Result<Option<u64>, crate::Error> {
        let stored = store::escrow::recent_blocks(pool).await?;
        let Some(&tip) = stored.first() else { return Ok(None) };
        if self.events.block_hash(tip.0).await? == Some(tip.1) {
            return Ok(None);
        }
        for &(number, hash) in &stored[1..] {
            if self.events.block_hash(number).await? == Some(hash) {
                store::escrow::rewind(pool, number, tip).await?;
                tracing::warn!(
                    ancestor = number,
                    old_tip = tip.0,
                    depth = tip.0 - number,
                    "chain reorganised; re-reading escrow events from the common ancestor"
                );
                return Ok(Some(number));
            }
        }
        let oldest = stored.last().map_or(tip.0, |b| b.0);
        Err(Error::ReorgTooDeep { tip: tip.0, oldest_known: oldest }.into())
    }
}
