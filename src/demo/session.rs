//! One run of the demo, step by step: a devnet with the relayer and its status page, users depositing, the
//! validators certifying each epoch, the users claiming, and the report read back from the chain and the store.

use std::future::Future;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::report::{EpochLine, Finished, Report};
use super::{CHALLENGE_WINDOW, DEPOSIT_USDC, Options, STEP_TIMEOUT, WITHDRAW_MYCO, step};
use crate::Result;
use crate::chain::bindings::{StateCommitment, TestUSDC, USDCEscrow};
use crate::chain::{send_call, signing_provider};
use crate::devnet::simulate::{EpochInputs, Network, WithdrawalAsk};
use crate::devnet::{self, Deployment, Devnet};
use crate::ingest::document::CreditedDeposit;
use crate::ingest::{SourceConfig, ValidatorSet, folder::FolderSource};
use crate::relayer::Relayer;
use crate::store::{self, Pool, claims, commitments, escrow};

/// The demo's world while it runs.
pub(super) struct Session {
    devnet: Devnet,
    pool: Pool,
    database: String,
    network: Network,
    source: FolderSource,
    relayer: JoinHandle<Result<()>>,
    /// The validators' attesters (one each); the relayer collects their signatures.
    attesters: Vec<devnet::attesters::RunningAttester>,
    shutdown: CancellationToken,
    status_url: String,
    status_page: DropGuard,
    /// Four users with an off-chain account each; the first two are minted MYCO for their labor and withdraw.
    depositors: Vec<(PrivateKeySigner, B256)>,
    /// The highest deposit id credited so far, and how many each epoch credited.
    credited: (u64, Vec<usize>),
}

impl Session {
    /// A fresh work folder, a devnet, the relayer and its status page on a free loopback port.
    pub(super) async fn start(options: &Options) -> Result<Self> {
        let workdir = &options.workdir;
        let database = options
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", workdir.join("relayer.db").display()));
        prepare_workdir(workdir).await?;
        let devnet = Devnet::start(CHALLENGE_WINDOW, &[]).await?;
        let pool = store::connect(&database).await?;
        let network = Network::new(devnet.chain_id(), options.seed, options.validators, options.accounts).with_ledger();
        let batch_dir = workdir.join("batches");
        let validators = ValidatorSet::new(network.validator_keys())?;
        let source = SourceConfig::Folder(batch_dir.clone());
        let attesters = devnet.spawn_attesters(validators.clone(), source.clone()).await?;
        let mut config = devnet.relayer_config(validators, source);
        config.attestation_endpoints = attesters.iter().map(|a| a.url.clone()).collect();
        let shutdown = CancellationToken::new();
        let relayer = Relayer::new(pool.clone(), devnet.provider(devnet::RELAYER_ACCOUNT), config);
        let health = relayer.health().clone();
        health.set_leader(true);
        let relayer = tokio::spawn(relayer.run(shutdown.clone()));
        let (status_url, status_page) = serve_status(&devnet, &pool, health).await?;
        let depositors =
            (0..4).map(|i| (devnet.signer(devnet::FIRST_USER_ACCOUNT + i), network.accounts()[i])).collect();
        Ok(Self {
            devnet,
            pool,
            database,
            network,
            source: FolderSource::new(&batch_dir),
            relayer,
            attesters,
            shutdown,
            status_url,
            status_page,
            depositors,
            credited: (0, Vec::new()),
        })
    }

    fn users(&self) -> &[(PrivateKeySigner, B256)] {
        &self.depositors[..2]
    }

    /// Four users deposit USDC on chain for four off-chain accounts; the first two are minted MYCO for their labor
    /// and later withdraw (the network leaves them alone, so their figures are exact), the other two trade. Returns once
    /// the relayer's watcher has seen every deposit: the validators credit only deposits they have seen.
    pub(super) async fn deposit_for_users(&mut self) -> Result<()> {
        let d = self.devnet.deployment;
        for (user, account) in &self.depositors {
            let provider = signing_provider(self.devnet.url(), user.clone());
            deposit(provider, user.address(), &d, *account).await?;
        }
        let users: Vec<B256> = self.users().iter().map(|(_, account)| *account).collect();
        for account in users {
            self.network.keep_passive(account);
        }
        let (pool, expected) = (self.pool.clone(), self.depositors.len());
        self.wait_for("watcher sees the deposits", || async { Ok(escrow::deposits(&pool).await?.len() >= expected) })
            .await
    }

