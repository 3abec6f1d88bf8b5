//! The preflight: before anything is sent, check that the configuration points at the world it expects. The
//! node is on the configured chain; each address holds the contract it should (each answers its own views, and
//! they point at each other); the relayer key holds its roles and can pay for gas; the store opens and migrates.
//! `run --check` prints every check; `run` performs the same checks before it starts, waits out the ones that
//! fail only because something is unreachable, and refuses to start on any other.

use std::fmt;

use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider};

use crate::chain::bindings::{AccessControl, Erc20, MycoBondingCurve, StateCommitment, USDCEscrow};
use crate::config::{ChainSection, Settings};
use crate::ingest::SourceConfig;

/// How one check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// As expected; what was found.
    Ok(String),
    /// Wrong: the configuration or the deployment must change.
    Wrong(String),
    /// Could not be checked for now (RPC or database unreachable).
    Unreachable(String),
    /// Not checked: an earlier check it depends on failed.
    Skipped,
}

/// One named check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`chain id`, `escrow`, …).
    pub name: &'static str,
    /// How it came out.
    pub outcome: Outcome,
}

/// What the preflight found out about the deployment, for the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct World {
    /// The USDC token the escrow and the curve hold.
    pub usdc: Address,
    /// The MYCO token.
    pub myco: Address,
    /// `StateCommitment`'s challenge window, seconds.
    pub challenge_window: u64,
}

/// Every check, in order, and what they found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
    /// The deployment, as far as the checks got.
    pub world: World,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| matches!(c.outcome, Outcome::Ok(_)))
    }

    /// Whether every failure is only something unreachable (worth waiting for, not a misconfiguration).
    pub fn only_unreachable(&self) -> bool {
        self.checks.iter().all(|c| !matches!(c.outcome, Outcome::Wrong(_)))
    }

    /// The failed checks, one line each.
    pub fn failures(&self) -> String {
        let failed = self.checks.iter().filter(|c| !matches!(c.outcome, Outcome::Ok(_) | Outcome::Skipped));
        failed.map(|c| c.to_string()).collect::<Vec<_>>().join("; ")
    }

    fn push(&mut self, name: &'static str, outcome: Outcome) -> bool {
        let ok = matches!(outcome, Outcome::Ok(_));
        self.checks.push(Check { name, outcome });
        ok
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Ok(detail) => write!(f, "ok    {:<18} {detail}", self.name),
            Outcome::Wrong(reason) => write!(f, "FAIL  {:<18} {reason}", self.name),
            Outcome::Unreachable(reason) => write!(f, "FAIL  {:<18} unreachable: {reason}", self.name),
            Outcome::Skipped => write!(f, "skip  {:<18} (an earlier check failed)", self.name),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "  {check}")?;
        }
        Ok(())
    }
}

/// A view call's failure: a node that answers with an error about the call is a wrong contract; a transport
/// failure is unreachable.
fn call_failed(what: &str, e: alloy::contract::Error) -> Outcome {
    match e {
        alloy::contract::Error::TransportError(t) if !t.is_error_resp() => {
            Outcome::Unreachable(format!("{what}: {}", crate::error::with_causes(&t)))
        }
        other => Outcome::Wrong(format!(
            "{what} failed: {}",
            crate::chain::decode_revert(&other).unwrap_or(other.to_string())
        )),
    }
}

/// Runs every check for `settings`, as `account` would run, through `provider`.
pub async fn run(settings: &Settings, account: Address, provider: &DynProvider) -> Report {
    let mut report = Report::default();
    let chain = &settings.file.chain;
    let chain_ok = report.push("chain id", chain_id(provider, chain.chain_id).await);
    let contracts_ok = if chain_ok {
        contracts(settings, account, provider, &mut report).await
    } else {
        for name in ["state_commitment", "escrow", "curve", "usdc", "start_block", "relayer funds"] {
            report.push(name, Outcome::Skipped);
        }
        false
    };
    if contracts_ok {
        let funds = funds(provider, account, settings).await;
        report.push("relayer funds", funds);
    } else if chain_ok {
        report.push("relayer funds", Outcome::Skipped);
    }
    report.push("store", store(&settings.file.database.url).await);
    report.push("batch source", source(&settings.source));
    report
}

