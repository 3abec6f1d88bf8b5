//! Accepted input never hurts: a property test that feeds random batch states, with every amount drawn from a
//! hostile distribution up to 2^256 − 1, through what the relayer does with a batch: the value checks of
//! ingest, then the epoch's claims, root and figures, the escrow's payouts, the batch auction at the curve's
//! price, and the plan of net orders against the curve and the float. A state is either refused at ingest with
//! a named reason, or every later step succeeds: no error, no panic, no overflow.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

use super::curve::Curve;
use super::execution::{self, Float};
use super::outputs::Redemptions;
use super::{EpochSettlement, cow, pamm};
use crate::ingest::document::{CreditedDeposit, FlowTracker, ReserveState, Vault, WithdrawalRequest};
use crate::ingest::intent::{Intent, Token};
use crate::ingest::{BatchState, MAX_AMOUNT};

const CHAIN: u64 = 31337;

/// Amounts at every scale a batch may carry (a third of the limit at most, so sums of three stay accepted), and
/// now and then one past it.
fn amount() -> impl Strategy<Value = U256> {
    let in_range = prop_oneof![
        Just(U256::ZERO),
        Just(U256::from(1)),
        (0u32..=29).prop_map(|e| U256::from(10).pow(U256::from(e))),
        (1u64..=333, 0u32..=27).prop_map(|(k, e)| U256::from(k) * U256::from(10).pow(U256::from(e))),
        Just(MAX_AMOUNT / U256::from(3)),
        any::<u128>().prop_map(|v| U256::from(v) % (MAX_AMOUNT / U256::from(3))),
    ];
    prop_oneof![30 => in_range, 1 => hostile_amount()]
}

/// Amounts that break naive arithmetic: zero, one, round figures at every scale, the batch limit and around it,
/// the top of U256, and anything.
fn hostile_amount() -> impl Strategy<Value = U256> {
    prop_oneof![
        Just(U256::ZERO),
        Just(U256::from(1)),
        (0u32..=30).prop_map(|e| U256::from(10).pow(U256::from(e))),
        (1u64..=1000, 0u32..=27).prop_map(|(k, e)| U256::from(k) * U256::from(10).pow(U256::from(e))),
        Just(MAX_AMOUNT),
        Just(MAX_AMOUNT / U256::from(3)),
        Just(MAX_AMOUNT + U256::from(1)),
        Just(U256::MAX),
        any::<[u64; 4]>().prop_map(U256::from_limbs),
        any::<u128>().prop_map(U256::from),
    ]
}

fn keys() -> Vec<SigningKey> {
    (1..=3u8).map(|i| SigningKey::from_bytes(&[i; 32])).collect()
}

/// A random state whose totals are made consistent (so that many states pass the checks and reach settlement).
fn state() -> impl Strategy<Value = BatchState> {
    let amounts = proptest::collection::vec(amount(), 24);
    (amounts, any::<u64>(), 0u64..2_000_000_000, proptest::collection::vec(any::<bool>(), 8)).prop_map(
        |(a, seed, now, flags)| {
            let keys = keys();
            let accounts: Vec<B256> = keys.iter().map(|k| B256::from(k.verifying_key().to_bytes())).collect();
            let mut balances: BTreeMap<Token, BTreeMap<B256, U256>> = BTreeMap::new();
            for (i, account) in accounts.iter().enumerate() {
                balances.entry(Token::Myco).or_default().insert(*account, a[i]);
                balances.entry(Token::Usdc).or_default().insert(*account, a[3 + i]);
            }
            let mut intents = Vec::new();
            for (i, key) in keys.iter().enumerate() {
                let sells_myco = flags[i];
                let (sell_token, buy_token) =
                    if sells_myco { (Token::Myco, Token::Usdc) } else { (Token::Usdc, Token::Myco) };
                let mut intent = Intent {
                    id: B256::from(U256::from(seed.wrapping_add(i as u64))),
                    maker: accounts[i],
                    sell_token,
                    buy_token,
                    sell_amount: a[6 + i].max(U256::from(1)),
                    min_buy: a[9 + i].max(U256::from(1)),
                    valid_until: now + 100,
                    partial: flags[3 + i],
                    signature: [0; 64],
                };
                intent.sign(CHAIN, key);
                intents.push(intent);
            }
            let withdrawals: Vec<WithdrawalRequest> = (0..2)
                .map(|i| WithdrawalRequest {
                    claim_id: U256::from(i + 1),
                    account: accounts[i],
                    amount: a[12 + i].max(U256::from(1)),
                    recipient: Address::repeat_byte(1 + i as u8),
                    reissues: None,
                })
                .collect();
            let flows = accounts
                .iter()
                .take(2)
                .enumerate()
                .map(|(i, acc)| {
                    let tracker = FlowTracker {
                        flow: a[14 + i],
                        t_last: now.saturating_sub(a[16 + i].as_limbs()[0] % 100_000),
                        memory: U256::from(999_000_000_000_000_000u64),
                        threshold: a[18 + i].min(U256::from(10u64).pow(U256::from(18))),
                    };
                    (*acc, tracker)
                })
                .collect();
            let supply = balances[&Token::Myco].values().fold(U256::ZERO, |s, v| s.saturating_add(*v));
            let reserve = if flags[6] { a[20] } else { supply };
            let vaults = if flags[7] {
                let half = reserve / U256::from(2);
                let weight = U256::from(500_000_000_000_000_000u64);
                vec![
                    Vault { id: "a".into(), value: half, target_weight: weight },
                    Vault { id: "b".into(), value: reserve - half, target_weight: weight },
                ]
            } else {
                Vec::new()
            };
            BatchState {
                epoch: 1,
                parent: B256::ZERO,
                timestamp: now,
                balances,
                intents,
                flows,
                deposits: vec![CreditedDeposit {
                    deposit_id: 1,
                    account: accounts[0],
                    amount: a[21].max(U256::from(1)),
                }],
                withdrawals,
                reserve: ReserveState {
                    total_supply: supply,
                    total_reserve: reserve,
                    flow_pressure: a[22],
                    redemption_level: a[23],
                    redemption_updated: now.saturating_sub(seed % 1_000_000),
                    vaults,
                },
                ledger: None,
            }
        },
    )
}

