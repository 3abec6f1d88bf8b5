// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {FixedPoint as F} from "./FixedPoint.sol";

/// @title PammMath
/// @notice The P-AMM redemption curve (MATH.md section 1), operation for operation as myco-bridge's
///         `settle::pamm` computes it, so both agree to the wei and revert on the same inputs (Panic 0x11 for
///         overflow or underflow, 0x12 for division by zero). `docs/settlement-math.md` states the roundings.
library PammMath {
    uint256 internal constant ONE = 1e18;

    /// @notice Curve parameters (WAD).
    struct Params {
        uint256 alphaBar;
        uint256 xuBar;
        uint256 thetaBar;
        uint256 decay;
    }

    /// @notice Redemption state: level x (WAD MYCO, decayed to now), reserve b (WAD USD), supply y (WAD MYCO).
    struct State {
        uint256 x;
        uint256 b;
        uint256 y;
    }

    struct Derived {
        uint256 baI;
        uint256 baII;
        uint256 xlI;
        uint256 xlII;
        uint256 baHl;
        uint256 xuHl;
        uint256 xlHl;
        uint256 baBigHl;
        uint256 alphaBigHl;
        uint256 xlBigHl;
    }

    /// @notice ᾱ = 1.0, x̄_U = 0.3, θ̄ = 0.6, δ = 0.5^(1/172800) rounded to the nearest WAD.
    function defaultParams() internal pure returns (Params memory) {
        return Params({alphaBar: ONE, xuBar: 0.3e18, thetaBar: 0.6e18, decay: 999995988739639108});
    }

    /// @notice δ^seconds · x.
    function decay(uint256 x, uint256 delta, uint256 secondsElapsed) internal pure returns (uint256) {
        return F.mulDown(F.intPowDown(delta, secondsElapsed), x);
    }

    /// @notice USD (WAD) paid for redeeming `amount` MYCO (WAD) from `s`.
    function redeem(State memory s, uint256 amount, Params memory p) internal pure returns (uint256 out) {
        if (amount == 0) return 0;
        if (s.y == 0) _panic(0x12);
        if (s.b >= s.y) {
            out = amount;
        } else if (F.mulDown(p.thetaBar, s.y) >= s.b) {
            out = F.mulDown(F.divDown(s.b, s.y), amount);
        } else {
            uint256 ya = s.x + s.y;
            State memory n = State({x: F.divDown(s.x, ya), b: F.divDown(s.b, ya), y: F.divDown(s.y, ya)});
            uint256 ba = F.mulDown(anchoredReserve(n, p, derive(p)), ya);
            uint256 next = reserveUp(s.x + amount, ba, ya, p);
            out = s.b > next ? s.b - next : 0;
        }
        if (out > amount) out = amount;
        if (out > s.b) out = s.b;
    }

    function derive(Params memory p) internal pure returns (Derived memory d) {
        uint256 theta = ONE - p.thetaBar;
        d.baI = _computeBa(p.xuBar, p);
        d.baII = _computeBa(0, p);
        d.xlI = computeXl(d.baI, ONE, p.alphaBar, p.xuBar);
        d.xlII = computeXl(d.baII, ONE, p.alphaBar, 0);
        uint256 sub = F.divDown(F.mulDown(theta, theta), 2 * p.alphaBar);
        d.baHl = ONE > sub ? ONE - sub : 0;
        if (d.baI > d.baHl && d.baHl > d.baII) {
            d.xuHl = computeXu(d.baHl, ONE, p.alphaBar, p.xuBar, theta);
            d.xlHl = computeXl(d.baHl, ONE, p.alphaBar, d.xuHl);
        }
        d.baBigHl = (ONE + p.thetaBar) / 2;
        if (d.baII > d.baBigHl) {
            d.alphaBigHl = computeAlpha(d.baBigHl, ONE, p);
            d.xlBigHl = computeXl(d.baBigHl, ONE, d.alphaBigHl, 0);
        }
    }

    function computeAlpha(uint256 ba, uint256 ya, Params memory p) internal pure returns (uint256) {
        uint256 ra = F.divDown(ba, ya);
        uint256 alphaMin = F.divDown(p.alphaBar, ya);
        uint256 alphaHat;
        if (ra >= (ONE + p.thetaBar) / 2) {
            alphaHat = F.divDown(F.mulDown(2e18, ONE - ra), ya);
        } else {
            uint256 theta = ONE - p.thetaBar;
            alphaHat = F.divDown(F.mulDown(theta, theta), 2 * (ba - F.mulDown(p.thetaBar, ya)));
        }
        return alphaHat > alphaMin ? alphaHat : alphaMin;
    }

    /// @notice The reserve at x on the curve (ba, ya, α, x_U, x_L), every term rounded down.
    function reserveFixed(uint256 x, uint256 ba, uint256 ya, uint256 alpha, uint256 xu, uint256 xl)
        internal
        pure
        returns (uint256)
    {
        if (x <= xu) return ba - x;
        if (x <= xl) {
            uint256 d = x - xu;
            return ba + F.mulDown(alpha, F.mulDown(d, d)) / 2 - x;
        }
        uint256 rl = ONE - F.mulDown(alpha, xl - xu);
        return F.mulDown(rl, ya - x);
    }

    /// @notice The reserve left at x on the curve anchored at (ba, ya), rounded up.
    function reserveUp(uint256 x, uint256 ba, uint256 ya, Params memory p) internal pure returns (uint256) {
        uint256 alpha = computeAlpha(ba, ya, p);
        uint256 xu = computeXu(ba, ya, alpha, p.xuBar, ONE - p.thetaBar);
        uint256 xl = computeXl(ba, ya, alpha, xu);
        if (x <= xu) return ba > x ? ba - x : 0;
        if (x <= xl) {
            uint256 d = x - xu;
            uint256 c = F.mulUp(alpha, F.mulUp(d, d));
            uint256 curvature = c / 2 + c % 2;
            uint256 top = ba + curvature;
            return top > x ? top - x : 0;
        }
        uint256 drop = F.mulDown(alpha, xl - xu);
        uint256 rl = ONE > drop ? ONE - drop : 0;
        return F.mulUp(rl, ya > x ? ya - x : 0);
    }

    function computeXl(uint256 ba, uint256 ya, uint256 alpha, uint256 xu) internal pure returns (uint256) {
        if (ba >= ya) _panic(0x11);
        uint256 span = ya - xu;
        uint256 left = F.mulUp(span, span);
        uint256 right = F.divDown(2 * (ya - ba), alpha);
        return left >= right ? ya - F.sqrt(left - right) : ya;
    }

    function computeXu(uint256 ba, uint256 ya, uint256 alpha, uint256 xuBar, uint256 theta)
        internal
        pure
        returns (uint256 xu)
    {
        uint256 delta = ya - ba;
        uint256 xuMax = F.mulDown(xuBar, ya);
        if (F.mulDown(alpha, delta) <= F.mulDown(theta, theta) / 2) {
            uint256 root = F.sqrt(F.divDown(2 * delta, alpha));
            xu = ya > root ? ya - root : 0;
        } else {
            uint256 subtracted = F.divDown(delta, theta) + F.divDown(theta, 2 * alpha);
            xu = ya > subtracted ? ya - subtracted : 0;
        }
        if (xu > xuMax) xu = xuMax;
    }

    function _computeBa(uint256 xu, Params memory p) private pure returns (uint256) {
        uint256 yz = ONE - xu;
        if (ONE >= p.thetaBar + F.mulDown(p.alphaBar, yz)) {
            return ONE - F.mulDown(p.alphaBar, F.mulDown(yz, yz)) / 2;
        }
        uint256 theta = ONE - p.thetaBar;
        return ONE - F.mulDown(theta, yz) + F.divDown(F.mulDown(theta, theta), 2 * p.alphaBar);
    }

    /// @notice The normalised anchor b̂_a (y_a = 1) of a normalised state, by MATH.md's region table.
    function anchoredReserve(State memory s, Params memory p, Derived memory d)
        internal
        pure
        returns (uint256)
    {
        uint256 r = F.divDown(s.b, s.y);
        uint256 u = ONE > r ? ONE - r : 0;
        uint256 theta = ONE - p.thetaBar;

        if (s.b >= reserveFixed(s.x, d.baI, ONE, p.alphaBar, p.xuBar, d.xlI)) {
            if (s.x <= p.xuBar) return s.b + s.x;
            uint256 past = s.x - p.xuBar;
            uint256 slope = F.mulDown(p.alphaBar, past);
            if (r <= (ONE > slope ? ONE - slope : 0)) {
                return s.b + s.x - F.mulDown(p.alphaBar, F.mulDown(past, past)) / 2;
            }
            return ONE - F.mulDown(ONE - p.xuBar, u) + F.divDown(F.mulDown(u, u), 2 * p.alphaBar);
        }

        if (s.b >= reserveFixed(s.x, d.baII, ONE, p.alphaBar, 0, d.xlII)) {
            bool high;
            if (d.baHl >= d.baI) high = false;
            else if (d.baHl <= d.baII) high = true;
            else high = s.b >= reserveFixed(s.x, d.baHl, ONE, p.alphaBar, d.xuHl, d.xlHl);
            if (high) {
                if (s.y - s.b <= F.mulDown(p.alphaBar, F.mulDown(s.y, s.y)) / 2) return s.b + s.x;
                uint256 inner = F.divDown(u, p.alphaBar) + s.y / 2;
                return ONE - F.mulDown(p.alphaBar, F.mulDown(inner, inner)) / 2;
            }
            uint256 aboveFloor = s.b - F.mulDown(p.thetaBar, s.y);
            if (aboveFloor >= F.divDown(F.mulDown(theta, theta), 2 * p.alphaBar)) return s.b + s.x;
            uint256 radicand = F.mulDown(2 * F.divDown(F.mulDown(theta, theta), p.alphaBar), aboveFloor);
            uint256 pTerm = F.mulDown(theta, F.divDown(theta, 2 * p.alphaBar) + s.y);
            return ONE + F.sqrt(radicand) - pTerm;
        }

        if (d.baBigHl < d.baII && s.b >= reserveFixed(s.x, d.baBigHl, ONE, d.alphaBigHl, 0, d.xlBigHl)) {
            return ONE - F.divDown(s.y - s.b, ONE - F.mulDown(s.x, s.x));
        }
        uint256 gap = s.y - s.b;
        uint256 bigP = (gap + theta) / 2;
        uint256 q = F.mulDown(gap, theta) + F.mulDown(F.mulDown(theta, theta), F.mulDown(s.x, s.x)) / 4;
        uint256 disc = F.sqrt(F.mulDown(bigP, bigP) - q);
        return ONE - (bigP - disc);
    }

    function _panic(uint256 code) private pure {
        assembly ("memory-safe") {
            mstore(0x00, 0x4e487b71)
            mstore(0x20, code)
            revert(0x1c, 0x24)
        }
    }
}
