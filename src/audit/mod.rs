//! `myco-bridge audit`: the auditor, anyone's independent check of what the bridge committed. It reads the
//! certified batches through the same reader as the relayer and the attesters (into its own store), follows
//! `StateCommitment`'s logs, and for every committed epoch recomputes the commitment from the certified batch and
//! compares it field by field (root, parent, digest, figures); it checks the attesters' signatures each commit
//! carried, runs the conservation audit, asks every source again for accepted epochs (a late equivocation, a
//! fork), and reconciles every `Withdrawn` with its committed claim and quote.
//!
//! What it finds is recorded once (`store::audit`), logged, counted in `/metrics` and served at
//! `/api/v1/findings`. A wrong commitment still inside its challenge window is revoked when a guardian key is
//! configured (the honest relayer then commits the right one); without one, or when the window has closed, the
//! finding raises the alarm for a person.
//!
//! ```text
//!  sources ──▶ reader (verify, settle, store) ─┐
//!  StateCommitment logs ──▶ audit_commitments ─┼──▶ check ──▶ audit_findings ──▶ challenge (revoke | alarm)
//!  USDCEscrow logs ──▶ watcher, reconcile ─────┘
//! ```

mod challenge;
mod check;
mod findings;
pub mod server;
pub mod settled;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::DynProvider;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::chain::commitment_events::CommitmentEvents;
use crate::escrow_side::EscrowSide;
use crate::health::{Alarm, Health};
use crate::reader::conservation::LedgerAudit;
use crate::reader::{DecodedStates, Reader};
use crate::store::Pool;
use crate::watcher::Watcher;
use crate::{Error, Handling, Result};

/// Epochs back from the newest accepted one that the auditor keeps asking the sources for, by default.
pub const DEFAULT_HORIZON_EPOCHS: u64 = 64;
/// Accepted epochs asked for again per pass, by default (the horizon is walked round, a slice a pass).
pub const DEFAULT_RECHECK_PER_PASS: u64 = 8;

/// What an auditor needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Its reader: the validator set, the batch sources, the escrow's P-AMM parameters and claim domain.
    pub reader: crate::reader::Config,
    /// The `StateCommitment` whose commitments it checks.
    pub state_commitment: Address,
    /// The bonding curve whose `EpochSettled` logs the conservation audit reads.
    pub curve: Address,
    /// The first block of the contracts' logs.
    pub start_block: u64,
    /// Blocks on top before an escrow event counts; `StateCommitment`'s last blocks are read again each pass, so a
    /// shallow reorg's commitments are seen.
    pub confirmations: u64,
    /// Blocks per `eth_getLogs` request, at most.
    pub max_log_range: u64,
    /// How often everything is polled.
    pub poll_interval: Duration,
    /// Accepted epochs back from the newest that are asked for again (late equivocations).
    pub horizon_epochs: u64,
    /// How many of them per pass.
    pub recheck_per_pass: u64,
    /// Epochs an escrow deposit may wait for its credit before it is a mismatch.
    pub credit_within_epochs: u64,
    /// The conservation rules (the relayer's `[conservation]`).
    pub policy: crate::settle::conservation::Policy,
    /// The guardian's address when the provider signs as the guardian: wrong commitments inside their window
    /// are revoked. Without it, they raise the alarm.
    pub guardian: Option<Address>,
    /// How the guardian's revocations are sent (the relayer's `[transactions]`): through the transaction manager,
    /// replaced with higher fees when not mined in time, each attempt recorded.
    pub tx: crate::chain::TxPolicy,
}

/// What the auditor did since it started (the store keeps what it found).
#[derive(Debug, Default)]
pub struct Stats {
    /// Findings recorded by this run (one already on record is not recorded, logged or counted again).
    pub new_findings: AtomicU64,
    /// Revocations this run sent.
    pub revocations: AtomicU64,
    /// Passes completed.
    pub passes: AtomicU64,
    /// Time spent in each stage of a pass ([`STAGES`]), nanoseconds: where a catch-up's time goes.
    pub stage_nanos: [AtomicU64; STAGES.len()],
}

/// The stages of a pass, in order.
pub const STAGES: [&str; 8] =
    ["read batches", "recheck", "follow logs", "commitments", "escrow", "withdrawals", "conservation", "challenge"];

