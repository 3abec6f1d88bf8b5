// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IBrake} from "../interfaces/IBrake.sol";

/// @title Brake
/// @notice A stop that only ever lasts a while (OP's rule for its guardian: it may only cause temporary withdrawal
///         stops). A stop ends by itself `MAX_STOP` after it started or when released, whichever comes first, and
///         the next may start only `STOP_COOLDOWN` after the last ended: whoever holds the brake stops things for
///         at most `MAX_STOP` at a time, and leaves them running for at least `STOP_COOLDOWN` in between.
library Brake {
    /// @notice The longest a stop lasts.
    uint64 internal constant MAX_STOP = 7 days;
    /// @notice How long after a stop ended before another may start.
    uint64 internal constant STOP_COOLDOWN = 2 days;

    /// @param start When it started (0: never stopped).
    /// @param until When it ends (or ended): `start + MAX_STOP`, or earlier when released.
    struct Stop {
        uint64 start;
        uint64 until;
    }

    /// @notice Whether `s` stops things now.
    function engaged(Stop memory s) internal view returns (bool) {
        return block.timestamp < s.until;
    }

    /// @notice A new stop from now, after `last` (reverts while `last` is on or cooling down).
    function next(Stop memory last) internal view returns (Stop memory) {
        if (engaged(last)) revert IBrake.BrakeEngaged(last.until);
        if (last.start != 0 && block.timestamp < uint256(last.until) + STOP_COOLDOWN) {
            revert IBrake.BrakeCoolingDown(last.until + STOP_COOLDOWN);
        }
        return Stop({start: uint64(block.timestamp), until: uint64(block.timestamp) + MAX_STOP});
    }

    /// @notice Ends `s` now (reverts unless it is on).
    function release(Stop storage s) internal {
        if (!engaged(s)) revert IBrake.BrakeNotEngaged();
        s.until = uint64(block.timestamp);
    }

    /// @notice Reverts while `s` is on.
    function requireOff(Stop memory s) internal view {
        if (engaged(s)) revert IBrake.BrakeEngaged(s.until);
    }
}
