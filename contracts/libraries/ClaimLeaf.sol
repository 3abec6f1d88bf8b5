// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IUSDCEscrow} from "../interfaces/IUSDCEscrow.sol";

/// @title ClaimLeaf
/// @notice The Merkle leaf of a withdrawal claim, as OpenZeppelin's StandardMerkleTree builds it:
///         keccak256(bytes.concat(keccak256(abi.encode(claimId, account, recipient, mycoAmount, flowPenalty,
///         epoch, priorRedeemed)))). The Rust twin is `settle::claims::Claim::leaf`.
library ClaimLeaf {
    function hash(IUSDCEscrow.WithdrawalClaim calldata c) internal pure returns (bytes32) {
        return keccak256(
            bytes.concat(
                keccak256(
                    abi.encode(
                        c.claimId,
                        c.account,
                        c.recipient,
                        c.mycoAmount,
                        c.flowPenalty,
                        c.epoch,
                        c.priorRedeemed
                    )
                )
            )
        );
    }
}
