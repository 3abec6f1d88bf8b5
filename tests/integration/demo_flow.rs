//! The demo's flow end to end: every epoch's root on chain equals the root recomputed from the certified batch.

use alloy::primitives::{B256, U256};
use myco_bridge::chain::bindings::{StateCommitment, TestUSDC};
use myco_bridge::demo::{self, Options};
use myco_bridge::devnet;
use myco_bridge::ingest::{ValidatorSet, Verifier, folder::FolderSource};
use myco_bridge::settle::EpochSettlement;
use myco_bridge::store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_commits_every_epoch_and_pays_the_withdrawal() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options { epochs: 4, workdir: dir.path().join("demo"), ..Default::default() };
    let finished = demo::run(&options).await.expect("demo");
    let report = &finished.report;
    assert_eq!(report.latest_epoch_on_chain, 4);
    assert_eq!(report.epochs.len(), 4);

    // Recompute every root from the batch files alone and compare with what the chain holds.
    let provider = finished.chain.provider(devnet::ADMIN_ACCOUNT);
    let sc = StateCommitment::new(report.deployment.state_commitment, &provider);
    let keys = myco_bridge::devnet::simulate::Network::new(report.chain_id, options.seed, options.validators, 1)
        .validator_keys();
    let mut verifier = Verifier::new(report.chain_id, ValidatorSet::new(keys).unwrap(), None);
    let source = FolderSource::new(options.workdir.join("batches"));
    let mut parent_root = B256::ZERO;
    for epoch in 1..=4u64 {
        let bytes = source.fetch(epoch).await.unwrap().expect("batch file");
        let batch = verifier.verify(&bytes).expect("valid batch");
        verifier.accept(&batch);
        let settlement = EpochSettlement::compute(&batch.state);
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
        assert_eq!(report.epochs[epoch as usize - 1].state_root, root);
        parent_root = root;
    }

    // Two deposits seen; the one withdrawal paid 250 USDC at par to the user, who deposited 1,000.
    assert_eq!(report.deposits.len(), 2);
    assert_eq!(report.withdrawals.len(), 1);
    let paid = &report.withdrawals[0];
    assert_eq!(paid.usdc_amount, U256::from(250_000_000u64));
    let usdc = TestUSDC::new(report.deployment.usdc, &provider);
    assert_eq!(usdc.balanceOf(paid.recipient).call().await.unwrap(), U256::from(250_000_000u64));
    assert_eq!(usdc.balanceOf(report.deployment.escrow).call().await.unwrap(), U256::from(1_750_000_000u64));

    // The store agrees with the chain.
    let pool = store::connect(&format!("sqlite://{}", report.database.display())).await.unwrap();
    let claims = store::claims::all(&pool).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].paid_tx, Some(paid.origin.tx_hash));
}
