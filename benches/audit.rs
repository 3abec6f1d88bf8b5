//! The auditor's catch-up throughput, printed as a table: a local anvil (automine) on which the relayer, with the
//! devnet's four attesters, has committed and settled 1,000 version 2 epochs (mints, transfers, intents netted
//! on the curve, deposits, withdrawals; each settlement applied by a later batch); then a fresh auditor with an
//! empty store audits all of them: reads and verifies every batch, recomputes every commitment and compares it
//! with the chain's, reads every commit's attester signatures, runs every conservation audit (settlements read
//! from the curve's logs, the escrow's holdings while the epoch is in its window) and reconciles the escrow.
//!
//! The floor it is measured against: the shared reader alone (verify, settle, store) over the same batches into a
//! fresh store, with no chain reads.
//!
//! Run: `cargo bench --bench audit` (`AUDIT_BENCH_EPOCHS=200` for a shorter run).

mod common;

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use common::wait_until;
use myco_bridge::audit::{Auditor, Stats};
use myco_bridge::chain::bindings::{StateCommitment, TestUSDC, USDCEscrow};
use myco_bridge::chain::send_call;
use myco_bridge::devnet::simulate::{EpochInputs, Network, WithdrawalAsk};
use myco_bridge::devnet::{ADMIN_ACCOUNT, Devnet, FIRST_USER_ACCOUNT, RELAYER_ACCOUNT};
use myco_bridge::ids::Epoch;
use myco_bridge::ingest::document::CreditedDeposit;
use myco_bridge::ingest::folder::FolderSource;
use myco_bridge::ingest::intent::Token;
use myco_bridge::ingest::{SourceConfig, ValidatorSet};
use myco_bridge::relayer::Relayer;
use myco_bridge::settle::WAD;
use myco_bridge::store::{self, curve, ledger};
use tokio_util::sync::CancellationToken;

/// Epochs the relayer runs ahead of the chain's settlements, as the long conservation test does.
const RUN_AHEAD: u64 = 4;

async fn settled(pool: &store::Pool, epoch: u64) -> bool {
    curve::get(pool, Epoch(epoch)).await.unwrap().is_some_and(|r| r.status == curve::Status::Executed)
}

