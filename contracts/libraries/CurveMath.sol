// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title CurveMath
/// @notice The affine bonding curve p(s) = p0 + m*s in WAD, with reserve R(s) = p0*s + m*s^2/2 (docs/settlement-math.md, "Bonding curve").
///         Every rounding is down: the trader receives at most the exact integral. The Rust twin is
///         `settle::curve`; both must agree to the wei.
library CurveMath {
    uint256 internal constant WAD = 1e18;

    /// @notice Reserve value (WAD USD) owed for selling `amount` of supply `supply`: R(S) - R(S - amount), down.
    /// @dev Computed as p0*a + m*a*(2S - a)/2 so the difference never rounds up; requires amount <= supply.
    function sellOut(uint256 p0, uint256 m, uint256 supply, uint256 amount) internal pure returns (uint256) {
        uint256 linear = Math.mulDiv(amount, p0, WAD);
        uint256 quadratic = Math.mulDiv(Math.mulDiv(amount, 2 * supply - amount, WAD), m, 2 * WAD);
        return linear + quadratic;
    }

    /// @notice Reserve R(s) in WAD, rounded down.
    function reserveAt(uint256 p0, uint256 m, uint256 supply) internal pure returns (uint256) {
        return sellOut(p0, m, supply, supply);
    }

    /// @notice Supply (WAD MYCO) minted for `usdValue` (WAD USD) at supply `supply`, rounded down.
    /// @dev Solves R(S') = R(S) + value: S' = (sqrt(p0^2 + 2 m (R(S) + value)) - p0) / m, all scaled by 1e18.
    function buyOut(uint256 p0, uint256 m, uint256 supply, uint256 usdValue) internal pure returns (uint256) {
        if (m == 0) return Math.mulDiv(usdValue, WAD, p0);
        uint256 target = reserveAt(p0, m, supply) + usdValue;
        uint256 root = Math.sqrt(p0 * p0 + 2 * m * target);
        uint256 newSupply = Math.mulDiv(root - p0, WAD, m);
        // R(S) was rounded down, so newSupply may land a wei under S for a dust order; nothing is minted then.
        return newSupply > supply ? newSupply - supply : 0;
    }

    /// @notice Marginal price p(s) = p0 + m*s in WAD.
    function spot(uint256 p0, uint256 m, uint256 supply) internal pure returns (uint256) {
        return p0 + Math.mulDiv(m, supply, WAD);
    }
}
