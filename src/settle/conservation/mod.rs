//! The conservation audit (docs/settlement-math.md, "Conservation between epochs"): between two consecutive
//! certified batches every change of MYCO supply, USDC balances and the reserve is explained by a named flow,
//! exactly, and what the escrow holds covers the reserve's on-chain part. A pure function of the two batches and
//! what the chain says happened in between ([`Context`]), so the relayer, an attester and an auditor compute the
//! same [`Terms`] or the same [`Violation`].
//!
//! ```text
//! MYCO supply   after = before + minted + settled in − settled out − withdrawn
//! USDC balances after = before + deposited + settled in − settled out
//! reserve       after = before + deposited + revalued up − paid − revalued down
//! reserve.onchain ≤ (escrow USDC − what committed claims still owe) · 1e12
//! ```

mod expected;
mod issuance;
mod run_protection;
mod terms;
#[cfg(test)]
mod tests;
mod vaults;

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{B256, U256};

pub use expected::{ExecutedLeg, expected_fills};
pub use issuance::{Issuance, MintHistory};
pub use terms::{Line, OnChain, Terms};
pub use vaults::next_vaults;

use crate::ingest::BatchState;
use crate::ingest::document::SettledFill;
use crate::ingest::intent::Token;

/// USDC units → WAD USD.
pub const WAD_PER_USDC_UNIT: U256 = U256::from_limbs([1_000_000_000_000, 0, 0, 0]);

/// The protocol's rules the audit enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// An epoch's executed settlement must be applied by a batch at most this many epochs later.
    pub settle_within_epochs: u64,
    /// Who may attest labor, and how much a contributor may be minted.
    pub issuance: Issuance,
    /// Each vault's relative band around its target weight (WAD; 0.1 lets a 50% target sit in 45–55%).
    pub band: U256,
}

impl Default for Policy {
    /// Settlements applied within 8 epochs; the default 10% band; no labor attesters (nothing may mint), and
    /// once some are configured at most 100,000 MYCO per contributor per 24 epochs, one mint per epoch.
    fn default() -> Self {
        Self {
            settle_within_epochs: 8,
            issuance: Issuance {
                attesters: Default::default(),
                max_per_window: U256::from(100_000u64) * U256::from(crate::settle::WAD),
                window_epochs: 24,
                cooldown_epochs: 1,
            },
            band: crate::settle::tranche::DEFAULT_BAND,
        }
    }
}

/// Where an earlier epoch's settlement stands when a batch is audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Executed on chain, not applied yet: the fills a batch must apply.
    Pending(Vec<SettledFill>),
    /// Applied by the batch of this epoch.
    Applied(u64),
}

/// What the escrow holds and owes, in USDC units, when a batch is audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holdings {
    /// `USDC.balanceOf(escrow)`.
    pub escrow_usdc: U256,
    /// What committed claims that are neither paid nor cancelled will pay.
    pub owed_usdc: U256,
}

/// Everything besides the batch itself that the audit of it reads.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The chain id batches are certified for (mint signatures are bound to it).
    pub chain_id: u64,
    /// The previous epoch's batch (`None` for epoch 1).
    pub previous: Option<std::sync::Arc<BatchState>>,
    /// What the previous batch's claims are quoted to pay, in WAD USD: it leaves the reserve in this batch.
    pub previous_paid_usd: U256,
    /// Every earlier epoch executed on chain whose settlement is pending, and every one this batch names.
    pub settlements: BTreeMap<u64, Settlement>,
    /// Intents this batch lists that traded in an earlier epoch, with that epoch.
    pub closed_intents: BTreeMap<(B256, B256), u64>,
    /// Each contributor this batch mints to: its earlier mints.
    pub mint_history: BTreeMap<B256, MintHistory>,
    /// The escrow's holdings, when a chain node was asked.
    pub holdings: Option<Holdings>,
    /// What the claims this batch reissues were priced at in the cancelled epochs they come from, in WAD USD: it
    /// returns to the reserve (and its vaults, by the deposit split) in this batch.
    pub reissued_usd: U256,
    /// The escrow's P-AMM parameters (its decay moves the redemption level between epochs).
    pub pamm: crate::settle::pamm::Params,
}

/// A rule the batch breaks: which term, and by how much.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("epoch {epoch}: {}: {detail}", kind.code())]
pub struct Violation {
    /// The audited epoch.
    pub epoch: u64,
    /// Which rule.
    pub kind: ViolationKind,
    /// The figures, for people.
    pub detail: String,
}

