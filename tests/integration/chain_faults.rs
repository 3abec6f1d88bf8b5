//! The chain side under faults against anvil: a transaction stuck under a rising base fee is replaced until it
//! lands.

use alloy::providers::Provider;
use myco_bridge::chain::bindings::StateCommitment;
use myco_bridge::devnet::simulate::EpochInputs;
use myco_bridge::devnet::{ADMIN_ACCOUNT, RELAYER_ACCOUNT};
use myco_bridge::ingest::folder::FolderSource;
use myco_bridge::store::attempts::{self, Status};
use myco_bridge::store::commitments;

use crate::common::{Harness, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_commit_is_replaced_with_higher_fees_until_it_lands() {
    let mut h = Harness::start().await;
    let admin = h.devnet.provider(ADMIN_ACCOUNT);
    let _: serde_json::Value = admin.raw_request("evm_setAutomine".into(), (false,)).await.unwrap();
    let b1 = h.network.next_batch(&EpochInputs { timestamp: 1, ..Default::default() });
    FolderSource::new(&h.batch_dir).publish(1, &b1.bytes).await.unwrap();
    let mut config = h.config();
    config.tx.resubmit_after_blocks = 2;
    let relayer = h.spawn_relayer_with(RELAYER_ACCOUNT, config);

    // The commit is priced for today's base fee; from now on every block's base fee is three times its cap, so
    // only replacements with higher fees can land.
    wait_until("the commit is sent", || async { !attempts::all(&h.pool).await.unwrap().is_empty() }).await;
    let first = attempts::all(&h.pool).await.unwrap()[0].clone();
    let pinned = first.max_fee_per_gas * 3;
    let pool = h.pool.clone();
    let miner = {
        let admin = admin.clone();
        tokio::spawn(async move {
            while commitments::latest(&pool).await.unwrap().is_none_or(|l| l < 1) {
                let _: serde_json::Value =
                    admin.raw_request("anvil_setNextBlockBaseFeePerGas".into(), (pinned.to_string(),)).await.unwrap();
                let _: serde_json::Value = admin.raw_request("evm_mine".into(), ()).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(60)).await;
            }
        })
    };
    wait_until("the commit lands", || async { commitments::latest(&h.pool).await.unwrap().is_some_and(|l| l >= 1) })
        .await;
    miner.await.unwrap();
    relayer.stop().await.unwrap();

    let sc = StateCommitment::new(h.devnet.deployment.state_commitment, &admin);
    assert_eq!(sc.latestEpoch().call().await.unwrap(), 1);
    let all: Vec<_> = attempts::all(&h.pool).await.unwrap().into_iter().filter(|a| a.purpose == "commit").collect();
    assert!(all.len() >= 2, "replaced: {all:#?}");
    assert!(all.iter().all(|a| a.nonce == first.nonce), "one nonce throughout");
    for pair in all.windows(2) {
        // Each replacement raises both fees by at least 10%, as nodes require.
        assert!(pair[1].max_fee_per_gas * 10 >= pair[0].max_fee_per_gas * 11, "{pair:#?}");
        assert!(pair[1].max_priority_fee_per_gas * 10 >= pair[0].max_priority_fee_per_gas * 11, "{pair:#?}");
    }
    let mined: Vec<_> = all.iter().filter(|a| a.status == Status::Mined).collect();
    assert_eq!(mined.len(), 1);
    assert!(mined[0].max_fee_per_gas >= pinned, "only a fee cap above the base fee lands");
    // The others were replaced in the pool, or refused by the node as priced under the base fee.
    assert!(
        all.iter()
            .filter(|a| a.status != Status::Mined)
            .all(|a| matches!(a.status, Status::Replaced | Status::Refused)),
        "{all:#?}"
    );
    assert!(all.iter().any(|a| a.status == Status::Replaced), "the first, stuck attempt was replaced: {all:#?}");
    let committed = commitments::all(&h.pool).await.unwrap();
    assert_eq!(committed[0].tx_hash, mined[0].tx_hash);
}
