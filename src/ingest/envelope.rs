//! The batch envelope: a certified Automerge document as it travels in a file or over HTTP.
//!
//! ```text
//! magic        8 bytes   "MYCOBAT1"
//! chain_id     u64 BE    the EVM chain the batch is for
//! epoch        u64 BE
//! parent       32 bytes  digest of the previous batch (zero for epoch 1)
//! doc_len      u32 BE
//! document     doc_len bytes, a saved Automerge document
//! sig_count    u16 BE
//! signatures   sig_count × (32-byte Ed25519 public key ‖ 64-byte signature over `digest()`)
//! ```
//! Nothing may follow the last signature.

use alloy::primitives::{B256, keccak256};

use super::Error;

/// The envelope's magic bytes (format version 1).
pub const MAGIC: &[u8; 8] = b"MYCOBAT1";
/// Domain separator of the signed digest, so a batch signature means nothing anywhere else.
pub const DIGEST_DOMAIN: &[u8] = b"myco-bridge/batch/v1";
/// The largest batch accepted by default (`[source] max_batch_bytes` raises it): a source refuses anything
/// bigger before reading it, and the verifier before parsing it.
pub const MAX_ENVELOPE_BYTES: usize = 64 * 1024 * 1024;
/// Bytes of one signature entry: public key and signature.
const SIGNATURE_ENTRY: usize = 32 + 64;

/// One validator's signature over a batch digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The validator's Ed25519 public key.
    pub validator: [u8; 32],
    /// The Ed25519 signature over [`Envelope::digest`].
    pub signature: [u8; 64],
}

/// A batch as received: header, document bytes and certificate, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The EVM chain id the batch is certified for.
    pub chain_id: u64,
    /// The epoch.
    pub epoch: u64,
    /// Digest of the previous batch.
    pub parent: B256,
    /// The saved Automerge document.
    pub document: Vec<u8>,
    /// The certificate.
    pub signatures: Vec<Signature>,
}

impl Envelope {
    /// The digest validators sign, and the batch's identity on chain:
    /// `keccak256(DIGEST_DOMAIN ‖ chain_id ‖ epoch ‖ parent ‖ keccak256(document))`.
    pub fn digest(&self) -> B256 {
        signing_digest(self.chain_id, self.epoch, self.parent, &self.document)
    }

    /// Serialises the envelope.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 8 + 8 + 32 + 4 + self.document.len() + 2 + self.signatures.len() * 96);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.chain_id.to_be_bytes());
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(self.parent.as_slice());
        out.extend_from_slice(&(self.document.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.document);
        out.extend_from_slice(&(self.signatures.len() as u16).to_be_bytes());
        for s in &self.signatures {
            out.extend_from_slice(&s.validator);
            out.extend_from_slice(&s.signature);
        }
        out
    }

    /// Parses an envelope, checking its framing only (not the certificate or the document, nor its size: what
    /// reads untrusted bytes bounds them first, a source when it fetches, the verifier when it verifies).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Cursor { bytes, at: 0 };
        if r.take(8, "magic")? != MAGIC {
            return Err(Error::BadMagic);
        }
        let chain_id = u64::from_be_bytes(r.array("chain id")?);
        let epoch = u64::from_be_bytes(r.array("epoch")?);
        let parent = B256::from(r.array::<32>("parent digest")?);
        let doc_len = u32::from_be_bytes(r.array("document length")?) as usize;
        let document = r.take(doc_len, "document")?.to_vec();
        let count = u16::from_be_bytes(r.array("signature count")?) as usize;
        let mut signatures = Vec::with_capacity(count);
        for _ in 0..count {
            let entry = r.take(SIGNATURE_ENTRY, "signature")?;
            signatures.push(Signature {
                validator: entry[..32].try_into().expect("slice of 32"),
                signature: entry[32..].try_into().expect("slice of 64"),
            });
        }
        if r.at != bytes.len() {
            return Err(Error::TrailingBytes { count: bytes.len() - r.at });
        }
        Ok(Envelope { chain_id, epoch, parent, document, signatures })
    }
}

/// See [`Envelope::digest`].
pub fn signing_digest(chain_id: u64, epoch: u64, parent: B256, document: &[u8]) -> B256 {
    let mut pre = Vec::with_capacity(DIGEST_DOMAIN.len() + 8 + 8 + 32 + 32);
    pre.extend_from_slice(DIGEST_DOMAIN);
    pre.extend_from_slice(&chain_id.to_be_bytes());
    pre.extend_from_slice(&epoch.to_be_bytes());
    pre.extend_from_slice(parent.as_slice());
    pre.extend_from_slice(keccak256(document).as_slice());
    keccak256(pre)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or(Error::Truncated {
            what,
            offset: self.at,
            needed: n,
            have: self.bytes.len() - self.at,
        })?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        Ok(self.take(N, what)?.try_into().expect("take returned N bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            chain_id: 31337,
            epoch: 2,
            parent: B256::repeat_byte(1),
            document: b"not really automerge".to_vec(),
            signatures: vec![Signature { validator: [7; 32], signature: [9; 64] }],
        }
    }

    #[test]
    fn round_trips() {
        let e = sample();
        assert_eq!(Envelope::decode(&e.encode()).unwrap(), e);
    }

    #[test]
    fn rejects_every_truncation() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            let err = Envelope::decode(&bytes[..len]).unwrap_err();
            assert!(matches!(err, Error::Truncated { .. } | Error::BadMagic), "len {len}: {err}");
        }
    }

    #[test]
    fn rejects_trailing_bytes_and_bad_magic() {
        let mut bytes = sample().encode();
        bytes.push(0);
        assert!(matches!(Envelope::decode(&bytes), Err(Error::TrailingBytes { count: 1 })));
        bytes[0] = b'X';
        assert!(matches!(Envelope::decode(&bytes), Err(Error::BadMagic)));
    }

    #[test]
    fn digest_binds_every_header_field() {
        let e = sample();
        let mut other = e.clone();
        other.chain_id += 1;
        assert_ne!(e.digest(), other.digest());
        let mut other = e.clone();
        other.epoch += 1;
        assert_ne!(e.digest(), other.digest());
        let mut other = e.clone();
        other.parent = B256::ZERO;
        assert_ne!(e.digest(), other.digest());
        let mut other = e.clone();
        other.document.push(0);
        assert_ne!(e.digest(), other.digest());
    }
}
