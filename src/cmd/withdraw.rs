//! `myco-bridge withdraw --claim ID --api URL --rpc-url URL`: what an end user runs to get their USDC. It reads
//! the claim and its proof from a relayer's (or an auditor's) API, checks the node is on the API's chain, sends
//! `USDCEscrow.withdraw` with the user's own key, waits for the receipt and prints what was paid.

use std::process::ExitCode;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use anyhow::Context;
use myco_bridge::chain::bindings::USDCEscrow;
use myco_bridge::chain::bindings::escrow::IUSDCEscrow::WithdrawalClaim;
use myco_bridge::chain::bindings::escrow::IUSDCEscrow::Withdrawn;
use serde_json::Value;

use crate::cli::WithdrawArgs;

/// How often `--wait` asks the API whether the root is final.
const WAIT_POLL: Duration = Duration::from_secs(5);

pub async fn withdraw(args: WithdrawArgs) -> anyhow::Result<ExitCode> {
    let signer = super::signer(args.keystore.as_deref(), args.keystore_password_file.as_deref())?;
    let entry_url = format!("{}/api/v1/withdrawals/{}", args.api.trim_end_matches('/'), args.claim);
    let http = myco_bridge::net::client(Duration::from_secs(30))?;
    let mut entry = fetch(&http, &entry_url).await?;
    if entry["paid"].as_bool() == Some(true) {
        println!("claim {} is already paid (tx {})", args.claim, entry["paid_tx"]);
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        if entry["status"] == "cancelled" {
            println!(
                "claim {} does not pay: the guardian cancelled its epoch's commitment ({}); it pays again only if \
                 the admin undoes the cancellation{}, or once the validators reissue it in a later epoch",
                args.claim,
                entry["cancellation"]["reason"].as_str().unwrap_or("no reason given"),
                match entry["cancellation"]["uncancel_at"].as_u64() {
                    Some(at) => format!(" (scheduled: from chain time {at})"),
                    None => String::new(),
                }
            );
            return Ok(ExitCode::FAILURE);
        }
        if entry["final"].as_bool() == Some(true) {
            break;
        }
        if !args.wait {
            println!(
                "claim {} is not claimable yet: its root is {} (final at chain time {}); run again later or add --wait",
                args.claim, entry["status"], entry["final_at"]
            );
            return Ok(ExitCode::FAILURE);
        }
        tokio::time::sleep(WAIT_POLL).await;
        entry = fetch(&http, &entry_url).await?;
    }
    let (claim, proof) = parse_claim(&entry)?;
    let escrow: Address = serde_json::from_value(entry["escrow"].clone()).context("the entry's escrow address")?;
    let chain_id = entry["chain_id"].as_u64().context("the entry's chain_id")?;

    let sender = signer.address();
    let provider = myco_bridge::chain::signing_provider(args.rpc_url.parse().context("--rpc-url")?, signer);
    let node_chain = provider.get_chain_id().await.context("eth_chainId")?;
    anyhow::ensure!(node_chain == chain_id, "the node is on chain {node_chain}, the claim is for chain {chain_id}");
    let contract = USDCEscrow::new(escrow, &provider);
    let receipt = match args.to {
        Some(to) => {
            anyhow::ensure!(
                sender == claim.recipient,
                "--to: only the claim's recipient {} may send its USDC elsewhere; this key is {sender}",
                claim.recipient
            );
            myco_bridge::chain::send_call("withdrawTo", contract.withdrawTo(claim.clone(), proof, to)).await?
        }
        None => myco_bridge::chain::send_call("withdraw", contract.withdraw(claim.clone(), proof)).await?,
    };
    let paid = receipt.decoded_log::<Withdrawn>().context("no Withdrawn event in the receipt")?;
    println!(
        "paid {} USDC ({} units) to {} for claim {} in tx {} (block {})",
        alloy::primitives::utils::format_units(paid.usdcAmount, 6)?,
        paid.usdcAmount,
        args.to.unwrap_or(paid.recipient),
        claim.claimId,
        receipt.transaction_hash,
        receipt.block_number.unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

async fn fetch(http: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    let response = http.get(url).send().await.with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body: Value = response.json().await.with_context(|| format!("GET {url}: not JSON"))?;
    anyhow::ensure!(status.is_success(), "GET {url}: {status}: {}", body["error"]);
    Ok(body)
}

/// The claim tuple and proof from the API's entry.
fn parse_claim(entry: &Value) -> anyhow::Result<(WithdrawalClaim, Vec<B256>)> {
    let c = &entry["claim"];
    let amount = |field: &str| -> anyhow::Result<U256> {
        let text = c[field].as_str().with_context(|| format!("claim.{field}"))?;
        U256::from_str_radix(text, 10).with_context(|| format!("claim.{field}: {text:?}"))
    };
    let claim = WithdrawalClaim {
        claimId: amount("claimId")?,
        account: serde_json::from_value(c["account"].clone()).context("claim.account")?,
        recipient: serde_json::from_value(c["recipient"].clone()).context("claim.recipient")?,
        mycoAmount: amount("mycoAmount")?,
        flowPenalty: amount("flowPenalty")?,
        epoch: c["epoch"].as_u64().context("claim.epoch")?,
        priorRedeemed: amount("priorRedeemed")?,
    };
    let proof = serde_json::from_value(entry["proof"].clone()).context("proof")?;
    Ok((claim, proof))
}
