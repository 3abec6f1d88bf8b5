//! `quarantine` and `quarantine_repeats`: rejected input, kept with the reason it was rejected. The first
//! [`KEPT_PER_KIND`] distinct inputs per (origin, epoch, reason) are kept: whole when a quorum certified them
//! (evidence against the validators), else their first [`KEPT_PREFIX_BYTES`]; later rejections of the same kind
//! from the same origin and epoch are counted, not stored.
//!
//! The total is bounded as well ([`Budget`]): a hostile endpoint serves fresh garbage for every new epoch, so the
//! bound per origin and epoch alone let it add a MiB an epoch forever (18 GB a day with 16 endpoints). Each
//! source (an endpoint, a folder) keeps at most [`Budget::per_source`] bytes and the whole quarantine at most
//! [`Budget::overall`]: room is made by evicting the oldest uncertified input of the source (overall: of the
//! source holding the most), so what is kept is recent; certified evidence is never evicted, and an input that
//! finds the room full of it is not kept. Every eviction, refusal and folded counter is counted in
//! `quarantine_dropped`, so nothing is lost silently. Repeat counters are bounded per source too
//! ([`Budget::repeat_rows_per_source`]; the oldest are folded into one count).

use alloy::primitives::{B256, keccak256};
use sqlx::FromRow;

use super::columns::{Unsigned, decoding};
use super::{Pool, Result, now};

/// Distinct inputs kept per (source, epoch, reason).
pub const KEPT_PER_KIND: i64 = 4;

/// Bytes of an uncertified rejected input that are kept.
pub const KEPT_PREFIX_BYTES: usize = 1024 * 1024;

/// Bytes a kept row is charged beyond its input and reason (its other columns and indexes), so that many tiny
/// inputs are bounded in number too.
pub const ROW_OVERHEAD_BYTES: i64 = 256;

/// How much the quarantine keeps in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes one source (an endpoint, a folder) may have kept.
    pub per_source: i64,
    /// Bytes the whole quarantine may hold.
    pub overall: i64,
    /// Repeat counters one source may have (one per origin, epoch and reason); older ones are folded.
    pub repeat_rows_per_source: i64,
}

impl Default for Budget {
    /// 32 MiB a source (32 uncertified inputs at their largest), 256 MiB in all, 1,024 counters a source.
    fn default() -> Self {
        Self { per_source: 32 << 20, overall: 256 << 20, repeat_rows_per_source: 1024 }
    }
}

/// The source an origin belongs to: a batch URL's scheme and authority (the endpoint), or a file's folder.
pub fn source_key(origin: &str) -> String {
    if let Ok(url) = reqwest::Url::parse(origin)
        && url.has_host()
    {
        return url.origin().ascii_serialization();
    }
    match std::path::Path::new(origin).parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder.display().to_string(),
        _ => origin.to_string(),
    }
}

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
    /// Not kept: the source's room (or the whole quarantine's) is full of certified evidence. Counted.
    NoRoom,
}

