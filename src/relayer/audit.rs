//! The conservation audit before each commitment: the relayer gathers what the audit reads (the previous batch,
//! the executed settlements, traded intents, mint history, and the escrow's holdings from the chain), runs
//! `settle::conservation::audit`, and either records the terms or records the violation and halts. A batch that
//! breaks conservation is never committed.

use std::collections::BTreeSet;

use alloy::primitives::U256;

use super::Relayer;
use crate::ids::Epoch;
use crate::ingest::{self, BatchState};
use crate::settle::conservation::{self, Context, ExecutedLeg, Holdings, WAD_PER_USDC_UNIT};
use crate::settle::{ClaimDomain, EpochSettlement, cow, pamm};
use crate::store::curve::{self as curve_store, Status};
use crate::store::{self, batches, ledger};
use crate::{Error, Result};

impl Relayer {
    /// Audits stored `batch` against the previous one unless done before; a violation is recorded with the
    /// batch's digest and returned (it halts the relayer).
    pub(super) async fn audit_before_commit(&self, batch: &batches::StoredBatch, params: &pamm::Params) -> Result<()> {
        if ledger::audited(&self.pool, batch.epoch).await? {
            return Ok(());
        }
        let state = self.stored_state(batch.epoch).await?;
        let context = self.audit_context(&state, params).await?;
        let policy = self.config.conservation.clone();
        let audited =
            tokio::task::spawn_blocking(move || conservation::audit(&state, &context, &policy).map(|t| (t, state)))
                .await
                .map_err(|e| Error::Task { what: "conservation audit", reason: e.to_string() })?;
        match audited {
            Ok((terms, state)) => {
                let mints: Vec<_> =
                    state.ledger.iter().flat_map(|l| &l.mints).map(|m| (m.contributor, m.amount)).collect();
                ledger::record_audit(&self.pool, &terms, &mints).await?;
                tracing::info!(epoch = batch.epoch.0, applied = ?terms.applied, "conservation audit: balanced");
                Ok(())
            }
            Err(violation) => {
                ledger::record_violation(&self.pool, &violation, batch.digest).await?;
                tracing::error!(epoch = violation.epoch, rule = violation.kind.code(), detail = %violation.detail,
                    digest = %batch.digest, "CONSERVATION VIOLATION: the batch is not committed; halting");
                Err(violation.into())
            }
        }
    }

    /// The decoded state of stored epoch `epoch`.
    pub(super) async fn stored_state(&self, epoch: Epoch) -> Result<BatchState> {
        let (_, raw) = batches::raw(&self.pool, epoch).await?.ok_or(store::Error::Corrupt {
            table: "batches",
            column: "raw".into(),
            reason: format!("epoch {epoch} is not stored"),
        })?;
        // The batch was verified when accepted; only its document is needed again.
        let envelope = ingest::Envelope::decode(&raw)?;
        Ok(BatchState::from_automerge_within(&envelope.document, &self.config.document_limits)?)
    }

    async fn audit_context(&self, state: &BatchState, params: &pamm::Params) -> Result<Context> {
        let previous = match Epoch(state.epoch).previous() {
            Some(e) if e.0 > 0 => Some(self.stored_state(e).await?),
            _ => None,
        };
        let domain = ClaimDomain { chain_id: self.config.chain_id, escrow: self.config.escrow };
        let previous_paid_usd = match &previous {
            Some(p) => quoted_usdc(&EpochSettlement::compute(p, params, domain), params)? * WAD_PER_USDC_UNIT,
            None => U256::ZERO,
        };
        let Some(ledger_flows) = &state.ledger else {
            return Ok(Context { chain_id: self.config.chain_id, previous, previous_paid_usd, ..Default::default() });
        };
        let named: Vec<u64> = ledger_flows.settlements.iter().map(|s| s.epoch).collect();
        let mut executed_without_fills = Vec::new();
        for &epoch in &named {
            if let Some(row) = curve_store::get(&self.pool, Epoch(epoch)).await?
                && row.status == Status::Executed
            {
                executed_without_fills.push(epoch);
            }
        }
        let contributors: BTreeSet<_> = ledger_flows.mints.iter().map(|m| m.contributor).collect();
        let window = self.config.conservation.issuance.window_epochs;
        Ok(Context {
            chain_id: self.config.chain_id,
            previous,
            previous_paid_usd,
            settlements: ledger::settlements(&self.pool, &named, &executed_without_fills).await?,
            closed_intents: ledger::closed_intents(&self.pool, state.timestamp).await?,
            mint_history: ledger::mint_history(&self.pool, &contributors, state.epoch, window).await?,
            holdings: Some(self.holdings(Epoch(state.epoch), params).await?),
        })
    }

