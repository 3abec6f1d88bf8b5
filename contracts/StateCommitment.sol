// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {DelayedRoles} from "./access/DelayedRoles.sol";
import {IBrake} from "./interfaces/IBrake.sol";
import {IStateCommitment} from "./interfaces/IStateCommitment.sol";
import {AttesterQuorum} from "./libraries/AttesterQuorum.sol";
import {Brake} from "./libraries/Brake.sol";

/// @title StateCommitment
/// @notice Sequential, parent-linked state roots of the off-chain network, one per epoch (L2OutputOracle's shape),
///         each vouched for by a quorum of the validators' attesters (EIP-712 signatures, Hyperlane's multisig ISM
///         shape): no single key commits a root. A guardian can revoke a commitment (and every later one) while it is inside its challenge window, in
///         constant gas; the epoch stays open for a different commitment. Pausing stops commits and the challenge
///         clock of every window still open, for at most `MAX_STOP`; what was final when the clock stopped stays
///         final, at the same time. The admin role moves in two delayed steps, and every grant waits the same
///         delay.
contract StateCommitment is IStateCommitment, IBrake, DelayedRoles, EIP712 {
    using AttesterQuorum for AttesterQuorum.Set;
    using Brake for Brake.Stop;

    /// @notice May revoke commitments inside their window, and pause.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @inheritdoc IStateCommitment
    uint256 public constant MAX_FIGURE = 1e30;
    /// @dev The EIP-712 type attesters sign (flat, so an attester in any language encodes it without nesting).
    bytes32 private constant COMMITMENT_TYPEHASH = keccak256(
        "Commitment(uint64 epoch,bytes32 parentRoot,bytes32 stateRoot,bytes32 batchDigest,uint256 totalSupply,"
        "uint256 totalReserve,uint256 flowPressure,uint64 timestamp)"
    );

    uint64 private immutable _challengeWindow;
    uint64 private _latestEpoch;
    /// @dev Every stop of the clock, in order. Stops are at least `STOP_COOLDOWN` apart, so a window of W seconds
    ///      sees at most W / STOP_COOLDOWN + 1 of them: `_finalAt` walks only those.
    Brake.Stop[] private _stops;
    /// @dev Only epochs up to `_latestEpoch` are live: a revocation lowers it, and the next commit of an epoch
    ///      overwrites what a revoked one left (banning it), so revoking needs no loop.
    mapping(uint64 epoch => Commitment) private _commitments;
    /// @dev How many stops had happened when each epoch was committed: its window sees the stops from there on.
    mapping(uint64 epoch => uint64) private _stopsAtCommit;
    mapping(bytes32 commitmentHash => bool) private _revoked;
    AttesterQuorum.Set private _attesters;
    /// @dev A scheduled attester set (`_pendingAt` 0 when none).
    address[] private _pendingAttesters;
    uint256 private _pendingThreshold;
    uint64 private _pendingAt;

    /// @param admin Holds the admin role (schedules grants, unpauses); moved only by a two-step transfer.
    /// @param adminDelay Seconds an admin transfer, a role grant or an attester set waits.
    /// @param guardian Holds the guardian role from the start (the zero address: nobody yet).
    /// @param challengeWindowSeconds How long a commitment stays revocable (on a running clock); at least 1.
    /// @param initialAttesters The attesters, strictly ascending.
    /// @param initialThreshold Signatures a commitment needs: more than two thirds of them, at most all.
    constructor(
        address admin,
        uint48 adminDelay,
        address guardian,
        uint64 challengeWindowSeconds,
        address[] memory initialAttesters,
        uint256 initialThreshold
    ) DelayedRoles(adminDelay, admin) EIP712("myco-bridge StateCommitment", "1") {
        if (challengeWindowSeconds == 0) revert StateCommitmentZeroWindow();
        if (guardian != address(0)) _grantRole(GUARDIAN_ROLE, guardian);
        _challengeWindow = challengeWindowSeconds;
        _attesters.replace(initialAttesters, initialThreshold);
        emit AttestersChanged(initialAttesters, initialThreshold);
    }

    /// @inheritdoc IStateCommitment
    function commit(
        uint64 epoch,
        bytes32 parentRoot,
        bytes32 stateRoot,
        bytes32 batchDigest,
        ReserveFigures calldata reserve,
        bytes[] calldata signatures
    ) external {
        _lastStop().requireOff();
        uint64 expected = _latestEpoch + 1;
        if (epoch != expected) revert StateCommitmentEpochOutOfOrder(expected, epoch);
        Commitment storage previous = _commitments[epoch - 1];
        bytes32 storedParent = epoch == 1 ? bytes32(0) : previous.stateRoot;
        if (parentRoot != storedParent) revert StateCommitmentParentMismatch(storedParent, parentRoot);
        _checkFigures(reserve, epoch == 1 ? 0 : previous.reserve.timestamp);
        bytes32 hash = _hash(epoch, parentRoot, stateRoot, batchDigest, reserve);
        if (_revoked[hash]) revert StateCommitmentRevoked(epoch, hash);
        _retireLeftover(epoch, hash);
        _attesters.verify(_digest(epoch, parentRoot, stateRoot, batchDigest, reserve), signatures);

        _commitments[epoch] = Commitment({
            stateRoot: stateRoot,
            parentRoot: parentRoot,
            batchDigest: batchDigest,
            reserve: reserve,
            committedAt: uint64(block.timestamp)
        });
        _stopsAtCommit[epoch] = uint64(_stops.length);
        _latestEpoch = epoch;
        emit RootCommitted(
            epoch,
            stateRoot,
            hash,
            batchDigest,
            parentRoot,
            reserve,
            uint64(block.timestamp) + _challengeWindow
        );
    }

    /// @inheritdoc IStateCommitment
    function revoke(uint64 epoch) external onlyRole(GUARDIAN_ROLE) {
        uint64 latest = _latestEpoch;
        if (epoch == 0 || epoch > latest) revert StateCommitmentUnknownEpoch(epoch);
        uint64 finalAtTime = _finalAt(epoch);
        if (block.timestamp >= finalAtTime) revert StateCommitmentAlreadyFinal(epoch, finalAtTime);
        // Later epochs were committed later, so they are inside their windows too; lowering the latest epoch
        // retires them all at once.
        bytes32 hash = _storedHash(epoch);
        _revoked[hash] = true;
        _latestEpoch = epoch - 1;
        emit CommitmentRevoked(epoch, hash, latest, msg.sender);
    }

    /// @inheritdoc IStateCommitment
    function scheduleAttesters(address[] calldata newAttesters, uint256 newThreshold)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        AttesterQuorum.validate(newAttesters, newThreshold);
        uint64 effectiveAt = uint64(block.timestamp) + uint64(defaultAdminDelay());
        (_pendingAttesters, _pendingThreshold, _pendingAt) = (newAttesters, newThreshold, effectiveAt);
        emit AttestersScheduled(newAttesters, newThreshold, effectiveAt);
    }

    /// @inheritdoc IStateCommitment
    function applyAttesters() external {
        uint64 at = _pendingAt;
        if (at == 0 || block.timestamp < at) revert StateCommitmentNoAttestersDue(at);
        delete _pendingAt;
        _attesters.replace(_pendingAttesters, _pendingThreshold);
        emit AttestersChanged(_pendingAttesters, _pendingThreshold);
    }

    /// @inheritdoc IStateCommitment
    function attesters() external view returns (address[] memory) {
        return _attesters.members;
    }

    /// @inheritdoc IStateCommitment
    function threshold() external view returns (uint256) {
        return _attesters.threshold;
    }

    /// @inheritdoc IStateCommitment
    function attestationDigest(
        uint64 epoch,
        bytes32 parentRoot,
        bytes32 stateRoot,
        bytes32 batchDigest,
        ReserveFigures calldata reserve
    ) external view returns (bytes32) {
        return _digest(epoch, parentRoot, stateRoot, batchDigest, reserve);
    }

    /// @inheritdoc IStateCommitment
    function pause() external onlyRole(GUARDIAN_ROLE) {
        Brake.Stop memory stop = _lastStop().next();
        _stops.push(stop);
        emit ClockStopped(stop.start, stop.until);
    }

    /// @inheritdoc IStateCommitment
    function unpause() external {
        // The guardian brakes and releases (OptimismPortal's guardian does both); the admin can release too.
        if (!hasRole(GUARDIAN_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, GUARDIAN_ROLE);
        }
        uint256 n = _stops.length;
        if (n == 0) revert BrakeNotEngaged();
        Brake.Stop storage stop = _stops[n - 1];
        stop.release();
        emit ClockResumed(uint64(block.timestamp), stop.until - stop.start);
    }

    /// @inheritdoc IStateCommitment
    function paused() external view returns (bool) {
        return _lastStop().engaged();
    }

    /// @inheritdoc IStateCommitment
    function stopCount() external view returns (uint256) {
        return _stops.length;
    }

    /// @inheritdoc IStateCommitment
    function stopAt(uint256 index) external view returns (uint64 start, uint64 until) {
        Brake.Stop memory s = _stops[index];
        return (s.start, s.until);
    }

    /// @inheritdoc IBrake
    function MAX_STOP() external pure returns (uint64) {
        return Brake.MAX_STOP;
    }

    /// @inheritdoc IBrake
    function STOP_COOLDOWN() external pure returns (uint64) {
        return Brake.STOP_COOLDOWN;
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
        _requireLive(epoch);
        return _commitments[epoch];
    }

    /// @inheritdoc IStateCommitment
    function liveCommitment(uint64 epoch)
        external
        view
        returns (Commitment memory commitment, bytes32 commitmentHash, uint64 finalAtTime)
    {
        _requireLive(epoch);
        commitment = _commitments[epoch];
        commitmentHash = _hash(
            epoch, commitment.parentRoot, commitment.stateRoot, commitment.batchDigest, commitment.reserve
        );
        finalAtTime = _finalAt(epoch);
    }

    /// @inheritdoc IStateCommitment
    function commitmentHashOf(uint64 epoch) external view returns (bytes32) {
        _requireLive(epoch);
        return _storedHash(epoch);
    }

    /// @inheritdoc IStateCommitment
    function finalAt(uint64 epoch) external view returns (uint64) {
        _requireLive(epoch);
        return _finalAt(epoch);
    }

    /// @inheritdoc IStateCommitment
    function isFinal(uint64 epoch) public view returns (bool) {
        return epoch != 0 && epoch <= _latestEpoch && block.timestamp >= _finalAt(epoch);
    }

    /// @inheritdoc IStateCommitment
    function finalRoot(uint64 epoch) external view returns (bytes32) {
        _requireLive(epoch);
        uint64 at = _finalAt(epoch);
        if (block.timestamp < at) revert StateCommitmentNotFinal(epoch, at);
        return _commitments[epoch].stateRoot;
    }

    /// @inheritdoc IStateCommitment
    function isRevoked(bytes32 commitmentHash) external view returns (bool) {
        return _revoked[commitmentHash];
    }

    /// @inheritdoc IStateCommitment
    function hashCommitment(
        uint64 epoch,
        bytes32 parentRoot,
        bytes32 stateRoot,
        bytes32 batchDigest,
        ReserveFigures calldata reserve
    ) external pure returns (bytes32) {
        return _hash(epoch, parentRoot, stateRoot, batchDigest, reserve);
    }

    function _requireLive(uint64 epoch) private view {
        if (epoch == 0 || epoch > _latestEpoch) revert StateCommitmentUnknownEpoch(epoch);
    }

    /// @dev Figures within `MAX_FIGURE`; the batch time after the previous epoch's and not after the block's.
    function _checkFigures(ReserveFigures calldata r, uint64 previousTimestamp) private view {
        if (r.timestamp <= previousTimestamp) {
            revert StateCommitmentTimestampNotIncreasing(previousTimestamp, r.timestamp);
        }
        if (r.timestamp > block.timestamp) {
            revert StateCommitmentTimestampInFuture(uint64(block.timestamp), r.timestamp);
        }
        uint256 largest = r.totalSupply;
        if (r.totalReserve > largest) largest = r.totalReserve;
        if (r.flowPressure > largest) largest = r.flowPressure;
        if (largest > MAX_FIGURE) revert StateCommitmentFigureTooLarge(largest, MAX_FIGURE);
    }

    /// @dev The window runs on the unstopped clock: each stop that began before the epoch was final pushes its
    ///      finality back by the stop's length, and while such a stop is still on, nothing is known (`max`). A stop
    ///      that began once the epoch was final changes nothing: finality is forever, at the time it was reached.
    function _finalAt(uint64 epoch) private view returns (uint64) {
        uint256 at = uint256(_commitments[epoch].committedAt) + _challengeWindow;
        uint256 n = _stops.length;
        for (uint256 i = _stopsAtCommit[epoch]; i < n; ++i) {
            Brake.Stop memory stop = _stops[i];
            if (stop.start >= at) break;
            if (stop.engaged()) return type(uint64).max;
            at += stop.until - stop.start;
        }
        return at > type(uint64).max ? type(uint64).max : uint64(at);
    }

    /// @dev The last stop of the clock (all zero when it never stopped).
    function _lastStop() private view returns (Brake.Stop memory last) {
        uint256 n = _stops.length;
        if (n != 0) last = _stops[n - 1];
    }

    /// @dev A revocation lowers the latest epoch and leaves the retired commitments' slots as they were. Before
    ///      a slot is written again, what it held is banned: a retired later commitment could otherwise be
    ///      replayed verbatim, signatures and all, once its parent is committed again with the same root.
    function _retireLeftover(uint64 epoch, bytes32 hash) private {
        if (_commitments[epoch].committedAt == 0) return;
        bytes32 leftover = _storedHash(epoch);
        if (leftover == hash) revert StateCommitmentRevoked(epoch, hash);
        _revoked[leftover] = true;
    }

    function _digest(
        uint64 epoch,
        bytes32 parentRoot,
        bytes32 stateRoot,
        bytes32 batchDigest,
        ReserveFigures calldata r
    ) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    COMMITMENT_TYPEHASH,
                    epoch,
                    parentRoot,
                    stateRoot,
                    batchDigest,
                    r.totalSupply,
                    r.totalReserve,
                    r.flowPressure,
                    r.timestamp
                )
            )
        );
    }

    function _storedHash(uint64 epoch) private view returns (bytes32) {
        Commitment storage c = _commitments[epoch];
        return _hash(epoch, c.parentRoot, c.stateRoot, c.batchDigest, c.reserve);
    }

    function _hash(
        uint64 epoch,
        bytes32 parentRoot,
        bytes32 stateRoot,
        bytes32 batchDigest,
        ReserveFigures memory r
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(epoch, parentRoot, stateRoot, batchDigest, r));
    }
}
