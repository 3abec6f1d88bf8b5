//! The auditor's HTTP endpoints: `GET /api/v1/findings` (JSON), `/` (its status page: server-rendered HTML),
//! `/metrics` (Prometheus text), `/health` (503 with the reason once halted), and
//! `GET /api/v1/withdrawals/{claim_id}`: a claim and its proof from the auditor's own reading of the certified
//! batches, its status read from the chain alone, so a user withdraws without the relayer's word
//! (`myco-bridge withdraw --api AUDITOR`).

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{Auditor, Stats};
use crate::api::{escape, internal};
use crate::health::Health;
use crate::store::{self, Pool, audit};

/// Findings the API and the page list (newest first).
const LISTED: u64 = 500;

/// What the endpoints read.
#[derive(Debug, Clone)]
struct ApiState {
    pool: Pool,
    health: Arc<Health>,
    stats: Arc<Stats>,
    guardian: bool,
    provider: alloy::providers::DynProvider,
    deployment: crate::api::withdrawal::Deployment,
}

/// The counts every endpoint shows (a scrape reads only these, never the findings' evidence).
#[derive(Debug, Default)]
struct Totals {
    counts: Vec<(String, String, u64)>,
    /// Commitments (matched, differing, waiting for their batch).
    verdicts: (u64, u64, u64),
    latest_matched: u64,
}

async fn totals(pool: &Pool) -> store::Result<Totals> {
    Ok(Totals {
        counts: audit::counts(pool).await?,
        verdicts: audit::verdict_counts(pool).await?,
        latest_matched: audit::latest_matched(pool).await?.map_or(0, |e| e.0),
    })
}

/// The totals and the newest findings, for the API and the page.
async fn summary(pool: &Pool) -> store::Result<(Totals, Vec<audit::Finding>)> {
    Ok((totals(pool).await?, audit::recent(pool, LISTED).await?))
}

/// The auditor's router.
pub fn router(auditor: &Auditor) -> axum::Router {
    let state = ApiState {
        pool: auditor.pool.clone(),
        health: auditor.health.clone(),
        stats: auditor.stats.clone(),
        guardian: auditor.config.guardian.is_some(),
        provider: auditor.provider.clone(),
        deployment: crate::api::withdrawal::Deployment {
            chain_id: auditor.config.reader.chain_id,
            escrow: auditor.config.reader.escrow,
            state_commitment: auditor.config.state_commitment,
        },
    };
    axum::Router::new()
        .route("/", get(page))
        .route("/api/v1/findings", get(findings))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/api/v1/withdrawals/{claim_id}", get(withdrawal))
        .with_state(state)
}

async fn withdrawal(State(s): State<ApiState>, axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    let judged = crate::api::withdrawal::Judged::ByChain;
    crate::api::withdrawal::entry(&s.pool, &s.provider, s.deployment, &id, judged).await
}

async fn findings(State(s): State<ApiState>) -> Response {
    match summary(&s.pool).await {
        Ok((sum, findings)) => axum::Json(json!({
            "guardian": s.guardian,
            "commitments": { "matched": sum.verdicts.0, "differ": sum.verdicts.1, "unchecked": sum.verdicts.2,
                             "latest_matched_epoch": sum.latest_matched },
            "counts": sum.counts.iter().map(|(k, a, n)| json!({ "kind": k, "action": a, "count": n })).collect::<Vec<_>>(),
            "findings": findings,
        }))
        .into_response(),
        Err(e) => internal(e),
    }
}

async fn health(State(s): State<ApiState>) -> Response {
    match s.health.halted() {
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("halted: {reason}")).into_response(),
        None => (StatusCode::OK, "ok\n").into_response(),
    }
}

/// The finding kinds, so each has a series from the start.
const KINDS: [&str; 7] =
    ["commitment_differs", "attestation", "conservation", "unverified", "equivocation", "fork", "withdrawal"];

