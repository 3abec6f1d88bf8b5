//! `escrow_deposits`, `escrow_withdrawals`, `watcher_cursor`, `watcher_blocks` and `reorgs`: the escrow's events
//! as of the canonical chain, where the watcher resumes, and the block hashes it checks the chain against. A
//! block range's events, its hashes and the cursor move in one transaction; so does a rewind after a reorg.

use alloy::primitives::{B256, U256};
use sqlx::AnyConnection;
use sqlx::FromRow;

use super::columns::{Addr, Decimal, Hash, Unsigned, decoding};
use super::escrow_totals;
use super::mismatches::{self, Found, Kind};
use super::{Pool, Result, now};
pub use crate::chain::escrow_events::{Deposit, EventOrigin, Range, Withdrawal};

/// Deposit rows per `INSERT`. One statement per row spends a large range's time in the driver's per-statement
/// round trip; very long statements get slower per row again (sqlx's argument handling). A few dozen rows was
/// fastest for 10,000 deposits (`cargo bench --bench chain`: 20-50 rows ≈ 55k events/s, 1 row ≈ 14k, 1,000 ≈ 8k).
const DEPOSITS_PER_INSERT: usize = 32;

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
    for chunk in deposits.chunks(DEPOSITS_PER_INSERT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = |k: usize| format!("${}", i * 9 + k);
                format!("({}, {}, {}, {}, {}, {}, {}, {}, {})", p(1), p(2), p(3), p(4), p(5), p(6), p(7), p(8), p(9))
            })
            .collect();
        let sql = format!(
            "INSERT INTO escrow_deposits (deposit_id, depositor, recipient, amount, block_number, block_hash, tx_hash,
                                          log_index, seen_epoch)
             VALUES {} ON CONFLICT (deposit_id) DO NOTHING RETURNING amount",
            rows.join(", ")
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

