//! Read-only views for operators: the epoch pipeline, withdrawals by settlement status, deposits, and the
//! figures `/metrics` publishes. Every figure comes from the store, so it survives restarts and two instances
//! report the same thing.

mod deposits;
mod epochs;
mod totals;
mod withdrawals;

use serde::Serialize;

use super::columns::text_enum;

pub use deposits::{DepositView, deposits};
pub use epochs::{EpochView, epochs};
pub use totals::{LATENCY_BUCKETS, Totals, totals};
pub use withdrawals::{WithdrawalView, withdrawal_status, withdrawals};

/// Token amounts and figures are decimal strings in JSON: exact at any size, and what a person types into
/// `cast`. (serde's default for U256 is hex.)
pub mod decimal {
    use alloy::primitives::U256;

    /// Serializes a U256 as a decimal string.
    pub fn serialize<S: serde::Serializer>(value: &U256, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Serializes an optional U256 as a decimal string or null.
    pub fn option<S: serde::Serializer>(value: &Option<U256>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }
}

/// Where a withdrawal is on its way to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalStatus {
    /// Certified in a batch whose root is not on chain yet.
    Requested,
    /// In a committed root, inside its challenge window.
    InRoot,
    /// In a final root past the escrow's withdrawal delay: claimable, not yet paid.
    Final,
    /// In a committed root the guardian cancelled (`CommitmentCancelled`): it does not pay unless the admin undoes
    /// the cancellation or the network reissues the claim in a later epoch (then it is that epoch's).
    Cancelled,
    /// Paid by the escrow.
    Paid,
}

impl WithdrawalStatus {
    /// The name the API and the SQL use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::InRoot => "in_root",
            Self::Final => "final",
            Self::Cancelled => "cancelled",
            Self::Paid => "paid",
        }
    }

    /// Parses `requested`, `in_root`, `final`, `cancelled` or `paid`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Requested, Self::InRoot, Self::Final, Self::Cancelled, Self::Paid].into_iter().find(|x| x.as_str() == s)
    }
}

impl std::str::FromStr for WithdrawalStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| format!("unknown withdrawal status {s:?}"))
    }
}

text_enum!(WithdrawalStatus);

/// The status of a claim `k` (with its commitment `c`, payment `w` and standing cancellation `x` joined by
/// [`STATUS_JOINS`]), computed in SQL so that filtering, paging and single lookups agree; `$1` is the chain's time.
const STATUS_SQL: &str = "CASE WHEN w.claim_id IS NOT NULL THEN 'paid'
                               WHEN c.epoch IS NULL THEN 'requested'
                               WHEN x.epoch IS NOT NULL THEN 'cancelled'
                               WHEN COALESCE(c.payable_at, c.final_at) <= $1 THEN 'final'
                               ELSE 'in_root' END";

/// What [`STATUS_SQL`] reads beside `claims k`. A cancellation names the commitment live when it was made, so it
/// stands against our commitment of the epoch only if it came at or after our commitment's block (a commitment
/// made later replaced the cancelled one), and only until a `CommitmentUncancelled` of the same commitment.
const STATUS_JOINS: &str = concat!(
    "LEFT JOIN commitments c ON c.epoch = k.epoch
     LEFT JOIN escrow_withdrawals w ON w.claim_id = k.claim_id
     LEFT JOIN (",
    crate::store::escrow::cancelled_epochs_sql!(),
    ") x ON x.epoch = k.epoch AND (c.block_number IS NULL OR x.block_number >= c.block_number)"
);

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return (at most 500).
    pub limit: u64,
}

impl Page {
    pub(super) fn bounds(self) -> (i64, i64) {
        (self.limit.clamp(1, 500) as i64, self.offset.min(i64::MAX as u64) as i64)
    }
}