async fn metrics(State(s): State<ApiState>) -> Response {
    let sum = match totals(&s.pool).await {
        Ok(sum) => sum,
        Err(e) => return internal(e),
    };
    let text = render(&sum, &s.stats, s.health.halted().is_some());
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// The Prometheus exposition of `sum` and this run's `stats`.
fn render(sum: &Totals, stats: &Stats, halted: bool) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# HELP myco_bridge_audit_findings Findings on record, by kind and by what was done (open, revoked, alarmed, \
         final, gone, reported, cleared).\n# TYPE myco_bridge_audit_findings gauge"
    );
    for kind in KINDS {
        let of_kind: Vec<_> = sum.counts.iter().filter(|(k, _, _)| k == kind).collect();
        if of_kind.is_empty() {
            let _ = writeln!(text, "myco_bridge_audit_findings{{kind=\"{kind}\",action=\"open\"}} 0");
        }
        for (k, action, n) in of_kind {
            let _ = writeln!(text, "myco_bridge_audit_findings{{kind=\"{k}\",action=\"{action}\"}} {n}");
        }
    }
    let (matched, differ, unchecked) = sum.verdicts;
    let lines = [
        ("audit_commitments_matched", "gauge", "Commitments equal to what the auditor computed.", matched),
        ("audit_commitments_differing", "gauge", "Commitments that differ from the certified batch.", differ),
        ("audit_commitments_unchecked", "gauge", "Commitments waiting for their certified batch.", unchecked),
        ("audit_latest_matched_epoch", "gauge", "The highest epoch whose commitment matched.", sum.latest_matched),
        ("audit_new_findings_total", "counter", "Findings this run recorded.", Stats::get(&stats.new_findings)),
        ("audit_revocations_total", "counter", "Revocations this run sent.", Stats::get(&stats.revocations)),
        ("audit_passes_total", "counter", "Audit passes completed.", Stats::get(&stats.passes)),
        ("audit_halted", "gauge", "1 if the auditor stopped on something only a person can decide.", u64::from(halted)),
    ];
    for (name, kind, help, value) in lines {
        let _ = writeln!(
            text,
            "# HELP myco_bridge_{name} {help}\n# TYPE myco_bridge_{name} {kind}\nmyco_bridge_{name} {value}"
        );
    }
    text
}

async fn page(State(s): State<ApiState>) -> Response {
    let (sum, findings) = match summary(&s.pool).await {
        Ok(read) => read,
        Err(e) => return internal(e),
    };
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>myco-bridge auditor</title><style>\
         body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;\
         padding:4px 8px;text-align:left;vertical-align:top}.bad{background:#fdd}.done{background:#efe}</style>\
         </head><body><h1>myco-bridge auditor</h1>",
    );
    let (matched, differ, unchecked) = sum.verdicts;
    let _ = write!(
        html,
        "<p>Commitments: {matched} matched (up to epoch {}), {differ} differ, {unchecked} waiting for their batch. \
         Guardian key: {}.</p>",
        sum.latest_matched,
        if s.guardian { "yes (wrong commitments inside their window are revoked)" } else { "no (findings alarm)" }
    );
    if let Some(reason) = s.health.halted() {
        let _ = write!(html, "<p class=\"bad\">Halted: {}</p>", escape(&reason));
    }
    for (alarm, message) in s.health.alarms() {
        let _ = write!(html, "<p class=\"bad\">Alarm {}: {}</p>", alarm.as_str(), escape(&message));
    }
    html.push_str("<h2>Findings</h2>");
    if findings.is_empty() {
        html.push_str("<p>None.</p>");
    } else {
        html.push_str("<table><tr><th>id</th><th>kind</th><th>epoch</th><th>what</th><th>action</th><th>tx</th></tr>");
        for f in &findings {
            // Done once the chain no longer holds it or it no longer holds; everything else (an equivocation
            // reported included) needs a person.
            let class = match f.action {
                audit::Action::Revoked | audit::Action::Gone | audit::Action::Cleared => "done",
                _ => "bad",
            };
            let tx = f.action_tx.map(|t| t.to_string()).unwrap_or_default();
            let _ = write!(
                html,
                "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{tx}</td></tr>",
                f.id,
                escape(&f.kind),
                f.epoch,
                escape(&f.detail),
                f.action.as_str()
            );
        }
        html.push_str("</table>");
    }
    html.push_str("</body></html>");
    Html(html).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_auditor_series_the_shipped_alerts_use_is_published_from_the_start() {
        let exposition = render(&Totals::default(), &Stats::default(), false);
        let published: std::collections::BTreeSet<&str> =
            exposition.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split(['{', ' ']).next()).collect();
        let rules = include_str!("../../deploy/alerts.yml");
        let mut used = 0;
        for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("myco_bridge_audit_") {
                assert!(published.contains(word), "deploy/alerts.yml uses {word}, which the auditor does not publish");
                used += 1;
            }
        }
        assert!(used >= 5, "the auditor's rules use its series");
        for kind in KINDS {
            assert!(exposition.contains(&format!("kind=\"{kind}\"")), "{kind} has a series from the start");
        }
    }
}
