//! Reconciliation: every escrow event against the certified off-chain ledger. Every on-chain withdrawal must
//! match a committed claim (same id, account, recipient, epoch, amount, and the payout its committed rate and
//! penalty give); every deposit must be credited by a certified batch within K epochs of being seen; every
//! credit must match a deposit on chain. Each disagreement is stored with its evidence and logged at warn;
//! nothing is dropped, and one that goes away (a late credit, a reorg) is marked resolved, not deleted.
//!
//! [`find`] is the rules over any part of the ledger; [`run`] is one pass over the store, which gives it only
//! what changed since the last pass and what is still wrong.

mod pass;

use std::collections::BTreeMap;

use alloy::primitives::U256;
use serde_json::json;

use crate::ingest::document::CreditedDeposit;
use crate::settle::{CommittedFigures, pamm};
use crate::store::claims::StoredClaim;
use crate::store::escrow::{Deposit, Withdrawal};
use crate::store::mismatches::{Found, Kind};

pub use pass::{Outcome, run};

/// Epochs a deposit may wait for its credit by default.
pub const DEFAULT_CREDIT_WITHIN_EPOCHS: u64 = 3;

/// Both sides of the ledger, as stored.
#[derive(Debug, Clone, Copy)]
pub struct Ledger<'a> {
    /// Claims of accepted batches.
    pub claims: &'a [StoredClaim],
    /// Committed reserve figures per epoch.
    pub figures: &'a BTreeMap<u64, CommittedFigures>,
    /// `Withdrawn` events.
    pub withdrawals: &'a [Withdrawal],
    /// `Deposited` events.
    pub deposits: &'a [Deposit],
    /// For each deposit, the latest accepted epoch when it was seen.
    pub seen_epochs: &'a BTreeMap<u64, u64>,
    /// Credits of accepted batches, as `(epoch, deposit)`.
    pub credits: &'a [(u64, CreditedDeposit)],
    /// The highest deposit id the watcher has stored (the chain has every deposit up to it).
    pub highest_deposit: u64,
    /// The latest accepted epoch.
    pub latest_epoch: u64,
    /// Each accepted batch's timestamp, by epoch.
    pub batch_times: &'a BTreeMap<u64, u64>,
    /// Claims reissued from a cancelled epoch: the epochs they came from and what they were priced at there.
    pub reissued: &'a BTreeMap<U256, Vec<(u64, Option<U256>)>>,
    /// The timestamp of the last block the watcher has read, if known.
    pub watcher_read_time: Option<i64>,
}

/// Every mismatch in `ledger`, deposits allowed `credit_within` epochs.
pub fn find(ledger: &Ledger<'_>, credit_within: u64, params: &pamm::Params) -> Vec<Found> {
    let mut found = withdrawals_found(ledger, params);
    found.extend(deposits_not_credited(ledger, credit_within));
    found.extend(credits_found(ledger));
    found
}

