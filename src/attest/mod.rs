//! Attestation: the second computation that must agree before money moves. An attester runs beside each
//! validator with its own key, reads the same certified batches through the same reader as the relayer,
//! recomputes each epoch's commitment, signs it (EIP-712, `typed`) and serves the signature (`service`); it never
//! signs two different commitments for one epoch. The relayer collects a quorum of signatures over its own
//! computation (`collect`) and submits them with the commitment; `StateCommitment` verifies them on chain.

pub mod collect;
pub mod commitment;
pub mod service;
pub mod typed;
pub mod wire;

use alloy::primitives::B256;

pub use typed::AttestationDomain;
pub use wire::{Attestation, CommitmentFields};

/// Why attesting or collecting failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The attester was asked to sign a commitment for an epoch it already signed a different one for: it halts
    /// rather than equivocate.
    #[error(
        "refusing to sign epoch {epoch}: this attester already signed commitment {signed}, and now computes {asked} \
         (its inputs changed; a person must find out why)"
    )]
    WouldEquivocate {
        /// The epoch.
        epoch: u64,
        /// The commitment signed before.
        signed: B256,
        /// The one computed now.
        asked: B256,
    },
    /// The key could not sign.
    #[error("signing epoch {epoch}: {reason}")]
    Sign {
        /// The epoch.
        epoch: u64,
        /// Why.
        reason: String,
    },
    /// The HTTP client for the attester endpoints could not be built (TLS setup).
    #[error("building the attestation client: {reason}")]
    Client {
        /// Why.
        reason: String,
    },
    /// Fewer attesters than the threshold signed our commitment.
    #[error("epoch {epoch}: {have} of the {need} attestations needed over our commitment ({detail})")]
    Quorum {
        /// The epoch.
        epoch: u64,
        /// Valid signatures over our commitment.
        have: usize,
        /// The contract's threshold.
        need: usize,
        /// Which endpoints did not count, and why.
        detail: String,
    },
}

impl Error {
    /// Too few attestations is waited out with an alarm; an attester that would equivocate or cannot sign halts.
    pub fn handling(&self) -> crate::Handling {
        match self {
            Error::Quorum { .. } => crate::Handling::AwaitAttestations,
            Error::WouldEquivocate { .. } | Error::Sign { .. } | Error::Client { .. } => crate::Handling::Halt,
        }
    }
}
