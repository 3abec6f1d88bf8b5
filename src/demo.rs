//! The whole bridge on a local chain: anvil, the contracts, a simulated validator network, the relayer,
//! escrow deposits that get credited, batch auctions whose net orders execute on the curve, and withdrawals paid
//! at the P-AMM rate (one of them dampened for its size). Used by `myco-bridge demo` and the end-to-end tests.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use tokio_util::sync::CancellationToken;

use crate::chain::bindings::{StateCommitment, TestUSDC, USDCEscrow};
use crate::chain::{send_call, signing_provider};
use crate::devnet::simulate::{EpochInputs, Network, WithdrawalAsk};
use crate::devnet::{self, Deployment, Devnet};
use crate::ingest::document::CreditedDeposit;
use crate::ingest::{SourceConfig, ValidatorSet, folder::FolderSource};
use crate::relayer::Relayer;
use crate::store::{self, claims, commitments, escrow};
use crate::{Error, Result};

/// How long any one step of the demo may take before it is reported as stuck.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// Challenge window of the demo's StateCommitment; the demo fast-forwards anvil's clock past it.
const CHALLENGE_WINDOW: u64 = 600;
/// USDC each demo user deposits (1,000 USDC).
const DEPOSIT_USDC: u64 = 1_000_000_000;
/// MYCO the demo users withdraw: 80 (within the flow threshold) and 250 (well above it: the penalty's cap).
const WITHDRAW_MYCO: [u64; 2] = [80, 250];

/// Demo settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Epochs to certify and commit.
    pub epochs: u64,
    /// Validators in the simulated network.
    pub validators: usize,
    /// Off-chain accounts in the simulated network.
    pub accounts: usize,
    /// Seed of every key and random choice.
    pub seed: u64,
    /// Where batches and the relayer's database go (recreated on each run).
    pub workdir: PathBuf,
    /// Reserve write-down in the withdrawal epoch, in basis points (0: fully backed, withdrawals at par).
    pub reserve_loss_bps: u64,
    /// The relayer's database; `None` for `relayer.db` (SQLite) in the work folder.
    pub database_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            epochs: 5,
            validators: 4,
            accounts: 8,
            seed: 7,
            workdir: PathBuf::from(".demo"),
            reserve_loss_bps: 0,
            database_url: None,
        }
    }
}

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
    /// The batch auction and the net orders the curve executed.
    pub curve: Option<store::curve::CurveSettlement>,
    /// The P-AMM rate, payouts and deposit split.
    pub outputs: Option<store::outputs::EpochOutputs>,
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