/// Each on-chain withdrawal against its committed claim: unknown, or different in any field or in the payout
/// the committed figures give.
fn withdrawals_found(ledger: &Ledger<'_>, params: &pamm::Params) -> Vec<Found> {
    let mut found = Vec::new();
    let claims: BTreeMap<U256, &StoredClaim> = ledger.claims.iter().map(|c| (c.claim.claim_id, c)).collect();
    for w in ledger.withdrawals {
        let event = json!({
            "claim_id": w.claim_id.to_string(), "account": w.account.to_string(), "recipient": w.recipient.to_string(),
            "epoch": w.epoch, "myco_amount": w.myco_amount.to_string(), "usdc_amount": w.usdc_amount.to_string(),
            "flow_penalty": w.flow_penalty.map(|p| p.to_string()),
            "prior_redeemed": w.prior_redeemed.map(|p| p.to_string()),
            "tx": w.origin.tx_hash.to_string(), "block": w.origin.block_number,
        });
        let Some(stored) = claims.get(&w.claim_id) else {
            found.push(Found {
                kind: Kind::UnknownWithdrawal,
                subject: w.claim_id.to_string(),
                epoch: Some(w.epoch),
                detail: format!(
                    "withdrawal of claim {} (tx {}) matches no committed claim",
                    w.claim_id, w.origin.tx_hash
                ),
                evidence: json!({ "event": event }),
            });
            continue;
        };
        let c = &stored.claim;
        // Paid through the leaf of the epoch it was reissued from (its cancellation undone meanwhile): the same
        // claim, at that epoch's price, paid once (the escrow's paid bit).
        let through_old_leaf =
            ledger.reissued.get(&w.claim_id).is_some_and(|from| {
                from.iter().any(|(epoch, priced)| *epoch == w.epoch && *priced == Some(w.usdc_amount))
            }) && w.account == c.account
                && w.myco_amount == c.myco_amount;
        if through_old_leaf {
            continue;
        }
        let expected = ledger.figures.get(&c.epoch).and_then(|f| c.usdc_payout(f, params).ok());
        let differs = [
            ("account", w.account == c.account),
            ("recipient", w.recipient == c.recipient),
            ("epoch", w.epoch == c.epoch),
            ("myco_amount", w.myco_amount == c.myco_amount),
            // Events from before the escrow emitted these carry none: the other fields decide for them.
            ("flow_penalty", w.flow_penalty.is_none_or(|p| p == c.flow_penalty)),
            ("prior_redeemed", w.prior_redeemed.is_none_or(|p| p == c.prior_redeemed)),
            ("usdc_amount", expected == Some(w.usdc_amount)),
        ]
        .into_iter()
        .filter_map(|(field, same)| (!same).then_some(field))
        .collect::<Vec<_>>();
        if !differs.is_empty() {
            found.push(Found {
                kind: Kind::WithdrawalDiffers,
                subject: w.claim_id.to_string(),
                epoch: Some(c.epoch),
                detail: format!(
                    "withdrawal of claim {} differs from the committed claim in {}",
                    w.claim_id,
                    differs.join(", ")
                ),
                evidence: json!({
                    "event": event,
                    "claim": {
                        "account": c.account.to_string(), "recipient": c.recipient.to_string(), "epoch": c.epoch,
                        "myco_amount": c.myco_amount.to_string(), "flow_penalty": c.flow_penalty.to_string(),
                        "prior_redeemed": c.prior_redeemed.to_string(),
                        "expected_usdc": expected.map(|x| x.to_string()),
                    },
                }),
            });
        }
    }
    found
}

/// Deposits no batch credited within `credit_within` epochs of the watcher seeing them.
fn deposits_not_credited(ledger: &Ledger<'_>, credit_within: u64) -> Vec<Found> {
    let credited: BTreeMap<u64, &(u64, CreditedDeposit)> = ledger.credits.iter().map(|c| (c.1.deposit_id, c)).collect();
    let mut found = Vec::new();
    for d in ledger.deposits {
        let seen = ledger.seen_epochs.get(&d.deposit_id).copied().unwrap_or_default();
        let waited = ledger.latest_epoch.saturating_sub(seen);
        if !credited.contains_key(&d.deposit_id) && waited >= credit_within {
            found.push(Found {
                kind: Kind::DepositNotCredited,
                subject: d.deposit_id.to_string(),
                epoch: None,
                detail: format!(
                    "deposit {} (tx {}) not credited {waited} epochs after it was seen",
                    d.deposit_id, d.origin.tx_hash
                ),
                evidence: json!({
                    "deposit_id": d.deposit_id, "recipient": d.recipient.to_string(), "amount": d.amount.to_string(),
                    "tx": d.origin.tx_hash.to_string(), "block": d.origin.block_number, "seen_at_epoch": seen,
                    "latest_epoch": ledger.latest_epoch,
                }),
            });
        }
    }
    found
}

