//! Event logs read in bounded block ranges. Hosted RPC providers refuse `eth_getLogs` over more than a few
//! hundred to ten thousand blocks, so no read here ever spans more than `max_range` blocks (`[chain]
//! max_log_range`, default [`DEFAULT_MAX_LOG_RANGE`]).

use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};

use super::Error;

/// Blocks per `eth_getLogs` request unless configured: inside every public provider's limit we know of
/// (500 to 10,000), and few requests on a chain with seconds-long blocks.
pub const DEFAULT_MAX_LOG_RANGE: u64 = 1_000;

/// The inclusive block ranges of at most `max_range` blocks that cover `from..=to`, oldest first.
pub fn ranges(from: u64, to: u64, max_range: u64) -> impl DoubleEndedIterator<Item = (u64, u64)> {
    let step = max_range.max(1);
    let count = if to < from { 0 } else { (to - from) / step + 1 };
    (0..count).map(move |i| {
        let start = from + i * step;
        (start, to.min(start + (step - 1)))
    })
}

/// The newest log matching `filter` in blocks `from..=to`, read backwards one range at a time, so the usual case
/// (the log is recent) costs one request and the worst case (no such log) never sends an oversized one.
pub async fn find_newest(
    provider: &DynProvider,
    filter: &Filter,
    from: u64,
    to: u64,
    max_range: u64,
) -> Result<Option<Log>, Error> {
    for (start, end) in ranges(from, to, max_range).rev() {
        let logs = provider.get_logs(&filter.clone().from_block(start).to_block(end)).await?;
        if let Some(log) = logs.into_iter().next_back() {
            return Ok(Some(log));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_block_once_and_never_exceed_the_limit() {
        for (from, to, max) in [(0, 0, 1), (5, 4, 10), (0, 999, 1000), (0, 1000, 1000), (7, 2_500, 1000), (3, 9, 1)] {
            let r: Vec<_> = ranges(from, to, max).collect();
            let covered: Vec<u64> = r.iter().flat_map(|&(a, b)| a..=b).collect();
            assert_eq!(covered, (from..=to).collect::<Vec<_>>(), "{from}..={to} by {max}");
            assert!(r.iter().all(|&(a, b)| b - a < max), "{r:?}");
        }
        assert_eq!(ranges(0, 2_500, 1000).next_back(), Some((2_000, 2_500)), "backwards starts at the newest");
    }
}
