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
            let mut rng = myco_bridge::rng::SplitMix64(n + 1);
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
    // The attesters read the honest endpoint (the count below is the relayer's alone); the relayer reads both.
    h.set_source(SourceConfig::Http { endpoints: vec![honest.url()], timeout: Duration::from_secs(2) }).await;
    h.source = SourceConfig::Http { endpoints: vec![garbage.clone(), honest.url()], timeout: Duration::from_secs(2) };
    let relayer = h.spawn_relayer(myco_bridge::devnet::RELAYER_ACCOUNT);
    crate::common::wait_until("epoch 1 is committed", || async {
        commitments::latest(&h.pool).await.unwrap().map(|e| e.0) == Some(1)
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

/// A hand-made state at the largest values a batch may carry: two accounts holding a third of the limit in
/// each token, intents selling all of it for a single base unit, withdrawals of a tenth, the reserve at the
/// limit, the redemption level at a tenth of it.
fn extreme_state(epoch: u64, parent: alloy::primitives::B256, chain_id: u64) -> myco_bridge::ingest::BatchState {
    use alloy::primitives::{Address, B256, U256};
    use myco_bridge::ingest::MAX_AMOUNT;
    use myco_bridge::ingest::document::{ReserveState, Vault, WithdrawalRequest};
    use myco_bridge::ingest::intent::{Intent, Token};
    let keys: Vec<ed25519_dalek::SigningKey> =
        (1..=2u8).map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32])).collect();
    let accounts: Vec<B256> = keys.iter().map(|k| B256::from(k.verifying_key().to_bytes())).collect();
    let third = MAX_AMOUNT / U256::from(3);
    let balances =
        [Token::Myco, Token::Usdc].into_iter().map(|t| (t, accounts.iter().map(|a| (*a, third)).collect())).collect();
    let intents = keys
        .iter()
        .zip(&accounts)
        .enumerate()
        .map(|(i, (key, maker))| {
            let (sell_token, buy_token) = if i == 0 { (Token::Myco, Token::Usdc) } else { (Token::Usdc, Token::Myco) };
            let mut intent = Intent {
                id: B256::from(U256::from(epoch * 10 + i as u64)),
                maker: *maker,
                sell_token,
                buy_token,
                sell_amount: third,
                min_buy: U256::from(1),
                valid_until: u64::MAX,
                partial: true,
                signature: [0; 64],
            };
            intent.sign(chain_id, key);
            intent
        })
        .collect();
    let withdrawals = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| WithdrawalRequest {
            claim_id: U256::from(epoch * 10 + i as u64),
            account: *a,
            amount: third / U256::from(10),
            recipient: Address::repeat_byte(i as u8 + 1),
            reissues: None,
        })
        .collect();
    let supply = third * U256::from(2);
    myco_bridge::ingest::BatchState {
        epoch,
        parent,
        timestamp: 1_750_000_000 + epoch,
        balances,
        intents,
        flows: Default::default(),
        deposits: Vec::new(),
        withdrawals,
        reserve: ReserveState {
            total_supply: supply,
            total_reserve: MAX_AMOUNT / U256::from(2),
            flow_pressure: MAX_AMOUNT / U256::from(10),
            redemption_level: MAX_AMOUNT / U256::from(10),
            redemption_updated: 1_700_000_000,
            vaults: vec![Vault {
                id: "all".into(),
                value: MAX_AMOUNT / U256::from(2),
                target_weight: U256::from(10u64).pow(U256::from(18)),
            }],
        },
        ledger: None,
    }
}

