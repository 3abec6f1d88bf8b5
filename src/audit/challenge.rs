//! Acting on a wrong commitment: while it is inside its challenge window, the guardian key (when configured)
//! revokes it, and the honest relayer commits the right one; without a key, or once the window has closed, the
//! finding raises the alarm for a person. Each action is recorded on the finding, so a restarted auditor neither
//! revokes twice nor alarms again.
//!
//! A revocation bans the commitment's hash for good, so it is sent only when everything still says so at that
//! moment: the chain holds the commitment, the finding still holds against the batches accepted now (a finding
//! recorded before an operator resolved its cause is cleared, not acted on), the epoch was never seen final (the
//! auditor's own record, beside the contract's `isFinal`), and a simulation of `revoke` passes. It goes through
//! the transaction manager as its own purpose: fees bumped when it is not mined in time, every attempt recorded.

use std::sync::atomic::Ordering;

use alloy::primitives::B256;
use alloy::sol_types::SolError;

use super::Auditor;
use crate::Result;
use crate::chain::bindings::StateCommitment;
use crate::chain::bindings::state_commitment::IStateCommitment::StateCommitmentAlreadyFinal;
use crate::ids::{Epoch, Purpose};
use crate::store::audit::{self, Action, Finding};
use crate::store::{batches, ledger};

/// The finding kinds that name a commitment to revoke.
const REVOCABLE: [&str; 3] = ["commitment_differs", "attestation", "conservation"];

impl Auditor {
    /// Acts on every open or alarmed finding that names a commitment, lowest epoch first (revoking an epoch
    /// retires every later commitment with it). An alarmed one is looked at again each pass: someone else may
    /// revoke it, or the auditor may have been given a guardian key since.
    pub(super) async fn challenge(&self) -> Result<()> {
        for finding in audit::open(&self.pool).await? {
            if REVOCABLE.contains(&finding.kind.as_str()) {
                self.challenge_one(&finding).await?;
            }
        }
        Ok(())
    }

    async fn challenge_one(&self, finding: &Finding) -> Result<()> {
        let contract = StateCommitment::new(self.config.state_commitment, &self.provider);
        let call_error = |call: &'static str| move |e| crate::chain::Error::from_call(call, e);
        let epoch = finding.epoch;
        let latest = contract.latestEpoch().call().await.map_err(call_error("latestEpoch"))?;
        let live = match epoch <= latest && epoch > 0 {
            true => Some(contract.liveCommitment(epoch).call().await.map_err(call_error("liveCommitment"))?),
            false => None,
        };
        let targeted = live.as_ref().is_some_and(|l| match finding.kind.as_str() {
            // A batch that breaks conservation: whichever commitment carries its digest.
            "conservation" => l.commitment.batchDigest.to_string() == finding.subject,
            _ => l.commitmentHash.to_string() == finding.subject,
        });
        if !targeted {
            if finding.kind == "conservation" {
                // Nothing carries the batch (the honest relayer refuses it): keep watching for a commitment of it.
                return self.clear_if_resolved(finding).await;
            }
            let hash: B256 = finding.subject.parse().unwrap_or_default();
            let revoked = contract.isRevoked(hash).call().await.map_err(call_error("isRevoked"))?;
            let action = if revoked { Action::Revoked } else { Action::Gone };
            tracing::info!(
                id = finding.id,
                epoch,
                action = action.as_str(),
                "the chain no longer holds the commitment"
            );
            return Ok(audit::act(&self.pool, finding.id, action, None).await?);
        }
        if self.was_final(Epoch(epoch)).await? {
            tracing::error!(
                id = finding.id,
                epoch,
                "WRONG COMMITMENT IS FINAL: found after its challenge window closed; a person must decide what the \
                 network does about it (nothing on chain can undo it)"
            );
            return Ok(audit::act(&self.pool, finding.id, Action::Final, None).await?);
        }
        if let Some(why) = self.no_longer_holds(finding).await? {
            tracing::warn!(id = finding.id, epoch, kind = %finding.kind, why,
                "the finding no longer holds against the accepted batches: cleared, nothing revoked");
            return Ok(audit::act(&self.pool, finding.id, Action::Cleared, None).await?);
        }
        let Some(revoker) = &self.revoker else {
            if finding.action != Action::Alarmed {
                tracing::error!(id = finding.id, epoch, detail = %finding.detail,
                    "WRONG COMMITMENT inside its window and no guardian key here: a guardian must revoke it");
                audit::act(&self.pool, finding.id, Action::Alarmed, None).await?;
            }
            return Ok(());
        };
        let call = contract.revoke(epoch);
        if let Err(e) = call.call().block(alloy::eips::BlockId::pending()).await {
            let e = crate::chain::Error::from_call("revoke", e);
            if matches!(&e, crate::chain::Error::Reverted { selector: Some(s), .. }
                if *s == StateCommitmentAlreadyFinal::SELECTOR)
            {
                audit::record_final(&self.pool, Epoch(epoch)).await?;
                tracing::error!(id = finding.id, epoch, "WRONG COMMITMENT IS FINAL: its window closed a moment ago");
                return Ok(audit::act(&self.pool, finding.id, Action::Final, None).await?);
            }
            // The role taken away, a stop of the clock: the finding stays open and visible, and the next pass
            // looks at the chain again.
            tracing::error!(id = finding.id, epoch, error = %e, "REVOCATION REFUSED; trying again next pass");
            return Ok(());
        }
        tracing::warn!(id = finding.id, epoch, "revoking the wrong commitment");
        let mined = match revoker.send(Purpose::Revoke, Epoch(epoch), call.into_transaction_request()).await {
            Ok(mined) => mined,
            // Not mined within the policy's timeout, the node away, a revert as it landed: the attempts are on
            // record, so the next pass resumes the same nonce with higher fees rather than queueing another.
            Err(e) => {
                tracing::error!(id = finding.id, epoch, error = %e, "REVOCATION NOT MINED; trying again next pass");
                return Ok(());
            }
        };
        self.stats.revocations.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(id = finding.id, epoch, tx = %mined.tx_hash, gas = mined.gas_used, "wrong commitment revoked");
        Ok(audit::act(&self.pool, finding.id, Action::Revoked, Some(mined.tx_hash)).await?)
    }

