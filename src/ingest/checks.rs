//! Value checks of a decoded batch: what the schema cannot say but a correct network never certifies.
//! Figures must add up, ids must be unique, amounts positive where zero is meaningless, and every intent must
//! carry its maker's signature.

use std::collections::BTreeSet;

use alloy::primitives::{Address, U256};

use super::document::LedgerFlows;
use super::intent::{Intent, Token};
use super::{BatchState, Error};
use crate::settle::WAD;

/// The largest amount or figure a batch may carry, and the largest sum of them: 10^30 base units (a trillion
/// MYCO; 10^24 USDC). Far above any real reserve, and far below where settlement could overflow: a product of two
/// such figures (and a WAD factor) fits in 256 bits, and the P-AMM's domain (supply plus redemption level below
/// 10^36) holds with a millionfold margin. A batch carrying more is refused as `inconsistent`, so nothing past
/// ingest can fail on it.
pub const MAX_AMOUNT: U256 = U256::from_limbs([5_076_944_270_305_263_616, 54_210_108_624, 0, 0]);

/// `values` summed with every term and the running sum at most [`MAX_AMOUNT`]; `what` names them in the error.
fn bounded_sum<'a>(what: &str, values: impl IntoIterator<Item = &'a U256>) -> Result<U256, String> {
    let mut sum = U256::ZERO;
    for v in values {
        sum = sum
            .checked_add(*v)
            .filter(|s| *s <= MAX_AMOUNT)
            .ok_or_else(|| format!("{what} exceed the largest amount a batch may carry (10^30 base units)"))?;
    }
    Ok(sum)
}

/// Every amount and figure within [`MAX_AMOUNT`], each group's sum too.
fn amounts_in_range(state: &BatchState) -> Result<(), String> {
    for (token, balances) in &state.balances {
        bounded_sum(&format!("{} balances", token.symbol()), balances.values())?;
    }
    for i in &state.intents {
        bounded_sum(&format!("intent {} amounts", i.id), [&i.sell_amount, &i.min_buy])?;
    }
    for (account, f) in &state.flows {
        bounded_sum(&format!("flow tracker {account}"), [&f.flow, &f.threshold])?;
    }
    bounded_sum("deposits", state.deposits.iter().map(|d| &d.amount))?;
    let withdrawn = bounded_sum("withdrawals", state.withdrawals.iter().map(|w| &w.amount))?;
    let r = &state.reserve;
    // The figures committed on chain: supply before the epoch's withdrawals, reserve, redemption level.
    bounded_sum("reserve.total_supply plus the epoch's withdrawals", [&r.total_supply, &withdrawn])?;
    bounded_sum("reserve figures", [&r.total_reserve, &r.flow_pressure, &r.redemption_level])?;
    bounded_sum("vault values", r.vaults.iter().map(|v| &v.value))?;
    bounded_sum("vault target weights", r.vaults.iter().map(|v| &v.target_weight))?;
    Ok(())
}

/// Checks `state` (of a batch certified for `chain_id`); the first violation is returned. (The verifier checks the
/// signatures while it reads the document: [`check_with_signatures`].)
#[cfg(test)]
pub(crate) fn check(chain_id: u64, state: &BatchState) -> Result<(), Error> {
    check_with_signatures(state, || first_forged(chain_id, &state.intents))
}

