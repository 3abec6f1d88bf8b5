//! A JSON-RPC proxy in front of anvil that refuses `eth_getLogs` over more than a set number of blocks, as hosted
//! providers do (with their error code), and counts the requests it saw.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Shared {
    upstream: String,
    client: reqwest::Client,
    max_blocks: u64,
    refused: Arc<AtomicU64>,
    largest: Arc<AtomicU64>,
}

/// The proxy; stops when dropped.
pub struct CappedRpc {
    addr: SocketAddr,
    shared: Shared,
    stop: CancellationToken,
}

impl Drop for CappedRpc {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl CappedRpc {
    /// A proxy to `upstream` refusing log ranges over `max_blocks` blocks.
    pub async fn start(upstream: &str, max_blocks: u64) -> Self {
        let shared = Shared {
            upstream: upstream.to_string(),
            client: myco_bridge::net::client(std::time::Duration::from_secs(10)).unwrap(),
            max_blocks,
            refused: Arc::default(),
            largest: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let app = axum::Router::new().route("/", post(forward)).with_state(shared.clone());
        let until = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(async move { until.cancelled().await }).await.unwrap();
        });
        Self { addr, shared, stop }
    }

    /// Its URL.
    pub fn url(&self) -> alloy::transports::http::reqwest::Url {
        format!("http://{}/", self.addr).parse().unwrap()
    }

    /// `eth_getLogs` requests refused as too wide.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// The widest range (in blocks) it forwarded.
    pub fn largest(&self) -> u64 {
        self.shared.largest.load(Ordering::Relaxed)
    }
}

fn block(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

async fn forward(State(s): State<Shared>, axum::Json(request): axum::Json<Value>) -> axum::Json<Value> {
    if request["method"] == "eth_getLogs" {
        let filter = &request["params"][0];
        // An open range (no toBlock, or "latest") is as wide as the chain: refused like any wide one.
        let width = match (block(&filter["fromBlock"]), block(&filter["toBlock"])) {
            (Some(from), Some(to)) => to.saturating_sub(from) + 1,
            _ => u64::MAX,
        };
        if width > s.max_blocks {
            s.refused.fetch_add(1, Ordering::Relaxed);
            let message = format!("query exceeds max block range {}", s.max_blocks);
            return axum::Json(json!({
                "jsonrpc": "2.0", "id": request["id"], "error": { "code": -32602, "message": message },
            }));
        }
        s.largest.fetch_max(width, Ordering::Relaxed);
    }
    let response = s.client.post(&s.upstream).json(&request).send().await.unwrap();
    axum::Json(response.json().await.unwrap())
}
