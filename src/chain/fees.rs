//! The fees of one transaction attempt and how a replacement raises them.

/// Fees of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fees {
    /// EIP-1559 fee cap.
    pub(super) max_fee: u128,
    /// EIP-1559 tip.
    pub(super) tip: u128,
}

impl Fees {
    /// Both fees raised by `percent`, and by at least one wei (a node refuses an equal replacement).
    pub(super) fn bumped(self, percent: u64) -> Self {
        let up = |x: u128| x.saturating_mul(100 + percent as u128).div_ceil(100).max(x + 1);
        Self { max_fee: up(self.max_fee), tip: up(self.tip) }
    }

    /// Each fee the higher of the two.
    pub(super) fn max(self, other: Self) -> Self {
        Self { max_fee: self.max_fee.max(other.max_fee), tip: self.tip.max(other.tip) }
    }

    /// The fee cap at most `cap`, and the tip at most the fee cap.
    pub(super) fn capped(self, cap: u128) -> Self {
        let max_fee = self.max_fee.min(cap);
        Self { max_fee, tip: self.tip.min(max_fee) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_are_at_least_the_percentage_and_respect_the_cap() {
        let f = Fees { max_fee: 100, tip: 10 };
        assert_eq!(f.bumped(13), Fees { max_fee: 113, tip: 12 });
        // Tiny fees still move by at least one wei, or the node would refuse the replacement as equal.
        assert_eq!(Fees { max_fee: 1, tip: 0 }.bumped(13), Fees { max_fee: 2, tip: 1 });
        assert_eq!(f.bumped(13).capped(105), Fees { max_fee: 105, tip: 12 });
        assert_eq!(Fees { max_fee: 100, tip: 100 }.capped(50), Fees { max_fee: 50, tip: 50 });
    }
}
