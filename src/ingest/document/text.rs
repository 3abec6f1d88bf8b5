//! The text forms a batch writes amounts, keys and signatures in: canonical decimal strings and `0x` hex.

use alloy::primitives::{B256, U256};

use crate::ingest::quote::quoted;

/// Parses a canonical decimal amount: digits only, no sign, no leading zeros, at most 2^256 − 1.
pub fn parse_amount(text: &str) -> Result<U256, String> {
    let canonical = !text.is_empty()
        && text.len() <= 78
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(format!("not a canonical non-negative decimal integer: {}", quoted(text)));
    }
    // Most amounts fit a machine integer, whose parse is several times faster than a 256-bit one (a batch has
    // millions); the digits are checked above, so these parses cannot fail.
    if text.len() <= 19
        && let Ok(small) = text.parse::<u64>()
    {
        return Ok(U256::from(small));
    }
    if text.len() <= 38
        && let Ok(medium) = text.parse::<u128>()
    {
        return Ok(U256::from(medium));
    }
    U256::from_str_radix(text, 10).map_err(|e| format!("{e}: {}", quoted(text)))
}

pub(super) fn parse_hex<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let digits = text.strip_prefix("0x").ok_or_else(|| format!("expected 0x-prefixed hex, found {}", quoted(text)))?;
    if digits.len() != 2 * N {
        return Err(format!("expected {N} bytes of hex, found {} characters", digits.len()));
    }
    let mut out = [0u8; N];
    alloy::hex::decode_to_slice(digits, &mut out).map_err(|e| format!("{e}: {}", quoted(text)))?;
    Ok(out)
}

pub(super) fn parse_b256(text: &str) -> Result<B256, String> {
    parse_hex::<32>(text).map(B256::from)
}
