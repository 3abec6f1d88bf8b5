//! The `myco-bridge` binary: parses arguments, sets up logging, runs the command.

mod cli;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, Command, DeployArgs, InspectArgs, MigrateArgs, RunArgs, SimulateArgs, StatusArgs, VerifyArgs};
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
                    "\nThe chain and the status page ({}) stay up until Ctrl-C. Try:\n  node_modules/.bin/cast call {} \"latestEpoch()(uint64)\" --rpc-url {}",
                    finished.report.status_url, finished.report.deployment.state_commitment, finished.report.rpc_url
                );
                tokio::signal::ctrl_c().await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run(args).await,
        Command::Status(args) => status(args).await,
        Command::Deploy(args) => deploy(args).await,
        Command::Migrate(args) => migrate(args).await,
        Command::Simulate(args) => simulate(args).await,
        Command::VerifyBatch(args) => verify_batch(args).await,
        Command::InspectBatch(args) => inspect_batch(args).await,
    }
}

/// Exit code of a relayer that halted on an error needing an operator.
const EXIT_HALTED: u8 = 2;

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    use myco_bridge::config::Settings;
    let settings = Settings::load(&args.config, std::env::vars())?;
    let signer = settings.signer(|name| std::env::var(name).ok())?;
    if args.check {
        let f = &settings.file;
        println!("configuration OK: {}", args.config.display());
        println!("  relayer account  {}", signer.address());
        println!("  chain            {} at {}", f.chain.chain_id, f.chain.rpc_url);
        println!("  validators       {} (quorum {})", settings.validators.len(), settings.validators.quorum());
        println!("  database         {}", myco_bridge::store::Backend::of(&f.database.url)?.name());
        println!("  status page      http://{}/", f.api.listen);
        return Ok(ExitCode::SUCCESS);
    }
    let shutdown = CancellationToken::new();
    myco_bridge::service::cancel_on_signals(shutdown.clone());
    match myco_bridge::service::run(&settings, signer, shutdown).await? {
        myco_bridge::service::Ended::Shutdown => Ok(ExitCode::SUCCESS),
        myco_bridge::service::Ended::Halted(e) => {
            eprintln!("myco-bridge halted: {e}");
            Ok(ExitCode::from(EXIT_HALTED))
        }
    }
}

fn database_url(config: Option<&std::path::Path>, database: Option<String>) -> anyhow::Result<String> {
    match (database, config) {
        (Some(url), _) => Ok(url),
        (None, Some(path)) => Ok(myco_bridge::config::Settings::load(path, std::env::vars())?.file.database.url),
        (None, None) => anyhow::bail!("give --config or --database"),
    }
}

async fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    use myco_bridge::store::{self, clock, halts, mismatches, views};
    let pool = store::connect(&database_url(args.config.as_deref(), args.database)?).await?;
    // Finality is judged by the chain's clock as the relayer last saw it, as on the page and in /metrics.
    let clock = clock::get(&pool).await?;
    let chain_now = clock.map_or(0, |c| c.head_time);
    let t = views::totals(&pool, chain_now).await?;
    let open = mismatches::open(&pool).await?;
    let halt = halts::current(&pool).await?;
    let pending = views::withdrawals(&pool, None, None, chain_now, views::Page { offset: 0, limit: 500 })
        .await?
        .into_iter()
        .filter(|w| w.status != views::WithdrawalStatus::Paid)
        .collect::<Vec<_>>();
    let halted = halt
        .as_ref()
        .map(|h| h.reason.clone())
        .or((t.equivocations > 0).then(|| "an equivocation is on record".to_string()));
    if args.json {
        let value = serde_json::json!({
            "last_ingested_epoch": t.last_ingested_epoch,
            "last_committed_epoch": t.last_committed_epoch,
            "epochs_finalized": t.epochs_finalized,
            "chain": clock.map(|c| serde_json::json!({
                "head_block": c.head_block, "head_time": c.head_time, "finalized_block": c.finalized_block,
                "observed_at": c.observed_at,
            })),
            "pending_withdrawals": pending,
            "open_mismatches": open.iter().map(|m| serde_json::json!({ "kind": m.kind, "subject": m.subject, "detail": m.detail })).collect::<Vec<_>>(),
            "halted": halted,
            "halted_by_equivocation": t.equivocations > 0,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "epochs: ingested {}, committed {}, finalized {}",
            t.last_ingested_epoch, t.last_committed_epoch, t.epochs_finalized
        );
        match clock {
            Some(c) => println!(
                "chain: head block {} at chain time {}, observed {} s ago (finality is judged by chain time)",
                c.head_block,
                c.head_time,
                (store::now() - c.observed_at).max(0)
            ),
            None => println!("chain: not observed yet (nothing is final until the relayer has seen the chain)"),
        }
        println!("withdrawals pending: {}", pending.len());
        for w in &pending {
            println!("  claim {} (epoch {}): {}", w.claim_id, w.epoch, w.status.as_str());
        }
        println!("open mismatches: {}", open.len());
        for m in &open {
            println!("  {} {}: {}", m.kind, m.subject, m.detail);
        }
        if let Some(reason) = &halted {
            println!("HALTED: {reason}");
        }
    }
    Ok(if halted.is_some() { ExitCode::from(EXIT_HALTED) } else { ExitCode::SUCCESS })
}

async fn migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let url = database_url(args.config.as_deref(), args.database)?;
    myco_bridge::store::connect(&url).await?;
    println!("database schema is up to date ({})", myco_bridge::store::Backend::of(&url)?.name());
    Ok(ExitCode::SUCCESS)
}

async fn deploy(args: DeployArgs) -> anyhow::Result<ExitCode> {
    use alloy::providers::Provider;
    let key =
        std::env::var("MYCO_BRIDGE_ADMIN_KEY").context("MYCO_BRIDGE_ADMIN_KEY: the deployer's private key (hex)")?;
    let admin: alloy::signers::local::PrivateKeySigner =
        key.trim().parse().map_err(|_| anyhow::anyhow!("MYCO_BRIDGE_ADMIN_KEY is not a 32-byte hex private key"))?;
    let url = args.rpc_url.parse().context("--rpc-url")?;
    let provider = myco_bridge::chain::signing_provider(url, admin.clone());
    let chain_id = provider.get_chain_id().await.context("eth_chainId")?;
    let parse = |name: &str, text: &str| {
        alloy::primitives::U256::from_str_radix(text, 10).with_context(|| format!("{name}: a decimal WAD"))
    };
    let config = myco_bridge::devnet::deploy::DeployConfig {
        admin: admin.address(),
        relayer: args.relayer,
        challenge_window: args.challenge_window,
        curve_p0: parse("--curve-p0", &args.curve_p0)?,
        curve_m: parse("--curve-m", &args.curve_m)?,
    };
    let d = myco_bridge::devnet::deploy::deploy(&provider, &config).await?;
    println!("# deployed on chain {chain_id}; admin and guardian {}; relayer {}", admin.address(), args.relayer);
    println!("[chain]");
    println!("rpc_url = \"{}\"", args.rpc_url);
    println!("chain_id = {chain_id}");
    println!("state_commitment = \"{}\"", d.state_commitment);
    println!("escrow = \"{}\"", d.escrow);
    println!("curve = \"{}\"", d.curve);
    println!("start_block = {}", d.start_block);
    println!("# test USDC {}, MYCO {}", d.usdc, d.myco);
    Ok(ExitCode::SUCCESS)
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
