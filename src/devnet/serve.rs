//! Serves certified batches over HTTP the way validators do: `GET /v1/batches/<epoch>` returns the envelope's
//! bytes or 404, `GET /v1/head` the highest epoch served.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

type Batches = Arc<RwLock<BTreeMap<u64, Vec<u8>>>>;

/// A running batch server.
#[derive(Debug, Clone)]
pub struct BatchServer {
    batches: Batches,
    addr: SocketAddr,
}

impl BatchServer {
    /// Binds `addr` (port 0 for any free port) and serves until `shutdown` is cancelled.
    pub async fn start(addr: SocketAddr, shutdown: CancellationToken) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let batches = Batches::default();
        let app = Router::new()
            .route("/v1/batches/{epoch}", get(batch))
            .route("/v1/head", get(head))
            .with_state(batches.clone());
        tokio::spawn(async move {
            let served = crate::server::serve(listener, app, crate::server::Limits::default(), shutdown).await;
            if let Err(e) = served {
                tracing::error!(error = %e, "batch server stopped");
            }
        });
        Ok(Self { batches, addr })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL.
    pub fn url(&self) -> alloy::transports::http::reqwest::Url {
        format!("http://{}/", self.addr).parse().expect("a socket address makes a valid URL")
    }

    /// Serves `bytes` as `epoch`'s batch from now on (replacing what was served before).
    pub fn publish(&self, epoch: u64, bytes: Vec<u8>) {
        self.batches.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(epoch, bytes);
    }
}

async fn batch(State(batches): State<Batches>, Path(epoch): Path<String>) -> Response {
    let epoch = match crate::ids::Epoch::parse_path(&epoch) {
        Ok(Some(epoch)) => epoch.0,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let found = batches.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&epoch).cloned();
    match found {
        Some(bytes) => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn head(State(batches): State<Batches>) -> Response {
    let head = batches.read().unwrap_or_else(|poisoned| poisoned.into_inner()).keys().next_back().copied().unwrap_or(0);
    head.to_string().into_response()
}
