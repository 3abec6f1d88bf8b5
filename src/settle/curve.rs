//! The bonding curve `p(s) = p0 + m·s` (WAD), reserve `R(s) = p0·s + m·s²/2`: the quotes `MycoBondingCurve`
//! gives, computed bit for bit as `CurveMath.sol` does. Every rounding is down: a trader never receives more than
//! the exact integral, and a buyer never more supply than its payment covers.

use alloy::primitives::U256;

use super::fixed::{MathError, ONE, Result, add, isqrt, mul_div, sub};

/// The curve's parameters, as deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Curve {
    /// Price at zero supply (WAD USD per MYCO).
    pub p0: U256,
    /// Slope (WAD USD per MYCO per MYCO of supply).
    pub m: U256,
}

/// One USDC unit (6 decimals) in WAD.
const WAD_PER_USDC_UNIT: u64 = 1_000_000_000_000;

impl Curve {
    /// `R(S) − R(S − amount)` in WAD USD, rounded down: `p0·a + m·a·(2S − a)/2`, each term floored.
    pub fn sell_out(&self, supply: U256, amount: U256) -> Result<U256> {
        let linear = mul_div(amount, self.p0, ONE)?;
        let two_s = supply.checked_mul(U256::from(2)).ok_or(MathError::Overflow)?;
        let span = mul_div(amount, sub(two_s, amount)?, ONE)?;
        let quadratic = mul_div(span, self.m, ONE * U256::from(2))?;
        add(linear, quadratic)
    }

    /// `R(supply)` in WAD USD, rounded down.
    pub fn reserve_at(&self, supply: U256) -> Result<U256> {
        self.sell_out(supply, supply)
    }

    /// MYCO minted (WAD) for `usd_value` (WAD USD) at `supply`, rounded down:
    /// `S' = (sqrt(p0² + 2·m·(R(S) + value)) − p0) / m`, minted `= S' − S` (0 if a dust order lands below `S`).
    pub fn buy_out(&self, supply: U256, usd_value: U256) -> Result<U256> {
        if self.m.is_zero() {
            return mul_div(usd_value, ONE, self.p0);
        }
        let target = add(self.reserve_at(supply)?, usd_value)?;
        let p0_sq = self.p0.checked_mul(self.p0).ok_or(MathError::Overflow)?;
        let two_m_target =
            U256::from(2).checked_mul(self.m).and_then(|x| x.checked_mul(target)).ok_or(MathError::Overflow)?;
        let root = isqrt(add(p0_sq, two_m_target)?);
        let new_supply = mul_div(sub(root, self.p0)?, ONE, self.m)?;
        Ok(new_supply.saturating_sub(supply))
    }

    /// The marginal price `p(supply)` in WAD.
    pub fn spot(&self, supply: U256) -> Result<U256> {
        add(self.p0, mul_div(self.m, supply, ONE)?)
    }

    /// MYCO that `usdc_in` USDC units buy (the contract's `quoteBuy`).
    pub fn quote_buy(&self, supply: U256, usdc_in: U256) -> Result<U256> {
        let value = usdc_in.checked_mul(U256::from(WAD_PER_USDC_UNIT)).ok_or(MathError::Overflow)?;
        self.buy_out(supply, value)
    }

    /// USDC units that selling `myco_in` pays (the contract's `quoteSell`); `None` when it exceeds the supply.
    pub fn quote_sell(&self, supply: U256, myco_in: U256) -> Result<Option<U256>> {
        if myco_in > supply {
            return Ok(None);
        }
        Ok(Some(self.sell_out(supply, myco_in)? / U256::from(WAD_PER_USDC_UNIT)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The deployed demo curve: 1 USD at zero supply, +1e-6 USD per MYCO.
    const CURVE: Curve = Curve { p0: ONE, m: U256::from_limbs([1_000_000_000_000, 0, 0, 0]) };

    #[test]
    fn matches_the_contract_tests() {
        // MycoBondingCurve.t.sol: 1000.5 USDC buys exactly 1000 MYCO from zero supply, and sells back for it.
        let thousand = U256::from(1000u64) * ONE;
        assert_eq!(CURVE.quote_buy(U256::ZERO, U256::from(1_000_500_000u64)).unwrap(), thousand);
        assert_eq!(CURVE.quote_sell(thousand, thousand).unwrap(), Some(U256::from(1_000_500_000u64)));
        assert_eq!(CURVE.spot(thousand).unwrap(), U256::from(1_001_000_000_000_000_000u64));
        assert_eq!(CURVE.quote_sell(U256::ZERO, U256::from(1)).unwrap(), None);
    }

    #[test]
    fn flat_curve_is_a_constant_price() {
        let flat = Curve { p0: ONE * U256::from(2), m: U256::ZERO };
        assert_eq!(flat.quote_buy(U256::ZERO, U256::from(3_000_000u64)).unwrap(), ONE * U256::from(3) / U256::from(2));
    }

    proptest! {
        #[test]
        fn buying_then_selling_never_profits(supply in 0u128..1u128 << 100, usdc in 1u64..1u64 << 50) {
            let s = U256::from(supply);
            let minted = CURVE.quote_buy(s, U256::from(usdc)).unwrap();
            let back = CURVE.quote_sell(s + minted, minted).unwrap().unwrap();
            prop_assert!(back <= U256::from(usdc));
        }

        #[test]
        fn selling_in_two_steps_pays_no_more_than_in_one(supply in 1u128..1u128 << 100, a in any::<u64>(), b in any::<u64>()) {
            let s = U256::from(supply);
            let (a, b) = (U256::from(a) % s, U256::from(b));
            let b = b % (s - a + U256::from(1));
            let whole = CURVE.sell_out(s, a + b).unwrap();
            let split = CURVE.sell_out(s, a).unwrap() + CURVE.sell_out(s - a, b).unwrap();
            prop_assert!(split <= whole);
        }
    }
}
