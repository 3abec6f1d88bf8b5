//! Everything the settlement math computes for one epoch, in one place: the batch auction, flow penalties,
//! how credited deposits split over the reserve vaults, P-AMM quotes for the withdrawal claims, and the state
//! root with each claim's proof. `myco-bridge inspect-batch` prints it as JSON.

use alloy::primitives::U256;
use serde_json::{Value, json};

use super::fixed::{self, ONE};
use super::{EpochSettlement, cow, flow, pamm, tranche};
use crate::ingest::BatchState;
use crate::ingest::intent::Token;

/// USDC units → WAD.
const WAD_PER_USDC_UNIT: u64 = 1_000_000_000_000;

/// The computed outputs of one epoch.
#[derive(Debug, Clone)]
pub struct EpochOutputs {
    /// The batch auction at the given spot price.
    pub auction: cow::Auction,
    /// Per claim, the flow penalty its account's outflow earns (WAD).
    pub penalties: Vec<U256>,
    /// Per claim, the USD (WAD) the P-AMM pays for its slice of the curve (before the flow penalty).
    pub payouts: Vec<U256>,
    /// How the epoch's credited deposits split over the vaults (WAD USD per vault), if there are vaults.
    pub deposit_split: Option<Result<Vec<U256>, tranche::SplitError>>,
    /// Claims, root and proofs.
    pub settlement: EpochSettlement,
}

impl EpochOutputs {
    /// Computes the outputs of `state` with the curve at `spot` (WAD USD per MYCO) and P-AMM `params`.
    pub fn compute(state: &BatchState, spot: U256, params: &pamm::Params) -> fixed::Result<Self> {
        let auction = cow::auction(&state.intents, &state.balances, state.timestamp, spot)?;
        let settlement = EpochSettlement::compute(state);

        let mut penalties = Vec::with_capacity(state.withdrawals.len());
        for w in &state.withdrawals {
            let penalty = match state.flows.get(&w.account) {
                Some(tracker) => {
                    let after = flow::record(tracker, w.amount, state.timestamp)?;
                    let balance = fixed::add(state.balance(Token::Myco, &w.account), w.amount)?;
                    flow::penalty(after.flow, balance, tracker.threshold)?
                }
                None => ONE,
            };
            penalties.push(penalty);
        }

        // Each claim pays its own slice of the curve from the committed (pre-withdrawal) state, as the escrow does.
        let f = settlement.figures;
        let s0 = pamm::State { x: f.flow_pressure, b: f.total_reserve, y: f.total_supply };
        let mut payouts = Vec::with_capacity(settlement.claims.len());
        for c in &settlement.claims {
            let before = pamm::redeem(&s0, c.prior_redeemed, params)?;
            let through = pamm::redeem(&s0, fixed::add(c.prior_redeemed, c.myco_amount)?, params)?;
            payouts.push(through.saturating_sub(before));
        }
        let r = &state.reserve;

        let deposit_split = (!r.vaults.is_empty()).then(|| {
            let usd: U256 = state.deposits.iter().map(|d| d.amount * U256::from(WAD_PER_USDC_UNIT)).sum();
            tranche::split_deposit(&r.vaults, usd)
        });
        Ok(Self { auction, penalties, payouts, deposit_split, settlement })
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
                    "flow_penalty_attested": c.flow_penalty.to_string(),
                    "flow_penalty_computed": self.penalties[i].to_string(),
                    "pamm_payout_usd": self.payouts[i].to_string(),
                    "leaf": c.leaf().to_string(),
                    "proof": self.settlement.proof(c).iter().map(|h| h.to_string()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let split = match &self.deposit_split {
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
        };
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
            "deposit_split": split,
            "claims": claims,
        })
    }
}
