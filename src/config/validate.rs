//! Checks a parsed file: each value within its domain, the validator keys and the batch source loaded, the
//! alert thresholds parsed; every error names its key.

use std::time::Duration;

use super::file::File;
use super::{Error, Settings, Thresholds};
use crate::ingest::{SourceConfig, ValidatorSet, certificate::parse_keys};

fn invalid(key: &'static str, reason: &str) -> Error {
    Error::Invalid { key, reason: reason.to_string() }
}

impl File {
    /// The settings this file describes, or the first key at fault.
    pub(super) fn validate(self) -> Result<Settings, Error> {
        self.check_chain()?;
        self.check_transactions()?;
        if self.leader.poll_interval_ms == 0 {
            return Err(invalid("leader.poll_interval_ms", "at least 1"));
        }
        if self.relayer.poll_interval_ms == 0 {
            return Err(invalid("relayer.poll_interval_ms", "at least 1"));
        }
        crate::store::Backend::of(&self.database.url).map_err(|e| invalid("database.url", &e.to_string()))?;
        let thresholds = self.thresholds()?;
        let validators = self.validator_set()?;
        let source = self.batch_source()?;
        let conservation = self.conservation_policy()?;
        Ok(Settings { file: self, validators, source, thresholds, conservation })
    }

    /// `[conservation]` as the audit's policy.
    fn conservation_policy(&self) -> Result<crate::settle::conservation::Policy, Error> {
        use crate::ingest::document::parse_amount;
        let c = &self.conservation;
        let band = parse_amount(&c.band).map_err(|e| invalid("conservation.band", &e))?;
        if band > alloy::primitives::U256::from(crate::settle::WAD) {
            return Err(invalid("conservation.band", "at most 1e18 (100%)"));
        }
        let max_per_window =
            parse_amount(&c.max_mint_per_window).map_err(|e| invalid("conservation.max_mint_per_window", &e))?;
        if c.mint_window_epochs == 0 {
            return Err(invalid("conservation.mint_window_epochs", "at least 1"));
        }
        let mut attesters = std::collections::BTreeSet::new();
        for key in &c.labor_attesters {
            let parsed = parse_keys(key).map_err(|e| invalid("conservation.labor_attesters", &e))?;
            attesters.extend(parsed.into_iter().map(alloy::primitives::B256::from));
        }
        Ok(crate::settle::conservation::Policy {
            settle_within_epochs: c.settle_within_epochs,
            issuance: crate::settle::conservation::Issuance {
                attesters,
                max_per_window,
                window_epochs: c.mint_window_epochs,
                cooldown_epochs: c.mint_cooldown_epochs,
            },
            band,
        })
    }

    fn check_chain(&self) -> Result<(), Error> {
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
        if self.chain.confirmations > 256 {
            return Err(invalid("chain.confirmations", "at most 256 (the watcher keeps 256 block hashes)"));
        }
        Ok(())
    }

    fn check_transactions(&self) -> Result<(), Error> {
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
        Ok(())
    }

    fn thresholds(&self) -> Result<Thresholds, Error> {
        Ok(Thresholds {
            min_relayer_wei: alloy::primitives::utils::parse_ether(&self.alerts.min_relayer_eth)
                .map_err(|e| invalid("alerts.min_relayer_eth", &format!("a decimal ETH amount: {e}")))?,
            min_float_usdc: alloy::primitives::utils::parse_units(&self.alerts.min_float_usdc, 6)
                .map_err(|e| invalid("alerts.min_float_usdc", &format!("a decimal USDC amount: {e}")))?
                .into(),
        })
    }

    fn validator_set(&self) -> Result<ValidatorSet, Error> {
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
        ValidatorSet::new(keys).map_err(|e| invalid("validators", &e.to_string()))
    }

    fn batch_source(&self) -> Result<SourceConfig, Error> {
        match (&self.source.folder, self.source.http.as_slice()) {
            (Some(folder), []) => Ok(SourceConfig::Folder(folder.clone())),
            (None, urls) if !urls.is_empty() => Ok(SourceConfig::Http {
                endpoints: urls
                    .iter()
                    .map(|u| url_of(u))
                    .collect::<Result<_, _>>()
                    .map_err(|e| invalid("source.http", &e))?,
                timeout: Duration::from_millis(self.source.http_timeout_ms),
            }),
            (Some(_), _) => Err(invalid("source", "give folder or http, not both")),
            (None, _) => Err(invalid("source", "no batch source (folder or http)")),
        }
    }
}

fn url_of(text: &str) -> Result<alloy::transports::http::reqwest::Url, String> {
    let url: alloy::transports::http::reqwest::Url = text.parse().map_err(|e| format!("{text:?}: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("{text:?}: scheme {other} (http or https)")),
    }
}
