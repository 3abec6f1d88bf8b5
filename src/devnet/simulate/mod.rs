//! A simulated validator network: `n` validators with deterministic keys certify one batch per epoch.
//!
//! The economy is small but coherent: escrow deposits credit USDC balances; accounts mint MYCO at par from
//! USDC (the reserve grows by what they pay); they transfer MYCO to each other; they post signed intents on both
//! sides of the MYCO/USDC market; withdrawal requests redeem MYCO and shrink the reserve; the reserve is spread
//! over vaults by target weight. Every figure the relayer checks adds up.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256, keccak256};
use ed25519_dalek::SigningKey;

use crate::ingest::certificate::sign;
use crate::ingest::document::{CreditedDeposit, FlowTracker, ReserveState, WithdrawalRequest};
use crate::ingest::intent::Token;
use crate::ingest::{BatchState, Envelope};
use crate::rng::SplitMix64;
use crate::settle::WAD;

mod activity;
mod ledger;
mod load;
mod reserve;

pub use load::{LARGEST, SizeError, Sizes};

use reserve::{Redeemed, redeemed};

/// MYCO units per USDC unit at par (18 − 6 decimals).
const MYCO_PER_USDC_UNIT: u64 = 1_000_000_000_000;
/// How long a simulated intent stays valid.
const INTENT_LIFETIME_SECS: u64 = 3_600;
/// Reserve vaults and their target weights (in percent).
const VAULTS: [(&str, u64); 3] = [("t-bills", 50), ("bank-deposits", 30), ("usdc-onchain", 20)];

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

/// What happens in one epoch besides the network's own random activity.
#[derive(Debug, Clone, Default)]
pub struct EpochInputs {
    /// The batch timestamp.
    pub timestamp: u64,
    /// Escrow deposits seen on chain, to credit.
    pub deposits: Vec<CreditedDeposit>,
    /// Accounts converting their whole USDC balance into MYCO at par this epoch (after deposits are credited).
    pub convert: Vec<B256>,
    /// Withdrawals requested (MYCO is minted from the account's USDC first where it holds too little).
    pub withdrawals: Vec<WithdrawalAsk>,
    /// Random MYCO transfers between accounts.
    pub transfers: usize,
    /// Random signed intents, on both sides of the market.
    pub intents: usize,
    /// A loss of reserve value this epoch, in basis points of the reserve (a vault written down): enough of it
    /// takes the reserve below par and the P-AMM below a rate of 1. In a version 2 network each vault is written
    /// down by this much, as certified revaluations.
    pub reserve_loss_bps: u64,
    /// Version 2: labor-attested mints this epoch (contributor, MYCO), signed by the devnet's labor attester.
    pub mints: Vec<(B256, U256)>,
    /// Version 2: earlier epochs' executed settlements to apply (from [`Network::settlement_of`] and the chain);
    /// one with no fills says the epoch executed with nothing to apply, which frees its makers.
    pub settlements: Vec<crate::ingest::document::AppliedSettlement>,
    /// Version 2: certified revaluations besides the write-down (after the previous claims are paid).
    pub revaluations: Vec<crate::ingest::document::Revaluation>,
    /// Version 1: an epoch of exactly this size (checked by [`Sizes::check`]) instead of the random economy; the
    /// lists above other than the timestamp are not used.
    pub exact: Option<Sizes>,
    /// Claims of a cancelled commitment reissued under their own ids: nothing is debited again, and what each was
    /// priced at in its cancelled epoch returns to the reserve (its next batch took it out as paid).
    pub reissues: Vec<Reissue>,
}

/// A claim the validators reissue in a later epoch after the guardian cancelled the commitment that held it.
#[derive(Debug, Clone)]
pub struct Reissue {
    /// The request as first certified, with `reissues` naming the epoch that holds the claim now.
    pub request: WithdrawalRequest,
    /// What the escrow would have paid for it from that epoch (USDC units).
    pub priced_usdc: U256,
}

impl Reissue {
    /// What returns to the reserve, in WAD USD.
    fn returned_usd(&self) -> U256 {
        self.priced_usdc * U256::from(MYCO_PER_USDC_UNIT)
    }
}

