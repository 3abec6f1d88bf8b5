//! The EIP-712 typed data an attester signs for a commitment, exactly as `StateCommitment.attestationDigest`
//! computes it: the domain (name "myco-bridge StateCommitment", version "1", the chain id, the contract's
//! address) and the flat struct `Commitment(uint64 epoch,bytes32 parentRoot,bytes32 stateRoot,bytes32
//! batchDigest,uint256 totalSupply,uint256 totalReserve,uint256 flowPressure,uint64 timestamp)`: everything the
//! escrow's payouts depend on.

use alloy::primitives::{Address, B256, Signature};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{Eip712Domain, SolStruct};

use crate::chain::RootCommit;

alloy::sol! {
    /// The struct attesters sign.
    struct Commitment {
        uint64 epoch;
        bytes32 parentRoot;
        bytes32 stateRoot;
        bytes32 batchDigest;
        uint256 totalSupply;
        uint256 totalReserve;
        uint256 flowPressure;
        uint64 timestamp;
    }
}

/// Where attestations count: the chain and the `StateCommitment` they are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttestationDomain {
    /// The EVM chain id.
    pub chain_id: u64,
    /// `StateCommitment`'s address.
    pub state_commitment: Address,
}

impl AttestationDomain {
    fn eip712(&self) -> Eip712Domain {
        alloy::sol_types::eip712_domain! {
            name: "myco-bridge StateCommitment",
            version: "1",
            chain_id: self.chain_id,
            verifying_contract: self.state_commitment,
        }
    }

    /// The digest an attester signs for `root`.
    pub fn digest(&self, root: &RootCommit) -> B256 {
        let c = Commitment {
            epoch: root.epoch.0,
            parentRoot: root.parent_root,
            stateRoot: root.state_root,
            batchDigest: root.digest,
            totalSupply: root.figures.total_supply,
            totalReserve: root.figures.total_reserve,
            flowPressure: root.figures.flow_pressure,
            timestamp: root.timestamp,
        };
        c.eip712_signing_hash(&self.eip712())
    }

    /// `key`'s 65-byte (r, s, v = 27 or 28) signature of `root`, low-s as the contract requires.
    pub fn sign(&self, key: &PrivateKeySigner, root: &RootCommit) -> Result<[u8; 65], alloy::signers::Error> {
        let signature = key.sign_hash_sync(&self.digest(root))?;
        Ok(signature.as_bytes())
    }

    /// Who signed `root` with `signature`, if it is a well-formed low-s signature of it (a signature of
    /// anything else recovers to some other address).
    pub fn signer(&self, root: &RootCommit, signature: &[u8]) -> Option<Address> {
        let signature = Signature::from_raw(signature).ok()?;
        if signature.normalize_s().is_some() {
            // High s: the contract's ECDSA refuses it, so it does not count here either.
            return None;
        }
        signature.recover_address_from_prehash(&self.digest(root)).ok()
    }
}

/// `signature` in the one encoding `StateCommitment` accepts: 65 bytes, r ‖ s ‖ v with v 27 or 28 (OpenZeppelin's
/// ECDSA passes v to `ecrecover`, which knows no other). A signature that parses (v as 0/1, 27/28, or EIP-155's
/// 35 + 2·chain + parity) has one such form; the relayer sends that form, never an attester's bytes as they came.
pub fn canonical(signature: &[u8]) -> alloy::primitives::Bytes {
    match Signature::from_raw(signature) {
        Ok(s) => alloy::primitives::Bytes::copy_from_slice(&s.as_bytes()),
        Err(_) => alloy::primitives::Bytes::copy_from_slice(signature),
    }
}
