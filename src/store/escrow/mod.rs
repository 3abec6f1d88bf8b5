//! `escrow_deposits`, `escrow_withdrawals`, `watcher_cursor`, `watcher_blocks` and `reorgs`: the escrow's events
//! as of the canonical chain, where the watcher resumes, and the block hashes it checks the chain against. A
//! block range's events, its hashes and the cursor move in one transaction; so does a rewind after a reorg.
//! Reading the events back is `events`; the cancellations and pauses are `controls`.

mod controls;
mod events;

pub use controls::{Cancellation, paused, standing as standing_cancellations};
pub(crate) use controls::{cancelled_epochs_sql, standing_cancellations_sql};

pub use events::{Among, deposits, deposits_among, highest_deposit, withdrawals, withdrawals_among};

use alloy::primitives::{B256, U256};
use sqlx::AnyConnection;

use super::columns::{Decimal, Hash, Unsigned, decoding};
use super::mismatches::{self, Found, Kind};
use super::{Pool, Result, now};
use super::{bulk, claims, counts, escrow_totals, owed};
pub use crate::chain::escrow_events::{Deposit, EventOrigin, Range, Withdrawal};
use crate::ids::ClaimId;

/// Block hashes kept for finding a reorg's common ancestor (CoW keeps 64 blocks of reorg depth; we keep the
/// hashes of this many recent range ends and event blocks).
pub const KEPT_BLOCK_HASHES: i64 = 256;

/// Stores a block range's events and block hashes and moves the cursor past it, atomically. Re-applying the
/// same range is harmless. A second `Withdrawn` event for a claim id already paid by another transaction is
/// kept as a `claim_paid_twice` mismatch, not dropped; returns how many such were new.
pub async fn apply(pool: &Pool, range: &Range) -> Result<usize> {
    let mut tx = super::begin(pool).await?;
    let seen_epoch: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(epoch), 0) FROM batches").fetch_one(&mut *tx).await?;
    let deposited = insert_deposits(&mut tx, &range.deposits, seen_epoch).await?;
    let (withdrawn, paid_twice) = insert_withdrawals(&mut tx, &range.withdrawals).await?;
    controls::insert(&mut tx, &range.commitment_controls, &range.pauses).await?;
    keep_block_hashes(&mut tx, &range.blocks).await?;
    set_cursor(&mut tx, range.next_block, Some(range.read_time)).await?;
    escrow_totals::apply(&mut tx, escrow_totals::Kind::Deposits, &deposited, &[]).await?;
    escrow_totals::apply(&mut tx, escrow_totals::Kind::Withdrawals, &withdrawn, &[]).await?;
    tx.commit().await?;
    Ok(paid_twice)
}

/// Stores deposits not stored before, several rows per statement; returns the amounts of those newly stored.
async fn insert_deposits(tx: &mut AnyConnection, deposits: &[Deposit], seen_epoch: i64) -> Result<Vec<U256>> {
    let mut deposited = Vec::new();
    const COLUMNS: usize = 9;
    for chunk in deposits.chunks(bulk::rows_per_statement(COLUMNS)) {
        let sql = format!(
            "INSERT INTO escrow_deposits (deposit_id, depositor, recipient, amount, block_number, block_hash, tx_hash,
                                          log_index, seen_epoch)
             VALUES {} ON CONFLICT (deposit_id) DO NOTHING RETURNING amount",
            bulk::values(chunk.len(), COLUMNS)
        );
        // Only placeholders are formatted into the statement; every value is bound.
        let mut query = sqlx::query_scalar::<_, Decimal>(sqlx::AssertSqlSafe(sql));
        for d in chunk {
            query = query
                .bind(d.deposit_id as i64)
                .bind(d.depositor.as_slice())
                .bind(d.recipient.as_slice())
                .bind(d.amount.to_string())
                .bind(d.origin.block_number as i64)
                .bind(d.origin.block_hash.as_slice())
                .bind(d.origin.tx_hash.as_slice())
                .bind(d.origin.log_index as i64)
                .bind(seen_epoch);
        }
        // Only rows not stored before come back: re-applying a range adds nothing to the totals.
        let stored = query.fetch_all(&mut *tx).await.map_err(decoding("escrow_deposits"))?;
        deposited.extend(stored.into_iter().map(|a| a.0));
    }
    Ok(deposited)
}

