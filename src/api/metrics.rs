//! `/metrics` in the Prometheus text format (0.0.4). Every series is present from the start, at zero, so alerts
//! can fire on them; figures come from the store (they survive restarts) and, for the watcher's lag and RPC
//! health, from one read of the chain head per scrape.

use std::fmt::Write;

use alloy::primitives::U256;

use crate::store::mismatches::Kind;
use crate::store::views::Totals;

/// Bucket bounds (seconds) of the ingest → commit latency histogram.
const LATENCY_BUCKETS: [i64; 10] = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];

/// What the process knows beyond the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Live {
    /// The chain head, if the RPC answered.
    pub head: Option<u64>,
    /// Whether the relayer stopped on an error (or an equivocation is on record).
    pub halted: bool,
    /// Whether this instance leads (sends transactions).
    pub leader: bool,
}

/// Renders the exposition.
pub fn render(t: &Totals, live: Live) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP myco_bridge_{name} {help}");
        let _ = writeln!(out, "# TYPE myco_bridge_{name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "myco_bridge_{name}{labels} {value}");
        }
    };
    let one = |v: u64| vec![(String::new(), v as f64)];
    metric("up", "gauge", "1 while the process runs.", &one(1));
    metric(
        "leader",
        "gauge",
        "1 if this instance leads (sends transactions), 0 if it follows.",
        &one(live.leader.into()),
    );
    metric(
        "halted",
        "gauge",
        "1 if the relayer stopped on an error or an equivocation is on record.",
        &one((live.halted || t.equivocations > 0).into()),
    );
    metric("rpc_up", "gauge", "1 if the chain's RPC answered this scrape.", &one(live.head.is_some().into()));
    metric("batches_ingested_total", "counter", "Certified batches accepted.", &one(t.batches_ingested));
    let rejected: u64 = t.rejected_by_reason.iter().map(|r| r.1).sum();
    let mut by_reason = vec![(r#"{reason="all"}"#.to_string(), rejected as f64)];
    by_reason.extend(t.rejected_by_reason.iter().map(|(r, n)| (format!(r#"{{reason="{r}"}}"#), *n as f64)));
    metric("batches_rejected_total", "counter", "Inputs rejected and quarantined, by reason (and all).", &by_reason);
    metric("last_ingested_epoch", "gauge", "The highest accepted epoch.", &one(t.last_ingested_epoch));
    metric("epochs_committed_total", "counter", "Epochs whose root is committed on chain.", &one(t.epochs_committed));
    metric("last_committed_epoch", "gauge", "The highest committed epoch.", &one(t.last_committed_epoch));
    metric(
        "epochs_finalized_total",
        "counter",
        "Committed epochs past their challenge window.",
        &one(t.epochs_finalized),
    );

    let mut buckets = Vec::new();
    for bound in LATENCY_BUCKETS {
        let n = t.commit_latencies.iter().filter(|&&l| l <= bound).count();
        buckets.push((format!(r#"_bucket{{le="{bound}"}}"#), n as f64));
    }
    buckets.push((r#"_bucket{le="+Inf"}"#.to_string(), t.commit_latencies.len() as f64));
    buckets.push(("_sum".to_string(), t.commit_latencies.iter().sum::<i64>() as f64));
    buckets.push(("_count".to_string(), t.commit_latencies.len() as f64));
    metric("ingest_to_commit_seconds", "histogram", "Seconds from accepting a batch to committing its root.", &buckets);

    let mut attempts: Vec<(String, f64)> = Vec::new();
    for purpose in ["commit", "settle"] {
        for status in ["sent", "mined", "replaced", "refused", "reverted"] {
            let n = t.attempts.iter().find(|a| a.0 == purpose && a.1 == status).map_or(0, |a| a.2);
            attempts.push((format!(r#"{{purpose="{purpose}",status="{status}"}}"#), n as f64));
        }
    }
    metric("tx_attempts_total", "counter", "Transaction attempts by purpose and outcome.", &attempts);
    let replaced: u64 = t.attempts.iter().filter(|a| a.1 == "replaced").map(|a| a.2).sum();
    metric("tx_replacements_total", "counter", "Transactions replaced by a higher-fee resend.", &one(replaced));
    metric("gas_used_total", "counter", "Gas used by the relayer's mined transactions.", &one(t.gas_used));
    let lag = match (live.head, t.watcher_next_block) {
        (Some(head), Some(next)) => head.saturating_sub(next.saturating_sub(1)),
        (Some(head), None) => head,
        (None, _) => 0,
    };
    metric(
        "watcher_lag_blocks",
        "gauge",
        "Blocks between the chain head and the watcher's last read block.",
        &one(lag),
    );
    metric("reorgs_total", "counter", "Chain reorganisations the watcher rewound over.", &one(t.reorgs));
    metric("deposits_total", "counter", "Escrow deposits seen.", &one(t.deposits.0));
    metric(
        "deposited_usdc_total",
        "counter",
        "USDC deposited into the escrow.",
        &[(String::new(), usdc(t.deposits.1))],
    );
    metric("withdrawals_total", "counter", "Escrow withdrawals paid.", &one(t.withdrawals.0));
    metric("withdrawn_usdc_total", "counter", "USDC the escrow paid out.", &[(String::new(), usdc(t.withdrawals.1))]);
    metric("pending_withdrawals", "gauge", "Certified withdrawal claims not yet paid.", &one(t.pending_withdrawals));
    // Every kind, so each has a series before the first one happens.
    let mismatches: Vec<(String, f64)> = Kind::ALL
        .iter()
        .map(|k| {
            let n = t.open_mismatches.iter().find(|m| m.0 == k.as_str()).map_or(0, |m| m.1);
            (format!(r#"{{kind="{}"}}"#, k.as_str()), n as f64)
        })
        .collect();
    metric("open_mismatches", "gauge", "Open disagreements between the chain and the ledger, by kind.", &mismatches);
    out
}

/// USDC units (6 decimals) as a number of USDC, for display only (a metric, never a settlement figure).
fn usdc(units: U256) -> f64 {
    let whole = units / U256::from(1_000_000u64);
    let frac = units % U256::from(1_000_000u64);
    u128::try_from(whole).map_or(f64::MAX, |w| w as f64) + frac.to::<u64>() as f64 / 1e6
}
