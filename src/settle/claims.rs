//! Withdrawal claims: what an epoch's state root commits to, leaf by leaf.
//!
//! Leaf = `keccak256(bytes.concat(keccak256(abi.encode(uint256 chainId, address escrow, uint256 claimId,
//! bytes32 account, address recipient, uint256 mycoAmount, uint256 flowPenalty, uint64 epoch,
//! uint256 priorRedeemed))))`, the same as `USDCEscrow.leafOf`. Chain id and escrow address are the claim's
//! domain: a root computed for one escrow pays nothing at another, on another chain, or after a redeployment.
//! `priorRedeemed` is the MYCO of the epoch's claims with smaller ids: each claim is paid its own slice of the
//! redemption curve.

use alloy::primitives::{Address, B256, U256, keccak256};

use super::fixed::{self, MathError};
use super::{MerkleTree, flow, pamm};
use crate::ingest::BatchState;
use crate::ingest::document::FlowTracker;
use crate::ingest::intent::Token;
use crate::parallel;

/// USDC units → WAD.
const WAD_PER_USDC_UNIT: U256 = U256::from_limbs([1_000_000_000_000, 0, 0, 0]);

/// Where claims are paid: the chain and the escrow their leaves are bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClaimDomain {
    /// The EVM chain id.
    pub chain_id: u64,
    /// The escrow's address.
    pub escrow: Address,
}

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
    /// The claim's values in leaf order, domain first, as `@openzeppelin/merkle-tree`'s `StandardMerkleTree.of`
    /// takes them (decimal integers, hex bytes and addresses).
    pub fn standard_tree_values(&self, domain: &ClaimDomain) -> [String; 9] {
        [
            domain.chain_id.to_string(),
            domain.escrow.to_string(),
            self.claim_id.to_string(),
            self.account.to_string(),
            self.recipient.to_string(),
            self.myco_amount.to_string(),
            self.flow_penalty.to_string(),
            self.epoch.to_string(),
            self.prior_redeemed.to_string(),
        ]
    }

    /// The claim's leaf hash in `domain`.
    pub fn leaf(&self, domain: &ClaimDomain) -> B256 {
        keccak256(keccak256(self.leaf_preimage(domain)))
    }

    /// `abi.encode` of the leaf's nine values, each in its own 32-byte word, written on the stack: a tree of a
    /// million claims allocates nothing per leaf.
    fn leaf_preimage(&self, domain: &ClaimDomain) -> [u8; 9 * 32] {
        let mut out = [0u8; 9 * 32];
        // Word `i` holds `bytes` right-aligned, as ABI encoding pads addresses and integers on the left.
        let mut word = |i: usize, bytes: &[u8]| out[32 * (i + 1) - bytes.len()..32 * (i + 1)].copy_from_slice(bytes);
        word(0, &domain.chain_id.to_be_bytes());
        word(1, domain.escrow.as_slice());
        word(2, &self.claim_id.to_be_bytes::<32>());
        word(3, self.account.as_slice());
        word(4, self.recipient.as_slice());
        word(5, &self.myco_amount.to_be_bytes::<32>());
        word(6, &self.flow_penalty.to_be_bytes::<32>());
        word(7, &self.epoch.to_be_bytes());
        word(8, &self.prior_redeemed.to_be_bytes::<32>());
        out
    }

    /// The USDC (6 decimals) the escrow pays for this claim under `figures`, exactly as `USDCEscrow._payout`:
    /// the claim's slice of the P-AMM curve, divided by its flow penalty, then WAD to USDC, each step rounding
    /// down. A penalty below 1.0 is refused (the escrow reverts), never applied.
    pub fn usdc_payout(&self, figures: &CommittedFigures, params: &pamm::Params) -> fixed::Result<U256> {
        if self.flow_penalty < fixed::ONE {
            return Err(MathError::PenaltyBelowOne);
        }
        let s0 = pamm::State { x: figures.flow_pressure, b: figures.total_reserve, y: figures.total_supply };
        let before = pamm::redeem(&s0, self.prior_redeemed, params)?;
        let through = pamm::redeem(&s0, fixed::add(self.prior_redeemed, self.myco_amount)?, params)?;
        let usd = through.saturating_sub(before);
        Ok(fixed::mul_div(usd, fixed::ONE, self.flow_penalty)? / WAD_PER_USDC_UNIT)
    }
}

