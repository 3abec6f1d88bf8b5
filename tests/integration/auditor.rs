//! The auditor against anvil: a faulty relayer with a colluding attester quorum commits a wrong root, then a
//! wrong figure; the auditor revokes each inside its window, the honest relayer commits the right one, and only
//! the right root pays. A late equivocation and a certified fork at the next epoch are flagged; a restarted
//! auditor raises nothing again.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::U256;
use myco_bridge::audit::{Auditor, Stats};
use myco_bridge::chain::RootCommit;
use myco_bridge::chain::bindings::{Erc20, StateCommitment, USDCEscrow};
use myco_bridge::devnet::faults::Fault;
use myco_bridge::devnet::serve::BatchServer;
use myco_bridge::devnet::simulate::{EpochInputs, WithdrawalAsk};
use myco_bridge::devnet::{ADMIN_ACCOUNT, FIRST_USER_ACCOUNT, RELAYER_ACCOUNT};
use myco_bridge::ids::Epoch;
use myco_bridge::ingest::folder::FolderSource;
use myco_bridge::ingest::{SourceConfig, ValidatorSet};
use myco_bridge::settle::{ClaimDomain, EpochSettlement, WAD, pamm};
use myco_bridge::store::audit::{self, Action, Finding};
use myco_bridge::store::{self, Pool, batches, equivocations};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::common::{Harness, wait_until};
use crate::conservation::{executed_settlements, harness, latest_on_chain, settled, two_good_epochs};

/// An auditor running in a task over its own store.
struct RunningAuditor {
    task: JoinHandle<myco_bridge::Result<()>>,
    shutdown: CancellationToken,
    stats: Arc<Stats>,
}

impl RunningAuditor {
    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("auditor task").expect("the auditor stops cleanly");
    }

    /// Waits until it has completed `n` more passes.
    async fn passes(&self, n: u64) {
        let target = Stats::get(&self.stats.passes) + n;
        wait_until("the auditor completes its passes", || async { Stats::get(&self.stats.passes) >= target }).await;
    }
}

async fn escrow_params(h: &Harness) -> pamm::Params {
    myco_bridge::chain::escrow_pamm_params(&h.devnet.provider(ADMIN_ACCOUNT), h.devnet.deployment.escrow).await.unwrap()
}

/// Starts an auditor over `pool` reading `source`; with `guardian`, it signs as the devnet's guardian (the admin).
async fn spawn_auditor(h: &Harness, pool: &Pool, source: SourceConfig, guardian: bool) -> RunningAuditor {
    let validators = ValidatorSet::new(h.network.validator_keys()).unwrap();
    let admin = h.devnet.signer(ADMIN_ACCOUNT).address();
    let (provider, guardian) = match guardian {
        true => (h.devnet.provider(ADMIN_ACCOUNT), Some(admin)),
        false => (myco_bridge::chain::read_provider(h.devnet.url()), None),
    };
    let config = h.devnet.auditor_config(validators, source, escrow_params(h).await, guardian);
    let auditor = Auditor::new(pool.clone(), provider, config);
    let (shutdown, stats) = (CancellationToken::new(), auditor.stats().clone());
    RunningAuditor { task: tokio::spawn(auditor.run(shutdown.clone())), shutdown, stats }
}

