//! Withdrawal claims by where they are on their way to the user: requested, in a root, final, paid.

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;
use sqlx::FromRow;

use super::{Page, STATUS_JOINS, STATUS_SQL, WithdrawalStatus, decimal};
use crate::ids::ClaimId;
use crate::store::columns::{Addr, Decimal, Hash, Unsigned, decoding};
use crate::store::{Pool, Result};

/// One withdrawal claim with its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WithdrawalView {
    /// Claim id.
    #[serde(with = "decimal")]
    pub claim_id: U256,
    /// Epoch.
    pub epoch: u64,
    /// Off-chain account.
    pub account: B256,
    /// Recipient.
    pub recipient: Address,
    /// MYCO redeemed.
    #[serde(with = "decimal")]
    pub myco_amount: U256,
    /// Flow penalty (WAD).
    #[serde(with = "decimal")]
    pub flow_penalty: U256,
    /// MYCO redeemed before it by the epoch's claims with smaller ids (the claim's slice of the curve starts
    /// here).
    #[serde(with = "decimal")]
    pub prior_redeemed: U256,
    /// Status.
    pub status: WithdrawalStatus,
    /// When it was certified (batch accepted, Unix seconds).
    pub requested_at: i64,
    /// The root's commit transaction.
    pub commit_tx: Option<B256>,
    /// USDC paid.
    #[serde(serialize_with = "decimal::option")]
    pub usdc_paid: Option<U256>,
    /// The escrow's payment transaction.
    pub paid_tx: Option<B256>,
}

#[derive(FromRow)]
struct Row {
    claim_id: ClaimId,
    epoch: Unsigned,
    account: Hash,
    recipient: Addr,
    myco_amount: Decimal,
    flow_penalty: Decimal,
    received_at: i64,
    tx_hash: Option<Hash>,
    usdc_amount: Option<Decimal>,
    paid_tx: Option<Hash>,
    status: WithdrawalStatus,
    prior_redeemed: Decimal,
}

/// Withdrawals, newest first, optionally of one `status` and/or one `account`. A claim counts as final (claimable)
/// once the chain's time (`chain_now`, the head block's timestamp) reaches its root's `payable_at`: final plus the
/// escrow's withdrawal delay (its `final_at` when that was not read yet).
pub async fn withdrawals(
    pool: &Pool,
    status: Option<WithdrawalStatus>,
    account: Option<B256>,
    chain_now: i64,
    page: Page,
) -> Result<Vec<WithdrawalView>> {
    let (limit, offset) = page.bounds();
    let sql = format!(
        "SELECT * FROM (
             SELECT k.claim_id, k.epoch, k.account, k.recipient, k.myco_amount, k.flow_penalty, b.received_at,
                    c.tx_hash, w.usdc_amount, w.tx_hash AS paid_tx, {STATUS_SQL} AS status, k.prior_redeemed
             FROM claims k
             JOIN batches b ON b.epoch = k.epoch
             {STATUS_JOINS}
         ) AS v
         WHERE ($2 = '' OR status = $2) AND ($3 = '' OR account = $4)
         ORDER BY epoch DESC, LENGTH(claim_id) DESC, claim_id DESC LIMIT $5 OFFSET $6"
    );
    // Only a constant is formatted into the statement; every value is bound.
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(chain_now)
        .bind(status.map_or("", WithdrawalStatus::as_str))
        .bind(if account.is_some() { "account" } else { "" })
        .bind(account.unwrap_or_default().to_vec())
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await
        .map_err(decoding("claims"))?;
    Ok(rows
        .into_iter()
        .map(|r| WithdrawalView {
            claim_id: r.claim_id.0,
            epoch: r.epoch.0,
            account: r.account.0,
            recipient: r.recipient.0,
            myco_amount: r.myco_amount.0,
            flow_penalty: r.flow_penalty.0,
            prior_redeemed: r.prior_redeemed.0,
            requested_at: r.received_at,
            commit_tx: r.tx_hash.map(|h| h.0),
            usdc_paid: r.usdc_amount.map(|a| a.0),
            paid_tx: r.paid_tx.map(|h| h.0),
            status: r.status,
        })
        .collect())
}

/// Unpaid claims of our commitments that a standing cancellation stops from paying.
/// Read from the standing cancellations (a few) into their epochs' claims by index, so a scrape does not scan
/// every claim of history.
pub async fn cancelled_claims(pool: &Pool) -> Result<u64> {
    let n: i64 = sqlx::query_scalar(concat!(
        "SELECT COUNT(*) FROM (",
        crate::store::escrow::cancelled_epochs_sql!(),
        ") x
         JOIN commitments c ON c.epoch = x.epoch AND (c.block_number IS NULL OR x.block_number >= c.block_number)
         JOIN claims k ON k.epoch = x.epoch
         LEFT JOIN escrow_withdrawals w ON w.claim_id = k.claim_id
         WHERE w.claim_id IS NULL"
    ))
    .fetch_one(pool)
    .await
    .map_err(decoding("claims"))?;
    Ok(n as u64)
}

/// Where one claim stands (`None` if no accepted batch holds it), by the same rule as [`withdrawals`].
pub async fn withdrawal_status(pool: &Pool, claim_id: ClaimId, chain_now: i64) -> Result<Option<WithdrawalStatus>> {
    let sql = format!(
        "SELECT {STATUS_SQL}
         FROM claims k
         {STATUS_JOINS}
         WHERE k.claim_id = $2"
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(chain_now)
        .bind(claim_id)
        .fetch_optional(pool)
        .await
        .map_err(decoding("claims"))
}