/// A curve as `deploy` could have it (p0 and m up to ten thousand USD, a price per MYCO), at a supply and with a
/// float each within what a batch may carry.
fn market() -> impl Strategy<Value = (Curve, U256, Float, U256)> {
    let price = prop_oneof![Just(U256::ZERO), (1u64..=10_000_000_000_000_000_000u64).prop_map(U256::from)];
    let curve = (price.clone(), price)
        .prop_filter_map("p0 or m", |(p0, m)| (!(p0.is_zero() && m.is_zero())).then_some(Curve { p0, m }));
    let bounded = || hostile_amount().prop_map(|a| a.min(MAX_AMOUNT));
    (curve, bounded(), bounded(), bounded(), bounded())
        .prop_map(|(curve, supply, myco, usdc, spot)| (curve, supply, Float { myco, usdc }, spot.max(U256::from(1))))
}

/// Everything the relayer does with an accepted batch; the first failure, named.
fn settle_accepted(state: &BatchState, curve: &Curve, supply: U256, float: Float, spot: U256) -> Result<(), String> {
    let params = pamm::Params::default();
    let settlement = EpochSettlement::compute(state, &params, Default::default());
    Redemptions::compute(&settlement, &params).map_err(|e| format!("redemptions: {e}"))?;
    for claim in &settlement.claims {
        claim.usdc_payout(&settlement.figures, &params).map_err(|e| format!("payout: {e}"))?;
    }
    for price in [spot, curve.spot(supply).map_err(|e| format!("spot: {e}"))?] {
        let auction = cow::auction(&state.intents, &state.balances, state.timestamp, price)
            .map_err(|e| format!("auction at {price}: {e}"))?;
        execution::plan(&auction, curve, supply, float).map_err(|e| format!("plan: {e}"))?;
    }
    let _ = super::outputs::deposit_split(state);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn an_accepted_batch_settles_without_error_at_any_scale(state in state(), (curve, supply, float, spot) in market()) {
        if crate::ingest::checks::check(CHAIN, &state).is_ok() {
            let outcome = std::panic::catch_unwind(|| settle_accepted(&state, &curve, supply, float, spot));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(e)) => prop_assert!(false, "accepted, then failed: {e}\\n{state:?}"),
                Err(_) => prop_assert!(false, "accepted, then panicked\\n{state:?}"),
            }
        }
    }
}

/// The property above means something only if many random states pass the checks.
#[test]
fn most_random_states_are_accepted_so_the_property_bites() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = state();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..500 {
        let s = strategy.new_tree(&mut runner).unwrap().current();
        let key = match crate::ingest::checks::check(CHAIN, &s) {
            Ok(()) => "accepted".to_string(),
            Err(e) => e.to_string().split(':').nth(2).unwrap_or_default().chars().take(40).collect(),
        };
        *reasons.entry(key).or_default() += 1;
    }
    eprintln!("{reasons:#?}");
    assert!(reasons.get("accepted").copied().unwrap_or(0) >= 150, "{reasons:#?}");
}
