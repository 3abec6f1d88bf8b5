//! The anchored curve at the state's own scale (see [`super::units`]): the anchor `b_a` reconstructed from an
//! observed state by the region table of the settlement math, the curve's slope `α` and breakpoints `x_U`,
//! `x_L` for that anchor, and the reserve `b(z)` along it. Every quantity is in base units (`1.0 = y_a`);
//! rounding: the anchor's own terms round down where they are added and up where they are subtracted (the anchor
//! never comes out low, so the curve never lies below the true one), and the reserve at the new level rounds up,
//! so the payout `b − b(x + Δ)` never exceeds the exact one by more than the last unit.

use alloy::primitives::U256;

use super::derived::Derived;
use super::units::{Units, scale, scale_up, unscale};
use super::{Params, State};
use crate::settle::fixed::{self, MathError, ONE, Result, add, sub};

/// One of the parameter-only boundary curves of the reconstruction table (WAD, normalised).
#[derive(Debug, Clone, Copy)]
struct Boundary {
    ba: U256,
    alpha: U256,
    xu: U256,
    xl: U256,
}

impl Boundary {
    /// Whether the state lies on or above this curve: `b ≥ B(x)`, the curve taken at the state's scale.
    fn at_or_below(&self, s: &State, u: &Units) -> Result<bool> {
        let (ba, xu, xl) = (u.constant(self.ba)?, u.constant(self.xu)?, u.constant(self.xl)?);
        if s.x <= xu {
            return Ok(add(s.b, s.x)? >= ba);
        }
        if s.x <= xl {
            let d = s.x - xu;
            let curvature = scale(self.alpha, u.mul(d, d)?)? / U256::from(2);
            return Ok(add(s.b, s.x)? >= add(ba, curvature)?);
        }
        let rl = ONE.saturating_sub(fixed::mul_down(self.alpha, fixed::sub(self.xl, self.xu)?)?);
        Ok(s.b >= scale(rl, u.one().saturating_sub(s.x))?)
    }
}

/// The row of the reconstruction table a state falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Region {
    /// On the par part of a region-I curve.
    IParity,
    /// On the curved part of a region-I curve, price above its floor.
    ICurve,
    /// Region I, past where the price would fall below the reserve ratio.
    IFloor,
    /// Region II, on the par part (high or low case).
    IIParity,
    /// Region II, high case, curved.
    IIHigh,
    /// Region II, low case, curved.
    IILow,
    /// Region III, high case.
    IIIHigh,
    /// Region III, low case.
    IIILow,
}

impl Region {
    /// The table's name for the row (`I-i`, `II-H`, …).
    pub fn name(self) -> &'static str {
        match self {
            Region::IParity => "I-i",
            Region::ICurve => "I-ii",
            Region::IFloor => "I-iii",
            Region::IIParity => "II-i",
            Region::IIHigh => "II-H",
            Region::IILow => "II-L",
            Region::IIIHigh => "III-H",
            Region::IIILow => "III-L",
        }
    }
}

/// The anchor `b_a` (base units) of state `s` (with `s.b < s.y`, above the floor), by the region table.
pub fn anchored_reserve(s: &State, p: &Params, d: &Derived, u: &Units) -> Result<U256> {
    Ok(anchor_and_region(s, p, d, u)?.0)
}

/// [`anchored_reserve`] and the row of the table it came from.
pub fn anchor_and_region(s: &State, p: &Params, d: &Derived, u: &Units) -> Result<(U256, Region)> {
    let region_i = Boundary { ba: d.ba_i, alpha: p.alpha_bar, xu: p.xu_bar, xl: d.xl_i };
    if region_i.at_or_below(s, u)? {
        return region_one(s, p, u);
    }
    let region_ii = Boundary { ba: d.ba_ii, alpha: p.alpha_bar, xu: U256::ZERO, xl: d.xl_ii };
    if region_ii.at_or_below(s, u)? {
        return region_two(s, p, d, u);
    }
    region_three(s, p, d, u)
}

/// `u = 1 − b/y` in units.
fn gap_u(s: &State, u: &Units) -> Result<U256> {
    Ok(u.one().saturating_sub(u.div(s.b, s.y)?))
}

