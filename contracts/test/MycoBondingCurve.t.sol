// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MycoBondingCurve} from "../MycoBondingCurve.sol";
import {StateCommitment} from "../StateCommitment.sol";
import {IMycoBondingCurve} from "../interfaces/IMycoBondingCurve.sol";
import {IStateCommitment} from "../interfaces/IStateCommitment.sol";
import {MycoToken} from "../tokens/MycoToken.sol";
import {TestUSDC} from "../tokens/TestUSDC.sol";
import {Attesters} from "./utils/Attesters.sol";

contract MycoBondingCurveTest is Attesters {
    address internal admin = vm.addr(1);
    address internal settler = vm.addr(2);
    address internal stranger = vm.addr(3);
    TestUSDC internal usdc;
    MycoToken internal myco;
    StateCommitment internal sc;
    MycoBondingCurve internal curve;

    function setUp() public {
        vm.warp(1_000_000);
        usdc = new TestUSDC();
        sc = new StateCommitment(admin, 0, address(0), 1 hours, attesterSet(), THRESHOLD);
        // p(s) = 1.0 + 1e-6 * s: one MYCO costs 1 USD at zero supply, 2 USD at a million.
        curve = _curve(1e18, 1e12);
        myco = MycoToken(curve.myco());
        usdc.mint(settler, type(uint128).max);
        vm.prank(settler);
        usdc.approve(address(curve), type(uint256).max);
        usdc.mint(admin, 1e15);
        vm.prank(admin);
        usdc.approve(address(curve), type(uint256).max);
    }

    function _curve(uint256 p0, uint256 m) internal returns (MycoBondingCurve) {
        return
            new MycoBondingCurve(
                IERC20(address(usdc)), p0, m, admin, 0, IStateCommitment(address(sc)), settler
            );
    }

    /// @dev Commits the next epoch (an empty root) so the curve may settle it.
    function _commitNext() internal returns (uint64 epoch) {
        epoch = sc.latestEpoch() + 1;
        bytes32 parent = epoch == 1 ? bytes32(0) : sc.commitmentOf(epoch - 1).stateRoot;
        vm.warp(block.timestamp + 1);
        vm.prank(settler);
        sc.commit(
            epoch,
            parent,
            bytes32(0),
            bytes32(uint256(epoch)),
            IStateCommitment.ReserveFigures(0, 0, 0, uint64(block.timestamp)),
            attest(
                sc,
                epoch,
                parent,
                bytes32(0),
                bytes32(uint256(epoch)),
                IStateCommitment.ReserveFigures(0, 0, 0, uint64(block.timestamp))
            )
        );
    }

    function _buy(uint256 usdcIn) internal returns (uint256 mycoOut) {
        uint64 epoch = _commitNext();
        vm.prank(settler);
        (, mycoOut) = curve.settleEpoch(epoch, IMycoBondingCurve.NetOrders(0, 0, usdcIn, 0), settler);
    }

    function _sell(uint256 mycoIn, address to) internal returns (uint256 usdcOut) {
        uint64 epoch = _commitNext();
        vm.prank(settler);
        (usdcOut,) = curve.settleEpoch(epoch, IMycoBondingCurve.NetOrders(mycoIn, 0, 0, 0), to);
    }

    function test_buy_followsTheCurve() public {
        // From zero supply, R(S) = S + 1e-6 S^2 / 2; 1000.5 USD buys exactly 1000 MYCO.
        vm.assertEq(curve.quoteBuy(1_000_500_000), 1000e18);
        vm.assertEq(_buy(1_000_500_000), 1000e18);
        vm.assertEq(myco.balanceOf(settler), 1000e18);
        vm.assertEq(curve.supply(), 1000e18);
        vm.assertEq(curve.spotPrice(), 1.001e18);
    }

    function test_sell_returnsTheIntegral() public {
        _buy(1_000_500_000);
        vm.assertEq(curve.quoteSell(1000e18), 1_000_500_000);
        vm.assertEq(_sell(1000e18, stranger), 1_000_500_000);
        vm.assertEq(usdc.balanceOf(stranger), 1_000_500_000);
        vm.assertEq(curve.supply(), 0);
        vm.assertEq(myco.totalSupply(), 0);
    }

    function test_settleEpoch_revertsPastSlippage() public {
        uint64 epoch = _commitNext();
        vm.expectRevert(
            abi.encodeWithSelector(IMycoBondingCurve.CurveSlippage.selector, 1000e18, 1000e18 + 1)
        );
        vm.prank(settler);
        curve.settleEpoch(epoch, IMycoBondingCurve.NetOrders(0, 0, 1_000_500_000, 1000e18 + 1), settler);
    }

    function test_settleEpoch_revertsOnASaleAboveSupply() public {
        uint64 epoch = _commitNext();
        vm.expectRevert(abi.encodeWithSelector(IMycoBondingCurve.CurveSellExceedsSupply.selector, 1, 0));
        vm.prank(settler);
        curve.settleEpoch(epoch, IMycoBondingCurve.NetOrders(1, 0, 0, 0), settler);
    }

    function test_settleEpoch_sellsThenBuysAndEmits() public {
        _buy(1_000_500_000); // supply 1000, spot 1.001
        uint64 epoch = _commitNext();
        // Selling 1000 back pays 1000.5 USD, which the purchase then spends: back at 1000 MYCO.
        IMycoBondingCurve.NetOrders memory orders = IMycoBondingCurve.NetOrders({
            sellMyco: 1000e18, minUsdcOut: 1_000_500_000, buyUsdc: 1_000_500_000, minMycoOut: 1000e18
        });
        vm.expectEmit(address(curve));
        emit IMycoBondingCurve.EpochSettled(epoch, 1000e18, 1_000_500_000, 1_000_500_000, 1000e18);
        vm.prank(settler);
        (uint256 usdcOut, uint256 mycoOut) = curve.settleEpoch(epoch, orders, settler);
        vm.assertEq(usdcOut, 1_000_500_000);
        vm.assertEq(mycoOut, 1000e18);
        vm.assertEq(curve.supply(), 1000e18);
        vm.assertEq(uint256(curve.lastSettledEpoch()), epoch);
    }

    /// Every epoch settles exactly once, in order, and only after its root is committed: settling epoch 2^64 − 1
    /// (which used to disable the curve for good) is refused.
    function test_settleEpoch_onceInOrderAndOnlyCommitted() public {
        IMycoBondingCurve.NetOrders memory orders = IMycoBondingCurve.NetOrders(0, 0, 1e6, 0);
        vm.startPrank(settler);
        vm.expectRevert(abi.encodeWithSelector(IMycoBondingCurve.CurveEpochNotCommitted.selector, 1, 0));
        curve.settleEpoch(1, orders, settler);
        vm.expectRevert(
            abi.encodeWithSelector(IMycoBondingCurve.CurveEpochOutOfOrder.selector, 1, type(uint64).max)
        );
        curve.settleEpoch(type(uint64).max, orders, settler);
        vm.stopPrank();
        _commitNext();
        _commitNext();
        vm.startPrank(settler);
        vm.expectRevert(abi.encodeWithSelector(IMycoBondingCurve.CurveEpochOutOfOrder.selector, 1, 2));
        curve.settleEpoch(2, orders, settler);
        curve.settleEpoch(1, orders, settler);
        vm.expectRevert(abi.encodeWithSelector(IMycoBondingCurve.CurveEpochOutOfOrder.selector, 2, 1));
        curve.settleEpoch(1, orders, settler);
        // An epoch without net orders settles with zeros, so the next one can follow.
        IMycoBondingCurve.NetOrders memory none;
        vm.expectEmit(address(curve));
        emit IMycoBondingCurve.EpochSettled(2, 0, 0, 0, 0);
        curve.settleEpoch(2, none, settler);
        vm.expectRevert(abi.encodeWithSelector(IMycoBondingCurve.CurveEpochNotCommitted.selector, 3, 2));
        curve.settleEpoch(3, orders, settler);
        vm.stopPrank();
        vm.assertEq(uint256(curve.lastSettledEpoch()), 2);
    }

    function test_settleEpoch_allOrNothing() public {
        _buy(1_000_500_000);
        uint64 epoch = _commitNext();
        // The purchase misses its limit, so the sale before it is undone too, and the epoch stays open.
        IMycoBondingCurve.NetOrders memory orders =
            IMycoBondingCurve.NetOrders({sellMyco: 10e18, minUsdcOut: 0, buyUsdc: 1e6, minMycoOut: 1e30});
        vm.expectPartialRevert(IMycoBondingCurve.CurveSlippage.selector);
        vm.prank(settler);
        curve.settleEpoch(epoch, orders, settler);
        vm.assertEq(curve.supply(), 1000e18);
        vm.assertEq(uint256(curve.lastSettledEpoch()), epoch - 1);
    }

    function test_settleEpoch_revertsForStrangers() public {
        IMycoBondingCurve.NetOrders memory none;
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, curve.SETTLEMENT_ROLE()
            )
        );
        vm.prank(stranger);
        curve.settleEpoch(1, none, stranger);
    }

    /// The settlement float is the admin's one purchase before the network trades (once: a second purchase
    /// before genesis is refused too); there is no other way in.
    function test_buyFloat_onlyTheAdminAndOnlyBeforeTheFirstEpoch() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, settler, curve.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(settler);
        curve.buyFloat(1e6, 0, settler);
        vm.prank(admin);
        vm.assertEq(curve.buyFloat(1_000_500_000, 1000e18, settler), 1000e18);
        vm.assertEq(myco.balanceOf(settler), 1000e18);
        vm.expectRevert(IMycoBondingCurve.CurveFloatAfterGenesis.selector);
        vm.prank(admin);
        curve.buyFloat(1e6, 0, settler);
        _buy(1e6);
        vm.expectRevert(IMycoBondingCurve.CurveFloatAfterGenesis.selector);
        vm.prank(admin);
        curve.buyFloat(1e6, 0, settler);
    }

    function test_constructor_revertsOnZeroCurveOrAddress() public {
        vm.expectRevert(IMycoBondingCurve.CurveInvalidParameters.selector);
        _curve(0, 0);
        vm.expectRevert(IMycoBondingCurve.CurveZeroAddress.selector);
        new MycoBondingCurve(IERC20(address(usdc)), 1, 1, admin, 0, IStateCommitment(address(0)), settler);
        vm.expectRevert(abi.encodeWithSignature("AccessControlInvalidDefaultAdmin(address)", address(0)));
        new MycoBondingCurve(
            IERC20(address(usdc)), 1, 1, address(0), 0, IStateCommitment(address(sc)), settler
        );
    }

    function test_constantPriceCurve() public {
        MycoBondingCurve flat = _curve(2e18, 0);
        vm.assertEq(flat.quoteBuy(3e6), 1.5e18);
    }

    /// Buying then selling everything bought never returns more USDC than was paid.
    function testFuzz_roundTripNeverProfits(uint256 first, uint256 second) public {
        first = bound(first, 0, 1e15);
        second = bound(second, 1, 1e15);
        if (first > 0) _buy(first);
        uint256 before = myco.balanceOf(settler);
        uint256 minted = _buy(second);
        vm.assertEq(myco.balanceOf(settler), before + minted);
        if (minted > 0) vm.assertLe(_sell(minted, settler), second, "round trip profits");
    }

    /// The reserve always covers selling the whole supply back.
    function testFuzz_reserveCoversSupply(uint256 a, uint256 b, uint256 sold) public {
        a = bound(a, 1, 1e14);
        b = bound(b, 1, 1e14);
        _buy(a);
        _buy(b);
        sold = bound(sold, 0, curve.supply());
        if (sold > 0) _sell(sold, settler);
        uint256 rest = curve.supply();
        if (rest > 0) vm.assertLe(curve.quoteSell(rest), usdc.balanceOf(address(curve)), "reserve short");
    }
}
