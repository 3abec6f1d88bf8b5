//! Bad batches on request: every kind of input the relayer must reject, made from a good one.

use std::str::FromStr;

use alloy::primitives::{B256, U256};
use ed25519_dalek::SigningKey;

use super::simulate::{Network, Produced};
use crate::ingest::certificate::sign;
use crate::ingest::document::{CreditedDeposit, WithdrawalRequest};
use crate::ingest::envelope::MAX_ENVELOPE_BYTES;
use crate::ingest::{BatchState, Envelope};

/// A kind of bad batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The document bytes are damaged, yet certified (validators signed garbage): `bad_document`.
    CorruptDocument,
    /// The envelope ends early: `truncated`.
    Truncated,
    /// The document lacks a required field, certified: `schema`.
    WrongSchema,
    /// One signature byte flipped: `bad_signature`.
    BadSignature,
    /// No signatures at all: `no_quorum`.
    MissingSignatures,
    /// One signer short of the quorum: `no_quorum`.
    TooFewSigners,
    /// A signature from a key outside the validator set: `unknown_signer`.
    UnknownSigner,
    /// One validator's signature twice: `duplicate_signer`.
    DuplicateSigner,
    /// Certified, but linked to a parent digest that is not the accepted one: `parent_mismatch` to a verifier on
    /// its own; a reader with the accepted chain keeps it as evidence of a fork (the validators certified another
    /// batch of the previous epoch).
    WrongParent,
    /// The previous epoch's batch served again: `stale`.
    Replay,
    /// Larger than the envelope limit: `oversized`.
    Oversized,
    /// Certified for another chain: `wrong_chain`.
    WrongChain,
    /// An intent whose maker did not sign it, certified: `bad_intent_signature`.
    BadIntentSignature,
    /// A second, different batch for the same epoch, also certified: `equivocation`.
    Equivocation,
    /// Certified, but reuses claim id 1 (certified by an earlier epoch): `claim_reused`.
    ReusedClaim,
    /// Certified, but credits deposit 1 again (credited by an earlier epoch): `deposit_recredited`.
    RecreditedDeposit,
}

impl Fault {
    /// Every fault, for tests and `--help`.
    pub const ALL: [Fault; 16] = [
        Fault::CorruptDocument,
        Fault::Truncated,
        Fault::WrongSchema,
        Fault::BadSignature,
        Fault::MissingSignatures,
        Fault::TooFewSigners,
        Fault::UnknownSigner,
        Fault::DuplicateSigner,
        Fault::WrongParent,
        Fault::Replay,
        Fault::Oversized,
        Fault::WrongChain,
        Fault::BadIntentSignature,
        Fault::Equivocation,
        Fault::ReusedClaim,
        Fault::RecreditedDeposit,
    ];

    /// Whether the fault shows only against history (what earlier epochs certified, or a second batch), so a
    /// verifier looking at the batch alone accepts it and the relayer must catch it.
    pub fn needs_history(self) -> bool {
        matches!(self, Fault::Equivocation | Fault::ReusedClaim | Fault::RecreditedDeposit)
    }

    /// The kebab-case name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fault::CorruptDocument => "corrupt-document",
            Fault::Truncated => "truncated",
            Fault::WrongSchema => "wrong-schema",
            Fault::BadSignature => "bad-signature",
            Fault::MissingSignatures => "missing-signatures",
            Fault::TooFewSigners => "too-few-signers",
            Fault::UnknownSigner => "unknown-signer",
            Fault::DuplicateSigner => "duplicate-signer",
            Fault::WrongParent => "wrong-parent",
            Fault::Replay => "replay",
            Fault::Oversized => "oversized",
            Fault::WrongChain => "wrong-chain",
            Fault::BadIntentSignature => "bad-intent-signature",
            Fault::Equivocation => "equivocation",
            Fault::ReusedClaim => "reused-claim",
            Fault::RecreditedDeposit => "recredited-deposit",
        }
    }

    /// The relayer's reason code for this fault (see `ingest::Error::reason`).
    pub fn expected_reason(self) -> &'static str {
        match self {
            Fault::CorruptDocument => "bad_document",
            Fault::Truncated => "truncated",
            Fault::WrongSchema => "schema",
            Fault::BadSignature => "bad_signature",
            Fault::MissingSignatures | Fault::TooFewSigners => "no_quorum",
            Fault::UnknownSigner => "unknown_signer",
            Fault::DuplicateSigner => "duplicate_signer",
            Fault::WrongParent => "parent_mismatch",
            Fault::Replay => "stale",
            Fault::Oversized => "oversized",
            Fault::WrongChain => "wrong_chain",
            Fault::BadIntentSignature => "bad_intent_signature",
            Fault::Equivocation => "equivocation",
            Fault::ReusedClaim => "claim_reused",
            Fault::RecreditedDeposit => "deposit_recredited",
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            let names: Vec<_> = Fault::ALL.iter().map(|f| f.name()).collect();
            format!("unknown fault {s:?}; one of: {}", names.join(", "))
        })
    }
}

