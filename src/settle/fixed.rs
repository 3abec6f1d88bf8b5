//! WAD fixed-point arithmetic on `U256` (1e18 = 1.0), exactly as `contracts/libraries/FixedPoint.sol` computes
//! it: checked products (a product past 2^256 − 1 is an error, as Solidity's checked arithmetic reverts),
//! truncating or rounding-up division, floor square roots, and powers by square-and-multiply with `mul_down`.

use alloy::primitives::{U256, U512};

/// 1.0 in WAD.
pub const ONE: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// Why a fixed-point operation has no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MathError {
    /// Division by zero (never a silent 0).
    #[error("division by zero")]
    DivisionByZero,
    /// An intermediate product or sum does not fit in 256 bits.
    #[error("arithmetic overflow")]
    Overflow,
    /// A subtraction would go below zero.
    #[error("arithmetic underflow")]
    Underflow,
    /// A flow penalty below 1.0, which would raise a payout instead of dampening it.
    #[error("flow penalty below 1.0")]
    PenaltyBelowOne,
}

/// Result of a fixed-point operation.
pub type Result<T> = std::result::Result<T, MathError>;

/// `a·b`, checked (a product past 2^256 − 1 is an error).
pub fn mul(a: U256, b: U256) -> Result<U256> {
    a.checked_mul(b).ok_or(MathError::Overflow)
}

/// `a + b`, checked.
pub fn add(a: U256, b: U256) -> Result<U256> {
    a.checked_add(b).ok_or(MathError::Overflow)
}

/// `a − b`, checked.
pub fn sub(a: U256, b: U256) -> Result<U256> {
    a.checked_sub(b).ok_or(MathError::Underflow)
}

/// `floor(a·b / c)` with a 512-bit intermediate product (OpenZeppelin `Math.mulDiv`): it fails only when the
/// result itself does not fit, or `c` is zero.
pub fn mul_div(a: U256, b: U256, c: U256) -> Result<U256> {
    mul_div_rem(a, b, c).map(|(q, _)| q)
}

/// `ceil(a·b / c)` with a 512-bit intermediate product (OpenZeppelin `Math.mulDiv` rounding up).
pub fn mul_div_up(a: U256, b: U256, c: U256) -> Result<U256> {
    let (q, r) = mul_div_rem(a, b, c)?;
    if r.is_zero() { Ok(q) } else { add(q, U256::from(1)) }
}

/// `(floor(a·b / c), a·b mod c)`. A product that fits in 256 bits (most of them: amounts are at most 10^30 and
/// prices about 10^18) is divided at 256 bits; only a wider one pays for the 512-bit division.
fn mul_div_rem(a: U256, b: U256, c: U256) -> Result<(U256, U256)> {
    if c.is_zero() {
        return Err(MathError::DivisionByZero);
    }
    if let Some(product) = a.checked_mul(b) {
        return Ok(product.div_rem(c));
    }
    let (q, r) = a.widening_mul::<256, 4, 512, 8>(b).div_rem(U512::from(c));
    let limbs = q.as_limbs();
    if limbs[4..].iter().any(|&l| l != 0) {
        return Err(MathError::Overflow);
    }
    let r = r.as_limbs();
    Ok((U256::from_limbs([limbs[0], limbs[1], limbs[2], limbs[3]]), U256::from_limbs([r[0], r[1], r[2], r[3]])))
}

/// `a·b / 1e18`, truncated.
pub fn mul_down(a: U256, b: U256) -> Result<U256> {
    Ok(mul(a, b)? / ONE)
}

/// `a·b / 1e18`, rounded up.
pub fn mul_up(a: U256, b: U256) -> Result<U256> {
    let p = mul(a, b)?;
    Ok(if p.is_zero() { U256::ZERO } else { (p - U256::from(1)) / ONE + U256::from(1) })
}

/// `a·1e18 / b`, truncated.
pub fn div_down(a: U256, b: U256) -> Result<U256> {
    if b.is_zero() {
        return Err(MathError::DivisionByZero);
    }
    Ok(mul(a, ONE)? / b)
}

/// `a·1e18 / b`, rounded up.
pub fn div_up(a: U256, b: U256) -> Result<U256> {
    if b.is_zero() {
        return Err(MathError::DivisionByZero);
    }
    let p = mul(a, ONE)?;
    Ok(if p.is_zero() { U256::ZERO } else { (p - U256::from(1)) / b + U256::from(1) })
}

/// Floor of the square root of an integer (the same result as OpenZeppelin `Math.sqrt`).
pub fn isqrt(a: U256) -> U256 {
    if a < U256::from(2) {
        return a;
    }
    // Newton's iteration from a power of two above the root; it decreases monotonically to the floor.
    let mut x = U256::from(1) << a.bit_len().div_ceil(2);
    loop {
        let y = (x + a / x) >> 1;
        if y >= x {
            return x;
        }
        x = y;
    }
}

/// Square root of a WAD: `floor(sqrt(a·1e18))`.
pub fn sqrt(a: U256) -> Result<U256> {
    Ok(isqrt(mul(a, ONE)?))
}