impl Stats {
    /// A counter's value.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Time spent in each stage so far.
    pub fn stage_times(&self) -> Vec<(&'static str, Duration)> {
        STAGES.iter().zip(&self.stage_nanos).map(|(s, n)| (*s, Duration::from_nanos(Self::get(n)))).collect()
    }

    fn spent(&self, stage: usize, since: std::time::Instant) {
        self.stage_nanos[stage].fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

/// One auditor.
#[derive(Debug, Clone)]
pub struct Auditor {
    pool: Pool,
    provider: DynProvider,
    config: Config,
    health: Arc<Health>,
    stats: Arc<Stats>,
    /// Equivocations on record when they were last copied into the findings.
    equivocations_seen: Arc<AtomicU64>,
    /// The decoded states of the epochs in flight, shared by its reader and its checks.
    states: DecodedStates,
    /// The guardian's sender, when it has the key.
    revoker: Option<crate::chain::TxManager>,
}

impl Auditor {
    /// An auditor over its own store `pool`, reading the chain through `provider` (which signs as the guardian
    /// when [`Config::guardian`] is set).
    pub fn new(pool: Pool, provider: DynProvider, config: Config) -> Self {
        let revoker = config
            .guardian
            .map(|guardian| crate::chain::TxManager::new(provider.clone(), guardian, pool.clone(), config.tx));
        Self {
            pool,
            provider,
            config,
            revoker,
            health: Arc::default(),
            stats: Arc::default(),
            equivocations_seen: Arc::default(),
            states: DecodedStates::default(),
        }
    }

    /// Its alarms.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// What it did since it started.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Audits until `shutdown` is cancelled. Findings never stop it (reporting them is its job); transient
    /// failures are retried with alarms.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        self.preflight().await?;
        let mut reader =
            Reader::open_for_audit(self.pool.clone(), &self.config.reader).await?.sharing(self.states.clone());
        let c = &self.config;
        let watcher =
            Watcher::new(self.provider.clone(), c.reader.escrow, c.start_block, c.confirmations, c.max_log_range);
        let mut escrow = EscrowSide::new(self.pool.clone(), self.provider.clone(), watcher, c.credit_within_epochs);
        let mut recheck_from = 0;
        let mut settled = settled::Settled::new(c.start_block);
        tracing::info!(next_epoch = reader.next_epoch(), source = %reader.describe(), guardian = ?c.guardian,
            "auditor started");
        let mut backoff = Backoff::default();
        loop {
            let pass = self.pass(&mut reader, &mut escrow, &mut recheck_from, &mut settled);
            let outcome = tokio::select! {
                outcome = pass => outcome,
                _ = shutdown.cancelled() => return Ok(()),
            };
            let wait = match outcome {
                Ok(()) => {
                    backoff.succeeded();
                    self.health.clear(Alarm::ChainUnreachable);
                    self.health.clear(Alarm::StoreUnreachable);
                    self.stats.passes.fetch_add(1, Ordering::Relaxed);
                    self.config.poll_interval
                }
                Err(e) if e.handling() == Handling::Halt && !is_evidence(&e) => {
                    tracing::error!(error = %crate::error::with_causes(&e), "auditor halting: this needs an operator");
                    self.health.halt(e.to_string());
                    return Err(e);
                }
                Err(e) => {
                    let alarm =
                        if matches!(e, Error::Store(_)) { Alarm::StoreUnreachable } else { Alarm::ChainUnreachable };
                    self.health.raise(alarm, &crate::error::with_causes(&e));
                    let wait = backoff.failed();
                    tracing::warn!(error = %crate::error::with_causes(&e), retry_in_ms = wait.as_millis() as u64,
                        "audit pass failed; will retry");
                    wait
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Refuses a guardian key that `StateCommitment` does not know as its guardian: its revocations would fail
    /// exactly when they matter. Without a guardian key there is nothing to check.
    pub async fn preflight(&self) -> Result<()> {
        let Some(guardian) = self.config.guardian else { return Ok(()) };
        let sc = crate::chain::bindings::StateCommitment::new(self.config.state_commitment, &self.provider);
        let access = crate::chain::bindings::AccessControl::new(self.config.state_commitment, &self.provider);
        let call = |name| move |e| crate::chain::Error::from_call(name, e);
        let role = sc.GUARDIAN_ROLE().call().await.map_err(call("GUARDIAN_ROLE"))?;
        if !access.hasRole(role, guardian).call().await.map_err(call("hasRole"))? {
            return Err(crate::chain::Error::Decode {
                what: "guardian key",
                reason: format!("{guardian} does not hold StateCommitment's GUARDIAN_ROLE; it could not revoke"),
            }
            .into());
        }
        Ok(())
    }

    /// One pass: read new batches, ask again for recent ones, follow the contract, check what is new, act on what
    /// is wrong, and reconcile the escrow's events.
    async fn pass(
        &self,
        reader: &mut Reader,
        escrow: &mut EscrowSide,
        recheck_from: &mut u64,
        settled: &mut settled::Settled,
    ) -> Result<()> {
        use std::time::Instant;
        let mut t = Instant::now();
        match reader.read_available().await {
            // Two certified batches for the next epoch: kept as evidence (a finding below); the reader waits there.
            Err(e) if is_evidence(&e) => {}
            other => {
                other?;
            }
        }
        self.stats.spent(0, t);
        t = Instant::now();
        self.recheck(reader, recheck_from).await?;
        self.sync_equivocations().await?;
        self.stats.spent(1, t);
        t = Instant::now();
        self.follow().await?;
        self.stats.spent(2, t);
        t = Instant::now();
        self.check_commitments().await?;
        self.stats.spent(3, t);
        t = Instant::now();
        // The escrow's events before the conservation audit: its holdings bound counts what they paid.
        while !escrow.step(&self.config.reader.params).await? {}
        self.stats.spent(4, t);
        t = Instant::now();
        self.sync_withdrawals().await?;
        self.stats.spent(5, t);
        t = Instant::now();
        self.check_conservation(settled).await?;
        self.stats.spent(6, t);
        t = Instant::now();
        self.challenge().await?;
        self.stats.spent(7, t);
        Ok(())
    }

    /// Asks the sources again for the next slice of the horizon's accepted epochs.
    async fn recheck(&self, reader: &mut Reader, from: &mut u64) -> Result<()> {
        let newest = reader.next_epoch().saturating_sub(1);
        if newest == 0 || self.config.horizon_epochs == 0 {
            return Ok(());
        }
        let oldest = newest.saturating_sub(self.config.horizon_epochs - 1).max(1);
        if *from < oldest || *from > newest {
            *from = oldest;
        }
        let to = newest.min(*from + self.config.recheck_per_pass.max(1) - 1);
        reader.recheck(*from..=to).await?;
        *from = to + 1;
        Ok(())
    }

    /// Reads `StateCommitment`'s logs from where it stopped to the head (its last `confirmations` blocks again).
    async fn follow(&self) -> Result<()> {
        let c = &self.config;
        let events = CommitmentEvents::new(self.provider.clone(), c.state_commitment);
        let head = events.head().await?;
        let from = match crate::store::audit::cursor(&self.pool).await? {
            Some(read) => (read + 1).saturating_sub(c.confirmations).max(c.start_block),
            None => c.start_block,
        };
        for (start, end) in crate::chain::logs::ranges(from, head, c.max_log_range) {
            let range = events.read(start, end).await?;
            crate::store::audit::advance(&self.pool, end, &range).await?;
        }
        Ok(())
    }

    /// The conservation audit over this auditor's store.
    fn ledger_audit(&self) -> LedgerAudit {
        let r = &self.config.reader;
        LedgerAudit {
            pool: self.pool.clone(),
            chain_id: r.chain_id,
            escrow: r.escrow,
            document_limits: r.document_limits,
            params: r.params,
            policy: self.config.policy.clone(),
            states: self.states.clone(),
        }
    }
}

/// Whether `e` is evidence against the validators (an equivocation, a conservation violation): the auditor
/// records it as a finding and goes on.
fn is_evidence(e: &Error) -> bool {
    matches!(e, Error::Ingest(crate::ingest::Error::Equivocation { .. }) | Error::Conservation(_))
}
