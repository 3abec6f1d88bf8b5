//! The relayer's configuration: one TOML file (`config/myco-bridge.example.toml` documents every key), then
//! environment overrides `MYCO_BRIDGE__<SECTION>__<KEY>` (e.g. `MYCO_BRIDGE__DATABASE__URL`), validated at
//! start with errors that name the key. The private key is never in the file: it comes from
//! `MYCO_BRIDGE_PRIVATE_KEY` or an Ethereum keystore file whose password is in a file or
//! `MYCO_BRIDGE_KEYSTORE_PASSWORD`; it never appears in logs or errors.

mod file;
mod validate;

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;

use crate::chain::TxPolicy;
use crate::ingest::{SourceConfig, ValidatorSet};

pub use file::*;

/// Prefix of environment overrides; sections and keys are separated by `__`.
pub const ENV_PREFIX: &str = "MYCO_BRIDGE__";
/// The relayer's private key (hex), when no keystore is configured.
pub const KEY_ENV: &str = "MYCO_BRIDGE_PRIVATE_KEY";
/// The environment variable holding an attester's key (hex), when it is not in a keystore.
pub const ATTESTER_KEY_ENV: &str = "MYCO_BRIDGE_ATTESTER_KEY";
/// The environment variable an auditor's guardian key is read from (hex), when `[audit] guardian_keystore` is not set.
pub const GUARDIAN_KEY_ENV: &str = "MYCO_BRIDGE_GUARDIAN_KEY";
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
    /// The rules of the conservation audit.
    pub conservation: crate::settle::conservation::Policy,
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
            Some(path) => keystore(path, self.file.signer.keystore_password_file.as_deref(), &env),
            None => {
                let hex = env(KEY_ENV).ok_or_else(|| {
                    Error::Key(format!("set {KEY_ENV} or [signer] keystore (the key never goes in the file)"))
                })?;
                // The parse error would not contain the key, but say nothing about it anyway.
                hex.trim().parse().map_err(|_| Error::Key(format!("{KEY_ENV} is not a 32-byte hex private key")))
            }
        }
    }

    /// The attester's key: `MYCO_BRIDGE_ATTESTER_KEY` in `env` if set, else the `[signer]` keystore (or
    /// `MYCO_BRIDGE_PRIVATE_KEY`), as for the relayer. Never logged.
    pub fn attester_signer(&self, env: impl Fn(&str) -> Option<String>) -> Result<PrivateKeySigner, Error> {
        match env(ATTESTER_KEY_ENV) {
            Some(hex) => hex
                .trim()
                .parse()
                .map_err(|_| Error::Key(format!("{ATTESTER_KEY_ENV} is not a 32-byte hex private key"))),
            None => self.signer(env),
        }
    }

    /// The auditor's guardian key, if it has one: the `[audit] guardian_keystore`, else `MYCO_BRIDGE_GUARDIAN_KEY`
    /// in `env`. Without either the auditor only alarms. Never logged.
    pub fn guardian_signer(&self, env: impl Fn(&str) -> Option<String>) -> Result<Option<PrivateKeySigner>, Error> {
        let a = &self.file.audit;
        if let Some(path) = &a.guardian_keystore {
            return keystore(path, a.guardian_keystore_password_file.as_deref(), &env).map(Some);
        }
        env(GUARDIAN_KEY_ENV)
            .map(|hex| {
                hex.trim()
                    .parse()
                    .map_err(|_| Error::Key(format!("{GUARDIAN_KEY_ENV} is not a 32-byte hex private key")))
            })
            .transpose()
    }

    /// The auditor configuration, with the escrow's P-AMM `params`; `guardian` when it signs as the guardian.
    pub fn auditor(&self, params: crate::settle::pamm::Params, guardian: Option<Address>) -> crate::audit::Config {
        let f = &self.file;
        crate::audit::Config {
            reader: self.reader(params),
            state_commitment: f.chain.state_commitment,
            curve: f.chain.curve,
            start_block: f.chain.start_block,
            confirmations: f.chain.confirmations,
            max_log_range: f.chain.max_log_range,
            poll_interval: Duration::from_millis(f.relayer.poll_interval_ms),
            horizon_epochs: f.audit.horizon_epochs,
            recheck_per_pass: f.audit.recheck_per_pass,
            credit_within_epochs: f.relayer.credit_within_epochs,
            policy: self.conservation.clone(),
            guardian,
            tx: self.tx_policy(),
        }
    }

    /// The reader configuration (shared by the relayer and an attester), with the escrow's P-AMM `params`.
    pub fn reader(&self, params: crate::settle::pamm::Params) -> crate::reader::Config {
        let f = &self.file;
        crate::reader::Config {
            chain_id: f.chain.chain_id,
            validators: self.validators.clone(),
            source: self.source.clone(),
            document_limits: self.document_limits(),
            params,
            escrow: f.chain.escrow,
        }
    }

    /// What a batch and its document may claim, from `[source]`.
    fn document_limits(&self) -> crate::ingest::document::footprint::Limits {
        let s = &self.file.source;
        crate::ingest::document::footprint::Limits {
            max_batch_bytes: s.max_batch_bytes,
            max_ops: s.max_document_ops,
            max_column_bytes: s.max_document_column_bytes,
            max_actors: s.max_document_actors,
        }
    }

    /// How the relayer's and the guardian auditor's transactions are sent (`[transactions]`).
    pub fn tx_policy(&self) -> TxPolicy {
        let f = &self.file;
        TxPolicy {
            confirmations: f.transactions.confirmations,
            resubmit_after_blocks: f.transactions.resubmit_after_blocks,
            bump_percent: f.transactions.bump_percent,
            max_fee_multiple: f.transactions.max_fee_multiple,
            poll_interval: Duration::from_millis(f.relayer.poll_interval_ms.clamp(50, 2_000)),
            timeout: Duration::from_secs(f.transactions.timeout_secs),
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
            tx: self.tx_policy(),
            poll_interval: Duration::from_millis(f.relayer.poll_interval_ms),
            credit_within_epochs: f.relayer.credit_within_epochs,
            max_log_range: f.chain.max_log_range,
            document_limits: self.document_limits(),
            attestation_endpoints: f.attestation.endpoints.clone(),
            attestation_timeout: Duration::from_millis(f.attestation.timeout_ms),
            conservation: self.conservation.clone(),
        }
    }
}

