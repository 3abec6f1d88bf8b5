//! The relayer end to end, printed as tables: per epoch size, the time of each stage (ingest, settle, store, commit,
//! net orders) and the process's peak memory while the relayer works, on SQLite (and PostgreSQL under
//! `scripts/with-postgres`), against a local anvil (automine) with the devnet's four attesters.
//!
//! Each size is a fresh devnet and store. The batches are made first by the simulator (`simulate --exact`: every
//! epoch exactly that many balances, intents, withdrawal claims and deposits; version 1) and the attesters sign
//! every epoch before the relayer starts, so the relayer's figures are its own work: reading and verifying each
//! batch, settling it (claims, state root, outputs), storing it, committing the root with three attesters'
//! signatures collected over HTTP, and planning and executing the epoch's net orders on the curve.
//!
//! Stage times come from the relayer's own spans (`ingest`, `settle`, `store`, `commit`, `net_orders`), summed
//! over the epochs and divided by them. Peak memory is the process's resident high-water mark, reset just before
//! the relayer starts (`/proc/self/clear_refs`), so it counts the relayer and whatever the idle attesters hold;
//! the resident memory at that moment is printed beside it (the difference is what the relayer added; memory the
//! attesters freed but the allocator kept may be reused by the relayer without showing).
//!
//! Run: `cargo bench --features devnet --bench e2e` (`E2E_SIZES=small,10k` for some sizes only; the sizes are
//! small, 10k, 100k, 1m). Batches are kept in `target/e2e-batches/` between runs.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::wait_until;
use myco_bridge::chain::bindings::StateCommitment;
use myco_bridge::devnet::attesters;
use myco_bridge::devnet::simulate::{EpochInputs, Network, Sizes};
use myco_bridge::devnet::{ADMIN_ACCOUNT, Devnet, RELAYER_ACCOUNT};
use myco_bridge::ingest::document::footprint::Limits;
use myco_bridge::ingest::{SourceConfig, ValidatorSet};
use myco_bridge::relayer::Relayer;
use myco_bridge::store;
use tokio_util::sync::CancellationToken;
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// The relayer's stages, in the order an epoch passes them.
const STAGES: [&str; 5] = ["ingest", "settle", "store", "commit", "net_orders"];

/// One size to measure: its name, the epoch's size, and how many epochs.
struct Case {
    name: &'static str,
    sizes: Sizes,
    epochs: u64,
}

fn cases() -> Vec<Case> {
    let size = |balances, intents, withdrawals, deposits| Sizes { balances, intents, withdrawals, deposits };
    let all = vec![
        Case { name: "small", sizes: size(100, 10, 10, 2), epochs: 200 },
        Case { name: "10k", sizes: size(10_000, 1_000, 1_000, 100), epochs: 5 },
        Case { name: "100k", sizes: size(100_000, 10_000, 10_000, 1_000), epochs: 3 },
        Case { name: "1m", sizes: size(1_000_000, 100_000, 100_000, 10_000), epochs: 2 },
    ];
    match std::env::var("E2E_SIZES") {
        Ok(names) => all.into_iter().filter(|c| names.split(',').any(|n| n == c.name)).collect(),
        Err(_) => all,
    }
}

/// Wall time of each stage's spans, summed by name; with `E2E_PROFILE` set, of every span of the relayer's (the
/// breakdown of a stage: `audit`, `collect`, `submit`, `send`, ...).
#[derive(Clone, Default)]
struct StageTimes(Arc<Mutex<BTreeMap<&'static str, Duration>>>, bool);

impl StageTimes {
    fn take(&self) -> BTreeMap<&'static str, Duration> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for StageTimes {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if meta.target().starts_with("myco_bridge") && (self.1 || STAGES.contains(&meta.name())) {
            ctx.span(id).expect("a new span").extensions_mut().insert(Instant::now());
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let span = ctx.span(&id).expect("a closing span");
        if let Some(started) = span.extensions().get::<Instant>() {
            *self.0.lock().unwrap().entry(span.metadata().name()).or_default() += started.elapsed();
        }
    }
}

/// `target/e2e-batches/<case>`: made by the simulator unless already there.
fn batches(case: &Case, chain_id: u64) -> (PathBuf, ValidatorSet) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-batches").join(case.name);
    let network = || Network::new(chain_id, 17, 4, 0);
    let validators = ValidatorSet::new(network().validator_keys()).unwrap();
    if dir.join(format!("{}.batch", case.epochs)).exists() {
        return (dir, validators);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let mut network = network();
    for epoch in 1..=case.epochs {
        let inputs = EpochInputs { timestamp: 1_700_000_000 + epoch, exact: Some(case.sizes), ..Default::default() };
        let produced = network.next_batch(&inputs);
        std::fs::write(dir.join(format!("{epoch}.batch")), &produced.bytes).unwrap();
    }
    eprintln!("{}: made {} batches in {:.1} s", case.name, case.epochs, started.elapsed().as_secs_f64());
    (dir, validators)
}