    /// Whether `epoch` is final: on the auditor's own record, or on the contract's word now (then recorded).
    async fn was_final(&self, epoch: Epoch) -> Result<bool> {
        if audit::final_through(&self.pool).await?.is_some_and(|through| through >= epoch) {
            return Ok(true);
        }
        let contract = StateCommitment::new(self.config.state_commitment, &self.provider);
        let is_final =
            contract.isFinal(epoch.0).call().await.map_err(|e| crate::chain::Error::from_call("isFinal", e))?;
        if is_final {
            audit::record_final(&self.pool, epoch).await?;
        }
        Ok(is_final)
    }

    /// Why `finding` no longer holds against the batches accepted now, if it does not: its batch is not the
    /// accepted one any more, its conservation violation is off the record (an operator resolved it), or the
    /// commitment it named now matches what the accepted batch gives. A bad attestation is evidence in the
    /// commit transaction itself and always holds.
    async fn no_longer_holds(&self, finding: &Finding) -> Result<Option<String>> {
        let epoch = Epoch(finding.epoch);
        let Some(batch) = batches::get(&self.pool, epoch).await? else {
            return Ok(Some(format!("no batch of epoch {epoch} is accepted")));
        };
        Ok(match finding.kind.as_str() {
            "conservation" => {
                let on_record = ledger::violations(&self.pool).await?.iter().any(|v| v.epoch == epoch.0);
                if batch.digest.to_string() != finding.subject {
                    Some(format!("the accepted batch of epoch {epoch} is {}, not {}", batch.digest, finding.subject))
                } else if !on_record {
                    Some("its conservation violation is no longer on record".into())
                } else {
                    None
                }
            }
            "commitment_differs" => {
                let expected = crate::attest::commitment::of_stored(&self.pool, &batch).await?;
                (expected.hash().to_string() == finding.subject)
                    .then(|| "the commitment is what the accepted batch gives".to_string())
            }
            _ => None,
        })
    }

    /// A conservation finding whose batch nothing on chain carries: cleared once it no longer holds, so that a
    /// later honest commitment of a corrected history is not revoked from it.
    async fn clear_if_resolved(&self, finding: &Finding) -> Result<()> {
        if let Some(why) = self.no_longer_holds(finding).await? {
            tracing::info!(id = finding.id, epoch = finding.epoch, why, "the conservation finding is resolved");
            audit::act(&self.pool, finding.id, Action::Cleared, None).await?;
        }
        Ok(())
    }
}
