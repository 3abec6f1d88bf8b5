// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MycoBondingCurve} from "../MycoBondingCurve.sol";
import {IMycoBondingCurve} from "../interfaces/IMycoBondingCurve.sol";
import {MycoToken} from "../tokens/MycoToken.sol";
import {TestUSDC} from "../tokens/TestUSDC.sol";
import {TestBase} from "./utils/Vm.sol";

contract MycoBondingCurveTest is TestBase {
    address internal admin = vm.addr(1);
    address internal settler = vm.addr(2);
    address internal stranger = vm.addr(3);
    TestUSDC internal usdc;
    MycoToken internal myco;
    MycoBondingCurve internal curve;

    function setUp() public {
        usdc = new TestUSDC();
        myco = new MycoToken(admin);
        // p(s) = 1.0 + 1e-6 * s: one MYCO costs 1 USD at zero supply, 2 USD at a million.
        curve = new MycoBondingCurve(IERC20(address(usdc)), myco, 1e18, 1e12, admin);
        vm.startPrank(admin);
        myco.grantRole(myco.MINTER_ROLE(), address(curve));
        curve.grantRole(curve.SETTLEMENT_ROLE(), settler);
        vm.stopPrank();
        usdc.mint(settler, type(uint128).max);
        vm.prank(settler);
        usdc.approve(address(curve), type(uint256).max);
    }

    function test_buy_followsTheCurve() public {
        // From zero supply, R(S) = S + 1e-6 S^2 / 2; 1000.5 USD buys exactly 1000 MYCO.
        vm.assertEq(curve.quoteBuy(1_000_500_000), 1000e18);
        vm.prank(settler);
        vm.assertEq(curve.buy(1_000_500_000, 1000e18, settler), 1000e18);
        vm.assertEq(myco.balanceOf(settler), 1000e18);
        vm.assertEq(curve.supply(), 1000e18);
        vm.assertEq(curve.spotPrice(), 1.001e18);
    }

    function test_sell_returnsTheIntegral() public {
        vm.prank(settler);
        curve.buy(1_000_500_000, 0, settler);
        vm.assertEq(curve.quoteSell(1000e18), 1_000_500_000);
        vm.prank(settler);
        vm.assertEq(curve.sell(1000e18, 0, stranger), 1_000_500_000);
        vm.assertEq(usdc.balanceOf(stranger), 1_000_500_000);
        vm.assertEq(curve.supply(), 0);
        vm.assertEq(myco.totalSupply(), 0);
    }

    function test_buy_revertsPastSlippage() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMycoBondingCurve.CurveSlippage.selector, 1000e18, 1000e18 + 1)
        );
        vm.prank(settler);
        curve.buy(1_000_500_000, 1000e18 + 1, settler);
    }

    function test_sell_revertsAboveSupply() public {
        vm.expectRevert(abi.encodeWithSelector(IMycoBondingCurve.CurveSellExceedsSupply.selector, 1, 0));
        vm.prank(settler);
        curve.sell(1, 0, settler);
    }

    function test_trade_revertsWhenNotSettlement() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, curve.SETTLEMENT_ROLE()
            )
        );
        vm.prank(stranger);
        curve.buy(1e6, 0, stranger);
    }

    function test_settleEpoch_sellsThenBuysAndEmits() public {
        vm.prank(settler);
        curve.buy(1_000_500_000, 0, settler); // supply 1000, spot 1.001
        // Selling 1000 back pays 1000.5 USD, which the purchase then spends: back at 1000 MYCO.
        IMycoBondingCurve.NetOrders memory orders = IMycoBondingCurve.NetOrders({
            sellMyco: 1000e18, minUsdcOut: 1_000_500_000, buyUsdc: 1_000_500_000, minMycoOut: 1000e18
        });
        vm.expectEmit(address(curve));
        emit IMycoBondingCurve.EpochSettled(7, 1000e18, 1_000_500_000, 1_000_500_000, 1000e18);
        vm.prank(settler);
        (uint256 usdcOut, uint256 mycoOut) = curve.settleEpoch(7, orders, settler);
        vm.assertEq(usdcOut, 1_000_500_000);
        vm.assertEq(mycoOut, 1000e18);
        vm.assertEq(curve.supply(), 1000e18);
        vm.assertEq(uint256(curve.lastSettledEpoch()), 7);
    }

    function test_settleEpoch_onceAndInOrder() public {
        IMycoBondingCurve.NetOrders memory orders =
            IMycoBondingCurve.NetOrders({sellMyco: 0, minUsdcOut: 0, buyUsdc: 1e6, minMycoOut: 0});
        vm.startPrank(settler);
        curve.settleEpoch(2, orders, settler);
        // The same epoch again, or an earlier one, never executes twice.
        vm.expectRevert(abi.encodeWithSelector(IMycoBondingCurve.CurveEpochAlreadySettled.selector, 2, 2));
        curve.settleEpoch(2, orders, settler);
        vm.expectRevert(abi.encodeWithSelector(IMycoBondingCurve.CurveEpochAlreadySettled.selector, 1, 2));
        curve.settleEpoch(1, orders, settler);
        // Epochs without net orders are skipped.
        curve.settleEpoch(5, orders, settler);
        vm.stopPrank();
        vm.assertEq(uint256(curve.lastSettledEpoch()), 5);
    }

    function test_settleEpoch_allOrNothing() public {
        vm.prank(settler);
        curve.buy(1_000_500_000, 0, settler);
        // The purchase misses its limit, so the sale before it is undone too, and the epoch stays open.
        IMycoBondingCurve.NetOrders memory orders =
            IMycoBondingCurve.NetOrders({sellMyco: 10e18, minUsdcOut: 0, buyUsdc: 1e6, minMycoOut: 1e30});
        vm.expectPartialRevert(IMycoBondingCurve.CurveSlippage.selector);
        vm.prank(settler);
        curve.settleEpoch(1, orders, settler);
        vm.assertEq(curve.supply(), 1000e18);
        vm.assertEq(uint256(curve.lastSettledEpoch()), 0);
    }

    function test_settleEpoch_revertsOnNothingAndForStrangers() public {
        IMycoBondingCurve.NetOrders memory none;
        vm.expectRevert(IMycoBondingCurve.CurveZeroAmount.selector);
        vm.prank(settler);
        curve.settleEpoch(1, none, settler);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, curve.SETTLEMENT_ROLE()
            )
        );
        vm.prank(stranger);
        curve.settleEpoch(1, none, stranger);
    }

    function test_constructor_revertsOnZeroCurve() public {
        vm.expectRevert(IMycoBondingCurve.CurveInvalidParameters.selector);
        new MycoBondingCurve(IERC20(address(usdc)), myco, 0, 0, admin);
    }

    function test_constantPriceCurve() public {
        MycoBondingCurve flat = new MycoBondingCurve(IERC20(address(usdc)), myco, 2e18, 0, admin);
        vm.assertEq(flat.quoteBuy(3e6), 1.5e18);
    }

    /// Buying then selling everything bought never returns more USDC than was paid.
    function testFuzz_roundTripNeverProfits(uint256 first, uint256 second) public {
        first = bound(first, 0, 1e15);
        second = bound(second, 1, 1e15);
        vm.startPrank(settler);
        if (first > 0) curve.buy(first, 0, admin);
        uint256 minted = curve.buy(second, 0, settler);
        if (minted > 0) {
            uint256 back = curve.sell(minted, 0, settler);
            vm.assertLe(back, second, "round trip profits");
        }
        vm.stopPrank();
    }

    /// The reserve always covers selling the whole supply back.
    function testFuzz_reserveCoversSupply(uint256 a, uint256 b, uint256 sold) public {
        a = bound(a, 1, 1e14);
        b = bound(b, 1, 1e14);
        vm.startPrank(settler);
        curve.buy(a, 0, settler);
        curve.buy(b, 0, settler);
        sold = bound(sold, 0, curve.supply());
        if (sold > 0) curve.sell(sold, 0, settler);
        uint256 rest = curve.supply();
        if (rest > 0) vm.assertLe(curve.quoteSell(rest), usdc.balanceOf(address(curve)), "reserve short");
        vm.stopPrank();
    }
}
