//! `curve_settlements`: each epoch's net curve orders, recorded as planned before they are sent and completed
//! once executed, so a restart knows what it sent.

use alloy::primitives::{B256, U256};
use sqlx::Row;

use super::{Pool, Result, fixed, now, parse_u256};
use crate::settle::execution::{Skip, SkipReason};

/// Where an epoch's net orders stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Recorded; the transaction may or may not have been sent.
    Planned,
    /// Executed on chain.
    Executed,
    /// Nothing to execute (no net order, or every leg skipped).
    Nothing,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Executed => "executed",
            Status::Nothing => "nothing",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "planned" => Ok(Status::Planned),
            "executed" => Ok(Status::Executed),
            "nothing" => Ok(Status::Nothing),
            other => Err(super::Error::Corrupt {
                table: "curve_settlements",
                column: "status",
                reason: format!("unknown status {other:?}"),
            }),
        }
    }
}

/// The plan of one epoch's net orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Epoch.
    pub epoch: u64,
    /// Curve spot (WAD) the auction ran at.
    pub spot: U256,
    /// The auction's uniform clearing price, if anything matched peer to peer.
    pub clearing_price: Option<U256>,
    /// MYCO matched peer to peer.
    pub matched_myco: U256,
    /// Fills of the auction.
    pub fills: u64,
    /// MYCO to sell to the curve (0 for none) and the sale's limit in USDC.
    pub sell: (U256, U256),
    /// USDC to spend on the curve (0 for none) and the purchase's limit in MYCO.
    pub buy: (U256, U256),
    /// Legs not executed and why.
    pub skipped: Vec<Skip>,
}

/// What the curve did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Executed {
    /// USDC the sale paid.
    pub usdc_out: U256,
    /// MYCO the purchase minted.
    pub myco_out: U256,
    /// The transaction.
    pub tx_hash: B256,
    /// Its block.
    pub block_number: u64,
    /// Gas it used (0 when recovered from the chain's event log after a restart).
    pub gas_used: u64,
}

/// One epoch's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurveSettlement {
    /// The plan.
    pub plan: Planned,
    /// Its status.
    pub status: Status,
    /// The execution, once executed.
    pub executed: Option<Executed>,
}

/// Records a plan with `status` (`Planned` before sending, `Nothing` when there is nothing to send), and each
/// skipped leg by its reason (for `/metrics`, counted by the database).
pub async fn insert(pool: &Pool, p: &Planned, status: Status) -> Result<()> {
    let mut tx = super::begin(pool).await?;
    let skipped: Vec<String> = p.skipped.iter().map(Skip::to_string).collect();
    sqlx::query(
        "INSERT INTO curve_settlements (epoch, spot, clearing_price, matched_myco, fills, sell_myco, sell_min_usdc,
             buy_usdc, buy_min_myco, skipped, status, planned_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(p.epoch as i64)
    .bind(p.spot.to_string())
    .bind(p.clearing_price.map(|x| x.to_string()))
    .bind(p.matched_myco.to_string())
    .bind(p.fills as i64)
    .bind(p.sell.0.to_string())
    .bind(p.sell.1.to_string())
    .bind(p.buy.0.to_string())
    .bind(p.buy.1.to_string())
    .bind(skipped.join("\n"))
    .bind(status.as_str())
    .bind(now())
    .execute(&mut *tx)
    .await?;
    for skip in &p.skipped {
        sqlx::query("INSERT INTO net_order_skips (epoch, reason, detail) VALUES ($1, $2, $3)")
            .bind(p.epoch as i64)
            .bind(skip.reason.as_str())
            .bind(&skip.detail)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Skipped net order legs so far, by reason code.
pub async fn skips_by_reason(pool: &Pool) -> Result<Vec<(String, u64)>> {
    let rows = sqlx::query("SELECT reason, COUNT(*) FROM net_order_skips GROUP BY reason ORDER BY reason")
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1) as u64)).collect())
}

/// Marks an epoch's plan executed.
pub async fn executed(pool: &Pool, epoch: u64, e: &Executed) -> Result<()> {
    sqlx::query(
        "UPDATE curve_settlements SET status = 'executed', usdc_out = $1, myco_out = $2, tx_hash = $3, block_number = $4,
             gas_used = $5, executed_at = $6 WHERE epoch = $7",
    )
    .bind(e.usdc_out.to_string())
    .bind(e.myco_out.to_string())
    .bind(e.tx_hash.as_slice())
    .bind(e.block_number as i64)
    .bind(e.gas_used as i64)
    .bind(now())
    .bind(epoch as i64)
    .execute(pool)
    .await?;
    Ok(())
}

/// The columns [`decode`] reads, in its order.
macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT epoch, spot, clearing_price, matched_myco, fills, sell_myco, sell_min_usdc, buy_usdc, buy_min_myco,
                 skipped, status, usdc_out, myco_out, tx_hash, block_number, gas_used FROM curve_settlements ",
            $rest
        )
    };
}

/// The row of `epoch`, if planned.
pub async fn get(pool: &Pool, epoch: u64) -> Result<Option<CurveSettlement>> {
    let row = sqlx::query(select!("WHERE epoch = $1")).bind(epoch as i64).fetch_optional(pool).await?;
    row.as_ref().map(decode).transpose()
}

/// Every row, in epoch order.
pub async fn all(pool: &Pool) -> Result<Vec<CurveSettlement>> {
    let rows = sqlx::query(select!("ORDER BY epoch")).fetch_all(pool).await?;
    rows.iter().map(decode).collect()
}

/// A skipped leg as stored: `code: detail`.
fn parse_skip(line: &str) -> Result<Skip> {
    let corrupt = || super::Error::Corrupt { table: "curve_settlements", column: "skipped", reason: line.to_string() };
    let (code, detail) = line.split_once(": ").ok_or_else(corrupt)?;
    Ok(Skip { reason: SkipReason::parse(code).ok_or_else(corrupt)?, detail: detail.to_string() })
}

fn decode(r: &sqlx::any::AnyRow) -> Result<CurveSettlement> {
    const T: &str = "curve_settlements";
    let u = |column: &'static str, i: usize| parse_u256(T, column, r.get(i));
    let skipped: String = r.get(9);
    let plan = Planned {
        epoch: r.get::<i64, _>(0) as u64,
        spot: u("spot", 1)?,
        clearing_price: r.get::<Option<&str>, _>(2).map(|s| parse_u256(T, "clearing_price", s)).transpose()?,
        matched_myco: u("matched_myco", 3)?,
        fills: r.get::<i64, _>(4) as u64,
        sell: (u("sell_myco", 5)?, u("sell_min_usdc", 6)?),
        buy: (u("buy_usdc", 7)?, u("buy_min_myco", 8)?),
        skipped: skipped.lines().map(parse_skip).collect::<Result<_>>()?,
    };
    let status = Status::parse(r.get(10))?;
    let executed = match r.get::<Option<&[u8]>, _>(13) {
        Some(tx) => Some(Executed {
            usdc_out: u("usdc_out", 11)?,
            myco_out: u("myco_out", 12)?,
            tx_hash: B256::from(fixed::<32>(T, "tx_hash", tx)?),
            block_number: r.get::<i64, _>(14) as u64,
            gas_used: r.get::<i64, _>(15) as u64,
        }),
        None => None,
    };
    Ok(CurveSettlement { plan, status, executed })
}
