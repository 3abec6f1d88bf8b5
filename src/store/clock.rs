//! `chain_clock`: the chain as the relayer last saw it. Finality ("past the challenge window") is judged against
//! the chain head's timestamp, never the relayer's own clock, and every reader (`status`, the page, `/metrics`)
//! reads this one row, so they agree.

use sqlx::FromRow;

use super::columns::{Unsigned, decoding};
use super::{Pool, Result, now};

/// The chain at one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    /// The head block.
    pub head_block: u64,
    /// Its timestamp (seconds).
    pub head_time: i64,
    /// The node's finalized block, if it reports one.
    pub finalized_block: Option<u64>,
    /// When the relayer observed it (its own clock, seconds), to tell how stale it is.
    pub observed_at: i64,
}

/// Records an observation of the head (`observed_at` is now).
pub async fn observe(pool: &Pool, head_block: u64, head_time: u64, finalized_block: Option<u64>) -> Result<()> {
    sqlx::query(
        "INSERT INTO chain_clock (id, head_block, head_time, finalized_block, observed_at) VALUES (1, $1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET head_block = excluded.head_block, head_time = excluded.head_time,
             finalized_block = excluded.finalized_block, observed_at = excluded.observed_at",
    )
    .bind(head_block as i64)
    .bind(head_time as i64)
    .bind(finalized_block.map(|b| b as i64))
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

/// The last observation, if any.
pub async fn get(pool: &Pool) -> Result<Option<Clock>> {
    #[derive(FromRow)]
    struct Row {
        head_block: Unsigned,
        head_time: i64,
        finalized_block: Option<Unsigned>,
        observed_at: i64,
    }
    let row: Option<Row> =
        sqlx::query_as("SELECT head_block, head_time, finalized_block, observed_at FROM chain_clock WHERE id = 1")
            .fetch_optional(pool)
            .await
            .map_err(decoding("chain_clock"))?;
    Ok(row.map(|r| Clock {
        head_block: r.head_block.0,
        head_time: r.head_time,
        finalized_block: r.finalized_block.map(|b| b.0),
        observed_at: r.observed_at,
    }))
}

/// The chain's time as last seen (0 before the first observation: nothing is final yet).
pub async fn chain_time(pool: &Pool) -> Result<i64> {
    Ok(get(pool).await?.map_or(0, |c| c.head_time))
}
