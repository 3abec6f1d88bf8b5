// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestUSDC} from "../../tokens/TestUSDC.sol";

/// @notice A USDC that blocklists as Circle's FiatToken does (`Blacklistable`): no transfer from or to a
///         blocklisted address, and a blocklisted caller cannot move anything either.
contract BlocklistUSDC is TestUSDC {
    mapping(address => bool) public isBlacklisted;

    function blacklist(address who) external {
        isBlacklisted[who] = true;
    }

    function unBlacklist(address who) external {
        isBlacklisted[who] = false;
    }

    function _update(address from, address to, uint256 value) internal virtual override {
        require(
            !isBlacklisted[from] && !isBlacklisted[to] && !isBlacklisted[msg.sender],
            "Blacklistable: account is blacklisted"
        );
        super._update(from, to, value);
    }
}
