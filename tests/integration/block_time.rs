//! The core flow on a chain with real blocks (anvil `--block-time 1`) rather than automine: epochs are committed
//! and settled, and a claim is paid once its root is final. Every wait for a receipt now spans whole blocks.

use alloy::primitives::U256;
use myco_bridge::chain::bindings::USDCEscrow;
use myco_bridge::devnet::{ADMIN_ACCOUNT, FIRST_USER_ACCOUNT};
use myco_bridge::store::claims;

use crate::common::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_chain_with_one_second_blocks_epochs_commit_and_a_claim_pays() {
    let mut h = Harness::start_with_block_time().await;
    let (d, admin) = (h.devnet.deployment, h.devnet.provider(ADMIN_ACCOUNT));
    let recipient = h.devnet.signer(FIRST_USER_ACCOUNT + 1).address();
    let relayer = crate::common::commit_claims(&mut h, recipient, &[10]).await;
    let faucet = myco_bridge::chain::bindings::artifacts::TestUSDC::new(d.usdc, &admin);
    myco_bridge::chain::send_call("mint", faucet.mint(d.escrow, U256::from(1_000_000_000u64))).await.unwrap();
    h.devnet.advance_time(601).await.unwrap();
    let claim = claims::all(&h.pool).await.unwrap().remove(0);
    let user = h.devnet.provider(FIRST_USER_ACCOUNT + 1);
    let escrow = USDCEscrow::new(d.escrow, &user);
    let call = escrow.withdraw(myco_bridge::chain::withdrawal_claim(&claim.claim), claim.proof.clone());
    let receipt = myco_bridge::chain::send_call("withdraw", call).await.expect("the claim pays");
    assert!(receipt.status());
    relayer.stop().await.unwrap();
}
