// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IUSDCEscrow
/// @notice Holds the USDC that backs the off-chain network: deposits credit an off-chain account, withdrawal
///         claims proven against a final state root pay out USDC exactly once.
interface IUSDCEscrow {
    /// @notice A withdrawal claim, one leaf of an epoch's state root.
    /// @param claimId Unique across all epochs.
    /// @param account The off-chain account (32-byte Ed25519 key) the MYCO is debited from.
    /// @param recipient Who receives the USDC.
    /// @param mycoAmount MYCO redeemed (18 decimals).
    /// @param flowPenalty Flow-dampening penalty attested by the batch (WAD, >= 1e18).
    /// @param epoch The epoch whose root contains the claim.
    /// @param priorRedeemed MYCO redeemed by the epoch's claims with smaller ids (18 decimals): the claim is paid
    ///        its own slice of the redemption curve, from priorRedeemed to priorRedeemed + mycoAmount.
    struct WithdrawalClaim {
        uint256 claimId;
        bytes32 account;
        address recipient;
        uint256 mycoAmount;
        uint256 flowPenalty;
        uint64 epoch;
        uint256 priorRedeemed;
    }

    /// @notice USDC was deposited for an off-chain account.
    /// @param depositId Strictly increasing from 1, with no gaps.
    /// @param depositor Who paid the USDC.
    /// @param recipient The off-chain account (32-byte Ed25519 key) to credit.
    /// @param amount USDC amount (6 decimals).
    event Deposited(
        uint64 indexed depositId, address indexed depositor, bytes32 indexed recipient, uint256 amount
    );

    /// @notice A withdrawal claim was paid.
    /// @param claimId The claim.
    /// @param recipient Who received the USDC.
    /// @param account The off-chain account debited.
    /// @param epoch The epoch whose root held the claim.
    /// @param mycoAmount MYCO redeemed (18 decimals).
    /// @param usdcAmount USDC paid (6 decimals).
    event Withdrawn(
        uint256 indexed claimId,
        address indexed recipient,
        bytes32 indexed account,
        uint64 epoch,
        uint256 mycoAmount,
        uint256 usdcAmount
    );

    /// @notice The P-AMM parameters this escrow pays by (WAD), set at deployment: relative minimum slope ᾱ, relative
    ///         cap on the par region x̄_U, floor price θ̄, and per-second decay δ of the redemption level.
    /// @param alphaBar ᾱ.
    /// @param xuBar x̄_U.
    /// @param thetaBar θ̄.
    /// @param decay δ.
    struct PammParams {
        uint256 alphaBar;
        uint256 xuBar;
        uint256 thetaBar;
        uint256 decay;
    }

    /// @notice P-AMM parameters outside their domain: ᾱ must be positive, x̄_U, θ̄ and δ at most 1.0, θ̄ below 1.0.
    error EscrowInvalidParams();

    /// @notice A deposit of zero.
    error EscrowZeroAmount();

    /// @notice The claim was paid before.
    /// @param claimId The claim.
    error EscrowClaimAlreadyPaid(uint256 claimId);

    /// @notice The proof does not show the claim in the epoch's final root.
    /// @param claimId The claim.
    /// @param epoch The epoch named by the claim.
    error EscrowInvalidProof(uint256 claimId, uint64 epoch);

    /// @notice The claim's flow penalty is below 1.0, which would grow the payout.
    /// @param claimId The claim.
    /// @param flowPenalty The penalty carried.
    error EscrowInvalidPenalty(uint256 claimId, uint256 flowPenalty);

    /// @notice The escrow holds less USDC than the claim pays.
    /// @param claimId The claim.
    /// @param payout USDC owed.
    /// @param balance USDC held.
    error EscrowInsufficientReserve(uint256 claimId, uint256 payout, uint256 balance);

    /// @notice Deposits `amount` USDC for the off-chain account `recipient`.
    /// @param amount USDC amount (6 decimals), pulled from the caller.
    /// @param recipient The off-chain account's 32-byte Ed25519 key.
    /// @return depositId The deposit's id.
    function deposit(uint256 amount, bytes32 recipient) external returns (uint64 depositId);

    /// @notice Pays a withdrawal claim proven against its epoch's final root. Anyone may submit it; the USDC
    ///         goes to `claim.recipient`.
    /// @param claim The claim.
    /// @param proof The Merkle proof (sibling path) of the claim's leaf.
    /// @return usdcAmount USDC paid.
    function withdraw(WithdrawalClaim calldata claim, bytes32[] calldata proof)
        external
        returns (uint256 usdcAmount);

    /// @notice USDC a claim pays: the P-AMM's integral over the claim's slice, from the epoch's committed state
    ///         (supply, reserve value, redemption level), divided by the flow penalty; it does not check the proof
    ///         or whether the claim was paid, and reverts for an epoch not committed.
    /// @param claim The claim.
    function quoteWithdrawal(WithdrawalClaim calldata claim) external view returns (uint256);

    /// @notice Whether `claimId` was paid.
    /// @param claimId The claim.
    function isPaid(uint256 claimId) external view returns (bool);

    /// @notice Stops deposits and withdrawals (the guardian's emergency brake).
    function pause() external;

    /// @notice Resumes deposits and withdrawals (the admin).
    function unpause() external;

    /// @notice The role that pauses.
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice The P-AMM parameters payouts follow (the relayer, attesters and auditors read them here).
    function pammParams() external view returns (PammParams memory);

    /// @notice The token this escrow holds (a preflight checks it is the configured USDC).
    function usdc() external view returns (address);

    /// @notice Where this escrow reads final roots and reserve figures from.
    function stateCommitment() external view returns (address);

    /// @notice The id the next deposit gets.
    function nextDepositId() external view returns (uint64);

    /// @notice The leaf hash of a claim, as the state root's Merkle tree holds it.
    /// @param claim The claim.
    function leafOf(WithdrawalClaim calldata claim) external pure returns (bytes32);
}