/// The rules of the audit, each with a stable code (store, metrics, logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViolationKind {
    /// A version 1 batch after a version 2 one: its changes could not be explained.
    LedgerMissing,
    /// MYCO supply changed by more or less than its flows.
    SupplyUnexplained,
    /// USDC balances changed by more or less than their flows.
    UsdcUnexplained,
    /// The reserve figure changed by more or less than its flows.
    ReserveUnexplained,
    /// A vault's value is not what its deposits, withdrawals and revaluations make it.
    VaultUnexplained,
    /// The reserve's on-chain part exceeds what the escrow holds less what it owes.
    ReserveAboveHoldings,
    /// A deposit or withdrawal split leaves a vault outside its band without improving it.
    TrancheOutOfBand,
    /// An executed settlement was not applied within the allowed epochs.
    SettlementNotApplied,
    /// A settlement applied a second time.
    SettlementReapplied,
    /// A settlement for an epoch that has not executed on chain.
    SettlementUnknown,
    /// A settlement applied with other amounts than were executed.
    SettlementMismatch,
    /// An intent listed again after it traded.
    IntentRefilled,
    /// A mint without a valid signature from a configured labor attester.
    MintUnattested,
    /// A mint beyond its contributor's limit or inside its cooldown.
    MintOverLimit,
    /// The P-AMM redemption level moved other than by the previous epoch's redemptions and its decay.
    RedemptionLevelUnexplained,
    /// A flow tracker was dropped, lowered or made laxer (the flow dampening reset).
    FlowTrackerReset,
}

impl ViolationKind {
    /// Every rule.
    pub const ALL: [ViolationKind; 16] = [
        ViolationKind::LedgerMissing,
        ViolationKind::SupplyUnexplained,
        ViolationKind::UsdcUnexplained,
        ViolationKind::ReserveUnexplained,
        ViolationKind::VaultUnexplained,
        ViolationKind::ReserveAboveHoldings,
        ViolationKind::TrancheOutOfBand,
        ViolationKind::SettlementNotApplied,
        ViolationKind::SettlementReapplied,
        ViolationKind::SettlementUnknown,
        ViolationKind::SettlementMismatch,
        ViolationKind::IntentRefilled,
        ViolationKind::MintUnattested,
        ViolationKind::MintOverLimit,
        ViolationKind::RedemptionLevelUnexplained,
        ViolationKind::FlowTrackerReset,
    ];

    /// Its stable code.
    pub fn code(self) -> &'static str {
        match self {
            ViolationKind::LedgerMissing => "ledger_missing",
            ViolationKind::SupplyUnexplained => "supply_unexplained",
            ViolationKind::UsdcUnexplained => "usdc_unexplained",
            ViolationKind::ReserveUnexplained => "reserve_unexplained",
            ViolationKind::VaultUnexplained => "vault_unexplained",
            ViolationKind::ReserveAboveHoldings => "reserve_above_holdings",
            ViolationKind::TrancheOutOfBand => "tranche_out_of_band",
            ViolationKind::SettlementNotApplied => "settlement_not_applied",
            ViolationKind::SettlementReapplied => "settlement_reapplied",
            ViolationKind::SettlementUnknown => "settlement_unknown",
            ViolationKind::SettlementMismatch => "settlement_mismatch",
            ViolationKind::IntentRefilled => "intent_refilled",
            ViolationKind::MintUnattested => "mint_unattested",
            ViolationKind::MintOverLimit => "mint_over_limit",
            ViolationKind::RedemptionLevelUnexplained => "redemption_level_unexplained",
            ViolationKind::FlowTrackerReset => "flow_tracker_reset",
        }
    }

    /// The rule with code `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// Audits `batch` against the previous batch and what happened on chain in between.
