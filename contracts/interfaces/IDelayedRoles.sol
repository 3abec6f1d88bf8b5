// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IDelayedRoles
/// @notice Role grants wait the admin delay (`access/DelayedRoles.sol`): every contract of the bridge that holds
///         or moves value grants a role only in public and after a delay, so a stolen admin key cannot use a new
///         power before anyone can react.
interface IDelayedRoles {
    /// @notice A role grant was scheduled (`grantRole` schedules, it never grants at once); anyone can apply it
    ///         from `effectiveAt`.
    /// @param role The role.
    /// @param account Who will hold it.
    /// @param effectiveAt When the grant may be applied.
    event RoleGrantScheduled(bytes32 indexed role, address indexed account, uint64 effectiveAt);

    /// @notice A scheduled role grant was cancelled before it applied.
    /// @param role The role.
    /// @param account Who would have held it.
    /// @param by Who cancelled it (the role's admin, or a guardian's veto).
    event RoleGrantCancelled(bytes32 indexed role, address indexed account, address indexed by);

    /// @notice No grant of `role` to `account` is scheduled, or it is not due yet.
    /// @param role The role.
    /// @param account The account.
    /// @param effectiveAt When the scheduled grant is due (0 when none is scheduled).
    error RoleGrantNotDue(bytes32 role, address account, uint64 effectiveAt);

    /// @notice The caller may not cancel this grant.
    /// @param account The caller.
    error RoleGrantVetoUnauthorized(address account);

    /// @notice Applies a scheduled grant once it is due (anyone).
    /// @param role The role.
    /// @param account Who will hold it.
    function applyRoleGrant(bytes32 role, address account) external;

    /// @notice Cancels a scheduled grant (the role's admin, or the guardian where the contract has one).
    /// @param role The role.
    /// @param account Who would have held it.
    function cancelRoleGrant(bytes32 role, address account) external;

    /// @notice When the grant of `role` to `account` is due (0 when none is scheduled).
    /// @param role The role.
    /// @param account The account.
    function roleGrantDue(bytes32 role, address account) external view returns (uint64);
}
