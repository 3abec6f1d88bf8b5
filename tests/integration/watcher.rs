//! The escrow watcher against anvil reorgs of depth 1 to 5: afterwards its stored events equal the canonical
//! chain's, event for event.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent};
use myco_bridge::chain::Watcher;
use myco_bridge::chain::bindings::escrow::USDCEscrow::{Deposited, depositCall};
use myco_bridge::chain::bindings::{TestUSDC, USDCEscrow};
use myco_bridge::chain::send_call;
use myco_bridge::devnet::{ADMIN_ACCOUNT, Devnet, FIRST_USER_ACCOUNT};
use myco_bridge::store::{self, escrow};
use serde_json::json;

/// (deposit id, tx hash, block hash) of every `Deposited` log on the canonical chain.
async fn canonical_deposits(devnet: &Devnet) -> Vec<(u64, B256, B256)> {
    let provider = devnet.provider(ADMIN_ACCOUNT);
    let filter = Filter::new()
        .address(devnet.deployment.escrow)
        .event_signature(Deposited::SIGNATURE_HASH)
        .from_block(devnet.deployment.start_block);
    let logs = provider.get_logs(&filter).await.unwrap();
    logs.iter()
        .map(|l| {
            let d = Deposited::decode_log_data(l.data()).unwrap();
            (d.depositId, l.transaction_hash.unwrap(), l.block_hash.unwrap())
        })
        .collect()
}

async fn stored_deposits(pool: &store::Pool) -> Vec<(u64, B256, B256)> {
    escrow::deposits(pool)
        .await
        .unwrap()
        .iter()
        .map(|d| (d.deposit_id, d.origin.tx_hash, d.origin.block_hash))
        .collect()
}

async fn catch_up(watcher: &Watcher, pool: &store::Pool) {
    for _ in 0..20 {
        if watcher.poll(pool).await.unwrap().caught_up {
            return;
        }
    }
    panic!("the watcher did not catch up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_events_equal_the_canonical_chain_after_reorgs_of_depth_one_to_five() {
    let devnet = Devnet::start(600, &[]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pool = store::connect(&crate::common::database_url(dir.path()).await).await.unwrap();
    let d = devnet.deployment;
    let watcher = Watcher::new(devnet.provider(ADMIN_ACCOUNT), d.escrow, d.start_block, 0);

    // Two depositors, funded and approved.
    let users: Vec<Address> = (0..2).map(|i| devnet.signer(FIRST_USER_ACCOUNT + i).address()).collect();
    for (i, user) in users.iter().enumerate() {
        let provider = devnet.provider(FIRST_USER_ACCOUNT + i);
        let usdc = TestUSDC::new(d.usdc, &provider);
        send_call("mint", usdc.mint(*user, U256::from(1_000_000_000_000u64))).await.unwrap();
        send_call("approve", usdc.approve(d.escrow, U256::MAX)).await.unwrap();
    }
    let account = B256::repeat_byte(7);

    for depth in 1..=5u64 {
        // The first user deposits in `depth` blocks; the watcher stores them.
        let provider = devnet.provider(FIRST_USER_ACCOUNT);
        let escrow_contract = USDCEscrow::new(d.escrow, &provider);
        for k in 0..depth {
            send_call("deposit", escrow_contract.deposit(U256::from(1_000_000 * (depth * 10 + k)), account))
                .await
                .unwrap();
        }
        catch_up(&watcher, &pool).await;
        assert_eq!(stored_deposits(&pool).await, canonical_deposits(&devnet).await, "before the depth-{depth} reorg");

        // Those blocks are replaced by ones where the second user deposits instead (reusing the deposit ids).
        let calldata = depositCall { amount: U256::from(777_000_000u64), recipient: account }.abi_encode();
        let tx = json!({ "from": users[1], "to": d.escrow, "input": alloy::primitives::Bytes::from(calldata), "gas": "0x100000" });
        let _: serde_json::Value =
            devnet.provider(ADMIN_ACCOUNT).raw_request("anvil_reorg".into(), (depth, json!([[tx, 0]]))).await.unwrap();
        catch_up(&watcher, &pool).await;
        let canonical = canonical_deposits(&devnet).await;
        assert_eq!(stored_deposits(&pool).await, canonical, "after the depth-{depth} reorg");
        assert_eq!(escrow::reorg_count(&pool).await.unwrap(), depth, "one rewind per reorg");
    }
    // The stored history is the canonical one: the replacement deposits are there, the orphaned ones are not.
    let deposits = escrow::deposits(&pool).await.unwrap();
    assert_eq!(deposits.iter().filter(|x| x.depositor == users[1]).count(), 5);
    assert!(deposits.iter().all(|x| x.amount == U256::from(777_000_000u64) || x.depositor == users[0]));
}
