//! The escrow's events as the chain has them: `Deposited` and `Withdrawn` (and the controls of
//! `escrow_controls`: cancellations, pauses) decoded from one block range, with
//! the hashes of the blocks they came from (to detect a reorg later), read so that a reorg racing the read is
//! noticed. What the events are is the chain's business; where they are kept is the caller's
//! (`crate::watcher` keeps them in the store).

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;

use super::Error;
use super::bindings::escrow::IUSDCEscrow::{Deposited, Withdrawn};
use super::escrow_controls::Control;

/// Where an event was emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventOrigin {
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Index of the log in the block.
    pub log_index: u64,
}

/// A `Deposited` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    /// The escrow's deposit id.
    pub deposit_id: u64,
    /// Who paid.
    pub depositor: Address,
    /// The off-chain account to credit.
    pub recipient: B256,
    /// USDC amount (6 decimals).
    pub amount: U256,
    /// Where it was emitted.
    pub origin: EventOrigin,
}

/// A `Withdrawn` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    /// The claim paid.
    pub claim_id: U256,
    /// Who received the USDC.
    pub recipient: Address,
    /// The off-chain account debited.
    pub account: B256,
    /// The claim's epoch.
    pub epoch: u64,
    /// MYCO redeemed.
    pub myco_amount: U256,
    /// The flow penalty the payout was divided by (WAD); `None` for an event stored before the escrow emitted it.
    pub flow_penalty: Option<U256>,
    /// Where the claim's slice of the curve starts; `None` as for `flow_penalty`.
    pub prior_redeemed: Option<U256>,
    /// USDC paid.
    pub usdc_amount: U256,
    /// Where it was emitted.
    pub origin: EventOrigin,
}

/// One block range read from the chain.
#[derive(Debug, Clone, Default)]
pub struct Range {
    /// Its `Deposited` events.
    pub deposits: Vec<Deposit>,
    /// Its `Withdrawn` events.
    pub withdrawals: Vec<Withdrawal>,
    /// Its cancellations of commitments and their undoing.
    pub commitment_controls: Vec<super::escrow_controls::CommitmentControl>,
    /// Its pauses and resumptions.
    pub pauses: Vec<super::escrow_controls::PauseControl>,
    /// Hashes of its last block and of every block with an event.
    pub blocks: Vec<(u64, B256)>,
    /// The first block after it.
    pub next_block: u64,
    /// The timestamp of its last block.
    pub read_time: u64,
}

/// Reads one escrow's events.
#[derive(Debug, Clone)]
pub struct EscrowEvents {
    provider: DynProvider,
    escrow: Address,
}

impl EscrowEvents {
    /// A reader of the escrow at `escrow`.
    pub fn new(provider: DynProvider, escrow: Address) -> Self {
        Self { provider, escrow }
    }

    /// The chain's head block number.
    pub async fn head(&self) -> Result<u64, Error> {
        self.provider.get_block_number().await.map_err(Error::from)
    }

    /// The events of blocks `from..=to`, or `None` when block `to` changed while they were read (a reorg raced
    /// the read; read the range again).
    pub async fn read(&self, from: u64, to: u64) -> Result<Option<Range>, Error> {
        // The range's last block, read before and after its logs: if it changed in between, a reorg raced the read.
        let before = self.block(to).await?;
        let filter = Filter::new().address(self.escrow).from_block(from).to_block(to);
        let logs = self.provider.get_logs(&filter).await.map_err(Error::from)?;
        let after = self.block(to).await?;
        let (Some((tip, read_time)), true) = (before, after.map(|b| b.0) == before.map(|b| b.0)) else {
            return Ok(None);
        };
        let mut range = Range { next_block: to + 1, read_time, ..Default::default() };
        let mut blocks = std::collections::BTreeMap::from([(to, tip)]);
        for log in &logs {
            let event_origin = origin(log)?;
            blocks.insert(event_origin.block_number, event_origin.block_hash);
            match log.topic0() {
                Some(&Deposited::SIGNATURE_HASH) => range.deposits.push(decode_deposit(log)?),
                Some(&Withdrawn::SIGNATURE_HASH) => range.withdrawals.push(decode_withdrawal(log)?),
                // Cancellations and pauses: what the API says of claims. Role and limit events: nothing to keep.
                _ => match super::escrow_controls::decode(log, event_origin)? {
                    Some(Control::Commitment(c)) => range.commitment_controls.push(c),
                    Some(Control::Pause(p)) => range.pauses.push(p),
                    None => {}
                },
            }
        }
        range.blocks = blocks.into_iter().collect();
        Ok(Some(range))
    }

    /// The hash of block `number` on the canonical chain, `None` past the head.
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>, Error> {
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
        flow_penalty: Some(w.flowPenalty),
        prior_redeemed: Some(w.priorRedeemed),
        usdc_amount: w.usdcAmount,
        origin: origin(log)?,
    })
}
