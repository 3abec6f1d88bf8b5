//! Costs that must stay flat as history grows, printed as a table: per store size (empty, 100k and 1M stored
//! escrow events, with the claims, credits, batches, commitments and transaction attempts that go with them), the
//! store's part of a `/metrics` scrape (`views::totals`), of a `/ready` probe, of the escrow side's "did anything
//! move" check, and of a reconciliation pass: with nothing new, after one more epoch and its events, and a pass
//! from the start over everything (what every pass cost before reconciliation kept cursors).
//!
//! Each store is built directly through the store's own writes (no chain): per epoch, a batch with 500 claims and
//! 500 credits, its commitment and two mined transaction attempts, and a watcher range with its 500 deposits and
//! 450 withdrawals paying the claims at their quoted rate (every tenth claim is never withdrawn, so unpaid claims
//! pile up as they do when people do not withdraw); every event reconciles. Times are medians of repeated runs on
//! a warm store. "owed" is what the conservation audit reads before each commitment: what the unpaid claims of
//! earlier epochs owe, as the store keeps it, and priced claim by claim (what every commitment did before).
//!
//! Run: `cargo bench --bench history` (`HISTORY_SIZES=empty,100k` for some sizes only), and
//! `scripts/with-postgres cargo bench --bench history` for PostgreSQL rows.

use std::future::Future;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use myco_bridge::chain::attempts::{AttemptStatus, NewAttempt};
use myco_bridge::ids::{Epoch, Purpose};
use myco_bridge::ingest::document::{CreditedDeposit, WithdrawalRequest};
use myco_bridge::ingest::intent::Token;
use myco_bridge::ingest::{Batch, BatchState};
use myco_bridge::reader::conservation::LedgerAudit;
use myco_bridge::settle::outputs::Redemptions;
use myco_bridge::settle::{ClaimDomain, EpochSettlement, pamm};
use myco_bridge::store::escrow::{Deposit, EventOrigin, Range, Withdrawal};
use myco_bridge::store::{self, Pool, attempts, batches, claims, commitments, credits, escrow, views};

const WAD: u64 = 1_000_000_000_000_000_000;
/// Claims (and withdrawals) and credits (and deposits) per epoch.
const PER_EPOCH: u64 = 500;
/// Repetitions of each timed read, after as many untimed ones to warm the caches.
const RUNS: usize = 101;

struct Case {
    name: &'static str,
    epochs: u64,
}

fn cases() -> Vec<Case> {
    let all =
        vec![Case { name: "empty", epochs: 0 }, Case { name: "100k", epochs: 100 }, Case { name: "1m", epochs: 1_000 }];
    match std::env::var("HISTORY_SIZES") {
        Ok(names) => all.into_iter().filter(|c| names.split(',').any(|n| n == c.name)).collect(),
        Err(_) => all,
    }
}

