//! `batches`: every verified batch, with the state root computed from it.

use alloy::primitives::B256;
use sqlx::{AnyConnection, Row};

use super::{Pool, Result, fixed, now, parse_u256};
use crate::ingest::Batch;
use crate::settle::CommittedFigures;

/// A stored batch's header and the figures the submitter commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    /// Epoch.
    pub epoch: u64,
    /// Batch digest.
    pub digest: B256,
    /// The state root computed from it.
    pub state_root: B256,
    /// The batch's timestamp.
    pub timestamp: u64,
    /// The reserve figures it certifies, as committed on chain.
    pub reserve: ReserveFigures,
}

/// The reserve figures a state root attests on chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReserveFigures {
    /// MYCO outstanding (18 decimals).
    pub total_supply: alloy::primitives::U256,
    /// Reserve value in USD (WAD).
    pub total_reserve: alloy::primitives::U256,
    /// Outflow pressure (WAD).
    pub flow_pressure: alloy::primitives::U256,
}

/// Records a verified batch, its state root and the reserve figures committed with it.
pub async fn insert(conn: &mut AnyConnection, batch: &Batch, state_root: B256, r: &CommittedFigures) -> Result<()> {
    sqlx::query(
        "INSERT INTO batches (epoch, digest, parent, timestamp, signers, state_root, total_supply, total_reserve,
                              flow_pressure, raw, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(batch.epoch as i64)
    .bind(batch.digest.as_slice())
    .bind(batch.parent.as_slice())
    .bind(batch.state.timestamp as i64)
    .bind(batch.signers as i64)
    .bind(state_root.as_slice())
    .bind(r.total_supply.to_string())
    .bind(r.total_reserve.to_string())
    .bind(r.flow_pressure.to_string())
    .bind(&batch.raw)
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

/// The last accepted epoch and its digest, where the verifier resumes.
pub async fn last(pool: &Pool) -> Result<Option<(u64, B256)>> {
    let row = sqlx::query("SELECT epoch, digest FROM batches ORDER BY epoch DESC LIMIT 1").fetch_optional(pool).await?;
    row.map(|r| Ok((r.get::<i64, _>(0) as u64, B256::from(fixed::<32>("batches", "digest", r.get(1))?)))).transpose()
}

/// The digest and raw bytes of `epoch`'s accepted batch.
pub async fn raw(pool: &Pool, epoch: u64) -> Result<Option<(B256, Vec<u8>)>> {
    let row =
        sqlx::query("SELECT digest, raw FROM batches WHERE epoch = $1").bind(epoch as i64).fetch_optional(pool).await?;
    row.map(|r| Ok((B256::from(fixed::<32>("batches", "digest", r.get(0))?), r.get(1)))).transpose()
}

/// The batch of `epoch`, if accepted.
pub async fn get(pool: &Pool, epoch: u64) -> Result<Option<StoredBatch>> {
    let row = sqlx::query(
        "SELECT epoch, digest, state_root, timestamp, total_supply, total_reserve, flow_pressure
         FROM batches WHERE epoch = $1",
    )
    .bind(epoch as i64)
    .fetch_optional(pool)
    .await?;
    row.map(|r| decode(&r)).transpose()
}

/// Every accepted batch, in epoch order.
pub async fn all(pool: &Pool) -> Result<Vec<StoredBatch>> {
    let rows = sqlx::query(
        "SELECT epoch, digest, state_root, timestamp, total_supply, total_reserve, flow_pressure
         FROM batches ORDER BY epoch",
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode).collect()
}

/// Accepted batches whose root has not been committed yet, in epoch order.
pub async fn uncommitted(pool: &Pool) -> Result<Vec<StoredBatch>> {
    let rows = sqlx::query(
        "SELECT b.epoch, b.digest, b.state_root, b.timestamp, b.total_supply, b.total_reserve, b.flow_pressure
         FROM batches b LEFT JOIN commitments c ON c.epoch = b.epoch
         WHERE c.epoch IS NULL ORDER BY b.epoch",
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode).collect()
}

fn decode(r: &sqlx::any::AnyRow) -> Result<StoredBatch> {
    const T: &str = "batches";
    Ok(StoredBatch {
        epoch: r.get::<i64, _>(0) as u64,
        digest: B256::from(fixed::<32>(T, "digest", r.get(1))?),
        state_root: B256::from(fixed::<32>(T, "state_root", r.get(2))?),
        timestamp: r.get::<i64, _>(3) as u64,
        reserve: ReserveFigures {
            total_supply: parse_u256(T, "total_supply", r.get(4))?,
            total_reserve: parse_u256(T, "total_reserve", r.get(5))?,
            flow_pressure: parse_u256(T, "flow_pressure", r.get(6))?,
        },
    })
}