/// Runs the demo end to end.
pub async fn run(options: &Options) -> Result<Finished> {
    let workdir = &options.workdir;
    let batch_dir = workdir.join("batches");
    let database =
        options.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", workdir.join("relayer.db").display()));
    prepare_workdir(workdir).await?;

    let devnet = Devnet::start(CHALLENGE_WINDOW, &[]).await?;
    let deployment = devnet.deployment;
    let url = devnet.url();
    let chain_id = devnet.chain_id();
    let admin_provider = devnet.provider(devnet::ADMIN_ACCOUNT);

    let pool = store::connect(&database).await?;
    let mut network = Network::new(chain_id, options.seed, options.validators, options.accounts);
    let config =
        devnet.relayer_config(ValidatorSet::new(network.validator_keys())?, SourceConfig::Folder(batch_dir.clone()));
    let shutdown = CancellationToken::new();
    let relayer = Relayer::new(pool.clone(), devnet.provider(devnet::RELAYER_ACCOUNT), config);
    let health = relayer.health().clone();
    health.set_leader(true);
    let mut relayer_task = tokio::spawn(relayer.run(shutdown.clone()));

    // The relayer's status page and API, on a free loopback port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| step("binding the status page", e.to_string()))?;
    let status_url =
        format!("http://{}/", listener.local_addr().map_err(|e| step("status page address", e.to_string()))?);
    let api_state = crate::api::ApiState {
        pool: pool.clone(),
        provider: devnet.provider(devnet::ADMIN_ACCOUNT),
        health,
        chain: crate::api::ChainInfo {
            chain_id,
            account: devnet.signer(devnet::RELAYER_ACCOUNT).address(),
            state_commitment: deployment.state_commitment,
            escrow: deployment.escrow,
            world: crate::preflight::World {
                usdc: deployment.usdc,
                myco: deployment.myco,
                challenge_window: CHALLENGE_WINDOW,
            },
            thresholds: Default::default(),
        },
    };
    let api_stop = CancellationToken::new();
    tokio::spawn(crate::api::serve(listener, api_state, api_stop.clone()));
    tracing::info!(url = %status_url, "status page up");

    // Four users deposit USDC on chain for four off-chain accounts. The first two turn it into MYCO and later
    // withdraw (the network leaves them alone, so their figures are exact); the other two trade it.
    let depositors: Vec<(PrivateKeySigner, B256)> =
        (0..4).map(|i| (devnet.signer(devnet::FIRST_USER_ACCOUNT + i), network.accounts()[i])).collect();
    for (user, account) in &depositors {
        deposit(signing_provider(url.clone(), user.clone()), user.address(), &deployment, *account).await?;
    }
    let users = &depositors[..2];
    for (_, account) in users {
        network.keep_passive(*account);
    }

    // The validators credit only deposits they have seen on chain; wait until the relayer's watcher has too.
    let expected = depositors.len();
    wait_for("watcher sees the deposits", &mut relayer_task, || async {
        Ok(escrow::deposits(&pool).await?.len() >= expected)
    })
    .await?;

    let source = FolderSource::new(&batch_dir);
    let withdrawal_epoch = options.epochs.min(2);
    let mut credited = 0u64;
    let mut credited_per_epoch = Vec::new();
    for epoch in 1..=options.epochs {
        // Credit what the relayer's watcher has seen (validators watch the escrow the same way).
        let seen = escrow::deposits(&pool).await?;
        let deposits: Vec<CreditedDeposit> = seen
            .iter()
            .filter(|d| d.deposit_id > credited)
            .map(|d| CreditedDeposit { deposit_id: d.deposit_id, account: d.recipient, amount: d.amount })
            .collect();
        credited = seen.last().map_or(credited, |d| d.deposit_id);
        credited_per_epoch.push(deposits.len());
        let withdrawals = if epoch == withdrawal_epoch {
            users
                .iter()
                .zip(WITHDRAW_MYCO)
                .map(|((user, account), myco)| WithdrawalAsk {
                    account: *account,
                    amount: U256::from(myco) * U256::from(crate::settle::WAD),
                    recipient: user.address(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let loss = if epoch == withdrawal_epoch { options.reserve_loss_bps } else { 0 };
        // The users turn their deposits into MYCO as soon as they are credited.
        let convert = if epoch == 1 { users.iter().map(|(_, account)| *account).collect() } else { Vec::new() };
        let inputs = EpochInputs {
            timestamp: devnet::unix_now(),
            deposits,
            convert,
            withdrawals,
            transfers: 10,
            intents: 20,
            reserve_loss_bps: loss,
        };
        let produced = network.next_batch(&inputs);
        source.publish(epoch, &produced.bytes).await.map_err(crate::ingest::Error::from)?;
        tracing::info!(epoch, digest = %produced.digest, "validators certified a batch");

        wait_for("relayer commits the epoch", &mut relayer_task, || async {
            Ok(commitments::latest(&pool).await?.is_some_and(|l| l.0 >= epoch))
        })
        .await?;
    }

    // Let the challenge window pass, then each user claims on chain with the proof from the relayer's store.
    devnet.advance_time(CHALLENGE_WINDOW + 1).await?;
    for stored in claims::all(&pool).await?.into_iter().filter(|c| c.paid_tx.is_none()) {
        let c = &stored.claim;
        let Some((claimer, _)) = users.iter().find(|(_, account)| *account == c.account) else { continue };
        let user_provider = signing_provider(url.clone(), claimer.clone());
        let claim = crate::chain::withdrawal_claim(c);
        let escrow_contract = USDCEscrow::new(deployment.escrow, &user_provider);
        send_call("withdraw", escrow_contract.withdraw(claim, stored.proof.clone())).await?;
        tracing::info!(claim = %c.claim_id, epoch = c.epoch, "withdrawal claimed on chain");
    }
    wait_for("watcher sees the withdrawals", &mut relayer_task, || async {
        Ok(claims::all(&pool).await?.iter().all(|c| c.paid_tx.is_some()))
    })
    .await?;

    let latest_epoch_on_chain = StateCommitment::new(deployment.state_commitment, &admin_provider)
        .latestEpoch()
        .call()
        .await
        .map_err(|e| crate::chain::Error::from_call("latestEpoch", e))?;
    shutdown.cancel();
    match relayer_task.await {
        Ok(result) => result?,
        Err(e) => return Err(step("relayer task", e.to_string())),
    }

    let claims = claims::all(&pool).await?;
    let curve_rows = store::curve::all(&pool).await?;
    let output_rows = store::outputs::all(&pool).await?;
    let mut epochs = Vec::new();
    for c in commitments::all(&pool).await? {
        let epoch = c.epoch.0;
        epochs.push(EpochLine {
            epoch,
            state_root: c.state_root,
            tx_hash: c.tx_hash,
            gas_used: c.gas_used,
            deposits_credited: credited_per_epoch.get(epoch as usize - 1).copied().unwrap_or_default(),
            claims: claims.iter().filter(|s| s.claim.epoch == epoch).count(),
            curve: curve_rows.iter().find(|r| r.plan.epoch == c.epoch).cloned(),
            outputs: output_rows.iter().find(|r| r.epoch == epoch).cloned(),
        });
    }
    let report = Report {
        rpc_url: url.to_string(),
        status_url,
        chain_id,
        deployment,
        epochs,
        latest_epoch_on_chain,
        deposits: escrow::deposits(&pool).await?,
        withdrawals: escrow::withdrawals(&pool).await?,
        database,
    };
    Ok(Finished { report, chain: devnet, status_page: api_stop.drop_guard() })
}

async fn prepare_workdir(workdir: &std::path::Path) -> Result<()> {
    let io = |e: std::io::Error| step("preparing the work folder", format!("{}: {e}", workdir.display()));
    match tokio::fs::remove_dir_all(workdir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    tokio::fs::create_dir_all(workdir.join("batches")).await.map_err(io)
}

/// Mints test USDC to the provider's signer and deposits it for `account`.
async fn deposit(provider: DynProvider, me: Address, deployment: &Deployment, account: B256) -> Result<()> {
    let amount = U256::from(DEPOSIT_USDC);
    let usdc = TestUSDC::new(deployment.usdc, &provider);
    send_call("mint", usdc.mint(me, amount)).await?;
    send_call("approve", usdc.approve(deployment.escrow, amount)).await?;
    send_call("deposit", USDCEscrow::new(deployment.escrow, &provider).deposit(amount, account)).await?;
    tracing::info!(user = %me, %account, usdc = DEPOSIT_USDC / 1_000_000, "deposited into the escrow");
    Ok(())
}

/// Polls `condition` until it holds; fails if the relayer stops first or the step takes too long.
async fn wait_for<F, Fut>(
    what: &'static str,
    relayer: &mut tokio::task::JoinHandle<Result<()>>,
    mut condition: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        if condition().await? {
            return Ok(());
        }
        if relayer.is_finished() {
            return match relayer.await {
                Ok(Err(e)) => Err(e),
                Ok(Ok(())) => Err(step(what, "the relayer stopped".into())),
                Err(e) => Err(step(what, format!("the relayer task failed: {e}"))),
            };
        }
        if tokio::time::Instant::now() > deadline {
            return Err(step(what, format!("not done after {} s", STEP_TIMEOUT.as_secs())));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn step(step: &'static str, reason: String) -> Error {
    devnet::Error::Step { step, reason }.into()
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

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.deployment;
        writeln!(f, "myco-bridge demo: chain {} at {}", self.chain_id, self.rpc_url)?;
        writeln!(f, "  status page {} (up while the demo runs; --keep-chain keeps it)", self.status_url)?;
        writeln!(f, "  StateCommitment {}  USDCEscrow {}  MycoBondingCurve {}", d.state_commitment, d.escrow, d.curve)?;
        writeln!(f)?;
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
        writeln!(f)?;
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
        writeln!(f)?;
        writeln!(f, "latestEpoch() on chain: {}", self.latest_epoch_on_chain)?;
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
        write!(f, "relayer database: {}", self.database)
    }
}
