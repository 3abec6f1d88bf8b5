//! Accepting a verified batch: its claims, state root and committed figures computed, and the batch, claims,
//! credits and outputs stored in one transaction.

use alloy::primitives::B256;
use tracing::Instrument;

use crate::Result;
use crate::ingest::Batch;
use crate::settle::outputs::{self, Redemptions};
use crate::settle::{ClaimDomain, EpochSettlement, pamm};
use crate::store::{self, Pool, batches, claims, credits};

/// An epoch the reader accepted and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The epoch.
    pub epoch: u64,
    /// Its batch digest.
    pub digest: B256,
    /// Its state root.
    pub state_root: B256,
    /// Claims in its root.
    pub claims: usize,
}

/// Computes the batch's settlement and stores batch and claims in one transaction.
#[tracing::instrument(skip_all, fields(epoch = batch.epoch))]
pub(super) async fn accept(
    pool: &Pool,
    batch: &Batch,
    origin: &str,
    params: &pamm::Params,
    domain: ClaimDomain,
) -> Result<Accepted> {
    // The stages as spans (`settle`, `store`; the reader's `ingest`, the writer's `commit` and `net_orders`): a
    // tracing subscriber can time them, as the end-to-end benchmark does, and log lines within carry the stage.
    let (settlement, redemptions, outputs) = tracing::info_span!("settle").in_scope(|| {
        let settlement = EpochSettlement::compute(&batch.state, params, domain);
        let redemptions = redemptions(batch, &settlement, params);
        let outputs = redemptions.as_ref().map(|r| epoch_outputs(batch, &settlement, r));
        (settlement, redemptions, outputs)
    });
    async {
        let mut tx = store::begin(pool).await?;
        batches::insert(&mut tx, batch, settlement.root(), &settlement.figures).await?;
        let moves: Vec<_> = batch
            .state
            .withdrawals
            .iter()
            .filter_map(|w| {
                let from = w.reissues?;
                Some(store::reissues::Move { claim_id: w.claim_id.into(), from: from.into(), to: batch.epoch.into() })
            })
            .collect();
        store::reissues::move_out(&mut tx, &moves).await?;
        claims::insert_all(&mut tx, &settlement, redemptions.as_ref().map(|r| r.payouts.as_slice())).await?;
        credits::insert_all(&mut tx, batch.epoch.into(), &batch.state.deposits).await?;
        if let Some(outputs) = &outputs {
            store::outputs::insert(&mut tx, outputs).await?;
        }
        tx.commit().await.map_err(store::Error::from)
    }
    .instrument(tracing::info_span!("store"))
    .await?;
    tracing::info!(
        digest = %batch.digest,
        root = %settlement.root(),
        claims = settlement.claims.len(),
        signers = batch.signers,
        %origin,
        "batch accepted"
    );
    Ok(Accepted {
        epoch: batch.epoch,
        digest: batch.digest,
        state_root: settlement.root(),
        claims: settlement.claims.len(),
    })
}

/// What the escrow pays for each of the epoch's claims. A claim the math cannot price (a figure near 2^256) is one
/// the escrow cannot pay either; it is logged, and the epoch's payouts and outputs are not stored.
fn redemptions(batch: &Batch, settlement: &EpochSettlement, params: &pamm::Params) -> Option<Redemptions> {
    Redemptions::compute(settlement, params)
        .inspect_err(|e| tracing::error!(epoch = batch.epoch, error = %e, "the epoch's claims cannot be priced"))
        .ok()
}

/// The epoch's redemption rate, USDC payouts and deposit split, for the status page and the demo.
fn epoch_outputs(
    batch: &Batch,
    settlement: &EpochSettlement,
    redemptions: &Redemptions,
) -> store::outputs::EpochOutputs {
    let split = outputs::deposit_split(&batch.state);
    store::outputs::EpochOutputs {
        epoch: batch.epoch,
        pamm_rate: redemptions.pamm_rate,
        redeemed_myco: settlement.claims.iter().map(|c| c.myco_amount).sum(),
        payout_usdc: redemptions.payouts.iter().sum(),
        deposit_split: split.as_ref().map(|_| outputs::deposit_split_json(&batch.state, &split)),
    }
}
