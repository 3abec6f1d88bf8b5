//! The relayer's chain writer: each stored epoch the chain does not have yet, in order, its root and then its net
//! curve orders; exactly once each, recovering what an earlier run sent from the chain.

use alloy::primitives::U256;
use tracing::Instrument;

use super::Relayer;
use crate::attest::{self, collect::Collector};
use crate::chain::{CurveSettler, Outcome, Submitter};
use crate::ids::{Epoch, Purpose};
use crate::settle::{cow, execution};
use crate::store::curve::{self as curve_store, Planned, Status};
use crate::store::{self, batches, commitments};
use crate::{Error, Result};

impl Relayer {
    /// Settles every stored epoch the chain does not have yet, in order: its root first, then its net curve
    /// orders. Stops at the first transient failure (the next poll resumes there).
    ///
    /// Root before orders: the curve settles only committed epochs, each exactly once and in sequence, so no key
    /// can trade for an epoch the validators' batch has not been committed for. A crash between the two steps
    /// leaves the root committed and the orders pending; the restart executes them before committing anything
    /// newer. `committed` counts the epochs it commits, also when a later one then fails.
    pub(super) async fn submit_uncommitted(
        &self,
        settler: &CurveSettler,
        submitter: &Submitter,
        collector: &Collector,
        params: &crate::settle::pamm::Params,
        committed: &mut u64,
    ) -> Result<()> {
        // What to submit next comes from the chain, not only the store: a commitment a reorg took out (or the
        // guardian revoked) is forgotten, and its epoch is submitted again.
        let chain_latest = submitter.latest_epoch().await?;
        let forgotten = commitments::forget_above(&self.pool, chain_latest).await?;
        if !forgotten.is_empty() {
            tracing::warn!(?forgotten, %chain_latest, "recorded commitments are no longer on chain; resubmitting");
        }
        self.refresh_finality(submitter, store::clock::chain_time(&self.pool).await?).await?;
        for epoch in curve_store::committed_unsettled(&self.pool).await? {
            self.settle_net_orders(settler, epoch, params).await?;
        }
        for batch in batches::uncommitted(&self.pool).await? {
            async {
                // Every earlier epoch is settled by now, so the audit sees what the chain executed before this batch.
                self.audit_before_commit(&batch, params).instrument(tracing::info_span!("audit")).await?;
                let root = attest::commitment::of_stored(&self.pool, &batch).await?;
                // A commitment already on chain is compared, not signed again; a new one needs a quorum of attesters
                // over our own computation.
                let (latest, quorum) = tokio::try_join!(submitter.latest_epoch(), submitter.quorum())?;
                let attested = if root.epoch <= latest {
                    Vec::new()
                } else {
                    collector.collect(&self.pool, &root, &quorum).instrument(tracing::info_span!("collect")).await?
                };
                let (outcome, attested_by) = submitter.submit(&root, &attested, quorum.threshold).await?;
                let (tx_hash, block_number, gas_used) = match outcome {
                    Outcome::Committed { tx_hash, block_number, gas_used } => {
                        (Some(tx_hash), Some(block_number), Some(gas_used))
                    }
                    Outcome::AlreadyOnChain => (None, None, None),
                };
                let final_at = submitter.final_at(batch.epoch);
                let payable_at = crate::chain::escrow_payable_at(&self.provider, self.config.escrow, batch.epoch);
                let (final_at, payable_at) = tokio::try_join!(final_at, payable_at)?;
                let record = commitments::Commitment {
                    epoch: batch.epoch,
                    state_root: batch.state_root,
                    tx_hash,
                    block_number,
                    gas_used,
                    final_at: Some(final_at),
                    payable_at: Some(payable_at),
                    attested_by,
                };
                commitments::insert(&self.pool, &record).await?;
                *committed += 1;
                Ok::<_, Error>(())
            }
            .instrument(tracing::info_span!("commit", epoch = batch.epoch.0))
            .await?;
            self.settle_net_orders(settler, batch.epoch, params).await?;
        }
        Ok(())
    }