/// One produced batch.
#[derive(Debug, Clone)]
pub struct Produced {
    /// The envelope's bytes, certified by every validator.
    pub bytes: Vec<u8>,
    /// The envelope itself (for tests that tamper with it).
    pub envelope: Envelope,
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
    accounts: Vec<SigningKey>,
    balances: BTreeMap<Token, BTreeMap<B256, U256>>,
    flows: BTreeMap<B256, FlowTracker>,
    /// Accounts the caller drives itself: no random transfers, mints or intents touch them.
    passive: std::collections::BTreeSet<B256>,
    reserve_wad: U256,
    redemption_level: U256,
    redemption_updated: u64,
    /// The last batch's claims as they are paid on chain: MYCO redeemed, USD (WAD) paid out, and the time;
    /// applied when the next batch is made.
    pending: Option<Redeemed>,
    epoch: u64,
    last_digest: B256,
    /// The last batch's timestamp.
    last_timestamp: u64,
    next_claim_id: u64,
    rng: SplitMix64,
    /// Version 2's bookkeeping, when the network writes version 2 batches.
    ledger: Option<ledger::Books>,
    /// The accounts of exact-size epochs.
    holders: load::Holders,
}

impl Network {
    /// A network of `validators` validators and `accounts` accounts, every key derived from `seed`.
    pub fn new(chain_id: u64, seed: u64, validators: usize, accounts: usize) -> Self {
        let key = |tag: &str, i: usize| {
            let material = [&seed.to_be_bytes()[..], tag.as_bytes(), &(i as u64).to_be_bytes()].concat();
            SigningKey::from_bytes(&keccak256(material).0)
        };
        Self {
            chain_id,
            validators: (0..validators).map(|i| key("validator", i)).collect(),
            accounts: (0..accounts).map(|i| key("account", i)).collect(),
            balances: BTreeMap::new(),
            flows: BTreeMap::new(),
            passive: Default::default(),
            reserve_wad: U256::ZERO,
            redemption_level: U256::ZERO,
            redemption_updated: 0,
            pending: None,
            epoch: 0,
            last_digest: B256::ZERO,
            last_timestamp: 0,
            next_claim_id: 1,
            rng: SplitMix64(seed),
            ledger: None,
            holders: load::Holders::new(seed),
        }
    }

    /// The same network writing version 2 batches (docs/batch-format.md): supply changes only by labor mints,
    /// applied settlements and withdrawals; the reserve only by deposits, paid claims and revaluations.
    pub fn with_ledger(mut self) -> Self {
        self.ledger = Some(ledger::Books::default());
        self
    }

    /// The same network continuing after `history`, its batches so far in epoch order (as a folder holds them):
    /// balances, flow trackers, the reserve and the redemption level come from the last batch, claim ids continue
    /// after the highest ever certified, and the next batch links to the last one's digest. The random activity
    /// continues from a generator seeded with the seed and the epoch, so a resumed run is deterministic too.
    pub fn resume(
        chain_id: u64,
        seed: u64,
        validators: usize,
        accounts: usize,
        history: &[(B256, BatchState)],
    ) -> Self {
        let mut network = Self::new(chain_id, seed, validators, accounts);
        let Some((digest, last)) = history.last() else { return network };
        network.balances = last.balances.clone();
        network.flows = last.flows.clone();
        network.reserve_wad = last.reserve.total_reserve;
        network.redemption_level = last.reserve.redemption_level;
        network.redemption_updated = last.reserve.redemption_updated;
        network.pending = redeemed(last);
        network.epoch = last.epoch;
        network.last_digest = *digest;
        network.last_timestamp = last.timestamp;
        let highest = history.iter().flat_map(|(_, s)| s.withdrawals.iter().map(|w| w.claim_id)).max();
        network.next_claim_id = highest.map_or(1, |id| id.saturating_to::<u64>().saturating_add(1));
        let deposited = history.iter().flat_map(|(_, s)| s.deposits.iter().map(|d| d.deposit_id)).max();
        network.holders.next_deposit_id = deposited.map_or(1, |id| id.saturating_add(1));
        network.rng = SplitMix64(seed ^ last.epoch.rotate_left(32));
        if last.ledger.is_some() {
            network.ledger = Some(ledger::Books::resume(history));
        }
        network
    }

    /// The validators' public keys (the set the relayer is configured with).
    pub fn validator_keys(&self) -> Vec<[u8; 32]> {
        self.validators.iter().map(|k| k.verifying_key().to_bytes()).collect()
    }

    /// The validators' signing keys (for tests that forge or tamper with certificates).
    pub fn validator_signing_keys(&self) -> &[SigningKey] {
        &self.validators
    }

    /// The chain id batches are certified for.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The epoch of the last produced batch (0 before the first).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The simulated accounts' public keys.
    pub fn accounts(&self) -> Vec<B256> {
        self.accounts.iter().map(account_of).collect()
    }

    /// Keeps `account` out of the network's random activity, so its balances change only by the caller's inputs.
    pub fn keep_passive(&mut self, account: B256) {
        self.passive.insert(account);
    }

    /// Accounts open to random activity.
    /// In a version 2 network, makers waiting for their intents' settlement are not active either.
    fn active(&self) -> Vec<B256> {
        let busy = self.ledger.as_ref().map(ledger::Books::busy).unwrap_or_default();
        self.accounts().into_iter().filter(|a| !self.passive.contains(a) && !busy.contains(a)).collect()
    }

