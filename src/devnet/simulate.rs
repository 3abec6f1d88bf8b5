//! A simulated validator network: `n` validators with deterministic keys certify one batch per epoch, carrying
//! balances forward, crediting escrow deposits, moving value between accounts and certifying withdrawals.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256, keccak256};
use ed25519_dalek::SigningKey;

use crate::ingest::certificate::sign;
use crate::ingest::document::{CreditedDeposit, ReserveState, WithdrawalRequest};
use crate::ingest::{BatchState, Envelope};

/// MYCO units per USDC unit at par (18 − 6 decimals).
const MYCO_PER_USDC_UNIT: u64 = 1_000_000_000_000;

/// A withdrawal an account asks for in an epoch.
#[derive(Debug, Clone)]
pub struct WithdrawalAsk {
    /// The account.
    pub account: B256,
    /// MYCO amount.
    pub amount: U256,
    /// Who receives the USDC.
    pub recipient: Address,
}

/// What happens off chain in one epoch besides the network's own transfers.
#[derive(Debug, Clone, Default)]
pub struct EpochInputs {
    /// The batch timestamp.
    pub timestamp: u64,
    /// Escrow deposits seen on chain, to credit.
    pub deposits: Vec<CreditedDeposit>,
    /// Withdrawals requested.
    pub withdrawals: Vec<WithdrawalAsk>,
    /// Random transfers between the simulated accounts.
    pub transfers: usize,
}

/// One produced batch.
#[derive(Debug, Clone)]
pub struct Produced {
    /// The envelope's bytes, certified by every validator.
    pub bytes: Vec<u8>,
    /// The state it certifies.
    pub state: BatchState,
    /// Its digest.
    pub digest: B256,
}

/// The simulated network.
#[derive(Debug)]
pub struct Network {
    chain_id: u64,
    validators: Vec<SigningKey>,
    accounts: Vec<B256>,
    balances: BTreeMap<B256, U256>,
    reserve_wad: U256,
    epoch: u64,
    last_digest: B256,
    next_claim_id: u64,
    rng: SplitMix64,
}

impl Network {
    /// A network of `validators` validators and `accounts` funded-by-deposit accounts, all keys derived from `seed`.
    pub fn new(chain_id: u64, seed: u64, validators: usize, accounts: usize) -> Self {
        let key = |tag: &str, i: usize| {
            SigningKey::from_bytes(
                &keccak256([&seed.to_be_bytes()[..], tag.as_bytes(), &(i as u64).to_be_bytes()].concat()).0,
            )
        };
        Self {
            chain_id,
            validators: (0..validators).map(|i| key("validator", i)).collect(),
            accounts: (0..accounts).map(|i| B256::from(key("account", i).verifying_key().to_bytes())).collect(),
            balances: BTreeMap::new(),
            reserve_wad: U256::ZERO,
            epoch: 0,
            last_digest: B256::ZERO,
            next_claim_id: 1,
            rng: SplitMix64(seed),
        }
    }

    /// The validators' public keys (the set the relayer is configured with).
    pub fn validator_keys(&self) -> Vec<[u8; 32]> {
        self.validators.iter().map(|k| k.verifying_key().to_bytes()).collect()
    }

    /// The simulated accounts' keys.
    pub fn accounts(&self) -> &[B256] {
        &self.accounts
    }

    /// The balance of `account` (MYCO units).
    pub fn balance(&self, account: &B256) -> U256 {
        self.balances.get(account).copied().unwrap_or_default()
    }

