// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MycoBondingCurve} from "../../MycoBondingCurve.sol";
import {StateCommitment} from "../../StateCommitment.sol";
import {IMycoBondingCurve} from "../../interfaces/IMycoBondingCurve.sol";
import {IStateCommitment} from "../../interfaces/IStateCommitment.sol";
import {MycoToken} from "../../tokens/MycoToken.sol";
import {TestUSDC} from "../../tokens/TestUSDC.sol";
import {Attesters} from "../utils/Attesters.sol";

/// @notice Settles random epochs of net orders on the curve (buys, sells, both legs, sells of everything), and
///         tries what no one may: a stranger settling, minting MYCO, an epoch out of order.
contract CurveHandler is Attesters {
    StateCommitment internal immutable sc;
    MycoBondingCurve internal immutable curve;
    TestUSDC internal immutable usdc;
    MycoToken internal immutable myco;
    address internal immutable settler;
    /// @notice Calls that should have been refused and were not.
    uint256 public violations;

    constructor(StateCommitment sc_, MycoBondingCurve curve_, TestUSDC usdc_, address settler_) {
        (sc, curve, usdc, settler) = (sc_, curve_, usdc_, settler_);
        myco = MycoToken(curve_.myco());
    }

    /// @notice Commits the next epoch and settles it with a random buy and sell (either may be zero).
    function settle(uint256 buy, uint256 sellShare) external {
        uint64 epoch = _commitNext();
        uint256 held = myco.balanceOf(settler);
        IMycoBondingCurve.NetOrders memory o = IMycoBondingCurve.NetOrders({
            sellMyco: held * bound(sellShare, 0, 100) / 100,
            minUsdcOut: 0,
            buyUsdc: bound(buy, 0, 1e13),
            minMycoOut: 0
        });
        vm.prank(settler);
        curve.settleEpoch(epoch, o, settler);
    }

    /// @notice What no one may do: a stranger settles, mints MYCO, or the settler skips an epoch.
    function trespass(uint256 seed) external {
        uint64 next = curve.lastSettledEpoch() + 1;
        IMycoBondingCurve.NetOrders memory o = IMycoBondingCurve.NetOrders(0, 0, 1e6, 0);
        vm.prank(address(uint160(seed | 1)));
        try curve.settleEpoch(next, o, address(this)) {
            ++violations;
        } catch {}
        vm.prank(address(uint160(seed | 1)));
        try myco.mint(address(this), 1e18) {
            ++violations;
        } catch {}
        vm.prank(settler);
        try curve.settleEpoch(next + 1, o, settler) {
            ++violations;
        } catch {}
    }

    function _commitNext() private returns (uint64 epoch) {
        epoch = sc.latestEpoch() + 1;
        bytes32 parent = epoch == 1 ? bytes32(0) : sc.commitmentOf(epoch - 1).stateRoot;
        vm.warp(block.timestamp + 1);
        IStateCommitment.ReserveFigures memory f =
            IStateCommitment.ReserveFigures(0, 0, 0, uint64(block.timestamp));
        bytes32 digest = bytes32(uint256(epoch));
        sc.commit(epoch, parent, bytes32(0), digest, f, attest(sc, epoch, parent, bytes32(0), digest, f));
    }
}

/// @notice The curve's reserve covers its supply, whatever sequence of settlements ran: selling every MYCO back
///         pays at most what the curve holds; the curve's supply is the token's; and only the settler trades.
contract CurveInvariantTest is Attesters {
    address internal admin = vm.addr(1);
    address internal settler = vm.addr(2);
    TestUSDC internal usdc;
    MycoBondingCurve internal curve;
    CurveHandler internal handler;

    function setUp() public {
        vm.warp(1_000_000);
        usdc = new TestUSDC();
        StateCommitment sc = new StateCommitment(admin, 0, address(0), 1 hours, attesterSet(), THRESHOLD);
        curve = new MycoBondingCurve(
            IERC20(address(usdc)), 1e18, 1e12, admin, 0, IStateCommitment(address(sc)), settler
        );
        usdc.mint(settler, type(uint128).max);
        vm.prank(settler);
        usdc.approve(address(curve), type(uint256).max);
        handler = new CurveHandler(sc, curve, usdc, settler);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_theReserveCoversTheSupply() public view {
        uint256 supply = curve.supply();
        if (supply > 0) {
            vm.assertLe(curve.quoteSell(supply), usdc.balanceOf(address(curve)), "reserve short");
        }
        vm.assertEq(supply, MycoToken(curve.myco()).totalSupply(), "the curve's supply is not the token's");
    }

    function invariant_onlyTheSettlerTradesInOrder() public view {
        vm.assertEq(
            handler.violations(), 0, "a trade, a mint or a skipped epoch that should have been refused"
        );
    }
}
