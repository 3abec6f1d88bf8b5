//! Chain-side figures against a local anvil (automine), printed as a table:
//!
//! - per-epoch commit latency of the relayer's submitter (exactly-once check, simulation, send through the
//!   transaction manager, receipt), with the attestations at hand and collected from four attester endpoints,
//!   next to `cast send` of the same `commit` call, in the same run;
//! - watcher ingest of 10,000 escrow deposits (one `eth_getLogs` range, block hashes, one store transaction),
//!   in events per second.
//!
//! Run: `cargo bench --bench chain` (and `scripts/with-postgres cargo bench --bench chain` for a PostgreSQL row).

use std::process::Command;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256, keccak256};
use myco_bridge::attest::collect::Collector;
use myco_bridge::attest::service::{self, Attester};
use myco_bridge::chain::RootCommit;
use myco_bridge::chain::bindings::harness::DepositBatcher;
use myco_bridge::chain::bindings::{TestUSDC, USDCEscrow};
use myco_bridge::chain::{Submitter, TxManager, TxPolicy, send_call};
use myco_bridge::devnet::{ADMIN_ACCOUNT, Devnet, RELAYER_ACCOUNT, attesters};
use myco_bridge::ids::Epoch;
use myco_bridge::store;
use myco_bridge::watcher::Watcher;

const EPOCHS: u64 = 30;
const DEPOSITS: u64 = 10_000;
const DEPOSITS_PER_TX: u64 = 200;

fn root(tag: &str, epoch: u64) -> B256 {
    keccak256(format!("{tag}-{epoch}"))
}

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    (mean, samples[samples.len() / 2], samples[samples.len() * 9 / 10])
}

