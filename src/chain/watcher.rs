//! Reads `USDCEscrow` events in bounded block ranges up to `head - confirmations` and stores them with the
//! cursor, one range per transaction, so the stored events always equal the canonical chain's.
//!
//! Reorgs: each range stores the hash of its last block (and of every block with an event). Before reading on,
//! the watcher checks its last stored block against the chain; if the hash differs, it walks its stored hashes
//! down to the newest one the chain still has (the common ancestor), deletes everything above it and re-reads
//! from there, in one transaction. A reorg deeper than every stored hash halts the watcher loudly.

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;

use super::Error;
use super::bindings::escrow::IUSDCEscrow::{Deposited, Withdrawn};
use crate::store::{
    self,
    escrow::{Deposit, EventOrigin, Range, Withdrawal},
};

/// Watches one escrow.
#[derive(Debug, Clone)]
pub struct Watcher {
    provider: DynProvider,
    escrow: Address,
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
        Self { provider, escrow, start_block, confirmations, max_range: max_range.max(1) }
    }

    /// Checks the last stored block against the chain (rewinding over a reorg), then reads the next range of
    /// confirmed blocks, if any, and stores its events.
    #[tracing::instrument(skip_all)]
    pub async fn poll(&self, pool: &store::Pool) -> Result<Progress, crate::Error> {
        if let Some(ancestor) = self.rewind_if_reorged(pool).await? {
            return Ok(Progress { rewound_to: Some(ancestor), ..Default::default() });
        }
        let next = store::escrow::cursor(pool).await?.unwrap_or(self.start_block);
        let head = self.provider.get_block_number().await.map_err(Error::from)?;
        let Some(safe) = head.checked_sub(self.confirmations) else {
            return Ok(Progress::default());
        };
        if next > safe {
            return Ok(Progress { caught_up: true, ..Default::default() });
        }
        let to = safe.min(next + (self.max_range - 1));
        // The range's last block, read before and after its logs: if it changed in between, a reorg raced the
        // read and the range is read again next time.
        let before = self.block(to).await?;
        let filter = Filter::new().address(self.escrow).from_block(next).to_block(to);
        let logs = self.provider.get_logs(&filter).await.map_err(Error::from)?;
        let after = self.block(to).await?;
        let (Some((tip, read_time)), true) = (before, after.map(|b| b.0) == before.map(|b| b.0)) else {
            tracing::warn!(block = to, "block changed while reading its range; reading it again");
            return Ok(Progress::default());
        };

        let mut range = Range { next_block: to + 1, read_time, ..Default::default() };
        let mut blocks = std::collections::BTreeMap::from([(to, tip)]);
        for log in &logs {
            let event_origin = origin(log)?;
            blocks.insert(event_origin.block_number, event_origin.block_hash);
            match log.topic0() {
                Some(&Deposited::SIGNATURE_HASH) => range.deposits.push(decode_deposit(log)?),
                Some(&Withdrawn::SIGNATURE_HASH) => range.withdrawals.push(decode_withdrawal(log)?),
                _ => {} // role and pause events: nothing to reconcile
            }
        }
        range.blocks = blocks.into_iter().collect();
        let paid_twice = store::escrow::apply(pool, &range).await?;
        if paid_twice > 0 {
            tracing::warn!(count = paid_twice, "a claim was paid twice on chain; recorded as a mismatch");
        }
        let (deposits, withdrawals) = (range.deposits.len(), range.withdrawals.len());
        if !logs.is_empty() {
            tracing::info!(from = next, to, deposits, withdrawals, "escrow events");
        }
        Ok(Progress { deposits, withdrawals, caught_up: to == safe, rewound_to: None })
    }

    /// If the chain no longer has the last block the watcher stored, rewinds to the common ancestor.
    async fn rewind_if_reorged(&self, pool: &store::Pool) -> Result<Option<u64>, crate::Error> {
        let stored = store::escrow::recent_blocks(pool).await?;
        let Some(&tip) = stored.first() else { return Ok(None) };
        if self.block_hash(tip.0).await? == Some(tip.1) {
            return Ok(None);
        }
        for &(number, hash) in &stored[1..] {
            if self.block_hash(number).await? == Some(hash) {
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

    /// The hash of block `number` on the canonical chain, `None` past the head.
    async fn block_hash(&self, number: u64) -> Result<Option<B256>, Error> {
        Ok(self.block(number).await?.map(|b| b.0))
    }

    /// The hash and timestamp of block `number` on the canonical chain, `None` past the head.
    async fn block(&self, number: u64) -> Result<Option<(B256, u64)>, Error> {
        let block = self.provider.get_block_by_number(number.into()).await.map_err(Error::from)?;
        Ok(block.map(|b| (b.header.hash, b.header.timestamp)))
    }
}

fn origin(log: &Log) -> Result<EventOrigin, Error> {
    // Logs from eth_getLogs over mined blocks always carry these; a node that omits them is broken.
    let missing = |field: &str| Error::Decode { what: "log", reason: format!("log without {field}") };
    Ok(EventOrigin {
        block_number: log.block_number.ok_or_else(|| missing("block number"))?,
        block_hash: log.block_hash.ok_or_else(|| missing("block hash"))?,
        tx_hash: log.transaction_hash.ok_or_else(|| missing("transaction hash"))?,
        log_index: log.log_index.ok_or_else(|| missing("log index"))?,
    })
}

fn decode_deposit(log: &Log) -> Result<Deposit, Error> {
    let e = log.log_decode::<Deposited>().map_err(|e| Error::Decode { what: "Deposited", reason: e.to_string() })?;
    let d = e.inner.data;
    Ok(Deposit {
        deposit_id: d.depositId,
        depositor: d.depositor,
        recipient: d.recipient,
        amount: d.amount,
        origin: origin(log)?,
    })
}

fn decode_withdrawal(log: &Log) -> Result<Withdrawal, Error> {
    let e = log.log_decode::<Withdrawn>().map_err(|e| Error::Decode { what: "Withdrawn", reason: e.to_string() })?;
    let w = e.inner.data;
    Ok(Withdrawal {
        claim_id: w.claimId,
        recipient: w.recipient,
        account: w.account,
        epoch: w.epoch,
        myco_amount: w.mycoAmount,
        usdc_amount: w.usdcAmount,
        origin: origin(log)?,
    })
}
