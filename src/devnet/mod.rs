//! A local chain for the demo and the tests: anvil from the npm-pinned Foundry, our contracts deployed on it,
//! and a simulated validator network producing certified batches.

pub mod anvil;
pub mod attesters;
pub mod deploy;
pub mod faults;
pub mod serve;
pub mod simulate;
pub mod stream;

pub use deploy::Deployment;

/// A devnet error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// anvil could not be started.
    #[error("starting anvil ({path}): {reason}")]
    Anvil {
        /// The binary tried.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// A step of a scripted run (the demo) failed or timed out.
    #[error("{step}: {reason}")]
    Step {
        /// The step.
        step: &'static str,
        /// Why.
        reason: String,
    },
    /// A deployment or setup transaction failed.
    #[error("deploying {what}: {reason}")]
    Deploy {
        /// The contract or step.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}

use std::time::Duration;

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::U256;
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;

use crate::chain::signing_provider;
use crate::ingest::{SourceConfig, ValidatorSet};
use crate::relayer;

/// Seconds since the Unix epoch (batch timestamps of the simulated network).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Anvil account that deploys and administers the contracts (and is their guardian).
pub const ADMIN_ACCOUNT: usize = 0;

/// The seed of the devnet's one labor attester key (the simulator signs its mints with it).
pub const LABOR_ATTESTER_SEED: [u8; 32] = [0x1a; 32];

/// The devnet's labor attester.
pub fn labor_attester() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&LABOR_ATTESTER_SEED)
}

/// The conservation rules the devnet's relayer audits by: the default policy, with the devnet's labor attester.
pub fn conservation_policy() -> crate::settle::conservation::Policy {
    let mut policy = crate::settle::conservation::Policy::default();
    policy.issuance.attesters.insert(alloy::primitives::B256::from(labor_attester().verifying_key().to_bytes()));
    policy
}
/// Anvil account the relayer signs with.
pub const RELAYER_ACCOUNT: usize = 1;
/// First anvil account free for users.
pub const FIRST_USER_ACCOUNT: usize = 2;

/// Devnet curve: p(s) = 0.99 + 1e-7·s, so the float's seed purchase below takes the spot to par (1.0).
pub const CURVE_P0: U256 = U256::from_limbs([990_000_000_000_000_000, 0, 0, 0]);
/// Devnet curve slope (1e-7, WAD).
pub const CURVE_M: U256 = U256::from_limbs([100_000_000_000, 0, 0, 0]);
/// USDC the relayer's settlement float is minted (10 million).
pub const FLOAT_USDC: u64 = 10_000_000_000_000;
/// USDC of it spent buying the float's first MYCO: R(100,000) = 99,500 USD buys 100,000 MYCO.
pub const FLOAT_SEED_USDC: u64 = 99_500_000_000;
/// The devnet escrow's outflow limit: a billion USDC per hour.
pub const DEVNET_OUTFLOW_LIMIT: u128 = 1_000_000_000_000_000;

/// A running local chain with the bridge's contracts deployed.
#[derive(Debug)]
pub struct Devnet {
    /// The anvil process; stopped when the devnet is dropped.
    pub anvil: AnvilInstance,
    /// Contract addresses.
    pub deployment: Deployment,
}

impl Devnet {
    /// Starts anvil (with extra `anvil_args`) and deploys everything with the given challenge window.
    pub async fn start(challenge_window: u64, anvil_args: &[&str]) -> Result<Self, Error> {
        let anvil = anvil::spawn_with(anvil_args)?;
        let admin = PrivateKeySigner::from(&anvil.keys()[ADMIN_ACCOUNT]);
        let relayer = PrivateKeySigner::from(&anvil.keys()[RELAYER_ACCOUNT]);
        let provider = signing_provider(anvil.endpoint_url(), admin.clone());
        let config = deploy::DeployConfig {
            admin: admin.address(),
            // The devnet's admin is also its guardian (tests revoke and pause with one key); a real deployment
            // keeps them apart (`deploy --guardian`).
            guardian: admin.address(),
            relayer: relayer.address(),
            attesters: attesters::addresses(),
            attestation_threshold: attesters::ATTESTATION_THRESHOLD,
            challenge_window,
            // Tests move the admin role at once; a real deployment waits (`deploy --admin-delay`).
            admin_delay: 0,
            curve_p0: CURVE_P0,
            curve_m: CURVE_M,
            usdc: deploy::Usdc::Test,
            pamm: crate::settle::pamm::Params::default(),
            // Tests and the demo pay claims as soon as they are final, within a limit no devnet flow reaches; the
            // forge tests hold the delay and the limit to their word, and a real deployment sets both.
            withdrawal_delay: 0,
            outflow_limit: DEVNET_OUTFLOW_LIMIT,
            outflow_period: 3_600,
        };
        let deployment = deploy::deploy(&provider, &config).await?;
        let float_provider = signing_provider(anvil.endpoint_url(), relayer.clone());
        deploy::fund_settlement_float(
            (&provider, admin.address()),
            (&float_provider, relayer.address()),
            &deployment,
            FLOAT_USDC,
            FLOAT_SEED_USDC,
        )
        .await?;
        tracing::info!(rpc = %anvil.endpoint_url(), state_commitment = %deployment.state_commitment,
            escrow = %deployment.escrow, "devnet up");
        Ok(Self { anvil, deployment })
    }

