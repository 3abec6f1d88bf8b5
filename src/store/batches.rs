//! `batches`: every verified batch, with the state root computed from it.

use alloy::primitives::B256;
use sqlx::{AnyConnection, FromRow};

use super::columns::{Decimal, Hash, Unsigned, decoding};
use super::{Pool, Result, now};
use crate::ids::Epoch;
use crate::ingest::Batch;
use crate::settle::CommittedFigures;

const T: &str = "batches";

/// A stored batch's header and the figures the submitter commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    /// Epoch.
    pub epoch: Epoch,
    /// Batch digest.
    pub digest: B256,
    /// The state root computed from it.
    pub state_root: B256,
    /// The batch's timestamp.
    pub timestamp: u64,
    /// The reserve figures it certifies, as committed on chain.
    pub reserve: CommittedFigures,
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

/// A row as stored.
#[derive(FromRow)]
struct Row {
    epoch: Epoch,
    digest: Hash,
    state_root: Hash,
    timestamp: Unsigned,
    total_supply: Decimal,
    total_reserve: Decimal,
    flow_pressure: Decimal,
}

impl From<Row> for StoredBatch {
    fn from(r: Row) -> Self {
        Self {
            epoch: r.epoch,
            digest: r.digest.0,
            state_root: r.state_root.0,
            timestamp: r.timestamp.0,
            reserve: CommittedFigures {
                total_supply: r.total_supply.0,
                total_reserve: r.total_reserve.0,
                flow_pressure: r.flow_pressure.0,
            },
        }
    }
}

/// The row columns of `batches b`, followed by a query's own tail.
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT b.epoch, b.digest, b.state_root, b.timestamp, b.total_supply, b.total_reserve, b.flow_pressure
             FROM batches b ",
            $tail
        )
    };
}

async fn stored(query: &'static str, pool: &Pool) -> Result<Vec<StoredBatch>> {
    let rows = sqlx::query_as::<_, Row>(query).fetch_all(pool).await.map_err(decoding(T))?;
    Ok(rows.into_iter().map(StoredBatch::from).collect())
}

/// The last accepted epoch and its digest, where the verifier resumes.
pub async fn last(pool: &Pool) -> Result<Option<(Epoch, B256)>> {
    let row: Option<(Epoch, Hash)> = sqlx::query_as("SELECT epoch, digest FROM batches ORDER BY epoch DESC LIMIT 1")
        .fetch_optional(pool)
        .await
        .map_err(decoding(T))?;
    Ok(row.map(|(epoch, digest)| (epoch, digest.0)))
}

/// The digest and raw bytes of `epoch`'s accepted batch.
pub async fn raw(pool: &Pool, epoch: Epoch) -> Result<Option<(B256, Vec<u8>)>> {
    let row: Option<(Hash, Vec<u8>)> = sqlx::query_as("SELECT digest, raw FROM batches WHERE epoch = $1")
        .bind(epoch)
        .fetch_optional(pool)
        .await
        .map_err(decoding(T))?;
    Ok(row.map(|(digest, raw)| (digest.0, raw)))
}

/// The batch of `epoch`, if accepted.
pub async fn get(pool: &Pool, epoch: Epoch) -> Result<Option<StoredBatch>> {
    let row = sqlx::query_as::<_, Row>(select!("WHERE b.epoch = $1"))
        .bind(epoch)
        .fetch_optional(pool)
        .await
        .map_err(decoding(T))?;
    Ok(row.map(StoredBatch::from))
}

/// Every accepted batch, in epoch order.
pub async fn all(pool: &Pool) -> Result<Vec<StoredBatch>> {
    stored(select!("ORDER BY b.epoch"), pool).await
}

/// Accepted batches this attester has not signed yet, in epoch order.
pub async fn unattested(pool: &Pool) -> Result<Vec<StoredBatch>> {
    stored(select!("LEFT JOIN attestations a ON a.epoch = b.epoch WHERE a.epoch IS NULL ORDER BY b.epoch"), pool).await
}

/// Accepted batches whose root has not been committed yet, in epoch order.
pub async fn uncommitted(pool: &Pool) -> Result<Vec<StoredBatch>> {
    stored(select!("LEFT JOIN commitments c ON c.epoch = b.epoch WHERE c.epoch IS NULL ORDER BY b.epoch"), pool).await
}

/// Accepted batches the conservation audit has not judged yet (neither balanced nor violating), in epoch order.
pub async fn unaudited(pool: &Pool) -> Result<Vec<StoredBatch>> {
    stored(
        select!(
            "LEFT JOIN conservation_audits a ON a.epoch = b.epoch
             LEFT JOIN conservation_violations v ON v.epoch = b.epoch
             WHERE a.epoch IS NULL AND v.epoch IS NULL ORDER BY b.epoch"
        ),
        pool,
    )
    .await
}