/// Stores withdrawals not stored before, several rows per statement; returns the USDC of those newly stored and
/// how many newly recorded `claim_paid_twice` mismatches (a second payment of a claim, kept as evidence, not
/// dropped).
async fn insert_withdrawals(tx: &mut AnyConnection, withdrawals: &[Withdrawal]) -> Result<(Vec<U256>, usize)> {
    const COLUMNS: usize = 12;
    let (mut withdrawn, mut paid_twice, mut stored_claims) = (Vec::new(), 0, Vec::new());
    for chunk in withdrawals.chunks(bulk::rows_per_statement(COLUMNS)) {
        let sql = format!(
            "INSERT INTO escrow_withdrawals (claim_id, recipient, account, epoch, myco_amount, usdc_amount,
                                             block_number, block_hash, tx_hash, log_index, flow_penalty,
                                             prior_redeemed)
             VALUES {} ON CONFLICT (claim_id) DO NOTHING RETURNING claim_id",
            bulk::values(chunk.len(), COLUMNS)
        );
        // Only placeholders are formatted into the statement; every value is bound.
        let mut query = sqlx::query_scalar::<_, Decimal>(sqlx::AssertSqlSafe(sql));
        for w in chunk {
            query = query
                .bind(w.claim_id.to_string())
                .bind(w.recipient.as_slice())
                .bind(w.account.as_slice())
                .bind(w.epoch as i64)
                .bind(w.myco_amount.to_string())
                .bind(w.usdc_amount.to_string())
                .bind(w.origin.block_number as i64)
                .bind(w.origin.block_hash.as_slice())
                .bind(w.origin.tx_hash.as_slice())
                .bind(w.origin.log_index as i64)
                .bind(w.flow_penalty.map(|p| p.to_string()))
                .bind(w.prior_redeemed.map(|p| p.to_string()));
        }
        // Only rows not stored before come back; the others were stored by an earlier range or an earlier row.
        let stored: std::collections::HashSet<U256> =
            query.fetch_all(&mut *tx).await.map_err(decoding("escrow_withdrawals"))?.into_iter().map(|c| c.0).collect();
        let mut new_in_chunk = std::collections::HashSet::new();
        for w in chunk {
            if stored.contains(&w.claim_id) && new_in_chunk.insert(w.claim_id) {
                withdrawn.push(w.usdc_amount);
                stored_claims.push(w.claim_id);
            } else {
                paid_twice += usize::from(paid_again(tx, w).await?);
            }
        }
    }
    paid_claims(tx, stored_claims, owed::Change::Paid).await?;
    Ok((withdrawn, paid_twice))
}

/// Counts the stored claims among `paid` as unpaid no more (`change` Paid: payments stored) or again (Owe:
/// payments rewound), and what they owe with them, in the caller's transaction.
async fn paid_claims(tx: &mut AnyConnection, paid: Vec<U256>, change: owed::Change) -> Result<()> {
    if paid.is_empty() {
        return Ok(());
    }
    let ids: Vec<ClaimId> = paid.into_iter().map(ClaimId).collect();
    counts::hold(tx, counts::CLAIMS_UNPAID).await?;
    let claimed = claims::payouts_among(tx, &ids).await?;
    let sign = if change == owed::Change::Paid { -1 } else { 1 };
    counts::add(tx, counts::CLAIMS_UNPAID, sign * claimed.len() as i64).await?;
    let mut by_epoch = owed::ByEpoch::new();
    for (epoch, payout) in claimed {
        if let Some(payout) = payout {
            let owed = by_epoch.entry(epoch.0).or_default();
            *owed = owed.saturating_add(payout);
        }
    }
    owed::apply(tx, &by_epoch, change).await
}