    /// The RPC endpoint.
    pub fn url(&self) -> Url {
        self.anvil.endpoint_url()
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.anvil.chain_id()
    }

    /// The signer of anvil's `index`-th funded account.
    pub fn signer(&self, index: usize) -> PrivateKeySigner {
        PrivateKeySigner::from(&self.anvil.keys()[index])
    }

    /// A provider signing as anvil's `index`-th account.
    pub fn provider(&self, index: usize) -> DynProvider {
        signing_provider(self.url(), self.signer(index))
    }

    /// A relayer configuration for this devnet, trusting `validators` and reading batches from `source`.
    pub fn relayer_config(&self, validators: ValidatorSet, source: SourceConfig) -> relayer::Config {
        relayer::Config {
            chain_id: self.chain_id(),
            validators,
            source,
            state_commitment: self.deployment.state_commitment,
            escrow: self.deployment.escrow,
            curve: self.deployment.curve,
            settlement_account: self.signer(RELAYER_ACCOUNT).address(),
            start_block: self.deployment.start_block,
            confirmations: 0,
            tx: crate::chain::TxPolicy { poll_interval: Duration::from_millis(50), ..Default::default() },
            poll_interval: Duration::from_millis(100),
            credit_within_epochs: crate::reconcile::DEFAULT_CREDIT_WITHIN_EPOCHS,
            max_log_range: crate::chain::logs::DEFAULT_MAX_LOG_RANGE,
            document_limits: Default::default(),
            // Filled in by whoever runs the attesters (`spawn_attesters`).
            attestation_endpoints: Vec::new(),
            attestation_timeout: Duration::from_secs(2),
            conservation: conservation_policy(),
        }
    }

    /// An auditor configuration for this devnet, trusting `validators`, reading batches from `source` and paying
    /// by the escrow's P-AMM `params`; `guardian` when its provider signs as the guardian (the admin account).
    pub fn auditor_config(
        &self,
        validators: ValidatorSet,
        source: SourceConfig,
        params: crate::settle::pamm::Params,
        guardian: Option<alloy::primitives::Address>,
    ) -> crate::audit::Config {
        crate::audit::Config {
            reader: crate::reader::Config {
                chain_id: self.chain_id(),
                validators,
                source,
                document_limits: Default::default(),
                params,
                escrow: self.deployment.escrow,
            },
            state_commitment: self.deployment.state_commitment,
            curve: self.deployment.curve,
            start_block: self.deployment.start_block,
            confirmations: 0,
            max_log_range: crate::chain::logs::DEFAULT_MAX_LOG_RANGE,
            poll_interval: Duration::from_millis(100),
            horizon_epochs: crate::audit::DEFAULT_HORIZON_EPOCHS,
            recheck_per_pass: crate::audit::DEFAULT_RECHECK_PER_PASS,
            credit_within_epochs: crate::reconcile::DEFAULT_CREDIT_WITHIN_EPOCHS,
            policy: conservation_policy(),
            guardian,
            tx: crate::chain::TxPolicy { poll_interval: Duration::from_millis(50), ..Default::default() },
        }
    }

    /// Where this devnet's attestations count.
    pub fn attestation_domain(&self) -> crate::attest::AttestationDomain {
        crate::attest::AttestationDomain {
            chain_id: self.chain_id(),
            state_commitment: self.deployment.state_commitment,
        }
    }

    /// Starts the devnet's attesters, each over its own in-memory store, trusting `validators` and reading
    /// batches from `source` (as the relayer does).
    pub async fn spawn_attesters(
        &self,
        validators: ValidatorSet,
        source: SourceConfig,
    ) -> Result<Vec<attesters::RunningAttester>, Error> {
        let reader = crate::reader::Config {
            chain_id: self.chain_id(),
            validators,
            source,
            document_limits: Default::default(),
            // The devnet deploys the default P-AMM parameters.
            params: crate::settle::pamm::Params::default(),
            escrow: self.deployment.escrow,
        };
        self.spawn_attesters_reading(reader).await
    }

    /// Starts the devnet's attesters with their reader configured as given (another source, another escrow).
    pub async fn spawn_attesters_reading(
        &self,
        reader: crate::reader::Config,
    ) -> Result<Vec<attesters::RunningAttester>, Error> {
        let config = crate::attest::service::Config {
            reader,
            domain: self.attestation_domain(),
            poll_interval: Duration::from_millis(50),
            ledger: Some(crate::attest::service::LedgerChain {
                provider: self.provider(ADMIN_ACCOUNT),
                curve: self.deployment.curve,
                from_block: self.deployment.start_block,
                policy: conservation_policy(),
            }),
        };
        let mut running = Vec::new();
        for key in attesters::keys(attesters::ATTESTER_SEED, attesters::ATTESTERS) {
            running.push(attesters::RunningAttester::start(key, config.clone(), "sqlite::memory:").await?);
        }
        Ok(running)
    }

    /// Moves the chain's clock forward by `seconds` and mines a block at the new time.
    pub async fn advance_time(&self, seconds: u64) -> Result<(), Error> {
        let provider = self.provider(ADMIN_ACCOUNT);
        let rpc = |e: alloy::transports::TransportError| Error::Step { step: "advance time", reason: e.to_string() };
        let _: serde_json::Value = provider.raw_request("evm_increaseTime".into(), (seconds,)).await.map_err(rpc)?;
        let _: serde_json::Value = provider.raw_request("evm_mine".into(), ()).await.map_err(rpc)?;
        Ok(())
    }
}
