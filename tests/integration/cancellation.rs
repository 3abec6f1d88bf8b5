//! The guardian's cancellation of a commitment, followed off chain: the relayer's watcher reads
//! `CommitmentCancelled`, the claims of that epoch are `cancelled` (not `final`, whatever the clock says) and
//! counted in `/metrics`; the admin's undo (`scheduleUncancel`, `applyUncancel`) makes them claimable again.
//! Before, the API kept calling them final with a positive quote, and users sent withdrawals that reverted.

use alloy::providers::Provider;
use myco_bridge::chain::bindings::{StateCommitment, USDCEscrow};
use myco_bridge::devnet::ADMIN_ACCOUNT;
use myco_bridge::store::views::{self, WithdrawalStatus};
use myco_bridge::store::{claims, escrow};

use crate::common::{Harness, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_commitments_claims_are_cancelled_until_the_admin_undoes_it() {
    let mut h = Harness::start().await;
    let (d, admin) = (h.devnet.deployment, h.devnet.provider(ADMIN_ACCOUNT));
    let recipient = h.devnet.signer(5).address();
    let relayer = crate::common::commit_claims(&mut h, recipient, &[10]).await;
    let claim_id = claims::all(&h.pool).await.unwrap()[0].claim.claim_id;
    let status_now = || async {
        let head = admin.get_block_by_number(Default::default()).await.unwrap().unwrap();
        views::withdrawal_status(&h.pool, claim_id.into(), head.header.timestamp as i64).await.unwrap()
    };
    let totals_now = || async {
        let head = admin.get_block_by_number(Default::default()).await.unwrap().unwrap();
        views::totals(&h.pool, head.header.timestamp as i64).await.unwrap()
    };
    assert_eq!(status_now().await, Some(WithdrawalStatus::InRoot));

    // The guardian (the devnet's admin) cancels epoch 2's commitment inside its window.
    let hash = StateCommitment::new(d.state_commitment, &admin).commitmentHashOf(2).call().await.unwrap();
    let escrow_contract = USDCEscrow::new(d.escrow, &admin);
    let cancel = escrow_contract.cancelCommitment(2, hash, "figures under review".into());
    myco_bridge::chain::send_call("cancelCommitment", cancel).await.unwrap();
    wait_until("the watcher reads the cancellation", || async {
        status_now().await == Some(WithdrawalStatus::Cancelled)
    })
    .await;
    let standing = escrow::standing_cancellations(&h.pool).await.unwrap();
    assert_eq!(standing.len(), 1);
    assert_eq!((standing[0].epoch.0, standing[0].commitment_hash), (2, hash));
    assert_eq!(standing[0].reason.as_deref(), Some("figures under review"));
    let totals = totals_now().await;
    assert_eq!((totals.cancelled_commitments, totals.cancelled_claims), (1, 1));

    // Past finality it stays cancelled: the escrow would refuse it.
    h.devnet.advance_time(601).await.unwrap();
    assert_eq!(status_now().await, Some(WithdrawalStatus::Cancelled), "cancelled, not final");
    let listed = views::withdrawals(
        &h.pool,
        Some(WithdrawalStatus::Cancelled),
        None,
        i64::MAX,
        views::Page { offset: 0, limit: 10 },
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 1, "the list filters by the same status");

    // The admin undoes it (a delayed power; the devnet's admin delay is zero): claimable again.
    let schedule = escrow_contract.scheduleUncancel(hash);
    myco_bridge::chain::send_call("scheduleUncancel", schedule).await.unwrap();
    wait_until("the scheduled undo is read", || async {
        escrow::standing_cancellations(&h.pool).await.unwrap().first().is_some_and(|c| c.uncancel_at.is_some())
    })
    .await;
    myco_bridge::chain::send_call("applyUncancel", escrow_contract.applyUncancel(hash)).await.unwrap();
    wait_until("the undo is read", || async { status_now().await == Some(WithdrawalStatus::Final) }).await;
    let totals = totals_now().await;
    assert_eq!((totals.cancelled_commitments, totals.cancelled_claims), (0, 0));
    relayer.stop().await.unwrap();
}

/// A claim of a cancelled commitment, reissued by the validators under its own id in a later epoch: the claim
/// moves there (its row, what it owes, its proof), pays once through the new commitment, and the old leaf never
/// pays it again. The batch format's `reissues` names the epoch it comes from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_claim_reissued_under_its_own_id_moves_and_pays_once() {
    use myco_bridge::devnet::simulate::{EpochInputs, Reissue};
    use myco_bridge::ingest::document::WithdrawalRequest;

    let mut h = Harness::start().await;
    let (d, admin) = (h.devnet.deployment, h.devnet.provider(ADMIN_ACCOUNT));
    let recipient = h.devnet.signer(5).address();
    let relayer = crate::common::commit_claims(&mut h, recipient, &[10]).await;
    let old = claims::all(&h.pool).await.unwrap().remove(0);
    let hash = StateCommitment::new(d.state_commitment, &admin).commitmentHashOf(2).call().await.unwrap();
    let escrow_contract = USDCEscrow::new(d.escrow, &admin);
    let priced =
        escrow_contract.quoteWithdrawal(myco_bridge::chain::withdrawal_claim(&old.claim)).call().await.unwrap();
    let cancel = escrow_contract.cancelCommitment(2, hash, "figures under review".into());
    myco_bridge::chain::send_call("cancelCommitment", cancel).await.unwrap();

    // Epoch 3 reissues the claim under its own id.
    let c = &old.claim;
    let request = WithdrawalRequest {
        claim_id: c.claim_id,
        account: c.account,
        amount: c.myco_amount,
        recipient: c.recipient,
        reissues: Some(2),
    };
    let inputs = EpochInputs {
        timestamp: 3_000,
        reissues: vec![Reissue { request, priced_usdc: priced }],
        ..Default::default()
    };
    let third = h.network.next_batch(&inputs);
    // First a reissue that names the wrong epoch: refused with its reason, nothing moves.
    let mut wrong = third.state.clone();
    wrong.withdrawals[0].reissues = Some(1);
    let wrong = h.network.certify(wrong);
    let folder = myco_bridge::ingest::folder::FolderSource::new(&h.batch_dir);
    folder.publish(3, &wrong.bytes).await.unwrap();
    wait_until("the wrong reissue is quarantined", || async {
        myco_bridge::store::quarantine::all(&h.pool)
            .await
            .unwrap()
            .iter()
            .any(|q| q.reason == "inconsistent" && q.detail.contains("reissues epoch 1, but the claim is in epoch 2"))
    })
    .await;
    assert_eq!(claims::get(&h.pool, c.claim_id.into()).await.unwrap().unwrap().claim.epoch, 2, "nothing moved");
    folder.publish(3, &third.bytes).await.unwrap();
    wait_until("epoch 3 is committed", || async {
        myco_bridge::store::commitments::latest(&h.pool).await.unwrap().map(|e| e.0) == Some(3)
    })
    .await;
    let moved = claims::get(&h.pool, c.claim_id.into()).await.unwrap().expect("the claim is stored");
    assert_eq!(moved.claim.epoch, 3, "the claim moved to the reissuing epoch");
    assert_eq!(claims::all(&h.pool).await.unwrap().len(), 1, "one claim, not two");
    let origin = myco_bridge::store::reissues::origin(&h.pool, c.claim_id.into()).await.unwrap();
    assert_eq!(origin.len(), 1);
    assert_eq!(origin[0].0.0, 2);
    let owed = myco_bridge::store::owed::before(&h.pool, myco_bridge::ids::Epoch(4)).await.unwrap();
    let new_quote =
        escrow_contract.quoteWithdrawal(myco_bridge::chain::withdrawal_claim(&moved.claim)).call().await.unwrap();
    assert_eq!(owed, new_quote, "owed moved from epoch 2 to epoch 3, not doubled");

    // Past the window: it pays once through epoch 3; the old leaf is refused.
    let faucet = myco_bridge::chain::bindings::artifacts::TestUSDC::new(d.usdc, &admin);
    myco_bridge::chain::send_call("mint", faucet.mint(d.escrow, alloy::primitives::U256::from(1_000_000_000u64)))
        .await
        .unwrap();
    h.devnet.advance_time(601).await.unwrap();
    let user = h.devnet.provider(myco_bridge::devnet::FIRST_USER_ACCOUNT);
    let escrow_user = USDCEscrow::new(d.escrow, &user);
    let pay = escrow_user.withdraw(myco_bridge::chain::withdrawal_claim(&moved.claim), moved.proof.clone());
    myco_bridge::chain::send_call("withdraw", pay).await.expect("the reissued claim pays");
    let again = escrow_user.withdraw(myco_bridge::chain::withdrawal_claim(&old.claim), old.proof.clone());
    assert!(myco_bridge::chain::send_call("withdraw", again).await.is_err(), "the old leaf never pays it again");
    relayer.stop().await.unwrap();
}
