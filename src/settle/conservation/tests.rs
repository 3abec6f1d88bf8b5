//! The audit's rules, one by one, on hand-made batches; and the ledger equation under shuffled document order.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

use super::*;
use crate::ingest::document::{
    AppliedSettlement, CreditedDeposit, FlowTracker, LedgerFlows, ReserveState, Revaluation, Vault, WithdrawalRequest,
};
use crate::ingest::intent::Intent;
use crate::ingest::mint::Mint;
use crate::settle::WAD;

const CHAIN: u64 = 31337;
const USDC: u64 = 1_000_000;

fn account(n: u8) -> B256 {
    B256::repeat_byte(n)
}

fn myco(n: u64) -> U256 {
    U256::from(n) * U256::from(WAD)
}

fn labor_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn policy() -> Policy {
    Policy {
        settle_within_epochs: 2,
        issuance: Issuance {
            attesters: [B256::from(labor_key().verifying_key().to_bytes())].into(),
            max_per_window: myco(1_000),
            window_epochs: 10,
            cooldown_epochs: 1,
        },
        band: crate::settle::tranche::DEFAULT_BAND,
    }
}

/// A version 2 state with `myco`/`usdc` balances for accounts 1 and 2, and two vaults at their targets.
fn state(epoch: u64, balances: [(u64, u64); 2], reserve_usd: u64) -> BatchState {
    let mut s = BatchState { epoch, timestamp: 1_000 + epoch, ..Default::default() };
    for (i, (m, u)) in balances.iter().enumerate() {
        let a = account(i as u8 + 1);
        s.balances.entry(Token::Myco).or_default().insert(a, myco(*m));
        s.balances.entry(Token::Usdc).or_default().insert(a, U256::from(*u * USDC));
    }
    let total = myco(reserve_usd);
    s.reserve = ReserveState {
        total_supply: myco(balances.iter().map(|b| b.0).sum()),
        total_reserve: total,
        vaults: vec![
            Vault { id: "a".into(), value: total / U256::from(2), target_weight: U256::from(WAD / 2) },
            Vault { id: "b".into(), value: total - total / U256::from(2), target_weight: U256::from(WAD / 2) },
        ],
        ..Default::default()
    };
    s.ledger = Some(LedgerFlows::default());
    s
}

fn ledger(s: &mut BatchState) -> &mut LedgerFlows {
    s.ledger.as_mut().unwrap()
}

fn context(previous: &BatchState) -> Context {
    Context { chain_id: CHAIN, previous: Some(std::sync::Arc::new(previous.clone())), ..Default::default() }
}

/// A tracker with the default memory and threshold holding `flow` at `t_last`.
fn tracker(flow: U256, t_last: u64) -> FlowTracker {
    FlowTracker {
        flow,
        t_last,
        memory: crate::settle::flow::DEFAULT_MEMORY,
        threshold: crate::settle::flow::DEFAULT_THRESHOLD,
    }
}

fn kind(r: Result<Terms, Violation>) -> ViolationKind {
    r.expect_err("the batch breaks a rule").kind
}

fn mint(contributor: B256, amount: U256, epoch: u64) -> Mint {
    let mut m =
        Mint { contributor, kind: "code-review".into(), units: 3, amount, attester: B256::ZERO, signature: [0; 64] };
    m.sign(CHAIN, epoch, &labor_key());
    m
}

/// One seller of 10 MYCO for 10 USDC (account 1) and its buyer (account 2), peer to peer.
fn trade() -> Vec<SettledFill> {
    vec![
        SettledFill {
            maker: account(1),
            intent: B256::repeat_byte(0xa1),
            sell_token: Token::Myco,
            sold: myco(10),
            bought: U256::from(10 * USDC),
        },
        SettledFill {
            maker: account(2),
            intent: B256::repeat_byte(0xa2),
            sell_token: Token::Usdc,
            sold: U256::from(10 * USDC),
            bought: myco(10),
        },
    ]
}

