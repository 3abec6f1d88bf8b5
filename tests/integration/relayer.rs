//! The relayer against anvil: quarantine, restart without double submission, halting on a conflicting root,
//! and a readable error for a key without the relayer role.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use myco_bridge::chain::bindings::StateCommitment;
use myco_bridge::chain::bindings::state_commitment::IStateCommitment::ReserveFigures;
use myco_bridge::devnet::faults::Fault;
use myco_bridge::devnet::simulate::{EpochInputs, WithdrawalAsk};
use myco_bridge::devnet::{ADMIN_ACCOUNT, RELAYER_ACCOUNT};
use myco_bridge::ids::Epoch;
use myco_bridge::ingest::document::CreditedDeposit;
use myco_bridge::ingest::folder::FolderSource;
use myco_bridge::store::{batches, commitments, quarantine};

use crate::common::{Harness, wait_until};

async fn latest_on_chain(h: &Harness) -> u64 {
    let provider = h.devnet.provider(ADMIN_ACCOUNT);
    StateCommitment::new(h.devnet.deployment.state_commitment, &provider).latestEpoch().call().await.unwrap()
}

async fn committed(h: &Harness, epoch: u64) -> bool {
    commitments::latest(&h.pool).await.unwrap().map(|e| e.0).is_some_and(|l| l >= epoch)
}

/// Whether `epoch`'s root is committed and its net orders are executed (the last step of an epoch).
async fn settled(h: &Harness, epoch: u64) -> bool {
    use myco_bridge::store::curve::{self, Status};
    curve::get(&h.pool, Epoch(epoch)).await.unwrap().is_some_and(|r| r.status == Status::Executed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantines_a_bad_batch_then_accepts_a_valid_replacement() {
    let mut h = Harness::start().await;
    let source = FolderSource::new(&h.batch_dir);
    let good = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    let mut bad = good.bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1; // one signature byte
    source.publish(1, &bad).await.unwrap();

    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("the bad batch is quarantined", || async { !quarantine::all(&h.pool).await.unwrap().is_empty() }).await;
    let entries = quarantine::all(&h.pool).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].reason, "bad_signature");
    assert_eq!(entries[0].epoch, Some(1));
    assert_eq!(entries[0].raw, bad);
    assert_eq!(latest_on_chain(&h).await, 0);

    source.publish(1, &good.bytes).await.unwrap();
    wait_until("the valid batch is committed", || committed(&h, 1)).await;
    relayer.stop().await.unwrap();
    assert_eq!(latest_on_chain(&h).await, 1);
    assert_eq!(quarantine::all(&h.pool).await.unwrap().len(), 1, "bad bytes kept once, not per poll");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_lost_record_finds_root_on_chain_and_sends_nothing() {
    let mut h = Harness::start().await;
    let source = FolderSource::new(&h.batch_dir);
    let b1 = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    source.publish(1, &b1.bytes).await.unwrap();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("epoch 1 is committed and settled", || settled(&h, 1)).await;
    relayer.stop().await.unwrap();

    // A crash after the transaction was mined but before it was recorded.
    sqlx::query("DELETE FROM commitments").execute(&h.pool).await.unwrap();
    let relayer_address = h.devnet.signer(RELAYER_ACCOUNT).address();
    let nonce_before = h.devnet.provider(ADMIN_ACCOUNT).get_transaction_count(relayer_address).await.unwrap();

    let b2 = h.network.next_batch(&EpochInputs { timestamp: 2, ..Default::default() });
    source.publish(2, &b2.bytes).await.unwrap();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("epoch 2 is committed and settled", || settled(&h, 2)).await;
    relayer.stop().await.unwrap();

    let all = commitments::all(&h.pool).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].tx_hash, None, "epoch 1 recorded as found on chain, not sent again");
    assert!(all[1].tx_hash.is_some());
    let nonce_after = h.devnet.provider(ADMIN_ACCOUNT).get_transaction_count(relayer_address).await.unwrap();
    assert_eq!(nonce_after, nonce_before + 2, "exactly epoch 2's root and its (empty) settlement");
    assert_eq!(latest_on_chain(&h).await, 2);
}

