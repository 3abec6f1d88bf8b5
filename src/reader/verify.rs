//! The checks of a candidate batch: the verifier's (certificate, chain of batches, schema, values), then the ones
//! that need the store's history (batch times increase; claim ids and deposits are used once, ever); and the
//! equivocation watch: a
//! certified batch for an epoch already accepted, with another digest, means the validators signed two
//! histories.

use crate::ids::{ClaimId, DepositId, Epoch};
use crate::ingest::{self, Batch, Verifier};
use crate::store::equivocations::{self, Evidence, Side};
use crate::store::{Pool, batches, claims, credits};
use crate::{Error, Result};

/// The verifier's checks, then the ones that need history: claim ids and deposits are used once, ever.
pub(super) async fn verify(pool: &Pool, verifier: &Verifier, bytes: &[u8]) -> Result<Batch> {
    // Verifying a large batch is CPU-bound work (signatures, decoding): keep it off the async workers.
    let (checker, owned) = (verifier.clone(), bytes.to_vec());
    let batch = tokio::task::spawn_blocking(move || checker.verify(&owned))
        .await
        .map_err(|e| Error::Task { what: "verification", reason: e.to_string() })??;
    let epoch = batch.epoch;
    // `StateCommitment` takes batch times strictly increasing from 0; a batch that is not could never commit.
    let previous = match Epoch(epoch).previous() {
        Some(e) if e.0 > 0 => batches::get(pool, e).await?.map_or(0, |b| b.timestamp),
        _ => 0,
    };
    if batch.state.timestamp <= previous {
        let what = format!("timestamp {} is not after the previous batch's {previous}", batch.state.timestamp);
        return Err(ingest::Error::Inconsistent { epoch, what }.into());
    }
    let claim_ids: Vec<_> = batch.state.withdrawals.iter().map(|w| ClaimId(w.claim_id)).collect();
    if let Some((claim_id, first_epoch)) = claims::first_certified(pool, &claim_ids).await? {
        let (claim_id, first_epoch) = (claim_id.0, first_epoch.0);
        return Err(ingest::Error::ClaimReused { epoch, claim_id, first_epoch }.into());
    }
    let deposit_ids: Vec<_> = batch.state.deposits.iter().map(|d| DepositId(d.deposit_id)).collect();
    if let Some((deposit_id, first_epoch)) = credits::first_credited(pool, &deposit_ids).await? {
        let (deposit_id, first_epoch) = (deposit_id.0, first_epoch.0);
        return Err(ingest::Error::DepositRecredited { epoch, deposit_id, first_epoch }.into());
    }
    Ok(batch)
}

/// A certified batch for an already accepted epoch with another digest: the validators signed two histories.
pub(super) async fn conflicts_with_accepted(
    pool: &Pool,
    verifier: &Verifier,
    origin: &str,
    bytes: &[u8],
) -> Result<Option<Evidence>> {
    let Some((epoch, digest)) = verifier.certified(bytes) else { return Ok(None) };
    let Some((accepted, raw)) = batches::raw(pool, epoch.into()).await? else { return Ok(None) };
    if accepted == digest {
        return Ok(None);
    }
    let first = Side { digest: accepted, raw, origin: "accepted".into() };
    Ok(Some(Evidence { epoch, first, second: Side { digest, raw: bytes.to_vec(), origin: origin.into() } }))
}

/// Keeps both batches of an equivocation as evidence; returns the error that stops the reader (or the failure
/// to record it, which stops it just the same).
pub(super) async fn equivocation(pool: &Pool, evidence: Evidence) -> Error {
    let (epoch, first, second) = (evidence.epoch, evidence.first.digest, evidence.second.digest);
    if let Err(e) = equivocations::insert(pool, &evidence).await {
        return e.into();
    }
    tracing::error!(epoch, %first, %second, first_origin = %evidence.first.origin,
            second_origin = %evidence.second.origin, "EQUIVOCATION: two certified batches for one epoch; halting");
    ingest::Error::Equivocation { epoch, first, second }.into()
}