#[test]
fn every_flow_explained_balances_and_names_its_terms() {
    let previous = state(4, [(100, 50), (20, 30)], 120);
    // Epoch 5: account 2 deposits 40 USDC; epoch 3's trade settles (1 sells 10 MYCO to 2 for 10 USDC); account 1
    // is minted 5 MYCO for labor and withdraws 7; vault b gains 2 USD.
    let mut next = state(5, [(100 - 10 + 5 - 7, 50 + 10), (20 + 10, 30 + 40 - 10)], 120 + 40 + 2);
    next.deposits = vec![CreditedDeposit { deposit_id: 9, account: account(2), amount: U256::from(40 * USDC) }];
    next.withdrawals = vec![WithdrawalRequest {
        claim_id: U256::from(1),
        account: account(1),
        amount: myco(7),
        recipient: Address::repeat_byte(1),
        reissues: None,
    }];
    next.flows.insert(account(1), tracker(myco(7), next.timestamp));
    let l = ledger(&mut next);
    l.mints = vec![mint(account(1), myco(5), 5)];
    l.settlements = vec![AppliedSettlement { epoch: 3, fills: trade() }];
    l.revaluations = vec![Revaluation { vault: "b".into(), loss: false, amount: myco(2), reason: "coupon".into() }];
    l.onchain_reserve = myco(40);
    let expected_vaults =
        next_vaults(&previous.reserve.vaults, U256::ZERO, &l.revaluations, myco(40), policy().band).unwrap();
    for (v, x) in next.reserve.vaults.iter_mut().zip(expected_vaults) {
        v.value = x;
    }
    let mut ctx = context(&previous);
    ctx.settlements.insert(3, Settlement::Pending(trade()));
    ctx.holdings = Some(Holdings { escrow_usdc: U256::from(40 * USDC), owed_usdc: U256::ZERO });

    let terms = audit(&next, &ctx, &policy()).expect("balanced");
    assert_eq!(terms.applied, vec![3]);
    let supply = terms.supply.clone().unwrap();
    assert!(supply.balanced());
    assert_eq!(supply.plus, vec![("minted", myco(5)), ("settled_in", myco(10))]);
    assert_eq!(supply.minus, vec![("settled_out", myco(10)), ("withdrawn", myco(7))]);
    assert!(terms.usdc.as_ref().unwrap().balanced());
    assert!(terms.reserve.as_ref().unwrap().balanced());
    assert_eq!(terms.to_json()["reserve"]["plus"]["revalued_up"], "2000000000000000000");
}

#[test]
fn supply_raised_without_a_source_is_refused_with_the_difference() {
    let previous = state(4, [(100, 0), (0, 0)], 100);
    let next = state(5, [(101, 0), (0, 0)], 100);
    let v = audit(&next, &context(&previous), &policy()).unwrap_err();
    assert_eq!(v.kind, ViolationKind::SupplyUnexplained);
    assert!(v.detail.contains("+1000000000000000000"), "{v}");
}

#[test]
fn usdc_and_reserve_changes_need_their_flows() {
    let previous = state(4, [(0, 10), (0, 0)], 100);
    assert_eq!(
        kind(audit(&state(5, [(0, 11), (0, 0)], 100), &context(&previous), &policy())),
        ViolationKind::UsdcUnexplained
    );
    assert_eq!(
        kind(audit(&state(5, [(0, 10), (0, 0)], 101), &context(&previous), &policy())),
        ViolationKind::ReserveUnexplained
    );
    // The previous batch's claims leave the reserve: with 1 USD paid, 99 is right and 100 is not.
    let mut ctx = context(&previous);
    ctx.previous_paid_usd = myco(1);
    assert_eq!(kind(audit(&state(5, [(0, 10), (0, 0)], 100), &ctx, &policy())), ViolationKind::ReserveUnexplained);
    let mut paid = state(5, [(0, 10), (0, 0)], 99);
    paid.reserve.vaults[0].value = myco(49);
    paid.reserve.vaults[1].value = myco(50);
    let drawn = next_vaults(&previous.reserve.vaults, myco(1), &[], U256::ZERO, policy().band).unwrap();
    assert_eq!(drawn.iter().copied().sum::<U256>(), myco(99));
    for (v, x) in paid.reserve.vaults.iter_mut().zip(drawn) {
        v.value = x;
    }
    audit(&paid, &ctx, &policy()).expect("paid claims explain the reserve's fall");
}

#[test]
fn a_vault_moved_without_a_flow_is_refused() {
    let previous = state(4, [(0, 0), (0, 0)], 100);
    let mut next = state(5, [(0, 0), (0, 0)], 100);
    next.reserve.vaults[0].value += myco(1);
    next.reserve.vaults[1].value -= myco(1);
    assert_eq!(kind(audit(&next, &context(&previous), &policy())), ViolationKind::VaultUnexplained);
}

