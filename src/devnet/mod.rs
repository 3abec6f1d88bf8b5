//! A local chain for the demo and the tests: anvil from the npm-pinned Foundry, our contracts deployed on it,
//! and a simulated validator network producing certified batches.

pub mod anvil;
pub mod deploy;
pub mod simulate;

pub use deploy::Deployment;

/// A devnet error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// anvil could not be started.
    #[error("starting anvil ({path}): {reason}")]
    Anvil {
        /// The binary tried.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// A step of a scripted run (the demo) failed or timed out.
    #[error("{step}: {reason}")]
    Step {
        /// The step.
        step: &'static str,
        /// Why.
        reason: String,
    },
    /// A deployment or setup transaction failed.
    #[error("deploying {what}: {reason}")]
    Deploy {
        /// The contract or step.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}
