//! The reserve as the simulated validators track it: its vaults, and what the escrow pays out of it.

use alloy::primitives::U256;

use super::{MYCO_PER_USDC_UNIT, Network, VAULTS};
use crate::ingest::BatchState;
use crate::ingest::document::Vault;
use crate::settle::WAD;

impl Network {
    /// The reserve split over the vaults by target weight; the rounding remainder goes to the first vault.
    pub(super) fn vaults(&self) -> Vec<Vault> {
        let total = self.reserve_wad;
        let mut vaults: Vec<Vault> = VAULTS
            .iter()
            .map(|(id, pct)| Vault {
                id: (*id).to_string(),
                value: total * U256::from(*pct) / U256::from(100),
                target_weight: U256::from(WAD / 100) * U256::from(*pct),
            })
            .collect();
        let assigned: U256 = vaults.iter().map(|v| v.value).sum();
        vaults[0].value += total - assigned;
        vaults
    }
}

/// Claims of one batch, as they leave the reserve.
#[derive(Debug, Clone, Copy)]
pub(super) struct Redeemed {
    pub(super) myco: U256,
    pub(super) paid_usd: U256,
    pub(super) at: u64,
}

/// What the escrow pays for `state`'s claims: it leaves the reserve once they are paid.
pub(super) fn redeemed(state: &BatchState) -> Option<Redeemed> {
    // The simulated validators price with the default parameters, which the devnet deploys.
    let params = crate::settle::pamm::Params::default();
    // Payouts do not depend on where claims are paid; the default domain leaves the leaves unused.
    let settlement = crate::settle::EpochSettlement::compute(state, &params, Default::default());
    let paid_usd = settlement
        .claims
        .iter()
        .map(|c| c.usdc_payout(&settlement.figures, &params).unwrap_or_default() * U256::from(MYCO_PER_USDC_UNIT))
        .sum();
    // A reissued claim raised the redemption level when first requested.
    let reissued: std::collections::BTreeSet<U256> =
        state.withdrawals.iter().filter(|w| w.reissues.is_some()).map(|w| w.claim_id).collect();
    let myco = settlement.claims.iter().filter(|c| !reissued.contains(&c.claim_id)).map(|c| c.myco_amount).sum();
    (!settlement.claims.is_empty()).then_some(Redeemed { myco, paid_usd, at: state.timestamp })
}
