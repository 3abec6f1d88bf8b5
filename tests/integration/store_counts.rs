//! The counts the store keeps for `/metrics` (`store::counts`: by the database's triggers, and in the writes of
//! claims and payments) equal what counting the rows gives, after every kind of write: batches, claims and
//! credits; payments before and after their claims, and a rewind of some; commitments inserted, recommitted and
//! forgotten; transaction attempts sent, mined, replaced and closed. What unpaid claims owe (`store::owed`, read by
//! the conservation audit before each commitment) equals pricing every unpaid claim again, after the same writes.
//! On SQLite, and on PostgreSQL under `scripts/with-postgres`.

use std::collections::BTreeSet;

use alloy::primitives::{Address, B256, U256};
use myco_bridge::chain::attempts::{AttemptStatus, NewAttempt};
use myco_bridge::ids::{Epoch, Purpose};
use myco_bridge::ingest::document::WithdrawalRequest;
use myco_bridge::reader::conservation::LedgerAudit;
use myco_bridge::settle::{EpochSettlement, pamm};
use myco_bridge::store::escrow::{EventOrigin, Range, Withdrawal};
use myco_bridge::store::{self, Pool, attempts, commitments, escrow, views};

use crate::common::{database_url, store_epoch};

/// Stores epoch `epoch` with claims `ids` (1 to 7 MYCO each), priced as the reader prices them; returns its
/// settlement.
async fn accept(pool: &Pool, epoch: u64, ids: std::ops::Range<u64>) -> EpochSettlement {
    accept_priced(pool, epoch, ids, true).await
}

/// [`accept`], or stored without payouts as a store from before they were kept has them (`priced` false).
async fn accept_priced(pool: &Pool, epoch: u64, ids: std::ops::Range<u64>, priced: bool) -> EpochSettlement {
    let withdrawals = ids
        .map(|id| WithdrawalRequest {
            claim_id: U256::from(id),
            account: B256::repeat_byte(1),
            amount: U256::from(id % 7 + 1) * U256::from(10u64).pow(U256::from(18)),
            recipient: Address::repeat_byte(2),
            reissues: None,
        })
        .collect();
    store_epoch(pool, epoch, withdrawals, priced).await
}

/// The escrow paying claim `id` in `block`.
fn paid(id: u64, block: u64) -> Withdrawal {
    Withdrawal {
        claim_id: U256::from(id),
        recipient: Address::repeat_byte(2),
        account: B256::repeat_byte(1),
        epoch: 1,
        myco_amount: U256::from(1),
        flow_penalty: None,
        prior_redeemed: None,
        usdc_amount: U256::from(1),
        origin: EventOrigin {
            block_number: block,
            block_hash: B256::ZERO,
            tx_hash: B256::from(U256::from(id)),
            log_index: 0,
        },
    }
}

async fn read(pool: &Pool, withdrawals: Vec<Withdrawal>, next_block: u64) {
    let range = Range {
        withdrawals,
        blocks: vec![(next_block - 1, B256::ZERO)],
        next_block,
        read_time: 0,
        ..Default::default()
    };
    escrow::apply(pool, &range).await.unwrap();
}

async fn attempt(pool: &Pool, purpose: Purpose, epoch: u64, nonce: u64) -> i64 {
    let a = NewAttempt {
        purpose,
        epoch: Epoch(epoch),
        nonce,
        tx_hash: Some(B256::from(U256::from(nonce))),
        max_fee_per_gas: 1,
        max_priority_fee_per_gas: 1,
        gas_limit: 100_000,
        sent_block: 1,
        status: AttemptStatus::Sent,
        error: None,
    };
    attempts::insert(pool, &a).await.unwrap()
}

async fn count(pool: &Pool, sql: &'static str) -> u64 {
    let n: i64 = sqlx::query_scalar(sql).fetch_one(pool).await.unwrap();
    n as u64
}

