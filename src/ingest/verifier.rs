//! The chain of batches: each accepted batch is the next epoch and links to the previous one's digest.

use alloy::primitives::B256;

use super::document::footprint::Limits;
use super::{BatchState, Envelope, Error, ValidatorSet};

/// A batch that passed every check.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Its epoch.
    pub epoch: u64,
    /// Its digest (what the validators signed, and what is committed on chain).
    pub digest: B256,
    /// The previous batch's digest.
    pub parent: B256,
    /// How many validators signed it.
    pub signers: usize,
    /// The decoded state.
    pub state: BatchState,
    /// The envelope exactly as received.
    pub raw: Vec<u8>,
}

/// Verifies batches in epoch order against the validator set.
#[derive(Debug, Clone)]
pub struct Verifier {
    chain_id: u64,
    validators: ValidatorSet,
    last: Option<(u64, B256)>,
    limits: Limits,
}

impl Verifier {
    /// A verifier that continues after `last` (the last accepted epoch and its digest), or starts at epoch 1.
    pub fn new(chain_id: u64, validators: ValidatorSet, last: Option<(u64, B256)>) -> Self {
        Self { chain_id, validators, last, limits: Limits::default() }
    }

    /// The same verifier, measuring documents against `limits` instead of the defaults.
    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }

    /// The epoch this verifier accepts next.
    pub fn next_epoch(&self) -> u64 {
        self.last.map_or(1, |(e, _)| e + 1)
    }

    /// Checks `bytes` as the next batch; does not advance (see [`Verifier::accept`]).
    pub fn verify(&self, bytes: &[u8]) -> Result<Batch, Error> {
        let env = self.decode(bytes)?;
        let epoch = env.epoch;
        if env.chain_id != self.chain_id {
            return Err(Error::WrongChain { epoch, expected: self.chain_id, got: env.chain_id });
        }
        let expected = self.next_epoch();
        if epoch < expected {
            return Err(Error::Stale { epoch, last: expected - 1 });
        }
        if epoch > expected {
            return Err(Error::Gap { epoch, expected });
        }
        let parent_expected = self.last.map_or(B256::ZERO, |(_, d)| d);
        if env.parent != parent_expected {
            return Err(Error::ParentMismatch { epoch, expected: parent_expected, got: env.parent });
        }
        self.certify(env, bytes)
    }

    /// Checks everything but the batch's place in the chain (epoch order and parent link): for a batch looked at
    /// on its own, as `myco-bridge verify-batch` does.
    pub fn verify_detached(&self, bytes: &[u8]) -> Result<Batch, Error> {
        let env = self.decode(bytes)?;
        if env.chain_id != self.chain_id {
            return Err(Error::WrongChain { epoch: env.epoch, expected: self.chain_id, got: env.chain_id });
        }
        self.certify(env, bytes)
    }

    /// The epoch and digest of `bytes` if it is an envelope for our chain certified by a quorum, whatever else
    /// may be wrong with it: what matters when deciding whether two batches are an equivocation.
    pub fn certified(&self, bytes: &[u8]) -> Option<(u64, B256)> {
        self.certified_link(bytes).map(|(epoch, digest, _)| (epoch, digest))
    }

    /// [`Verifier::certified`] with the parent digest the batch links to: a certified batch whose parent is not
    /// the accepted batch of the epoch before shows the validators certified another batch of that epoch.
    pub fn certified_link(&self, bytes: &[u8]) -> Option<(u64, B256, B256)> {
        let env = Envelope::decode(bytes).ok()?;
        if env.chain_id != self.chain_id {
            return None;
        }
        let digest = env.digest();
        self.validators.verify(env.epoch, &digest, &env.signatures).ok()?;
        Some((env.epoch, digest, env.parent))
    }

    /// The envelope's framing, once its size is within the limit.
    fn decode(&self, bytes: &[u8]) -> Result<Envelope, Error> {
        if bytes.len() as u64 > self.limits.max_batch_bytes {
            return Err(Error::Oversized { size: bytes.len(), limit: self.limits.max_batch_bytes as usize });
        }
        Envelope::decode(bytes)
    }

    /// Certificate, document, header agreement and value checks.
    fn certify(&self, env: Envelope, bytes: &[u8]) -> Result<Batch, Error> {
        let epoch = env.epoch;
        let digest = env.digest();
        let signers = self.validators.verify(epoch, &digest, &env.signatures)?;
        // The makers' signatures are checked while the rest of the document is read.
        let chain_id = self.chain_id;
        let (state, forged) = BatchState::from_automerge_checking(&env.document, &self.limits, |intents| {
            super::checks::first_forged(chain_id, intents)
        })
        .map_err(|e| e.in_epoch(epoch))?;
        if state.epoch != epoch {
            return Err(Error::HeaderMismatch {
                epoch,
                field: "epoch",
                document: state.epoch.to_string(),
                envelope: epoch.to_string(),
            });
        }
        if state.parent != env.parent {
            return Err(Error::HeaderMismatch {
                epoch,
                field: "parent",
                document: state.parent.to_string(),
                envelope: env.parent.to_string(),
            });
        }
        super::checks::check_with_signatures(&state, || forged)?;
        Ok(Batch { epoch, digest, parent: env.parent, signers, state, raw: bytes.to_vec() })
    }

    /// Records `batch` as accepted; the next batch must link to it.
    pub fn accept(&mut self, batch: &Batch) {
        self.last = Some((batch.epoch, batch.digest));
    }
}