/// Each certified credit against the chain's deposit: different, or one the chain does not have.
fn credits_found(ledger: &Ledger<'_>) -> Vec<Found> {
    let deposits: BTreeMap<u64, &Deposit> = ledger.deposits.iter().map(|d| (d.deposit_id, d)).collect();
    // Deposit ids are sequential from 1: once the watcher has seen id N, the chain has every id up to N. And a
    // batch certified at time T credits only deposits on chain by T: once the watcher has read blocks up to T, a
    // credit it has not seen names a deposit the chain does not have.
    let highest_seen = ledger.highest_deposit;
    let read_past = |epoch: u64| match (ledger.batch_times.get(&epoch), ledger.watcher_read_time) {
        (Some(&certified_at), Some(read)) => i64::try_from(certified_at).is_ok_and(|t| t <= read),
        _ => false,
    };
    let mut found = Vec::new();
    for (epoch, c) in ledger.credits {
        let credit = json!({ "epoch": epoch, "deposit_id": c.deposit_id, "account": c.account.to_string(), "amount": c.amount.to_string() });
        match deposits.get(&c.deposit_id) {
            Some(d) if d.recipient != c.account || d.amount != c.amount => found.push(Found {
                kind: Kind::CreditDiffers,
                subject: c.deposit_id.to_string(),
                epoch: Some(*epoch),
                detail: format!("epoch {epoch} credited deposit {} with another account or amount than the chain's", c.deposit_id),
                evidence: json!({ "credit": credit, "deposit": { "recipient": d.recipient.to_string(), "amount": d.amount.to_string(), "tx": d.origin.tx_hash.to_string() } }),
            }),
            None if c.deposit_id <= highest_seen || read_past(*epoch) => found.push(Found {
                kind: Kind::CreditUnknown,
                subject: c.deposit_id.to_string(),
                epoch: Some(*epoch),
                detail: format!("epoch {epoch} credited deposit {}, which the chain does not have", c.deposit_id),
                evidence: json!({
                    "credit": credit, "highest_deposit_on_chain": highest_seen,
                    "batch_time": ledger.batch_times.get(epoch), "watcher_read_time": ledger.watcher_read_time,
                }),
            }),
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256};

    use super::*;
    use crate::settle::Claim;
    use crate::store::escrow::EventOrigin;

    const WAD: u64 = 1_000_000_000_000_000_000;

    fn claim(id: u64) -> StoredClaim {
        StoredClaim {
            claim: Claim {
                claim_id: U256::from(id),
                account: B256::repeat_byte(1),
                recipient: Address::repeat_byte(2),
                myco_amount: U256::from(10 * WAD),
                flow_penalty: U256::from(WAD),
                epoch: 1,
                prior_redeemed: U256::ZERO,
            },
            proof: Vec::new(),
            paid_tx: None,
        }
    }

    fn paid(c: &StoredClaim, usdc: u64) -> Withdrawal {
        Withdrawal {
            claim_id: c.claim.claim_id,
            recipient: c.claim.recipient,
            account: c.claim.account,
            epoch: c.claim.epoch,
            myco_amount: c.claim.myco_amount,
            flow_penalty: Some(c.claim.flow_penalty),
            prior_redeemed: Some(c.claim.prior_redeemed),
            usdc_amount: U256::from(usdc),
            origin: EventOrigin {
                block_number: 9,
                block_hash: B256::ZERO,
                tx_hash: B256::repeat_byte(9),
                log_index: 0,
            },
        }
    }

    fn deposit(id: u64, amount: u64) -> Deposit {
        Deposit {
            deposit_id: id,
            depositor: Address::ZERO,
            recipient: B256::repeat_byte(3),
            amount: U256::from(amount),
            origin: EventOrigin {
                block_number: 5,
                block_hash: B256::ZERO,
                tx_hash: B256::repeat_byte(5),
                log_index: 0,
            },
        }
    }

    fn kinds(
        claims: &[StoredClaim],
        withdrawals: &[Withdrawal],
        deposits: &[Deposit],
        credits: &[(u64, CreditedDeposit)],
        latest_epoch: u64,
    ) -> Vec<(Kind, String)> {
        kinds_reissued(claims, withdrawals, deposits, credits, latest_epoch, &BTreeMap::new())
    }

    fn kinds_reissued(
        claims: &[StoredClaim],
        withdrawals: &[Withdrawal],
        deposits: &[Deposit],
        credits: &[(u64, CreditedDeposit)],
        latest_epoch: u64,
        reissued: &BTreeMap<U256, Vec<(u64, Option<U256>)>>,
    ) -> Vec<(Kind, String)> {
        let figures = BTreeMap::from([(
            1,
            CommittedFigures {
                total_supply: U256::from(1000u128 * WAD as u128),
                total_reserve: U256::from(1000u128 * WAD as u128),
                flow_pressure: U256::ZERO,
            },
        )]);
        let seen = deposits.iter().map(|d| (d.deposit_id, 1)).collect();
        let batch_times = (1..=latest_epoch.max(1)).map(|e| (e, 100 * e)).collect();
        let ledger = Ledger {
            claims,
            figures: &figures,
            withdrawals,
            deposits,
            seen_epochs: &seen,
            credits,
            highest_deposit: deposits.iter().map(|d| d.deposit_id).max().unwrap_or(0),
            latest_epoch,
            batch_times: &batch_times,
            reissued,
            watcher_read_time: Some(150),
        };
        find(&ledger, 3, &pamm::Params::default()).into_iter().map(|f| (f.kind, f.subject)).collect()
    }

    #[test]
    fn a_withdrawal_paying_the_committed_rate_matches() {
        let c = claim(1);
        assert!(kinds(std::slice::from_ref(&c), &[paid(&c, 10_000_000)], &[], &[], 1).is_empty());
    }

    /// A claim reissued from a cancelled epoch and then paid through its old leaf (the cancellation undone
    /// meanwhile) is the same claim at the old epoch's price: no mismatch. At another price it differs.
    #[test]
    fn a_payment_through_a_reissued_claims_old_leaf_matches_its_old_price() {
        let mut c = claim(1);
        c.claim.epoch = 3;
        let mut old = paid(&claim(1), 7_000_000);
        old.epoch = 1;
        let reissued = BTreeMap::from([(c.claim.claim_id, vec![(1, Some(U256::from(7_000_000u64)))])]);
        let one = std::slice::from_ref(&c);
        assert!(kinds_reissued(one, std::slice::from_ref(&old), &[], &[], 3, &reissued).is_empty());
        old.usdc_amount = U256::from(7_000_001u64);
        assert_eq!(
            kinds_reissued(one, &[old], &[], &[], 3, &reissued),
            [(Kind::WithdrawalDiffers, "1".into())],
            "another price is another payment"
        );
    }

    #[test]
    fn unknown_or_differing_withdrawals_are_mismatches() {
        let c = claim(1);
        let unknown = paid(&claim(2), 10_000_000);
        let overpaid = paid(&c, 10_000_001);
        assert_eq!(
            kinds(std::slice::from_ref(&c), &[unknown, overpaid], &[], &[], 1),
            [(Kind::UnknownWithdrawal, "2".into()), (Kind::WithdrawalDiffers, "1".into())]
        );
    }

    /// The event's penalty and slice start are checked too: a payout at the right USDC but for another slice of
    /// the curve, or under another penalty, is not the committed claim. An event stored before the escrow
    /// emitted them is judged on the other fields.
    #[test]
    fn a_withdrawal_with_another_penalty_or_slice_differs() {
        let c = claim(1);
        let mut penalty = paid(&c, 10_000_000);
        penalty.flow_penalty = Some(U256::from(2 * WAD));
        assert_eq!(kinds(std::slice::from_ref(&c), &[penalty], &[], &[], 1), [(Kind::WithdrawalDiffers, "1".into())]);
        let mut slice = paid(&c, 10_000_000);
        slice.prior_redeemed = Some(U256::from(1));
        assert_eq!(kinds(std::slice::from_ref(&c), &[slice], &[], &[], 1), [(Kind::WithdrawalDiffers, "1".into())]);
        let mut older = paid(&c, 10_000_000);
        (older.flow_penalty, older.prior_redeemed) = (None, None);
        assert!(kinds(std::slice::from_ref(&c), &[older], &[], &[], 1).is_empty());
    }

    #[test]
    fn a_deposit_must_be_credited_within_k_epochs() {
        let d = deposit(1, 5);
        assert!(kinds(&[], &[], std::slice::from_ref(&d), &[], 3).is_empty(), "two epochs after: still in time");
        assert_eq!(kinds(&[], &[], std::slice::from_ref(&d), &[], 4), [(Kind::DepositNotCredited, "1".into())]);
        let credit = CreditedDeposit { deposit_id: 1, account: d.recipient, amount: d.amount };
        assert!(kinds(&[], &[], &[d], &[(2, credit)], 9).is_empty());
    }

    #[test]
    fn credits_must_match_the_chain() {
        let d = deposit(2, 5);
        let wrong = CreditedDeposit { deposit_id: 2, account: d.recipient, amount: U256::from(6) };
        let missing = CreditedDeposit { deposit_id: 1, account: d.recipient, amount: U256::from(5) };
        let not_yet_seen = CreditedDeposit { deposit_id: 3, account: d.recipient, amount: U256::from(5) };
        // Epoch 2's batch (time 200) is newer than what the watcher has read (150): its deposit may still come.
        assert_eq!(
            kinds(&[], &[], std::slice::from_ref(&d), &[(1, wrong), (1, missing), (2, not_yet_seen)], 2),
            [(Kind::CreditDiffers, "2".into()), (Kind::CreditUnknown, "1".into())]
        );
        // Epoch 1's batch (time 100) is older: the watcher has read every block up to its time and saw no
        // deposit 3, so the chain does not have it, although it is above every id seen.
        let never_emitted = CreditedDeposit { deposit_id: 3, account: d.recipient, amount: U256::from(5) };
        assert_eq!(kinds(&[], &[], &[d], &[(1, never_emitted)], 2), [(Kind::CreditUnknown, "3".into())]);
    }
}
