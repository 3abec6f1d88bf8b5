//! The configuration file's schema: one struct per section, every default named, unknown keys refused.

use std::net::SocketAddr;
use std::path::PathBuf;

use alloy::primitives::Address;
use serde::Deserialize;

/// The file's schema.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// `[chain]`
    pub chain: ChainSection,
    /// `[validators]`
    pub validators: ValidatorsSection,
    /// `[source]`
    pub source: SourceSection,
    /// `[database]`
    #[serde(default)]
    pub database: DatabaseSection,
    /// `[signer]`
    #[serde(default)]
    pub signer: SignerSection,
    /// `[transactions]`
    #[serde(default)]
    pub transactions: TransactionsSection,
    /// `[relayer]`
    #[serde(default)]
    pub relayer: RelayerSection,
    /// `[api]`
    #[serde(default)]
    pub api: ApiSection,
    /// `[leader]`
    #[serde(default)]
    pub leader: LeaderSection,
    /// `[alerts]`
    #[serde(default)]
    pub alerts: AlertsSection,
    /// `[attestation]`
    #[serde(default)]
    pub attestation: AttestationSection,
    /// `[conservation]`
    #[serde(default)]
    pub conservation: ConservationSection,
    /// `[audit]`
    #[serde(default)]
    pub audit: AuditSection,
}

/// `[audit]`: what `myco-bridge audit` adds to the shared sections (it reads `[chain]`, `[validators]`,
/// `[source]`, `[database]` (its own store), `[relayer]` poll_interval_ms and credit_within_epochs, `[api]` listen
/// and `[conservation]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// Accepted epochs back from the newest that the auditor keeps asking every source for (late equivocations).
    #[serde(default = "default_horizon")]
    pub horizon_epochs: u64,
    /// How many of them it asks for per pass (it walks the horizon round).
    #[serde(default = "default_recheck_per_pass")]
    pub recheck_per_pass: u64,
    /// A keystore of the guardian key: with it (or MYCO_BRIDGE_GUARDIAN_KEY), a wrong commitment inside its
    /// challenge window is revoked; without either, the auditor only alarms.
    #[serde(default)]
    pub guardian_keystore: Option<PathBuf>,
    /// A file holding that keystore's password (else MYCO_BRIDGE_KEYSTORE_PASSWORD).
    #[serde(default)]
    pub guardian_keystore_password_file: Option<PathBuf>,
}

impl Default for AuditSection {
    fn default() -> Self {
        Self {
            horizon_epochs: default_horizon(),
            recheck_per_pass: default_recheck_per_pass(),
            guardian_keystore: None,
            guardian_keystore_password_file: None,
        }
    }
}

fn default_horizon() -> u64 {
    crate::audit::DEFAULT_HORIZON_EPOCHS
}
fn default_recheck_per_pass() -> u64 {
    crate::audit::DEFAULT_RECHECK_PER_PASS
}

/// `[conservation]`: the protocol rules the conservation audit enforces before a commitment
/// (docs/settlement-math.md, "Conservation between epochs").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConservationSection {
    /// An executed epoch's settlement must be applied by a batch at most this many epochs later.
    #[serde(default = "default_settle_within")]
    pub settle_within_epochs: u64,
    /// Each vault's relative band around its target weight, WAD as a decimal string ("100000000000000000" is 10%).
    #[serde(default = "default_band")]
    pub band: String,
    /// The labor attesters' Ed25519 public keys (0x hex, 32 bytes): the only keys whose attestations mint.
    #[serde(default)]
    pub labor_attesters: Vec<String>,
    /// The most MYCO (base units, decimal) one contributor may be minted within `mint_window_epochs` epochs.
    #[serde(default = "default_max_mint")]
    pub max_mint_per_window: String,
    /// The length of that window, epochs.
    #[serde(default = "default_mint_window")]
    pub mint_window_epochs: u64,
    /// Epochs between two mints to one contributor.
    #[serde(default = "default_mint_cooldown")]
    pub mint_cooldown_epochs: u64,
}

impl Default for ConservationSection {
    fn default() -> Self {
        Self {
            settle_within_epochs: default_settle_within(),
            band: default_band(),
            labor_attesters: Vec::new(),
            max_mint_per_window: default_max_mint(),
            mint_window_epochs: default_mint_window(),
            mint_cooldown_epochs: default_mint_cooldown(),
        }
    }
}

