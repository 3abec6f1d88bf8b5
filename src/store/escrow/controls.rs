//! `escrow_commitment_controls` and `escrow_pauses`: the escrow's cancellations (and their undoing) and pauses, as
//! of the canonical chain, stored with the range they came in and rewound with it.

use alloy::primitives::B256;
use sqlx::AnyConnection;

use super::super::columns::{Hash, Unsigned, decoding};
use super::super::{Pool, Result};
use crate::chain::escrow_controls::{CommitmentControl, PauseControl};
use crate::ids::Epoch;

/// Stores a range's controls (a range applied twice stores nothing twice).
pub(super) async fn insert(
    tx: &mut AnyConnection,
    commitments: &[CommitmentControl],
    pauses: &[PauseControl],
) -> Result<()> {
    for c in commitments {
        sqlx::query(
            "INSERT INTO escrow_commitment_controls (block_number, log_index, kind, epoch, commitment_hash, actor,
                 reason, effective_at, tx_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (block_number, log_index) DO NOTHING",
        )
        .bind(c.origin.block_number as i64)
        .bind(c.origin.log_index as i64)
        .bind(c.kind.as_str())
        .bind(c.epoch as i64)
        .bind(c.commitment_hash.as_slice())
        .bind(c.actor.map(|a| a.to_vec()))
        .bind(c.reason.as_deref())
        .bind(c.effective_at.map(|t| t.min(i64::MAX as u64) as i64))
        .bind(c.origin.tx_hash.as_slice())
        .execute(&mut *tx)
        .await?;
        if c.kind == crate::chain::escrow_controls::CancelKind::Cancelled {
            tracing::warn!(epoch = c.epoch, commitment = %c.commitment_hash, guardian = ?c.actor,
                reason = c.reason.as_deref().unwrap_or_default(), "the guardian cancelled a commitment: its claims do not pay");
        }
    }
    for p in pauses {
        sqlx::query(
            "INSERT INTO escrow_pauses (block_number, log_index, side, paused, until, actor, tx_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (block_number, log_index) DO NOTHING",
        )
        .bind(p.origin.block_number as i64)
        .bind(p.origin.log_index as i64)
        .bind(p.side.as_str())
        .bind(p.paused as i32)
        .bind(p.until.map(|t| t.min(i64::MAX as u64) as i64))
        .bind(p.actor.map(|a| a.to_vec()))
        .bind(p.origin.tx_hash.as_slice())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Forgets the controls above `ancestor` (a reorg took them out).
pub(super) async fn rewind(tx: &mut AnyConnection, ancestor: u64) -> Result<()> {
    for table in ["escrow_commitment_controls", "escrow_pauses"] {
        // Only a table name from the list above is formatted into the statement.
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE block_number > $1")))
            .bind(ancestor as i64)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The cancellations that stand (not undone since), as rows of `escrow_commitment_controls`: the one rule the API's
/// claim status, the metrics and [`standing`] all read.
macro_rules! standing_cancellations_sql {
    () => {
        "SELECT s.epoch, s.commitment_hash, s.block_number, s.log_index, s.reason
         FROM escrow_commitment_controls s
         WHERE s.kind = 'cancelled' AND NOT EXISTS (
             SELECT 1 FROM escrow_commitment_controls u
             WHERE u.kind = 'uncancelled' AND u.commitment_hash = s.commitment_hash
               AND (u.block_number > s.block_number OR (u.block_number = s.block_number AND u.log_index > s.log_index)))"
    };
}
pub(crate) use standing_cancellations_sql;

/// Each epoch with a standing cancellation, and the block of its latest: a claim of that epoch is cancelled if
/// our commitment of it is not newer (a later commitment replaced the cancelled one).
macro_rules! cancelled_epochs_sql {
    () => {
        concat!(
            "SELECT epoch, MAX(block_number) AS block_number FROM (",
            $crate::store::escrow::standing_cancellations_sql!(),
            ") AS standing GROUP BY epoch"
        )
    };
}
pub(crate) use cancelled_epochs_sql;

/// A cancellation that stands: not undone since.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cancellation {
    /// The commitment's epoch.
    pub epoch: Epoch,
    /// The commitment cancelled.
    pub commitment_hash: B256,
    /// Where it was cancelled.
    pub block_number: u64,
    /// The guardian's reason.
    pub reason: Option<String>,
    /// When a scheduled undo may be applied, if one is scheduled and not vetoed.
    pub uncancel_at: Option<u64>,
}

/// Every cancellation that stands, by epoch.
pub async fn standing(pool: &Pool) -> Result<Vec<Cancellation>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        epoch: Epoch,
        commitment_hash: Hash,
        block_number: Unsigned,
        reason: Option<String>,
        uncancel_at: Option<Unsigned>,
    }
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "SELECT s.epoch, s.commitment_hash, s.block_number, s.reason,
                (SELECT CASE WHEN d.kind = 'uncancel_scheduled' THEN d.effective_at END
                 FROM escrow_commitment_controls d
                 WHERE d.commitment_hash = s.commitment_hash AND d.kind IN ('uncancel_scheduled', 'uncancel_vetoed')
                 ORDER BY d.block_number DESC, d.log_index DESC LIMIT 1) AS uncancel_at
         FROM (",
        standing_cancellations_sql!(),
        ") AS s ORDER BY s.epoch, s.block_number"
    ))
    .fetch_all(pool)
    .await
    .map_err(decoding("escrow_commitment_controls"))?;
    Ok(rows
        .into_iter()
        .map(|r| Cancellation {
            epoch: r.epoch,
            commitment_hash: r.commitment_hash.0,
            block_number: r.block_number.0,
            reason: r.reason,
            uncancel_at: r.uncancel_at.map(|t| t.0),
        })
        .collect())
}

