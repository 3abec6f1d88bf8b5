//! Helpers shared by the anvil tests.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use myco_bridge::devnet::Devnet;
use myco_bridge::devnet::simulate::Network;
use myco_bridge::ingest::{SourceConfig, ValidatorSet};
use myco_bridge::relayer::{Config, Relayer};
use myco_bridge::store::{self, Pool};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A fresh, empty database for one test: a new Postgres database when `MYCO_TEST_POSTGRES` holds an admin URL
/// (the Postgres pass of `.ci/run`), else an SQLite file in `dir`.
pub async fn database_url(dir: &std::path::Path) -> String {
    match std::env::var("MYCO_TEST_POSTGRES") {
        Ok(admin) => new_postgres_database(&admin).await,
        Err(_) => format!("sqlite://{}", dir.join("relayer.db").display()),
    }
}

/// A new, empty database on the PostgreSQL server of `admin` (an admin URL); returns its URL.
pub async fn new_postgres_database(admin: &str) -> String {
    use sqlx::{Connection, Executor};
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    sqlx::any::install_default_drivers();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let name = format!("myco_test_{}_{n}_{nanos}", std::process::id());
    let mut conn = sqlx::AnyConnection::connect(admin).await.expect("the Postgres admin URL connects");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create the test database");
    let base = admin.rsplit_once('/').expect("a URL ending in /database").0;
    format!("{base}/{name}")
}

/// How long any awaited condition may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A devnet, a simulated validator network, a store and a batch folder in a temporary directory.
pub struct Harness {
    pub devnet: Devnet,
    pub network: Network,
    pub pool: Pool,
    /// The store's URL (another process can open it too).
    pub database_url: String,
    pub batch_dir: PathBuf,
    /// Where the relayer reads batches; the batch folder unless a test says otherwise.
    pub source: SourceConfig,
    /// The validators' attesters, reading the batch folder; the relayer collects their signatures.
    pub attesters: Vec<myco_bridge::devnet::attesters::RunningAttester>,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_on(None, &[]).await
    }

    /// A harness on a chain that mines a block every second (anvil `--block-time 1`), not on every transaction:
    /// what a real chain does to every wait for a receipt.
    pub async fn start_with_block_time() -> Self {
        Self::start_on(None, &["--block-time", "1"]).await
    }

    /// A harness whose store is a new database on the PostgreSQL server of `admin` (an admin URL).
    pub async fn start_with_database(admin: String) -> Self {
        Self::start_on(Some(admin), &[]).await
    }

    async fn start_on(postgres_admin: Option<String>, anvil_args: &[&str]) -> Self {
        // `RUST_LOG=myco_bridge=debug cargo test …` shows what the relayer did.
        if std::env::var_os("RUST_LOG").is_some() {
            let filter = tracing_subscriber::EnvFilter::from_default_env();
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
        let devnet = Devnet::start(600, anvil_args).await.expect("devnet");
        let dir = tempfile::tempdir().expect("tempdir");
        let database_url = match postgres_admin {
            Some(admin) => new_postgres_database(&admin).await,
            None => database_url(dir.path()).await,
        };
        let pool = store::connect(&database_url).await.expect("store");
        let network = Network::new(devnet.chain_id(), 11, 4, 4);
        let batch_dir = dir.path().join("batches");
        std::fs::create_dir_all(&batch_dir).unwrap();
        let source = SourceConfig::Folder(batch_dir.clone());
        let validators = ValidatorSet::new(network.validator_keys()).unwrap();
        let attesters = devnet.spawn_attesters(validators, source.clone()).await.expect("attesters");
        Self { devnet, network, pool, database_url, batch_dir, source, attesters, _dir: dir }
    }

    /// Reads batches from `source` from now on, the attesters too (they are restarted on it).
    pub async fn set_source(&mut self, source: SourceConfig) {
        self.source = source;
        let config = self.config();
        self.attest_for(config, Default::default()).await;
    }

    /// Restarts the attesters to read what `config`'s relayer reads (its validators, source and escrow, with the
    /// escrow's P-AMM `params`); returns `config` collecting from them.
    pub async fn attest_for(&mut self, mut config: Config, params: myco_bridge::settle::pamm::Params) -> Config {
        for a in std::mem::take(&mut self.attesters) {
            a.stop().await;
        }
        let reader = myco_bridge::reader::Config {
            chain_id: config.chain_id,
            validators: config.validators.clone(),
            source: config.source.clone(),
            document_limits: config.document_limits,
            params,
            escrow: config.escrow,
        };
        self.attesters = self.devnet.spawn_attesters_reading(reader).await.expect("attesters");
        config.attestation_endpoints = self.attesters.iter().map(|a| a.url.clone()).collect();
        config
    }

    /// A quorum of the devnet attesters' signatures over a commitment (as colluding or honest attesters would
    /// give it), for a test that commits directly.
    pub fn quorum(&self, root: &myco_bridge::chain::RootCommit) -> Vec<alloy::primitives::Bytes> {
        myco_bridge::devnet::attesters::quorum_signatures(self.devnet.attestation_domain(), root)
    }

    pub fn config(&self) -> Config {
        let mut config =
            self.devnet.relayer_config(ValidatorSet::new(self.network.validator_keys()).unwrap(), self.source.clone());
        config.attestation_endpoints = self.attesters.iter().map(|a| a.url.clone()).collect();
        config
    }

    /// Deposits `amount` test USDC (6 decimals) into the escrow from anvil account `user` (minted and approved
    /// first) for the off-chain `account`; returns the deposit id.
    pub async fn deposit(&self, user: usize, account: alloy::primitives::B256, amount: u64) -> u64 {
        use alloy::primitives::U256;
        use myco_bridge::chain::bindings::{TestUSDC, USDCEscrow};
        use myco_bridge::chain::send_call;
        let (d, provider) = (self.devnet.deployment, self.devnet.provider(user));
        let usdc = TestUSDC::new(d.usdc, &provider);
        send_call("mint", usdc.mint(self.devnet.signer(user).address(), U256::from(amount))).await.unwrap();
        send_call("approve", usdc.approve(d.escrow, U256::from(amount))).await.unwrap();
        let escrow = USDCEscrow::new(d.escrow, &provider);
        let id = escrow.nextDepositId().call().await.unwrap();
        send_call("deposit", escrow.deposit(U256::from(amount), account)).await.unwrap();
        id
    }

    /// Starts a relayer signing as anvil account `account`.
    pub fn spawn_relayer(&self, account: usize) -> Running {
        self.spawn_relayer_with(account, self.config())
    }

    /// Starts a relayer signing as anvil account `account` with `config`.
    pub fn spawn_relayer_with(&self, account: usize, config: Config) -> Running {
        let shutdown = CancellationToken::new();
        let relayer = Relayer::new(self.pool.clone(), self.devnet.provider(account), config);
        let health = relayer.health().clone();
        Running { task: tokio::spawn(relayer.run(shutdown.clone())), shutdown, health }
    }
}

