//! A version 2 network (docs/batch-format.md): the simulated validators keep the ledger the relayer audits.
//! MYCO appears only by labor mints signed by the devnet's labor attester and by applied curve purchases; USDC
//! by escrow deposits and applied sales; the reserve moves by deposits, paid claims and certified revaluations,
//! over the vaults exactly as `settle::conservation::next_vaults` splits them. A maker whose intents are in an
//! unapplied epoch takes no other part until that epoch's settlement is applied, so the amounts it offered are
//! still there to debit.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{B256, U256};

use super::{EpochInputs, MYCO_PER_USDC_UNIT, Network, VAULTS};
use crate::ingest::BatchState;
use crate::ingest::document::{AppliedSettlement, LedgerFlows, Revaluation, Vault};
use crate::ingest::intent::Token;
use crate::ingest::mint::Mint;
use crate::settle::conservation::{self, ExecutedLeg};
use crate::settle::{WAD, cow, tranche};

/// Labor mints the network makes on its own each epoch, to random active accounts, at most this many MYCO each.
const RANDOM_MINT_MYCO: u64 = 50;

/// Version 2's bookkeeping.
#[derive(Debug, Clone, Default)]
pub(super) struct Books {
    /// The reserve's on-chain part: deposits credited less claims quoted (WAD USD).
    onchain_usd: U256,
    /// The vaults as the last batch certified them (empty before the first batch).
    vaults: Vec<Vault>,
    /// Each epoch with intents whose settlement is not applied yet: its state (to compute the settlement from).
    unapplied: BTreeMap<u64, BatchState>,
}

impl Books {
    /// The books after `history` (batches in epoch order, the last one version 2).
    pub(super) fn resume(history: &[(B256, BatchState)]) -> Self {
        let Some((_, last)) = history.last() else { return Self::default() };
        let applied: BTreeSet<u64> = history
            .iter()
            .flat_map(|(_, s)| s.ledger.iter().flat_map(|l| l.settlements.iter().map(|a| a.epoch)))
            .collect();
        let unapplied = history
            .iter()
            .filter(|(_, s)| s.ledger.is_some() && !s.intents.is_empty() && !applied.contains(&s.epoch))
            .map(|(_, s)| (s.epoch, s.clone()))
            .collect();
        Self {
            onchain_usd: last.ledger.as_ref().map(|l| l.onchain_reserve).unwrap_or_default(),
            vaults: last.reserve.vaults.clone(),
            unapplied,
        }
    }

    /// Makers whose intents wait for their epoch's settlement.
    pub(super) fn busy(&self) -> BTreeSet<B256> {
        self.unapplied.values().flat_map(|s| s.intents.iter().map(|i| i.maker)).collect()
    }
}

impl Network {
    /// Epoch `epoch`'s settlement as validators compute it from their own batch: its auction at the curve's
    /// `spot` after the previous epoch, and what the chain's `EpochSettled` says each leg put in and got. `None`
    /// when the epoch listed no intents (nothing to apply).
    pub fn settlement_of(
        &self,
        epoch: u64,
        spot: U256,
        sell: Option<ExecutedLeg>,
        buy: Option<ExecutedLeg>,
    ) -> Option<AppliedSettlement> {
        let state = self.ledger.as_ref()?.unapplied.get(&epoch)?;
        let auction = cow::auction(&state.intents, &state.balances, state.timestamp, spot)
            .expect("the auction of a batch the network certified computes");
        let fills = conservation::expected_fills(&auction, sell, buy).expect("executed legs are the auction's orders");
        Some(AppliedSettlement { epoch, fills })
    }

    /// Epochs whose settlement the network has not applied yet.
    pub fn unapplied_epochs(&self) -> Vec<u64> {
        self.ledger.as_ref().map(|b| b.unapplied.keys().copied().collect()).unwrap_or_default()
    }

