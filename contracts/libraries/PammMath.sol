// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {FixedPoint as F} from "./FixedPoint.sol";

/// @title PammMath
/// @notice The P-AMM redemption curve, operation for operation as myco-bridge's `settle::pamm` computes it, so
///         both agree to the wei and revert on the same inputs (Panic 0x11 for overflow or underflow, 0x12 for
///         division by zero). The curve is evaluated at the state's own scale: a normalised quantity (the anchor
///         supply y_a = 1) is held as that quantity times y_a, in base units, and every product and quotient
///         keeps its 512-bit intermediate (`Math.mulDiv`), so a payout is exact to a few base units at any
///         supply. `docs/settlement-math.md` states the formulas and every rounding.
library PammMath {
    uint256 internal constant ONE = 1e18;
    uint256 private constant E36 = 1e36;

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

    /// @notice The curve anchored at ba (base units) at scale ya: slope a = α·y_a (units), breakpoints, and
    ///         whether it ends exactly at the floor price θ̄.
    struct Curve {
        uint256 ba;
        uint256 a;
        uint256 xu;
        uint256 xl;
        bool toFloor;
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
        } else if (s.b <= Math.mulDiv(p.thetaBar, s.y, ONE, Math.Rounding.Ceil)) {
            // At or below the floor price (b ≤ ⌈θ̄·y⌉): the reserve's own ratio, b·Δ/y.
            out = Math.mulDiv(s.b, amount, s.y);
        } else {
            out = curvePayout(s, amount, p, derive(p));
        }
        if (out > amount) out = amount;
        if (out > s.b) out = s.b;
    }

    /// @notice b − b(x + Δ) on the state's anchored curve, the reserve at the new level rounded up.
    function curvePayout(State memory s, uint256 amount, Params memory p, Derived memory d)
        internal
        pure
        returns (uint256)
    {
        uint256 ya = s.x + s.y;
        if (ya == 0) _panic(0x12);
        uint256 ba = anchoredReserve(s, p, d, ya);
        Curve memory c = anchored(ba, p, ya);
        uint256 next = reserveUp(c, s.x + amount, ya, p.thetaBar);
        return s.b > next ? s.b - next : 0;
    }

    /// @notice The parameter-only thresholds of the region table (WAD, normalised).
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
            // The high/low test curve has no floor region: x_L = 1 (the settlement math's table).
            d.xlHl = ONE;
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

    /// @notice Whether the state lies on or above a boundary curve (ba, α, x_U, x_L; WAD, normalised) taken at
    ///         the state's scale.
    function _atOrBelow(State memory s, uint256 ba, uint256 alpha, uint256 xu, uint256 xl, uint256 ya)
        private
        pure
        returns (bool)
    {
        uint256 baU = Math.mulDiv(ba, ya, ONE);
        uint256 xuU = Math.mulDiv(xu, ya, ONE);
        uint256 xlU = Math.mulDiv(xl, ya, ONE);
        if (s.x <= xuU) return s.b + s.x >= baU;
        if (s.x <= xlU) {
            uint256 d = s.x - xuU;
            uint256 curvature = Math.mulDiv(alpha, Math.mulDiv(d, d, ya), ONE) / 2;
            uint256 left = s.b + s.x;
            return left >= baU + curvature;
        }
        uint256 drop = F.mulDown(alpha, xl - xu);
        uint256 rl = ONE > drop ? ONE - drop : 0;
        return s.b >= Math.mulDiv(rl, ya > s.x ? ya - s.x : 0, ONE);
    }

    /// @notice The anchor b_a (base units) of a state with θ̄·y < b < y, by the region table.
    function anchoredReserve(State memory s, Params memory p, Derived memory d, uint256 ya)
        internal
        pure
        returns (uint256)
    {
        uint256 theta = ONE - p.thetaBar;
        uint256 r = Math.mulDiv(s.b, ya, s.y);
        uint256 gapU = ya > r ? ya - r : 0;
        if (_atOrBelow(s, d.baI, p.alphaBar, p.xuBar, d.xlI, ya)) {
            uint256 xu = Math.mulDiv(p.xuBar, ya, ONE);
            if (s.x <= xu) return s.b + s.x; // I-i
            uint256 past = s.x - xu;
            if (r + Math.mulDiv(p.alphaBar, past, ONE) <= ya) {
                // I-ii: b + x − (ᾱ/2)(x − x̄_U)²
                uint256 curvature = Math.mulDiv(p.alphaBar, Math.mulDiv(past, past, ya), ONE) / 2;
                return s.b + s.x - curvature;
            }
            // I-iii: 1 − (1 − x̄_U)·u + u²/(2ᾱ)
            uint256 linear = Math.mulDiv(ONE - p.xuBar, gapU, ONE);
            uint256 squareU = Math.mulDiv(gapU, gapU, ya, Math.Rounding.Ceil);
            uint256 square = Math.mulDiv(squareU, ONE, 2 * p.alphaBar, Math.Rounding.Ceil);
            return ya + square - linear;
        }
        if (_atOrBelow(s, d.baII, p.alphaBar, 0, d.xlII, ya)) {
            bool high;
            if (d.baHl >= d.baI) high = false;
            else if (d.baHl <= d.baII) high = true;
            else high = _atOrBelow(s, d.baHl, p.alphaBar, d.xuHl, d.xlHl, ya);
            if (high) {
                uint256 gap = s.y - s.b;
                if (gap <= Math.mulDiv(p.alphaBar, Math.mulDiv(s.y, s.y, ya), ONE) / 2) return s.b + s.x;
                // II-H: 1 − (ᾱ/2)(u/ᾱ + ŷ/2)²
                if (p.alphaBar == 0) _panic(0x12);
                uint256 inner = Math.mulDiv(gapU, ONE, p.alphaBar) + s.y / 2;
                uint256 square = Math.mulDiv(p.alphaBar, Math.mulDiv(inner, inner, ya), ONE) / 2;
                return ya > square ? ya - square : 0;
            }
            return _lowRegionII(s, p, ya, theta);
        }
        if (d.baBigHl < d.baII && _atOrBelow(s, d.baBigHl, d.alphaBigHl, 0, d.xlBigHl, ya)) {
            // III-H: 1 − (ŷ − b̂)/(1 − x̂²): (y − b)·y_a² / (y_a² − x²)
            uint256 yaSq = ya * ya;
            uint256 gap = s.y - s.b;
            uint256 xSq = s.x * s.x;
            uint256 drop = Math.mulDiv(gap, yaSq, yaSq - xSq);
            return ya > drop ? ya - drop : 0;
        }
        return _lowRegionIII(s, ya, theta);
    }

    /// @notice Region II, low case: the state's own par part, or II-L.
    function _lowRegionII(State memory s, Params memory p, uint256 ya, uint256 theta)
        private
        pure
        returns (uint256)
    {
        uint256 above = s.b * ONE - p.thetaBar * s.y;
        uint256 thetaSq = theta * theta;
        uint256 twoAlpha = 2 * p.alphaBar;
        if (above * twoAlpha >= thetaSq * ya) return s.b + s.x;
        // II-L: 1 + sqrt(2θ²(b̂ − θ̄ŷ)/ᾱ) − θ(θ/(2ᾱ) + ŷ)
        uint256 radicand = Math.mulDiv(Math.mulDiv(above, ya, ONE), 2 * thetaSq, p.alphaBar * ONE);
        uint256 root = Math.sqrt(radicand);
        uint256 pTerm = Math.mulDiv(thetaSq, ya, twoAlpha * ONE) + Math.mulDiv(theta, s.y, ONE);
        return ya + root - pTerm;
    }

    /// @notice III-L: 1 − P + sqrt(P² − Q), the radicand as the product (ĝ − θ(1 + x̂))(ĝ − θ(1 − x̂))/4.
    function _lowRegionIII(State memory s, uint256 ya, uint256 theta) private pure returns (uint256) {
        uint256 gap = s.y - s.b;
        uint256 g = gap * ONE;
        uint256 t1 = theta * (ya + s.x);
        uint256 t2 = theta * (ya - s.x);
        uint256 radicand;
        if (g >= t1 && g >= t2) radicand = Math.mulDiv(g - t1, g - t2, 4 * E36);
        else if (g < t1 && g < t2) radicand = Math.mulDiv(t1 - g, t2 - g, 4 * E36);
        uint256 disc = Math.sqrt(radicand);
        uint256 bigP = (g + theta * ya) / (2 * ONE);
        uint256 top = ya + disc;
        return top > bigP ? top - bigP : 0;
    }

    /// @notice α = max(α̂, ᾱ/y_a) (as a = α·y_a, at most y_a²), x_U and x_L of the curve anchored at ba.
    function anchored(uint256 ba, Params memory p, uint256 ya) internal pure returns (Curve memory c) {
        c.ba = ba;
        if (ba >= ya) {
            c.a = Math.mulDiv(p.alphaBar, ya, ONE, Math.Rounding.Ceil);
            c.xu = ya;
            c.xl = ya;
            return c;
        }
        uint256 theta = ONE - p.thetaBar;
        uint256 thetaSq = theta * theta;
        bool high = ba * (2 * ONE) >= (ONE + p.thetaBar) * ya;
        uint256 yaSq = ya * ya;
        uint256 aHat;
        if (high) {
            aHat = 2 * (ya - ba);
        } else {
            uint256 baScaled = ba * ONE;
            uint256 floorScaled = p.thetaBar * ya;
            uint256 above = baScaled > floorScaled ? baScaled - floorScaled : 0;
            if (above < 1) above = 1;
            uint256 den = above * 2 * ONE;
            aHat = den >= thetaSq ? Math.mulDiv(thetaSq, yaSq, den, Math.Rounding.Ceil) : yaSq;
        }
        uint256 alphaMin = Math.mulDiv(p.alphaBar, ya, ONE, Math.Rounding.Ceil);
        c.toFloor = !high && aHat > alphaMin;
        uint256 a = aHat > alphaMin ? aHat : alphaMin;
        if (a < 1) a = 1;
        c.a = a;
        c.xu = _xu(ba, a, p, ya, theta, thetaSq, yaSq);
        uint256 delta = ya - ba;
        uint256 twoDeltaOverAlphaSq = Math.mulDiv(2 * delta, yaSq, a);
        uint256 span = ya - c.xu;
        uint256 square = span * span;
        uint256 xl =
            square >= twoDeltaOverAlphaSq ? _saturatingSub(ya, _sqrtUp(square - twoDeltaOverAlphaSq)) : ya;
        c.xl = xl > c.xu ? xl : c.xu;
    }

    /// @notice x_U: 1 − sqrt(2Δ_a/α) if α·Δ_a ≤ θ²/2, else 1 − Δ_a/θ − θ/(2α); at most x̄_U; rounded down.
    function _xu(
        uint256 ba,
        uint256 a,
        Params memory p,
        uint256 ya,
        uint256 theta,
        uint256 thetaSq,
        uint256 yaSq
    ) private pure returns (uint256 xu) {
        uint256 delta = ya - ba;
        uint256 alphaDelta = Math.mulDiv(a, delta * 2 * E36, yaSq);
        if (alphaDelta <= thetaSq) {
            xu = _saturatingSub(ya, _sqrtUp(Math.mulDiv(2 * delta, yaSq, a, Math.Rounding.Ceil)));
        } else {
            uint256 overTheta = Math.mulDiv(delta, ONE, theta, Math.Rounding.Ceil);
            uint256 t = Math.mulDiv(theta * ya, ya, a, Math.Rounding.Ceil);
            uint256 thetaOverTwoAlpha = Math.ceilDiv(t, 2 * ONE);
            xu = _saturatingSub(ya, overTheta + thetaOverTwoAlpha);
        }
        uint256 xuMax = Math.mulDiv(p.xuBar, ya, ONE);
        if (xu > xuMax) xu = xuMax;
    }

    /// @notice The reserve at level z (base units) on curve c, rounded up.
    function reserveUp(Curve memory c, uint256 z, uint256 ya, uint256 thetaBar)
        internal
        pure
        returns (uint256)
    {
        if (z <= c.xu) return _saturatingSub(c.ba, z);
        if (z <= c.xl) {
            uint256 d = z - c.xu;
            uint256 curvature = Math.ceilDiv(
                Math.mulDiv(c.a, Math.mulDiv(d, d, ya, Math.Rounding.Ceil), ya, Math.Rounding.Ceil), 2
            );
            return _saturatingSub(c.ba + curvature, z);
        }
        uint256 rest = _saturatingSub(ya, z);
        if (c.toFloor) return Math.mulDiv(thetaBar, rest, ONE, Math.Rounding.Ceil);
        uint256 drop = Math.mulDiv(c.a, c.xl - c.xu, ya);
        return Math.mulDiv(_saturatingSub(ya, drop), rest, ya, Math.Rounding.Ceil);
    }

    function _sqrtUp(uint256 v) private pure returns (uint256) {
        return Math.sqrt(v, Math.Rounding.Ceil);
    }

    function _saturatingSub(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a - b : 0;
    }

    function _panic(uint256 code) private pure {
        assembly ("memory-safe") {
            mstore(0x00, 0x4e487b71)
            mstore(0x20, code)
            revert(0x1c, 0x24)
        }
    }
}
