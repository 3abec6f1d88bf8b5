//! The checks of a candidate batch: the verifier's (certificate, chain of batches, schema, values), then the ones
//! that need the store's history (batch times increase; claim ids and deposits are used once, ever); and the
//! equivocation watch: a certified batch for an epoch already accepted, with another digest, or a certified batch
//! whose parent is not the accepted batch of the epoch before (a fork), means the validators signed two histories.

use crate::ids::{ClaimId, DepositId, Epoch};
use crate::ingest::{self, Batch, Verifier};
use crate::store::equivocations::{self, Evidence, Shape, Side};
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
    let (reissued, new): (Vec<_>, Vec<_>) = batch.state.withdrawals.iter().partition(|w| w.reissues.is_some());
    let claim_ids: Vec<_> = new.iter().map(|w| ClaimId(w.claim_id)).collect();
    if let Some((claim_id, first_epoch)) = claims::first_certified(pool, &claim_ids).await? {
        let (claim_id, first_epoch) = (claim_id.0, first_epoch.0);
        return Err(ingest::Error::ClaimReused { epoch, claim_id, first_epoch }.into());
    }
    if !reissued.is_empty() {
        // One bulk read (without proofs) of the claims the reissues name.
        let ids: Vec<_> = reissued.iter().map(|w| ClaimId(w.claim_id)).collect();
        let held = claims::among(pool, &ids).await?;
        for w in reissued {
            reissue_holds(epoch, w, held.iter().find(|h| h.claim.claim_id == w.claim_id).map(|h| &h.claim))?;
        }
    }
    let deposit_ids: Vec<_> = batch.state.deposits.iter().map(|d| DepositId(d.deposit_id)).collect();
    if let Some((deposit_id, first_epoch)) = credits::first_credited(pool, &deposit_ids).await? {
        let (deposit_id, first_epoch) = (deposit_id.0, first_epoch.0);
        return Err(ingest::Error::DepositRecredited { epoch, deposit_id, first_epoch }.into());
    }
    Ok(batch)
}

/// A reissue names the epoch that holds the claim now (its first epoch, or the last reissue's), with the same
/// account and MYCO amount: the claim moves, it is not a new one (its MYCO left the balances when first asked).
fn reissue_holds(
    epoch: u64,
    w: &ingest::document::WithdrawalRequest,
    held: Option<&crate::settle::Claim>,
) -> Result<()> {
    let from = w.reissues.expect("only reissues are checked here");
    let refused = |what: String| Err(ingest::Error::Inconsistent { epoch, what }.into());
    let Some(c) = held else {
        return refused(format!(
            "withdrawal {} reissues a claim of epoch {from} that no accepted batch holds",
            w.claim_id
        ));
    };
    if c.epoch != from || from >= epoch {
        return refused(format!(
            "withdrawal {} reissues epoch {from}, but the claim is in epoch {}",
            w.claim_id, c.epoch
        ));
    }
    if c.account != w.account || c.myco_amount != w.amount {
        return refused(format!(
            "withdrawal {} reissues claim {} with another account or amount ({} MYCO units for {}, was {} for {})",
            w.claim_id, c.claim_id, w.amount, w.account, c.myco_amount, c.account
        ));
    }
    Ok(())
}

/// A certified batch for an already accepted epoch with another digest, or one whose parent is not the accepted
/// batch of the epoch before it: the validators signed two histories.
pub(super) async fn conflicts_with_accepted(
    pool: &Pool,
    verifier: &Verifier,
    origin: &str,
    bytes: &[u8],
) -> Result<Option<Evidence>> {
    let Some((epoch, digest, parent)) = verifier.certified_link(bytes) else { return Ok(None) };
    let second = Side { digest, raw: bytes.to_vec(), origin: origin.into() };
    if let Some((accepted, raw)) = batches::raw(pool, epoch.into()).await? {
        if accepted == digest {
            return Ok(None);
        }
        let first = Side { digest: accepted, raw, origin: "accepted".into() };
        return Ok(Some(Evidence { epoch, shape: Shape::TwoBatches, first, second }));
    }
    let Some(before) = epoch.checked_sub(1).filter(|e| *e > 0) else { return Ok(None) };
    let Some((accepted, raw)) = batches::raw(pool, Epoch(before)).await? else { return Ok(None) };
    if accepted == parent {
        return Ok(None);
    }
    let first = Side { digest: accepted, raw, origin: "accepted".into() };
    let second = Side { origin: format!("{origin} (epoch {epoch}, parent {parent})"), ..second };
    Ok(Some(Evidence { epoch: before, shape: Shape::Fork, first, second }))
}

/// Keeps both batches of an equivocation as evidence; returns the error that stops the reader (or the failure
/// to record it, which stops it just the same).
pub(super) async fn equivocation(pool: &Pool, evidence: Evidence) -> Error {
    let (epoch, first, second) = (evidence.epoch, evidence.first.digest, evidence.second.digest);
    match record(pool, &evidence).await {
        Ok(_) => ingest::Error::Equivocation { epoch, first, second }.into(),
        Err(e) => e,
    }
}

/// Keeps an equivocation's evidence (once); returns whether it was new, logged loudly when it is.
pub(super) async fn record(pool: &Pool, evidence: &Evidence) -> Result<bool> {
    let (epoch, first, second) = (evidence.epoch, evidence.first.digest, evidence.second.digest);
    let new = equivocations::insert(pool, evidence).await?;
    if new {
        tracing::error!(epoch, shape = evidence.shape.as_str(), %first, %second,
            first_origin = %evidence.first.origin, second_origin = %evidence.second.origin,
            "EQUIVOCATION: the validators certified two histories");
    }
    Ok(new)
}
