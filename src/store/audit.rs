//! The auditor's own tables: the commitments it read from `StateCommitment` (`audit_commitments`), what it found
//! (`audit_findings`, each once) and how far it has read the contract's logs (`audit_cursor`).

use alloy::primitives::B256;
use sqlx::FromRow;

use super::columns::{Hash, Unsigned, decoding};
use super::{Pool, Result, now};
use crate::attest::collect::Quorum;
pub use crate::chain::commitment_events::Committed as Observed;
use crate::chain::commitment_events::Range;
use crate::ids::Epoch;

/// The auditor's verdict on a commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Equal, field by field, to what the auditor computed from the certified batch.
    Matches,
    /// Different (a finding says how).
    Differs,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Matches => "matches",
            Verdict::Differs => "differs",
        }
    }
}

/// How far the auditor has read `StateCommitment`'s logs (the last block read), if it has begun.
pub async fn cursor(pool: &Pool) -> Result<Option<u64>> {
    let block: Option<Unsigned> = sqlx::query_scalar("SELECT block FROM audit_cursor WHERE id = 1")
        .fetch_optional(pool)
        .await
        .map_err(decoding("audit_cursor"))?;
    Ok(block.map(|b| b.0))
}

/// Records the last block read, with the commitments, revocations and attester sets read up to it, in one
/// transaction.
pub async fn advance(pool: &Pool, block: u64, range: &Range) -> Result<()> {
    let (observed, revoked) = (&range.committed, &range.revoked);
    let mut tx = super::begin(pool).await?;
    for set in &range.attester_sets {
        let attesters: Vec<String> = set.quorum.attesters.iter().map(|a| a.to_string()).collect();
        sqlx::query(
            "INSERT INTO audit_attester_sets (block_number, log_index, attesters, threshold) VALUES ($1, $2, $3, $4)
             ON CONFLICT (block_number, log_index) DO NOTHING",
        )
        .bind(set.block_number as i64)
        .bind(set.log_index as i64)
        .bind(attesters.join(","))
        .bind(set.quorum.threshold as i64)
        .execute(&mut *tx)
        .await?;
    }
    for o in observed {
        let r = &o.root;
        sqlx::query(
            "INSERT INTO audit_commitments (epoch, commitment_hash, state_root, parent_root, batch_digest,
                 total_supply, total_reserve, flow_pressure, timestamp, final_at, block_number, tx_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (epoch, commitment_hash) DO NOTHING",
        )
        .bind(r.epoch)
        .bind(o.hash.as_slice())
        .bind(r.state_root.as_slice())
        .bind(r.parent_root.as_slice())
        .bind(r.digest.as_slice())
        .bind(r.figures.total_supply.to_string())
        .bind(r.figures.total_reserve.to_string())
        .bind(r.figures.flow_pressure.to_string())
        .bind(r.timestamp as i64)
        .bind(o.final_at.min(i64::MAX as u64) as i64)
        .bind(o.block_number as i64)
        .bind(o.tx_hash.as_slice())
        .execute(&mut *tx)
        .await?;
    }
    for (epoch, hash) in revoked.iter() {
        sqlx::query("UPDATE audit_commitments SET revoked = 1 WHERE epoch = $1 AND commitment_hash = $2")
            .bind(*epoch)
            .bind(hash.as_slice())
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("INSERT INTO audit_cursor (id, block) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET block = $1")
        .bind(block as i64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(FromRow)]
struct ObservedRow {
    #[sqlx(flatten)]
    root: super::attestations::CommitmentColumns,
    commitment_hash: Hash,
    final_at: Unsigned,
    block_number: Unsigned,
    tx_hash: Hash,
}

impl From<ObservedRow> for Observed {
    fn from(r: ObservedRow) -> Self {
        Observed {
            root: r.root.into(),
            hash: r.commitment_hash.0,
            final_at: r.final_at.0,
            block_number: r.block_number.0,
            tx_hash: r.tx_hash.0,
        }
    }
}

/// Commitments without a verdict, in epoch order, at most `limit` (revoked ones too: a wrong commitment someone
/// else revoked is still evidence).
pub async fn unchecked(pool: &Pool, limit: u64) -> Result<Vec<Observed>> {
    let rows: Vec<ObservedRow> = sqlx::query_as(
        "SELECT epoch, commitment_hash, state_root, parent_root, batch_digest, total_supply, total_reserve,
                flow_pressure, timestamp, final_at, block_number, tx_hash
         FROM audit_commitments WHERE verdict IS NULL ORDER BY epoch, block_number LIMIT $1",
    )
    .bind(limit as i64)
    .fetch_all(pool)
    .await
    .map_err(decoding("audit_commitments"))?;
    Ok(rows.into_iter().map(Observed::from).collect())
}

/// Records the verdict on a commitment and the attesters whose signatures it carried.
pub async fn set_verdict(pool: &Pool, epoch: Epoch, hash: B256, verdict: Verdict, signers: &str) -> Result<()> {
    sqlx::query("UPDATE audit_commitments SET verdict = $1, signers = $2 WHERE epoch = $3 AND commitment_hash = $4")
        .bind(verdict.as_str())
        .bind(signers)
        .bind(epoch)
        .bind(hash.as_slice())
        .execute(pool)
        .await?;
    Ok(())
}

/// The attester sets a commit in `block` may have been judged by: the last put in force before the block, and
/// any put in force in the block itself (the commit may come after it in the block), oldest first. Empty when the
/// logs read hold no set that early (the auditor starts after the deployment).
pub async fn attester_sets_at(pool: &Pool, block: u64) -> Result<Vec<Quorum>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT attesters, threshold FROM (
             SELECT block_number, log_index, attesters, threshold FROM audit_attester_sets WHERE block_number < $1
             ORDER BY block_number DESC, log_index DESC LIMIT 1) before
         UNION ALL
         SELECT attesters, threshold FROM audit_attester_sets WHERE block_number = $1",
    )
    .bind(block as i64)
    .fetch_all(pool)
    .await
    .map_err(decoding("audit_attester_sets"))?;
    rows.into_iter()
        .map(|(attesters, threshold)| {
            let attesters = attesters
                .split(',')
                .filter(|a| !a.is_empty())
                .map(|a| a.parse())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| super::Error::Corrupt {
                    table: "audit_attester_sets",
                    column: "attesters".into(),
                    reason: format!("{e}"),
                })?;
            Ok(Quorum { attesters, threshold: threshold as usize })
        })
        .collect()
}

