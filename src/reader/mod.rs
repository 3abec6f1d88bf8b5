//! The reader: one component that turns a batch source into verified, settled and stored epochs, shared by
//! every mode that reads batches (the relayer, which commits; an attester, which signs; an auditor, which
//! checks). It fetches each next epoch from the source, verifies it against the validator set and the chain of
//! batches accepted so far, computes its claims, root and figures, and stores everything in one transaction.
//! Bad input is quarantined (`quarantine`); two conflicting certified batches for one epoch are kept as
//! evidence and stop the reader (`verify`). It never writes to the chain: a mode's writer consumes what it
//! stored.
//!
//! ```text
//!   source ──▶ verify (certificate, chain of batches, schema, values, history) ──▶ accept (settle, store)
//!                 │ bad: quarantine            │ conflicting certified: equivocation evidence, stop
//! ```

mod accept;
pub mod conservation;
mod holdings;
mod quarantine;
mod states;
mod verify;

use tracing::Instrument;

use crate::Result;
use crate::ingest::source::Candidate;
use crate::ingest::{self, Batch, Source, SourceConfig, ValidatorSet, Verifier};
use crate::settle::{ClaimDomain, pamm};
use crate::store::equivocations::{self, Evidence, Shape, Side};
use crate::store::{Pool, batches};

pub use accept::Accepted;
pub use holdings::EscrowAtHead;
pub use states::DecodedStates;

/// What the reader needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The EVM chain id batches must be certified for.
    pub chain_id: u64,
    /// The validator set whose quorum certifies batches.
    pub validators: ValidatorSet,
    /// Where certified batches come from.
    pub source: SourceConfig,
    /// What a batch's document may claim before it is loaded.
    pub document_limits: crate::ingest::document::footprint::Limits,
    /// The P-AMM parameters the escrow pays by (for the epoch's computed payouts).
    pub params: pamm::Params,
    /// The escrow that pays the claims (their leaves are bound to it and to `chain_id`).
    pub escrow: alloy::primitives::Address,
}

/// Reads batches from a source into the store.
#[derive(Debug)]
pub struct Reader {
    pool: Pool,
    source: Source,
    verifier: Verifier,
    params: pamm::Params,
    domain: ClaimDomain,
    /// Where accepted epochs' decoded states are kept for the stages after ingest, if any reads them.
    states: Option<DecodedStates>,
}

impl Reader {
    /// A reader continuing after the last batch stored in `pool`. It refuses to start while an equivocation is
    /// on record: someone must look at the evidence first.
    pub async fn open(pool: Pool, config: &Config) -> Result<Self> {
        if let Some(e) = equivocations::all(&pool).await?.into_iter().next() {
            tracing::error!(epoch = e.epoch, first = %e.first.digest, second = %e.second.digest,
                "refusing to run: an equivocation is on record; inspect the evidence before clearing it");
            return Err(
                ingest::Error::Equivocation { epoch: e.epoch, first: e.first.digest, second: e.second.digest }.into()
            );
        }
        Self::open_for_audit(pool, config).await
    }

    /// A reader that opens with evidence on record: an auditor reports equivocations, it does not act on the
    /// batches, so it keeps reading what it can (it still stops at an epoch with two certified batches).
    pub async fn open_for_audit(pool: Pool, config: &Config) -> Result<Self> {
        let source = Source::open(&config.source, config.document_limits.max_batch_bytes)?;
        let last = batches::last(&pool).await?.map(|(epoch, digest)| (epoch.0, digest));
        let verifier =
            Verifier::new(config.chain_id, config.validators.clone(), last).with_limits(config.document_limits);
        let domain = ClaimDomain { chain_id: config.chain_id, escrow: config.escrow };
        Ok(Self { pool, source, verifier, params: config.params, domain, states: None })
    }

    /// Keeps the decoded state of each accepted epoch in `states` (bounded), for the stages after ingest.
    pub fn sharing(self, states: DecodedStates) -> Self {
        Self { states: Some(states), ..self }
    }

