//! The decoded states of the last few accepted epochs, so an epoch's document is decoded once, at ingest, and not
//! again by each stage after it: the conservation audit (the batch and the one before it), the net-order plan
//! and the settlement record all read the state of an epoch that was just accepted. Decoding a big batch costs
//! seconds (`AutoCommit::load` is most of ingest), so reading it three more times was most of `commit` and
//! `net_orders` for a big epoch.
//!
//! An entry is keyed by epoch and batch digest and is only used while the store holds that digest for the epoch;
//! anything else is decoded from the store again. At most [`KEPT`] states are kept (the oldest goes first):
//! enough for the epoch being committed, its parent and the one being read, and a bound on memory whatever the
//! epochs' sizes (each is within the document limits).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use alloy::primitives::B256;

use crate::ids::Epoch;
use crate::ingest::BatchState;

/// How many decoded states are kept.
pub const KEPT: usize = 3;

/// A decoded state with the epoch and digest of the batch it was decoded from.
type Kept = (Epoch, B256, Arc<BatchState>);

/// A shared, bounded cache of decoded batch states; clones share it.
#[derive(Debug, Clone, Default)]
pub struct DecodedStates(Arc<Mutex<VecDeque<Kept>>>);

impl DecodedStates {
    /// The state of `epoch` decoded from the batch with `digest`, if kept.
    pub fn get(&self, epoch: Epoch, digest: B256) -> Option<Arc<BatchState>> {
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.iter().find(|(e, d, _)| *e == epoch && *d == digest).map(|(_, _, s)| s.clone())
    }

    /// Keeps `state`, decoded from `epoch`'s batch with `digest`, dropping the oldest beyond [`KEPT`].
    pub fn put(&self, epoch: Epoch, digest: B256, state: Arc<BatchState>) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.retain(|(e, _, _)| *e != epoch);
        kept.push_back((epoch, digest, state));
        while kept.len() > KEPT {
            kept.pop_front();
        }
    }

    /// How many states are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(epoch: u64) -> Arc<BatchState> {
        Arc::new(BatchState { epoch, ..Default::default() })
    }

    #[test]
    fn a_state_is_found_only_under_its_epoch_and_digest() {
        let states = DecodedStates::default();
        states.put(Epoch(1), B256::repeat_byte(1), state(1));
        assert_eq!(states.get(Epoch(1), B256::repeat_byte(1)).unwrap().epoch, 1);
        assert!(states.get(Epoch(1), B256::repeat_byte(2)).is_none(), "another digest for the epoch is decoded again");
        assert!(states.get(Epoch(2), B256::repeat_byte(1)).is_none());
    }

    #[test]
    fn at_most_kept_states_stay_the_newest_first() {
        let states = DecodedStates::default();
        for epoch in 1..=10 {
            states.put(Epoch(epoch), B256::repeat_byte(epoch as u8), state(epoch));
            assert!(states.len() <= KEPT);
        }
        assert_eq!(states.len(), KEPT);
        assert!(states.get(Epoch(10 - KEPT as u64), B256::repeat_byte(10 - KEPT as u8)).is_none());
        for epoch in 11 - KEPT as u64..=10 {
            assert!(states.get(Epoch(epoch), B256::repeat_byte(epoch as u8)).is_some(), "epoch {epoch} is kept");
        }
    }

    #[test]
    fn putting_an_epoch_again_replaces_it() {
        let states = DecodedStates::default();
        states.put(Epoch(1), B256::repeat_byte(1), state(1));
        states.put(Epoch(1), B256::repeat_byte(2), state(1));
        assert_eq!(states.len(), 1);
        assert!(states.get(Epoch(1), B256::repeat_byte(1)).is_none());
    }
}
