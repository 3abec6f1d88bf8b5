// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IStateCommitment
/// @notice One certified state root per epoch of the off-chain payment network, committed in order by anyone
///         holding signatures of a quorum of the validators' attesters over it (EIP-712), and final once its
///         challenge window has passed on an unpaused clock. A guardian can revoke a commitment
///         inside its window: that exact commitment (and every later one) goes, the epoch stays open for a
///         different, correct one.
interface IStateCommitment {
    /// @notice Reserve figures that a state root attests, as read from the certified batch.
    /// @param totalSupply MYCO outstanding off-chain (18 decimals).
    /// @param totalReserve Reserve value in USD (WAD, 1e18 = 1 USD).
    /// @param flowPressure Aggregate outflow pressure of the epoch (WAD).
    /// @param timestamp The batch's own timestamp (seconds), as certified by the validators.
    struct ReserveFigures {
        uint256 totalSupply;
        uint256 totalReserve;
        uint256 flowPressure;
        uint64 timestamp;
    }

    /// @notice A stored commitment.
    /// @param stateRoot Merkle root over the epoch's withdrawal claims (bytes32(0) when there are none).
    /// @param parentRoot The previous epoch's state root (bytes32(0) for epoch 1).
    /// @param batchDigest Digest of the certified batch the root was computed from.
    /// @param reserve The reserve figures the root attests.
    /// @param committedAt Block timestamp of the commit; the challenge window runs from here.
    struct Commitment {
        bytes32 stateRoot;
        bytes32 parentRoot;
        bytes32 batchDigest;
        ReserveFigures reserve;
        uint64 committedAt;
    }

    /// @notice A root was committed for `epoch`, with everything a watcher checks it against.
    /// @param epoch The epoch committed.
    /// @param stateRoot Its state root.
    /// @param commitmentHash `hashCommitment` of the whole commitment (what a revocation names).
    /// @param batchDigest The certified batch's digest.
    /// @param parentRoot The previous epoch's root it links to.
    /// @param reserve The reserve figures it attests.
    /// @param finalAt When it becomes final if the clock is not paused meanwhile.
    event RootCommitted(
        uint64 indexed epoch,
        bytes32 indexed stateRoot,
        bytes32 commitmentHash,
        bytes32 batchDigest,
        bytes32 parentRoot,
        ReserveFigures reserve,
        uint64 finalAt
    );

    /// @notice The commitment of `epoch` (and every later one, up to `previousLatest`) was revoked; `epoch` is open
    ///         again for a different commitment.
    /// @param epoch The epoch whose commitment was revoked.
    /// @param commitmentHash The revoked commitment, which may never be committed again.
    /// @param previousLatest The latest epoch before the revocation.
    /// @param guardian Who revoked it.
    event CommitmentRevoked(
        uint64 indexed epoch, bytes32 indexed commitmentHash, uint64 previousLatest, address indexed guardian
    );

    /// @notice A new attester set was scheduled; anyone can apply it from `effectiveAt`.
    /// @param attesters The attesters, ascending.
    /// @param threshold Signatures a commitment will need.
    /// @param effectiveAt When it may be applied.
    event AttestersScheduled(address[] attesters, uint256 threshold, uint64 effectiveAt);

    /// @notice The attester set in force changed.
    /// @param attesters The attesters, ascending.
    /// @param threshold Signatures a commitment needs.
    event AttestersChanged(address[] attesters, uint256 threshold);

    /// @notice The challenge clock stopped: no root not final yet becomes final while it is stopped; roots final
    ///         before stay final.
    /// @param at When.
    /// @param until When it runs again by itself, unless resumed before (`at + MAX_STOP`).
    event ClockStopped(uint64 at, uint64 until);

    /// @notice The challenge clock runs again before its stop expired; every window that was open when it stopped
    ///         was extended by `stoppedFor`.
    /// @param at When.
    /// @param stoppedFor Seconds the clock was stopped.
    event ClockResumed(uint64 at, uint64 stoppedFor);

    /// @notice The epoch committed is not the next one.
    /// @param expected The next epoch the contract accepts.
    /// @param got The epoch that was submitted.
    error StateCommitmentEpochOutOfOrder(uint64 expected, uint64 got);

