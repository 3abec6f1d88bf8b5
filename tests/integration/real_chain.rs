//! Running against a real chain as an operator would: HTTPS everywhere, a preflight that names what is wrong, an
//! unfunded key that waits and carries on, a database restart survived, a user withdrawing with nothing but the
//! API and the `withdraw` command, and a simulator that follows a real escrow.

use std::process::Command;

use alloy::network::TransactionBuilder;
use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use myco_bridge::chain::bindings::{AccessControl, MycoBondingCurve, StateCommitment, TestUSDC};
use myco_bridge::chain::{send_call, signing_provider};
use myco_bridge::devnet::serve::BatchServer;
use myco_bridge::devnet::simulate::{EpochInputs, WithdrawalAsk};
use myco_bridge::devnet::{ADMIN_ACCOUNT, FIRST_USER_ACCOUNT, RELAYER_ACCOUNT};
use myco_bridge::health::Alarm;
use myco_bridge::ids::Epoch;
use myco_bridge::ingest::document::CreditedDeposit;
use myco_bridge::ingest::folder::FolderSource;
use myco_bridge::relayer::Relayer;
use myco_bridge::store::commitments;
use tokio_util::sync::CancellationToken;

use crate::common::{Harness, Running, wait_until};
use crate::process::{
    Service, check, free_port, get, json, key_of, spawn_run_with, wait_committed, wait_for_exit, write_config,
    write_config_with,
};
use crate::tls::TlsProxy;

fn addr_of(url: &alloy::transports::http::reqwest::Url) -> std::net::SocketAddr {
    url.socket_addrs(|| None).unwrap()[0]
}

