// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {StateCommitment} from "../../StateCommitment.sol";
import {USDCEscrow} from "../../USDCEscrow.sol";
import {IStateCommitment} from "../../interfaces/IStateCommitment.sol";
import {IUSDCEscrow} from "../../interfaces/IUSDCEscrow.sol";
import {TestUSDC} from "../../tokens/TestUSDC.sol";
import {Attesters} from "./Attesters.sol";

/// @notice A StateCommitment and an escrow over it, with the roles, parameters and helpers the escrow's unit and
///         invariant tests share.
abstract contract EscrowFixture is Attesters {
    uint64 internal constant WINDOW = 100;
    uint64 internal constant DELAY = 50;
    uint128 internal constant LIMIT = 100_000e6;
    uint64 internal constant PERIOD = 1 hours;
    address internal admin = vm.addr(1);
    address internal relayer = vm.addr(2);
    address internal guardian = vm.addr(3);
    address internal alice = vm.addr(5);
    address internal bob = vm.addr(6);
    bytes32 internal constant ALICE_KEY = keccak256("alice ed25519 key");
    TestUSDC internal usdc;
    StateCommitment internal sc;
    USDCEscrow internal escrow;

    /// @notice The deployment defaults: ᾱ = 1.0, x̄_U = 0.3, θ̄ = 0.6, a two-day half-life.
    function defaults() internal pure returns (IUSDCEscrow.PammParams memory) {
        return
            IUSDCEscrow.PammParams({
                alphaBar: 1e18, xuBar: 0.3e18, thetaBar: 0.6e18, decay: 999995988739639108
            });
    }

    /// @notice A withdrawal delay of `DELAY` and `LIMIT` USDC per `PERIOD`.
    function safetyDefaults() internal pure returns (IUSDCEscrow.Safety memory) {
        return IUSDCEscrow.Safety({withdrawalDelay: DELAY, outflowLimit: LIMIT, outflowPeriod: PERIOD});
    }

    function _deploy(TestUSDC token) internal {
        sc = new StateCommitment(admin, 0, guardian, WINDOW, attesterSet(), THRESHOLD);
        escrow = _escrowOn(token, 0, USDCEscrow(address(0)));
        token.mint(address(escrow), 1_000_000e6);
    }

    /// @dev An escrow over `sc` paying `token`, with the fixture's roles and parameters, an admin delay of
    ///      `adminDelay`, succeeding `predecessor` (zero: none).
    function _escrowOn(TestUSDC token, uint48 adminDelay, USDCEscrow predecessor)
        internal
        returns (USDCEscrow)
    {
        return new USDCEscrow(
            IERC20(address(token)),
            IStateCommitment(address(sc)),
            admin,
            adminDelay,
            guardian,
            defaults(),
            safetyDefaults(),
            predecessor
        );
    }

    function _claim(uint256 id, uint256 myco) internal view returns (IUSDCEscrow.WithdrawalClaim memory) {
        return IUSDCEscrow.WithdrawalClaim(id, ALICE_KEY, bob, myco, 1e18, 1, 0);
    }

    /// @dev Reserve figures of a fully backed network: redemptions pay par.
    function _fullyBacked() internal pure returns (IStateCommitment.ReserveFigures memory) {
        return IStateCommitment.ReserveFigures(1e30, 1e30, 0, 1);
    }

    /// @dev Fully backed figures with batch timestamp `t` (increasing per epoch).
    function _figuresAt(uint64 t) internal pure returns (IStateCommitment.ReserveFigures memory) {
        return IStateCommitment.ReserveFigures(1e30, 1e30, 0, t);
    }

    function _hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @dev Commits epoch 1 with `root` and `figures`.
    function _commitRoot(bytes32 root, IStateCommitment.ReserveFigures memory figures) internal {
        sc.commit(
            1, bytes32(0), root, bytes32(0), figures, attest(sc, 1, bytes32(0), root, bytes32(0), figures)
        );
    }

    /// @dev Commits epoch 1 with a two-leaf root over `a` and `b`, waits until it pays, returns a's proof.
    function _commitPayable(IUSDCEscrow.WithdrawalClaim memory a, IUSDCEscrow.WithdrawalClaim memory b)
        internal
        returns (bytes32[] memory proof)
    {
        _commitRoot(_hashPair(escrow.leafOf(a), escrow.leafOf(b)), _fullyBacked());
        vm.warp(block.timestamp + WINDOW + DELAY);
        proof = new bytes32[](1);
        proof[0] = escrow.leafOf(b);
    }

    function _depositAs(address who, uint256 amount) internal {
        usdc.mint(who, amount);
        vm.startPrank(who);
        usdc.approve(address(escrow), amount);
        escrow.deposit(amount, ALICE_KEY);
        vm.stopPrank();
    }
}
