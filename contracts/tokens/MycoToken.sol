// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title MycoToken
/// @notice MYCO on-chain (18 decimals). Only the bonding curve, holding the minter role, creates or destroys it.
contract MycoToken is ERC20, AccessControl {
    /// @notice May mint and burn (the bonding curve).
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @param admin Holds the admin role and grants the minter role to the curve.
    constructor(address admin) ERC20("Myco", "MYCO") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Mints `amount` to `to`.
    /// @param to Receiver.
    /// @param amount Amount (18 decimals).
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @notice Burns `amount` held by `from`; the minter acts for holders that sell to it.
    /// @param from Holder.
    /// @param amount Amount (18 decimals).
    function burn(address from, uint256 amount) external onlyRole(MINTER_ROLE) {
        _burn(from, amount);
    }
}
