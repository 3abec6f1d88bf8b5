//! `credits`: which escrow deposits accepted batches credited, so no deposit is credited twice.

use sqlx::{AnyConnection, FromRow};

use super::bulk;
use super::columns::{Decimal, Hash, decoding};
use super::{Pool, Result};
use crate::ids::{DepositId, Epoch};
use crate::ingest::document::CreditedDeposit;

/// Records the deposits `epoch` credits, many rows per statement.
pub async fn insert_all(conn: &mut AnyConnection, epoch: Epoch, deposits: &[CreditedDeposit]) -> Result<()> {
    const COLUMNS: usize = 4;
    for chunk in deposits.chunks(bulk::rows_per_statement(COLUMNS)) {
        let sql = format!(
            "INSERT INTO credits (deposit_id, epoch, account, amount) VALUES {}",
            bulk::values(chunk.len(), COLUMNS)
        );
        // Only placeholders are formatted into the statement; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for d in chunk {
            query = query.bind(DepositId(d.deposit_id)).bind(epoch).bind(d.account.to_vec()).bind(d.amount.to_string());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The first of `ids` (in their order) already credited, with the epoch that credited it; a few
/// statements for any number of ids.
pub async fn first_credited(pool: &Pool, ids: &[DepositId]) -> Result<Option<(DepositId, Epoch)>> {
    bulk::first_present(pool, "credits", "deposit_id", ids).await
}

/// Every credit, as `(epoch, deposit)`, by deposit id.
pub async fn all(pool: &Pool) -> Result<Vec<(Epoch, CreditedDeposit)>> {
    select(pool, String::new(), Vec::new()).await
}

/// Credits of epochs `from` (inclusive) to `to` (inclusive), by deposit id.
pub async fn of_epochs(pool: &Pool, from: Epoch, to: Epoch) -> Result<Vec<(Epoch, CreditedDeposit)>> {
    select(pool, "WHERE epoch >= $1 AND epoch <= $2".into(), vec![from.0, to.0]).await
}

/// Credits of the deposits `ids`, by deposit id: a few statements for any number of ids.
pub async fn of_deposits(pool: &Pool, ids: &[u64]) -> Result<Vec<(Epoch, CreditedDeposit)>> {
    let mut credits = Vec::new();
    for chunk in ids.chunks(bulk::rows_per_statement(1)) {
        credits
            .extend(select(pool, format!("WHERE deposit_id IN ({})", bulk::list(chunk.len())), chunk.to_vec()).await?);
    }
    credits.sort_by_key(|(_, c)| c.deposit_id);
    Ok(credits)
}

/// Credits matching `filter` (only placeholders in it), its parameters `binds`, by deposit id.
async fn select(pool: &Pool, filter: String, binds: Vec<u64>) -> Result<Vec<(Epoch, CreditedDeposit)>> {
    #[derive(FromRow)]
    struct Row {
        deposit_id: DepositId,
        epoch: Epoch,
        account: Hash,
        amount: Decimal,
    }
    let sql = format!("SELECT deposit_id, epoch, account, amount FROM credits {filter} ORDER BY deposit_id");
    let rows: Vec<Row> = binds
        .into_iter()
        .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |q, n| q.bind(i64::try_from(n).unwrap_or(i64::MAX)))
        .fetch_all(pool)
        .await
        .map_err(decoding("credits"))?;
    Ok(rows
        .into_iter()
        .map(|r| (r.epoch, CreditedDeposit { deposit_id: r.deposit_id.0, account: r.account.0, amount: r.amount.0 }))
        .collect())
}
