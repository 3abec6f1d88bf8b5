// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title FixedPoint
/// @notice WAD fixed-point arithmetic (1e18 = 1.0), bit for bit as myco-bridge's `settle::fixed` computes it:
///         checked products (overflow reverts with Panic 0x11), truncating or rounding-up division (division by
///         zero reverts with Panic 0x12, never returns 0), floor square roots, and powers by square-and-multiply.
library FixedPoint {
    uint256 internal constant ONE = 1e18;

    /// @notice a*b/1e18, truncated.
    function mulDown(uint256 a, uint256 b) internal pure returns (uint256) {
        return a * b / ONE;
    }

    /// @notice a*b/1e18, rounded up.
    function mulUp(uint256 a, uint256 b) internal pure returns (uint256) {
        uint256 p = a * b;
        // p > 0 here, so p - 1 cannot underflow.
        unchecked {
            return p == 0 ? 0 : (p - 1) / ONE + 1;
        }
    }

    /// @notice a*1e18/b, truncated.
    function divDown(uint256 a, uint256 b) internal pure returns (uint256) {
        if (b == 0) _divisionByZero();
        return a * ONE / b;
    }

    /// @notice a*1e18/b, rounded up.
    function divUp(uint256 a, uint256 b) internal pure returns (uint256) {
        if (b == 0) _divisionByZero();
        uint256 p = a * ONE;
        // p > 0 and b > 0 here, so neither p - 1 nor the + 1 on a quotient below 2^256 / 1 can wrap.
        unchecked {
            return p == 0 ? 0 : (p - 1) / b + 1;
        }
    }

    /// @notice floor(sqrt(a*1e18)) for a WAD a.
    function sqrt(uint256 a) internal pure returns (uint256) {
        return Math.sqrt(a * ONE);
    }

    /// @notice x^n by square-and-multiply, every product with mulDown (multiply into the result on a set bit,
    ///         then square the base while bits remain).
    function intPowDown(uint256 x, uint256 n) internal pure returns (uint256 result) {
        result = ONE;
        uint256 base = x;
        while (n > 0) {
            if (n & 1 == 1) result = mulDown(result, base);
            n >>= 1;
            if (n > 0) base = mulDown(base, base);
        }
    }

    function _divisionByZero() private pure {
        // Panic(0x12), the code Solidity uses for division by zero.
        assembly ("memory-safe") {
            mstore(0x00, 0x4e487b71)
            mstore(0x20, 0x12)
            revert(0x1c, 0x24)
        }
    }
}