/// The leaves of `claims` in `domain`, in order; a large set is hashed on every core.
pub fn leaves(claims: &[Claim], domain: &ClaimDomain) -> Vec<B256> {
    let mut out = vec![B256::ZERO; claims.len()];
    parallel::map_into(claims, &mut out, super::merkle::PARALLEL_FROM, |c| c.leaf(domain));
    out
}

/// The flow penalty attested for every claim of `account` in an epoch (docs/settlement-math.md, "Flow dampening"), from the certified
/// tracker and balance. The certified state is the epoch's end state, so the tracker already holds the epoch's
/// outflow; the flow used is the larger of the tracker's flow decayed to the batch time and what the account
/// withdraws in this epoch, so a tracker that lags its own withdrawals cannot lower the penalty. The balance is
/// the one before the epoch's withdrawals. An account without a tracker gets the default memory and threshold;
/// a penalty that cannot be computed (a figure near 2^256) is the cap. All claims of one account in one epoch
/// share its penalty, so it does not depend on their order.
pub fn attested_penalty(tracker: Option<&FlowTracker>, withdrawn: U256, balance_after: U256, at: u64) -> U256 {
    let compute = || -> fixed::Result<U256> {
        let (decayed, threshold) = match tracker {
            Some(t) => (flow::decayed(t, at)?, t.threshold),
            None => (U256::ZERO, flow::DEFAULT_THRESHOLD),
        };
        flow::penalty(decayed.max(withdrawn), fixed::add(balance_after, withdrawn)?, threshold)
    };
    compute().unwrap_or(flow::MAX_PENALTY)
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
    /// Where its claims are paid.
    pub domain: ClaimDomain,
    /// The reserve figures committed with the root.
    pub figures: CommittedFigures,
    /// The claims, in the batch's order.
    pub claims: Vec<Claim>,
    /// The claims' leaves, in the claims' order (hashed once, for the tree and for storing).
    pub leaves: Vec<B256>,
    /// The tree over the claims' leaves.
    pub tree: MerkleTree,
}

impl EpochSettlement {
    /// Computes the claims and the state root of a verified batch's state, its leaves bound to `domain`; the
    /// committed flow pressure is the batch's redemption level decayed to its timestamp with `params.decay` (the
    /// escrow's).
    pub fn compute(state: &BatchState, params: &pamm::Params, domain: ClaimDomain) -> Self {
        let (claims, figures) = Self::claims(state, params);
        let leaves = leaves(&claims, &domain);
        let tree = MerkleTree::new(leaves.clone());
        Self { epoch: state.epoch, domain, figures, claims, leaves, tree }
    }

    /// [`EpochSettlement::compute`]'s claims and figures without their tree, for what a claim is quoted to pay.
    pub fn claims(state: &BatchState, params: &pamm::Params) -> (Vec<Claim>, CommittedFigures) {
        // Each claim's slice starts where the epoch's claims with smaller ids end.
        let mut by_id: Vec<&crate::ingest::document::WithdrawalRequest> = state.withdrawals.iter().collect();
        by_id.sort_by_key(|w| w.claim_id);
        let mut prior = std::collections::BTreeMap::new();
        let mut withdrawn = std::collections::BTreeMap::<B256, U256>::new();
        let mut running = U256::ZERO;
        for w in by_id {
            prior.insert(w.claim_id, running);
            running = running.saturating_add(w.amount);
            let sum = withdrawn.entry(w.account).or_default();
            *sum = sum.saturating_add(w.amount);
        }
        let penalties: std::collections::BTreeMap<B256, U256> = withdrawn
            .iter()
            .map(|(account, &sum)| {
                let balance = state.balance(Token::Myco, account);
                (*account, attested_penalty(state.flows.get(account), sum, balance, state.timestamp))
            })
            .collect();
        let claims: Vec<Claim> = state
            .withdrawals
            .iter()
            .map(|w| Claim {
                claim_id: w.claim_id,
                account: w.account,
                recipient: w.recipient,
                myco_amount: w.amount,
                flow_penalty: penalties[&w.account],
                epoch: state.epoch,
                prior_redeemed: prior[&w.claim_id],
            })
            .collect();
        let r = &state.reserve;
        let elapsed = state.timestamp.saturating_sub(r.redemption_updated);
        let figures = CommittedFigures {
            total_supply: r.total_supply.saturating_add(running),
            total_reserve: r.total_reserve,
            // A decay that cannot be computed (a level near 2^256) is committed undecayed: never lower.
            flow_pressure: pamm::decay(r.redemption_level, params.decay, elapsed).unwrap_or(r.redemption_level),
        };
        (claims, figures)
    }