pub fn audit(batch: &BatchState, context: &Context, policy: &Policy) -> Result<Terms, Violation> {
    let epoch = batch.epoch;
    let violation = |kind, detail: String| Violation { epoch, kind, detail };
    let previous = context.previous.as_ref();
    let Some(ledger) = &batch.ledger else {
        if previous.is_some_and(|p| p.ledger.is_some()) {
            let detail = "a version 1 batch after a version 2 one: its changes cannot be explained".into();
            return Err(violation(ViolationKind::LedgerMissing, detail));
        }
        // Before the first version 2 batch there is nothing to audit against (docs/batch-format.md).
        return Ok(Terms { epoch, supply: None, usdc: None, reserve: None, onchain: None, applied: Vec::new() });
    };
    if let Some(((maker, intent), traded)) =
        batch.intents.iter().find_map(|i| context.closed_intents.get_key_value(&(i.maker, i.id)))
    {
        let detail = format!("intent {intent} of maker {maker} traded in epoch {traded} and is listed again");
        return Err(violation(ViolationKind::IntentRefilled, detail));
    }
    issuance::check(batch, context, &policy.issuance).map_err(|(kind, detail)| violation(kind, detail))?;
    let applied = check_settlements(batch, context, policy).map_err(|(kind, detail)| violation(kind, detail))?;

    let mut terms = Terms { epoch, supply: None, usdc: None, reserve: None, onchain: None, applied };
    if let Some(previous) = previous.filter(|p| p.ledger.is_some()) {
        let settled: Vec<&SettledFill> = ledger.settlements.iter().flat_map(|s| &s.fills).collect();
        let lines = [
            (supply_line(previous, batch, &settled), ViolationKind::SupplyUnexplained, "MYCO units of supply"),
            (usdc_line(previous, batch, &settled), ViolationKind::UsdcUnexplained, "USDC units in balances"),
            (
                reserve_line(previous, batch, context.previous_paid_usd, context.reissued_usd),
                ViolationKind::ReserveUnexplained,
                "WAD USD of reserve",
            ),
        ];
        for (line, kind, unit) in &lines {
            if !line.balanced() {
                return Err(violation(*kind, line.mismatch(unit)));
            }
        }
        let [supply, usdc, reserve] = lines.map(|(l, _, _)| Some(l));
        terms = Terms { supply, usdc, reserve, ..terms };
        vaults::check(previous, batch, context.previous_paid_usd, context.reissued_usd, policy.band)
            .map_err(|(kind, detail)| violation(kind, detail))?;
        run_protection::check(previous, batch, &context.pamm).map_err(|(kind, detail)| violation(kind, detail))?;
    }
    if let Some(holdings) = context.holdings {
        let onchain = OnChain { reserve: ledger.onchain_reserve, holdings };
        if onchain.reserve > onchain.available_usd() {
            let detail = format!(
                "reserve.onchain is {} WAD USD but the escrow holds {} USDC units and owes {} of them ({} WAD USD short)",
                onchain.reserve,
                holdings.escrow_usdc,
                holdings.owed_usdc,
                onchain.reserve - onchain.available_usd()
            );
            return Err(violation(ViolationKind::ReserveAboveHoldings, detail));
        }
        terms.onchain = Some(onchain);
    }
    Ok(terms)
}

/// Each settlement the batch applies is of an executed, unapplied epoch and equals what was executed; no
/// executed settlement waits longer than the policy allows. Returns the epochs applied.
fn check_settlements(
    batch: &BatchState,
    context: &Context,
    policy: &Policy,
) -> Result<Vec<u64>, (ViolationKind, String)> {
    let ledger = batch.ledger.as_ref().expect("audited as version 2");
    let mut applied = Vec::new();
    for s in &ledger.settlements {
        if applied.contains(&s.epoch) {
            return Err((ViolationKind::SettlementReapplied, format!("epoch {}'s settlement appears twice", s.epoch)));
        }
        match context.settlements.get(&s.epoch) {
            None => {
                let detail = format!("applies epoch {}'s settlement, which has not executed on chain", s.epoch);
                return Err((ViolationKind::SettlementUnknown, detail));
            }
            Some(Settlement::Applied(first)) => {
                let detail = format!("epoch {}'s settlement was already applied by epoch {first}", s.epoch);
                return Err((ViolationKind::SettlementReapplied, detail));
            }
            Some(Settlement::Pending(expected)) => {
                let mut got = s.fills.clone();
                got.sort();
                if got != *expected {
                    return Err((ViolationKind::SettlementMismatch, first_difference(s.epoch, expected, &got)));
                }
            }
        }
        applied.push(s.epoch);
    }
    // In epoch order, whatever order the document lists them in.
    applied.sort_unstable();
    for (&settled, state) in &context.settlements {
        let overdue = batch.epoch.checked_sub(settled).is_some_and(|age| age > policy.settle_within_epochs);
        if let Settlement::Pending(fills) = state
            && overdue
            && !fills.is_empty()
        {
            let detail = format!(
                "epoch {settled}'s executed settlement ({} fills) is not applied within {} epochs",
                fills.len(),
                policy.settle_within_epochs
            );
            return Err((ViolationKind::SettlementNotApplied, detail));
        }
    }
    Ok(applied)
}

