//! `myco-bridge run`: the relayer as a long-running service. Loads the configuration, checks the chain is the
//! configured one, serves the status API, runs the relayer, and shuts down gracefully on SIGINT/SIGTERM (the
//! relayer finishes its current unit of work; every state change is one transaction, so nothing is
//! half-written and a restart resumes).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use alloy::providers::Provider;
use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiState};
use crate::chain::{self, bindings::StateCommitment};
use crate::config::Settings;
use crate::leader::Leadership;
use crate::relayer::Relayer;
use crate::store;

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
    let chain_id = provider.get_chain_id().await.map_err(|e| StartError::Chain(format!("eth_chainId: {e}")))?;
    if chain_id != f.chain.chain_id {
        return Err(StartError::Chain(format!(
            "the node at chain.rpc_url reports chain id {chain_id}, the configuration says {}",
            f.chain.chain_id
        )));
    }
    let challenge_window =
        StateCommitment::new(f.chain.state_commitment, &provider).challengeWindow().call().await.map_err(|e| {
            StartError::Chain(format!(
                "StateCommitment.challengeWindow(): {}",
                chain::Error::from_call("challengeWindow", e)
            ))
        })?;
    let pool = store::connect(&f.database.url).await?;
    let poll = std::time::Duration::from_millis(f.leader.poll_interval_ms);
    let mut leadership = Leadership::new(pool.clone(), &f.database.url, poll)?;
    let listener = tokio::net::TcpListener::bind(f.api.listen)
        .await
        .map_err(|source| StartError::Bind { addr: f.api.listen, source })?;
    let halted = Arc::new(AtomicBool::new(false));
    let leader = Arc::new(AtomicBool::new(false));
    let state = ApiState {
        pool: pool.clone(),
        provider: provider.clone(),
        challenge_window,
        halted: halted.clone(),
        leader: leader.clone(),
    };
    tracing::info!(%account, chain_id, api = %f.api.listen, database = %store::Backend::of(&f.database.url)?.name(),
        "myco-bridge running; status page at http://{}/", f.api.listen);

    let api_stop = CancellationToken::new();
    let api = tokio::spawn(api::serve(listener, state, api_stop.clone()));
    let ended =
        lead_or_follow(&mut leadership, &leader, &halted, pool, provider, settings.relayer(account), &shutdown).await;
    leadership.release().await;
    api_stop.cancel();
    if let Ok(Err(e)) = api.await {
        tracing::warn!(error = %e, "status API ended with an error");
    }
    ended
}

/// Follows until this instance leads, then runs the relayer while it leads; after losing leadership it follows
/// again. Ends on `shutdown`, or when the relayer halts.
async fn lead_or_follow(
    leadership: &mut Leadership,
    leader: &AtomicBool,
    halted: &AtomicBool,
    pool: store::Pool,
    provider: alloy::providers::DynProvider,
    config: crate::relayer::Config,
    shutdown: &CancellationToken,
) -> Result<Ended, StartError> {
    loop {
        tracing::info!("following: waiting for the leader lock");
        if leadership.acquire(shutdown).await?.is_none() {
            return Ok(Ended::Shutdown);
        }
        leader.store(true, Ordering::Relaxed);
        tracing::info!("leading: this instance sends transactions");
        let relayer_stop = shutdown.child_token();
        let relayer = Relayer::new(pool.clone(), provider.clone(), config.clone());
        let run = tokio::spawn(relayer.run(relayer_stop.clone()));
        leadership.hold(&relayer_stop).await;
        // Leadership lost (or shutting down): stop sending before anyone else may start.
        relayer_stop.cancel();
        let result = run.await.unwrap_or_else(|e| Err(crate::Error::Task { what: "relayer", reason: e.to_string() }));
        leader.store(false, Ordering::Relaxed);
        if shutdown.is_cancelled() {
            return Ok(match result {
                Ok(()) => Ended::Shutdown,
                Err(e) => Ended::Halted(e),
            });
        }
        if let Err(e) = result {
            halted.store(true, Ordering::Relaxed);
            tracing::error!(error = %e, "relayer halted; the status API keeps serving until shutdown");
            // Keep answering `/ready` (503) and the status page until the operator stops the process, and keep
            // the lock: a follower taking over would hit the same error.
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
