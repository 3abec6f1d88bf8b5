//! `escrow_totals`: how many deposits and withdrawals the watcher holds and their USDC, maintained in the same
//! transaction that stores or rewinds the events. Amounts are `uint256`s kept as decimal text, which SQLite cannot
//! sum exactly; a maintained total costs one row update per range instead of reading every event per scrape.

use alloy::primitives::U256;
use sqlx::AnyConnection;

use super::columns::{Decimal, Unsigned, decoding};
use super::{Pool, Result};

/// Which events a total counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Deposited` events (USDC paid in).
    Deposits,
    /// `Withdrawn` events (USDC paid out).
    Withdrawals,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Deposits => "deposits",
            Kind::Withdrawals => "withdrawals",
        }
    }

    fn table(self) -> &'static str {
        match self {
            Kind::Deposits => "SELECT amount FROM escrow_deposits",
            Kind::Withdrawals => "SELECT usdc_amount FROM escrow_withdrawals",
        }
    }
}

/// A count of events and their USDC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Total {
    /// Events.
    pub events: u64,
    /// Their USDC (6 decimals).
    pub amount: U256,
}

async fn read(conn: &mut AnyConnection, kind: Kind) -> Result<Option<Total>> {
    let row: Option<(Unsigned, Decimal)> = sqlx::query_as("SELECT events, amount FROM escrow_totals WHERE kind = $1")
        .bind(kind.as_str())
        .fetch_optional(conn)
        .await
        .map_err(decoding("escrow_totals"))?;
    Ok(row.map(|(events, amount)| Total { events: events.0, amount: amount.0 }))
}

async fn write(conn: &mut AnyConnection, kind: Kind, total: Total) -> Result<()> {
    sqlx::query(
        "INSERT INTO escrow_totals (kind, events, amount) VALUES ($1, $2, $3)
         ON CONFLICT (kind) DO UPDATE SET events = excluded.events, amount = excluded.amount",
    )
    .bind(kind.as_str())
    .bind(total.events as i64)
    .bind(total.amount.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds events just stored (`added`) and removes events just deleted (`removed`), inside the caller's transaction
/// (after the rows changed).
pub(super) async fn apply(conn: &mut AnyConnection, kind: Kind, added: &[U256], removed: &[U256]) -> Result<()> {
    if added.is_empty() && removed.is_empty() {
        return Ok(());
    }
    let Some(mut total) = read(conn, kind).await? else {
        // No total yet: counting the rows, which already include this change, gives it.
        let total = recount(conn, kind).await?;
        return write(conn, kind, total).await;
    };
    // The events are in the same transaction, so the total never goes below zero; saturating keeps a hand-edited
    // store from panicking the watcher (the next recount repairs it).
    total.events = (total.events + added.len() as u64).saturating_sub(removed.len() as u64);
    total.amount = added.iter().fold(total.amount, |t, a| t.saturating_add(*a));
    total.amount = removed.iter().fold(total.amount, |t, a| t.saturating_sub(*a));
    write(conn, kind, total).await
}

/// The total, counted from the events themselves: once, for a store from before totals were kept (the events
/// already stored then), or when the row is missing.
async fn recount(conn: &mut AnyConnection, kind: Kind) -> Result<Total> {
    let amounts: Vec<Decimal> = sqlx::query_scalar(sqlx::AssertSqlSafe(kind.table()))
        .fetch_all(&mut *conn)
        .await
        .map_err(decoding("escrow_totals"))?;
    Ok(Total { events: amounts.len() as u64, amount: amounts.iter().fold(U256::ZERO, |t, a| t.saturating_add(a.0)) })
}

/// The totals of `kind` as stored (counted from the events the first time, and kept from then on).
pub async fn get(pool: &Pool, kind: Kind) -> Result<Total> {
    let stored = read(&mut *pool.acquire().await?, kind).await?;
    match stored {
        Some(total) => Ok(total),
        None => {
            let mut tx = super::begin(pool).await?;
            let total = recount(&mut tx, kind).await?;
            write(&mut tx, kind, total).await?;
            tx.commit().await?;
            Ok(total)
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256, U256};

    use super::*;
    use crate::store::escrow::{self, Deposit, EventOrigin, Range, Withdrawal};

    fn origin(block: u64, index: u64) -> EventOrigin {
        EventOrigin {
            block_number: block,
            block_hash: B256::with_last_byte(block as u8),
            tx_hash: B256::with_last_byte(index as u8),
            log_index: index,
        }
    }

    fn deposit(id: u64, amount: U256, block: u64) -> Deposit {
        Deposit { deposit_id: id, depositor: Address::ZERO, recipient: B256::ZERO, amount, origin: origin(block, id) }
    }

    #[tokio::test]
    async fn totals_follow_stored_replayed_and_rewound_events_exactly_past_u64() {
        let pool = crate::store::connect("sqlite::memory:").await.unwrap();
        let big = U256::MAX >> 1; // far past what an INTEGER column could sum
        let first = Range {
            deposits: vec![deposit(1, big, 10), deposit(2, U256::from(5), 11)],
            withdrawals: vec![Withdrawal {
                claim_id: U256::from(1),
                recipient: Address::ZERO,
                account: B256::ZERO,
                epoch: 1,
                myco_amount: U256::from(1),
                flow_penalty: None,
                prior_redeemed: None,
                usdc_amount: U256::from(3),
                origin: origin(11, 9),
            }],
            blocks: vec![(11, B256::with_last_byte(11))],
            next_block: 12,
            read_time: 0,
            ..Default::default()
        };
        escrow::apply(&pool, &first).await.unwrap();
        escrow::apply(&pool, &first).await.unwrap(); // a replayed range adds nothing
        let second = Range {
            deposits: vec![deposit(3, U256::from(7), 20)],
            blocks: vec![(20, B256::with_last_byte(20))],
            next_block: 21,
            ..Default::default()
        };
        escrow::apply(&pool, &second).await.unwrap();
        assert_eq!(get(&pool, Kind::Deposits).await.unwrap(), Total { events: 3, amount: big + U256::from(12) });
        assert_eq!(get(&pool, Kind::Withdrawals).await.unwrap(), Total { events: 1, amount: U256::from(3) });

        escrow::rewind(&pool, 11, (20, B256::with_last_byte(20))).await.unwrap();
        let deposits = get(&pool, Kind::Deposits).await.unwrap();
        assert_eq!(deposits, Total { events: 2, amount: big + U256::from(5) });

        // A store from before the totals (the row missing) is counted from its events once.
        sqlx::query("DELETE FROM escrow_totals").execute(&pool).await.unwrap();
        assert_eq!(get(&pool, Kind::Deposits).await.unwrap(), deposits);
    }
}
