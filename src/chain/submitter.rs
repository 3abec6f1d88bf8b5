//! Commits each epoch's state root to `StateCommitment`, exactly once and in order.
//!
//! Before sending, the chain is read: an epoch already committed with our root is recorded as done; one
//! committed with a different root halts the relayer. The call is simulated before it is sent, so a revert
//! surfaces as a decoded reason rather than a failed transaction.

use alloy::primitives::{Address, B256};
use alloy::providers::DynProvider;

use super::Error;
use super::bindings::StateCommitment;
use super::bindings::state_commitment::IStateCommitment::{Commitment, ReserveFigures};
use super::txmgr::TxManager;
use crate::ids::{Epoch, Purpose};
use crate::settle::CommittedFigures;

/// What is committed for an epoch: its root, linked to its parent's, the certified batch it was computed from,
/// and the figures the escrow pays from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootCommit {
    /// The epoch.
    pub epoch: Epoch,
    /// Its state root.
    pub state_root: B256,
    /// The previous epoch's root (zero for epoch 1).
    pub parent_root: B256,
    /// The certified batch's digest.
    pub digest: B256,
    /// The batch's timestamp.
    pub timestamp: u64,
    /// The reserve figures the root attests.
    pub figures: CommittedFigures,
}

/// What happened to an epoch's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Our transaction committed it.
    Committed {
        /// Transaction hash.
        tx_hash: B256,
        /// Block it was mined in.
        block_number: u64,
        /// Gas it used.
        gas_used: u64,
    },
    /// The chain already held this exact root (we committed it before a restart).
    AlreadyOnChain,
}

/// Sends state roots from the relayer's key.
#[derive(Debug, Clone)]
pub struct Submitter {
    contract: StateCommitment::IStateCommitmentInstance<DynProvider>,
    txmgr: TxManager,
}

impl Submitter {
    /// A submitter for the `StateCommitment` at `address`, sending through `txmgr`.
    pub fn new(provider: DynProvider, address: Address, txmgr: TxManager) -> Self {
        Self { contract: StateCommitment::new(address, provider), txmgr }
    }

    /// The chain's highest committed epoch.
    pub async fn latest_epoch(&self) -> Result<Epoch, Error> {
        self.contract.latestEpoch().call().await.map(Epoch).map_err(|e| Error::from_call("latestEpoch", e))
    }

