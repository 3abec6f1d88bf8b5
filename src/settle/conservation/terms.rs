//! What an audit reports: each ledger line with its named flows, and the reserve's on-chain part against the
//! escrow's holdings; as JSON for the store, the API, `inspect-batch` and the demo.

use alloy::primitives::U256;
use serde_json::{Value, json};

use super::{Holdings, WAD_PER_USDC_UNIT};

/// One ledger line: where a figure started, every named flow in and out, and where it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The figure in the previous batch.
    pub before: U256,
    /// Named flows that raise it.
    pub plus: Vec<(&'static str, U256)>,
    /// Named flows that lower it.
    pub minus: Vec<(&'static str, U256)>,
    /// The figure in this batch.
    pub after: U256,
}

impl Line {
    /// `before + Σ plus − Σ minus`, or `None` when the flows out exceed what there was.
    pub fn expected(&self) -> Option<U256> {
        let up = self.plus.iter().try_fold(self.before, |a, (_, x)| a.checked_add(*x))?;
        self.minus.iter().try_fold(up, |a, (_, x)| a.checked_sub(*x))
    }

    /// Whether the flows explain the change exactly.
    pub fn balanced(&self) -> bool {
        self.expected() == Some(self.after)
    }

    fn to_json(&self) -> Value {
        let flows = |v: &[(&str, U256)]| v.iter().map(|(n, x)| (n.to_string(), json!(x.to_string()))).collect();
        json!({
            "before": self.before.to_string(),
            "plus": Value::Object(flows(&self.plus)),
            "minus": Value::Object(flows(&self.minus)),
            "expected": self.expected().map(|x| x.to_string()),
            "after": self.after.to_string(),
            "balanced": self.balanced(),
        })
    }

    /// "after is X, flows explain Y (off by D)".
    pub(super) fn mismatch(&self, unit: &str) -> String {
        match self.expected() {
            Some(e) => format!(
                "{} {unit} in the batch, {} {unit} explained by its flows ({}{} {unit})",
                self.after,
                e,
                if self.after > e { "+" } else { "-" },
                self.after.abs_diff(e)
            ),
            None => format!("its flows take out more than the previous batch's {} {unit}", self.before),
        }
    }
}

/// What the audit of one batch found: every line balanced (else it returns a [`Violation`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// The audited epoch.
    pub epoch: u64,
    /// MYCO supply (18 decimals); `None` without a version 2 previous batch to start from.
    pub supply: Option<Line>,
    /// The sum of USDC balances (6 decimals).
    pub usdc: Option<Line>,
    /// The reserve figure (WAD USD).
    pub reserve: Option<Line>,
    /// The reserve's on-chain part against the escrow, when a chain node was asked.
    pub onchain: Option<OnChain>,
    /// The epochs whose settlements this batch applied.
    pub applied: Vec<u64>,
}

/// The reserve's on-chain part and what covers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnChain {
    /// `reserve.onchain` (WAD USD).
    pub reserve: U256,
    /// The escrow's holdings (USDC units).
    pub holdings: Holdings,
}

impl OnChain {
    /// What the escrow holds beyond what it owes, in WAD USD.
    pub fn available_usd(&self) -> U256 {
        self.holdings.escrow_usdc.saturating_sub(self.holdings.owed_usdc) * WAD_PER_USDC_UNIT
    }
}

impl Terms {
    /// The terms as JSON (amounts as decimal strings), as stored and as `inspect-batch` prints them.
    pub fn to_json(&self) -> Value {
        let line = |l: &Option<Line>| l.as_ref().map(Line::to_json);
        json!({
            "epoch": self.epoch,
            "balanced": true,
            "myco_supply": line(&self.supply),
            "usdc_balances": line(&self.usdc),
            "reserve": line(&self.reserve),
            "onchain": self.onchain.map(|o| json!({
                "reserve_onchain": o.reserve.to_string(),
                "escrow_usdc": o.holdings.escrow_usdc.to_string(),
                "owed_usdc": o.holdings.owed_usdc.to_string(),
                "available_usd": o.available_usd().to_string(),
            })),
            "settlements_applied": self.applied,
        })
    }
}
