//! The demo's summary: per epoch the commitment, the settlement (auction, net orders, P-AMM, deposit split),
//! then the escrow's deposits and withdrawals.

use std::fmt;

use alloy::primitives::{B256, U256};

use crate::devnet::{Deployment, Devnet};
use crate::store::{self, escrow};

/// One committed epoch, for the summary.
#[derive(Debug, Clone)]
pub struct EpochLine {
    /// The epoch.
    pub epoch: u64,
    /// Its state root.
    pub state_root: B256,
    /// The commit transaction.
    pub tx_hash: Option<B256>,
    /// Gas the commit used.
    pub gas_used: Option<u64>,
    /// Deposits the batch credited.
    pub deposits_credited: usize,
    /// Withdrawal claims in its root.
    pub claims: usize,
    /// The attesters whose signatures went on chain with the commitment.
    pub attested_by: Vec<alloy::primitives::Address>,
    /// The batch auction and the net orders the curve executed.
    pub curve: Option<store::curve::CurveSettlement>,
    /// The P-AMM rate, payouts and deposit split.
    pub outputs: Option<store::outputs::EpochOutputs>,
    /// The conservation audit's terms (JSON, as stored), once audited.
    pub conservation: Option<serde_json::Value>,
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The anvil endpoint (gone once the demo returns).
    pub rpc_url: String,
    /// The relayer's status page (up while the [`Finished`] demo is kept).
    pub status_url: String,
    /// The chain id.
    pub chain_id: u64,
    /// Contract addresses.
    pub deployment: Deployment,
    /// Committed epochs, in order.
    pub epochs: Vec<EpochLine>,
    /// `StateCommitment.latestEpoch()` read from the chain at the end.
    pub latest_epoch_on_chain: u64,
    /// Escrow deposits the watcher stored.
    pub deposits: Vec<escrow::Deposit>,
    /// Escrow withdrawals the watcher stored.
    pub withdrawals: Vec<escrow::Withdrawal>,
    /// The relayer's database URL.
    pub database: String,
}

/// A finished demo: its report, and the chain it ran on (stopped when this is dropped).
#[derive(Debug)]
pub struct Finished {
    /// What happened.
    pub report: Report,
    /// The still-running chain, for a look with `cast` before it goes.
    pub chain: Devnet,
    /// Keeps the status page up until this is dropped.
    pub status_page: tokio_util::sync::DropGuard,
}

/// `amount` in units of `10^-decimals`, shown with `shown` decimals (truncated, never rounded up).
fn decimal(amount: U256, decimals: u32, shown: u32) -> String {
    let (whole, frac) = amount.div_rem(U256::from(10u64).pow(U256::from(decimals)));
    let frac = frac / U256::from(10u64).pow(U256::from(decimals - shown));
    if shown == 0 { whole.to_string() } else { format!("{whole}.{frac:0>width$}", width = shown as usize) }
}

fn usdc(amount: U256) -> String {
    decimal(amount, 6, 6)
}

/// One epoch's batch auction and curve execution, e.g. `sell 12.50 MYCO → 12.49 USDC`.
fn net_orders(row: &store::curve::CurveSettlement) -> String {
    let (p, done) = (&row.plan, row.executed.as_ref());
    let mut legs = Vec::new();
    if !p.sell.0.is_zero() {
        let out = done.map_or_else(|| "?".into(), |e| decimal(e.usdc_out, 6, 2));
        legs.push(format!("sell {} MYCO → {out} USDC", decimal(p.sell.0, 18, 2)));
    }
    if !p.buy.0.is_zero() {
        let out = done.map_or_else(|| "?".into(), |e| decimal(e.myco_out, 18, 2));
        legs.push(format!("buy {} USDC → {out} MYCO", decimal(p.buy.0, 6, 2)));
    }
    if !p.skipped.is_empty() {
        legs.push(format!("{} skipped", p.skipped.len()));
    }
    if legs.is_empty() { "-".into() } else { legs.join(", ") }
}

/// The epoch's deposits over the vaults, e.g. `t-bills 500.00, bank-deposits 300.00`.
fn split(outputs: &store::outputs::EpochOutputs) -> String {
    match &outputs.deposit_split {
        Some(serde_json::Value::Array(parts)) => {
            let parts: Vec<String> = parts
                .iter()
                .filter_map(|p| {
                    let usd = U256::from_str_radix(p["deposit_usd"].as_str()?, 10).ok()?;
                    let vault = p["vault"].as_str()?;
                    (!usd.is_zero()).then(|| format!("{vault} {}", decimal(usd, 18, 2)))
                })
                .collect();
            if parts.is_empty() { "-".into() } else { parts.join(", ") }
        }
        Some(other) => other.to_string(),
        None => "-".into(),
    }
}

