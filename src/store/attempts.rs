//! `tx_attempts`: every transaction the relayer sent or tried to send, with fees and outcome.

use alloy::primitives::{B256, U256};
use sqlx::Row;

use super::{Pool, Result, fixed, now, parse_u256};

/// One attempt's outcome so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// In the node's pool, not known to be mined.
    Sent,
    /// Mined successfully and confirmed.
    Mined,
    /// Another attempt with the same nonce was mined instead.
    Replaced,
    /// The node refused it (e.g. "replacement underpriced").
    Refused,
    /// Mined and reverted.
    Reverted,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::Mined => "mined",
            Status::Replaced => "replaced",
            Status::Refused => "refused",
            Status::Reverted => "reverted",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "sent" => Status::Sent,
            "mined" => Status::Mined,
            "replaced" => Status::Replaced,
            "refused" => Status::Refused,
            "reverted" => Status::Reverted,
            other => {
                return Err(super::Error::Corrupt {
                    table: "tx_attempts",
                    column: "status",
                    reason: format!("unknown status {other:?}"),
                });
            }
        })
    }
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Row id.
    pub id: i64,
    /// `commit` or `settle`.
    pub purpose: String,
    /// The epoch it serves.
    pub epoch: u64,
    /// Its nonce.
    pub nonce: u64,
    /// Its hash, if the node took it.
    pub tx_hash: Option<B256>,
    /// EIP-1559 fee cap.
    pub max_fee_per_gas: u128,
    /// EIP-1559 tip.
    pub max_priority_fee_per_gas: u128,
    /// Gas limit.
    pub gas_limit: u64,
    /// Block number when sent.
    pub sent_block: u64,
    /// Outcome so far.
    pub status: Status,
    /// Why it was refused or reverted.
    pub error: Option<String>,
    /// Block it was mined in.
    pub block_number: Option<u64>,
    /// Gas it used.
    pub gas_used: Option<u64>,
}

/// What a new attempt is.
#[derive(Debug, Clone, Copy)]
pub struct NewAttempt<'a> {
    /// `commit` or `settle`.
    pub purpose: &'a str,
    /// The epoch.
    pub epoch: u64,
    /// The nonce.
    pub nonce: u64,
    /// The hash, if the node took it.
    pub tx_hash: Option<B256>,
    /// Fee cap.
    pub max_fee_per_gas: u128,
    /// Tip.
    pub max_priority_fee_per_gas: u128,
    /// Gas limit.
    pub gas_limit: u64,
    /// Block number when sent.
    pub sent_block: u64,
    /// `Sent`, or `Refused` with `error`.
    pub status: Status,
    /// The node's reason for a refusal.
    pub error: Option<&'a str>,
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
    .bind(a.epoch as i64)
    .bind(a.nonce as i64)
    .bind(a.tx_hash.as_ref().map(|h| h.as_slice()))
    .bind(a.max_fee_per_gas.to_string())
    .bind(a.max_priority_fee_per_gas.to_string())
    .bind(a.gas_limit as i64)
    .bind(a.sent_block as i64)
    .bind(a.status.as_str())
    .bind(a.error)
    .bind(at)
    .bind(at)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// Marks attempt `id` mined (or reverted) in `block_number`, and every other open attempt with its purpose,
/// epoch and nonce replaced, in one transaction.
pub async fn settle(pool: &Pool, id: i64, status: Status, block_number: u64, gas_used: u64) -> Result<()> {
    let mut tx = super::begin(pool).await?;
    let at = now();
    sqlx::query("UPDATE tx_attempts SET status = $1, block_number = $2, gas_used = $3, updated_at = $4 WHERE id = $5")
        .bind(status.as_str())
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
pub async fn close(pool: &Pool, purpose: &str, epoch: u64) -> Result<()> {
    sqlx::query(
        "UPDATE tx_attempts SET status = 'replaced', updated_at = $1 WHERE status = 'sent' AND purpose = $2 AND epoch = $3",
    )
    .bind(now())
    .bind(purpose)
    .bind(epoch as i64)
    .execute(pool)
    .await?;
    Ok(())
}

/// Open (sent, not yet mined) attempts of `purpose`/`epoch`, oldest first.
pub async fn open(pool: &Pool, purpose: &str, epoch: u64) -> Result<Vec<Attempt>> {
    let rows = sqlx::query(concat!(select!(), "WHERE purpose = $1 AND epoch = $2 AND status = 'sent' ORDER BY id"))
        .bind(purpose)
        .bind(epoch as i64)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}

/// Every attempt, oldest first.
pub async fn all(pool: &Pool) -> Result<Vec<Attempt>> {
    let rows = sqlx::query(concat!(select!(), "ORDER BY id")).fetch_all(pool).await?;
    rows.iter().map(decode).collect()
}

macro_rules! select {
    () => {
        "SELECT id, purpose, epoch, nonce, tx_hash, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, sent_block,
             status, error, block_number, gas_used FROM tx_attempts "
    };
}
use select;

fn decode(r: &sqlx::any::AnyRow) -> Result<Attempt> {
    const T: &str = "tx_attempts";
    let fee = |column: &'static str, i: usize| -> Result<u128> {
        let v: U256 = parse_u256(T, column, r.get(i))?;
        u128::try_from(v).map_err(|e| super::Error::Corrupt { table: T, column, reason: e.to_string() })
    };
    Ok(Attempt {
        id: r.get(0),
        purpose: r.get(1),
        epoch: r.get::<i64, _>(2) as u64,
        nonce: r.get::<i64, _>(3) as u64,
        tx_hash: r.get::<Option<&[u8]>, _>(4).map(|b| fixed::<32>(T, "tx_hash", b).map(B256::from)).transpose()?,
        max_fee_per_gas: fee("max_fee_per_gas", 5)?,
        max_priority_fee_per_gas: fee("max_priority_fee_per_gas", 6)?,
        gas_limit: r.get::<i64, _>(7) as u64,
        sent_block: r.get::<i64, _>(8) as u64,
        status: Status::parse(r.get(9))?,
        error: r.get(10),
        block_number: r.get::<Option<i64>, _>(11).map(|n| n as u64),
        gas_used: r.get::<Option<i64>, _>(12).map(|n| n as u64),
    })
}

/// The block at which the first attempt for `purpose`/`epoch` was sent: its transaction cannot be in an earlier
/// block, so a search of the chain for it can start there.
pub async fn first_sent_block(pool: &Pool, purpose: &str, epoch: u64) -> Result<Option<u64>> {
    let block: Option<i64> =
        sqlx::query_scalar("SELECT MIN(sent_block) FROM tx_attempts WHERE purpose = $1 AND epoch = $2")
            .bind(purpose)
            .bind(epoch as i64)
            .fetch_one(pool)
            .await?;
    Ok(block.map(|b| b as u64))
}
