//! The conservation audit over a reader's store, shared by every mode that reads batches: the relayer runs it
//! before each commitment, an attester before each signature. It keeps what the audit needs in the store's
//! `store::ledger` tables (each executed epoch's settlement fills, applications, mints, terms, violations) and
//! runs `settle::conservation::audit` on a stored batch against the previous one.
//!
//! The settlement of an executed epoch comes from the epoch's batch and the chain alone (its auction at the
//! curve's spot before `EpochSettled`, and that log's amounts): the relayer records it as it executes, anyone
//! else by reading the log ([`LedgerAudit::catch_up`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use alloy::primitives::{Address, U256};
use alloy::providers::DynProvider;

use super::DecodedStates;
use crate::ids::{ClaimId, Epoch};
use crate::ingest::document::footprint::Limits;
use crate::ingest::{self, BatchState};
use crate::settle::conservation::{self, Context, ExecutedLeg, Holdings, Policy, WAD_PER_USDC_UNIT};
use crate::settle::{Claim, CommittedFigures, EpochSettlement, cow, pamm};
use crate::store::{self, Pool, batches, ledger};
use crate::{Error, Result};

/// The audit over one store.
#[derive(Debug, Clone)]
pub struct LedgerAudit {
    /// The store.
    pub pool: Pool,
    /// The chain id (mint signatures and claim leaves are bound to it).
    pub chain_id: u64,
    /// The escrow (claim leaves are bound to it).
    pub escrow: Address,
    /// What a stored document may claim when it is read again.
    pub document_limits: Limits,
    /// The escrow's P-AMM parameters: the previous epoch's claims are paid by them.
    pub params: pamm::Params,
    /// The rules.
    pub policy: Policy,
    /// The decoded states of the epochs in flight, shared with the reader that accepted them.
    pub states: DecodedStates,
}

impl LedgerAudit {
    /// The decoded state of stored epoch `epoch`: the reader's, when it still keeps it, else decoded again from the
    /// stored batch (off the async workers: a big document takes seconds) and kept.
    pub async fn stored_state(&self, epoch: Epoch) -> Result<Arc<BatchState>> {
        let not_stored = || store::Error::Corrupt {
            table: "batches",
            column: "raw".into(),
            reason: format!("epoch {epoch} is not stored"),
        };
        let digest = batches::get(&self.pool, epoch).await?.ok_or_else(not_stored)?.digest;
        if let Some(state) = self.states.get(epoch, digest) {
            return Ok(state);
        }
        let (digest, raw) = batches::raw(&self.pool, epoch).await?.ok_or_else(not_stored)?;
        let limits = self.document_limits;
        // The batch was verified when accepted; only its document is needed again.
        let state = tokio::task::spawn_blocking(move || -> Result<BatchState> {
            let envelope = ingest::Envelope::decode(&raw)?;
            Ok(BatchState::from_automerge_within(&envelope.document, &limits)?)
        })
        .await
        .map_err(|e| Error::Task { what: "decoding a stored batch", reason: e.to_string() })??;
        let state = Arc::new(state);
        self.states.put(epoch, digest, state.clone());
        Ok(state)
    }

