//! `quarantine`: rejected input, kept byte for byte with the reason it was rejected.

use alloy::primitives::keccak256;
use sqlx::Row;

use super::{Pool, Result, now};

/// One quarantined input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Row id.
    pub id: i64,
    /// Where it came from (a file path or an endpoint).
    pub source: String,
    /// The epoch it claimed, when it could be read.
    pub epoch: Option<u64>,
    /// Stable reason code (see `ingest::Error::reason`).
    pub reason: String,
    /// The full error message.
    pub detail: String,
    /// The bytes as received.
    pub raw: Vec<u8>,
}

/// Keeps rejected bytes with their reason.
pub async fn insert(
    pool: &Pool,
    source: &str,
    epoch: Option<u64>,
    reason: &str,
    detail: &str,
    raw: &[u8],
) -> Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO quarantine (source, epoch, reason, detail, raw, raw_hash, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(source)
    .bind(epoch.map(|e| e as i64))
    .bind(reason)
    .bind(detail)
    .bind(raw)
    .bind(keccak256(raw).as_slice())
    .bind(now())
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// Whether these exact bytes from this source are already quarantined (so a file polled again is kept once).
pub async fn contains(pool: &Pool, source: &str, raw: &[u8]) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM quarantine WHERE source = $1 AND raw_hash = $2")
        .bind(source)
        .bind(keccak256(raw).as_slice())
        .fetch_one(pool)
        .await?;
    Ok(n > 0)
}

/// Every quarantined input, oldest first.
pub async fn all(pool: &Pool) -> Result<Vec<Entry>> {
    let rows = sqlx::query("SELECT id, source, epoch, reason, detail, raw FROM quarantine ORDER BY id")
        .fetch_all(pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| Entry {
            id: r.get(0),
            source: r.get(1),
            epoch: r.get::<Option<i64>, _>(2).map(|e| e as u64),
            reason: r.get(3),
            detail: r.get(4),
            raw: r.get(5),
        })
        .collect())
}
