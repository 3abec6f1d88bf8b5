//! Trade intents: a maker's signed offer to sell one token for at least an amount of another.
//!
//! The maker signs `keccak256(INTENT_DOMAIN ‖ chain_id ‖ id ‖ maker ‖ sell_token ‖ buy_token ‖ sell_amount ‖
//! min_buy ‖ valid_until ‖ partial)` with its Ed25519 account key, integers big-endian (`chain_id` and
//! `valid_until` 8 bytes, amounts 32), tokens one byte (MYCO = 0, USDC = 1), `partial` one byte (0 or 1).

use alloy::primitives::{B256, U256, keccak256};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

/// Domain separator of intent signatures.
pub const INTENT_DOMAIN: &[u8] = b"myco-bridge/intent/v1";

/// A token the network holds balances in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Token {
    /// MYCO, 18 decimals.
    Myco,
    /// USDC, 6 decimals.
    Usdc,
}

impl Token {
    /// Every token, in canonical order.
    pub const ALL: [Token; 2] = [Token::Myco, Token::Usdc];

    /// The symbol used as a key in documents.
    pub fn symbol(self) -> &'static str {
        match self {
            Token::Myco => "MYCO",
            Token::Usdc => "USDC",
        }
    }

    /// The token of a symbol.
    pub fn from_symbol(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.symbol() == s)
    }

    /// Its one-byte code in signed intent bytes.
    pub fn code(self) -> u8 {
        match self {
            Token::Myco => 0,
            Token::Usdc => 1,
        }
    }
}

/// A signed intent as certified in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// Chosen by the maker; unique per maker.
    pub id: B256,
    /// The maker's account (Ed25519 public key).
    pub maker: B256,
    /// What the maker gives.
    pub sell_token: Token,
    /// What the maker wants.
    pub buy_token: Token,
    /// How much it gives at most.
    pub sell_amount: U256,
    /// The least it accepts for all of `sell_amount` (its limit).
    pub min_buy: U256,
    /// Unix time after which the intent is void.
    pub valid_until: u64,
    /// Whether it may be partly filled.
    pub partial: bool,
    /// The maker's Ed25519 signature over [`Intent::digest`].
    pub signature: [u8; 64],
}

impl Intent {
    /// The digest the maker signs.
    pub fn digest(&self, chain_id: u64) -> B256 {
        let mut m = Vec::with_capacity(INTENT_DOMAIN.len() + 8 + 32 + 32 + 2 + 32 + 32 + 8 + 1);
        m.extend_from_slice(INTENT_DOMAIN);
        m.extend_from_slice(&chain_id.to_be_bytes());
        m.extend_from_slice(self.id.as_slice());
        m.extend_from_slice(self.maker.as_slice());
        m.push(self.sell_token.code());
        m.push(self.buy_token.code());
        m.extend_from_slice(&self.sell_amount.to_be_bytes::<32>());
        m.extend_from_slice(&self.min_buy.to_be_bytes::<32>());
        m.extend_from_slice(&self.valid_until.to_be_bytes());
        m.push(u8::from(self.partial));
        keccak256(m)
    }

    /// Signs the intent as `key` (which must be the maker's key).
    pub fn sign(&mut self, chain_id: u64, key: &SigningKey) {
        self.signature = key.sign(self.digest(chain_id).as_slice()).to_bytes();
    }

    /// Whether the signature is the maker's over this intent.
    pub fn signature_is_valid(&self, chain_id: u64) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.maker.0) else { return false };
        let sig = ed25519_dalek::Signature::from_bytes(&self.signature);
        key.verify_strict(self.digest(chain_id).as_slice(), &sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed() -> (Intent, SigningKey) {
        let key = SigningKey::from_bytes(&[5; 32]);
        let mut intent = Intent {
            id: B256::repeat_byte(1),
            maker: B256::from(key.verifying_key().to_bytes()),
            sell_token: Token::Myco,
            buy_token: Token::Usdc,
            sell_amount: U256::from(10u64).pow(U256::from(18)),
            min_buy: U256::from(990_000u64),
            valid_until: 1_800_000_000,
            partial: true,
            signature: [0; 64],
        };
        intent.sign(31337, &key);
        (intent, key)
    }

    #[test]
    fn maker_signature_verifies_only_for_its_chain_and_fields() {
        let (intent, _) = signed();
        assert!(intent.signature_is_valid(31337));
        assert!(!intent.signature_is_valid(1));
        let mut changed = intent.clone();
        changed.min_buy -= U256::from(1);
        assert!(!changed.signature_is_valid(31337));
        let mut changed = intent.clone();
        changed.partial = false;
        assert!(!changed.signature_is_valid(31337));
    }

    #[test]
    fn another_key_cannot_sign_for_the_maker() {
        let (mut intent, _) = signed();
        intent.sign(31337, &SigningKey::from_bytes(&[6; 32]));
        assert!(!intent.signature_is_valid(31337));
    }
}
