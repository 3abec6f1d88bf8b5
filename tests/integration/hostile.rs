//! Certified input that tries to hurt the relayer: a document that claims millions of elements in a few bytes,
//! documents that make Automerge panic, a garbage endpoint. Each is refused with a bounded cost and recorded once.

use std::path::Path;
use std::process::{Command, Stdio};

use myco_bridge::devnet::simulate::Network;
use myco_bridge::ingest::Envelope;
use myco_bridge::ingest::certificate::{format_keys, sign};

/// A certified envelope for epoch 1 of `network`'s chain around `document`.
fn certified(network: &Network, document: &[u8]) -> Vec<u8> {
    let mut envelope = Envelope {
        chain_id: network.chain_id(),
        epoch: 1,
        parent: Default::default(),
        document: document.to_vec(),
        signatures: Vec::new(),
    };
    let digest = envelope.digest();
    envelope.signatures = network.validator_signing_keys().iter().map(|k| sign(k, &digest)).collect();
    envelope.encode()
}

/// Runs `verify-batch` on `file`: exit code, stdout, stderr and the child's peak resident memory in bytes.
fn verify_batch(file: &Path, keys: &Path, chain_id: u64) -> (Option<i32>, String, String, u64) {
    let dir = file.parent().unwrap();
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let child = Command::new(env!("CARGO_BIN_EXE_myco-bridge"))
        .arg("verify-batch")
        .arg(file)
        .arg("--validators-file")
        .arg(keys)
        .args(["--chain-id", &chain_id.to_string()])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in; the pid is our own child's, reaped exactly once here.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(reaped, child.id() as libc::pid_t, "wait4");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    // Linux reports ru_maxrss in kilobytes.
    (code, read(&out), read(&err), usage.ru_maxrss as u64 * 1024)
}

#[test]
fn a_certified_memory_bomb_is_refused_in_bounded_memory() {
    let network = Network::new(31337, 5, 4, 2);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("validators.txt");
    std::fs::write(&keys, format_keys(&network.validator_keys())).unwrap();
    // 192 bytes that claim four million list elements (about 2 GB once Automerge materialises them).
    let bomb = include_bytes!("../fixtures/bomb-4m-nulls.automerge");
    let file = dir.path().join("bomb.batch");
    std::fs::write(&file, certified(&network, bomb)).unwrap();
    let (code, stdout, stderr, peak) = verify_batch(&file, &keys, 31337);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("bad_document") && stdout.contains("claims over"), "{stdout}");
    assert!(peak < 256 << 20, "peak resident memory {} MiB", peak >> 20);
}

#[test]
fn documents_that_make_automerge_panic_are_rejected_without_a_panic_or_a_backtrace() {
    let network = Network::new(31337, 5, 4, 2);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("validators.txt");
    std::fs::write(&keys, format_keys(&network.validator_keys())).unwrap();
    for name in ["panic-change-graph", "panic-hexane-lib", "panic-hexane-raw"] {
        let document =
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.automerge")))
                .unwrap();
        let file = dir.path().join(format!("{name}.batch"));
        std::fs::write(&file, certified(&network, &document)).unwrap();
        let (code, stdout, stderr, _) = verify_batch(&file, &keys, 31337);
        assert_eq!(code, Some(1), "{name}: exit 1, not 101: {stdout}{stderr}");
        assert!(stdout.starts_with("REJECTED") && stdout.contains("(bad_document)"), "{name}: {stdout}");
        assert!(!stderr.contains("panicked"), "{name}: nothing on stderr: {stderr}");
    }
}
