// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IAttesterQuorum} from "../interfaces/IAttesterQuorum.sol";

/// @title AttesterQuorum
/// @notice A set of attester addresses (secp256k1 keys, one beside each validator) and how many of them must sign:
///         Hyperlane's multisig ISM shape. Signatures come ordered by strictly ascending signer address, which
///         rules out duplicates in one pass; OpenZeppelin's ECDSA refuses malleable (high-s) signatures.
library AttesterQuorum {
    /// @param members The attesters, ascending.
    /// @param isMember Membership, for the check per signature.
    /// @param threshold Signatures needed: more than two thirds of the members, at most all of them.
    struct Set {
        address[] members;
        mapping(address => bool) isMember;
        uint256 threshold;
    }

    /// @notice Checks a candidate set: ascending, non-zero members and a threshold above two thirds of them
    ///         (2f + 1 of n = 3f + 1): two quorums then share more than a third of the set, so f equivocating
    ///         attesters cannot sign two conflicting commitments for one epoch. A bare majority (4 of 7) would
    ///         let a single equivocator do it.
    function validate(address[] memory members, uint256 threshold) internal pure {
        uint256 n = members.length;
        if (n == 0 || threshold > n || 3 * threshold <= 2 * n) {
            revert IAttesterQuorum.AttesterSetInvalid();
        }
        address previous = address(0);
        for (uint256 i = 0; i < n; ++i) {
            if (members[i] <= previous) revert IAttesterQuorum.AttesterSetInvalid();
            previous = members[i];
        }
    }

    /// @notice Replaces the set (validated).
    function replace(Set storage s, address[] memory members, uint256 threshold) internal {
        validate(members, threshold);
        for (uint256 i = 0; i < s.members.length; ++i) {
            s.isMember[s.members[i]] = false;
        }
        delete s.members;
        for (uint256 i = 0; i < members.length; ++i) {
            s.members.push(members[i]);
            s.isMember[members[i]] = true;
        }
        s.threshold = threshold;
    }

    /// @notice Reverts unless at least `threshold` distinct members signed `digest`.
    function verify(Set storage s, bytes32 digest, bytes[] calldata signatures) internal view {
        uint256 threshold = s.threshold;
        if (signatures.length < threshold) {
            revert IAttesterQuorum.AttestationBelowThreshold(signatures.length, threshold);
        }
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; ++i) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError) revert IAttesterQuorum.AttestationSignatureInvalid(i);
            if (signer <= previous) revert IAttesterQuorum.AttestationSignersNotAscending(i);
            if (!s.isMember[signer]) revert IAttesterQuorum.AttestationUnknownSigner(signer);
            previous = signer;
        }
    }
}
