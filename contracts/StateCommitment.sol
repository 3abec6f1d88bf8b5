// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IStateCommitment} from "./interfaces/IStateCommitment.sol";

/// @title StateCommitment
/// @notice Sequential, parent-linked state roots of the off-chain network, one per epoch. A guardian can revoke a
///         commitment (and every later one) while it is inside its challenge window; after it, it is final.
contract StateCommitment is IStateCommitment, AccessControl, Pausable {
    /// @notice May commit roots.
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");
    /// @notice May revoke commitments inside their window, and pause.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    uint64 private immutable _challengeWindow;
    uint64 private _latestEpoch;
    mapping(uint64 epoch => Commitment) private _commitments;
    /// @dev keccak256(epoch, root) of every revoked commitment, so a revoked root cannot simply come back.
    mapping(bytes32 => bool) private _revoked;

    /// @param admin Holds the admin role (grants roles, unpauses).
    /// @param challengeWindowSeconds How long a commitment stays revocable.
    constructor(address admin, uint64 challengeWindowSeconds) {
        _challengeWindow = challengeWindowSeconds;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IStateCommitment
    function commit(
        uint64 epoch,
        bytes32 parentRoot,
        bytes32 stateRoot,
        bytes32 batchDigest,
        ReserveFigures calldata reserve
    ) external onlyRole(RELAYER_ROLE) whenNotPaused {
        uint64 expected = _latestEpoch + 1;
        if (epoch != expected) revert StateCommitmentEpochOutOfOrder(expected, epoch);
        bytes32 storedParent = epoch == 1 ? bytes32(0) : _commitments[epoch - 1].stateRoot;
        if (parentRoot != storedParent) revert StateCommitmentParentMismatch(storedParent, parentRoot);
        if (_revoked[_revocationKey(epoch, stateRoot)]) revert StateCommitmentRootRevoked(epoch, stateRoot);

        _commitments[epoch] = Commitment({
            stateRoot: stateRoot,
            parentRoot: parentRoot,
            batchDigest: batchDigest,
            reserve: reserve,
            committedAt: uint64(block.timestamp)
        });
        _latestEpoch = epoch;
        emit RootCommitted(epoch, stateRoot, batchDigest, parentRoot);
    }

    /// @inheritdoc IStateCommitment
    function revoke(uint64 epoch) external onlyRole(GUARDIAN_ROLE) {
        uint64 latest = _latestEpoch;
        if (epoch == 0 || epoch > latest) revert StateCommitmentUnknownEpoch(epoch);
        uint64 finalAt = _finalAt(_commitments[epoch]);
        if (block.timestamp >= finalAt) revert StateCommitmentAlreadyFinal(epoch, finalAt);

        // Later epochs were committed later, so they are inside their windows too; the loop is bounded by how many
        // epochs fit in one challenge window.
        for (uint64 e = epoch; e <= latest; ++e) {
            _revoked[_revocationKey(e, _commitments[e].stateRoot)] = true;
            delete _commitments[e];
        }
        _latestEpoch = epoch - 1;
        emit CommitmentsRevoked(epoch, latest, msg.sender);
    }

    /// @inheritdoc IStateCommitment
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @inheritdoc IStateCommitment
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @inheritdoc IStateCommitment
    function latestEpoch() external view returns (uint64) {
        return _latestEpoch;
    }

    /// @inheritdoc IStateCommitment
    function challengeWindow() external view returns (uint64) {
        return _challengeWindow;
    }

    /// @inheritdoc IStateCommitment
    function commitmentOf(uint64 epoch) external view returns (Commitment memory) {
        if (epoch == 0 || epoch > _latestEpoch) revert StateCommitmentUnknownEpoch(epoch);
        return _commitments[epoch];
    }

    /// @inheritdoc IStateCommitment
    function isFinal(uint64 epoch) public view returns (bool) {
        return epoch != 0 && epoch <= _latestEpoch && block.timestamp >= _finalAt(_commitments[epoch]);
    }

    /// @inheritdoc IStateCommitment
    function finalRoot(uint64 epoch) external view returns (bytes32) {
        if (epoch == 0 || epoch > _latestEpoch) revert StateCommitmentUnknownEpoch(epoch);
        Commitment storage c = _commitments[epoch];
        uint64 finalAt = _finalAt(c);
        if (block.timestamp < finalAt) revert StateCommitmentNotFinal(epoch, finalAt);
        return c.stateRoot;
    }

    function _finalAt(Commitment storage c) private view returns (uint64) {
        return c.committedAt + _challengeWindow;
    }

    function _revocationKey(uint64 epoch, bytes32 root) private pure returns (bytes32) {
        return keccak256(abi.encode(epoch, root));
    }
}