    /// Executes `epoch`'s net curve orders unless done: the plan is computed once, at the curve's price after the
    /// previous epoch, stored before anything is sent, and resent as stored until the chain has it. An epoch
    /// without orders is settled too, with zeros: the curve takes every committed epoch in turn.
    #[tracing::instrument(name = "net_orders", skip_all, fields(epoch = epoch.0))]
    async fn settle_net_orders(
        &self,
        settler: &CurveSettler,
        epoch: Epoch,
        params: &crate::settle::pamm::Params,
    ) -> Result<()> {
        let stored = curve_store::get(&self.pool, epoch).await?;
        if let Some(row) = &stored
            && row.status != Status::Planned
        {
            return Ok(());
        }
        let view = settler.view().await?;
        // The auction's one input that is not in the batch is the curve's spot, and it must be the spot right
        // after the previous epoch's settlement: a function of the chain's history alone (the curve takes no
        // other trades), so an attester or an auditor computes the same fills (docs/settlement-math.md).
        if view.last_settled.0 + 1 < epoch.0 {
            return Err(crate::chain::Error::SettlementOutOfOrder {
                epoch: epoch.0,
                last_settled: view.last_settled.0,
            }
            .into());
        }
        // A plan made now for an epoch the chain already settled ran at a later spot than the chain's auction.
        let replanned_after_settlement = stored.is_none() && view.last_settled >= epoch;
        let planned = match stored {
            Some(row) => row.plan,
            None => {
                // With the row lost (the store was restored from an old copy) but the epoch settled on chain, this
                // plan is recomputed at the later spot; the execution below is still recovered from the chain's
                // log, never traded twice.
                let planned = self.plan_net_orders(epoch, &view, params).await?;
                for skip in &planned.skipped {
                    tracing::warn!(reason = skip.reason.as_str(), detail = %skip.detail, "net order not executed");
                }
                curve_store::insert(&self.pool, &planned).await?;
                planned
            }
        };
        let executed = if view.last_settled >= epoch {
            // Sent before a restart and mined since: recover the outcome from the chain's log, searching back from
            // the head no further than the transaction can be.
            let floor = self.settlement_floor(epoch).await?;
            let found = settler.find_executed(epoch, floor, self.config.max_log_range).await?;
            found.ok_or(crate::chain::Error::Decode {
                what: "EpochSettled",
                reason: format!("curve settled epoch {} but no EpochSettled log for epoch {epoch}", view.last_settled),
            })?
        } else {
            settler.execute(epoch, planned.sell, planned.buy).await?
        };
        tracing::info!(tx = %executed.tx_hash, usdc_out = %executed.usdc_out, myco_out = %executed.myco_out,
            "net orders executed");
        if replanned_after_settlement {
            // What the epoch's makers are owed is what the chain executed, at the spot before it.
            let floor = self.settlement_floor(epoch).await?;
            let audit = self.ledger_audit(params);
            if let Some(c) =
                crate::chain::settlements::executed(&self.provider, self.config.curve, epoch.0, floor).await?
            {
                audit.record_settlement(epoch, c.spot, c.sell, c.buy).await?;
            }
        } else {
            self.record_settlement_fills(&planned, &executed, params).await?;
        }
        curve_store::executed(&self.pool, epoch, &executed).await?;
        Ok(())
    }

    /// The earliest block `epoch`'s settlement can be in: when its first attempt was sent, else when the epoch
    /// was committed (its net orders go out after its root), else the start block.
    async fn settlement_floor(&self, epoch: Epoch) -> Result<u64> {
        let sent = store::attempts::first_sent_block(&self.pool, Purpose::Settle, epoch).await?;
        let committed = commitments::block_of(&self.pool, epoch).await?;
        Ok(sent.or(committed).unwrap_or(self.config.start_block).max(self.config.start_block))
    }

    /// Runs `epoch`'s batch auction at the curve's spot and plans the net orders the curve and float can take.
    async fn plan_net_orders(
        &self,
        epoch: Epoch,
        view: &crate::chain::CurveView,
        params: &crate::settle::pamm::Params,
    ) -> Result<Planned> {
        let state = self.ledger_audit(params).stored_state(epoch).await?;
        let (spot, view) = (view.spot, *view);
        let planned = tokio::task::spawn_blocking(move || -> crate::settle::fixed::Result<_> {
            let auction = cow::auction(&state.intents, &state.balances, state.timestamp, spot)?;
            let plan = execution::plan(&auction, &view.curve, view.supply, view.float)?;
            Ok((auction, plan))
        });
        let (auction, plan) =
            planned.await.map_err(|e| Error::Task { what: "batch auction", reason: e.to_string() })??;
        let leg = |l: Option<execution::Leg>| l.map_or((U256::ZERO, U256::ZERO), |l| (l.amount, l.min_out));
        Ok(Planned {
            epoch,
            spot,
            clearing_price: auction.price,
            matched_myco: auction.matched_myco,
            fills: auction.fills.len() as u64,
            sell: leg(plan.sell),
            buy: leg(plan.buy),
            skipped: plan.skipped,
        })
    }
}
