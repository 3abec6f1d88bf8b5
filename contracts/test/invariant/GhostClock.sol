// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The invariant suite's own model of a brake (a guardian's stop) and of finality under it, written from
///         the specification rather than from the contracts: a stop lasts until it is released or 7 days passed,
///         another may start 2 days after one ended, and an epoch's window is extended by every stop that began
///         before the epoch was final (an ongoing one: it is not final).
contract GhostClock {
    uint64 public constant MAX_STOP = 7 days;
    uint64 public constant STOP_COOLDOWN = 2 days;

    struct Stop {
        uint64 start;
        uint64 until;
    }

    Stop[] internal _stops;

    function count() external view returns (uint256) {
        return _stops.length;
    }

    /// @notice A stop began at `now_`.
    function stopped(uint64 now_) external {
        _stops.push(Stop(now_, now_ + MAX_STOP));
    }

    /// @notice The stop in force was released at `now_`.
    function released(uint64 now_) external {
        Stop storage s = _stops[_stops.length - 1];
        if (now_ < s.until) s.until = now_;
    }

    /// @notice Whether a stop may begin at `now_`: none in force, and the last ended at least the cooldown ago.
    function mayStop(uint64 now_) external view returns (bool) {
        if (_stops.length == 0) return true;
        Stop storage s = _stops[_stops.length - 1];
        return now_ >= uint256(s.until) + STOP_COOLDOWN;
    }

    /// @notice Whether a stop is in force at `now_`, and since when.
    function inForce(uint64 now_) external view returns (bool, uint64 since) {
        if (_stops.length == 0) return (false, 0);
        Stop storage s = _stops[_stops.length - 1];
        return (now_ < s.until, s.start);
    }

    /// @notice When something whose window ends at `windowEnd` (with `fromStop` stops before it began) is final
    ///         at `now_`: `type(uint64).max` while a stop that began before it was final is in force.
    function finalAt(uint64 windowEnd, uint256 fromStop, uint64 now_) external view returns (uint64) {
        uint256 at = windowEnd;
        for (uint256 i = fromStop; i < _stops.length; ++i) {
            Stop storage s = _stops[i];
            if (s.start >= at) break;
            if (now_ < s.until) return type(uint64).max;
            at += s.until - s.start;
        }
        return at > type(uint64).max ? type(uint64).max : uint64(at);
    }
}
