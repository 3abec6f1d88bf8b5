//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// myco-bridge: settles a BFT-certified Automerge payment network on an EVM chain.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true, env = "MYCO_LOG_JSON")]
    pub log_json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole bridge on a fresh local chain: anvil, contracts, simulated validators, the relayer, a
    /// deposit and a withdrawal; prints a summary and exits 0 when every step succeeded.
    Demo {
        /// Epochs to certify and commit.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        epochs: u64,
        /// Validators in the simulated network.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=100))]
        validators: u64,
        /// Seed for every key and random choice of the simulation.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Folder for batches and the relayer's database (recreated on each run).
        #[arg(long, default_value = ".demo")]
        workdir: PathBuf,
        /// Keep the local chain running after the summary (until Ctrl-C), to inspect it with `cast`.
        #[arg(long)]
        keep_chain: bool,
    },
}