/// [`check`], with the makers' signatures (bound to the chain id) checked by `forged`: the position of the first
/// intent whose signature is not its maker's, as [`first_forged`] finds it. The verifier checks them while the
/// document is read.
pub(crate) fn check_with_signatures(state: &BatchState, forged: impl FnOnce() -> Option<usize>) -> Result<(), Error> {
    let epoch = state.epoch;
    let bad = |what: String| Error::Inconsistent { epoch, what };
    amounts_in_range(state).map_err(bad)?;

    let supply: U256 = state.balances.get(&Token::Myco).map(|b| b.values().sum()).unwrap_or_default();
    if supply != state.reserve.total_supply {
        return Err(bad(format!(
            "reserve.total_supply is {} but MYCO balances sum to {supply}",
            state.reserve.total_supply
        )));
    }

    let vaults = &state.reserve.vaults;
    if !vaults.is_empty() {
        // Within MAX_AMOUNT (checked above), so these sums cannot overflow.
        let value: U256 = vaults.iter().map(|v| v.value).sum();
        if value != state.reserve.total_reserve {
            return Err(bad(format!(
                "reserve.total_reserve is {} but vault values sum to {value}",
                state.reserve.total_reserve
            )));
        }
        let weights: U256 = vaults.iter().map(|v| v.target_weight).sum();
        if weights != U256::from(WAD) {
            return Err(bad(format!("vault target weights sum to {weights}, not 1e18")));
        }
        unique(vaults.iter().map(|v| v.id.clone()), "vault id").map_err(bad)?;
    }

    for f in state.flows.values() {
        if f.memory > U256::from(WAD) {
            return Err(bad(format!("flow memory {} is above 1.0", f.memory)));
        }
    }

    unique(state.intents.iter().map(|i| (i.maker, i.id)), "intent (maker, id)").map_err(bad)?;
    for intent in &state.intents {
        if intent.sell_token == intent.buy_token {
            return Err(bad(format!("intent {} sells and buys {}", intent.id, intent.sell_token.symbol())));
        }
        if intent.sell_amount.is_zero() || intent.min_buy.is_zero() {
            return Err(bad(format!("intent {} has a zero sell_amount or min_buy", intent.id)));
        }
    }
    if let Some(intent) = forged().and_then(|i| state.intents.get(i)) {
        return Err(Error::BadIntentSignature { epoch, intent: intent.id, maker: intent.maker });
    }

    unique(state.deposits.iter().map(|d| d.deposit_id), "deposit id").map_err(bad)?;
    if let Some(d) = state.deposits.iter().find(|d| d.amount.is_zero()) {
        return Err(bad(format!("deposit {} credits zero", d.deposit_id)));
    }

    if let Some(ledger) = &state.ledger {
        ledger_values(state.epoch, &state.reserve, ledger).map_err(bad)?;
    }

    unique(state.withdrawals.iter().map(|w| w.claim_id), "claim id").map_err(bad)?;
    for w in &state.withdrawals {
        if w.amount.is_zero() {
            return Err(bad(format!("claim {} withdraws zero", w.claim_id)));
        }
        if w.recipient == Address::ZERO {
            return Err(bad(format!("claim {} pays the zero address", w.claim_id)));
        }
    }
    Ok(())
}

/// Intents below this count are checked on the calling thread; above it, spread over the machine's cores.
const PARALLEL_SIGNATURES_FROM: usize = 512;

/// The position of the first intent (in batch order) whose signature is not its maker's. Signature checks
/// dominate the cost of ingesting a large batch, so they run on every core; each is a strict single verification
/// (no batch verification, whose acceptance can differ from a single check's).
pub(crate) fn first_forged(chain_id: u64, intents: &[Intent]) -> Option<usize> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if intents.len() < PARALLEL_SIGNATURES_FROM || threads == 1 {
        return intents.iter().position(|i| !i.signature_is_valid(chain_id));
    }
    let chunk = intents.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = intents
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().position(|i| !i.signature_is_valid(chain_id))))
            .collect();
        // A panic in a checker thread is a bug in signature verification itself; surface it.
        handles
            .into_iter()
            .enumerate()
            .map(|(n, h)| h.join().expect("signature check thread panicked").map(|i| n * chunk + i))
            .find(Option::is_some)
            .flatten()
    })
}

/// Version 2's ledger sections: amounts in range and meaningful; what the conservation audit checks against
/// history and the chain comes later (`settle::conservation`).
fn ledger_values(epoch: u64, reserve: &super::document::ReserveState, ledger: &LedgerFlows) -> Result<(), String> {
    bounded_sum("mints", ledger.mints.iter().map(|m| &m.amount))?;
    if let Some(i) = ledger.mints.iter().position(|m| m.amount.is_zero()) {
        return Err(format!("mints[{i}] mints zero"));
    }
    bounded_sum("revaluations", ledger.revaluations.iter().map(|r| &r.amount))?;
    if let Some(i) = ledger.revaluations.iter().position(|r| r.amount.is_zero()) {
        return Err(format!("revaluations[{i}] changes nothing"));
    }
    for (i, s) in ledger.settlements.iter().enumerate() {
        if s.epoch >= epoch {
            return Err(format!("settlements[{i}] applies epoch {}, which is not before this one", s.epoch));
        }
        bounded_sum(&format!("settlements[{i}] amounts sold"), s.fills.iter().map(|f| &f.sold))?;
        bounded_sum(&format!("settlements[{i}] amounts bought"), s.fills.iter().map(|f| &f.bought))?;
        unique(s.fills.iter().map(|f| (f.maker, f.intent)), &format!("settlements[{i}] fill (maker, intent)"))?;
    }
    if ledger.onchain_reserve > reserve.total_reserve {
        return Err(format!(
            "reserve.onchain {} exceeds reserve.total_reserve {}",
            ledger.onchain_reserve, reserve.total_reserve
        ));
    }
    Ok(())
}

