//! The relayer's HTTP side for operators and users: `/health` (the process is up), `/ready` (store and chain
//! reachable, not halted; with the halt reason and the alarms), `/metrics` (Prometheus), the JSON API under
//! `/api/v1/` (epochs, withdrawals by status, one withdrawal ready to claim, deposits with their reconciliation
//! state, mismatches; lists paginated with `offset` and `limit`; amounts are decimal strings), and the status
//! page at `/`.

pub mod metrics;
pub mod page;
pub mod withdrawal;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use crate::config::{Settings, Thresholds};
use crate::health::Health;
use crate::preflight::World;
use crate::store::views::{self, Page, WithdrawalStatus};
use crate::store::{self, Pool, clock, halts, mismatches};

/// How long `/ready` and `/metrics` wait for the chain's head.
const CHAIN_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The store.
    pub pool: Pool,
    /// A provider for live chain reads (head, balances, quotes).
    pub provider: DynProvider,
    /// The service's own state: leader, halt, alarms.
    pub health: Arc<Health>,
    /// The deployment.
    pub chain: ChainInfo,
}

/// The deployment the service runs against, as configured and as the preflight found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainInfo {
    /// Chain id.
    pub chain_id: u64,
    /// The relayer's account (it pays gas and holds the settlement float).
    pub account: Address,
    /// `StateCommitment`.
    pub state_commitment: Address,
    /// `USDCEscrow`.
    pub escrow: Address,
    /// USDC and MYCO, as the escrow and the curve name them.
    pub world: World,
    /// Alert thresholds published beside the balances.
    pub thresholds: Thresholds,
}

impl ChainInfo {
    /// The deployment of `settings`, for `account`, with what the preflight found.
    pub fn new(settings: &Settings, account: Address, world: World) -> Self {
        let c = &settings.file.chain;
        Self {
            chain_id: c.chain_id,
            account,
            state_commitment: c.state_commitment,
            escrow: c.escrow,
            world,
            thresholds: settings.thresholds,
        }
    }
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
        .route("/api/v1/withdrawals/{claim_id}", get(withdrawal::claim))
        .route("/api/v1/deposits", get(deposits))
        .route("/api/v1/mismatches", get(mismatch_list))
        .route("/api/v1/conservation", get(conservation))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    crate::server::serve(listener, router(state), crate::server::Limits::default(), shutdown).await
}

impl ApiState {
    async fn head(&self) -> Option<u64> {
        probe(self.provider.get_block_number()).await
    }

    /// The chain's time as the relayer last observed it: what finality is judged by.
    pub(crate) async fn chain_time(&self) -> store::Result<i64> {
        clock::chain_time(&self.pool).await
    }

    /// Why the relayer is halted, if it is: this process's own halt, or one on record (from an earlier run or
    /// another instance).
    pub(crate) async fn halt_reason(&self) -> Option<String> {
        match self.health.halted() {
            Some(reason) => Some(reason),
            None => halts::current(&self.pool).await.ok().flatten().map(|h| h.reason),
        }
    }
}

/// A chain read bounded by [`CHAIN_PROBE_TIMEOUT`]; `None` when it failed or timed out.
pub(crate) async fn probe<T, E>(read: impl std::future::IntoFuture<Output = Result<T, E>>) -> Option<T> {
    tokio::time::timeout(CHAIN_PROBE_TIMEOUT, read.into_future()).await.ok()?.ok()
}

/// Seconds since the Unix epoch (for ages on the page; never for finality).
pub(crate) fn now() -> i64 {
    crate::store::now()
}

pub(crate) fn internal(e: store::Error) -> Response {
    tracing::error!(error = %e, "status API: store query failed");
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({ "error": e.to_string() }))).into_response()
}

pub(crate) fn bad_request(message: String) -> Response {
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
    if let Some(reason) = s.halt_reason().await {
        problems.push(format!("relayer halted: {reason}"));
    }
    if store::equivocations::count(&s.pool).await.unwrap_or(0) > 0 {
        problems.push("equivocation on record".to_string());
    }
    if let Some(v) = store::ledger::violations(&s.pool).await.ok().and_then(|v| v.into_iter().next()) {
        problems.push(format!("conservation violation on record: {v}"));
    }
    let role = if s.health.is_leader() { "leader" } else { "follower" };
    let alarms: Vec<_> =
        s.health.alarms().into_iter().map(|(a, m)| json!({ "alarm": a.as_str(), "message": m })).collect();
    let ready = problems.is_empty();
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({ "ready": ready, "role": role, "problems": problems, "alarms": alarms });
    (code, axum::Json(body)).into_response()
}

async fn metrics_text(State(s): State<ApiState>) -> Response {
    let totals = match s.chain_time().await {
        Ok(chain_now) => views::totals(&s.pool, chain_now).await,
        Err(e) => Err(e),
    };
    let totals = match totals {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let live = metrics::Live {
        head: s.head().await,
        clock: clock::get(&s.pool).await.ok().flatten(),
        balances: metrics::Balances::read(&s.provider, &s.chain).await,
        outflow: metrics::Outflow::read(&s.provider, &s.chain).await,
        halted: s.halt_reason().await.is_some(),
        leader: s.health.is_leader(),
        alarms: s.health.alarms().into_iter().map(|a| a.0).collect(),
        thresholds: s.chain.thresholds,
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics::render(&totals, &live))
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
    let chain_now = match s.chain_time().await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    match views::withdrawals(&s.pool, status, account, chain_now, page).await {
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

/// The conservation audit: every violation on record, and one page of the audited epochs' terms, newest first.
async fn conservation(State(s): State<ApiState>, Query(p): Query<Paging>) -> Response {
    let page = p.page();
    let (audits, violations) =
        match (store::ledger::audits_page(&s.pool, page).await, store::ledger::violations(&s.pool).await) {
            (Ok(a), Ok(v)) => (a, v),
            (Err(e), _) | (_, Err(e)) => return internal(e),
        };
    let items: Vec<serde_json::Value> = audits.into_iter().map(|(_, terms)| terms).collect();
    let violations: Vec<serde_json::Value> =
        violations.iter().map(|v| json!({ "epoch": v.epoch, "rule": v.kind.code(), "detail": v.detail })).collect();
    let next = (items.len() as u64 == page.limit).then(|| page.offset + page.limit);
    axum::Json(json!({
        "violations": violations,
        "items": items,
        "offset": page.offset,
        "limit": page.limit,
        "next_offset": next,
    }))
    .into_response()
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