/// Stores withdrawals not stored before; returns the USDC of those newly stored and how many newly recorded
/// `claim_paid_twice` mismatches (a second payment of a claim, kept as evidence, not dropped).
async fn insert_withdrawals(tx: &mut AnyConnection, withdrawals: &[Withdrawal]) -> Result<(Vec<U256>, usize)> {
    let (mut withdrawn, mut paid_twice) = (Vec::new(), 0);
    for w in withdrawals {
        let inserted = sqlx::query(
            "INSERT INTO escrow_withdrawals (claim_id, recipient, account, epoch, myco_amount, usdc_amount,
                                             block_number, block_hash, tx_hash, log_index, flow_penalty,
                                             prior_redeemed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (claim_id) DO NOTHING",
        )
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
        .bind(w.prior_redeemed.map(|p| p.to_string()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            withdrawn.push(w.usdc_amount);
        } else {
            let first: Vec<u8> = sqlx::query_scalar("SELECT tx_hash FROM escrow_withdrawals WHERE claim_id = $1")
                .bind(w.claim_id.to_string())
                .fetch_one(&mut *tx)
                .await?;
            if first != w.origin.tx_hash.as_slice() {
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
                paid_twice += usize::from(mismatches::record(tx, &found).await?);
            }
        }
    }
    Ok((withdrawn, paid_twice))
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

/// How many accepted batches are no later than the watcher's read time: a credit of one of them for a deposit the
/// watcher has not seen is a mismatch, so reconciliation runs again when this grows.
pub async fn batches_behind_watcher(pool: &Pool) -> Result<u64> {
    let n: Unsigned = sqlx::query_scalar(
        "SELECT COUNT(*) FROM batches WHERE timestamp <= (SELECT read_time FROM watcher_cursor WHERE id = 1)",
    )
    .fetch_one(pool)
    .await
    .map_err(decoding("batches"))?;
    Ok(n.0)
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
/// are deleted and the cursor moves to the block after it, with the reorg recorded, all in one transaction.
pub async fn rewind(pool: &Pool, ancestor: u64, old_tip: (u64, B256)) -> Result<()> {
    let mut tx = super::begin(pool).await?;
    let removed = |sql: &'static str| sqlx::query_scalar::<_, Decimal>(sql).bind(ancestor as i64);
    let deposits = removed("DELETE FROM escrow_deposits WHERE block_number > $1 RETURNING amount")
        .fetch_all(&mut *tx)
        .await
        .map_err(decoding("escrow_deposits"))?;
    let withdrawals = removed("DELETE FROM escrow_withdrawals WHERE block_number > $1 RETURNING usdc_amount")
        .fetch_all(&mut *tx)
        .await
        .map_err(decoding("escrow_withdrawals"))?;
    let amounts = |rows: Vec<Decimal>| rows.into_iter().map(|a| a.0).collect::<Vec<_>>();
    escrow_totals::apply(&mut tx, escrow_totals::Kind::Deposits, &[], &amounts(deposits)).await?;
    escrow_totals::apply(&mut tx, escrow_totals::Kind::Withdrawals, &[], &amounts(withdrawals)).await?;
    sqlx::query("DELETE FROM watcher_blocks WHERE number > $1").bind(ancestor as i64).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO reorgs (ancestor, old_tip, old_hash, detected_at) VALUES ($1, $2, $3, $4)")
        .bind(ancestor as i64)
        .bind(old_tip.0 as i64)
        .bind(old_tip.1.as_slice())
        .bind(now())
        .execute(&mut *tx)
        .await?;
    set_cursor(&mut tx, ancestor + 1, None).await?;
    tx.commit().await?;
    Ok(())
}

/// For each stored deposit, the latest accepted epoch when the watcher stored it.
pub async fn seen_epochs(pool: &Pool) -> Result<std::collections::BTreeMap<u64, u64>> {
    let rows: Vec<(Unsigned, Unsigned)> = sqlx::query_as("SELECT deposit_id, seen_epoch FROM escrow_deposits")
        .fetch_all(pool)
        .await
        .map_err(decoding("escrow_deposits"))?;
    Ok(rows.into_iter().map(|(id, epoch)| (id.0, epoch.0)).collect())
}

/// Stored deposits plus withdrawals, plus reorgs rewound over: changes whenever the escrow side moves.
pub async fn event_count(pool: &Pool) -> Result<usize> {
    let n: Unsigned = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM escrow_deposits) + (SELECT COUNT(*) FROM escrow_withdrawals)
              + (SELECT COUNT(*) FROM reorgs)",
    )
    .fetch_one(pool)
    .await
    .map_err(decoding("escrow_deposits"))?;
    Ok(n.0 as usize)
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

/// Where an event was emitted, as stored.
#[derive(FromRow)]
struct Origin {
    block_number: Unsigned,
    block_hash: Hash,
    tx_hash: Hash,
    log_index: Unsigned,
}

impl From<Origin> for EventOrigin {
    fn from(o: Origin) -> Self {
        Self {
            block_number: o.block_number.0,
            block_hash: o.block_hash.0,
            tx_hash: o.tx_hash.0,
            log_index: o.log_index.0,
        }
    }
}

/// Every stored deposit, by id.
pub async fn deposits(pool: &Pool) -> Result<Vec<Deposit>> {
    #[derive(FromRow)]
    struct Row {
        deposit_id: Unsigned,
        depositor: Addr,
        recipient: Hash,
        amount: Decimal,
        #[sqlx(flatten)]
        origin: Origin,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT deposit_id, depositor, recipient, amount, block_number, block_hash, tx_hash, log_index
         FROM escrow_deposits ORDER BY deposit_id",
    )
    .fetch_all(pool)
    .await
    .map_err(decoding("escrow_deposits"))?;
    Ok(rows
        .into_iter()
        .map(|r| Deposit {
            deposit_id: r.deposit_id.0,
            depositor: r.depositor.0,
            recipient: r.recipient.0,
            amount: r.amount.0,
            origin: r.origin.into(),
        })
        .collect())
}

/// Every stored withdrawal, by block.
pub async fn withdrawals(pool: &Pool) -> Result<Vec<Withdrawal>> {
    #[derive(FromRow)]
    struct Row {
        claim_id: Decimal,
        recipient: Addr,
        account: Hash,
        epoch: Unsigned,
        myco_amount: Decimal,
        usdc_amount: Decimal,
        flow_penalty: Option<Decimal>,
        prior_redeemed: Option<Decimal>,
        #[sqlx(flatten)]
        origin: Origin,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT claim_id, recipient, account, epoch, myco_amount, usdc_amount, flow_penalty, prior_redeemed,
                block_number, block_hash, tx_hash, log_index
         FROM escrow_withdrawals ORDER BY block_number, log_index",
    )
    .fetch_all(pool)
    .await
    .map_err(decoding("escrow_withdrawals"))?;
    Ok(rows
        .into_iter()
        .map(|r| Withdrawal {
            claim_id: r.claim_id.0,
            recipient: r.recipient.0,
            account: r.account.0,
            epoch: r.epoch.0,
            myco_amount: r.myco_amount.0,
            flow_penalty: r.flow_penalty.map(|p| p.0),
            prior_redeemed: r.prior_redeemed.map(|p| p.0),
            usdc_amount: r.usdc_amount.0,
            origin: r.origin.into(),
        })
        .collect())
}
