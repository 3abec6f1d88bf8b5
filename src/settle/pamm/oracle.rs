//! The P-AMM evaluated in exact rational arithmetic (square roots to 10^-45), straight from the settlement
//! math's formulas at the normalised scale: the reference the integer implementation is held to.

use alloy::primitives::U256;
use num_bigint::{BigInt, BigUint};
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};

use super::Params;

type Q = BigRational;

/// Digits of precision of the oracle's square roots.
const SQRT_DIGITS: u32 = 45;

fn q(v: U256) -> Q {
    Q::from_integer(BigInt::from_bytes_be(num_bigint::Sign::Plus, &v.to_be_bytes::<32>()))
}

fn wad(v: U256) -> Q {
    q(v) / q(U256::from(10).pow(U256::from(18)))
}

fn int(n: u64) -> Q {
    Q::from_integer(BigInt::from(n))
}

/// sqrt(v) to [`SQRT_DIGITS`] digits, rounded down (v ≥ 0).
fn sqrt(v: &Q) -> Q {
    if !v.is_positive() {
        return Q::zero();
    }
    let scale = BigUint::from(10u32).pow(SQRT_DIGITS);
    let (n, d) = (v.numer().to_biguint().unwrap(), v.denom().to_biguint().unwrap());
    let root = (n * &d * &scale * &scale).sqrt();
    Q::new(BigInt::from(root), BigInt::from(d * scale))
}

fn max(a: Q, b: Q) -> Q {
    if a > b { a } else { b }
}

/// The normalised curve for anchor `ba` (y_a = 1) with slope `alpha`: x_U, x_L.
fn breakpoints(ba: &Q, alpha: &Q, xu_bar: &Q, theta: &Q) -> (Q, Q) {
    let one = Q::one();
    let delta = &one - ba;
    let xu = if alpha * &delta <= theta * theta / int(2) {
        &one - sqrt(&(int(2) * &delta / alpha))
    } else {
        &one - &delta / theta - theta / (int(2) * alpha)
    };
    let xu = if xu < Q::zero() {
        Q::zero()
    } else if &xu > xu_bar {
        xu_bar.clone()
    } else {
        xu
    };
    let radicand = (&one - &xu) * (&one - &xu) - int(2) * &delta / alpha;
    let xl = if radicand >= Q::zero() { &one - sqrt(&radicand) } else { one };
    (xu, xl)
}

/// B(z) on the curve (ba, alpha, xu, xl), normalised.
fn reserve(z: &Q, ba: &Q, alpha: &Q, xu: &Q, xl: &Q) -> Q {
    if z <= xu {
        return ba - z;
    }
    if z <= xl {
        return ba - z + alpha / int(2) * (z - xu) * (z - xu);
    }
    (Q::one() - alpha * (xl - xu)) * (Q::one() - z)
}

/// computeBa(z): the normalised anchor whose x_U is `z`, slope ᾱ.
fn compute_ba(z: &Q, alpha_bar: &Q, theta_bar: &Q, theta: &Q) -> Q {
    let w = Q::one() - z;
    if Q::one() >= theta_bar + alpha_bar * &w {
        Q::one() - alpha_bar * &w * &w / int(2)
    } else {
        Q::one() - theta * &w + theta * theta / (int(2) * alpha_bar)
    }
}

fn alpha_of(ba: &Q, alpha_bar: &Q, theta_bar: &Q, theta: &Q) -> Q {
    let hat = if ba >= &((Q::one() + theta_bar) / int(2)) {
        int(2) * (Q::one() - ba)
    } else {
        theta * theta / (int(2) * (ba - theta_bar))
    };
    max(hat, alpha_bar.clone())
}

/// The parameters and the boundary curves of the region table, computed once.
pub struct Oracle {
    alpha_bar: Q,
    xu_bar: Q,
    theta_bar: Q,
    theta: Q,
    ba_i: Q,
    xl_i: Q,
    ba_ii: Q,
    xl_ii: Q,
    ba_hl: Q,
    xu_hl: Q,
    ba_big_hl: Q,
    alpha_big_hl: Q,
    xl_big_hl: Q,
}

impl Oracle {
    /// The oracle for `p`.
    pub fn new(p: &Params) -> Self {
        let (alpha_bar, xu_bar, theta_bar) = (wad(p.alpha_bar), wad(p.xu_bar), wad(p.theta_bar));
        let theta = Q::one() - &theta_bar;
        let zero = Q::zero();
        let ba_i = compute_ba(&xu_bar, &alpha_bar, &theta_bar, &theta);
        let xl_i = breakpoints_fixed(&ba_i, &alpha_bar, &xu_bar);
        let ba_ii = compute_ba(&zero, &alpha_bar, &theta_bar, &theta);
        let xl_ii = breakpoints_fixed(&ba_ii, &alpha_bar, &zero);
        let ba_hl = max(zero.clone(), Q::one() - &theta * &theta / (int(2) * &alpha_bar));
        let (xu_hl, _) = breakpoints(&ba_hl, &alpha_bar, &xu_bar, &theta);
        let ba_big_hl = (Q::one() + &theta_bar) / int(2);
        let alpha_big_hl = alpha_of(&ba_big_hl, &alpha_bar, &theta_bar, &theta);
        let xl_big_hl = breakpoints_fixed(&ba_big_hl, &alpha_big_hl, &zero);
        Self {
            alpha_bar,
            xu_bar,
            theta_bar,
            theta,
            ba_i,
            xl_i,
            ba_ii,
            xl_ii,
            ba_hl,
            xu_hl,
            ba_big_hl,
            alpha_big_hl,
            xl_big_hl,
        }
    }

