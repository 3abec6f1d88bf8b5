//! A running simulated network: one certified batch per interval, published to a folder or over HTTP, with
//! bad batches injected at chosen epochs.

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use tokio_util::sync::CancellationToken;

use super::faults::Fault;
use super::serve::BatchServer;
use super::simulate::{EpochInputs, Network, Produced, WithdrawalAsk};
use crate::chain::bindings::escrow::IUSDCEscrow::Deposited;
use crate::ingest::document::CreditedDeposit;
use crate::ingest::folder::FolderSource;
use crate::ingest::intent::Token;
use crate::ingest::{BatchState, Envelope};

/// Where produced batches go.
#[derive(Debug)]
pub enum Sink {
    /// `<epoch>.batch` files, renamed into place.
    Folder(FolderSource),
    /// Served over HTTP.
    Http(BatchServer),
}

impl Sink {
    async fn publish(&self, epoch: u64, bytes: Vec<u8>) -> std::io::Result<()> {
        match self {
            Sink::Folder(f) => f.publish(epoch, &bytes).await,
            Sink::Http(s) => {
                s.publish(epoch, bytes);
                Ok(())
            }
        }
    }
}

/// Where the deposits a batch credits come from.
#[derive(Debug, Clone)]
pub enum Deposits {
    /// Made up: this many per epoch, with ids counting on from `next_id` (a standalone run, no escrow).
    Synthetic {
        /// Deposits per epoch.
        per_epoch: usize,
        /// The next id.
        next_id: u64,
    },
    /// The escrow's own `Deposited` events, as validators would credit them: each once, in id order.
    Escrow(EscrowFeed),
}

/// Reads an escrow's deposits for the simulator (as validators watch the chain).
#[derive(Debug, Clone)]
pub struct EscrowFeed {
    provider: DynProvider,
    escrow: Address,
    next_block: u64,
    credited: u64,
    confirmations: u64,
    max_range: u64,
}

impl EscrowFeed {
    /// A feed of the escrow at `escrow` from `from_block`, crediting ids above `credited` (the highest already
    /// credited), reading only blocks with `confirmations` on top, `max_range` blocks per request.
    pub fn new(
        provider: DynProvider,
        escrow: Address,
        from_block: u64,
        credited: u64,
        confirmations: u64,
        max_range: u64,
    ) -> Self {
        Self { provider, escrow, next_block: from_block, credited, confirmations, max_range }
    }

    /// The deposits confirmed since the last call that no batch has credited yet.
    pub async fn next(&mut self) -> Result<Vec<CreditedDeposit>, crate::chain::Error> {
        let head = self.provider.get_block_number().await?;
        let Some(safe) = head.checked_sub(self.confirmations) else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        let filter = Filter::new().address(self.escrow).event_signature(Deposited::SIGNATURE_HASH);
        for (from, to) in crate::chain::logs::ranges(self.next_block, safe, self.max_range) {
            for log in self.provider.get_logs(&filter.clone().from_block(from).to_block(to)).await? {
                let d = log
                    .log_decode::<Deposited>()
                    .map_err(|e| crate::chain::Error::Decode { what: "Deposited", reason: e.to_string() })?;
                let d = d.inner.data;
                if d.depositId > self.credited {
                    self.credited = d.depositId;
                    out.push(CreditedDeposit { deposit_id: d.depositId, account: d.recipient, amount: d.amount });
                }
            }
            self.next_block = to + 1;
        }
        Ok(out)
    }
}

impl Deposits {
    async fn next(&mut self, epoch: u64, accounts: &[B256]) -> std::io::Result<Vec<CreditedDeposit>> {
        match self {
            Deposits::Synthetic { per_epoch, next_id } => Ok((0..*per_epoch)
                .map(|i| {
                    *next_id += 1;
                    CreditedDeposit {
                        deposit_id: *next_id - 1,
                        account: accounts[(epoch as usize * 7 + i) % accounts.len()],
                        amount: U256::from(1_000_000u64 * (1 + (epoch + i as u64) % 1_000)),
                    }
                })
                .collect()),
            Deposits::Escrow(feed) => feed.next().await.map_err(std::io::Error::other),
        }
    }
}

/// The batches already in a folder, in epoch order from 1 until the first missing one, with their digests: what
/// a simulator resumes from.
pub async fn history(folder: &FolderSource) -> std::io::Result<Vec<(B256, BatchState)>> {
    let mut out = Vec::new();
    for epoch in 1.. {
        let Some(bytes) = folder.fetch(epoch).await.map_err(std::io::Error::other)? else { break };
        let envelope = Envelope::decode(&bytes).map_err(std::io::Error::other)?;
        let state = BatchState::from_automerge(&envelope.document).map_err(std::io::Error::other)?;
        out.push((envelope.digest(), state));
    }
    Ok(out)
}