/// Region I (the anchor's curve keeps the full par region x̄_U): parity, the curved part, or the floor.
fn region_one(s: &State, p: &Params, u: &Units) -> Result<(U256, Region)> {
    let one = u.one();
    let r = u.div(s.b, s.y)?; // b/y, a ratio, in units
    let gap_u = gap_u(s, u)?;
    let xu = u.constant(p.xu_bar)?;
    if s.x <= xu {
        return Ok((add(s.b, s.x)?, Region::IParity));
    }
    let past = s.x - xu;
    if add(r, scale(p.alpha_bar, past)?)? <= one {
        // I-ii: b + x − (ᾱ/2)(x − x̄_U)²
        let curvature = scale(p.alpha_bar, u.mul(past, past)?)? / U256::from(2);
        return Ok((sub(add(s.b, s.x)?, curvature)?, Region::ICurve));
    }
    // I-iii: 1 − (1 − x̄_U)·u + u²/(2ᾱ)
    let linear = scale(sub(ONE, p.xu_bar)?, gap_u)?;
    let square = fixed::mul_div_up(u.mul_up(gap_u, gap_u)?, ONE, fixed::mul(U256::from(2), p.alpha_bar)?)?;
    Ok((sub(add(one, square)?, linear)?, Region::IFloor))
}

/// Region II (a par region shorter than x̄_U at the minimum slope): parity, or the high or low branch.
fn region_two(s: &State, p: &Params, d: &Derived, u: &Units) -> Result<(U256, Region)> {
    let one = u.one();
    let theta = p.theta()?;
    let gap_u = gap_u(s, u)?;
    let high = if d.ba_hl >= d.ba_i {
        false
    } else if d.ba_hl <= d.ba_ii {
        true
    } else {
        Boundary { ba: d.ba_hl, alpha: p.alpha_bar, xu: d.xu_hl, xl: d.xl_hl }.at_or_below(s, u)?
    };
    if high {
        if sub(s.y, s.b)? <= scale(p.alpha_bar, u.mul(s.y, s.y)?)? / U256::from(2) {
            return Ok((add(s.b, s.x)?, Region::IIParity));
        }
        // II-H: 1 − (ᾱ/2)(u/ᾱ + ŷ/2)²
        let inner = add(unscale(gap_u, p.alpha_bar)?, s.y / U256::from(2))?;
        let square = scale(p.alpha_bar, u.mul(inner, inner)?)? / U256::from(2);
        return Ok((one.saturating_sub(square), Region::IIHigh));
    }
    // b − θ̄·y exactly, in units of 1e-18 (the root below is steep near the floor: no early rounding).
    let above = sub(fixed::mul(s.b, ONE)?, fixed::mul(p.theta_bar, s.y)?)?;
    let theta_sq = fixed::mul(theta, theta)?; // θ², scaled by 1e36
    let two_alpha = fixed::mul(U256::from(2), p.alpha_bar)?;
    // b̂ − θ̄ŷ ≥ θ²/(2ᾱ) ⟺ above·2ᾱ ≥ θ²·y_a (both scaled by 1e36).
    if fixed::mul(above, two_alpha)? >= fixed::mul(theta_sq, one)? {
        return Ok((add(s.b, s.x)?, Region::IIParity));
    }
    // II-L: 1 + sqrt(2θ²(b̂ − θ̄ŷ)/ᾱ) − θ(θ/(2ᾱ) + ŷ); the radicand in units² is (b − θ̄y)·y_a·2θ²/ᾱ, with
    // `above` = (b − θ̄y)·1e18, θ² scaled by 1e36 and ᾱ by 1e18.
    let radicand = fixed::mul_div(
        fixed::mul_div(above, one, ONE)?,
        fixed::mul(U256::from(2), theta_sq)?,
        fixed::mul(p.alpha_bar, ONE)?,
    )?;
    let root = fixed::isqrt(radicand);
    // θ(θ/(2ᾱ) + ŷ) = θ²/(2ᾱ) + θŷ, each rounded down (the anchor never comes out low).
    let p_term = add(fixed::mul_div(theta_sq, one, fixed::mul(two_alpha, ONE)?)?, scale(theta, s.y)?)?;
    Ok((sub(add(one, root)?, p_term)?, Region::IILow))
}