    /// The validators certify `epoch`, crediting the deposits the watcher has seen (validators watch the escrow
    /// the same way); in the withdrawal epoch the users withdraw, with the reserve written down as asked. Returns
    /// once the relayer committed it.
    pub(super) async fn certify_epoch(&mut self, epoch: u64, withdraw: bool, options: &Options) -> Result<()> {
        let seen = escrow::deposits(&self.pool).await?;
        let deposits: Vec<CreditedDeposit> = seen
            .iter()
            .filter(|d| d.deposit_id > self.credited.0)
            .map(|d| CreditedDeposit { deposit_id: d.deposit_id, account: d.recipient, amount: d.amount })
            .collect();
        self.credited.0 = seen.last().map_or(self.credited.0, |d| d.deposit_id);
        self.credited.1.push(deposits.len());
        let withdrawals = match withdraw {
            true => self
                .users()
                .iter()
                .zip(WITHDRAW_MYCO)
                .map(|((user, account), myco)| ask(user, *account, myco))
                .collect(),
            false => Vec::new(),
        };
        // The users are minted MYCO for their labor, worth their deposits at par, by the labor attester.
        let par = U256::from(DEPOSIT_USDC) * U256::from(1_000_000_000_000u64);
        let mints =
            if epoch == 1 { self.users().iter().map(|(_, account)| (*account, par)).collect() } else { Vec::new() };
        let settlements = self.executed_settlements().await?;
        let inputs = EpochInputs {
            timestamp: devnet::unix_now(),
            deposits,
            mints,
            settlements,
            withdrawals,
            transfers: 10,
            intents: 20,
            reserve_loss_bps: if withdraw { options.reserve_loss_bps } else { 0 },
            ..Default::default()
        };
        let produced = self.network.next_batch(&inputs);
        self.source.publish(epoch, &produced.bytes).await.map_err(crate::ingest::Error::from)?;
        tracing::info!(epoch, digest = %produced.digest, "validators certified a batch");
        let pool = self.pool.clone();
        self.wait_for("relayer commits the epoch", || async {
            Ok(commitments::latest(&pool).await?.is_some_and(|l| l.0 >= epoch))
        })
        .await
    }

    /// The settlements the validators apply next: every epoch of theirs the curve has executed, computed from their
    /// own batch and the chain's `EpochSettled` log.
    async fn executed_settlements(&self) -> Result<Vec<crate::ingest::document::AppliedSettlement>> {
        let provider = self.devnet.provider(devnet::ADMIN_ACCOUNT);
        let d = self.devnet.deployment;
        let mut out = Vec::new();
        for epoch in self.network.unapplied_epochs() {
            if let Some(c) = crate::chain::settlements::executed(&provider, d.curve, epoch, d.start_block).await? {
                out.extend(self.network.settlement_of(epoch, c.spot, c.sell, c.buy));
            }
        }
        Ok(out)
    }

    /// Lets the challenge window pass; then each user claims on chain with the proof from the relayer's store.
    pub(super) async fn claim_withdrawals(&mut self) -> Result<()> {
        self.devnet.advance_time(CHALLENGE_WINDOW + 1).await?;
        for stored in claims::all(&self.pool).await?.into_iter().filter(|c| c.paid_tx.is_none()) {
            let c = &stored.claim;
            let Some((claimer, _)) = self.users().iter().find(|(_, account)| *account == c.account) else { continue };
            let provider = signing_provider(self.devnet.url(), claimer.clone());
            let escrow = USDCEscrow::new(self.devnet.deployment.escrow, &provider);
            send_call("withdraw", escrow.withdraw(crate::chain::withdrawal_claim(c), stored.proof.clone())).await?;
            tracing::info!(claim = %c.claim_id, epoch = c.epoch, "withdrawal claimed on chain");
        }
        let pool = self.pool.clone();
        self.wait_for("watcher sees the withdrawals", || async {
            Ok(claims::all(&pool).await?.iter().all(|c| c.paid_tx.is_some()))
        })
        .await
    }

