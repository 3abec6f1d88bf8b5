//! A running simulated network: one certified batch per interval, published to a folder or over HTTP, with
//! bad batches injected at chosen epochs.

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::primitives::{Address, U256, keccak256};
use tokio_util::sync::CancellationToken;

use super::faults::Fault;
use super::serve::BatchServer;
use super::simulate::{EpochInputs, Network, Produced, WithdrawalAsk};
use crate::ingest::document::CreditedDeposit;
use crate::ingest::folder::FolderSource;
use crate::ingest::intent::Token;

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

/// How much happens per epoch, and how often.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Epochs to produce; `None` runs until shutdown.
    pub epochs: Option<u64>,
    /// Time between batches.
    pub interval: Duration,
    /// Synthetic escrow deposits credited per epoch (standalone runs have no escrow to watch).
    pub deposits: usize,
    /// MYCO transfers per epoch.
    pub transfers: usize,
    /// Signed intents per epoch.
    pub intents: usize,
    /// Withdrawal requests per epoch.
    pub withdrawals: usize,
    /// Bad batches to publish (before the good one) at these epochs.
    pub faults: BTreeMap<u64, Fault>,
}

/// Produces batches until done or `shutdown`; returns how many epochs were produced.
pub async fn run(
    network: &mut Network,
    sink: &Sink,
    options: &StreamOptions,
    shutdown: CancellationToken,
) -> std::io::Result<u64> {
    let mut previous: Option<Produced> = None;
    let mut next_deposit = 1u64;
    loop {
        if options.epochs.is_some_and(|n| network.epoch() >= n) {
            return Ok(network.epoch());
        }
        let epoch = network.epoch() + 1;
        let accounts = network.accounts();
        let deposits = (0..options.deposits)
            .map(|i| {
                next_deposit += 1;
                CreditedDeposit {
                    deposit_id: next_deposit - 1,
                    account: accounts[(epoch as usize * 7 + i) % accounts.len()],
                    amount: U256::from(1_000_000u64 * (1 + (epoch + i as u64) % 1_000)),
                }
            })
            .collect();
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
        let inputs = EpochInputs {
            timestamp: super::unix_now(),
            deposits,
            withdrawals,
            transfers: options.transfers,
            intents: options.intents,
            ..Default::default()
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

/// Sleeps; false if shutdown came first.
async fn sleep_or_stop(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}