    /// The state root.
    pub fn root(&self) -> B256 {
        self.tree.root()
    }

    /// The leaf of `claim` in this settlement's domain.
    pub fn leaf(&self, claim: &Claim) -> B256 {
        claim.leaf(&self.domain)
    }

    /// The proof of `claim`.
    pub fn proof(&self, claim: &Claim) -> Vec<B256> {
        self.leaf_and_proof(claim).1
    }

    /// The leaf of the `i`-th claim and where it sits among the tree's nodes (`MerkleTree::nodes`).
    pub fn leaf_and_index(&self, i: usize) -> (B256, usize) {
        let leaf = self.leaves[i];
        // Every claim of this settlement is a leaf of its tree, by construction.
        (leaf, self.tree.index_of(&leaf).expect("claim of this epoch is in its tree"))
    }

    /// The leaf of `claim` and its proof, the leaf hashed once.
    pub fn leaf_and_proof(&self, claim: &Claim) -> (B256, Vec<B256>) {
        let leaf = self.leaf(claim);
        // Every claim of this settlement is a leaf of its tree, by construction.
        (leaf, self.tree.proof(&leaf).expect("claim of this epoch is in its tree"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::document::WithdrawalRequest;
    use fixed::ONE;

    fn myco(x: u64) -> U256 {
        U256::from(x) * ONE
    }

    fn tracker(flow: u64, t_last: u64) -> FlowTracker {
        FlowTracker { flow: myco(flow), t_last, memory: flow::DEFAULT_MEMORY, threshold: flow::DEFAULT_THRESHOLD }
    }

    proptest::proptest! {
        /// The preimage written word by word on the stack is alloy's `abi_encode` of the same nine values.
        #[test]
        fn the_leaf_preimage_is_the_abi_encoding(
            words in proptest::prelude::any::<[[u64; 4]; 5]>(), addresses in proptest::prelude::any::<[[u8; 20]; 2]>(),
            account in proptest::prelude::any::<[u8; 32]>(), chain_id: u64, epoch: u64,
        ) {
            use alloy::sol_types::SolValue;
            let [claim_id, myco_amount, flow_penalty, prior_redeemed, _] = words.map(U256::from_limbs);
            let domain = ClaimDomain { chain_id, escrow: Address::from(addresses[0]) };
            let claim = Claim {
                claim_id, account: B256::from(account), recipient: Address::from(addresses[1]), myco_amount,
                flow_penalty, epoch, prior_redeemed,
            };
            let encoded = (
                U256::from(chain_id), domain.escrow, claim_id, claim.account, claim.recipient, myco_amount,
                flow_penalty, epoch, prior_redeemed,
            ).abi_encode();
            proptest::prop_assert_eq!(claim.leaf_preimage(&domain).to_vec(), encoded);
        }
    }

    #[test]
    fn small_outflow_pays_no_penalty() {
        // 5 of a 100 balance is within the 10% threshold.
        assert_eq!(attested_penalty(Some(&tracker(5, 1_000)), myco(5), myco(95), 1_000), ONE);
    }

    #[test]
    fn penalty_squares_the_excess_over_the_threshold() {
        // Flow 15 against 10% of 100: ratio 1.5, penalty 2.25.
        let p = attested_penalty(Some(&tracker(15, 1_000)), myco(15), myco(85), 1_000);
        assert_eq!(p, U256::from(2_250_000_000_000_000_000u64));
    }

    #[test]
    fn a_lagging_or_missing_tracker_cannot_lower_the_penalty() {
        // The tracker says 1, but the account withdraws 15 of 100 in this epoch.
        let lagging = attested_penalty(Some(&tracker(1, 1_000)), myco(15), myco(85), 1_000);
        let missing = attested_penalty(None, myco(15), myco(85), 1_000);
        assert_eq!(lagging, U256::from(2_250_000_000_000_000_000u64));
        assert_eq!(missing, lagging);
    }

    #[test]
    fn old_flow_decays() {
        // Flow 50 an hour ago at memory 0.999/s is ~1.4 now: below 10% of 100, so only this epoch's 5 counts.
        assert_eq!(attested_penalty(Some(&tracker(50, 0)), myco(5), myco(95), 3_600), ONE);
    }

    #[test]
    fn everything_withdrawn_pays_the_cap() {
        assert_eq!(attested_penalty(None, myco(10), U256::ZERO, 0), flow::MAX_PENALTY);
    }

    fn state_with(withdrawals: Vec<WithdrawalRequest>) -> BatchState {
        let mut state = BatchState { epoch: 3, timestamp: 1_000, ..Default::default() };
        state.reserve.total_supply = myco(1_000);
        state.reserve.total_reserve = myco(1_000);
        for w in &withdrawals {
            state.balances.entry(Token::Myco).or_default().insert(w.account, myco(40));
        }
        state.withdrawals = withdrawals;
        state
    }

    fn request(id: u64, account: u8, amount: u64) -> WithdrawalRequest {
        WithdrawalRequest {
            claim_id: U256::from(id),
            account: B256::repeat_byte(account),
            amount: myco(amount),
            recipient: Address::repeat_byte(account),
            reissues: None,
        }
    }

    #[test]
    fn claims_of_one_account_share_its_penalty_whatever_their_order() {
        // Account 1 withdraws 4 + 6 of 50 (20%: penalty 4.0); account 2 withdraws 1 of 41 (no penalty).
        let requests = vec![request(7, 1, 4), request(8, 2, 1), request(9, 1, 6)];
        let mut reversed = requests.clone();
        reversed.reverse();
        let a = EpochSettlement::compute(&state_with(requests), &pamm::Params::default(), ClaimDomain::default());
        let b = EpochSettlement::compute(&state_with(reversed), &pamm::Params::default(), ClaimDomain::default());
        assert_eq!(a.root(), b.root());
        let penalty_of = |id: u64| a.claims.iter().find(|c| c.claim_id == U256::from(id)).unwrap().flow_penalty;
        assert_eq!(penalty_of(7), flow::MAX_PENALTY);
        assert_eq!(penalty_of(9), flow::MAX_PENALTY);
        assert_eq!(penalty_of(8), ONE);
    }

    #[test]
    fn payout_at_par_is_the_amount_divided_by_the_penalty() {
        let figures =
            CommittedFigures { total_supply: myco(1_000), total_reserve: myco(1_000), flow_pressure: U256::ZERO };
        let mut claim = Claim {
            claim_id: U256::from(1),
            account: B256::ZERO,
            recipient: Address::ZERO,
            myco_amount: myco(9),
            flow_penalty: U256::from(2_250_000_000_000_000_000u64),
            epoch: 1,
            prior_redeemed: myco(3),
        };
        // 9 USD / 2.25 = 4 USDC.
        assert_eq!(claim.usdc_payout(&figures, &pamm::Params::default()), Ok(U256::from(4_000_000)));
        claim.flow_penalty = ONE - U256::from(1);
        assert_eq!(claim.usdc_payout(&figures, &pamm::Params::default()), Err(MathError::PenaltyBelowOne));
    }

    proptest::proptest! {
        /// The CRDT property: the order withdrawals appear in the document changes nothing committed.
        #[test]
        fn withdrawal_order_changes_nothing(
            asks in proptest::collection::vec((0u8..4, 1u64..500), 1..12),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let requests: Vec<WithdrawalRequest> =
                asks.iter().enumerate().map(|(i, (account, amount))| request(i as u64 + 1, *account, *amount)).collect();
            let mut state = state_with(requests.clone());
            state.flows.insert(B256::repeat_byte(1), tracker(30, 900));
            let mut shuffled = state.clone();
            let mut rng = crate::rng::SplitMix64(seed);
            for i in (1..shuffled.withdrawals.len()).rev() {
                shuffled.withdrawals.swap(i, rng.below(i + 1));
            }
            let p = pamm::Params::default();
            let (a, b) = (EpochSettlement::compute(&state, &p, ClaimDomain::default()), EpochSettlement::compute(&shuffled, &p, ClaimDomain::default()));
            proptest::prop_assert_eq!(a.root(), b.root());
            proptest::prop_assert_eq!(a.figures, b.figures);
            let sorted = |s: &EpochSettlement| {
                let mut c = s.claims.clone();
                c.sort_by_key(|c| c.claim_id);
                c
            };
            proptest::prop_assert_eq!(sorted(&a), sorted(&b));
        }
    }
}
