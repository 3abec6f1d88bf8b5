//! Epochs of an exact size, for load tests and benchmarks (`simulate --exact`): every batch holds exactly the
//! balances, signed intents, withdrawal claims and credited deposits asked for, or the request is refused with
//! why before anything is produced.
//!
//! The books are laid out so the counts cannot drift. Of `balances` accounts, the first `ceil(intents / 2)` are
//! makers selling MYCO and the next `floor(intents / 2)` makers buying it with USDC (each holds only the token it
//! sells: one balance apiece); the rest hold MYCO and make the epoch's withdrawals, a window that moves each epoch.
//! Deposits go to MYCO holders and are converted to MYCO at par at once, so they add no USDC balance. An account
//! whose balance ran dry is funded again (minted at par, as version 1 allows). Makers have Ed25519 keys (their
//! intents are signed); the other holders are plain 32-byte ids, since nothing they do needs a signature, which
//! keeps a million-account network quick to start. Version 1 batches only: version 2's supply moves by named
//! flows alone, so it cannot be topped up.

use alloy::primitives::{Address, B256, U256, keccak256};
use ed25519_dalek::SigningKey;

use super::activity::near_par;
use super::{EpochInputs, MYCO_PER_USDC_UNIT, Network, WithdrawalAsk};
use crate::ingest::BatchState;
use crate::ingest::document::CreditedDeposit;
use crate::ingest::intent::{Intent, Token};
use crate::parallel;

/// The size of one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sizes {
    /// Balance entries, MYCO and USDC together.
    pub balances: usize,
    /// Signed intents, half selling MYCO and half buying it.
    pub intents: usize,
    /// Withdrawal claims.
    pub withdrawals: usize,
    /// Credited escrow deposits.
    pub deposits: usize,
}

/// The largest epoch `simulate --exact` makes: twice the sizes the end-to-end benchmark measures, well inside
/// what one batch may carry.
pub const LARGEST: Sizes = Sizes { balances: 2_000_000, intents: 200_000, withdrawals: 200_000, deposits: 20_000 };

/// Why an epoch of the asked size cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// More of something than [`LARGEST`] allows.
    #[error("{asked} {what} is more than an exact epoch holds ({largest})")]
    TooLarge {
        /// What.
        what: &'static str,
        /// How many were asked for.
        asked: usize,
        /// The most allowed.
        largest: usize,
    },
    /// Each maker and each withdrawing account holds a balance of its own.
    #[error(
        "{intents} intents and {withdrawals} withdrawals need {needed} accounts with a balance (one per maker, one \
         per withdrawal), but only {balances} balances were asked for"
    )]
    TooFewBalances {
        /// Intents asked for.
        intents: usize,
        /// Withdrawals asked for.
        withdrawals: usize,
        /// Balances asked for.
        balances: usize,
        /// Balances they need.
        needed: usize,
    },
    /// Deposits are credited to an account holding MYCO.
    #[error("deposits are credited to an account holding MYCO: ask for at least one balance")]
    NoDepositor,
}

impl Sizes {
    /// Whether an epoch of this size can be made.
    pub fn check(&self) -> Result<(), SizeError> {
        for (what, asked, largest) in [
            ("balances", self.balances, LARGEST.balances),
            ("intents", self.intents, LARGEST.intents),
            ("withdrawals", self.withdrawals, LARGEST.withdrawals),
            ("deposits", self.deposits, LARGEST.deposits),
        ] {
            if asked > largest {
                return Err(SizeError::TooLarge { what, asked, largest });
            }
        }
        let needed = self.intents + self.withdrawals;
        if needed > self.balances {
            let (intents, withdrawals, balances) = (self.intents, self.withdrawals, self.balances);
            return Err(SizeError::TooFewBalances { intents, withdrawals, balances, needed });
        }
        // Sellers are never fewer than buyers, so any balance at all includes a MYCO holder.
        if self.deposits > 0 && self.balances == 0 {
            return Err(SizeError::NoDepositor);
        }
        Ok(())
    }

    fn sellers(&self) -> usize {
        self.intents.div_ceil(2)
    }

    /// The token account number `k` holds: buyers hold USDC, everyone else MYCO.
    fn token_of(&self, k: usize) -> Token {
        if (self.sellers()..self.intents).contains(&k) { Token::Usdc } else { Token::Myco }
    }
}

/// The accounts of an exact network: its makers' keys and every holder's id, derived from the seed.
#[derive(Debug)]
pub(super) struct Holders {
    seed: u64,
    /// Makers' keys: sellers first, then buyers.
    makers: Vec<SigningKey>,
    /// Every account's id, makers first.
    ids: Vec<B256>,
    /// The next deposit's id (ids continue across a resumed run).
    pub(super) next_deposit_id: u64,
    /// The sizes the books are laid out for.
    laid_out: Option<Sizes>,
}

impl Holders {
    pub(super) fn new(seed: u64) -> Self {
        Self { seed, makers: Vec::new(), ids: Vec::new(), next_deposit_id: 1, laid_out: None }
    }
}