/// How many commitments have each verdict: (matches, differs, unchecked).
pub async fn verdict_counts(pool: &Pool) -> Result<(u64, u64, u64)> {
    let rows: Vec<(Option<String>, i64)> =
        sqlx::query_as("SELECT verdict, COUNT(*) FROM audit_commitments GROUP BY verdict")
            .fetch_all(pool)
            .await
            .map_err(decoding("audit_commitments"))?;
    let count = |v: Option<&str>| rows.iter().find(|(k, _)| k.as_deref() == v).map_or(0, |(_, n)| *n as u64);
    Ok((count(Some("matches")), count(Some("differs")), count(None)))
}

/// The highest epoch whose commitment matched.
pub async fn latest_matched(pool: &Pool) -> Result<Option<Epoch>> {
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(epoch) FROM audit_commitments WHERE verdict = 'matches'")
        .fetch_one(pool)
        .await
        .map_err(decoding("audit_commitments"))?;
    Ok(max.map(|e| Epoch(e as u64)))
}

/// What was done about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Still to act on: a wrong commitment inside its window.
    Open,
    /// The guardian key revoked it.
    Revoked,
    /// No guardian key: the alarm is raised for a person to act.
    Alarmed,
    /// Found after its window closed: too late to revoke.
    Final,
    /// The chain no longer holds it (revoked by someone else, or reorged out).
    Gone,
    /// Nothing on chain to act on (an equivocation, a withdrawal that differs): reported.
    Reported,
    /// No longer holds against the current chain and batches (the batch it named is not the accepted one any
    /// more, its conservation violation was resolved, the commitment now matches): nothing to revoke.
    Cleared,
}

impl Action {
    /// Its name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Open => "open",
            Action::Revoked => "revoked",
            Action::Alarmed => "alarmed",
            Action::Final => "final",
            Action::Gone => "gone",
            Action::Reported => "reported",
            Action::Cleared => "cleared",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Action::Open, Action::Revoked, Action::Alarmed, Action::Final, Action::Gone, Action::Reported, Action::Cleared]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Its row id.
    pub id: u64,
    /// What kind (`commitment_differs`, `conservation`, `equivocation`, `fork`, `withdrawal`).
    pub kind: String,
    /// The epoch it is about.
    pub epoch: u64,
    /// What makes it one finding: a commitment hash, a batch digest, a claim id.
    pub subject: String,
    /// What is wrong, in a sentence.
    pub detail: String,
    /// The evidence (JSON).
    pub evidence: serde_json::Value,
    /// What was done.
    #[serde(serialize_with = "action_name")]
    pub action: Action,
    /// The revocation's transaction, if the auditor sent one.
    pub action_tx: Option<B256>,
    /// When it was found (unix seconds).
    pub detected_at: i64,
    /// When it was acted on.
    pub acted_at: Option<i64>,
}

fn action_name<S: serde::Serializer>(a: &Action, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(a.as_str())
}

/// A finding to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFinding {
    /// See [`Finding::kind`].
    pub kind: &'static str,
    /// See [`Finding::epoch`].
    pub epoch: u64,
    /// See [`Finding::subject`].
    pub subject: String,
    /// See [`Finding::detail`].
    pub detail: String,
    /// See [`Finding::evidence`].
    pub evidence: serde_json::Value,
    /// What is to be done first.
    pub action: Action,
}

