//! The Automerge document of one epoch's committed state: its types, and how they are read and written.
//!
//! `docs/batch-format.md` is the normative description. In short: token amounts and fixed-point figures are
//! canonical decimal strings (Automerge integers are 64-bit, amounts are not); epochs, timestamps and deposit ids
//! are non-negative Automerge integers; keys, ids and signatures are `0x` hex strings; unknown fields are ignored.

pub mod footprint;
mod guard;
mod read;
mod text;
mod write;

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};

pub use text::parse_amount;

use super::intent::{Intent, Token};
use super::mint::Mint;

/// The newest document schema version: what this code writes. Version 1 is read too (see [`BatchState::ledger`]).
pub const SCHEMA_VERSION: u64 = 2;

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
    /// Version 2's ledger sections (`None` for a version 1 document): everything besides deposits and
    /// withdrawals that changes supply, balances or the reserve from the previous batch's, term by term.
    pub ledger: Option<LedgerFlows>,
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
    /// When this request reissues a claim first committed in an earlier epoch whose commitment the guardian
    /// cancelled: that epoch. The claim keeps its id (the escrow's paid bit stays the nullifier, so it pays once
    /// whichever commitment pays it), its account and its amount; its MYCO left the balances when it was first
    /// requested, so a reissue debits nothing again. `None` for a new request.
    pub reissues: Option<u64>,
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

/// The sections of a version 2 document that explain how the state moved since the previous batch
/// (docs/batch-format.md, "Ledger flows").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LedgerFlows {
    /// Labor attestations: the only source of new MYCO.
    pub mints: Vec<Mint>,
    /// Certified changes in a vault's value that no deposit or withdrawal explains.
    pub revaluations: Vec<Revaluation>,
    /// Earlier epochs' auction results this batch applies to balances.
    pub settlements: Vec<AppliedSettlement>,
    /// The part of `reserve.total_reserve` held by the escrow as USDC (WAD USD): it can never exceed what the
    /// escrow holds less what it still owes.
    pub onchain_reserve: U256,
}

/// A certified change in a vault's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revaluation {
    /// The vault.
    pub vault: String,
    /// Whether the vault lost value (else it gained).
    pub loss: bool,
    /// By how much (WAD USD), > 0.
    pub amount: U256,
    /// Why, for people (at most [`MAX_REASON_BYTES`] bytes).
    pub reason: String,
}

/// The longest revaluation reason accepted, in bytes.
pub const MAX_REASON_BYTES: usize = 256;

/// Epoch `epoch`'s auction result, applied to balances by a later batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedSettlement {
    /// The epoch whose auction this is (settled on chain before this batch).
    pub epoch: u64,
    /// What each intent that traded gave and got, peer to peer and from the curve together.
    pub fills: Vec<SettledFill>,
}

/// One intent's settled trade: its maker gave `sold` of `sell_token` and got `bought` of the other token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SettledFill {
    /// The maker.
    pub maker: B256,
    /// The intent's id.
    pub intent: B256,
    /// The token the maker gave.
    pub sell_token: Token,
    /// How much it gave.
    pub sold: U256,
    /// How much of the other token it got.
    pub bought: U256,
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
mod mutants;
#[cfg(test)]
mod tests;
