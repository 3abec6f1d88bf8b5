//! Commitment issuance: a batch mints MYCO only through labor attestations it carries, each signed by a
//! configured labor attester, within its contributor's limit and cooldown (docs/batch-format.md, "Mints").

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{B256, U256};

use super::{Context, ViolationKind};
use crate::ingest::BatchState;

/// Who may attest labor, and how much one contributor may be minted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Issuance {
    /// The labor attesters' Ed25519 keys. Empty: no batch may mint.
    pub attesters: BTreeSet<B256>,
    /// The most MYCO (18 decimals) one contributor may be minted within any `window_epochs` consecutive epochs.
    pub max_per_window: U256,
    /// The window's length in epochs (at least 1).
    pub window_epochs: u64,
    /// Epochs that must pass between two mints to one contributor: a contributor minted in epoch `e` may be
    /// minted again from epoch `e + cooldown_epochs` (0 allows several mints in one epoch).
    pub cooldown_epochs: u64,
}

/// A contributor's earlier mints, as the audit of a batch needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MintHistory {
    /// The epoch of its last mint before this batch.
    pub last_epoch: Option<u64>,
    /// What it was minted in the `window_epochs − 1` epochs before this batch.
    pub minted_in_window: U256,
}

/// Every mint of `batch` is attested, within its contributor's limit, and outside its cooldown.
pub(super) fn check(batch: &BatchState, context: &Context, policy: &Issuance) -> Result<(), (ViolationKind, String)> {
    let Some(ledger) = &batch.ledger else { return Ok(()) };
    let epoch = batch.epoch;
    let mut this_epoch: BTreeMap<B256, (U256, u64)> = BTreeMap::new();
    for (i, mint) in ledger.mints.iter().enumerate() {
        if !policy.attesters.contains(&mint.attester) {
            let detail = format!("mints[{i}] is attested by {}, not a configured labor attester", mint.attester);
            return Err((ViolationKind::MintUnattested, detail));
        }
        if !mint.signature_is_valid(context.chain_id, epoch) {
            let detail =
                format!("mints[{i}]: the signature is not {}'s over this mint in epoch {epoch}", mint.attester);
            return Err((ViolationKind::MintUnattested, detail));
        }
        let history = context.mint_history.get(&mint.contributor).copied().unwrap_or_default();
        // Minted at `last`, it may be minted again from `last + cooldown` (a history at or after this epoch is
        // inside the cooldown too).
        if let Some(last) = history.last_epoch
            && epoch.checked_sub(last).is_none_or(|since| since < policy.cooldown_epochs)
        {
            let detail = format!(
                "mints[{i}]: contributor {} was minted in epoch {last}, inside its {}-epoch cooldown",
                mint.contributor, policy.cooldown_epochs
            );
            return Err((ViolationKind::MintOverLimit, detail));
        }
        let (sum, count) = this_epoch.entry(mint.contributor).or_insert((history.minted_in_window, 0));
        *count += 1;
        if *count > 1 && policy.cooldown_epochs > 0 {
            let detail = format!("mints[{i}]: contributor {} is minted twice in one epoch", mint.contributor);
            return Err((ViolationKind::MintOverLimit, detail));
        }
        let within = sum.checked_add(mint.amount).filter(|total| *total <= policy.max_per_window);
        let Some(total) = within else {
            let detail = format!(
                "mints[{i}]: contributor {} has {} MYCO units minted within {} epochs; {} more exceeds the limit {}",
                mint.contributor, sum, policy.window_epochs, mint.amount, policy.max_per_window
            );
            return Err((ViolationKind::MintOverLimit, detail));
        };
        *sum = total;
    }
    Ok(())
}
