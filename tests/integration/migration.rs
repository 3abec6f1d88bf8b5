//! The escrow's way out, end to end on anvil, as the runbook's procedure runs it: claims committed and one paid
//! at the old escrow; a successor deployed naming it as predecessor; the admin schedules the migration and
//! anyone applies it once due; every USDC is at the successor, which pays the old unpaid claim with the proof
//! the relayer stored for the old escrow, refuses the paid one, and takes the next deposit id.

use alloy::primitives::U256;
use myco_bridge::chain::bindings::artifacts::escrow::{
    IUSDCEscrow::{PammParams, Safety},
    USDCEscrow as EscrowArtifact,
};
use myco_bridge::chain::bindings::{Erc20, USDCEscrow};
use myco_bridge::devnet::{ADMIN_ACCOUNT, FIRST_USER_ACCOUNT};
use myco_bridge::settle::pamm;
use myco_bridge::store::claims;

use crate::common::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_moves_every_usdc_and_the_successor_pays_each_old_claim_once() {
    let mut h = Harness::start().await;
    let (d, admin) = (h.devnet.deployment, h.devnet.provider(ADMIN_ACCOUNT));
    let recipient = h.devnet.signer(FIRST_USER_ACCOUNT + 1).address();
    let relayer = crate::common::commit_claims(&mut h, recipient, &[10, 20]).await;
    relayer.stop().await.unwrap();
    // The USDC behind the claims (the batch's credit stands for a deposit made on chain).
    let faucet = myco_bridge::chain::bindings::artifacts::TestUSDC::new(d.usdc, &admin);
    myco_bridge::chain::send_call("mint", faucet.mint(d.escrow, U256::from(1_000_000_000u64))).await.unwrap();
    h.devnet.advance_time(601).await.unwrap();
    let stored = claims::all(&h.pool).await.unwrap();
    let (paid, unpaid) = (&stored[0], &stored[1]);
    let user = h.devnet.provider(FIRST_USER_ACCOUNT + 1);
    let old = USDCEscrow::new(d.escrow, &user);
    assert!(pays(&user, d.escrow, paid).await, "the old escrow pays before the move");

    // The fixed code, deployed naming the old escrow as its predecessor, on the same token and commitment.
    let p = pamm::Params::default();
    let successor = EscrowArtifact::deploy(
        &admin,
        d.usdc,
        d.state_commitment,
        h.devnet.signer(ADMIN_ACCOUNT).address(),
        alloy::primitives::aliases::U48::ZERO,
        h.devnet.signer(ADMIN_ACCOUNT).address(),
        PammParams { alphaBar: p.alpha_bar, xuBar: p.xu_bar, thetaBar: p.theta_bar, decay: p.decay },
        Safety { withdrawalDelay: 0, outflowLimit: myco_bridge::devnet::DEVNET_OUTFLOW_LIMIT, outflowPeriod: 3_600 },
        d.escrow,
    )
    .await
    .unwrap();
    let next = USDCEscrow::new(*successor.address(), &user);
    assert!(!pays(&user, *successor.address(), unpaid).await, "nothing pays before the move");

    let usdc = Erc20::new(d.usdc, &admin);
    let held = usdc.balanceOf(d.escrow).call().await.unwrap();
    let old_admin = EscrowArtifact::new(d.escrow, &admin);
    myco_bridge::chain::send_call("scheduleMigration", old_admin.scheduleMigration(*successor.address()))
        .await
        .unwrap();
    myco_bridge::chain::send_call("applyMigration", old_admin.applyMigration()).await.unwrap();
    assert_eq!(old_admin.migratedTo().call().await.unwrap(), *successor.address());
    assert_eq!(usdc.balanceOf(d.escrow).call().await.unwrap(), U256::ZERO);
    assert_eq!(usdc.balanceOf(*successor.address()).call().await.unwrap(), held, "every USDC moved");

    assert!(!pays(&user, d.escrow, unpaid).await, "the old escrow is stopped");
    assert!(!pays(&user, *successor.address(), paid).await, "a paid claim stays paid");
    let quote = next.quoteWithdrawal(myco_bridge::chain::withdrawal_claim(&unpaid.claim)).call().await.unwrap();
    let before = usdc.balanceOf(recipient).call().await.unwrap();
    assert!(pays(&user, *successor.address(), unpaid).await, "an old claim pays with its old proof");
    assert_eq!(usdc.balanceOf(recipient).call().await.unwrap() - before, quote);
    assert_eq!(next.nextDepositId().call().await.unwrap(), old.nextDepositId().call().await.unwrap());

    // A relayer still configured for the old escrow does not mistake its empty balance for a reserve the escrow
    // cannot cover (a conservation violation kept for good): it halts saying what to reconfigure.
    let third = h.network.next_batch(&Default::default());
    myco_bridge::ingest::folder::FolderSource::new(&h.batch_dir).publish(3, &third.bytes).await.unwrap();
    let stale = h.spawn_relayer(myco_bridge::devnet::RELAYER_ACCOUNT);
    crate::common::wait_until("the stale relayer halts", || async { stale.task.is_finished() }).await;
    let ended = stale.stop().await.expect_err("it halts").to_string();
    assert!(ended.contains("migrated to") && ended.contains(&successor.address().to_string()), "{ended}");
    assert!(myco_bridge::store::ledger::violations(&h.pool).await.unwrap().is_empty(), "no violation recorded");
}

/// Whether `escrow` pays `c` (with the proof the relayer stored), sent from `provider`'s account.
async fn pays(
    provider: &alloy::providers::DynProvider,
    escrow: alloy::primitives::Address,
    c: &claims::StoredClaim,
) -> bool {
    let escrow = USDCEscrow::new(escrow, provider);
    let call = escrow.withdraw(myco_bridge::chain::withdrawal_claim(&c.claim), c.proof.clone());
    match myco_bridge::chain::send_call("withdraw", call).await {
        Ok(_) => true,
        Err(e) => {
            eprintln!("withdraw of claim {} at {}: {e}", c.claim.claim_id, escrow.address());
            false
        }
    }
}
