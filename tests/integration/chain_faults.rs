//! The chain side under faults against anvil: a transaction stuck under a rising base fee is replaced until it
//! lands.

use alloy::providers::Provider;
use myco_bridge::chain::attempts::AttemptStatus;
use myco_bridge::chain::bindings::StateCommitment;
use myco_bridge::devnet::simulate::EpochInputs;
use myco_bridge::devnet::{ADMIN_ACCOUNT, RELAYER_ACCOUNT};
use myco_bridge::ids::{Epoch, Purpose};
use myco_bridge::ingest::folder::FolderSource;
use myco_bridge::store::attempts;
use myco_bridge::store::commitments;
use myco_bridge::store::curve::{self, Status as CurveStatus};

use crate::common::{Harness, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_commit_is_replaced_with_higher_fees_until_it_lands() {
    let mut h = Harness::start().await;
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let _: serde_json::Value = admin.raw_request("evm_setAutomine".into(), (false,)).await.unwrap();
    let b1 = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(1, &b1.bytes).await.unwrap();
    let mut config = h.config();
    config.tx.resubmit_after_blocks = 2;
    let relayer = h.spawn_relayer_with(RELAYER_ACCOUNT, config);

    // The commit is priced for today's base fee; from now on every block's base fee is three times its cap, so
    // only replacements with higher fees can land.
    wait_until("the commit is sent", || async { !attempts::all(&h.pool).await.unwrap().is_empty() }).await;
    let first = attempts::all(&h.pool).await.unwrap()[0].clone();
    let pinned = first.max_fee_per_gas * 3;
    // Blocks come until the epoch is done: its root, then its net orders (which must outbid the base fee too).
    let settled = |pool: myco_bridge::store::Pool| async move {
        curve::get(&pool, Epoch(1)).await.unwrap().is_some_and(|r| r.status == CurveStatus::Executed)
    };
    let pool = h.pool.clone();
    let miner = {
        let admin = admin.clone();
        tokio::spawn(async move {
            while !settled(pool.clone()).await {
                let _: serde_json::Value =
                    admin.raw_request("anvil_setNextBlockBaseFeePerGas".into(), (pinned.to_string(),)).await.unwrap();
                let _: serde_json::Value = admin.raw_request("evm_mine".into(), ()).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(60)).await;
            }
        })
    };
    wait_until("the commit lands and the epoch settles", || settled(h.pool.clone())).await;
    miner.await.unwrap();
    relayer.stop().await.unwrap();

    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    assert_eq!(sc.latestEpoch().call().await.unwrap(), 1);
    let all: Vec<_> =
        attempts::all(&h.pool).await.unwrap().into_iter().filter(|a| a.purpose == Purpose::Commit).collect();
    assert!(all.len() >= 2, "replaced: {all:#?}");
    assert!(all.iter().all(|a| a.nonce == first.nonce), "one nonce throughout");
    for pair in all.windows(2) {
        // Each replacement raises both fees by at least 10%, as nodes require.
        assert!(pair[1].max_fee_per_gas * 10 >= pair[0].max_fee_per_gas * 11, "{pair:#?}");
        assert!(pair[1].max_priority_fee_per_gas * 10 >= pair[0].max_priority_fee_per_gas * 11, "{pair:#?}");
    }
    let mined: Vec<_> = all.iter().filter(|a| a.status == AttemptStatus::Mined).collect();
    assert_eq!(mined.len(), 1);
    assert!(mined[0].max_fee_per_gas >= pinned, "only a fee cap above the base fee lands");
    // The others were replaced in the pool, or refused by the node as priced under the base fee.
    assert!(
        all.iter()
            .filter(|a| a.status != AttemptStatus::Mined)
            .all(|a| matches!(a.status, AttemptStatus::Replaced | AttemptStatus::Refused)),
        "{all:#?}"
    );
    assert!(all.iter().any(|a| a.status == AttemptStatus::Replaced), "the first, stuck attempt was replaced: {all:#?}");
    let committed = commitments::all(&h.pool).await.unwrap();
    assert_eq!(committed[0].tx_hash, mined[0].tx_hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relayer_rides_out_an_rpc_outage_and_commits_everything() {
    use crate::proxy::{Mode, Proxy};
    use myco_bridge::relayer::Relayer;
    use tokio_util::sync::CancellationToken;

    let mut h = Harness::start().await;
    let upstream = format!("127.0.0.1:{}", h.devnet.anvil.port()).parse().unwrap();
    let proxy = Proxy::start(upstream).await;
    let provider = myco_bridge::chain::signing_provider(proxy.url(), h.devnet.signer(RELAYER_ACCOUNT));
    let shutdown = CancellationToken::new();
    let relayer = tokio::spawn(Relayer::new(h.pool.clone(), provider, h.config()).run(shutdown.clone()));
    let source = FolderSource::new(&h.batch_dir);
    let committed = |epoch: u64| {
        let pool = h.pool.clone();
        async move { commitments::latest(&pool).await.unwrap().map(|e| e.0).is_some_and(|l| l >= epoch) }
    };

    let mut publish = async |epoch: u64| {
        let batch =
            h.network.next_batch(&EpochInputs { timestamp: epoch, transfers: 2, intents: 4, ..Default::default() });
        source.publish(epoch, &batch.bytes).await.unwrap();
    };
    publish(1).await;
    wait_until("epoch 1 is committed", || committed(1)).await;

    // The node drops every connection, then refuses them, while the validators keep certifying.
    proxy.set(Mode::Drop).await;
    publish(2).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    proxy.set(Mode::Refuse).await;
    publish(3).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(!relayer.is_finished(), "an outage is not a reason to stop");
    assert!(!committed(2).await, "nothing can be committed through a dead node");

    proxy.set(Mode::Up).await;
    publish(4).await;
    wait_until("every epoch is committed after the outage", || committed(4)).await;
    shutdown.cancel();
    relayer.await.unwrap().unwrap();

    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    assert_eq!(sc.latestEpoch().call().await.unwrap(), 4);
    let all = commitments::all(&h.pool).await.unwrap();
    assert_eq!(all.iter().map(|c| c.epoch.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
    for c in &all {
        assert_eq!(sc.commitmentOf(c.epoch.0).call().await.unwrap().stateRoot, c.state_root);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_the_relayer_still_commits_each_epoch_once_in_order() {
    use myco_bridge::chain::bindings::MycoBondingCurve;
    use myco_bridge::ingest::document::CreditedDeposit;
    use myco_bridge::rng::SplitMix64;

    const EPOCHS: u64 = 8;
    let mut h = Harness::start().await;
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    // Blocks every second instead of per transaction: a kill now often lands between send and receipt.
    let _: serde_json::Value = admin.raw_request("evm_setAutomine".into(), (false,)).await.unwrap();
    let _: serde_json::Value = admin.raw_request("evm_setIntervalMining".into(), (1,)).await.unwrap();
    let source = FolderSource::new(&h.batch_dir);
    let deposits: Vec<CreditedDeposit> = h
        .network
        .accounts()
        .iter()
        .enumerate()
        .map(|(i, a)| CreditedDeposit {
            deposit_id: i as u64 + 1,
            account: *a,
            amount: alloy::primitives::U256::from(5_000_000_000u64),
        })
        .collect();
    for epoch in 1..=EPOCHS {
        let deposits = if epoch == 1 { deposits.clone() } else { Vec::new() };
        let batch = h.network.next_batch(&EpochInputs {
            timestamp: epoch,
            deposits,
            transfers: 4,
            intents: 12,
            ..Default::default()
        });
        source.publish(epoch, &batch.bytes).await.unwrap();
    }
    let curve_contract = MycoBondingCurve::new(h.devnet.deployment.curve, &admin);
    let supply_before = curve_contract.supply().call().await.unwrap();

    // Start, kill at a random instant (no graceful shutdown: the task is aborted), repeat.
    let mut rng = SplitMix64(42);
    let mut kills = 0;
    while commitments::latest(&h.pool).await.unwrap().map(|e| e.0).is_none_or(|l| l < EPOCHS) && kills < 40 {
        let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
        tokio::time::sleep(std::time::Duration::from_millis(rng.below(1_500) as u64)).await;
        relayer.task.abort();
        let _ = relayer.task.await;
        kills += 1;
    }
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("every epoch is committed and settled", || async {
        curve::get(&h.pool, Epoch(EPOCHS)).await.unwrap().is_some_and(|r| r.status == CurveStatus::Executed)
    })
    .await;
    relayer.stop().await.unwrap();
    assert!(kills >= 5, "killed {kills} times");

    // The chain holds each epoch once, in order, with the stored root; the store agrees.
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    assert_eq!(sc.latestEpoch().call().await.unwrap(), EPOCHS);
    let stored = commitments::all(&h.pool).await.unwrap();
    assert_eq!(stored.iter().map(|c| c.epoch.0).collect::<Vec<_>>(), (1..=EPOCHS).collect::<Vec<_>>());
    for c in &stored {
        let on_chain = sc.commitmentOf(c.epoch.0).call().await.unwrap();
        assert_eq!(on_chain.stateRoot, c.state_root, "epoch {}", c.epoch);
    }
    // Net orders: each epoch's executed once; the curve moved by exactly what the store recorded.
    let mut supply = supply_before;
    for row in curve::all(&h.pool).await.unwrap() {
        match row.status {
            CurveStatus::Executed => supply = supply - row.plan.sell.0 + row.executed.unwrap().myco_out,
            CurveStatus::Planned => panic!("epoch {} left planned", row.plan.epoch),
        }
    }
    assert_eq!(curve_contract.supply().call().await.unwrap(), supply);
    // At most one mined attempt per transaction purpose and epoch.
    let attempts = attempts::all(&h.pool).await.unwrap();
    for epoch in 1..=EPOCHS {
        for purpose in ["commit", "settle"] {
            let mined = attempts
                .iter()
                .filter(|a| a.epoch.0 == epoch && a.purpose.as_str() == purpose && a.status == AttemptStatus::Mined);
            assert!(mined.count() <= 1, "{purpose} of epoch {epoch} mined twice");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_own_commitment_stops_the_relayer_with_the_reason_and_keeps_everything() {
    use myco_bridge::store::{batches, claims};

    use myco_bridge::devnet::simulate::WithdrawalAsk;
    use myco_bridge::ingest::document::CreditedDeposit;

    let mut h = Harness::start().await;
    let source = FolderSource::new(&h.batch_dir);
    let account = h.network.accounts()[0];
    let credit = CreditedDeposit { deposit_id: 1, account, amount: alloy::primitives::U256::from(100_000_000u64) };
    let b1 = h.network.next_batch(&EpochInputs { timestamp: 1, deposits: vec![credit], ..Default::default() });
    let ask = WithdrawalAsk {
        account,
        amount: alloy::primitives::U256::from(5u64)
            * alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18)),
        recipient: alloy::primitives::Address::repeat_byte(9),
    };
    let b2 = h.network.next_batch(&EpochInputs { timestamp: 2, withdrawals: vec![ask], ..Default::default() });
    source.publish(1, &b1.bytes).await.unwrap();
    source.publish(2, &b2.bytes).await.unwrap();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    // Committed and its net orders settled: a revocation racing the settlement transaction would make that
    // transaction revert instead: still a halt, but with the bare "reverted" of a mined transaction as its reason.
    wait_until("both epochs are committed and settled", || async {
        curve::get(&h.pool, Epoch(2)).await.unwrap().is_some_and(|r| r.status == CurveStatus::Executed)
    })
    .await;

    // The guardian revokes our commitment of epoch 2 inside its challenge window: our own computation is what
    // was judged wrong, so the relayer does not send it again but stops for a person.
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    myco_bridge::chain::send_call("revoke", sc.revoke(2)).await.unwrap();
    let ended = tokio::time::timeout(crate::common::TIMEOUT, relayer.task).await.expect("relayer halts").unwrap();
    let error = ended.expect_err("our revoked commitment is not recommitted").to_string();
    assert!(error.contains("revoked our own commitment"), "{error}");

    // Nothing accepted is lost: both batches, their claims, and every transaction attempt stay on record;
    // only the commitment the chain no longer holds is no longer listed as committed.
    assert_eq!(batches::all(&h.pool).await.unwrap().len(), 2);
    let kept = claims::all(&h.pool).await.unwrap();
    assert_eq!((kept.len(), kept[0].claim.epoch), (1, 2), "the revoked epoch's claim is kept");
    let committed: Vec<u64> = commitments::all(&h.pool).await.unwrap().iter().map(|c| c.epoch.0).collect();
    assert_eq!(committed, [1]);
    let mined = attempts::all(&h.pool).await.unwrap();
    assert!(mined.iter().any(|a| a.purpose == Purpose::Commit && a.epoch.0 == 2 && a.status == AttemptStatus::Mined));
    assert_eq!(sc.latestEpoch().call().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_state_commitment_is_waited_out_with_an_alarm_and_commits_resume_when_unpaused() {
    let mut h = Harness::start().await;
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    myco_bridge::chain::send_call("pause", sc.pause()).await.unwrap();
    let batch = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(1, &batch.bytes).await.unwrap();
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    let error = relayer.alarm(myco_bridge::health::Alarm::Paused).await;
    assert!(error.contains("BrakeEngaged"), "the alarm says why: {error}");
    assert_eq!(myco_bridge::store::batches::last(&h.pool).await.unwrap().map(|(e, _)| e.0), Some(1), "batch kept");
    assert_eq!(commitments::latest(&h.pool).await.unwrap().map(|e| e.0), None, "nothing committed while paused");

    // Unpaused, the same relayer (no restart) commits, and the alarm clears.
    myco_bridge::chain::send_call("unpause", sc.unpause()).await.unwrap();
    wait_until("epoch 1 is committed", || async {
        commitments::latest(&h.pool).await.unwrap().map(|e| e.0) == Some(1)
    })
    .await;
    wait_until("the alarm clears", || async { relayer.health.alarms().is_empty() }).await;
    relayer.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_block_is_reorged_out_is_sent_again() {
    let mut h = Harness::start().await;
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let batch = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(1, &batch.bytes).await.unwrap();
    let mut config = h.config();
    config.tx.confirmations = 4;
    config.tx.resubmit_after_blocks = 2;
    let relayer = h.spawn_relayer_with(RELAYER_ACCOUNT, config);

    // The commit is mined (automine), but before it has four confirmations its block is replaced by an empty one.
    wait_until("the commit is sent", || async { !attempts::all(&h.pool).await.unwrap().is_empty() }).await;
    let first = attempts::all(&h.pool).await.unwrap()[0].clone();
    let first_hash = first.tx_hash.unwrap();
    wait_until("it is mined", || async { admin.get_transaction_receipt(first_hash).await.unwrap().is_some() }).await;
    let _: serde_json::Value = admin.raw_request("anvil_reorg".into(), (1u64, serde_json::json!([]))).await.unwrap();
    assert!(admin.get_transaction_receipt(first_hash).await.unwrap().is_none(), "the reorg removed it");

    // Blocks keep coming; the relayer notices the missing receipt and sends the commit again, then the epoch's
    // net orders (which wait for four confirmations too, so blocks keep coming until they are recorded).
    let settled = |pool: myco_bridge::store::Pool| async move {
        curve::get(&pool, Epoch(1)).await.unwrap().is_some_and(|r| r.status == CurveStatus::Executed)
    };
    let pool = h.pool.clone();
    let miner = {
        let admin = admin.clone();
        tokio::spawn(async move {
            while !settled(pool.clone()).await {
                let _: serde_json::Value = admin.raw_request("evm_mine".into(), ()).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        })
    };
    wait_until("the commit lands again and the epoch settles", || settled(h.pool.clone())).await;
    miner.await.unwrap();
    relayer.stop().await.unwrap();

    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    assert_eq!(sc.latestEpoch().call().await.unwrap(), 1);
    let committed = commitments::all(&h.pool).await.unwrap();
    let mined_hash = committed[0].tx_hash.unwrap();
    assert!(admin.get_transaction_receipt(mined_hash).await.unwrap().is_some(), "recorded tx is canonical");
    let all = attempts::all(&h.pool).await.unwrap();
    let commits: Vec<_> = all.iter().filter(|a| a.purpose == Purpose::Commit).collect();
    assert!(commits.len() >= 2, "sent again after the reorg: {all:#?}");
    assert!(commits.iter().all(|a| a.nonce == first.nonce), "with the same nonce");
}

/// A stop of the guardian's clock moves the finality of every committed epoch not final yet; the relayer, which
/// reads their times again only when the oldest's or the newest's moved, follows the chain for all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_finality_of_every_waiting_epoch_follows_a_stop_of_the_clock() {
    let mut h = Harness::start().await;
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    let escrow = myco_bridge::chain::bindings::USDCEscrow::new(h.devnet.deployment.escrow, &admin);
    for epoch in 1..=3 {
        let batch = h.network.next_batch(&EpochInputs { timestamp: epoch, ..Default::default() });
        FolderSource::new(&h.batch_dir).publish(epoch, &batch.bytes).await.unwrap();
    }
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("three epochs are committed", || async {
        commitments::latest(&h.pool).await.unwrap().map(|e| e.0) == Some(3)
    })
    .await;
    let before: Vec<Option<i64>> = commitments::all(&h.pool).await.unwrap().iter().map(|c| c.final_at).collect();

    myco_bridge::chain::send_call("pause", sc.pause()).await.unwrap();
    h.devnet.advance_time(300).await.unwrap();
    myco_bridge::chain::send_call("unpause", sc.unpause()).await.unwrap();
    let follows_the_chain = || async {
        let mut all = true;
        for c in commitments::all(&h.pool).await.unwrap() {
            let final_at = sc.finalAt(c.epoch.0).call().await.unwrap() as i64;
            let payable_at = escrow.payableAt(c.epoch.0).call().await.unwrap() as i64;
            all &= c.final_at == Some(final_at) && c.payable_at == Some(payable_at);
        }
        all
    };
    wait_until("every epoch's stored times are the chain's", follows_the_chain).await;
    let after = commitments::all(&h.pool).await.unwrap();
    for (c, before) in after.iter().zip(before) {
        assert!(c.final_at.unwrap() >= before.unwrap() + 300, "epoch {} moved by the stop", c.epoch);
    }
    relayer.stop().await.unwrap();
}