/// `x^n` for a WAD `x` by square-and-multiply, every product with `mul_down`. The exact order (multiply into
/// the result on a set bit, then square the base while bits remain) is part of the definition: it is how decays
/// `δ^dt` are computed bit-exactly on both sides.
pub fn int_pow_down(x: U256, mut n: u64) -> Result<U256> {
    let mut result = ONE;
    let mut base = x;
    while n > 0 {
        if n & 1 == 1 {
            result = mul_down(result, base)?;
        }
        n >>= 1;
        if n > 0 {
            base = mul_down(base, base)?;
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn w(x: u64) -> U256 {
        U256::from(x) * ONE
    }

    #[test]
    fn known_values() {
        assert_eq!(mul_down(w(3), ONE / U256::from(2)).unwrap(), U256::from(1_500_000_000_000_000_000u64));
        assert_eq!(div_down(w(1), w(3)).unwrap(), U256::from(333_333_333_333_333_333u64));
        assert_eq!(div_up(w(1), w(3)).unwrap(), U256::from(333_333_333_333_333_334u64));
        assert_eq!(sqrt(w(4)).unwrap(), w(2));
        assert_eq!(sqrt(w(2)).unwrap(), U256::from(1_414_213_562_373_095_048u64));
        assert_eq!(int_pow_down(ONE / U256::from(2), 3).unwrap(), ONE / U256::from(8));
        assert_eq!(int_pow_down(U256::from(12345u64), 0).unwrap(), ONE);
        assert_eq!(div_down(ONE, U256::ZERO), Err(MathError::DivisionByZero));
        assert_eq!(mul_down(U256::MAX, U256::from(2)), Err(MathError::Overflow));
        assert_eq!(isqrt(U256::MAX), U256::from(u128::MAX));
        assert_eq!(mul_div(U256::MAX, U256::MAX, U256::MAX).unwrap(), U256::MAX);
        assert_eq!(mul_div(U256::MAX, U256::from(2), U256::from(1)), Err(MathError::Overflow));
        assert_eq!(mul_div(U256::from(7), U256::from(3), U256::from(2)).unwrap(), U256::from(10));
    }

    proptest! {
        #[test]
        fn rounding_brackets_the_exact_value(a in any::<u128>(), b in any::<u128>()) {
            let (a, b) = (U256::from(a), U256::from(b));
            let (lo, hi) = (mul_down(a, b).unwrap(), mul_up(a, b).unwrap());
            prop_assert!(lo <= hi && hi - lo <= U256::from(1));
            prop_assert_eq!(lo * ONE <= a * b, true);
            prop_assert_eq!(hi * ONE >= a * b, true);
            if !b.is_zero() {
                let (lo, hi) = (div_down(a, b).unwrap(), div_up(a, b).unwrap());
                prop_assert!(lo <= hi && hi - lo <= U256::from(1));
                prop_assert!(lo * b <= a * ONE && hi * b >= a * ONE);
            }
        }

        /// Both paths of `mul_div_rem` (a 256-bit product, a wider one) against the 512-bit division itself;
        /// the limb counts make half the products fit and half overflow.
        #[test]
        fn mul_div_matches_the_512_bit_quotient(
            a in any::<[u64; 4]>(), b in any::<[u64; 4]>(), c in any::<[u64; 4]>(), la in 1usize..5, lb in 1usize..5,
        ) {
            let limbs = |x: [u64; 4], n: usize| U256::from_limbs(std::array::from_fn(|i| if i < n { x[i] } else { 0 }));
            let (a, b, c) = (limbs(a, la), limbs(b, lb), U256::from_limbs(c));
            prop_assume!(!c.is_zero());
            let (q, r) = a.widening_mul::<256, 4, 512, 8>(b).div_rem(U512::from(c));
            let fits = q < U512::from(U256::MAX) || q == U512::from(U256::MAX);
            match mul_div(a, b, c) {
                Ok(down) => {
                    prop_assert!(fits);
                    prop_assert_eq!(U512::from(down), q);
                    let up = mul_div_up(a, b, c);
                    if r.is_zero() { prop_assert_eq!(up, Ok(down)); } else if down < U256::MAX {
                        prop_assert_eq!(up, Ok(down + U256::from(1)));
                    }
                }
                Err(e) => { prop_assert!(!fits); prop_assert_eq!(e, MathError::Overflow); }
            }
        }

        #[test]
        fn isqrt_is_the_floor(a in any::<[u64; 4]>()) {
            let a = U256::from_limbs(a);
            let r = isqrt(a);
            prop_assert!(r * r <= a);
            let next = r + U256::from(1);
            prop_assert!(next.checked_mul(next).is_none_or(|sq| sq > a));
        }

        #[test]
        fn power_decays_monotonically(d in 500_000_000_000_000_000u64..1_000_000_000_000_000_000, n in 0u64..10_000) {
            let d = U256::from(d);
            prop_assert!(int_pow_down(d, n + 1).unwrap() <= int_pow_down(d, n).unwrap());
        }
    }
}
