//! A batch built and signed by JavaScript (`@automerge/automerge`, `@noble/curves`) from the spec alone is
//! accepted; the same batch with one signature byte flipped is not.

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
