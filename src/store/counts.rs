//! `store_counts`: counts kept in the same transaction as the rows they count, for figures read on every scrape
//! that would otherwise join or count whole tables (which grow with history).
//!
//! - `claims_unpaid`: committed claims the escrow has not paid, changed where claims are stored, where the
//!   watcher stores a payment and where a rewind deletes one.
//! - Kept by the database's triggers (migration 0013), whatever writes the rows: `batches`, `commitments`,
//!   `conservation_audits`, the commit latency histogram (`commit_latency_count`, `commit_latency_sum`,
//!   `commit_latency_le:<bound>`), transaction attempts (`attempts:<purpose>:<status>`) and `gas_mined`.

use sqlx::AnyConnection;

use super::columns::decoding;
use super::{Pool, Result};

const T: &str = "store_counts";

/// Claims stored with no payment stored for them.
pub const CLAIMS_UNPAID: &str = "claims_unpaid";

/// Locks count `name`'s row until the caller's transaction ends. Call it before reading what the change to the
/// count depends on: two transactions that each count the other's rows (claims stored while their payments are
/// stored) then run one after the other, and the second sees the first's rows (PostgreSQL; SQLite has one writer).
pub(super) async fn hold(conn: &mut AnyConnection, name: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO store_counts (name, n) VALUES ($1, 0) ON CONFLICT (name) DO UPDATE SET n = store_counts.n",
    )
    .bind(name)
    .execute(conn)
    .await?;
    Ok(())
}

/// Batches stored.
pub const BATCHES: &str = "batches";
/// Commitments stored.
pub const COMMITMENTS: &str = "commitments";
/// Conservation audits passed.
pub const CONSERVATION_AUDITS: &str = "conservation_audits";
/// Gas used by mined transaction attempts.
pub const GAS_MINED: &str = "gas_mined";
/// Commitments in the commit latency histogram, and the sum of their latencies (seconds).
pub const COMMIT_LATENCY_COUNT: &str = "commit_latency_count";
/// See [`COMMIT_LATENCY_COUNT`].
pub const COMMIT_LATENCY_SUM: &str = "commit_latency_sum";
/// The prefix of the histogram's buckets (`commit_latency_le:<bound>`) and of the attempts' counts.
pub const COMMIT_LATENCY_LE: &str = "commit_latency_le:";
/// See [`COMMIT_LATENCY_LE`].
pub const ATTEMPTS: &str = "attempts:";

/// Adds `delta` to count `name`, in the caller's transaction.
pub(super) async fn add(conn: &mut AnyConnection, name: &str, delta: i64) -> Result<()> {
    if delta == 0 {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO store_counts (name, n) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET n = store_counts.n + $2",
    )
    .bind(name)
    .bind(delta)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every count, by name: one small table, read once per scrape.
pub async fn all(pool: &Pool) -> Result<Kept> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, n FROM store_counts").fetch_all(pool).await.map_err(decoding(T))?;
    Ok(Kept(rows.into_iter().map(|(name, n)| (name, non_negative(n))).collect()))
}

/// The counts as read by [`all`].
#[derive(Debug, Clone, Default)]
pub struct Kept(std::collections::BTreeMap<String, u64>);

impl Kept {
    /// Count `name` (0 before anything was counted).
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Every count whose name starts with `prefix`, by name, the prefix cut off.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, u64)> + 'a {
        self.0.range(prefix.to_string()..).map_while(move |(name, n)| Some((name.strip_prefix(prefix)?, *n)))
    }
}

/// A count below zero is a store edited by hand; it reads as zero rather than failing the scrape.
fn non_negative(n: i64) -> u64 {
    n.max(0) as u64
}
