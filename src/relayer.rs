//! The relayer service: ingest → settle → submit in one task, the escrow watcher in another, both stopping
//! cleanly when the shutdown token is cancelled (each finishes its current unit of work first).

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::DynProvider;
use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use crate::backoff::Backoff;
use crate::chain::{CurveSettler, Outcome, Submitter, TxManager, TxPolicy, Watcher};
use crate::health::{Alarm, Health};
use crate::ingest::source::Candidate;
use crate::ingest::{self, Batch, Source, SourceConfig, ValidatorSet, Verifier};
use crate::settle::outputs::{self, Redemptions};
use crate::settle::{EpochSettlement, cow, execution, pamm};
use crate::store::curve::{self as curve_store, Planned, Status};
use crate::store::equivocations::{self, Evidence, Side};
use crate::store::{self, Pool, batches, claims, commitments, credits, quarantine};
use crate::{Error, Handling, Result};

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
}

/// The relayer: a store, a signing provider, its configuration, and the health it reports.
#[derive(Debug, Clone)]
pub struct Relayer {
    pool: Pool,
    provider: DynProvider,
    config: Config,
    health: Arc<Health>,
}

impl Relayer {
    /// A relayer over `pool`, sending through `provider` (which signs as the relayer key).
    pub fn new(pool: Pool, provider: DynProvider, config: Config) -> Self {
        Self { pool, provider, config, health: Arc::default() }
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
        let pipeline = self.clone().pipeline(shutdown.clone());
        let watcher = self.clone().watch(shutdown.clone());
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

    async fn pipeline(self, shutdown: CancellationToken) -> Result<()> {
        if let Some(e) = equivocations::all(&self.pool).await?.into_iter().next() {
            tracing::error!(epoch = e.epoch, first = %e.first.digest, second = %e.second.digest,
                "refusing to run: an equivocation is on record; inspect the evidence before clearing it");
            return Err(
                ingest::Error::Equivocation { epoch: e.epoch, first: e.first.digest, second: e.second.digest }.into()
            );
        }
        let mut source = Source::open(&self.config.source)?;
        let last = batches::last(&self.pool).await?;
        let mut verifier = Verifier::new(self.config.chain_id, self.config.validators.clone(), last)
            .with_limits(self.config.document_limits);
        let txmgr =
            TxManager::new(self.provider.clone(), self.config.settlement_account, self.pool.clone(), self.config.tx);
        let submitter = Submitter::new(self.provider.clone(), self.config.state_commitment, txmgr.clone());
        let settler =
            CurveSettler::new(self.provider.clone(), self.config.curve, self.config.settlement_account, txmgr);
        tracing::info!(next_epoch = verifier.next_epoch(), source = %source.describe(), "pipeline started");
        let mut backoff = Backoff::default();
        loop {
            let pass = async {
                self.ingest_available(&mut source, &mut verifier).await?;
                self.submit_uncommitted(&settler, &submitter).await
            };
            let wait = match pass.await {
                Ok(()) => {
                    backoff.succeeded();
                    for alarm in [Alarm::Underfunded, Alarm::Paused, Alarm::ChainUnreachable, Alarm::StoreUnreachable] {
                        self.health.clear(alarm);
                    }
                    self.config.poll_interval
                }
                Err(e) => self.wait_out(e, "pipeline", &mut backoff)?,
            };
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
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
            Handling::Retry if matches!(e, Error::Store(_)) => Alarm::StoreUnreachable,
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

    /// Verifies and stores every batch that is ready, in epoch order. Bad input is quarantined; two conflicting
    /// certified batches for one epoch are kept as evidence and halt the relayer.
    async fn ingest_available(&self, source: &mut Source, verifier: &mut Verifier) -> Result<()> {
        loop {
            let epoch = verifier.next_epoch();
            let fetched = source.fetch(epoch).await;
            for r in &fetched.refused {
                self.quarantine(&r.origin, epoch, &r.error, &r.prefix, false).await?;
            }
            let mut chosen: Option<(Batch, String)> = None;
            for Candidate { origin, bytes } in fetched.candidates {
                match self.verify(verifier, &bytes).await {
                    Ok(batch) => match &chosen {
                        None => chosen = Some((batch, origin)),
                        Some((first, _)) if first.digest == batch.digest => {}
                        Some((first, first_origin)) => {
                            let first =
                                Side { digest: first.digest, raw: first.raw.clone(), origin: first_origin.clone() };
                            let second = Side { digest: batch.digest, raw: bytes, origin };
                            return self.equivocation(Evidence { epoch, first, second }).await;
                        }
                    },
                    Err(e) => {
                        if let Some(evidence) = self.conflicts_with_accepted(verifier, &origin, &bytes).await? {
                            return self.equivocation(evidence).await;
                        }
                        // Everything accepted stays as it is; we wait for a valid batch of this epoch. The origin
                        // that served it backs off as if it had failed: answering is not being healthy.
                        source.rejected(&origin);
                        let certified = verifier.certified(&bytes).is_some();
                        self.quarantine(&origin, epoch, &e, &bytes, certified).await?;
                    }
                }
            }
            let Some((batch, origin)) = chosen else { return Ok(()) };
            self.accept(&batch, &origin).await?;
            source.accepted(&origin);
            verifier.accept(&batch);
        }
    }

    /// The verifier's checks, then the ones that need history: claim ids and deposits are used once, ever.
    async fn verify(&self, verifier: &Verifier, bytes: &[u8]) -> Result<Batch> {
        // Verifying a large batch is CPU-bound work (signatures, decoding): keep it off the async workers.
        let (checker, owned) = (verifier.clone(), bytes.to_vec());
        let batch = tokio::task::spawn_blocking(move || checker.verify(&owned))
            .await
            .map_err(|e| Error::Task { what: "verification", reason: e.to_string() })??;
        let epoch = batch.epoch;
        let claim_ids: Vec<_> = batch.state.withdrawals.iter().map(|w| w.claim_id).collect();
        if let Some((claim_id, first_epoch)) = claims::first_certified(&self.pool, &claim_ids).await? {
            return Err(ingest::Error::ClaimReused { epoch, claim_id, first_epoch }.into());
        }
        let deposit_ids: Vec<_> = batch.state.deposits.iter().map(|d| d.deposit_id).collect();
        if let Some((deposit_id, first_epoch)) = credits::first_credited(&self.pool, &deposit_ids).await? {
            return Err(ingest::Error::DepositRecredited { epoch, deposit_id, first_epoch }.into());
        }
        Ok(batch)
    }

    /// A certified batch for an already accepted epoch with another digest: the validators signed two histories.
    async fn conflicts_with_accepted(
        &self,
        verifier: &Verifier,
        origin: &str,
        bytes: &[u8],
    ) -> Result<Option<Evidence>> {
        let Some((epoch, digest)) = verifier.certified(bytes) else { return Ok(None) };
        let Some((accepted, raw)) = batches::raw(&self.pool, epoch).await? else { return Ok(None) };
        if accepted == digest {
            return Ok(None);
        }
        let first = Side { digest: accepted, raw, origin: "accepted".into() };
        Ok(Some(Evidence { epoch, first, second: Side { digest, raw: bytes.to_vec(), origin: origin.into() } }))
    }

    async fn equivocation(&self, evidence: Evidence) -> Result<()> {
        let (epoch, first, second) = (evidence.epoch, evidence.first.digest, evidence.second.digest);
        equivocations::insert(&self.pool, &evidence).await?;
        tracing::error!(epoch, %first, %second, first_origin = %evidence.first.origin,
            second_origin = %evidence.second.origin, "EQUIVOCATION: two certified batches for one epoch; halting");
        Err(ingest::Error::Equivocation { epoch, first, second }.into())
    }

    /// Keeps rejected input with its reason: the first few of each kind per origin and epoch (whole if
    /// `certified`, else its first bytes); later ones of that kind are counted. Logged when kept, and as the count doubles.
    async fn quarantine(
        &self,
        origin: &str,
        epoch: u64,
        error: &impl QuarantineReason,
        raw: &[u8],
        certified: bool,
    ) -> Result<()> {
        let (reason, detail) = (error.reason(), error.to_string());
        let rejected =
            quarantine::Rejected { source: origin, epoch: Some(epoch), reason, detail: &detail, raw, certified };
        match quarantine::record(&self.pool, &rejected).await? {
            quarantine::Recorded::Kept => {
                tracing::warn!(epoch, %origin, reason, error = %detail, "batch rejected and quarantined");
            }
            quarantine::Recorded::Counted(n) if n.is_power_of_two() => {
                tracing::warn!(epoch, %origin, reason, repeats = n, "more rejected input of this kind; counted, not kept");
            }
            quarantine::Recorded::Counted(_) | quarantine::Recorded::Known => {}
        }
        Ok(())
    }

    /// Computes the batch's settlement and stores batch and claims in one transaction.
    #[tracing::instrument(skip_all, fields(epoch = batch.epoch))]
    async fn accept(&self, batch: &Batch, origin: &str) -> Result<()> {
        let settlement = EpochSettlement::compute(&batch.state);
        let outputs = epoch_outputs(batch, &settlement);
        let mut tx = store::begin(&self.pool).await?;
        batches::insert(&mut tx, batch, settlement.root(), &settlement.figures).await?;
        claims::insert_all(&mut tx, &settlement).await?;
        credits::insert_all(&mut tx, batch.epoch, &batch.state.deposits).await?;
        if let Some(outputs) = &outputs {
            store::outputs::insert(&mut tx, outputs).await?;
        }
        tx.commit().await.map_err(store::Error::from)?;
        tracing::info!(
            digest = %batch.digest,
            root = %settlement.root(),
            claims = settlement.claims.len(),
            signers = batch.signers,
            %origin,
            "batch accepted"
        );
        Ok(())
    }

    /// Settles every stored epoch the chain does not have yet, in order: its net curve orders first, then its
    /// root. Stops at the first transient failure (the next poll resumes there).
    ///
    /// Orders before root: both steps are exactly-once on chain (`settleEpoch` refuses an epoch twice, `commit`
    /// takes epochs in sequence), so a crash between them leaves the orders executed and the root pending, which
    /// the restart completes. The other order could leave a final root whose trades never happened.
    async fn submit_uncommitted(&self, settler: &CurveSettler, submitter: &Submitter) -> Result<()> {
        // What to submit next comes from the chain, not only the store: a commitment a reorg took out (or the
        // guardian revoked) is forgotten, and its epoch is submitted again.
        let chain_latest = submitter.latest_epoch().await?;
        let forgotten = commitments::forget_above(&self.pool, chain_latest).await?;
        if !forgotten.is_empty() {
            tracing::warn!(?forgotten, chain_latest, "recorded commitments are no longer on chain; resubmitting");
        }
        for epoch in commitments::without_final_at(&self.pool).await? {
            commitments::set_final_at(&self.pool, epoch, submitter.final_at(epoch).await?).await?;
        }
        for batch in batches::uncommitted(&self.pool).await? {
            self.settle_net_orders(settler, batch.epoch).await?;
            let parent_root = match batch.epoch {
                1 => B256::ZERO,
                e => batches::get(&self.pool, e - 1).await?.map(|b| b.state_root).unwrap_or_default(),
            };
            let (tx_hash, block_number, gas_used) = match submitter.submit(&batch, parent_root).await? {
                Outcome::Committed { tx_hash, block_number, gas_used } => {
                    (Some(tx_hash), Some(block_number), Some(gas_used))
                }
                Outcome::AlreadyOnChain => (None, None, None),
            };
            let record = commitments::Commitment {
                epoch: batch.epoch,
                state_root: batch.state_root,
                tx_hash,
                block_number,
                gas_used,
                final_at: Some(submitter.final_at(batch.epoch).await?),
            };
            commitments::insert(&self.pool, &record).await?;
        }
        Ok(())
    }

    /// Executes `epoch`'s net curve orders unless done: the plan is computed once, at the curve's price after the
    /// previous epoch, stored before anything is sent, and resent as stored until the chain has it.
    #[tracing::instrument(skip_all, fields(epoch))]
    async fn settle_net_orders(&self, settler: &CurveSettler, epoch: u64) -> Result<()> {
        let stored = curve_store::get(&self.pool, epoch).await?;
        if let Some(row) = &stored
            && row.status != Status::Planned
        {
            return Ok(());
        }
        let view = settler.view().await?;
        let planned = match stored {
            Some(row) => row.plan,
            None => {
                // With the row lost (the store was restored from an old copy) but the epoch settled on chain, this
                // plan is recomputed at the later spot; the execution below is still recovered from the chain's
                // log, never traded twice.
                let planned = self.plan_net_orders(epoch, &view).await?;
                let nothing = planned.sell.0.is_zero() && planned.buy.0.is_zero();
                for skip in &planned.skipped {
                    tracing::warn!(reason = skip.reason.as_str(), detail = %skip.detail, "net order not executed");
                }
                curve_store::insert(&self.pool, &planned, if nothing { Status::Nothing } else { Status::Planned })
                    .await?;
                if nothing {
                    return Ok(());
                }
                planned
            }
        };
        let executed = if view.last_settled >= epoch {
            // Sent before a restart and mined since: recover the outcome from the chain's log, searching back from
            // the head no further than the transaction can be.
            let floor = self.settlement_floor(epoch).await?;
            let found = settler.find_executed(epoch, floor, self.config.max_log_range).await?;
            found.ok_or(crate::chain::Error::Decode {
                what: "EpochSettled",
                reason: format!("curve settled epoch {} but no EpochSettled log for epoch {epoch}", view.last_settled),
            })?
        } else {
            settler.execute(epoch, planned.sell, planned.buy).await?
        };
        tracing::info!(tx = %executed.tx_hash, usdc_out = %executed.usdc_out, myco_out = %executed.myco_out,
            "net orders executed");
        curve_store::executed(&self.pool, epoch, &executed).await?;
        Ok(())
    }

    /// The earliest block `epoch`'s settlement can be in: when its first attempt was sent, else when the previous
    /// epoch was committed (net orders of an epoch go out after its predecessor's root), else the start block.
    async fn settlement_floor(&self, epoch: u64) -> Result<u64> {
        let sent = store::attempts::first_sent_block(&self.pool, "settle", epoch).await?;
        let previous = match epoch {
            1 => None,
            e => commitments::block_of(&self.pool, e - 1).await?,
        };
        Ok(sent.or(previous).unwrap_or(self.config.start_block).max(self.config.start_block))
    }

    /// Runs `epoch`'s batch auction at the curve's spot and plans the net orders the curve and float can take.
    async fn plan_net_orders(&self, epoch: u64, view: &crate::chain::CurveView) -> Result<Planned> {
        let (_, raw) = batches::raw(&self.pool, epoch).await?.ok_or(store::Error::Corrupt {
            table: "batches",
            column: "raw",
            reason: format!("epoch {epoch} is listed uncommitted but not stored"),
        })?;
        // The batch was verified when accepted; only its document is needed again.
        let envelope = ingest::Envelope::decode(&raw)?;
        let state = ingest::BatchState::from_automerge_within(&envelope.document, &self.config.document_limits)?;
        let (spot, view) = (view.spot, *view);
        let planned = tokio::task::spawn_blocking(move || -> crate::settle::fixed::Result<_> {
            let auction = cow::auction(&state.intents, &state.balances, state.timestamp, spot)?;
            let plan = execution::plan(&auction, &view.curve, view.supply, view.float)?;
            Ok((auction, plan))
        });
        let (auction, plan) =
            planned.await.map_err(|e| Error::Task { what: "batch auction", reason: e.to_string() })??;
        let leg = |l: Option<execution::Leg>| l.map_or((U256::ZERO, U256::ZERO), |l| (l.amount, l.min_out));
        Ok(Planned {
            epoch,
            spot,
            clearing_price: auction.price,
            matched_myco: auction.matched_myco,
            fills: auction.fills.len() as u64,
            sell: leg(plan.sell),
            buy: leg(plan.buy),
            skipped: plan.skipped,
        })
    }

    /// Reads escrow events and reconciles them with the ledger whenever either side moved; keeps the chain clock.
    async fn watch(self, shutdown: CancellationToken) -> Result<()> {
        let c = &self.config;
        let watcher = Watcher::new(self.provider.clone(), c.escrow, c.start_block, c.confirmations, c.max_log_range);
        let mut reconciled_at = None;
        let mut backoff = Backoff::default();
        loop {
            let wait = match self.watch_once(&watcher, &mut reconciled_at).await {
                Ok(caught_up) => {
                    backoff.succeeded();
                    if !caught_up {
                        continue;
                    }
                    self.config.poll_interval
                }
                Err(e) => self.wait_out(e, "watcher", &mut backoff)?,
            };
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One watcher step: the chain's clock, one range of escrow events, and a reconciliation if anything moved.
    /// Returns whether the watcher has caught up with the confirmed head.
    async fn watch_once(&self, watcher: &Watcher, reconciled_at: &mut Option<(u64, usize, u64)>) -> Result<bool> {
        self.observe_clock().await?;
        let progress = watcher.poll(&self.pool).await?;
        // Either side moving: a new batch, a new escrow event, or the watcher reading past a batch's time.
        let state = (
            batches::last(&self.pool).await?.map_or(0, |l| l.0),
            store::escrow::event_count(&self.pool).await?,
            store::escrow::batches_behind_watcher(&self.pool).await?,
        );
        if *reconciled_at != Some(state) {
            let outcome = crate::reconcile::run(&self.pool, self.config.credit_within_epochs).await?;
            if outcome.opened > 0 || outcome.resolved > 0 {
                tracing::info!(open = outcome.open, opened = outcome.opened, resolved = outcome.resolved, "reconciled");
            }
            *reconciled_at = Some(state);
        }
        Ok(progress.caught_up)
    }

    /// Records the chain's head, its time and the node's finalized block: finality is judged by the chain's clock.
    async fn observe_clock(&self) -> Result<()> {
        use alloy::eips::BlockNumberOrTag;
        use alloy::providers::Provider;
        let rpc = |e| Error::Chain(crate::chain::Error::Rpc(e));
        let head = self.provider.get_block_by_number(BlockNumberOrTag::Latest).await.map_err(rpc)?;
        let Some(head) = head else { return Ok(()) };
        // Not every node reports a finalized block (an error or none is "unknown", not a failure).
        let finalized = self.provider.get_block_by_number(BlockNumberOrTag::Finalized).await.ok().flatten();
        store::clock::observe(
            &self.pool,
            head.header.number,
            head.header.timestamp,
            finalized.map(|b| b.header.number),
        )
        .await?;
        Ok(())
    }
}

/// The epoch's redemption rate, USDC payouts and deposit split, for the status page and the demo. A claim the
/// math cannot price (a figure near 2^256) is one the escrow cannot pay either; it is logged, not stored.
fn epoch_outputs(batch: &Batch, settlement: &EpochSettlement) -> Option<store::outputs::EpochOutputs> {
    let redemptions = match Redemptions::compute(settlement, &pamm::Params::default()) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(epoch = batch.epoch, error = %e, "the epoch's claims cannot be priced");
            return None;
        }
    };
    let split = outputs::deposit_split(&batch.state);
    Some(store::outputs::EpochOutputs {
        epoch: batch.epoch,
        pamm_rate: redemptions.pamm_rate,
        redeemed_myco: settlement.claims.iter().map(|c| c.myco_amount).sum(),
        payout_usdc: redemptions.payouts.iter().sum(),
        deposit_split: split.as_ref().map(|_| outputs::deposit_split_json(&batch.state, &split)),
    })
}

/// An error that can be quarantined under a stable reason code.
trait QuarantineReason: std::fmt::Display {
    fn reason(&self) -> &'static str;
}

impl QuarantineReason for ingest::Error {
    fn reason(&self) -> &'static str {
        ingest::Error::reason(self)
    }
}

impl QuarantineReason for Error {
    fn reason(&self) -> &'static str {
        match self {
            Error::Ingest(e) => e.reason(),
            _ => "internal",
        }
    }
}
