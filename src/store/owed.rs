//! `claims_owed`: the USDC that stored claims will still take from the escrow, kept as claims, payments and
//! rewinds are stored, so the conservation audit before each commitment reads a few rows instead of pricing every
//! unpaid claim of history (claims nobody withdraws would make each commitment slower than the one before).
//!
//! Each claim is priced once, when its epoch is stored (`claims.usdc_payout`, exactly what the escrow pays). A row
//! per epoch holds what its priced, unpaid claims owe, and the row of epoch 0 (no batch has it) the sum over all
//! epochs. Amounts are `uint256`s kept as decimal text, as in `escrow_totals`. Callers change them inside the
//! transaction that changes the claims or payments, after `counts::hold(CLAIMS_UNPAID)`, which orders concurrent
//! PostgreSQL writers of claims and payments one after the other.

use std::collections::BTreeMap;

use alloy::primitives::U256;
use sqlx::AnyConnection;

use super::columns::{Decimal, decoding};
use super::{Pool, Result};
use crate::ids::Epoch;

const T: &str = "claims_owed";

/// The row that sums every epoch's.
const ALL_EPOCHS: i64 = 0;

/// Payouts of priced claims, summed by epoch.
pub(super) type ByEpoch = BTreeMap<u64, U256>;

/// Whether claims start or stop owing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// Claims stored unpaid, or payments of them rewound.
    Owe,
    /// Payments of stored claims stored.
    Paid,
}

/// Applies `change` of `by_epoch` to each epoch's row and to the sum, in the caller's transaction.
pub(super) async fn apply(conn: &mut AnyConnection, by_epoch: &ByEpoch, change: Change) -> Result<()> {
    let changed: Vec<_> = by_epoch.iter().filter(|(_, usdc)| !usdc.is_zero()).collect();
    if changed.is_empty() {
        return Ok(());
    }
    let total = changed.iter().fold(U256::ZERO, |sum, (_, usdc)| sum.saturating_add(**usdc));
    for (scope, delta) in changed.into_iter().map(|(e, usdc)| (*e as i64, *usdc)).chain([(ALL_EPOCHS, total)]) {
        let kept = read(conn, scope).await?;
        // The rows change in the transaction that changes what they sum, so they cannot go below zero; saturating
        // keeps a store edited by hand from panicking a writer.
        let next = match change {
            Change::Owe => kept.saturating_add(delta),
            Change::Paid => kept.saturating_sub(delta),
        };
        write(conn, scope, next).await?;
    }
    Ok(())
}

/// What the priced, unpaid claims of epochs before `epoch` owe (USDC units): the sum over all epochs less the
/// rows of `epoch` and later (the epochs stored but not committed yet: a few).
pub async fn before(pool: &Pool, epoch: Epoch) -> Result<U256> {
    let rows: Vec<(i64, Decimal)> =
        sqlx::query_as("SELECT epoch, usdc FROM claims_owed WHERE epoch = $1 OR epoch >= $2")
            .bind(ALL_EPOCHS)
            .bind(epoch)
            .fetch_all(pool)
            .await
            .map_err(decoding(T))?;
    let all = rows.iter().find(|(e, _)| *e == ALL_EPOCHS).map_or(U256::ZERO, |(_, usdc)| usdc.0);
    let later =
        rows.iter().filter(|(e, _)| *e != ALL_EPOCHS).fold(U256::ZERO, |sum, (_, usdc)| sum.saturating_add(usdc.0));
    Ok(all.saturating_sub(later))
}

async fn read(conn: &mut AnyConnection, scope: i64) -> Result<U256> {
    let usdc: Option<Decimal> = sqlx::query_scalar("SELECT usdc FROM claims_owed WHERE epoch = $1")
        .bind(scope)
        .fetch_optional(conn)
        .await
        .map_err(decoding(T))?;
    Ok(usdc.map_or(U256::ZERO, |d| d.0))
}

/// Stores `usdc` as `scope`'s; an epoch that owes nothing has no row.
async fn write(conn: &mut AnyConnection, scope: i64, usdc: U256) -> Result<()> {
    if usdc.is_zero() && scope != ALL_EPOCHS {
        sqlx::query("DELETE FROM claims_owed WHERE epoch = $1").bind(scope).execute(conn).await?;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO claims_owed (epoch, usdc) VALUES ($1, $2) ON CONFLICT (epoch) DO UPDATE SET usdc = excluded.usdc",
    )
    .bind(scope)
    .bind(usdc.to_string())
    .execute(conn)
    .await?;
    Ok(())
}