fn default_settle_within() -> u64 {
    8
}
fn default_band() -> String {
    crate::settle::tranche::DEFAULT_BAND.to_string()
}
/// 100,000 MYCO.
fn default_max_mint() -> String {
    "100000000000000000000000".into()
}
fn default_mint_window() -> u64 {
    24
}
fn default_mint_cooldown() -> u64 {
    1
}

/// `[attestation]`: where the relayer collects the validators' attestations of each commitment, and how long it
/// waits for each.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationSection {
    /// Base URLs of the attesters (`myco-bridge attest`, one beside each validator); each serves
    /// `GET /v1/attestations/{epoch}`.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// How long one attester may take to answer, milliseconds (a silent one costs at most this per poll).
    #[serde(default = "default_attestation_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_attestation_timeout_ms() -> u64 {
    2_000
}

/// `[alerts]`: thresholds `/metrics` publishes beside the live figures, so the shipped alerting rules compare
/// the two without being edited per deployment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    /// Alert when the relayer's account holds less ETH than this (decimal ETH, e.g. "0.05").
    #[serde(default = "default_min_relayer_eth")]
    pub min_relayer_eth: String,
    /// Alert when the settlement float holds less USDC than this (decimal USDC, e.g. "1000").
    #[serde(default = "default_min_float_usdc")]
    pub min_float_usdc: String,
}

impl Default for AlertsSection {
    fn default() -> Self {
        Self { min_relayer_eth: default_min_relayer_eth(), min_float_usdc: default_min_float_usdc() }
    }
}

fn default_min_relayer_eth() -> String {
    "0.05".into()
}
fn default_min_float_usdc() -> String {
    "0".into()
}
fn default_max_log_range() -> u64 {
    crate::chain::logs::DEFAULT_MAX_LOG_RANGE
}

/// Alert thresholds, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Thresholds {
    /// ETH (wei) below which the relayer's account is low.
    pub min_relayer_wei: alloy::primitives::U256,
    /// USDC (6 decimals) below which the float is low.
    pub min_float_usdc: alloy::primitives::U256,
}

/// `[chain]`: where the contracts are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSection {
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// Chain id; batches must be certified for it and the node must report it.
    pub chain_id: u64,
    /// `StateCommitment` address.
    pub state_commitment: Address,
    /// `USDCEscrow` address.
    pub escrow: Address,
    /// `MycoBondingCurve` address.
    pub curve: Address,
    /// First block the escrow watcher reads (the escrow's deployment block).
    pub start_block: u64,
    /// Blocks on top before an escrow event counts.
    #[serde(default = "default_watch_confirmations")]
    pub confirmations: u64,
    /// Blocks per `eth_getLogs` request, at most (hosted providers cap ranges at 500 to 10,000 blocks).
    #[serde(default = "default_max_log_range")]
    pub max_log_range: u64,
}

/// `[validators]`: who certifies batches.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorsSection {
    /// Ed25519 public keys, hex.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Or a file of them, one per line (as `simulate` writes `validators.txt`).
    pub keys_file: Option<PathBuf>,
}

/// `[source]`: where batches come from; exactly one of the two.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// A folder of `<epoch>.batch` files.
    pub folder: Option<PathBuf>,
    /// Validator endpoints serving `GET /v1/batches/<epoch>`.
    #[serde(default)]
    pub http: Vec<String>,
    /// Per-request timeout for those endpoints, milliseconds.
    #[serde(default = "default_http_timeout_ms")]
    pub http_timeout_ms: u64,
    /// Bytes a batch may have (checked before it is read; the default is 64 MiB).
    #[serde(default = "default_max_batch_bytes")]
    pub max_batch_bytes: u64,
    /// Operations a batch's document may claim (checked before it is loaded; memory grows with it).
    #[serde(default = "default_max_document_ops")]
    pub max_document_ops: u64,
    /// Bytes a batch document's columns may hold, deflated ones counted inflated.
    #[serde(default = "default_max_document_column_bytes")]
    pub max_document_column_bytes: u64,
    /// Actors a batch document may list (checked before it is loaded).
    #[serde(default = "default_max_document_actors")]
    pub max_document_actors: u64,
}

