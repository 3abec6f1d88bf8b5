//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use myco_bridge::devnet::faults::Fault;

/// myco-bridge: settles a BFT-certified Automerge payment network on an EVM chain.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true, env = "MYCO_LOG_JSON")]
    pub log_json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the relayer as a service: ingest, settle, submit, watch, reconcile, and serve the status page,
    /// JSON API, /metrics, /health and /ready. Stops cleanly on SIGINT/SIGTERM (exit 0); exits 2 after a halt.
    Run(RunArgs),
    /// What the relayer (running or not) has done, from its store: epochs ingested, committed and finalized,
    /// pending withdrawals, open mismatches. Exits 0, or 2 when the relayer is halted by an equivocation.
    Status(StatusArgs),
    /// Deploy the contracts against the chain's USDC (--usdc) or a test one (--test-usdc) with the admin key in
    /// MYCO_BRIDGE_ADMIN_KEY, grant the guardian and the relayer their roles, and print the `[chain]` section.
    Deploy(DeployArgs),
    /// Claim a withdrawal: read the claim and its proof from a relayer's API, send `USDCEscrow.withdraw` with
    /// your own key (MYCO_BRIDGE_PRIVATE_KEY or --keystore), wait for the receipt, and print what was paid.
    Withdraw(WithdrawArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(MigrateArgs),
    /// Run the whole bridge on a fresh local chain: anvil, contracts, simulated validators, the relayer, a
    /// deposit and a withdrawal; prints a summary and exits 0 when every step succeeded.
    Demo {
        /// Epochs to certify and commit.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        epochs: u64,
        /// Validators in the simulated network.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=100))]
        validators: u64,
        /// Seed for every key and random choice of the simulation.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Folder for batches and the relayer's database (recreated on each run).
        #[arg(long, default_value = ".demo")]
        workdir: PathBuf,
        /// Write the reserve down by this many basis points in the withdrawal epoch (e.g. 1500): below par,
        /// withdrawals pay the P-AMM rate instead of 1.0.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=10_000))]
        reserve_loss_bps: u64,
        /// Keep the local chain running after the summary (until Ctrl-C), to inspect it with `cast`.
        #[arg(long)]
        keep_chain: bool,
    },
    /// Run a simulated validator network producing certified batches into a folder or over HTTP.
    Simulate(SimulateArgs),
    /// Verify one batch file on its own: prints its summary and exits 0, or the reason and exits 1.
    VerifyBatch(VerifyArgs),
    /// Print a batch's computed outputs: clearing price, fills, net curve orders, penalties, P-AMM payouts,
    /// deposit splits, the state root and each claim's proof.
    InspectBatch(InspectArgs),
}

/// `run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configuration file (see config/myco-bridge.example.toml).
    #[arg(long, short, env = "MYCO_BRIDGE_CONFIG")]
    pub config: PathBuf,
    /// The preflight: check the configuration, the key, the chain id, each contract (and that they point at each
    /// other), the key's roles and funds, and the store; print every check and exit 0 only if all pass.
    #[arg(long)]
    pub check: bool,
}

/// `status` options.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The configuration file (its [database] is read).
    #[arg(long, short, env = "MYCO_BRIDGE_CONFIG", required_unless_present = "database")]
    pub config: Option<PathBuf>,
    /// Or the database URL directly.
    #[arg(long)]
    pub database: Option<String>,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `migrate` options.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The configuration file (its [database] is migrated).
    #[arg(long, short, env = "MYCO_BRIDGE_CONFIG", required_unless_present = "database")]
    pub config: Option<PathBuf>,
    /// Or the database URL directly.
    #[arg(long)]
    pub database: Option<String>,
}

