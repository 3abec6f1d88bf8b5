//! The relayer service: ingest → settle → submit in one task, the escrow watcher in another, both stopping
//! cleanly when the shutdown token is cancelled (each finishes its current unit of work first).

use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::DynProvider;
use tokio_util::sync::CancellationToken;

use crate::chain::{Outcome, Submitter, Watcher};
use crate::ingest::{Batch, ValidatorSet, Verifier, folder::FolderSource};
use crate::settle::EpochSettlement;
use crate::store::{self, Pool, batches, claims, commitments, quarantine};
use crate::{Error, Result};

/// Everything the relayer needs to know about its world.
#[derive(Debug, Clone)]
pub struct Config {
    /// The EVM chain id batches must be certified for.
    pub chain_id: u64,
    /// The validator set whose quorum certifies batches.
    pub validators: ValidatorSet,
    /// Folder the validators publish `<epoch>.batch` files to.
    pub batch_dir: PathBuf,
    /// `StateCommitment` address.
    pub state_commitment: Address,
    /// `USDCEscrow` address.
    pub escrow: Address,
    /// First block the watcher reads.
    pub start_block: u64,
    /// Blocks on top before a commit or an escrow event counts.
    pub confirmations: u64,
    /// How often sources and the chain are polled.
    pub poll_interval: Duration,
}

/// The relayer: a store, a signing provider and its configuration.
#[derive(Debug, Clone)]
pub struct Relayer {
    pool: Pool,
    provider: DynProvider,
    config: Config,
}

impl Relayer {
    /// A relayer over `pool`, sending through `provider` (which signs as the relayer key).
    pub fn new(pool: Pool, provider: DynProvider, config: Config) -> Self {
        Self { pool, provider, config }
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
        let source = FolderSource::new(&self.config.batch_dir);
        let last = batches::last(&self.pool).await?;
        let mut verifier = Verifier::new(self.config.chain_id, self.config.validators.clone(), last);
        let submitter = Submitter::new(self.provider.clone(), self.config.state_commitment, self.config.confirmations);
        tracing::info!(next_epoch = verifier.next_epoch(), dir = %source.dir().display(), "pipeline started");
        loop {
            self.ingest_available(&source, &mut verifier).await?;
            self.submit_uncommitted(&submitter).await?;
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
    }

    /// Verifies and stores every batch that is ready, in epoch order.
    async fn ingest_available(&self, source: &FolderSource, verifier: &mut Verifier) -> Result<()> {
        loop {
            let epoch = verifier.next_epoch();
            let origin = source.dir().join(FolderSource::file_name(epoch)).display().to_string();
            let bytes = match source.fetch(epoch).await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return Ok(()),
                Err(e) => {
                    tracing::warn!(epoch, error = %e, "batch source");
                    return Ok(());
                }
            };
            match verifier.verify(&bytes) {
                Ok(batch) => {
                    self.accept(&batch).await?;
                    verifier.accept(&batch);
                }
                Err(e) => {
                    // Everything already accepted stays as it is; we wait for a valid batch for this epoch.
                    if !quarantine::contains(&self.pool, &origin, &bytes).await? {
                        tracing::warn!(epoch, reason = e.reason(), error = %e, "batch rejected and quarantined");
                        quarantine::insert(&self.pool, &origin, Some(epoch), e.reason(), &e.to_string(), &bytes)
                            .await?;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Computes the batch's settlement and stores batch and claims in one transaction.
    #[tracing::instrument(skip_all, fields(epoch = batch.epoch))]
    async fn accept(&self, batch: &Batch) -> Result<()> {
        let settlement = EpochSettlement::compute(&batch.state);
        let mut tx = self.pool.begin().await.map_err(store::Error::from)?;
        batches::insert(&mut tx, batch, settlement.root()).await?;
        claims::insert_all(&mut tx, &settlement).await?;
        tx.commit().await.map_err(store::Error::from)?;
        tracing::info!(
            digest = %batch.digest,
            root = %settlement.root(),
            claims = settlement.claims.len(),
            signers = batch.signers,
            "batch accepted"
        );
        Ok(())
    }

    /// Commits every stored root the chain does not have yet, in order; stops at the first transient failure.
    async fn submit_uncommitted(&self, submitter: &Submitter) -> Result<()> {
        for batch in batches::uncommitted(&self.pool).await? {
            let parent_root = match batch.epoch {
                1 => B256::ZERO,
                e => batches::get(&self.pool, e - 1).await?.map(|b| b.state_root).unwrap_or_default(),
            };
            let outcome = match submitter.submit(&batch, parent_root).await {
                Ok(o) => o,
                Err(e) if e.is_retryable() => {
                    tracing::warn!(epoch = batch.epoch, error = %e, "commit failed, will retry");
                    return Ok(());
                }
                Err(e) => {
                    tracing::error!(epoch = batch.epoch, error = %e, "commit failed, halting");
                    return Err(e.into());
                }
            };
            let (tx_hash, block_number, gas_used) = match outcome {
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
            };
            commitments::insert(&self.pool, &record).await?;
        }
        Ok(())
    }

    async fn watch(self, shutdown: CancellationToken) -> Result<()> {
        let watcher =
            Watcher::new(self.provider.clone(), self.config.escrow, self.config.start_block, self.config.confirmations);
        loop {
            match watcher.poll(&self.pool).await {
                Ok(p) if !p.caught_up => continue,
                Ok(_) => {}
                Err(Error::Chain(e)) if e.is_retryable() => {
                    tracing::warn!(error = %e, "watcher poll failed, will retry")
                }
                Err(e) => return Err(e),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
    }
}