fn default_max_batch_bytes() -> u64 {
    crate::ingest::document::footprint::Limits::default().max_batch_bytes
}
fn default_max_document_ops() -> u64 {
    crate::ingest::document::footprint::Limits::default().max_ops
}
fn default_max_document_column_bytes() -> u64 {
    crate::ingest::document::footprint::Limits::default().max_column_bytes
}
fn default_max_document_actors() -> u64 {
    crate::ingest::document::footprint::Limits::default().max_actors
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// `sqlite://PATH` (default `sqlite://myco-bridge.db`) or `postgres://user:password@host/db`.
    #[serde(default = "default_database_url")]
    pub url: String,
}

/// `[signer]`: where the relayer key comes from (never the key itself).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerSection {
    /// An Ethereum keystore (JSON) file; without it, the key comes from `MYCO_BRIDGE_PRIVATE_KEY`.
    pub keystore: Option<PathBuf>,
    /// A file holding the keystore's password; without it, `MYCO_BRIDGE_KEYSTORE_PASSWORD`.
    pub keystore_password_file: Option<PathBuf>,
}

/// `[transactions]`: how transactions are sent (defaults from op txmgr and CoW).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionsSection {
    /// Blocks on top of a receipt before it counts.
    #[serde(default = "default_tx_confirmations")]
    pub confirmations: u64,
    /// Blocks a transaction may stay unmined before it is replaced with higher fees.
    #[serde(default = "default_resubmit")]
    pub resubmit_after_blocks: u64,
    /// Fee increase per replacement, percent (at least 10).
    #[serde(default = "default_bump")]
    pub bump_percent: u64,
    /// Fee cap, as a multiple of the first estimate.
    #[serde(default = "default_fee_multiple")]
    pub max_fee_multiple: u64,
    /// How long one send may take in all, seconds.
    #[serde(default = "default_send_timeout")]
    pub timeout_secs: u64,
}

/// `[relayer]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayerSection {
    /// How often sources and the chain are polled, milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Epochs a deposit may wait for its credit before it is a mismatch.
    #[serde(default = "default_credit_within")]
    pub credit_within_epochs: u64,
}

/// `[api]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Where the status page, JSON API, `/metrics`, `/health` and `/ready` listen.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
}

/// `[leader]`: running two or more instances against one PostgreSQL store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderSection {
    /// How often a follower tries for the leader lock (and the leader checks it still holds it), ms.
    #[serde(default = "default_leader_poll_ms")]
    pub poll_interval_ms: u64,
}

impl Default for LeaderSection {
    fn default() -> Self {
        Self { poll_interval_ms: default_leader_poll_ms() }
    }
}

fn default_leader_poll_ms() -> u64 {
    200
}

fn default_watch_confirmations() -> u64 {
    2
}
fn default_http_timeout_ms() -> u64 {
    10_000
}
fn default_database_url() -> String {
    "sqlite://myco-bridge.db".into()
}
fn default_tx_confirmations() -> u64 {
    3
}
fn default_resubmit() -> u64 {
    5
}
fn default_bump() -> u64 {
    13
}
fn default_fee_multiple() -> u64 {
    5
}
fn default_send_timeout() -> u64 {
    300
}
fn default_poll_ms() -> u64 {
    1_000
}
fn default_credit_within() -> u64 {
    crate::reconcile::DEFAULT_CREDIT_WITHIN_EPOCHS
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9090))
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self { url: default_database_url() }
    }
}
impl Default for TransactionsSection {
    fn default() -> Self {
        Self {
            confirmations: default_tx_confirmations(),
            resubmit_after_blocks: default_resubmit(),
            bump_percent: default_bump(),
            max_fee_multiple: default_fee_multiple(),
            timeout_secs: default_send_timeout(),
        }
    }
}
impl Default for RelayerSection {
    fn default() -> Self {
        Self { poll_interval_ms: default_poll_ms(), credit_within_epochs: default_credit_within() }
    }
}
impl Default for ApiSection {
    fn default() -> Self {
        Self { listen: default_listen() }
    }
}
