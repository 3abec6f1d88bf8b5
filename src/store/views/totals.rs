//! The figures `/metrics` publishes that the store knows.

use alloy::primitives::U256;

use crate::store::columns::{Unsigned, decoding};
use crate::store::counts;
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
    /// Bytes the quarantine holds, as charged against its budget.
    pub quarantine_bytes: u64,
    /// What the quarantine's total bound cost: inputs evicted or not kept.
    pub quarantine_dropped: crate::store::quarantine::DroppedTotals,
    /// Attestations of a commitment other than ours, on record.
    pub attestation_disagreements: u64,
    /// Epochs that passed the conservation audit.
    pub conservation_audits: u64,
    /// Conservation violations on record (the relayer refuses to run while there is one).
    pub conservation_violations: u64,
    /// Commitments the guardian cancelled whose cancellation stands.
    pub cancelled_commitments: u64,
    /// Unpaid claims of our commitments that a standing cancellation stops from paying.
    pub cancelled_claims: u64,
    /// Whether deposits, and withdrawals, are paused now (by the escrow's events and the chain's time).
    pub escrow_paused: (bool, bool),
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

/// The commit latency histogram, as the store keeps it (one row per bucket, however many epochs there are).
fn commit_latency(kept: &counts::Kept) -> Histogram {
    let buckets =
        LATENCY_BUCKETS.iter().map(|b| (*b, kept.get(&format!("{}{b}", counts::COMMIT_LATENCY_LE)))).collect();
    Histogram {
        buckets,
        count: kept.get(counts::COMMIT_LATENCY_COUNT),
        sum: i64::try_from(kept.get(counts::COMMIT_LATENCY_SUM)).unwrap_or(i64::MAX),
    }
}

/// Transaction attempts by (purpose, status), as the store keeps them.
fn attempts(kept: &counts::Kept) -> Vec<(String, String, u64)> {
    kept.with_prefix(counts::ATTEMPTS)
        .filter(|(_, n)| *n > 0)
        .filter_map(|(name, n)| name.split_once(':').map(|(p, s)| (p.to_string(), s.to_string(), n)))
        .collect()
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
    // Final is the rest of the commitments: those not final yet are few, and indexed by `final_at`.
    let not_final: Unsigned =
        sqlx::query_scalar("SELECT COUNT(*) FROM commitments WHERE final_at IS NULL OR final_at > $1")
            .bind(chain_now)
            .fetch_one(pool)
            .await
            .map_err(decoding("commitments"))?;
    let kept = counts::all(pool).await?;
    let epochs_committed = kept.get(counts::COMMITMENTS);
    Ok(Totals {
        batches_ingested: kept.get(counts::BATCHES),
        rejected_by_reason: crate::store::quarantine::rejected_by_reason(pool).await?,
        last_ingested_epoch: count("SELECT COALESCE(MAX(epoch), 0) FROM batches").await?,
        epochs_committed,
        last_committed_epoch: count("SELECT COALESCE(MAX(epoch), 0) FROM commitments").await?,
        epochs_finalized: epochs_committed.saturating_sub(not_final.0),
        commit_latency: commit_latency(&kept),
        attempts: attempts(&kept),
        gas_used: kept.get(counts::GAS_MINED),
        reorgs: count("SELECT COUNT(*) FROM reorgs").await?,
        deposits: escrow(Kind::Deposits).await?,
        withdrawals: escrow(Kind::Withdrawals).await?,
        pending_withdrawals: kept.get(counts::CLAIMS_UNPAID),
        open_mismatches: grouped(
            "SELECT kind, COUNT(*) FROM mismatches WHERE resolved_at IS NULL GROUP BY kind ORDER BY kind",
        )
        .await?,
        watcher_next_block: crate::store::escrow::cursor(pool).await?,
        equivocations: count("SELECT COUNT(*) FROM equivocations").await?,
        skipped_net_orders: crate::store::curve::skips_by_reason(pool).await?,
        rejected_repeats: crate::store::quarantine::repeats(pool).await?,
        quarantine_bytes: crate::store::quarantine::kept_bytes(pool).await?,
        quarantine_dropped: crate::store::quarantine::dropped_totals(pool).await?,
        attestation_disagreements: count("SELECT COUNT(*) FROM attestation_disagreements").await?,
        conservation_audits: kept.get(counts::CONSERVATION_AUDITS),
        conservation_violations: count("SELECT COUNT(*) FROM conservation_violations").await?,
        cancelled_commitments: crate::store::escrow::standing_cancellations(pool).await?.len() as u64,
        cancelled_claims: super::withdrawals::cancelled_claims(pool).await?,
        escrow_paused: crate::store::escrow::paused(pool, chain_now).await?,
    })
}