/// Stores epoch `epoch`: its batch, claims, credits, commitment and attempts, and the watcher range paying and
/// funding it.
async fn add_epoch(pool: &Pool, epoch: u64) {
    let first = (epoch - 1) * PER_EPOCH + 1;
    let ids = first..first + PER_EPOCH;
    let account = B256::repeat_byte(1);
    let mut state = BatchState { epoch, timestamp: 1_000 + 60 * epoch, ..Default::default() };
    state.reserve.total_supply = U256::from(1_000_000_000u64) * U256::from(WAD);
    state.reserve.total_reserve = U256::from(1_000_000_000u64) * U256::from(WAD);
    state.balances.entry(Token::Myco).or_default().insert(account, U256::from(1_000_000u64) * U256::from(WAD));
    state.withdrawals = ids
        .clone()
        .map(|id| WithdrawalRequest {
            claim_id: U256::from(id),
            account,
            amount: U256::from(WAD),
            recipient: Address::repeat_byte(2),
            reissues: None,
        })
        .collect();
    state.deposits =
        ids.clone().map(|id| CreditedDeposit { deposit_id: id, account, amount: U256::from(id) }).collect();
    let settlement = EpochSettlement::compute(&state, &pamm::Params::default(), ClaimDomain::default());
    let digest = B256::from(U256::from(epoch));
    let batch = Batch { epoch, digest, parent: B256::ZERO, signers: 3, state, raw: Vec::new() };
    let mut tx = store::begin(pool).await.unwrap();
    batches::insert(&mut tx, &batch, settlement.root(), &settlement.figures).await.unwrap();
    let payouts = Redemptions::compute(&settlement, &pamm::Params::default()).unwrap().payouts;
    claims::insert_all(&mut tx, &settlement, Some(&payouts)).await.unwrap();
    credits::insert_all(&mut tx, Epoch(epoch), &batch.state.deposits).await.unwrap();
    tx.commit().await.unwrap();

    let block = 10 * epoch;
    let origin = |index: u64| EventOrigin {
        block_number: block,
        block_hash: B256::ZERO,
        tx_hash: B256::from(U256::from(block * 1_000_000 + index)),
        log_index: index,
    };
    let deposits = batch
        .state
        .deposits
        .iter()
        .map(|c| Deposit {
            deposit_id: c.deposit_id,
            depositor: Address::ZERO,
            recipient: account,
            amount: c.amount,
            origin: origin(c.deposit_id),
        })
        .collect();
    let params = pamm::Params::default();
    let withdrawals = settlement
        .claims
        .iter()
        .filter(|c| c.claim_id % U256::from(10) != U256::ZERO)
        .map(|c| Withdrawal {
            claim_id: c.claim_id,
            recipient: c.recipient,
            account: c.account,
            epoch,
            myco_amount: c.myco_amount,
            flow_penalty: Some(c.flow_penalty),
            prior_redeemed: Some(c.prior_redeemed),
            usdc_amount: c.usdc_payout(&settlement.figures, &params).unwrap(),
            origin: origin(PER_EPOCH + c.claim_id.to::<u64>()),
        })
        .collect();
    let range = Range {
        deposits,
        withdrawals,
        blocks: vec![(block, B256::ZERO)],
        next_block: block + 1,
        read_time: batch.state.timestamp + 30,
        ..Default::default()
    };
    escrow::apply(pool, &range).await.unwrap();

    let root = settlement.root();
    for purpose in [Purpose::Commit, Purpose::Settle] {
        let attempt = NewAttempt {
            purpose,
            epoch: Epoch(epoch),
            nonce: 2 * epoch + purpose as u64,
            tx_hash: Some(root),
            max_fee_per_gas: 1,
            max_priority_fee_per_gas: 1,
            gas_limit: 100_000,
            sent_block: block,
            status: AttemptStatus::Sent,
            error: None,
        };
        let id = attempts::insert(pool, &attempt).await.unwrap();
        attempts::settle(pool, id, AttemptStatus::Mined, block, 50_000).await.unwrap();
    }
    let commitment = commitments::Commitment {
        epoch: Epoch(epoch),
        state_root: root,
        tx_hash: Some(root),
        block_number: Some(block),
        gas_used: Some(50_000),
        final_at: Some(batch.state.timestamp as i64 + 600),
        payable_at: Some(batch.state.timestamp as i64 + 900),
        attested_by: Vec::new(),
    };
    commitments::insert(pool, &commitment).await.unwrap();
}

/// The median of `RUNS` runs of `f`.
async fn median<F, Fut>(mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..RUNS {
        f().await;
    }
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        f().await;
        samples.push(start.elapsed());
    }
    samples.sort();
    samples[RUNS / 2]
}

