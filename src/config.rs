//! The relayer's configuration: one TOML file (`config/myco-bridge.example.toml` documents every key), then
//! environment overrides `MYCO_BRIDGE__<SECTION>__<KEY>` (e.g. `MYCO_BRIDGE__DATABASE__URL`), validated at
//! start with errors that name the key. The private key is never in the file: it comes from
//! `MYCO_BRIDGE_PRIVATE_KEY` or an Ethereum keystore file whose password is in a file or
//! `MYCO_BRIDGE_KEYSTORE_PASSWORD`; it never appears in logs or errors.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use serde::Deserialize;

use crate::chain::TxPolicy;
use crate::ingest::{SourceConfig, ValidatorSet, certificate::parse_keys};

/// Prefix of environment overrides; sections and keys are separated by `__`.
pub const ENV_PREFIX: &str = "MYCO_BRIDGE__";
/// The relayer's private key (hex), when no keystore is configured.
pub const KEY_ENV: &str = "MYCO_BRIDGE_PRIVATE_KEY";
/// The keystore's password, when no password file is configured.
pub const KEYSTORE_PASSWORD_ENV: &str = "MYCO_BRIDGE_KEYSTORE_PASSWORD";

/// A configuration error, naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file or an override is not valid TOML for our schema (unknown key, wrong type, missing key).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, which names the key.
        message: String,
    },
    /// A value is of the right type but not allowed.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key, as `section.key`.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The relayer key is missing or unusable (the message never contains the key).
    #[error("relayer key: {0}")]
    Key(String),
}

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
    /// Operations a batch's document may claim (checked before it is loaded; memory grows with it).
    #[serde(default = "default_max_document_ops")]
    pub max_document_ops: u64,
    /// Bytes a batch document's columns may hold, deflated ones counted inflated.
    #[serde(default = "default_max_document_column_bytes")]
    pub max_document_column_bytes: u64,
}

fn default_max_document_ops() -> u64 {
    crate::ingest::document::footprint::Limits::default().max_ops
}
fn default_max_document_column_bytes() -> u64 {
    crate::ingest::document::footprint::Limits::default().max_column_bytes
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

/// A loaded, validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file as parsed, overrides applied.
    pub file: File,
    /// The validator set.
    pub validators: ValidatorSet,
    /// The batch source.
    pub source: SourceConfig,
    /// The alert thresholds.
    pub thresholds: Thresholds,
}

impl Settings {
    /// Reads `path`, applies `MYCO_BRIDGE__…` overrides from `env`, and validates.
    pub fn load(path: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.into(), source })?;
        Self::parse(path, &text, env)
    }

    /// Parses `text` (named `path` in errors), applies overrides from `env`, and validates.
    pub fn parse(path: &Path, text: &str, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, Error> {
        let parse_error = |message: String| Error::Parse { path: path.into(), message };
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| parse_error(e.to_string()))?;
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
            let parts: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
            let [section, key] = parts.as_slice() else {
                return Err(parse_error(format!("{name}: overrides are {ENV_PREFIX}<SECTION>__<KEY>")));
            };
            // A value that parses as TOML keeps its type (numbers, lists); anything else is a string.
            let parsed = format!("v = {value}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value));
            let entry = table.entry(section.clone()).or_insert_with(|| toml::Value::Table(Default::default()));
            let toml::Value::Table(section_table) = entry else {
                return Err(parse_error(format!("{name}: `{section}` is not a section")));
            };
            section_table.insert(key.clone(), parsed);
        }
        let file: File = table.try_into().map_err(|e: toml::de::Error| parse_error(e.to_string()))?;
        file.validate()
    }

    /// The relayer's signer, from the keystore or `MYCO_BRIDGE_PRIVATE_KEY` in `env`.
    pub fn signer(&self, env: impl Fn(&str) -> Option<String>) -> Result<PrivateKeySigner, Error> {
        match &self.file.signer.keystore {
            Some(path) => {
                let password = match &self.file.signer.keystore_password_file {
                    Some(file) => std::fs::read_to_string(file)
                        .map_err(|e| Error::Key(format!("reading the password file {}: {e}", file.display())))?
                        .trim_end_matches(['\n', '\r'])
                        .to_string(),
                    None => env(KEYSTORE_PASSWORD_ENV)
                        .ok_or_else(|| Error::Key(format!("{KEYSTORE_PASSWORD_ENV} is not set")))?,
                };
                PrivateKeySigner::decrypt_keystore(path, password)
                    .map_err(|e| Error::Key(format!("decrypting the keystore {}: {e}", path.display())))
            }
            None => {
                let hex = env(KEY_ENV).ok_or_else(|| {
                    Error::Key(format!("set {KEY_ENV} or [signer] keystore (the key never goes in the file)"))
                })?;
                // The parse error would not contain the key, but say nothing about it anyway.
                hex.trim().parse().map_err(|_| Error::Key(format!("{KEY_ENV} is not a 32-byte hex private key")))
            }
        }
    }

    /// The relayer configuration, for a relayer signing as `account`.
    pub fn relayer(&self, account: Address) -> crate::relayer::Config {
        let f = &self.file;
        crate::relayer::Config {
            chain_id: f.chain.chain_id,
            validators: self.validators.clone(),
            source: self.source.clone(),
            state_commitment: f.chain.state_commitment,
            escrow: f.chain.escrow,
            curve: f.chain.curve,
            settlement_account: account,
            start_block: f.chain.start_block,
            confirmations: f.chain.confirmations,
            tx: TxPolicy {
                confirmations: f.transactions.confirmations,
                resubmit_after_blocks: f.transactions.resubmit_after_blocks,
                bump_percent: f.transactions.bump_percent,
                max_fee_multiple: f.transactions.max_fee_multiple,
                poll_interval: Duration::from_millis(f.relayer.poll_interval_ms.clamp(50, 2_000)),
                timeout: Duration::from_secs(f.transactions.timeout_secs),
            },
            poll_interval: Duration::from_millis(f.relayer.poll_interval_ms),
            credit_within_epochs: f.relayer.credit_within_epochs,
            max_log_range: f.chain.max_log_range,
            document_limits: crate::ingest::document::footprint::Limits {
                max_ops: f.source.max_document_ops,
                max_column_bytes: f.source.max_document_column_bytes,
            },
        }
    }
}