/// How much happens per epoch, and how often.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Epochs to produce; `None` runs until shutdown.
    pub epochs: Option<u64>,
    /// Time between batches.
    pub interval: Duration,
    /// Where credited deposits come from.
    pub deposits: Deposits,
    /// MYCO transfers per epoch.
    pub transfers: usize,
    /// Signed intents per epoch.
    pub intents: usize,
    /// Withdrawal requests per epoch.
    pub withdrawals: usize,
    /// Bad batches to publish (before the good one) at these epochs.
    pub faults: BTreeMap<u64, Fault>,
    /// For a version 2 network: where executed settlements are read, to apply them.
    pub settlements: Option<SettlementFeed>,
    /// Epochs of exactly this size instead of the random economy (`simulate --exact`; version 1): the
    /// deposit, transfer, intent and withdrawal options above are not used.
    pub exact: Option<super::simulate::Sizes>,
}

/// Where a version 2 network reads each epoch's executed settlement: the curve's `EpochSettled` logs.
#[derive(Debug, Clone)]
pub struct SettlementFeed {
    /// A provider of the chain.
    pub provider: DynProvider,
    /// The bonding curve.
    pub curve: Address,
    /// The first block to search its logs from.
    pub from_block: u64,
}

impl SettlementFeed {
    /// The settlements `network` can apply now: each unapplied epoch of its that the curve executed.
    pub async fn ready(&self, network: &Network) -> std::io::Result<Vec<crate::ingest::document::AppliedSettlement>> {
        let mut out = Vec::new();
        for epoch in network.unapplied_epochs() {
            let executed = crate::chain::settlements::executed(&self.provider, self.curve, epoch, self.from_block)
                .await
                .map_err(std::io::Error::other)?;
            if let Some(c) = executed {
                out.extend(network.settlement_of(epoch, c.spot, c.sell, c.buy));
            }
        }
        Ok(out)
    }
}

/// Produces batches until done or `shutdown`; returns how many epochs were produced.
/// Produces batches until `options.epochs` (counted from epoch 1, so a resumed network produces the rest) or
/// `shutdown`; returns the last epoch produced.
pub async fn run(
    network: &mut Network,
    sink: &Sink,
    options: &mut StreamOptions,
    shutdown: CancellationToken,
) -> std::io::Result<u64> {
    let mut previous: Option<Produced> = None;
    loop {
        if options.epochs.is_some_and(|n| network.epoch() >= n) {
            return Ok(network.epoch());
        }
        let epoch = network.epoch() + 1;
        let inputs = match options.exact {
            Some(sizes) => EpochInputs { timestamp: super::unix_now(), exact: Some(sizes), ..Default::default() },
            None => random_inputs(network, options, epoch).await?,
        };
        let produced = network.next_batch(&inputs);
        match options.faults.get(&epoch) {
            Some(Fault::Equivocation) => {
                sink.publish(epoch, produced.bytes.clone()).await?;
                tracing::warn!(epoch, "simulator: publishing a conflicting certified batch (equivocation)");
                sink.publish(epoch, network.faulty(&produced, previous.as_ref(), Fault::Equivocation)).await?;
            }
            Some(fault) => {
                tracing::warn!(epoch, fault = fault.name(), "simulator: publishing a bad batch first");
                sink.publish(epoch, network.faulty(&produced, previous.as_ref(), *fault)).await?;
                sleep_or_stop(options.interval / 2, &shutdown).await;
                sink.publish(epoch, produced.bytes.clone()).await?;
            }
            None => sink.publish(epoch, produced.bytes.clone()).await?,
        }
        tracing::info!(epoch, digest = %produced.digest, bytes = produced.bytes.len(),
            balances = produced.state.balances.values().map(|b| b.len()).sum::<usize>(),
            intents = produced.state.intents.len(), "batch certified");
        previous = Some(produced);
        if !sleep_or_stop(options.interval, &shutdown).await {
            return Ok(network.epoch());
        }
    }
}

/// The next epoch's inputs for the network's random economy: deposits from `options`' feed, a tenth of the
/// MYCO of the first holders withdrawn, executed settlements to apply.
async fn random_inputs(network: &Network, options: &mut StreamOptions, epoch: u64) -> std::io::Result<EpochInputs> {
    let accounts = network.accounts();
    let deposits = options.deposits.next(epoch, &accounts).await?;
    let withdrawals = accounts
        .iter()
        .filter(|a| !network.balance(Token::Myco, a).is_zero())
        .take(options.withdrawals)
        .map(|a| WithdrawalAsk {
            account: *a,
            amount: network.balance(Token::Myco, a) / U256::from(10),
            recipient: Address::from_slice(&keccak256(a)[12..]),
        })
        .collect();
    let settlements = match &options.settlements {
        Some(feed) => feed.ready(network).await?,
        None => Vec::new(),
    };
    Ok(EpochInputs {
        timestamp: super::unix_now(),
        deposits,
        withdrawals,
        transfers: options.transfers,
        intents: options.intents,
        settlements,
        ..Default::default()
    })
}

/// Sleeps; false if shutdown came first.
async fn sleep_or_stop(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}
