//! `myco-bridge deploy`: the contracts, against the chain's USDC (`--usdc`) or a test one (`--test-usdc`), with
//! admin, guardian and relayer as separate roles; prints the `[chain]` section for the configuration.

use std::process::ExitCode;

use alloy::providers::Provider;
use anyhow::Context;
use myco_bridge::chain::deploy::{DeployConfig, Usdc};

use crate::cli::DeployArgs;

pub async fn deploy(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let key =
        std::env::var("MYCO_BRIDGE_ADMIN_KEY").context("MYCO_BRIDGE_ADMIN_KEY: the deployer's private key (hex)")?;
    let admin: alloy::signers::local::PrivateKeySigner =
        key.trim().parse().map_err(|_| anyhow::anyhow!("MYCO_BRIDGE_ADMIN_KEY is not a 32-byte hex private key"))?;
    anyhow::ensure!(
        args.guardian != admin.address(),
        "--guardian must not be the admin: the key that pauses and revokes must not also grant roles"
    );
    anyhow::ensure!(args.challenge_window > 0, "--challenge-window must be at least 1 second");
    anyhow::ensure!(
        args.outflow_limit > 0 && args.outflow_period > 0,
        "--outflow-limit and --outflow-period must be positive: a zero limit would pay nothing, ever"
    );
    let url = args.rpc_url.parse().context("--rpc-url")?;
    let provider = myco_bridge::chain::signing_provider(url, admin.clone());
    let chain_id = provider.get_chain_id().await.context("eth_chainId")?;
    let parse = |name: &str, text: &str| {
        alloy::primitives::U256::from_str_radix(text, 10).with_context(|| format!("{name}: a decimal WAD"))
    };
    let usdc = match (args.usdc, args.test_usdc) {
        (Some(address), false) => Usdc::Existing(address),
        (None, true) => Usdc::Test,
        _ => anyhow::bail!("give exactly one of --usdc ADDRESS (the chain's USDC) or --test-usdc"),
    };
    let n = args.attesters.len();
    let threshold = args.attestation_threshold.unwrap_or(n - (n - 1) / 3);
    anyhow::ensure!(
        threshold > n / 2 && threshold <= n,
        "--attestation-threshold {threshold} of {n} attesters: it must be more than half and at most all"
    );
    let config = DeployConfig {
        admin: admin.address(),
        attesters: args.attesters.clone(),
        attestation_threshold: threshold,
        guardian: args.guardian,
        relayer: args.relayer,
        challenge_window: args.challenge_window,
        admin_delay: args.admin_delay,
        curve_p0: parse("--curve-p0", &args.curve_p0)?,
        curve_m: parse("--curve-m", &args.curve_m)?,
        usdc,
        pamm: myco_bridge::settle::pamm::Params {
            alpha_bar: parse("--pamm-alpha-bar", &args.pamm_alpha_bar)?,
            xu_bar: parse("--pamm-xu-bar", &args.pamm_xu_bar)?,
            theta_bar: parse("--pamm-theta-bar", &args.pamm_theta_bar)?,
            decay: parse("--pamm-decay", &args.pamm_decay)?,
        },
        withdrawal_delay: args.withdrawal_delay,
        outflow_limit: args.outflow_limit,
        outflow_period: args.outflow_period,
    };
    config.pamm.check().map_err(|e| anyhow::anyhow!("P-AMM parameters: {e}"))?;
    let d = myco_bridge::chain::deploy::deploy(&provider, &config).await?;
    println!(
        "# deployed on chain {chain_id}; admin {}, guardian {}, relayer {}",
        admin.address(),
        args.guardian,
        args.relayer
    );
    if d.test_usdc {
        println!("# USDC {} is a TEST token anyone can mint (deployed because of --test-usdc)", d.usdc);
    } else {
        println!("# USDC {} is the existing token given with --usdc (6 decimals, checked)", d.usdc);
    }
    println!("# MYCO {}", d.myco);
    println!("[chain]");
    println!("rpc_url = \"{}\"", args.rpc_url);
    println!("chain_id = {chain_id}");
    println!("state_commitment = \"{}\"", d.state_commitment);
    println!("escrow = \"{}\"", d.escrow);
    println!("curve = \"{}\"", d.curve);
    println!("start_block = {}", d.start_block);
    Ok(ExitCode::SUCCESS)
}