impl File {
    fn validate(self) -> Result<Settings, Error> {
        let invalid = |key: &'static str, reason: &str| Error::Invalid { key, reason: reason.to_string() };
        url_of(&self.chain.rpc_url).map_err(|e| invalid("chain.rpc_url", &e))?;
        for (key, address) in [
            ("chain.state_commitment", self.chain.state_commitment),
            ("chain.escrow", self.chain.escrow),
            ("chain.curve", self.chain.curve),
        ] {
            if address.is_zero() {
                return Err(invalid(key, "the zero address"));
            }
        }
        if self.chain.max_log_range == 0 {
            return Err(invalid("chain.max_log_range", "at least 1"));
        }
        let thresholds = Thresholds {
            min_relayer_wei: alloy::primitives::utils::parse_ether(&self.alerts.min_relayer_eth)
                .map_err(|e| invalid("alerts.min_relayer_eth", &format!("a decimal ETH amount: {e}")))?,
            min_float_usdc: alloy::primitives::utils::parse_units(&self.alerts.min_float_usdc, 6)
                .map_err(|e| invalid("alerts.min_float_usdc", &format!("a decimal USDC amount: {e}")))?
                .into(),
        };
        if self.chain.confirmations > 256 {
            return Err(invalid("chain.confirmations", "at most 256 (the watcher keeps 256 block hashes)"));
        }
        let t = &self.transactions;
        if t.confirmations == 0 {
            return Err(invalid("transactions.confirmations", "at least 1 (the receipt's own block)"));
        }
        if t.resubmit_after_blocks == 0 {
            return Err(invalid("transactions.resubmit_after_blocks", "at least 1"));
        }
        if t.bump_percent < 10 {
            return Err(invalid("transactions.bump_percent", "at least 10: nodes refuse smaller replacements"));
        }
        if t.max_fee_multiple < 1 {
            return Err(invalid("transactions.max_fee_multiple", "at least 1"));
        }
        if self.leader.poll_interval_ms == 0 {
            return Err(invalid("leader.poll_interval_ms", "at least 1"));
        }
        if self.relayer.poll_interval_ms == 0 {
            return Err(invalid("relayer.poll_interval_ms", "at least 1"));
        }
        crate::store::Backend::of(&self.database.url).map_err(|e| invalid("database.url", &e.to_string()))?;

        let keys = match (&self.validators.keys_file, self.validators.keys.is_empty()) {
            (Some(_), false) => return Err(invalid("validators", "give keys or keys_file, not both")),
            (Some(file), true) => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| invalid("validators.keys_file", &format!("{}: {e}", file.display())))?;
                parse_keys(&text).map_err(|e| invalid("validators.keys_file", &e))?
            }
            (None, false) => {
                parse_keys(&self.validators.keys.join("\n")).map_err(|e| invalid("validators.keys", &e))?
            }
            (None, true) => return Err(invalid("validators", "no validator keys (keys or keys_file)")),
        };
        let validators = ValidatorSet::new(keys).map_err(|e| invalid("validators", &e.to_string()))?;
        let source = match (&self.source.folder, self.source.http.as_slice()) {
            (Some(folder), []) => SourceConfig::Folder(folder.clone()),
            (None, urls) if !urls.is_empty() => SourceConfig::Http {
                endpoints: urls
                    .iter()
                    .map(|u| url_of(u))
                    .collect::<Result<_, _>>()
                    .map_err(|e| invalid("source.http", &e))?,
                timeout: Duration::from_millis(self.source.http_timeout_ms),
            },
            (Some(_), _) => return Err(invalid("source", "give folder or http, not both")),
            (None, _) => return Err(invalid("source", "no batch source (folder or http)")),
        };
        Ok(Settings { file: self, validators, source, thresholds })
    }
}

