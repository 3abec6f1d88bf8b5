//! The figures `/metrics` publishes that the store knows.

use alloy::primitives::U256;
use sqlx::FromRow;

use crate::store::columns::{Unsigned, decoding};
use crate::store::escrow_totals::{self, Kind};
use crate::store::{Pool, Result};

/// Every figure `/metrics` publishes that the store knows. All are present (zero) from the start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Batches accepted.
    pub batches_ingested: u64,
    /// Rejected inputs by reason.
    pub rejected_by_reason: Vec<(String, u64)>,
    /// The highest accepted epoch.
    pub last_ingested_epoch: u64,
    /// Epochs committed.
    pub epochs_committed: u64,
    /// The highest committed epoch.
    pub last_committed_epoch: u64,
    /// Epochs whose challenge window has passed.
    pub epochs_finalized: u64,
    /// Seconds from accepting each committed epoch's batch to committing its root, as a histogram.
    pub commit_latency: Histogram,
    /// Transaction attempts by (purpose, status).
    pub attempts: Vec<(String, String, u64)>,
    /// Gas used by mined transactions.
    pub gas_used: u64,
    /// Reorgs the watcher rewound over.
    pub reorgs: u64,
    /// Escrow deposits and their USDC.
    pub deposits: (u64, U256),
    /// Escrow withdrawals and their USDC.
    pub withdrawals: (u64, U256),
    /// Committed claims not yet paid.
    pub pending_withdrawals: u64,
    /// Open mismatches by kind.
    pub open_mismatches: Vec<(String, u64)>,
    /// The watcher's next block.
    pub watcher_next_block: Option<u64>,
    /// Whether an equivocation is on record (the relayer refuses to run).
    pub equivocations: u64,
    /// Net order legs left out, by reason code.
    pub skipped_net_orders: Vec<(String, u64)>,
    /// Rejected inputs counted rather than kept (more of a kind already kept for that source and epoch).
    pub rejected_repeats: u64,
    /// Attestations of a commitment other than ours, on record.
    pub attestation_disagreements: u64,
    /// Epochs that passed the conservation audit.
    pub conservation_audits: u64,
    /// Conservation violations on record (the relayer refuses to run while there is one).
    pub conservation_violations: u64,
}

/// Bucket bounds (seconds) of the ingest → commit latency histogram.
pub const LATENCY_BUCKETS: [i64; 10] = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];

/// A histogram counted by the database: per bound, how many observations are at most it; and all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// `(bound, observations ≤ bound)`, for each of [`LATENCY_BUCKETS`].
    pub buckets: Vec<(i64, u64)>,
    /// Observations.
    pub count: u64,
    /// Their sum.
    pub sum: i64,
}

/// The commit latency histogram, counted in SQL (one row, however many epochs there are).
async fn commit_latency(pool: &Pool) -> Result<Histogram> {
    let latency = "c.committed_at - b.received_at";
    let buckets: Vec<String> = LATENCY_BUCKETS
        .iter()
        .map(|bound| format!("CAST(COALESCE(SUM(CASE WHEN {latency} <= {bound} THEN 1 ELSE 0 END), 0) AS BIGINT)"))
        .collect();
    let sql = format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM({latency}), 0) AS BIGINT), {}
         FROM commitments c JOIN batches b ON b.epoch = c.epoch",
        buckets.join(", ")
    );
    // Only constants are formatted into the statement.
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await?;
    let column = |i: usize| -> Result<i64> {
        use sqlx::Row;
        row.try_get::<i64, _>(i).map_err(decoding("commitments"))
    };
    let mut counts = Vec::with_capacity(LATENCY_BUCKETS.len());
    for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
        counts.push((*bound, column(2 + i)?.max(0) as u64));
    }
    Ok(Histogram { buckets: counts, count: column(0)?.max(0) as u64, sum: column(1)? })
}

/// Reads [`Totals`]; a root is final once the chain's time (`chain_now`) reaches its `final_at`.
pub async fn totals(pool: &Pool, chain_now: i64) -> Result<Totals> {
    let count = |sql: &'static str| async move {
        let n: Unsigned = sqlx::query_scalar(sql).fetch_one(pool).await.map_err(decoding("totals"))?;
        Result::<u64>::Ok(n.0)
    };
    let grouped = |sql: &'static str| async move {
        let rows: Vec<(String, Unsigned)> = sqlx::query_as(sql).fetch_all(pool).await.map_err(decoding("totals"))?;
        Result::<Vec<(String, u64)>>::Ok(rows.into_iter().map(|(k, n)| (k, n.0)).collect())
    };
    let escrow = |kind| async move {
        let t = escrow_totals::get(pool, kind).await?;
        Result::<(u64, U256)>::Ok((t.events, t.amount))
    };
    #[derive(FromRow)]
    struct Attempts {
        purpose: String,
        status: String,
        n: Unsigned,
    }
    let attempts: Vec<Attempts> =
        sqlx::query_as("SELECT purpose, status, COUNT(*) AS n FROM tx_attempts GROUP BY purpose, status ORDER BY 1, 2")
            .fetch_all(pool)
            .await
            .map_err(decoding("tx_attempts"))?;
    let finalized: Unsigned = sqlx::query_scalar("SELECT COUNT(*) FROM commitments WHERE final_at <= $1")
        .bind(chain_now)
        .fetch_one(pool)
        .await
        .map_err(decoding("commitments"))?;
    let gas: Option<Unsigned> =
        sqlx::query_scalar("SELECT CAST(SUM(gas_used) AS BIGINT) FROM tx_attempts WHERE status = 'mined'")
            .fetch_one(pool)
            .await
            .map_err(decoding("tx_attempts"))?;
    Ok(Totals {
        batches_ingested: count("SELECT COUNT(*) FROM batches").await?,
        rejected_by_reason: grouped("SELECT reason, COUNT(*) FROM quarantine GROUP BY reason ORDER BY reason").await?,
        last_ingested_epoch: count("SELECT COALESCE(MAX(epoch), 0) FROM batches").await?,
        epochs_committed: count("SELECT COUNT(*) FROM commitments").await?,
        last_committed_epoch: count("SELECT COALESCE(MAX(epoch), 0) FROM commitments").await?,
        epochs_finalized: finalized.0,
        commit_latency: commit_latency(pool).await?,
        attempts: attempts.into_iter().map(|a| (a.purpose, a.status, a.n.0)).collect(),
        gas_used: gas.unwrap_or_default().0,
        reorgs: count("SELECT COUNT(*) FROM reorgs").await?,
        deposits: escrow(Kind::Deposits).await?,
        withdrawals: escrow(Kind::Withdrawals).await?,
        pending_withdrawals: count(
            "SELECT COUNT(*) FROM claims k LEFT JOIN escrow_withdrawals w ON w.claim_id = k.claim_id
             WHERE w.claim_id IS NULL",
        )
        .await?,
        open_mismatches: grouped(
            "SELECT kind, COUNT(*) FROM mismatches WHERE resolved_at IS NULL GROUP BY kind ORDER BY kind",
        )
        .await?,
        watcher_next_block: crate::store::escrow::cursor(pool).await?,
        equivocations: count("SELECT COUNT(*) FROM equivocations").await?,
        skipped_net_orders: crate::store::curve::skips_by_reason(pool).await?,
        rejected_repeats: crate::store::quarantine::repeats(pool).await?,
        attestation_disagreements: count("SELECT COUNT(*) FROM attestation_disagreements").await?,
        conservation_audits: count("SELECT COUNT(*) FROM conservation_audits").await?,
        conservation_violations: count("SELECT COUNT(*) FROM conservation_violations").await?,
    })
}