#[test]
fn a_withdrawal_that_leaves_an_empty_vault_out_of_band_is_refused() {
    let mut previous = state(4, [(0, 0), (0, 0)], 100);
    previous.reserve.vaults[0].value = U256::ZERO;
    previous.reserve.vaults[1].value = myco(100);
    let mut next = state(5, [(0, 0), (0, 0)], 90);
    next.reserve.vaults[0].value = U256::ZERO;
    next.reserve.vaults[1].value = myco(90);
    let mut ctx = context(&previous);
    ctx.previous_paid_usd = myco(10);
    assert_eq!(kind(audit(&next, &ctx, &policy())), ViolationKind::TrancheOutOfBand);
}

#[test]
fn the_onchain_reserve_cannot_exceed_what_the_escrow_holds_less_what_it_owes() {
    let previous = state(4, [(0, 0), (0, 0)], 100);
    let mut next = state(5, [(0, 0), (0, 0)], 100);
    ledger(&mut next).onchain_reserve = myco(30);
    let mut ctx = context(&previous);
    ctx.holdings = Some(Holdings { escrow_usdc: U256::from(40 * USDC), owed_usdc: U256::from(10 * USDC) });
    assert!(audit(&next, &ctx, &policy()).is_ok(), "40 held, 10 owed: 30 available");
    ctx.holdings = Some(Holdings { escrow_usdc: U256::from(40 * USDC), owed_usdc: U256::from(10 * USDC + 1) });
    let v = audit(&next, &ctx, &policy()).unwrap_err();
    assert_eq!(v.kind, ViolationKind::ReserveAboveHoldings);
    assert!(v.detail.contains("1000000000000 WAD USD short"), "{v}");
}

#[test]
fn settlements_are_applied_once_exactly_as_executed_and_in_time() {
    let previous = state(4, [(100, 50), (20, 30)], 100);
    let applying = |fills: Vec<SettledFill>| {
        let mut next = state(5, [(90, 60), (30, 20)], 100);
        ledger(&mut next).settlements = vec![AppliedSettlement { epoch: 3, fills }];
        next
    };
    let mut ctx = context(&previous);
    ctx.settlements.insert(3, Settlement::Pending(trade()));
    audit(&applying(trade()), &ctx, &policy()).expect("applied as executed");
    // In any order in the document.
    audit(&applying(trade().into_iter().rev().collect()), &ctx, &policy()).expect("order does not matter");

    let mut more = trade();
    more[0].bought += U256::from(1);
    assert_eq!(kind(audit(&applying(more), &ctx, &policy())), ViolationKind::SettlementMismatch);

    let mut twice = applying(trade());
    let again = ledger(&mut twice).settlements[0].clone();
    ledger(&mut twice).settlements.push(again);
    assert_eq!(kind(audit(&twice, &ctx, &policy())), ViolationKind::SettlementReapplied);

    ctx.settlements.insert(3, Settlement::Applied(4));
    assert_eq!(kind(audit(&applying(trade()), &ctx, &policy())), ViolationKind::SettlementReapplied);

    ctx.settlements.clear();
    assert_eq!(kind(audit(&applying(trade()), &ctx, &policy())), ViolationKind::SettlementUnknown);

    // Epoch 2's settlement executed and is still pending at epoch 5: more than two epochs late.
    let mut late = context(&previous);
    late.settlements.insert(2, Settlement::Pending(trade()));
    assert_eq!(
        kind(audit(&state(5, [(100, 50), (20, 30)], 100), &late, &policy())),
        ViolationKind::SettlementNotApplied
    );
    // Epoch 3's may still wait; an executed epoch with nothing to apply never has to be.
    let mut waiting = context(&previous);
    waiting.settlements.insert(3, Settlement::Pending(trade()));
    waiting.settlements.insert(1, Settlement::Pending(Vec::new()));
    audit(&state(5, [(100, 50), (20, 30)], 100), &waiting, &policy()).expect("within the allowed epochs");
}

#[test]
fn an_intent_that_traded_cannot_be_listed_again() {
    let previous = state(4, [(100, 0), (0, 0)], 100);
    let mut next = state(5, [(100, 0), (0, 0)], 100);
    let intent = Intent {
        id: B256::repeat_byte(0xa1),
        maker: account(1),
        sell_token: Token::Myco,
        buy_token: Token::Usdc,
        sell_amount: myco(1),
        min_buy: U256::from(USDC),
        valid_until: u64::MAX,
        partial: true,
        signature: [0; 64],
    };
    next.intents = vec![intent];
    let mut ctx = context(&previous);
    audit(&next, &ctx, &policy()).expect("not traded before");
    ctx.closed_intents.insert((account(1), B256::repeat_byte(0xa1)), 3);
    let v = audit(&next, &ctx, &policy()).unwrap_err();
    assert_eq!(v.kind, ViolationKind::IntentRefilled);
    assert!(v.detail.contains("traded in epoch 3"), "{v}");
}

