// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {StateCommitment} from "../StateCommitment.sol";
import {IStateCommitment} from "../interfaces/IStateCommitment.sol";
import {TestBase} from "./utils/Vm.sol";

contract StateCommitmentTest is TestBase {
    uint64 internal constant WINDOW = 1 hours;
    address internal admin = vm.addr(1);
    address internal relayer = vm.addr(2);
    address internal guardian = vm.addr(3);
    address internal stranger = vm.addr(4);
    StateCommitment internal sc;

    function setUp() public {
        vm.warp(1_000_000);
        sc = new StateCommitment(admin, WINDOW);
        vm.startPrank(admin);
        sc.grantRole(sc.RELAYER_ROLE(), relayer);
        sc.grantRole(sc.GUARDIAN_ROLE(), guardian);
        vm.stopPrank();
    }

    function _figures() internal view returns (IStateCommitment.ReserveFigures memory) {
        return IStateCommitment.ReserveFigures(100e18, 90e18, 1e17, uint64(block.timestamp));
    }

    function _root(uint64 epoch) internal pure returns (bytes32) {
        return keccak256(abi.encode("root", epoch));
    }

    function _commit(uint64 epoch) internal {
        vm.prank(relayer);
        sc.commit(
            epoch,
            epoch == 1 ? bytes32(0) : _root(epoch - 1),
            _root(epoch),
            bytes32(uint256(epoch)),
            _figures()
        );
    }

    function test_commit_storesAndEmits() public {
        vm.expectEmit(address(sc));
        emit IStateCommitment.RootCommitted(1, _root(1), bytes32(uint256(1)), bytes32(0));
        _commit(1);
        vm.assertEq(uint256(sc.latestEpoch()), 1);
        IStateCommitment.Commitment memory c = sc.commitmentOf(1);
        vm.assertEq(c.stateRoot, _root(1));
        vm.assertEq(c.batchDigest, bytes32(uint256(1)));
        vm.assertEq(c.reserve.totalSupply, 100e18);
        vm.assertEq(c.reserve.totalReserve, 90e18);
        vm.assertEq(uint256(c.committedAt), block.timestamp);
    }

    function test_commit_revertsWhenNotRelayer() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, sc.RELAYER_ROLE()
            )
        );
        vm.prank(stranger);
        sc.commit(1, bytes32(0), _root(1), bytes32(0), _figures());
    }

    function test_commit_revertsOnGap() public {
        _commit(1);
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentEpochOutOfOrder.selector, 2, 3)
        );
        vm.prank(relayer);
        sc.commit(3, _root(2), _root(3), bytes32(0), _figures());
    }

    function test_commit_revertsOnReplay() public {
        _commit(1);
        _commit(2);
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentEpochOutOfOrder.selector, 3, 2)
        );
        vm.prank(relayer);
        sc.commit(2, _root(1), _root(2), bytes32(0), _figures());
    }

    function test_commit_revertsOnWrongParent() public {
        _commit(1);
        bytes32 wrong = keccak256("wrong");
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentParentMismatch.selector, _root(1), wrong)
        );
        vm.prank(relayer);
        sc.commit(2, wrong, _root(2), bytes32(0), _figures());
    }

    function test_commit_revertsWhenPaused() public {
        vm.prank(guardian);
        sc.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(relayer);
        sc.commit(1, bytes32(0), _root(1), bytes32(0), _figures());
        vm.prank(admin);
        sc.unpause();
        _commit(1);
    }

    function test_finality_afterWindow() public {
        _commit(1);
        vm.assertFalse(sc.isFinal(1));
        vm.expectRevert(
            abi.encodeWithSelector(
                IStateCommitment.StateCommitmentNotFinal.selector, 1, uint64(block.timestamp) + WINDOW
            )
        );
        sc.finalRoot(1);
        vm.warp(block.timestamp + WINDOW);
        vm.assertTrue(sc.isFinal(1));
        vm.assertEq(sc.finalRoot(1), _root(1));
        vm.assertFalse(sc.isFinal(2));
    }

    function test_revoke_removesEpochAndLaterOnes() public {
        _commit(1);
        vm.warp(block.timestamp + WINDOW); // epoch 1 is final
        _commit(2);
        _commit(3);
        vm.expectEmit(address(sc));
        emit IStateCommitment.CommitmentsRevoked(2, 3, guardian);
        vm.prank(guardian);
        sc.revoke(2);
        vm.assertEq(uint256(sc.latestEpoch()), 1);
        vm.expectRevert(abi.encodeWithSelector(IStateCommitment.StateCommitmentUnknownEpoch.selector, 2));
        sc.commitmentOf(2);
        // A different root for epoch 2 is accepted, linked to epoch 1.
        vm.prank(relayer);
        sc.commit(2, _root(1), keccak256("corrected"), bytes32(0), _figures());
        vm.assertEq(uint256(sc.latestEpoch()), 2);
    }

    function test_revoke_revokedRootCannotReturn() public {
        _commit(1);
        vm.prank(guardian);
        sc.revoke(1);
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentRootRevoked.selector, 1, _root(1))
        );
        _commit(1);
    }

    function test_revoke_revertsWhenFinal() public {
        _commit(1);
        uint64 finalAt = uint64(block.timestamp) + WINDOW;
        vm.warp(finalAt);
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentAlreadyFinal.selector, 1, finalAt)
        );
        vm.prank(guardian);
        sc.revoke(1);
    }

    function test_revoke_revertsWhenNotGuardian() public {
        _commit(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, relayer, sc.GUARDIAN_ROLE()
            )
        );
        vm.prank(relayer);
        sc.revoke(1);
    }

    function test_revoke_revertsOnUnknownEpoch() public {
        vm.expectRevert(abi.encodeWithSelector(IStateCommitment.StateCommitmentUnknownEpoch.selector, 1));
        vm.prank(guardian);
        sc.revoke(1);
    }

    function testFuzz_commit_onlyNextEpochAccepted(uint64 epoch) public {
        _commit(1);
        vm.assume(epoch != 2);
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentEpochOutOfOrder.selector, 2, epoch)
        );
        vm.prank(relayer);
        sc.commit(epoch, _root(1), _root(epoch), bytes32(0), _figures());
    }
}