/// A real deposit of `amount` USDC units into the escrow for `account`; returns its id.
async fn deposit(devnet: &Devnet, account: alloy::primitives::B256, amount: u64) -> u64 {
    let (d, provider) = (devnet.deployment, devnet.provider(FIRST_USER_ACCOUNT));
    let usdc = TestUSDC::new(d.usdc, &provider);
    send_call("mint", usdc.mint(devnet.signer(FIRST_USER_ACCOUNT).address(), U256::from(amount))).await.unwrap();
    send_call("approve", usdc.approve(d.escrow, U256::from(amount))).await.unwrap();
    let escrow = USDCEscrow::new(d.escrow, &provider);
    let id = escrow.nextDepositId().call().await.unwrap();
    send_call("deposit", escrow.deposit(U256::from(amount), account)).await.unwrap();
    id
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let epochs: u64 = std::env::var("AUDIT_BENCH_EPOCHS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000);
    let dir = tempfile::tempdir().unwrap();
    // A day's window: every commitment is still revocable while the auditor catches up (the holdings bound runs).
    let devnet = Devnet::start(86_400, &[]).await.expect("devnet");
    let mut network = Network::new(devnet.chain_id(), 11, 4, 4).with_ledger();
    let batch_dir = dir.path().join("batches");
    std::fs::create_dir_all(&batch_dir).unwrap();
    let source = SourceConfig::Folder(batch_dir.clone());
    let validators = ValidatorSet::new(network.validator_keys()).unwrap();
    let attesters = devnet.spawn_attesters(validators.clone(), source.clone()).await.expect("attesters");
    let mut config = devnet.relayer_config(validators.clone(), source.clone());
    config.attestation_endpoints = attesters.iter().map(|a| a.url.clone()).collect();
    config.poll_interval = Duration::from_millis(10);
    let pool = store::connect(&format!("sqlite://{}", dir.path().join("relayer.db").display())).await.unwrap();
    let shutdown = CancellationToken::new();
    let relayer = Relayer::new(pool.clone(), devnet.provider(RELAYER_ACCOUNT), config);
    let relayer = tokio::spawn(relayer.run(shutdown.clone()));

    // The network's history, committed and settled by the relayer.
    let started = Instant::now();
    let accounts = network.accounts();
    let admin = devnet.provider(ADMIN_ACCOUNT);
    for epoch in 1..=epochs {
        let mut settlements = Vec::new();
        for e in network.unapplied_epochs() {
            let Some(cs) = myco_bridge::chain::settlements::executed(
                &admin,
                devnet.deployment.curve,
                e,
                devnet.deployment.start_block,
            )
            .await
            .unwrap() else {
                continue;
            };
            settlements.extend(network.settlement_of(e, cs.spot, cs.sell, cs.buy));
        }
        let mut inputs = EpochInputs {
            mints: vec![(accounts[epoch as usize % 4], U256::from(20 * WAD))],
            intents: 12,
            transfers: 6,
            settlements,
            ..Default::default()
        };
        if epoch % 10 == 1 {
            let account = accounts[(epoch / 10) as usize % 4];
            let id = deposit(&devnet, account, 2_000_000_000).await;
            inputs.deposits.push(CreditedDeposit { deposit_id: id, account, amount: U256::from(2_000_000_000u64) });
        }
        let richest = *accounts.iter().max_by_key(|a| network.balance(Token::Myco, a)).unwrap();
        if epoch % 7 == 0 && network.balance(Token::Myco, &richest) > U256::from(10 * WAD) {
            let ask =
                WithdrawalAsk { account: richest, amount: U256::from(5 * WAD), recipient: Address::repeat_byte(5) };
            inputs.withdrawals.push(ask);
        }
        let produced = network.next_batch(&inputs);
        FolderSource::new(&batch_dir).publish(epoch, &produced.bytes).await.unwrap();
        if let Some(behind) = epoch.checked_sub(RUN_AHEAD).filter(|b| *b > 0) {
            wait_until(&format!("epoch {behind} is settled"), Duration::from_secs(60), || settled(&pool, behind)).await;
        }
    }
    wait_until("the last epoch is settled", Duration::from_secs(60), || settled(&pool, epochs)).await;
    shutdown.cancel();
    relayer.await.unwrap().unwrap();
    let setup = started.elapsed();
    let sc = StateCommitment::new(devnet.deployment.state_commitment, &admin);
    assert_eq!(sc.latestEpoch().call().await.unwrap(), epochs);

    // The floor: the reader alone over the same batches, into a fresh store.
    let params = myco_bridge::chain::escrow_pamm_params(&admin, devnet.deployment.escrow).await.unwrap();
    let auditor_config = devnet.auditor_config(validators, source, params, None);
    let reader_pool = store::connect(&format!("sqlite://{}", dir.path().join("reader.db").display())).await.unwrap();
    let start = Instant::now();
    let mut reader = myco_bridge::reader::Reader::open(reader_pool, &auditor_config.reader).await.unwrap();
    let read = reader.read_available().await.unwrap().len() as u64;
    let floor = start.elapsed();
    assert_eq!(read, epochs);

    // The auditor from an empty store, reading only.
    let audit_pool = store::connect(&format!("sqlite://{}", dir.path().join("auditor.db").display())).await.unwrap();
    let provider = myco_bridge::chain::read_provider(devnet.url());
    let mut auditor_config = auditor_config;
    auditor_config.poll_interval = Duration::from_millis(5);
    let auditor = Auditor::new(audit_pool.clone(), provider, auditor_config);
    let stats = auditor.stats().clone();
    let stop = CancellationToken::new();
    let start = Instant::now();
    let task = tokio::spawn(auditor.run(stop.clone()));
    wait_until("the auditor checked every epoch", Duration::from_secs(3_600), || async {
        let matched = store::audit::latest_matched(&audit_pool).await.unwrap().is_some_and(|e| e.0 == epochs);
        matched && ledger::audited(&audit_pool, Epoch(epochs)).await.unwrap()
    })
    .await;
    let audit = start.elapsed();
    stop.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(Stats::get(&stats.new_findings), 0, "an honest history has no findings");
    let (matched, differ, unchecked) = store::audit::verdict_counts(&audit_pool).await.unwrap();
    assert_eq!((matched, differ, unchecked), (epochs, 0, 0));

    let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "auditor catch-up (anvil, automine; {epochs} committed version 2 epochs; setup took {:.0} s)",
        setup.as_secs_f64()
    );
    println!();
    println!("| what | time | epochs/s |");
    println!("|---|---|---|");
    println!(
        "| reader alone: verify, settle, store (the floor) | {:.2} s | {:.0} |",
        floor.as_secs_f64(),
        rate(epochs, floor)
    );
    println!(
        "| auditor: reader, commitments, attestations, conservation, escrow | {:.2} s | {:.0} |",
        audit.as_secs_f64(),
        rate(epochs, audit)
    );
    println!("| ratio (auditor / floor) | {:.1}× | |", audit.as_secs_f64() / floor.as_secs_f64());
    println!();
    println!("| auditor stage | time | share |");
    println!("|---|---|---|");
    for (stage, time) in stats.stage_times() {
        println!(
            "| {stage} | {:.2} s | {:.0}% |",
            time.as_secs_f64(),
            100.0 * time.as_secs_f64() / audit.as_secs_f64()
        );
    }
    for a in attesters {
        a.stop().await;
    }
}
