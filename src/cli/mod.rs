//! Command-line interface. The devnet's commands (`demo`, `simulate`) exist only in a build with the `devnet`
//! feature.

#[cfg(feature = "devnet")]
pub mod devnet;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Run an attester beside a validator: verify the same certified batches, recompute each epoch's commitment,
    /// sign it with the attester key (MYCO_BRIDGE_ATTESTER_KEY, or [signer] keystore) and serve the signatures at
    /// GET /v1/attestations/{epoch}. Never signs two different commitments for one epoch (it halts, exit 2).
    Attest(AttestArgs),
    /// Run an independent auditor (anyone can: a validator, a user, the guardian's operator): follow
    /// StateCommitment, recompute every committed epoch from the certified batches, check the attestations, the
    /// conservation audit and every withdrawal, ask every source again for late equivocations, and revoke a wrong
    /// commitment inside its window with a guardian key (MYCO_BRIDGE_GUARDIAN_KEY or [audit] guardian_keystore),
    /// or raise the alarm without one. Serves /api/v1/findings, a status page and /metrics on [api] listen.
    Audit(AuditArgs),
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
    #[cfg(feature = "devnet")]
    Demo(devnet::DemoArgs),
    /// Run a simulated validator network producing certified batches into a folder or over HTTP.
    #[cfg(feature = "devnet")]
    Simulate(devnet::SimulateArgs),
    /// Verify one batch file on its own: prints its summary and exits 0, or the reason and exits 1.
    VerifyBatch(VerifyArgs),
    /// Print a batch's computed outputs: clearing price, fills, net curve orders, penalties, P-AMM payouts,
    /// deposit splits, the state root and each claim's proof.
    InspectBatch(InspectArgs),
}

/// `attest` options.
#[derive(Debug, Args)]
pub struct AttestArgs {
    /// The attester's configuration file: the relayer's format ([chain], [validators], [source], [database] (its
    /// own store), [api] listen); the relayer-only sections are ignored.
    #[arg(long, short, env = "MYCO_BRIDGE_CONFIG")]
    pub config: PathBuf,
}

/// `audit` options.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The auditor's configuration file: the relayer's format ([chain], [validators], [source], [database] (its
    /// own store), [api] listen, [conservation]) and [audit]; the relayer-only sections are ignored.
    #[arg(long, short, env = "MYCO_BRIDGE_CONFIG")]
    pub config: PathBuf,
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
    /// An attester's address (repeat for each: one beside each validator, `myco-bridge attest`).
    #[arg(long = "attester", required = true)]
    pub attesters: Vec<alloy::primitives::Address>,
    /// Attestations a commitment needs (default 2f + 1 of n = 3f + 1: more than two thirds).
    #[arg(long)]
    pub attestation_threshold: Option<usize>,
    /// The chain's existing USDC (checked: a contract with 6 decimals).
    #[arg(long, conflicts_with = "test_usdc", required_unless_present = "test_usdc")]
    pub usdc: Option<alloy::primitives::Address>,
    /// Deploy a freely mintable test USDC instead (test networks only).
    #[arg(long)]
    pub test_usdc: bool,
    /// Seconds a committed root stays revocable.
    #[arg(long, default_value_t = 3600)]
    pub challenge_window: u64,
    /// Seconds a transfer of the admin role (or a looser outflow limit) waits before it applies.
    #[arg(long, default_value_t = 172_800)]
    pub admin_delay: u64,
    /// Seconds between a root becoming final and its first payment: the guardian's time to cancel it.
    #[arg(long, default_value_t = 3600)]
    pub withdrawal_delay: u64,
    /// USDC (6 decimals) that may leave the escrow per --outflow-period (a token bucket that refills linearly).
    #[arg(long, default_value_t = 1_000_000_000_000)]
    pub outflow_limit: u128,
    /// The outflow limit's period in seconds.
    #[arg(long, default_value_t = 3600)]
    pub outflow_period: u64,
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
    /// Send the USDC to this address instead of the claim's recipient (`USDCEscrow.withdrawTo`): for a
    /// recipient the token will not pay (a USDC blocklist). The key must be the claim's recipient's.
    #[arg(long)]
    pub to: Option<alloy::primitives::Address>,
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
    /// The escrow that pays the claims: their leaves, and so the state root, are bound to it and to --chain-id
    /// (the zero address when not given). With --rpc-url, claims are priced with its P-AMM parameters instead of
    /// the defaults.
    #[arg(long)]
    pub escrow: Option<alloy::primitives::Address>,
    /// The chain's JSON-RPC endpoint, to read --escrow's parameters.
    #[arg(long, requires = "escrow")]
    pub rpc_url: Option<String>,
    /// The previous epoch's batch (a file, or the folder holding `<epoch − 1>.batch`): prints the conservation
    /// audit's terms between the two (docs/settlement-math.md, "Conservation between epochs").
    #[arg(long)]
    pub previous: Option<PathBuf>,
    /// The labor attesters' keys (one hex key per line) whose mints count; without it, mint signatures are
    /// checked against the keys the batch names.
    #[arg(long, requires = "previous")]
    pub labor_attesters_file: Option<PathBuf>,
    /// One line of JSON instead of indented JSON.
    #[arg(long)]
    pub json: bool,
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