    /// The balance of `account` in `token`.
    pub fn balance(&self, token: Token, account: &B256) -> U256 {
        self.balances.get(&token).and_then(|b| b.get(account)).copied().unwrap_or_default()
    }

    /// Produces and certifies the next epoch's batch. Batch times strictly increase, as `StateCommitment` takes
    /// them: an `inputs.timestamp` not after the previous batch's is moved to one second after it.
    pub fn next_batch(&mut self, inputs: &EpochInputs) -> Produced {
        let inputs = &EpochInputs { timestamp: inputs.timestamp.max(self.last_timestamp + 1), ..inputs.clone() };
        self.last_timestamp = inputs.timestamp;
        let state = self.next_state(inputs);
        self.pending = redeemed(&state);
        self.certify(state)
    }

    /// Certifies `state` as the next batch, whatever it says (a faulty quorum, for tests of what the relayer
    /// refuses); the next batch links to it, while the network's own books stay as they were.
    pub fn certify(&mut self, state: BatchState) -> Produced {
        let mut envelope = Envelope {
            chain_id: self.chain_id,
            epoch: state.epoch,
            parent: state.parent,
            document: state.to_automerge(),
            signatures: Vec::new(),
        };
        let digest = envelope.digest();
        envelope.signatures = self.validators.iter().map(|k| sign(k, &digest)).collect();
        self.last_digest = digest;
        Produced { bytes: envelope.encode(), envelope, state, digest }
    }

    /// Advances the economy by one epoch and returns the state to certify.
    fn next_state(&mut self, inputs: &EpochInputs) -> BatchState {
        if self.ledger.is_some() {
            return self.next_ledger_state(inputs);
        }
        if let Some(sizes) = inputs.exact {
            return self.next_exact_state(inputs, sizes);
        }
        self.epoch += 1;
        let paid_usd = self.pay_previous_claims();
        self.reserve_wad = self.reserve_wad.saturating_sub(paid_usd);
        self.reserve_wad += inputs.reissues.iter().map(Reissue::returned_usd).sum::<U256>();
        for d in &inputs.deposits {
            self.credit(Token::Usdc, d.account, d.amount);
        }
        for account in &inputs.convert {
            let usdc = self.balance(Token::Usdc, account);
            if !usdc.is_zero() {
                self.mint(*account, usdc);
            }
        }
        let loss = self.reserve_wad * U256::from(inputs.reserve_loss_bps.min(10_000)) / U256::from(10_000);
        self.reserve_wad -= loss;
        self.mint_randomly();
        self.transfer_randomly(inputs.transfers);
        let withdrawals = self.withdraw(inputs);
        let intents = self.random_intents(inputs.intents, inputs.timestamp);

        self.state(inputs, intents, withdrawals, self.vaults())
    }

    /// The previous batch's claims, as the escrow pays them: the redemption level rises by what they redeem;
    /// returns the USD (WAD) they take from the reserve.
    fn pay_previous_claims(&mut self) -> U256 {
        let Some(Redeemed { myco: redeemed, paid_usd, at }) = self.pending.take() else { return U256::ZERO };
        // Only new redemptions move the level (reissued claims raised it when first requested); every claim's
        // payout leaves the reserve.
        if !redeemed.is_zero() {
            let elapsed = at.saturating_sub(self.redemption_updated);
            let decay = crate::settle::pamm::Params::default().decay;
            let decayed =
                crate::settle::pamm::decay(self.redemption_level, decay, elapsed).unwrap_or(self.redemption_level);
            self.redemption_level = decayed + redeemed;
            self.redemption_updated = at;
        }
        paid_usd
    }

    /// The state to certify, from the network's books and this epoch's lists.
    fn state(
        &self,
        inputs: &EpochInputs,
        intents: Vec<crate::ingest::intent::Intent>,
        withdrawals: Vec<crate::ingest::document::WithdrawalRequest>,
        vaults: Vec<crate::ingest::document::Vault>,
    ) -> BatchState {
        let total_supply = self.total(Token::Myco);
        let withdrawn: U256 = withdrawals.iter().map(|w| w.amount).sum();
        let flow_pressure = match total_supply + withdrawn {
            z if z.is_zero() => U256::ZERO,
            before => withdrawn * U256::from(WAD) / before,
        };
        BatchState {
            epoch: self.epoch,
            parent: self.last_digest,
            timestamp: inputs.timestamp,
            balances: self.balances.clone(),
            intents,
            flows: self.flows.clone(),
            deposits: inputs.deposits.clone(),
            withdrawals,
            reserve: ReserveState {
                total_supply,
                total_reserve: self.reserve_wad,
                flow_pressure,
                redemption_level: self.redemption_level,
                redemption_updated: self.redemption_updated,
                vaults,
            },
            ledger: None,
        }
    }

