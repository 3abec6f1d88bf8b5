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
    let listener = tokio::net::TcpListener::bind(f.api.listen)
        .await
        .map_err(|source| StartError::Bind { addr: f.api.listen, source })?;
    let halted = Arc::new(AtomicBool::new(false));
    let state = ApiState {
        pool: pool.clone(),
        provider: provider.clone(),
        challenge_window,
        halted: halted.clone(),
        leader: Arc::new(AtomicBool::new(true)),
    };
    tracing::info!(%account, chain_id, api = %f.api.listen, database = %store::Backend::of(&f.database.url)?.name(),
        "myco-bridge running; status page at http://{}/", f.api.listen);

    let api_stop = CancellationToken::new();
    let api = tokio::spawn(api::serve(listener, state, api_stop.clone()));
    let relayer = Relayer::new(pool, provider, settings.relayer(account));
    let result = relayer.run(shutdown.clone()).await;
    let ended = match result {
        Ok(()) => Ended::Shutdown,
        Err(e) => {
            halted.store(true, Ordering::Relaxed);
            tracing::error!(error = %e, "relayer halted; the status API keeps serving until shutdown");
            // Keep answering `/ready` (503) and the status page until the operator stops the process.
            shutdown.cancelled().await;
            Ended::Halted(e)
        }
    };
    api_stop.cancel();
    if let Ok(Err(e)) = api.await {
        tracing::warn!(error = %e, "status API ended with an error");
    }
    Ok(ended)
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