/// Region III (no par region, a slope above ᾱ): the high or the low branch.
fn region_three(s: &State, p: &Params, d: &Derived, u: &Units) -> Result<(U256, Region)> {
    let one = u.one();
    let theta = p.theta()?;
    let region_iii_h = Boundary { ba: d.ba_big_hl, alpha: d.alpha_big_hl, xu: U256::ZERO, xl: d.xl_big_hl };
    if d.ba_big_hl < d.ba_ii && region_iii_h.at_or_below(s, u)? {
        // III-H: 1 − (ŷ − b̂)/(1 − x̂²)
        // (ŷ − b̂)/(1 − x̂²) in units: (y − b)·y_a² / (y_a² − x²), rounded down.
        let ya_sq = fixed::mul(one, one)?;
        let drop = fixed::mul_div(sub(s.y, s.b)?, ya_sq, sub(ya_sq, fixed::mul(s.x, s.x)?)?)?;
        return Ok((one.saturating_sub(drop), Region::IIIHigh));
    }
    // III-L: P = (ŷ − b̂ + θ)/2, Q = (ŷ − b̂)θ + θ²x̂²/4, b̂_a = 1 − (P − sqrt(P² − Q))
    // P² − Q = ((ŷ − b̂ − θ)² − θ²x̂²)/4 = (ĝ − θ(1 + x̂))(ĝ − θ(1 − x̂))/4 with ĝ = ŷ − b̂: a product of two
    // exact factors, so the radicand does not cancel. In units² with the factors scaled by 1e18:
    // f₁·f₂/(4·1e36), f₁ = (y − b)·1e18 − θ·(y_a + x), f₂ = (y − b)·1e18 − θ·(y_a − x).
    let gap = sub(s.y, s.b)?;
    let g_scaled = fixed::mul(gap, ONE)?;
    let (t1, t2) = (fixed::mul(theta, add(one, s.x)?)?, fixed::mul(theta, sub(one, s.x)?)?);
    let radicand = match (g_scaled >= t1, g_scaled >= t2) {
        (true, true) => fixed::mul_div(g_scaled - t1, g_scaled - t2, U256::from(4) * ONE * ONE)?,
        (false, false) => fixed::mul_div(t1 - g_scaled, t2 - g_scaled, U256::from(4) * ONE * ONE)?,
        _ => U256::ZERO,
    };
    let disc = fixed::isqrt(radicand);
    // b̂_a = 1 − P + sqrt(P² − Q) with P = (ĝ + θ)/2 = (g_scaled + θ·y_a)/(2·1e18), rounded down.
    let big_p = add(g_scaled, fixed::mul(theta, one)?)? / (U256::from(2) * ONE);
    Ok((add(one, disc)?.saturating_sub(big_p), Region::IIILow))
}

/// The curve anchored at `b_a` (base units), at scale `u`: slope and breakpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Curve {
    /// The anchor.
    pub ba: U256,
    /// `α·y_a` in units (the normalised slope, so `α = a / y_a²` per base unit); at most `y_a²`.
    pub a: U256,
    /// Where the par region ends.
    pub xu: U256,
    /// Where the floor region begins.
    pub xl: U256,
    /// Whether the anchor is below `(1 + θ̄)/2` with `α = α̂`: the curve then ends exactly at the floor price θ̄
    /// (`r_L = θ̄` in exact arithmetic), and holds it exactly past `x_L`.
    pub to_floor: bool,
    /// θ̄ (WAD), the floor price past `x_L` of a curve that ends at the floor.
    pub theta_bar: U256,
}

