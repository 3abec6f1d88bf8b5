//! A batch built and signed by JavaScript (`@automerge/automerge`, `@noble/curves`) from the spec alone is
//! accepted; the same batch with one signature byte flipped is not. A JavaScript validator applying a settlement
//! (version 2) produces the next batch the conservation audit accepts.

use std::path::Path;
use std::process::Command;

use myco_bridge::ingest::certificate::parse_keys;
use myco_bridge::ingest::{Error, ValidatorSet, Verifier};

#[test]
fn accepts_a_batch_made_in_javascript_and_rejects_it_tampered() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/make-batch.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(dir.path())
        .arg("31337")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("node runs (npm ci installs its packages)");
    assert!(out.status.success(), "make-batch.mjs failed: {}", String::from_utf8_lossy(&out.stderr));

    let keys = parse_keys(&std::fs::read_to_string(dir.path().join("validators.txt")).unwrap()).unwrap();
    let verifier = Verifier::new(31337, ValidatorSet::new(keys).unwrap(), None);
    let bytes = std::fs::read(dir.path().join("1.batch")).unwrap();

    let batch = verifier.verify(&bytes).expect("the JavaScript batch is valid");
    assert_eq!(batch.epoch, 1);
    assert_eq!(batch.signers, 4);
    assert_eq!(batch.state.intents.len(), 1, "its intent's maker signature verified too");
    assert_eq!(batch.state.withdrawals.len(), 1);

    let mut tampered = bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01; // a byte of the last validator's signature
    assert!(matches!(verifier.verify(&tampered), Err(Error::BadSignature { epoch: 1, .. })));
}

/// A validator written in JavaScript from the spec alone applies a settlement: its epoch 2 applies epoch 1's
/// auction (computed in JavaScript) exactly as the relayer computes it, with attested mints and a revaluation,
/// and passes the conservation audit; one unit more in a fill is refused.
#[test]
fn a_javascript_validator_applies_a_settlement_the_audit_accepts() {
    use alloy::primitives::{B256, U256};
    use myco_bridge::settle::conservation::{self, Context, Policy, Settlement};
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/make-settlement.mjs");
    let spot = U256::from(10u64).pow(U256::from(18));
    let out = Command::new("node")
        .arg(&script)
        .arg(dir.path())
        .args(["31337", &spot.to_string()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("node runs (npm ci installs its packages)");
    assert!(out.status.success(), "make-settlement.mjs failed: {}", String::from_utf8_lossy(&out.stderr));

    let keys = parse_keys(&std::fs::read_to_string(dir.path().join("validators.txt")).unwrap()).unwrap();
    let mut verifier = Verifier::new(31337, ValidatorSet::new(keys).unwrap(), None);
    let mut states = Vec::new();
    for epoch in 1..=2 {
        let batch = verifier.verify(&std::fs::read(dir.path().join(format!("{epoch}.batch"))).unwrap()).unwrap();
        verifier.accept(&batch);
        states.push(batch.state);
    }
    let labor = parse_keys(&std::fs::read_to_string(dir.path().join("labor.txt")).unwrap()).unwrap();
    let mut policy = Policy::default();
    policy.issuance.attesters = labor.into_iter().map(B256::from).collect();

    // The relayer's own computation of epoch 1's settlement: its auction at the spot, nothing left for the curve.
    let auction =
        myco_bridge::settle::cow::auction(&states[0].intents, &states[0].balances, states[0].timestamp, spot).unwrap();
    assert!(auction.net_sell.is_none() && auction.net_buy.is_none());
    let expected = conservation::expected_fills(&auction, None, None).unwrap();
    assert_eq!(expected.len(), 2);
    let first = conservation::audit(&states[0], &Context { chain_id: 31337, ..Default::default() }, &policy);
    assert!(first.is_ok(), "{first:?}");
    let context = Context {
        chain_id: 31337,
        previous: Some(std::sync::Arc::new(states[0].clone())),
        settlements: [(1, Settlement::Pending(expected.clone()))].into(),
        ..Default::default()
    };
    let terms = conservation::audit(&states[1], &context, &policy).expect("the JavaScript ledger balances");
    assert_eq!(terms.applied, [1]);
    assert!(terms.supply.unwrap().balanced() && terms.reserve.unwrap().balanced());

    let mut more = states[1].clone();
    more.ledger.as_mut().unwrap().settlements[0].fills[0].bought += U256::from(1);
    let refused = conservation::audit(&more, &context, &policy).unwrap_err();
    assert_eq!(refused.kind, conservation::ViolationKind::SettlementMismatch);
}
