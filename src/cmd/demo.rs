//! `myco-bridge demo`: the whole bridge on a fresh local chain, with a summary at the end.

use std::process::ExitCode;

use crate::cli::devnet::DemoArgs;

pub async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let options = myco_bridge::demo::Options {
        epochs: args.epochs,
        validators: args.validators as usize,
        seed: args.seed,
        workdir: args.workdir,
        reserve_loss_bps: args.reserve_loss_bps,
        ..Default::default()
    };
    let finished = myco_bridge::demo::run(&options).await?;
    println!("{}", finished.report);
    if args.keep_chain {
        println!(
            "\nThe chain and the status page ({}) stay up until Ctrl-C. Try:\n  node_modules/.bin/cast call {} \"latestEpoch()(uint64)\" --rpc-url {}",
            finished.report.status_url, finished.report.deployment.state_commitment, finished.report.rpc_url
        );
        tokio::signal::ctrl_c().await?;
    }
    Ok(ExitCode::SUCCESS)
}
