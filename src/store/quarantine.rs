//! `quarantine` and `quarantine_repeats`: rejected input, kept with the reason it was rejected. The first
//! [`KEPT_PER_KIND`] distinct inputs per (source, epoch, reason) are kept: whole when a quorum certified them
//! (evidence against the validators), else their first [`KEPT_PREFIX_BYTES`]; later rejections of the same kind
//! from the same source and epoch are counted, not stored. So one source's rejected input for one epoch takes at
//! most four rows per reason code (about twenty codes) of at most a MiB each unless certified, whatever it serves
//! and however often it is asked.

use alloy::primitives::{B256, keccak256};
use sqlx::FromRow;

use super::columns::{Unsigned, decoding};
use super::{Pool, Result, now};

/// Distinct inputs kept per (source, epoch, reason).
pub const KEPT_PER_KIND: i64 = 4;

/// Bytes of an uncertified rejected input that are kept.
pub const KEPT_PREFIX_BYTES: usize = 1024 * 1024;

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
    /// The bytes as received (their first [`KEPT_PREFIX_BYTES`] when the input was not certified).
    pub raw: Vec<u8>,
}

/// A rejected input to keep.
#[derive(Debug, Clone, Copy)]
pub struct Rejected<'a> {
    /// Where it came from.
    pub source: &'a str,
    /// The epoch it was fetched for.
    pub epoch: Option<u64>,
    /// Stable reason code.
    pub reason: &'a str,
    /// The error message.
    pub detail: &'a str,
    /// The bytes as received.
    pub raw: &'a [u8],
    /// Whether a quorum of validators certified it (then it is kept whole).
    pub certified: bool,
}

/// What [`record`] did with a rejected input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Kept (one of the first of its kind from this source for this epoch).
    Kept,
    /// The same bytes were kept before: nothing new.
    Known,
    /// Counted: one more of a kind already kept; the count so far.
    Counted(u64),
}

/// Keeps or counts a rejected input, in one transaction.
pub async fn record(pool: &Pool, r: &Rejected<'_>) -> Result<Recorded> {
    let hash = keccak256(r.raw);
    let mut tx = super::begin(pool).await?;
    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM quarantine WHERE source = $1 AND raw_hash = $2")
        .bind(r.source)
        .bind(hash.as_slice())
        .fetch_one(&mut *tx)
        .await?;
    if known > 0 {
        return Ok(Recorded::Known);
    }
    let epoch = r.epoch.map(|e| e as i64);
    let same_kind: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM quarantine WHERE source = $1 AND COALESCE(epoch, -1) = $2 AND reason = $3",
    )
    .bind(r.source)
    .bind(epoch.unwrap_or(-1))
    .bind(r.reason)
    .fetch_one(&mut *tx)
    .await?;
    let outcome = if same_kind >= KEPT_PER_KIND {
        let count: i64 = sqlx::query_scalar(
            "INSERT INTO quarantine_repeats (source, epoch, reason, count, last_at) VALUES ($1, $2, $3, 1, $4)
             ON CONFLICT (source, epoch, reason) DO UPDATE SET count = quarantine_repeats.count + 1,
                 last_at = excluded.last_at
             RETURNING count",
        )
        .bind(r.source)
        .bind(epoch.unwrap_or(-1))
        .bind(r.reason)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        Recorded::Counted(count as u64)
    } else {
        let kept = if r.certified { r.raw } else { &r.raw[..r.raw.len().min(KEPT_PREFIX_BYTES)] };
        insert(&mut tx, r, kept, hash).await?;
        Recorded::Kept
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn insert(conn: &mut sqlx::AnyConnection, r: &Rejected<'_>, kept: &[u8], hash: B256) -> Result<()> {
    sqlx::query(
        "INSERT INTO quarantine (source, epoch, reason, detail, raw, raw_hash, raw_len, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.source)
    .bind(r.epoch.map(|e| e as i64))
    .bind(r.reason)
    .bind(r.detail)
    .bind(kept)
    .bind(hash.as_slice())
    .bind(r.raw.len() as i64)
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

/// Rejections counted rather than kept, in all.
pub async fn repeats(pool: &Pool) -> Result<u64> {
    let n: Option<i64> =
        sqlx::query_scalar("SELECT CAST(SUM(count) AS BIGINT) FROM quarantine_repeats").fetch_one(pool).await?;
    Ok(n.unwrap_or(0) as u64)
}

/// Every quarantined input, oldest first.
pub async fn all(pool: &Pool) -> Result<Vec<Entry>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        source: String,
        epoch: Option<Unsigned>,
        reason: String,
        detail: String,
        raw: Vec<u8>,
    }
    let rows: Vec<Row> = sqlx::query_as("SELECT id, source, epoch, reason, detail, raw FROM quarantine ORDER BY id")
        .fetch_all(pool)
        .await
        .map_err(decoding("quarantine"))?;
    Ok(rows
        .into_iter()
        .map(|r| Entry {
            id: r.id,
            source: r.source,
            epoch: r.epoch.map(|e| e.0),
            reason: r.reason,
            detail: r.detail,
            raw: r.raw,
        })
        .collect())
}