/// `deploy` options.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The chain's JSON-RPC endpoint.
    #[arg(long)]
    pub rpc_url: String,
    /// The relayer's address (gets the commit and settlement roles).
    #[arg(long)]
    pub relayer: alloy::primitives::Address,
    /// The guardian's address (may pause and revoke); must not be the admin.
    #[arg(long)]
    pub guardian: alloy::primitives::Address,
    /// The chain's existing USDC (checked: a contract with 6 decimals).
    #[arg(long, conflicts_with = "test_usdc", required_unless_present = "test_usdc")]
    pub usdc: Option<alloy::primitives::Address>,
    /// Deploy a freely mintable test USDC instead (test networks only).
    #[arg(long)]
    pub test_usdc: bool,
    /// Seconds a committed root stays revocable.
    #[arg(long, default_value_t = 3600)]
    pub challenge_window: u64,
    /// Bonding-curve price at zero supply (WAD).
    #[arg(long, default_value = "990000000000000000")]
    pub curve_p0: String,
    /// Bonding-curve slope (WAD).
    #[arg(long, default_value = "100000000000")]
    pub curve_m: String,
    /// P-AMM ᾱ, the relative minimum slope of the redemption curve (WAD, positive).
    #[arg(long, default_value = "1000000000000000000")]
    pub pamm_alpha_bar: String,
    /// P-AMM x̄_U, the relative cap on the par region (WAD, at most 1.0).
    #[arg(long, default_value = "300000000000000000")]
    pub pamm_xu_bar: String,
    /// P-AMM θ̄, the floor price (WAD, below 1.0).
    #[arg(long, default_value = "600000000000000000")]
    pub pamm_theta_bar: String,
    /// P-AMM δ, the per-second decay of the redemption level (WAD; the default halves it every two days).
    #[arg(long, default_value = "999995988739639108")]
    pub pamm_decay: String,
}

/// `withdraw` options.
#[derive(Debug, Args)]
pub struct WithdrawArgs {
    /// The claim id.
    #[arg(long)]
    pub claim: String,
    /// A relayer's (or auditor's) status API, e.g. http://127.0.0.1:9090.
    #[arg(long)]
    pub api: String,
    /// The chain's JSON-RPC endpoint.
    #[arg(long, env = "RPC_URL")]
    pub rpc_url: String,
    /// Wait until the claim's root is final instead of exiting when it is not yet.
    #[arg(long)]
    pub wait: bool,
    /// An Ethereum keystore (JSON) file to sign with; without it, MYCO_BRIDGE_PRIVATE_KEY.
    #[arg(long)]
    pub keystore: Option<PathBuf>,
    /// A file holding the keystore's password; without it, MYCO_BRIDGE_KEYSTORE_PASSWORD.
    #[arg(long)]
    pub keystore_password_file: Option<PathBuf>,
}

/// `inspect-batch` options.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The batch file.
    pub file: PathBuf,
    /// Chain id the batch must be certified for.
    #[arg(long, default_value_t = 31337)]
    pub chain_id: u64,
    /// Verify the certificate against these validator keys first (without it the batch is only decoded and
    /// value-checked, and reported as unverified).
    #[arg(long)]
    pub validators_file: Option<PathBuf>,
    /// The bonding curve's spot price (WAD USD per MYCO) for the auction.
    #[arg(long, default_value = "1000000000000000000")]
    pub spot: String,
    /// Price claims with the P-AMM parameters of this escrow (read through --rpc-url) instead of the defaults.
    #[arg(long, requires = "rpc_url")]
    pub escrow: Option<alloy::primitives::Address>,
    /// The chain's JSON-RPC endpoint, to read --escrow's parameters.
    #[arg(long, requires = "escrow")]
    pub rpc_url: Option<String>,
    /// One line of JSON instead of indented JSON.
    #[arg(long)]
    pub json: bool,
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
    /// Off-chain accounts (the size of the balance maps).
    #[arg(long, default_value_t = 100)]
    pub accounts: usize,
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
    /// Publish a bad batch first at an epoch, as EPOCH:KIND (repeatable). Kinds: corrupt-document, truncated,
    /// wrong-schema, bad-signature, missing-signatures, too-few-signers, unknown-signer, duplicate-signer,
    /// wrong-parent, replay, oversized, wrong-chain, bad-intent-signature, equivocation.
    #[arg(long = "fault", value_parser = parse_fault)]
    pub faults: Vec<(u64, Fault)>,
}

/// `verify-batch` options.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The batch file.
    pub file: PathBuf,
    /// Chain id the batch must be certified for.
    #[arg(long, default_value_t = 31337)]
    pub chain_id: u64,
    /// File of validator public keys, one hex key per line (as `simulate` writes `validators.txt`).
    #[arg(long, required_unless_present = "validator")]
    pub validators_file: Option<PathBuf>,
    /// A validator public key (hex); repeat for each validator.
    #[arg(long)]
    pub validator: Vec<String>,
}

fn parse_fault(s: &str) -> Result<(u64, Fault), String> {
    let (epoch, kind) = s.split_once(':').ok_or("expected EPOCH:KIND, e.g. 3:bad-signature")?;
    Ok((epoch.parse().map_err(|e| format!("epoch {epoch:?}: {e}"))?, kind.parse()?))
}