#[test]
fn mints_need_a_configured_attesters_signature_for_this_epoch() {
    let previous = state(4, [(0, 0), (0, 0)], 100);
    let minting = |m: Mint| {
        let mut next = state(5, [(5, 0), (0, 0)], 100);
        ledger(&mut next).mints = vec![m];
        next
    };
    let ctx = context(&previous);
    audit(&minting(mint(account(1), myco(5), 5)), &ctx, &policy()).expect("attested");

    let mut stranger = mint(account(1), myco(5), 5);
    stranger.sign(CHAIN, 5, &SigningKey::from_bytes(&[7; 32]));
    assert_eq!(kind(audit(&minting(stranger), &ctx, &policy())), ViolationKind::MintUnattested);
    // Signed for epoch 4, replayed in epoch 5.
    assert_eq!(kind(audit(&minting(mint(account(1), myco(5), 4)), &ctx, &policy())), ViolationKind::MintUnattested);
    let mut raised = mint(account(1), myco(5), 5);
    raised.amount = myco(6);
    let mut next = minting(raised);
    next.balances.get_mut(&Token::Myco).unwrap().insert(account(1), myco(6));
    next.reserve.total_supply = myco(6);
    assert_eq!(kind(audit(&next, &ctx, &policy())), ViolationKind::MintUnattested);
}

#[test]
fn mints_stay_within_the_contributors_limit_and_cooldown() {
    let previous = state(4, [(0, 0), (0, 0)], 100);
    let minting = |amounts: &[u64]| {
        let total: u64 = amounts.iter().sum();
        let mut next = state(5, [(total, 0), (0, 0)], 100);
        ledger(&mut next).mints = amounts.iter().map(|a| mint(account(1), myco(*a), 5)).collect();
        next
    };
    let mut ctx = context(&previous);
    assert_eq!(kind(audit(&minting(&[1_001]), &ctx, &policy())), ViolationKind::MintOverLimit);
    assert_eq!(kind(audit(&minting(&[1, 1]), &ctx, &policy())), ViolationKind::MintOverLimit, "twice in one epoch");
    ctx.mint_history.insert(account(1), MintHistory { last_epoch: Some(3), minted_in_window: myco(999) });
    audit(&minting(&[1]), &ctx, &policy()).expect("999 + 1 is the limit");
    assert_eq!(kind(audit(&minting(&[2]), &ctx, &policy())), ViolationKind::MintOverLimit);
    let mut slow = policy();
    slow.issuance.cooldown_epochs = 3;
    assert_eq!(kind(audit(&minting(&[1]), &ctx, &slow)), ViolationKind::MintOverLimit, "minted in 3, cooldown to 6");
}

#[test]
fn a_version_1_batch_after_version_2_is_refused_and_before_it_is_not_audited() {
    let v2 = state(4, [(1, 0), (0, 0)], 100);
    let mut v1 = state(5, [(7, 0), (0, 0)], 100);
    v1.ledger = None;
    assert_eq!(kind(audit(&v1, &context(&v2), &policy())), ViolationKind::LedgerMissing);
    let mut old = v2.clone();
    old.ledger = None;
    let terms = audit(&v1, &context(&old), &policy()).expect("nothing to audit against");
    assert!(terms.supply.is_none());
    // The first version 2 batch starts the ledger: its own rules apply, its equations start next epoch.
    let first = state(5, [(7, 0), (0, 0)], 100);
    assert!(audit(&first, &context(&old), &policy()).unwrap().supply.is_none());
}