/// Whether each side is paused as of chain time `now`: deposits by their last `PauseChanged`; withdrawals by
/// theirs, and only until the stop's `until` (a stop lapses by itself).
pub async fn paused(pool: &Pool, now: i64) -> Result<(bool, bool)> {
    let last = |side: &'static str| async move {
        let row: Option<(i32, Option<i64>)> = sqlx::query_as(
            "SELECT p.paused,
                    (SELECT MAX(s.until) FROM escrow_pauses s WHERE s.side = p.side AND s.until IS NOT NULL) AS until
             FROM escrow_pauses p WHERE p.side = $1 AND p.until IS NULL
             ORDER BY p.block_number DESC, p.log_index DESC LIMIT 1",
        )
        .bind(side)
        .fetch_optional(pool)
        .await?;
        Ok::<_, super::super::Error>(row)
    };
    let deposits = last("deposits").await?.is_some_and(|(paused, _)| paused != 0);
    let withdrawals =
        last("withdrawals").await?.is_some_and(|(paused, until)| paused != 0 && until.is_none_or(|u| u > now));
    Ok((deposits, withdrawals))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::Address;

    use super::*;
    use crate::chain::escrow_controls::{CancelKind, Side};
    use crate::chain::escrow_events::{EventOrigin, Range};

    fn at(block: u64, log_index: u64) -> EventOrigin {
        EventOrigin {
            block_number: block,
            block_hash: B256::with_last_byte(block as u8),
            tx_hash: B256::ZERO,
            log_index,
        }
    }

    fn control(kind: CancelKind, block: u64, log_index: u64) -> CommitmentControl {
        CommitmentControl {
            kind,
            epoch: 3,
            commitment_hash: B256::repeat_byte(3),
            actor: Some(Address::ZERO),
            reason: Some("why".into()),
            effective_at: None,
            origin: at(block, log_index),
        }
    }

    /// A cancellation stands until undone, and a reorg that takes the undo (or the cancellation) out takes it off
    /// the record with the range it came in.
    #[tokio::test]
    async fn a_cancellation_stands_until_undone_and_a_reorg_rewinds_it() {
        let pool = crate::store::connect("sqlite::memory:").await.unwrap();
        let range = |controls, pauses, block: u64| Range {
            commitment_controls: controls,
            pauses,
            blocks: vec![(block, B256::with_last_byte(block as u8))],
            next_block: block + 1,
            ..Default::default()
        };
        let stop =
            PauseControl { side: Side::Withdrawals, paused: true, until: Some(500), actor: None, origin: at(10, 1) };
        let paused = PauseControl { until: None, origin: at(10, 2), ..stop.clone() };
        super::super::apply(&pool, &range(vec![control(CancelKind::Cancelled, 10, 0)], vec![paused, stop], 10))
            .await
            .unwrap();
        assert_eq!(standing(&pool).await.unwrap().len(), 1);
        assert_eq!(super::paused(&pool, 499).await.unwrap(), (false, true));
        assert_eq!(super::paused(&pool, 500).await.unwrap(), (false, false), "a stop lapses by itself");

        super::super::apply(&pool, &range(vec![control(CancelKind::Uncancelled, 20, 0)], vec![], 20)).await.unwrap();
        assert!(standing(&pool).await.unwrap().is_empty(), "undone");
        super::super::rewind(&pool, 15, (20, B256::with_last_byte(20))).await.unwrap();
        assert_eq!(standing(&pool).await.unwrap().len(), 1, "the undo was reorged out: it stands again");
        super::super::rewind(&pool, 5, (10, B256::with_last_byte(10))).await.unwrap();
        assert!(standing(&pool).await.unwrap().is_empty(), "the cancellation was reorged out");
        assert_eq!(super::paused(&pool, 0).await.unwrap(), (false, false));
    }
}
