//! `reconcile_cursors`: where reconciliation resumes. A pass checks what changed since the last one (withdrawals in
//! blocks from `withdrawals_from_block`, deposits after `deposits_after`, credits of epochs from
//! `credits_from_epoch`) and the subjects of the mismatches still open, so its cost follows what is new and what
//! is wrong, not everything ever stored. A rewind deletes the row: the next pass reads everything again.

use sqlx::AnyConnection;

use super::columns::{Unsigned, decoding};
use super::{Pool, Result};

const T: &str = "reconcile_cursors";

/// Where the next pass starts; the default (no row) reads everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursors {
    /// Withdrawals in blocks before this one were checked.
    pub withdrawals_from_block: u64,
    /// Every deposit up to this id is credited, or has an open mismatch.
    pub deposits_after: u64,
    /// Credits of epochs before this one were checked.
    pub credits_from_epoch: u64,
}

/// The cursors, or the start when there are none.
pub async fn get(pool: &Pool) -> Result<Cursors> {
    let row: Option<(Unsigned, Unsigned, Unsigned)> = sqlx::query_as(
        "SELECT withdrawals_from_block, deposits_after, credits_from_epoch FROM reconcile_cursors WHERE id = 1",
    )
    .fetch_optional(pool)
    .await
    .map_err(decoding(T))?;
    Ok(row.map_or_else(Cursors::default, |(w, d, c)| Cursors {
        withdrawals_from_block: w.0,
        deposits_after: d.0,
        credits_from_epoch: c.0,
    }))
}

/// Moves the cursors, in the caller's transaction (the one that records what the pass found).
pub async fn set(conn: &mut AnyConnection, c: Cursors) -> Result<()> {
    sqlx::query(
        "INSERT INTO reconcile_cursors (id, withdrawals_from_block, deposits_after, credits_from_epoch)
         VALUES (1, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET withdrawals_from_block = excluded.withdrawals_from_block,
             deposits_after = excluded.deposits_after, credits_from_epoch = excluded.credits_from_epoch",
    )
    .bind(c.withdrawals_from_block as i64)
    .bind(c.deposits_after as i64)
    .bind(c.credits_from_epoch as i64)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the cursors, in the caller's transaction: after a rewind, events and what they matched may be gone.
pub async fn reset(conn: &mut AnyConnection) -> Result<()> {
    sqlx::query("DELETE FROM reconcile_cursors").execute(conn).await?;
    Ok(())
}