impl Report {
    fn commitments(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>5}  {:<66}  {:<66}  {:>8}  {:>8}  {:>6}",
            "epoch", "state root", "commit tx", "gas", "deposits", "claims"
        )?;
        for e in &self.epochs {
            let tx = e.tx_hash.map_or_else(|| "(already on chain)".to_string(), |h| h.to_string());
            let gas = e.gas_used.map_or_else(|| "-".to_string(), |g| g.to_string());
            writeln!(
                f,
                "{:>5}  {:<66}  {:<66}  {:>8}  {:>8}  {:>6}",
                e.epoch,
                e.state_root.to_string(),
                tx,
                gas,
                e.deposits_credited,
                e.claims
            )?;
        }
        Ok(())
    }

    fn settlements(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "settlement per epoch (prices in USD per MYCO):")?;
        writeln!(
            f,
            "{:>5}  {:>7}  {:>8}  {:>10}  {:<62}  {:>7}  {:>9}  deposit split (USD)",
            "epoch", "spot", "clearing", "P2P MYCO", "net curve orders", "P-AMM", "paid USDC"
        )?;
        for e in &self.epochs {
            let (spot, clearing, matched, orders) = match &e.curve {
                Some(c) => (
                    decimal(c.plan.spot, 18, 4),
                    c.plan.clearing_price.map_or_else(|| "-".into(), |p| decimal(p, 18, 4)),
                    decimal(c.plan.matched_myco, 18, 2),
                    net_orders(c),
                ),
                None => ("-".into(), "-".into(), "-".into(), "-".into()),
            };
            let (rate, paid, deposits) = match &e.outputs {
                Some(o) => (decimal(o.pamm_rate, 18, 4), decimal(o.payout_usdc, 6, 2), split(o)),
                None => ("-".into(), "-".into(), "-".into()),
            };
            writeln!(
                f,
                "{:>5}  {spot:>7}  {clearing:>8}  {matched:>10}  {orders:<62}  {rate:>7}  {paid:>9}  {deposits}",
                e.epoch
            )?;
        }
        Ok(())
    }

    fn conservation(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conservation per epoch (before + named flows = after, exactly; shown with 2 decimals):")?;
        for e in &self.epochs {
            let Some(t) = &e.conservation else {
                writeln!(f, "{:>5}  not audited", e.epoch)?;
                continue;
            };
            let lines = [
                ("MYCO supply", "myco_supply", 18),
                ("USDC balances", "usdc_balances", 6),
                ("reserve USD", "reserve", 18),
            ];
            let mut first = true;
            for (name, key, decimals) in lines {
                let Some(line) = t.get(key).filter(|l| l.is_object()) else { continue };
                let figure = |v: &serde_json::Value| {
                    v.as_str()
                        .and_then(|s| U256::from_str_radix(s, 10).ok())
                        .map_or("?".into(), |x| decimal(x, decimals, 2))
                };
                let flows = |sign: &str, m: &serde_json::Value| {
                    m.as_object()
                        .map(|m| {
                            m.iter()
                                .filter(|(_, v)| v.as_str() != Some("0"))
                                .map(|(k, v)| format!(" {sign} {} {k}", figure(v)))
                                .collect::<String>()
                        })
                        .unwrap_or_default()
                };
                let verdict = if line["balanced"] == true { "balanced" } else { "UNBALANCED" };
                writeln!(
                    f,
                    "{:>5}  {name:<14} {}{}{} = {}  {verdict}",
                    if first { e.epoch.to_string() } else { String::new() },
                    figure(&line["before"]),
                    flows("+", &line["plus"]),
                    flows("-", &line["minus"]),
                    figure(&line["after"]),
                )?;
                first = false;
            }
            if first {
                writeln!(f, "{:>5}  the first audited batch: its ledger starts here", e.epoch)?;
            }
            if let Some(o) = t.get("onchain").filter(|o| o.is_object()) {
                let usd = |v: &serde_json::Value| {
                    v.as_str().and_then(|s| U256::from_str_radix(s, 10).ok()).map_or("?".into(), |x| decimal(x, 18, 2))
                };
                writeln!(
                    f,
                    "       {:<14} {} on chain <= {} the escrow holds beyond what it owes",
                    "reserve USD",
                    usd(&o["reserve_onchain"]),
                    usd(&o["available_usd"])
                )?;
            }
        }
        Ok(())
    }

    fn attestations(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "attested by (the validators' attesters whose signatures went on chain with each root):")?;
        for e in &self.epochs {
            let who: Vec<String> = e.attested_by.iter().map(ToString::to_string).collect();
            let who = if who.is_empty() { "(found on chain)".to_string() } else { who.join(", ") };
            writeln!(f, "{:>5}  {who}", e.epoch)?;
        }
        Ok(())
    }

    fn escrow_events(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "deposits seen: {}", self.deposits.len())?;
        for dep in &self.deposits {
            writeln!(
                f,
                "  #{} {} USDC from {} for {} (tx {})",
                dep.deposit_id,
                usdc(dep.amount),
                dep.depositor,
                dep.recipient,
                dep.origin.tx_hash
            )?;
        }
        writeln!(f, "withdrawals settled: {}", self.withdrawals.len())?;
        for w in &self.withdrawals {
            writeln!(
                f,
                "  claim {} of epoch {}: {} USDC to {} (tx {})",
                w.claim_id,
                w.epoch,
                usdc(w.usdc_amount),
                w.recipient,
                w.origin.tx_hash
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.deployment;
        writeln!(f, "myco-bridge demo: chain {} at {}", self.chain_id, self.rpc_url)?;
        writeln!(f, "  status page {} (up while the demo runs; --keep-chain keeps it)", self.status_url)?;
        writeln!(f, "  StateCommitment {}  USDCEscrow {}  MycoBondingCurve {}", d.state_commitment, d.escrow, d.curve)?;
        writeln!(f)?;
        self.commitments(f)?;
        writeln!(f)?;
        self.settlements(f)?;
        writeln!(f)?;
        self.conservation(f)?;
        writeln!(f)?;
        self.attestations(f)?;
        writeln!(f)?;
        writeln!(f, "latestEpoch() on chain: {}", self.latest_epoch_on_chain)?;
        self.escrow_events(f)?;
        write!(f, "relayer database: {}", self.database)
    }
}