    /// @notice The submitted parent root is not the root stored for the previous epoch.
    /// @param expected The previous epoch's stored root.
    /// @param got The parent root that was submitted.
    error StateCommitmentParentMismatch(bytes32 expected, bytes32 got);

    /// @notice This exact commitment was revoked by a guardian and may not be committed again.
    /// @param epoch The epoch.
    /// @param commitmentHash The revoked commitment.
    error StateCommitmentRevoked(uint64 epoch, bytes32 commitmentHash);

    /// @notice No commitment is stored for `epoch`.
    /// @param epoch The epoch asked for.
    error StateCommitmentUnknownEpoch(uint64 epoch);

    /// @notice The commitment for `epoch` is final and can no longer be revoked.
    /// @param epoch The epoch.
    /// @param finalSince Timestamp from which it was final.
    error StateCommitmentAlreadyFinal(uint64 epoch, uint64 finalSince);

    /// @notice The commitment for `epoch` is not final yet (`finalAt` is `type(uint64).max` while the clock is
    ///         stopped and the epoch was not final when it stopped).
    /// @param epoch The epoch.
    /// @param finalAt Timestamp at which it becomes final.
    error StateCommitmentNotFinal(uint64 epoch, uint64 finalAt);

    /// @notice The batch timestamp is not after the previous epoch's.
    /// @param previous The previous epoch's batch timestamp.
    /// @param got The submitted one.
    error StateCommitmentTimestampNotIncreasing(uint64 previous, uint64 got);

    /// @notice The batch timestamp is after the block's: a batch cannot come from the future.
    /// @param blockTime The block timestamp.
    /// @param got The submitted one.
    error StateCommitmentTimestampInFuture(uint64 blockTime, uint64 got);

    /// @notice A reserve figure is above `MAX_FIGURE` (the P-AMM is exact below it; a claim against larger figures
    ///         could not be paid).
    /// @param value The figure.
    /// @param max The bound.
    error StateCommitmentFigureTooLarge(uint256 value, uint256 max);

    /// @notice A challenge window of zero would make every root final at once.
    error StateCommitmentZeroWindow();

    /// @notice No attester set is scheduled, or it is not due yet.
    /// @param effectiveAt When the scheduled set is due (0 when none is scheduled).
    error StateCommitmentNoAttestersDue(uint64 effectiveAt);

    /// @notice Commits the state root of the next epoch. Anyone may submit it; it lands only with signatures of at
    ///         least `threshold()` distinct attesters over `attestationDigest` of exactly these values.
    /// @param epoch Must be `latestEpoch() + 1`.
    /// @param parentRoot Must equal the stored root of `epoch - 1` (bytes32(0) for epoch 1).
    /// @param stateRoot The epoch's state root.
    /// @param batchDigest The certified batch's digest.
    /// @param reserve The reserve figures the root attests: each at most `MAX_FIGURE`, the timestamp after the
    ///        previous epoch's and not after the block's.
    /// @param signatures 65-byte (r, s, v) ECDSA signatures of attesters, ordered by strictly ascending signer
    ///        address.
    function commit(
        uint64 epoch,
        bytes32 parentRoot,
        bytes32 stateRoot,
        bytes32 batchDigest,
        ReserveFigures calldata reserve,
        bytes[] calldata signatures
    ) external;

    /// @notice Schedules a new attester set (the admin); it applies after the admin delay (`applyAttesters`).
    /// @param attesters The attesters, strictly ascending, none zero.
    /// @param threshold Signatures a commitment will need: more than two thirds of them (2f + 1 of n = 3f + 1), at
    ///        most all.
    function scheduleAttesters(address[] calldata attesters, uint256 threshold) external;

    /// @notice Applies a scheduled attester set once it is due (anyone).
    function applyAttesters() external;

    /// @notice The attesters in force, ascending.
    function attesters() external view returns (address[] memory);

    /// @notice Signatures a commitment needs.
    function threshold() external view returns (uint256);

