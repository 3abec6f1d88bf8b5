//! The relayer prices claims and decays the committed flow pressure with the P-AMM parameters the escrow was
//! deployed with, read from the escrow, never with a built-in copy: what it records as a claim's payout is what
//! the escrow quotes for it.

use alloy::primitives::U256;
use myco_bridge::chain::bindings::StateCommitment;
use myco_bridge::chain::bindings::artifacts::escrow::{
    IUSDCEscrow::{PammParams, Safety},
    USDCEscrow,
};
use myco_bridge::devnet::simulate::{EpochInputs, WithdrawalAsk};
use myco_bridge::devnet::{ADMIN_ACCOUNT, RELAYER_ACCOUNT};
use myco_bridge::ingest::document::CreditedDeposit;
use myco_bridge::ingest::folder::FolderSource;
use myco_bridge::settle::pamm::{self, Params};
use myco_bridge::settle::{CommittedFigures, WAD};
use myco_bridge::store::{claims, commitments, outputs};

use crate::common::{Harness, wait_until};

/// Far from the defaults (ᾱ 1.0, x̄_U 0.3, θ̄ 0.6, a two-day half-life) in every parameter that prices a claim.
fn unusual() -> Params {
    Params {
        alpha_bar: U256::from(2) * U256::from(WAD),
        xu_bar: U256::from(WAD / 10),
        theta_bar: U256::from(WAD * 8 / 10),
        // About a one-hour half-life.
        decay: U256::from(999_807_477_651_317_000u64),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_priced_with_the_escrows_own_parameters() {
    let mut h = Harness::start().await;
    let (d, admin) = (h.devnet.deployment, h.devnet.provider(ADMIN_ACCOUNT));
    let params = unusual();
    let escrow = USDCEscrow::deploy(
        &admin,
        d.usdc,
        d.state_commitment,
        h.devnet.signer(ADMIN_ACCOUNT).address(),
        alloy::primitives::aliases::U48::ZERO,
        alloy::primitives::Address::ZERO,
        PammParams {
            alphaBar: params.alpha_bar,
            xuBar: params.xu_bar,
            thetaBar: params.theta_bar,
            decay: params.decay,
        },
        Safety { withdrawalDelay: 0, outflowLimit: myco_bridge::devnet::DEVNET_OUTFLOW_LIMIT, outflowPeriod: 3_600 },
        alloy::primitives::Address::ZERO,
    )
    .await
    .unwrap();
    let config = myco_bridge::relayer::Config { escrow: *escrow.address(), ..h.config() };
    let config = h.attest_for(config, params).await;
    let escrow = myco_bridge::chain::bindings::USDCEscrow::new(*escrow.address(), &admin);

    // Epoch 1 credits 10,000 USDC and turns it into MYCO; epoch 2 writes 40% of the reserve off and redeems
    // 3,000 MYCO (below par); epoch 3, an hour later, redeems again against the decayed redemption level.
    let source = FolderSource::new(&h.batch_dir);
    let [holder, ..] = h.network.accounts()[..] else { panic!("accounts") };
    h.network.keep_passive(holder);
    let recipient = h.devnet.signer(5).address();
    let ask = |myco: u64| WithdrawalAsk { account: holder, amount: U256::from(myco) * U256::from(WAD), recipient };
    let deposit = CreditedDeposit { deposit_id: 1, account: holder, amount: U256::from(10_000_000_000u64) };
    let epochs = [
        EpochInputs { timestamp: 1_000, deposits: vec![deposit], convert: vec![holder], ..Default::default() },
        EpochInputs { timestamp: 2_000, withdrawals: vec![ask(3_000)], reserve_loss_bps: 4_000, ..Default::default() },
        EpochInputs { timestamp: 5_600, withdrawals: vec![ask(1_000), ask(500)], ..Default::default() },
    ];
    let mut states = Vec::new();
    for (epoch, inputs) in (1..).zip(&epochs) {
        let produced = h.network.next_batch(inputs);
        source.publish(epoch, &produced.bytes).await.unwrap();
        states.push(produced.state);
    }
    let relayer = h.spawn_relayer_with(RELAYER_ACCOUNT, config);
    wait_until("three epochs committed", || async {
        commitments::latest(&h.pool).await.unwrap().map(|e| e.0).is_some_and(|l| l >= 3)
    })
    .await;
    relayer.stop().await.unwrap();

    // The committed flow pressure is the redemption level decayed with the escrow's δ.
    let sc = StateCommitment::new(d.state_commitment, &admin);
    let third = &states[2].reserve;
    assert!(!third.redemption_level.is_zero(), "epoch 2's redemption is remembered");
    let elapsed = states[2].timestamp - third.redemption_updated;
    let ours = pamm::decay(third.redemption_level, params.decay, elapsed).unwrap();
    let default = pamm::decay(third.redemption_level, Params::default().decay, elapsed).unwrap();
    assert_ne!(ours, default, "the test must tell the two decays apart");
    let on_chain = sc.commitmentOf(3).call().await.unwrap().reserve;
    assert_eq!(on_chain.flowPressure, ours);

    // Every claim's recorded payout is what the escrow quotes for it, and differs from the default parameters'.
    let stored = claims::all(&h.pool).await.unwrap();
    assert_eq!(stored.len(), 3);
    let recorded = outputs::all(&h.pool).await.unwrap();
    let mut by_default = U256::ZERO;
    for epoch in [2, 3] {
        let c = sc.commitmentOf(epoch).call().await.unwrap().reserve;
        let figures = CommittedFigures {
            total_supply: c.totalSupply,
            total_reserve: c.totalReserve,
            flow_pressure: c.flowPressure,
        };
        let mut quoted = U256::ZERO;
        for s in stored.iter().filter(|s| s.claim.epoch == epoch) {
            let tuple = myco_bridge::chain::withdrawal_claim(&s.claim);
            let quote = escrow.quoteWithdrawal(tuple).call().await.unwrap();
            assert_eq!(s.claim.usdc_payout(&figures, &params).unwrap(), quote, "claim {}", s.claim.claim_id);
            quoted += quote;
            by_default += s.claim.usdc_payout(&figures, &Params::default()).unwrap();
        }
        let output = recorded.iter().find(|o| o.epoch == epoch).expect("outputs recorded");
        assert_eq!(output.payout_usdc, quoted, "epoch {epoch}'s recorded payout");
    }
    let total: U256 = recorded.iter().map(|o| o.payout_usdc).sum();
    assert_ne!(total, by_default, "the test must tell the two parameter sets apart");
}

/// A claim is shown claimable ("final") only once the escrow would pay it: its root final *and* the escrow's
/// withdrawal delay passed, as the escrow's `payableAt` reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_is_claimable_only_once_the_escrows_withdrawal_delay_has_passed() {
    use alloy::providers::Provider;
    use myco_bridge::store::views::{self, WithdrawalStatus};

    const DELAY: u64 = 3_600;
    let mut h = Harness::start().await;
    let (d, admin) = (h.devnet.deployment, h.devnet.provider(ADMIN_ACCOUNT));
    let p = Params::default();
    let escrow = USDCEscrow::deploy(
        &admin,
        d.usdc,
        d.state_commitment,
        h.devnet.signer(ADMIN_ACCOUNT).address(),
        alloy::primitives::aliases::U48::ZERO,
        alloy::primitives::Address::ZERO,
        PammParams { alphaBar: p.alpha_bar, xuBar: p.xu_bar, thetaBar: p.theta_bar, decay: p.decay },
        Safety {
            withdrawalDelay: DELAY,
            outflowLimit: myco_bridge::devnet::DEVNET_OUTFLOW_LIMIT,
            outflowPeriod: 3_600,
        },
        alloy::primitives::Address::ZERO,
    )
    .await
    .unwrap();
    let config = myco_bridge::relayer::Config { escrow: *escrow.address(), ..h.config() };
    let config = h.attest_for(config, p).await;

    let source = FolderSource::new(&h.batch_dir);
    let [holder, ..] = h.network.accounts()[..] else { panic!("accounts") };
    h.network.keep_passive(holder);
    let deposit = CreditedDeposit { deposit_id: 1, account: holder, amount: U256::from(1_000_000_000u64) };
    let ask = WithdrawalAsk { account: holder, amount: U256::from(10u64) * U256::from(WAD), recipient: d.usdc };
    let epochs = [
        EpochInputs { timestamp: 1_000, deposits: vec![deposit], convert: vec![holder], ..Default::default() },
        EpochInputs { timestamp: 2_000, withdrawals: vec![ask], ..Default::default() },
    ];
    for (epoch, inputs) in (1..).zip(&epochs) {
        source.publish(epoch, &h.network.next_batch(inputs).bytes).await.unwrap();
    }
    let relayer = h.spawn_relayer_with(RELAYER_ACCOUNT, config);
    wait_until("both epochs committed", || async {
        commitments::latest(&h.pool).await.unwrap().map(|e| e.0).is_some_and(|l| l >= 2)
    })
    .await;
    let claim_id = claims::all(&h.pool).await.unwrap()[0].claim.claim_id;
    let status_now = || async {
        let head = admin.get_block_by_number(Default::default()).await.unwrap().unwrap();
        views::withdrawal_status(&h.pool, claim_id.into(), head.header.timestamp as i64).await.unwrap()
    };

    // Past the challenge window: the root is final, but the escrow would refuse the claim for another hour.
    h.devnet.advance_time(601).await.unwrap();
    let escrow_view = myco_bridge::chain::bindings::USDCEscrow::new(*escrow.address(), &admin);
    let payable_at = escrow_view.payableAt(2).call().await.unwrap();
    wait_until("the relayer records when epoch 2 pays", || async {
        commitments::all(&h.pool).await.unwrap()[1].payable_at == Some(payable_at as i64)
    })
    .await;
    assert_eq!(status_now().await, Some(WithdrawalStatus::InRoot), "final but not yet payable");

    h.devnet.advance_time(DELAY).await.unwrap();
    assert_eq!(status_now().await, Some(WithdrawalStatus::Final), "payable: claimable");
    relayer.stop().await.unwrap();
}
