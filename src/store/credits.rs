//! `credits`: which escrow deposits accepted batches credited, so no deposit is credited twice.

use sqlx::{AnyConnection, Row};

use alloy::primitives::B256;

use super::{Pool, Result, fixed, parse_u256};
use crate::ingest::document::CreditedDeposit;

/// Records the deposits a batch of `epoch` credits.
pub async fn insert_all(conn: &mut AnyConnection, epoch: u64, deposits: &[CreditedDeposit]) -> Result<()> {
    for d in deposits {
        sqlx::query("INSERT INTO credits (deposit_id, epoch, account, amount) VALUES ($1, $2, $3, $4)")
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
        let row = sqlx::query("SELECT epoch FROM credits WHERE deposit_id = $1")
            .bind(*id as i64)
            .fetch_optional(pool)
            .await?;
        if let Some(r) = row {
            return Ok(Some((*id, r.get::<i64, _>(0) as u64)));
        }
    }
    Ok(None)
}

/// Every credit, as `(epoch, deposit)`, by deposit id.
pub async fn all(pool: &Pool) -> Result<Vec<(u64, CreditedDeposit)>> {
    const T: &str = "credits";
    let rows = sqlx::query("SELECT deposit_id, epoch, account, amount FROM credits ORDER BY deposit_id")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let deposit = CreditedDeposit {
                deposit_id: r.get::<i64, _>(0) as u64,
                account: B256::from(fixed::<32>(T, "account", r.get(2))?),
                amount: parse_u256(T, "amount", r.get(3))?,
            };
            Ok((r.get::<i64, _>(1) as u64, deposit))
        })
        .collect()
}
