// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title OutflowBucket
/// @notice A token bucket of `limit` units that refills linearly, `limit` per `period` seconds (the rate limiter
///         Chainlink CCIP puts on token pools). Over any interval of T seconds at most `limit + limit·T/period`
///         leaves, with one exception that keeps every payout payable: an amount larger than the whole bucket
///         may leave when the bucket is full, and its excess is borrowed from the refill that follows (the level
///         stays at zero until the refill has paid it back). So no payout is stranded by the limit, however the
///         limit is tightened, and the long-run rate never exceeds `limit/period`. A bucket starts full.
library OutflowBucket {
    /// @param limit Size of the bucket (and what refills per period).
    /// @param period Refill period in seconds.
    /// @param available Units in the bucket at `updatedAt`.
    /// @param updatedAt When `available` was last settled; later than now while a large payout's excess is
    ///        being paid back (the level is zero until then).
    struct Bucket {
        uint128 limit;
        uint64 period;
        uint128 available;
        uint64 updatedAt;
    }

    /// @notice Units that may leave at `now`: the stored level plus the refill since, capped at the limit.
    function availableAt(Bucket storage b, uint256 now_) internal view returns (uint256) {
        if (now_ < b.updatedAt) return 0;
        uint256 refill = Math.mulDiv(now_ - b.updatedAt, b.limit, b.period);
        return Math.min(uint256(b.available) + refill, b.limit);
    }

    /// @notice The first time at or after `now` when `amount` may leave: when the level reaches `amount`, or, for
    ///         an amount above the limit, when the bucket is full; rounded up to the next whole second.
    function fitsAt(Bucket storage b, uint256 amount, uint256 now_) internal view returns (uint256) {
        uint256 need = Math.min(amount, b.limit);
        if (availableAt(b, now_) >= need) return now_;
        return b.updatedAt + Math.mulDiv(need - b.available, b.period, b.limit, Math.Rounding.Ceil);
    }

    /// @notice Takes `amount` out at `now`; the caller has checked that it fits (`fitsAt(amount, now) == now`).
    function take(Bucket storage b, uint256 amount, uint256 now_) internal {
        uint256 available = availableAt(b, now_);
        if (amount <= available) {
            b.available = uint128(available - amount);
            b.updatedAt = uint64(now_);
            return;
        }
        // A full bucket and more: the excess is paid back by the refill of the seconds that follow.
        b.available = 0;
        b.updatedAt = uint64(now_ + Math.mulDiv(amount - available, b.period, b.limit, Math.Rounding.Ceil));
    }

    /// @notice Replaces limit and period at `now`: the level is settled under the old rate first, then capped at
    ///         the new limit (a tighter limit never adds room); a debt still owed is carried over, repaid at the
    ///         new rate.
    function reset(Bucket storage b, uint128 limit, uint64 period, uint256 now_) internal {
        if (b.period != 0 && now_ < b.updatedAt) {
            uint256 owed = Math.mulDiv(b.updatedAt - now_, b.limit, b.period, Math.Rounding.Ceil);
            (b.limit, b.period, b.available) = (limit, period, 0);
            b.updatedAt = uint64(now_ + Math.mulDiv(owed, period, limit, Math.Rounding.Ceil));
            return;
        }
        uint256 available = b.period == 0 ? limit : Math.min(availableAt(b, now_), limit);
        b.limit = limit;
        b.period = period;
        b.available = uint128(available);
        b.updatedAt = uint64(now_);
    }
}
