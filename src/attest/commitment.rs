//! The commitment of a stored epoch, the same for the relayer (which submits it) and an attester (which signs
//! it): the batch's root, digest, timestamp and figures, linked to the previous stored epoch's root.

use alloy::primitives::B256;

use crate::chain::RootCommit;
use crate::ids::Epoch;
use crate::store::batches::{self, StoredBatch};
use crate::store::{self, Pool};

/// The commitment of `batch`: its parent is the stored root of the epoch before (zero for epoch 1).
pub async fn of_stored(pool: &Pool, batch: &StoredBatch) -> store::Result<RootCommit> {
    let parent_root = match batch.epoch.previous() {
        None | Some(Epoch(0)) => B256::ZERO,
        Some(e) => batches::get(pool, e).await?.map(|b| b.state_root).ok_or(store::Error::Corrupt {
            table: "batches",
            column: "state_root".into(),
            reason: format!("epoch {} is stored without epoch {e}", batch.epoch),
        })?,
    };
    Ok(RootCommit {
        epoch: batch.epoch,
        state_root: batch.state_root,
        parent_root,
        digest: batch.digest,
        timestamp: batch.timestamp,
        figures: batch.reserve,
    })
}
