//! The validator set and its quorum certificate over a batch digest.

use std::collections::BTreeSet;

use alloy::primitives::B256;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use super::{Error, envelope::Signature};

/// The configured validators: `n` Ed25519 keys, of which floor(2n/3)+1 distinct ones must sign.
#[derive(Debug, Clone)]
pub struct ValidatorSet {
    keys: Vec<VerifyingKey>,
}

impl ValidatorSet {
    /// A set from its public keys; duplicates are removed, invalid keys rejected.
    pub fn new(keys: impl IntoIterator<Item = [u8; 32]>) -> Result<Self, Error> {
        let unique: BTreeSet<[u8; 32]> = keys.into_iter().collect();
        let keys = unique
            .into_iter()
            .map(|k| VerifyingKey::from_bytes(&k).map_err(|_| Error::InvalidValidatorKey(B256::from(k))))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(Error::EmptyValidatorSet);
        }
        Ok(Self { keys })
    }

    /// Number of validators `n`.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: a set is never empty (see [`ValidatorSet::new`]).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Signatures needed: floor(2n/3) + 1.
    pub fn quorum(&self) -> usize {
        2 * self.keys.len() / 3 + 1
    }

    /// Checks that at least a quorum of distinct, known validators signed `digest`.
    ///
    /// A signature from an unknown key or a repeated signer never counts; one invalid signature from a known
    /// validator rejects the whole certificate, since an honest relayer never forwards it.
    pub fn verify(&self, epoch: u64, digest: &B256, signatures: &[Signature]) -> Result<usize, Error> {
        let mut seen = BTreeSet::new();
        for s in signatures {
            let Some(key) = self.keys.iter().find(|k| k.as_bytes() == &s.validator) else {
                return Err(Error::UnknownSigner { epoch, validator: B256::from(s.validator) });
            };
            if !seen.insert(s.validator) {
                return Err(Error::DuplicateSigner { epoch, validator: B256::from(s.validator) });
            }
            let sig = ed25519_dalek::Signature::from_bytes(&s.signature);
            key.verify_strict(digest.as_slice(), &sig)
                .map_err(|_| Error::BadSignature { epoch, validator: B256::from(s.validator) })?;
        }
        if seen.len() < self.quorum() {
            return Err(Error::NoQuorum { epoch, have: seen.len(), need: self.quorum(), of: self.len() });
        }
        Ok(seen.len())
    }
}

/// Parses validator public keys written one per line as 32 bytes of hex (`0x` optional); blank lines and
/// `#` comments are skipped.
pub fn parse_keys(text: &str) -> Result<Vec<[u8; 32]>, String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| {
            let mut key = [0u8; 32];
            alloy::hex::decode_to_slice(l.trim_start_matches("0x"), &mut key)
                .map_err(|e| format!("validator key {}: {e}: {l:?}", i + 1))?;
            Ok(key)
        })
        .collect()
}

/// Formats keys the way [`parse_keys`] reads them.
pub fn format_keys(keys: &[[u8; 32]]) -> String {
    keys.iter().map(|k| format!("{}\n", alloy::hex::encode_prefixed(k))).collect()
}

/// Signs a batch digest with a validator key (used by the simulator and tests).
pub fn sign(key: &SigningKey, digest: &B256) -> Signature {
    Signature { validator: key.verifying_key().to_bytes(), signature: key.sign(digest.as_slice()).to_bytes() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u8) -> Vec<SigningKey> {
        (1..=n).map(|i| SigningKey::from_bytes(&[i; 32])).collect()
    }

    fn set(keys: &[SigningKey]) -> ValidatorSet {
        ValidatorSet::new(keys.iter().map(|k| k.verifying_key().to_bytes())).unwrap()
    }

    #[test]
    fn keys_round_trip_through_text() {
        let k: Vec<[u8; 32]> = keys(3).iter().map(|k| k.verifying_key().to_bytes()).collect();
        let text = format!("# validators\n{}\n", format_keys(&k));
        assert_eq!(parse_keys(&text).unwrap(), k);
        assert!(parse_keys("0x1234").is_err());
    }

    #[test]
    fn quorum_is_two_thirds_plus_one() {
        for (n, q) in [(1, 1), (3, 3), (4, 3), (6, 5), (7, 5), (10, 7)] {
            assert_eq!(set(&keys(n)).quorum(), q, "n = {n}");
        }
    }

    #[test]
    fn accepts_quorum_and_rejects_one_short() {
        let k = keys(4);
        let d = B256::repeat_byte(3);
        let sigs: Vec<_> = k.iter().map(|k| sign(k, &d)).collect();
        assert_eq!(set(&k).verify(1, &d, &sigs[..3]).unwrap(), 3);
        assert!(matches!(set(&k).verify(1, &d, &sigs[..2]), Err(Error::NoQuorum { have: 2, need: 3, .. })));
    }

    #[test]
    fn rejects_duplicate_signer() {
        let k = keys(4);
        let d = B256::repeat_byte(3);
        let s = sign(&k[0], &d);
        let sigs = vec![s.clone(), s, sign(&k[1], &d)];
        assert!(matches!(set(&k).verify(1, &d, &sigs), Err(Error::DuplicateSigner { .. })));
    }

    #[test]
    fn rejects_unknown_signer() {
        let k = keys(4);
        let d = B256::repeat_byte(3);
        let outsider = SigningKey::from_bytes(&[99; 32]);
        let sigs = vec![sign(&k[0], &d), sign(&k[1], &d), sign(&outsider, &d)];
        assert!(matches!(set(&k).verify(1, &d, &sigs), Err(Error::UnknownSigner { .. })));
    }

    #[test]
    fn rejects_flipped_signature_byte() {
        let k = keys(4);
        let d = B256::repeat_byte(3);
        let mut sigs: Vec<_> = k.iter().map(|k| sign(k, &d)).collect();
        sigs[2].signature[10] ^= 1;
        assert!(matches!(set(&k).verify(1, &d, &sigs), Err(Error::BadSignature { .. })));
    }
}