#[test]
fn expected_fills_share_each_curve_leg_pro_rata_rounding_down() {
    use crate::settle::cow::{Auction, Fill, NetOrder, Side};
    let (m1, m2, m3) = (account(1), account(2), account(3));
    let auction = Auction {
        fills: vec![Fill {
            intent: B256::repeat_byte(1),
            maker: m1,
            side: Side::SellMyco,
            myco: myco(2),
            usdc: U256::from(2 * USDC),
        }],
        net_sell: Some(NetOrder {
            side: Side::SellMyco,
            amount: U256::from(3),
            min_out: U256::ZERO,
            intents: vec![(m1, B256::repeat_byte(1), U256::from(1)), (m2, B256::repeat_byte(2), U256::from(2))],
        }),
        net_buy: Some(NetOrder {
            side: Side::BuyMyco,
            amount: U256::from(5),
            min_out: U256::ZERO,
            intents: vec![(m3, B256::repeat_byte(3), U256::from(5))],
        }),
        ..Default::default()
    };
    let fills =
        expected_fills(&auction, Some(ExecutedLeg { amount: U256::from(3), out: U256::from(10) }), None).unwrap();
    // 10 shared 1:2 is 3 and 6 (one unit stays with the float); the purchase did not execute, so m3 is absent.
    assert_eq!(fills.len(), 2);
    assert_eq!(
        (fills[0].maker, fills[0].sold, fills[0].bought),
        (m1, myco(2) + U256::from(1), U256::from(2 * USDC + 3))
    );
    assert_eq!((fills[1].maker, fills[1].sold, fills[1].bought), (m2, U256::from(2), U256::from(6)));
    assert!(expected_fills(&auction, Some(ExecutedLeg { amount: U256::from(4), out: U256::from(1) }), None).is_err());
}

proptest! {
    /// The audit's verdict does not depend on the order a batch lists its flows in (CRDT documents have no
    /// canonical order for concurrent inserts).
    #[test]
    fn the_ledger_equation_holds_under_shuffled_document_order(seed in any::<u64>(), n in 1usize..8) {
        let previous = state(4, [(1_000, 1_000), (1_000, 1_000)], 2_000);
        let mut next = state(5, [(1_000, 1_000), (1_000, 1_000)], 2_000);
        let mut rng = crate::rng::SplitMix64(seed);
        let mut minted = U256::ZERO;
        let mut mints = Vec::new();
        for i in 0..n {
            let amount = myco(1 + rng.below(50) as u64);
            mints.push(mint(account(10 + i as u8), amount, 5));
            next.balances.get_mut(&Token::Myco).unwrap().insert(account(10 + i as u8), amount);
            minted += amount;
        }
        next.reserve.total_supply += minted;
        let ctx = context(&previous);
        ledger(&mut next).mints = mints.clone();
        let terms = audit(&next, &ctx, &policy()).expect("balanced");
        for i in (1..mints.len()).rev() {
            mints.swap(i, rng.below(i + 1));
        }
        ledger(&mut next).mints = mints;
        prop_assert_eq!(audit(&next, &ctx, &policy()), Ok(terms));
    }
}

#[test]
fn closed_intent_lookup_is_by_maker_and_id() {
    let ctx =
        Context { closed_intents: BTreeMap::from([((account(2), B256::repeat_byte(0xa1)), 3)]), ..Default::default() };
    let previous = state(4, [(100, 0), (0, 0)], 100);
    let mut next = state(5, [(100, 0), (0, 0)], 100);
    next.intents = vec![Intent {
        id: B256::repeat_byte(0xa1),
        maker: account(1),
        sell_token: Token::Myco,
        buy_token: Token::Usdc,
        sell_amount: myco(1),
        min_buy: U256::from(1),
        valid_until: 0,
        partial: false,
        signature: [0; 64],
    }];
    let ctx = Context { previous: Some(std::sync::Arc::new(previous)), chain_id: CHAIN, ..ctx };
    audit(&next, &ctx, &policy()).expect("another maker's intent with the same id is another intent");
}