impl Curve {
    /// `α = max(α̂, ᾱ/y_a)`, `x_U`, `x_L` for anchor `ba`.
    pub fn anchored(ba: U256, p: &Params, u: &Units) -> Result<Self> {
        let one = u.one();
        if ba >= one {
            // Fully backed at the anchor: par all the way (and nothing below to define a slope by).
            return Ok(Self {
                ba,
                a: u.constant_up(p.alpha_bar)?,
                xu: one,
                xl: one,
                to_floor: false,
                theta_bar: p.theta_bar,
            });
        }
        let theta = p.theta()?;
        let theta_sq = fixed::mul(theta, theta)?; // θ², scaled by 1e36
        // r_a ≥ (1 + θ̄)/2 ⟺ 2·b_a ≥ (1 + θ̄)·y_a, compared exactly.
        let high = fixed::mul(ba, U256::from(2) * ONE)? >= fixed::mul(add(ONE, p.theta_bar)?, one)?;
        let ya_sq = fixed::mul(one, one)?;
        let a_hat = if high {
            fixed::mul(U256::from(2), one - ba)? // 2(1 − r_a)
        } else {
            // θ²/(2(r_a − θ̄)): in units θ²·y_a² / (2(b_a − θ̄·y_a)), with b_a − θ̄·y_a exact (scaled by 1e18).
            let above = fixed::mul(ba, ONE)?.saturating_sub(fixed::mul(p.theta_bar, one)?).max(U256::from(1));
            // At most y_a² (a normalised slope of y_a per unit: the curve reaches the floor within one base unit),
            // which keeps every later product inside 512 bits: θ²·y_a²/den ≤ y_a² ⟺ θ² ≤ den.
            let denominator = fixed::mul(fixed::mul(above, U256::from(2))?, ONE)?;
            if denominator >= theta_sq { fixed::mul_div_up(theta_sq, ya_sq, denominator)? } else { ya_sq }
        };
        let alpha_min = u.constant_up(p.alpha_bar)?;
        let to_floor = !high && a_hat > alpha_min;
        let a = a_hat.max(alpha_min).max(U256::from(1));
        let delta = one - ba;
        // 2Δ_a/α in units², exact to one: 2Δ_a·y_a² / a.
        let two_delta_over_alpha_sq = fixed::mul_div(fixed::mul(U256::from(2), delta)?, ya_sq, a)?;
        // x_U: 1 − sqrt(2Δ_a/α) if α·Δ_a ≤ θ²/2, else 1 − Δ_a/θ − θ/(2α); clamped to [0, x̄_U].
        // α·Δ_a ≤ θ²/2 ⟺ a·Δ·2e36 / y_a² ≤ θ² (θ² scaled by 1e36).
        let alpha_delta = fixed::mul_div(a, fixed::mul(fixed::mul(delta, U256::from(2))?, ONE * ONE)?, ya_sq)?;
        // The breakpoints round down (the par region never comes out longer, the floor never later): the curve
        // never lies below the exact one.
        let xu = if alpha_delta <= theta_sq {
            one.saturating_sub(isqrt_up(fixed::mul_div_up(fixed::mul(U256::from(2), delta)?, ya_sq, a)?))
        } else {
            let over_theta = fixed::mul_div_up(delta, ONE, theta)?;
            // θ/(2α) in units: θ·y_a²/(2a), θ scaled by 1e18.
            let theta_over_two_alpha =
                fixed::mul_div_up(fixed::mul(theta, one)?, one, a)?.div_ceil(U256::from(2) * ONE);
            one.saturating_sub(add(over_theta, theta_over_two_alpha)?)
        };
        let xu = xu.min(u.constant(p.xu_bar)?);
        // x_L: 1 − sqrt((1 − x_U)² − 2Δ_a/α) when the radicand is ≥ 0, else 1 (radicand in units², exact).
        let span = one - xu;
        let square = fixed::mul(span, span)?;
        let xl = if square >= two_delta_over_alpha_sq {
            one.saturating_sub(isqrt_up(square - two_delta_over_alpha_sq))
        } else {
            one
        };
        Ok(Self { ba, a, xu, xl: xl.max(xu), to_floor, theta_bar: p.theta_bar })
    }

    /// The reserve at level `z` (base units), rounded up.
    pub fn reserve_up(&self, z: U256, u: &Units) -> Result<U256> {
        if z <= self.xu {
            return Ok(self.ba.saturating_sub(z));
        }
        if z <= self.xl {
            let d = z - self.xu;
            let curvature = u.mul_up(self.a, u.mul_up(d, d)?)?.div_ceil(U256::from(2));
            return Ok(add(self.ba, curvature)?.saturating_sub(z));
        }
        // r_L = 1 − α(x_L − x_U) (rounded up), θ̄ for a curve that ends at the floor; the reserve is r_L·(1 − z).
        let rest = u.one().saturating_sub(z);
        if self.to_floor {
            return scale_up(self.theta_bar, rest);
        }
        let drop = u.mul(self.a, self.xl - self.xu)?;
        u.mul_up(u.one().saturating_sub(drop), rest)
    }
}

/// The payout of redeeming `amount` from `s` on its anchored curve (with `θ̄·y < b < y`), before the clamps:
/// `b − b(x + Δ)`, the reserve at the new level rounded up. The state after it is exactly on the curve, so a
/// redemption split in parts re-derives the same anchor from each intermediate state, to a unit.
pub fn curve_payout(s: &State, amount: U256, p: &Params, d: &Derived) -> Result<U256> {
    let u = Units { ya: add(s.x, s.y)? };
    if u.ya.is_zero() {
        return Err(MathError::DivisionByZero);
    }
    let ba = anchored_reserve(s, p, d, &u)?;
    let curve = Curve::anchored(ba, p, &u)?;
    let next = curve.reserve_up(add(s.x, amount)?, &u)?;
    Ok(s.b.saturating_sub(next))
}

/// The ceiling of the square root of an integer.
fn isqrt_up(v: U256) -> U256 {
    let root = fixed::isqrt(v);
    if root * root == v { root } else { root + U256::from(1) }
}
