//! The escrow watcher against anvil reorgs of depth 1 to 5 while deposits and withdrawals flow: afterwards its
//! stored events equal the canonical chain's, event for event.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent};
use myco_bridge::chain::bindings::escrow::IUSDCEscrow::WithdrawalClaim;
use myco_bridge::chain::bindings::escrow::IUSDCEscrow::{Deposited, Withdrawn, depositCall, withdrawCall};
use myco_bridge::chain::bindings::state_commitment::IStateCommitment::ReserveFigures;
use myco_bridge::chain::bindings::{StateCommitment, TestUSDC, USDCEscrow};
use myco_bridge::chain::send_call;
use myco_bridge::devnet::{ADMIN_ACCOUNT, Devnet, FIRST_USER_ACCOUNT, RELAYER_ACCOUNT};
use myco_bridge::settle::Claim;
use myco_bridge::store::{self, escrow};
use myco_bridge::watcher::Watcher;
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

/// (claim id, tx hash, block hash) of every `Withdrawn` log on the canonical chain.
async fn canonical_withdrawals(devnet: &Devnet) -> Vec<(U256, B256, B256)> {
    let provider = devnet.provider(ADMIN_ACCOUNT);
    let filter = Filter::new()
        .address(devnet.deployment.escrow)
        .event_signature(Withdrawn::SIGNATURE_HASH)
        .from_block(devnet.deployment.start_block);
    let logs = provider.get_logs(&filter).await.unwrap();
    logs.iter()
        .map(|l| {
            let w = Withdrawn::decode_log_data(l.data()).unwrap();
            (w.claimId, l.transaction_hash.unwrap(), l.block_hash.unwrap())
        })
        .collect()
}

