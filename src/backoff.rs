//! Exponential backoff after consecutive transient failures: 250 ms, doubling, at most 30 s; reset by a
//! success. Shared by the HTTP batch source (per endpoint) and the relayer's chain loops.

use std::time::Duration;

/// First delay after a failure.
pub const BASE: Duration = Duration::from_millis(250);
/// Longest delay.
pub const MAX: Duration = Duration::from_secs(30);

/// Consecutive failures of one thing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Records a failure; returns how long to wait before trying again.
    pub fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        BASE.saturating_mul(1 << (self.failures - 1).min(16)).min(MAX)
    }

    /// Records a success.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let delays: Vec<Duration> = (0..10).map(|_| b.failed()).collect();
        assert_eq!(delays[..4], [BASE, BASE * 2, BASE * 4, BASE * 8]);
        assert_eq!(delays[9], MAX);
        b.succeeded();
        assert_eq!(b.failed(), BASE);
    }
}
