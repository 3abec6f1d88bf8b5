// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IAttesterQuorum
/// @notice The errors of an attester quorum check (`libraries/AttesterQuorum.sol`), for every contract that uses
///         it and every client that decodes its reverts.
interface IAttesterQuorum {
    /// @notice The set is not usable: empty, unordered or repeated members, the zero address, or a threshold that
    ///         is not more than two thirds of the members.
    error AttesterSetInvalid();

    /// @notice A signature does not recover to an address (malformed, or malleable).
    /// @param index Its position.
    error AttestationSignatureInvalid(uint256 index);

    /// @notice Signers are not in strictly ascending order (a repeated signer is the same fault).
    /// @param index The position of the first out of order.
    error AttestationSignersNotAscending(uint256 index);

    /// @notice A signer is not an attester.
    /// @param signer The recovered address.
    error AttestationUnknownSigner(address signer);

    /// @notice Fewer signatures than the threshold.
    /// @param signatures How many came.
    /// @param threshold How many are needed.
    error AttestationBelowThreshold(uint256 signatures, uint256 threshold);
}
