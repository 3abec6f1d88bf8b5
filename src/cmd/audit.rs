//! `myco-bridge audit`: the independent auditor, as a service.

use std::process::ExitCode;

use myco_bridge::audit::{Auditor, server};
use myco_bridge::config::Settings;

use crate::cli::AuditArgs;

pub async fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args.config, std::env::vars())?;
    let f = &settings.file;
    let guardian = settings.guardian_signer(|name| std::env::var(name).ok())?;
    let url = f.chain.rpc_url.parse()?;
    let (provider, guardian_address) = match guardian {
        Some(key) => {
            let address = key.address();
            (myco_bridge::chain::signing_provider(url, key), Some(address))
        }
        None => (myco_bridge::chain::read_provider(url), None),
    };
    let params = super::escrow_params(&provider, f.chain.escrow).await?;
    let pool = myco_bridge::store::connect(&f.database.url).await?;
    let auditor = Auditor::new(pool, provider, settings.auditor(params, guardian_address));
    auditor.preflight().await.map_err(|e| anyhow::anyhow!("{}", myco_bridge::error::with_causes(&e)))?;
    tracing::info!(listen = %f.api.listen, guardian = ?guardian_address, "auditor starting");
    let router = server::router(&auditor);
    super::serve_beside(f.api.listen, router, "auditor", |shutdown| auditor.run(shutdown)).await
}
