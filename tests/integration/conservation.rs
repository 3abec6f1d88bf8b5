//! The conservation audit against anvil: a long version 2 run in which every settlement flows back into the
//! ledger and every epoch balances; and one test per rule a certified batch can break, each refused with its
//! named reason and nothing committed.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, B256, U256};
use myco_bridge::chain::bindings::{Erc20, StateCommitment};
use myco_bridge::devnet::simulate::{EpochInputs, Network, Produced, WithdrawalAsk};
use myco_bridge::devnet::{ADMIN_ACCOUNT, FIRST_USER_ACCOUNT, RELAYER_ACCOUNT};
use myco_bridge::ids::Epoch;
use myco_bridge::ingest::document::{AppliedSettlement, CreditedDeposit, Revaluation};
use myco_bridge::ingest::folder::FolderSource;
use myco_bridge::ingest::intent::Token;
use myco_bridge::settle::WAD;
use myco_bridge::settle::conservation::ViolationKind;
use myco_bridge::store::curve::{self, Status};
use myco_bridge::store::{batches, ledger, mismatches};

use crate::common::{Harness, Running, wait_until};

/// A harness whose simulated validators write version 2 batches.
pub async fn harness() -> Harness {
    let mut h = Harness::start().await;
    h.network = Network::new(h.devnet.chain_id(), 11, 4, 4).with_ledger();
    h
}

pub async fn latest_on_chain(h: &Harness) -> u64 {
    let provider = h.devnet.provider(ADMIN_ACCOUNT);
    StateCommitment::new(h.devnet.deployment.state_commitment, &provider).latestEpoch().call().await.unwrap()
}

pub async fn settled(h: &Harness, epoch: u64) -> bool {
    curve::get(&h.pool, Epoch(epoch)).await.unwrap().is_some_and(|r| r.status == Status::Executed)
}

/// Every epoch the network has not applied whose settlement the chain has executed, as the validators compute it.
pub async fn executed_settlements(h: &Harness) -> Vec<AppliedSettlement> {
    let provider = h.devnet.provider(ADMIN_ACCOUNT);
    let (curve, from) = (h.devnet.deployment.curve, h.devnet.deployment.start_block);
    let mut out = Vec::new();
    for epoch in h.network.unapplied_epochs() {
        let Some(cs) = myco_bridge::chain::settlements::executed(&provider, curve, epoch, from).await.unwrap() else {
            continue;
        };
        out.extend(h.network.settlement_of(epoch, cs.spot, cs.sell, cs.buy));
    }
    out
}

/// Publishes `produced` and waits until the relayer committed and settled its epoch.
pub async fn publish_and_settle(h: &Harness, produced: &Produced) {
    let epoch = produced.state.epoch;
    FolderSource::new(&h.batch_dir).publish(epoch, &produced.bytes).await.unwrap();
    wait_until(&format!("epoch {epoch} is committed and settled"), || settled(h, epoch)).await;
}

/// Publishes `produced` and waits for the relayer to halt on it; returns the rule it names.
async fn refused(h: &Harness, relayer: Running, produced: &Produced) -> ViolationKind {
    let epoch = produced.state.epoch;
    FolderSource::new(&h.batch_dir).publish(epoch, &produced.bytes).await.unwrap();
    wait_until("the relayer halts", || async { relayer.task.is_finished() }).await;
    let kind = match relayer.stop().await {
        Err(myco_bridge::Error::Conservation(v)) => {
            assert_eq!(v.epoch, epoch);
            v.kind
        }
        other => panic!("expected a conservation violation, got {other:?}"),
    };
    assert_eq!(latest_on_chain(h).await, epoch - 1, "nothing of the violating epoch is committed");
    let recorded = ledger::violations(&h.pool).await.unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].kind, kind);
    // The totals /metrics and the status page read count it (the relayer shows as halted).
    let totals = myco_bridge::store::views::totals(&h.pool, 0).await.unwrap();
    assert_eq!(totals.conservation_violations, 1);
    // It refuses to start again while the violation is on record.
    let again = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("a restarted relayer refuses to run", || async { again.task.is_finished() }).await;
    assert!(matches!(again.stop().await, Err(myco_bridge::Error::Conservation(_))));
    kind
}

