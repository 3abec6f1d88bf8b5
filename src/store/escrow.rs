//! `escrow_deposits`, `escrow_withdrawals` and `watcher_cursor`: the escrow's events as of the canonical chain,
//! and where the watcher resumes. A block range's events and the cursor move in one transaction.

use alloy::primitives::{Address, B256, U256};
use sqlx::Row;

use super::{Pool, Result, fixed, parse_u256};

/// Where an event was emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventOrigin {
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Index of the log in the block.
    pub log_index: u64,
}

/// A `Deposited` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    /// The escrow's deposit id.
    pub deposit_id: u64,
    /// Who paid.
    pub depositor: Address,
    /// The off-chain account to credit.
    pub recipient: B256,
    /// USDC amount (6 decimals).
    pub amount: U256,
    /// Where it was emitted.
    pub origin: EventOrigin,
}

/// A `Withdrawn` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    /// The claim paid.
    pub claim_id: U256,
    /// Who received the USDC.
    pub recipient: Address,
    /// The off-chain account debited.
    pub account: B256,
    /// The claim's epoch.
    pub epoch: u64,
    /// MYCO redeemed.
    pub myco_amount: U256,
    /// USDC paid.
    pub usdc_amount: U256,
    /// Where it was emitted.
    pub origin: EventOrigin,
}

/// Stores the events of a block range and moves the cursor to `next_block`, atomically. Re-applying the same
/// range is harmless.
pub async fn apply(pool: &Pool, deposits: &[Deposit], withdrawals: &[Withdrawal], next_block: u64) -> Result<()> {
    let mut tx = pool.begin().await?;
    for d in deposits {
        sqlx::query(
            "INSERT INTO escrow_deposits (deposit_id, depositor, recipient, amount, block_number, block_hash, tx_hash,
                                          log_index)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (deposit_id) DO NOTHING",
        )
        .bind(d.deposit_id as i64)
        .bind(d.depositor.as_slice())
        .bind(d.recipient.as_slice())
        .bind(d.amount.to_string())
        .bind(d.origin.block_number as i64)
        .bind(d.origin.block_hash.as_slice())
        .bind(d.origin.tx_hash.as_slice())
        .bind(d.origin.log_index as i64)
        .execute(&mut *tx)
        .await?;
    }
    for w in withdrawals {
        sqlx::query(
            "INSERT INTO escrow_withdrawals (claim_id, recipient, account, epoch, myco_amount, usdc_amount,
                                             block_number, block_hash, tx_hash, log_index)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (claim_id) DO NOTHING",
        )
        .bind(w.claim_id.to_string())
        .bind(w.recipient.as_slice())
        .bind(w.account.as_slice())
        .bind(w.epoch as i64)
        .bind(w.myco_amount.to_string())
        .bind(w.usdc_amount.to_string())
        .bind(w.origin.block_number as i64)
        .bind(w.origin.block_hash.as_slice())
        .bind(w.origin.tx_hash.as_slice())
        .bind(w.origin.log_index as i64)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO watcher_cursor (id, next_block) VALUES (1, ?)
         ON CONFLICT (id) DO UPDATE SET next_block = excluded.next_block",
    )
    .bind(next_block as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The next block the watcher reads, if it has run before.
pub async fn cursor(pool: &Pool) -> Result<Option<u64>> {
    let next: Option<i64> =
        sqlx::query_scalar("SELECT next_block FROM watcher_cursor WHERE id = 1").fetch_optional(pool).await?;
    Ok(next.map(|n| n as u64))
}

/// Every stored deposit, by id.
pub async fn deposits(pool: &Pool) -> Result<Vec<Deposit>> {
    const T: &str = "escrow_deposits";
    let rows = sqlx::query(
        "SELECT deposit_id, depositor, recipient, amount, block_number, block_hash, tx_hash, log_index
         FROM escrow_deposits ORDER BY deposit_id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Deposit {
                deposit_id: r.get::<i64, _>(0) as u64,
                depositor: Address::from(fixed::<20>(T, "depositor", r.get(1))?),
                recipient: B256::from(fixed::<32>(T, "recipient", r.get(2))?),
                amount: parse_u256(T, "amount", r.get(3))?,
                origin: origin(T, r, 4)?,
            })
        })
        .collect()
}

/// Every stored withdrawal, by block.
pub async fn withdrawals(pool: &Pool) -> Result<Vec<Withdrawal>> {
    const T: &str = "escrow_withdrawals";
    let rows = sqlx::query(
        "SELECT claim_id, recipient, account, epoch, myco_amount, usdc_amount, block_number, block_hash, tx_hash,
                log_index
         FROM escrow_withdrawals ORDER BY block_number, log_index",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Withdrawal {
                claim_id: parse_u256(T, "claim_id", r.get(0))?,
                recipient: Address::from(fixed::<20>(T, "recipient", r.get(1))?),
                account: B256::from(fixed::<32>(T, "account", r.get(2))?),
                epoch: r.get::<i64, _>(3) as u64,
                myco_amount: parse_u256(T, "myco_amount", r.get(4))?,
                usdc_amount: parse_u256(T, "usdc_amount", r.get(5))?,
                origin: origin(T, r, 6)?,
            })
        })
        .collect()
}

fn origin(table: &'static str, r: &sqlx::sqlite::SqliteRow, at: usize) -> Result<EventOrigin> {
    Ok(EventOrigin {
        block_number: r.get::<i64, _>(at) as u64,
        block_hash: B256::from(fixed::<32>(table, "block_hash", r.get(at + 1))?),
        tx_hash: B256::from(fixed::<32>(table, "tx_hash", r.get(at + 2))?),
        log_index: r.get::<i64, _>(at + 3) as u64,
    })
}
