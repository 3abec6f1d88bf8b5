// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IEscrowMigration
/// @notice The way out when a bug is found in a deployed escrow: its USDC moves to a successor escrow (the fixed
///         code), after the admin delay and unless the guardian vetoes, and the old escrow stops for good. The
///         successor is deployed naming the old one as its predecessor, and pays the old escrow's unpaid claims
///         with their old proofs, never one the old escrow paid (its paid record is read through, and frozen by
///         the migration), never one whose commitment the old escrow holds cancelled, and nothing at all until
///         the migration is applied (so both never pay at once).
interface IEscrowMigration {
    /// @notice The admin scheduled a migration to `successor`, applicable by anyone from `effectiveAt`.
    /// @param successor The escrow the USDC moves to.
    /// @param effectiveAt When it may be applied (now plus the admin delay).
    event MigrationScheduled(address indexed successor, uint64 effectiveAt);

    /// @notice A scheduled migration was vetoed (the guardian or the admin).
    /// @param successor The escrow it was to move to.
    /// @param by Who vetoed it.
    event MigrationVetoed(address indexed successor, address indexed by);

    /// @notice The escrow migrated: its USDC went to `successor`, and it takes no deposit and pays no claim again.
    /// @param successor Where the USDC went.
    /// @param usdc How much.
    event Migrated(address indexed successor, uint256 usdc);

    /// @notice This escrow migrated to `successor`: use that one.
    /// @param successor The successor.
    error EscrowMigrated(address successor);

    /// @notice No migration is due (none scheduled, or `effectiveAt` not reached).
    /// @param effectiveAt When the scheduled one is due (0: none).
    error EscrowNoMigrationDue(uint64 effectiveAt);

    /// @notice The successor does not name this escrow as its predecessor, or holds another token or commitment.
    /// @param successor The address given.
    error EscrowInvalidSuccessor(address successor);

    /// @notice This escrow succeeds `predecessor`, which has not migrated to it yet: nothing pays until it has.
    /// @param predecessor The old escrow.
    error EscrowPredecessorActive(address predecessor);

    /// @notice Schedules the migration to `successor` (admin); replaces one already scheduled.
    /// @param successor An escrow deployed with this one as its predecessor, on the same token and commitment.
    function scheduleMigration(address successor) external;

    /// @notice Vetoes the scheduled migration (guardian or admin).
    function vetoMigration() external;

    /// @notice Applies the scheduled migration once due (anyone): moves every USDC to the successor.
    function applyMigration() external;

    /// @notice The scheduled migration: its successor and when it is due (zeros when none).
    function migrationDue() external view returns (address successor, uint64 effectiveAt);

    /// @notice Where this escrow migrated to (the zero address while it runs).
    function migratedTo() external view returns (address);

    /// @notice The escrow this one succeeds (the zero address for a first deployment).
    function predecessor() external view returns (address);
}
