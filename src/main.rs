//! The `myco-bridge` binary: parses arguments, sets up logging, runs the command.

mod cli;

use clap::Parser;
use cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cli.log_json {
        builder.json().init();
    } else {
        builder.init();
    }

    match cli.command {
        Command::Demo { epochs, validators, seed, workdir, keep_chain } => {
            let options = myco_bridge::demo::Options {
                epochs,
                validators: validators as usize,
                seed,
                workdir,
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
        }
    }
    Ok(())
}