    /// Audits stored `batch` against the previous one unless done before; `holdings` when the caller knows what
    /// the escrow holds and owes. A violation is recorded with the batch's digest and returned (it halts).
    pub async fn audit(&self, batch: &batches::StoredBatch, holdings: Option<Holdings>) -> Result<()> {
        if ledger::audited(&self.pool, batch.epoch).await? {
            return Ok(());
        }
        let state = self.stored_state(batch.epoch).await?;
        let context = Context { holdings, ..self.context(&state).await? };
        let policy = self.policy.clone();
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
                    digest = %batch.digest, "CONSERVATION VIOLATION: the batch breaks conservation; halting");
                Err(violation.into())
            }
        }
    }

    /// Everything but the escrow's holdings.
    async fn context(&self, state: &BatchState) -> Result<Context> {
        let previous = match Epoch(state.epoch).previous() {
            Some(e) if e.0 > 0 => Some(self.stored_state(e).await?),
            _ => None,
        };
        let Some(flows) = &state.ledger else {
            // A version 1 batch is only checked for following a version 2 one: nothing else is needed.
            return Ok(Context { chain_id: self.chain_id, previous, ..Default::default() });
        };
        // What the previous batch's claims are quoted to pay counts only against a version 2 previous batch.
        let previous_paid_usd = match previous.as_ref().filter(|p| p.ledger.is_some()) {
            Some(p) => {
                let (claims, figures) = EpochSettlement::claims(p, &self.params);
                quoted_usdc(&claims, &figures, &self.params)? * WAD_PER_USDC_UNIT
            }
            None => U256::ZERO,
        };
        let named: Vec<u64> = flows.settlements.iter().map(|s| s.epoch).collect();
        let contributors: BTreeSet<_> = flows.mints.iter().map(|m| m.contributor).collect();
        let listed: Vec<_> = state.intents.iter().map(|i| (i.maker, i.id)).collect();
        let window = self.policy.issuance.window_epochs;
        Ok(Context {
            chain_id: self.chain_id,
            previous,
            previous_paid_usd,
            settlements: ledger::settlements(&self.pool, &named).await?,
            closed_intents: ledger::closed_among(&self.pool, &listed, state.timestamp).await?,
            mint_history: ledger::mint_history(&self.pool, &contributors, state.epoch, window).await?,
            holdings: None,
            reissued_usd: store::reissues::payouts_reissued_in(&self.pool, Epoch(state.epoch)).await?
                * WAD_PER_USDC_UNIT,
            pamm: self.params,
        })
    }

    /// What the claims of epochs before `epoch` that the escrow has not paid will take, in USDC units (the
    /// epoch's own claims leave the reserve in the next batch; its figures are from before them). A claim is paid
    /// if the store's escrow watcher saw it paid or it is in `paid_since` (paid in blocks the watcher has not read).
    ///
    /// Flat in history: the store keeps what priced claims owe (`store::owed`), less here what `paid_since` paid;
    /// only claims stored before payouts were kept are priced here.
    pub async fn owed_before(&self, epoch: Epoch, paid_since: &BTreeSet<U256>) -> Result<U256> {
        let kept = store::owed::before(&self.pool, epoch).await?;
        let paid: Vec<ClaimId> = paid_since.iter().copied().map(ClaimId).collect();
        let paid_unseen = store::claims::owed_among(&self.pool, &paid, epoch).await?;
        let unpriced = store::claims::unpriced_unpaid_before(&self.pool, epoch).await?;
        Ok(kept.saturating_sub(paid_unseen) + self.price(unpriced, paid_since).await?)
    }

    /// [`LedgerAudit::owed_before`] for the claims of epochs `from` (inclusive) to `to` (exclusive) only, so a run
    /// over consecutive epochs adds each epoch's claims once; priced from the claims themselves.
    pub async fn owed_between(&self, from: Epoch, to: Epoch, paid_since: &BTreeSet<U256>) -> Result<U256> {
        self.price(store::claims::unpaid_between(&self.pool, from, to).await?, paid_since).await
    }

    /// What `unpaid` claims not in `paid_since` pay, each priced by its epoch's committed figures.
    async fn price(&self, unpaid: Vec<store::claims::StoredClaim>, paid_since: &BTreeSet<U256>) -> Result<U256> {
        let mut owed = U256::ZERO;
        let mut figures = std::collections::BTreeMap::new();
        for stored in unpaid.into_iter().filter(|c| !paid_since.contains(&c.claim.claim_id)) {
            let epoch = Epoch(stored.claim.epoch);
            if let std::collections::btree_map::Entry::Vacant(e) = figures.entry(epoch) {
                e.insert(batches::get(&self.pool, epoch).await?.map(|b| b.reserve));
            }
            if let Some(Some(f)) = figures.get(&epoch) {
                owed += stored.claim.usdc_payout(f, &self.params)?;
            }
        }
        Ok(owed)
    }

    /// Records `epoch`'s settlement: its auction at `spot` with the executed legs. A version 1 epoch records its
    /// execution only: its trades were never to be applied to balances.
    pub async fn record_settlement(
        &self,
        epoch: Epoch,
        spot: U256,
        sell: Option<ExecutedLeg>,
        buy: Option<ExecutedLeg>,
    ) -> Result<()> {
        let state = self.stored_state(epoch).await?;
        let fills = tokio::task::spawn_blocking(move || -> Result<Vec<_>> {
            if state.ledger.is_none() {
                return Ok(Vec::new());
            }
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
        ledger::record_fills(&self.pool, epoch, &fills).await?;
        Ok(())
    }

    /// Reads from the chain the settlement of every stored epoch before `before` not recorded yet (each from the
    /// curve's `EpochSettled` log, searched from `from_block`); false while one has not executed yet.
    pub async fn catch_up(
        &self,
        provider: &DynProvider,
        curve: Address,
        from_block: u64,
        before: Epoch,
    ) -> Result<bool> {
        for epoch in ledger::unsettled_before(&self.pool, before).await? {
            match crate::chain::settlements::executed(provider, curve, epoch.0, from_block).await? {
                Some(c) => self.record_settlement(epoch, c.spot, c.sell, c.buy).await?,
                None => return Ok(false),
            }
        }
        Ok(true)
    }
}

/// What an epoch's claims are quoted to pay, in USDC units, exactly as the escrow pays them.
fn quoted_usdc(claims: &[Claim], figures: &CommittedFigures, params: &pamm::Params) -> Result<U256> {
    let mut total = U256::ZERO;
    for claim in claims {
        total += claim.usdc_payout(figures, params)?;
    }
    Ok(total)
}
