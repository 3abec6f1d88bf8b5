//! Reserve tranche splits (docs/settlement-math.md, "Tranche splits"): deposits go to the most underweight vaults, withdrawals come from
//! the most overweight ones (water-filling), and an operation is allowed only if it leaves every vault within
//! its band around the target weight, or strictly improves every vault that is outside it.

use alloy::primitives::U256;

use super::fixed::{self, Result as MathResult};
use crate::ingest::document::Vault;

/// Default relative band around each target weight (0.1: a 50% target may sit between 45% and 55%).
pub const DEFAULT_BAND: U256 = U256::from_limbs([100_000_000_000_000_000, 0, 0, 0]);

/// Why a split cannot be made or would be unsafe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// No vaults to split across.
    #[error("no vaults")]
    NoVaults,
    /// The withdrawal is larger than everything the vaults hold.
    #[error("withdrawal of {amount} exceeds the vaults' {held}")]
    Insufficient {
        /// Asked for.
        amount: U256,
        /// Held in all vaults.
        held: U256,
    },
    /// The split leaves a vault outside its band without improving it.
    #[error("{0}")]
    OutOfBand(Box<BandViolation>),
    /// Fixed-point failure (amounts beyond 2^256 / 1e18).
    #[error(transparent)]
    Math(#[from] fixed::MathError),
}

/// A vault an operation would push (or keep) outside its band.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("vault {vault}: weight {weight} leaves target {target} ± {band} (was {before})")]
pub struct BandViolation {
    /// The vault's id.
    pub vault: String,
    /// Its weight after the operation (WAD).
    pub weight: U256,
    /// Its target weight (WAD).
    pub target: U256,
    /// The allowed deviation (WAD).
    pub band: U256,
    /// Its weight before (WAD).
    pub before: U256,
}

/// Splits a deposit of `amount` (WAD USD) over `vaults`; returns what each vault receives, in `vaults` order.
pub fn split_deposit(vaults: &[Vault], amount: U256) -> Result<Vec<U256>, SplitError> {
    let total_after = fixed::add(total(vaults)?, amount)?;
    // How far each vault is below its target share of the new total.
    let gaps = vaults
        .iter()
        .map(|v| Ok(fixed::mul_down(v.target_weight, total_after)?.saturating_sub(v.value)))
        .collect::<MathResult<Vec<_>>>()?;
    split(vaults, amount, &gaps, None)
}

/// Splits a withdrawal of `amount` (WAD USD) over `vaults`; returns what each vault gives, in `vaults` order.
/// No vault gives more than it holds.
pub fn split_withdrawal(vaults: &[Vault], amount: U256) -> Result<Vec<U256>, SplitError> {
    let held = total(vaults)?;
    if amount > held {
        return Err(SplitError::Insufficient { amount, held });
    }
    let total_after = held - amount;
    // How far each vault is above its target share of the new total.
    let gaps = vaults
        .iter()
        .map(|v| Ok(v.value.saturating_sub(fixed::mul_down(v.target_weight, total_after)?)))
        .collect::<MathResult<Vec<_>>>()?;
    let caps: Vec<U256> = vaults.iter().map(|v| v.value).collect();
    split(vaults, amount, &gaps, Some(&caps))
}

