//! The binary's commands: `simulate` writes a verifiable stream, `verify-batch` judges one file, `deploy` prints a
//! working `[chain]` section, `migrate` and `status` work on a store.

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
    // Without --escrow the leaves are bound to --chain-id (default 31337) and the zero address, and it says so.
    let domain = myco_bridge::settle::ClaimDomain { chain_id: 31337, escrow: alloy::primitives::Address::ZERO };
    assert_eq!(json["claim_domain"]["chain_id"], 31337);
    let root = myco_bridge::settle::EpochSettlement::compute(&state, &Default::default(), domain).root();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_prints_a_working_chain_section_and_migrate_and_status_read_the_store() {
    let devnet = myco_bridge::devnet::Devnet::start(600, &[]).await.unwrap();
    let admin_key = format!("0x{}", alloy::hex::encode(devnet.signer(myco_bridge::devnet::ADMIN_ACCOUNT).to_bytes()));
    let relayer = devnet.signer(myco_bridge::devnet::RELAYER_ACCOUNT).address();
    let guardian = devnet.signer(myco_bridge::devnet::FIRST_USER_ACCOUNT + 5).address();
    let deploy = |extra: &[&str]| {
        let mut args = vec![
            "deploy".to_string(),
            "--rpc-url".into(),
            devnet.url().to_string(),
            "--relayer".into(),
            relayer.to_string(),
            "--guardian".into(),
            guardian.to_string(),
            "--challenge-window".into(),
            "60".into(),
        ];
        for attester in myco_bridge::devnet::attesters::addresses() {
            args.extend(["--attester".to_string(), attester.to_string()]);
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        bin().args(args).env("MYCO_BRIDGE_ADMIN_KEY", &admin_key).output().unwrap()
    };
    // The chain's existing USDC (here: the devnet's, already deployed) is used as it is.
    let existing = devnet.deployment.usdc.to_string();
    let deployed = deploy(&["--usdc", &existing]);
    let text = String::from_utf8_lossy(&deployed.stdout);
    assert!(deployed.status.success(), "{text}{}", String::from_utf8_lossy(&deployed.stderr));
    assert!(text.contains(&format!("USDC {existing} is the existing token")), "{text}");
    let section: toml::Table = text.parse().expect("the printed [chain] section is TOML");
    let chain = section["chain"].as_table().unwrap();
    assert_eq!(chain["chain_id"].as_integer(), Some(devnet.chain_id() as i64));
    let sc: alloy::primitives::Address = chain["state_commitment"].as_str().unwrap().parse().unwrap();
    // The deployment is live: the attesters are registered, three of the four must sign (2f + 1).
    let provider = devnet.provider(myco_bridge::devnet::ADMIN_ACCOUNT);
    let contract = myco_bridge::chain::bindings::StateCommitment::new(sc, &provider);
    let roles = myco_bridge::chain::bindings::AccessControl::new(sc, &provider);
    let mut attesters = myco_bridge::devnet::attesters::addresses();
    attesters.sort();
    assert_eq!(contract.attesters().call().await.unwrap(), attesters);
    assert_eq!(contract.threshold().call().await.unwrap(), alloy::primitives::U256::from(3));
    let guardian_role = contract.GUARDIAN_ROLE().call().await.unwrap();
    assert!(roles.hasRole(guardian_role, guardian).call().await.unwrap(), "the guardian is its own key");
    let admin = devnet.signer(myco_bridge::devnet::ADMIN_ACCOUNT).address();
    assert!(!roles.hasRole(guardian_role, admin).call().await.unwrap(), "the admin is not the guardian");
    assert_eq!(contract.challengeWindow().call().await.unwrap(), 60);
    let escrow: alloy::primitives::Address = chain["escrow"].as_str().unwrap().parse().unwrap();
    let escrow = myco_bridge::chain::bindings::USDCEscrow::new(escrow, &provider);
    assert_eq!(escrow.usdc().call().await.unwrap(), devnet.deployment.usdc);

    // A test USDC only when asked for, and said so; an address that is not a 6-decimal token is refused.
    let test = deploy(&["--test-usdc"]);
    assert!(test.status.success());
    assert!(String::from_utf8_lossy(&test.stdout).contains("is a TEST token anyone can mint"));
    let not_a_token = deploy(&["--usdc", &sc.to_string()]);
    assert!(!not_a_token.status.success());
    assert!(String::from_utf8_lossy(&not_a_token.stderr).contains("--usdc"), "the error names the option");
    let neither = deploy(&[]);
    assert!(!neither.status.success(), "one of --usdc or --test-usdc is required");
    let missing_key = bin()
        .args(["deploy", "--rpc-url", devnet.url().as_str(), "--relayer", &relayer.to_string(), "--test-usdc"])
        .args(["--guardian", &guardian.to_string(), "--attester", &relayer.to_string()])
        .output()
        .unwrap();
    assert!(!missing_key.status.success());
    assert!(String::from_utf8_lossy(&missing_key.stderr).contains("MYCO_BRIDGE_ADMIN_KEY"));

    // migrate creates the schema; status reads an empty store.
    let dir = tempfile::tempdir().unwrap();
    let database = crate::common::database_url(dir.path()).await;
    let migrated = bin().args(["migrate", "--database", &database]).output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    assert!(String::from_utf8_lossy(&migrated.stdout).contains("up to date"));
    let status = bin().args(["status", "--database", &database, "--json"]).output().unwrap();
    assert!(status.status.success());
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["last_committed_epoch"], 0);
    assert_eq!(json["open_mismatches"].as_array().unwrap().len(), 0);
}

