//! Recording what the auditor found, once each: its own checks' findings, and the evidence the shared reader and
//! reconciliation keep in their tables (equivocations, withdrawals that differ from their claims), copied in so
//! `/api/v1/findings` and the metrics show everything in one place.

use std::sync::atomic::Ordering;

use serde_json::json;

use super::Auditor;
use crate::Result;
use crate::store::audit::{self, Action, NewFinding};
use crate::store::equivocations::{self, Shape};
use crate::store::mismatches::{self, Kind};

/// The reconciliation kinds about a payment out of the escrow.
const WITHDRAWAL_KINDS: [Kind; 3] = [Kind::UnknownWithdrawal, Kind::WithdrawalDiffers, Kind::ClaimPaidTwice];

impl Auditor {
    /// Records `finding` unless it is on record; a new one is logged and counted (a restarted auditor does not
    /// raise again what it recorded before).
    pub(super) async fn found(&self, finding: NewFinding) -> Result<Option<u64>> {
        let id = audit::record(&self.pool, &finding).await?;
        if let Some(id) = id {
            self.stats.new_findings.fetch_add(1, Ordering::Relaxed);
            tracing::error!(id, kind = finding.kind, epoch = finding.epoch, subject = %finding.subject,
                detail = %finding.detail, "AUDIT FINDING");
        }
        Ok(id)
    }

    /// Every equivocation the reader kept, as a finding (nothing on chain to revoke: a person decides which
    /// history is the network's).
    pub(super) async fn sync_equivocations(&self) -> Result<()> {
        let known = self.equivocations_seen.load(Ordering::Relaxed);
        if equivocations::count(&self.pool).await? == known {
            return Ok(());
        }
        let all = equivocations::all(&self.pool).await?;
        for e in &all {
            let (kind, what) = match e.shape {
                Shape::TwoBatches => ("equivocation", "two certified batches"),
                Shape::Fork => ("fork", "a certified batch of the next epoch forks from the accepted one"),
            };
            let side =
                |s: &equivocations::Side| json!({ "digest": s.digest, "origin": s.origin, "bytes": s.raw.len() });
            self.found(NewFinding {
                kind,
                epoch: e.epoch,
                subject: e.second.digest.to_string(),
                detail: format!("epoch {}: the validators certified two histories: {what}", e.epoch),
                evidence: json!({ "first": side(&e.first), "second": side(&e.second) }),
                action: Action::Reported,
            })
            .await?;
        }
        self.equivocations_seen.store(all.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Every open reconciliation mismatch about a withdrawal (paid without a committed claim, or paid other than
    /// its claim and quote say), as a finding.
    pub(super) async fn sync_withdrawals(&self) -> Result<()> {
        for m in mismatches::open(&self.pool).await? {
            if !WITHDRAWAL_KINDS.iter().any(|k| k.as_str() == m.kind) {
                continue;
            }
            let evidence: serde_json::Value = serde_json::from_str(&m.evidence).unwrap_or(json!(m.evidence));
            self.found(NewFinding {
                kind: "withdrawal",
                epoch: m.epoch.unwrap_or(0),
                subject: format!("{}:{}", m.kind, m.subject),
                detail: m.detail,
                evidence,
                action: Action::Reported,
            })
            .await?;
        }
        Ok(())
    }
}