/// Run protection is audited across epochs: the redemption level follows from the previous batch's redemptions
/// and the escrow's decay, exactly; a flow tracker is never dropped, lowered or made laxer. Before, each batch's
/// level and trackers were checked for bounds only, so a quorum could reset both every epoch.
#[test]
fn the_redemption_level_and_the_flow_trackers_cannot_be_reset() {
    let params = crate::settle::pamm::Params::default();
    let mut previous = state(4, [(100, 50), (20, 30)], 120);
    previous.reserve.redemption_level = myco(30);
    previous.reserve.redemption_updated = previous.timestamp - 600;
    previous.withdrawals = vec![WithdrawalRequest {
        claim_id: U256::from(1),
        account: account(1),
        amount: myco(7),
        recipient: Address::repeat_byte(1),
        reissues: None,
    }];
    previous.flows.insert(account(1), tracker(myco(7), previous.timestamp));
    let honest = |previous: &BatchState| {
        let mut next = state(5, [(100, 50), (20, 30)], 120);
        let elapsed = previous.timestamp - previous.reserve.redemption_updated;
        next.reserve.redemption_level = crate::settle::pamm::decay(myco(30), params.decay, elapsed).unwrap() + myco(7);
        next.reserve.redemption_updated = previous.timestamp;
        next.flows = previous.flows.clone();
        next
    };
    let check = |next: &BatchState| super::run_protection::check(&previous, next, &params).map_err(|(k, _)| k);
    assert_eq!(check(&honest(&previous)), Ok(()));

    let mut zeroed = honest(&previous);
    zeroed.reserve.redemption_level = U256::ZERO;
    assert_eq!(check(&zeroed), Err(ViolationKind::RedemptionLevelUnexplained), "the level reset to zero");
    let mut undecayed = honest(&previous);
    undecayed.reserve.redemption_level = myco(37);
    assert_eq!(check(&undecayed), Err(ViolationKind::RedemptionLevelUnexplained), "decayed with another δ");
    let mut restamped = honest(&previous);
    restamped.reserve.redemption_updated += 1;
    assert_eq!(check(&restamped), Err(ViolationKind::RedemptionLevelUnexplained));

    let mut dropped = honest(&previous);
    dropped.flows.clear();
    assert_eq!(check(&dropped), Err(ViolationKind::FlowTrackerReset), "a tracker dropped");
    let mut lowered = honest(&previous);
    lowered.flows.get_mut(&account(1)).unwrap().flow = myco(1);
    assert_eq!(check(&lowered), Err(ViolationKind::FlowTrackerReset), "a flow lowered");
    let mut forgetful = honest(&previous);
    forgetful.flows.get_mut(&account(1)).unwrap().memory = U256::from(WAD / 2);
    assert_eq!(check(&forgetful), Err(ViolationKind::FlowTrackerReset), "memory lowered: a faster decay");
    let mut lax = honest(&previous);
    lax.flows.get_mut(&account(1)).unwrap().threshold = U256::from(WAD);
    assert_eq!(check(&lax), Err(ViolationKind::FlowTrackerReset), "threshold raised: more allowance");
    let mut unrecorded = honest(&previous);
    unrecorded.withdrawals = vec![WithdrawalRequest {
        claim_id: U256::from(2),
        account: account(2),
        amount: myco(3),
        recipient: Address::repeat_byte(2),
        reissues: None,
    }];
    assert_eq!(check(&unrecorded), Err(ViolationKind::FlowTrackerReset), "a withdrawal its tracker does not hold");
    unrecorded.flows.insert(account(2), tracker(myco(3), unrecorded.timestamp));
    assert_eq!(check(&unrecorded), Ok(()), "recorded, with the defaults");

    // No redemption in the previous batch: the level and its time stay exactly as they were.
    previous.withdrawals.clear();
    let mut still = honest(&previous);
    still.reserve.redemption_level = myco(30);
    still.reserve.redemption_updated = previous.reserve.redemption_updated;
    let check = |next: &BatchState| super::run_protection::check(&previous, next, &params).map_err(|(k, _)| k);
    assert_eq!(check(&still), Ok(()));
}

/// A reissued claim moves without touching the supply (its MYCO left when first requested), and what it was
/// priced at in its cancelled epoch returns to the reserve and its vaults (that epoch's next batch took it out as
/// paid). Counted as a new withdrawal, or without the return, the batch does not balance.
#[test]
fn a_reissue_debits_nothing_again_and_returns_its_old_price_to_the_reserve() {
    let previous = state(4, [(100, 50), (20, 30)], 120);
    let mut next = state(5, [(100, 50), (20, 30)], 126);
    next.withdrawals = vec![WithdrawalRequest {
        claim_id: U256::from(9),
        account: account(1),
        amount: myco(7),
        recipient: Address::repeat_byte(1),
        reissues: Some(2),
    }];
    let expected = next_vaults(&previous.reserve.vaults, U256::ZERO, &[], myco(6), policy().band).unwrap();
    for (v, x) in next.reserve.vaults.iter_mut().zip(expected) {
        v.value = x;
    }
    let mut ctx = context(&previous);
    ctx.reissued_usd = myco(6);
    let terms = audit(&next, &ctx, &policy()).expect("balanced");
    assert!(terms.reserve.unwrap().plus.contains(&("reissued", myco(6))));

    let unreturned = Context { reissued_usd: U256::ZERO, ..ctx.clone() };
    assert_eq!(kind(audit(&next, &unreturned, &policy())), ViolationKind::ReserveUnexplained);
    let mut as_new = next.clone();
    as_new.withdrawals[0].reissues = None;
    assert_eq!(kind(audit(&as_new, &ctx, &policy())), ViolationKind::SupplyUnexplained, "debited twice");
}