/// Decrypts the keystore at `path` with the password in `password_file`, else `MYCO_BRIDGE_KEYSTORE_PASSWORD`.
fn keystore(
    path: &Path,
    password_file: Option<&Path>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<PrivateKeySigner, Error> {
    let password = match password_file {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| Error::Key(format!("reading the password file {}: {e}", file.display())))?
            .trim_end_matches(['\n', '\r'])
            .to_string(),
        None => env(KEYSTORE_PASSWORD_ENV).ok_or_else(|| Error::Key(format!("{KEYSTORE_PASSWORD_ENV} is not set")))?,
    };
    PrivateKeySigner::decrypt_keystore(path, password)
        .map_err(|e| Error::Key(format!("decrypting the keystore {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    fn example_with(extra_env: &[(&str, &str)]) -> Result<Settings, Error> {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("validators.txt");
        std::fs::write(&keys, format!("{}\n{}\n", "11".repeat(32), "22".repeat(32))).unwrap();
        let text = include_str!("../../config/myco-bridge.example.toml");
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
    fn the_conservation_section_becomes_the_audit_policy_and_bad_values_name_their_key() {
        let s = example_with(&[]).unwrap();
        assert_eq!(s.conservation, crate::settle::conservation::Policy::default(), "the example states the defaults");
        let key = "11".repeat(32);
        let s = example_with(&[("MYCO_BRIDGE__CONSERVATION__LABOR_ATTESTERS", &format!("[\"0x{key}\"]"))]).unwrap();
        assert_eq!(s.conservation.issuance.attesters.len(), 1);
        let err = example_with(&[("MYCO_BRIDGE__CONSERVATION__BAND", "\"2000000000000000000\"")]).unwrap_err();
        assert!(err.to_string().starts_with("conservation.band"), "{err}");
        let err = example_with(&[("MYCO_BRIDGE__CONSERVATION__MINT_WINDOW_EPOCHS", "0")]).unwrap_err();
        assert!(err.to_string().starts_with("conservation.mint_window_epochs"), "{err}");
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