/// A different commitment on chain, inside its window, is waited out with an alarm; once the guardian revokes it
/// the relayer commits its own, without a restart. (Past its window it halts: `real_chain`'s halt test.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_commitment_is_waited_out_until_the_guardian_revokes_it_then_ours_lands() {
    let mut h = Harness::start().await;
    // A quorum of colluding attesters signs a different root for epoch 1, and someone commits it first.
    let provider = h.devnet.provider(RELAYER_ACCOUNT);
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &provider);
    let figures = ReserveFigures {
        totalSupply: Default::default(),
        totalReserve: Default::default(),
        flowPressure: Default::default(),
        timestamp: 1,
    };
    let foreign_root = B256::repeat_byte(0xee);
    let foreign = myco_bridge::chain::RootCommit {
        epoch: Epoch(1),
        state_root: foreign_root,
        parent_root: B256::ZERO,
        digest: B256::ZERO,
        timestamp: 1,
        figures: Default::default(),
    };
    let signatures = h.quorum(&foreign);
    let commit = sc.commit(1, B256::ZERO, foreign_root, B256::ZERO, figures, signatures);
    myco_bridge::chain::send_call("commit", commit).await.unwrap();

    let b1 = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(1, &b1.bytes).await.unwrap();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    let alarm = relayer.alarm(myco_bridge::health::Alarm::ConflictingRoot).await;
    assert!(alarm.contains("waiting for the guardian") && alarm.contains(&foreign_root.to_string()), "{alarm}");
    assert!(commitments::all(&h.pool).await.unwrap().is_empty());

    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let guardian = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    myco_bridge::chain::send_call("revoke", guardian.revoke(1)).await.unwrap();
    wait_until("our commitment lands", || committed(&h, 1)).await;
    let ours = batches::get(&h.pool, Epoch(1)).await.unwrap().unwrap().state_root;
    assert_eq!(guardian.commitmentOf(1).call().await.unwrap().stateRoot, ours);
    relayer.stop().await.expect("the relayer never halted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorised_key_stops_with_the_decoded_revert() {
    let mut h = Harness::start().await;
    let b1 = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(1, &b1.bytes).await.unwrap();
    // An anvil account without SETTLEMENT_ROLE: its commit lands (anyone may submit an attested commitment),
    // its net orders are refused.
    let config = myco_bridge::relayer::Config { settlement_account: h.devnet.signer(7).address(), ..h.config() };
    let relayer = h.spawn_relayer_with(7, config);
    let ended = tokio::time::timeout(crate::common::TIMEOUT, relayer.task).await.expect("relayer halts").unwrap();
    let err = ended.expect_err("an unauthorised key must stop the relayer").to_string();
    assert!(err.contains("AccessControlUnauthorizedAccount"), "{err}");
    // The batch itself stays accepted, ready for a correctly configured relayer.
    assert_eq!(myco_bridge::store::batches::last(&h.pool).await.unwrap().map(|(e, _)| e.0), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantines_every_kind_of_bad_batch_and_loses_nothing() {
    let mut h = Harness::start().await;
    let source = FolderSource::new(&h.batch_dir);
    let account = h.network.accounts()[0];
    let first = h.network.next_batch(&EpochInputs {
        timestamp: 1,
        deposits: vec![CreditedDeposit { deposit_id: 1, account, amount: U256::from(1_000_000_000u64) }],
        withdrawals: vec![WithdrawalAsk {
            account,
            amount: U256::from(10u64).pow(U256::from(18)),
            recipient: Address::repeat_byte(7),
        }],
        ..Default::default()
    });
    assert_eq!(first.state.withdrawals.len(), 1, "epoch 1 certifies claim 1");
    source.publish(1, &first.bytes).await.unwrap();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("epoch 1 is committed", || committed(&h, 1)).await;

    let second = h.network.next_batch(&EpochInputs { timestamp: 2, intents: 20, transfers: 3, ..Default::default() });
    // Two certified histories (a second batch for the epoch, a certified batch forking from the accepted one)
    // halt instead: `ingest::conflicting_certified_batches_halt_and_are_kept_as_evidence` and
    // `ingest::a_certified_fork_at_the_next_epoch_halts_and_is_kept_as_evidence`.
    let faults: Vec<Fault> =
        Fault::ALL.into_iter().filter(|f| !matches!(f, Fault::Equivocation | Fault::WrongParent)).collect();
    for (i, fault) in faults.iter().enumerate() {
        source.publish(2, &h.network.faulty(&second, Some(&first), *fault)).await.unwrap();
        wait_until(&format!("{fault:?} is quarantined"), || async {
            quarantine::all(&h.pool).await.unwrap().len() > i
        })
        .await;
    }
    let kept = quarantine::all(&h.pool).await.unwrap();
    let reasons: Vec<&str> = kept.iter().map(|q| q.reason.as_str()).collect();
    let expected: Vec<&str> = faults.iter().map(|f| f.expected_reason()).collect();
    assert_eq!(reasons, expected, "each bad batch kept once, with its own reason");
    assert!(kept.iter().all(|q| q.epoch == Some(2) && !q.raw.is_empty()));

    // Nothing accepted was lost or changed, and the valid batch still goes through.
    assert_eq!(batches::last(&h.pool).await.unwrap(), Some((Epoch(1), first.digest)));
    source.publish(2, &second.bytes).await.unwrap();
    wait_until("epoch 2 is committed", || committed(&h, 2)).await;
    relayer.stop().await.unwrap();
    assert_eq!(latest_on_chain(&h).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_orders_wait_for_their_root_and_execute_once_even_across_a_crash_between_them() {
    use myco_bridge::chain::bindings::MycoBondingCurve;
    use myco_bridge::store::curve::{self, Status};

    let mut h = Harness::start().await;
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    let curve_contract = MycoBondingCurve::new(h.devnet.deployment.curve, &admin);
    let supply_before = curve_contract.supply().call().await.unwrap();

    // A market with both sides: every account gets USDC, trades and signs intents.
    let deposits: Vec<CreditedDeposit> = h
        .network
        .accounts()
        .iter()
        .enumerate()
        .map(|(i, a)| CreditedDeposit { deposit_id: i as u64 + 1, account: *a, amount: U256::from(1_000_000_000u64) })
        .collect();
    let b1 =
        h.network.next_batch(&EpochInputs { timestamp: 1, deposits, transfers: 10, intents: 30, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(1, &b1.bytes).await.unwrap();

    // The root cannot land (the contract is paused), so nothing trades: the curve settles only committed epochs.
    myco_bridge::chain::send_call("pause", sc.pause()).await.unwrap();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    let error = relayer.alarm(myco_bridge::health::Alarm::Paused).await;
    assert!(error.contains("BrakeEngaged"), "{error}");
    relayer.stop().await.expect("waiting out a pause is not a halt");
    assert_eq!(curve::get(&h.pool, Epoch(1)).await.unwrap(), None, "no orders planned before the root");
    assert_eq!(curve_contract.supply().call().await.unwrap(), supply_before);

    // Unpaused: the root lands, then its orders.
    myco_bridge::chain::send_call("unpause", sc.unpause()).await.unwrap();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    let executed =
        || async { curve::get(&h.pool, Epoch(1)).await.unwrap().is_some_and(|r| r.status == Status::Executed) };
    wait_until("epoch 1's orders are executed", executed).await;
    relayer.stop().await.unwrap();
    assert_eq!(latest_on_chain(&h).await, 1);
    let row = curve::get(&h.pool, Epoch(1)).await.unwrap().unwrap();
    let first = row.executed.unwrap();
    let supply_after = curve_contract.supply().call().await.unwrap();
    assert_eq!(supply_after, supply_before - row.plan.sell.0 + first.myco_out);
    assert_ne!(supply_after, supply_before, "the batch's auction left net orders");
    let commit_block = commitments::all(&h.pool).await.unwrap()[0].block_number.unwrap();
    assert!(first.block_number > commit_block, "the orders came after their root");

    // A crash after sending the orders, before recording them: the restart finds them on chain, sends nothing.
    sqlx::query("UPDATE curve_settlements SET status = 'planned', tx_hash = NULL").execute(&h.pool).await.unwrap();
    let relayer_address = h.devnet.signer(RELAYER_ACCOUNT).address();
    let nonce_before = admin.get_transaction_count(relayer_address).await.unwrap();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("epoch 1's execution is recovered", executed).await;
    relayer.stop().await.unwrap();
    let row = curve::get(&h.pool, Epoch(1)).await.unwrap().unwrap();
    assert_eq!(row.executed.unwrap().tx_hash, first.tx_hash);
    assert_eq!(row.executed.unwrap().myco_out, first.myco_out);
    assert_eq!(curve_contract.supply().call().await.unwrap(), supply_after);
    assert_eq!(admin.get_transaction_count(relayer_address).await.unwrap(), nonce_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_never_credited_or_credited_wrongly_are_recorded_as_mismatches() {
    use myco_bridge::chain::bindings::{TestUSDC, USDCEscrow};
    use myco_bridge::store::mismatches;

    let mut h = Harness::start().await;
    let user = h.devnet.signer(myco_bridge::devnet::FIRST_USER_ACCOUNT).address();
    let provider = h.devnet.provider(myco_bridge::devnet::FIRST_USER_ACCOUNT);
    let usdc = TestUSDC::new(h.devnet.deployment.usdc, &provider);
    myco_bridge::chain::send_call("mint", usdc.mint(user, U256::from(100_000_000u64))).await.unwrap();
    myco_bridge::chain::send_call("approve", usdc.approve(h.devnet.deployment.escrow, U256::MAX)).await.unwrap();
    let escrow = USDCEscrow::new(h.devnet.deployment.escrow, &provider);
    let account = h.network.accounts()[0];
    for amount in [10_000_000u64, 20_000_000] {
        myco_bridge::chain::send_call("deposit", escrow.deposit(U256::from(amount), account)).await.unwrap();
    }
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("the watcher sees both deposits", || async {
        myco_bridge::store::escrow::deposits(&h.pool).await.unwrap().len() == 2
    })
    .await;

    // The validators credit deposit 2 with the wrong amount and never credit deposit 1.
    let source = FolderSource::new(&h.batch_dir);
    let wrong = CreditedDeposit { deposit_id: 2, account, amount: U256::from(25_000_000u64) };
    for epoch in 1..=4u64 {
        let deposits = if epoch == 1 { vec![wrong.clone()] } else { Vec::new() };
        let batch = h.network.next_batch(&EpochInputs { timestamp: epoch, deposits, ..Default::default() });
        source.publish(epoch, &batch.bytes).await.unwrap();
    }
    wait_until("both mismatches are recorded", || async { mismatches::open(&h.pool).await.unwrap().len() >= 2 }).await;
    wait_until("every epoch is committed", || committed(&h, 4)).await;
    relayer.stop().await.unwrap();
    let mut open = mismatches::open(&h.pool).await.unwrap();
    open.sort_by(|a, b| a.kind.cmp(&b.kind));
    let kinds: Vec<(&str, &str)> = open.iter().map(|m| (m.kind.as_str(), m.subject.as_str())).collect();
    assert_eq!(kinds, [("credit_differs", "2"), ("deposit_not_credited", "1")]);
    assert!(open[0].evidence.contains("25000000") && open[0].evidence.contains("20000000"), "{}", open[0].evidence);
    assert_eq!(latest_on_chain(&h).await, 4, "mismatches are shown, not a reason to stop");
}