/// A certified envelope around `state` for `network`'s validators.
fn certify(network: &Network, state: &myco_bridge::ingest::BatchState) -> (Vec<u8>, alloy::primitives::B256) {
    let mut envelope = Envelope {
        chain_id: network.chain_id(),
        epoch: state.epoch,
        parent: state.parent,
        document: state.to_automerge(),
        signatures: Vec::new(),
    };
    let digest = envelope.digest();
    envelope.signatures = network.validator_signing_keys().iter().map(|k| sign(k, &digest)).collect();
    (envelope.encode(), digest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_at_the_largest_values_is_committed_and_one_past_them_is_refused_without_a_halt() {
    use alloy::primitives::{B256, U256};
    use myco_bridge::ingest::folder::FolderSource;
    use myco_bridge::store::{commitments, quarantine};

    let h = crate::common::Harness::start().await;
    let chain_id = h.devnet.chain_id();
    let source = FolderSource::new(&h.batch_dir);
    let relayer = h.spawn_relayer(myco_bridge::devnet::RELAYER_ACCOUNT);
    let (b1, d1) = certify(&h.network, &extreme_state(1, B256::ZERO, chain_id));
    source.publish(1, &b1).await.unwrap();
    crate::common::wait_until("the extreme epoch 1 is committed", || async {
        commitments::latest(&h.pool).await.unwrap().map(|e| e.0) == Some(1)
    })
    .await;

    // One maker-signed intent selling 2^256 − 1: refused at ingest with its reason; the relayer keeps going.
    let mut over = extreme_state(2, d1, chain_id);
    over.intents[1].sell_amount = U256::MAX;
    over.intents[1].sign(chain_id, &ed25519_dalek::SigningKey::from_bytes(&[2; 32]));
    source.publish(2, &certify(&h.network, &over).0).await.unwrap();
    crate::common::wait_until("the oversized batch is quarantined", || async {
        quarantine::all(&h.pool).await.unwrap().iter().any(|q| q.reason == "inconsistent")
    })
    .await;
    assert!(!relayer.task.is_finished(), "an amount past the limit is refused, not a halt");
    let (b2, _) = certify(&h.network, &extreme_state(2, d1, chain_id));
    source.publish(2, &b2).await.unwrap();
    crate::common::wait_until("epoch 2 is committed", || async {
        commitments::latest(&h.pool).await.unwrap().map(|e| e.0) == Some(2)
    })
    .await;
    relayer.stop().await.expect("no halt on any accepted input");
}

/// `[source] max_batch_bytes` bounds a batch before anything reads it: the folder source refuses a file one byte
/// over it without reading more than its first bytes, and the verifier refuses bytes over it; at the limit, both
/// take it. A limit raised above the 64 MiB default is what lets the biggest epochs in.
#[tokio::test]
async fn the_configured_batch_size_is_enforced_by_the_source_and_the_verifier() {
    use myco_bridge::devnet::simulate::EpochInputs;
    use myco_bridge::ingest::document::footprint::Limits;
    use myco_bridge::ingest::folder::FolderSource;
    use myco_bridge::ingest::{Error, ValidatorSet, Verifier};

    let mut network = Network::new(99, 5, 4, 4);
    let batch = network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    let size = batch.bytes.len() as u64;
    let dir = tempfile::tempdir().unwrap();
    FolderSource::new(dir.path()).publish(1, &batch.bytes).await.unwrap();

    let refused = FolderSource::new(dir.path()).within(size - 1).fetch_candidates(1).await;
    assert!(refused.candidates.is_empty());
    assert!(matches!(refused.refused[0].error, Error::Oversized { limit, .. } if limit as u64 == size - 1));
    let taken = FolderSource::new(dir.path()).within(size).fetch_candidates(1).await;
    assert_eq!(taken.candidates[0].bytes, batch.bytes);

    let verifier = |max_batch_bytes| {
        let limits = Limits { max_batch_bytes, ..Default::default() };
        Verifier::new(99, ValidatorSet::new(network.validator_keys()).unwrap(), None).with_limits(limits)
    };
    assert!(matches!(verifier(size - 1).verify(&batch.bytes), Err(Error::Oversized { .. })));
    verifier(size).verify(&batch.bytes).expect("a batch at the limit verifies");
}

/// A day of hostile endpoints in seconds: three endpoints each serve fresh garbage for every epoch of a day
/// (2,880 epochs of 30 s), against a budget the day overflows many times over. The quarantine never holds more
/// than its budget per source or overall, keeps each source's newest, never evicts a certified input, and counts
/// every input it took out (kept + evicted = served). Then one endpoint serves more than four inputs an epoch: its
/// repeat counters stay bounded too, folded into one count, and every rejection is still counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_hostile_endpoints_keeps_the_quarantine_within_its_budget() {
    use myco_bridge::store::quarantine::{self, Budget, Recorded, Rejected};

    let dir = tempfile::tempdir().unwrap();
    let pool = myco_bridge::store::connect(&crate::common::database_url(dir.path()).await).await.unwrap();
    let budget = Budget { per_source: 96 << 10, overall: 192 << 10, repeat_rows_per_source: 16 };
    let endpoints = ["http://hostile-a:8080", "http://hostile-b:8080", "https://hostile-c"];
    const DETAIL: &str = "not a certified batch: bad_envelope";
    let detail = DETAIL;
    let input = |source: usize, epoch: u64, n: u8| {
        let mut raw = vec![n; 2048];
        raw[..8].copy_from_slice(&epoch.to_be_bytes());
        raw[8] = source as u8;
        raw
    };
    fn garbage<'a>(source: &'a str, epoch: u64, raw: &'a [u8]) -> Rejected<'a> {
        Rejected { source, epoch: Some(epoch), reason: "bad_envelope", detail: DETAIL, raw, certified: false }
    }
    // Evidence against the validators from the first endpoint, before the flood: never evicted.
    let evidence = vec![0xee; 4096];
    let certified = Rejected {
        source: "http://hostile-a:8080/v1/batches/1",
        epoch: Some(1),
        reason: "bad_state",
        detail,
        raw: &evidence,
        certified: true,
    };
    assert_eq!(quarantine::record(&pool, &certified, &budget).await.unwrap(), Recorded::Kept);

    let day = 2_880u64;
    for epoch in 1..=day {
        for (i, endpoint) in endpoints.iter().enumerate() {
            let origin = format!("{endpoint}/v1/batches/{epoch}");
            let raw = input(i, epoch, 1);
            let r = garbage(&origin, epoch, &raw);
            assert_eq!(quarantine::record(&pool, &r, &budget).await.unwrap(), Recorded::Kept, "epoch {epoch}");
        }
    }
    let kept = quarantine::all(&pool).await.unwrap();
    let charged = |e: &quarantine::Entry| (e.raw.len() + e.detail.len()) as i64 + quarantine::ROW_OVERHEAD_BYTES;
    let total: i64 = kept.iter().map(charged).sum();
    assert!(total <= budget.overall, "{total} bytes kept, budget {}", budget.overall);
    assert_eq!(quarantine::kept_bytes(&pool).await.unwrap() as i64, total, "the running total is the rows' sum");
    for endpoint in endpoints {
        let mine: Vec<_> = kept.iter().filter(|e| e.source.starts_with(endpoint)).collect();
        let bytes: i64 = mine.iter().map(|e| charged(e)).sum();
        assert!(bytes <= budget.per_source, "{endpoint}: {bytes} bytes");
        assert!(!mine.is_empty(), "{endpoint}: something is kept");
        assert!(
            mine.iter().any(|e| e.epoch == Some(day)),
            "{endpoint}: the newest input is kept (eviction takes the oldest)"
        );
    }
    assert!(kept.iter().any(|e| e.raw == evidence), "certified evidence is never evicted");
    let dropped = quarantine::dropped_totals(&pool).await.unwrap();
    let served = 1 + day * endpoints.len() as u64;
    assert_eq!(kept.len() as u64 + dropped.evicted, served, "every input is kept or counted as evicted");
    let by_reason: u64 = quarantine::rejected_by_reason(&pool).await.unwrap().iter().map(|r| r.1).sum();
    assert_eq!(by_reason, served, "the rejection counter never goes down");

    // A certified input larger than a source's share is still kept (it is held to the overall bound alone).
    let large = vec![0xcc; (budget.per_source + 1) as usize];
    let r = Rejected {
        source: "http://hostile-a:8080/v1/batches/2",
        epoch: Some(2),
        reason: "bad_state",
        detail,
        raw: &large,
        certified: true,
    };
    assert_eq!(quarantine::record(&pool, &r, &budget).await.unwrap(), Recorded::Kept);
    assert!(quarantine::kept_bytes(&pool).await.unwrap() as i64 <= budget.overall);
    // Five inputs an epoch from one endpoint: four are kept, the fifth counted; counters stay bounded.
    let before = quarantine::repeats(&pool).await.unwrap();
    let epochs = 100u64;
    for epoch in day + 1..=day + epochs {
        let origin = format!("{}/v1/batches/{epoch}", endpoints[0]);
        for n in 1..=5u8 {
            let raw = input(0, epoch, n);
            let r = garbage(&origin, epoch, &raw);
            quarantine::record(&pool, &r, &budget).await.unwrap();
        }
    }
    assert_eq!(quarantine::repeats(&pool).await.unwrap() - before, epochs, "every repeat is counted");
    assert!(quarantine::dropped_totals(&pool).await.unwrap().folded_repeats >= epochs - 16, "older counters folded");
    let counters: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM quarantine_repeats").fetch_one(&pool).await.unwrap();
    assert!(counters <= budget.repeat_rows_per_source, "{counters} repeat rows");
}