    fn credit(&mut self, token: Token, account: B256, amount: U256) {
        *self.balances.entry(token).or_default().entry(account).or_default() += amount;
    }

    /// Debits `amount`; the caller has checked the balance.
    fn debit(&mut self, token: Token, account: B256, amount: U256) {
        let balance = self.balances.entry(token).or_default().entry(account).or_default();
        *balance -= amount;
    }

    fn total(&self, token: Token) -> U256 {
        self.balances.get(&token).map(|b| b.values().copied().sum()).unwrap_or_default()
    }

    /// Mints `usdc` USDC units' worth of MYCO at par for `account`.
    fn mint(&mut self, account: B256, usdc: U256) {
        let par = usdc * U256::from(MYCO_PER_USDC_UNIT);
        self.debit(Token::Usdc, account, usdc);
        self.credit(Token::Myco, account, par);
        self.reserve_wad += par;
    }
}

fn account_of(key: &SigningKey) -> B256 {
    B256::from(key.verifying_key().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{ValidatorSet, Verifier};

    #[test]
    fn produces_a_verifiable_chain_with_a_busy_economy() {
        let mut net = Network::new(31337, 7, 4, 6);
        let mut verifier = Verifier::new(31337, ValidatorSet::new(net.validator_keys()).unwrap(), None);
        let a = net.accounts()[0];
        let deposit = CreditedDeposit { deposit_id: 1, account: a, amount: U256::from(1_000_000_000u64) };
        let ask = WithdrawalAsk { account: a, amount: U256::from(WAD), recipient: Address::repeat_byte(1) };
        let inputs = [
            EpochInputs { timestamp: 10, deposits: vec![deposit], ..Default::default() },
            EpochInputs { timestamp: 20, transfers: 20, intents: 10, withdrawals: vec![ask], ..Default::default() },
            EpochInputs { timestamp: 30, transfers: 20, intents: 10, ..Default::default() },
        ];
        let mut saw_intents = false;
        for input in &inputs {
            let p = net.next_batch(input);
            let batch = verifier.verify(&p.bytes).unwrap();
            assert_eq!(batch.state, p.state);
            saw_intents |= !batch.state.intents.is_empty();
            verifier.accept(&batch);
        }
        assert!(saw_intents);
        // USDC held plus the reserve's value equals what was deposited minus what was withdrawn at par.
        let usdc_wad = net.total(Token::Usdc) * U256::from(MYCO_PER_USDC_UNIT);
        assert_eq!(
            usdc_wad + net.reserve_wad + U256::from(WAD),
            U256::from(1_000_000_000u64) * U256::from(MYCO_PER_USDC_UNIT)
        );
    }

    #[test]
    fn a_resumed_network_continues_the_chain_of_batches() {
        let mut net = Network::new(31337, 7, 4, 6);
        let mut verifier = Verifier::new(31337, ValidatorSet::new(net.validator_keys()).unwrap(), None);
        let a = net.accounts()[0];
        let deposit = CreditedDeposit { deposit_id: 1, account: a, amount: U256::from(1_000_000_000u64) };
        let ask = WithdrawalAsk { account: a, amount: U256::from(WAD), recipient: Address::repeat_byte(1) };
        let mut history = Vec::new();
        for inputs in [
            EpochInputs { timestamp: 10, deposits: vec![deposit], ..Default::default() },
            EpochInputs {
                timestamp: 20,
                transfers: 5,
                intents: 5,
                withdrawals: vec![ask.clone()],
                ..Default::default()
            },
        ] {
            let p = net.next_batch(&inputs);
            verifier.accept(&verifier.verify(&p.bytes).unwrap());
            history.push((p.digest, p.state));
        }
        let mut resumed = Network::resume(31337, 7, 4, 6, &history);
        assert_eq!(resumed.epoch(), 2);
        let next = resumed.next_batch(&EpochInputs { timestamp: 30, withdrawals: vec![ask], ..Default::default() });
        let batch = verifier.verify(&next.bytes).expect("links to the last batch and adds up");
        assert_eq!(batch.state.withdrawals[0].claim_id, U256::from(2), "claim ids continue");
    }

    #[test]
    fn same_seed_same_batches() {
        let run = || {
            let mut net = Network::new(1, 42, 4, 3);
            let a = net.accounts()[0];
            let d = CreditedDeposit { deposit_id: 1, account: a, amount: U256::from(5_000_000u64) };
            net.next_batch(&EpochInputs { deposits: vec![d], transfers: 5, intents: 5, ..Default::default() }).bytes
        };
        assert_eq!(run(), run());
    }
}