impl Network {
    /// A bad version of `good` (the batch just produced); `previous` is the batch before it, for replays.
    pub fn faulty(&self, good: &Produced, previous: Option<&Produced>, fault: Fault) -> Vec<u8> {
        let keys = self.validator_signing_keys();
        let quorum = 2 * keys.len() / 3 + 1;
        let mut env = good.envelope.clone();
        match fault {
            Fault::CorruptDocument => {
                let mid = env.document.len() / 2;
                env.document[mid] ^= 0xff;
                env.document.truncate(mid + 1);
                resign(&mut env, keys);
            }
            Fault::Truncated => {
                let bytes = env.encode();
                return bytes[..bytes.len() / 2].to_vec();
            }
            Fault::WrongSchema => {
                let mut doc = automerge::AutoCommit::load(&env.document).expect("simulator documents load");
                automerge::transaction::Transactable::delete(&mut doc, automerge::ROOT, "reserve")
                    .expect("the simulator writes a reserve");
                env.document = doc.save();
                resign(&mut env, keys);
            }
            Fault::BadSignature => env.signatures[0].signature[7] ^= 1,
            Fault::MissingSignatures => env.signatures.clear(),
            Fault::TooFewSigners => env.signatures.truncate(quorum - 1),
            Fault::UnknownSigner => {
                let outsider = SigningKey::from_bytes(&[0xee; 32]);
                env.signatures.truncate(quorum - 1);
                env.signatures.push(sign(&outsider, &env.digest()));
            }
            Fault::DuplicateSigner => {
                env.signatures.truncate(quorum - 1);
                env.signatures.push(env.signatures[0].clone());
            }
            Fault::WrongParent => {
                let mut state = good.state.clone();
                state.parent = B256::repeat_byte(0x0b);
                rewrite(&mut env, &state, keys);
            }
            Fault::Replay => return previous.map(|p| p.bytes.clone()).unwrap_or_else(|| good.bytes.clone()),
            Fault::Oversized => {
                let mut bytes = env.encode();
                bytes.resize(MAX_ENVELOPE_BYTES + 1, 0);
                return bytes;
            }
            Fault::WrongChain => {
                env.chain_id += 1;
                resign(&mut env, keys);
            }
            Fault::BadIntentSignature => {
                let mut state = good.state.clone();
                let intent = state.intents.first_mut().expect("bad-intent-signature needs a batch with intents");
                intent.sell_amount += U256::from(1);
                rewrite(&mut env, &state, keys);
            }
            Fault::Equivocation => {
                let mut state = good.state.clone();
                state.timestamp += 1;
                rewrite(&mut env, &state, keys);
            }
            Fault::ReusedClaim => {
                let mut state = good.state.clone();
                let account = self.accounts()[0];
                let recipient = alloy::primitives::Address::repeat_byte(0x11);
                state.withdrawals.retain(|w| w.claim_id != U256::from(1));
                state.withdrawals.push(WithdrawalRequest {
                    claim_id: U256::from(1),
                    account,
                    amount: U256::from(1),
                    recipient,
                    reissues: None,
                });
                rewrite(&mut env, &state, keys);
            }
            Fault::RecreditedDeposit => {
                let mut state = good.state.clone();
                let account = self.accounts()[0];
                state.deposits.retain(|d| d.deposit_id != 1);
                state.deposits.push(CreditedDeposit { deposit_id: 1, account, amount: U256::from(1) });
                rewrite(&mut env, &state, keys);
            }
        }
        env.encode()
    }
}

/// Replaces the document with `state` and certifies the result with every key.
fn rewrite(env: &mut Envelope, state: &BatchState, keys: &[SigningKey]) {
    env.parent = state.parent;
    env.document = state.to_automerge();
    resign(env, keys);
}

fn resign(env: &mut Envelope, keys: &[SigningKey]) {
    let digest = env.digest();
    env.signatures = keys.iter().map(|k| sign(k, &digest)).collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devnet::simulate::EpochInputs;
    use crate::ingest::{ValidatorSet, Verifier};

    /// Epoch 1 accepted; epoch 2 produced; returns both and a verifier expecting epoch 2.
    fn setup() -> (Network, Verifier, Produced, Produced) {
        let mut net = Network::new(99, 3, 4, 4);
        let mut verifier = Verifier::new(99, ValidatorSet::new(net.validator_keys()).unwrap(), None);
        let account = net.accounts()[0];
        let deposit = CreditedDeposit { deposit_id: 1, account, amount: U256::from(1_000_000_000u64) };
        let first = net.next_batch(&EpochInputs { timestamp: 1, deposits: vec![deposit], ..Default::default() });
        verifier.accept(&verifier.verify(&first.bytes).unwrap());
        let second = net.next_batch(&EpochInputs { timestamp: 2, intents: 8, transfers: 4, ..Default::default() });
        assert!(!second.state.intents.is_empty());
        (net, verifier, first, second)
    }

    #[test]
    fn every_fault_is_rejected_with_its_own_reason() {
        let (net, verifier, first, second) = setup();
        verifier.verify(&second.bytes).expect("the good batch verifies");
        for fault in Fault::ALL {
            let bad = net.faulty(&second, Some(&first), fault);
            match verifier.verify(&bad) {
                Ok(batch) => {
                    // Valid on its own: only history (a second certified batch for the epoch, claim ids and
                    // deposits of earlier epochs) shows what is wrong; the relayer checks that, against anvil.
                    assert!(fault.needs_history(), "{fault:?} accepted");
                    assert_ne!(batch.digest, second.digest);
                    assert_eq!(verifier.certified(&bad), Some((2, batch.digest)));
                }
                Err(e) => {
                    assert_eq!(e.reason(), fault.expected_reason(), "{fault:?}: {e}");
                    let text = e.to_string();
                    if !matches!(fault, Fault::Truncated | Fault::Oversized) {
                        assert!(text.contains("epoch"), "{fault:?}: message names no epoch: {text}");
                    }
                }
            }
        }
    }

    #[test]
    fn fault_names_round_trip() {
        for f in Fault::ALL {
            assert_eq!(f.name().parse::<Fault>(), Ok(f));
        }
        assert!("nonsense".parse::<Fault>().is_err());
    }
}
