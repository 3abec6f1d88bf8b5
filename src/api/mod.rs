//! The relayer's HTTP side for operators: `/health` (the process is up), `/ready` (store and chain reachable,
//! not halted), `/metrics` (Prometheus), the JSON API under `/api/v1/` (epochs, withdrawals by status, deposits,
//! mismatches; paginated with `offset` and `limit`), and the status page at `/`.

pub mod metrics;
pub mod page;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alloy::primitives::B256;
use alloy::providers::{DynProvider, Provider};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use crate::store::views::{self, Page, WithdrawalStatus};
use crate::store::{self, Pool, mismatches};

/// How long `/ready` and `/metrics` wait for the chain's head.
const CHAIN_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The store.
    pub pool: Pool,
    /// A provider for the chain head.
    pub provider: DynProvider,
    /// `StateCommitment`'s challenge window, seconds (when a root becomes final).
    pub challenge_window: u64,
    /// Set when the relayer stopped on an error.
    pub halted: Arc<AtomicBool>,
    /// Set while this instance leads.
    pub leader: Arc<AtomicBool>,
}

/// The router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(page::status_page))
        .route("/health", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .route("/api/v1/epochs", get(epochs))
        .route("/api/v1/withdrawals", get(withdrawals))
        .route("/api/v1/deposits", get(deposits))
        .route("/api/v1/mismatches", get(mismatch_list))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}

impl ApiState {
    async fn head(&self) -> Option<u64> {
        tokio::time::timeout(CHAIN_PROBE_TIMEOUT, self.provider.get_block_number()).await.ok()?.ok()
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    crate::store::now()
}

fn internal(e: store::Error) -> Response {
    tracing::error!(error = %e, "status API: store query failed");
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({ "error": e.to_string() }))).into_response()
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": message }))).into_response()
}

async fn ready(State(s): State<ApiState>) -> Response {
    let mut problems = Vec::new();
    if let Err(e) = sqlx::query("SELECT 1").execute(&s.pool).await {
        problems.push(format!("store unreachable: {e}"));
    }
    if s.head().await.is_none() {
        problems.push("chain RPC unreachable".to_string());
    }
    if s.halted.load(Ordering::Relaxed) {
        problems.push("relayer halted (see the log)".to_string());
    }
    match views::totals(&s.pool, s.challenge_window, now()).await {
        Ok(t) if t.equivocations > 0 => problems.push("equivocation on record".to_string()),
        _ => {}
    }
    let role = if s.leader.load(Ordering::Relaxed) { "leader" } else { "follower" };
    if problems.is_empty() {
        (StatusCode::OK, axum::Json(json!({ "ready": true, "role": role }))).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "ready": false, "role": role, "problems": problems })))
            .into_response()
    }
}

async fn metrics_text(State(s): State<ApiState>) -> Response {
    let totals = match views::totals(&s.pool, s.challenge_window, now()).await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let live = metrics::Live {
        head: s.head().await,
        halted: s.halted.load(Ordering::Relaxed),
        leader: s.leader.load(Ordering::Relaxed),
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics::render(&totals, live))
        .into_response()
}

/// `offset` and `limit` (default 50, at most 500).
#[derive(Debug, Deserialize)]
struct Paging {
    offset: Option<u64>,
    limit: Option<u64>,
}

impl Paging {
    fn page(&self) -> Page {
        Page { offset: self.offset.unwrap_or(0), limit: self.limit.unwrap_or(50).min(500) }
    }
}

fn paged<T: serde::Serialize>(items: Vec<T>, page: Page) -> Response {
    let next = (items.len() as u64 == page.limit).then(|| page.offset + page.limit);
    axum::Json(json!({ "items": items, "offset": page.offset, "limit": page.limit, "next_offset": next }))
        .into_response()
}

async fn epochs(State(s): State<ApiState>, Query(p): Query<Paging>) -> Response {
    match views::epochs(&s.pool, p.page()).await {
        Ok(items) => paged(items, p.page()),
        Err(e) => internal(e),
    }
}

#[derive(Debug, Deserialize)]
struct WithdrawalQuery {
    status: Option<String>,
    account: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
}

async fn withdrawals(State(s): State<ApiState>, Query(q): Query<WithdrawalQuery>) -> Response {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(text) => match WithdrawalStatus::parse(text) {
            Some(status) => Some(status),
            None => return bad_request(format!("status: {text:?} is not one of requested, in_root, final, paid")),
        },
    };
    let account = match q.account.as_deref() {
        None | Some("") => None,
        Some(text) => match text.parse::<B256>() {
            Ok(a) => Some(a),
            Err(_) => return bad_request(format!("account: {text:?} is not a 32-byte hex account")),
        },
    };
    let page = Paging { offset: q.offset, limit: q.limit }.page();
    match views::withdrawals(&s.pool, status, account, s.challenge_window, now(), page).await {
        Ok(items) => paged(items, page),
        Err(e) => internal(e),
    }
}

async fn deposits(State(s): State<ApiState>, Query(p): Query<Paging>) -> Response {
    match views::deposits(&s.pool, p.page()).await {
        Ok(items) => paged(items, p.page()),
        Err(e) => internal(e),
    }
}

async fn mismatch_list(State(s): State<ApiState>, Query(p): Query<Paging>) -> Response {
    let page = p.page();
    match mismatches::all(&s.pool).await {
        Ok(all) => {
            let items: Vec<serde_json::Value> = all
                .into_iter()
                .skip(page.offset as usize)
                .take(page.limit as usize)
                .map(|m| {
                    json!({
                        "id": m.id, "kind": m.kind, "subject": m.subject, "epoch": m.epoch, "detail": m.detail,
                        "evidence": serde_json::from_str::<serde_json::Value>(&m.evidence).unwrap_or(serde_json::Value::Null),
                        "detected_at": m.detected_at, "resolved_at": m.resolved_at, "open": m.resolved_at.is_none(),
                    })
                })
                .collect();
            paged(items, page)
        }
        Err(e) => internal(e),
    }
}

/// The page's HTML escaping.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
