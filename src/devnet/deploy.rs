//! Deploys the bridge's contracts and wires their roles.

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use serde::Serialize;

use super::Error;
use crate::chain::bindings::{MycoBondingCurve, MycoToken, StateCommitment, TestUSDC, USDCEscrow};

/// What to deploy.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// Holds every admin role and the guardian roles.
    pub admin: Address,
    /// May commit roots and execute net curve orders.
    pub relayer: Address,
    /// Seconds a commitment stays revocable.
    pub challenge_window: u64,
    /// Curve price at zero supply (WAD).
    pub curve_p0: U256,
    /// Curve slope (WAD).
    pub curve_m: U256,
}

/// Addresses of a deployment.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Deployment {
    /// The 6-decimal test USDC.
    pub usdc: Address,
    /// MYCO.
    pub myco: Address,
    /// The bonding curve.
    pub curve: Address,
    /// StateCommitment.
    pub state_commitment: Address,
    /// USDCEscrow.
    pub escrow: Address,
    /// Block of the first deployment transaction; the watcher starts here.
    pub start_block: u64,
}

fn failed(what: &'static str) -> impl Fn(alloy::contract::Error) -> Error {
    move |e| Error::Deploy { what, reason: crate::chain::decode_revert(&e).unwrap_or_else(|| e.to_string()) }
}

async fn confirm<C: alloy::sol_types::SolCall>(
    what: &'static str,
    call: alloy::contract::SolCallBuilder<&&DynProvider, C>,
) -> Result<(), Error> {
    crate::chain::send_call(what, call).await.map(drop).map_err(|e| Error::Deploy { what, reason: e.to_string() })
}

/// Deploys everything from the provider's signer (which must be `config.admin`) and grants the roles.
pub async fn deploy(provider: &DynProvider, config: &DeployConfig) -> Result<Deployment, Error> {
    let start_block =
        provider.get_block_number().await.map_err(|e| Error::Deploy { what: "block number", reason: e.to_string() })?;
    let usdc = TestUSDC::deploy(provider).await.map_err(failed("TestUSDC"))?;
    let myco = MycoToken::deploy(provider, config.admin).await.map_err(failed("MycoToken"))?;
    let curve = MycoBondingCurve::deploy(
        provider,
        *usdc.address(),
        *myco.address(),
        config.curve_p0,
        config.curve_m,
        config.admin,
    )
    .await
    .map_err(failed("MycoBondingCurve"))?;
    let sc = StateCommitment::deploy(provider, config.admin, config.challenge_window)
        .await
        .map_err(failed("StateCommitment"))?;
    let escrow = USDCEscrow::deploy(provider, *usdc.address(), *sc.address(), config.admin)
        .await
        .map_err(failed("USDCEscrow"))?;

    let minter = myco.MINTER_ROLE().call().await.map_err(failed("MINTER_ROLE"))?;
    confirm("grant MINTER_ROLE", myco.grantRole(minter, *curve.address())).await?;
    let settlement = curve.SETTLEMENT_ROLE().call().await.map_err(failed("SETTLEMENT_ROLE"))?;
    confirm("grant SETTLEMENT_ROLE", curve.grantRole(settlement, config.relayer)).await?;
    let relayer = sc.RELAYER_ROLE().call().await.map_err(failed("RELAYER_ROLE"))?;
    confirm("grant RELAYER_ROLE", sc.grantRole(relayer, config.relayer)).await?;
    let guardian = sc.GUARDIAN_ROLE().call().await.map_err(failed("GUARDIAN_ROLE"))?;
    confirm("grant GUARDIAN_ROLE", sc.grantRole(guardian, config.admin)).await?;
    let escrow_guardian = escrow.GUARDIAN_ROLE().call().await.map_err(failed("GUARDIAN_ROLE"))?;
    confirm("grant escrow GUARDIAN_ROLE", escrow.grantRole(escrow_guardian, config.admin)).await?;

    Ok(Deployment {
        usdc: *usdc.address(),
        myco: *myco.address(),
        curve: *curve.address(),
        state_commitment: *sc.address(),
        escrow: *escrow.address(),
        start_block,
    })
}

/// Gives the settlement account `me` (the provider's signer, holding the curve's settlement role) its float: `usdc`
/// test USDC, an unlimited allowance for the curve, and MYCO bought with `seed_usdc` of it, so net orders in
/// either direction can execute from the first epoch.
pub async fn fund_settlement_float(
    provider: &DynProvider,
    deployment: &Deployment,
    me: Address,
    usdc: u64,
    seed_usdc: u64,
) -> Result<(), Error> {
    let token = TestUSDC::new(deployment.usdc, provider);
    confirm("mint float USDC", token.mint(me, U256::from(usdc))).await?;
    confirm("approve curve", token.approve(deployment.curve, U256::MAX)).await?;
    let curve = MycoBondingCurve::new(deployment.curve, provider);
    confirm("buy float MYCO", curve.buy(U256::from(seed_usdc), U256::ZERO, me)).await?;
    Ok(())
}