async fn chain_id(provider: &DynProvider, expected: u64) -> Outcome {
    match provider.get_chain_id().await {
        Ok(id) if id == expected => Outcome::Ok(id.to_string()),
        Ok(id) => Outcome::Wrong(format!("the node reports chain id {id}, the configuration says {expected}")),
        Err(e) => Outcome::Unreachable(format!("eth_chainId: {}", crate::error::with_causes(&e))),
    }
}

/// The three contracts, the links between them, the token, and the relayer's roles.
async fn contracts(settings: &Settings, account: Address, provider: &DynProvider, report: &mut Report) -> bool {
    let c = &settings.file.chain;
    let world = &mut report.world;
    let sc = state_commitment(c, settings.file.attestation.endpoints.len(), provider, world).await;
    let escrow = escrow(c, provider, world).await;
    let escrow_ok = matches!(escrow, Outcome::Ok(_));
    let curve = curve(c, account, provider, world, escrow_ok).await;
    let usdc = if escrow_ok { usdc(provider, world.usdc).await } else { Outcome::Skipped };
    let start = start_block(c, provider).await;
    [("state_commitment", sc), ("escrow", escrow), ("curve", curve), ("usdc", usdc), ("start_block", start)]
        .into_iter()
        .fold(true, |ok, (name, outcome)| report.push(name, outcome) && ok)
}

/// `StateCommitment` answers its views, and enough attestation endpoints are configured to reach its threshold;
/// records the challenge window.
async fn state_commitment(c: &ChainSection, endpoints: usize, provider: &DynProvider, world: &mut World) -> Outcome {
    let sc = StateCommitment::new(c.state_commitment, provider);

    let latest = match sc.latestEpoch().call().await {
        Ok(l) => l,
        Err(e) => return call_failed(&format!("{} latestEpoch()", c.state_commitment), e),
    };
    let window = match sc.challengeWindow().call().await {
        Ok(w) => w,
        Err(e) => return call_failed("challengeWindow()", e),
    };
    world.challenge_window = window;
    let attesters = match sc.attesters().call().await {
        Ok(a) => a.len(),
        Err(e) => return call_failed("attesters()", e),
    };
    let threshold = match sc.threshold().call().await {
        Ok(t) => t.saturating_to::<usize>(),
        Err(e) => return call_failed("threshold()", e),
    };
    if endpoints < threshold {
        return Outcome::Wrong(format!(
            "{threshold} of {attesters} attesters must sign each commitment, but [attestation] endpoints lists \
             {endpoints}"
        ));
    }
    Outcome::Ok(format!(
        "latest epoch {latest}, challenge window {window} s, {threshold} of {attesters} attesters sign ({endpoints} \
         endpoints)"
    ))
}

/// The escrow answers its views, reads roots from the configured `StateCommitment` and has valid P-AMM
/// parameters; records its USDC.
async fn escrow(c: &ChainSection, provider: &DynProvider, world: &mut World) -> Outcome {
    let escrow = USDCEscrow::new(c.escrow, provider);

    let next = match escrow.nextDepositId().call().await {
        Ok(n) => n,
        Err(e) => return call_failed(&format!("{} nextDepositId() (is it the escrow?)", c.escrow), e),
    };
    let points_at = match escrow.stateCommitment().call().await {
        Ok(a) => a,
        Err(e) => return call_failed("stateCommitment()", e),
    };
    if points_at != c.state_commitment {
        return Outcome::Wrong(format!(
            "reads roots from {points_at}, not the configured state_commitment {}",
            c.state_commitment
        ));
    }
    match escrow.usdc().call().await {
        Ok(usdc) => world.usdc = usdc,
        Err(e) => return call_failed("usdc()", e),
    }
    match crate::chain::escrow_pamm_params(provider, c.escrow).await {
        Ok(p) => Outcome::Ok(format!(
            "next deposit id {next}, holds {}, pays by P-AMM ᾱ {} x̄_U {} θ̄ {} δ {}",
            world.usdc, p.alpha_bar, p.xu_bar, p.theta_bar, p.decay
        )),
        Err(e) if e.is_retryable() => Outcome::Unreachable(format!("pammParams(): {e}")),
        Err(e) => Outcome::Wrong(format!("pammParams(): {e}")),
    }
}

