//! One reconciliation pass over the store, from where the last one stopped (`store::reconciled`).

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::U256;

use super::{Ledger, find};
use crate::ids::{ClaimId, Epoch};
use crate::ingest::document::CreditedDeposit;
use crate::settle::pamm;
use crate::store::escrow::{Among, Deposit};
use crate::store::mismatches::{self, Found, Kind};
use crate::store::{self, Pool, batches, claims, credits, escrow, reconciled};

/// What one reconciliation pass changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Mismatches open after the pass.
    pub open: usize,
    /// Mismatches newly opened by it.
    pub opened: usize,
    /// Mismatches it marked resolved.
    pub resolved: u64,
}

/// One pass: reads what changed since the last pass (`store::reconciled`) and the subjects of every open mismatch,
/// records each mismatch found among them (logging new ones at warn), resolves the open ones no longer found, and
/// moves the cursors, in one transaction. Its cost follows the new events, the pending deposits and credits, and
/// the open mismatches, not the history: a store with a million events reconciles a new epoch as fast as an empty
/// one (`cargo bench --bench history`).
pub async fn run(pool: &Pool, credit_within: u64, params: &pamm::Params) -> store::Result<Outcome> {
    let from = reconciled::get(pool).await?;
    // Read the bounds first: what the watcher and the reader store meanwhile is for the next pass.
    let watcher_next = escrow::cursor(pool).await?.unwrap_or(0);
    let latest_epoch = batches::last(pool).await?.map_or(0, |(epoch, _)| epoch.0);
    let watcher_read_time = escrow::read_time(pool).await?;
    let highest_deposit = escrow::highest_deposit(pool).await?;
    let open = mismatches::open(pool).await?;
    let open_subjects = |kinds: &[Kind]| -> Vec<String> {
        open.iter().filter(|m| kinds.iter().any(|k| k.as_str() == m.kind)).map(|m| m.subject.clone()).collect()
    };

    // Withdrawals: those in blocks read since the last pass, and those with an open mismatch (a claim that arrives
    // later, or a reorg that took the event away, changes what they are).
    let mut withdrawals =
        escrow::withdrawals_among(pool, Among::Blocks(from.withdrawals_from_block, watcher_next)).await?;
    let read: BTreeSet<U256> = withdrawals.iter().map(|w| w.claim_id).collect();
    let reopened: Vec<U256> = open_subjects(&[Kind::UnknownWithdrawal, Kind::WithdrawalDiffers])
        .iter()
        .filter_map(|s| s.parse().ok())
        .filter(|id| !read.contains(id))
        .collect();
    withdrawals.extend(escrow::withdrawals_among(pool, Among::Claims(&reopened)).await?);
    let claim_ids: Vec<ClaimId> = withdrawals.iter().map(|w| ClaimId(w.claim_id)).collect();
    let claims = claims::among(pool, &claim_ids).await?;

    // Deposits after the cursor (every one before it is credited or has an open mismatch) and those with an open
    // mismatch; credits of epochs since the last pass, and of every deposit looked at.
    let after = escrow::deposits_among(pool, Among::DepositsAfter(from.deposits_after)).await?;
    let examined_up_to = after.last().map(|(d, _)| d.deposit_id);
    let read: BTreeSet<u64> = after.iter().map(|(d, _)| d.deposit_id).collect();
    let mut deposit_ids = read.clone();
    let reopened: Vec<u64> = open_subjects(&[Kind::DepositNotCredited, Kind::CreditDiffers, Kind::CreditUnknown])
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let mut credits = credits::of_epochs(pool, Epoch(from.credits_from_epoch), Epoch(latest_epoch)).await?;
    deposit_ids.extend(reopened.iter().copied());
    deposit_ids.extend(credits.iter().map(|(_, c)| c.deposit_id));
    let wanted: Vec<u64> = deposit_ids.difference(&read).copied().collect();
    let mut deposits = after;
    deposits.extend(escrow::deposits_among(pool, Among::Deposits(&wanted)).await?);
    let ids: Vec<u64> = deposit_ids.iter().copied().collect();
    let listed: BTreeSet<u64> = credits.iter().map(|(_, c)| c.deposit_id).collect();
    credits
        .extend(credits::of_deposits(pool, &ids).await?.into_iter().filter(|(_, c)| !listed.contains(&c.deposit_id)));
    let credits: Vec<(u64, CreditedDeposit)> = credits.into_iter().map(|(epoch, d)| (epoch.0, d)).collect();

    // The figures and times of the epochs those claims and credits belong to.
    let mut figures = BTreeMap::new();
    let mut batch_times = BTreeMap::new();
    let epochs: BTreeSet<u64> = claims.iter().map(|c| c.claim.epoch).chain(credits.iter().map(|(e, _)| *e)).collect();
    for epoch in epochs {
        if let Some(b) = batches::get(pool, Epoch(epoch)).await? {
            figures.insert(epoch, b.reserve);
            batch_times.insert(epoch, b.timestamp);
        }
    }
    let seen_epochs: BTreeMap<u64, u64> = deposits.iter().map(|(d, seen)| (d.deposit_id, *seen)).collect();
    let deposits: Vec<Deposit> = deposits.into_iter().map(|(d, _)| d).collect();
    let claim_ids: Vec<crate::ids::ClaimId> = claims.iter().map(|c| c.claim.claim_id.into()).collect();
    let reissued = crate::store::reissues::priced_origins(pool, &claim_ids).await?;
    let ledger = Ledger {
        claims: &claims,
        figures: &figures,
        withdrawals: &withdrawals,
        deposits: &deposits,
        seen_epochs: &seen_epochs,
        credits: &credits,
        highest_deposit,
        latest_epoch,
        batch_times: &batch_times,
        reissued: &reissued,
        watcher_read_time,
    };
    let found = find(&ledger, credit_within, params);
    let next = next_cursors(&ledger, &found, from, watcher_next, examined_up_to);

    let mut tx = store::begin(pool).await?;
    let mut opened = 0;
    for f in &found {
        if mismatches::record(&mut tx, f).await? {
            opened += 1;
            tracing::warn!(kind = f.kind.as_str(), subject = %f.subject, detail = %f.detail, "MISMATCH between chain and ledger");
        }
    }
    // Every kind but a claim paid twice, which the watcher records as it reads the event. Each open mismatch's
    // subject was looked at again, so one not found now is gone.
    let decided: Vec<Kind> = Kind::ALL.into_iter().filter(|k| *k != Kind::ClaimPaidTwice).collect();
    let resolved = mismatches::resolve_absent(&mut tx, &decided, &found).await?;
    reconciled::set(&mut tx, next).await?;
    tx.commit().await?;
    let open = mismatches::open(pool).await?.len();
    Ok(Outcome { open, opened, resolved })
}

