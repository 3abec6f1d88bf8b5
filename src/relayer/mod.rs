//! The relayer service: the reader (`crate::reader`: ingest → settle → store) and the chain writer
//! (`submit`: net orders, then roots) in one task, the escrow watcher (`watch`) in another, both stopping cleanly
//! when the shutdown token is cancelled (each finishes its current unit of work first). Transient failures,
//! an unfunded key and a paused contract are waited out with alarms; only what a person must decide halts.

use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::DynProvider;
use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use crate::backoff::Backoff;
use crate::chain::{CurveSettler, Submitter, TxManager, TxPolicy};
use crate::health::{Alarm, Health};
use crate::ingest::{SourceConfig, ValidatorSet};
use crate::reader::{DecodedStates, Reader};
use crate::settle::pamm;
use crate::store::Pool;
use crate::{Error, Handling, Result};

mod audit;
mod finality;
mod submit;
mod watch;

/// Consecutive transient chain failures before they raise an alarm (a few are routine with hosted nodes).
const PERSISTENT_FAILURES: u32 = 5;

/// Everything the relayer needs to know about its world.
#[derive(Debug, Clone)]
pub struct Config {
    /// The EVM chain id batches must be certified for.
    pub chain_id: u64,
    /// The validator set whose quorum certifies batches.
    pub validators: ValidatorSet,
    /// Where certified batches come from.
    pub source: SourceConfig,
    /// `StateCommitment` address.
    pub state_commitment: Address,
    /// `USDCEscrow` address.
    pub escrow: Address,
    /// `MycoBondingCurve` address, where each epoch's net orders execute.
    pub curve: Address,
    /// The address the relayer key signs as: its one nonce sequence sends every transaction, and it holds the
    /// settlement float net orders trade from and to.
    pub settlement_account: Address,
    /// First block the watcher reads.
    pub start_block: u64,
    /// Blocks on top before an escrow event counts.
    pub confirmations: u64,
    /// How transactions are sent, replaced and confirmed.
    pub tx: TxPolicy,
    /// How often sources and the chain are polled.
    pub poll_interval: Duration,
    /// Epochs an escrow deposit may wait for its credit before it is a mismatch.
    pub credit_within_epochs: u64,
    /// Blocks per `eth_getLogs` request, at most.
    pub max_log_range: u64,
    /// What a batch's document may claim before it is loaded.
    pub document_limits: crate::ingest::document::footprint::Limits,
    /// The attesters to collect each commitment's signatures from (base URLs).
    pub attestation_endpoints: Vec<String>,
    /// How long one attester may take to answer.
    pub attestation_timeout: Duration,
    /// The rules each batch is audited by before its commitment.
    pub conservation: crate::settle::conservation::Policy,
}

/// The relayer: a store, a signing provider, its configuration, and the health it reports.
#[derive(Debug, Clone)]
pub struct Relayer {
    pool: Pool,
    provider: DynProvider,
    config: Config,
    health: Arc<Health>,
    /// The decoded states of the epochs in flight, shared by its reader and its writer.
    states: DecodedStates,
}

impl Relayer {
    /// A relayer over `pool`, sending through `provider` (which signs as the relayer key).
    pub fn new(pool: Pool, provider: DynProvider, config: Config) -> Self {
        Self { pool, provider, config, health: Arc::default(), states: DecodedStates::default() }
    }

    /// The same relayer, raising its alarms in `health` (shared with the status API).
    pub fn with_health(self, health: Arc<Health>) -> Self {
        Self { health, ..self }
    }

