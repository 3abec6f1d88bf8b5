// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {
    AccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IDelayedRoles} from "../interfaces/IDelayedRoles.sol";

/// @title DelayedRoles
/// @notice OpenZeppelin's admin rules (the admin moves in two delayed steps) with every other grant delayed too:
///         `grantRole` only schedules, and the role is held `defaultAdminDelay()` later, in public, so a stolen admin
///         key cannot give itself a power that moves value before anyone can react (exit, or veto). Revoking and
///         renouncing stay immediate: taking a power away is always safe.
abstract contract DelayedRoles is IDelayedRoles, AccessControlDefaultAdminRules {
    mapping(bytes32 role => mapping(address account => uint64 effectiveAt)) private _grantDue;

    /// @param adminDelay Seconds an admin transfer and every role grant wait.
    /// @param admin The first admin.
    constructor(uint48 adminDelay, address admin) AccessControlDefaultAdminRules(adminDelay, admin) {}

    /// @notice Schedules the grant of `role` to `account` (the role's admin); it applies after the admin delay
    ///         (`applyRoleGrant`, anyone), unless cancelled before. It never grants at once.
    function grantRole(bytes32 role, address account) public override onlyRole(getRoleAdmin(role)) {
        // The admin role itself moves only through OpenZeppelin's two-step transfer.
        if (role == DEFAULT_ADMIN_ROLE) revert AccessControlEnforcedDefaultAdminRules();
        uint64 effectiveAt = uint64(block.timestamp) + uint64(defaultAdminDelay());
        _grantDue[role][account] = effectiveAt;
        emit RoleGrantScheduled(role, account, effectiveAt);
    }

    /// @inheritdoc IDelayedRoles
    function applyRoleGrant(bytes32 role, address account) external {
        uint64 due = _grantDue[role][account];
        if (due == 0 || block.timestamp < due) revert RoleGrantNotDue(role, account, due);
        delete _grantDue[role][account];
        _grantRole(role, account);
    }

    /// @inheritdoc IDelayedRoles
    function cancelRoleGrant(bytes32 role, address account) external {
        if (!hasRole(getRoleAdmin(role), msg.sender) && !_mayVeto(msg.sender)) {
            revert RoleGrantVetoUnauthorized(msg.sender);
        }
        uint64 due = _grantDue[role][account];
        if (due == 0) revert RoleGrantNotDue(role, account, 0);
        delete _grantDue[role][account];
        emit RoleGrantCancelled(role, account, msg.sender);
    }

    /// @inheritdoc IDelayedRoles
    function roleGrantDue(bytes32 role, address account) external view returns (uint64) {
        return _grantDue[role][account];
    }

    /// @dev Who besides the role's admin may cancel a scheduled grant (a guardian's veto); nobody by default.
    function _mayVeto(address) internal view virtual returns (bool) {
        return false;
    }
}
