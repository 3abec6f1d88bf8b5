//! Run protection audited across epochs (docs/settlement-math.md, "Run protection between epochs"): the P-AMM's
//! redemption level and the per-account flow trackers are the memory that makes a run expensive, so a batch may
//! not reset them. Checked for bounds alone, a quorum (or one bug every validator shares) could zero them each
//! epoch and pay every withdrawal at par with no flow penalty.
//!
//! - The redemption level moves only by the previous epoch's redemptions: with the previous batch's withdrawals
//!   summing to `R > 0`, `level = decay(level', δ, t' − updated') + R` and `updated = t'` (`'` the previous batch,
//!   `δ` the escrow's decay); with none, both stay as they were. Exact, as the escrow's own pricing is.
//! - A flow tracker is never lowered: every tracker of the previous batch is still there (unless its flow has
//!   decayed to zero), its memory not lower, its threshold not higher, its `t_last` not earlier (nor after the
//!   batch), and its flow decayed to the batch's time not below the previous tracker's decayed there (within a
//!   part in 10^12: decaying in two steps rounds differently from one). A new tracker starts no laxer than the
//!   defaults. An account withdrawing in the batch has a tracker holding at least its largest withdrawal. Merged
//!   replicas keep the larger flow, not the sum (a lattice join), so these are bounds, not an equation.
//! - A reissued claim (a request with `reissues`) is not a new redemption: it raised the level and its tracker
//!   when it was first requested, so it counts in neither rule again.

use alloy::primitives::U256;

use super::ViolationKind;
use crate::ingest::BatchState;
use crate::ingest::document::FlowTracker;
use crate::settle::{flow, pamm};

/// Parts of a flow that two-step decay may round away: one in 10^12.
const DECAY_ROUNDING: U256 = U256::from_limbs([1_000_000_000_000, 0, 0, 0]);

/// Checks `batch`'s redemption level and flow trackers against `previous`'s.
pub(super) fn check(
    previous: &BatchState,
    batch: &BatchState,
    params: &pamm::Params,
) -> Result<(), (ViolationKind, String)> {
    redemption_level(previous, batch, params)?;
    trackers(previous, batch)
}

fn redemption_level(
    previous: &BatchState,
    batch: &BatchState,
    params: &pamm::Params,
) -> Result<(), (ViolationKind, String)> {
    let unexplained = |detail: String| (ViolationKind::RedemptionLevelUnexplained, detail);
    let (p, r) = (&previous.reserve, &batch.reserve);
    // A reissued claim was counted when first requested (its epoch's redemption raised the level then).
    let overflow = || unexplained("the previous level and its redemptions sum past 2^256".into());
    let redeemed = previous
        .withdrawals
        .iter()
        .filter(|w| w.reissues.is_none())
        .try_fold(U256::ZERO, |sum, w| sum.checked_add(w.amount))
        .ok_or_else(overflow)?;
    let (level, updated) = if redeemed.is_zero() {
        (p.redemption_level, p.redemption_updated)
    } else {
        let elapsed = previous.timestamp.saturating_sub(p.redemption_updated);
        let decayed = pamm::decay(p.redemption_level, params.decay, elapsed)
            .map_err(|e| unexplained(format!("the previous level cannot be decayed: {e}")))?;
        (decayed.checked_add(redeemed).ok_or_else(overflow)?, previous.timestamp)
    };
    if (r.redemption_level, r.redemption_updated) != (level, updated) {
        return Err(unexplained(format!(
            "redemption level {} updated at {}; the previous batch's level {} (updated at {}) and its {} MYCO \
             units redeemed make it {level} updated at {updated}",
            r.redemption_level, r.redemption_updated, p.redemption_level, p.redemption_updated, redeemed
        )));
    }
    Ok(())
}

fn trackers(previous: &BatchState, batch: &BatchState) -> Result<(), (ViolationKind, String)> {
    let reset = |account: &alloy::primitives::B256, what: String| {
        (ViolationKind::FlowTrackerReset, format!("account {account}: {what}"))
    };
    let t = batch.timestamp;
    let at = |tracker: &FlowTracker| flow::decayed(tracker, t).unwrap_or(U256::MAX);
    for (account, before) in &previous.flows {
        let Some(after) = batch.flows.get(account) else {
            if !at(before).is_zero() {
                return Err(reset(account, format!("its tracker (flow {} at the batch time) is gone", at(before))));
            }
            continue;
        };
        if after.memory < before.memory {
            return Err(reset(account, format!("memory lowered from {} to {}", before.memory, after.memory)));
        }
        if after.threshold > before.threshold {
            return Err(reset(account, format!("threshold raised from {} to {}", before.threshold, after.threshold)));
        }
        if after.t_last < before.t_last || after.t_last > t {
            return Err(reset(
                account,
                format!("t_last {} is before {} or after the batch's {t}", after.t_last, before.t_last),
            ));
        }
        let (was, is) = (at(before), at(after));
        if is < was - was / DECAY_ROUNDING {
            return Err(reset(account, format!("flow decayed to the batch time fell from {was} to {is}")));
        }
    }
    for (account, tracker) in batch.flows.iter().filter(|(a, _)| !previous.flows.contains_key(*a)) {
        if tracker.memory < flow::DEFAULT_MEMORY || tracker.threshold > flow::DEFAULT_THRESHOLD {
            return Err(reset(
                account,
                format!(
                    "a new tracker laxer than the defaults (memory {}, threshold {})",
                    tracker.memory, tracker.threshold
                ),
            ));
        }
        if tracker.t_last > t {
            return Err(reset(account, format!("t_last {} after the batch's {t}", tracker.t_last)));
        }
    }
    for w in batch.withdrawals.iter().filter(|w| w.reissues.is_none()) {
        let held = batch.flows.get(&w.account).map_or(U256::ZERO, at);
        if held < w.amount {
            return Err(reset(&w.account, format!("withdraws {} but its tracker holds {held}", w.amount)));
        }
    }
    Ok(())
}
