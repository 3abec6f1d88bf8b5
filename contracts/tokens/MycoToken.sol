// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title MycoToken
/// @notice MYCO on-chain (18 decimals). Only its minter, the bonding curve, fixed at deployment, creates or destroys
///         it: no key can grant anyone else the power to mint.
contract MycoToken is ERC20 {
    /// @notice The only account that mints and burns (the bonding curve that deployed this token).
    address public immutable minter;

    /// @notice The caller is not the minter.
    /// @param account The caller.
    error MycoTokenNotMinter(address account);

    /// @param minter_ The bonding curve.
    constructor(address minter_) ERC20("Myco", "MYCO") {
        minter = minter_;
    }

    modifier onlyMinter() {
        if (msg.sender != minter) revert MycoTokenNotMinter(msg.sender);
        _;
    }

    /// @notice Mints `amount` to `to`.
    /// @param to Receiver.
    /// @param amount Amount (18 decimals).
    function mint(address to, uint256 amount) external onlyMinter {
        _mint(to, amount);
    }

    /// @notice Burns `amount` held by `from`; the minter acts for holders that sell to it.
    /// @param from Holder.
    /// @param amount Amount (18 decimals).
    function burn(address from, uint256 amount) external onlyMinter {
        _burn(from, amount);
    }
}
