//! Deploys the bridge's contracts and wires their roles: for a real chain against its existing USDC, or, when
//! asked, with a freely mintable test USDC. Admin, guardian and relayer are separate roles, and may be (should
//! be, in production) separate keys: the admin grants roles and unpauses, the guardian revokes and pauses, the
//! relayer commits and executes net orders.

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use serde::Serialize;

use super::bindings::Erc20;

/// Why a deployment failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A deployment or role transaction failed.
    #[error("deploying {what}: {reason}")]
    Contract {
        /// The contract or step.
        what: &'static str,
        /// Why (a decoded revert where there is one).
        reason: String,
    },
    /// This build has no contract bytecode: forge could not run when it was compiled.
    #[error(
        "this build has no contract bytecode (forge could not run when it was compiled): install the toolchain with \
         `npm ci` and rebuild to deploy"
    )]
    NoBytecode,
    /// The USDC address given is not a 6-decimal token.
    #[error("--usdc {address}: {reason}")]
    NotUsdc {
        /// The address.
        address: Address,
        /// What is wrong with it.
        reason: String,
    },
}

/// Which USDC the escrow and the curve hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usdc {
    /// The chain's own USDC at this address (checked: code present, 6 decimals).
    Existing(Address),
    /// A freely mintable 6-decimal test token, deployed here (test networks only).
    Test,
}

/// What to deploy.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// Holds every admin role (the deploying key).
    pub admin: Address,
    /// May revoke commitments and pause.
    pub guardian: Address,
    /// Executes net curve orders (and pays gas for commitments, which anyone may submit with a quorum's
    /// signatures).
    pub relayer: Address,
    /// The validators' attesters (secp256k1 addresses, any order: deployed ascending).
    pub attesters: Vec<Address>,
    /// Attestations a commitment needs: more than half of the attesters.
    pub attestation_threshold: usize,
    /// Seconds a commitment stays revocable.
    pub challenge_window: u64,
    /// Seconds an admin transfer waits between its two steps (OpenZeppelin's `AccessControlDefaultAdminRules`).
    pub admin_delay: u64,
    /// Curve price at zero supply (WAD).
    pub curve_p0: U256,
    /// Curve slope (WAD).
    pub curve_m: U256,
    /// The USDC to use.
    pub usdc: Usdc,
    /// The P-AMM parameters the escrow pays by (fixed at deployment; everyone else reads them from it).
    pub pamm: crate::settle::pamm::Params,
    /// Seconds between a root becoming final and its first payment (the guardian's time to cancel it).
    pub withdrawal_delay: u64,
    /// USDC (6 decimals) that may leave the escrow per `outflow_period`.
    pub outflow_limit: u128,
    /// The outflow limit's refill period in seconds.
    pub outflow_period: u64,
}

/// Addresses of a deployment.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Deployment {
    /// The 6-decimal USDC.
    pub usdc: Address,
    /// Whether `usdc` is the mintable test token deployed here.
    pub test_usdc: bool,
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

#[cfg(contract_bytecode)]
fn failed(what: &'static str) -> impl Fn(alloy::contract::Error) -> Error {
    move |e| Error::Contract { what, reason: super::decode_revert(&e).unwrap_or_else(|| e.to_string()) }
}

/// Checks that `address` holds a 6-decimal token.
pub async fn check_usdc(provider: &DynProvider, address: Address) -> Result<(), Error> {
    let not_usdc = |reason: String| Error::NotUsdc { address, reason };
    let code = provider.get_code_at(address).await.map_err(|e| not_usdc(format!("eth_getCode: {e}")))?;
    if code.is_empty() {
        return Err(not_usdc("no contract at this address".into()));
    }
    let decimals = Erc20::new(address, provider).decimals().call().await;
    match decimals {
        Ok(6) => Ok(()),
        Ok(d) => Err(not_usdc(format!("has {d} decimals, USDC has 6"))),
        Err(e) => Err(not_usdc(format!("decimals() failed: {e}"))),
    }
}

/// Deploys everything from the provider's signer (which must be `config.admin`) and grants the roles.
#[cfg(not(contract_bytecode))]
pub async fn deploy(_provider: &DynProvider, _config: &DeployConfig) -> Result<Deployment, Error> {
    Err(Error::NoBytecode)
}

/// Deploys everything from the provider's signer (which must be `config.admin`) and grants the roles.
#[cfg(contract_bytecode)]
pub async fn deploy(provider: &DynProvider, config: &DeployConfig) -> Result<Deployment, Error> {
    use super::bindings::artifacts::escrow::{
        IUSDCEscrow::{PammParams, Safety},
        USDCEscrow,
    };
    use super::bindings::artifacts::{TestUSDC, curve::MycoBondingCurve, state_commitment::StateCommitment};

    let start_block = provider
        .get_block_number()
        .await
        .map_err(|e| Error::Contract { what: "block number", reason: e.to_string() })?;
    let (usdc, test_usdc) = match config.usdc {
        Usdc::Existing(address) => {
            check_usdc(provider, address).await?;
            (address, false)
        }
        Usdc::Test => (*TestUSDC::deploy(provider).await.map_err(failed("TestUSDC"))?.address(), true),
    };
    let admin_delay = alloy::primitives::Uint::<48, 1>::saturating_from(config.admin_delay);
    let mut attesters = config.attesters.clone();
    attesters.sort();
    attesters.dedup();
    let threshold = U256::from(config.attestation_threshold);
    // Every role is granted in the constructors: a grant made afterwards waits the admin delay.
    let sc = StateCommitment::deploy(
        provider,
        config.admin,
        admin_delay,
        config.guardian,
        config.challenge_window,
        attesters,
        threshold,
    )
    .await
    .map_err(failed("StateCommitment"))?;
    // The curve deploys MYCO and is its only minter, for good.
    let curve = MycoBondingCurve::deploy(
        provider,
        usdc,
        config.curve_p0,
        config.curve_m,
        config.admin,
        admin_delay,
        *sc.address(),
        config.relayer,
    )
    .await
    .map_err(failed("MycoBondingCurve"))?;
    let myco = curve.myco().call().await.map_err(failed("myco"))?;
    let p = &config.pamm;
    let params = PammParams { alphaBar: p.alpha_bar, xuBar: p.xu_bar, thetaBar: p.theta_bar, decay: p.decay };
    let safety = Safety {
        withdrawalDelay: config.withdrawal_delay,
        outflowLimit: config.outflow_limit,
        outflowPeriod: config.outflow_period,
    };
    let escrow = USDCEscrow::deploy(
        provider,
        usdc,
        *sc.address(),
        config.admin,
        admin_delay,
        config.guardian,
        params,
        safety,
        Address::ZERO,
    )
    .await
    .map_err(failed("USDCEscrow"))?;

    Ok(Deployment {
        usdc,
        test_usdc,
        myco,
        curve: *curve.address(),
        state_commitment: *sc.address(),
        escrow: *escrow.address(),
        start_block,
    })
}
