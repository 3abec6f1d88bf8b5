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
// The child is reaped by `wait4` (which also reports its peak memory), not `Child::wait`.
#[allow(clippy::zombie_processes)]
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

/// An endpoint that answers 200 with fresh random bytes on every request, counting them.
async fn garbage_endpoint(
    stop: tokio_util::sync::CancellationToken,
) -> (alloy::transports::http::reqwest::Url, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let served = std::sync::Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    let app = axum::Router::new().route(
        "/v1/batches/{epoch}",
        axum::routing::get(move || {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let mut rng = myco_bridge::devnet::simulate::SplitMix64(n + 1);
            let body: Vec<u8> = (0..8 * 1024).map(|_| rng.next_u64() as u8).collect();
            async move { body }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap()).parse().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await }).await.unwrap();
    });
    (url, served)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_serving_fresh_garbage_backs_off_and_fills_no_disk() {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use myco_bridge::devnet::serve::BatchServer;
    use myco_bridge::devnet::simulate::EpochInputs;
    use myco_bridge::ingest::SourceConfig;
    use myco_bridge::store::{commitments, quarantine};

    let mut h = crate::common::Harness::start().await;
    let stop = tokio_util::sync::CancellationToken::new();
    let (garbage, served) = garbage_endpoint(stop.clone()).await;
    let honest = BatchServer::start("127.0.0.1:0".parse().unwrap(), stop.clone()).await.unwrap();
    let b1 = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    honest.publish(1, b1.bytes);
    h.source = SourceConfig::Http { endpoints: vec![garbage.clone(), honest.url()], timeout: Duration::from_secs(2) };
    let relayer = h.spawn_relayer(myco_bridge::devnet::RELAYER_ACCOUNT);
    crate::common::wait_until("epoch 1 is committed", || async {
        commitments::latest(&h.pool).await.unwrap() == Some(1)
    })
    .await;
    // Epoch 2 does not exist yet: for three seconds the relayer asks for it every 100 ms, and gets garbage.
    tokio::time::sleep(Duration::from_secs(3)).await;
    relayer.stop().await.unwrap();
    stop.cancel();

    let asked = served.load(Ordering::Relaxed);
    assert!(asked <= 10, "the garbage endpoint backs off like a failing one: asked {asked} times in over 3 s");
    let kept = quarantine::all(&h.pool).await.unwrap();
    let from_garbage: Vec<_> = kept.iter().filter(|q| q.source.starts_with(garbage.as_str())).collect();
    for epoch in [1, 2] {
        let n = from_garbage.iter().filter(|q| q.epoch == Some(epoch)).count() as i64;
        assert!(n <= quarantine::KEPT_PER_KIND, "epoch {epoch}: {n} inputs kept");
    }
    let repeats = quarantine::repeats(&h.pool).await.unwrap();
    assert_eq!(from_garbage.len() as u64 + repeats, asked, "every answer is kept or counted");
}
