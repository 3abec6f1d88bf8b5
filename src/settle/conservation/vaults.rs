//! The reserve's vaults from one batch to the next (docs/settlement-math.md, "Conservation between epochs"):
//! the previous batch's claims are paid from the most overweight vaults (the withdrawal split), then the
//! batch's revaluations apply, then its deposits go to the most underweight vaults (the deposit split). Each
//! split must leave every vault within its band or strictly improve it.

use alloy::primitives::U256;

use super::{ViolationKind, WAD_PER_USDC_UNIT};
use crate::ingest::BatchState;
use crate::ingest::document::{Revaluation, Vault};
use crate::settle::tranche;

/// The vault values after paying `paid_usd` from `previous`, applying `revaluations` and crediting `deposited_usd`
/// (all WAD USD), in `previous` order; or the rule it breaks. The simulator builds its batches with this, and
/// the audit checks them against it.
pub fn next_vaults(
    previous: &[Vault],
    paid_usd: U256,
    revaluations: &[Revaluation],
    deposited_usd: U256,
    band: U256,
) -> Result<Vec<U256>, (ViolationKind, String)> {
    let split_failed = |what: &str, e: tranche::SplitError| match e {
        tranche::SplitError::OutOfBand(v) => (ViolationKind::TrancheOutOfBand, format!("{what}: {v}")),
        other => (ViolationKind::VaultUnexplained, format!("{what}: {other}")),
    };
    let mut values: Vec<U256> = previous.iter().map(|v| v.value).collect();
    if !paid_usd.is_zero() {
        let drawn = tranche::split_withdrawal(previous, paid_usd).map_err(|e| split_failed("withdrawal split", e))?;
        let after: Vec<U256> = values.iter().zip(&drawn).map(|(v, d)| *v - *d).collect();
        tranche::check(previous, &after, band).map_err(|e| split_failed("withdrawal split", e))?;
        values = after;
    }
    for r in revaluations {
        let Some(i) = previous.iter().position(|v| v.id == r.vault) else {
            return Err((ViolationKind::VaultUnexplained, format!("revaluation of unknown vault {:?}", r.vault)));
        };
        values[i] = if r.loss {
            values[i].checked_sub(r.amount).ok_or_else(|| {
                let detail = format!("vault {:?} loses {} but holds {}", r.vault, r.amount, values[i]);
                (ViolationKind::VaultUnexplained, detail)
            })?
        } else {
            values[i] + r.amount
        };
    }
    if !deposited_usd.is_zero() {
        let current: Vec<Vault> = previous.iter().zip(&values).map(|(v, x)| Vault { value: *x, ..v.clone() }).collect();
        let given = tranche::split_deposit(&current, deposited_usd).map_err(|e| split_failed("deposit split", e))?;
        let after: Vec<U256> = values.iter().zip(&given).map(|(v, g)| *v + *g).collect();
        tranche::check(&current, &after, band).map_err(|e| split_failed("deposit split", e))?;
        values = after;
    }
    Ok(values)
}

/// The batch's vaults are the previous batch's moved by exactly its flows.
pub(super) fn check(
    previous: &BatchState,
    batch: &BatchState,
    paid_usd: U256,
    reissued_usd: U256,
    band: U256,
) -> Result<(), (ViolationKind, String)> {
    let (before, after) = (&previous.reserve.vaults, &batch.reserve.vaults);
    if before.is_empty() && after.is_empty() {
        return Ok(());
    }
    let same_set = before.len() == after.len()
        && before.iter().zip(after).all(|(a, b)| a.id == b.id && a.target_weight == b.target_weight);
    if !same_set {
        let detail = "the vaults (ids, order or target weights) differ from the previous batch's".to_string();
        return Err((ViolationKind::VaultUnexplained, detail));
    }
    let revaluations = batch.ledger.as_ref().map(|l| l.revaluations.as_slice()).unwrap_or_default();
    let deposited: U256 = batch.deposits.iter().map(|d| d.amount).sum();
    // What reissued claims return to the reserve goes in as a deposit does.
    let expected = next_vaults(before, paid_usd, revaluations, deposited * WAD_PER_USDC_UNIT + reissued_usd, band)?;
    for (vault, want) in after.iter().zip(expected) {
        if vault.value != want {
            let detail = format!(
                "vault {:?} holds {} WAD USD, its flows make it {want} (off by {})",
                vault.id,
                vault.value,
                vault.value.abs_diff(want)
            );
            return Err((ViolationKind::VaultUnexplained, detail));
        }
    }
    Ok(())
}
