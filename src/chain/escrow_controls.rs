//! The escrow's guardian and admin events, as the chain has them: cancellations of a commitment and their undoing
//! (`CommitmentCancelled`, `UncancelScheduled`, `UncancelVetoed`, `CommitmentUncancelled`), and stops of deposits
//! or withdrawals (`PauseChanged`, `WithdrawalsStopped`). A user reading the API must see that a claim will not pay
//! before sending a withdrawal that reverts, so the watcher keeps these beside the deposits and withdrawals.

use alloy::primitives::{Address, B256};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEvent;

use super::Error;
use super::bindings::escrow::IUSDCEscrow::{
    CommitmentCancelled, CommitmentUncancelled, PauseChanged, UncancelScheduled, UncancelVetoed, WithdrawalsStopped,
};
use super::escrow_events::EventOrigin;

/// Bytes of a cancellation's reason kept (the guardian's words: a long string is cut, its length said).
pub const MAX_REASON_BYTES: usize = 512;

/// What happened to a commitment's cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelKind {
    /// The guardian cancelled it: its claims do not pay.
    Cancelled,
    /// The admin scheduled its undoing.
    UncancelScheduled,
    /// The scheduled undoing was vetoed.
    UncancelVetoed,
    /// The cancellation was undone: its claims pay again.
    Uncancelled,
}

impl CancelKind {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cancelled => "cancelled",
            Self::UncancelScheduled => "uncancel_scheduled",
            Self::UncancelVetoed => "uncancel_vetoed",
            Self::Uncancelled => "uncancelled",
        }
    }
}

/// One event about a commitment's cancellation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentControl {
    /// What happened.
    pub kind: CancelKind,
    /// The commitment's epoch.
    pub epoch: u64,
    /// The commitment.
    pub commitment_hash: B256,
    /// Who did it, when the event names them.
    pub actor: Option<Address>,
    /// The guardian's reason (a cancellation), at most [`MAX_REASON_BYTES`].
    pub reason: Option<String>,
    /// When a scheduled undo may be applied.
    pub effective_at: Option<u64>,
    /// Where it was emitted.
    pub origin: EventOrigin,
}

/// Which side of the escrow a stop is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Deposits.
    Deposits,
    /// Withdrawals.
    Withdrawals,
}

impl Side {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deposits => "deposits",
            Self::Withdrawals => "withdrawals",
        }
    }
}

/// A pause or resumption of one side of the escrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseControl {
    /// Which side.
    pub side: Side,
    /// Paused (true) or resumed.
    pub paused: bool,
    /// When a withdrawal stop ends by itself (`WithdrawalsStopped`); `None` for `PauseChanged`.
    pub until: Option<u64>,
    /// Who did it, when the event names them.
    pub actor: Option<Address>,
    /// Where it was emitted.
    pub origin: EventOrigin,
}

/// What a log of the escrow's controls is, if it is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// About a commitment's cancellation.
    Commitment(CommitmentControl),
    /// A pause.
    Pause(PauseControl),
}

/// Decodes `log` when it is one of the control events; `Ok(None)` for any other event.
pub fn decode(log: &Log, origin: EventOrigin) -> Result<Option<Control>, Error> {
    let bad = |what: &'static str| move |e: alloy::sol_types::Error| Error::Decode { what, reason: e.to_string() };
    let commitment = |kind, epoch, commitment_hash| CommitmentControl {
        kind,
        epoch,
        commitment_hash,
        actor: None,
        reason: None,
        effective_at: None,
        origin,
    };
    let control = match log.topic0() {
        Some(&CommitmentCancelled::SIGNATURE_HASH) => {
            let e = CommitmentCancelled::decode_log(&log.inner).map_err(bad("CommitmentCancelled"))?.data;
            Control::Commitment(CommitmentControl {
                actor: Some(e.guardian),
                reason: Some(crate::ingest::quote::prefix(&e.reason, MAX_REASON_BYTES)),
                ..commitment(CancelKind::Cancelled, e.epoch, e.commitmentHash)
            })
        }
        Some(&UncancelScheduled::SIGNATURE_HASH) => {
            let e = UncancelScheduled::decode_log(&log.inner).map_err(bad("UncancelScheduled"))?.data;
            Control::Commitment(CommitmentControl {
                effective_at: Some(e.effectiveAt),
                ..commitment(CancelKind::UncancelScheduled, e.epoch, e.commitmentHash)
            })
        }
        Some(&UncancelVetoed::SIGNATURE_HASH) => {
            let e = UncancelVetoed::decode_log(&log.inner).map_err(bad("UncancelVetoed"))?.data;
            Control::Commitment(CommitmentControl {
                actor: Some(e.by),
                ..commitment(CancelKind::UncancelVetoed, e.epoch, e.commitmentHash)
            })
        }
        Some(&CommitmentUncancelled::SIGNATURE_HASH) => {
            let e = CommitmentUncancelled::decode_log(&log.inner).map_err(bad("CommitmentUncancelled"))?.data;
            Control::Commitment(commitment(CancelKind::Uncancelled, e.epoch, e.commitmentHash))
        }
        Some(&PauseChanged::SIGNATURE_HASH) => {
            let e = PauseChanged::decode_log(&log.inner).map_err(bad("PauseChanged"))?.data;
            let side = if e.deposits { Side::Deposits } else { Side::Withdrawals };
            Control::Pause(PauseControl { side, paused: e.paused, until: None, actor: Some(e.by), origin })
        }
        Some(&WithdrawalsStopped::SIGNATURE_HASH) => {
            let e = WithdrawalsStopped::decode_log(&log.inner).map_err(bad("WithdrawalsStopped"))?.data;
            Control::Pause(PauseControl {
                side: Side::Withdrawals,
                paused: true,
                until: Some(e.until),
                actor: None,
                origin,
            })
        }
        _ => return Ok(None),
    };
    Ok(Some(control))
}