    pub(super) fn next_ledger_state(&mut self, inputs: &EpochInputs) -> BatchState {
        self.epoch += 1;
        let mut books = self.ledger.take().expect("a version 2 network");
        if books.vaults.is_empty() {
            books.vaults = VAULTS
                .iter()
                .map(|(id, pct)| Vault {
                    id: (*id).to_string(),
                    value: U256::ZERO,
                    target_weight: U256::from(WAD / 100) * U256::from(*pct),
                })
                .collect();
        }
        let paid_usd = self.pay_previous_claims();
        books.onchain_usd = books.onchain_usd.saturating_sub(paid_usd);
        let settlements = self.apply_settlements(&mut books, &inputs.settlements);
        let mut deposited_usd = U256::ZERO;
        for d in &inputs.deposits {
            self.credit(Token::Usdc, d.account, d.amount);
            deposited_usd += d.amount * U256::from(MYCO_PER_USDC_UNIT);
        }
        books.onchain_usd += deposited_usd;
        // What reissued claims return goes back as a deposit does (the USDC never left the escrow).
        let returned: U256 = inputs.reissues.iter().map(super::Reissue::returned_usd).sum();
        books.onchain_usd += returned;
        let deposited_usd = deposited_usd + returned;
        let mints = self.labor_mints(&inputs.mints, &books.busy());
        let (vaults, revaluations) = next_vaults(&books.vaults, paid_usd, deposited_usd, inputs);
        self.reserve_wad = vaults.iter().map(|v| v.value).sum();
        books.onchain_usd = books.onchain_usd.min(self.reserve_wad);
        books.vaults = vaults.clone();

        // The random activity sees which makers are busy.
        self.ledger = Some(books);
        self.transfer_randomly(inputs.transfers);
        let withdrawals = self.withdraw(inputs);
        let intents = self.random_intents(inputs.intents, inputs.timestamp);
        let mut books = self.ledger.take().expect("put back above");

        let mut state = self.state(inputs, intents, withdrawals, vaults);
        state.ledger = Some(LedgerFlows { mints, revaluations, settlements, onchain_reserve: books.onchain_usd });
        if !state.intents.is_empty() {
            books.unapplied.insert(state.epoch, state.clone());
        }
        self.ledger = Some(books);
        state
    }

    /// Applies each settlement once: its makers are debited what they sold and credited what they bought.
    fn apply_settlements(&mut self, books: &mut Books, settlements: &[AppliedSettlement]) -> Vec<AppliedSettlement> {
        let mut applied = Vec::new();
        for s in settlements {
            if books.unapplied.remove(&s.epoch).is_none() {
                // Applied already, or the epoch listed no intents: honest validators apply a settlement once.
                if !s.fills.is_empty() {
                    tracing::warn!(epoch = s.epoch, "simulator: settlement already applied; not applying it again");
                }
                continue;
            }
            for f in &s.fills {
                let buy_token = if f.sell_token == Token::Myco { Token::Usdc } else { Token::Myco };
                self.debit(f.sell_token, f.maker, f.sold);
                self.credit(buy_token, f.maker, f.bought);
            }
            applied.push(s.clone());
        }
        applied
    }

    /// The asked mints and random ones to idle active accounts, signed by the devnet's labor attester and
    /// credited; one per contributor (the default cooldown).
    fn labor_mints(&mut self, asked: &[(B256, U256)], busy: &BTreeSet<B256>) -> Vec<Mint> {
        let mut random: Vec<(B256, U256)> = Vec::new();
        for account in self.active().into_iter().filter(|a| !busy.contains(a)) {
            if self.rng.below(4) == 0 {
                let myco = 1 + self.rng.below(RANDOM_MINT_MYCO as usize) as u64;
                random.push((account, U256::from(myco) * U256::from(WAD)));
            }
        }
        let labor = crate::devnet::labor_attester();
        let mut minted = BTreeSet::new();
        let mut mints = Vec::new();
        for (contributor, amount) in asked.iter().chain(&random) {
            if amount.is_zero() || !minted.insert(*contributor) {
                continue;
            }
            let mut mint = Mint {
                contributor: *contributor,
                kind: "simulated-labor".into(),
                units: 1,
                amount: *amount,
                attester: B256::ZERO,
                signature: [0; 64],
            };
            mint.sign(self.chain_id, self.epoch, &labor);
            self.credit(Token::Myco, *contributor, *amount);
            mints.push(mint);
        }
        mints
    }
}

