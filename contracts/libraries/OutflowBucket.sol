// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title OutflowBucket
/// @notice A token bucket of `limit` units that refills linearly, `limit` per `period` seconds (the rate limiter
///         Chainlink CCIP puts on token pools). Over any interval of T seconds at most `limit + limit·T/period`
///         leaves; a bucket starts full.
library OutflowBucket {
    /// @param limit Size of the bucket (and what refills per period).
    /// @param period Refill period in seconds.
    /// @param available Units in the bucket at `updatedAt`.
    /// @param updatedAt When `available` was last settled.
    struct Bucket {
        uint128 limit;
        uint64 period;
        uint128 available;
        uint64 updatedAt;
    }

    /// @notice Units that may leave at `now`: the stored level plus the refill since, capped at the limit.
    function availableAt(Bucket storage b, uint256 now_) internal view returns (uint256) {
        uint256 refill = Math.mulDiv(now_ - b.updatedAt, b.limit, b.period);
        return Math.min(uint256(b.available) + refill, b.limit);
    }

    /// @notice The first time at or after `now` when `amount` (≤ limit) fits, given `available` now: the missing
    ///         units refilled, rounded up to the next whole second.
    function fitsAt(Bucket storage b, uint256 amount, uint256 available, uint256 now_)
        internal
        view
        returns (uint256)
    {
        if (amount <= available) return now_;
        return now_ + Math.mulDiv(amount - available, b.period, b.limit, Math.Rounding.Ceil);
    }

    /// @notice Takes `amount` out at `now`; the caller has checked that it fits.
    function take(Bucket storage b, uint256 amount, uint256 available, uint256 now_) internal {
        b.available = uint128(available - amount);
        b.updatedAt = uint64(now_);
    }

    /// @notice Replaces limit and period at `now`: the level is settled under the old rate first, then capped at
    ///         the new limit (a tighter limit never adds room).
    function reset(Bucket storage b, uint128 limit, uint64 period, uint256 now_) internal {
        uint256 available = b.period == 0 ? limit : Math.min(availableAt(b, now_), limit);
        b.limit = limit;
        b.period = period;
        b.available = uint128(available);
        b.updatedAt = uint64(now_);
    }
}
