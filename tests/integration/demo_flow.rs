//! The demo's flow end to end: every epoch's root on chain equals the root recomputed from the certified batch,
//! every escrow payout equals what `settle::outputs` computes for its claim (at par and below it), and the
//! curve's supply moved by exactly the net orders the relayer recorded.

use std::collections::BTreeMap;

use alloy::primitives::{B256, U256};
use myco_bridge::chain::bindings::{MycoBondingCurve, StateCommitment, TestUSDC};
use myco_bridge::demo::{self, Finished, Options};
use myco_bridge::devnet;
use myco_bridge::ingest::{ValidatorSet, Verifier, folder::FolderSource};
use myco_bridge::settle::ClaimDomain;
use myco_bridge::settle::outputs::EpochOutputs;
use myco_bridge::settle::pamm::Params;
use myco_bridge::store::{self, curve::Status};

const WAD: u64 = 1_000_000_000_000_000_000;

/// Checks the chain against the batch files and the store; returns each claim's payout as `settle` computes it.
async fn check(options: &Options, finished: &Finished) -> BTreeMap<U256, U256> {
    let report = &finished.report;
    assert_eq!(report.latest_epoch_on_chain, options.epochs);
    assert_eq!(report.epochs.len() as u64, options.epochs);

    // Recompute every root and payout from the batch files alone and compare with what the chain holds.
    let provider = finished.chain.provider(devnet::ADMIN_ACCOUNT);
    let sc = StateCommitment::new(report.deployment.state_commitment, &provider);
    let keys = devnet::simulate::Network::new(report.chain_id, options.seed, options.validators, 1).validator_keys();
    let mut verifier = Verifier::new(report.chain_id, ValidatorSet::new(keys).unwrap(), None);
    let source = FolderSource::new(options.workdir.join("batches"));
    let mut parent_root = B256::ZERO;
    let mut payouts = BTreeMap::new();
    for epoch in 1..=options.epochs {
        let bytes = source.fetch(epoch).await.unwrap().expect("batch file");
        let batch = verifier.verify(&bytes).expect("valid batch");
        verifier.accept(&batch);
        let domain = ClaimDomain { chain_id: report.chain_id, escrow: report.deployment.escrow };
        let outputs = EpochOutputs::compute(&batch.state, U256::from(WAD), &Params::default(), domain).unwrap();
        let settlement = &outputs.settlement;
        let root = settlement.root();
        let on_chain = sc.commitmentOf(epoch).call().await.unwrap();
        assert_eq!(on_chain.stateRoot, root, "epoch {epoch} root");
        assert_eq!(on_chain.batchDigest, batch.digest, "epoch {epoch} digest");
        assert_eq!(on_chain.parentRoot, parent_root, "epoch {epoch} parent link");
        // The committed figures are the redemption state before the epoch's withdrawals.
        let f = settlement.figures;
        assert_eq!(on_chain.reserve.totalSupply, f.total_supply, "epoch {epoch} supply");
        assert_eq!(on_chain.reserve.totalReserve, f.total_reserve, "epoch {epoch} reserve");
        assert_eq!(on_chain.reserve.flowPressure, f.flow_pressure, "epoch {epoch} redemption level");
        let line = &report.epochs[epoch as usize - 1];
        assert_eq!(line.state_root, root);
        let terms = line.conservation.as_ref().expect("audited before commit");
        assert_eq!(terms["balanced"], true, "epoch {epoch}");
        if epoch > 1 {
            assert_eq!(terms["myco_supply"]["balanced"], true, "epoch {epoch}");
            assert_eq!(terms["reserve"]["balanced"], true, "epoch {epoch}");
        }
        assert_eq!(line.outputs.as_ref().expect("outputs stored").pamm_rate, outputs.pamm_rate, "epoch {epoch}");
        for (claim, payout) in settlement.claims.iter().zip(&outputs.payouts) {
            payouts.insert(claim.claim_id, *payout);
        }
        parent_root = root;
    }

    // Every withdrawal paid on chain is the claim's payout computed in Rust, to the wei.
    assert_eq!(report.withdrawals.len(), 2);
    let usdc = TestUSDC::new(report.deployment.usdc, &provider);
    let mut paid_total = U256::ZERO;
    for w in &report.withdrawals {
        assert_eq!(w.usdc_amount, payouts[&w.claim_id], "claim {}", w.claim_id);
        assert_eq!(usdc.balanceOf(w.recipient).call().await.unwrap(), w.usdc_amount);
        paid_total += w.usdc_amount;
    }
    let deposited = U256::from(4_000_000_000u64);
    assert_eq!(usdc.balanceOf(report.deployment.escrow).call().await.unwrap(), deposited - paid_total);

    // The store agrees with the chain: claims paid, and the curve moved by exactly the recorded net orders.
    let pool = store::connect(&report.database).await.unwrap();
    let claims = store::claims::all(&pool).await.unwrap();
    assert!(claims.iter().all(|c| c.paid_tx.is_some()));
    // Reconciled: every withdrawal matches its claim's committed payout, every deposit was credited.
    myco_bridge::reconcile::run(&pool, 3, &myco_bridge::settle::pamm::Params::default()).await.unwrap();
    assert_eq!(store::mismatches::all(&pool).await.unwrap(), []);
    let rows = store::curve::all(&pool).await.unwrap();
    assert_eq!(rows.len() as u64, options.epochs, "every epoch's net orders recorded");
    let mut supply = U256::from(100_000u64) * U256::from(WAD); // the float's seed purchase
    let mut traded = 0;
    let curve_params =
        myco_bridge::settle::curve::Curve { p0: myco_bridge::devnet::CURVE_P0, m: myco_bridge::devnet::CURVE_M };
    for row in &rows {
        assert_eq!(row.status, Status::Executed, "epoch {} settled on the curve", row.plan.epoch);
        // The auction ran at the spot the chain's history gives: the float purchase plus every earlier execution.
        assert_eq!(row.plan.spot, curve_params.spot(supply).unwrap(), "epoch {} spot", row.plan.epoch);
        let e = row.executed.expect("execution recorded");
        supply = supply - row.plan.sell.0 + e.myco_out;
        traded += usize::from(!(row.plan.sell.0.is_zero() && row.plan.buy.0.is_zero()));
    }
    let curve = MycoBondingCurve::new(report.deployment.curve, &provider);
    assert_eq!(curve.supply().call().await.unwrap(), supply);
    assert_eq!(curve.lastSettledEpoch().call().await.unwrap(), options.epochs, "every epoch settles, in order");
    assert!(traded > 0, "the demo's auctions leave net orders");
    payouts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_commits_every_epoch_and_pays_withdrawals_at_par_less_the_flow_penalty() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = Some(crate::common::database_url(dir.path()).await);
    let options = Options { epochs: 4, workdir: dir.path().join("demo"), database_url, ..Default::default() };
    let finished = demo::run(&options).await.expect("demo");
    let payouts = check(&options, &finished).await;
    // Fully backed: 80 MYCO of 1,000 is within the flow threshold and pays par; 250 of 1,000 pays the
    // penalty's cap, 4.0.
    assert_eq!(payouts.values().copied().collect::<Vec<_>>(), [U256::from(80_000_000), U256::from(62_500_000)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_par_the_escrow_pays_what_the_rust_pamm_computes() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        Options { epochs: 3, workdir: dir.path().join("demo"), reserve_loss_bps: 6_500, ..Default::default() };
    let finished = demo::run(&options).await.expect("demo");
    let payouts = check(&options, &finished).await;
    // Below par the P-AMM pays less than the fully backed run's 80 and 62.5 USDC.
    assert!(payouts.values().zip([80_000_000u64, 62_500_000]).all(|(got, par)| *got < U256::from(par)), "{payouts:?}");
    let rate = finished.report.epochs[1].outputs.as_ref().unwrap().pamm_rate;
    assert!(rate < U256::from(WAD), "the withdrawal epoch's rate {rate} is below 1");
}
