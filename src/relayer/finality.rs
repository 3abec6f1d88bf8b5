//! When committed epochs become final and payable, kept up to date while the guardian's clock can still move them,
//! with a number of calls a pass that does not grow with the challenge window.
//!
//! `StateCommitment.finalAt(e)` is `committedAt(e) + window`, extended by every stop of the clock that began before
//! `e` was final (and "never" while such a stop is in force); a stop that begins after `e` is final changes nothing.
//! The escrow's `payableAt(e)` is `finalAt(e)` plus its fixed delay. So once read, an epoch's times move only when
//! the clock stops (and resumes), and then every epoch not yet final when it stopped moves with it. Each epoch's
//! times are read at its commit, and all of the waiting ones again whenever one moved, newest first: the oldest
//! waiting epoch then always holds the earliest reading, and if anything moved since, its own times moved too. A
//! pass reads the oldest's finality (and the newest's, the one a reorg of recent blocks would have re-timed) and
//! reads everything again only if one of them changed.

use super::Relayer;
use crate::Result;
use crate::chain::Submitter;
use crate::ids::Epoch;
use crate::store::commitments::{self, Waiting};

impl Relayer {
    /// Reads again the times of the committed epochs that are not payable yet, when they may have moved.
    pub(super) async fn refresh_finality(&self, submitter: &Submitter, chain_now: i64) -> Result<()> {
        let waiting = commitments::not_final(&self.pool, chain_now).await?;
        let (Some(oldest), Some(newest)) = (waiting.first(), waiting.last()) else { return Ok(()) };
        let (oldest_now, newest_now) = if oldest.epoch == newest.epoch {
            let now = submitter.final_at(oldest.epoch).await?;
            (now, now)
        } else {
            tokio::try_join!(submitter.final_at(oldest.epoch), submitter.final_at(newest.epoch))?
        };
        for epoch in to_read_again(&waiting, oldest_now, newest_now) {
            let payable_at = crate::chain::escrow_payable_at(&self.provider, self.config.escrow, epoch);
            let (final_at, payable_at) = tokio::try_join!(submitter.final_at(epoch), payable_at)?;
            commitments::set_final_at(&self.pool, epoch, final_at, payable_at).await?;
        }
        Ok(())
    }
}

/// Which of `waiting` (oldest first) to read again, newest first, given the oldest's and the newest's finality on
/// chain now: every one if either moved (newest first, so a pass cut short leaves the oldest still stale and the
/// next pass reads all again), else only those never read.
fn to_read_again(waiting: &[Waiting], oldest_now: i64, newest_now: i64) -> Vec<Epoch> {
    let (Some(oldest), Some(newest)) = (waiting.first(), waiting.last()) else { return Vec::new() };
    let moved = oldest.final_at != Some(oldest_now) || newest.final_at != Some(newest_now);
    waiting.iter().rev().filter(|w| moved || w.final_at.is_none() || w.payable_at.is_none()).map(|w| w.epoch).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(epoch: u64, final_at: Option<i64>) -> Waiting {
        Waiting { epoch: Epoch(epoch), final_at, payable_at: final_at.map(|f| f + 10) }
    }

    #[test]
    fn nothing_is_read_again_while_the_clock_has_not_moved_however_many_wait() {
        let all: Vec<Waiting> = (1..=1_000).map(|e| waiting(e, Some(100 + e as i64))).collect();
        assert!(to_read_again(&all, 101, 1_100).is_empty());
    }

    #[test]
    fn epochs_never_read_are_read_whatever_the_clock() {
        let some = vec![waiting(1, Some(101)), waiting(2, None), waiting(3, Some(103))];
        assert_eq!(to_read_again(&some, 101, 103), [Epoch(2)]);
    }

    #[test]
    fn a_moved_clock_reads_every_epoch_again_newest_first() {
        let all: Vec<Waiting> = (1..=4).map(|e| waiting(e, Some(100 + e as i64))).collect();
        let every = [Epoch(4), Epoch(3), Epoch(2), Epoch(1)];
        // Stopped and resumed: the oldest (and every other) moved later.
        assert_eq!(to_read_again(&all, 161, 164), every);
        // Stopped now, before any of them was final: each reads as never final.
        assert_eq!(to_read_again(&all, i64::MAX, i64::MAX), every);
        // Only the newest re-timed (a reorg of the last blocks).
        assert_eq!(to_read_again(&all, 101, 105), every);
    }
}