/// `inspect-batch --previous`: the conservation terms between two version 2 batches, and the rule a tampered
/// batch breaks.
#[test]
fn inspect_batch_with_the_previous_batch_prints_the_conservation_terms() {
    use alloy::primitives::{Address, U256};
    use myco_bridge::devnet::simulate::{EpochInputs, Network, WithdrawalAsk};
    use myco_bridge::ingest::document::CreditedDeposit;
    use myco_bridge::ingest::intent::Token;
    let wad = U256::from(10u64).pow(U256::from(18));
    let dir = tempfile::tempdir().unwrap();
    let mut net = Network::new(31337, 3, 4, 4).with_ledger();
    let a = net.accounts()[0];
    let deposit = CreditedDeposit { deposit_id: 1, account: a, amount: U256::from(1_000_000_000u64) };
    let ask = WithdrawalAsk { account: a, amount: U256::from(50) * wad, recipient: Address::repeat_byte(1) };
    let batches = [
        net.next_batch(&EpochInputs {
            deposits: vec![deposit],
            mints: vec![(a, U256::from(500) * wad)],
            ..Default::default()
        }),
        net.next_batch(&EpochInputs { withdrawals: vec![ask], intents: 6, transfers: 4, ..Default::default() }),
        net.next_batch(&EpochInputs { reserve_loss_bps: 100, ..Default::default() }),
    ];
    for p in &batches {
        std::fs::write(dir.path().join(format!("{}.batch", p.state.epoch)), &p.bytes).unwrap();
    }
    let keys = dir.path().join("validators.txt");
    std::fs::write(&keys, myco_bridge::ingest::certificate::format_keys(&net.validator_keys())).unwrap();
    let labor = dir.path().join("labor.txt");
    let attester = myco_bridge::devnet::labor_attester().verifying_key().to_bytes();
    std::fs::write(&labor, alloy::hex::encode(attester)).unwrap();
    let inspect = |file: &std::path::Path| {
        let out = bin()
            .arg("inspect-batch")
            .arg(file)
            .arg("--validators-file")
            .arg(&keys)
            .arg("--previous")
            .arg(dir.path())
            .arg("--labor-attesters-file")
            .arg(&labor)
            .arg("--json")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["conservation"].clone()
    };
    let third = inspect(&dir.path().join("3.batch"));
    let reserve = &third["terms"]["reserve"];
    assert_eq!(reserve["balanced"], true, "{third}");
    assert_ne!(reserve["minus"]["paid"], "0", "epoch 2's claim leaves the reserve in epoch 3: {third}");
    assert_ne!(reserve["minus"]["revalued_down"], "0", "{third}");
    assert_eq!(third["terms"]["myco_supply"]["balanced"], true);

    // The same epoch with one MYCO more than its flows explain, certified by the same validators.
    let mut bad = batches[2].state.clone();
    *bad.balances.get_mut(&Token::Myco).unwrap().get_mut(&a).unwrap() += wad;
    bad.reserve.total_supply += wad;
    let mut envelope = batches[2].envelope.clone();
    envelope.document = bad.to_automerge();
    let digest = envelope.digest();
    envelope.signatures =
        net.validator_signing_keys().iter().map(|k| myco_bridge::ingest::certificate::sign(k, &digest)).collect();
    let tampered = dir.path().join("tampered.batch");
    std::fs::write(&tampered, envelope.encode()).unwrap();
    let verdict = inspect(&tampered);
    assert_eq!(verdict["balanced"], false, "{verdict}");
    assert_eq!(verdict["violation"]["rule"], "supply_unexplained", "{verdict}");
}
