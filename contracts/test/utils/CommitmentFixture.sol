// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StateCommitment} from "../../StateCommitment.sol";
import {IStateCommitment} from "../../interfaces/IStateCommitment.sol";
import {Attesters} from "./Attesters.sol";

/// @notice A StateCommitment with a guardian and a two-day admin delay, and epochs whose roots, parents, digests
///         and figures follow from their number.
abstract contract CommitmentFixture is Attesters {
    uint64 internal constant WINDOW = 1 hours;
    uint48 internal constant ADMIN_DELAY = 2 days;
    address internal admin = vm.addr(1);
    address internal relayer = vm.addr(2);
    address internal guardian = vm.addr(3);
    address internal stranger = vm.addr(4);
    StateCommitment internal sc;

    function setUp() public {
        vm.warp(1_000_000);
        sc = new StateCommitment(admin, ADMIN_DELAY, guardian, WINDOW, attesterSet(), THRESHOLD);
    }

    /// @dev Figures of `epoch`: its batch timestamp is the epoch itself (increasing, never in the future).
    function _figures(uint64 epoch) internal pure returns (IStateCommitment.ReserveFigures memory) {
        return IStateCommitment.ReserveFigures(100e18, 90e18, 1e17, epoch);
    }

    function _root(uint64 epoch) internal pure returns (bytes32) {
        return keccak256(abi.encode("root", epoch));
    }

    function _parent(uint64 epoch) internal pure returns (bytes32) {
        return epoch == 1 ? bytes32(0) : _root(epoch - 1);
    }

    function _commit(uint64 epoch) internal {
        sc.commit(
            epoch,
            _parent(epoch),
            _root(epoch),
            bytes32(uint256(epoch)),
            _figures(epoch),
            attest(sc, epoch, _parent(epoch), _root(epoch), bytes32(uint256(epoch)), _figures(epoch))
        );
    }

    function _hash(uint64 epoch) internal view returns (bytes32) {
        return
            sc.hashCommitment(epoch, _parent(epoch), _root(epoch), bytes32(uint256(epoch)), _figures(epoch));
    }
}
