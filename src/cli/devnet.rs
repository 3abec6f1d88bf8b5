//! The devnet's commands: `demo` and `simulate`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use myco_bridge::devnet::faults::Fault;

/// `demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Epochs to certify and commit.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub epochs: u64,
    /// Validators in the simulated network.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub validators: u64,
    /// Seed for every key and random choice of the simulation.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Folder for batches and the relayer's database (recreated on each run).
    #[arg(long, default_value = ".demo")]
    pub workdir: PathBuf,
    /// Write every reserve vault down by this many basis points in the withdrawal epoch (e.g. 6500): below par,
    /// withdrawals pay the P-AMM rate instead of 1.0.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub reserve_loss_bps: u64,
    /// Keep the local chain running after the summary (until Ctrl-C), to inspect it with `cast`.
    #[arg(long)]
    pub keep_chain: bool,
}

/// `simulate` options.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Write `<epoch>.batch` files (and `validators.txt`) into this folder.
    #[arg(long, conflicts_with = "listen", required_unless_present = "listen")]
    pub out: Option<PathBuf>,
    /// Serve batches over HTTP at this address (`GET /v1/batches/<epoch>`).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Chain id the batches are certified for.
    #[arg(long, default_value_t = 31337)]
    pub chain_id: u64,
    /// Number of validators.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub validators: u64,
    /// Seed for every key and random choice.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Off-chain accounts (the size of the balance maps). With --exact, the balance entries of every batch.
    #[arg(long, default_value_t = 100)]
    pub accounts: usize,
    /// Make every batch exactly --accounts balances, --intents intents, --withdrawals claims and --deposits
    /// deposits (version 1 batches, for load tests; no transfers), or say why that size cannot be made. Without
    /// it, a random economy whose sizes grow with its accounts' funds.
    #[arg(long, conflicts_with_all = ["escrow", "curve"])]
    pub exact: bool,
    /// Signed intents per epoch.
    #[arg(long, default_value_t = 50)]
    pub intents: usize,
    /// MYCO transfers per epoch.
    #[arg(long, default_value_t = 50)]
    pub transfers: usize,
    /// Synthetic escrow deposits credited per epoch (without --escrow).
    #[arg(long, default_value_t = 2)]
    pub deposits: usize,
    /// Credit the real deposits of the escrow at this address (read through --rpc-url) instead of synthetic ones.
    #[arg(long, requires = "rpc_url")]
    pub escrow: Option<alloy::primitives::Address>,
    /// The chain's JSON-RPC endpoint, for --escrow.
    #[arg(long, requires = "escrow")]
    pub rpc_url: Option<String>,
    /// Write version 2 batches (docs/batch-format.md): each epoch's trades are applied back to balances once the
    /// bonding curve at this address executed them (its `EpochSettled` logs, read through --rpc-url), MYCO is
    /// minted only by the devnet's labor attester (`0x1a…` seed), and the reserve moves by deposits, paid claims
    /// and revaluations. Without it, version 1 batches.
    #[arg(long, requires = "escrow")]
    pub curve: Option<alloy::primitives::Address>,
    /// First block to read the escrow's deposits from (its deployment block).
    #[arg(long, default_value_t = 0)]
    pub from_block: u64,
    /// Blocks on top before a deposit is credited.
    #[arg(long, default_value_t = 0)]
    pub confirmations: u64,
    /// Withdrawal requests per epoch.
    #[arg(long, default_value_t = 1)]
    pub withdrawals: usize,
    /// Epochs to produce in this run (0 = until Ctrl-C); a folder that already holds batches is continued.
    #[arg(long, default_value_t = 0)]
    pub epochs: u64,
    /// Milliseconds between batches.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    /// Also run one attester per validator for the `StateCommitment` at this address (keys derived from --seed, as
    /// the devnet deploys them), each verifying these batches and serving its signatures; prints their URLs for
    /// the relayer's [attestation] endpoints and keeps serving until Ctrl-C. Needs --escrow (the claims' domain).
    #[arg(long, requires = "escrow")]
    pub attest_for: Option<alloy::primitives::Address>,
    /// Publish a bad batch first at an epoch, as EPOCH:KIND (repeatable). Kinds: corrupt-document, truncated,
    /// wrong-schema, bad-signature, missing-signatures, too-few-signers, unknown-signer, duplicate-signer,
    /// wrong-parent, replay, oversized, wrong-chain, bad-intent-signature, equivocation.
    #[arg(long = "fault", value_parser = parse_fault)]
    pub faults: Vec<(u64, Fault)>,
}

fn parse_fault(s: &str) -> Result<(u64, Fault), String> {
    let (epoch, kind) = s.split_once(':').ok_or("expected EPOCH:KIND, e.g. 3:bad-signature")?;
    Ok((epoch.parse().map_err(|e| format!("epoch {epoch:?}: {e}"))?, kind.parse()?))
}