    /// Commits `root` unless the chain already has it. A commitment the guardian revoked is never sent again: if it
    /// is ours, the error says so and the relayer halts.
    #[tracing::instrument(skip_all, fields(epoch = root.epoch.0, root = %root.state_root))]
    ///
    /// `attested` are the signatures collected over `root`, ascending by signer; `threshold` of them are sent. A
    /// signature the contract would still refuse (the simulation reverts naming it) is dropped for this epoch with
    /// a warning, and the next one takes its place: one attester can never stop the commit while `threshold`
    /// others signed. The signers sent are returned with the outcome.
    pub async fn submit(
        &self,
        root: &RootCommit,
        attested: &[(Address, alloy::primitives::Bytes)],
        threshold: usize,
    ) -> Result<(Outcome, Vec<Address>), Error> {
        let latest = self.latest_epoch().await?;
        let ours = root.hash();
        if root.epoch <= latest {
            let on_chain = self
                .contract
                .commitmentOf(root.epoch.0)
                .call()
                .await
                .map_err(|e| Error::from_call("commitmentOf", e))?;
            let differs = differences(&on_chain, root);
            return if differs.is_empty() {
                // Ours from an earlier attempt (a restart between send and record), or found as it is.
                match self.txmgr.resolve(Purpose::Commit, root.epoch).await? {
                    Some(m) => Ok((
                        Outcome::Committed { tx_hash: m.tx_hash, block_number: m.block_number, gas_used: m.gas_used },
                        Vec::new(),
                    )),
                    None => {
                        tracing::info!("root already on chain");
                        Ok((Outcome::AlreadyOnChain, Vec::new()))
                    }
                }
            } else {
                let is_final =
                    self.contract.isFinal(root.epoch.0).call().await.map_err(|e| Error::from_call("isFinal", e))?;
                Err(Error::RootConflict {
                    epoch: root.epoch.0,
                    is_final,
                    on_chain: on_chain.stateRoot,
                    ours: root.state_root,
                    differs: differs.join(", "),
                })
            };
        }
        if root.epoch > latest.next() {
            return Err(Error::OutOfOrder { epoch: root.epoch.0, latest: latest.0 });
        }
        if self.contract.isRevoked(ours).call().await.map_err(|e| Error::from_call("isRevoked", e))? {
            return Err(Error::OwnCommitmentRevoked { epoch: root.epoch.0, commitment: ours, root: root.state_root });
        }

        let mut candidates = attested.to_vec();
        let (call, signers) = loop {
            let chosen: Vec<_> = candidates.iter().take(threshold).cloned().collect();
            let (signers, signatures): (Vec<Address>, Vec<_>) = chosen.into_iter().unzip();
            let call = self.contract.commit(
                root.epoch.0,
                root.parent_root,
                root.state_root,
                root.digest,
                figures(root),
                signatures,
            );
            // Simulated right before sending (state moves), so a revert comes back as its decoded reason; against
            // the pending block, the one the transaction goes into (its timestamp is what `commit` checks the
            // batch's against).
            match call.call().block(alloy::eips::BlockId::pending()).await {
                Ok(_) => break (call, signers),
                Err(e) => match refused_signer(&e, &signers) {
                    Some((signer, why)) if candidates.len() > threshold => {
                        tracing::warn!(%signer, reason = why, "the contract refuses this attester's signature; \
                            committing with another attester's instead");
                        candidates.retain(|(s, _)| *s != signer);
                    }
                    _ => return Err(Error::from_call("commit", e)),
                },
            }
        };
        let mined = self.txmgr.send(Purpose::Commit, root.epoch, call.into_transaction_request()).await?;
        let (tx_hash, receipt) = (mined.tx_hash, mined.receipt);
        let outcome = Outcome::Committed {
            tx_hash,
            block_number: receipt.block_number.unwrap_or_default(),
            gas_used: receipt.gas_used,
        };
        tracing::info!(tx = %tx_hash, gas = receipt.gas_used, "root committed");
        Ok((outcome, signers))
    }

    /// The attesters the contract accepts now, and its threshold.
    pub async fn quorum(&self) -> Result<crate::attest::collect::Quorum, Error> {
        let attesters = self.contract.attesters().call().await.map_err(|e| Error::from_call("attesters", e))?;
        let threshold = self.contract.threshold().call().await.map_err(|e| Error::from_call("threshold", e))?;
        Ok(crate::attest::collect::Quorum {
            attesters: attesters.into_iter().collect(),
            threshold: threshold.saturating_to(),
        })
    }

    /// When `epoch`'s commitment becomes final, in the chain's time, as the contract reports it: its commit time
    /// plus the challenge window plus the time the guardian has stopped the clock since (`i64::MAX` while it is
    /// stopped).
    pub async fn final_at(&self, epoch: Epoch) -> Result<i64, Error> {
        let at = self.contract.finalAt(epoch.0).call().await.map_err(|e| Error::from_call("finalAt", e))?;
        Ok(at.min(i64::MAX as u64) as i64)
    }
}

