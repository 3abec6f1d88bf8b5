//! `myco-bridge attest`: the attester. It reads certified batches through the relayer's own reader (verified,
//! stored, each epoch's root and figures computed by the same code), signs each stored epoch's commitment with
//! its own key, remembers what it signed, and serves the signatures at `GET /v1/attestations/{epoch}`.
//!
//! It signs only what it computed itself, in epoch order, and never two different commitments for one epoch:
//! its store's `attestations` table is keyed by epoch, and a recomputation that differs from what was signed
//! halts it with both commitments named.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use super::wire::{Attestation, CommitmentFields};
use super::{AttestationDomain, Error, commitment};
use crate::backoff::Backoff;
use crate::health::Health;
use crate::ids::Epoch;
use crate::reader::conservation::LedgerAudit;
use crate::reader::{DecodedStates, Reader};
use crate::store::attestations::{self, Signed};
use crate::store::{Pool, batches};
use crate::{Handling, Result};

/// What an attester needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Its reader: the validator set, the batch source, the escrow's P-AMM parameters and claim domain.
    pub reader: crate::reader::Config,
    /// The `StateCommitment` its signatures are for.
    pub domain: AttestationDomain,
    /// How often the source is polled.
    pub poll_interval: Duration,
    /// With it, the attester audits conservation before each signature (docs/settlement-math.md, "Conservation
    /// between epochs"): it signs epoch N only once the chain has executed epoch N − 1, and never a batch that
    /// breaks a rule (it halts with the rule instead). Without it, it signs what it computes, unaudited.
    pub ledger: Option<LedgerChain>,
}

/// Where an attester reads executed settlements, and the rules it audits by.
#[derive(Debug, Clone)]
pub struct LedgerChain {
    /// A provider of the chain (reads only).
    pub provider: alloy::providers::DynProvider,
    /// The bonding curve whose `EpochSettled` logs say what each epoch executed.
    pub curve: Address,
    /// The first block to search its logs from.
    pub from_block: u64,
    /// The conservation rules (the relayer's `[conservation]`).
    pub policy: crate::settle::conservation::Policy,
}

/// One attester.
#[derive(Debug, Clone)]
pub struct Attester {
    pool: Pool,
    key: PrivateKeySigner,
    config: Config,
    health: Arc<Health>,
    /// The decoded states of the epochs in flight, shared by its reader and its audit.
    states: DecodedStates,
}

impl Attester {
    /// An attester signing with `key` (its address must be registered on `StateCommitment` to count).
    pub fn new(pool: Pool, key: PrivateKeySigner, config: Config) -> Self {
        Self { pool, key, config, health: Arc::default(), states: DecodedStates::default() }
    }