/// The curve answers its views, trades the escrow's USDC, follows the configured `StateCommitment` and lets
/// `account` settle; records MYCO.
async fn curve(
    c: &ChainSection,
    account: Address,
    provider: &DynProvider,
    world: &mut World,
    escrow_ok: bool,
) -> Outcome {
    let curve = MycoBondingCurve::new(c.curve, provider);

    let settled = match curve.lastSettledEpoch().call().await {
        Ok(s) => s,
        Err(e) => return call_failed(&format!("{} lastSettledEpoch() (is it the curve?)", c.curve), e),
    };
    match curve.usdc().call().await {
        Ok(usdc) if escrow_ok && usdc != world.usdc => {
            return Outcome::Wrong(format!("trades {usdc}, the escrow holds {}", world.usdc));
        }
        Ok(_) => {}
        Err(e) => return call_failed("usdc()", e),
    }
    match curve.stateCommitment().call().await {
        Ok(a) if a != c.state_commitment => {
            return Outcome::Wrong(format!(
                "settles epochs committed on {a}, not the configured state_commitment {}",
                c.state_commitment
            ));
        }
        Ok(_) => {}
        Err(e) => return call_failed("stateCommitment()", e),
    }
    match curve.myco().call().await {
        Ok(myco) => world.myco = myco,
        Err(e) => return call_failed("myco()", e),
    }
    let role = match curve.SETTLEMENT_ROLE().call().await {
        Ok(r) => r,
        Err(e) => return call_failed("SETTLEMENT_ROLE()", e),
    };
    match AccessControl::new(c.curve, provider).hasRole(role, account).call().await {
        Ok(true) => Outcome::Ok(format!("last settled epoch {settled}, {account} settles")),
        Ok(false) => Outcome::Wrong(format!("{account} does not hold SETTLEMENT_ROLE")),
        Err(e) => call_failed("hasRole()", e),
    }
}

/// The token has USDC's 6 decimals.
async fn usdc(provider: &DynProvider, usdc: Address) -> Outcome {
    match Erc20::new(usdc, provider).decimals().call().await {
        Ok(6) => Outcome::Ok(format!("{usdc} has 6 decimals")),
        Ok(d) => Outcome::Wrong(format!("{usdc} has {d} decimals, USDC has 6")),
        Err(e) => call_failed("decimals()", e),
    }
}

/// The watcher's first block exists.
async fn start_block(c: &ChainSection, provider: &DynProvider) -> Outcome {
    match provider.get_block_number().await {
        Ok(head) if c.start_block <= head => Outcome::Ok(format!("{} (head {head})", c.start_block)),
        Ok(head) => Outcome::Wrong(format!("{} is above the chain's head {head}", c.start_block)),
        Err(e) => Outcome::Unreachable(format!("eth_blockNumber: {}", crate::error::with_causes(&e))),
    }
}

/// The relayer can pay for gas (it must hold some ETH; below the alert threshold is reported, not refused).
async fn funds(provider: &DynProvider, account: Address, settings: &Settings) -> Outcome {
    match provider.get_balance(account).await {
        Ok(b) if b.is_zero() => Outcome::Wrong(format!("{account} holds no ETH to pay for gas")),
        Ok(b) if b < settings.thresholds.min_relayer_wei => Outcome::Ok(format!(
            "{} ETH (below the alert threshold {} ETH: fund it)",
            alloy::primitives::utils::format_ether(b),
            settings.file.alerts.min_relayer_eth
        )),
        Ok(b) => Outcome::Ok(format!("{} ETH", alloy::primitives::utils::format_ether(b))),
        Err(e) => Outcome::Unreachable(format!("eth_getBalance: {}", crate::error::with_causes(&e))),
    }
}

async fn store(url: &str) -> Outcome {
    match crate::store::connect(url).await {
        Ok(pool) => {
            pool.close().await;
            let backend = crate::store::Backend::of(url).map_or("?", |b| b.name());
            Outcome::Ok(format!("{backend}, schema up to date"))
        }
        Err(e) if e.is_transient() => Outcome::Unreachable(e.to_string()),
        Err(e) => Outcome::Wrong(e.to_string()),
    }
}

fn source(source: &SourceConfig) -> Outcome {
    match source {
        SourceConfig::Folder(dir) if dir.is_dir() => Outcome::Ok(format!("folder {}", dir.display())),
        SourceConfig::Folder(dir) => Outcome::Wrong(format!("folder {} does not exist", dir.display())),
        SourceConfig::Http { endpoints, .. } => Outcome::Ok(format!("{} HTTP endpoint(s)", endpoints.len())),
    }
}