    /// The exact payout (base units, rational, clamped to `≤ Δ` and `≤ b`) of redeeming `amount` from
    /// `(x, b, y)`, and the region of the table the state is in; `None` when the supply is zero.
    pub fn redeem(&self, x: U256, b: U256, y: U256, amount: U256) -> Option<(Q, &'static str)> {
        redeem_with(self, x, b, y, amount)
    }
}

fn redeem_with(o: &Oracle, x: U256, b: U256, y: U256, amount: U256) -> Option<(Q, &'static str)> {
    if amount.is_zero() {
        return Some((Q::zero(), "nothing"));
    }
    if y.is_zero() {
        return None;
    }
    let (xq, bq, yq, aq) = (q(x), q(b), q(y), q(amount));
    let (alpha_bar, xu_bar, theta_bar, theta) = (&o.alpha_bar, &o.xu_bar, &o.theta_bar, &o.theta);
    let mut region = "par";
    let out = if bq >= yq {
        aq.clone()
    } else if bq <= theta_bar * &yq {
        region = "floor";
        &bq * &aq / &yq
    } else {
        let ya = &xq + &yq;
        let (xn, bn, yn) = (&xq / &ya, &bq / &ya, &yq / &ya);
        let (ba, r) = anchor(o, &xn, &bn, &yn);
        region = r;
        let alpha = alpha_of(&ba, alpha_bar, theta_bar, theta);
        let (xu, xl) = breakpoints(&ba, &alpha, xu_bar, theta);
        let next = reserve(&(&xn + &aq / &ya), &ba, &alpha, &xu, &xl);
        let next = if next < Q::zero() { Q::zero() } else { next };
        (bn - next) * ya
    };
    let out = if out < Q::zero() { Q::zero() } else { out };
    let out = if out > aq { aq } else { out };
    Some((if out > bq { bq } else { out }, region))
}

/// The anchor b̂_a of a normalised state, by the region table, and the region's name.
fn anchor(o: &Oracle, x: &Q, b: &Q, y: &Q) -> (Q, &'static str) {
    let (alpha_bar, xu_bar, theta_bar, theta) = (&o.alpha_bar, &o.xu_bar, &o.theta_bar, &o.theta);
    let one = Q::one();
    let zero = Q::zero();
    let r = b / y;
    let u = &one - &r;
    let boundary = |ba: &Q, alpha: &Q, xu: &Q, xl: &Q| b >= &reserve(x, ba, alpha, xu, xl);
    if boundary(&o.ba_i, alpha_bar, xu_bar, &o.xl_i) {
        if x <= xu_bar {
            return (b + x, "I-i");
        }
        if &r + alpha_bar * (x - xu_bar) <= one {
            return (b + x - alpha_bar * (x - xu_bar) * (x - xu_bar) / int(2), "I-ii");
        }
        return (&one - (&one - xu_bar) * &u + &u * &u / (int(2) * alpha_bar), "I-iii");
    }
    if boundary(&o.ba_ii, alpha_bar, &zero, &o.xl_ii) {
        let high = if o.ba_hl >= o.ba_i {
            false
        } else if o.ba_hl <= o.ba_ii {
            true
        } else {
            boundary(&o.ba_hl, alpha_bar, &o.xu_hl, &one)
        };
        if high {
            if y - b <= alpha_bar * y * y / int(2) {
                return (b + x, "II-i");
            }
            let inner = &u / alpha_bar + y / int(2);
            return (&one - alpha_bar / int(2) * &inner * &inner, "II-H");
        }
        if b - theta_bar * y >= theta * theta / (int(2) * alpha_bar) {
            return (b + x, "II-i");
        }
        let root = sqrt(&(int(2) * theta * theta * (b - theta_bar * y) / alpha_bar));
        return (&one + root - theta * (theta / (int(2) * alpha_bar) + y), "II-L");
    }
    if o.ba_big_hl < o.ba_ii && boundary(&o.ba_big_hl, &o.alpha_big_hl, &zero, &o.xl_big_hl) {
        return (&one - (y - b) / (&one - x * x), "III-H");
    }
    let gap = y - b;
    let big_p = (&gap + theta) / int(2);
    let big_q = &gap * theta + theta * theta * x * x / int(4);
    (&one - (&big_p - sqrt(&(&big_p * &big_p - big_q))), "III-L")
}

/// x_L of a normalised curve with a given x_U: 1 − sqrt((1 − x_U)² − 2(1 − b_a)/α), or 1.
fn breakpoints_fixed(ba: &Q, alpha: &Q, xu: &Q) -> Q {
    let one = Q::one();
    let radicand = (&one - xu) * (&one - xu) - int(2) * (&one - ba) / alpha;
    if radicand >= Q::zero() { &one - sqrt(&radicand) } else { one }
}
