//! Withdrawal claims: what an epoch's state root commits to, leaf by leaf.
//!
//! Leaf = `keccak256(bytes.concat(keccak256(abi.encode(uint256 claimId, bytes32 account, address recipient,
//! uint256 mycoAmount, uint256 flowPenalty, uint64 epoch))))`, the same as `USDCEscrow.leafOf`.

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;

use super::{MerkleTree, WAD};
use crate::ingest::BatchState;

/// One withdrawal claim as it appears in the state root and is paid by the escrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Unique across all epochs.
    pub claim_id: U256,
    /// The off-chain account debited.
    pub account: B256,
    /// Who receives the USDC.
    pub recipient: Address,
    /// MYCO redeemed (18 decimals).
    pub myco_amount: U256,
    /// Flow-dampening penalty (WAD, ≥ 1.0).
    pub flow_penalty: U256,
    /// The epoch whose root holds the claim.
    pub epoch: u64,
}

impl Claim {
    /// The claim's leaf hash.
    pub fn leaf(&self) -> B256 {
        let encoded =
            (self.claim_id, self.account, self.recipient, self.myco_amount, self.flow_penalty, self.epoch).abi_encode();
        keccak256(keccak256(encoded))
    }
}

/// What the relayer computed for one epoch: its claims, their tree and root.
#[derive(Debug, Clone)]
pub struct EpochSettlement {
    /// The epoch.
    pub epoch: u64,
    /// The claims, in the batch's order.
    pub claims: Vec<Claim>,
    /// The tree over the claims' leaves.
    pub tree: MerkleTree,
}

impl EpochSettlement {
    /// Computes the claims and the state root of a verified batch's state.
    pub fn compute(state: &BatchState) -> Self {
        let claims: Vec<Claim> = state
            .withdrawals
            .iter()
            .map(|w| Claim {
                claim_id: w.claim_id,
                account: w.account,
                recipient: w.recipient,
                myco_amount: w.amount,
                // Flow dampening arrives with the settlement math; until then no penalty (1.0).
                flow_penalty: U256::from(WAD),
                epoch: state.epoch,
            })
            .collect();
        let tree = MerkleTree::new(claims.iter().map(Claim::leaf).collect());
        Self { epoch: state.epoch, claims, tree }
    }

    /// The state root.
    pub fn root(&self) -> B256 {
        self.tree.root()
    }

    /// The proof of `claim`.
    pub fn proof(&self, claim: &Claim) -> Vec<B256> {
        // Every claim of this settlement is a leaf of its tree, by construction.
        self.tree.proof(&claim.leaf()).expect("claim of this epoch is in its tree")
    }
}