/// The auditor's HTTP API over `pool` on a free loopback port (its loop is not run): its base URL.
async fn serve_auditor_api(h: &Harness, pool: &Pool) -> String {
    let validators = ValidatorSet::new(h.network.validator_keys()).unwrap();
    let config = h.devnet.auditor_config(validators, h.source.clone(), escrow_params(h).await, None);
    let auditor = Auditor::new(pool.clone(), myco_bridge::chain::read_provider(h.devnet.url()), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = myco_bridge::audit::server::router(&auditor);
    let limits = myco_bridge::server::Limits::default();
    tokio::spawn(myco_bridge::server::serve(listener, router, limits, CancellationToken::new()));
    url
}

/// A store of the auditor's own (a second database beside the relayer's).
async fn auditor_store(dir: &tempfile::TempDir) -> Pool {
    store::connect(&crate::common::database_url(dir.path()).await).await.unwrap()
}

/// Waits until the auditor records a finding of `kind` for `epoch` with `action`; returns it.
async fn finding(pool: &Pool, kind: &str, epoch: u64, action: Action) -> Finding {
    let matching =
        || async { audit::recent(pool, 100).await.unwrap().into_iter().find(|f| f.kind == kind && f.epoch == epoch) };
    wait_until(&format!("a {kind} finding for epoch {epoch}, {}", action.as_str()), || async {
        matching().await.is_some_and(|f| f.action == action)
    })
    .await;
    matching().await.unwrap()
}

/// Waits until the auditor has checked the chain's commitments up to `epoch` and found each matching.
async fn matched_up_to(pool: &Pool, epoch: u64) {
    wait_until(&format!("the auditor matched every commitment up to epoch {epoch}"), || async {
        audit::latest_matched(pool).await.unwrap().is_some_and(|e| e.0 >= epoch)
    })
    .await;
}

/// The commitment the auditor computed for `epoch` from the certified batch.
async fn honest_root(pool: &Pool, epoch: u64) -> RootCommit {
    wait_until(&format!("the auditor read epoch {epoch}"), || async {
        batches::get(pool, Epoch(epoch)).await.unwrap().is_some()
    })
    .await;
    let batch = batches::get(pool, Epoch(epoch)).await.unwrap().unwrap();
    myco_bridge::attest::commitment::of_stored(pool, &batch).await.unwrap()
}

/// What a faulty relayer does with a colluding attester quorum: commits `root` directly, from a user's account.
async fn commit_wrong(h: &Harness, root: &RootCommit) {
    let provider = h.devnet.provider(FIRST_USER_ACCOUNT + 2);
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &provider);
    let figures = myco_bridge::chain::bindings::state_commitment::IStateCommitment::ReserveFigures {
        totalSupply: root.figures.total_supply,
        totalReserve: root.figures.total_reserve,
        flowPressure: root.figures.flow_pressure,
        timestamp: root.timestamp,
    };
    let call = sc.commit(root.epoch.0, root.parent_root, root.state_root, root.digest, figures, h.quorum(root));
    myco_bridge::chain::send_call("commit", call).await.expect("the colluding quorum's commitment lands");
}

/// Epoch 3 as a faulty relayer with a colluding quorum commits it: the certified batch pays one claim of 10 MYCO,
/// the committed root pays it at twice the amount.
struct Forged {
    /// What the certified batch gives.
    honest: RootCommit,
    /// What was committed instead.
    wrong: RootCommit,
    /// The settlement the wrong root is of (its claim and proof pay double).
    forged: EpochSettlement,
    /// The claim's recipient.
    recipient: alloy::primitives::Address,
}

/// Publishes epoch 3 with one claim, and commits the forged root over it before anyone else.
async fn forge_epoch_3(h: &mut Harness, pool: &Pool, params: &pamm::Params) -> Forged {
    let account = h.network.accounts()[0];
    let recipient = h.devnet.signer(FIRST_USER_ACCOUNT + 1).address();
    let ask = WithdrawalAsk { account, amount: U256::from(10 * WAD), recipient };
    let third = h.network.next_batch(&EpochInputs {
        withdrawals: vec![ask],
        settlements: executed_settlements(h).await,
        ..Default::default()
    });
    FolderSource::new(&h.batch_dir).publish(3, &third.bytes).await.unwrap();
    let honest = honest_root(pool, 3).await;
    let mut inflated = third.state.clone();
    inflated.withdrawals[0].amount *= U256::from(2);
    let domain = ClaimDomain { chain_id: h.devnet.chain_id(), escrow: h.devnet.deployment.escrow };
    let forged = EpochSettlement::compute(&inflated, params, domain);
    let wrong = RootCommit { state_root: forged.root(), ..honest };
    commit_wrong(h, &wrong).await;
    Forged { honest, wrong, forged, recipient }
}

