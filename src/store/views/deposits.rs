//! Escrow deposits with their credit and where reconciliation stands.

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;
use sqlx::FromRow;

use super::{Page, decimal};
use crate::store::columns::{Addr, Decimal, Hash, Unsigned, decoding};
use crate::store::{Pool, Result};

/// One escrow deposit with its credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepositView {
    /// Deposit id.
    pub deposit_id: u64,
    /// Depositor.
    pub depositor: Address,
    /// Off-chain account.
    pub recipient: B256,
    /// USDC.
    #[serde(with = "decimal")]
    pub amount: U256,
    /// Transaction.
    pub tx_hash: B256,
    /// Block.
    pub block_number: u64,
    /// The epoch that credited it, if any (see `reconciliation` for whether the credit matches).
    pub credited_in: Option<u64>,
    /// Where reconciliation stands: `credited` (matches the chain), `credit_differs` (credited with another
    /// account or amount), `not_credited` (not credited within the allowed epochs), `awaiting_credit`.
    pub reconciliation: &'static str,
}

#[derive(FromRow)]
struct Row {
    deposit_id: Unsigned,
    depositor: Addr,
    recipient: Hash,
    amount: Decimal,
    tx_hash: Hash,
    block_number: Unsigned,
    credited_in: Option<Unsigned>,
    mismatch: Option<String>,
}

/// Deposits, newest first.
pub async fn deposits(pool: &Pool, page: Page) -> Result<Vec<DepositView>> {
    let (limit, offset) = page.bounds();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT d.deposit_id, d.depositor, d.recipient, d.amount, d.tx_hash, d.block_number, c.epoch AS credited_in,
                (SELECT MIN(m.kind) FROM mismatches m
                 WHERE m.resolved_at IS NULL AND m.subject = CAST(d.deposit_id AS TEXT)
                   AND m.kind IN ('credit_differs', 'deposit_not_credited')) AS mismatch
         FROM escrow_deposits d LEFT JOIN credits c ON c.deposit_id = d.deposit_id
         ORDER BY d.deposit_id DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
    .map_err(decoding("escrow_deposits"))?;
    Ok(rows
        .into_iter()
        .map(|r| DepositView {
            reconciliation: match (r.mismatch.as_deref(), r.credited_in) {
                (Some("credit_differs"), _) => "credit_differs",
                (Some(_), _) => "not_credited",
                (None, Some(_)) => "credited",
                (None, None) => "awaiting_credit",
            },
            deposit_id: r.deposit_id.0,
            depositor: r.depositor.0,
            recipient: r.recipient.0,
            amount: r.amount.0,
            tx_hash: r.tx_hash.0,
            block_number: r.block_number.0,
            credited_in: r.credited_in.map(|e| e.0),
        })
        .collect())
}