/// Every kept figure of `views::totals` against the rows.
async fn assert_counts_match_rows(pool: &Pool, chain_now: i64) {
    let t = views::totals(pool, chain_now).await.unwrap();
    assert_eq!(t.batches_ingested, count(pool, "SELECT COUNT(*) FROM batches").await);
    assert_eq!(t.epochs_committed, count(pool, "SELECT COUNT(*) FROM commitments").await);
    let final_ = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM commitments WHERE final_at <= $1")
        .bind(chain_now)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(t.epochs_finalized, final_ as u64);
    assert_eq!(
        t.pending_withdrawals,
        count(
            pool,
            "SELECT COUNT(*) FROM claims k LEFT JOIN escrow_withdrawals w ON w.claim_id = k.claim_id
             WHERE w.claim_id IS NULL"
        )
        .await
    );
    assert_eq!(t.conservation_audits, count(pool, "SELECT COUNT(*) FROM conservation_audits").await);
    assert_eq!(
        t.gas_used,
        count(pool, "SELECT CAST(COALESCE(SUM(gas_used), 0) AS BIGINT) FROM tx_attempts WHERE status = 'mined'").await
    );
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT purpose, status, COUNT(*) FROM tx_attempts GROUP BY purpose, status ORDER BY 1, 2")
            .fetch_all(pool)
            .await
            .unwrap();
    let rows: Vec<_> = rows.into_iter().map(|(p, s, n)| (p, s, n as u64)).collect();
    assert_eq!(t.attempts, rows);
    let latency: Vec<i64> = sqlx::query_scalar(
        "SELECT c.committed_at - b.received_at FROM commitments c JOIN batches b ON b.epoch = c.epoch",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(t.commit_latency.count, latency.len() as u64);
    assert_eq!(t.commit_latency.sum, latency.iter().sum::<i64>());
    for (bound, n) in &t.commit_latency.buckets {
        assert_eq!(*n, latency.iter().filter(|l| **l <= *bound).count() as u64, "bucket {bound}");
    }
    let bounds: Vec<i64> =
        sqlx::query_scalar("SELECT bound FROM commit_latency_buckets ORDER BY bound").fetch_all(pool).await.unwrap();
    assert_eq!(bounds, views::LATENCY_BUCKETS, "the store's buckets are the ones /metrics publishes");
}

/// What the claims before each epoch owe, as kept, equals pricing every unpaid claim again, with and without
/// payments the watcher has not read yet.
async fn assert_owed_matches_claims(pool: &Pool) {
    let audit = LedgerAudit {
        pool: pool.clone(),
        chain_id: 31337,
        escrow: Address::ZERO,
        document_limits: Default::default(),
        params: pamm::Params::default(),
        policy: Default::default(),
        states: Default::default(),
    };
    let unseen: BTreeSet<U256> = [11, 21, 31, 33, 41, 99].into_iter().map(U256::from).collect();
    for paid_since in [BTreeSet::new(), unseen] {
        for epoch in 1..=6 {
            let kept = audit.owed_before(Epoch(epoch), &paid_since).await.unwrap();
            let priced = audit.owed_between(Epoch(0), Epoch(epoch), &paid_since).await.unwrap();
            assert_eq!(kept, priced, "owed before epoch {epoch}, {} paid since", paid_since.len());
        }
    }
}

#[tokio::test]
async fn the_counts_kept_for_metrics_equal_the_rows_after_every_kind_of_write() {
    let dir = tempfile::tempdir().unwrap();
    let pool = store::connect(&database_url(dir.path()).await).await.unwrap();
    assert_counts_match_rows(&pool, 0).await;

    // Claim 12 is paid before its epoch is stored (an auditor can read the payment first).
    read(&pool, vec![paid(12, 5)], 6).await;
    for epoch in 1..=3 {
        accept(&pool, epoch, (epoch * 10)..(epoch * 10 + 4)).await;
    }
    assert_owed_matches_claims(&pool).await;
    read(&pool, vec![paid(10, 7), paid(11, 8), paid(20, 9), paid(99, 9)], 10).await;
    assert_counts_match_rows(&pool, 0).await;
    assert_owed_matches_claims(&pool).await;
    // A reorg takes out blocks 8 and 9.
    escrow::rewind(&pool, 7, (9, B256::ZERO)).await.unwrap();
    assert_counts_match_rows(&pool, 0).await;
    assert_owed_matches_claims(&pool).await;
    // Epoch 4 stored without payouts (as before they were kept), epoch 5 with; payments of both, one rewound.
    accept_priced(&pool, 4, 40..44, false).await;
    accept(&pool, 5, 50..53).await;
    assert_owed_matches_claims(&pool).await;
    read(&pool, vec![paid(40, 11), paid(50, 11), paid(30, 12), paid(41, 12)], 13).await;
    assert_owed_matches_claims(&pool).await;
    escrow::rewind(&pool, 11, (12, B256::ZERO)).await.unwrap();
    assert_counts_match_rows(&pool, 0).await;
    assert_owed_matches_claims(&pool).await;

    for epoch in 1..=3 {
        let c = commitments::Commitment {
            epoch: Epoch(epoch),
            state_root: B256::ZERO,
            tx_hash: None,
            block_number: None,
            gas_used: None,
            final_at: Some(100 * epoch as i64),
            payable_at: Some(100 * epoch as i64 + 50),
            attested_by: vec![],
        };
        commitments::insert(&pool, &c).await.unwrap();
    }
    // Epoch 2 recommitted later (a reorg); epoch 3 forgotten.
    sqlx::query("UPDATE commitments SET committed_at = committed_at + 400 WHERE epoch = 2")
        .execute(&pool)
        .await
        .unwrap();
    commitments::forget_above(&pool, Epoch(2)).await.unwrap();
    assert_counts_match_rows(&pool, 150).await;

    let first = attempt(&pool, Purpose::Commit, 1, 1).await;
    attempt(&pool, Purpose::Commit, 1, 1).await;
    attempts::settle(&pool, first, AttemptStatus::Mined, 10, 21_000).await.unwrap();
    let settle = attempt(&pool, Purpose::Settle, 1, 2).await;
    attempts::settle(&pool, settle, AttemptStatus::Reverted, 11, 30_000).await.unwrap();
    attempt(&pool, Purpose::Settle, 2, 3).await;
    attempts::close(&pool, Purpose::Settle, Epoch(2)).await.unwrap();
    attempt(&pool, Purpose::Commit, 3, 4).await;
    assert_counts_match_rows(&pool, 1_000).await;
}
