//! Reads `USDCEscrow` events in bounded block ranges up to `head - confirmations` and stores them with the
//! cursor, one range per transaction.

use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;

use super::Error;
use super::bindings::escrow::USDCEscrow::{Deposited, Withdrawn};
use crate::store::{
    self,
    escrow::{Deposit, EventOrigin, Withdrawal},
};

/// Blocks per `eth_getLogs` request (CoW's figure; small enough for any public RPC's limit).
pub const MAX_BLOCK_RANGE: u64 = 500;

/// Watches one escrow.
#[derive(Debug, Clone)]
pub struct Watcher {
    provider: DynProvider,
    escrow: Address,
    start_block: u64,
    confirmations: u64,
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
}

impl Watcher {
    /// A watcher of the escrow at `escrow`, from `start_block`, reading only blocks with `confirmations` on top.
    pub fn new(provider: DynProvider, escrow: Address, start_block: u64, confirmations: u64) -> Self {
        Self { provider, escrow, start_block, confirmations }
    }

    /// Reads the next range of confirmed blocks, if any, and stores its events.
    #[tracing::instrument(skip_all)]
    pub async fn poll(&self, pool: &store::Pool) -> Result<Progress, crate::Error> {
        let next = store::escrow::cursor(pool).await?.unwrap_or(self.start_block);
        let head = self.provider.get_block_number().await.map_err(Error::from)?;
        let Some(safe) = head.checked_sub(self.confirmations) else {
            return Ok(Progress::default());
        };
        if next > safe {
            return Ok(Progress { caught_up: true, ..Default::default() });
        }
        let to = safe.min(next + MAX_BLOCK_RANGE - 1);
        let filter = Filter::new().address(self.escrow).from_block(next).to_block(to);
        let logs = self.provider.get_logs(&filter).await.map_err(Error::from)?;

        let (mut deposits, mut withdrawals) = (Vec::new(), Vec::new());
        for log in &logs {
            match log.topic0() {
                Some(&Deposited::SIGNATURE_HASH) => deposits.push(decode_deposit(log)?),
                Some(&Withdrawn::SIGNATURE_HASH) => withdrawals.push(decode_withdrawal(log)?),
                _ => {} // role and pause events: nothing to reconcile
            }
        }
        store::escrow::apply(pool, &deposits, &withdrawals, to + 1).await?;
        if !logs.is_empty() {
            tracing::info!(
                from = next,
                to,
                deposits = deposits.len(),
                withdrawals = withdrawals.len(),
                "escrow events"
            );
        }
        Ok(Progress { deposits: deposits.len(), withdrawals: withdrawals.len(), caught_up: to == safe })
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
