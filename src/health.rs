//! What the running service knows about itself beyond the store, shared between the relayer (which raises and
//! clears alarms) and the status API (which reports them): whether this instance leads, why it halted, and which
//! conditions it is waiting out. An alarm is a condition the service survives but a person should fix (fund the
//! account, unpause the contract, bring the node back); a halt is one only a person can decide.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// A condition the service waits out while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Alarm {
    /// The relayer's account cannot pay for gas: nothing is sent until it is funded.
    Underfunded,
    /// A contract is paused by the guardian: nothing is committed until it is unpaused.
    Paused,
    /// The chain's RPC keeps failing (timeouts, refused connections, 5xx, rate limits).
    ChainUnreachable,
    /// The database keeps failing (connection lost, server restarting).
    StoreUnreachable,
    /// The chain holds a different commitment for an epoch, still inside its challenge window: nothing is
    /// committed until the guardian revokes it (then ours goes in), or it becomes final (then the relayer halts).
    ConflictingRoot,
    /// Fewer attesters than the threshold signed our commitment for an epoch (silent, down, or signing something
    /// else): nothing is committed until enough do.
    AwaitingAttestations,
}

impl Alarm {
    /// Every alarm, so each has a metric series from the start.
    pub const ALL: [Alarm; 6] = [
        Alarm::Underfunded,
        Alarm::Paused,
        Alarm::ChainUnreachable,
        Alarm::StoreUnreachable,
        Alarm::ConflictingRoot,
        Alarm::AwaitingAttestations,
    ];

    /// Its name in metrics, the API and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Alarm::Underfunded => "underfunded",
            Alarm::Paused => "paused",
            Alarm::ChainUnreachable => "chain_unreachable",
            Alarm::StoreUnreachable => "store_unreachable",
            Alarm::ConflictingRoot => "conflicting_root",
            Alarm::AwaitingAttestations => "awaiting_attestations",
        }
    }
}

/// The service's own state.
#[derive(Debug, Default)]
pub struct Health {
    leader: AtomicBool,
    halted: Mutex<Option<String>>,
    alarms: Mutex<BTreeMap<Alarm, String>>,
}

impl Health {
    /// Whether this instance leads (sends transactions).
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    /// Records whether this instance leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.store(leading, Ordering::Relaxed);
    }

    /// Why the relayer halted, if it did.
    pub fn halted(&self) -> Option<String> {
        lock(&self.halted).clone()
    }

    /// Records a halt and its reason.
    pub fn halt(&self, reason: String) {
        *lock(&self.halted) = Some(reason);
    }

    /// Raises `alarm` (logged at warn when it starts, not again while it lasts).
    pub fn raise(&self, alarm: Alarm, message: &str) {
        if lock(&self.alarms).insert(alarm, message.to_string()).is_none() {
            tracing::warn!(alarm = alarm.as_str(), %message, "ALARM raised; waiting for it to clear");
        }
    }

    /// Clears `alarm` (logged when it was raised).
    pub fn clear(&self, alarm: Alarm) {
        if lock(&self.alarms).remove(&alarm).is_some() {
            tracing::info!(alarm = alarm.as_str(), "alarm cleared");
        }
    }

    /// The alarms raised now, with their messages.
    pub fn alarms(&self) -> Vec<(Alarm, String)> {
        lock(&self.alarms).iter().map(|(a, m)| (*a, m.clone())).collect()
    }
}

/// Locks `m`; a panic while it was held cannot leave these plain values inconsistent, so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_are_raised_once_and_cleared() {
        let h = Health::default();
        h.raise(Alarm::Underfunded, "no ETH");
        h.raise(Alarm::Underfunded, "still no ETH");
        assert_eq!(h.alarms(), [(Alarm::Underfunded, "still no ETH".to_string())]);
        h.clear(Alarm::Underfunded);
        assert!(h.alarms().is_empty());
        assert_eq!(h.halted(), None);
        h.halt("conflicting root".into());
        assert_eq!(h.halted().as_deref(), Some("conflicting root"));
    }
}