/// Water-filling: close the largest gaps first, evenly, until `amount` runs out; what is left after every gap is
/// closed goes pro rata to target weights. Integer remainders go to the largest target weight (ties: smaller
/// vault id), never past a vault's cap.
fn split(vaults: &[Vault], amount: U256, gaps: &[U256], caps: Option<&[U256]>) -> Result<Vec<U256>, SplitError> {
    if vaults.is_empty() {
        return Err(SplitError::NoVaults);
    }
    let n = vaults.len();
    let mut out = vec![U256::ZERO; n];
    let gap_total = gaps.iter().fold(U256::ZERO, |a, g| a.saturating_add(*g));
    if amount >= gap_total {
        // Close every gap, then spread the rest by target weight.
        let rest = amount - gap_total;
        for i in 0..n {
            out[i] = gaps[i] + fixed::mul_down(vaults[i].target_weight, rest)?;
        }
    } else {
        // Find the level L with Σ max(0, gap − L) = amount: walk the gaps from the largest down.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| gaps[b].cmp(&gaps[a]).then(vaults[a].id.cmp(&vaults[b].id)));
        let mut level = U256::ZERO;
        let mut spent_above = U256::ZERO; // Σ over the first k of (gap_i − gap_k)
        for k in 1..=n {
            let next = if k < n { gaps[order[k]] } else { U256::ZERO };
            // Cost of lowering the first k gaps from gaps[order[k-1]] to `next`.
            let step = (gaps[order[k - 1]] - next) * U256::from(k);
            if spent_above + step >= amount {
                let left = amount - spent_above;
                level = gaps[order[k - 1]] - left / U256::from(k);
                break;
            }
            spent_above += step;
        }
        for i in 0..n {
            out[i] = gaps[i].saturating_sub(level);
        }
    }
    if let Some(caps) = caps {
        for i in 0..n {
            out[i] = out[i].min(caps[i]);
        }
    }
    // Integer remainder: to the largest target weight first (ties by id), within caps.
    let given = out.iter().fold(U256::ZERO, |a, x| a + *x);
    let mut remainder = amount - given;
    let mut by_weight: Vec<usize> = (0..n).collect();
    by_weight
        .sort_by(|&a, &b| vaults[b].target_weight.cmp(&vaults[a].target_weight).then(vaults[a].id.cmp(&vaults[b].id)));
    for i in by_weight {
        if remainder.is_zero() {
            break;
        }
        let room = caps.map_or(remainder, |c| c[i] - out[i]);
        let add = room.min(remainder);
        out[i] += add;
        remainder -= add;
    }
    Ok(out)
}

fn total(vaults: &[Vault]) -> MathResult<U256> {
    vaults.iter().try_fold(U256::ZERO, |a, v| fixed::add(a, v.value))
}

/// Checks values `after` (same order as `vaults`, which hold the values before) against each vault's band.
pub fn check(vaults: &[Vault], after: &[U256], band: U256) -> Result<(), SplitError> {
    let (before_total, after_total) = (total(vaults)?, after.iter().try_fold(U256::ZERO, |a, v| fixed::add(a, *v))?);
    for (v, &value) in vaults.iter().zip(after) {
        let weight = if after_total.is_zero() { U256::ZERO } else { fixed::div_down(value, after_total)? };
        let before = if before_total.is_zero() { U256::ZERO } else { fixed::div_down(v.value, before_total)? };
        let allowed = fixed::mul_up(v.target_weight, band)?;
        let deviation = weight.abs_diff(v.target_weight);
        if deviation > allowed && deviation >= before.abs_diff(v.target_weight) {
            let violation =
                BandViolation { vault: v.id.clone(), weight, target: v.target_weight, band: allowed, before };
            return Err(SplitError::OutOfBand(Box::new(violation)));
        }
    }
    Ok(())
}

