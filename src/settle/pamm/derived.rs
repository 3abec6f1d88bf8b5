//! What depends on the parameters only, in WAD at the normalised scale (y_a = 1): the anchors at the region
//! boundaries of the reconstruction table, and their curves. They decide which region a state is in; the
//! payout itself is computed at the state's own scale (see `units` and `anchor`).

use alloy::primitives::U256;

use super::Params;
use crate::settle::fixed::{self, MathError, ONE, Result, add, div_down, mul_down, mul_up, sub};

const TWO: U256 = U256::from_limbs([2_000_000_000_000_000_000, 0, 0, 0]);

/// `2·a` (of a WAD, so still a WAD), checked.
fn twice(a: U256) -> Result<U256> {
    fixed::mul(U256::from(2), a)
}

/// Thresholds that depend on the parameters only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Derived {
    /// b_I = computeBa(x̄_U): the anchor at the region I / II boundary.
    pub ba_i: U256,
    /// b_II = computeBa(0): the anchor at the region II / III boundary.
    pub ba_ii: U256,
    /// x_L at b_I.
    pub xl_i: U256,
    /// x_L at b_II.
    pub xl_ii: U256,
    /// b_hl = max(0, 1 − θ²/(2ᾱ)).
    pub ba_hl: U256,
    /// x_U at b_hl (0 unless b_I > b_hl > b_II).
    pub xu_hl: U256,
    /// x_L of the high/low test curve: 1 (it has no floor region).
    pub xl_hl: U256,
    /// b_HL = (1 + θ̄)/2.
    pub ba_big_hl: U256,
    /// α at b_HL (0 unless b_II > b_HL).
    pub alpha_big_hl: U256,
    /// x_L at b_HL.
    pub xl_big_hl: U256,
}

impl Derived {
    /// The thresholds for `params`.
    pub fn of(p: &Params) -> Result<Self> {
        let theta = p.theta()?;
        let mut d = Derived { ba_i: compute_ba(p.xu_bar, p)?, ba_ii: compute_ba(U256::ZERO, p)?, ..Default::default() };
        d.xl_i = compute_xl(d.ba_i, ONE, p.alpha_bar, p.xu_bar)?;
        d.xl_ii = compute_xl(d.ba_ii, ONE, p.alpha_bar, U256::ZERO)?;
        d.ba_hl = ONE.saturating_sub(div_down(mul_down(theta, theta)?, twice(p.alpha_bar)?)?);
        if d.ba_i > d.ba_hl && d.ba_hl > d.ba_ii {
            d.xu_hl = compute_xu(d.ba_hl, ONE, p.alpha_bar, p.xu_bar, theta)?;
            // The high/low test curve has no floor region: x_L = 1 (the settlement math's table).
            d.xl_hl = ONE;
        }
        d.ba_big_hl = add(ONE, p.theta_bar)? / U256::from(2);
        if d.ba_ii > d.ba_big_hl {
            d.alpha_big_hl = compute_alpha(d.ba_big_hl, ONE, p)?;
            d.xl_big_hl = compute_xl(d.ba_big_hl, ONE, d.alpha_big_hl, U256::ZERO)?;
        }
        Ok(d)
    }
}

/// α for anchor `(ba, ya)`: `max(α̂, ᾱ/y_a)` with `α̂ = 2(1 − r_a)/y_a` if `r_a ≥ (1 + θ̄)/2`, else
/// `θ²/(2(b_a − θ̄·y_a))`.
pub fn compute_alpha(ba: U256, ya: U256, p: &Params) -> Result<U256> {
    let ra = div_down(ba, ya)?;
    let alpha_min = div_down(p.alpha_bar, ya)?;
    let alpha_hat = if ra >= add(ONE, p.theta_bar)? / U256::from(2) {
        div_down(mul_down(TWO, sub(ONE, ra)?)?, ya)?
    } else {
        let theta = p.theta()?;
        let denominator = twice(sub(ba, mul_down(p.theta_bar, ya)?)?)?;
        div_down(mul_down(theta, theta)?, denominator)?
    };
    Ok(alpha_hat.max(alpha_min))
}

/// The reserve at redemption level `x` on the curve `(ba, ya, α, x_U, x_L)`, every term rounded down.
pub fn reserve_fixed(x: U256, ba: U256, ya: U256, alpha: U256, xu: U256, xl: U256) -> Result<U256> {
    if x <= xu {
        return sub(ba, x);
    }
    if x <= xl {
        let d = sub(x, xu)?;
        return sub(add(ba, mul_down(alpha, mul_down(d, d)?)? / U256::from(2))?, x);
    }
    let rl = sub(ONE, mul_down(alpha, sub(xl, xu)?)?)?;
    mul_down(rl, sub(ya, x)?)
}

/// x_L: `y_a − sqrt((y_a − x_U)² − 2(y_a − b_a)/α)` when the radicand is ≥ 0, else `y_a`.
pub fn compute_xl(ba: U256, ya: U256, alpha: U256, xu: U256) -> Result<U256> {
    if ba >= ya {
        return Err(MathError::Underflow);
    }
    let span = sub(ya, xu)?;
    let left = mul_up(span, span)?;
    let right = div_down(twice(sub(ya, ba)?)?, alpha)?;
    if left >= right { sub(ya, fixed::sqrt(left - right)?) } else { Ok(ya) }
}

/// x_U: `y_a − sqrt(2Δ_a/α)` if `α·Δ_a ≤ θ²/2`, else `y_a − Δ_a/θ − θ/(2α)`; clamped to `[0, x̄_U·y_a]`.
pub fn compute_xu(ba: U256, ya: U256, alpha: U256, xu_bar: U256, theta: U256) -> Result<U256> {
    let delta = sub(ya, ba)?;
    let xu_max = mul_down(xu_bar, ya)?;
    let xu = if mul_down(alpha, delta)? <= mul_down(theta, theta)? / U256::from(2) {
        let root = fixed::sqrt(div_down(twice(delta)?, alpha)?)?;
        ya.saturating_sub(root)
    } else {
        let subtracted = add(div_down(delta, theta)?, div_down(theta, twice(alpha)?)?)?;
        ya.saturating_sub(subtracted)
    };
    Ok(xu.min(xu_max))
}

/// The normalised anchor (y_a = 1) whose x_U is `xu`, with slope ᾱ.
pub(crate) fn compute_ba(xu: U256, p: &Params) -> Result<U256> {
    let yz = sub(ONE, xu)?;
    if ONE >= add(p.theta_bar, mul_down(p.alpha_bar, yz)?)? {
        return sub(ONE, mul_down(p.alpha_bar, mul_down(yz, yz)?)? / U256::from(2));
    }
    let theta = p.theta()?;
    add(sub(ONE, mul_down(theta, yz)?)?, div_down(mul_down(theta, theta)?, twice(p.alpha_bar)?)?)
}
