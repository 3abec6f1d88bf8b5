//! The devnet's deployment: the production deploy (`chain::deploy`) with a test USDC, and the relayer's
//! settlement float funded from it.

use alloy::primitives::{Address, U256};
use alloy::providers::DynProvider;

use super::Error;
use crate::chain::bindings::{MycoBondingCurve, TestUSDC};
pub use crate::chain::deploy::{DeployConfig, Deployment, Usdc, deploy as deploy_contracts};

/// Deploys everything with a test USDC (the devnet has no other).
pub async fn deploy(provider: &DynProvider, config: &DeployConfig) -> Result<Deployment, Error> {
    let config = DeployConfig { usdc: Usdc::Test, ..config.clone() };
    deploy_contracts(provider, &config).await.map_err(|e| Error::Deploy { what: "contracts", reason: e.to_string() })
}

async fn confirm<C: alloy::sol_types::SolCall>(
    what: &'static str,
    call: alloy::contract::SolCallBuilder<&&DynProvider, C>,
) -> Result<(), Error> {
    crate::chain::send_call(what, call).await.map(drop).map_err(|e| Error::Deploy { what, reason: e.to_string() })
}

/// Gives the settlement account `me` (the signer of `settler`, holding the curve's settlement role) its float:
/// `usdc` test USDC and an unlimited allowance for the curve; and MYCO, which the admin (`admin_address`, the
/// signer of `admin`) buys for it with `seed_usdc` through the curve's one-off float purchase, so net orders in
/// either direction can execute from the first epoch.
pub async fn fund_settlement_float(
    (admin, admin_address): (&DynProvider, Address),
    (settler, me): (&DynProvider, Address),
    deployment: &Deployment,
    usdc: u64,
    seed_usdc: u64,
) -> Result<(), Error> {
    let token = TestUSDC::new(deployment.usdc, settler);
    confirm("mint float USDC", token.mint(me, U256::from(usdc))).await?;
    confirm("approve curve", token.approve(deployment.curve, U256::MAX)).await?;
    let token = TestUSDC::new(deployment.usdc, admin);
    confirm("mint seed USDC", token.mint(admin_address, U256::from(seed_usdc))).await?;
    confirm("approve curve", token.approve(deployment.curve, U256::from(seed_usdc))).await?;
    let curve = MycoBondingCurve::new(deployment.curve, admin);
    confirm("buy float MYCO", curve.buyFloat(U256::from(seed_usdc), U256::ZERO, me)).await?;
    Ok(())
}
