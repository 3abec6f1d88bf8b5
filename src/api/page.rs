//! The status page: server-rendered HTML, no scripts and no build step. The epoch pipeline, withdrawals by
//! status with their age, a chart of the backing ratio and the P-AMM rate over recent epochs, and the open
//! mismatches, highlighted.

use std::fmt::Write;

use alloy::primitives::U256;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

use super::{ApiState, escape, internal, now};
use crate::settle::fixed::ONE;
use crate::store::views::{self, Page, WithdrawalStatus};
use crate::store::{Result, mismatches};

/// Epochs the pipeline table and the chart show.
const RECENT_EPOCHS: u64 = 30;
/// Unpaid withdrawals the page lists.
const LISTED_WITHDRAWALS: u64 = 50;

pub(super) async fn status_page(State(s): State<ApiState>) -> Response {
    match render(&s).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => internal(e),
    }
}

/// WAD as a decimal with four places.
fn wad(x: U256) -> String {
    let one = ONE;
    let (whole, frac) = x.div_rem(one);
    format!("{whole}.{:04}", (frac / U256::from(10u64).pow(U256::from(14))).to::<u64>())
}

/// `numerator / denominator` in basis points (for the chart), capped at 2.0.
fn ratio_bps(numerator: U256, denominator: U256) -> u64 {
    if denominator.is_zero() {
        return 10_000;
    }
    let bps = numerator.saturating_mul(U256::from(10_000u64)) / denominator;
    bps.min(U256::from(20_000u64)).to::<u64>()
}

fn status_label(status: WithdrawalStatus) -> &'static str {
    match status {
        WithdrawalStatus::Requested => "requested",
        WithdrawalStatus::InRoot => "in root",
        WithdrawalStatus::Final => "final, claimable",
        WithdrawalStatus::Cancelled => "cancelled by the guardian, not payable",
        WithdrawalStatus::Paid => "paid",
    }
}

fn age(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3_600),
        s => format!("{} d", s / 86_400),
    }
}

async fn render(s: &ApiState) -> Result<String> {
    let now = now();
    let chain_now = s.chain_time().await?;
    let totals = views::totals(&s.pool, chain_now).await?;
    let epochs = views::epochs(&s.pool, Page { offset: 0, limit: RECENT_EPOCHS }).await?;
    let open = mismatches::open(&s.pool).await?;
    let mut by_status = Vec::new();
    for status in [
        WithdrawalStatus::Requested,
        WithdrawalStatus::InRoot,
        WithdrawalStatus::Final,
        WithdrawalStatus::Cancelled,
        WithdrawalStatus::Paid,
    ] {
        let all = views::withdrawals(&s.pool, Some(status), None, chain_now, Page { offset: 0, limit: 500 }).await?;
        by_status.push((status, all));
    }
    let halt = match s.halt_reason().await {
        Some(reason) => Some(reason),
        None if totals.equivocations > 0 => Some("an equivocation is on record".to_string()),
        None if totals.conservation_violations > 0 => Some("a conservation violation is on record".to_string()),
        None => None,
    };
    let mut h = String::new();
    header(&mut h, s, &totals, halt.as_deref());
    withdrawals(&mut h, &by_status, now);
    mismatches_table(&mut h, &open, now);
    // Chart: backing ratio and P-AMM rate per epoch, oldest to newest.
    h.push_str(&chart(&epochs));
    pipeline(&mut h, &epochs, chain_now, now);
    h.push_str("</table></body></html>\n");
    Ok(h)
}

