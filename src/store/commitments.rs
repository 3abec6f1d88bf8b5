//! `commitments`: state roots that landed on chain.

use alloy::primitives::B256;
use sqlx::FromRow;

use super::columns::{Hash, Unsigned, decoding};
use super::{Pool, Result, now};
use crate::ids::Epoch;

/// One committed epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitment {
    /// Epoch.
    pub epoch: Epoch,
    /// The root on chain.
    pub state_root: B256,
    /// Our commit transaction; `None` when the root was found already on chain (committed before a restart).
    pub tx_hash: Option<B256>,
    /// Block of the commit transaction.
    pub block_number: Option<u64>,
    /// Gas it used.
    pub gas_used: Option<u64>,
    /// When it becomes final in the chain's time (its block timestamp plus the challenge window, as the contract
    /// reports them); `None` until read from the chain.
    pub final_at: Option<i64>,
    /// When its claims start to pay (final plus the escrow's withdrawal delay), chain time; `None` until read.
    pub payable_at: Option<i64>,
    /// The attesters whose signatures we submitted with it (empty when it was found already on chain).
    pub attested_by: Vec<alloy::primitives::Address>,
}

/// A row as stored.
#[derive(FromRow)]
struct Row {
    epoch: Epoch,
    state_root: Hash,
    tx_hash: Option<Hash>,
    block_number: Option<Unsigned>,
    gas_used: Option<Unsigned>,
    final_at: Option<i64>,
    payable_at: Option<i64>,
    attested_by: String,
}

impl From<Row> for Commitment {
    fn from(r: Row) -> Self {
        Self {
            epoch: r.epoch,
            state_root: r.state_root.0,
            tx_hash: r.tx_hash.map(|h| h.0),
            block_number: r.block_number.map(|n| n.0),
            gas_used: r.gas_used.map(|n| n.0),
            final_at: r.final_at,
            payable_at: r.payable_at,
            // Written by `insert` from parsed addresses; anything else is skipped rather than failing a read.
            attested_by: r.attested_by.split(',').filter_map(|a| a.parse().ok()).collect(),
        }
    }
}

/// Records a commitment; recording an epoch again (it was recommitted after a reorg) keeps the latest.
pub async fn insert(pool: &Pool, c: &Commitment) -> Result<()> {
    sqlx::query(
        "INSERT INTO commitments (epoch, state_root, tx_hash, block_number, gas_used, committed_at, final_at,
                                  attested_by, payable_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (epoch) DO UPDATE SET state_root = excluded.state_root, tx_hash = excluded.tx_hash,
             block_number = excluded.block_number, gas_used = excluded.gas_used, committed_at = excluded.committed_at,
             final_at = excluded.final_at, attested_by = excluded.attested_by, payable_at = excluded.payable_at",
    )
    .bind(c.epoch)
    .bind(c.state_root.as_slice())
    .bind(c.tx_hash.as_ref().map(|h| h.as_slice()))
    .bind(c.block_number.map(|n| n as i64))
    .bind(c.gas_used.map(|n| n as i64))
    .bind(now())
    .bind(c.final_at)
    .bind(c.attested_by.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(","))
    .bind(c.payable_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records when `epoch`'s commitment becomes final and when its claims start to pay (chain time).
pub async fn set_final_at(pool: &Pool, epoch: Epoch, final_at: i64, payable_at: i64) -> Result<()> {
    sqlx::query("UPDATE commitments SET final_at = $1, payable_at = $2 WHERE epoch = $3")
        .bind(final_at)
        .bind(payable_at)
        .bind(epoch)
        .execute(pool)
        .await?;
    Ok(())
}

/// A committed epoch whose finality can still move, with its times as last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Waiting {
    /// The epoch.
    pub epoch: Epoch,
    /// When it becomes final, as last read (`None`: never read).
    pub final_at: Option<i64>,
    /// When its claims pay, as last read (`None`: never read).
    pub payable_at: Option<i64>,
}

/// Committed epochs not payable by `chain_now` (or whose times were never read), oldest first: the guardian may
/// stop the clock, which moves their finality (and so their payability) until their claims pay.
pub async fn not_final(pool: &Pool, chain_now: i64) -> Result<Vec<Waiting>> {
    sqlx::query_as(
        "SELECT epoch, final_at, payable_at FROM commitments
         WHERE final_at IS NULL OR payable_at IS NULL OR payable_at > $1 ORDER BY epoch",
    )
    .bind(chain_now)
    .fetch_all(pool)
    .await
    .map_err(decoding("commitments"))
}

/// When `epoch`'s commitment becomes final (chain time), if it is committed and that was read.
pub async fn final_at(pool: &Pool, epoch: Epoch) -> Result<Option<i64>> {
    let at: Option<Option<i64>> = sqlx::query_scalar("SELECT final_at FROM commitments WHERE epoch = $1")
        .bind(epoch)
        .fetch_optional(pool)
        .await
        .map_err(decoding("commitments"))?;
    Ok(at.flatten())
}

/// The block of `epoch`'s commit transaction, when it is known.
pub async fn block_of(pool: &Pool, epoch: Epoch) -> Result<Option<u64>> {
    let block: Option<Option<Unsigned>> = sqlx::query_scalar("SELECT block_number FROM commitments WHERE epoch = $1")
        .bind(epoch)
        .fetch_optional(pool)
        .await
        .map_err(decoding("commitments"))?;
    Ok(block.flatten().map(|b| b.0))
}

/// The highest committed epoch.
pub async fn latest(pool: &Pool) -> Result<Option<Epoch>> {
    sqlx::query_scalar("SELECT MAX(epoch) FROM commitments").fetch_one(pool).await.map_err(decoding("commitments"))
}

/// Every commitment, in epoch order.
pub async fn all(pool: &Pool) -> Result<Vec<Commitment>> {
    let rows = sqlx::query_as::<_, Row>(
        "SELECT epoch, state_root, tx_hash, block_number, gas_used, final_at, payable_at, attested_by FROM commitments
         ORDER BY epoch",
    )
    .fetch_all(pool)
    .await
    .map_err(decoding("commitments"))?;
    Ok(rows.into_iter().map(Commitment::from).collect())
}

/// Forgets commitments above `latest`, the chain's latest epoch (a reorg took them out, or the guardian revoked
/// them); returns the epochs forgotten. Their batches become uncommitted again.
pub async fn forget_above(pool: &Pool, latest: Epoch) -> Result<Vec<Epoch>> {
    sqlx::query_scalar("DELETE FROM commitments WHERE epoch > $1 RETURNING epoch")
        .bind(latest)
        .fetch_all(pool)
        .await
        .map_err(decoding("commitments"))
}
