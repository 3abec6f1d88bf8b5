//! Ingest: batch bytes in, verified [`Batch`] out.
//!
//! A batch is accepted only if its envelope parses, it is for our chain, it is the next epoch and links to the
//! digest of the last accepted batch, a quorum of distinct known validators signed it, and its document has
//! the schema. Anything else is an [`Error`] that names the epoch and the reason; the caller quarantines it.

pub mod certificate;
pub(crate) mod checks;
pub mod document;
pub mod envelope;
pub mod folder;
pub mod http;
pub mod intent;
pub mod mint;
pub mod quote;
pub mod source;
pub mod summary;
mod verifier;

use alloy::primitives::B256;

pub use certificate::ValidatorSet;
pub use checks::MAX_AMOUNT;
pub use document::BatchState;
pub use envelope::Envelope;
pub use source::{Source, SourceConfig};
pub use verifier::{Batch, Verifier};

/// Why a batch was rejected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The envelope is larger than the configured limit.
    #[error("batch of {size} bytes exceeds the {limit}-byte limit")]
    Oversized {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The envelope does not start with the format's magic bytes.
    #[error("not a batch envelope (bad magic bytes)")]
    BadMagic,
    /// The envelope ends before a field it announces.
    #[error("truncated envelope: {what} at offset {offset} needs {needed} bytes, {have} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left.
        have: usize,
    },
    /// Bytes follow the last signature.
    #[error("{count} unexpected bytes after the certificate")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The batch is certified for another chain.
    #[error("epoch {epoch}: certified for chain {got}, this relayer serves chain {expected}")]
    WrongChain {
        /// The batch's epoch.
        epoch: u64,
        /// Our chain id.
        expected: u64,
        /// The batch's chain id.
        got: u64,
    },
    /// The epoch was already accepted (a replay of an old batch).
    #[error("epoch {epoch}: already accepted (last accepted epoch is {last})")]
    Stale {
        /// The batch's epoch.
        epoch: u64,
        /// The last accepted epoch.
        last: u64,
    },
    /// An earlier epoch is still missing; epochs are never skipped.
    #[error("epoch {epoch}: epoch {expected} has not been accepted yet")]
    Gap {
        /// The batch's epoch.
        epoch: u64,
        /// The epoch expected next.
        expected: u64,
    },
    /// The batch does not link to the last accepted batch.
    #[error("epoch {epoch}: parent digest {got} does not match the accepted epoch's digest {expected}")]
    ParentMismatch {
        /// The batch's epoch.
        epoch: u64,
        /// Digest of the last accepted batch.
        expected: B256,
        /// The batch's parent digest.
        got: B256,
    },
    /// A signature from a key outside the validator set.
    #[error("epoch {epoch}: signature from unknown validator {validator}")]
    UnknownSigner {
        /// The batch's epoch.
        epoch: u64,
        /// The key.
        validator: B256,
    },
    /// The same validator signed twice.
    #[error("epoch {epoch}: validator {validator} signed more than once")]
    DuplicateSigner {
        /// The batch's epoch.
        epoch: u64,
        /// The key.
        validator: B256,
    },
    /// A signature that does not verify.
    #[error("epoch {epoch}: invalid signature from validator {validator}")]
    BadSignature {
        /// The batch's epoch.
        epoch: u64,
        /// The key.
        validator: B256,
    },
    /// Too few distinct validators signed.
    #[error("epoch {epoch}: {have} of {of} validators signed, {need} needed")]
    NoQuorum {
        /// The batch's epoch.
        epoch: u64,
        /// Valid distinct signers.
        have: usize,
        /// Quorum.
        need: usize,
        /// Validator set size.
        of: usize,
    },
    /// The Automerge bytes do not load.
    #[error("{}document does not load: {reason}", at(epoch))]
    Document {
        /// The envelope's epoch, once known.
        epoch: Option<u64>,
        /// Automerge's error.
        reason: String,
    },
    /// The document loads but breaks the schema.
    #[error("{}schema: {field}: {reason}", at(epoch))]
    Schema {
        /// The envelope's epoch, once known.
        epoch: Option<u64>,
        /// The offending field's path.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The document's figures or ids are inconsistent (sums that do not add up, duplicates, zero amounts).
    #[error("epoch {epoch}: inconsistent state: {what}")]
    Inconsistent {
        /// The batch's epoch.
        epoch: u64,
        /// What does not add up.
        what: String,
    },
    /// An intent whose signature is not its maker's.
    #[error("epoch {epoch}: intent {intent} is not signed by its maker {maker}")]
    BadIntentSignature {
        /// The batch's epoch.
        epoch: u64,
        /// The intent's id.
        intent: B256,
        /// Its claimed maker.
        maker: B256,
    },
    /// A claim id already used by an earlier epoch.
    #[error("epoch {epoch}: claim id {claim_id} was already certified in epoch {first_epoch}")]
    ClaimReused {
        /// The batch's epoch.
        epoch: u64,
        /// The claim id.
        claim_id: alloy::primitives::U256,
        /// Where it was first certified.
        first_epoch: u64,
    },
    /// An escrow deposit already credited by an earlier epoch.
    #[error("epoch {epoch}: deposit {deposit_id} was already credited in epoch {first_epoch}")]
    DepositRecredited {
        /// The batch's epoch.
        epoch: u64,
        /// The deposit id.
        deposit_id: u64,
        /// Where it was first credited.
        first_epoch: u64,
    },
    /// Two different batches for one epoch, both certified by a quorum: the validator set is faulty. Halt.
    #[error(
        "epoch {epoch}: EQUIVOCATION: certified batches {first} and {second} conflict; halting: both are kept in \
         `equivocations`; the validators must decide which history is the network's, then an operator deletes the \
         evidence row and restarts (runbook: equivocation)"
    )]
    Equivocation {
        /// The epoch.
        epoch: u64,
        /// The batch accepted (or seen) first.
        first: B256,
        /// The conflicting certified batch.
        second: B256,
    },
    /// The document's header disagrees with the envelope's.
    #[error("epoch {epoch}: document says {field} = {document}, envelope says {envelope}")]
    HeaderMismatch {
        /// The envelope's epoch.
        epoch: u64,
        /// Which field.
        field: &'static str,
        /// The document's value.
        document: String,
        /// The envelope's value.
        envelope: String,
    },
    /// A configured validator key is not a valid Ed25519 point.
    #[error("validator key {0} is not a valid Ed25519 public key")]
    InvalidValidatorKey(B256),
    /// No validators configured.
    #[error("the validator set is empty")]
    EmptyValidatorSet,
    /// Reading from a batch source failed.
    #[error("batch source: {0}")]
    Source(#[from] std::io::Error),
}

