//! `claim_reissues`: claims that moved to a later epoch under their own id after the commitment that held them
//! was cancelled. The move happens in the reissuing batch's transaction, before its claims are stored: the old
//! row goes (with what it owed, when unpaid), and the new epoch's row is stored as any claim.

use alloy::primitives::{B256, U256};
use sqlx::AnyConnection;

use super::columns::{Decimal, Hash, decoding};
use super::{Pool, Result, counts, now, owed};
use crate::ids::{ClaimId, Epoch};

/// One claim moving from epoch `from` to epoch `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    /// The claim.
    pub claim_id: ClaimId,
    /// The epoch whose cancelled commitment held it.
    pub from: Epoch,
    /// The reissuing epoch.
    pub to: Epoch,
}

/// Moves each claim out of its old epoch: records where it came from, and takes the old row, and what it owed,
/// away (the new epoch stores it anew, `claims::insert_all`). In the caller's transaction.
pub async fn move_out(conn: &mut AnyConnection, moves: &[Move]) -> Result<()> {
    if moves.is_empty() {
        return Ok(());
    }
    counts::hold(conn, counts::CLAIMS_UNPAID).await?;
    for m in moves {
        let old: Option<(Epoch, Hash, Option<Decimal>)> =
            sqlx::query_as("SELECT epoch, leaf, usdc_payout FROM claims WHERE claim_id = $1")
                .bind(m.claim_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(decoding("claims"))?;
        // The reader checked the claim is in `from`; a store that lost it has nothing to move.
        let Some((epoch, leaf, payout)) = old else { continue };
        let paid: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM escrow_withdrawals WHERE claim_id = $1")
            .bind(m.claim_id)
            .fetch_one(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO claim_reissues (claim_id, from_epoch, to_epoch, from_leaf, from_payout, reissued_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (claim_id, from_epoch) DO NOTHING",
        )
        .bind(m.claim_id)
        .bind(epoch)
        .bind(m.to)
        .bind(leaf.0.to_vec())
        .bind(payout.as_ref().map(|p| p.0.to_string()))
        .bind(now())
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM claims WHERE claim_id = $1").bind(m.claim_id).execute(&mut *conn).await?;
        if paid == 0 {
            counts::add(conn, counts::CLAIMS_UNPAID, -1).await?;
            if let Some(p) = payout {
                owed::apply(conn, &[(epoch.0, p.0)].into(), owed::Change::Paid).await?;
            }
        }
    }
    Ok(())
}

/// What the claims reissued in epoch `to` were priced at in the epochs they came from, in USDC units (a claim
/// stored before payouts were kept counts zero).
pub async fn payouts_reissued_in(pool: &Pool, to: Epoch) -> Result<U256> {
    let payouts: Vec<Option<Decimal>> =
        sqlx::query_scalar("SELECT from_payout FROM claim_reissues WHERE to_epoch = $1")
            .bind(to)
            .fetch_all(pool)
            .await
            .map_err(decoding("claim_reissues"))?;
    Ok(payouts.into_iter().flatten().fold(U256::ZERO, |sum, p| sum.saturating_add(p.0)))
}

/// The epoch and leaf claim `id` was reissued from, if it was: a payment through that leaf is the same claim.
pub async fn origin(pool: &Pool, id: ClaimId) -> Result<Vec<(Epoch, B256)>> {
    let rows: Vec<(Epoch, Hash)> =
        sqlx::query_as("SELECT from_epoch, from_leaf FROM claim_reissues WHERE claim_id = $1 ORDER BY from_epoch")
            .bind(id)
            .fetch_all(pool)
            .await
            .map_err(decoding("claim_reissues"))?;
    Ok(rows.into_iter().map(|(e, l)| (e, l.0)).collect())
}

/// For each of `ids` that was reissued: the epochs it came from and what it was priced at there (USDC units;
/// `None` for a claim stored before payouts were kept). A payment through an old leaf (after an undone
/// cancellation) is judged against these. One read of the table (it holds only reissued claims, a few), not one
/// per claim: a reconciliation pass may look at a million claims.
pub async fn priced_origins(
    pool: &Pool,
    ids: &[ClaimId],
) -> Result<std::collections::BTreeMap<U256, Vec<(u64, Option<U256>)>>> {
    let wanted: std::collections::BTreeSet<U256> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<(Decimal, Epoch, Option<Decimal>)> =
        sqlx::query_as("SELECT claim_id, from_epoch, from_payout FROM claim_reissues ORDER BY from_epoch")
            .fetch_all(pool)
            .await
            .map_err(decoding("claim_reissues"))?;
    let mut out: std::collections::BTreeMap<U256, Vec<(u64, Option<U256>)>> = Default::default();
    for (id, epoch, payout) in rows.into_iter().filter(|(id, _, _)| wanted.contains(&id.0)) {
        out.entry(id.0).or_default().push((epoch.0, payout.map(|p| p.0)));
    }
    Ok(out)
}