/// Records `w` as a `claim_paid_twice` mismatch if the stored payment of its claim is another transaction's;
/// returns whether the mismatch is new.
async fn paid_again(tx: &mut AnyConnection, w: &Withdrawal) -> Result<bool> {
    let first: Vec<u8> = sqlx::query_scalar("SELECT tx_hash FROM escrow_withdrawals WHERE claim_id = $1")
        .bind(w.claim_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
    if first == w.origin.tx_hash.as_slice() {
        return Ok(false);
    }
    let found = Found {
        kind: Kind::ClaimPaidTwice,
        subject: w.claim_id.to_string(),
        epoch: Some(w.epoch),
        detail: format!("claim {} paid again by {}", w.claim_id, w.origin.tx_hash),
        evidence: serde_json::json!({
            "first_tx": B256::from_slice(&first).to_string(),
            "second_tx": w.origin.tx_hash.to_string(),
            "second_block": w.origin.block_number,
            "usdc_amount": w.usdc_amount.to_string(),
        }),
    };
    mismatches::record(tx, &found).await
}

/// Keeps the hashes of the range's blocks, and only the newest [`KEPT_BLOCK_HASHES`].
async fn keep_block_hashes(tx: &mut AnyConnection, blocks: &[(u64, B256)]) -> Result<()> {
    for (number, hash) in blocks {
        sqlx::query("INSERT INTO watcher_blocks (number, hash) VALUES ($1, $2) ON CONFLICT (number) DO UPDATE SET hash = excluded.hash")
            .bind(*number as i64)
            .bind(hash.as_slice())
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "DELETE FROM watcher_blocks WHERE number < (SELECT MIN(number) FROM
             (SELECT number FROM watcher_blocks ORDER BY number DESC LIMIT $1) AS kept)",
    )
    .bind(KEPT_BLOCK_HASHES)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn set_cursor(conn: &mut sqlx::AnyConnection, next_block: u64, read_time: Option<u64>) -> Result<()> {
    sqlx::query(
        "INSERT INTO watcher_cursor (id, next_block, read_time) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET next_block = excluded.next_block, read_time = excluded.read_time",
    )
    .bind(next_block as i64)
    .bind(read_time.map(|t| t as i64))
    .execute(conn)
    .await?;
    Ok(())
}

/// The timestamp of the last block the watcher has read (`None` before the first range, or right after a rewind).
pub async fn read_time(pool: &Pool) -> Result<Option<i64>> {
    let t: Option<Option<i64>> = sqlx::query_scalar("SELECT read_time FROM watcher_cursor WHERE id = 1")
        .fetch_optional(pool)
        .await
        .map_err(decoding("watcher_cursor"))?;
    Ok(t.flatten())
}

/// The latest accepted epoch whose batch time the watcher has read past (0 when none): a credit of it for a
/// deposit the watcher has not seen is a mismatch, so reconciliation runs again when this moves. Batch times rise
/// with the epoch, so the newest-first walk stops at the first such batch: it reads the batches the watcher is
/// behind, not the history.
pub async fn latest_batch_behind_watcher(pool: &Pool) -> Result<u64> {
    let epoch: Option<Unsigned> = sqlx::query_scalar(
        "SELECT epoch FROM batches WHERE timestamp <= (SELECT read_time FROM watcher_cursor WHERE id = 1)
         ORDER BY epoch DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .map_err(decoding("batches"))?;
    Ok(epoch.map_or(0, |e| e.0))
}

/// The watcher's recorded block hashes, newest first.
pub async fn recent_blocks(pool: &Pool) -> Result<Vec<(u64, B256)>> {
    let rows: Vec<(Unsigned, Hash)> = sqlx::query_as("SELECT number, hash FROM watcher_blocks ORDER BY number DESC")
        .fetch_all(pool)
        .await
        .map_err(decoding("watcher_blocks"))?;
    Ok(rows.into_iter().map(|(number, hash)| (number.0, hash.0)).collect())
}

/// Rewinds to `ancestor`, the last block the stored and the canonical chain share: events and hashes above it
/// are deleted and the cursor moves to the block after it, with the reorg recorded and reconciliation sent back
/// to the start (`reconciled`), all in one transaction.
pub async fn rewind(pool: &Pool, ancestor: u64, old_tip: (u64, B256)) -> Result<()> {
    let mut tx = super::begin(pool).await?;
    let removed = |sql: &'static str| sqlx::query_scalar::<_, Decimal>(sql).bind(ancestor as i64);
    let deposits = removed("DELETE FROM escrow_deposits WHERE block_number > $1 RETURNING amount")
        .fetch_all(&mut *tx)
        .await
        .map_err(decoding("escrow_deposits"))?;
    let rewound: Vec<(Decimal, Decimal)> =
        sqlx::query_as("DELETE FROM escrow_withdrawals WHERE block_number > $1 RETURNING usdc_amount, claim_id")
            .bind(ancestor as i64)
            .fetch_all(&mut *tx)
            .await
            .map_err(decoding("escrow_withdrawals"))?;
    let (withdrawals, claims): (Vec<Decimal>, Vec<U256>) = rewound.into_iter().map(|(a, c)| (a, c.0)).unzip();
    paid_claims(&mut tx, claims, owed::Change::Owe).await?;
    let amounts = |rows: Vec<Decimal>| rows.into_iter().map(|a| a.0).collect::<Vec<_>>();
    escrow_totals::apply(&mut tx, escrow_totals::Kind::Deposits, &[], &amounts(deposits)).await?;
    escrow_totals::apply(&mut tx, escrow_totals::Kind::Withdrawals, &[], &amounts(withdrawals)).await?;
    controls::rewind(&mut tx, ancestor).await?;
    sqlx::query("DELETE FROM watcher_blocks WHERE number > $1").bind(ancestor as i64).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO reorgs (ancestor, old_tip, old_hash, detected_at) VALUES ($1, $2, $3, $4)")
        .bind(ancestor as i64)
        .bind(old_tip.0 as i64)
        .bind(old_tip.1.as_slice())
        .bind(now())
        .execute(&mut *tx)
        .await?;
    set_cursor(&mut tx, ancestor + 1, None).await?;
    super::reconciled::reset(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Deposits and withdrawals stored, from the maintained totals (not a count of the events).
pub async fn event_count(pool: &Pool) -> Result<u64> {
    let deposits = escrow_totals::get(pool, escrow_totals::Kind::Deposits).await?.events;
    let withdrawals = escrow_totals::get(pool, escrow_totals::Kind::Withdrawals).await?.events;
    Ok(deposits + withdrawals)
}

/// How many reorgs the watcher has rewound over.
pub async fn reorg_count(pool: &Pool) -> Result<u64> {
    let n: Unsigned =
        sqlx::query_scalar("SELECT COUNT(*) FROM reorgs").fetch_one(pool).await.map_err(decoding("reorgs"))?;
    Ok(n.0)
}

/// The next block the watcher reads, if it has run before.
pub async fn cursor(pool: &Pool) -> Result<Option<u64>> {
    let next: Option<Unsigned> = sqlx::query_scalar("SELECT next_block FROM watcher_cursor WHERE id = 1")
        .fetch_optional(pool)
        .await
        .map_err(decoding("watcher_cursor"))?;
    Ok(next.map(|n| n.0))
}
