//! `mismatches`: disagreements between the chain and the certified off-chain ledger, each with its evidence.
//! A mismatch is recorded once per kind and subject, never deleted; when its cause goes away it is marked
//! resolved, and it reopens if the cause comes back.

use sqlx::{AnyConnection, FromRow};

use super::columns::{Unsigned, decoding};
use super::{Pool, Result, now};

/// What disagrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A `Withdrawn` event for a claim id no committed root holds.
    UnknownWithdrawal,
    /// A `Withdrawn` event whose account, recipient, epoch, amount or payout differs from the committed claim.
    WithdrawalDiffers,
    /// A second `Withdrawn` event for one claim id.
    ClaimPaidTwice,
    /// A deposit on chain that no certified batch credited within the allowed epochs.
    DepositNotCredited,
    /// A batch credited a deposit id the chain does not have.
    CreditUnknown,
    /// A batch credited a deposit with another account or amount than the chain's.
    CreditDiffers,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::UnknownWithdrawal,
        Kind::WithdrawalDiffers,
        Kind::ClaimPaidTwice,
        Kind::DepositNotCredited,
        Kind::CreditUnknown,
        Kind::CreditDiffers,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::UnknownWithdrawal => "unknown_withdrawal",
            Kind::WithdrawalDiffers => "withdrawal_differs",
            Kind::ClaimPaidTwice => "claim_paid_twice",
            Kind::DepositNotCredited => "deposit_not_credited",
            Kind::CreditUnknown => "credit_unknown",
            Kind::CreditDiffers => "credit_differs",
        }
    }
}

/// A detected mismatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What disagrees.
    pub kind: Kind,
    /// The claim id or deposit id.
    pub subject: String,
    /// The epoch concerned, if one is.
    pub epoch: Option<u64>,
    /// A sentence for the operator.
    pub detail: String,
    /// Both sides, as JSON.
    pub evidence: serde_json::Value,
}

/// A stored mismatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Row id.
    pub id: i64,
    /// Kind, as stored.
    pub kind: String,
    /// The claim id or deposit id.
    pub subject: String,
    /// The epoch concerned.
    pub epoch: Option<u64>,
    /// A sentence for the operator.
    pub detail: String,
    /// Both sides, as JSON text.
    pub evidence: String,
    /// When it was first seen (Unix seconds).
    pub detected_at: i64,
    /// When it went away, if it did.
    pub resolved_at: Option<i64>,
}

/// Records `found` (or reopens it with the new detail); returns whether it was not open before.
pub async fn record(conn: &mut AnyConnection, found: &Found) -> Result<bool> {
    // `resolved_at` of an existing row: `Some(None)` while it is open.
    let existing: Option<Option<i64>> =
        sqlx::query_scalar("SELECT resolved_at FROM mismatches WHERE kind = $1 AND subject = $2")
            .bind(found.kind.as_str())
            .bind(&found.subject)
            .fetch_optional(&mut *conn)
            .await?;
    let was_open = existing.map(|resolved| resolved.is_none());
    sqlx::query(
        "INSERT INTO mismatches (kind, subject, epoch, detail, evidence, detected_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (kind, subject) DO UPDATE SET detail = excluded.detail, evidence = excluded.evidence,
             epoch = excluded.epoch, resolved_at = NULL",
    )
    .bind(found.kind.as_str())
    .bind(&found.subject)
    .bind(found.epoch.map(|e| e as i64))
    .bind(&found.detail)
    .bind(found.evidence.to_string())
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(was_open != Some(true))
}

/// Marks resolved every open mismatch of `kinds` whose subject is not in `still`.
pub async fn resolve_absent(conn: &mut AnyConnection, kinds: &[Kind], still: &[Found]) -> Result<u64> {
    let mut resolved = 0;
    for kind in kinds {
        let open: Vec<String> =
            sqlx::query_scalar("SELECT subject FROM mismatches WHERE kind = $1 AND resolved_at IS NULL")
                .bind(kind.as_str())
                .fetch_all(&mut *conn)
                .await?;
        for subject in open {
            if !still.iter().any(|f| f.kind == *kind && f.subject == subject) {
                sqlx::query("UPDATE mismatches SET resolved_at = $1 WHERE kind = $2 AND subject = $3")
                    .bind(now())
                    .bind(kind.as_str())
                    .bind(&subject)
                    .execute(&mut *conn)
                    .await?;
                resolved += 1;
            }
        }
    }
    Ok(resolved)
}

/// Every mismatch, open ones first, then by id.
pub async fn all(pool: &Pool) -> Result<Vec<Mismatch>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        kind: String,
        subject: String,
        epoch: Option<Unsigned>,
        detail: String,
        evidence: String,
        detected_at: i64,
        resolved_at: Option<i64>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, subject, epoch, detail, evidence, detected_at, resolved_at FROM mismatches
         ORDER BY resolved_at IS NOT NULL, id",
    )
    .fetch_all(pool)
    .await
    .map_err(decoding("mismatches"))?;
    Ok(rows
        .into_iter()
        .map(|r| Mismatch {
            id: r.id,
            kind: r.kind,
            subject: r.subject,
            epoch: r.epoch.map(|e| e.0),
            detail: r.detail,
            evidence: r.evidence,
            detected_at: r.detected_at,
            resolved_at: r.resolved_at,
        })
        .collect())
}

/// Open mismatches.
pub async fn open(pool: &Pool) -> Result<Vec<Mismatch>> {
    Ok(all(pool).await?.into_iter().filter(|m| m.resolved_at.is_none()).collect())
}
