//! The `myco-bridge` binary: parses arguments, sets up logging, runs the command.

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    myco_bridge::net::install_crypto_provider();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cli.log_json {
        builder.json().init();
    } else {
        builder.init();
    }

    match cli.command {
        #[cfg(feature = "devnet")]
        Command::Demo(args) => cmd::demo::demo(args).await,
        Command::Run(args) => cmd::run::run(args).await,
        Command::Attest(args) => cmd::attest::attest(args).await,
        Command::Audit(args) => cmd::audit::audit(args).await,
        Command::Status(args) => cmd::status::status(args).await,
        Command::Deploy(args) => cmd::deploy::deploy(args).await,
        Command::Withdraw(args) => cmd::withdraw::withdraw(args).await,
        Command::Migrate(args) => cmd::status::migrate(args).await,
        #[cfg(feature = "devnet")]
        Command::Simulate(args) => cmd::simulate::simulate(args).await,
        Command::VerifyBatch(args) => cmd::batch::verify_batch(args).await,
        Command::InspectBatch(args) => cmd::batch::inspect_batch(args).await,
    }
}