/// What one case measured.
struct Measured {
    total: Duration,
    stages: BTreeMap<&'static str, Duration>,
    peak_rss: u64,
    /// Resident memory as the relayer started: the idle attesters' and the bench's.
    start_rss: u64,
    batch_bytes: u64,
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or("");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

async fn run(case: &Case, database: &str, times: &StageTimes) -> Measured {
    let devnet = Devnet::start(86_400, &[]).await.expect("devnet");
    let (dir, validators) = batches(case, devnet.chain_id());
    let source = SourceConfig::Folder(dir.clone());
    // The largest epochs claim more than the default document limits: an operator expecting them raises these.
    let limits =
        Limits { max_batch_bytes: 256 << 20, max_ops: 8_000_000, max_column_bytes: 512 << 20, ..Limits::default() };
    let reader = myco_bridge::reader::Config {
        chain_id: devnet.chain_id(),
        validators: validators.clone(),
        source: source.clone(),
        document_limits: limits,
        params: Default::default(),
        escrow: devnet.deployment.escrow,
    };
    // Version 1 batches carry no ledger, so the attesters sign without the conservation audit (which would
    // also make each wait for the chain to execute the epoch before).
    let attester_config = myco_bridge::attest::service::Config {
        reader,
        domain: devnet.attestation_domain(),
        poll_interval: Duration::from_millis(20),
        ledger: None,
    };
    let mut attesters = Vec::new();
    for key in attesters::keys(attesters::ATTESTER_SEED, attesters::ATTESTERS) {
        let attester = attesters::RunningAttester::start(key, attester_config.clone(), "sqlite::memory:").await;
        attesters.push(attester.expect("attester"));
    }
    let client = reqwest::Client::new();
    for a in &attesters {
        let url = format!("{}/v1/attestations/{}", a.url, case.epochs);
        wait_until("every attester signed the last epoch", Duration::from_secs(1_800), || async {
            client.get(&url).send().await.is_ok_and(|r| r.status().is_success())
        })
        .await;
    }
    let mut config = devnet.relayer_config(validators, source);
    config.attestation_endpoints = attesters.iter().map(|a| a.url.clone()).collect();
    config.attestation_timeout = Duration::from_secs(10);
    config.poll_interval = Duration::from_millis(5);
    config.tx.poll_interval = Duration::from_millis(5);
    config.document_limits = limits;
    let pool = store::connect(database).await.unwrap();
    let sc = StateCommitment::new(devnet.deployment.state_commitment, devnet.provider(ADMIN_ACCOUNT));

    times.take();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let start_rss = status_kib("VmRSS:") * 1024;
    let started = Instant::now();
    let shutdown = CancellationToken::new();
    let relayer =
        tokio::spawn(Relayer::new(pool.clone(), devnet.provider(RELAYER_ACCOUNT), config).run(shutdown.clone()));
    wait_until("the relayer settled the last epoch", Duration::from_secs(1_800), || async {
        let settled = store::curve::get(&pool, myco_bridge::ids::Epoch(case.epochs)).await.unwrap();
        settled.is_some_and(|r| r.status == store::curve::Status::Executed)
    })
    .await;
    let total = started.elapsed();
    let peak_rss = status_kib("VmHWM:") * 1024;
    shutdown.cancel();
    relayer.await.unwrap().unwrap();
    assert_eq!(sc.latestEpoch().call().await.unwrap(), case.epochs);
    for a in attesters {
        a.stop().await;
    }
    let batch_bytes = std::fs::metadata(dir.join("1.batch")).map(|m| m.len()).unwrap_or(0);
    Measured { total, stages: times.take(), peak_rss, start_rss, batch_bytes }
}

/// A fresh database per case: a file for SQLite, a new database on the PostgreSQL server for PostgreSQL.
async fn databases(case: &Case, tmp: &Path) -> Vec<(&'static str, String)> {
    let mut out = vec![("SQLite", format!("sqlite://{}", tmp.join(format!("{}.db", case.name)).display()))];
    if let Ok(admin_url) = std::env::var("MYCO_TEST_POSTGRES") {
        use sqlx::Connection;
        let name = format!("myco_e2e_{}", case.name);
        let (drop, create) = (format!("DROP DATABASE IF EXISTS {name}"), format!("CREATE DATABASE {name}"));
        let mut conn = sqlx::AnyConnection::connect(&admin_url).await.expect("Postgres admin connection");
        sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut conn).await.unwrap();
        out.push(("PostgreSQL", format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0)));
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    sqlx::any::install_default_drivers();
    let profile = std::env::var_os("E2E_PROFILE").is_some();
    let times = StageTimes(Arc::default(), profile);
    let filter = tracing_subscriber::filter::Targets::new().with_target("myco_bridge", tracing::Level::INFO);
    let subscriber = tracing_subscriber::registry().with(tracing_subscriber::Layer::with_filter(times.clone(), filter));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let tmp = tempfile::tempdir().unwrap();

    println!("relayer end to end (anvil, automine; 4 attesters, 3 signatures per commit; per epoch, mean)");
    println!();
    println!(
        "| epoch (balances / intents / claims / deposits) | store | batch | epochs | ingest | settle | store | commit | net orders | epoch | epochs/s | peak memory | of it before the relayer |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for case in cases() {
        for (db, url) in databases(&case, tmp.path()).await {
            let m = run(&case, &url, &times).await;
            let per = |d: Duration| d.as_secs_f64() / case.epochs as f64;
            let ms = |d: Duration| format!("{:.1} ms", per(d) * 1e3);
            let stage = |name| ms(m.stages.get(name).copied().unwrap_or_default());
            let s = case.sizes;
            println!(
                "| {} / {} / {} / {} | {db} | {:.1} MB | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} MiB | {} MiB |",
                s.balances,
                s.intents,
                s.withdrawals,
                s.deposits,
                m.batch_bytes as f64 / 1e6,
                case.epochs,
                stage("ingest"),
                stage("settle"),
                stage("store"),
                stage("commit"),
                stage("net_orders"),
                ms(m.total),
                case.epochs as f64 / m.total.as_secs_f64(),
                m.peak_rss >> 20,
                m.start_rss >> 20,
            );
            if profile {
                let mut spans: Vec<_> = m.stages.iter().collect();
                spans.sort_by(|a, b| b.1.cmp(a.1));
                for (name, total) in spans {
                    eprintln!("  {name}: {} an epoch", ms(*total));
                }
            }
        }
    }
}