/// "epoch N: " when the epoch is known.
fn at(epoch: &Option<u64>) -> String {
    epoch.map(|e| format!("epoch {e}: ")).unwrap_or_default()
}

impl Error {
    /// Attaches the envelope's epoch to a document error (the document is read before its epoch is trusted).
    pub(crate) fn in_epoch(self, at: u64) -> Self {
        match self {
            Error::Document { reason, .. } => Error::Document { epoch: Some(at), reason },
            Error::Schema { field, reason, .. } => Error::Schema { epoch: Some(at), field, reason },
            Error::Inconsistent { epoch: 0, what } => Error::Inconsistent { epoch: at, what },
            other => other,
        }
    }

    /// A short, stable name for the reason, for metrics and the quarantine table.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Oversized { .. } => "oversized",
            Error::BadMagic => "bad_magic",
            Error::Truncated { .. } => "truncated",
            Error::TrailingBytes { .. } => "trailing_bytes",
            Error::WrongChain { .. } => "wrong_chain",
            Error::Stale { .. } => "stale",
            Error::Gap { .. } => "gap",
            Error::ParentMismatch { .. } => "parent_mismatch",
            Error::UnknownSigner { .. } => "unknown_signer",
            Error::DuplicateSigner { .. } => "duplicate_signer",
            Error::BadSignature { .. } => "bad_signature",
            Error::NoQuorum { .. } => "no_quorum",
            Error::Document { .. } => "bad_document",
            Error::Schema { .. } => "schema",
            Error::HeaderMismatch { .. } => "header_mismatch",
            Error::Inconsistent { .. } => "inconsistent",
            Error::BadIntentSignature { .. } => "bad_intent_signature",
            Error::ClaimReused { .. } => "claim_reused",
            Error::DepositRecredited { .. } => "deposit_recredited",
            Error::Equivocation { .. } => "equivocation",
            Error::InvalidValidatorKey(_) => "invalid_validator_key",
            Error::EmptyValidatorSet => "empty_validator_set",
            Error::Source(_) => "source",
        }
    }
}
