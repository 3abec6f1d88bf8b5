//! `/metrics` in the Prometheus text format (0.0.4). Every series is present from the start, at zero, so alerts
//! can fire on them; figures come from the store (they survive restarts) and, for the watcher's lag, RPC health
//! and the relayer's balances, from a few bounded reads of the chain per scrape. `deploy/alerts.yml` holds the
//! alerting rules written against these names.

use std::fmt::Write;

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};

use super::{ChainInfo, probe};
use crate::chain::attempts::AttemptStatus;
use crate::chain::bindings::Erc20;
use crate::config::Thresholds;
use crate::health::Alarm;
use crate::ids::Purpose;
use crate::settle::execution::SkipReason;
use crate::store::clock::Clock;
use crate::store::mismatches::Kind;
use crate::store::views::Totals;

/// What the relayer's account holds: gas money and the settlement float.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balances {
    /// ETH, wei.
    pub eth: U256,
    /// USDC, 6 decimals.
    pub usdc: U256,
    /// MYCO, 18 decimals.
    pub myco: U256,
}

impl Balances {
    /// Reads the account's balances (each read bounded in time); `None` if any failed.
    pub async fn read(provider: &DynProvider, chain: &ChainInfo) -> Option<Self> {
        let token = |a: Address| Erc20::new(a, provider.clone());
        let (usdc, myco) = (token(chain.world.usdc), token(chain.world.myco));
        Some(Self {
            eth: probe(provider.get_balance(chain.account)).await?,
            usdc: probe(usdc.balanceOf(chain.account).call()).await?,
            myco: probe(myco.balanceOf(chain.account).call()).await?,
        })
    }
}

/// The escrow's outflow limit as the chain reports it now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outflow {
    /// USDC (6 decimals) that may leave now.
    pub available: U256,
    /// USDC (6 decimals) per period, the bucket's size.
    pub limit: U256,
    /// The period in seconds.
    pub period: u64,
}

impl Outflow {
    /// Reads the escrow's limit and what is available under it; `None` if a read failed.
    pub async fn read(provider: &DynProvider, chain: &ChainInfo) -> Option<Self> {
        let escrow = crate::chain::bindings::USDCEscrow::new(chain.escrow, provider.clone());
        let safety = probe(escrow.safety().call()).await?;
        Some(Self {
            available: probe(escrow.outflowAvailable().call()).await?,
            limit: U256::from(safety.outflowLimit),
            period: safety.outflowPeriod,
        })
    }
}

/// What the process knows beyond the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    /// The chain head, if the RPC answered.
    pub head: Option<u64>,
    /// The chain as the relayer last observed it (head time, finalized block).
    pub clock: Option<Clock>,
    /// The relayer's balances, if they could be read.
    pub balances: Option<Balances>,
    /// The escrow's outflow limit, if it could be read.
    pub outflow: Option<Outflow>,
    /// Whether the relayer stopped on an error (or an equivocation is on record).
    pub halted: bool,
    /// Whether this instance leads (sends transactions).
    pub leader: bool,
    /// The alarms raised now.
    pub alarms: Vec<Alarm>,
    /// The configured alert thresholds.
    pub thresholds: Thresholds,
}

/// The Prometheus text exposition being written.
#[derive(Default)]
struct Exposition(String);

impl Exposition {
    fn metric(&mut self, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
        let _ = writeln!(self.0, "# HELP myco_bridge_{name} {help}");
        let _ = writeln!(self.0, "# TYPE myco_bridge_{name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(self.0, "myco_bridge_{name}{labels} {value}");
        }
    }
}

/// One unlabelled sample.
fn one_sample(v: u64) -> Vec<(String, f64)> {
    vec![(String::new(), v as f64)]
}

/// Renders the exposition.
pub fn render(t: &Totals, live: &Live) -> String {
    let mut e = Exposition::default();
    process(&mut e, t, live);
    funds(&mut e, live);
    ingest(&mut e, t);
    transactions(&mut e, t);
    escrow(&mut e, t, live);
    e.0
}