async fn stored_withdrawals(pool: &store::Pool) -> Vec<(U256, B256, B256)> {
    let mut all: Vec<_> = escrow::withdrawals(pool)
        .await
        .unwrap()
        .iter()
        .map(|w| (w.claim_id, w.origin.tx_hash, w.origin.block_hash))
        .collect();
    all.sort();
    all
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
    for _ in 0..500 {
        if watcher.poll(pool).await.unwrap().caught_up {
            return;
        }
    }
    panic!("the watcher did not catch up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_events_equal_the_canonical_chain_after_reorgs_of_depth_one_to_five_while_money_flows() {
    let devnet = Devnet::start(600, &[]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pool = store::connect(&crate::common::database_url(dir.path()).await).await.unwrap();
    let d = devnet.deployment;
    // Small ranges, so reorgs land inside, across and at the ends of ranges.
    let watcher = Watcher::new(devnet.provider(ADMIN_ACCOUNT), d.escrow, d.start_block, 0, 5);

    // Two depositors, funded and approved.
    let users: Vec<Address> = (0..2).map(|i| devnet.signer(FIRST_USER_ACCOUNT + i).address()).collect();
    for (i, user) in users.iter().enumerate() {
        let provider = devnet.provider(FIRST_USER_ACCOUNT + i);
        let usdc = TestUSDC::new(d.usdc, &provider);
        send_call("mint", usdc.mint(*user, U256::from(1_000_000_000_000u64))).await.unwrap();
        send_call("approve", usdc.approve(d.escrow, U256::MAX)).await.unwrap();
    }
    let account = B256::repeat_byte(7);
    // The escrow's first USDC, so claims can be paid from the start.
    let first_user = devnet.provider(FIRST_USER_ACCOUNT);
    send_call("deposit", USDCEscrow::new(d.escrow, &first_user).deposit(U256::from(100_000_000u64), account))
        .await
        .unwrap();
    let relayer = devnet.provider(RELAYER_ACCOUNT);
    let sc = StateCommitment::new(d.state_commitment, &relayer);
    let mut parent = B256::ZERO;

    for depth in 1..=5u64 {
        // Epoch `depth` commits one claim (id `depth`, 1 MYCO at par for the first user) and becomes final.
        let claim = Claim {
            claim_id: U256::from(depth),
            account,
            recipient: users[0],
            myco_amount: U256::from(10u64).pow(U256::from(18)),
            flow_penalty: U256::from(10u64).pow(U256::from(18)),
            epoch: depth,
            prior_redeemed: U256::ZERO,
        };
        let thousand = U256::from(1_000u64) * claim.myco_amount;
        let figures = ReserveFigures {
            totalSupply: thousand,
            totalReserve: thousand,
            flowPressure: U256::ZERO,
            timestamp: depth,
        };
        let leaf = claim.leaf(&myco_bridge::settle::ClaimDomain { chain_id: devnet.chain_id(), escrow: d.escrow });
        let root = myco_bridge::chain::RootCommit {
            epoch: myco_bridge::ids::Epoch(depth),
            state_root: leaf,
            parent_root: parent,
            digest: B256::repeat_byte(depth as u8),
            timestamp: depth,
            figures: myco_bridge::settle::CommittedFigures {
                total_supply: thousand,
                total_reserve: thousand,
                flow_pressure: U256::ZERO,
            },
        };
        let signatures = myco_bridge::devnet::attesters::quorum_signatures(devnet.attestation_domain(), &root);
        let commit = sc.commit(depth, parent, leaf, B256::repeat_byte(depth as u8), figures, signatures);
        send_call("commit", commit).await.unwrap();
        parent = leaf;
        devnet.advance_time(601).await.unwrap();
        let withdrawal = withdrawCall {
            claim: WithdrawalClaim {
                claimId: claim.claim_id,
                account,
                recipient: claim.recipient,
                mycoAmount: claim.myco_amount,
                flowPenalty: claim.flow_penalty,
                epoch: depth,
                priorRedeemed: U256::ZERO,
            },
            proof: Vec::new(),
        };

        // The first user deposits in `depth` blocks; the watcher stores them.
        let provider = devnet.provider(FIRST_USER_ACCOUNT);
        let escrow_contract = USDCEscrow::new(d.escrow, &provider);
        // The first user deposits in `depth - 1` blocks and claims the withdrawal in the last one.
        for k in 0..depth - 1 {
            send_call("deposit", escrow_contract.deposit(U256::from(1_000_000 * (depth * 10 + k)), account))
                .await
                .unwrap();
        }
        send_call("withdraw", escrow_contract.withdraw(withdrawal.claim.clone(), Vec::new())).await.unwrap();
        catch_up(&watcher, &pool).await;
        assert_eq!(stored_deposits(&pool).await, canonical_deposits(&devnet).await, "before the depth-{depth} reorg");
        assert_eq!(
            stored_withdrawals(&pool).await,
            canonical_withdrawals(&devnet).await,
            "before the depth-{depth} reorg"
        );

        // Those blocks are replaced: the second user deposits instead (reusing a deposit id), and the withdrawal
        // lands again in the new chain's last block, in another transaction.
        let tx = |input: Vec<u8>| json!({ "from": users[1], "to": d.escrow, "input": alloy::primitives::Bytes::from(input), "gas": "0x200000" });
        let deposit = tx(depositCall { amount: U256::from(777_000_000u64), recipient: account }.abi_encode());
        let pairs = json!([[deposit, 0], [tx(withdrawal.abi_encode()), depth - 1]]);
        let _: serde_json::Value =
            devnet.provider(ADMIN_ACCOUNT).raw_request("anvil_reorg".into(), (depth, pairs)).await.unwrap();
        catch_up(&watcher, &pool).await;
        let canonical = canonical_deposits(&devnet).await;
        assert_eq!(stored_deposits(&pool).await, canonical, "after the depth-{depth} reorg");
        let canonical_paid = canonical_withdrawals(&devnet).await;
        assert_eq!(canonical_paid.len() as u64, depth, "every claim paid once on the canonical chain");
        assert_eq!(stored_withdrawals(&pool).await, canonical_paid, "after the depth-{depth} reorg");
        assert_eq!(escrow::reorg_count(&pool).await.unwrap(), depth, "one rewind per reorg");
    }
    // The stored history is the canonical one: the replacement deposits are there, the orphaned ones are not.
    let deposits = escrow::deposits(&pool).await.unwrap();
    assert_eq!(deposits.iter().filter(|x| x.depositor == users[1]).count(), 5);
    assert!(deposits.iter().all(|x| x.amount == U256::from(777_000_000u64) || x.depositor == users[0]));
}
