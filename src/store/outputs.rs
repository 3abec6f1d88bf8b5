//! `epoch_outputs`: the redemption rate and deposit split the settlement math computed for each accepted epoch.

use alloy::primitives::U256;
use sqlx::{AnyConnection, FromRow};

use super::columns::{Decimal, Unsigned, decoding};
use super::{Pool, Result};

/// One epoch's computed outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochOutputs {
    /// Epoch.
    pub epoch: u64,
    /// Average WAD USD per MYCO over the epoch's claims before penalties (the marginal rate without claims).
    pub pamm_rate: U256,
    /// MYCO the epoch's claims redeem.
    pub redeemed_myco: U256,
    /// USDC the escrow pays for them, penalties applied.
    pub payout_usdc: U256,
    /// The deposit split as JSON, when the batch lists vaults.
    pub deposit_split: Option<serde_json::Value>,
}

/// Records an epoch's outputs (inside the transaction that accepts its batch).
pub async fn insert(conn: &mut AnyConnection, o: &EpochOutputs) -> Result<()> {
    sqlx::query(
        "INSERT INTO epoch_outputs (epoch, pamm_rate, redeemed_myco, payout_usdc, deposit_split) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(o.epoch as i64)
    .bind(o.pamm_rate.to_string())
    .bind(o.redeemed_myco.to_string())
    .bind(o.payout_usdc.to_string())
    .bind(o.deposit_split.as_ref().map(|v| v.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Every epoch's outputs, in epoch order.
pub async fn all(pool: &Pool) -> Result<Vec<EpochOutputs>> {
    const T: &str = "epoch_outputs";
    #[derive(FromRow)]
    struct Row {
        epoch: Unsigned,
        pamm_rate: Decimal,
        redeemed_myco: Decimal,
        payout_usdc: Decimal,
        deposit_split: Option<String>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT epoch, pamm_rate, redeemed_myco, payout_usdc, deposit_split FROM epoch_outputs ORDER BY epoch",
    )
    .fetch_all(pool)
    .await
    .map_err(decoding(T))?;
    rows.into_iter()
        .map(|r| {
            let split = r.deposit_split.map(|s| serde_json::from_str(&s)).transpose();
            Ok(EpochOutputs {
                epoch: r.epoch.0,
                pamm_rate: r.pamm_rate.0,
                redeemed_myco: r.redeemed_myco.0,
                payout_usdc: r.payout_usdc.0,
                deposit_split: split.map_err(|e| super::Error::Corrupt {
                    table: T,
                    column: "deposit_split".into(),
                    reason: e.to_string(),
                })?,
            })
        })
        .collect()
}
