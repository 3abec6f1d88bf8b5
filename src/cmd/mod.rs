//! The binary's commands, one module each (the library holds everything they use; these only parse files and
//! print). `main.rs` parses the arguments and dispatches here.

pub mod attest;
pub mod audit;
pub mod batch;
#[cfg(feature = "devnet")]
pub mod demo;
pub mod deploy;
pub mod run;
#[cfg(feature = "devnet")]
pub mod simulate;
pub mod status;
pub mod withdraw;

/// Exit code of a relayer that halted on an error needing an operator (and of `status` while it is halted).
pub const EXIT_HALTED: u8 = 2;

/// Serves `router` on `listen` beside a service loop until SIGINT or SIGTERM: exits 0 when the loop stopped
/// cleanly; after a halt it keeps serving (its `/health` says why) until stopped, then exits 2.
pub async fn serve_beside<F>(
    listen: std::net::SocketAddr,
    router: axum::Router,
    what: &str,
    run: impl FnOnce(tokio_util::sync::CancellationToken) -> F,
) -> anyhow::Result<std::process::ExitCode>
where
    F: std::future::Future<Output = myco_bridge::Result<()>>,
{
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    myco_bridge::service::cancel_on_signals(shutdown.clone());
    let server = {
        let shutdown = shutdown.clone();
        tokio::spawn(myco_bridge::server::serve(listener, router, myco_bridge::server::Limits::default(), shutdown))
    };
    let ended = run(shutdown.clone()).await;
    if let Err(e) = &ended {
        eprintln!("myco-bridge {what} halted: {}", myco_bridge::error::with_causes(e));
        shutdown.cancelled().await;
    }
    let _ = server.await;
    Ok(std::process::ExitCode::from(if ended.is_ok() { 0 } else { EXIT_HALTED }))
}

/// The escrow's P-AMM parameters (immutable, read once at start); a node that does not answer yet is waited out.
pub async fn escrow_params(
    provider: &alloy::providers::DynProvider,
    escrow: alloy::primitives::Address,
) -> anyhow::Result<myco_bridge::settle::pamm::Params> {
    loop {
        match myco_bridge::chain::escrow_pamm_params(provider, escrow).await {
            Ok(p) => return Ok(p),
            Err(e) if e.is_retryable() => {
                tracing::warn!(error = %e, "reading the escrow's P-AMM parameters; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            Err(e) => anyhow::bail!("reading the escrow's P-AMM parameters from {escrow}: {e}"),
        }
    }
}

/// The database URL from `--database`, or from the configuration file's `[database]`.
pub fn database_url(config: Option<&std::path::Path>, database: Option<String>) -> anyhow::Result<String> {
    match (database, config) {
        (Some(url), _) => Ok(url),
        (None, Some(path)) => Ok(myco_bridge::config::Settings::load(path, std::env::vars())?.file.database.url),
        (None, None) => anyhow::bail!("give --config or --database"),
    }
}

/// The key that signs for a user-facing command: a keystore (`--keystore`, its password from
/// `--keystore-password-file` or `MYCO_BRIDGE_KEYSTORE_PASSWORD`) or `MYCO_BRIDGE_PRIVATE_KEY`. Never printed.
pub fn signer(
    keystore: Option<&std::path::Path>,
    password_file: Option<&std::path::Path>,
) -> anyhow::Result<alloy::signers::local::PrivateKeySigner> {
    use myco_bridge::config::{KEY_ENV, KEYSTORE_PASSWORD_ENV};
    match keystore {
        Some(path) => {
            let password = match password_file {
                Some(file) => std::fs::read_to_string(file)
                    .map_err(|e| anyhow::anyhow!("reading the password file {}: {e}", file.display()))?
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
                None => std::env::var(KEYSTORE_PASSWORD_ENV)
                    .map_err(|_| anyhow::anyhow!("{KEYSTORE_PASSWORD_ENV} is not set"))?,
            };
            alloy::signers::local::PrivateKeySigner::decrypt_keystore(path, password)
                .map_err(|e| anyhow::anyhow!("decrypting the keystore {}: {e}", path.display()))
        }
        None => {
            let hex = std::env::var(KEY_ENV).map_err(|_| anyhow::anyhow!("set {KEY_ENV} or give --keystore"))?;
            hex.trim().parse().map_err(|_| anyhow::anyhow!("{KEY_ENV} is not a 32-byte hex private key"))
        }
    }
}
