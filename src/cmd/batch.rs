//! `myco-bridge verify-batch` and `inspect-batch`: one batch file on its own.

use std::process::ExitCode;

use anyhow::Context;
use myco_bridge::ingest::certificate::parse_keys;
use myco_bridge::ingest::summary::Summary;
use myco_bridge::ingest::{ValidatorSet, Verifier};
use myco_bridge::settle::ClaimDomain;
use myco_bridge::settle::outputs::EpochOutputs;
use myco_bridge::settle::pamm::Params;

use crate::cli::{InspectArgs, VerifyArgs};

pub async fn verify_batch(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut keys = Vec::new();
    if let Some(path) = &args.validators_file {
        let text = tokio::fs::read_to_string(path).await.with_context(|| format!("reading {}", path.display()))?;
        keys.extend(parse_keys(&text).map_err(anyhow::Error::msg)?);
    }
    keys.extend(parse_keys(&args.validator.join("\n")).map_err(anyhow::Error::msg)?);
    let validators = ValidatorSet::new(keys)?;
    let (n, quorum) = (validators.len(), validators.quorum());
    let verifier = Verifier::new(args.chain_id, validators, None);
    let bytes = tokio::fs::read(&args.file).await.with_context(|| format!("reading {}", args.file.display()))?;
    match verifier.verify_detached(&bytes) {
        Ok(batch) => {
            println!("VALID {}", args.file.display());
            println!("{}", Summary { batch: &batch, validators: n, quorum });
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("REJECTED {}: {} ({})", args.file.display(), e, e.reason());
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn inspect_batch(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let bytes = tokio::fs::read(&args.file).await.with_context(|| format!("reading {}", args.file.display()))?;
    let spot = alloy::primitives::U256::from_str_radix(&args.spot, 10).context("--spot: a decimal WAD price")?;
    let (state, verified) = match &args.validators_file {
        Some(path) => {
            let text = tokio::fs::read_to_string(path).await.with_context(|| format!("reading {}", path.display()))?;
            let verifier =
                Verifier::new(args.chain_id, ValidatorSet::new(parse_keys(&text).map_err(anyhow::Error::msg)?)?, None);
            match verifier.verify_detached(&bytes) {
                Ok(batch) => (batch.state, true),
                Err(e) => {
                    println!("REJECTED {}: {} ({})", args.file.display(), e, e.reason());
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        None => {
            let envelope = myco_bridge::ingest::Envelope::decode(&bytes)?;
            (myco_bridge::ingest::BatchState::from_automerge(&envelope.document)?, false)
        }
    };
    let (params, priced_by) = match (&args.rpc_url, args.escrow) {
        (Some(url), Some(escrow)) => {
            let provider = myco_bridge::chain::signing_provider(
                url.parse().context("--rpc-url")?,
                alloy::signers::local::PrivateKeySigner::random(),
            );
            let params = myco_bridge::chain::escrow_pamm_params(&provider, escrow).await.context("pammParams()")?;
            (params, format!("escrow {escrow}"))
        }
        _ => (Params::default(), "defaults".to_string()),
    };
    let domain = ClaimDomain { chain_id: args.chain_id, escrow: args.escrow.unwrap_or_default() };
    let outputs = EpochOutputs::compute(&state, spot, &params, domain)?;
    let mut value = outputs.to_json(&state);
    value["verified"] = serde_json::Value::Bool(verified);
    value["claim_domain"] = serde_json::json!({
        "chain_id": domain.chain_id,
        "escrow": domain.escrow.to_string(),
    });
    value["pamm_params"] = serde_json::json!({
        "from": priced_by,
        "alpha_bar": params.alpha_bar.to_string(),
        "xu_bar": params.xu_bar.to_string(),
        "theta_bar": params.theta_bar.to_string(),
        "decay": params.decay.to_string(),
    });
    if args.json {
        println!("{value}");
    } else {
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(ExitCode::SUCCESS)
}
