//! `credits`: which escrow deposits accepted batches credited, so no deposit is credited twice.

use sqlx::{AnyConnection, FromRow};

use super::columns::{Decimal, Hash, decoding};
use super::{Pool, Result};
use crate::ids::{DepositId, Epoch};
use crate::ingest::document::CreditedDeposit;

/// Records the deposits a batch of `epoch` credits.
pub async fn insert_all(conn: &mut AnyConnection, epoch: Epoch, deposits: &[CreditedDeposit]) -> Result<()> {
    for d in deposits {
        sqlx::query("INSERT INTO credits (deposit_id, epoch, account, amount) VALUES ($1, $2, $3, $4)")
            .bind(DepositId(d.deposit_id))
            .bind(epoch)
            .bind(d.account.as_slice())
            .bind(d.amount.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The first of `deposit_ids` already credited, with the epoch that credited it.
pub async fn first_credited(pool: &Pool, deposit_ids: &[DepositId]) -> Result<Option<(DepositId, Epoch)>> {
    for &id in deposit_ids {
        let epoch: Option<Epoch> = sqlx::query_scalar("SELECT epoch FROM credits WHERE deposit_id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(decoding("credits"))?;
        if let Some(epoch) = epoch {
            return Ok(Some((id, epoch)));
        }
    }
    Ok(None)
}

/// Every credit, as `(epoch, deposit)`, by deposit id.
pub async fn all(pool: &Pool) -> Result<Vec<(Epoch, CreditedDeposit)>> {
    #[derive(FromRow)]
    struct Row {
        deposit_id: DepositId,
        epoch: Epoch,
        account: Hash,
        amount: Decimal,
    }
    let rows: Vec<Row> = sqlx::query_as("SELECT deposit_id, epoch, account, amount FROM credits ORDER BY deposit_id")
        .fetch_all(pool)
        .await
        .map_err(decoding("credits"))?;
    Ok(rows
        .into_iter()
        .map(|r| (r.epoch, CreditedDeposit { deposit_id: r.deposit_id.0, account: r.account.0, amount: r.amount.0 }))
        .collect())
}
