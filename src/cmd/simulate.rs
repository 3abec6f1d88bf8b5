//! `myco-bridge simulate`: a simulated validator network certifying batches into a folder or over HTTP. With
//! `--rpc-url` and `--escrow` it credits the escrow's real deposits instead of made-up ones; writing into a folder
//! that already holds batches, it continues after the last one instead of rewriting them.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use myco_bridge::devnet::attesters::RunningAttester;
use myco_bridge::devnet::serve::BatchServer;
use myco_bridge::devnet::simulate::{Network, Sizes};
use myco_bridge::devnet::stream::{self, Deposits, EscrowFeed, Sink, StreamOptions};
use myco_bridge::ingest::certificate::format_keys;
use myco_bridge::ingest::folder::FolderSource;
use myco_bridge::ingest::{SourceConfig, ValidatorSet};
use tokio_util::sync::CancellationToken;

use crate::cli::devnet::SimulateArgs;

pub async fn simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let exact = args.exact.then_some(Sizes {
        balances: args.accounts,
        intents: args.intents,
        withdrawals: args.withdrawals,
        deposits: args.deposits,
    });
    if let Some(sizes) = exact {
        sizes.check().context("--exact")?;
    }
    let shutdown = CancellationToken::new();
    // An exact network keys only its makers (derived as it needs them), not every account.
    let (validators, accounts) = (args.validators as usize, if args.exact { 0 } else { args.accounts });
    let (mut network, history) = match &args.out {
        Some(dir) => {
            let history =
                stream::history(&FolderSource::new(dir)).await.with_context(|| format!("reading {}", dir.display()))?;
            (Network::resume(args.chain_id, args.seed, validators, accounts, &history), history)
        }
        None => (Network::new(args.chain_id, args.seed, validators, accounts), Vec::new()),
    };
    // A new run writes version 2 batches when it can read the curve's settlements; a resumed one keeps its version.
    if args.curve.is_some() && network.epoch() == 0 {
        network = network.with_ledger();
    }
    let keys = format_keys(&network.validator_keys());
    let (sink, source) = match (&args.out, args.listen) {
        (Some(dir), _) => {
            tokio::fs::create_dir_all(dir).await.with_context(|| format!("creating {}", dir.display()))?;
            tokio::fs::write(dir.join("validators.txt"), &keys).await?;
            match network.epoch() {
                0 => println!("writing batches to {} (validator keys in validators.txt)", dir.display()),
                last => println!("resuming {} after epoch {last} (its batches are kept as they are)", dir.display()),
            }
            (Sink::Folder(FolderSource::new(dir)), SourceConfig::Folder(dir.clone()))
        }
        (None, Some(addr)) => {
            let server = BatchServer::start(addr, shutdown.clone()).await.with_context(|| format!("binding {addr}"))?;
            println!("serving batches at {}v1/batches/<epoch>", server.url());
            let source = SourceConfig::Http { endpoints: vec![server.url()], timeout: Duration::from_secs(5) };
            (Sink::Http(server), source)
        }
        (None, None) => unreachable!("clap requires --out or --listen"),
    };
    print!("validators (chain {}, quorum {}):\n{keys}", args.chain_id, 2 * args.validators / 3 + 1);
    let attesters = match args.attest_for {
        Some(state_commitment) => attesters(&args, &network, source, state_commitment).await?,
        None => Vec::new(),
    };
    let credited = history.iter().flat_map(|(_, s)| s.deposits.iter().map(|d| d.deposit_id)).max().unwrap_or(0);
    let deposits = deposits_feed(&args, credited).await?;
    let settlements = settlement_feed(&args)?;
    let mut options = StreamOptions {
        epochs: (args.epochs > 0).then_some(network.epoch() + args.epochs),
        interval: Duration::from_millis(args.interval_ms),
        deposits,
        transfers: args.transfers,
        intents: args.intents,
        withdrawals: args.withdrawals,
        faults: args.faults.into_iter().collect(),
        settlements,
        exact,
    };
    let stop = shutdown.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.cancel();
        }
    });
    let first = network.epoch() + 1;
    let last = stream::run(&mut network, &sink, &mut options, shutdown.clone()).await?;
    println!("produced epochs {first} to {last}");
    if (matches!(sink, Sink::Http(_)) || !attesters.is_empty()) && !shutdown.is_cancelled() {
        println!("still serving until Ctrl-C");
        shutdown.cancelled().await;
    }
    for attester in attesters {
        if let Some(Err(e)) = attester.stop().await {
            anyhow::bail!("an attester halted: {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One attester per validator, keys from the seed, reading what this simulator publishes.
async fn attesters(
    args: &SimulateArgs,
    network: &Network,
    source: SourceConfig,
    state_commitment: alloy::primitives::Address,
) -> anyhow::Result<Vec<RunningAttester>> {
    let (Some(url), Some(escrow)) = (&args.rpc_url, args.escrow) else {
        anyhow::bail!("--attest-for needs --rpc-url and --escrow");
    };
    let provider = myco_bridge::chain::signing_provider(
        url.parse().context("--rpc-url")?,
        alloy::signers::local::PrivateKeySigner::random(),
    );
    let params =
        myco_bridge::chain::escrow_pamm_params(&provider, escrow).await.context("the escrow's pammParams()")?;
    let config = myco_bridge::attest::service::Config {
        reader: myco_bridge::reader::Config {
            chain_id: args.chain_id,
            validators: ValidatorSet::new(network.validator_keys())?,
            source,
            document_limits: Default::default(),
            params,
            escrow,
        },
        domain: myco_bridge::attest::AttestationDomain { chain_id: args.chain_id, state_commitment },
        poll_interval: Duration::from_millis(100),
        // With --curve the attesters audit conservation as the devnet's relayer does.
        ledger: args.curve.map(|curve| myco_bridge::attest::service::LedgerChain {
            provider: provider.clone(),
            curve,
            from_block: args.from_block,
            policy: myco_bridge::devnet::conservation_policy(),
        }),
    };
    let mut running = Vec::new();
    println!("attesters (for StateCommitment {state_commitment}):");
    for key in myco_bridge::devnet::attesters::keys(args.seed, args.validators as usize) {
        let attester = RunningAttester::start(key, config.clone(), "sqlite::memory:").await?;
        println!("  {} at {}", attester.address, attester.url);
        running.push(attester);
    }
    Ok(running)
}

/// With --curve, where a version 2 network reads the settlements it applies.
fn settlement_feed(args: &SimulateArgs) -> anyhow::Result<Option<myco_bridge::devnet::stream::SettlementFeed>> {
    let (Some(curve), Some(url)) = (args.curve, &args.rpc_url) else { return Ok(None) };
    let provider = myco_bridge::chain::signing_provider(
        url.parse().context("--rpc-url")?,
        alloy::signers::local::PrivateKeySigner::random(),
    );
    println!("writing version 2 batches: applying the settlements of curve {curve}");
    Ok(Some(myco_bridge::devnet::stream::SettlementFeed { provider, curve, from_block: args.from_block }))
}

/// Where the simulated validators' deposits come from: the escrow's real ones (after deposit id `credited`) or
/// synthetic ones.
async fn deposits_feed(args: &SimulateArgs, credited: u64) -> anyhow::Result<Deposits> {
    Ok(match (&args.rpc_url, args.escrow) {
        (Some(url), Some(escrow)) => {
            let provider = myco_bridge::chain::signing_provider(
                url.parse().context("--rpc-url")?,
                alloy::signers::local::PrivateKeySigner::random(),
            );
            println!("crediting the deposits of escrow {escrow} (after deposit id {credited})");
            let params = myco_bridge::chain::escrow_pamm_params(&provider, escrow).await.context("pammParams()")?;
            if params != myco_bridge::settle::pamm::Params::default() {
                println!(
                    "WARNING: escrow {escrow} pays by P-AMM parameters other than the defaults the simulated \
                 validators model ({params:?}); their reserve will drift from what it pays"
                );
            }
            Deposits::Escrow(EscrowFeed::new(
                provider,
                escrow,
                args.from_block,
                credited,
                args.confirmations,
                myco_bridge::chain::logs::DEFAULT_MAX_LOG_RANGE,
            ))
        }
        (None, None) => Deposits::Synthetic { per_epoch: args.deposits, next_id: credited + 1 },
        _ => anyhow::bail!("--rpc-url and --escrow go together"),
    })
}