    /// @notice The EIP-712 digest attesters sign for a commitment: domain (name "myco-bridge StateCommitment",
    ///         version "1", this chain, this contract) and the struct `Commitment(uint64 epoch,bytes32 parentRoot,
    ///         bytes32 stateRoot,bytes32 batchDigest,uint256 totalSupply,uint256 totalReserve,uint256 flowPressure,
    ///         uint64 timestamp)`.
    function attestationDigest(
        uint64 epoch,
        bytes32 parentRoot,
        bytes32 stateRoot,
        bytes32 batchDigest,
        ReserveFigures calldata reserve
    ) external view returns (bytes32);

    /// @notice Revokes the commitment of `epoch` and every later one, in constant gas; only while `epoch` is inside
    ///         its window. The revoked commitment can never come back; a different one for `epoch` can.
    /// @param epoch The epoch whose commitment is revoked.
    function revoke(uint64 epoch) external;

    /// @notice Stops commits and the challenge clock (the guardian's emergency brake), for at most `MAX_STOP`
    ///         seconds and not within `STOP_COOLDOWN` of the last stop's end. A commitment final when the clock
    ///         stops stays final; one inside its window gets the stop's length added to it.
    function pause() external;

    /// @notice Resumes commits and the clock before the stop expires (the guardian or the admin).
    function unpause() external;

    /// @notice Whether the clock is stopped now.
    function paused() external view returns (bool);

    /// @notice How many times the clock has stopped.
    function stopCount() external view returns (uint256);

    /// @notice The `index`-th stop of the clock: when it began and when it ended (or will end by itself).
    /// @param index From 0 to `stopCount() - 1`.
    function stopAt(uint256 index) external view returns (uint64 start, uint64 until);

    /// @notice The role that revokes commitments and pauses.
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice The largest reserve figure a commitment may carry (1e30: a trillion trillion base units).
    function MAX_FIGURE() external view returns (uint256);

    /// @notice The highest committed epoch (0 when none).
    function latestEpoch() external view returns (uint64);

    /// @notice The challenge window in seconds.
    function challengeWindow() external view returns (uint64);

    /// @notice The stored commitment of `epoch`; reverts when there is none.
    /// @param epoch The epoch.
    function commitmentOf(uint64 epoch) external view returns (Commitment memory);

    /// @notice Everything a payout needs about `epoch` in one call: the stored commitment, its hash and `finalAt`;
    ///         reverts when there is none.
    /// @param epoch The epoch.
    /// @return commitment The stored commitment.
    /// @return commitmentHash Its `hashCommitment`.
    /// @return finalAtTime When it becomes (or became) final; `type(uint64).max` while the clock is stopped and it
    ///         was not final when it stopped.
    function liveCommitment(uint64 epoch)
        external
        view
        returns (Commitment memory commitment, bytes32 commitmentHash, uint64 finalAtTime);

    /// @notice `hashCommitment` of the stored commitment of `epoch`; reverts when there is none.
    /// @param epoch The epoch.
    function commitmentHashOf(uint64 epoch) external view returns (bytes32);

    /// @notice When `epoch`'s commitment becomes final: its commit time plus the window plus the length of every
    ///         stop of the clock that began before then; `type(uint64).max` while such a stop is on. Once reached,
    ///         it never changes.
    /// @param epoch The epoch.
    function finalAt(uint64 epoch) external view returns (uint64);

    /// @notice Whether `epoch` is committed and past its challenge window.
    /// @param epoch The epoch.
    function isFinal(uint64 epoch) external view returns (bool);

    /// @notice The state root of `epoch`; reverts unless the commitment is final.
    /// @param epoch The epoch.
    function finalRoot(uint64 epoch) external view returns (bytes32);

    /// @notice Whether a guardian revoked this commitment.
    /// @param commitmentHash A `hashCommitment`.
    function isRevoked(bytes32 commitmentHash) external view returns (bool);

    /// @notice The hash that names a commitment: keccak256(abi.encode(epoch, parentRoot, stateRoot, batchDigest,
    ///         reserve)).
    function hashCommitment(
        uint64 epoch,
        bytes32 parentRoot,
        bytes32 stateRoot,
        bytes32 batchDigest,
        ReserveFigures calldata reserve
    ) external pure returns (bytes32);
}