/// The process, its role and alarms, and the chain as it sees it.
fn process(e: &mut Exposition, t: &Totals, live: &Live) {
    e.metric("up", "gauge", "1 while the process runs.", &one_sample(1));
    e.metric(
        "leader",
        "gauge",
        "1 if this instance leads (sends transactions), 0 if it follows.",
        &one_sample(live.leader.into()),
    );
    e.metric(
        "halted",
        "gauge",
        "1 if the relayer stopped on an error, or an equivocation or a conservation violation is on record.",
        &one_sample((live.halted || t.equivocations > 0 || t.conservation_violations > 0).into()),
    );
    e.metric("rpc_up", "gauge", "1 if the chain's RPC answered this scrape.", &one_sample(live.head.is_some().into()));
    let alarms: Vec<(String, f64)> = Alarm::ALL
        .iter()
        .map(|a| (format!(r#"{{alarm="{}"}}"#, a.as_str()), f64::from(u8::from(live.alarms.contains(a)))))
        .collect();
    e.metric("alarm", "gauge", "1 while the relayer waits out this condition (it needs a person to fix it).", &alarms);
    let head = live.head.or(live.clock.map(|c| c.head_block)).unwrap_or(0);
    e.metric("chain_head_block", "gauge", "The chain's head block.", &one_sample(head));
    let finalized = live.clock.and_then(|c| c.finalized_block).unwrap_or(0);
    e.metric(
        "chain_finalized_block",
        "gauge",
        "The node's finalized block (0 if it reports none).",
        &one_sample(finalized),
    );
    let chain_time = live.clock.map_or(0, |c| c.head_time.max(0) as u64);
    e.metric(
        "chain_time_seconds",
        "gauge",
        "The head block's timestamp: finality is judged by it.",
        &one_sample(chain_time),
    );
}

/// The relayer's gas money and settlement float, with their alert thresholds.
fn funds(e: &mut Exposition, live: &Live) {
    let b = live.balances;
    e.metric(
        "balances_up",
        "gauge",
        "1 if the relayer's balances were read this scrape.",
        &one_sample(b.is_some().into()),
    );
    let b = b.unwrap_or_default();
    e.metric("relayer_eth", "gauge", "ETH the relayer's account holds for gas.", &[(String::new(), units(b.eth, 18))]);
    e.metric(
        "relayer_eth_min",
        "gauge",
        "Alert threshold for relayer_eth ([alerts] min_relayer_eth).",
        &[(String::new(), units(live.thresholds.min_relayer_wei, 18))],
    );
    e.metric("float_usdc", "gauge", "USDC in the settlement float.", &[(String::new(), units(b.usdc, 6))]);
    e.metric(
        "float_usdc_min",
        "gauge",
        "Alert threshold for float_usdc ([alerts] min_float_usdc).",
        &[(String::new(), units(live.thresholds.min_float_usdc, 6))],
    );
    e.metric("float_myco", "gauge", "MYCO in the settlement float.", &[(String::new(), units(b.myco, 18))]);
}

/// Batches accepted and rejected, epochs committed and finalized, and how long committing took.
fn ingest(e: &mut Exposition, t: &Totals) {
    let skipped: Vec<(String, f64)> = SkipReason::ALL
        .iter()
        .map(|r| {
            let n = t.skipped_net_orders.iter().find(|s| s.0 == r.as_str()).map_or(0, |s| s.1);
            (format!(r#"{{reason="{}"}}"#, r.as_str()), n as f64)
        })
        .collect();
    e.metric("net_orders_skipped_total", "counter", "Net order legs left out, by reason.", &skipped);
    e.metric("batches_ingested_total", "counter", "Certified batches accepted.", &one_sample(t.batches_ingested));
    e.metric(
        "attestation_disagreements_total",
        "counter",
        "Attesters' signatures over a commitment other than ours (recorded with the differing fields, never counted).",
        &one_sample(t.attestation_disagreements),
    );
    e.metric(
        "conservation_audits_total",
        "counter",
        "Epochs whose batch passed the conservation audit before its commitment.",
        &one_sample(t.conservation_audits),
    );
    e.metric(
        "conservation_violations",
        "gauge",
        "Certified batches on record that broke conservation (never committed; the relayer halts).",
        &one_sample(t.conservation_violations),
    );
    let rejected: u64 = t.rejected_by_reason.iter().map(|r| r.1).sum::<u64>() + t.rejected_repeats;
    let mut by_reason = vec![(r#"{reason="all"}"#.to_string(), rejected as f64)];
    by_reason.extend(t.rejected_by_reason.iter().map(|(r, n)| (format!(r#"{{reason="{r}"}}"#), *n as f64)));
    e.metric(
        "batches_rejected_total",
        "counter",
        "Inputs rejected: kept in quarantine, by reason; `all` also counts repeats not kept.",
        &by_reason,
    );
    e.metric(
        "batches_rejected_repeats_total",
        "counter",
        "Rejected inputs counted but not kept (more of a kind already kept for that source and epoch).",
        &one_sample(t.rejected_repeats),
    );
    e.metric(
        "quarantine_bytes",
        "gauge",
        "Bytes the quarantine holds (inputs, reasons and row overhead), bounded per source and overall.",
        &one_sample(t.quarantine_bytes),
    );
    let d = &t.quarantine_dropped;
    e.metric(
        "quarantine_dropped_total",
        "counter",
        "Rejected inputs the quarantine's bound took out: evicted to make room, or not kept (room full of certified evidence).",
        &[
            (r#"{what="evicted"}"#.to_string(), d.evicted as f64),
            (r#"{what="not_kept"}"#.to_string(), d.not_kept as f64),
        ],
    );
    e.metric("last_ingested_epoch", "gauge", "The highest accepted epoch.", &one_sample(t.last_ingested_epoch));
    e.metric(
        "epochs_committed_total",
        "counter",
        "Epochs whose root is committed on chain.",
        &one_sample(t.epochs_committed),
    );
    e.metric("last_committed_epoch", "gauge", "The highest committed epoch.", &one_sample(t.last_committed_epoch));
    e.metric(
        "epochs_finalized_total",
        "counter",
        "Committed epochs past their challenge window.",
        &one_sample(t.epochs_finalized),
    );

    let latency = &t.commit_latency;
    let mut buckets: Vec<(String, f64)> =
        latency.buckets.iter().map(|(bound, n)| (format!(r#"_bucket{{le="{bound}"}}"#), *n as f64)).collect();
    buckets.push((r#"_bucket{le="+Inf"}"#.to_string(), latency.count as f64));
    buckets.push(("_sum".to_string(), latency.sum as f64));
    buckets.push(("_count".to_string(), latency.count as f64));
    e.metric(
        "ingest_to_commit_seconds",
        "histogram",
        "Seconds from accepting a batch to committing its root.",
        &buckets,
    );
}

/// The relayer's transactions.
fn transactions(e: &mut Exposition, t: &Totals) {
    let mut attempts: Vec<(String, f64)> = Vec::new();
    for purpose in Purpose::ALL.map(Purpose::as_str) {
        for status in AttemptStatus::ALL.map(AttemptStatus::as_str) {
            let n = t.attempts.iter().find(|a| a.0 == purpose && a.1 == status).map_or(0, |a| a.2);
            attempts.push((format!(r#"{{purpose="{purpose}",status="{status}"}}"#), n as f64));
        }
    }
    e.metric("tx_attempts_total", "counter", "Transaction attempts by purpose and outcome.", &attempts);
    let replaced: u64 = t.attempts.iter().filter(|a| a.1 == "replaced").map(|a| a.2).sum();
    e.metric(
        "tx_replacements_total",
        "counter",
        "Transactions replaced by a higher-fee resend.",
        &one_sample(replaced),
    );
    e.metric("gas_used_total", "counter", "Gas used by the relayer's mined transactions.", &one_sample(t.gas_used));
}

/// The escrow as the watcher read it, and its reconciliation with the ledger.
fn escrow(e: &mut Exposition, t: &Totals, live: &Live) {
    let lag = match (live.head, t.watcher_next_block) {
        (Some(head), Some(next)) => head.saturating_sub(next.saturating_sub(1)),
        (Some(head), None) => head,
        (None, _) => 0,
    };
    e.metric(
        "watcher_lag_blocks",
        "gauge",
        "Blocks between the chain head and the watcher's last read block.",
        &one_sample(lag),
    );
    e.metric("reorgs_total", "counter", "Chain reorganisations the watcher rewound over.", &one_sample(t.reorgs));
    let outflow = live.outflow.unwrap_or_default();
    e.metric(
        "escrow_outflow_available_usdc",
        "gauge",
        "USDC the escrow's outflow limit lets leave now (a withdrawal above it waits).",
        &[(String::new(), units(outflow.available, 6))],
    );
    e.metric(
        "escrow_outflow_limit_usdc",
        "gauge",
        "The escrow's outflow limit: USDC per escrow_outflow_period_seconds.",
        &[(String::new(), units(outflow.limit, 6))],
    );
    e.metric(
        "escrow_outflow_period_seconds",
        "gauge",
        "The outflow limit's refill period.",
        &one_sample(outflow.period),
    );
    e.metric("deposits_total", "counter", "Escrow deposits seen.", &one_sample(t.deposits.0));
    e.metric(
        "deposited_usdc_total",
        "counter",
        "USDC deposited into the escrow.",
        &[(String::new(), units(t.deposits.1, 6))],
    );
    e.metric("withdrawals_total", "counter", "Escrow withdrawals paid.", &one_sample(t.withdrawals.0));
    e.metric(
        "withdrawn_usdc_total",
        "counter",
        "USDC the escrow paid out.",
        &[(String::new(), units(t.withdrawals.1, 6))],
    );
    e.metric(
        "pending_withdrawals",
        "gauge",
        "Certified withdrawal claims not yet paid.",
        &one_sample(t.pending_withdrawals),
    );
    e.metric(
        "cancelled_commitments",
        "gauge",
        "Commitments the guardian cancelled (CommitmentCancelled) whose cancellation stands.",
        &one_sample(t.cancelled_commitments),
    );
    e.metric(
        "cancelled_claims",
        "gauge",
        "Unpaid claims a standing cancellation stops from paying (status cancelled).",
        &one_sample(t.cancelled_claims),
    );
    let (deposits_paused, withdrawals_paused) = t.escrow_paused;
    e.metric(
        "escrow_paused",
        "gauge",
        "Whether the escrow's deposits or withdrawals are paused now (PauseChanged; a withdrawal stop lapses by itself).",
        &[
            (r#"{side="deposits"}"#.to_string(), deposits_paused as u8 as f64),
            (r#"{side="withdrawals"}"#.to_string(), withdrawals_paused as u8 as f64),
        ],
    );
    // Every kind, so each has a series before the first one happens.
    let mismatches: Vec<(String, f64)> = Kind::ALL
        .iter()
        .map(|k| {
            let n = t.open_mismatches.iter().find(|m| m.0 == k.as_str()).map_or(0, |m| m.1);
            (format!(r#"{{kind="{}"}}"#, k.as_str()), n as f64)
        })
        .collect();
    e.metric("open_mismatches", "gauge", "Open disagreements between the chain and the ledger, by kind.", &mismatches);
}

/// A token amount with `decimals` decimals as a number of whole tokens, for display only (a metric, never a
/// settlement figure).
fn units(amount: U256, decimals: u8) -> f64 {
    let scale = U256::from(10u64).pow(U256::from(decimals));
    let (whole, frac) = amount.div_rem(scale);
    let frac = u128::try_from(frac).map_or(0.0, |f| f as f64) / 10f64.powi(i32::from(decimals));
    u128::try_from(whole).map_or(f64::MAX, |w| w as f64) + frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_the_shipped_alerts_use_is_published_from_the_start() {
        let exposition = render(&Totals::default(), &Live::default());
        let published: std::collections::BTreeSet<&str> =
            exposition.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split(['{', ' ']).next()).collect();
        let rules = include_str!("../../deploy/alerts.yml");
        let mut used = 0;
        for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            // The auditor's series are its own /metrics' (`audit::server`'s test checks them).
            if word.starts_with("myco_bridge_") && !word.starts_with("myco_bridge_audit_") {
                assert!(published.contains(word), "deploy/alerts.yml uses {word}, which /metrics does not publish");
                used += 1;
            }
        }
        assert!(used > 10, "the rules use the relayer's series");
    }
}
