//! The P-AMM redemption curve (docs/settlement-math.md, "P-AMM redemption"; Gyroscope's primary AMM, adapted to MYCO → USDC).
//!
//! While the reserve backs the supply fully, MYCO redeems at par; below that, the price falls with the
//! redemption level `x` (outflow memory, decaying per second), so a run on the reserve gets progressively worse
//! prices and the reserve cannot be drained at par. `anchor` reconstructs the curve the current state lies on;
//! `redeem` integrates the price over the redeemed amount along it.
//!
//! Precision: the curve is evaluated at the state's own scale (`units`: a normalised quantity is held in base
//! units, every product and quotient with a 512-bit intermediate), so it is exact to a few base units at any
//! supply. Rounding: the anchor never comes out low and the reserve left after a redemption rounds up, so the
//! payout `b − b(x + Δ)` rounds down (in the reserve's favour); it is clamped to `Δ` (never above par) and `b`.

mod anchor;
mod derived;
mod units;

use alloy::primitives::U256;

use super::fixed::{self, MathError, ONE, Result};

pub use anchor::{Curve, Region, anchor_and_region, anchored_reserve, curve_payout};
pub use derived::{Derived, compute_alpha, compute_xl, compute_xu, reserve_fixed};
pub use units::Units;

/// P-AMM parameters (WAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// ᾱ, the relative minimum slope.
    pub alpha_bar: U256,
    /// x̄_U, the relative cap on the par region.
    pub xu_bar: U256,
    /// θ̄, the floor price.
    pub theta_bar: U256,
    /// δ, the per-second decay of the redemption level.
    pub decay: U256,
}

impl Default for Params {
    /// ᾱ = 1.0, x̄_U = 0.3, θ̄ = 0.6, δ = 0.5^(1/172800) (a two-day half-life) rounded to the nearest WAD.
    fn default() -> Self {
        Self {
            alpha_bar: ONE,
            xu_bar: U256::from(300_000_000_000_000_000u64),
            theta_bar: U256::from(600_000_000_000_000_000u64),
            decay: U256::from(999_995_988_739_639_108u64),
        }
    }
}

impl Params {
    /// Whether the parameters lie in the domain the curve is defined on, as `USDCEscrow`'s constructor checks:
    /// ᾱ positive, x̄_U and δ at most 1.0, θ̄ below 1.0.
    pub fn check(&self) -> std::result::Result<(), &'static str> {
        match () {
            () if self.alpha_bar.is_zero() => Err("alphaBar must be positive"),
            () if self.xu_bar > ONE => Err("xuBar must be at most 1.0"),
            () if self.theta_bar >= ONE => Err("thetaBar must be below 1.0"),
            () if self.decay > ONE => Err("decay must be at most 1.0"),
            () => Ok(()),
        }
    }

    /// θ = 1 − θ̄.
    pub fn theta(&self) -> Result<U256> {
        fixed::sub(ONE, self.theta_bar)
    }
}

/// The redemption state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    /// Redemption level `x` (WAD of MYCO), already decayed to now.
    pub x: U256,
    /// Reserve value `b` (WAD USD).
    pub b: U256,
    /// MYCO supply outstanding `y` (WAD).
    pub y: U256,
}

/// The redemption level decayed over `seconds`: `δ^seconds · x`.
pub fn decay(x: U256, decay: U256, seconds: u64) -> Result<U256> {
    fixed::mul_down(fixed::int_pow_down(decay, seconds)?, x)
}

/// USD (WAD) paid for redeeming `amount` MYCO (WAD) from `state`.
pub fn redeem(state: &State, amount: U256, params: &Params) -> Result<U256> {
    if amount.is_zero() {
        return Ok(U256::ZERO);
    }
    if state.y.is_zero() {
        return Err(MathError::DivisionByZero);
    }
    let State { b, y, .. } = *state;
    let out = if b >= y {
        amount // fully backed: par
    } else if b <= fixed::mul_div_up(params.theta_bar, y, ONE)? {
        // At or below the floor price (b ≤ ⌈θ̄·y⌉: a state a fraction of a unit above the floor, as redeeming
        // along a curve that ends at the floor leaves it, is at the floor): the reserve's own ratio, b·Δ/y.
        fixed::mul_div(b, amount, y)?
    } else {
        curve_payout(state, amount, params, &Derived::of(params)?)?
    };
    Ok(out.min(amount).min(b))
}

#[cfg(test)]
mod oracle;
#[cfg(test)]
mod tests;