/// The page's head, the role and progress line, a halt and every alarm.
fn header(h: &mut String, s: &ApiState, totals: &views::Totals, halt: Option<&str>) {
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>myco-bridge status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1b1f23; background: #fafbfc; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }} h2 {{ font-size: 16px; margin: 28px 0 8px; }}
table {{ border-collapse: collapse; background: #fff; }} th, td {{ padding: 4px 10px; border-bottom: 1px solid #e1e4e8; text-align: left; }}
th {{ background: #f1f3f5; font-weight: 600; }} td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
code {{ font-size: 12px; }} .cards {{ display: flex; gap: 12px; flex-wrap: wrap; }}
.card {{ background: #fff; border: 1px solid #e1e4e8; border-radius: 6px; padding: 10px 14px; min-width: 120px; }}
.card b {{ display: block; font-size: 22px; }} .ok {{ color: #1a7f37; }} .bad {{ color: #cf222e; }}
.mismatch {{ background: #ffebe9; }} .halted {{ background: #cf222e; color: #fff; padding: 8px 12px; border-radius: 6px; }}
</style></head><body>
<h1>myco-bridge</h1><div>role: <b>{role}</b> · last ingested epoch <b>{ingested}</b> · last committed <b>{committed}</b> · finalized <b>{finalized}</b></div>
"#,
        role = if s.health.is_leader() { "leader" } else { "follower" },
        ingested = totals.last_ingested_epoch,
        committed = totals.last_committed_epoch,
        finalized = totals.epochs_finalized,
    );
    if let Some(reason) = halt {
        let _ = write!(h, r#"<p class="halted" id="halted">HALTED: {}</p>"#, escape(reason));
    }
    for (alarm, message) in &s.health.alarms() {
        let _ = write!(
            h,
            r#"<p class="mismatch alarm" data-alarm="{}"><b>ALARM {}</b>: {}</p>"#,
            alarm.as_str(),
            alarm.as_str(),
            escape(message)
        );
    }
}

/// Withdrawals by status, and the unpaid ones listed.
fn withdrawals(h: &mut String, by_status: &[(WithdrawalStatus, Vec<views::WithdrawalView>)], now: i64) {
    // Withdrawals by status.
    h.push_str(r#"<h2>Withdrawals</h2><div class="cards" id="withdrawal-counts">"#);
    for (status, rows) in by_status {
        let name = status_label(*status);
        let oldest =
            if *status == WithdrawalStatus::Paid { None } else { rows.iter().map(|w| now - w.requested_at).max() };
        let _ = write!(
            h,
            r#"<div class="card"><b>{}</b>{name}{}</div>"#,
            rows.len(),
            oldest.map_or(String::new(), |a| format!("<br><small>oldest {}</small>", age(a)))
        );
    }
    h.push_str("</div>");
    let unpaid: Vec<_> = by_status.iter().filter(|(s, _)| *s != WithdrawalStatus::Paid).flat_map(|(_, r)| r).collect();
    if !unpaid.is_empty() {
        h.push_str(r#"<table id="unpaid"><tr><th>claim</th><th>epoch</th><th>status</th><th>age</th><th>MYCO</th><th>recipient</th></tr>"#);
        for w in unpaid.iter().take(LISTED_WITHDRAWALS as usize) {
            let _ = write!(
                h,
                r#"<tr><td><a href="/api/v1/withdrawals/{id}">{id}</a></td><td class="num">{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td><code>{}</code></td></tr>"#,
                w.epoch,
                status_label(w.status),
                age(now - w.requested_at),
                wad(w.myco_amount),
                w.recipient,
                id = w.claim_id,
            );
        }
        h.push_str("</table>");
    }
}

/// Open mismatches between the chain and the ledger.
fn mismatches_table(h: &mut String, open: &[mismatches::Mismatch], now: i64) {
    // Mismatches.
    let _ = write!(
        h,
        r#"<h2>Open mismatches: <span id="mismatch-count" class="{}">{}</span></h2>"#,
        if open.is_empty() { "ok" } else { "bad" },
        open.len()
    );
    if !open.is_empty() {
        h.push_str(r#"<table id="mismatches"><tr><th>kind</th><th>subject</th><th>epoch</th><th>detail</th><th>since</th></tr>"#);
        for m in open {
            let _ = write!(
                h,
                r#"<tr class="mismatch"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                escape(&m.kind),
                escape(&m.subject),
                m.epoch.map_or(String::new(), |e| e.to_string()),
                escape(&m.detail),
                age(now - m.detected_at)
            );
        }
        h.push_str("</table>");
    }
}

/// The recent epochs: state, claims, backing, P-AMM rate, net orders, age and root.
fn pipeline(h: &mut String, epochs: &[views::EpochView], chain_now: i64, now: i64) {
    // Pipeline.
    h.push_str(r#"<h2>Epoch pipeline</h2><table id="pipeline"><tr><th>epoch</th><th>state</th><th>claims</th><th>backing</th><th>P-AMM rate</th><th>net orders</th><th>accepted</th><th>root</th></tr>"#);
    for e in epochs {
        let state = match (e.committed_at, e.final_at) {
            (None, _) => "accepted",
            (Some(_), Some(final_at)) if chain_now >= final_at => "final",
            (Some(_), _) => "committed",
        };
        let _ = write!(
            h,
            r#"<tr><td class="num">{}</td><td>{state}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td><td>{} ago</td><td><code>{}</code></td></tr>"#,
            e.epoch,
            e.claims,
            wad(if e.total_supply.is_zero() {
                U256::ZERO
            } else {
                e.total_reserve.saturating_mul(ONE) / e.total_supply
            }),
            e.pamm_rate.map_or("-".to_string(), wad),
            e.curve.as_deref().unwrap_or("-"),
            age(now - e.received_at),
            e.state_root
        );
    }
}

/// An SVG line chart of the backing ratio (reserve / supply) and the P-AMM rate, from 0 to 1.2.
fn chart(epochs: &[views::EpochView]) -> String {
    let points: Vec<(u64, u64, u64)> = epochs
        .iter()
        .rev()
        .map(|e| {
            (e.epoch, ratio_bps(e.total_reserve, e.total_supply), e.pamm_rate.map_or(10_000, |r| ratio_bps(r, ONE)))
        })
        .collect();
    let (w, h, pad) = (640u64, 200u64, 30u64);
    let x = |i: usize| {
        pad + if points.len() > 1 { i as u64 * (w - 2 * pad) / (points.len() as u64 - 1) } else { (w - 2 * pad) / 2 }
    };
    let y = |bps: u64| h - pad - bps.min(12_000) * (h - 2 * pad) / 12_000;
    let line = |pick: fn(&(u64, u64, u64)) -> u64| {
        points.iter().enumerate().map(|(i, p)| format!("{},{}", x(i), y(pick(p)))).collect::<Vec<_>>().join(" ")
    };
    let mut svg = String::from(r#"<h2>Backing ratio and P-AMM rate</h2>"#);
    let _ = write!(
        svg,
        r##"<svg id="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="backing ratio and P-AMM rate per epoch" style="background:#fff;border:1px solid #e1e4e8">
<line x1="{pad}" y1="{par}" x2="{right}" y2="{par}" stroke="#d0d7de" stroke-dasharray="4 4"/><text x="4" y="{par_text}" font-size="10" fill="#57606a">1.0</text>
<polyline id="backing" fill="none" stroke="#0969da" stroke-width="2" points="{backing}"/>
<polyline id="rate" fill="none" stroke="#bf8700" stroke-width="2" points="{rate}"/>
<text x="{pad}" y="14" font-size="11" fill="#0969da">backing ratio</text><text x="{legend}" y="14" font-size="11" fill="#bf8700">P-AMM rate</text>
</svg>"##,
        par = y(10_000),
        par_text = y(10_000) + 3,
        right = w - pad,
        legend = pad + 100,
        backing = line(|p| p.1),
        rate = line(|p| p.2),
    );
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = write!(svg, r#"<div><small>epochs {} to {}</small></div>"#, first.0, last.0);
    }
    svg
}
