// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CurveMath} from "../../libraries/CurveMath.sol";
import {ClaimLeaf} from "../../libraries/ClaimLeaf.sol";
import {FixedPoint} from "../../libraries/FixedPoint.sol";
import {PammMath} from "../../libraries/PammMath.sol";
import {IUSDCEscrow} from "../../interfaces/IUSDCEscrow.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice Exposes the settlement libraries to the Rust differential tests, one input at a time or many per
///         eth_call (each evaluated in its own call frame so a revert is recorded, not fatal).
contract SettlementHarness {
    /// @notice The library functions under test, by id.
    enum Fn {
        MulDown,
        MulUp,
        DivDown,
        DivUp,
        Sqrt,
        IntPowDown,
        CurveSellOut,
        CurveBuyOut,
        CurveSpot,
        PammRedeem
    }

    /// @notice Evaluates `f` on `args` (unused arguments ignored).
    function eval(Fn f, uint256[4] calldata a) public pure returns (uint256) {
        if (f == Fn.MulDown) return FixedPoint.mulDown(a[0], a[1]);
        if (f == Fn.MulUp) return FixedPoint.mulUp(a[0], a[1]);
        if (f == Fn.DivDown) return FixedPoint.divDown(a[0], a[1]);
        if (f == Fn.DivUp) return FixedPoint.divUp(a[0], a[1]);
        if (f == Fn.Sqrt) return FixedPoint.sqrt(a[0]);
        if (f == Fn.IntPowDown) return FixedPoint.intPowDown(a[0], a[1]);
        if (f == Fn.CurveSellOut) return CurveMath.sellOut(a[0], a[1], a[2], a[3]);
        if (f == Fn.CurveBuyOut) return CurveMath.buyOut(a[0], a[1], a[2], a[3]);
        if (f == Fn.CurveSpot) return CurveMath.spot(a[0], a[1], a[2]);
        // The deployment defaults: ᾱ = 1.0, x̄_U = 0.3, θ̄ = 0.6 (the decay does not enter a redemption).
        PammMath.Params memory p =
            PammMath.Params({alphaBar: 1e18, xuBar: 0.3e18, thetaBar: 0.6e18, decay: 0});
        return PammMath.redeem(PammMath.State({x: a[0], b: a[1], y: a[2]}), a[3], p);
    }

    /// @notice Evaluates `f` on every input; `reverts[i]` holds the revert data where input i reverted.
    function evalMany(Fn f, uint256[4][] calldata inputs)
        external
        view
        returns (uint256[] memory out, bytes[] memory reverts)
    {
        out = new uint256[](inputs.length);
        reverts = new bytes[](inputs.length);
        for (uint256 i = 0; i < inputs.length; ++i) {
            try this.eval(f, inputs[i]) returns (uint256 v) {
                out[i] = v;
            } catch (bytes memory reason) {
                reverts[i] = reason.length == 0 ? bytes(hex"00") : reason;
            }
        }
    }

    /// @notice The P-AMM payout of one input `(x, b, y, amount, alphaBar, xuBar, thetaBar)`.
    function pamm(uint256[7] calldata a) public pure returns (uint256) {
        PammMath.Params memory p = PammMath.Params({alphaBar: a[4], xuBar: a[5], thetaBar: a[6], decay: 0});
        return PammMath.redeem(PammMath.State({x: a[0], b: a[1], y: a[2]}), a[3], p);
    }

    /// @notice `pamm` on every input; `reverts[i]` holds the revert data where input i reverted.
    function pammMany(uint256[7][] calldata inputs)
        external
        view
        returns (uint256[] memory out, bytes[] memory reverts)
    {
        out = new uint256[](inputs.length);
        reverts = new bytes[](inputs.length);
        for (uint256 i = 0; i < inputs.length; ++i) {
            try this.pamm(inputs[i]) returns (uint256 v) {
                out[i] = v;
            } catch (bytes memory reason) {
                reverts[i] = reason.length == 0 ? bytes(hex"00") : reason;
            }
        }
    }

    /// @notice Whether each leaf's proof verifies against `root` with OpenZeppelin MerkleProof.
    function verifyMany(bytes32 root, bytes32[] calldata leaves, bytes32[][] calldata proofs)
        external
        pure
        returns (bool[] memory ok)
    {
        ok = new bool[](leaves.length);
        for (uint256 i = 0; i < leaves.length; ++i) {
            ok[i] = MerkleProof.verifyCalldata(proofs[i], root, leaves[i]);
        }
    }

    /// @notice The escrow's leaf of each claim, for an escrow at `escrow` on chain `chainId`.
    function leavesOf(uint256 chainId, address escrow, IUSDCEscrow.WithdrawalClaim[] calldata claims)
        external
        pure
        returns (bytes32[] memory leaves)
    {
        leaves = new bytes32[](claims.length);
        for (uint256 i = 0; i < claims.length; ++i) {
            leaves[i] = ClaimLeaf.hash(chainId, escrow, claims[i]);
        }
    }
}
