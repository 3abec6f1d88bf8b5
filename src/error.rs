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
    /// A certified batch breaks conservation: it is not committed, and the relayer halts until someone looks.
    #[error(
        "CONSERVATION: {0}; halting: nothing of this epoch is committed. The validators must certify a correct \
         history; an operator then deletes the row in `conservation_violations` and restarts (runbook: conservation \
         violation)"
    )]
    Conservation(#[from] crate::settle::conservation::Violation),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// Attesting, or collecting attestations, failed.
    #[error(transparent)]
    Attest(#[from] crate::attest::Error),
    /// A local devnet could not be started or deployed.
    #[cfg(feature = "devnet")]
    #[error(transparent)]
    Devnet(#[from] crate::devnet::Error),
}

/// What the service does about an error: only what a person must decide halts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Transient (an RPC or database outage, a chain that moved): back off and try again.
    Retry,
    /// The relayer's account cannot pay for gas: alarm, and carry on once it is funded.
    AwaitFunds,
    /// The guardian paused the contract: alarm, and carry on once it is unpaused.
    AwaitUnpause,
    /// The chain holds a different commitment still inside its window: alarm, and carry on once the guardian
    /// revokes it.
    AwaitRevocation,
    /// Fewer attesters than the threshold signed the commitment: alarm, and carry on once enough do.
    AwaitAttestations,
    /// Only a person can decide (a conflicting or revoked root, an equivocation, a broken invariant): stop, say
    /// why, and refuse to continue until someone looks.
    Halt,
}

impl Error {
    /// How the service handles this error.
    pub fn handling(&self) -> Handling {
        match self {
            Error::Chain(e) => e.handling(),
            Error::Store(e) if e.is_transient() => Handling::Retry,
            Error::Attest(e) => e.handling(),
            _ => Handling::Halt,
        }
    }
}

/// An error with every cause below it, `outer: inner: innermost`. HTTP and TLS failures keep the reason that
/// matters (a refused connection, an unknown certificate issuer) several sources down, where `Display` alone does
/// not reach.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
