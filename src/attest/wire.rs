//! An attestation as `GET /v1/attestations/{epoch}` serves it (`docs/attestation.md` specifies it): the
//! commitment exactly as signed (every field; amounts as decimal strings), the signer, the 65-byte signature,
//! and the domain it is for.

use alloy::primitives::{Address, B256, Bytes, U256};
use serde::{Deserialize, Serialize};

use crate::chain::RootCommit;
use crate::ids::Epoch;
use crate::settle::CommittedFigures;

/// The commitment's fields under the names of the EIP-712 struct.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitmentFields {
    /// The epoch.
    pub epoch: u64,
    /// The previous epoch's state root.
    pub parent_root: B256,
    /// The state root.
    pub state_root: B256,
    /// The certified batch's digest.
    pub batch_digest: B256,
    /// MYCO supply before the epoch's withdrawals (decimal).
    pub total_supply: String,
    /// Reserve value, WAD USD (decimal).
    pub total_reserve: String,
    /// Redemption level, WAD MYCO (decimal).
    pub flow_pressure: String,
    /// The batch's timestamp.
    pub timestamp: u64,
}

/// One attester's signature of one commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// The EVM chain id of the domain.
    pub chain_id: u64,
    /// The `StateCommitment` of the domain.
    pub state_commitment: Address,
    /// The attester's address.
    pub signer: Address,
    /// The 65-byte (r, s, v) signature of the EIP-712 digest.
    pub signature: Bytes,
    /// What was signed.
    pub commitment: CommitmentFields,
}

impl From<&RootCommit> for CommitmentFields {
    fn from(r: &RootCommit) -> Self {
        Self {
            epoch: r.epoch.0,
            parent_root: r.parent_root,
            state_root: r.state_root,
            batch_digest: r.digest,
            total_supply: r.figures.total_supply.to_string(),
            total_reserve: r.figures.total_reserve.to_string(),
            flow_pressure: r.figures.flow_pressure.to_string(),
            timestamp: r.timestamp,
        }
    }
}

impl CommitmentFields {
    /// The commitment, if every amount is a decimal uint256.
    pub fn to_root(&self) -> Result<RootCommit, String> {
        let amount = |name: &str, text: &str| {
            U256::from_str_radix(text, 10).map_err(|e| format!("{name} {text:?} is not a decimal uint256: {e}"))
        };
        Ok(RootCommit {
            epoch: Epoch(self.epoch),
            state_root: self.state_root,
            parent_root: self.parent_root,
            digest: self.batch_digest,
            timestamp: self.timestamp,
            figures: CommittedFigures {
                total_supply: amount("totalSupply", &self.total_supply)?,
                total_reserve: amount("totalReserve", &self.total_reserve)?,
                flow_pressure: amount("flowPressure", &self.flow_pressure)?,
            },
        })
    }
}