    /// Produces and certifies the next epoch's batch.
    pub fn next_batch(&mut self, inputs: &EpochInputs) -> Produced {
        self.epoch += 1;
        let par = U256::from(MYCO_PER_USDC_UNIT);
        for d in &inputs.deposits {
            *self.balances.entry(d.account).or_default() += d.amount * par;
            self.reserve_wad += d.amount * par;
        }
        self.transfer_randomly(inputs.transfers);

        let mut withdrawals = Vec::new();
        let mut withdrawn = U256::ZERO;
        for ask in &inputs.withdrawals {
            let balance = self.balances.entry(ask.account).or_default();
            if *balance < ask.amount || ask.amount.is_zero() {
                tracing::warn!(account = %ask.account, "simulator: withdrawal exceeds balance, not certified");
                continue;
            }
            *balance -= ask.amount;
            withdrawn += ask.amount;
            withdrawals.push(WithdrawalRequest {
                claim_id: U256::from(self.next_claim_id),
                account: ask.account,
                amount: ask.amount,
                recipient: ask.recipient,
            });
            self.next_claim_id += 1;
        }
        self.reserve_wad = self.reserve_wad.saturating_sub(withdrawn);

        let total_supply: U256 = self.balances.values().copied().sum();
        let flow_pressure = if total_supply.is_zero() {
            U256::ZERO
        } else {
            withdrawn * U256::from(crate::settle::WAD) / (total_supply + withdrawn)
        };
        let state = BatchState {
            epoch: self.epoch,
            parent: self.last_digest,
            timestamp: inputs.timestamp,
            balances: self.balances.clone(),
            deposits: inputs.deposits.clone(),
            withdrawals,
            reserve: ReserveState { total_supply, total_reserve: self.reserve_wad, flow_pressure },
        };
        let mut envelope = Envelope {
            chain_id: self.chain_id,
            epoch: self.epoch,
            parent: self.last_digest,
            document: state.to_automerge(),
            signatures: Vec::new(),
        };
        let digest = envelope.digest();
        envelope.signatures = self.validators.iter().map(|k| sign(k, &digest)).collect();
        self.last_digest = digest;
        Produced { bytes: envelope.encode(), state, digest }
    }

    fn transfer_randomly(&mut self, count: usize) {
        let funded: Vec<B256> = self.balances.iter().filter(|(_, b)| !b.is_zero()).map(|(a, _)| *a).collect();
        if funded.is_empty() || self.accounts.len() < 2 {
            return;
        }
        for _ in 0..count {
            let from = funded[self.rng.below(funded.len())];
            let to = self.accounts[self.rng.below(self.accounts.len())];
            let balance = self.balance(&from);
            let amount = balance / U256::from(2 + self.rng.below(8));
            if from == to || amount.is_zero() {
                continue;
            }
            *self.balances.entry(from).or_default() -= amount;
            *self.balances.entry(to).or_default() += amount;
        }
    }
}

/// A small deterministic generator (SplitMix64), so a seed reproduces a run exactly.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{ValidatorSet, Verifier};

    #[test]
    fn produces_a_verifiable_chain_that_conserves_value() {
        let mut net = Network::new(31337, 7, 4, 5);
        let mut verifier = Verifier::new(31337, ValidatorSet::new(net.validator_keys()).unwrap(), None);
        let a = net.accounts()[0];
        let deposit = CreditedDeposit { deposit_id: 1, account: a, amount: U256::from(1_000_000_000u64) };
        let inputs = [
            EpochInputs { timestamp: 10, deposits: vec![deposit], transfers: 0, ..Default::default() },
            EpochInputs { timestamp: 20, transfers: 20, ..Default::default() },
        ];
        for input in &inputs {
            let p = net.next_batch(input);
            let batch = verifier.verify(&p.bytes).unwrap();
            assert_eq!(batch.state, p.state);
            assert_eq!(batch.state.reserve.total_supply, U256::from(1_000_000_000u64) * U256::from(MYCO_PER_USDC_UNIT));
            verifier.accept(&batch);
        }
    }

    #[test]
    fn same_seed_same_batches() {
        let run = || {
            let mut net = Network::new(1, 42, 4, 3);
            let a = net.accounts()[0];
            let d = CreditedDeposit { deposit_id: 1, account: a, amount: U256::from(5u64) };
            net.next_batch(&EpochInputs { deposits: vec![d], transfers: 5, ..Default::default() }).bytes
        };
        assert_eq!(run(), run());
    }
}
