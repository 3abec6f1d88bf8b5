//! `credits`: which escrow deposits accepted batches credited, so no deposit is credited twice.

use sqlx::{Row, SqliteConnection};

use super::{Pool, Result};
use crate::ingest::document::CreditedDeposit;

/// Records the deposits a batch of `epoch` credits.
pub async fn insert_all(conn: &mut SqliteConnection, epoch: u64, deposits: &[CreditedDeposit]) -> Result<()> {
    for d in deposits {
        sqlx::query("INSERT INTO credits (deposit_id, epoch, account, amount) VALUES (?, ?, ?, ?)")
            .bind(d.deposit_id as i64)
            .bind(epoch as i64)
            .bind(d.account.as_slice())
            .bind(d.amount.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The first of `deposit_ids` already credited, with the epoch that credited it.
pub async fn first_credited(pool: &Pool, deposit_ids: &[u64]) -> Result<Option<(u64, u64)>> {
    for id in deposit_ids {
        let row =
            sqlx::query("SELECT epoch FROM credits WHERE deposit_id = ?").bind(*id as i64).fetch_optional(pool).await?;
        if let Some(r) = row {
            return Ok(Some((*id, r.get::<i64, _>(0) as u64)));
        }
    }
    Ok(None)
}
