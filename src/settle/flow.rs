//! Flow dampening (docs/settlement-math.md, "Flow dampening"): a per-account memory of outflow, decaying per second, and the penalty a
//! large outflow relative to the account's balance pays. Trackers are CRDT state: merging two replicas of one
//! account's tracker at a common time keeps the larger decayed flow, which is exactly commutative,
//! associative and idempotent.

use alloy::primitives::U256;

use super::fixed::{self, ONE, Result};
use crate::ingest::document::FlowTracker;

/// Default per-second decay of outflow memory (0.999).
pub const DEFAULT_MEMORY: U256 = U256::from_limbs([999_000_000_000_000_000, 0, 0, 0]);
/// Default threshold: outflow above this fraction of the balance is penalised (0.1).
pub const DEFAULT_THRESHOLD: U256 = U256::from_limbs([100_000_000_000_000_000, 0, 0, 0]);
/// Largest penalty (4.0).
pub const MAX_PENALTY: U256 = U256::from_limbs([4_000_000_000_000_000_000, 0, 0, 0]);

/// The tracker's flow decayed to time `t` (`t` before `t_last` decays nothing).
pub fn decayed(tracker: &FlowTracker, t: u64) -> Result<U256> {
    let factor = fixed::int_pow_down(tracker.memory, t.saturating_sub(tracker.t_last))?;
    fixed::mul_down(factor, tracker.flow)
}

/// Records an outflow of `amount` at time `t`: `flow ← memory^(t − t_last)·flow + amount`.
pub fn record(tracker: &FlowTracker, amount: U256, t: u64) -> Result<FlowTracker> {
    Ok(FlowTracker {
        flow: fixed::add(decayed(tracker, t)?, amount)?,
        t_last: t.max(tracker.t_last),
        ..tracker.clone()
    })
}

/// The penalty for `flow` against `balance`: `max(1, (flow / (threshold·balance))²)`, rounded up, capped at
/// [`MAX_PENALTY`]; a zero balance with any flow pays the cap.
pub fn penalty(flow: U256, balance: U256, threshold: U256) -> Result<U256> {
    if flow.is_zero() {
        return Ok(ONE);
    }
    let allowance = fixed::mul_down(threshold, balance)?;
    if allowance.is_zero() {
        return Ok(MAX_PENALTY);
    }
    let ratio = fixed::div_up(flow, allowance)?;
    // A ratio past 2 already hits the cap; stopping here also keeps the square from overflowing.
    if ratio >= U256::from(2) * ONE {
        return Ok(MAX_PENALTY);
    }
    Ok(fixed::mul_up(ratio, ratio)?.clamp(ONE, MAX_PENALTY))
}

/// Merges two replicas of one account's tracker at time `at` (the batch's time): the larger of the two flows
/// decayed to `at`, the slower memory and the stricter threshold. Decaying to one common time makes this a lattice
/// join, so it is exactly commutative, associative and idempotent (decaying twice to different times would not
/// be, by a wei of rounding). `at` below either tracker's `t_last` is raised to it.
pub fn merge(a: &FlowTracker, b: &FlowTracker, at: u64) -> Result<FlowTracker> {
    let t = at.max(a.t_last).max(b.t_last);
    Ok(FlowTracker {
        flow: decayed(a, t)?.max(decayed(b, t)?),
        t_last: t,
        memory: a.memory.max(b.memory),
        threshold: a.threshold.min(b.threshold),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn wad(x: u64) -> U256 {
        U256::from(x) * ONE
    }

    fn tracker(flow: u64, t_last: u64) -> FlowTracker {
        FlowTracker { flow: wad(flow), t_last, memory: DEFAULT_MEMORY, threshold: DEFAULT_THRESHOLD }
    }

    #[test]
    fn penalty_examples() {
        // Within the threshold: no penalty.
        assert_eq!(penalty(wad(10), wad(100), DEFAULT_THRESHOLD).unwrap(), ONE);
        // 1.5x the allowance: 2.25.
        assert_eq!(penalty(wad(15), wad(100), DEFAULT_THRESHOLD).unwrap(), U256::from(2_250_000_000_000_000_000u64));
        // Far past it, or with nothing to hold: the cap.
        assert_eq!(penalty(wad(1_000), wad(100), DEFAULT_THRESHOLD).unwrap(), MAX_PENALTY);
        assert_eq!(penalty(wad(1), U256::ZERO, DEFAULT_THRESHOLD).unwrap(), MAX_PENALTY);
        assert_eq!(penalty(U256::ZERO, U256::ZERO, DEFAULT_THRESHOLD).unwrap(), ONE);
    }

    #[test]
    fn flow_decays_with_time() {
        let t = record(&tracker(0, 0), wad(100), 0).unwrap();
        assert_eq!(t.flow, wad(100));
        let later = decayed(&t, 693).unwrap(); // 0.999^693 ≈ 0.5
        assert!(later > wad(49) && later < wad(51), "{later}");
    }

    fn arb_tracker() -> impl Strategy<Value = FlowTracker> {
        (0u64..1_000_000, 0u64..100_000, 990_000_000_000_000_000u64..=1_000_000_000_000_000_000, 1u64..5).prop_map(
            |(flow, t_last, memory, th)| FlowTracker {
                flow: wad(flow),
                t_last,
                memory: U256::from(memory),
                threshold: DEFAULT_THRESHOLD * U256::from(th),
            },
        )
    }

    proptest! {
        #[test]
        fn merge_is_commutative_associative_and_idempotent(
            a in arb_tracker(), b in arb_tracker(), c in arb_tracker(), later in 0u64..100_000,
        ) {
            let at = a.t_last.max(b.t_last).max(c.t_last) + later;
            let m = |x: &FlowTracker, y: &FlowTracker| merge(x, y, at).unwrap();
            prop_assert_eq!(m(&a, &b), m(&b, &a));
            prop_assert_eq!(m(&m(&a, &b), &c), m(&a, &m(&b, &c)));
            let once = m(&a, &a);
            prop_assert_eq!(m(&once, &once), once.clone());
            prop_assert_eq!(m(&once, &a), once);
        }

        #[test]
        fn penalty_is_at_least_one_capped_and_monotone_in_flow(f in 0u64..1_000_000, g in 0u64..1_000_000, bal in 0u64..1_000_000) {
            let (lo, hi) = (f.min(g), f.max(g));
            let p_lo = penalty(wad(lo), wad(bal), DEFAULT_THRESHOLD).unwrap();
            let p_hi = penalty(wad(hi), wad(bal), DEFAULT_THRESHOLD).unwrap();
            prop_assert!(ONE <= p_lo && p_lo <= p_hi && p_hi <= MAX_PENALTY);
        }
    }
}