fn stop(child: &mut std::process::Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relayer_runs_over_https_rpc_and_https_batch_endpoints_signed_by_a_private_ca() {
    let mut h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let rpc = TlsProxy::start(addr_of(&h.devnet.url())).await;
    let shutdown = CancellationToken::new();
    let server = BatchServer::start("127.0.0.1:0".parse().unwrap(), shutdown.clone()).await.unwrap();
    let batches = TlsProxy::start(server.addr()).await;
    // Both proxies' CAs in one bundle, as SSL_CERT_FILE takes it.
    let (rpc_ca, batches_ca, bundle) =
        (dir.path().join("rpc.pem"), dir.path().join("batches.pem"), dir.path().join("bundle.pem"));
    rpc.write_ca(&rpc_ca);
    batches.write_ca(&batches_ca);
    let pem = std::fs::read_to_string(&rpc_ca).unwrap() + &std::fs::read_to_string(&batches_ca).unwrap();
    std::fs::write(&bundle, pem).unwrap();
    for epoch in 1..=2 {
        let batch = h.network.next_batch(&EpochInputs { timestamp: epoch, ..Default::default() });
        server.publish(epoch, batch.bytes);
    }
    // The attesters read the same server (in the clear, beside it); the relayer goes through TLS.
    let plain = myco_bridge::ingest::SourceConfig::Http {
        endpoints: vec![server.url()],
        timeout: std::time::Duration::from_secs(2),
    };
    h.set_source(plain).await;

    let port = free_port();
    let source = format!("http = [\"{}\"]", batches.url());
    let config = write_config_with(&h, dir.path(), port, &rpc.url(), &source);
    let key = key_of(&h, RELAYER_ACCOUNT);
    // The system's CAs do not know the test CA: the preflight says the chain cannot be reached over TLS.
    let (code, text) = check(&config, &key, &[("SSL_CERT_FILE", "/dev/null")]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("FAIL  chain id") && text.contains("certificate"), "{text}");
    // With the CA, everything passes, and the relayer commits both epochs over HTTPS.
    let ca = bundle.to_str().unwrap();
    let (code, text) = check(&config, &key, &[("SSL_CERT_FILE", ca)]);
    assert_eq!(code, Some(0), "{text}");
    let log = dir.path().join("run.log");
    let mut child = spawn_run_with(&config, &key, &log, &[("SSL_CERT_FILE", ca)]);
    wait_committed(&format!("http://127.0.0.1:{port}"), 2, &mut child, &log).await;
    stop(&mut child);
    assert!(wait_for_exit(&mut child).await.success());
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preflight_names_each_wrong_setting_and_run_refuses_to_start_on_one() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&h, dir.path(), free_port());
    let key = key_of(&h, RELAYER_ACCOUNT);
    let (code, text) = check(&config, &key, &[]);
    assert_eq!(code, Some(0), "{text}");
    for check_name in ["chain id", "state_commitment", "escrow", "curve", "usdc", "relayer funds", "store"] {
        assert!(text.contains(&format!("ok    {check_name}")), "{check_name}: {text}");
    }

    let usdc = h.devnet.deployment.usdc.to_string();
    let wrong_id = (h.devnet.chain_id() + 1).to_string();
    let stranger = key_of(&h, FIRST_USER_ACCOUNT + 3);
    let cases: [(&str, &str, &str, &str); 4] = [
        ("MYCO_BRIDGE__CHAIN__ESCROW", &usdc, "FAIL  escrow", "the token's address as the escrow"),
        ("MYCO_BRIDGE__CHAIN__CHAIN_ID", &wrong_id, "FAIL  chain id", "another chain's id"),
        ("MYCO_BRIDGE__CHAIN__CURVE", &usdc, "FAIL  curve", "the token's address as the curve"),
        ("MYCO_BRIDGE__CHAIN__STATE_COMMITMENT", &usdc, "FAIL  state_commitment", "the token as StateCommitment"),
    ];
    for (name, value, expected, what) in cases {
        let (code, text) = check(&config, &key, &[(name, value)]);
        assert_eq!(code, Some(1), "{what}: {text}");
        assert!(text.contains(expected), "{what}: {text}");
    }
    let (code, text) = check(&config, &stranger, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("does not hold SETTLEMENT_ROLE"), "{text}");

    // `run` performs the same checks and will not start against the wrong escrow.
    let log = dir.path().join("run.log");
    let mut child = spawn_run_with(&config, &key, &log, &[("MYCO_BRIDGE__CHAIN__ESCROW", &usdc)]);
    let status = wait_for_exit(&mut child).await;
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "{logged}");
    assert!(logged.contains("preflight failed") && logged.contains("escrow"), "{logged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfunded_relayer_waits_with_an_alarm_and_commits_once_funded() {
    let mut h = Harness::start().await;
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let d = h.devnet.deployment;
    // A new relayer key with its roles but no ETH.
    let key = PrivateKeySigner::random();
    let role = MycoBondingCurve::new(d.curve, &admin).SETTLEMENT_ROLE().call().await.unwrap();
    // A grant is scheduled and applied after the admin delay (none on the devnet).
    send_call("grant", AccessControl::new(d.curve, &admin).grantRole(role, key.address())).await.unwrap();
    let roles = myco_bridge::chain::bindings::delayed_roles::IDelayedRoles::new(d.curve, &admin);
    send_call("apply grant", roles.applyRoleGrant(role, key.address())).await.unwrap();
    let config = myco_bridge::relayer::Config { settlement_account: key.address(), ..h.config() };
    let relayer = Relayer::new(h.pool.clone(), signing_provider(h.devnet.url(), key.clone()), config);
    let shutdown = CancellationToken::new();
    let health = relayer.health().clone();
    let running = Running { task: tokio::spawn(relayer.run(shutdown.clone())), shutdown, health };

    let batch = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(1, &batch.bytes).await.unwrap();
    let message = running.alarm(Alarm::Underfunded).await;
    assert!(message.to_lowercase().contains("insufficient funds"), "{message}");
    assert_eq!(commitments::latest(&h.pool).await.unwrap().map(|e| e.0), None);

    // Funded, the same relayer carries on: no restart, no person beyond the one who sent the ETH.
    let fund = alloy::rpc::types::TransactionRequest::default()
        .with_to(key.address())
        .with_value(U256::from(10u64).pow(U256::from(18)));
    admin.send_transaction(fund).await.unwrap().get_receipt().await.unwrap();
    wait_until("epoch 1 is committed", || async {
        commitments::latest(&h.pool).await.unwrap().map(|e| e.0) == Some(1)
    })
    .await;
    wait_until("the alarm clears", || async { running.health.alarms().is_empty() }).await;
    running.stop().await.expect("waiting for funds is not a halt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_withdraws_with_nothing_but_the_api_and_the_withdraw_command() {
    let mut h = Harness::start().await;
    let user = h.devnet.signer(FIRST_USER_ACCOUNT).address();
    let account = h.network.accounts()[0];
    h.network.keep_passive(account);
    let deposit_id = h.deposit(FIRST_USER_ACCOUNT, account, 100_000_000).await;
    // A tenth of the balance: within the flow threshold, so no penalty, and at par it pays its face value.
    let ten = U256::from(10u64) * U256::from(10u64).pow(U256::from(18));
    let source = FolderSource::new(&h.batch_dir);
    let credit = CreditedDeposit { deposit_id, account, amount: U256::from(100_000_000u64) };
    let b1 = h.network.next_batch(&EpochInputs {
        timestamp: 1,
        deposits: vec![credit],
        convert: vec![account],
        ..Default::default()
    });
    let ask = WithdrawalAsk { account, amount: ten, recipient: user };
    let b2 = h.network.next_batch(&EpochInputs { timestamp: 2, withdrawals: vec![ask], ..Default::default() });
    source.publish(1, &b1.bytes).await.unwrap();
    source.publish(2, &b2.bytes).await.unwrap();
    let mut service = Service::start(&h);
    let base = service.base.clone();
    service.wait_committed(2).await;

    // The entry: the claim as `withdraw` takes it, amounts as decimal strings, its proof, a quote and a command.
    let claim_id = b2.state.withdrawals[0].claim_id;
    let entry = json(&format!("{base}/api/v1/withdrawals/{claim_id}")).await;
    assert_eq!(entry["claim"]["claimId"], claim_id.to_string());
    assert_eq!(entry["claim"]["mycoAmount"], ten.to_string());
    assert_eq!(entry["claim"]["priorRedeemed"], "0");
    assert_eq!(entry["claim"]["recipient"], user.to_string());
    assert_eq!((entry["final"].as_bool(), entry["paid"].as_bool()), (Some(false), Some(false)), "{entry}");
    assert_eq!(entry["claim"]["flowPenalty"], "1000000000000000000");
    assert_eq!(entry["quote_usdc"], "10000000", "at par, 10 MYCO pay 10 USDC: {entry}");
    assert!(entry["cast"].as_str().unwrap().starts_with("cast send "), "{entry}");
    assert!(entry["proof"].is_array() && entry["final_at"].is_i64(), "{entry}");
    assert_eq!(get(&format!("{base}/api/v1/withdrawals/999")).await.0, 404);
    let listed = json(&format!("{base}/api/v1/withdrawals")).await;
    assert_eq!(listed["items"][0]["myco_amount"], ten.to_string(), "decimal strings in the list too");
    let deposits = json(&format!("{base}/api/v1/deposits")).await;
    assert_eq!(deposits["items"][0]["reconciliation"], "credited", "{deposits}");

    let withdraw = || {
        Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
            .args(["withdraw", "--claim", &claim_id.to_string(), "--api", &base, "--rpc-url", h.devnet.url().as_str()])
            .env("MYCO_BRIDGE_PRIVATE_KEY", key_of(&h, FIRST_USER_ACCOUNT))
            .output()
            .unwrap()
    };
    let early = withdraw();
    assert_eq!(early.status.code(), Some(1), "{}", String::from_utf8_lossy(&early.stdout));
    assert!(String::from_utf8_lossy(&early.stdout).contains("not claimable yet"));

    h.devnet.advance_time(601).await.unwrap();
    // Finality by the chain's clock, read from the contract's window: /metrics, the page and `status` agree.
    wait_until("both epochs are final by the chain's clock", || async {
        let (_, text) = get(&format!("{base}/metrics")).await;
        text.lines().any(|l| l == "myco_bridge_epochs_finalized_total 2")
    })
    .await;
    let status = Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .args(["status", "--json", "--config"])
        .arg(&service.config)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["epochs_finalized"], 2, "{report}");
    assert!(get(&format!("{base}/")).await.1.contains("finalized <b>2</b>"));
    let provider = h.devnet.provider(ADMIN_ACCOUNT);
    let usdc = TestUSDC::new(h.devnet.deployment.usdc, &provider);
    let before = usdc.balanceOf(user).call().await.unwrap();
    let paid = withdraw();
    let text = String::from_utf8_lossy(&paid.stdout);
    assert!(paid.status.success(), "{text}{}", String::from_utf8_lossy(&paid.stderr));
    assert!(text.contains("paid 10.000000 USDC") && text.contains(&user.to_string()), "{text}");
    assert_eq!(usdc.balanceOf(user).call().await.unwrap() - before, U256::from(10_000_000u64));
    wait_until("the watcher sees the payment", || async {
        json(&format!("{base}/api/v1/withdrawals/{claim_id}")).await["paid"] == true
    })
    .await;
    let again = withdraw();
    assert!(again.status.success() && String::from_utf8_lossy(&again.stdout).contains("already paid"));
    assert!(service.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulator_following_the_escrow_credits_real_deposits_and_resumes_its_folder() {
    let mut h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("batches");
    let escrow = h.devnet.deployment.escrow.to_string();
    let (chain_id, rpc_url) = (h.devnet.chain_id().to_string(), h.devnet.url().to_string());
    let start_block = h.devnet.deployment.start_block.to_string();
    let simulate = |epochs: &str| {
        let status = Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
            .args(["simulate", "--epochs", epochs, "--interval-ms", "50", "--accounts", "8", "--withdrawals", "0"])
            .args(["--chain-id", &chain_id, "--rpc-url", &rpc_url])
            .args(["--escrow", &escrow, "--from-block", &start_block, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    };
    for (i, amount) in [5_000_000u64, 7_000_000, 9_000_000].into_iter().enumerate() {
        h.deposit(FIRST_USER_ACCOUNT + i, alloy::primitives::B256::repeat_byte(i as u8 + 1), amount).await;
    }
    simulate("3");
    let keys = std::fs::read_to_string(out.join("validators.txt")).unwrap();
    let validators =
        myco_bridge::ingest::ValidatorSet::new(myco_bridge::ingest::certificate::parse_keys(&keys).unwrap()).unwrap();
    let source = myco_bridge::ingest::SourceConfig::Folder(out.clone());
    let config = h.devnet.relayer_config(validators, source);
    let config = h.attest_for(config, Default::default()).await;
    let relayer = h.spawn_relayer_with(RELAYER_ACCOUNT, config);
    let all_credited = |n: usize| {
        let pool = h.pool.clone();
        async move {
            let credited = myco_bridge::store::credits::all(&pool).await.unwrap().len();
            let seen = myco_bridge::store::escrow::deposits(&pool).await.unwrap().len();
            credited == n && seen == n
        }
    };
    wait_until("3 epochs committed", || async { commitments::latest(&h.pool).await.unwrap().map(|e| e.0) == Some(3) })
        .await;
    wait_until("3 real deposits credited and seen", || all_credited(3)).await;

    // A second run continues the folder: epochs 1-3 stay byte for byte, 4-5 follow, the new deposit is credited.
    let before: Vec<Vec<u8>> = (1..=3).map(|e| std::fs::read(out.join(format!("{e}.batch"))).unwrap()).collect();
    h.deposit(FIRST_USER_ACCOUNT + 3, alloy::primitives::B256::repeat_byte(9), 11_000_000).await;
    simulate("2");
    let after: Vec<Vec<u8>> = (1..=3).map(|e| std::fs::read(out.join(format!("{e}.batch"))).unwrap()).collect();
    assert_eq!(before, after, "a resumed simulator never rewrites a batch");
    wait_until("5 epochs committed", || async { commitments::latest(&h.pool).await.unwrap().map(|e| e.0) == Some(5) })
        .await;
    wait_until("4 real deposits credited and seen", || all_credited(4)).await;
    // Give reconciliation a few polls after the last event, then: nothing disagrees, ever.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    relayer.stop().await.unwrap();
    assert_eq!(myco_bridge::store::mismatches::all(&h.pool).await.unwrap(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_log_read_fits_a_provider_that_caps_ranges_including_settlement_recovery() {
    use myco_bridge::store::curve;
    let mut h = Harness::start().await;
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let mine = |blocks: u64| {
        let admin = admin.clone();
        async move {
            let _: serde_json::Value = admin.raw_request("anvil_mine".into(), (blocks,)).await.unwrap();
        }
    };
    let capped = crate::capped_rpc::CappedRpc::start(h.devnet.url().as_str(), 5).await;
    let config = myco_bridge::relayer::Config { max_log_range: 5, ..h.config() };
    let spawn = |config: myco_bridge::relayer::Config| {
        let provider = signing_provider(capped.url(), h.devnet.signer(RELAYER_ACCOUNT));
        let relayer = Relayer::new(h.pool.clone(), provider, config);
        let shutdown = CancellationToken::new();
        let health = relayer.health().clone();
        Running { task: tokio::spawn(relayer.run(shutdown.clone())), shutdown, health }
    };

    // A long chain behind the deployment, a deposit in it, and an epoch with net orders.
    mine(120).await;
    let accounts = h.network.accounts();
    let mut deposits = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let id = h.deposit(FIRST_USER_ACCOUNT + i, *account, 1_000_000_000).await;
        deposits.push(CreditedDeposit { deposit_id: id, account: *account, amount: U256::from(1_000_000_000u64) });
        mine(7).await;
    }
    let b1 =
        h.network.next_batch(&EpochInputs { timestamp: 1, deposits, transfers: 10, intents: 30, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(1, &b1.bytes).await.unwrap();

    // The root and its orders land; the relayer is stopped and the record of the execution lost, as after a crash
    // between sending the orders and recording them.
    let executed =
        || async { curve::get(&h.pool, Epoch(1)).await.unwrap().is_some_and(|r| r.status == curve::Status::Executed) };
    let first = spawn(config.clone());
    wait_until("epoch 1's orders are executed", executed).await;
    first.stop().await.unwrap();
    let executed_first = curve::get(&h.pool, Epoch(1)).await.unwrap().unwrap().executed.expect("the orders executed");
    sqlx::query("UPDATE curve_settlements SET status = 'planned', tx_hash = NULL").execute(&h.pool).await.unwrap();
    mine(60).await;

    // Recovery finds the execution in the log, reading 5 blocks at a time, and sends nothing.
    let second = spawn(config);
    wait_until("epoch 1's execution is recovered", executed).await;
    wait_until("the watcher saw every deposit", || async {
        myco_bridge::store::escrow::deposits(&h.pool).await.unwrap().len() == accounts.len()
    })
    .await;
    second.stop().await.unwrap();
    let row = curve::get(&h.pool, Epoch(1)).await.unwrap().unwrap();
    assert_eq!((row.status, row.executed.map(|e| e.tx_hash)), (curve::Status::Executed, Some(executed_first.tx_hash)));
    assert_eq!(capped.refused(), 0, "no request was wider than the provider allows");
    assert!(capped.largest() <= 5 && capped.largest() > 0, "largest range {}", capped.largest());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_mid_run_is_ridden_out_by_the_relayer_and_the_leader() {
    let Some(cluster) = crate::pg_cluster::PgCluster::start() else {
        eprintln!("PostgreSQL outage test NOT RUN: no server (scripts/with-postgres runs it)");
        return;
    };
    let outage = |cluster: &crate::pg_cluster::PgCluster| {
        cluster.ctl("stop");
        std::thread::sleep(std::time::Duration::from_millis(1500));
        cluster.ctl("start");
    };
    let mut h = Harness::start_with_database(cluster.url()).await;
    let source = FolderSource::new(&h.batch_dir);

    // The relayer on its own: its store goes away for over a second while it polls every 100 ms.
    let relayer = h.spawn_relayer(RELAYER_ACCOUNT);
    let b1 = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    source.publish(1, &b1.bytes).await.unwrap();
    wait_until("epoch 1 is committed", || async {
        commitments::latest(&h.pool).await.unwrap().map(|e| e.0) == Some(1)
    })
    .await;
    outage(&cluster);
    assert!(!relayer.task.is_finished(), "a database outage must not stop the relayer");
    let b2 = h.network.next_batch(&EpochInputs { timestamp: 2, ..Default::default() });
    source.publish(2, &b2.bytes).await.unwrap();
    wait_until("epoch 2 is committed", || async {
        commitments::latest(&h.pool).await.ok().flatten().map(|e| e.0) == Some(2)
    })
    .await;
    relayer.stop().await.expect("an outage is not a halt");

    // The service: the leader loses its lock's connection too, steps down, and leads again.
    let mut service = Service::start(&h);
    service.wait_committed(2).await;
    outage(&cluster);
    let b3 = h.network.next_batch(&EpochInputs { timestamp: 3, ..Default::default() });
    source.publish(3, &b3.bytes).await.unwrap();
    service.wait_committed(3).await;
    let ready = json(&format!("{}/ready", service.base)).await;
    assert_eq!((ready["ready"].as_bool(), ready["role"].as_str()), (Some(true), Some("leader")), "{ready}");
    let log = service.log.clone();
    assert!(service.stop().await.success(), "{}", std::fs::read_to_string(&log).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_is_explained_by_ready_status_and_the_page() {
    use myco_bridge::chain::bindings::state_commitment::IStateCommitment::ReserveFigures;
    let mut h = Harness::start().await;
    // The same root another stream would give (an empty epoch's zero root), but another batch digest: not ours.
    let provider = h.devnet.provider(RELAYER_ACCOUNT);
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &provider);
    let figures =
        ReserveFigures { totalSupply: U256::ZERO, totalReserve: U256::ZERO, flowPressure: U256::ZERO, timestamp: 1 };
    let zero = alloy::primitives::B256::ZERO;
    let digest = alloy::primitives::B256::repeat_byte(0xdd);
    let foreign = myco_bridge::chain::RootCommit {
        epoch: Epoch(1),
        state_root: zero,
        parent_root: zero,
        digest,
        timestamp: 1,
        figures: Default::default(),
    };
    send_call("commit", sc.commit(1, zero, zero, digest, figures, h.quorum(&foreign))).await.unwrap();
    // Past its challenge window, no revocation can remove it: only a person can decide.
    h.devnet.advance_time(601).await.unwrap();
    let b1 = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(1, &b1.bytes).await.unwrap();

    let mut service = Service::start(&h);
    let base = service.base.clone();
    let deadline = tokio::time::Instant::now() + crate::common::TIMEOUT;
    let ready = loop {
        let (status, body) = get(&format!("{base}/ready")).await;
        if status == 503 && body.contains("halted") {
            break body;
        }
        assert!(tokio::time::Instant::now() < deadline, "no halt: {}", std::fs::read_to_string(&service.log).unwrap());
        assert!(service.child.try_wait().unwrap().is_none(), "{}", std::fs::read_to_string(&service.log).unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(ready.contains("batch digest"), "the reason names what differs: {ready}");
    let status = Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .args(["status", "--config"])
        .arg(&service.config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(2), "{text}");
    assert!(text.contains("HALTED: epoch 1: the chain's commitment differs from ours in batch digest"), "{text}");
    let page = get(&format!("{base}/")).await.1;
    assert!(page.contains(r#"id="halted""#) && page.contains("batch digest"), "{page}");
    assert_eq!(service.stop().await.code(), Some(2), "a halted relayer exits 2");
}
