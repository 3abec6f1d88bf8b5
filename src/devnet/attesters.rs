//! The devnet's attesters: one per validator, each with its own key (derived from a seed), its own store and its
//! own HTTP endpoint, reading the same batches as the relayer. The contracts are deployed with their addresses
//! and a threshold of 2f + 1.

use alloy::primitives::{Address, Bytes, keccak256};
use alloy::signers::local::PrivateKeySigner;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Error;
use crate::attest::AttestationDomain;
use crate::attest::service::{self, Attester};
use crate::chain::RootCommit;
use crate::store::{self, Pool};

/// Attesters the devnet deploys with (n = 3f + 1, f = 1).
pub const ATTESTERS: usize = 4;
/// Signatures a commitment needs on the devnet: 2f + 1.
pub const ATTESTATION_THRESHOLD: usize = 3;
/// The seed the devnet's attester keys are derived from.
pub const ATTESTER_SEED: u64 = 7;

/// The `n` attester keys derived from `seed`: keccak256("myco-bridge attester" ‖ seed ‖ i) as a secp256k1 key.
pub fn keys(seed: u64, n: usize) -> Vec<PrivateKeySigner> {
    (0..n as u64)
        .map(|i| {
            let material = [b"myco-bridge attester".as_slice(), &seed.to_be_bytes(), &i.to_be_bytes()].concat();
            PrivateKeySigner::from_bytes(&keccak256(material)).expect("a keccak digest is a valid secp256k1 key")
        })
        .collect()
}

/// The devnet attesters' addresses.
pub fn addresses() -> Vec<Address> {
    keys(ATTESTER_SEED, ATTESTERS).iter().map(PrivateKeySigner::address).collect()
}

/// Signatures of `root` by the first `ATTESTATION_THRESHOLD` devnet attesters in address order, as `commit`
/// takes them: what a quorum of honest attesters would give (tests that commit directly use it).
pub fn quorum_signatures(domain: AttestationDomain, root: &RootCommit) -> Vec<Bytes> {
    let mut keys = keys(ATTESTER_SEED, ATTESTERS);
    keys.sort_by_key(PrivateKeySigner::address);
    keys.iter()
        .take(ATTESTATION_THRESHOLD)
        .map(|k| Bytes::from(domain.sign(k, root).expect("a local key signs").to_vec()))
        .collect()
}

/// One attester running in tasks: its loop and its HTTP endpoint.
#[derive(Debug)]
pub struct RunningAttester {
    /// Its endpoint's base URL.
    pub url: String,
    /// Its address.
    pub address: Address,
    /// Its store.
    pub pool: Pool,
    /// Its loop (ends with the attester's error when it halts).
    pub task: JoinHandle<crate::Result<()>>,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
}

impl RunningAttester {
    /// Starts an attester signing with `key` over the store at `database_url`, serving on a free loopback port.
    pub async fn start(key: PrivateKeySigner, config: service::Config, database_url: &str) -> Result<Self, Error> {
        let step = |step: &'static str| move |e: String| Error::Step { step, reason: e };
        let pool = store::connect(database_url).await.map_err(|e| step("attester store")(e.to_string()))?;
        let attester = Attester::new(pool.clone(), key, config);
        let address = attester.address();
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| step("attester port")(e.to_string()))?;
        let url = format!("http://{}", listener.local_addr().map_err(|e| step("attester port")(e.to_string()))?);
        let router = service::router(&attester);
        let shutdown = CancellationToken::new();
        let server = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _ = crate::server::serve(listener, router, crate::server::Limits::default(), shutdown).await;
            })
        };
        let task = tokio::spawn(attester.run(shutdown.clone()));
        Ok(Self { url, address, pool, task, shutdown, server })
    }

    /// Stops it (loop and endpoint) and waits for both.
    pub async fn stop(self) -> Option<crate::Result<()>> {
        self.shutdown.cancel();
        let _ = self.server.await;
        self.task.await.ok()
    }
}
