use alloy::primitives::U256;
use proptest::prelude::*;

use super::anchor::{reserve_fixed, reserve_up};
use super::*;

fn w(x: u64) -> U256 {
    U256::from(x) * ONE
}

/// MATH.md's test vector: curve y_a = 100, α = 0.01, x_U = 30, x_L = 70 (r_L = 0.6); from x = 30, b = 50,
/// y = 70, redeeming 10 pays 9.5.
#[test]
fn math_md_test_vector() {
    let alpha = ONE / U256::from(100);
    assert_eq!(reserve_fixed(w(30), w(80), w(100), alpha, w(30), w(70)).unwrap(), w(50));
    assert_eq!(reserve_fixed(w(40), w(80), w(100), alpha, w(30), w(70)).unwrap(), w(40) + ONE / U256::from(2));
    // The same through anchor reconstruction with the default parameters (ᾱ/y_a = 0.01, x̄_U·y_a = 30).
    let paid = redeem(&State { x: w(30), b: w(50), y: w(70) }, w(10), &Params::default()).unwrap();
    assert_eq!(paid, w(9) + ONE / U256::from(2));
    assert_eq!(reserve_up(w(40), w(80), w(100), &Params::default()).unwrap(), w(40) + ONE / U256::from(2));
}

#[test]
fn edge_cases() {
    let p = Params::default();
    // Fully backed: par, but never more than the reserve.
    assert_eq!(redeem(&State { x: w(5), b: w(100), y: w(100) }, w(7), &p).unwrap(), w(7));
    assert_eq!(redeem(&State { x: U256::ZERO, b: w(120), y: w(100) }, w(150), &p).unwrap(), w(120));
    // Exactly at the floor ratio θ̄ = 0.6: the reserve's ratio.
    assert_eq!(redeem(&State { x: U256::ZERO, b: w(60), y: w(100) }, w(10), &p).unwrap(), w(6));
    // Nothing to redeem, nothing outstanding.
    assert_eq!(redeem(&State { x: U256::ZERO, b: w(50), y: w(100) }, U256::ZERO, &p).unwrap(), U256::ZERO);
    assert_eq!(redeem(&State { x: U256::ZERO, b: w(50), y: U256::ZERO }, w(1), &p), Err(MathError::DivisionByZero));
    // Dust and huge amounts.
    let s = State { x: w(10), b: w(90), y: w(100) };
    assert!(redeem(&s, U256::from(1), &p).unwrap() <= U256::from(1));
    let huge = U256::from(1u128 << 100);
    assert!(redeem(&State { x: huge, b: huge * U256::from(9), y: huge * U256::from(10) }, huge, &p).unwrap() <= huge);
    // Redeeming more than the supply pays no more than the reserve.
    assert!(redeem(&s, w(1000), &p).unwrap() <= w(90));
}

#[test]
fn parameter_thresholds() {
    // With ᾱ = 1, x̄_U = 0.3, θ̄ = 0.6: b_I = 1 − 0.4·0.7 + 0.16/2, b_II = 1 − 0.4 + 0.08, x_L at each.
    let d = Derived::of(&Params::default()).unwrap();
    let wad = |x: u64| U256::from(x) * (ONE / U256::from(100));
    assert_eq!((d.ba_i, d.ba_ii, d.xl_i, d.xl_ii), (wad(80), wad(68), wad(70), wad(40)));
    assert_eq!((d.ba_hl, d.ba_big_hl), (wad(92), wad(80)));
}

#[test]
fn decay_halves_in_two_days() {
    let half = decay(w(1000), Params::default().decay, 172_800).unwrap();
    assert!(half > w(499) && half < w(501), "{half}");
}

/// A grid of realistic states (backing 0 to 1.1, redemption level 0 to 2× supply, amounts to 1.2× supply, at
/// three scales): none of them reverts.
#[test]
fn realistic_states_never_fail() {
    let p = Params::default();
    for y in [1u64, 1_000, 1_000_000_000] {
        let y = w(y);
        for b in (0..=1100u64).step_by(25) {
            for x in (0..=2000u64).step_by(50) {
                let s = State { x: y * U256::from(x) / U256::from(1000), b: y * U256::from(b) / U256::from(1000), y };
                for a in (0..=1200u64).step_by(100) {
                    let amount = y * U256::from(a) / U256::from(1000);
                    let paid = redeem(&s, amount, &p).unwrap_or_else(|e| panic!("{s:?} redeeming {amount}: {e}"));
                    assert!(paid <= amount && paid <= s.b);
                }
            }
        }
    }
}

/// States below full backing and above the floor, in every region.
fn arb_state() -> impl Strategy<Value = State> {
    (1u64..1_000_000, 610u64..1000, 0u64..1000).prop_map(|(y, ratio_permille, x_permille)| {
        let y = w(y);
        State {
            b: y * U256::from(ratio_permille) / U256::from(1000),
            y,
            x: y * U256::from(x_permille) / U256::from(1000),
        }
    })
}

proptest! {
    #[test]
    fn never_above_par_nor_the_reserve_and_monotone(s in arb_state(), a in 1u64..1_000_000, b in 1u64..1_000_000) {
        let p = Params::default();
        let (small, large) = (U256::from(a.min(b)) * s.y / U256::from(1_000_000), U256::from(a.max(b)) * s.y / U256::from(1_000_000));
        let (ps, pl) = (redeem(&s, small, &p).unwrap(), redeem(&s, large, &p).unwrap());
        prop_assert!(ps <= small && pl <= large && pl <= s.b);
        prop_assert!(ps <= pl, "paying more for less: {} > {}", ps, pl);
    }

    #[test]
    fn splitting_a_redemption_gains_nothing(s in arb_state(), a in 1u64..500_000, b in 1u64..500_000) {
        let p = Params::default();
        let (d1, d2) = (U256::from(a) * s.y / U256::from(1_000_000), U256::from(b) * s.y / U256::from(1_000_000));
        let whole = redeem(&s, d1 + d2, &p).unwrap();
        let first = redeem(&s, d1, &p).unwrap();
        let after = State { x: s.x + d1, b: s.b - first, y: s.y - d1 };
        let second = redeem(&after, d2, &p).unwrap();
        // Path independence holds exactly in real numbers; in fixed point the anchor is re-derived from
        // normalised figures, so allow rounding relative to the anchor's scale (y_a / 1e12).
        let tolerance = (s.x + s.y) / U256::from(1_000_000_000_000u64) + U256::from(2);
        prop_assert!(first + second <= whole + tolerance, "split {} + {} vs whole {}", first, second, whole);
    }
}