/// The vaults after the previous claims are paid, the epoch's revaluations (the asked write-down of every vault by
/// the same fraction, and any others asked) and its deposits, split as `settle::conservation::next_vaults` does.
fn next_vaults(
    vaults: &[Vault],
    paid_usd: U256,
    deposited_usd: U256,
    inputs: &EpochInputs,
) -> (Vec<Vault>, Vec<Revaluation>) {
    let band = tranche::DEFAULT_BAND;
    let drawn = conservation::next_vaults(vaults, paid_usd, &[], U256::ZERO, band)
        .unwrap_or_else(|_| spread(vaults, paid_usd, &[], U256::ZERO));
    let bps = U256::from(inputs.reserve_loss_bps.min(10_000));
    let mut revaluations: Vec<Revaluation> = vaults
        .iter()
        .zip(&drawn)
        .map(|(v, value)| (v, *value * bps / U256::from(10_000)))
        .filter(|(_, loss)| !loss.is_zero())
        .map(|(v, loss)| Revaluation {
            vault: v.id.clone(),
            loss: true,
            amount: loss,
            reason: format!("written down {} bps", inputs.reserve_loss_bps),
        })
        .collect();
    revaluations.extend(inputs.revaluations.iter().cloned());
    let values = conservation::next_vaults(vaults, paid_usd, &revaluations, deposited_usd, band).unwrap_or_else(
        |(rule, why)| {
            // Honest validators would stop here; the simulator certifies what a faulty quorum would (each flow
            // spread by value) so tests can see the relayer refuse it.
            tracing::warn!(rule = rule.code(), %why, "simulator: the reserve leaves its bands; certifying anyway");
            spread(vaults, paid_usd, &revaluations, deposited_usd)
        },
    );
    let vaults = vaults.iter().zip(values).map(|(v, value)| Vault { value, ..v.clone() }).collect();
    (vaults, revaluations)
}

