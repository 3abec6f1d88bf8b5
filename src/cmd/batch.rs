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
    if let Some(previous) = &args.previous {
        value["conservation"] = conservation(&args, previous, &state, &params, domain).await?;
    }
    if args.json {
        println!("{value}");
    } else {
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// The conservation audit of `state` against the previous batch at `previous` (a file, or a folder holding
/// `<epoch − 1>.batch`), with what a person holding the two batches can check: the ledger equations, the
/// vaults, the mints' signatures. Settlements are taken as listed (comparing them with what executed needs the
/// chain's `EpochSettled` logs, which the relayer and the auditor read).
async fn conservation(
    args: &InspectArgs,
    previous: &std::path::Path,
    state: &myco_bridge::ingest::BatchState,
    params: &Params,
    domain: ClaimDomain,
) -> anyhow::Result<serde_json::Value> {
    use myco_bridge::settle::conservation::{self, Context, Policy, Settlement};
    let path = if previous.is_dir() {
        previous.join(format!("{}.batch", state.epoch.saturating_sub(1)))
    } else {
        previous.to_path_buf()
    };
    let bytes = tokio::fs::read(&path).await.with_context(|| format!("reading {}", path.display()))?;
    let envelope = myco_bridge::ingest::Envelope::decode(&bytes)?;
    let before = myco_bridge::ingest::BatchState::from_automerge(&envelope.document)?;
    anyhow::ensure!(
        before.epoch + 1 == state.epoch,
        "{} is epoch {}, not the epoch before {}",
        path.display(),
        before.epoch,
        state.epoch
    );
    let settlement = myco_bridge::settle::EpochSettlement::compute(&before, params, domain);
    let mut paid = alloy::primitives::U256::ZERO;
    for claim in &settlement.claims {
        paid += claim.usdc_payout(&settlement.figures, params)?;
    }
    let listed = state.ledger.iter().flat_map(|l| &l.settlements);
    let mut policy = Policy::default();
    let attesters = match &args.labor_attesters_file {
        Some(file) => {
            let text = tokio::fs::read_to_string(file).await.with_context(|| format!("reading {}", file.display()))?;
            policy.issuance.attesters =
                parse_keys(&text).map_err(anyhow::Error::msg)?.into_iter().map(alloy::primitives::B256::from).collect();
            "from --labor-attesters-file"
        }
        None => {
            policy.issuance.attesters = state.ledger.iter().flat_map(|l| l.mints.iter().map(|m| m.attester)).collect();
            "not checked (signatures only): pass --labor-attesters-file"
        }
    };
    let context = Context {
        chain_id: args.chain_id,
        previous: Some(std::sync::Arc::new(before)),
        previous_paid_usd: paid * conservation::WAD_PER_USDC_UNIT,
        settlements: listed.map(|s| (s.epoch, Settlement::Pending(sorted(&s.fills)))).collect(),
        pamm: *params,
        ..Default::default()
    };
    let checked = serde_json::json!({
        "previous": path.display().to_string(),
        "mint_attesters": attesters,
        "settlements": "as listed: not compared with the chain's EpochSettled logs",
        "escrow_holdings": "not checked: needs a chain node and the store's unpaid claims",
        "limits_and_closed_intents": "not checked: need the earlier batches",
    });
    Ok(match conservation::audit(state, &context, &policy) {
        Ok(terms) => serde_json::json!({ "terms": terms.to_json(), "checked": checked }),
        Err(v) => serde_json::json!({
            "balanced": false,
            "violation": { "rule": v.kind.code(), "detail": v.detail },
            "checked": checked,
        }),
    })
}

fn sorted(fills: &[myco_bridge::ingest::document::SettledFill]) -> Vec<myco_bridge::ingest::document::SettledFill> {
    let mut fills = fills.to_vec();
    fills.sort();
    fills
}
