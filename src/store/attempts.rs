//! `tx_attempts`: every transaction the relayer sent or tried to send, with fees and outcome. The store's side
//! of the transaction manager's [`AttemptLog`].

use sqlx::FromRow;

use super::columns::{Decimal, Hash, Unsigned, decoding};
use super::{Pool, Result, now};
use crate::chain::attempts::{Attempt, AttemptLog, AttemptStatus, LogError, LogFuture, NewAttempt};
use crate::ids::{Epoch, Purpose};

const T: &str = "tx_attempts";

super::columns::text_enum!(AttemptStatus);

/// A row as stored: fees as decimal text, numbers as non-negative BIGINTs.
#[derive(FromRow)]
struct Row {
    id: i64,
    purpose: Purpose,
    epoch: Epoch,
    nonce: Unsigned,
    tx_hash: Option<Hash>,
    max_fee_per_gas: Decimal,
    max_priority_fee_per_gas: Decimal,
    gas_limit: Unsigned,
    sent_block: Unsigned,
    status: AttemptStatus,
    error: Option<String>,
    block_number: Option<Unsigned>,
    gas_used: Option<Unsigned>,
}

impl Row {
    fn attempt(self) -> Result<Attempt> {
        let fee = |column: &str, v: Decimal| {
            u128::try_from(v.0).map_err(|e| super::Error::Corrupt {
                table: T,
                column: column.into(),
                reason: e.to_string(),
            })
        };
        Ok(Attempt {
            id: self.id,
            purpose: self.purpose,
            epoch: self.epoch,
            nonce: self.nonce.0,
            tx_hash: self.tx_hash.map(|h| h.0),
            max_fee_per_gas: fee("max_fee_per_gas", self.max_fee_per_gas)?,
            max_priority_fee_per_gas: fee("max_priority_fee_per_gas", self.max_priority_fee_per_gas)?,
            gas_limit: self.gas_limit.0,
            sent_block: self.sent_block.0,
            status: self.status,
            error: self.error,
            block_number: self.block_number.map(|n| n.0),
            gas_used: self.gas_used.map(|n| n.0),
        })
    }
}

/// Records an attempt; returns its id.
pub async fn insert(pool: &Pool, a: &NewAttempt<'_>) -> Result<i64> {
    let at = now();
    let id = sqlx::query_scalar(
        "INSERT INTO tx_attempts (purpose, epoch, nonce, tx_hash, max_fee_per_gas, max_priority_fee_per_gas,
             gas_limit, sent_block, status, error, sent_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(a.purpose)
    .bind(a.epoch)
    .bind(a.nonce as i64)
    .bind(a.tx_hash.as_ref().map(|h| h.as_slice()))
    .bind(a.max_fee_per_gas.to_string())
    .bind(a.max_priority_fee_per_gas.to_string())
    .bind(a.gas_limit as i64)
    .bind(a.sent_block as i64)
    .bind(a.status)
    .bind(a.error)
    .bind(at)
    .bind(at)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// Marks attempt `id` mined (or reverted) in `block_number`, and every other open attempt with its purpose,
/// epoch and nonce replaced, in one transaction.
pub async fn settle(pool: &Pool, id: i64, status: AttemptStatus, block_number: u64, gas_used: u64) -> Result<()> {
    let mut tx = super::begin(pool).await?;
    let at = now();
    sqlx::query("UPDATE tx_attempts SET status = $1, block_number = $2, gas_used = $3, updated_at = $4 WHERE id = $5")
        .bind(status)
        .bind(block_number as i64)
        .bind(gas_used as i64)
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE tx_attempts SET status = 'replaced', updated_at = $1
         WHERE status = 'sent' AND id != $2
           AND (purpose, epoch, nonce) = (SELECT purpose, epoch, nonce FROM tx_attempts WHERE id = $3)",
    )
    .bind(at)
    .bind(id)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Marks every open attempt of `purpose`/`epoch` replaced: the chain settled the work some other way (another
/// of our transactions, or one sent before a restart that we no longer track).
pub async fn close(pool: &Pool, purpose: Purpose, epoch: Epoch) -> Result<()> {
    sqlx::query(
        "UPDATE tx_attempts SET status = 'replaced', updated_at = $1 WHERE status = 'sent' AND purpose = $2 AND epoch = $3",
    )
    .bind(now())
    .bind(purpose)
    .bind(epoch)
    .execute(pool)
    .await?;
    Ok(())
}

/// The attempt columns, followed by a query's own tail.
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, purpose, epoch, nonce, tx_hash, max_fee_per_gas, max_priority_fee_per_gas, gas_limit,
                    sent_block, status, error, block_number, gas_used FROM tx_attempts ",
            $tail
        )
    };
}

/// Open (sent, not yet mined) attempts of `purpose`/`epoch`, oldest first.
pub async fn open(pool: &Pool, purpose: Purpose, epoch: Epoch) -> Result<Vec<Attempt>> {
    let sql = select!("WHERE purpose = $1 AND epoch = $2 AND status = 'sent' ORDER BY id");
    let rows = sqlx::query_as::<_, Row>(sql).bind(purpose).bind(epoch).fetch_all(pool).await.map_err(decoding(T))?;
    rows.into_iter().map(Row::attempt).collect()
}

/// Every attempt, oldest first.
pub async fn all(pool: &Pool) -> Result<Vec<Attempt>> {
    let sql = select!("ORDER BY id");
    let rows = sqlx::query_as::<_, Row>(sql).fetch_all(pool).await.map_err(decoding(T))?;
    rows.into_iter().map(Row::attempt).collect()
}

/// The block at which the first attempt for `purpose`/`epoch` was sent: its transaction cannot be in an earlier
/// block, so a search of the chain for it can start there.
pub async fn first_sent_block(pool: &Pool, purpose: Purpose, epoch: Epoch) -> Result<Option<u64>> {
    let block: Option<i64> =
        sqlx::query_scalar("SELECT MIN(sent_block) FROM tx_attempts WHERE purpose = $1 AND epoch = $2")
            .bind(purpose)
            .bind(epoch)
            .fetch_one(pool)
            .await?;
    Ok(block.map(|b| b as u64))
}

fn log_error(e: super::Error) -> LogError {
    LogError { transient: e.is_transient(), source: Box::new(e) }
}

impl AttemptLog for Pool {
    fn open(&self, purpose: Purpose, epoch: Epoch) -> LogFuture<'_, Vec<Attempt>> {
        Box::pin(async move { open(self, purpose, epoch).await.map_err(log_error) })
    }

    fn record<'a>(&'a self, attempt: &'a NewAttempt<'a>) -> LogFuture<'a, i64> {
        Box::pin(async move { insert(self, attempt).await.map_err(log_error) })
    }

    fn settle(&self, id: i64, status: AttemptStatus, block: u64, gas_used: u64) -> LogFuture<'_, ()> {
        Box::pin(async move { settle(self, id, status, block, gas_used).await.map_err(log_error) })
    }

    fn close(&self, purpose: Purpose, epoch: Epoch) -> LogFuture<'_, ()> {
        Box::pin(async move { close(self, purpose, epoch).await.map_err(log_error) })
    }
}