    /// Stops the relayer and reads what happened from the chain and the store.
    pub(super) async fn finish(self) -> Result<Finished> {
        let d = self.devnet.deployment;
        let admin = self.devnet.provider(devnet::ADMIN_ACCOUNT);
        let latest_epoch_on_chain = StateCommitment::new(d.state_commitment, &admin)
            .latestEpoch()
            .call()
            .await
            .map_err(|e| crate::chain::Error::from_call("latestEpoch", e))?;
        self.shutdown.cancel();
        match self.relayer.await {
            Ok(result) => result?,
            Err(e) => return Err(step("relayer task", e.to_string())),
        }
        for attester in self.attesters {
            if let Some(Err(e)) = attester.stop().await {
                return Err(step("an attester halted", e.to_string()));
            }
        }
        let report = Report {
            rpc_url: self.devnet.url().to_string(),
            status_url: self.status_url,
            chain_id: self.devnet.chain_id(),
            deployment: d,
            epochs: epoch_lines(&self.pool, &self.credited.1).await?,
            latest_epoch_on_chain,
            deposits: escrow::deposits(&self.pool).await?,
            withdrawals: escrow::withdrawals(&self.pool).await?,
            database: self.database,
        };
        Ok(Finished { report, chain: self.devnet, status_page: self.status_page })
    }

    /// Polls `condition` until it holds; fails if the relayer stops first or the step takes too long.
    async fn wait_for<F, Fut>(&mut self, what: &'static str, mut condition: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool>>,
    {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            if condition().await? {
                return Ok(());
            }
            if self.relayer.is_finished() {
                return match (&mut self.relayer).await {
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
}

/// A user's withdrawal of `myco` MYCO to their own address.
fn ask(user: &PrivateKeySigner, account: B256, myco: u64) -> WithdrawalAsk {
    WithdrawalAsk { account, amount: U256::from(myco) * U256::from(crate::settle::WAD), recipient: user.address() }
}

/// The relayer's status page and API, on a free loopback port, until the guard is dropped.
async fn serve_status(
    devnet: &Devnet,
    pool: &Pool,
    health: std::sync::Arc<crate::health::Health>,
) -> Result<(String, DropGuard)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| step("binding the status page", e.to_string()))?;
    let address = listener.local_addr().map_err(|e| step("status page address", e.to_string()))?;
    let d = devnet.deployment;
    let api_state = crate::api::ApiState {
        pool: pool.clone(),
        provider: devnet.provider(devnet::ADMIN_ACCOUNT),
        health,
        chain: crate::api::ChainInfo {
            chain_id: devnet.chain_id(),
            account: devnet.signer(devnet::RELAYER_ACCOUNT).address(),
            state_commitment: d.state_commitment,
            escrow: d.escrow,
            world: crate::preflight::World { usdc: d.usdc, myco: d.myco, challenge_window: CHALLENGE_WINDOW },
            thresholds: Default::default(),
        },
    };
    let stop = CancellationToken::new();
    tokio::spawn(crate::api::serve(listener, api_state, stop.clone()));
    let url = format!("http://{address}/");
    tracing::info!(%url, "status page up");
    Ok((url, stop.drop_guard()))
}

/// Each committed epoch with its claims, net orders and outputs.
async fn epoch_lines(pool: &Pool, credited_per_epoch: &[usize]) -> Result<Vec<EpochLine>> {
    let claims = claims::all(pool).await?;
    let curve_rows = store::curve::all(pool).await?;
    let output_rows = store::outputs::all(pool).await?;
    let audits = store::ledger::audits(pool).await?;
    let mut epochs = Vec::new();
    for c in commitments::all(pool).await? {
        let epoch = c.epoch.0;
        epochs.push(EpochLine {
            epoch,
            state_root: c.state_root,
            tx_hash: c.tx_hash,
            gas_used: c.gas_used,
            deposits_credited: credited_per_epoch.get(epoch as usize - 1).copied().unwrap_or_default(),
            claims: claims.iter().filter(|s| s.claim.epoch == epoch).count(),
            attested_by: c.attested_by.clone(),
            curve: curve_rows.iter().find(|r| r.plan.epoch == c.epoch).cloned(),
            outputs: output_rows.iter().find(|r| r.epoch == epoch).cloned(),
            conservation: audits.iter().find(|(e, _)| *e == c.epoch).map(|(_, t)| t.clone()),
        });
    }
    Ok(epochs)
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
