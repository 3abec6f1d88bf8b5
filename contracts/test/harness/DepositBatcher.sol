// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IUSDCEscrow} from "../../interfaces/IUSDCEscrow.sol";

/// @notice Makes many escrow deposits in one transaction, to load the watcher in benchmarks. Holds the USDC it
///         deposits.
contract DepositBatcher {
    /// @notice Deposits `amount` for `recipient`, `count` times.
    function depositMany(IUSDCEscrow escrow, IERC20 usdc, uint256 count, uint256 amount, bytes32 recipient)
        external
    {
        usdc.approve(address(escrow), count * amount);
        for (uint256 i = 0; i < count; ++i) {
            escrow.deposit(amount, recipient);
        }
    }
}