    /// Its address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// Its health (halted or not), shared with its HTTP endpoints.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// Reads, verifies and signs until `shutdown` is cancelled; transient failures are retried, anything else
    /// (a would-be equivocation, an equivocating validator set) halts it with the reason.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let mut reader = Reader::open(self.pool.clone(), &self.config.reader).await?;
        if self.config.ledger.is_some() {
            // Only the conservation audit reads the states again.
            reader = reader.sharing(self.states.clone());
        }
        tracing::info!(attester = %self.address(), next_epoch = reader.next_epoch(), "attester started");
        let mut backoff = Backoff::default();
        loop {
            let pass = async {
                reader.read_available().await?;
                self.sign_new().await
            };
            let outcome = tokio::select! {
                outcome = pass => outcome,
                _ = shutdown.cancelled() => return Ok(()),
            };
            let wait = match outcome {
                Ok(()) => {
                    backoff.succeeded();
                    self.config.poll_interval
                }
                Err(e) if e.handling() == Handling::Halt => {
                    tracing::error!(error = %e, "attester halting: this needs an operator");
                    self.health.halt(e.to_string());
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "attester retrying");
                    backoff.failed()
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Signs every stored epoch not signed yet, in order; with [`Config::ledger`], each only once it passed the
    /// conservation audit (and not before the chain executed the epoch before it).
    async fn sign_new(&self) -> Result<()> {
        for batch in batches::unattested(&self.pool).await? {
            if let Some(chain) = &self.config.ledger {
                let audit = LedgerAudit {
                    pool: self.pool.clone(),
                    chain_id: self.config.reader.chain_id,
                    escrow: self.config.reader.escrow,
                    document_limits: self.config.reader.document_limits,
                    params: self.config.reader.params,
                    policy: chain.policy.clone(),
                    states: self.states.clone(),
                };
                if !audit.catch_up(&chain.provider, chain.curve, chain.from_block, batch.epoch).await? {
                    // The earlier epochs' settlements are not all on chain yet: sign once they are.
                    return Ok(());
                }
                // What the escrow holds is checked by those who watch its withdrawals (the relayer, an auditor).
                audit.audit(&batch, None).await?;
            }
            let root = commitment::of_stored(&self.pool, &batch).await?;
            self.sign(&root).await?;
        }
        Ok(())
    }

    /// Signs `root` unless this attester signed its epoch before: the same commitment again is returned as it
    /// was; a different one is refused (the attester halts).
    pub async fn sign(&self, root: &crate::chain::RootCommit) -> Result<Signed> {
        if let Some(signed) = attestations::get(&self.pool, root.epoch).await? {
            if signed.root == *root {
                return Ok(signed);
            }
            return Err(
                Error::WouldEquivocate { epoch: root.epoch.0, signed: signed.root.hash(), asked: root.hash() }.into()
            );
        }
        let signature = self
            .config
            .domain
            .sign(&self.key, root)
            .map_err(|e| Error::Sign { epoch: root.epoch.0, reason: e.to_string() })?;
        let signed = Signed { root: *root, signer: self.address(), signature: signature.to_vec() };
        attestations::insert(&self.pool, &signed).await?;
        tracing::info!(epoch = root.epoch.0, root = %root.state_root, commitment = %root.hash(), "attested");
        Ok(signed)
    }
}

/// What the endpoints serve from.
#[derive(Debug, Clone)]
struct ApiState {
    pool: Pool,
    domain: AttestationDomain,
    health: Arc<Health>,
}

/// The attester's HTTP API: `GET /v1/attestations/{epoch}`, `/health` (503 with the reason once halted) and
/// `/metrics`.
pub fn router(attester: &Attester) -> axum::Router {
    let state =
        ApiState { pool: attester.pool.clone(), domain: attester.config.domain, health: attester.health.clone() };
    axum::Router::new()
        .route("/v1/attestations/{epoch}", get(attestation))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn attestation(State(s): State<ApiState>, Path(epoch): Path<String>) -> Response {
    let epoch = match Epoch::parse_path(&epoch) {
        Ok(Some(epoch)) => epoch,
        Ok(None) => return (StatusCode::NOT_FOUND, format!("epoch {epoch} is not attested")).into_response(),
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    match attestations::get(&s.pool, epoch).await {
        Ok(Some(signed)) => axum::Json(Attestation {
            chain_id: s.domain.chain_id,
            state_commitment: s.domain.state_commitment,
            signer: signed.signer,
            signature: signed.signature.into(),
            commitment: CommitmentFields::from(&signed.root),
        })
        .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, format!("epoch {epoch} is not attested (yet)")).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn health(State(s): State<ApiState>) -> Response {
    match s.health.halted() {
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("halted: {reason}")).into_response(),
        None => (StatusCode::OK, "ok").into_response(),
    }
}

async fn metrics(State(s): State<ApiState>) -> Response {
    let latest = attestations::latest(&s.pool).await.ok().flatten().map_or(0, |e| e.0);
    let halted = u8::from(s.health.halted().is_some());
    let text = format!(
        "# HELP myco_bridge_attester_latest_epoch The highest epoch this attester signed.\n\
         # TYPE myco_bridge_attester_latest_epoch gauge\n\
         myco_bridge_attester_latest_epoch {latest}\n\
         # HELP myco_bridge_attester_halted 1 if the attester stopped on something only a person can decide.\n\
         # TYPE myco_bridge_attester_halted gauge\n\
         myco_bridge_attester_halted {halted}\n"
    );
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}