    /// The epoch it reads next.
    pub fn next_epoch(&self) -> u64 {
        self.verifier.next_epoch()
    }

    /// Its source, for logs.
    pub fn describe(&self) -> String {
        self.source.describe()
    }

    /// Verifies, settles and stores every batch that is ready, in epoch order; returns what it accepted. Bad
    /// input is quarantined; two conflicting certified batches for one epoch are kept as evidence and are an
    /// error (`ingest::Error::Equivocation`) that halts whoever reads.
    pub async fn read_available(&mut self) -> Result<Vec<Accepted>> {
        let mut accepted = Vec::new();
        loop {
            let (source, verifier) = (&mut self.source, &mut self.verifier);
            let epoch = verifier.next_epoch();
            let fetched = source.fetch(epoch).await;
            for r in &fetched.refused {
                quarantine::keep(&self.pool, &r.origin, epoch, &r.error, &r.prefix, false).await?;
            }
            let mut chosen: Option<(Batch, String)> = None;
            for Candidate { origin, bytes } in fetched.candidates {
                let verified = verify::verify(&self.pool, verifier, &bytes)
                    .instrument(tracing::info_span!("ingest", epoch, bytes = bytes.len()))
                    .await;
                match verified {
                    Ok(batch) => match &chosen {
                        None => chosen = Some((batch, origin)),
                        Some((first, _)) if first.digest == batch.digest => {}
                        Some((first, first_origin)) => {
                            let first =
                                Side { digest: first.digest, raw: first.raw.clone(), origin: first_origin.clone() };
                            let second = Side { digest: batch.digest, raw: bytes, origin };
                            let evidence = Evidence { epoch, shape: Shape::TwoBatches, first, second };
                            return Err(verify::equivocation(&self.pool, evidence).await);
                        }
                    },
                    // The store or a task failing is ours, not the batch's: the pass fails and is retried, and the
                    // batch is read again.
                    Err(e) if !matches!(e, crate::Error::Ingest(_)) => return Err(e),
                    Err(e) => {
                        if let Some(evidence) =
                            verify::conflicts_with_accepted(&self.pool, verifier, &origin, &bytes).await?
                        {
                            return Err(verify::equivocation(&self.pool, evidence).await);
                        }
                        // Everything accepted stays as it is; we wait for a valid batch of this epoch. The origin
                        // that served it backs off as if it had failed (answering is not being healthy); a folder
                        // does not read the same file again.
                        source.rejected(&origin);
                        let certified = verifier.certified(&bytes).is_some();
                        quarantine::keep(&self.pool, &origin, epoch, &e, &bytes, certified).await?;
                    }
                }
            }
            let Some((batch, origin)) = chosen else { return Ok(accepted) };
            accepted.push(accept::accept(&self.pool, &batch, &origin, &self.params, self.domain).await?);
            self.source.accepted(&origin);
            self.verifier.accept(&batch);
            if let Some(states) = &self.states {
                states.put(batch.epoch.into(), batch.digest, std::sync::Arc::new(batch.state));
            }
        }
    }

    /// Asks the source again for already accepted `epochs`: a certified batch for one of them with another
    /// digest, or whose parent forks the accepted chain, is an equivocation that arrived late. Each is kept as
    /// evidence (once) and returned when new; nothing accepted changes.
    pub async fn recheck(&mut self, epochs: std::ops::RangeInclusive<u64>) -> Result<Vec<Evidence>> {
        let mut found = Vec::new();
        for epoch in epochs {
            let fetched = self.source.fetch(epoch).await;
            for Candidate { origin, bytes } in fetched.candidates {
                if let Some(evidence) =
                    verify::conflicts_with_accepted(&self.pool, &self.verifier, &origin, &bytes).await?
                    && verify::record(&self.pool, &evidence).await?
                {
                    found.push(evidence);
                }
            }
        }
        Ok(found)
    }
}