    /// What the escrow holds, and what the claims committed before `epoch` that it has not paid will take (the
    /// epoch's own claims leave the reserve in the next batch; its figures are from before them).
    async fn holdings(&self, epoch: Epoch, params: &pamm::Params) -> Result<Holdings> {
        let escrow = crate::chain::bindings::USDCEscrow::new(self.config.escrow, &self.provider);
        let usdc = escrow.usdc().call().await.map_err(|e| crate::chain::Error::from_call("usdc", e))?;
        let escrow_usdc = crate::chain::bindings::Erc20::new(usdc, &self.provider)
            .balanceOf(self.config.escrow)
            .call()
            .await
            .map_err(|e| crate::chain::Error::from_call("balanceOf", e))?;
        let mut owed_usdc = U256::ZERO;
        let mut figures = std::collections::BTreeMap::new();
        for stored in store::claims::unpaid_before(&self.pool, epoch).await? {
            let epoch = Epoch(stored.claim.epoch);
            if let std::collections::btree_map::Entry::Vacant(e) = figures.entry(epoch) {
                e.insert(batches::get(&self.pool, epoch).await?.map(|b| b.reserve));
            }
            if let Some(Some(f)) = figures.get(&epoch) {
                owed_usdc += stored.claim.usdc_payout(f, params)?;
            }
        }
        Ok(Holdings { escrow_usdc, owed_usdc })
    }

    /// Records what `epoch`'s executed net orders and peer-to-peer fills credit each intent that traded: the
    /// settlement a later batch must apply.
    pub(super) async fn record_settlement_fills(
        &self,
        planned: &curve_store::Planned,
        executed: &crate::chain::Executed,
    ) -> Result<()> {
        let state = self.stored_state(planned.epoch).await?;
        let (spot, sell, buy) =
            (planned.spot, leg(planned.sell, executed.usdc_out), leg(planned.buy, executed.myco_out));
        let fills = tokio::task::spawn_blocking(move || -> Result<Vec<_>> {
            let auction = cow::auction(&state.intents, &state.balances, state.timestamp, spot)?;
            let fills = conservation::expected_fills(&auction, sell, buy)
                .map_err(|reason| Error::Task { what: "settlement fills", reason })?;
            let valid_until: std::collections::BTreeMap<_, _> =
                state.intents.iter().map(|i| ((i.maker, i.id), i.valid_until)).collect();
            Ok(fills
                .into_iter()
                .map(|f| {
                    let until = valid_until.get(&(f.maker, f.intent)).copied().unwrap_or(u64::MAX);
                    (f, until)
                })
                .collect())
        })
        .await
        .map_err(|e| Error::Task { what: "settlement fills", reason: e.to_string() })??;
        ledger::record_fills(&self.pool, planned.epoch, &fills).await?;
        Ok(())
    }
}

/// An executed leg from the plan's amount and what the chain says it got; `None` when not sent.
fn leg((amount, _min_out): (U256, U256), out: U256) -> Option<ExecutedLeg> {
    (!amount.is_zero()).then_some(ExecutedLeg { amount, out })
}

/// What an epoch's claims are quoted to pay, in USDC units, exactly as the escrow pays them.
fn quoted_usdc(settlement: &EpochSettlement, params: &pamm::Params) -> Result<U256> {
    let mut total = U256::ZERO;
    for claim in &settlement.claims {
        total += claim.usdc_payout(&settlement.figures, params)?;
    }
    Ok(total)
}
