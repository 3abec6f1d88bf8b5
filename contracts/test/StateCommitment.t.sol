// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {
    IAccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";
import {StateCommitment} from "../StateCommitment.sol";
import {IAttesterQuorum} from "../interfaces/IAttesterQuorum.sol";
import {IBrake} from "../interfaces/IBrake.sol";
import {IStateCommitment} from "../interfaces/IStateCommitment.sol";
import {CommitmentFixture} from "./utils/CommitmentFixture.sol";

contract StateCommitmentTest is CommitmentFixture {
    function test_commit_storesAndEmitsWhatAWatcherChecks() public {
        vm.expectEmit(address(sc));
        emit IStateCommitment.RootCommitted(
            1,
            _root(1),
            _hash(1),
            bytes32(uint256(1)),
            bytes32(0),
            _figures(1),
            uint64(block.timestamp) + WINDOW
        );
        _commit(1);
        vm.assertEq(uint256(sc.latestEpoch()), 1);
        IStateCommitment.Commitment memory c = sc.commitmentOf(1);
        vm.assertEq(c.stateRoot, _root(1));
        vm.assertEq(c.batchDigest, bytes32(uint256(1)));
        vm.assertEq(c.reserve.totalSupply, 100e18);
        vm.assertEq(c.reserve.totalReserve, 90e18);
        vm.assertEq(uint256(c.committedAt), block.timestamp);
        vm.assertEq(sc.commitmentHashOf(1), _hash(1));
        vm.assertEq(
            _hash(1), keccak256(abi.encode(uint64(1), bytes32(0), _root(1), bytes32(uint256(1)), _figures(1)))
        );
    }

    function test_constructor_refusesAZeroWindowOrAZeroAdmin() public {
        vm.expectRevert(IStateCommitment.StateCommitmentZeroWindow.selector);
        new StateCommitment(admin, ADMIN_DELAY, guardian, 0, attesterSet(), THRESHOLD);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControlDefaultAdminRules.AccessControlInvalidDefaultAdmin.selector, address(0)
            )
        );
        new StateCommitment(address(0), ADMIN_DELAY, guardian, WINDOW, attesterSet(), THRESHOLD);
    }

    function test_admin_movesOnlyInTwoDelayedSteps() public {
        bytes32 adminRole = sc.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(IAccessControlDefaultAdminRules.AccessControlEnforcedDefaultAdminRules.selector);
        vm.prank(admin);
        sc.grantRole(adminRole, stranger);
        vm.prank(admin);
        sc.beginDefaultAdminTransfer(stranger);
        vm.expectPartialRevert(
            IAccessControlDefaultAdminRules.AccessControlEnforcedDefaultAdminDelay.selector
        );
        vm.prank(stranger);
        sc.acceptDefaultAdminTransfer();
        vm.warp(block.timestamp + ADMIN_DELAY + 1);
        vm.prank(stranger);
        sc.acceptDefaultAdminTransfer();
        vm.assertEq(sc.defaultAdmin(), stranger);
    }

    function _signed(uint256[] memory keys, bytes32 d) internal pure returns (bytes[] memory sigs) {
        sigs = new bytes[](keys.length);
        for (uint256 i = 0; i < keys.length; ++i) {
            sigs[i] = signWith(keys[i], d);
        }
    }

    function _digest1() internal view returns (bytes32) {
        return typedDigest(sc, 1, bytes32(0), _root(1), bytes32(uint256(1)), _figures(1));
    }

    function _commit1(bytes[] memory sigs) internal {
        sc.commit(1, bytes32(0), _root(1), bytes32(uint256(1)), _figures(1), sigs);
    }

    /// Our reading of the EIP-712 specification and the contract's agree (the Rust attester checks the same).
    function test_attestationDigest_isEip712OfTheFlatCommitment() public view {
        vm.assertEq(
            sc.attestationDigest(1, bytes32(0), _root(1), bytes32(uint256(1)), _figures(1)), _digest1()
        );
        vm.assertEq(sc.threshold(), THRESHOLD);
        vm.assertEq(sc.attesters().length, ATTESTERS);
    }

    /// Anyone may submit a commitment a quorum signed; nobody can without one.
    function test_commit_needsAQuorumOfDistinctKnownAttesters() public {
        uint256[] memory keys = attesterKeys();
        bytes32 d = _digest1();
        // Two of four: below the threshold.
        uint256[] memory two = new uint256[](2);
        (two[0], two[1]) = (keys[0], keys[1]);
        vm.expectRevert(abi.encodeWithSelector(IAttesterQuorum.AttestationBelowThreshold.selector, 2, 3));
        _commit1(_signed(two, d));
        // Three signatures, one repeated: the order check catches the duplicate.
        uint256[] memory dup = new uint256[](3);
        (dup[0], dup[1], dup[2]) = (keys[0], keys[1], keys[1]);
        vm.expectRevert(abi.encodeWithSelector(IAttesterQuorum.AttestationSignersNotAscending.selector, 2));
        _commit1(_signed(dup, d));
        // Out of order.
        uint256[] memory unordered = new uint256[](3);
        (unordered[0], unordered[1], unordered[2]) = (keys[1], keys[0], keys[2]);
        vm.expectRevert(abi.encodeWithSelector(IAttesterQuorum.AttestationSignersNotAscending.selector, 1));
        _commit1(_signed(unordered, d));
        // A stranger's key among them.
        bytes[] memory sigs = _signed(_firstThree(keys), d);
        uint256 outsider = 0xBAD;
        sigs[2] = signWith(outsider, d);
        if (vm.addr(outsider) > vm.addr(keys[1])) {
            vm.expectRevert(
                abi.encodeWithSelector(IAttesterQuorum.AttestationUnknownSigner.selector, vm.addr(outsider))
            );
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(IAttesterQuorum.AttestationSignersNotAscending.selector, 2)
            );
        }
        _commit1(sigs);
        // A stranger submits a quorum's signatures: it lands.
        vm.prank(stranger);
        _commit1(_signed(_firstThree(keys), d));
        vm.assertEq(sc.latestEpoch(), 1);
    }

    function _firstThree(uint256[] memory keys) internal pure returns (uint256[] memory three) {
        three = new uint256[](3);
        (three[0], three[1], three[2]) = (keys[0], keys[1], keys[2]);
    }

    /// A quorum's signatures over other figures, another domain (chain or contract), or a malleable twin of a
    /// valid signature do not commit this one.
    function test_commit_refusesSignaturesOverAnythingElse() public {
        uint256[] memory keys = _firstThree(attesterKeys());
        // Different figures: the signers recover to other addresses, not attesters (or out of order).
        IStateCommitment.ReserveFigures memory other = _figures(1);
        other.totalReserve += 1;
        bytes[] memory wrongFigures =
            _signed(keys, typedDigest(sc, 1, bytes32(0), _root(1), bytes32(uint256(1)), other));
        vm.expectPartialRevert(IAttesterQuorum.AttestationUnknownSigner.selector);
        _commit1(wrongFigures);
        // Another chain's domain.
        uint256 home = block.chainid;
        vm.chainId(home + 1);
        bytes[] memory otherChain = _signed(keys, _digest1());
        vm.chainId(home);
        vm.expectRevert();
        _commit1(otherChain);
        // A malleable twin (s → n − s, v flipped) of the first signature: OpenZeppelin's ECDSA refuses it.
        bytes[] memory sigs = _signed(keys, _digest1());
        (bytes32 r, bytes32 sHigh, uint8 v) = _twin(sigs[0]);
        sigs[0] = abi.encodePacked(r, sHigh, v);
        vm.expectRevert(abi.encodeWithSelector(IAttesterQuorum.AttestationSignatureInvalid.selector, 0));
        _commit1(sigs);
    }

    function _twin(bytes memory sig) internal pure returns (bytes32 r, bytes32 s, uint8 v) {
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        s = bytes32(n - uint256(s));
        v = v == 27 ? 28 : 27;
    }

    /// The attester set rotates only through the admin and after the admin delay.
    function test_attesters_rotateOnlyAfterTheAdminDelay() public {
        address[] memory next = new address[](3);
        uint256[] memory keys = attesterKeys();
        (next[0], next[1], next[2]) = (vm.addr(keys[0]), vm.addr(keys[1]), vm.addr(keys[2]));
        vm.expectRevert();
        vm.prank(stranger);
        sc.scheduleAttesters(next, 3);
        // Not above two thirds, or unordered: refused.
        vm.startPrank(admin);
        vm.expectRevert(IAttesterQuorum.AttesterSetInvalid.selector);
        sc.scheduleAttesters(next, 2);
        address[] memory unordered = new address[](3);
        (unordered[0], unordered[1], unordered[2]) = (next[1], next[0], next[2]);
        vm.expectRevert(IAttesterQuorum.AttesterSetInvalid.selector);
        sc.scheduleAttesters(unordered, 3);
        uint64 due = uint64(block.timestamp) + ADMIN_DELAY;
        vm.expectEmit(address(sc));
        emit IStateCommitment.AttestersScheduled(next, 3, due);
        sc.scheduleAttesters(next, 3);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IStateCommitment.StateCommitmentNoAttestersDue.selector, due));
        sc.applyAttesters();
        vm.warp(due);
        vm.expectEmit(address(sc));
        emit IStateCommitment.AttestersChanged(next, 3);
        sc.applyAttesters();
        vm.assertEq(sc.threshold(), 3);
        vm.assertEq(sc.attesters().length, 3);
        // The new three commit; the fourth old attester no longer counts.
        uint256[] memory three = new uint256[](3);
        (three[0], three[1], three[2]) = (keys[0], keys[1], keys[2]);
        _commit1(_signed(three, _digest1()));
        vm.assertEq(sc.latestEpoch(), 1);
    }

    function test_commit_revertsOnGapReplayAndWrongParent() public {
        _commit(1);
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentEpochOutOfOrder.selector, 2, 3)
        );
        sc.commit(
            3,
            _root(2),
            _root(3),
            bytes32(0),
            _figures(3),
            attest(sc, 3, _root(2), _root(3), bytes32(0), _figures(3))
        );
        _commit(2);
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentEpochOutOfOrder.selector, 3, 2)
        );
        sc.commit(
            2,
            _root(1),
            _root(2),
            bytes32(0),
            _figures(2),
            attest(sc, 2, _root(1), _root(2), bytes32(0), _figures(2))
        );
        bytes32 wrong = keccak256("wrong");
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentParentMismatch.selector, _root(2), wrong)
        );
        sc.commit(
            3,
            wrong,
            _root(3),
            bytes32(0),
            _figures(3),
            attest(sc, 3, wrong, _root(3), bytes32(0), _figures(3))
        );
    }

    function test_commit_timestampsIncreaseAndNeverComeFromTheFuture() public {
        _commit(1);
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentTimestampNotIncreasing.selector, 1, 1)
        );
        sc.commit(
            2,
            _root(1),
            _root(2),
            bytes32(0),
            _figures(1),
            attest(sc, 2, _root(1), _root(2), bytes32(0), _figures(1))
        );
        uint64 future = uint64(block.timestamp) + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                IStateCommitment.StateCommitmentTimestampInFuture.selector, uint64(block.timestamp), future
            )
        );
        sc.commit(
            2,
            _root(1),
            _root(2),
            bytes32(0),
            _figures(future),
            attest(sc, 2, _root(1), _root(2), bytes32(0), _figures(future))
        );
    }

    function test_commit_figuresAreBoundedSoThePammCannotFail() public {
        uint256 max = sc.MAX_FIGURE();
        IStateCommitment.ReserveFigures memory f = _figures(1);
        f.totalSupply = max;
        f.flowPressure = max;
        f.totalReserve = max;
        sc.commit(1, bytes32(0), _root(1), bytes32(0), f, attest(sc, 1, bytes32(0), _root(1), bytes32(0), f));
        f = _figures(2);
        f.flowPressure = max + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IStateCommitment.StateCommitmentFigureTooLarge.selector, max + 1, max)
        );
        sc.commit(2, _root(1), _root(2), bytes32(0), f, attest(sc, 2, _root(1), _root(2), bytes32(0), f));
    }

    function test_commit_revertsWhenPaused() public {
        vm.prank(guardian);
        sc.pause();
        vm.expectPartialRevert(IBrake.BrakeEngaged.selector);
        sc.commit(
            1,
            bytes32(0),
            _root(1),
            bytes32(0),
            _figures(1),
            attest(sc, 1, bytes32(0), _root(1), bytes32(0), _figures(1))
        );
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

    /// Pausing stops the clock: nothing becomes final while paused, and open windows grow by the paused time.
    function test_pause_stopsTheChallengeClock() public {
        uint64 committed = uint64(block.timestamp);
        _commit(1);
        vm.warp(committed + WINDOW - 10);
        vm.prank(guardian);
        sc.pause();
        vm.assertEq(uint256(sc.finalAt(1)), type(uint64).max);
        vm.warp(committed + WINDOW + 1 days);
        vm.assertFalse(sc.isFinal(1), "final while paused");
        // Still revocable: its window has not run out on the stopped clock.
        vm.prank(admin);
        sc.unpause();
        vm.assertEq(uint256(sc.finalAt(1)), committed + WINDOW + 1 days + 10);
        vm.assertFalse(sc.isFinal(1));
        vm.warp(committed + WINDOW + 1 days + 10);
        vm.assertTrue(sc.isFinal(1));
        // A root committed after the pause gets no extension.
        _commit(2);
        vm.assertEq(uint256(sc.finalAt(2)), block.timestamp + WINDOW);
    }

    function test_revoke_removesEpochAndLaterOnesAndAnotherCommitmentLands() public {
        _commit(1);
        vm.warp(block.timestamp + WINDOW); // epoch 1 is final
        _commit(2);
        _commit(3);
        vm.expectEmit(address(sc));
        emit IStateCommitment.CommitmentRevoked(2, _hash(2), 3, guardian);
        vm.prank(guardian);
        sc.revoke(2);
        vm.assertEq(uint256(sc.latestEpoch()), 1);
        vm.assertTrue(sc.isRevoked(_hash(2)));
        vm.assertFalse(sc.isRevoked(_hash(3)), "only the named commitment is banned");
        vm.expectRevert(abi.encodeWithSelector(IStateCommitment.StateCommitmentUnknownEpoch.selector, 2));
        sc.commitmentOf(2);
        // A different commitment for epoch 2 is accepted, linked to epoch 1, and epoch 3 follows it.
        sc.commit(
            2,
            _root(1),
            keccak256("corrected"),
            bytes32(0),
            _figures(2),
            attest(sc, 2, _root(1), keccak256("corrected"), bytes32(0), _figures(2))
        );
        sc.commit(
            3,
            keccak256("corrected"),
            _root(3),
            bytes32(0),
            _figures(3),
            attest(sc, 3, keccak256("corrected"), _root(3), bytes32(0), _figures(3))
        );
        vm.assertEq(uint256(sc.latestEpoch()), 3);
    }

    /// The finding: an empty epoch's root is 0, so banning (epoch, root) banned the honest commitment too. Only the
    /// revoked commitment (figures included) is banned now; the same root with the right figures lands.
    function test_revoke_ofWrongFiguresLeavesTheSameRootWithRightFiguresCommittable() public {
        IStateCommitment.ReserveFigures memory wrong = _figures(1);
        wrong.totalReserve = 1;
        sc.commit(
            1,
            bytes32(0),
            bytes32(0),
            bytes32(uint256(1)),
            wrong,
            attest(sc, 1, bytes32(0), bytes32(0), bytes32(uint256(1)), wrong)
        );
        vm.prank(guardian);
        sc.revoke(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStateCommitment.StateCommitmentRevoked.selector,
                1,
                sc.hashCommitment(1, bytes32(0), bytes32(0), bytes32(uint256(1)), wrong)
            )
        );
        sc.commit(
            1,
            bytes32(0),
            bytes32(0),
            bytes32(uint256(1)),
            wrong,
            attest(sc, 1, bytes32(0), bytes32(0), bytes32(uint256(1)), wrong)
        );
        sc.commit(
            1,
            bytes32(0),
            bytes32(0),
            bytes32(uint256(1)),
            _figures(1),
            attest(sc, 1, bytes32(0), bytes32(0), bytes32(uint256(1)), _figures(1))
        );
        vm.assertEq(uint256(sc.latestEpoch()), 1);
    }

    /// Revoking costs the same whether one epoch or 10,000 follow the revoked one.
    function test_revoke_isConstantGasAtTenThousandEpochs() public {
        sc.commit(
            1,
            bytes32(0),
            keccak256("first"),
            bytes32(0),
            _figures(1),
            attest(sc, 1, bytes32(0), keccak256("first"), bytes32(0), _figures(1))
        );
        uint256 start = gasleft();
        vm.prank(guardian);
        sc.revoke(1);
        uint256 one = start - gasleft();
        for (uint64 e = 1; e <= 10_000; ++e) {
            _commit(e);
        }
        start = gasleft();
        vm.prank(guardian);
        sc.revoke(1);
        uint256 many = start - gasleft();
        vm.assertLe(many, one + 5_000, "revoke grows with the epochs after it");
        vm.assertEq(uint256(sc.latestEpoch()), 0);
        // And the chain advances past the revoked epoch at once.
        sc.commit(
            1,
            bytes32(0),
            keccak256("corrected"),
            bytes32(0),
            _figures(1),
            attest(sc, 1, bytes32(0), keccak256("corrected"), bytes32(0), _figures(1))
        );
        vm.assertEq(uint256(sc.latestEpoch()), 1);
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
        sc.commit(
            epoch,
            _root(1),
            _root(epoch),
            bytes32(0),
            _figures(2),
            attest(sc, epoch, _root(1), _root(epoch), bytes32(0), _figures(2))
        );
    }
}
