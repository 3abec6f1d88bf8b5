// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {StateCommitment} from "../StateCommitment.sol";
import {USDCEscrow} from "../USDCEscrow.sol";
import {IStateCommitment} from "../interfaces/IStateCommitment.sol";
import {IUSDCEscrow} from "../interfaces/IUSDCEscrow.sol";
import {TestUSDC} from "../tokens/TestUSDC.sol";
import {TestBase} from "./utils/Vm.sol";

/// @dev Tries to re-enter the escrow while it pays out (the USDC here calls back on transfer).
contract ReentrantUSDC is TestUSDC {
    USDCEscrow internal target;
    IUSDCEscrow.WithdrawalClaim internal claim;
    bytes32[] internal proof;
    bool internal armed;

    function arm(USDCEscrow t, IUSDCEscrow.WithdrawalClaim memory c, bytes32[] memory p) external {
        target = t;
        claim = c;
        proof = p;
        armed = true;
    }

    function transfer(address to, uint256 amount) public override returns (bool) {
        if (armed) {
            armed = false;
            target.withdraw(claim, proof);
        }
        return super.transfer(to, amount);
    }
}

contract USDCEscrowTest is TestBase {
    uint64 internal constant WINDOW = 100;
    address internal admin = vm.addr(1);
    address internal relayer = vm.addr(2);
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

    function _refuses(IUSDCEscrow.PammParams memory p) internal {
        vm.expectRevert(IUSDCEscrow.EscrowInvalidParams.selector);
        new USDCEscrow(IERC20(address(usdc)), IStateCommitment(address(sc)), admin, p);
    }

    /// The same domain as the relayer's `Params::check`, at its edges.
    function test_constructor_refusesParametersOutsideTheirDomain() public {
        IUSDCEscrow.PammParams memory p = defaults();
        p.alphaBar = 0;
        _refuses(p);
        p = defaults();
        p.xuBar = 1e18 + 1;
        _refuses(p);
        p = defaults();
        p.thetaBar = 1e18;
        _refuses(p);
        p = defaults();
        p.decay = 1e18 + 1;
        _refuses(p);
        p = IUSDCEscrow.PammParams({alphaBar: 1, xuBar: 1e18, thetaBar: 1e18 - 1, decay: 1e18});
        USDCEscrow edges = new USDCEscrow(IERC20(address(usdc)), IStateCommitment(address(sc)), admin, p);
        vm.assertEq(edges.pammParams().thetaBar, 1e18 - 1);
        IUSDCEscrow.PammParams memory read = escrow.pammParams();
        vm.assertEq(read.alphaBar, 1e18);
        vm.assertEq(read.xuBar, 0.3e18);
        vm.assertEq(read.thetaBar, 0.6e18);
        vm.assertEq(read.decay, 999995988739639108);
    }

    function setUp() public {
        vm.warp(1_000_000);
        usdc = new TestUSDC();
        _deploy(usdc);
    }

    function _deploy(TestUSDC token) internal {
        sc = new StateCommitment(admin, 0, WINDOW);
        escrow = new USDCEscrow(IERC20(address(token)), IStateCommitment(address(sc)), admin, defaults());
        vm.startPrank(admin);
        sc.grantRole(sc.RELAYER_ROLE(), relayer);
        escrow.grantRole(escrow.GUARDIAN_ROLE(), admin);
        vm.stopPrank();
        token.mint(address(escrow), 1_000_000e6);
    }

    function _claim(uint256 id, uint256 myco) internal view returns (IUSDCEscrow.WithdrawalClaim memory) {
        return IUSDCEscrow.WithdrawalClaim(id, ALICE_KEY, bob, myco, 1e18, 1, 0);
    }

    /// @dev Reserve figures of a fully backed network: redemptions pay par.
    function _fullyBacked() internal pure returns (IStateCommitment.ReserveFigures memory) {
        return IStateCommitment.ReserveFigures(1e30, 1e30, 0, 1);
    }

    function _hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @dev Commits epoch 1 with a two-leaf root over `a` and `b`, waits out the window, returns a's proof.
    function _commitFinal(IUSDCEscrow.WithdrawalClaim memory a, IUSDCEscrow.WithdrawalClaim memory b)
        internal
        returns (bytes32[] memory proof)
    {
        bytes32 root = _hashPair(escrow.leafOf(a), escrow.leafOf(b));
        vm.prank(relayer);
        sc.commit(1, bytes32(0), root, bytes32(0), _fullyBacked());
        vm.warp(block.timestamp + WINDOW);
        proof = new bytes32[](1);
        proof[0] = escrow.leafOf(b);
    }

    function test_deposit_emitsIncreasingIds() public {
        usdc.mint(alice, 10e6);
        vm.startPrank(alice);
        usdc.approve(address(escrow), 10e6);
        vm.expectEmit(address(escrow));
        emit IUSDCEscrow.Deposited(1, alice, ALICE_KEY, 4e6);
        vm.assertEq(uint256(escrow.deposit(4e6, ALICE_KEY)), 1);
        vm.assertEq(uint256(escrow.deposit(6e6, ALICE_KEY)), 2);
        vm.stopPrank();
        vm.assertEq(uint256(escrow.nextDepositId()), 3);
        vm.assertEq(usdc.balanceOf(address(escrow)), 1_000_000e6 + 10e6);
    }

    function test_deposit_revertsOnZero() public {
        vm.expectRevert(IUSDCEscrow.EscrowZeroAmount.selector);
        escrow.deposit(0, ALICE_KEY);
    }

    function test_deposit_revertsWhenPaused() public {
        vm.prank(admin);
        escrow.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        escrow.deposit(1, ALICE_KEY);
    }

    function test_withdraw_paysParOnce() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32[] memory proof = _commitFinal(a, _claim(8, 1e18));
        vm.expectEmit(address(escrow));
        emit IUSDCEscrow.Withdrawn(7, bob, ALICE_KEY, 1, 25e18, 25e6);
        vm.assertEq(escrow.withdraw(a, proof), 25e6);
        vm.assertEq(usdc.balanceOf(bob), 25e6);
        vm.assertTrue(escrow.isPaid(7));

        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowClaimAlreadyPaid.selector, 7));
        escrow.withdraw(a, proof);
    }

    function test_withdraw_revertsBeforeFinal() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32 root = _hashPair(escrow.leafOf(a), escrow.leafOf(_claim(8, 1e18)));
        vm.prank(relayer);
        sc.commit(1, bytes32(0), root, bytes32(0), _fullyBacked());
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = escrow.leafOf(_claim(8, 1e18));
        vm.expectRevert(
            abi.encodeWithSelector(
                IStateCommitment.StateCommitmentNotFinal.selector, 1, uint64(block.timestamp) + WINDOW
            )
        );
        escrow.withdraw(a, proof);
    }

    function test_withdraw_revertsOnTamperedClaim() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32[] memory proof = _commitFinal(a, _claim(8, 1e18));
        a.mycoAmount = 26e18;
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowInvalidProof.selector, 7, 1));
        escrow.withdraw(a, proof);
    }

    function test_withdraw_revertsOnPenaltyBelowOne() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        a.flowPenalty = 1e18 - 1;
        bytes32[] memory proof = _commitFinal(a, _claim(8, 1e18));
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowInvalidPenalty.selector, 7, 1e18 - 1));
        escrow.withdraw(a, proof);
    }

    function test_withdraw_revertsOnInsufficientReserve() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 2_000_000e18);
        bytes32[] memory proof = _commitFinal(a, _claim(8, 1e18));
        vm.expectRevert(
            abi.encodeWithSelector(
                IUSDCEscrow.EscrowInsufficientReserve.selector, 7, 2_000_000e6, 1_000_000e6
            )
        );
        escrow.withdraw(a, proof);
    }

    function test_withdraw_revertsOnReentry() public {
        ReentrantUSDC evil = new ReentrantUSDC();
        _deploy(evil);
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32[] memory proof = _commitFinal(a, _claim(8, 1e18));
        evil.arm(escrow, _claim(8, 1e18), _single(escrow.leafOf(a)));
        vm.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        escrow.withdraw(a, proof);
        vm.assertFalse(escrow.isPaid(7));
    }

    function _single(bytes32 x) internal pure returns (bytes32[] memory p) {
        p = new bytes32[](1);
        p[0] = x;
    }

    function testFuzz_withdraw_payoutNeverExceedsPar(uint256 myco, uint256 penalty) public {
        myco = bound(myco, 0, 1_000_000e18);
        penalty = bound(penalty, 1e18, 4e18);
        IUSDCEscrow.WithdrawalClaim memory a = _claim(1, myco);
        a.flowPenalty = penalty;
        bytes32[] memory proof = _commitFinal(a, _claim(2, 1));
        uint256 paid = escrow.withdraw(a, proof);
        vm.assertLe(paid * 1e12, myco, "pays more than par");
        vm.assertLe(paid * 1e12 * penalty / 1e18, myco, "penalty grew the payout");
        vm.assertEq(usdc.balanceOf(bob), paid);
    }

    function testFuzz_deposit_anyAmountCredited(uint256 amount) public {
        amount = bound(amount, 1, type(uint128).max);
        usdc.mint(alice, amount);
        vm.startPrank(alice);
        usdc.approve(address(escrow), amount);
        escrow.deposit(amount, ALICE_KEY);
        vm.stopPrank();
        vm.assertEq(usdc.balanceOf(address(escrow)), 1_000_000e6 + amount);
    }

    /// Below full backing the P-AMM pays less than par, and an epoch's claims, each paid its own slice of the
    /// curve, together pay what redeeming their sum at once would: whatever order they are claimed in.
    function test_withdraw_belowParSlicesTelescope() public {
        // The settlement math's test vector: x = 30, b = 50, y = 70 (MYCO / USD, WAD): redeeming 10 pays 9.5.
        IUSDCEscrow.WithdrawalClaim memory a =
            IUSDCEscrow.WithdrawalClaim(1, ALICE_KEY, bob, 4e18, 1e18, 1, 0);
        IUSDCEscrow.WithdrawalClaim memory b =
            IUSDCEscrow.WithdrawalClaim(2, ALICE_KEY, bob, 6e18, 1e18, 1, 4e18);
        bytes32 root = _hashPair(escrow.leafOf(a), escrow.leafOf(b));
        vm.prank(relayer);
        sc.commit(1, bytes32(0), root, bytes32(0), IStateCommitment.ReserveFigures(70e18, 50e18, 30e18, 1));
        vm.warp(block.timestamp + WINDOW);
        uint256 paidB = escrow.withdraw(b, _single(escrow.leafOf(a)));
        uint256 paidA = escrow.withdraw(a, _single(escrow.leafOf(b)));
        vm.assertLe(paidA + paidB, 9.5e6, "more than the whole redemption");
        vm.assertGe(paidA + paidB, 9.5e6 - 1, "slices lose more than rounding");
        vm.assertLe(paidA, 4e6, "above par");
        vm.assertLe(paidB, 6e6, "above par");
        vm.assertGe(paidA, paidB * 4 / 6, "the earlier slice is the cheaper one for the reserve");
    }
}
