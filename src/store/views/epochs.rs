//! The epoch pipeline: each accepted batch with its commitment, claims, figures and net orders.

use alloy::primitives::{B256, U256};
use serde::Serialize;
use sqlx::FromRow;

use super::{Page, decimal};
use crate::store::columns::{Decimal, Hash, Unsigned, decoding};
use crate::store::{Pool, Result};

/// One epoch in the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpochView {
    /// Epoch.
    pub epoch: u64,
    /// Batch digest.
    pub digest: B256,
    /// State root.
    pub state_root: B256,
    /// When the batch was accepted (Unix seconds).
    pub received_at: i64,
    /// When its root was committed (Unix seconds), if it was.
    pub committed_at: Option<i64>,
    /// The commit transaction.
    pub commit_tx: Option<B256>,
    /// Claims in its root.
    pub claims: u64,
    /// When its root becomes final, in the chain's time (Unix seconds), once committed.
    pub final_at: Option<i64>,
    /// Certified MYCO supply (WAD) before the epoch's withdrawals.
    #[serde(with = "decimal")]
    pub total_supply: U256,
    /// Certified reserve value (WAD USD).
    #[serde(with = "decimal")]
    pub total_reserve: U256,
    /// The epoch's P-AMM rate (WAD), if computed.
    #[serde(serialize_with = "decimal::option")]
    pub pamm_rate: Option<U256>,
    /// What its net curve orders did: `executed`, `nothing`, `planned`, or none yet.
    pub curve: Option<String>,
}

#[derive(FromRow)]
struct Row {
    epoch: Unsigned,
    digest: Hash,
    state_root: Hash,
    received_at: i64,
    committed_at: Option<i64>,
    tx_hash: Option<Hash>,
    claims: Unsigned,
    total_supply: Decimal,
    total_reserve: Decimal,
    pamm_rate: Option<Decimal>,
    status: Option<String>,
    final_at: Option<i64>,
}

/// Epochs, newest first.
pub async fn epochs(pool: &Pool, page: Page) -> Result<Vec<EpochView>> {
    let (limit, offset) = page.bounds();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT b.epoch, b.digest, b.state_root, b.received_at, c.committed_at, c.tx_hash,
                (SELECT COUNT(*) FROM claims k WHERE k.epoch = b.epoch) AS claims, b.total_supply, b.total_reserve,
                o.pamm_rate, s.status, c.final_at
         FROM batches b
         LEFT JOIN commitments c ON c.epoch = b.epoch
         LEFT JOIN epoch_outputs o ON o.epoch = b.epoch
         LEFT JOIN curve_settlements s ON s.epoch = b.epoch
         ORDER BY b.epoch DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
    .map_err(decoding("batches"))?;
    Ok(rows
        .into_iter()
        .map(|r| EpochView {
            epoch: r.epoch.0,
            digest: r.digest.0,
            state_root: r.state_root.0,
            received_at: r.received_at,
            committed_at: r.committed_at,
            commit_tx: r.tx_hash.map(|h| h.0),
            claims: r.claims.0,
            total_supply: r.total_supply.0,
            total_reserve: r.total_reserve.0,
            pamm_rate: r.pamm_rate.map(|p| p.0),
            curve: r.status,
            final_at: r.final_at,
        })
        .collect())
}
