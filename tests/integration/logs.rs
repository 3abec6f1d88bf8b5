//! Logs an operator can search: with `--log-json`, the line of every transaction sent carries the epoch and
//! the purpose it was sent for (recorded span fields, not empty ones).

use myco_bridge::devnet::RELAYER_ACCOUNT;
use myco_bridge::devnet::simulate::EpochInputs;
use myco_bridge::ingest::folder::FolderSource;
use serde_json::Value;

use crate::common::Harness;
use crate::process::{free_port, key_of, spawn_run_with, wait_committed, write_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_transactions_json_log_line_names_its_epoch_and_purpose() {
    let mut h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(&h, dir.path(), port);
    let source = FolderSource::new(&h.batch_dir);
    // Random intents leave a net order to execute, so both purposes send a transaction.
    for epoch in 1..=2 {
        let produced = h.network.next_batch(&EpochInputs { timestamp: epoch, intents: 20, ..Default::default() });
        source.publish(epoch, &produced.bytes).await.unwrap();
    }
    let log = dir.path().join("run.log");
    let mut child = spawn_run_with(&config, &key_of(&h, RELAYER_ACCOUNT), &log, &[("MYCO_LOG_JSON", "true")]);
    wait_committed(&format!("http://127.0.0.1:{port}"), 2, &mut child, &log).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("every line is JSON")).collect();
    let sent: Vec<&Value> = lines.iter().filter(|l| l["fields"]["message"] == "transaction sent").collect();
    // The span list holds each enclosing span's recorded fields; the innermost with a field wins.
    let field = |line: &Value, name: &str| {
        line["spans"].as_array().into_iter().flatten().rev().find_map(|s| s.get(name)).cloned().unwrap_or(Value::Null)
    };
    let logged: Vec<(String, String, String)> = sent
        .iter()
        .map(|line| {
            let epoch = field(line, "epoch");
            let epoch = epoch.as_u64().map(|e| e.to_string()).or(epoch.as_str().map(str::to_string));
            let purpose = field(line, "purpose").as_str().map(str::to_string);
            let tx = line["fields"]["tx"].as_str().map(str::to_string);
            (tx.expect("tx"), epoch.unwrap_or_else(|| panic!("no epoch: {line}")), purpose.expect("purpose"))
        })
        .collect();
    // Every transaction the relayer recorded was logged when sent, with its own epoch and purpose.
    let attempts = myco_bridge::store::attempts::all(&h.pool).await.unwrap();
    let sent_txs: Vec<_> = attempts.iter().filter(|a| a.tx_hash.is_some()).collect();
    assert!(sent_txs.iter().any(|a| a.purpose == myco_bridge::ids::Purpose::Commit), "no commit recorded");
    for a in sent_txs {
        let expected = (a.tx_hash.unwrap().to_string(), a.epoch.to_string(), a.purpose.to_string());
        assert!(logged.contains(&expected), "{expected:?} not logged; logged {logged:?}");
    }
}