    /// Where it raises its alarms.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// Runs until `shutdown` is cancelled or a stage fails in a way that must halt the relayer.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let Some(params) = self.escrow_params(&shutdown).await? else { return Ok(()) };
        let pipeline = self.clone().pipeline(params, shutdown.clone());
        let watcher = self.clone().watch(params, shutdown.clone());
        // Whichever stage fails first stops the other.
        let guard = shutdown.clone();
        let stop_on_error = |r: Result<()>| {
            if r.is_err() {
                guard.cancel();
            }
            r
        };
        let (a, b) = tokio::join!(async { stop_on_error(pipeline.await) }, async { stop_on_error(watcher.await) });
        a.and(b)
    }

    /// The P-AMM parameters the escrow pays by, read once at start (they are immutable); a node that does not
    /// answer is waited out. `None` if shut down first.
    async fn escrow_params(&self, shutdown: &CancellationToken) -> Result<Option<pamm::Params>> {
        let mut backoff = Backoff::default();
        loop {
            let wait = match crate::chain::escrow_pamm_params(&self.provider, self.config.escrow).await {
                Ok(params) => {
                    tracing::info!(alpha_bar = %params.alpha_bar, xu_bar = %params.xu_bar,
                        theta_bar = %params.theta_bar, decay = %params.decay, "escrow's P-AMM parameters");
                    return Ok(Some(params));
                }
                Err(e) => self.wait_out(e.into(), "escrow parameters", &mut backoff)?,
            };
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(None),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn pipeline(self, params: pamm::Params, shutdown: CancellationToken) -> Result<()> {
        // A batch that broke conservation is evidence against the validators: someone must look at it first.
        if let Some(v) = crate::store::ledger::violations(&self.pool).await?.into_iter().next() {
            tracing::error!(epoch = v.epoch, rule = v.kind.code(), detail = %v.detail,
                "refusing to run: a conservation violation is on record; inspect it before clearing it");
            return Err(v.into());
        }
        let mut reader =
            Reader::open(self.pool.clone(), &self.reader_config(params)).await?.sharing(self.states.clone());
        let txmgr =
            TxManager::new(self.provider.clone(), self.config.settlement_account, self.pool.clone(), self.config.tx);
        let submitter = Submitter::new(self.provider.clone(), self.config.state_commitment, txmgr.clone());
        let settler =
            CurveSettler::new(self.provider.clone(), self.config.curve, self.config.settlement_account, txmgr);
        let domain = crate::attest::AttestationDomain {
            chain_id: self.config.chain_id,
            state_commitment: self.config.state_commitment,
        };
        let collector = crate::attest::collect::Collector::new(
            self.config.attestation_endpoints.clone(),
            domain,
            self.config.attestation_timeout,
        )?;
        tracing::info!(next_epoch = reader.next_epoch(), source = %reader.describe(), "pipeline started");
        let mut backoff = Backoff::default();
        loop {
            let mut committed = 0;
            let pass = async {
                reader.read_available().await?;
                self.submit_uncommitted(&settler, &submitter, &collector, &params, &mut committed).await
            };
            // A stop does not wait for a pass stuck on a receipt: every step is recorded before it is sent and
            // recovered from the chain, so leaving mid-pass is as safe as the kills the fault tests inflict.
            let outcome = tokio::select! {
                outcome = pass => outcome,
                _ = shutdown.cancelled() => return Ok(()),
            };
            let wait = match outcome {
                Ok(()) => {
                    backoff.succeeded();
                    for alarm in Alarm::ALL {
                        self.health.clear(alarm);
                    }
                    self.config.poll_interval
                }
                // A pass that committed epochs before it stopped made progress: what stopped it is the next epoch's
                // first try. Attesters sign an epoch once they see the one before it settled, so its attestations
                // are routinely not there yet: asked again after a poll, with no alarm. Any other failure waits as
                // a first failure, not doubled epoch after epoch.
                Err(e) if committed > 0 && e.handling() == Handling::AwaitAttestations => {
                    backoff.succeeded();
                    tracing::debug!(error = %e, "the next epoch's attestations are not there yet");
                    self.config.poll_interval
                }
                Err(e) => {
                    if committed > 0 {
                        backoff.succeeded();
                    }
                    self.wait_out(e, "pipeline", &mut backoff)?
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// What its reader needs.
    fn reader_config(&self, params: pamm::Params) -> crate::reader::Config {
        let c = &self.config;
        crate::reader::Config {
            chain_id: c.chain_id,
            validators: c.validators.clone(),
            source: c.source.clone(),
            document_limits: c.document_limits,
            params,
            escrow: c.escrow,
        }
    }

    /// Decides what a failed step means: a transient failure, an unfunded account or a paused contract raises its
    /// alarm and returns how long to wait before trying again; anything only a person can decide is returned.
    fn wait_out(&self, e: Error, stage: &'static str, backoff: &mut Backoff) -> Result<Duration> {
        let alarm = match e.handling() {
            Handling::Halt => {
                tracing::error!(stage, error = %e, "halting: this needs an operator");
                return Err(e);
            }
            Handling::AwaitFunds => Alarm::Underfunded,
            Handling::AwaitUnpause => Alarm::Paused,
            Handling::AwaitRevocation => Alarm::ConflictingRoot,
            Handling::AwaitAttestations => Alarm::AwaitingAttestations,
            Handling::Retry if matches!(e, Error::Store(_) | Error::Chain(crate::chain::Error::Log(_))) => {
                Alarm::StoreUnreachable
            }
            Handling::Retry => Alarm::ChainUnreachable,
        };
        let wait = backoff.failed();
        // The first failures of a flaky node are routine; an alarm is raised only when they persist.
        if alarm != Alarm::ChainUnreachable || backoff.failures() >= PERSISTENT_FAILURES {
            self.health.raise(alarm, &crate::error::with_causes(&e));
        }
        let error = crate::error::with_causes(&e);
        tracing::warn!(stage, %error, retry_in_ms = wait.as_millis() as u64, "step failed; will retry");
        Ok(wait)
    }
}
