//! Withdrawal claims: what an epoch's state root commits to, leaf by leaf.
//!
//! Leaf = `keccak256(bytes.concat(keccak256(abi.encode(uint256 claimId, bytes32 account, address recipient,
//! uint256 mycoAmount, uint256 flowPenalty, uint64 epoch, uint256 priorRedeemed))))`, the same as
//! `USDCEscrow.leafOf`. `priorRedeemed` is the MYCO of the epoch's claims with smaller ids: each claim is paid
//! its own slice of the redemption curve.

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;

use super::{MerkleTree, WAD, pamm};
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
    /// MYCO redeemed by the epoch's claims with smaller ids.
    pub prior_redeemed: U256,
}

impl Claim {
    /// The claim's values in leaf order, as `@openzeppelin/merkle-tree`'s `StandardMerkleTree.of` takes them
    /// (decimal integers, hex bytes and addresses).
    pub fn standard_tree_values(&self) -> [String; 7] {
        [
            self.claim_id.to_string(),
            self.account.to_string(),
            self.recipient.to_string(),
            self.myco_amount.to_string(),
            self.flow_penalty.to_string(),
            self.epoch.to_string(),
            self.prior_redeemed.to_string(),
        ]
    }

    /// The claim's leaf hash.
    pub fn leaf(&self) -> B256 {
        let encoded = (
            self.claim_id,
            self.account,
            self.recipient,
            self.myco_amount,
            self.flow_penalty,
            self.epoch,
            self.prior_redeemed,
        )
            .abi_encode();
        keccak256(keccak256(encoded))
    }
}

/// The reserve figures committed with an epoch's root: the redemption state *before* the epoch's withdrawals,
/// from which the escrow pays each claim its slice of the curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommittedFigures {
    /// MYCO outstanding before the epoch's withdrawals (`y0`): the certified supply plus what they redeem.
    pub total_supply: U256,
    /// Reserve value (`b0`), WAD USD, as certified.
    pub total_reserve: U256,
    /// Redemption level (`x0`), WAD MYCO, decayed from its last update to the batch's time.
    pub flow_pressure: U256,
}

/// What the relayer computed for one epoch: its claims, their tree and root, and the figures to commit.
#[derive(Debug, Clone)]
pub struct EpochSettlement {
    /// The epoch.
    pub epoch: u64,
    /// The reserve figures committed with the root.
    pub figures: CommittedFigures,
    /// The claims, in the batch's order.
    pub claims: Vec<Claim>,
    /// The tree over the claims' leaves.
    pub tree: MerkleTree,
}

impl EpochSettlement {
    /// Computes the claims and the state root of a verified batch's state.
    pub fn compute(state: &BatchState) -> Self {
        // Each claim's slice starts where the epoch's claims with smaller ids end.
        let mut by_id: Vec<&crate::ingest::document::WithdrawalRequest> = state.withdrawals.iter().collect();
        by_id.sort_by_key(|w| w.claim_id);
        let mut prior = std::collections::BTreeMap::new();
        let mut running = U256::ZERO;
        for w in by_id {
            prior.insert(w.claim_id, running);
            running = running.saturating_add(w.amount);
        }
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
                prior_redeemed: prior[&w.claim_id],
            })
            .collect();
        let tree = MerkleTree::new(claims.iter().map(Claim::leaf).collect());
        let r = &state.reserve;
        let elapsed = state.timestamp.saturating_sub(r.redemption_updated);
        let figures = CommittedFigures {
            total_supply: r.total_supply.saturating_add(running),
            total_reserve: r.total_reserve,
            // A decay that cannot be computed (a level near 2^256) is committed undecayed: never lower.
            flow_pressure: pamm::decay(r.redemption_level, pamm::Params::default().decay, elapsed)
                .unwrap_or(r.redemption_level),
        };
        Self { epoch: state.epoch, figures, claims, tree }
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
