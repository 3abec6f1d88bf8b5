//! The whole bridge on a local chain: anvil, the contracts, a simulated validator network, the relayer,
//! escrow deposits that get credited, batch auctions whose net orders execute on the curve, and withdrawals paid
//! at the P-AMM rate (one of them dampened for its size). Used by `myco-bridge demo` and the end-to-end tests.

mod report;
mod session;

use std::path::PathBuf;
use std::time::Duration;

use crate::{Error, Result, devnet};

pub use report::{EpochLine, Finished, Report};
use session::Session;

/// How long any one step of the demo may take before it is reported as stuck.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// Challenge window of the demo's StateCommitment; the demo fast-forwards anvil's clock past it.
const CHALLENGE_WINDOW: u64 = 600;
/// USDC each demo user deposits (1,000 USDC).
const DEPOSIT_USDC: u64 = 1_000_000_000;
/// MYCO the demo users withdraw: 80 (within the flow threshold) and 250 (well above it: the penalty's cap).
const WITHDRAW_MYCO: [u64; 2] = [80, 250];

/// Demo settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Epochs to certify and commit.
    pub epochs: u64,
    /// Validators in the simulated network.
    pub validators: usize,
    /// Off-chain accounts in the simulated network.
    pub accounts: usize,
    /// Seed of every key and random choice.
    pub seed: u64,
    /// Where batches and the relayer's database go (recreated on each run).
    pub workdir: PathBuf,
    /// Reserve write-down in the withdrawal epoch, in basis points (0: fully backed, withdrawals at par).
    pub reserve_loss_bps: u64,
    /// The relayer's database; `None` for `relayer.db` (SQLite) in the work folder.
    pub database_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            epochs: 5,
            validators: 4,
            accounts: 8,
            seed: 7,
            workdir: PathBuf::from(".demo"),
            reserve_loss_bps: 0,
            database_url: None,
        }
    }
}

/// Runs the demo end to end.
pub async fn run(options: &Options) -> Result<Finished> {
    let mut demo = Session::start(options).await?;
    demo.deposit_for_users().await?;
    let withdrawal_epoch = options.epochs.min(2);
    for epoch in 1..=options.epochs {
        demo.certify_epoch(epoch, epoch == withdrawal_epoch, options).await?;
    }
    demo.claim_withdrawals().await?;
    demo.finish().await
}

fn step(step: &'static str, reason: String) -> Error {
    devnet::Error::Step { step, reason }.into()
}
