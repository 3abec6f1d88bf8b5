//! `commitments`: state roots that landed on chain.

use alloy::primitives::B256;
use sqlx::Row;

use super::{Pool, Result, fixed, now};

/// One committed epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitment {
    /// Epoch.
    pub epoch: u64,
    /// The root on chain.
    pub state_root: B256,
    /// Our commit transaction; `None` when the root was found already on chain (committed before a restart).
    pub tx_hash: Option<B256>,
    /// Block of the commit transaction.
    pub block_number: Option<u64>,
    /// Gas it used.
    pub gas_used: Option<u64>,
}

/// Records a commitment; recording an epoch again (it was recommitted after a reorg) keeps the latest.
pub async fn insert(pool: &Pool, c: &Commitment) -> Result<()> {
    sqlx::query(
        "INSERT INTO commitments (epoch, state_root, tx_hash, block_number, gas_used, committed_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (epoch) DO UPDATE SET state_root = excluded.state_root, tx_hash = excluded.tx_hash,
             block_number = excluded.block_number, gas_used = excluded.gas_used, committed_at = excluded.committed_at",
    )
    .bind(c.epoch as i64)
    .bind(c.state_root.as_slice())
    .bind(c.tx_hash.as_ref().map(|h| h.as_slice()))
    .bind(c.block_number.map(|n| n as i64))
    .bind(c.gas_used.map(|n| n as i64))
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

/// The highest committed epoch.
pub async fn latest(pool: &Pool) -> Result<Option<u64>> {
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(epoch) FROM commitments").fetch_one(pool).await?;
    Ok(max.map(|e| e as u64))
}

/// Every commitment, in epoch order.
pub async fn all(pool: &Pool) -> Result<Vec<Commitment>> {
    let rows = sqlx::query("SELECT epoch, state_root, tx_hash, block_number, gas_used FROM commitments ORDER BY epoch")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let tx: Option<&[u8]> = r.get(2);
            Ok(Commitment {
                epoch: r.get::<i64, _>(0) as u64,
                state_root: B256::from(fixed::<32>("commitments", "state_root", r.get(1))?),
                tx_hash: tx.map(|b| fixed::<32>("commitments", "tx_hash", b).map(B256::from)).transpose()?,
                block_number: r.get::<Option<i64>, _>(3).map(|n| n as u64),
                gas_used: r.get::<Option<i64>, _>(4).map(|n| n as u64),
            })
        })
        .collect()
}

/// Forgets commitments above `latest`, the chain's latest epoch (a reorg took them out, or the guardian revoked
/// them); returns the epochs forgotten. Their batches become uncommitted again.
pub async fn forget_above(pool: &Pool, latest: u64) -> Result<Vec<u64>> {
    let gone: Vec<i64> = sqlx::query_scalar("DELETE FROM commitments WHERE epoch > $1 RETURNING epoch")
        .bind(latest as i64)
        .fetch_all(pool)
        .await?;
    Ok(gone.into_iter().map(|e| e as u64).collect())
}
