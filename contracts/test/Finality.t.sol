// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StateCommitment} from "../StateCommitment.sol";
import {IAttesterQuorum} from "../interfaces/IAttesterQuorum.sol";
import {IBrake} from "../interfaces/IBrake.sol";
import {IStateCommitment} from "../interfaces/IStateCommitment.sol";
import {CommitmentFixture} from "./utils/CommitmentFixture.sol";

/// @notice Finality is forever (no stop of the clock bends it), stops are temporary, a retired commitment never
///         comes back, and a quorum is more than two thirds.
contract FinalityTest is CommitmentFixture {
    uint64 internal constant MAX_STOP = 7 days;
    uint64 internal constant COOLDOWN = 2 days;

    /// The review's proof of concept: a year-old final epoch, already paid from, could be revoked by pausing
    /// first, since a stopped clock made every epoch read "not final". It stays final, at the same time.
    function test_pause_thenRevokeOfAFinalEpochIsRefused() public {
        _commit(1);
        uint64 finalAt = sc.finalAt(1);
        vm.warp(block.timestamp + 365 days);
        _commit(2);
        vm.prank(guardian);
        sc.pause();
        vm.assertTrue(sc.isFinal(1), "final before the stop: final during it");
        vm.assertEq(sc.finalAt(1), finalAt, "and at the same time");
        vm.assertEq(sc.finalRoot(1), _root(1));
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentAlreadyFinal.selector, 1, finalAt)
        );
        vm.prank(guardian);
        sc.revoke(1);
        // Epoch 2 was inside its window when the clock stopped: it is frozen, and may be revoked.
        vm.assertEq(uint256(sc.finalAt(2)), type(uint64).max);
        vm.prank(guardian);
        sc.revoke(2);
        vm.assertEq(sc.latestEpoch(), 1);
    }

    /// A stop that began after an epoch was final does not move its finality, during the stop or after it.
    function test_stop_afterFinalityChangesNothing() public {
        _commit(1);
        uint64 finalAt = sc.finalAt(1);
        vm.warp(finalAt + 10);
        vm.prank(guardian);
        sc.pause();
        vm.warp(block.timestamp + 3 days);
        vm.prank(guardian);
        sc.unpause();
        vm.assertEq(sc.finalAt(1), finalAt);
        vm.assertTrue(sc.isFinal(1));
    }

    /// A stop ends by itself after MAX_STOP, and the window of an epoch it froze moves by exactly MAX_STOP.
    function test_stop_expiresByItself() public {
        _commit(1);
        uint64 committed = uint64(block.timestamp);
        vm.warp(committed + 10);
        vm.prank(guardian);
        sc.pause();
        uint64 stopped = uint64(block.timestamp);
        vm.warp(stopped + MAX_STOP - 1);
        vm.assertTrue(sc.paused());
        vm.warp(stopped + MAX_STOP);
        vm.assertFalse(sc.paused(), "over by itself");
        vm.assertEq(uint256(sc.finalAt(1)), uint256(committed) + WINDOW + MAX_STOP);
        _commit(2);
        vm.assertEq(sc.latestEpoch(), 2, "commits resume without anyone");
    }

    /// The guardian cannot stop again within the cooldown of the last stop's end, whether it was released or
    /// expired, nor stop twice at once: it only ever causes temporary stops.
    function test_stop_cannotBeChainedByTheGuardian() public {
        vm.prank(guardian);
        sc.pause();
        uint64 until = uint64(block.timestamp) + MAX_STOP;
        vm.expectRevert(abi.encodeWithSelector(IBrake.BrakeEngaged.selector, until));
        vm.prank(guardian);
        sc.pause();
        vm.warp(block.timestamp + 1 hours);
        vm.prank(admin);
        sc.unpause();
        uint64 allowed = uint64(block.timestamp) + COOLDOWN;
        vm.expectRevert(abi.encodeWithSelector(IBrake.BrakeCoolingDown.selector, allowed));
        vm.prank(guardian);
        sc.pause();
        vm.warp(allowed);
        vm.prank(guardian);
        sc.pause();
        // Expired, then re-stopped at once: refused too.
        vm.warp(block.timestamp + MAX_STOP);
        vm.expectPartialRevert(IBrake.BrakeCoolingDown.selector);
        vm.prank(guardian);
        sc.pause();
        vm.expectRevert(IBrake.BrakeNotEngaged.selector);
        vm.prank(guardian);
        sc.unpause();
        vm.assertEq(sc.stopCount(), 2);
    }

    /// Several stops inside one window each push it back by their length; stops after finality do not.
    function test_finalAt_addsEveryStopThatBeganBeforeIt() public {
        StateCommitment slow = new StateCommitment(admin, 0, guardian, 30 days, attesterSet(), THRESHOLD);
        uint64 t0 = uint64(block.timestamp);
        slow.commit(1, bytes32(0), _root(1), bytes32(uint256(1)), _figures(1), _attestOn(slow, 1));
        vm.startPrank(guardian);
        vm.warp(t0 + 1 days);
        slow.pause();
        vm.warp(t0 + 2 days);
        slow.unpause(); // 1 day stopped
        vm.warp(t0 + 5 days);
        slow.pause(); // expires after 7 days
        vm.warp(t0 + 14 days);
        slow.pause();
        vm.warp(t0 + 15 days);
        slow.unpause(); // 1 day
        vm.stopPrank();
        vm.assertEq(uint256(slow.finalAt(1)), uint256(t0) + 30 days + 1 days + 7 days + 1 days);
    }

    function _attestOn(StateCommitment target, uint64 epoch) internal view returns (bytes[] memory) {
        return attest(target, epoch, _parent(epoch), _root(epoch), bytes32(uint256(epoch)), _figures(epoch));
    }

    /// Finality is forever: whatever the sequence of stops, releases and waits, an epoch once final stays final,
    /// and its `finalAt` never changes again.
    function testFuzz_finality_isForever(uint256 seed) public {
        _commit(1);
        _commit(2);
        uint64 finalAt1;
        uint64 finalAt2;
        for (uint256 i = 0; i < 24; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            vm.warp(block.timestamp + (r % (3 days)));
            if (r % 3 == 0) {
                vm.prank(guardian);
                try sc.pause() {} catch {}
            } else if (r % 3 == 1) {
                vm.prank(admin);
                try sc.unpause() {} catch {}
            }
            if (finalAt1 != 0) vm.assertEq(sc.finalAt(1), finalAt1, "epoch 1 moved after finality");
            if (finalAt2 != 0) vm.assertEq(sc.finalAt(2), finalAt2, "epoch 2 moved after finality");
            if (finalAt1 == 0 && sc.isFinal(1)) finalAt1 = sc.finalAt(1);
            if (finalAt2 == 0 && sc.isFinal(2)) finalAt2 = sc.finalAt(2);
            vm.assertTrue(finalAt1 == 0 || sc.isFinal(1));
            vm.assertTrue(finalAt2 == 0 || sc.isFinal(2));
        }
    }

    /// A later commitment retired by a revocation cannot be replayed verbatim once its parent is committed again
    /// with the same root (it would get a fresh window with the old signatures).
    function test_revoke_retiredLaterCommitmentsCannotBeReplayed() public {
        _commit(1);
        _commit(2);
        bytes[] memory sigs2 = attest(sc, 2, _parent(2), _root(2), bytes32(uint256(2)), _figures(2));
        vm.prank(guardian);
        sc.revoke(1);
        // Epoch 1 again, with the same root but another digest (a correct batch with the same claims).
        IStateCommitment.ReserveFigures memory f = _figures(1);
        sc.commit(
            1,
            bytes32(0),
            _root(1),
            keccak256("fixed"),
            f,
            attest(sc, 1, bytes32(0), _root(1), keccak256("fixed"), f)
        );
        vm.expectRevert(abi.encodeWithSelector(IStateCommitment.StateCommitmentRevoked.selector, 2, _hash(2)));
        sc.commit(2, _parent(2), _root(2), bytes32(uint256(2)), _figures(2), sigs2);
        // A different epoch 2 lands, and from then on the retired one is banned by name.
        sc.commit(
            2,
            _parent(2),
            keccak256("other"),
            bytes32(0),
            _figures(2),
            attest(sc, 2, _parent(2), keccak256("other"), bytes32(0), _figures(2))
        );
        vm.assertTrue(sc.isRevoked(_hash(2)));
    }

    /// Two thirds and one: 4 of 7 (a simple majority) lets one equivocator sign two conflicting commitments, and
    /// is refused; 5 of 7 and 3 of 4 are accepted.
    function test_threshold_isAboveTwoThirds() public {
        address[] memory seven = new address[](7);
        for (uint256 i = 0; i < 7; ++i) {
            seven[i] = address(uint160(0x1000 + i));
        }
        vm.expectRevert(IAttesterQuorum.AttesterSetInvalid.selector);
        new StateCommitment(admin, 0, guardian, WINDOW, seven, 4);
        vm.assertEq(new StateCommitment(admin, 0, guardian, WINDOW, seven, 5).threshold(), 5);
        vm.expectRevert(IAttesterQuorum.AttesterSetInvalid.selector);
        new StateCommitment(admin, 0, guardian, WINDOW, attesterSet(), 2);
        vm.expectRevert(IAttesterQuorum.AttesterSetInvalid.selector);
        new StateCommitment(admin, 0, guardian, WINDOW, attesterSet(), 0);
    }
}