/// Records a finding unless the same (kind, epoch, subject) is on record; returns its id when it is new. One that
/// was cleared (it stopped holding) and is found again is opened again: its cause came back.
pub async fn record(pool: &Pool, f: &NewFinding) -> Result<Option<u64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO audit_findings (kind, epoch, subject, detail, evidence, action, detected_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (kind, epoch, subject) DO UPDATE
             SET action = excluded.action, detail = excluded.detail, evidence = excluded.evidence,
                 detected_at = excluded.detected_at, action_tx = NULL, acted_at = NULL
             WHERE audit_findings.action = 'cleared'
         RETURNING id",
    )
    .bind(f.kind)
    .bind(f.epoch as i64)
    .bind(&f.subject)
    .bind(&f.detail)
    .bind(f.evidence.to_string())
    .bind(f.action.as_str())
    .bind(now())
    .fetch_optional(pool)
    .await
    .map_err(decoding("audit_findings"))?;
    Ok(id.map(|i| i as u64))
}

/// Records what was done about finding `id`.
pub async fn act(pool: &Pool, id: u64, action: Action, tx: Option<B256>) -> Result<()> {
    sqlx::query("UPDATE audit_findings SET action = $1, action_tx = $2, acted_at = $3 WHERE id = $4")
        .bind(action.as_str())
        .bind(tx.map(|t| t.to_vec()))
        .bind(now())
        .bind(id as i64)
        .execute(pool)
        .await?;
    Ok(())
}

/// The highest epoch the auditor has seen final on chain, if any: its own record, so that it never revokes what
/// was final whatever a contract reads later (finality is forever; epochs become final in order).
pub async fn final_through(pool: &Pool) -> Result<Option<Epoch>> {
    let epoch: Option<Epoch> = sqlx::query_scalar("SELECT epoch FROM audit_final WHERE id = 1")
        .fetch_optional(pool)
        .await
        .map_err(decoding("audit_final"))?;
    Ok(epoch)
}

/// Records that the chain read `epoch` final (a lower epoch than the one on record changes nothing).
pub async fn record_final(pool: &Pool, epoch: Epoch) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_final (id, epoch, seen_at) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET epoch = $1, seen_at = $2 WHERE audit_final.epoch < $1",
    )
    .bind(epoch)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct FindingRow {
    id: i64,
    kind: String,
    epoch: Unsigned,
    subject: String,
    detail: String,
    evidence: String,
    action: String,
    action_tx: Option<Hash>,
    detected_at: i64,
    acted_at: Option<i64>,
}

impl FindingRow {
    fn decode(self) -> Result<Finding> {
        let corrupt = |column: &str, reason: String| super::Error::Corrupt {
            table: "audit_findings",
            column: column.into(),
            reason,
        };
        Ok(Finding {
            id: self.id as u64,
            epoch: self.epoch.0,
            evidence: serde_json::from_str(&self.evidence).map_err(|e| corrupt("evidence", e.to_string()))?,
            action: Action::parse(&self.action).ok_or_else(|| corrupt("action", self.action.clone()))?,
            action_tx: self.action_tx.map(|h| h.0),
            kind: self.kind,
            subject: self.subject,
            detail: self.detail,
            detected_at: self.detected_at,
            acted_at: self.acted_at,
        })
    }
}

const FINDING_COLUMNS: &str = "id, kind, epoch, subject, detail, evidence, action, action_tx, detected_at, acted_at";

/// Findings still to act on (open, or alarmed for a person who may act yet), oldest epoch first.
pub async fn open(pool: &Pool) -> Result<Vec<Finding>> {
    let rows: Vec<FindingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {FINDING_COLUMNS} FROM audit_findings WHERE action IN ('open', 'alarmed') ORDER BY epoch, id"
    )))
    .fetch_all(pool)
    .await
    .map_err(decoding("audit_findings"))?;
    rows.into_iter().map(FindingRow::decode).collect()
}

/// The newest findings, at most `limit`, newest first.
pub async fn recent(pool: &Pool, limit: u64) -> Result<Vec<Finding>> {
    let rows: Vec<FindingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {FINDING_COLUMNS} FROM audit_findings ORDER BY id DESC LIMIT $1"
    )))
    .bind(limit as i64)
    .fetch_all(pool)
    .await
    .map_err(decoding("audit_findings"))?;
    rows.into_iter().map(FindingRow::decode).collect()
}

/// How many findings there are of each (kind, action).
pub async fn counts(pool: &Pool) -> Result<Vec<(String, String, u64)>> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT kind, action, COUNT(*) FROM audit_findings GROUP BY kind, action ORDER BY kind, action")
            .fetch_all(pool)
            .await
            .map_err(decoding("audit_findings"))?;
    Ok(rows.into_iter().map(|(k, a, n)| (k, a, n as u64)).collect())
}