/// Keeps or counts a rejected input, in one transaction, within `budget`.
pub async fn record(pool: &Pool, r: &Rejected<'_>, budget: &Budget) -> Result<Recorded> {
    let hash = keccak256(r.raw);
    let key = source_key(r.source);
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
            "INSERT INTO quarantine_repeats (source, epoch, reason, count, last_at, source_key)
             VALUES ($1, $2, $3, 1, $4, $5)
             ON CONFLICT (source, epoch, reason) DO UPDATE SET count = quarantine_repeats.count + 1,
                 last_at = excluded.last_at
             RETURNING count",
        )
        .bind(r.source)
        .bind(epoch.unwrap_or(-1))
        .bind(r.reason)
        .bind(now())
        .bind(&key)
        .fetch_one(&mut *tx)
        .await?;
        fold_repeats(&mut tx, &key, budget).await?;
        Recorded::Counted(count as u64)
    } else {
        let kept = if r.certified { r.raw } else { &r.raw[..r.raw.len().min(KEPT_PREFIX_BYTES)] };
        let cost = kept.len() as i64 + r.detail.len() as i64 + ROW_OVERHEAD_BYTES;
        if make_room(&mut tx, &key, cost, budget, r.certified).await? {
            insert(&mut tx, r, &key, kept, hash, cost).await?;
            Recorded::Kept
        } else {
            dropped(&mut tx, &key, r.reason, Dropped::NotKept).await?;
            Recorded::NoRoom
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// What the bound did to an input.
enum Dropped {
    /// Evicted to make room, with its bytes.
    Evicted(i64),
    /// Not kept: only certified evidence filled the room.
    NotKept,
    /// Repeat counts folded out of their own row.
    Folded(i64),
}

/// Counts what the bound cost `key` under `reason`.
async fn dropped(conn: &mut sqlx::AnyConnection, key: &str, reason: &str, what: Dropped) -> Result<()> {
    let (evicted, bytes, not_kept, folded) = match what {
        Dropped::Evicted(bytes) => (1, bytes, 0, 0),
        Dropped::NotKept => (0, 0, 1, 0),
        Dropped::Folded(n) => (0, 0, 0, n),
    };
    sqlx::query(
        "INSERT INTO quarantine_dropped (source_key, reason, evicted, evicted_bytes, not_kept, folded_repeats, last_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (source_key, reason) DO UPDATE SET
             evicted = quarantine_dropped.evicted + excluded.evicted,
             evicted_bytes = quarantine_dropped.evicted_bytes + excluded.evicted_bytes,
             not_kept = quarantine_dropped.not_kept + excluded.not_kept,
             folded_repeats = quarantine_dropped.folded_repeats + excluded.folded_repeats,
             last_at = excluded.last_at",
    )
    .bind(key)
    .bind(reason)
    .bind(evicted)
    .bind(bytes)
    .bind(not_kept)
    .bind(folded)
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

/// Evicts the oldest uncertified inputs until `cost` more bytes fit `key`'s share and the whole; false when only
/// certified evidence is left to evict. Certified evidence (only a validator quorum can make it, up to a whole
/// batch's 64 MiB) is held to the overall bound alone, so that a source's share never refuses it.
async fn make_room(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    cost: i64,
    budget: &Budget,
    certified: bool,
) -> Result<bool> {
    let share = if certified { budget.overall } else { budget.per_source };
    if cost > share.min(budget.overall) {
        return Ok(false);
    }
    loop {
        // A source's share bounds its uncertified bytes; the whole bounds everything.
        let (uncertified, total): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(CASE WHEN source_key = $1 THEN kept_bytes - certified_bytes ELSE 0 END), 0)
                         AS BIGINT),
                    CAST(COALESCE(SUM(kept_bytes), 0) AS BIGINT)
             FROM quarantine_sources",
        )
        .bind(key)
        .fetch_one(&mut *conn)
        .await?;
        let mine = if certified { 0 } else { uncertified };
        let from = if mine + cost > share {
            key.to_string()
        } else if total + cost > budget.overall {
            // The source holding the most that has something to evict gives way first: a flood pays for itself
            // before anyone else does.
            let largest: Option<String> = sqlx::query_scalar(
                "SELECT s.source_key FROM quarantine_sources s
                 WHERE EXISTS (SELECT 1 FROM quarantine q WHERE q.source_key = s.source_key AND q.certified = 0)
                 ORDER BY s.kept_bytes DESC LIMIT 1",
            )
            .fetch_optional(&mut *conn)
            .await?;
            match largest {
                Some(key) => key,
                None => return Ok(false),
            }
        } else {
            return Ok(true);
        };
        if !evict_oldest(conn, &from).await? {
            return Ok(false);
        }
    }
}

/// Evicts `key`'s oldest uncertified input, if it has one.
async fn evict_oldest(conn: &mut sqlx::AnyConnection, key: &str) -> Result<bool> {
    let oldest: Option<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, reason, kept_bytes FROM quarantine WHERE source_key = $1 AND certified = 0 ORDER BY id LIMIT 1",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, reason, bytes)) = oldest else { return Ok(false) };
    sqlx::query("DELETE FROM quarantine WHERE id = $1").bind(id).execute(&mut *conn).await?;
    charge(conn, key, -bytes, false).await?;
    dropped(conn, key, &reason, Dropped::Evicted(bytes)).await?;
    Ok(true)
}

/// Adds `bytes` (negative: frees them) to `key`'s kept total, and to its certified bytes when `certified`.
async fn charge(conn: &mut sqlx::AnyConnection, key: &str, bytes: i64, certified: bool) -> Result<()> {
    let certified_bytes = if certified { bytes } else { 0 };
    sqlx::query(
        "INSERT INTO quarantine_sources (source_key, kept_bytes, certified_bytes) VALUES ($1, $2, $3)
         ON CONFLICT (source_key) DO UPDATE SET kept_bytes = quarantine_sources.kept_bytes + excluded.kept_bytes,
             certified_bytes = quarantine_sources.certified_bytes + excluded.certified_bytes",
    )
    .bind(key)
    .bind(bytes)
    .bind(certified_bytes)
    .execute(conn)
    .await?;
    Ok(())
}