/// A funded account of the network's: a real deposit of `usdc` units credited and `myco` MYCO minted for labor.
fn funding(deposit_id: u64, account: B256, usdc: u64, myco: u64) -> EpochInputs {
    EpochInputs {
        deposits: vec![CreditedDeposit { deposit_id, account, amount: U256::from(usdc) }],
        mints: vec![(account, U256::from(myco) * U256::from(WAD))],
        ..Default::default()
    }
}

/// The state the relayer stored for `epoch`.
async fn stored_state(h: &Harness, epoch: u64) -> myco_bridge::ingest::BatchState {
    let raw = batches::raw(&h.pool, Epoch(epoch)).await.unwrap().expect("stored").1;
    let envelope = myco_bridge::ingest::Envelope::decode(&raw).unwrap();
    myco_bridge::ingest::BatchState::from_automerge(&envelope.document).unwrap()
}

/// Two good epochs (a real deposit and a mint, then trading), settled; returns the running relayer.
pub async fn two_good_epochs(h: &mut Harness) -> Running {
    let config = h.config();
    two_good_epochs_with(h, config).await
}

/// [`two_good_epochs`] with a relayer configured by `config`.
async fn two_good_epochs_with(h: &mut Harness, config: myco_bridge::relayer::Config) -> Running {
    let account = h.network.accounts()[0];
    let id = h.deposit(FIRST_USER_ACCOUNT, account, 5_000_000_000).await;
    let relayer = h.spawn_relayer_with(RELAYER_ACCOUNT, config);
    let first = h.network.next_batch(&funding(id, account, 5_000_000_000, 1_000));
    publish_and_settle(h, &first).await;
    let second = h.network.next_batch(&EpochInputs {
        intents: 12,
        transfers: 4,
        settlements: executed_settlements(h).await,
        ..Default::default()
    });
    publish_and_settle(h, &second).await;
    relayer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supply_raised_without_a_source_is_refused() {
    let mut h = harness().await;
    let relayer = two_good_epochs(&mut h).await;
    let mut bad = h.network.next_batch(&EpochInputs::default()).state;
    let account = h.network.accounts()[1];
    *bad.balances.get_mut(&Token::Myco).unwrap().entry(account).or_default() += U256::from(WAD);
    bad.reserve.total_supply += U256::from(WAD);
    let bad = h.network.certify(bad);
    assert_eq!(refused(&h, relayer, &bad).await, ViolationKind::SupplyUnexplained);
    // The validators' attesters audit it too, before signing: none signs epoch 3, each halts with the rule (so a
    // relayer that skipped the audit could not commit it either).
    for attester in std::mem::take(&mut h.attesters) {
        wait_until("the attester halts", || async { attester.task.is_finished() }).await;
        assert!(myco_bridge::store::attestations::get(&attester.pool, Epoch(3)).await.unwrap().is_none());
        match attester.task.await.unwrap() {
            Err(myco_bridge::Error::Conservation(v)) => assert_eq!(v.kind, ViolationKind::SupplyUnexplained),
            other => panic!("the attester should halt on the violation, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserve_above_what_the_escrow_holds_is_refused() {
    let mut h = harness().await;
    let relayer = two_good_epochs(&mut h).await;
    // A deposit the escrow never received, credited as if it had.
    let account = h.network.accounts()[2];
    let made_up = CreditedDeposit { deposit_id: 999, account, amount: U256::from(1_000_000_000u64) };
    let bad = h.network.next_batch(&EpochInputs { deposits: vec![made_up], ..Default::default() });
    assert_eq!(refused(&h, relayer, &bad).await, ViolationKind::ReserveAboveHoldings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_applied_twice_or_altered_or_never_is_refused() {
    // Applied twice.
    let mut h = harness().await;
    let relayer = two_good_epochs(&mut h).await;
    let settlements = executed_settlements(&h).await;
    assert!(!settlements.is_empty() && !settlements[0].fills.is_empty(), "epoch 2's intents traded");
    let third = h.network.next_batch(&EpochInputs { settlements: settlements.clone(), ..Default::default() });
    publish_and_settle(&h, &third).await;
    // The validators list it again (the balances would move twice; the audit refuses before it looks at them).
    let mut bad = h.network.next_batch(&EpochInputs::default()).state;
    bad.ledger.as_mut().unwrap().settlements = settlements;
    let bad = h.network.certify(bad);
    assert_eq!(refused(&h, relayer, &bad).await, ViolationKind::SettlementReapplied);

    // Altered by one unit.
    let mut h = harness().await;
    let relayer = two_good_epochs(&mut h).await;
    let mut settlements = executed_settlements(&h).await;
    settlements[0].fills[0].bought += U256::from(1);
    let bad = h.network.next_batch(&EpochInputs { settlements, ..Default::default() });
    assert_eq!(refused(&h, relayer, &bad).await, ViolationKind::SettlementMismatch);

    // Never applied: with one epoch allowed, epoch 2's settlement is overdue at epoch 4.
    let mut h = harness().await;
    let mut config = h.config();
    config.conservation.settle_within_epochs = 1;
    let relayer = two_good_epochs_with(&mut h, config).await;
    assert!(!executed_settlements(&h).await.is_empty(), "epoch 2's intents traded");
    let third = h.network.next_batch(&EpochInputs::default());
    publish_and_settle(&h, &third).await;
    let bad = h.network.next_batch(&EpochInputs::default());
    assert_eq!(refused(&h, relayer, &bad).await, ViolationKind::SettlementNotApplied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_listed_again_after_it_traded_is_refused() {
    let mut h = harness().await;
    let relayer = two_good_epochs(&mut h).await;
    let traded = executed_settlements(&h).await.remove(0).fills.remove(0);
    let listed = stored_state(&h, 2).await.intents;
    let intent = listed.into_iter().find(|i| (i.maker, i.id) == (traded.maker, traded.intent)).unwrap();
    let mut bad = h.network.next_batch(&EpochInputs::default()).state;
    bad.intents.push(intent);
    let bad = h.network.certify(bad);
    assert_eq!(refused(&h, relayer, &bad).await, ViolationKind::IntentRefilled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mint_without_a_valid_attestation_or_over_its_limit_is_refused() {
    let mut h = harness().await;
    let relayer = two_good_epochs(&mut h).await;
    let account = h.network.accounts()[3];
    let mut bad =
        h.network.next_batch(&EpochInputs { mints: vec![(account, U256::from(WAD))], ..Default::default() }).state;
    let mint = bad.ledger.as_mut().unwrap().mints.iter_mut().find(|m| m.contributor == account).unwrap();
    mint.sign(h.devnet.chain_id(), bad.epoch, &ed25519_dalek::SigningKey::from_bytes(&[0x77; 32]));
    let bad = h.network.certify(bad);
    assert_eq!(refused(&h, relayer, &bad).await, ViolationKind::MintUnattested);

    let mut h = harness().await;
    let relayer = two_good_epochs(&mut h).await;
    let over = U256::from(100_001u64) * U256::from(WAD);
    let bad = h.network.next_batch(&EpochInputs { mints: vec![(account, over)], ..Default::default() });
    assert_eq!(refused(&h, relayer, &bad).await, ViolationKind::MintOverLimit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tranche_pushed_out_of_its_band_is_refused() {
    let mut h = harness().await;
    let relayer = two_good_epochs(&mut h).await;
    // Epoch 3 certifies a claim and writes the t-bills vault off entirely; epoch 4 pays the claim from the
    // vaults, and the empty one stays outside its band without improving.
    let account = h.network.accounts()[0];
    let tbills = stored_state(&h, 2).await.reserve.vaults.iter().find(|v| v.id == "t-bills").unwrap().value;
    let ask = WithdrawalAsk { account, amount: U256::from(WAD), recipient: Address::repeat_byte(9) };
    let write_off = Revaluation { vault: "t-bills".into(), loss: true, amount: tbills, reason: "default".into() };
    let third = h.network.next_batch(&EpochInputs {
        withdrawals: vec![ask],
        revaluations: vec![write_off],
        settlements: executed_settlements(&h).await,
        ..Default::default()
    });
    publish_and_settle(&h, &third).await;
    let bad = h.network.next_batch(&EpochInputs::default());
    assert_eq!(refused(&h, relayer, &bad).await, ViolationKind::TrancheOutOfBand);
}

/// Epochs of the long run.
const LONG_RUN_EPOCHS: u64 = 200;
/// How far the validators' batches run ahead of the chain's settlements in the long run.
const RUN_AHEAD_EPOCHS: u64 = 3;

/// The settlement account's MYCO and USDC.
async fn float(h: &Harness) -> (U256, U256) {
    let provider = h.devnet.provider(ADMIN_ACCOUNT);
    let account = h.devnet.signer(RELAYER_ACCOUNT).address();
    let d = h.devnet.deployment;
    let myco = Erc20::new(d.myco, &provider).balanceOf(account).call().await.unwrap();
    let usdc = Erc20::new(d.usdc, &provider).balanceOf(account).call().await.unwrap();
    (myco, usdc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_run_balances_every_epoch_and_settles_every_fill_exactly_once() {
    let mut h = harness().await;
    let accounts = h.network.accounts();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    let float_before = float(&h).await;
    let mut epoch = 0;
    while epoch < LONG_RUN_EPOCHS || !h.network.unapplied_epochs().is_empty() {
        epoch += 1;
        let trading = epoch <= LONG_RUN_EPOCHS;
        let mut inputs = EpochInputs {
            mints: vec![(accounts[epoch as usize % 4], U256::from(20 * WAD))],
            intents: if trading { 12 } else { 0 },
            transfers: 6,
            reserve_loss_bps: if epoch == LONG_RUN_EPOCHS / 2 { 30 } else { 0 },
            settlements: executed_settlements(&h).await,
            ..Default::default()
        };
        if epoch % 10 == 1 {
            let account = accounts[(epoch / 10) as usize % 4];
            let id = h.deposit(FIRST_USER_ACCOUNT, account, 2_000_000_000).await;
            inputs.deposits.push(CreditedDeposit { deposit_id: id, account, amount: U256::from(2_000_000_000u64) });
        }
        let richest = *accounts.iter().max_by_key(|a| h.network.balance(Token::Myco, a)).unwrap();
        if epoch % 7 == 0 && h.network.balance(Token::Myco, &richest) > U256::from(10 * WAD) {
            let ask =
                WithdrawalAsk { account: richest, amount: U256::from(5 * WAD), recipient: Address::repeat_byte(5) };
            inputs.withdrawals.push(ask);
        }
        // The validators run ahead of the chain by a few epochs, as they may: each settlement is applied as soon
        // as it executed, well within the eight epochs allowed.
        let produced = h.network.next_batch(&inputs);
        FolderSource::new(&h.batch_dir).publish(epoch, &produced.bytes).await.unwrap();
        if let Some(behind) = epoch.checked_sub(RUN_AHEAD_EPOCHS).filter(|b| *b > 0) {
            wait_until(&format!("epoch {behind} is settled"), || settled(&h, behind)).await;
        }
    }
    wait_until(&format!("epoch {epoch} is settled"), || settled(&h, epoch)).await;
    relayer.stop().await.unwrap();

    // Every epoch audited and balanced, from the second on with every ledger line; no violation, no mismatch.
    let audits = ledger::audits(&h.pool).await.unwrap();
    assert_eq!(audits.len() as u64, epoch);
    for (e, terms) in &audits {
        assert_eq!(terms["balanced"], true, "epoch {e}");
        if e.0 > 1 {
            for line in ["myco_supply", "usdc_balances", "reserve"] {
                assert_eq!(terms[line]["balanced"], true, "epoch {e}: {line}");
            }
        }
        assert!(terms["onchain"].is_object(), "epoch {e}: the escrow's holdings were checked");
    }
    assert!(ledger::violations(&h.pool).await.unwrap().is_empty());
    assert!(mismatches::open(&h.pool).await.unwrap().is_empty(), "the watcher reconciled every deposit");

    // Every fill credited exactly once: each traded epoch applied once, and as many fills applied as traded.
    let traded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM settlement_fills").fetch_one(&h.pool).await.unwrap();
    let unapplied: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM settlement_fills WHERE epoch NOT IN (SELECT settled_epoch FROM settlement_applications)",
    )
    .fetch_one(&h.pool)
    .await
    .unwrap();
    assert!(traded > 50, "a busy market: {traded} fills");
    assert_eq!(unapplied, 0);
    let mut applied_fills = 0;
    let mut listed: BTreeMap<(B256, B256), u64> = BTreeMap::new();
    let mut offered: BTreeMap<(B256, B256), U256> = BTreeMap::new();
    let mut partly_filled = 0;
    for e in 1..=epoch {
        let state = stored_state(&h, e).await;
        for i in &state.intents {
            *listed.entry((i.maker, i.id)).or_default() += 1;
            offered.insert((i.maker, i.id), i.sell_amount);
        }
        let ledger_flows = state.ledger.expect("version 2");
        for fill in ledger_flows.settlements.iter().flat_map(|s| &s.fills) {
            applied_fills += 1;
            partly_filled += usize::from(fill.sold < offered[&(fill.maker, fill.intent)]);
        }
    }
    assert_eq!(applied_fills as i64, traded);
    // No intent trades twice: every intent is listed in one batch only.
    assert!(listed.values().all(|&n| n == 1));
    assert!(partly_filled > 0, "some intents filled only in part");

    // The float ends where the executed orders say.
    let (mut myco, mut usdc) = float_before;
    let mut legs = BTreeSet::new();
    for row in curve::all(&h.pool).await.unwrap() {
        let executed = row.executed.expect("every epoch executed");
        myco = myco - row.plan.sell.0 + executed.myco_out;
        usdc = usdc - row.plan.buy.0 + executed.usdc_out;
        if !row.plan.sell.0.is_zero() {
            legs.insert("sell");
        }
        if !row.plan.buy.0.is_zero() {
            legs.insert("buy");
        }
    }
    assert_eq!(float(&h).await, (myco, usdc));
    assert_eq!(legs.len(), 2, "both curve legs traded");
}

/// A claim paid in blocks the escrow watcher has not read yet (it waits for confirmations) left the escrow's
/// balance: the audit reads those blocks' withdrawals too, so the claim is owed no more and the next epoch,
/// whose on-chain reserve is exactly what the escrow holds, still balances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_paid_before_the_watcher_reads_it_is_not_owed_twice() {
    use myco_bridge::chain::bindings::USDCEscrow;
    let mut h = harness().await;
    let mut config = h.config();
    config.confirmations = 250; // more blocks than the test makes: the watcher reads none, every payment is after its cursor
    let relayer = two_good_epochs_with(&mut h, config).await;
    let account = h.network.accounts()[0];
    let recipient = h.devnet.signer(FIRST_USER_ACCOUNT + 1).address();
    let ask = WithdrawalAsk { account, amount: U256::from(10 * WAD), recipient };
    let third = h.network.next_batch(&EpochInputs {
        withdrawals: vec![ask],
        settlements: executed_settlements(&h).await,
        ..Default::default()
    });
    publish_and_settle(&h, &third).await;

    // Past the challenge window, the claim is paid on chain with the relayer's proof.
    h.devnet.advance_time(601).await.unwrap();
    let stored = myco_bridge::store::claims::all(&h.pool).await.unwrap().remove(0);
    let provider = h.devnet.provider(FIRST_USER_ACCOUNT + 1);
    let escrow = USDCEscrow::new(h.devnet.deployment.escrow, &provider);
    let claim = myco_bridge::chain::withdrawal_claim(&stored.claim);
    myco_bridge::chain::send_call("withdraw", escrow.withdraw(claim, stored.proof.clone())).await.unwrap();
    assert!(stored.paid_tx.is_none() && myco_bridge::store::claims::all(&h.pool).await.unwrap()[0].paid_tx.is_none());

    let fourth =
        h.network.next_batch(&EpochInputs { settlements: executed_settlements(&h).await, ..Default::default() });
    publish_and_settle(&h, &fourth).await;
    relayer.stop().await.unwrap();
    let audits = ledger::audits(&h.pool).await.unwrap();
    let onchain = &audits[3].1["onchain"];
    assert_eq!(onchain["available_usd"], onchain["reserve_onchain"], "exactly covered: {onchain}");
    assert_eq!(onchain["owed_usdc"], "0", "{onchain}");
}

/// A claim of a cancelled commitment reissued in a version 2 network: the relayer's and the attesters'
/// conservation audits accept the reissuing batch (no second debit; the old price back in the reserve and its
/// vaults) and the one after it (the reissued claim paid from the reserve at the new price), and commit both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reissued_claim_passes_the_conservation_audit() {
    use myco_bridge::chain::bindings::{StateCommitment, USDCEscrow};
    use myco_bridge::devnet::simulate::Reissue;
    let mut h = harness().await;
    let relayer = two_good_epochs(&mut h).await;
    let account = h.network.accounts()[0];
    let ask = WithdrawalAsk { account, amount: U256::from(WAD), recipient: Address::repeat_byte(9) };
    let third = h.network.next_batch(&EpochInputs {
        withdrawals: vec![ask],
        settlements: executed_settlements(&h).await,
        ..Default::default()
    });
    publish_and_settle(&h, &third).await;
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let d = h.devnet.deployment;
    let hash = StateCommitment::new(d.state_commitment, &admin).commitmentHashOf(3).call().await.unwrap();
    let escrow = USDCEscrow::new(d.escrow, &admin);
    let old = myco_bridge::store::claims::all(&h.pool).await.unwrap().remove(0);
    let priced = escrow.quoteWithdrawal(myco_bridge::chain::withdrawal_claim(&old.claim)).call().await.unwrap();
    myco_bridge::chain::send_call("cancelCommitment", escrow.cancelCommitment(3, hash, "review".into())).await.unwrap();

    let mut request = third.state.withdrawals[0].clone();
    request.reissues = Some(3);
    let fourth = h.network.next_batch(&EpochInputs {
        reissues: vec![Reissue { request, priced_usdc: priced }],
        settlements: executed_settlements(&h).await,
        ..Default::default()
    });
    publish_and_settle(&h, &fourth).await;
    let fifth =
        h.network.next_batch(&EpochInputs { settlements: executed_settlements(&h).await, ..Default::default() });
    publish_and_settle(&h, &fifth).await;
    assert!(myco_bridge::store::ledger::violations(&h.pool).await.unwrap().is_empty());
    let moved = myco_bridge::store::claims::get(&h.pool, old.claim.claim_id.into()).await.unwrap().unwrap();
    assert_eq!(moved.claim.epoch, 4);
    relayer.stop().await.unwrap();
}
