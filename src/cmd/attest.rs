//! `myco-bridge attest`: the attester beside a validator, as a service.

use std::process::ExitCode;
use std::time::Duration;

use myco_bridge::attest::AttestationDomain;
use myco_bridge::attest::service::{self, Attester};
use myco_bridge::config::Settings;
use tokio_util::sync::CancellationToken;

use super::EXIT_HALTED;
use crate::cli::AttestArgs;

pub async fn attest(args: AttestArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args.config, std::env::vars())?;
    let key = settings.attester_signer(|name| std::env::var(name).ok())?;
    let f = &settings.file;
    // Reads only: the escrow's P-AMM parameters (the committed flow pressure decays with them).
    let provider = myco_bridge::chain::signing_provider(f.chain.rpc_url.parse()?, key.clone());
    let params = super::escrow_params(&provider, f.chain.escrow).await?;
    let pool = myco_bridge::store::connect(&f.database.url).await?;
    let config = service::Config {
        reader: settings.reader(params),
        domain: AttestationDomain { chain_id: f.chain.chain_id, state_commitment: f.chain.state_commitment },
        poll_interval: Duration::from_millis(f.relayer.poll_interval_ms),
        ledger: Some(service::LedgerChain {
            provider: provider.clone(),
            curve: f.chain.curve,
            from_block: f.chain.start_block,
            policy: settings.conservation.clone(),
        }),
    };
    let attester = Attester::new(pool, key, config);
    tracing::info!(attester = %attester.address(), listen = %f.api.listen, "attester starting");
    let listener = tokio::net::TcpListener::bind(f.api.listen).await?;
    let shutdown = CancellationToken::new();
    myco_bridge::service::cancel_on_signals(shutdown.clone());
    let router = service::router(&attester);
    let server = {
        let shutdown = shutdown.clone();
        tokio::spawn(
            async move { axum::serve(listener, router).with_graceful_shutdown(shutdown.cancelled_owned()).await },
        )
    };
    let ended = attester.run(shutdown.clone()).await;
    match ended {
        Ok(()) => {
            let _ = server.await;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            // Keep serving what was signed (and /health saying why) until stopped.
            eprintln!("myco-bridge attester halted: {e}");
            shutdown.cancelled().await;
            let _ = server.await;
            Ok(ExitCode::from(EXIT_HALTED))
        }
    }
}