/// A relayer running in a task.
pub struct Running {
    pub task: JoinHandle<myco_bridge::Result<()>>,
    pub shutdown: CancellationToken,
    /// The alarms it raises.
    pub health: std::sync::Arc<myco_bridge::health::Health>,
}

impl Running {
    /// Waits until `alarm` is raised, returning its message; panics if the relayer ends first.
    pub async fn alarm(&self, alarm: myco_bridge::health::Alarm) -> String {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            if let Some((_, message)) = self.health.alarms().into_iter().find(|a| a.0 == alarm) {
                return message;
            }
            assert!(!self.task.is_finished(), "the relayer ended before raising {alarm:?}");
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for the {alarm:?} alarm");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Running {
    /// Stops it and returns how it ended.
    pub async fn stop(self) -> myco_bridge::Result<()> {
        self.shutdown.cancel();
        self.task.await.expect("relayer task panicked")
    }
}

/// Polls `condition` until it holds, panicking after [`TIMEOUT`].
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stores epoch `epoch` (its batch and claims, as the reader stores an accepted epoch) with `withdrawals` as its
/// claims, priced as the reader prices them unless `priced` is false (as a store from before payouts were kept
/// has them); returns its settlement.
pub async fn store_epoch(
    pool: &Pool,
    epoch: u64,
    withdrawals: Vec<myco_bridge::ingest::document::WithdrawalRequest>,
    priced: bool,
) -> myco_bridge::settle::EpochSettlement {
    use alloy::primitives::{B256, U256};
    use myco_bridge::settle::{ClaimDomain, EpochSettlement, outputs::Redemptions, pamm};

    let mut state = myco_bridge::ingest::BatchState { epoch, timestamp: 1_000 + epoch, ..Default::default() };
    state.reserve.total_supply = U256::from(10u64).pow(U256::from(24));
    state.reserve.total_reserve = state.reserve.total_supply;
    state.withdrawals = withdrawals;
    let settlement = EpochSettlement::compute(&state, &pamm::Params::default(), ClaimDomain::default());
    let digest = B256::from(U256::from(epoch));
    let batch = myco_bridge::ingest::Batch { epoch, digest, parent: B256::ZERO, signers: 3, state, raw: vec![] };
    let mut tx = store::begin(pool).await.unwrap();
    store::batches::insert(&mut tx, &batch, settlement.root(), &settlement.figures).await.unwrap();
    let redemptions = Redemptions::compute(&settlement, &pamm::Params::default()).unwrap();
    let payouts = priced.then_some(redemptions.payouts.as_slice());
    store::claims::insert_all(&mut tx, &settlement, payouts).await.unwrap();
    tx.commit().await.unwrap();
    settlement
}

/// Epoch 1 funds and converts one passive holder's MYCO, epoch 2 withdraws `myco` MYCO (one claim each) to
/// `recipient`; the relayer commits both. Returns the running relayer.
pub async fn commit_claims(h: &mut Harness, recipient: alloy::primitives::Address, myco: &[u64]) -> Running {
    use alloy::primitives::U256;
    use myco_bridge::devnet::simulate::{EpochInputs, WithdrawalAsk};
    let [holder, ..] = h.network.accounts()[..] else { panic!("accounts") };
    h.network.keep_passive(holder);
    let deposit = myco_bridge::ingest::document::CreditedDeposit {
        deposit_id: 1,
        account: holder,
        amount: U256::from(1_000_000_000u64),
    };
    let wad = U256::from(myco_bridge::settle::WAD);
    let asks =
        myco.iter().map(|m| WithdrawalAsk { account: holder, amount: U256::from(*m) * wad, recipient }).collect();
    let epochs = [
        EpochInputs { timestamp: 1_000, deposits: vec![deposit], convert: vec![holder], ..Default::default() },
        EpochInputs { timestamp: 2_000, withdrawals: asks, ..Default::default() },
    ];
    let source = myco_bridge::ingest::folder::FolderSource::new(&h.batch_dir);
    for (epoch, inputs) in (1..).zip(&epochs) {
        source.publish(epoch, &h.network.next_batch(inputs).bytes).await.unwrap();
    }
    let relayer = h.spawn_relayer(myco_bridge::devnet::RELAYER_ACCOUNT);
    wait_until("both epochs committed", || async {
        store::commitments::latest(&h.pool).await.unwrap().map(|e| e.0).is_some_and(|l| l >= 2)
    })
    .await;
    relayer
}