impl RootCommit {
    /// The fields in which `other` differs from this commitment (epoch included): every one the escrow pays from.
    pub fn differences(&self, other: &RootCommit) -> Vec<&'static str> {
        let (a, b) = (&self.figures, &other.figures);
        [
            ("epoch", self.epoch == other.epoch),
            ("state root", self.state_root == other.state_root),
            ("parent root", self.parent_root == other.parent_root),
            ("batch digest", self.digest == other.digest),
            ("total supply", a.total_supply == b.total_supply),
            ("total reserve", a.total_reserve == b.total_reserve),
            ("flow pressure", a.flow_pressure == b.flow_pressure),
            ("timestamp", self.timestamp == other.timestamp),
        ]
        .into_iter()
        .filter_map(|(field, same)| (!same).then_some(field))
        .collect()
    }

    /// The hash `StateCommitment` names this commitment by (`hashCommitment`): keccak256 of
    /// abi.encode(epoch, parentRoot, stateRoot, batchDigest, reserve).
    pub fn hash(&self) -> B256 {
        use alloy::sol_types::SolValue;
        let encoded = (self.epoch.0, self.parent_root, self.state_root, self.digest, figures(self)).abi_encode_params();
        alloy::primitives::keccak256(encoded)
    }
}

/// The signer (of `signers`, as sent) whose signature a reverted `commit` simulation names, and the contract's
/// reason: a signature it cannot recover, or a signer it no longer registers.
fn refused_signer(e: &alloy::contract::Error, signers: &[Address]) -> Option<(Address, &'static str)> {
    use super::bindings::attester_quorum::IAttesterQuorum::IAttesterQuorumErrors as Refusal;
    use alloy::sol_types::SolInterface;
    match Refusal::abi_decode(&e.as_revert_data()?).ok()? {
        Refusal::AttestationSignatureInvalid(r) => {
            Some((*signers.get(usize::try_from(r.index).ok()?)?, "AttestationSignatureInvalid"))
        }
        Refusal::AttestationUnknownSigner(r) => {
            signers.contains(&r.signer).then_some((r.signer, "AttestationUnknownSigner"))
        }
        _ => None,
    }
}

/// The reserve figures `root` attests, as `commit` takes them.
fn figures(root: &RootCommit) -> ReserveFigures {
    ReserveFigures {
        totalSupply: root.figures.total_supply,
        totalReserve: root.figures.total_reserve,
        flowPressure: root.figures.flow_pressure,
        timestamp: root.timestamp,
    }
}

/// The fields in which the chain's commitment differs from ours: "already on chain" means root, parent, batch
/// digest and every figure, since the escrow pays from all of them.
fn differences(on_chain: &Commitment, root: &RootCommit) -> Vec<&'static str> {
    let theirs = RootCommit {
        epoch: root.epoch,
        state_root: on_chain.stateRoot,
        parent_root: on_chain.parentRoot,
        digest: on_chain.batchDigest,
        timestamp: on_chain.reserve.timestamp,
        figures: CommittedFigures {
            total_supply: on_chain.reserve.totalSupply,
            total_reserve: on_chain.reserve.totalReserve,
            flow_pressure: on_chain.reserve.flowPressure,
        },
    };
    root.differences(&theirs)
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;

    use super::*;

    #[test]
    fn already_on_chain_means_every_field_the_escrow_pays_from() {
        let root = RootCommit {
            epoch: Epoch(3),
            digest: B256::repeat_byte(1),
            state_root: B256::repeat_byte(2),
            parent_root: B256::repeat_byte(3),
            timestamp: 77,
            figures: CommittedFigures {
                total_supply: U256::from(10),
                total_reserve: U256::from(9),
                flow_pressure: U256::from(1),
            },
        };
        let same = Commitment {
            stateRoot: root.state_root,
            parentRoot: root.parent_root,
            batchDigest: root.digest,
            reserve: figures(&root),
            committedAt: 5,
        };
        assert!(differences(&same, &root).is_empty());
        let other_stream = Commitment { batchDigest: B256::repeat_byte(9), ..same.clone() };
        assert_eq!(differences(&other_stream, &root), ["batch digest"]);
        let mut other_figures = same.clone();
        other_figures.reserve.totalReserve = U256::from(8);
        assert_eq!(differences(&other_figures, &root), ["total reserve"]);
        assert_eq!(differences(&same, &RootCommit { parent_root: B256::ZERO, ..root }), ["parent root"]);
    }
}