fn url_of(text: &str) -> Result<alloy::transports::http::reqwest::Url, String> {
    let url: alloy::transports::http::reqwest::Url = text.parse().map_err(|e| format!("{text:?}: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("{text:?}: scheme {other} (http or https)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    fn example_with(extra_env: &[(&str, &str)]) -> Result<Settings, Error> {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("validators.txt");
        std::fs::write(&keys, format!("{}\n{}\n", "11".repeat(32), "22".repeat(32))).unwrap();
        let text = include_str!("../config/myco-bridge.example.toml");
        let mut env = vec![("MYCO_BRIDGE__VALIDATORS__KEYS_FILE".to_string(), keys.display().to_string())];
        env.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Settings::parse(Path::new("example.toml"), text, env)
    }

    #[test]
    fn the_documented_example_loads() {
        let s = example_with(&[]).unwrap();
        assert_eq!(s.file.chain.chain_id, 31337);
        assert_eq!(s.validators.len(), 2);
        assert_eq!(s.file.transactions.bump_percent, 13);
        assert!(matches!(s.source, SourceConfig::Folder(_)));
    }

    #[test]
    fn environment_overrides_keep_their_type() {
        let s = example_with(&[
            ("MYCO_BRIDGE__DATABASE__URL", "postgres://relayer@db/myco"),
            ("MYCO_BRIDGE__CHAIN__CONFIRMATIONS", "12"),
            ("UNRELATED", "x"),
        ])
        .unwrap();
        assert_eq!(s.file.database.url, "postgres://relayer@db/myco");
        assert_eq!(s.file.chain.confirmations, 12);
    }

    #[test]
    fn errors_name_the_key() {
        let message = |env: &[(&str, &str)]| example_with(env).unwrap_err().to_string();
        assert!(message(&[("MYCO_BRIDGE__TRANSACTIONS__BUMP_PERCENT", "5")]).starts_with("transactions.bump_percent:"));
        assert!(message(&[("MYCO_BRIDGE__CHAIN__ESCROW", "0x12")]).contains("escrow"));
        assert!(message(&[("MYCO_BRIDGE__CHAIN__TYPO", "1")]).contains("typo"));
        assert!(message(&[("MYCO_BRIDGE__DATABASE__URL", "mysql://x")]).starts_with("database.url:"));
        assert!(message(&[("MYCO_BRIDGE__CHAIN__RPC_URL", "ftp://node")]).starts_with("chain.rpc_url:"));
        assert!(message(&[("MYCO_BRIDGE__SOURCE__HTTP", "[\"http://v1:7000\"]")]).starts_with("source:"));
    }

    #[test]
    fn the_key_comes_from_the_environment_and_never_shows_in_errors() {
        let s = example_with(&[]).unwrap();
        let signer = s.signer(|name| (name == KEY_ENV).then(|| KEY.to_string())).unwrap();
        assert_eq!(signer.address().to_string(), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        let missing = s.signer(|_| None).unwrap_err().to_string();
        assert!(missing.contains(KEY_ENV), "{missing}");
        let almost = &KEY[..KEY.len() - 2];
        let bad = s.signer(|_| Some(almost.to_string())).unwrap_err().to_string();
        assert!(!bad.contains(&almost[2..]), "the key must not leak: {bad}");
    }

    #[test]
    fn a_keystore_is_decrypted_with_its_password_file() {
        // tests/fixtures/relayer-keystore.json: anvil's account 1, made with
        // `cast wallet import relayer --private-key … --unsafe-password "correct horse"`.
        let dir = tempfile::tempdir().unwrap();
        let keystore = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/relayer-keystore.json");
        std::fs::write(dir.path().join("password"), "correct horse\n").unwrap();
        let mut s = example_with(&[]).unwrap();
        s.file.signer.keystore = Some(keystore);
        s.file.signer.keystore_password_file = Some(dir.path().join("password"));
        assert_eq!(s.signer(|_| None).unwrap().address().to_string(), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        std::fs::write(dir.path().join("password"), "wrong\n").unwrap();
        assert!(s.signer(|_| None).unwrap_err().to_string().contains("decrypting the keystore"));
    }
}
