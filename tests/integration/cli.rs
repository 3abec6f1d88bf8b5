//! The binary's batch commands: `simulate` writes a verifiable stream, `verify-batch` judges one file.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
}

#[test]
fn simulate_then_verify_batch_accepts_good_and_names_the_reason_for_bad() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("batches");
    let status = bin()
        .args(["simulate", "--epochs", "2", "--interval-ms", "1", "--accounts", "10", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let keys = out.join("validators.txt");

    let good = bin().arg("verify-batch").arg(out.join("2.batch")).arg("--validators-file").arg(&keys).output().unwrap();
    let text = String::from_utf8_lossy(&good.stdout);
    assert!(good.status.success(), "{text}");
    assert!(text.starts_with("VALID"), "{text}");
    assert!(text.contains("epoch        2"), "{text}");
    assert!(text.contains("4 of 4 validators signed (quorum 3)"), "{text}");

    // inspect-batch: the computed outputs, with the same root the relayer would commit.
    let inspected = bin()
        .arg("inspect-batch")
        .arg(out.join("2.batch"))
        .arg("--validators-file")
        .arg(&keys)
        .arg("--json")
        .output()
        .unwrap();
    assert!(inspected.status.success());
    let json: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    let envelope = myco_bridge::ingest::Envelope::decode(&std::fs::read(out.join("2.batch")).unwrap()).unwrap();
    let state = myco_bridge::ingest::BatchState::from_automerge(&envelope.document).unwrap();
    let root = myco_bridge::settle::EpochSettlement::compute(&state).root();
    assert_eq!(json["state_root"], root.to_string());
    assert_eq!(json["verified"], true);
    assert_eq!(json["claims"].as_array().unwrap().len(), state.withdrawals.len());
    assert!(json["auction"]["matched_myco"].is_string());

    let mut bytes = std::fs::read(out.join("2.batch")).unwrap();
    bytes.truncate(bytes.len() - 96 * 2); // drop two signatures, but keep the count: truncated
    let bad = dir.path().join("bad.batch");
    std::fs::write(&bad, &bytes).unwrap();
    let rejected = bin().arg("verify-batch").arg(&bad).arg("--validators-file").arg(&keys).output().unwrap();
    let text = String::from_utf8_lossy(&rejected.stdout);
    assert_eq!(rejected.status.code(), Some(1), "{text}");
    assert!(text.starts_with("REJECTED") && text.contains("(truncated)"), "{text}");
}
