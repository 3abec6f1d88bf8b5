// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IStateCommitment
/// @notice One certified state root per epoch of the off-chain payment network, committed in order by a relayer
///         and final once its challenge window has passed.
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

    /// @notice A root was committed for `epoch`.
    /// @param epoch The epoch committed.
    /// @param stateRoot Its state root.
    /// @param batchDigest The certified batch's digest.
    /// @param parentRoot The previous epoch's root it links to.
    event RootCommitted(
        uint64 indexed epoch, bytes32 indexed stateRoot, bytes32 batchDigest, bytes32 parentRoot
    );

    /// @notice Commitments `fromEpoch` to `toEpoch` (inclusive) were revoked by a guardian.
    /// @param fromEpoch First revoked epoch.
    /// @param toEpoch Last revoked epoch (the latest at the time of revocation).
    /// @param guardian Who revoked them.
    event CommitmentsRevoked(uint64 indexed fromEpoch, uint64 toEpoch, address indexed guardian);

    /// @notice The epoch committed is not the next one.
    /// @param expected The next epoch the contract accepts.
    /// @param got The epoch that was submitted.
    error StateCommitmentEpochOutOfOrder(uint64 expected, uint64 got);

    /// @notice The submitted parent root is not the root stored for the previous epoch.
    /// @param expected The previous epoch's stored root.
    /// @param got The parent root that was submitted.
    error StateCommitmentParentMismatch(bytes32 expected, bytes32 got);

    /// @notice This root was revoked for this epoch by a guardian and may not be committed again.
    /// @param epoch The epoch.
    /// @param stateRoot The revoked root.
    error StateCommitmentRootRevoked(uint64 epoch, bytes32 stateRoot);

    /// @notice No commitment is stored for `epoch`.
    /// @param epoch The epoch asked for.
    error StateCommitmentUnknownEpoch(uint64 epoch);

    /// @notice The commitment for `epoch` is final and can no longer be revoked.
    /// @param epoch The epoch.
    /// @param finalSince Timestamp from which it was final.
    error StateCommitmentAlreadyFinal(uint64 epoch, uint64 finalSince);

    /// @notice The commitment for `epoch` is still inside its challenge window.
    /// @param epoch The epoch.
    /// @param finalAt Timestamp at which it becomes final.
    error StateCommitmentNotFinal(uint64 epoch, uint64 finalAt);

    /// @notice Commits the state root of the next epoch.
    /// @param epoch Must be `latestEpoch() + 1`.
    /// @param parentRoot Must equal the stored root of `epoch - 1` (bytes32(0) for epoch 1).
    /// @param stateRoot The epoch's state root.
    /// @param batchDigest The certified batch's digest.
    /// @param reserve The reserve figures the root attests.
    function commit(
        uint64 epoch,
        bytes32 parentRoot,
        bytes32 stateRoot,
        bytes32 batchDigest,
        ReserveFigures calldata reserve
    ) external;

    /// @notice Revokes the commitment of `epoch` and every later one; only while `epoch` is inside its window.
    /// @param epoch The first epoch to revoke.
    function revoke(uint64 epoch) external;

    /// @notice Stops commits (the guardian's emergency brake).
    function pause() external;

    /// @notice Resumes commits (the admin).
    function unpause() external;

    /// @notice The role that commits roots.
    function RELAYER_ROLE() external view returns (bytes32);

    /// @notice The role that revokes commitments and pauses.
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice The highest committed epoch (0 when none).
    function latestEpoch() external view returns (uint64);

    /// @notice The challenge window in seconds.
    function challengeWindow() external view returns (uint64);

    /// @notice The stored commitment of `epoch`; reverts when there is none.
    /// @param epoch The epoch.
    function commitmentOf(uint64 epoch) external view returns (Commitment memory);

    /// @notice Whether `epoch` is committed and past its challenge window.
    /// @param epoch The epoch.
    function isFinal(uint64 epoch) external view returns (bool);

    /// @notice The state root of `epoch`; reverts unless the commitment is final.
    /// @param epoch The epoch.
    function finalRoot(uint64 epoch) external view returns (bytes32);
}
