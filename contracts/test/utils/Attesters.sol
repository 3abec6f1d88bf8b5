// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IStateCommitment} from "../../interfaces/IStateCommitment.sol";
import {TestBase} from "./Vm.sol";

/// @notice Four attester keys with a threshold of three (n = 3f + 1, f = 1), and the signatures a commitment needs,
///         for every test that commits.
abstract contract Attesters is TestBase {
    uint256 internal constant ATTESTERS = 4;
    uint256 internal constant THRESHOLD = 3;

    /// @notice Attester private keys, ordered by their address (ascending), as the contract wants signatures.
    function attesterKeys() internal pure returns (uint256[] memory keys) {
        keys = new uint256[](ATTESTERS);
        for (uint256 i = 0; i < ATTESTERS; ++i) {
            keys[i] = 0xA77E57 + i;
        }
        // Insertion sort by address: four keys.
        for (uint256 i = 1; i < ATTESTERS; ++i) {
            for (uint256 j = i; j > 0 && vm.addr(keys[j]) < vm.addr(keys[j - 1]); --j) {
                (keys[j], keys[j - 1]) = (keys[j - 1], keys[j]);
            }
        }
    }

    /// @notice The attesters' addresses, ascending.
    function attesterSet() internal pure returns (address[] memory set) {
        uint256[] memory keys = attesterKeys();
        set = new address[](ATTESTERS);
        for (uint256 i = 0; i < ATTESTERS; ++i) {
            set[i] = vm.addr(keys[i]);
        }
    }

    /// @notice `key`'s 65-byte signature of `digest`.
    function signWith(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @notice The EIP-712 digest of a commitment on `sc`, computed here from the specification (no call, so it
    ///         can sit between `expectRevert` and the call it is about; a test checks it equals the contract's).
    function typedDigest(
        IStateCommitment sc,
        uint64 epoch,
        bytes32 parent,
        bytes32 root,
        bytes32 digest,
        IStateCommitment.ReserveFigures memory f
    ) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("myco-bridge StateCommitment"),
                keccak256("1"),
                block.chainid,
                address(sc)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Commitment(uint64 epoch,bytes32 parentRoot,bytes32 stateRoot,bytes32 batchDigest,uint256 totalSupply,"
                    "uint256 totalReserve,uint256 flowPressure,uint64 timestamp)"
                ),
                epoch,
                parent,
                root,
                digest,
                f.totalSupply,
                f.totalReserve,
                f.flowPressure,
                f.timestamp
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    /// @notice Signatures of the first `THRESHOLD` attesters (ascending) over the commitment's digest on `sc`.
    function attest(
        IStateCommitment sc,
        uint64 epoch,
        bytes32 parent,
        bytes32 root,
        bytes32 digest,
        IStateCommitment.ReserveFigures memory figures
    ) internal view returns (bytes[] memory signatures) {
        return attestBy(THRESHOLD, sc, epoch, parent, root, digest, figures);
    }

    /// @notice Signatures of the first `n` attesters (ascending) over the commitment's digest on `sc`.
    function attestBy(
        uint256 n,
        IStateCommitment sc,
        uint64 epoch,
        bytes32 parent,
        bytes32 root,
        bytes32 digest,
        IStateCommitment.ReserveFigures memory figures
    ) internal view returns (bytes[] memory signatures) {
        bytes32 d = typedDigest(sc, epoch, parent, root, digest, figures);
        uint256[] memory keys = attesterKeys();
        signatures = new bytes[](n);
        for (uint256 i = 0; i < n; ++i) {
            signatures[i] = signWith(keys[i], d);
        }
    }

    /// @notice Commits with a quorum's signatures (the parent read from `sc`).
    function attestedCommit(
        IStateCommitment sc,
        uint64 epoch,
        bytes32 root,
        bytes32 digest,
        IStateCommitment.ReserveFigures memory figures
    ) internal {
        bytes32 parent = epoch == 1 ? bytes32(0) : sc.commitmentOf(epoch - 1).stateRoot;
        sc.commit(epoch, parent, root, digest, figures, attest(sc, epoch, parent, root, digest, figures));
    }
}
