//! The crate's error type: one variant per stage, each carrying that stage's own error.

/// Any error of the relayer, by the stage it came from.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A batch failed verification.
    #[error(transparent)]
    Ingest(#[from] crate::ingest::Error),
    /// The chain refused or failed an operation.
    #[error(transparent)]
    Chain(#[from] crate::chain::Error),
    /// The settlement math cannot compute an epoch's outputs (a figure past 2^256).
    #[error("settlement math: {0}")]
    Settle(#[from] crate::settle::fixed::MathError),
    /// A blocking task (verification, the batch auction) panicked or was cancelled.
    #[error("{what} task failed: {reason}")]
    Task {
        /// The task.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// A local devnet could not be started or deployed.
    #[error(transparent)]
    Devnet(#[from] crate::devnet::Error),
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