async fn once<Fut: Future<Output = ()>>(f: Fut) -> Duration {
    let start = Instant::now();
    f.await;
    start.elapsed()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

async fn connect(backend: &str, dir: &std::path::Path, name: &str) -> Pool {
    match backend {
        "sqlite" => store::connect(&format!("sqlite://{}", dir.join(format!("{name}.db")).display())).await.unwrap(),
        url => {
            // A database of its own per case.
            let admin = store::connect(url).await.unwrap();
            let db = format!("history_{name}");
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}"))).execute(&admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&admin).await.unwrap();
            let (base, _) = url.rsplit_once('/').unwrap();
            store::connect(&format!("{base}/{db}")).await.unwrap()
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut backends = vec!["sqlite".to_string()];
    if let Ok(url) = std::env::var("MYCO_TEST_POSTGRES") {
        backends.push(url);
    }
    let params = pamm::Params::default();
    let dir = tempfile::tempdir().unwrap();
    for backend in &backends {
        let label = if backend == "sqlite" { "SQLite" } else { "PostgreSQL" };
        println!("\n{label}: per store size, the median of {RUNS} runs (first pass: one run)\n");
        println!(
            "| stored events | build | /metrics totals | /ready store | moved? check | pass, nothing new | pass, one new epoch | first pass over all | owed, kept | owed, priced |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for case in cases() {
            let pool = connect(backend, dir.path(), case.name).await;
            let build = once(async {
                for epoch in 1..=case.epochs {
                    add_epoch(&pool, epoch).await;
                }
            })
            .await;
            if backend == "sqlite" {
                // What the build wrote is folded into the database file, as SQLite's automatic checkpoints do
                // between an operator's writes: reads then do not search a long write-ahead log.
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await.unwrap();
            }
            let first_pass = once(async {
                myco_bridge::reconcile::run(&pool, 3, &params).await.unwrap();
            })
            .await;
            let totals = median(|| async {
                views::totals(&pool, 0).await.unwrap();
            })
            .await;
            let ready = median(|| async {
                sqlx::query("SELECT 1").execute(&pool).await.unwrap();
                store::equivocations::count(&pool).await.unwrap();
                store::ledger::violations(&pool).await.unwrap();
            })
            .await;
            let moved = median(|| async {
                batches::last(&pool).await.unwrap();
                escrow::event_count(&pool).await.unwrap();
                escrow::reorg_count(&pool).await.unwrap();
                escrow::latest_batch_behind_watcher(&pool).await.unwrap();
            })
            .await;
            let idle = median(|| async {
                myco_bridge::reconcile::run(&pool, 3, &params).await.unwrap();
            })
            .await;
            let audit = LedgerAudit {
                pool: pool.clone(),
                chain_id: 31337,
                escrow: Address::ZERO,
                document_limits: Default::default(),
                params,
                policy: Default::default(),
                states: Default::default(),
            };
            let next_epoch = Epoch(case.epochs + 1);
            let none_paid_since = Default::default();
            let owed_kept = median(|| async {
                audit.owed_before(next_epoch, &none_paid_since).await.unwrap();
            })
            .await;
            let mut owed = (U256::ZERO, U256::ZERO);
            let owed_priced = once(async {
                owed.1 = audit.owed_between(Epoch(0), next_epoch, &none_paid_since).await.unwrap();
            })
            .await;
            owed.0 = audit.owed_before(next_epoch, &none_paid_since).await.unwrap();
            assert_eq!(owed.0, owed.1, "what is kept is what pricing every claim gives");
            add_epoch(&pool, case.epochs + 1).await;
            let next = once(async {
                let outcome = myco_bridge::reconcile::run(&pool, 3, &params).await.unwrap();
                assert_eq!(outcome.open, 0, "every event reconciles");
            })
            .await;
            let events = case.epochs * 2 * PER_EPOCH;
            let events = match events {
                0 => "0".to_string(),
                e if e >= 1_000_000 => format!("{}M", e / 1_000_000),
                e => format!("{}k", e / 1_000),
            };
            println!(
                "| {events} | {:.1} s | {} | {} | {} | {} | {} | {} | {} | {} |",
                build.as_secs_f64(),
                ms(totals),
                ms(ready),
                ms(moved),
                ms(idle),
                ms(next),
                ms(first_pass),
                ms(owed_kept),
                ms(owed_priced)
            );
        }
    }
}
