//! Labor attestations: the only way a batch creates MYCO. A configured labor attester signs that a contributor
//! did `units` of a kind of work worth `amount` MYCO; the batch that carries the attestation credits it.
//!
//! The attester signs `keccak256(MINT_DOMAIN ‖ chain_id ‖ epoch ‖ contributor ‖ keccak256(kind) ‖ units ‖
//! amount)` with its Ed25519 key: `chain_id`, `epoch` and `units` 8 bytes big-endian, `amount` 32. The epoch is
//! part of the digest, so an attestation mints in the one epoch it was made for and cannot be replayed later.

use alloy::primitives::{B256, U256, keccak256};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

/// Domain separator of labor attestation signatures.
pub const MINT_DOMAIN: &[u8] = b"myco-bridge/mint/v1";

/// A labor attestation a batch carries: it mints `amount` MYCO to `contributor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mint {
    /// Who did the work (the account credited).
    pub contributor: B256,
    /// The contribution type (free text, e.g. `"code-review"`), at most [`MAX_KIND_BYTES`] bytes.
    pub kind: String,
    /// How much of it (in the type's own unit).
    pub units: u64,
    /// MYCO minted (18 decimals), > 0.
    pub amount: U256,
    /// The labor attester's Ed25519 key.
    pub attester: B256,
    /// The attester's signature over [`Mint::digest`].
    pub signature: [u8; 64],
}

/// The longest contribution type accepted, in bytes.
pub const MAX_KIND_BYTES: usize = 64;

impl Mint {
    /// The digest the attester signs, for a mint in `epoch` of a batch certified for `chain_id`.
    pub fn digest(&self, chain_id: u64, epoch: u64) -> B256 {
        let mut m = Vec::with_capacity(MINT_DOMAIN.len() + 8 + 8 + 32 + 32 + 8 + 32);
        m.extend_from_slice(MINT_DOMAIN);
        m.extend_from_slice(&chain_id.to_be_bytes());
        m.extend_from_slice(&epoch.to_be_bytes());
        m.extend_from_slice(self.contributor.as_slice());
        m.extend_from_slice(keccak256(self.kind.as_bytes()).as_slice());
        m.extend_from_slice(&self.units.to_be_bytes());
        m.extend_from_slice(&self.amount.to_be_bytes::<32>());
        keccak256(m)
    }

    /// Signs the mint as `key` (which becomes its attester).
    pub fn sign(&mut self, chain_id: u64, epoch: u64, key: &SigningKey) {
        self.attester = B256::from(key.verifying_key().to_bytes());
        self.signature = key.sign(self.digest(chain_id, epoch).as_slice()).to_bytes();
    }

    /// Whether the signature is the attester's over this mint in `epoch`.
    pub fn signature_is_valid(&self, chain_id: u64, epoch: u64) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.attester.0) else { return false };
        let sig = ed25519_dalek::Signature::from_bytes(&self.signature);
        key.verify_strict(self.digest(chain_id, epoch).as_slice(), &sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed() -> Mint {
        let mut mint = Mint {
            contributor: B256::repeat_byte(3),
            kind: "code-review".into(),
            units: 4,
            amount: U256::from(10u64).pow(U256::from(20)),
            attester: B256::ZERO,
            signature: [0; 64],
        };
        mint.sign(31337, 5, &SigningKey::from_bytes(&[9; 32]));
        mint
    }

    #[test]
    fn a_mint_verifies_only_for_its_chain_epoch_and_fields() {
        let mint = signed();
        assert!(mint.signature_is_valid(31337, 5));
        assert!(!mint.signature_is_valid(1, 5), "another chain");
        assert!(!mint.signature_is_valid(31337, 6), "replayed in a later epoch");
        for change in [
            |m: &mut Mint| m.amount += U256::from(1),
            |m: &mut Mint| m.units += 1,
            |m: &mut Mint| m.kind.push('!'),
            |m: &mut Mint| m.contributor = B256::repeat_byte(4),
        ] {
            let mut changed = mint.clone();
            change(&mut changed);
            assert!(!changed.signature_is_valid(31337, 5));
        }
    }

    #[test]
    fn a_signature_by_another_key_does_not_verify_as_the_named_attester() {
        let mut mint = signed();
        let named = mint.attester;
        mint.sign(31337, 5, &SigningKey::from_bytes(&[8; 32]));
        mint.attester = named;
        assert!(!mint.signature_is_valid(31337, 5));
    }
}
