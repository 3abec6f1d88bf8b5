//! The Automerge document of one epoch's committed state: its types, and how they are read and written.
//!
//! `docs/batch-format.md` is the normative description. In short: token amounts and fixed-point figures are
//! canonical decimal strings (Automerge integers are 64-bit, amounts are not); epochs, timestamps and deposit ids
//! are non-negative Automerge integers; keys, ids and signatures are `0x` hex strings; unknown fields are ignored.

pub mod footprint;
mod guard;
mod read;
mod write;

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};

pub use read::parse_amount;

use super::intent::{Intent, Token};

/// Version of the document schema this code reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

/// The decoded state of one epoch, as certified by the validators.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchState {
    /// The epoch number (the first is 1).
    pub epoch: u64,
    /// Digest of the previous epoch's batch (zero for epoch 1).
    pub parent: B256,
    /// The batch's timestamp, seconds since the Unix epoch.
    pub timestamp: u64,
    /// Balances by token, then by 32-byte Ed25519 account key, in token units.
    pub balances: BTreeMap<Token, BTreeMap<B256, U256>>,
    /// Open trade intents.
    pub intents: Vec<Intent>,
    /// Per-account outflow trackers for flow dampening.
    pub flows: BTreeMap<B256, FlowTracker>,
    /// Escrow deposits this epoch credits.
    pub deposits: Vec<CreditedDeposit>,
    /// Withdrawal requests this epoch certifies; each becomes a claim in the state root.
    pub withdrawals: Vec<WithdrawalRequest>,
    /// The reserve's state.
    pub reserve: ReserveState,
}

impl BatchState {
    /// The balance of `account` in `token`.
    pub fn balance(&self, token: Token, account: &B256) -> U256 {
        self.balances.get(&token).and_then(|b| b.get(account)).copied().unwrap_or_default()
    }
}

/// An account's outflow memory (docs/settlement-math.md, "Flow dampening").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowTracker {
    /// Decayed outflow (WAD).
    pub flow: U256,
    /// When `flow` was last updated (Unix seconds).
    pub t_last: u64,
    /// Per-second decay (WAD, e.g. 0.999).
    pub memory: U256,
    /// Outflow threshold as a fraction of balance (WAD, e.g. 0.1).
    pub threshold: U256,
}

/// An escrow deposit credited to an off-chain account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditedDeposit {
    /// The escrow's deposit id.
    pub deposit_id: u64,
    /// The credited account.
    pub account: B256,
    /// USDC amount (6 decimals), as deposited.
    pub amount: U256,
}

/// A request to redeem MYCO for USDC on chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRequest {
    /// Unique across all epochs.
    pub claim_id: U256,
    /// The account debited.
    pub account: B256,
    /// MYCO amount (18 decimals).
    pub amount: U256,
    /// Who receives the USDC.
    pub recipient: Address,
}

/// The reserve: figures the state root attests and the inputs of the redemption curve and tranche splits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReserveState {
    /// MYCO outstanding (18 decimals); equals the sum of MYCO balances.
    pub total_supply: U256,
    /// Reserve value in USD (WAD); equals the sum of vault values when vaults are listed.
    pub total_reserve: U256,
    /// Outflow pressure of the epoch (WAD).
    pub flow_pressure: U256,
    /// P-AMM redemption level `x` (WAD of MYCO), before decay.
    pub redemption_level: U256,
    /// When `redemption_level` was last updated (Unix seconds).
    pub redemption_updated: u64,
    /// Reserve vaults (tranches).
    pub vaults: Vec<Vault>,
}

/// One reserve vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    /// Stable identifier.
    pub id: String,
    /// Value in USD (WAD).
    pub value: U256,
    /// Target weight (WAD; the weights sum to 1).
    pub target_weight: U256,
}

#[cfg(test)]
mod tests;
