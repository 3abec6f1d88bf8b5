// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IBrake
/// @notice A stop (pause) is temporary (`libraries/Brake.sol`): it ends by itself after `MAX_STOP` seconds, and
///         another can start only `STOP_COOLDOWN` seconds after one ended.
interface IBrake {
    /// @notice The brake is on until `until` (an action it stops, or a second stop while it is on).
    /// @param until When the stop ends by itself.
    error BrakeEngaged(uint64 until);

    /// @notice A stop ended less than `STOP_COOLDOWN` ago: no new stop before `allowedAt`.
    /// @param allowedAt The first time a new stop may start.
    error BrakeCoolingDown(uint64 allowedAt);

    /// @notice Nothing is stopped: there is nothing to release.
    error BrakeNotEngaged();

    /// @notice The longest a stop lasts (7 days): it then ends by itself.
    function MAX_STOP() external pure returns (uint64);

    /// @notice How long after a stop ended before another may start (2 days).
    function STOP_COOLDOWN() external pure returns (uint64);
}
