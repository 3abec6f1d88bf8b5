//! `myco-bridge run` as an operator runs it: a configuration file, the key in the environment, the status API,
//! `/metrics` checked with a Prometheus text-format parser, the status page (in headless Chromium when it is
//! installed), and a clean exit on SIGTERM with nothing half-written.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alloy::primitives::{Address, U256};
use myco_bridge::chain::attempts::AttemptStatus;
use myco_bridge::devnet::RELAYER_ACCOUNT;
use myco_bridge::devnet::simulate::{EpochInputs, WithdrawalAsk};
use myco_bridge::ids::Purpose;
use myco_bridge::ingest::document::CreditedDeposit;
use myco_bridge::ingest::folder::FolderSource;
use serde_json::Value;

use crate::common::{Harness, TIMEOUT};
use crate::process::{free_port, get, json, spawn_run, wait_for_exit, write_config};

/// The page as a browser renders it, and a screenshot, when Debian's Chromium is installed; `.ci/run`
/// installs it and sets `MYCO_REQUIRE_CHROMIUM`, so there the check always runs.
fn chromium(url: &str, screenshot: &Path) -> Option<String> {
    let Some(binary) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().find(|p| Path::new(p).exists())
    else {
        assert!(
            std::env::var_os("MYCO_REQUIRE_CHROMIUM").is_none(),
            "MYCO_REQUIRE_CHROMIUM is set but Chromium is not installed"
        );
        eprintln!("status page: Chromium not installed, browser check NOT RUN (apt-get install chromium)");
        return None;
    };
    let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,1400"];
    let shot = Command::new(binary)
        .args(flags)
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(shot.status.success(), "chromium screenshot: {}", String::from_utf8_lossy(&shot.stderr));
    let dom = Command::new(binary).args(flags).args(["--dump-dom", url]).stderr(Stdio::null()).output().unwrap();
    assert!(dom.status.success());
    Some(String::from_utf8(dom.stdout).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_status_metrics_and_a_page_and_stops_cleanly_on_sigterm() {
    let mut h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(&h, dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");

    // Two epochs: two deposits (made on chain) credited, then two withdrawals certified.
    let accounts = h.network.accounts();
    for (i, account) in accounts.iter().take(2).enumerate() {
        h.deposit(myco_bridge::devnet::FIRST_USER_ACCOUNT + i, *account, 500_000_000).await;
    }
    let credit = |id: u64, i: usize| CreditedDeposit {
        deposit_id: id,
        account: accounts[i],
        amount: U256::from(500_000_000u64),
    };
    let b1 = h.network.next_batch(&EpochInputs {
        timestamp: 1,
        deposits: vec![credit(1, 0), credit(2, 1)],
        ..Default::default()
    });
    let ask = |i: usize| WithdrawalAsk {
        account: accounts[i],
        amount: U256::from(20u64) * U256::from(10u64).pow(U256::from(18)),
        recipient: Address::repeat_byte(i as u8 + 1),
    };
    let b2 =
        h.network.next_batch(&EpochInputs { timestamp: 2, withdrawals: vec![ask(0), ask(1)], ..Default::default() });
    let source = FolderSource::new(&h.batch_dir);
    source.publish(1, &b1.bytes).await.unwrap();
    source.publish(2, &b2.bytes).await.unwrap();

    let key = format!("0x{}", alloy::hex::encode(h.devnet.signer(RELAYER_ACCOUNT).to_bytes()));
    // `--check` validates the file and the key, says what it found, and starts nothing.
    let check = Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .args(["run", "--check", "--config"])
        .arg(&config)
        .env("MYCO_BRIDGE_PRIVATE_KEY", &key)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{summary}{}", String::from_utf8_lossy(&check.stderr));
    assert!(
        summary.contains("configuration OK")
            && summary.contains(&h.devnet.signer(RELAYER_ACCOUNT).address().to_string())
    );
    let without_key = Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .args(["run", "--check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!without_key.status.success());
    assert!(String::from_utf8_lossy(&without_key.stderr).contains("MYCO_BRIDGE_PRIVATE_KEY"));
    let log = dir.path().join("run.log");
    let mut child = spawn_run(&config, &key, &log);
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let ready = get(&format!("{base}/ready")).await.0 == 200;
        let epochs = if ready { json(&format!("{base}/api/v1/epochs")).await } else { Value::Null };
        let committed =
            epochs["items"].as_array().is_some_and(|e| e.len() == 2 && e.iter().all(|e| !e["committed_at"].is_null()));
        if committed {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "myco-bridge exited: {}", std::fs::read_to_string(&log).unwrap());
        assert!(
            tokio::time::Instant::now() < deadline,
            "not committed in time: {}",
            std::fs::read_to_string(&log).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(get(&format!("{base}/health")).await, (200, "ok\n".to_string()));

    // /metrics parses as the Prometheus text format and says what happened.
    let (status, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200, "{text}");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("valid exposition");
    let value = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get("kind").is_none())
            .map(|s| match &s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                other => panic!("{name}: {other:?}"),
            })
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(value("myco_bridge_batches_ingested_total"), 2.0);
    assert_eq!(value("myco_bridge_epochs_committed_total"), 2.0);
    assert_eq!(value("myco_bridge_last_committed_epoch"), 2.0);
    assert_eq!(value("myco_bridge_pending_withdrawals"), 2.0);
    assert_eq!(value("myco_bridge_leader"), 1.0);
    assert_eq!(value("myco_bridge_halted"), 0.0);
    assert_eq!(value("myco_bridge_conservation_audits_total"), 2.0, "each epoch audited before its commitment");
    assert_eq!(value("myco_bridge_conservation_violations"), 0.0);
    assert!(value("myco_bridge_gas_used_total") > 0.0);
    for family in [
        "myco_bridge_reorgs_total",
        "myco_bridge_watcher_lag_blocks",
        "myco_bridge_deposited_usdc_total",
        "myco_bridge_tx_replacements_total",
    ] {
        value(family);
    }
    // What the operator must fund, and why orders were left out, from the start.
    assert!(value("myco_bridge_relayer_eth") > 1.0, "anvil funds the relayer");
    assert!(value("myco_bridge_float_usdc") > 1_000_000.0, "the devnet's float");
    assert!(value("myco_bridge_chain_head_block") > 0.0);
    assert_eq!(value("myco_bridge_balances_up"), 1.0);
    let count = |name: &str| scrape.samples.iter().filter(|s| s.metric == name).count();
    assert_eq!(count("myco_bridge_net_orders_skipped_total"), 4, "every skip reason is published");
    assert_eq!(count("myco_bridge_alarm"), 6, "every alarm is published");
    let mismatch_kinds = scrape.samples.iter().filter(|s| s.metric == "myco_bridge_open_mismatches").count();
    assert_eq!(mismatch_kinds, 6, "every mismatch kind is published at zero");
    assert!(scrape.samples.iter().any(|s| s.metric == "myco_bridge_ingest_to_commit_seconds"
        && matches!(&s.value, prometheus_parse::Value::Histogram(b) if b.last().is_some_and(|b| b.count == 2.0))));

    // The conservation audit of each epoch, newest first, and no violation.
    let conservation = json(&format!("{base}/api/v1/conservation")).await;
    assert_eq!(conservation["violations"], serde_json::json!([]), "{conservation}");
    let audited: Vec<u64> =
        conservation["items"].as_array().unwrap().iter().map(|t| t["epoch"].as_u64().unwrap()).collect();
    assert_eq!(audited, [2, 1], "{conservation}");

    // The JSON API: withdrawals by status and account, paginated; bad filters are refused with a reason.
    let in_root = json(&format!("{base}/api/v1/withdrawals?status=in_root")).await;
    assert_eq!(in_root["items"].as_array().unwrap().len(), 2, "{in_root}");
    let first_page = json(&format!("{base}/api/v1/withdrawals?limit=1")).await;
    assert_eq!((first_page["items"].as_array().unwrap().len(), first_page["next_offset"].as_u64()), (1, Some(1)));
    let mine = json(&format!("{base}/api/v1/withdrawals?account={}", accounts[1])).await;
    assert_eq!(mine["items"][0]["account"], accounts[1].to_string());
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert!(json(&format!("{base}/api/v1/withdrawals?status=paid")).await["items"].as_array().unwrap().is_empty());
    let (status, body) = get(&format!("{base}/api/v1/withdrawals?status=lost")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("requested, in_root, final, paid"));
    assert!(json(&format!("{base}/api/v1/mismatches")).await["items"].is_array());
    assert!(json(&format!("{base}/api/v1/deposits")).await["items"].is_array());

    // The status page, as served and as a browser shows it.
    let (status, html) = get(&format!("{base}/")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Epoch pipeline") && html.contains(r#"id="chart""#));
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    if let Some(dom) = chromium(&format!("{base}/"), &screenshot) {
        assert!(dom.contains(r#"<div class="card"><b>2</b>in root"#), "two withdrawals in root: {dom}");
        assert!(dom.contains(r#"<span id="mismatch-count" class="ok">0</span>"#));
        assert!(dom.contains(r#"id="backing""#) && dom.contains(r#"id="rate""#));
        assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000, "a real screenshot");
    }

    // SIGTERM: a clean stop, exit 0; the key never reached the log.
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = wait_for_exit(&mut child).await;
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "exit {status:?}: {logged}");
    assert!(logged.contains("SIGTERM"), "{logged}");
    assert!(!logged.contains(&key[2..]), "the private key must never be logged");

    // `status` reads the same story from the store while nothing runs.
    let status = Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .args(["status", "--json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let report: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["last_committed_epoch"], 2);
    assert_eq!(report["pending_withdrawals"].as_array().unwrap().len(), 2);

    // A restart resumes from the store: nothing is sent again.
    let mut again = spawn_run(&config, &key, &dir.path().join("run2.log"));
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while get(&format!("{base}/ready")).await.0 != 200 {
        assert!(tokio::time::Instant::now() < deadline, "restart not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(json(&format!("{base}/api/v1/epochs")).await["items"].as_array().unwrap().len(), 2);
    assert!(Command::new("kill").args(["-TERM", &again.id().to_string()]).status().unwrap().success());
    assert!(wait_for_exit(&mut again).await.success());
}

fn spawn_instance(config: &Path, key: &str, port: u16, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .args(["run", "--config"])
        .arg(config)
        .env("MYCO_BRIDGE_PRIVATE_KEY", key)
        .env("MYCO_BRIDGE__API__LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("myco-bridge runs")
}

async fn role(port: u16) -> Option<String> {
    let (status, body) = get(&format!("http://127.0.0.1:{port}/ready")).await;
    (status == 200).then(|| serde_json::from_str::<Value>(&body).ok()?["role"].as_str().map(str::to_string)).flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sqlite_a_second_instance_refuses_to_start() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&h, dir.path(), free_port());
    let database = format!("sqlite://{}", dir.path().join("only-one.db").display());
    let key = format!("0x{}", alloy::hex::encode(h.devnet.signer(RELAYER_ACCOUNT).to_bytes()));
    let first_port = free_port();
    let mut first = Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .args(["run", "--config"])
        .arg(&config)
        .env("MYCO_BRIDGE_PRIVATE_KEY", &key)
        .env("MYCO_BRIDGE__DATABASE__URL", &database)
        .env("MYCO_BRIDGE__API__LISTEN", format!("127.0.0.1:{first_port}"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while role(first_port).await.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "first instance not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .args(["run", "--config"])
        .arg(&config)
        .env("MYCO_BRIDGE_PRIVATE_KEY", &key)
        .env("MYCO_BRIDGE__DATABASE__URL", &database)
        .env("MYCO_BRIDGE__API__LISTEN", format!("127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success());
    assert!(stderr.contains("another myco-bridge is running") && stderr.contains("use PostgreSQL"), "{stderr}");
    assert!(Command::new("kill").args(["-TERM", &first.id().to_string()]).status().unwrap().success());
    assert!(wait_for_exit(&mut first).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_one_instance_leads_and_a_follower_takes_over_when_it_dies() {
    use myco_bridge::chain::bindings::StateCommitment;
    use myco_bridge::store::{attempts, commitments};

    if std::env::var_os("MYCO_TEST_POSTGRES").is_none() {
        eprintln!("two instances need PostgreSQL: NOT RUN on this pass (the Postgres pass of make test runs it)");
        return;
    }
    const EPOCHS: u64 = 6;
    let mut h = Harness::start().await;
    let admin = h.devnet.provider(myco_bridge::devnet::ADMIN_ACCOUNT);
    let _: Value = alloy::providers::Provider::raw_request(&admin, "evm_setAutomine".into(), (false,)).await.unwrap();
    let _: Value = alloy::providers::Provider::raw_request(&admin, "evm_setIntervalMining".into(), (1,)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&h, dir.path(), free_port());
    let key = format!("0x{}", alloy::hex::encode(h.devnet.signer(RELAYER_ACCOUNT).to_bytes()));
    let source = FolderSource::new(&h.batch_dir);
    let mut publish = async |epoch: u64| {
        let batch = h.network.next_batch(&EpochInputs { timestamp: epoch, ..Default::default() });
        source.publish(epoch, &batch.bytes).await.unwrap();
    };
    for epoch in 1..=2 {
        publish(epoch).await;
    }

    let (port_a, port_b) = (free_port(), free_port());
    let mut a = spawn_instance(&config, &key, port_a, &dir.path().join("a.log"));
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while role(port_a).await.as_deref() != Some("leader") {
        assert!(tokio::time::Instant::now() < deadline, "a does not lead");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut b = spawn_instance(&config, &key, port_b, &dir.path().join("b.log"));
    while role(port_b).await.as_deref() != Some("follower") {
        assert!(tokio::time::Instant::now() < deadline, "b does not follow");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The follower serves the same status from the shared store.
    assert!(json(&format!("http://127.0.0.1:{port_b}/api/v1/epochs")).await["items"].is_array());

    // More epochs; the leader dies (SIGKILL, no goodbye) while it is busy with them.
    for epoch in 3..=EPOCHS {
        publish(epoch).await;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    a.kill().unwrap();
    a.wait().unwrap();
    let killed_at = tokio::time::Instant::now();
    while role(port_b).await.as_deref() != Some("leader") {
        assert!(killed_at.elapsed() < Duration::from_secs(5), "no takeover within 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let takeover = killed_at.elapsed();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while commitments::latest(&h.pool).await.unwrap().map(|e| e.0).is_none_or(|l| l < EPOCHS) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            std::fs::read_to_string(dir.path().join("b.log")).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(Command::new("kill").args(["-TERM", &b.id().to_string()]).status().unwrap().success());
    assert!(wait_for_exit(&mut b).await.success());
    eprintln!("takeover after the leader died: {takeover:?}");

    // Each epoch on chain once, in order, with the stored root; no commit mined twice.
    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    assert_eq!(sc.latestEpoch().call().await.unwrap(), EPOCHS);
    let stored = commitments::all(&h.pool).await.unwrap();
    assert_eq!(stored.iter().map(|c| c.epoch.0).collect::<Vec<_>>(), (1..=EPOCHS).collect::<Vec<_>>());
    for c in &stored {
        assert_eq!(sc.commitmentOf(c.epoch.0).call().await.unwrap().stateRoot, c.state_root);
    }
    let all = attempts::all(&h.pool).await.unwrap();
    for epoch in 1..=EPOCHS {
        let mined = all
            .iter()
            .filter(|x| x.epoch.0 == epoch && x.purpose == Purpose::Commit && x.status == AttemptStatus::Mined);
        assert!(mined.count() <= 1, "epoch {epoch} committed twice");
    }
}
