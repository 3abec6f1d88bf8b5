//! The network's own random economy each epoch: mints, transfers, the withdrawals asked for, signed intents.

use alloy::primitives::{B256, U256, keccak256};

use super::{EpochInputs, INTENT_LIFETIME_SECS, MYCO_PER_USDC_UNIT, Network, account_of};
use crate::ingest::document::{FlowTracker, WithdrawalRequest};
use crate::ingest::intent::{Intent, Token};
use crate::settle::{WAD, flow};

impl Network {
    pub(super) fn mint_randomly(&mut self) {
        for account in self.active() {
            let usdc = self.balance(Token::Usdc, &account);
            if !usdc.is_zero() && self.rng.below(2) == 0 {
                self.mint(account, usdc / U256::from(2));
            }
        }
    }

    /// Random payments between active accounts, in MYCO or USDC, half or less of what the payer holds.
    pub(super) fn transfer_randomly(&mut self, count: usize) {
        let accounts = self.active();
        if accounts.len() < 2 {
            return;
        }
        for _ in 0..count {
            let token = if self.rng.below(2) == 0 { Token::Myco } else { Token::Usdc };
            let funded: Vec<B256> = accounts.iter().filter(|a| !self.balance(token, a).is_zero()).copied().collect();
            if funded.is_empty() {
                continue;
            }
            let from = funded[self.rng.below(funded.len())];
            let to = accounts[self.rng.below(accounts.len())];
            let amount = self.balance(token, &from) / U256::from(2 + self.rng.below(8));
            if from != to && !amount.is_zero() {
                self.debit(token, from, amount);
                self.credit(token, to, amount);
            }
        }
    }

    pub(super) fn withdraw(&mut self, inputs: &EpochInputs) -> Vec<WithdrawalRequest> {
        let mut out = Vec::new();
        for ask in &inputs.withdrawals {
            let short = ask.amount.saturating_sub(self.balance(Token::Myco, &ask.account));
            let usdc_needed = short.div_ceil(U256::from(MYCO_PER_USDC_UNIT));
            // A version 2 network has no minting at par: the account must hold the MYCO.
            let unbacked = self.ledger.is_some() && !short.is_zero();
            if ask.amount.is_zero() || unbacked || usdc_needed > self.balance(Token::Usdc, &ask.account) {
                tracing::warn!(account = %ask.account, "simulator: withdrawal exceeds balance, not certified");
                continue;
            }
            if !usdc_needed.is_zero() {
                self.mint(ask.account, usdc_needed);
            }
            self.debit(Token::Myco, ask.account, ask.amount);
            // The reserve pays and the redemption level rises once the claim is paid on chain (see
            // `next_batch`); the batch certifies the state before that.
            let tracker = self.flows.entry(ask.account).or_insert_with(|| FlowTracker {
                memory: U256::from(999_000_000_000_000_000u64),
                threshold: U256::from(WAD / 10),
                ..Default::default()
            });
            // The certified tracker is the epoch's end state: the decayed flow plus this outflow.
            *tracker =
                flow::record(tracker, ask.amount, inputs.timestamp).expect("simulated flows stay far below 2^256");
            out.push(WithdrawalRequest {
                claim_id: U256::from(self.next_claim_id),
                account: ask.account,
                amount: ask.amount,
                recipient: ask.recipient,
                reissues: None,
            });
            self.next_claim_id += 1;
        }
        out.extend(inputs.reissues.iter().map(|r| r.request.clone()));
        out
    }

    /// Sellers of MYCO and buyers of MYCO with limits within ±5% of par, each signed by its maker.
    pub(super) fn random_intents(&mut self, count: usize, now: u64) -> Vec<Intent> {
        let mut intents = Vec::with_capacity(count);
        let active = self.active();
        for i in 0..count {
            let key = self.accounts[self.rng.below(self.accounts.len())].clone();
            let maker = account_of(&key);
            if !active.contains(&maker) {
                continue;
            }
            let (myco, usdc) = (self.balance(Token::Myco, &maker), self.balance(Token::Usdc, &maker));
            // Pick a side at random; an account holding only one token can only sell that one.
            let sells_myco = match (myco.is_zero(), usdc.is_zero()) {
                (true, true) => continue,
                (false, true) => true,
                (true, false) => false,
                (false, false) => self.rng.below(2) == 0,
            };
            let held = if sells_myco { myco } else { usdc };
            let sell_amount = held / U256::from(2 + self.rng.below(4));
            if sell_amount.is_zero() {
                continue;
            }
            // Price in basis points of par: 9500..=10500.
            let bps = U256::from(9_500 + self.rng.below(1_001));
            let id = keccak256([maker.as_slice(), &self.epoch.to_be_bytes(), &(i as u64).to_be_bytes()].concat());
            let mut intent = near_par(id, maker, sells_myco, sell_amount, bps, now);
            if intent.min_buy.is_zero() {
                continue;
            }
            intent.partial = self.rng.below(2) == 0;
            intent.sign(self.chain_id, &key);
            intents.push(intent);
        }
        intents
    }
}

/// An unsigned intent of `maker` selling `sell_amount` of MYCO (or of USDC, when not `sells_myco`) for at least
/// `bps` basis points of par of the other token, valid for an hour from `now`, whole only. Its `min_buy` is zero
/// when the amount is too small to price; the caller decides.
pub(super) fn near_par(id: B256, maker: B256, sells_myco: bool, sell_amount: U256, bps: U256, now: u64) -> Intent {
    let (sell_token, buy_token) = if sells_myco { (Token::Myco, Token::Usdc) } else { (Token::Usdc, Token::Myco) };
    let min_buy = if sells_myco {
        sell_amount * bps / U256::from(10_000u64 * MYCO_PER_USDC_UNIT)
    } else {
        sell_amount * U256::from(MYCO_PER_USDC_UNIT) * U256::from(10_000) / bps
    };
    Intent {
        id,
        maker,
        sell_token,
        buy_token,
        sell_amount,
        min_buy,
        valid_until: now + INTENT_LIFETIME_SECS,
        partial: false,
        signature: [0; 64],
    }
}
