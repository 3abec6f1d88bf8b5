//! `myco-bridge attest`: the attester beside a validator, as a service.

use std::process::ExitCode;
use std::time::Duration;

use myco_bridge::attest::AttestationDomain;
use myco_bridge::attest::service::{self, Attester};
use myco_bridge::config::Settings;

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
    let router = service::router(&attester);
    super::serve_beside(f.api.listen, router, "attester", |shutdown| attester.run(shutdown)).await
}