fn unique<T: Ord + std::fmt::Debug>(items: impl IntoIterator<Item = T>, what: &str) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for item in items {
        if let Some(dup) = seen.replace(item) {
            return Err(format!("{what} {dup:?} appears more than once"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy::primitives::B256;
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::ingest::document::Vault;

    fn valid() -> BatchState {
        let key = SigningKey::from_bytes(&[9; 32]);
        let maker = B256::from(key.verifying_key().to_bytes());
        let wad = U256::from(WAD);
        let mut intent = Intent {
            id: B256::repeat_byte(1),
            maker,
            sell_token: Token::Myco,
            buy_token: Token::Usdc,
            sell_amount: wad,
            min_buy: U256::from(1_000_000u64),
            valid_until: 10,
            partial: false,
            signature: [0; 64],
        };
        intent.sign(5, &key);
        BatchState {
            epoch: 1,
            balances: [(Token::Myco, [(maker, wad)].into())].into(),
            intents: vec![intent],
            reserve: crate::ingest::document::ReserveState {
                total_supply: wad,
                total_reserve: wad,
                vaults: vec![
                    Vault { id: "a".into(), value: wad / U256::from(2), target_weight: wad / U256::from(2) },
                    Vault { id: "b".into(), value: wad / U256::from(2), target_weight: wad / U256::from(2) },
                ],
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn accepts_a_consistent_state() {
        check(5, &valid()).unwrap();
    }

    #[test]
    fn rejects_supply_that_does_not_add_up() {
        let mut s = valid();
        s.reserve.total_supply += U256::from(1);
        assert!(matches!(check(5, &s), Err(Error::Inconsistent { what, .. }) if what.contains("total_supply")));
    }

    #[test]
    fn rejects_vaults_that_do_not_add_up() {
        let mut s = valid();
        s.reserve.vaults[0].target_weight += U256::from(1);
        assert!(matches!(check(5, &s), Err(Error::Inconsistent { what, .. }) if what.contains("weights")));
        let mut s = valid();
        s.reserve.vaults[1].value -= U256::from(1);
        assert!(matches!(check(5, &s), Err(Error::Inconsistent { what, .. }) if what.contains("total_reserve")));
    }

    #[test]
    fn rejects_a_forged_intent() {
        let mut s = valid();
        s.intents[0].sell_amount += U256::from(1);
        assert!(matches!(check(5, &s), Err(Error::BadIntentSignature { .. })));
        assert!(matches!(check(6, &valid()), Err(Error::BadIntentSignature { .. })), "signed for another chain");
    }

    #[test]
    fn finds_the_first_forged_intent_among_many() {
        let mut s = valid();
        let template = s.intents[0].clone();
        let key = SigningKey::from_bytes(&[9; 32]);
        s.intents = (0..2_000u64)
            .map(|i| {
                let mut intent = template.clone();
                intent.id = B256::from(U256::from(i));
                intent.sign(5, &key);
                intent
            })
            .collect();
        check(5, &s).unwrap();
        s.intents[1_500].signature[0] ^= 1;
        s.intents[1_700].signature[0] ^= 1;
        let expected = s.intents[1_500].id;
        assert!(matches!(check(5, &s), Err(Error::BadIntentSignature { intent, .. }) if intent == expected));
    }

    #[test]
    fn rejects_duplicate_claim_ids() {
        let mut s = valid();
        let w = crate::ingest::document::WithdrawalRequest {
            claim_id: U256::from(1),
            account: B256::ZERO,
            amount: U256::from(1),
            recipient: Address::repeat_byte(1),
            reissues: None,
        };
        s.withdrawals = vec![w.clone(), w];
        assert!(matches!(check(5, &s), Err(Error::Inconsistent { what, .. }) if what.contains("claim id")));
    }

    #[test]
    fn sums_are_checked_never_saturated() {
        // Balances of 2^256 − 1 and 1 against a supply of 2^256 − 1 "added up" with a saturating sum.
        let mut s = valid();
        let maker = s.intents[0].maker;
        let other = B256::repeat_byte(2);
        s.balances.insert(Token::Myco, [(maker, U256::MAX), (other, U256::from(1))].into());
        s.reserve.total_supply = U256::MAX;
        assert!(matches!(check(5, &s), Err(Error::Inconsistent { what, .. }) if what.contains("MYCO balances")));
        let mut s = valid();
        s.reserve.vaults[0].value = U256::MAX;
        s.reserve.total_reserve = U256::MAX;
        assert_eq!(check(5, &s).unwrap_err().reason(), "inconsistent");
    }

    #[test]
    fn amounts_past_the_largest_a_batch_may_carry_are_refused() {
        let mut s = valid();
        s.intents[0].sell_amount = MAX_AMOUNT + U256::from(1);
        assert!(matches!(check(5, &s), Err(Error::Inconsistent { what, .. }) if what.contains("10^30")));
        let mut s = valid();
        s.reserve.flow_pressure = MAX_AMOUNT;
        s.reserve.total_reserve = U256::from(1);
        assert!(matches!(check(5, &s), Err(Error::Inconsistent { what, .. }) if what.contains("reserve figures")));
    }
}
