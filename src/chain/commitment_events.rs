//! `StateCommitment`'s history as its logs tell it: each `RootCommitted` (the whole commitment, its hash, when it
//! becomes final, and the transaction that carried it) and each `CommitmentRevoked`, read in bounded block ranges;
//! and the attesters' signatures a commit transaction carried. What an auditor follows.

use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent};

use super::Error;
use super::RootCommit;
use super::bindings::StateCommitment;
use crate::ids::Epoch;
use crate::settle::CommittedFigures;

/// A commitment as `RootCommitted` reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// What was committed.
    pub root: RootCommit,
    /// Its `hashCommitment` (what a revocation names).
    pub hash: B256,
    /// When it becomes final unless the clock stops (chain time).
    pub final_at: u64,
    /// The block of the commit.
    pub block_number: u64,
    /// The commit transaction.
    pub tx_hash: B256,
}

/// An attester set put in force (`AttestersChanged`, the constructor's included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttesterSet {
    /// The block it was put in force in.
    pub block_number: u64,
    /// Its log's index in the block.
    pub log_index: u64,
    /// The attesters and the threshold.
    pub quorum: crate::attest::collect::Quorum,
}

/// What one range of blocks holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Range {
    /// Commitments, in log order.
    pub committed: Vec<Committed>,
    /// Revoked commitments: (epoch, commitment hash).
    pub revoked: Vec<(Epoch, B256)>,
    /// Attester sets put in force.
    pub attester_sets: Vec<AttesterSet>,
}

/// Reads one `StateCommitment`'s logs.
#[derive(Debug, Clone)]
pub struct CommitmentEvents {
    provider: DynProvider,
    address: Address,
}

impl CommitmentEvents {
    /// The logs of the `StateCommitment` at `address`.
    pub fn new(provider: DynProvider, address: Address) -> Self {
        Self { provider, address }
    }

    /// The chain's head block.
    pub async fn head(&self) -> Result<u64, Error> {
        Ok(self.provider.get_block_number().await?)
    }

    /// The commitments and revocations in blocks `from..=to` (the caller bounds the range).
    pub async fn read(&self, from: u64, to: u64) -> Result<Range, Error> {
        let filter = Filter::new()
            .address(self.address)
            .event_signature(vec![
                StateCommitment::RootCommitted::SIGNATURE_HASH,
                StateCommitment::CommitmentRevoked::SIGNATURE_HASH,
                StateCommitment::AttestersChanged::SIGNATURE_HASH,
            ])
            .from_block(from)
            .to_block(to);
        let mut range = Range::default();
        for log in self.provider.get_logs(&filter).await? {
            let decode = |what: &'static str, e: alloy::sol_types::Error| Error::Decode { what, reason: e.to_string() };
            match log.topic0() {
                Some(&StateCommitment::RootCommitted::SIGNATURE_HASH) => {
                    let e = StateCommitment::RootCommitted::decode_log_data(log.data())
                        .map_err(|e| decode("RootCommitted", e))?;
                    let (Some(block_number), Some(tx_hash)) = (log.block_number, log.transaction_hash) else {
                        return Err(Error::Decode { what: "RootCommitted", reason: "a log without its block".into() });
                    };
                    range.committed.push(Committed {
                        root: RootCommit {
                            epoch: Epoch(e.epoch),
                            state_root: e.stateRoot,
                            parent_root: e.parentRoot,
                            digest: e.batchDigest,
                            timestamp: e.reserve.timestamp,
                            figures: CommittedFigures {
                                total_supply: e.reserve.totalSupply,
                                total_reserve: e.reserve.totalReserve,
                                flow_pressure: e.reserve.flowPressure,
                            },
                        },
                        hash: e.commitmentHash,
                        final_at: e.finalAt,
                        block_number,
                        tx_hash,
                    });
                }
                Some(&StateCommitment::CommitmentRevoked::SIGNATURE_HASH) => {
                    let e = StateCommitment::CommitmentRevoked::decode_log_data(log.data())
                        .map_err(|e| decode("CommitmentRevoked", e))?;
                    range.revoked.push((Epoch(e.epoch), e.commitmentHash));
                }
                Some(&StateCommitment::AttestersChanged::SIGNATURE_HASH) => {
                    let e = StateCommitment::AttestersChanged::decode_log_data(log.data())
                        .map_err(|e| decode("AttestersChanged", e))?;
                    range.attester_sets.push(AttesterSet {
                        block_number: log.block_number.unwrap_or_default(),
                        log_index: log.log_index.unwrap_or_default(),
                        quorum: crate::attest::collect::Quorum {
                            attesters: e.attesters.into_iter().collect(),
                            threshold: e.threshold.saturating_to(),
                        },
                    });
                }
                _ => {}
            }
        }
        Ok(range)
    }

    /// The attesters' signatures `tx` carried, if it called `commit` on this contract directly (`None` when it went
    /// through another contract, a multisig or a forwarder: its calldata is not a `commit` call).
    pub async fn signatures(&self, tx: B256) -> Result<Option<Vec<Bytes>>, Error> {
        use alloy::consensus::Transaction;
        let Some(found) = self.provider.get_transaction_by_hash(tx).await? else { return Ok(None) };
        if found.to() != Some(self.address) {
            return Ok(None);
        }
        Ok(StateCommitment::commitCall::abi_decode(found.input()).ok().map(|call| call.signatures))
    }

    /// The attesters in force at `block` and the threshold, as the contract reported them then (a call at a past
    /// block: for a commit older than every attester set read from the logs).
    pub async fn quorum_at(&self, block: u64) -> Result<crate::attest::collect::Quorum, Error> {
        let contract = StateCommitment::new(self.address, &self.provider);
        let at = alloy::eips::BlockId::number(block);
        let attesters = contract.attesters().block(at).call().await.map_err(|e| Error::from_call("attesters", e))?;
        let threshold = contract.threshold().block(at).call().await.map_err(|e| Error::from_call("threshold", e))?;
        Ok(crate::attest::collect::Quorum {
            attesters: attesters.into_iter().collect(),
            threshold: threshold.saturating_to(),
        })
    }
}
