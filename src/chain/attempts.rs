//! What the transaction manager remembers of its sends, and the log it remembers them in. The chain side owns
//! these types and the [`AttemptLog`] trait; the store implements it (`store::attempts`), so the chain code
//! never touches a database and a test can give it any log.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use alloy::primitives::B256;

use crate::ids::{Epoch, Purpose};

/// One attempt's outcome so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStatus {
    /// In the node's pool, not known to be mined.
    Sent,
    /// Mined successfully and confirmed.
    Mined,
    /// Another attempt with the same nonce was mined instead.
    Replaced,
    /// The node refused it (e.g. "replacement underpriced").
    Refused,
    /// Mined and reverted.
    Reverted,
}

impl AttemptStatus {
    /// Every status.
    pub const ALL: [AttemptStatus; 5] = [Self::Sent, Self::Mined, Self::Replaced, Self::Refused, Self::Reverted];

    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Mined => "mined",
            Self::Replaced => "replaced",
            Self::Refused => "refused",
            Self::Reverted => "reverted",
        }
    }
}

impl std::str::FromStr for AttemptStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| format!("unknown status {s:?}"))
    }
}

/// One attempt, as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The log's id for it.
    pub id: i64,
    /// What it was for.
    pub purpose: Purpose,
    /// The epoch it serves.
    pub epoch: Epoch,
    /// Its nonce.
    pub nonce: u64,
    /// Its hash, if the node took it.
    pub tx_hash: Option<B256>,
    /// EIP-1559 fee cap.
    pub max_fee_per_gas: u128,
    /// EIP-1559 tip.
    pub max_priority_fee_per_gas: u128,
    /// Gas limit.
    pub gas_limit: u64,
    /// Block number when sent.
    pub sent_block: u64,
    /// Outcome so far.
    pub status: AttemptStatus,
    /// Why it was refused or reverted.
    pub error: Option<String>,
    /// Block it was mined in.
    pub block_number: Option<u64>,
    /// Gas it used.
    pub gas_used: Option<u64>,
}

/// What a new attempt is.
#[derive(Debug, Clone, Copy)]
pub struct NewAttempt<'a> {
    /// What it is for.
    pub purpose: Purpose,
    /// The epoch.
    pub epoch: Epoch,
    /// The nonce.
    pub nonce: u64,
    /// The hash, if the node took it.
    pub tx_hash: Option<B256>,
    /// Fee cap.
    pub max_fee_per_gas: u128,
    /// Tip.
    pub max_priority_fee_per_gas: u128,
    /// Gas limit.
    pub gas_limit: u64,
    /// Block number when sent.
    pub sent_block: u64,
    /// `Sent`, or `Refused` with `error`.
    pub status: AttemptStatus,
    /// The node's reason for a refusal.
    pub error: Option<&'a str>,
}

/// A log that failed to read or write; `transient` when trying again later may succeed (an outage).
#[derive(Debug)]
pub struct LogError {
    /// Whether the failure is an outage rather than a verdict.
    pub transient: bool,
    /// What failed.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

impl std::error::Error for LogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// A boxed future of a log operation.
pub type LogFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, LogError>> + Send + 'a>>;

/// Where the transaction manager records its attempts, so a restart resumes a stuck nonce with higher fees
/// instead of queueing a second transaction behind it.
pub trait AttemptLog: Send + Sync + fmt::Debug {
    /// Open (sent, not yet mined) attempts of `purpose`/`epoch`, oldest first.
    fn open(&self, purpose: Purpose, epoch: Epoch) -> LogFuture<'_, Vec<Attempt>>;

    /// Records an attempt; returns its id.
    fn record<'a>(&'a self, attempt: &'a NewAttempt<'a>) -> LogFuture<'a, i64>;

    /// Marks attempt `id` mined (or reverted) in `block`, and every other open attempt with its purpose, epoch
    /// and nonce replaced.
    fn settle(&self, id: i64, status: AttemptStatus, block: u64, gas_used: u64) -> LogFuture<'_, ()>;

    /// Marks every open attempt of `purpose`/`epoch` replaced (the chain settled the work some other way).
    fn close(&self, purpose: Purpose, epoch: Epoch) -> LogFuture<'_, ()>;
}
