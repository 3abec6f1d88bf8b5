// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestUSDC
/// @notice A 6-decimal stand-in for USDC on local and test chains. Anyone may mint: it is a faucet, never deploy
///         it where it could be mistaken for real money.
contract TestUSDC is ERC20 {
    constructor() ERC20("Test USD Coin", "USDC") {}

    /// @inheritdoc ERC20
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to`.
    /// @param to Receiver.
    /// @param amount Amount (6 decimals).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