/// Folds `key`'s oldest repeat counters into `quarantine_dropped` while it has more than the budget allows.
async fn fold_repeats(conn: &mut sqlx::AnyConnection, key: &str, budget: &Budget) -> Result<()> {
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM quarantine_repeats WHERE source_key = $1")
        .bind(key)
        .fetch_one(&mut *conn)
        .await?;
    if rows <= budget.repeat_rows_per_source {
        return Ok(());
    }
    let oldest: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT source, epoch, reason, count FROM quarantine_repeats WHERE source_key = $1
         ORDER BY last_at, epoch LIMIT $2",
    )
    .bind(key)
    .bind(rows - budget.repeat_rows_per_source)
    .fetch_all(&mut *conn)
    .await?;
    for (source, epoch, reason, count) in oldest {
        sqlx::query("DELETE FROM quarantine_repeats WHERE source = $1 AND epoch = $2 AND reason = $3")
            .bind(&source)
            .bind(epoch)
            .bind(&reason)
            .execute(&mut *conn)
            .await?;
        dropped(conn, key, &reason, Dropped::Folded(count)).await?;
    }
    Ok(())
}

async fn insert(
    conn: &mut sqlx::AnyConnection,
    r: &Rejected<'_>,
    key: &str,
    kept: &[u8],
    hash: B256,
    cost: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO quarantine (source, epoch, reason, detail, raw, raw_hash, raw_len, received_at, source_key,
             kept_bytes, certified)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(r.source)
    .bind(r.epoch.map(|e| e as i64))
    .bind(r.reason)
    .bind(r.detail)
    .bind(kept)
    .bind(hash.as_slice())
    .bind(r.raw.len() as i64)
    .bind(now())
    .bind(key)
    .bind(cost)
    .bind(r.certified as i32)
    .execute(&mut *conn)
    .await?;
    charge(conn, key, cost, r.certified).await
}

/// What the bound cost so far, in all: inputs evicted, inputs not kept, repeat counts folded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DroppedTotals {
    /// Inputs evicted to make room.
    pub evicted: u64,
    /// Their bytes.
    pub evicted_bytes: u64,
    /// Inputs not kept (the room was full of certified evidence).
    pub not_kept: u64,
    /// Repeat counts folded out of their rows.
    pub folded_repeats: u64,
}

/// [`DroppedTotals`] now.
pub async fn dropped_totals(pool: &Pool) -> Result<DroppedTotals> {
    let (evicted, evicted_bytes, not_kept, folded): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(evicted), 0) AS BIGINT), CAST(COALESCE(SUM(evicted_bytes), 0) AS BIGINT),
                CAST(COALESCE(SUM(not_kept), 0) AS BIGINT), CAST(COALESCE(SUM(folded_repeats), 0) AS BIGINT)
         FROM quarantine_dropped",
    )
    .fetch_one(pool)
    .await?;
    Ok(DroppedTotals {
        evicted: evicted as u64,
        evicted_bytes: evicted_bytes as u64,
        not_kept: not_kept as u64,
        folded_repeats: folded as u64,
    })
}

/// Bytes the quarantine holds now, as charged against its budget.
pub async fn kept_bytes(pool: &Pool) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(kept_bytes), 0) AS BIGINT) FROM quarantine_sources")
        .fetch_one(pool)
        .await?;
    Ok(n as u64)
}

/// Inputs rejected, by reason, including those evicted since (a counter never goes down).
pub async fn rejected_by_reason(pool: &Pool) -> Result<Vec<(String, u64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT reason, CAST(SUM(n) AS BIGINT) FROM (
             SELECT reason, COUNT(*) AS n FROM quarantine GROUP BY reason
             UNION ALL
             SELECT reason, SUM(evicted + not_kept) AS n FROM quarantine_dropped GROUP BY reason
         ) AS all_rejected GROUP BY reason HAVING SUM(n) > 0 ORDER BY reason",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(r, n)| (r, n as u64)).collect())
}

/// Rejections counted rather than kept, in all (folded counters included).
pub async fn repeats(pool: &Pool) -> Result<u64> {
    let n: Option<i64> =
        sqlx::query_scalar("SELECT CAST(SUM(count) AS BIGINT) FROM quarantine_repeats").fetch_one(pool).await?;
    let folded = dropped_totals(pool).await?.folded_repeats;
    Ok(n.unwrap_or(0) as u64 + folded)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_belongs_to_its_endpoint_or_its_folder() {
        assert_eq!(source_key("http://v1.example:8080/v1/batches/7"), "http://v1.example:8080");
        assert_eq!(source_key("https://v1.example/v1/batches/8"), "https://v1.example");
        assert_eq!(source_key("/var/batches/7.batch"), "/var/batches");
        assert_eq!(source_key("7.batch"), "7.batch");
        assert_ne!(source_key("http://a:1/x"), source_key("http://a:2/x"), "two ports are two endpoints");
    }
}