/// Where the next pass starts. Withdrawals: after the blocks read. Deposits: before the first one that is neither
/// credited nor reported (it is still within its epochs, and is looked at again). Credits: from the first epoch
/// with a credit the watcher cannot judge yet (its deposit not seen, and its batch's time not read past).
fn next_cursors(
    ledger: &Ledger<'_>,
    found: &[Found],
    from: reconciled::Cursors,
    watcher_next: u64,
    examined_up_to: Option<u64>,
) -> reconciled::Cursors {
    let reported: BTreeSet<(Kind, String)> = found.iter().map(|f| (f.kind, f.subject.clone())).collect();
    let reported = |kind: Kind, id: u64| reported.contains(&(kind, id.to_string()));
    let credited: BTreeSet<u64> = ledger.credits.iter().map(|(_, c)| c.deposit_id).collect();
    let first_pending_deposit = ledger
        .deposits
        .iter()
        .map(|d| d.deposit_id)
        .filter(|id| *id > from.deposits_after)
        .find(|id| !credited.contains(id) && !reported(Kind::DepositNotCredited, *id));
    let deposits_after = match (first_pending_deposit, examined_up_to) {
        (Some(pending), _) => pending - 1,
        (None, Some(last)) => last,
        (None, None) => from.deposits_after,
    };
    let on_chain: BTreeSet<u64> = ledger.deposits.iter().map(|d| d.deposit_id).collect();
    let first_pending_credit = ledger
        .credits
        .iter()
        .filter(|(epoch, c)| {
            *epoch >= from.credits_from_epoch
                && !on_chain.contains(&c.deposit_id)
                && !reported(Kind::CreditUnknown, c.deposit_id)
        })
        .map(|(epoch, _)| *epoch)
        .min();
    reconciled::Cursors {
        withdrawals_from_block: watcher_next.max(from.withdrawals_from_block),
        deposits_after,
        credits_from_epoch: first_pending_credit.unwrap_or(ledger.latest_epoch + 1).max(from.credits_from_epoch),
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256};

    use super::*;
    use crate::ingest::document::WithdrawalRequest;
    use crate::ingest::intent::Token;
    use crate::ingest::{Batch, BatchState};
    use crate::settle::{ClaimDomain, EpochSettlement};
    use crate::store::escrow::{EventOrigin, Range, Withdrawal};

    const WAD: u64 = 1_000_000_000_000_000_000;

    /// Accepts epoch `epoch` with claims `claim_ids` (10 MYCO each) and credits for `credits` (deposit id, amount).
    async fn accept(pool: &Pool, epoch: u64, claim_ids: &[u64], credits: &[(u64, u64)]) -> EpochSettlement {
        let mut state = BatchState { epoch, timestamp: 100 * epoch, ..Default::default() };
        state.reserve.total_supply = U256::from(1_000u64) * U256::from(WAD);
        state.reserve.total_reserve = U256::from(1_000u64) * U256::from(WAD);
        state
            .balances
            .entry(Token::Myco)
            .or_default()
            .insert(B256::repeat_byte(1), U256::from(500u64) * U256::from(WAD));
        state.withdrawals = claim_ids
            .iter()
            .map(|id| WithdrawalRequest {
                claim_id: U256::from(*id),
                account: B256::repeat_byte(1),
                amount: U256::from(10u64) * U256::from(WAD),
                recipient: Address::repeat_byte(2),
                reissues: None,
            })
            .collect();
        state.deposits = credits
            .iter()
            .map(|(id, amount)| CreditedDeposit {
                deposit_id: *id,
                account: B256::repeat_byte(3),
                amount: U256::from(*amount),
            })
            .collect();
        let settlement = EpochSettlement::compute(&state, &pamm::Params::default(), ClaimDomain::default());
        let digest = B256::from(U256::from(epoch));
        let batch = Batch { epoch, digest, parent: B256::ZERO, signers: 3, state, raw: Vec::new() };
        let mut tx = store::begin(pool).await.unwrap();
        batches::insert(&mut tx, &batch, settlement.root(), &settlement.figures).await.unwrap();
        claims::insert_all(&mut tx, &settlement, None).await.unwrap();
        credits::insert_all(&mut tx, Epoch(epoch), &batch.state.deposits).await.unwrap();
        tx.commit().await.unwrap();
        settlement
    }

    fn origin(block: u64, index: u64) -> EventOrigin {
        EventOrigin {
            block_number: block,
            block_hash: B256::ZERO,
            tx_hash: B256::from(U256::from(block * 100 + index)),
            log_index: index,
        }
    }

    fn deposit(id: u64, amount: u64, block: u64) -> Deposit {
        Deposit {
            deposit_id: id,
            depositor: Address::ZERO,
            recipient: B256::repeat_byte(3),
            amount: U256::from(amount),
            origin: origin(block, id),
        }
    }

    /// The escrow paying `claim_id` of `settlement` (at its committed rate, or `usdc` when given).
    fn paid(settlement: &EpochSettlement, claim_id: u64, usdc: Option<u64>, block: u64) -> Withdrawal {
        let c = settlement.claims.iter().find(|c| c.claim_id == U256::from(claim_id)).unwrap();
        let quoted = c.usdc_payout(&settlement.figures, &pamm::Params::default()).unwrap();
        Withdrawal {
            claim_id: c.claim_id,
            recipient: c.recipient,
            account: c.account,
            epoch: c.epoch,
            myco_amount: c.myco_amount,
            flow_penalty: Some(c.flow_penalty),
            prior_redeemed: Some(c.prior_redeemed),
            usdc_amount: usdc.map_or(quoted, U256::from),
            origin: origin(block, claim_id),
        }
    }

    async fn read(pool: &Pool, deposits: Vec<Deposit>, withdrawals: Vec<Withdrawal>, next_block: u64) {
        let range = Range {
            deposits,
            withdrawals,
            blocks: vec![(next_block - 1, B256::ZERO)],
            next_block,
            read_time: 100 * next_block,
            ..Default::default()
        };
        escrow::apply(pool, &range).await.unwrap();
    }

    async fn open(pool: &Pool) -> Vec<(String, String)> {
        let mut open: Vec<_> = mismatches::open(pool).await.unwrap().into_iter().map(|m| (m.kind, m.subject)).collect();
        open.sort();
        open
    }

    /// A pass from the cursors finds what a pass over everything finds: after it, a pass from the start opens and
    /// resolves nothing. (And the store's count of unpaid claims is right.)
    async fn reconcile_and_compare(pool: &Pool) -> Vec<(String, String)> {
        // The maintained count of unpaid claims is the count of claims with no payment stored.
        let unpaid: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM claims k LEFT JOIN escrow_withdrawals w ON w.claim_id = k.claim_id
             WHERE w.claim_id IS NULL",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(store::counts::all(pool).await.unwrap().get(store::counts::CLAIMS_UNPAID), unpaid as u64);
        run(pool, 3, &pamm::Params::default()).await.unwrap();
        let incremental = open(pool).await;
        let mut tx = store::begin(pool).await.unwrap();
        reconciled::reset(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        let full = run(pool, 3, &pamm::Params::default()).await.unwrap();
        assert_eq!((full.opened, full.resolved), (0, 0), "a full pass changed what the incremental one left");
        assert_eq!(open(pool).await, incremental);
        // And the next pass from the cursors again changes nothing.
        let again = run(pool, 3, &pamm::Params::default()).await.unwrap();
        assert_eq!((again.opened, again.resolved), (0, 0));
        incremental
    }

    fn kinds(found: &[(&str, u64)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = found.iter().map(|(k, s)| (k.to_string(), s.to_string())).collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn a_pass_from_the_cursors_finds_what_a_pass_over_everything_finds() {
        let pool = crate::store::connect("sqlite::memory:").await.unwrap();
        let one = accept(&pool, 1, &[1, 2, 3], &[(1, 50), (2, 70)]).await;
        // Deposits 1 and 2 credited (2 with another amount), 3 not yet; claim 1 paid right, claim 9 unknown.
        read(
            &pool,
            vec![deposit(1, 50, 10), deposit(2, 71, 10), deposit(3, 30, 11)],
            vec![paid(&one, 1, None, 12)],
            13,
        )
        .await;
        let nine = Withdrawal { claim_id: U256::from(9), ..paid(&one, 2, None, 12) };
        read(&pool, Vec::new(), vec![nine], 14).await;
        assert_eq!(reconcile_and_compare(&pool).await, kinds(&[("credit_differs", 2), ("unknown_withdrawal", 9)]));
        let cursors = reconciled::get(&pool).await.unwrap();
        assert_eq!(cursors.withdrawals_from_block, 14);
        assert_eq!(cursors.deposits_after, 2, "deposit 3 is waiting for its credit");

        // Claim 9 arrives; claim 2 is paid the wrong amount; three epochs pass without crediting deposit 3.
        let two = accept(&pool, 2, &[9], &[]).await;
        read(&pool, Vec::new(), vec![paid(&one, 2, Some(1), 15)], 16).await;
        accept(&pool, 3, &[], &[]).await;
        accept(&pool, 4, &[], &[]).await;
        assert_eq!(
            reconcile_and_compare(&pool).await,
            kinds(&[
                ("credit_differs", 2),
                ("deposit_not_credited", 3),
                ("withdrawal_differs", 2),
                ("withdrawal_differs", 9)
            ]),
            "claim 9 is known now but was paid claim 2's fields"
        );

        // Deposit 3 is credited late; a credit for deposit 7, which the chain does not have; a reorg takes out the
        // block with claim 2's payment.
        accept(&pool, 5, &[], &[(3, 30), (7, 5)]).await;
        read(&pool, vec![deposit(4, 1, 17)], Vec::new(), 600).await;
        escrow::rewind(&pool, 14, (16, B256::ZERO)).await.unwrap();
        read(&pool, vec![deposit(4, 1, 17)], Vec::new(), 600).await;
        assert_eq!(reconciled::get(&pool).await.unwrap(), reconciled::Cursors::default(), "a rewind starts over");
        assert_eq!(
            reconcile_and_compare(&pool).await,
            kinds(&[("credit_differs", 2), ("credit_unknown", 7), ("withdrawal_differs", 9)])
        );
        let _ = two;
    }
}
