//! `curve_settlements`: each epoch's net curve orders, recorded as planned before they are sent and completed
//! once executed, so a restart knows what it sent.

use alloy::primitives::U256;
use sqlx::FromRow;

use super::columns::{Decimal, Hash, Unsigned, decoding, text_enum};
use super::{Pool, Result, now};
use crate::chain::Executed;
use crate::ids::Epoch;
use crate::settle::execution::{Skip, SkipReason};

const T: &str = "curve_settlements";

/// Where an epoch's net orders stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Recorded; the transaction may or may not have been sent.
    Planned,
    /// Executed on chain (with zeros when the epoch had no net order, or every leg was skipped).
    Executed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Executed => "executed",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Status::Planned, Status::Executed]
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown status {s:?}"))
    }
}

text_enum!(Status);

/// The plan of one epoch's net orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Epoch.
    pub epoch: Epoch,
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

/// Records a plan as `Planned` (before anything is sent), and each skipped leg by its reason (for `/metrics`,
/// counted by the database).
pub async fn insert(pool: &Pool, p: &Planned) -> Result<()> {
    let mut tx = super::begin(pool).await?;
    let skipped: Vec<String> = p.skipped.iter().map(Skip::to_string).collect();
    sqlx::query(
        "INSERT INTO curve_settlements (epoch, spot, clearing_price, matched_myco, fills, sell_myco, sell_min_usdc,
             buy_usdc, buy_min_myco, skipped, status, planned_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(p.epoch)
    .bind(p.spot.to_string())
    .bind(p.clearing_price.map(|x| x.to_string()))
    .bind(p.matched_myco.to_string())
    .bind(p.fills as i64)
    .bind(p.sell.0.to_string())
    .bind(p.sell.1.to_string())
    .bind(p.buy.0.to_string())
    .bind(p.buy.1.to_string())
    .bind(skipped.join("\n"))
    .bind(Status::Planned)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    for skip in &p.skipped {
        sqlx::query("INSERT INTO net_order_skips (epoch, reason, detail) VALUES ($1, $2, $3)")
            .bind(p.epoch)
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
    let rows: Vec<(String, Unsigned)> =
        sqlx::query_as("SELECT reason, COUNT(*) FROM net_order_skips GROUP BY reason ORDER BY reason")
            .fetch_all(pool)
            .await
            .map_err(decoding("net_order_skips"))?;
    Ok(rows.into_iter().map(|(reason, n)| (reason, n.0)).collect())
}

/// Marks an epoch's plan executed.
pub async fn executed(pool: &Pool, epoch: Epoch, e: &Executed) -> Result<()> {
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
    .bind(epoch)
    .execute(pool)
    .await?;
    Ok(())
}

/// A row as stored.
#[derive(FromRow)]
struct Row {
    epoch: Epoch,
    spot: Decimal,
    clearing_price: Option<Decimal>,
    matched_myco: Decimal,
    fills: Unsigned,
    sell_myco: Decimal,
    sell_min_usdc: Decimal,
    buy_usdc: Decimal,
    buy_min_myco: Decimal,
    skipped: String,
    status: Status,
    usdc_out: Option<Decimal>,
    myco_out: Option<Decimal>,
    tx_hash: Option<Hash>,
    block_number: Option<Unsigned>,
    gas_used: Option<Unsigned>,
}

impl Row {
    fn settlement(self) -> Result<CurveSettlement> {
        let plan = Planned {
            epoch: self.epoch,
            spot: self.spot.0,
            clearing_price: self.clearing_price.map(|p| p.0),
            matched_myco: self.matched_myco.0,
            fills: self.fills.0,
            sell: (self.sell_myco.0, self.sell_min_usdc.0),
            buy: (self.buy_usdc.0, self.buy_min_myco.0),
            skipped: self.skipped.lines().map(parse_skip).collect::<Result<_>>()?,
        };
        let executed = self.tx_hash.map(|tx| Executed {
            usdc_out: self.usdc_out.unwrap_or_default().0,
            myco_out: self.myco_out.unwrap_or_default().0,
            tx_hash: tx.0,
            block_number: self.block_number.unwrap_or_default().0,
            gas_used: self.gas_used.unwrap_or_default().0,
        });
        Ok(CurveSettlement { plan, status: self.status, executed })
    }
}

/// The row columns, followed by a query's own tail.
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
pub async fn get(pool: &Pool, epoch: Epoch) -> Result<Option<CurveSettlement>> {
    let row = sqlx::query_as::<_, Row>(select!("WHERE epoch = $1"))
        .bind(epoch)
        .fetch_optional(pool)
        .await
        .map_err(decoding(T))?;
    row.map(Row::settlement).transpose()
}

/// Epochs we committed whose net orders are not recorded executed, in order: what a crash or a failure between
/// an epoch's root and its orders left to do.
pub async fn committed_unsettled(pool: &Pool) -> Result<Vec<Epoch>> {
    let rows: Vec<(Epoch,)> = sqlx::query_as(
        "SELECT c.epoch FROM commitments c
         WHERE NOT EXISTS (SELECT 1 FROM curve_settlements s WHERE s.epoch = c.epoch AND s.status = 'executed')
         ORDER BY c.epoch",
    )
    .fetch_all(pool)
    .await
    .map_err(decoding("commitments"))?;
    Ok(rows.into_iter().map(|(e,)| e).collect())
}

/// Every row, in epoch order.
pub async fn all(pool: &Pool) -> Result<Vec<CurveSettlement>> {
    let rows = sqlx::query_as::<_, Row>(select!("ORDER BY epoch")).fetch_all(pool).await.map_err(decoding(T))?;
    rows.into_iter().map(Row::settlement).collect()
}

/// A skipped leg as stored: `code: detail`.
fn parse_skip(line: &str) -> Result<Skip> {
    let corrupt = || super::Error::Corrupt { table: T, column: "skipped".into(), reason: line.to_string() };
    let (code, detail) = line.split_once(": ").ok_or_else(corrupt)?;
    Ok(Skip { reason: SkipReason::parse(code).ok_or_else(corrupt)?, detail: detail.to_string() })
}
