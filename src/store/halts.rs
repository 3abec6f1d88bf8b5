//! `halts`: why the relayer stopped, so `status`, `/ready` and the page can say it after the fact (and from
//! another process). A relayer that starts again clears the record; if the cause persists it halts, and records
//! it, again.

use sqlx::FromRow;

use super::columns::decoding;

use super::{Pool, Result, now};

/// A recorded halt.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Halt {
    /// Why.
    pub reason: String,
    /// When (Unix seconds).
    pub halted_at: i64,
}

/// Records a halt.
pub async fn record(pool: &Pool, reason: &str) -> Result<()> {
    sqlx::query("INSERT INTO halts (reason, halted_at) VALUES ($1, $2)").bind(reason).bind(now()).execute(pool).await?;
    Ok(())
}

/// Clears every open halt (a relayer is starting).
pub async fn clear(pool: &Pool) -> Result<()> {
    sqlx::query("UPDATE halts SET cleared_at = $1 WHERE cleared_at IS NULL").bind(now()).execute(pool).await?;
    Ok(())
}

/// The current halt, if the relayer is halted.
pub async fn current(pool: &Pool) -> Result<Option<Halt>> {
    sqlx::query_as("SELECT reason, halted_at FROM halts WHERE cleared_at IS NULL ORDER BY id DESC LIMIT 1")
        .fetch_optional(pool)
        .await
        .map_err(decoding("halts"))
}