async fn commitment_hash_on_chain(h: &Harness, epoch: u64) -> alloy::primitives::B256 {
    let provider = h.devnet.provider(ADMIN_ACCOUNT);
    StateCommitment::new(h.devnet.deployment.state_commitment, &provider).commitmentHashOf(epoch).call().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_commitment_is_revoked_in_its_window_and_only_the_right_one_pays() {
    let mut h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    let pool = auditor_store(&dir).await;
    let params = escrow_params(&h).await;
    // A block after the float's seed purchase: the curve's logs from there on do not give its supply.
    let after_seed = alloy::providers::Provider::get_block_number(&h.devnet.provider(ADMIN_ACCOUNT)).await.unwrap();
    let auditor = spawn_auditor(&h, &pool, h.source.clone(), true).await;
    let relayer = two_good_epochs(&mut h).await;
    matched_up_to(&pool, 2).await;
    relayer.stop().await.unwrap();
    // The attester set the commits were judged by came from the deployment's own `AttestersChanged` log.
    let sets = audit::attester_sets_at(&pool, i64::MAX as u64).await.unwrap();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].attesters, myco_bridge::devnet::attesters::addresses().into_iter().collect());
    assert_eq!(sets[0].threshold, myco_bridge::devnet::attesters::ATTESTATION_THRESHOLD);

    // Epoch 3 certifies a claim. Before the honest relayer commits it, a faulty relayer with a colluding quorum
    // commits a root over the same claim at twice its amount (the figures are right, the root is not).
    let Forged { honest: honest3, wrong: wrong3, forged, recipient } = forge_epoch_3(&mut h, &pool, &params).await;

    let found = finding(&pool, "commitment_differs", 3, Action::Revoked).await;
    assert!(found.detail.contains("state root"), "{}", found.detail);
    assert_eq!(found.subject, wrong3.hash().to_string());
    assert!(found.action_tx.is_some());
    // Sent by the transaction manager as its own purpose, the attempt on record.
    let attempts = store::attempts::all(&pool).await.unwrap();
    assert!(
        attempts.iter().any(|a| a.purpose == myco_bridge::ids::Purpose::Revoke
            && a.epoch == Epoch(3)
            && a.tx_hash == found.action_tx
            && a.status == myco_bridge::chain::attempts::AttemptStatus::Mined),
        "{attempts:?}"
    );
    let signers = found.evidence["signers"].as_array().expect("the colluding signers are named");
    assert_eq!(signers.len(), myco_bridge::devnet::attesters::ATTESTATION_THRESHOLD);
    assert_eq!(latest_on_chain(&h).await, 2, "epoch 3 is open again");

    // Restarted mid-way, the auditor resumes from its store: nothing is found, logged or revoked again.
    let recorded = audit::recent(&pool, 100).await.unwrap();
    auditor.stop().await;
    let auditor = spawn_auditor(&h, &pool, h.source.clone(), true).await;
    auditor.passes(3).await;
    assert_eq!(Stats::get(&auditor.stats.new_findings), 0, "nothing raised again");
    assert_eq!(Stats::get(&auditor.stats.revocations), 0);
    assert_eq!(audit::recent(&pool, 100).await.unwrap(), recorded);

    // The honest relayer commits the right root (its attesters signed it) and settles the epoch.
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    wait_until("epoch 3 is committed right and settled", || settled(&h, 3)).await;
    assert_eq!(commitment_hash_on_chain(&h, 3).await, honest3.hash());
    relayer.stop().await.unwrap();

    // Epoch 4: a wrong figure this time (a reserve twice the certified one would raise every payout rate),
    // committed before the honest relayer, which then waits for the revocation and commits its own.
    let fourth =
        h.network.next_batch(&EpochInputs { settlements: executed_settlements(&h).await, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(4, &fourth.bytes).await.unwrap();
    let honest4 = honest_root(&pool, 4).await;
    let mut wrong4 = honest4;
    wrong4.figures.total_reserve *= U256::from(2);
    commit_wrong(&h, &wrong4).await;
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    let found = finding(&pool, "commitment_differs", 4, Action::Revoked).await;
    assert!(found.detail.contains("total reserve"), "{}", found.detail);
    wait_until("epoch 4 is committed right and settled", || settled(&h, 4)).await;
    assert_eq!(commitment_hash_on_chain(&h, 4).await, honest4.hash());
    matched_up_to(&pool, 4).await;
    // The spots the auditor's conservation audit ran each auction at, computed from the curve's logs, are the
    // curve's own price at the block before each settlement (epoch 2 traded on both legs).
    // Read from after the deployment, the supply is off and the spots are read from the chain instead.
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let mut settled = myco_bridge::audit::settled::Settled::new(h.devnet.deployment.start_block);
    let mut late = myco_bridge::audit::settled::Settled::new(after_seed + 1);
    settled.read(&admin, h.devnet.deployment.curve, 0, 1_000).await.unwrap();
    late.read(&admin, h.devnet.deployment.curve, 0, 1_000).await.unwrap();
    for epoch in 1..=4 {
        let from_chain = myco_bridge::chain::settlements::executed(
            &admin,
            h.devnet.deployment.curve,
            epoch,
            h.devnet.deployment.start_block,
        )
        .await
        .unwrap();
        assert_eq!(settled.take(epoch), from_chain, "epoch {epoch}");
        assert_eq!(late.take(epoch), from_chain, "epoch {epoch}, read from after the deployment");
        assert!(from_chain.is_some());
    }

    // Past the window: the forged claim does not pay against the committed root; the right one pays exactly
    // what the right root and figures say.
    h.devnet.advance_time(601).await.unwrap();
    let provider = h.devnet.provider(FIRST_USER_ACCOUNT + 1);
    let escrow = USDCEscrow::new(h.devnet.deployment.escrow, &provider);
    let forged_claim = &forged.claims[0];
    let forged_call = escrow.withdraw(myco_bridge::chain::withdrawal_claim(forged_claim), forged.proof(forged_claim));
    assert!(myco_bridge::chain::send_call("withdraw", forged_call).await.is_err(), "the forged claim is refused");
    let right = store::claims::all(&pool).await.unwrap().remove(0);
    // The auditor serves the claim from its own reading of the batches, judged by the chain alone: a user does
    // not need the relayer's word (`withdraw --api AUDITOR`).
    let api = serve_auditor_api(&h, &pool).await;
    let entry_url = format!("{api}/api/v1/withdrawals/{}", right.claim.claim_id);
    let entry: serde_json::Value = reqwest::get(&entry_url).await.unwrap().json().await.unwrap();
    assert_eq!(entry["status"], "final", "{entry}");
    assert_eq!(entry["final"], true);
    let proof: Vec<String> = right.proof.iter().map(|p| p.to_string()).collect();
    assert_eq!(entry["proof"], serde_json::json!(proof), "the proof of the honest root");
    let quote = right.claim.usdc_payout(&honest3.figures, &params).unwrap();
    assert_eq!(entry["quote_usdc"], quote.to_string());
    let usdc = Erc20::new(h.devnet.deployment.usdc, &provider);
    let before = usdc.balanceOf(recipient).call().await.unwrap();
    let call = escrow.withdraw(myco_bridge::chain::withdrawal_claim(&right.claim), right.proof.clone());
    myco_bridge::chain::send_call("withdraw", call).await.unwrap();
    assert_eq!(usdc.balanceOf(recipient).call().await.unwrap() - before, quote);

    // The auditor's watcher sees the payment match its claim: the two revocations are all it found.
    wait_until("the auditor sees the claim paid", || async {
        store::claims::all(&pool).await.unwrap()[0].paid_tx.is_some()
    })
    .await;
    let entry: serde_json::Value = reqwest::get(&entry_url).await.unwrap().json().await.unwrap();
    assert_eq!((entry["status"].as_str(), entry["paid"].as_bool()), (Some("paid"), Some(true)), "{entry}");
    auditor.passes(2).await;
    let kinds: Vec<(String, u64, Action)> =
        audit::recent(&pool, 100).await.unwrap().into_iter().map(|f| (f.kind, f.epoch, f.action)).collect();
    assert_eq!(
        kinds,
        [("commitment_differs".into(), 4, Action::Revoked), ("commitment_differs".into(), 3, Action::Revoked)]
    );
    relayer.stop().await.unwrap();
    auditor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_guardian_key_a_wrong_or_unverifiable_commitment_raises_the_alarm() {
    let mut h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    let pool = auditor_store(&dir).await;
    let auditor = spawn_auditor(&h, &pool, h.source.clone(), false).await;
    let relayer = two_good_epochs(&mut h).await;
    relayer.stop().await.unwrap();
    let second = honest_root(&pool, 2).await;

    // A colluding quorum commits epoch 3 before any source serves its batch: nobody can check it. Once half its
    // window has passed with no batch, that alone raises the alarm (it is not revoked: absence is not proof).
    h.devnet.advance_time(5).await.unwrap();
    let unseen = RootCommit {
        epoch: Epoch(3),
        parent_root: second.state_root,
        state_root: alloy::primitives::B256::repeat_byte(0x33),
        digest: alloy::primitives::B256::repeat_byte(0x34),
        timestamp: second.timestamp + 1,
        figures: second.figures,
    };
    commit_wrong(&h, &unseen).await;
    auditor.passes(2).await;
    assert!(audit::recent(&pool, 10).await.unwrap().is_empty(), "too early to call it unverifiable");
    h.devnet.advance_time(301).await.unwrap();
    let found = finding(&pool, "unverified", 3, Action::Alarmed).await;
    assert!(found.detail.contains("no source has served"), "{}", found.detail);

    // The batch arrives: the commitment is wrong, and with no guardian key here the finding alarms.
    let third =
        h.network.next_batch(&EpochInputs { settlements: executed_settlements(&h).await, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(3, &third.bytes).await.unwrap();
    let found = finding(&pool, "commitment_differs", 3, Action::Alarmed).await;
    assert!(found.detail.contains("state root") && found.detail.contains("batch digest"), "{}", found.detail);
    assert_eq!(latest_on_chain(&h).await, 3, "nothing revoked it");

    // A guardian acting on the alarm revokes it; the auditor sees the commitment gone and records that.
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    myco_bridge::chain::send_call("revoke", sc.revoke(3)).await.unwrap();
    let found = finding(&pool, "commitment_differs", 3, Action::Revoked).await;
    assert_eq!(found.action_tx, None, "revoked by someone else");
    auditor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_commitment_left_to_finality_is_flagged_final_and_its_payout_is_a_withdrawal_finding() {
    let mut h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    let pool = auditor_store(&dir).await;
    let params = escrow_params(&h).await;
    let auditor = spawn_auditor(&h, &pool, h.source.clone(), false).await;
    let relayer = two_good_epochs(&mut h).await;
    relayer.stop().await.unwrap();
    let Forged { forged, .. } = forge_epoch_3(&mut h, &pool, &params).await;
    finding(&pool, "commitment_differs", 3, Action::Alarmed).await;

    // Nobody acts on the alarm: the window closes, and the finding says it is final.
    h.devnet.advance_time(601).await.unwrap();
    finding(&pool, "commitment_differs", 3, Action::Final).await;

    // The forged claim is paid; the auditor's reconciliation names the payment against the certified claim.
    let provider = h.devnet.provider(FIRST_USER_ACCOUNT + 1);
    let escrow = USDCEscrow::new(h.devnet.deployment.escrow, &provider);
    let claim = &forged.claims[0];
    let call = escrow.withdraw(myco_bridge::chain::withdrawal_claim(claim), forged.proof(claim));
    myco_bridge::chain::send_call("withdraw", call).await.expect("a final root pays, wrong or not");
    let found = finding(&pool, "withdrawal", 3, Action::Reported).await;
    assert!(found.subject.starts_with("withdrawal_differs:"), "{}", found.subject);
    auditor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_equivocation_and_a_fork_at_the_next_epoch_are_flagged_once_across_a_restart() {
    let mut h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pool = auditor_store(&dir).await;
    let stop = CancellationToken::new();
    let a = BatchServer::start("127.0.0.1:0".parse().unwrap(), stop.clone()).await.unwrap();
    let b = BatchServer::start("127.0.0.1:0".parse().unwrap(), stop.clone()).await.unwrap();
    let first = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    a.publish(1, first.bytes.clone());
    b.publish(1, first.bytes.clone());
    let source = SourceConfig::Http { endpoints: vec![a.url(), b.url()], timeout: Duration::from_secs(2) };
    let auditor = spawn_auditor(&h, &pool, source.clone(), false).await;
    wait_until("the auditor accepts epoch 1", || async { batches::get(&pool, Epoch(1)).await.unwrap().is_some() })
        .await;

    // Long after epoch 1 was accepted, one endpoint serves a second certified batch for it.
    let second_one = h.network.faulty(&first, None, Fault::Equivocation);
    b.publish(1, second_one.clone());
    let found = finding(&pool, "equivocation", 1, Action::Reported).await;
    assert_eq!(found.evidence["first"]["digest"], first.digest.to_string());

    // The next epoch arrives certified with a parent that is not the accepted epoch 1: a fork.
    let next = h.network.next_batch(&EpochInputs { timestamp: 2, ..Default::default() });
    let forked = h.network.faulty(&next, Some(&first), Fault::WrongParent);
    a.publish(2, forked.clone());
    let found = finding(&pool, "fork", 1, Action::Reported).await;
    assert!(found.detail.contains("forks"), "{}", found.detail);
    assert!(!auditor.task.is_finished(), "findings do not stop the auditor");
    let kept = equivocations::all(&pool).await.unwrap();
    assert_eq!(kept.len(), 2, "each kept once, with both sides");
    assert_eq!(kept[0].second.raw, second_one);
    assert_eq!(kept[1].second.raw, forked);

    // Restarted, it keeps asking (and finding the same) without recording or raising anything again.
    let recorded = audit::recent(&pool, 100).await.unwrap();
    auditor.stop().await;
    let auditor = spawn_auditor(&h, &pool, source, false).await;
    auditor.passes(3).await;
    assert_eq!(Stats::get(&auditor.stats.new_findings), 0);
    assert_eq!(audit::recent(&pool, 100).await.unwrap(), recorded);
    assert_eq!(equivocations::all(&pool).await.unwrap().len(), 2);
    auditor.stop().await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_command_serves_its_findings_page_and_metrics_and_refuses_a_key_that_is_not_the_guardian() {
    use crate::process::{Service, free_port, get, json, key_of, write_config};
    let mut h = Harness::start().await;
    let relayer = Service::start(&h);
    for epoch in 1..=2 {
        let produced = h.network.next_batch(&EpochInputs { timestamp: epoch, ..Default::default() });
        FolderSource::new(&h.batch_dir).publish(epoch, &produced.bytes).await.unwrap();
    }
    let mut relayer = relayer;
    relayer.wait_committed(2).await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(&h, dir.path(), port);
    let own_store = format!("\"sqlite://{}\"", dir.path().join("audit.db").display());
    let audit = |key: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
            .args(["audit", "--config"])
            .arg(&config)
            .env("MYCO_BRIDGE__DATABASE__URL", &own_store)
            .env("MYCO_BRIDGE_GUARDIAN_KEY", key)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("audit.log")).unwrap())
            .spawn()
            .unwrap()
    };

    // The relayer's key is not the guardian: refused at once, saying why.
    let mut refused = audit(&key_of(&h, RELAYER_ACCOUNT));
    let status = crate::process::wait_for_exit(&mut refused).await;
    assert!(!status.success());
    let log = std::fs::read_to_string(dir.path().join("audit.log")).unwrap();
    assert!(log.contains("GUARDIAN_ROLE"), "{log}");

    // With the guardian's key it audits both epochs and serves what it found (nothing).
    let mut child = audit(&key_of(&h, ADMIN_ACCOUNT));
    let base = format!("http://127.0.0.1:{port}");
    wait_until("the auditor matched both epochs", || async {
        let (status, body) = get(&format!("{base}/api/v1/findings")).await;
        status == 200 && serde_json::from_str::<serde_json::Value>(&body).unwrap()["commitments"]["matched"] == 2
    })
    .await;
    let findings = json(&format!("{base}/api/v1/findings")).await;
    assert_eq!(findings["guardian"], true);
    assert_eq!(findings["findings"], serde_json::json!([]));
    let (_, metrics) = get(&format!("{base}/metrics")).await;
    assert!(metrics.contains("myco_bridge_audit_latest_matched_epoch 2"), "{metrics}");
    assert!(metrics.contains("myco_bridge_audit_findings{kind=\"commitment_differs\",action=\"open\"} 0"));
    let (status, page) = get(&format!("{base}/")).await;
    assert_eq!(status, 200);
    assert!(page.contains("2 matched"), "{page}");
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(crate::process::wait_for_exit(&mut child).await.success());
    assert!(relayer.stop().await.success());
}

/// A finding is acted on only while it still holds. Here one was recorded before its cause was resolved (a
/// conservation violation an operator then deleted, as the runbook says, having found the batch right) and an
/// attestation finding about an epoch the auditor has seen final: the commitments they name are left alone (one
/// cleared, one final), and neither is revoked. Before, the guardian auditor revoked the right commitment from
/// its stored finding, banning its hash for good, and any epoch during a stop of the clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_that_no_longer_holds_or_names_a_final_epoch_revokes_nothing() {
    let mut h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    let pool = auditor_store(&dir).await;
    let auditor = spawn_auditor(&h, &pool, h.source.clone(), true).await;
    let relayer = two_good_epochs(&mut h).await;
    matched_up_to(&pool, 2).await;
    relayer.stop().await.unwrap();
    auditor.stop().await;

    let digest = batches::get(&pool, Epoch(2)).await.unwrap().unwrap().digest;
    let stale = audit::NewFinding {
        kind: "conservation",
        epoch: 2,
        subject: digest.to_string(),
        detail: "epoch 2: the certified batch breaks supply (resolved since)".into(),
        evidence: serde_json::json!({}),
        action: Action::Open,
    };
    audit::record(&pool, &stale).await.unwrap().expect("recorded");
    let attested = audit::NewFinding {
        kind: "attestation",
        epoch: 1,
        subject: commitment_hash_on_chain(&h, 1).await.to_string(),
        detail: "epoch 1: the commit's attestations do not make a quorum".into(),
        evidence: serde_json::json!({}),
        action: Action::Open,
    };
    audit::record(&pool, &attested).await.unwrap().expect("recorded");
    // The auditor read epoch 1 final earlier (its own record), whatever the contract says now.
    audit::record_final(&pool, Epoch(1)).await.unwrap();

    let auditor = spawn_auditor(&h, &pool, h.source.clone(), true).await;
    let cleared = finding(&pool, "conservation", 2, Action::Cleared).await;
    assert_eq!(cleared.action_tx, None);
    finding(&pool, "attestation", 1, Action::Final).await;
    auditor.passes(2).await;
    assert_eq!(Stats::get(&auditor.stats.revocations), 0, "nothing revoked");
    assert_eq!(latest_on_chain(&h).await, 2, "both commitments stand");
    auditor.stop().await;
}
