//! Acting on a wrong commitment: while it is inside its challenge window, the guardian key (when configured)
//! revokes it, and the honest relayer commits the right one; without a key, or once the window has closed, the
//! finding raises the alarm for a person. Each action is recorded on the finding, so a restarted auditor neither
//! revokes twice nor alarms again.

use std::sync::atomic::Ordering;

use alloy::primitives::B256;

use super::Auditor;
use crate::Result;
use crate::chain::bindings::StateCommitment;
use crate::store::audit::{self, Action, Finding};

/// The finding kinds that name a commitment to revoke.
const REVOCABLE: [&str; 3] = ["commitment_differs", "attestation", "conservation"];

/// How long a revocation may take to be mined before the next pass looks again.
const REVOKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

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
                return Ok(());
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
        if contract.isFinal(epoch).call().await.map_err(call_error("isFinal"))? {
            tracing::error!(
                id = finding.id,
                epoch,
                "WRONG COMMITMENT IS FINAL: found after its challenge window closed"
            );
            return Ok(audit::act(&self.pool, finding.id, Action::Final, None).await?);
        }
        if self.config.guardian.is_none() {
            if finding.action != Action::Alarmed {
                tracing::error!(id = finding.id, epoch, detail = %finding.detail,
                    "WRONG COMMITMENT inside its window and no guardian key here: a guardian must revoke it");
                audit::act(&self.pool, finding.id, Action::Alarmed, None).await?;
            }
            return Ok(());
        }
        tracing::warn!(id = finding.id, epoch, "revoking the wrong commitment");
        let sent =
            tokio::time::timeout(REVOKE_TIMEOUT, crate::chain::send_call("revoke", contract.revoke(epoch))).await;
        let receipt = match sent {
            Ok(Ok(receipt)) => receipt,
            // A revert (the window closed a moment ago, the role was taken away) or a node that does not answer:
            // the finding stays open and visible, and the next pass looks at the chain again.
            Ok(Err(e)) => {
                tracing::error!(id = finding.id, epoch, error = %e, "REVOCATION FAILED; trying again next pass");
                return Ok(());
            }
            Err(_) => {
                tracing::error!(
                    id = finding.id,
                    epoch,
                    timeout_s = REVOKE_TIMEOUT.as_secs(),
                    "revocation not mined in time; looking again next pass"
                );
                return Ok(());
            }
        };
        self.stats.revocations.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(id = finding.id, epoch, tx = %receipt.transaction_hash, "wrong commitment revoked");
        Ok(audit::act(&self.pool, finding.id, Action::Revoked, Some(receipt.transaction_hash)).await?)
    }
}