/// The vault values after paying `paid` pro rata to value (the rounding remainder from the largest vault), the
/// revaluations, and deposits pro rata to target weight (the remainder to the first vault): what a quorum that
/// ignores the bands certifies.
fn spread(vaults: &[Vault], paid: U256, revaluations: &[Revaluation], deposited: U256) -> Vec<U256> {
    let total: U256 = vaults.iter().map(|v| v.value).sum();
    let paid = paid.min(total);
    let mut values: Vec<U256> =
        vaults.iter().map(|v| if total.is_zero() { v.value } else { v.value - v.value * paid / total }).collect();
    let short = values.iter().copied().sum::<U256>() - (total - paid);
    if let Some(largest) = values.iter_mut().max() {
        *largest -= short;
    }
    for r in revaluations {
        if let Some(i) = vaults.iter().position(|v| v.id == r.vault) {
            values[i] = if r.loss { values[i].saturating_sub(r.amount) } else { values[i] + r.amount };
        }
    }
    let given: Vec<U256> = vaults.iter().map(|v| deposited * v.target_weight / U256::from(WAD)).collect();
    for (v, g) in values.iter_mut().zip(&given) {
        *v += *g;
    }
    if let Some(first) = values.first_mut() {
        *first += deposited - given.iter().copied().sum::<U256>();
    }
    values
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use alloy::primitives::{Address, U256};
    use proptest::prelude::*;

    use super::super::{EpochInputs, Network, WithdrawalAsk};
    use crate::ingest::document::CreditedDeposit;
    use crate::ingest::intent::Token;
    use crate::ingest::{ValidatorSet, Verifier};
    use crate::settle::conservation::{self, Context, Settlement};
    use crate::settle::{EpochSettlement, WAD, fixed::ONE, pamm};

    /// Runs a version 2 network for `epochs` epochs with random activity, applying each epoch's peer-to-peer
    /// settlement one epoch later, and audits every batch as the relayer does (without a chain: no curve legs,
    /// no escrow holdings). Returns how many fills were applied.
    fn audited_run(seed: u64, epochs: u64) -> usize {
        audited_epochs(seed, epochs).0
    }

    /// [`audited_run`], also returning each epoch's batch with the context it was audited in.
    fn audited_epochs(seed: u64, epochs: u64) -> (usize, Vec<(crate::ingest::BatchState, Context)>) {
        let mut audited = Vec::new();
        let mut net = Network::new(31337, seed, 4, 6).with_ledger();
        let mut verifier = Verifier::new(31337, ValidatorSet::new(net.validator_keys()).unwrap(), None);
        let policy = crate::devnet::conservation_policy();
        let accounts = net.accounts();
        let mut previous = None;
        let mut settlements: BTreeMap<u64, Settlement> = BTreeMap::new();
        let mut closed = BTreeMap::new();
        let mut applied_fills = 0;
        for epoch in 1..=epochs {
            let apply: Vec<_> =
                net.unapplied_epochs().into_iter().filter_map(|e| net.settlement_of(e, ONE, None, None)).collect();
            let withdrawer = accounts[(epoch as usize) % accounts.len()];
            let withdrawals = (net.balance(Token::Myco, &withdrawer) > U256::from(2 * WAD))
                .then(|| WithdrawalAsk {
                    account: withdrawer,
                    amount: U256::from(WAD),
                    recipient: Address::repeat_byte(7),
                })
                .into_iter()
                .collect();
            let inputs = EpochInputs {
                timestamp: 1_000 * epoch,
                deposits: vec![CreditedDeposit {
                    deposit_id: epoch,
                    account: accounts[(epoch as usize * 7) % accounts.len()],
                    amount: U256::from(1_000_000_000u64),
                }],
                mints: vec![(accounts[0], U256::from(10 * WAD))],
                withdrawals,
                transfers: 8,
                intents: 12,
                reserve_loss_bps: if epoch % 10 == 0 { 50 } else { 0 },
                settlements: apply,
                ..Default::default()
            };
            let produced = net.next_batch(&inputs);
            let batch = verifier.verify(&produced.bytes).expect("the network certifies valid batches");
            verifier.accept(&batch);
            let state = batch.state;
            let previous_paid_usd = previous.as_ref().map_or(U256::ZERO, |p| {
                let s = EpochSettlement::compute(p, &pamm::Params::default(), Default::default());
                s.claims.iter().map(|c| c.usdc_payout(&s.figures, &pamm::Params::default()).unwrap()).sum::<U256>()
                    * conservation::WAD_PER_USDC_UNIT
            });
            let context = Context {
                chain_id: 31337,
                previous: previous.clone().map(std::sync::Arc::new),
                previous_paid_usd,
                settlements: settlements.clone(),
                closed_intents: closed.clone(),
                ..Default::default()
            };
            audited.push((state.clone(), context.clone()));
            let terms = conservation::audit(&state, &context, &policy)
                .unwrap_or_else(|v| panic!("seed {seed}: the simulated ledger breaks conservation: {v}"));
            for e in &terms.applied {
                if let Some(Settlement::Pending(fills)) = settlements.insert(*e, Settlement::Applied(epoch)) {
                    applied_fills += fills.len();
                    closed.extend(fills.iter().map(|f| ((f.maker, f.intent), *e)));
                }
            }
            if let Some(s) = net.settlement_of(epoch, ONE, None, None) {
                settlements.insert(epoch, Settlement::Pending(s.fills));
            }
            previous = Some(state);
        }
        (applied_fills, audited)
    }

    /// Every list of `state` in a random order (what concurrent CRDT inserts may give), written to Automerge and
    /// read back.
    fn shuffled(state: &crate::ingest::BatchState, rng: &mut crate::rng::SplitMix64) -> crate::ingest::BatchState {
        fn shuffle<T>(v: &mut [T], rng: &mut crate::rng::SplitMix64) {
            for i in (1..v.len()).rev() {
                v.swap(i, rng.below(i + 1));
            }
        }
        let mut s = state.clone();
        shuffle(&mut s.intents, rng);
        shuffle(&mut s.deposits, rng);
        shuffle(&mut s.withdrawals, rng);
        let ledger = s.ledger.as_mut().expect("version 2");
        shuffle(&mut ledger.mints, rng);
        shuffle(&mut ledger.revaluations, rng);
        shuffle(&mut ledger.settlements, rng);
        for applied in &mut ledger.settlements {
            shuffle(&mut applied.fills, rng);
        }
        crate::ingest::BatchState::from_automerge(&s.to_automerge()).expect("a shuffled document reads back")
    }

    #[test]
    fn a_long_simulated_run_balances_every_epoch_and_applies_fills() {
        assert!(audited_run(7, 60) > 0, "some intents matched peer to peer and were applied");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
        /// Netting then applying is conservative: whatever the random batches, every epoch balances.
        #[test]
        fn netting_then_applying_is_conservative_for_random_batches(seed in any::<u64>()) {
            audited_run(seed, 12);
        }

        /// The audit's terms do not depend on the order the document lists anything in.
        #[test]
        fn the_ledger_equation_holds_under_shuffled_document_order(seed in any::<u64>()) {
            let policy = crate::devnet::conservation_policy();
            let mut rng = crate::rng::SplitMix64(seed);
            let (_, audited) = audited_epochs(seed, 10);
            for (state, context) in audited.iter().skip(1) {
                let terms = conservation::audit(state, context, &policy).expect("balanced as produced");
                prop_assert_eq!(conservation::audit(&shuffled(state, &mut rng), context, &policy), Ok(terms));
            }
        }
    }
}
