// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BlocklistUSDC} from "./BlocklistUSDC.sol";

/// @notice A USDC that is hostile in both ways a real stablecoin may be: it blocklists (as FiatToken does) and it
///         takes a fee on every transfer (1%, burnt from what the receiver gets), so what arrives is less than
///         what was sent.
contract HostileUSDC is BlocklistUSDC {
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value / 100;
        super._update(from, to, value - fee);
        if (fee != 0) super._update(from, address(0), fee);
    }
}
