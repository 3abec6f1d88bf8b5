//! Everything the settlement math computes for one epoch, in one place: the batch auction, flow penalties,
//! how credited deposits split over the reserve vaults, P-AMM quotes for the withdrawal claims, and the state
//! root with each claim's proof. `myco-bridge inspect-batch` prints it as JSON.

use alloy::primitives::U256;
use serde_json::{Value, json};

use super::fixed::{self, ONE};
use super::{ClaimDomain, EpochSettlement, cow, pamm, tranche};
use crate::ingest::BatchState;

/// USDC units → WAD.
const WAD_PER_USDC_UNIT: u64 = 1_000_000_000_000;

/// The computed outputs of one epoch.
#[derive(Debug, Clone)]
pub struct EpochOutputs {
    /// The batch auction at the given spot price.
    pub auction: cow::Auction,
    /// Per claim, the USD (WAD) the P-AMM pays for its slice of the curve (before the flow penalty).
    pub slices: Vec<U256>,
    /// Per claim, the USDC (6 decimals) the escrow pays: the slice divided by the claim's flow penalty.
    pub payouts: Vec<U256>,
    /// The epoch's average redemption rate (WAD USD per MYCO over all its claims, before penalties), or the
    /// marginal rate at the committed state when nothing is redeemed.
    pub pamm_rate: U256,
    /// How the epoch's credited deposits split over the vaults (WAD USD per vault), if there are vaults.
    pub deposit_split: Option<Result<Vec<U256>, tranche::SplitError>>,
    /// Claims, root and proofs.
    pub settlement: EpochSettlement,
}

impl EpochOutputs {
    /// Computes the outputs of `state` with the curve at `spot` (WAD USD per MYCO), P-AMM `params`, and claims
    /// bound to `domain`.
    pub fn compute(state: &BatchState, spot: U256, params: &pamm::Params, domain: ClaimDomain) -> fixed::Result<Self> {
        let auction = cow::auction(&state.intents, &state.balances, state.timestamp, spot)?;
        let settlement = EpochSettlement::compute(state, params, domain);

        let Redemptions { slices, payouts, pamm_rate } = Redemptions::compute(&settlement, params)?;
        let deposit_split = deposit_split(state);
        Ok(Self { auction, slices, payouts, pamm_rate, deposit_split, settlement })
    }

    /// The outputs as JSON (amounts as decimal strings).
    pub fn to_json(&self, state: &BatchState) -> Value {
        let a = &self.auction;
        let net = |o: &Option<cow::NetOrder>| {
            o.as_ref().map(|o| json!({ "amount": o.amount.to_string(), "min_out": o.min_out.to_string(), "intents": o.intents.len() }))
        };
        let claims: Vec<Value> = self
            .settlement
            .claims
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({
                    "claim_id": c.claim_id.to_string(),
                    "account": c.account.to_string(),
                    "recipient": c.recipient.to_string(),
                    "myco_amount": c.myco_amount.to_string(),
                    "flow_penalty": c.flow_penalty.to_string(),
                    "prior_redeemed": c.prior_redeemed.to_string(),
                    "pamm_slice_usd": self.slices[i].to_string(),
                    "payout_usdc": self.payouts[i].to_string(),
                    "leaf": self.settlement.leaf(c).to_string(),
                    "proof": self.settlement.proof(c).iter().map(|h| h.to_string()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let split = deposit_split_json(state, &self.deposit_split);
        json!({
            "epoch": state.epoch,
            "state_root": self.settlement.root().to_string(),
            "auction": {
                "clearing_price": a.price.map(|p| p.to_string()),
                "matched_myco": a.matched_myco.to_string(),
                "fills": a.fills.len(),
                "surplus_usd": a.surplus_usd.to_string(),
                "dust_usdc": a.dust_usdc.to_string(),
                "net_sell": net(&a.net_sell),
                "net_buy": net(&a.net_buy),
                "excluded": a.excluded.len(),
            },
            "committed_figures": {
                "total_supply": self.settlement.figures.total_supply.to_string(),
                "total_reserve": self.settlement.figures.total_reserve.to_string(),
                "flow_pressure": self.settlement.figures.flow_pressure.to_string(),
            },
            "pamm_rate": self.pamm_rate.to_string(),
            "deposit_split": split,
            "claims": claims,
        })
    }
}

/// What an epoch's claims redeem: each claim's slice of the P-AMM curve and its USDC payout, and the rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemptions {
    /// Per claim, the USD (WAD) of its slice of the curve (before the flow penalty).
    pub slices: Vec<U256>,
    /// Per claim, the USDC (6 decimals) the escrow pays.
    pub payouts: Vec<U256>,
    /// The epoch's average rate (WAD USD per MYCO, before penalties); see [`EpochOutputs::pamm_rate`].
    pub pamm_rate: U256,
}

impl Redemptions {
    /// Each claim pays its own slice of the curve from the committed (pre-withdrawal) state, as the escrow does.
    pub fn compute(settlement: &EpochSettlement, params: &pamm::Params) -> fixed::Result<Self> {
        let f = settlement.figures;
        let s0 = pamm::State { x: f.flow_pressure, b: f.total_reserve, y: f.total_supply };
        let mut slices = Vec::with_capacity(settlement.claims.len());
        let mut payouts = Vec::with_capacity(settlement.claims.len());
        for c in &settlement.claims {
            let before = pamm::redeem(&s0, c.prior_redeemed, params)?;
            let through = pamm::redeem(&s0, fixed::add(c.prior_redeemed, c.myco_amount)?, params)?;
            slices.push(through.saturating_sub(before));
            payouts.push(c.usdc_payout(&f, params)?);
        }
        let pamm_rate = pamm_rate(&s0, settlement.claims.iter().map(|c| c.myco_amount).sum(), params)?;
        Ok(Self { slices, payouts, pamm_rate })
    }
}

/// How the epoch's credited deposits split over the reserve vaults (WAD USD per vault), if it lists vaults.
pub fn deposit_split(state: &BatchState) -> Option<Result<Vec<U256>, tranche::SplitError>> {
    let vaults = &state.reserve.vaults;
    (!vaults.is_empty()).then(|| {
        let usd: U256 = state.deposits.iter().map(|d| d.amount * U256::from(WAD_PER_USDC_UNIT)).sum();
        tranche::split_deposit(vaults, usd)
    })
}

/// The deposit split as JSON: `[{vault, deposit_usd}]`, `{error}`, or null.
pub fn deposit_split_json(state: &BatchState, split: &Option<Result<Vec<U256>, tranche::SplitError>>) -> Value {
    match split {
        None => Value::Null,
        Some(Ok(amounts)) => json!(
            state
                .reserve
                .vaults
                .iter()
                .zip(amounts)
                .map(|(v, x)| json!({ "vault": v.id, "deposit_usd": x.to_string() }))
                .collect::<Vec<_>>()
        ),
        Some(Err(e)) => json!({ "error": e.to_string() }),
    }
}

/// The average rate (WAD USD per MYCO) of redeeming `total` MYCO from `s0`. With nothing redeemed it is the
/// rate of the first MYCO (or of the whole supply, if that is less); with no supply, par.
fn pamm_rate(s0: &pamm::State, total: U256, params: &pamm::Params) -> fixed::Result<U256> {
    if s0.y.is_zero() {
        return Ok(ONE);
    }
    let amount = if total.is_zero() { ONE.min(s0.y) } else { total };
    fixed::div_down(pamm::redeem(s0, amount, params)?, amount)
}