/// Where an applied settlement first differs from the executed one.
fn first_difference(epoch: u64, expected: &[SettledFill], got: &[SettledFill]) -> String {
    let key = |f: &SettledFill| (f.maker, f.intent);
    let want: BTreeMap<_, _> = expected.iter().map(|f| (key(f), f)).collect();
    let have: BTreeMap<_, _> = got.iter().map(|f| (key(f), f)).collect();
    let keys: BTreeSet<_> = want.keys().chain(have.keys()).collect();
    for k in keys {
        match (want.get(k), have.get(k)) {
            (Some(w), Some(h)) if w == h => continue,
            (Some(w), Some(h)) => {
                return format!(
                    "epoch {epoch}, intent {} of {}: executed sold {} bought {}, applied sold {} bought {}",
                    k.1, k.0, w.sold, w.bought, h.sold, h.bought
                );
            }
            (Some(w), None) => {
                return format!("epoch {epoch}: intent {} of {} traded (sold {}) but is not applied", k.1, k.0, w.sold);
            }
            (None, Some(h)) => {
                return format!(
                    "epoch {epoch}: intent {} of {} is applied (sold {}) but did not trade",
                    k.1, k.0, h.sold
                );
            }
            (None, None) => unreachable!("every key comes from one of the maps"),
        }
    }
    format!("epoch {epoch}: the applied fills differ from the executed ones")
}

/// Σ of one token the settled fills credit (`in`) and debit (`out`).
fn settled(fills: &[&SettledFill], token: Token) -> (U256, U256) {
    let credited = fills.iter().filter(|f| f.sell_token != token).map(|f| f.bought).sum();
    let debited = fills.iter().filter(|f| f.sell_token == token).map(|f| f.sold).sum();
    (credited, debited)
}

fn total(state: &BatchState, token: Token) -> U256 {
    state.balances.get(&token).map(|b| b.values().copied().sum()).unwrap_or_default()
}

fn supply_line(previous: &BatchState, batch: &BatchState, fills: &[&SettledFill]) -> Line {
    let minted = batch.ledger.as_ref().map(|l| l.mints.iter().map(|m| m.amount).sum()).unwrap_or_default();
    let (settled_in, settled_out) = settled(fills, Token::Myco);
    Line {
        before: previous.reserve.total_supply,
        plus: vec![("minted", minted), ("settled_in", settled_in)],
        // A reissued claim's MYCO left the supply when it was first requested.
        minus: vec![("settled_out", settled_out), ("withdrawn", new_withdrawals(batch))],
        after: batch.reserve.total_supply,
    }
}

/// Σ MYCO of the batch's withdrawal requests that are not reissues.
fn new_withdrawals(batch: &BatchState) -> U256 {
    batch.withdrawals.iter().filter(|w| w.reissues.is_none()).map(|w| w.amount).sum()
}

fn usdc_line(previous: &BatchState, batch: &BatchState, fills: &[&SettledFill]) -> Line {
    let (settled_in, settled_out) = settled(fills, Token::Usdc);
    Line {
        before: total(previous, Token::Usdc),
        plus: vec![("deposited", batch.deposits.iter().map(|d| d.amount).sum()), ("settled_in", settled_in)],
        minus: vec![("settled_out", settled_out)],
        after: total(batch, Token::Usdc),
    }
}

fn reserve_line(previous: &BatchState, batch: &BatchState, paid_usd: U256, reissued_usd: U256) -> Line {
    let revaluations = batch.ledger.as_ref().map(|l| l.revaluations.as_slice()).unwrap_or_default();
    let (gains, losses) = revaluations
        .iter()
        .fold((U256::ZERO, U256::ZERO), |(g, l), r| if r.loss { (g, l + r.amount) } else { (g + r.amount, l) });
    let deposited: U256 = batch.deposits.iter().map(|d| d.amount).sum();
    Line {
        before: previous.reserve.total_reserve,
        plus: [("deposited", deposited * WAD_PER_USDC_UNIT), ("revalued_up", gains)]
            .into_iter()
            // What reissued claims were priced at in their cancelled epochs: that epoch's next batch took it out as
            // paid, and nothing paid; it pays (at the reissuing epoch's price) from the next batch on.
            .chain((!reissued_usd.is_zero()).then_some(("reissued", reissued_usd)))
            .collect(),
        minus: vec![("paid", paid_usd), ("revalued_down", losses)],
        after: batch.reserve.total_reserve,
    }
}
