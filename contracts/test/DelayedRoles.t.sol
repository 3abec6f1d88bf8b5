// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MycoBondingCurve} from "../MycoBondingCurve.sol";
import {IDelayedRoles} from "../interfaces/IDelayedRoles.sol";
import {IMycoBondingCurve} from "../interfaces/IMycoBondingCurve.sol";
import {IStateCommitment} from "../interfaces/IStateCommitment.sol";
import {MycoToken} from "../tokens/MycoToken.sol";
import {TestUSDC} from "../tokens/TestUSDC.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice What the admin key can do at once, held to the README's trust table: nothing that moves value. Every
///         grant waits the admin delay in public (and the escrow's guardian can veto it), MYCO's minter is the
///         curve forever, and the float is bought once. The reviewed proof of concept (a stolen admin key mints,
///         grants itself settlement and sells the curve's reserve inside the delay) fails at each step.
contract DelayedRolesTest is EscrowFixture {
    uint48 internal constant ADMIN_DELAY = 2 days;
    address internal thief = vm.addr(66);
    MycoBondingCurve internal curve;
    MycoToken internal myco;

    function setUp() public {
        vm.warp(1_000_000);
        usdc = new TestUSDC();
        _deploy(usdc);
        curve = new MycoBondingCurve(
            IERC20(address(usdc)), 1e18, 1e12, admin, ADMIN_DELAY, IStateCommitment(address(sc)), relayer
        );
        myco = MycoToken(curve.myco());
    }

    function test_theCurveIsMycosOnlyMinterForever() public {
        vm.assertEq(myco.minter(), address(curve));
        vm.expectRevert(abi.encodeWithSelector(MycoToken.MycoTokenNotMinter.selector, admin));
        vm.prank(admin);
        myco.mint(thief, 1e30);
    }

    /// `grantRole` only schedules, on every contract: nobody holds the role until the delay has passed.
    function test_grantRole_neverGrantsAtOnce() public {
        bytes32 settlement = curve.SETTLEMENT_ROLE();
        bytes32 guardianRole = escrow.GUARDIAN_ROLE();
        bytes32 scGuardian = sc.GUARDIAN_ROLE();
        vm.startPrank(admin);
        curve.grantRole(settlement, thief);
        escrow.grantRole(guardianRole, thief);
        sc.grantRole(scGuardian, thief);
        vm.stopPrank();
        vm.assertFalse(curve.hasRole(settlement, thief));
        vm.assertFalse(escrow.hasRole(guardianRole, thief));
        vm.assertFalse(sc.hasRole(scGuardian, thief));
        vm.assertEq(curve.roleGrantDue(settlement, thief), block.timestamp + ADMIN_DELAY);
        // The escrow and StateCommitment of the fixture have no delay: their grants apply at once, by anyone.
        escrow.applyRoleGrant(guardianRole, thief);
        vm.assertTrue(escrow.hasRole(guardianRole, thief));
    }

    /// The proof of concept: the stolen admin schedules settlement for itself; inside the delay it cannot use
    /// it; the grant is public (an event) the whole time.
    function test_aStolenAdminKeyCannotGrantItselfSettlementInsideTheDelay() public {
        bytes32 settlement = curve.SETTLEMENT_ROLE();
        uint64 due = uint64(block.timestamp) + ADMIN_DELAY;
        vm.expectEmit(address(curve));
        emit IDelayedRoles.RoleGrantScheduled(settlement, thief, due);
        vm.prank(admin);
        curve.grantRole(settlement, thief);
        vm.warp(due - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IDelayedRoles.RoleGrantNotDue.selector, settlement, thief, due)
        );
        curve.applyRoleGrant(settlement, thief);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, thief, settlement
            )
        );
        vm.prank(thief);
        curve.settleEpoch(1, IMycoBondingCurve.NetOrders(0, 0, 0, 0), thief);
        vm.warp(due);
        curve.applyRoleGrant(settlement, thief);
        vm.assertTrue(curve.hasRole(settlement, thief), "after the delay, in public");
    }

    /// The escrow's guardian vetoes a scheduled grant; a stranger cannot.
    function test_theGuardianVetoesAScheduledGrant() public {
        bytes32 guardianRole = escrow.GUARDIAN_ROLE();
        vm.prank(admin);
        escrow.grantRole(guardianRole, thief);
        vm.expectRevert(abi.encodeWithSelector(IDelayedRoles.RoleGrantVetoUnauthorized.selector, thief));
        vm.prank(thief);
        escrow.cancelRoleGrant(guardianRole, thief);
        vm.expectEmit(address(escrow));
        emit IDelayedRoles.RoleGrantCancelled(guardianRole, thief, guardian);
        vm.prank(guardian);
        escrow.cancelRoleGrant(guardianRole, thief);
        vm.assertEq(escrow.roleGrantDue(guardianRole, thief), 0);
        vm.expectRevert(
            abi.encodeWithSelector(IDelayedRoles.RoleGrantNotDue.selector, guardianRole, thief, 0)
        );
        escrow.applyRoleGrant(guardianRole, thief);
    }

    /// Taking a power away stays immediate: a compromised settlement key is removed at once.
    function test_revokingARoleIsImmediate() public {
        bytes32 settlement = curve.SETTLEMENT_ROLE();
        vm.prank(admin);
        curve.revokeRole(settlement, relayer);
        vm.assertFalse(curve.hasRole(settlement, relayer));
    }
}
