//! `myco-bridge run`: the relayer as a service, or with `--check` the preflight alone.

use std::process::ExitCode;

use myco_bridge::config::Settings;
use tokio_util::sync::CancellationToken;

use super::EXIT_HALTED;
use crate::cli::RunArgs;

pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args.config, std::env::vars())?;
    let signer = settings.signer(|name| std::env::var(name).ok())?;
    if args.check {
        return check(&args, &settings, signer).await;
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

/// The preflight: every check named, exit 0 only if all pass.
async fn check(
    args: &RunArgs,
    settings: &Settings,
    signer: alloy::signers::local::PrivateKeySigner,
) -> anyhow::Result<ExitCode> {
    let f = &settings.file;
    let account = signer.address();
    let url = f.chain.rpc_url.parse()?;
    let provider = myco_bridge::chain::signing_provider(url, signer);
    println!("configuration OK: {}", args.config.display());
    println!("  relayer account  {account}");
    println!("  chain            {} at {}", f.chain.chain_id, f.chain.rpc_url);
    println!("  validators       {} (quorum {})", settings.validators.len(), settings.validators.quorum());
    println!("  status page      http://{}/", f.api.listen);
    println!("preflight:");
    let report = myco_bridge::preflight::run(settings, account, &provider).await;
    print!("{report}");
    if report.passed() {
        println!("preflight OK");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("preflight FAILED: {}", report.failures());
        Ok(ExitCode::FAILURE)
    }
}
