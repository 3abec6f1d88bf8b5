//! The `myco-bridge` binary: parses arguments, sets up logging, runs the command.

mod cli;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, Command, InspectArgs, SimulateArgs, VerifyArgs};
use myco_bridge::devnet::serve::BatchServer;
use myco_bridge::devnet::simulate::Network;
use myco_bridge::devnet::stream::{self, Sink, StreamOptions};
use myco_bridge::ingest::certificate::{format_keys, parse_keys};
use myco_bridge::ingest::folder::FolderSource;
use myco_bridge::ingest::summary::Summary;
use myco_bridge::ingest::{ValidatorSet, Verifier};
use myco_bridge::settle::outputs::EpochOutputs;
use myco_bridge::settle::pamm::Params;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cli.log_json {
        builder.json().init();
    } else {
        builder.init();
    }

    match cli.command {
        Command::Demo { epochs, validators, seed, workdir, reserve_loss_bps, keep_chain } => {
            let options = myco_bridge::demo::Options {
                epochs,
                validators: validators as usize,
                seed,
                workdir,
                reserve_loss_bps,
                ..Default::default()
            };
            let finished = myco_bridge::demo::run(&options).await?;
            println!("{}", finished.report);
            if keep_chain {
                println!(
                    "\nThe chain stays up until Ctrl-C. Try:\n  node_modules/.bin/cast call {} \"latestEpoch()(uint64)\" --rpc-url {}",
                    finished.report.deployment.state_commitment, finished.report.rpc_url
                );
                tokio::signal::ctrl_c().await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate(args) => simulate(args).await,
        Command::VerifyBatch(args) => verify_batch(args).await,
        Command::InspectBatch(args) => inspect_batch(args).await,
    }
}

async fn simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut network = Network::new(args.chain_id, args.seed, args.validators as usize, args.accounts);
    let keys = format_keys(&network.validator_keys());
    let shutdown = CancellationToken::new();
    let sink = match (&args.out, args.listen) {
        (Some(dir), _) => {
            tokio::fs::create_dir_all(dir).await.with_context(|| format!("creating {}", dir.display()))?;
            tokio::fs::write(dir.join("validators.txt"), &keys).await?;
            println!("writing batches to {} (validator keys in validators.txt)", dir.display());
            Sink::Folder(FolderSource::new(dir))
        }
        (None, Some(addr)) => {
            let server = BatchServer::start(addr, shutdown.clone()).await.with_context(|| format!("binding {addr}"))?;
            println!("serving batches at {}v1/batches/<epoch>", server.url());
            Sink::Http(server)
        }
        (None, None) => unreachable!("clap requires --out or --listen"),
    };
    print!("validators (chain {}, quorum {}):\n{keys}", args.chain_id, 2 * args.validators / 3 + 1);
    let options = StreamOptions {
        epochs: (args.epochs > 0).then_some(args.epochs),
        interval: Duration::from_millis(args.interval_ms),
        deposits: args.deposits,
        transfers: args.transfers,
        intents: args.intents,
        withdrawals: args.withdrawals,
        faults: args.faults.into_iter().collect(),
    };
    let stop = shutdown.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.cancel();
        }
    });
    let produced = stream::run(&mut network, &sink, &options, shutdown.clone()).await?;
    println!("produced {produced} epochs");
    if matches!(sink, Sink::Http(_)) && !shutdown.is_cancelled() {
        println!("still serving until Ctrl-C");
        shutdown.cancelled().await;
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify_batch(args: VerifyArgs) -> anyhow::Result<ExitCode> {
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

async fn inspect_batch(args: InspectArgs) -> anyhow::Result<ExitCode> {
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
    let outputs = EpochOutputs::compute(&state, spot, &Params::default())?;
    let mut value = outputs.to_json(&state);
    value["verified"] = serde_json::Value::Bool(verified);
    if args.json {
        println!("{value}");
    } else {
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(ExitCode::SUCCESS)
}