impl Network {
    /// Advances the economy by one epoch of exactly `sizes` (checked by [`Sizes::check`]).
    pub(super) fn next_exact_state(&mut self, inputs: &EpochInputs, sizes: Sizes) -> BatchState {
        self.epoch += 1;
        let paid_usd = self.pay_previous_claims();
        self.reserve_wad = self.reserve_wad.saturating_sub(paid_usd);
        self.grow_holders(sizes);
        let ids = std::mem::take(&mut self.holders.ids);
        if self.holders.laid_out != Some(sizes) {
            self.lay_out(&ids, sizes);
        }
        for (k, id) in ids.iter().enumerate().take(sizes.balances) {
            let token = sizes.token_of(k);
            if self.balance(token, id).is_zero() {
                self.fund(*id, token, k);
            }
        }
        let deposits = self.exact_deposits(&ids, sizes);
        let window = self.exact_window(sizes);
        let asks: Vec<WithdrawalAsk> = window
            .map(|k| {
                let account = ids[k];
                WithdrawalAsk {
                    account,
                    amount: self.balance(Token::Myco, &account) / U256::from(10),
                    recipient: Address::from_slice(&keccak256(account)[12..]),
                }
            })
            .collect();
        let withdrawals = self.withdraw(&EpochInputs { withdrawals: asks, ..inputs.clone() });
        self.holders.ids = ids;
        let intents = self.exact_intents(sizes, inputs.timestamp);
        // Conversions and withdrawals leave zero entries behind; a batch lists only what is held.
        for balances in self.balances.values_mut() {
            balances.retain(|_, v| !v.is_zero());
        }
        self.state(&EpochInputs { deposits, ..inputs.clone() }, intents, withdrawals, self.vaults())
    }

    /// Keys for the makers and ids for the other holders, derived once (keys on every core: each is a scalar
    /// multiplication).
    fn grow_holders(&mut self, sizes: Sizes) {
        let seed = self.holders.seed;
        if self.holders.makers.len() < sizes.intents {
            let mut keys = vec![SigningKey::from_bytes(&[0; 32]); sizes.intents];
            parallel::fill(&mut keys, 1_024, |k| {
                SigningKey::from_bytes(
                    &keccak256([&seed.to_be_bytes()[..], b"maker", &(k as u64).to_be_bytes()].concat()).0,
                )
            });
            self.holders.makers = keys;
            self.holders.ids.clear();
        }
        let makers = self.holders.makers.len();
        let known = self.holders.ids.len();
        let ids: Vec<B256> = (known..sizes.balances.max(makers))
            .map(|k| {
                if k < makers {
                    B256::from(self.holders.makers[k].verifying_key().to_bytes())
                } else {
                    keccak256([&seed.to_be_bytes()[..], b"holder", &(k as u64).to_be_bytes()].concat())
                }
            })
            .collect();
        self.holders.ids.extend(ids);
    }

    /// Moves the books to the layout of `sizes` (after other sizes, the random economy, or a resumed run): a
    /// balance in the other token than its account's is converted at par, and the balances of accounts past the
    /// layout leave the network, as if redeemed at par off the books.
    fn lay_out(&mut self, ids: &[B256], sizes: Sizes) {
        let designated: std::collections::HashMap<B256, Token> =
            ids.iter().take(sizes.balances).enumerate().map(|(k, id)| (*id, sizes.token_of(k))).collect();
        for token in [Token::Myco, Token::Usdc] {
            let Some(balances) = self.balances.get_mut(&token) else { continue };
            let mut misplaced = Vec::new();
            balances.retain(|account, amount| {
                let keep = designated.get(account) == Some(&token);
                if !keep {
                    misplaced.push((*account, *amount));
                }
                keep
            });
            for (account, amount) in misplaced {
                let par = match token {
                    Token::Myco => amount,
                    Token::Usdc => amount * U256::from(MYCO_PER_USDC_UNIT),
                };
                match designated.get(&account) {
                    // USDC of a MYCO holder is minted at par; MYCO of a buyer redeemed at par.
                    Some(Token::Myco) => {
                        self.credit(Token::Myco, account, par);
                        self.reserve_wad += par;
                    }
                    Some(Token::Usdc) => {
                        self.credit(Token::Usdc, account, amount / U256::from(MYCO_PER_USDC_UNIT));
                        self.reserve_wad = self.reserve_wad.saturating_sub(amount);
                    }
                    None if token == Token::Myco => self.reserve_wad = self.reserve_wad.saturating_sub(amount),
                    None => {}
                }
            }
        }
        self.holders.laid_out = Some(sizes);
    }

    /// Gives account number `k` a balance of `token` again: USDC credited, or MYCO minted at par from it.
    fn fund(&mut self, account: B256, token: Token, k: usize) {
        let usdc = U256::from(1_000_000u64) * U256::from(1_000 + k as u64 % 1_000);
        self.credit(Token::Usdc, account, usdc);
        if token == Token::Myco {
            self.mint(account, usdc);
        }
    }

