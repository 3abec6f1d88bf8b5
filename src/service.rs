//! `myco-bridge run`: the relayer as a long-running service. Loads the configuration, checks the chain is the
//! configured one, serves the status API, runs the relayer, and shuts down gracefully on SIGINT/SIGTERM (the
//! relayer finishes its current unit of work; every state change is one transaction, so nothing is
//! half-written and a restart resumes).

use std::sync::Arc;

use alloy::primitives::Address;
use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiState};
use crate::backoff::Backoff;
use crate::chain;
use crate::config::Settings;
use crate::health::Health;
use crate::leader::Leadership;
use crate::preflight::{self, World};
use crate::relayer::Relayer;
use crate::store::{self, halts};

/// How `run` ended.
#[derive(Debug)]
pub enum Ended {
    /// Stopped on a signal, cleanly.
    Shutdown,
    /// The relayer halted on an error that needs an operator (it is logged, and `/ready` said so).
    Halted(crate::Error),
}

/// A service start-up failure.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The key could not be loaded.
    #[error(transparent)]
    Config(#[from] crate::config::Error),
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The chain is not the configured one, or cannot be read.
    #[error("chain: {0}")]
    Chain(String),
    /// The preflight found the configuration wrong (each failed check is named).
    #[error("preflight failed: {0}")]
    Preflight(String),
    /// Another instance runs on this SQLite database, or leadership cannot be set up.
    #[error(transparent)]
    Leader(#[from] crate::leader::Error),
    /// The API address cannot be bound.
    #[error("binding the API to {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs until `shutdown` is cancelled or the relayer halts.
pub async fn run(
    settings: &Settings,
    signer: alloy::signers::local::PrivateKeySigner,
    shutdown: CancellationToken,
) -> Result<Ended, StartError> {
    let f = &settings.file;
    let url: alloy::transports::http::reqwest::Url =
        f.chain.rpc_url.parse().map_err(|e| StartError::Chain(format!("chain.rpc_url: {e}")))?;
    let account = signer.address();
    let provider = chain::signing_provider(url, signer);
    let Some(world) = preflight_until_reachable(settings, account, &provider, &shutdown).await? else {
        return Ok(Ended::Shutdown);
    };
    let pool = store::connect(&f.database.url).await?;
    let poll = std::time::Duration::from_millis(f.leader.poll_interval_ms);
    let mut leadership = Leadership::new(pool.clone(), &f.database.url, poll)?;
    let listener = tokio::net::TcpListener::bind(f.api.listen)
        .await
        .map_err(|source| StartError::Bind { addr: f.api.listen, source })?;
    let health = Arc::new(Health::default());
    let state = ApiState {
        pool: pool.clone(),
        provider: provider.clone(),
        health: health.clone(),
        chain: api::ChainInfo::new(settings, account, world),
    };
    tracing::info!(%account, chain_id = f.chain.chain_id, api = %f.api.listen, database = %store::Backend::of(&f.database.url)?.name(),
        "myco-bridge running; status page at http://{}/", f.api.listen);

    let api_stop = CancellationToken::new();
    let api = tokio::spawn(api::serve(listener, state, api_stop.clone()));
    let relayer = Relayer::new(pool.clone(), provider, settings.relayer(account)).with_health(health.clone());
    let ended = lead_or_follow(&mut leadership, &health, &pool, relayer, &shutdown).await;
    leadership.release().await;
    api_stop.cancel();
    if let Ok(Err(e)) = api.await {
        tracing::warn!(error = %e, "status API ended with an error");
    }
    ended
}

/// Runs the preflight until it passes (returning what it found), waiting out an unreachable node or database
/// with backoff; a misconfiguration fails at once with every failed check named. `None` on shutdown.
async fn preflight_until_reachable(
    settings: &Settings,
    account: Address,
    provider: &alloy::providers::DynProvider,
    shutdown: &CancellationToken,
) -> Result<Option<World>, StartError> {
    let mut backoff = Backoff::default();
    loop {
        let report = preflight::run(settings, account, provider).await;
        if report.passed() {
            return Ok(Some(report.world));
        }
        if !report.only_unreachable() {
            return Err(StartError::Preflight(report.failures()));
        }
        let wait = backoff.failed();
        tracing::warn!(failures = %report.failures(), retry_in_ms = wait.as_millis() as u64,
            "preflight: chain or database unreachable; waiting");
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(None),
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Follows until this instance leads, then runs the relayer while it leads; after losing leadership it follows
/// again. Ends on `shutdown`, or when the relayer halts.
async fn lead_or_follow(
    leadership: &mut Leadership,
    health: &Health,
    pool: &store::Pool,
    relayer: Relayer,
    shutdown: &CancellationToken,
) -> Result<Ended, StartError> {
    loop {
        tracing::info!("following: waiting for the leader lock");
        if leadership.acquire(shutdown).await?.is_none() {
            return Ok(Ended::Shutdown);
        }
        health.set_leader(true);
        tracing::info!("leading: this instance sends transactions");
        if let Err(e) = halts::clear(pool).await {
            tracing::warn!(error = %e, "clearing the previous halt record failed");
        }
        let relayer_stop = shutdown.child_token();
        let run = tokio::spawn(relayer.clone().run(relayer_stop.clone()));
        leadership.hold(&relayer_stop).await;
        // Leadership lost (or shutting down): stop sending before anyone else may start.
        relayer_stop.cancel();
        let result = run.await.unwrap_or_else(|e| Err(crate::Error::Task { what: "relayer", reason: e.to_string() }));
        health.set_leader(false);
        if shutdown.is_cancelled() {
            return Ok(match result {
                Ok(()) => Ended::Shutdown,
                Err(e) => Ended::Halted(e),
            });
        }
        if let Err(e) = result {
            health.halt(e.to_string());
            if let Err(store_error) = halts::record(pool, &e.to_string()).await {
                tracing::warn!(error = %store_error, "recording the halt failed");
            }
            tracing::error!(error = %e, "relayer halted; the status API keeps serving until shutdown");
            // Keep answering `/ready` (503, with the reason) and the status page until the operator stops the
            // process, and keep the lock: a follower taking over would hit the same error.
            shutdown.cancelled().await;
            return Ok(Ended::Halted(e));
        }
        leadership.release().await;
    }
}

/// Cancels `token` on SIGINT or SIGTERM.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let terminate = async {
            #[cfg(unix)]
            if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                term.recv().await;
                return;
            }
            std::future::pending::<()>().await
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down after the current step"),
            _ = terminate => tracing::info!("SIGTERM: shutting down after the current step"),
        }
        token.cancel();
    });
}
