//! Settlement math: pure functions of a verified batch (no I/O, no async).
//!
//! - [`claims`]: the withdrawal claims an epoch certifies, and their Merkle leaves.
//! - [`cow`]: the batch auction: peer-to-peer matching at a uniform price, net curve orders.
//! - [`execution`]: which net orders the curve can execute against the settlement float, and their quotes.
//! - [`fixed`]: WAD fixed-point arithmetic, bit-exact with `FixedPoint.sol`.
//! - [`flow`]: flow dampening: decaying outflow memory, penalties, CRDT merge.
//! - [`curve`]: the bonding curve's quotes, bit-exact with `CurveMath.sol`.
//! - [`outputs`]: every computed output of one epoch together (what `inspect-batch` prints).
//! - [`pamm`]: the P-AMM redemption curve (anchor reconstruction, redemption payout).
//! - [`tranche`]: reserve tranche splits (water-filling) and the band check.
//! - [`merkle`]: the OpenZeppelin `StandardMerkleTree`-compatible state root and proofs.

pub mod claims;
pub mod conservation;
pub mod cow;
pub mod curve;
pub mod execution;
pub mod fixed;
pub mod flow;
pub mod merkle;
pub mod outputs;
pub mod pamm;
pub mod tranche;

#[cfg(test)]
mod accepted_input_tests;

pub use claims::{Claim, ClaimDomain, CommittedFigures, EpochSettlement};
pub use merkle::MerkleTree;

/// 1.0 in WAD fixed point.
pub const WAD: u128 = 1_000_000_000_000_000_000;
