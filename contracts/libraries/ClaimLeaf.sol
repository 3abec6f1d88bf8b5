// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IUSDCEscrow} from "../interfaces/IUSDCEscrow.sol";

/// @title ClaimLeaf
/// @notice The Merkle leaf of a withdrawal claim, as OpenZeppelin's StandardMerkleTree builds it:
///         keccak256(bytes.concat(keccak256(abi.encode(chainId, escrow, claimId, account, recipient, mycoAmount,
///         flowPenalty, epoch, priorRedeemed)))). The chain id and the escrow's address lead (the domain, as
///         Hyperlane's messages carry their origin and destination): a root committed for one escrow or chain pays
///         nothing at another, nor after a redeployment. The Rust twin is `settle::claims::Claim::leaf`.
library ClaimLeaf {
    function hash(uint256 chainId, address escrow, IUSDCEscrow.WithdrawalClaim calldata c)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(
            bytes.concat(
                keccak256(
                    abi.encode(
                        chainId,
                        escrow,
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