    /// This epoch's deposits, credited to MYCO holders in turn and converted to MYCO at par at once.
    fn exact_deposits(&mut self, ids: &[B256], sizes: Sizes) -> Vec<CreditedDeposit> {
        // The MYCO holders are the sellers, then everyone after the buyers.
        let (sellers, holders) = (sizes.sellers(), sizes.sellers() + sizes.balances - sizes.intents);
        let first = self.holders.next_deposit_id;
        self.holders.next_deposit_id += sizes.deposits as u64;
        (first..self.holders.next_deposit_id)
            .map(|deposit_id| {
                let j = deposit_id as usize % holders;
                let account = ids[if j < sellers { j } else { sizes.intents + (j - sellers) }];
                let amount = U256::from(1_000_000u64 * (1 + deposit_id % 1_000));
                self.credit(Token::Usdc, account, amount);
                self.mint(account, amount);
                CreditedDeposit { deposit_id, account, amount }
            })
            .collect()
    }

    /// The accounts withdrawing this epoch: a window over the non-makers that moves on each epoch.
    fn exact_window(&self, sizes: Sizes) -> impl Iterator<Item = usize> + use<> {
        let (first, count) = (sizes.intents, sizes.balances - sizes.intents);
        let start = (self.epoch as usize).wrapping_mul(sizes.withdrawals) % count.max(1);
        (0..sizes.withdrawals).map(move |i| first + (start + i) % count)
    }

    /// One signed intent per maker: sellers offer a quarter to a half of their MYCO, buyers of their USDC, with
    /// limits within ±5% of par. Signed on every core.
    fn exact_intents(&mut self, sizes: Sizes, now: u64) -> Vec<Intent> {
        let unsigned: Vec<Intent> = (0..sizes.intents)
            .map(|k| {
                let sells_myco = k < sizes.sellers();
                let maker = self.holders.ids[k];
                let held = self.balance(if sells_myco { Token::Myco } else { Token::Usdc }, &maker);
                let sell_amount = held / U256::from(2 + self.rng.below(3));
                let bps = U256::from(9_500 + self.rng.below(1_001));
                let id = keccak256([maker.as_slice(), &self.epoch.to_be_bytes()].concat());
                let mut intent = near_par(id, maker, sells_myco, sell_amount, bps, now);
                if sells_myco {
                    intent.min_buy = intent.min_buy.max(U256::from(1));
                }
                intent.partial = self.rng.below(2) == 0;
                intent
            })
            .collect();
        let mut signed = unsigned.clone();
        let (chain_id, keys) = (self.chain_id, &self.holders.makers);
        parallel::fill(&mut signed, 1_024, |k| {
            let mut intent = unsigned[k].clone();
            intent.sign(chain_id, &keys[k]);
            intent
        });
        signed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{ValidatorSet, Verifier};

    fn exact(sizes: Sizes, epoch: u64) -> EpochInputs {
        EpochInputs { timestamp: 100 * epoch, exact: Some(sizes), ..Default::default() }
    }

    #[test]
    fn every_epoch_has_exactly_the_asked_size_and_verifies() {
        let mut net = Network::new(31337, 3, 4, 6);
        let mut verifier = Verifier::new(31337, ValidatorSet::new(net.validator_keys()).unwrap(), None);
        for (sizes, epoch) in [
            Sizes { balances: 500, intents: 101, withdrawals: 40, deposits: 7 },
            Sizes { balances: 500, intents: 101, withdrawals: 40, deposits: 7 },
            Sizes { balances: 900, intents: 20, withdrawals: 300, deposits: 0 },
            Sizes { balances: 300, intents: 0, withdrawals: 0, deposits: 3 },
        ]
        .into_iter()
        .zip(1..)
        {
            sizes.check().unwrap();
            let p = net.next_batch(&exact(sizes, epoch));
            let s = &p.state;
            assert_eq!(s.balances.values().map(|b| b.len()).sum::<usize>(), sizes.balances, "epoch {epoch}");
            assert_eq!(
                (s.intents.len(), s.withdrawals.len(), s.deposits.len()),
                (sizes.intents, sizes.withdrawals, sizes.deposits)
            );
            let batch = verifier.verify(&p.bytes).unwrap_or_else(|e| panic!("epoch {epoch}: {e}"));
            verifier.accept(&batch);
        }
    }

    #[test]
    fn an_epoch_that_cannot_be_made_says_why() {
        let too_few = Sizes { balances: 10, intents: 8, withdrawals: 3, deposits: 0 };
        assert_eq!(
            too_few.check(),
            Err(SizeError::TooFewBalances { intents: 8, withdrawals: 3, balances: 10, needed: 11 })
        );
        let nobody = Sizes { deposits: 1, ..Default::default() };
        assert_eq!(nobody.check(), Err(SizeError::NoDepositor));
        let makers_only = Sizes { balances: 2, intents: 2, withdrawals: 0, deposits: 1 };
        assert!(makers_only.check().is_ok(), "the seller takes the deposits");
        let huge = Sizes { balances: LARGEST.balances + 1, ..Default::default() };
        assert!(matches!(huge.check(), Err(SizeError::TooLarge { what: "balances", .. })));
        assert!(huge.check().unwrap_err().to_string().contains("2000001 balances"));
    }
}