/// The largest distance (WAD USD) between a vault's value and its target share of the total.
pub fn max_deviation(vaults: &[Vault], values: &[U256]) -> MathResult<U256> {
    let t = values.iter().try_fold(U256::ZERO, |a, v| fixed::add(a, *v))?;
    vaults
        .iter()
        .zip(values)
        .try_fold(U256::ZERO, |m, (v, &x)| Ok(m.max(x.abs_diff(fixed::mul_down(v.target_weight, t)?))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settle::fixed::ONE;
    use proptest::prelude::*;

    fn vaults(values: &[u64], weights_pct: &[u64]) -> Vec<Vault> {
        values
            .iter()
            .zip(weights_pct)
            .enumerate()
            .map(|(i, (&v, &w))| Vault {
                id: format!("v{i}"),
                value: U256::from(v) * ONE,
                target_weight: U256::from(w) * ONE / U256::from(100),
            })
            .collect()
    }

    fn apply(vs: &[Vault], delta: &[U256], deposit: bool) -> Vec<U256> {
        vs.iter().zip(delta).map(|(v, d)| if deposit { v.value + d } else { v.value - d }).collect()
    }

    #[test]
    fn deposit_fills_the_most_underweight_first() {
        // Holdings 40/40/20, targets 50/30/20. Depositing 20: new total 120, target shares 60/36/24, gaps
        // 20/0/4; the largest gap is lowered to the next (16), then both by 2: 18/0/2.
        let vs = vaults(&[40, 40, 20], &[50, 30, 20]);
        let split = split_deposit(&vs, U256::from(20) * ONE).unwrap();
        assert_eq!(split, vec![U256::from(18) * ONE, U256::ZERO, U256::from(2) * ONE]);
        // Depositing 50: new total 150, shares 75/45/30, gaps 35/5/10 are closed exactly.
        let split = split_deposit(&vs, U256::from(50) * ONE).unwrap();
        assert_eq!(split, vec![U256::from(35) * ONE, U256::from(5) * ONE, U256::from(10) * ONE]);
    }

    #[test]
    fn withdrawal_never_takes_more_than_held() {
        let vs = vaults(&[1, 0, 99], &[50, 30, 20]);
        let split = split_withdrawal(&vs, U256::from(100) * ONE).unwrap();
        assert_eq!(split, vec![ONE, U256::ZERO, U256::from(99) * ONE]);
        assert!(matches!(split_withdrawal(&vs, U256::from(101) * ONE), Err(SplitError::Insufficient { .. })));
    }

    #[test]
    fn check_rejects_a_vault_pushed_out_of_band() {
        let vs = vaults(&[50, 30, 20], &[50, 30, 20]);
        let after = apply(&vs, &[U256::from(60) * ONE, U256::ZERO, U256::ZERO], true);
        assert!(matches!(check(&vs, &after, DEFAULT_BAND), Err(SplitError::OutOfBand(v)) if v.vault == "v0"));
        let fair = split_deposit(&vs, U256::from(60) * ONE).unwrap();
        check(&vs, &apply(&vs, &fair, true), DEFAULT_BAND).unwrap();
    }

    fn arb_vaults() -> impl Strategy<Value = Vec<Vault>> {
        prop::collection::vec((0u64..1_000_000, 1u64..100), 1..6).prop_map(|spec| {
            let wsum: u64 = spec.iter().map(|s| s.1).sum();
            let mut vs: Vec<Vault> = spec
                .iter()
                .enumerate()
                .map(|(i, &(v, w))| Vault {
                    id: format!("v{i}"),
                    value: U256::from(v) * ONE,
                    target_weight: U256::from(w) * ONE / U256::from(wsum),
                })
                .collect();
            let assigned: U256 = vs.iter().map(|v| v.target_weight).sum();
            vs[0].target_weight += ONE - assigned; // weights sum to exactly 1
            vs
        })
    }

    proptest! {
        #[test]
        fn deposits_conserve_and_are_optimal(vs in arb_vaults(), amount in 0u64..10_000_000, alt in prop::collection::vec(any::<u32>(), 6)) {
            let amount = U256::from(amount) * ONE + U256::from(amount % 7);
            let split = split_deposit(&vs, amount).unwrap();
            prop_assert_eq!(split.iter().copied().sum::<U256>(), amount);
            // Any other split of the same amount leaves a deviation at least as large (up to rounding, 1 wei per vault).
            let weights: Vec<U256> = vs.iter().zip(&alt).map(|(_, &a)| U256::from(a) + U256::from(1)).collect();
            let wsum: U256 = weights.iter().copied().sum();
            let mut other: Vec<U256> = weights.iter().map(|w| amount * *w / wsum).collect();
            let given: U256 = other.iter().copied().sum();
            other[0] += amount - given;
            let ours = max_deviation(&vs, &apply(&vs, &split, true)).unwrap();
            let theirs = max_deviation(&vs, &apply(&vs, &other, true)).unwrap();
            prop_assert!(ours <= theirs + U256::from(vs.len()), "ours {} theirs {}", ours, theirs);
        }

        #[test]
        fn withdrawals_conserve_and_never_overdraw(vs in arb_vaults(), frac in 0u64..=1000) {
            let held: U256 = vs.iter().map(|v| v.value).sum();
            let amount = held * U256::from(frac) / U256::from(1000);
            let split = split_withdrawal(&vs, amount).unwrap();
            prop_assert_eq!(split.iter().copied().sum::<U256>(), amount);
            for (v, s) in vs.iter().zip(&split) {
                prop_assert!(*s <= v.value);
            }
        }
    }
}