/// Reads every escrow event into `pool` from the watcher's start; returns the polls and the time it took.
async fn ingest(watcher: &Watcher, pool: &store::Pool) -> (u32, Duration) {
    let start = Instant::now();
    let mut polls = 1;
    while !watcher.poll(pool).await.expect("poll").caught_up {
        polls += 1;
    }
    let time = start.elapsed();
    assert_eq!(store::escrow::deposits(pool).await.unwrap().len() as u64, DEPOSITS);
    (polls, time)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let devnet = Devnet::start(600, &[]).await.expect("devnet");
    let dir = tempfile::tempdir().unwrap();
    let pool = store::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.unwrap();
    let d = devnet.deployment;

    // The relayer's submitter, epochs 1..=EPOCHS, with a quorum's signatures at hand (signed in-process).
    let relayer = devnet.signer(RELAYER_ACCOUNT);
    let provider = devnet.provider(RELAYER_ACCOUNT);
    let policy = TxPolicy { poll_interval: Duration::from_millis(5), ..Default::default() };
    let txmgr = TxManager::new(provider.clone(), relayer.address(), pool.clone(), policy);
    let submitter = Submitter::new(provider, d.state_commitment, txmgr);
    let domain = devnet.attestation_domain();
    let commit_of = |epoch: u64, parent: B256| RootCommit {
        epoch: Epoch(epoch),
        digest: root("digest", epoch),
        state_root: root("root", epoch),
        parent_root: parent,
        timestamp: epoch,
        figures: Default::default(),
    };
    let mut parent = B256::ZERO;
    let mut ours = Vec::new();
    for epoch in 1..=EPOCHS {
        let commit = commit_of(epoch, parent);
        let signatures = attesters::quorum_signatures(domain, &commit);
        let start = Instant::now();
        // The signers are only named when one must be dropped, and all of these are sent.
        let attested: Vec<_> = signatures.into_iter().map(|s| (alloy::primitives::Address::ZERO, s)).collect();
        submitter.submit(&commit, &attested, attested.len()).await.expect("commit");
        ours.push(start.elapsed());
        parent = commit.state_root;
    }

    // The same, collecting the signatures from the four attesters' endpoints first (each has signed the epoch,
    // as it would have by the time the relayer asks): epochs EPOCHS+1..=2·EPOCHS.
    let network = myco_bridge::devnet::simulate::Network::new(devnet.chain_id(), 11, 4, 4);
    let reader = myco_bridge::reader::Config {
        chain_id: devnet.chain_id(),
        validators: myco_bridge::ingest::ValidatorSet::new(network.validator_keys()).unwrap(),
        source: myco_bridge::ingest::SourceConfig::Folder(dir.path().join("unused")),
        document_limits: Default::default(),
        params: Default::default(),
        escrow: d.escrow,
    };
    // The bench signs directly (no reader loop), so the conservation audit is not part of what it measures.
    let config = service::Config { reader, domain, poll_interval: Duration::from_millis(50), ledger: None };
    let mut served = Vec::new();
    let mut endpoints = Vec::new();
    for key in attesters::keys(attesters::ATTESTER_SEED, attesters::ATTESTERS) {
        let attester = Attester::new(store::connect("sqlite::memory:").await.unwrap(), key, config.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        endpoints.push(format!("http://{}", listener.local_addr().unwrap()));
        let router = service::router(&attester);
        tokio::spawn(async move { axum::serve(listener, router).await });
        served.push(attester);
    }
    let collector = Collector::new(endpoints, domain, Duration::from_secs(2)).unwrap();
    let quorum = submitter.quorum().await.unwrap();
    let mut collected = Vec::new();
    for epoch in EPOCHS + 1..=2 * EPOCHS {
        let commit = commit_of(epoch, parent);
        for attester in &served {
            attester.sign(&commit).await.unwrap();
        }
        let start = Instant::now();
        let signatures = collector.collect(&pool, &commit, &quorum).await.expect("a quorum");
        submitter.submit(&commit, &signatures, quorum.threshold).await.expect("commit");
        collected.push(start.elapsed());
        parent = commit.state_root;
    }

    // `cast send` of the same call with the same signatures, epochs 2·EPOCHS+1..=3·EPOCHS, from the same key.
    let key = format!("0x{}", alloy::hex::encode(relayer.to_bytes()));
    let mut cast = Vec::new();
    for epoch in 2 * EPOCHS + 1..=3 * EPOCHS {
        let commit = commit_of(epoch, parent);
        let signatures: Vec<String> =
            attesters::quorum_signatures(domain, &commit).iter().map(ToString::to_string).collect();
        let start = Instant::now();
        let out = Command::new("node_modules/.bin/cast")
            .args(["send", "--private-key", &key, "--rpc-url", devnet.url().as_str()])
            .arg(d.state_commitment.to_string())
            .arg("commit(uint64,bytes32,bytes32,bytes32,(uint256,uint256,uint256,uint64),bytes[])")
            .args([epoch.to_string(), parent.to_string(), commit.state_root.to_string(), commit.digest.to_string()])
            .arg(format!("(0,0,0,{epoch})"))
            .arg(format!("[{}]", signatures.join(",")))
            .output()
            .expect("cast runs");
        assert!(out.status.success(), "cast send failed: {}", String::from_utf8_lossy(&out.stderr));
        cast.push(start.elapsed());
        parent = commit.state_root;
    }

    // 10,000 deposits, 200 per transaction, then the watcher reads them all.
    let admin = devnet.provider(ADMIN_ACCOUNT);
    let batcher = DepositBatcher::deploy(&admin).await.expect("deploy batcher");
    let amount = U256::from(1_000_000u64);
    let usdc = TestUSDC::new(d.usdc, &admin);
    send_call("mint", usdc.mint(*batcher.address(), amount * U256::from(DEPOSITS))).await.unwrap();
    for _ in 0..DEPOSITS / DEPOSITS_PER_TX {
        let call = batcher
            .depositMany(d.escrow, d.usdc, U256::from(DEPOSITS_PER_TX), amount, B256::repeat_byte(7))
            .gas(20_000_000);
        send_call("depositMany", call).await.expect("deposits");
    }
    let next_id = USDCEscrow::new(d.escrow, &admin).nextDepositId().call().await.unwrap();
    assert_eq!(next_id, DEPOSITS + 1);
    // The node's share: the same logs fetched alone.
    let filter = alloy::rpc::types::Filter::new().address(d.escrow).from_block(d.start_block);
    let start = Instant::now();
    let logs = alloy::providers::Provider::get_logs(&admin, &filter).await.unwrap();
    let fetch = start.elapsed();
    assert!(logs.len() as u64 >= DEPOSITS);
    let watcher = Watcher::new(admin.clone(), d.escrow, d.start_block, 0, 500);
    let mut ingests = vec![("SQLite", ingest(&watcher, &pool).await)];
    // With a PostgreSQL admin URL in MYCO_TEST_POSTGRES (`scripts/with-postgres cargo bench --bench chain`), the
    // same ingest into a fresh Postgres database.
    if let Ok(admin_url) = std::env::var("MYCO_TEST_POSTGRES") {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::AnyConnection::connect(&admin_url).await.expect("Postgres admin connection");
        conn.execute("DROP DATABASE IF EXISTS myco_bench").await.unwrap();
        conn.execute("CREATE DATABASE myco_bench").await.unwrap();
        let url = format!("{}/myco_bench", admin_url.rsplit_once('/').unwrap().0);
        let pg = store::connect(&url).await.expect("Postgres store");
        ingests.push(("PostgreSQL", ingest(&watcher, &pg).await));
    }

    let (our_mean, our_median, our_p90) = stats(ours);
    let (col_mean, col_median, col_p90) = stats(collected);
    let (cast_mean, cast_median, cast_p90) = stats(cast);
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    println!("chain benchmarks (anvil, automine, {EPOCHS} commits each)");
    println!();
    println!("| commit per epoch | mean | median | p90 |");
    println!("|---|---|---|---|");
    println!("| myco-bridge submitter | {} | {} | {} |", ms(our_mean), ms(our_median), ms(our_p90));
    println!(
        "| collecting 3 of 4 attestations over HTTP, then the submitter | {} | {} | {} |",
        ms(col_mean),
        ms(col_median),
        ms(col_p90)
    );
    println!("| `cast send` (process per call) | {} | {} | {} |", ms(cast_mean), ms(cast_median), ms(cast_p90));
    println!(
        "| ratio (submitter / cast) | {:.2} | {:.2} | {:.2} |",
        our_mean.as_secs_f64() / cast_mean.as_secs_f64(),
        our_median.as_secs_f64() / cast_median.as_secs_f64(),
        our_p90.as_secs_f64() / cast_p90.as_secs_f64()
    );
    println!();
    println!("| watcher ingest | events | polls | time | events/s |");
    println!("|---|---|---|---|---|");
    for (backend, (polls, time)) in ingests {
        println!(
            "| {DEPOSITS} deposits, {backend} | {DEPOSITS} | {polls} | {} | {:.0} |",
            ms(time),
            DEPOSITS as f64 / time.as_secs_f64()
        );
    }
    println!(
        "| (the same logs, `eth_getLogs` alone) | {} | 1 | {} | {:.0} |",
        logs.len(),
        ms(fetch),
        logs.len() as f64 / fetch.as_secs_f64()
    );
}
