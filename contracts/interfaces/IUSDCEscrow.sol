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

    /// @notice A withdrawal claim was paid; with the claim's own fields a watcher recomputes the payout.
    /// @param claimId The claim.
    /// @param recipient The claim's recipient: who received the USDC, unless a `WithdrawalRedirected` just before
    ///        names where it went instead.
    /// @param account The off-chain account debited.
    /// @param epoch The epoch whose root held the claim.
    /// @param mycoAmount MYCO redeemed (18 decimals).
    /// @param flowPenalty The flow penalty the payout was divided by (WAD).
    /// @param priorRedeemed Where the claim's slice of the curve starts (18 decimals).
    /// @param usdcAmount USDC paid (6 decimals).
    event Withdrawn(
        uint256 indexed claimId,
        address indexed recipient,
        bytes32 indexed account,
        uint64 epoch,
        uint256 mycoAmount,
        uint256 flowPenalty,
        uint256 priorRedeemed,
        uint256 usdcAmount
    );

    /// @notice The claim's recipient had its payment sent elsewhere (`withdrawTo`), e.g. because the token refuses
    ///         transfers to it (a USDC blocklist): emitted just before the claim's `Withdrawn`, whose `recipient`
    ///         stays the claim's.
    /// @param claimId The claim.
    /// @param recipient The claim's recipient, who asked.
    /// @param to Where the USDC went.
    event WithdrawalRedirected(uint256 indexed claimId, address indexed recipient, address indexed to);

    /// @notice The guardian cancelled a commitment before it paid: its claims do not pay unless the admin undoes
    ///         the cancellation (`scheduleUncancel`, after the admin delay); the network may reissue them under
    ///         the same claim ids in a later epoch (the paid bit keeps each claim paid at most once).
    /// @param epoch The commitment's epoch.
    /// @param commitmentHash The commitment (`IStateCommitment.hashCommitment`).
    /// @param guardian Who cancelled it.
    /// @param reason Why, in the guardian's words.
    event CommitmentCancelled(
        uint64 indexed epoch, bytes32 indexed commitmentHash, address indexed guardian, string reason
    );

    /// @notice The admin scheduled the undoing of a cancellation; anyone can apply it from `effectiveAt`.
    /// @param epoch The cancelled commitment's epoch.
    /// @param commitmentHash The cancelled commitment.
    /// @param effectiveAt When the undo may be applied.
    event UncancelScheduled(uint64 indexed epoch, bytes32 indexed commitmentHash, uint64 effectiveAt);

    /// @notice A scheduled undo of a cancellation was vetoed (the guardian or the admin).
    /// @param epoch The cancelled commitment's epoch.
    /// @param commitmentHash The cancelled commitment.
    /// @param by Who vetoed it.
    event UncancelVetoed(uint64 indexed epoch, bytes32 indexed commitmentHash, address indexed by);

    /// @notice A cancellation was undone: the commitment's unpaid claims pay again.
    /// @param epoch The commitment's epoch.
    /// @param commitmentHash The commitment.
    event CommitmentUncancelled(uint64 indexed epoch, bytes32 indexed commitmentHash);

    /// @notice Withdrawals stopped, until `until` at the latest.
    /// @param at When.
    /// @param until When they resume by themselves (`at + MAX_STOP`).
    event WithdrawalsStopped(uint64 at, uint64 until);

    /// @notice Deposits or withdrawals were paused or resumed.
    /// @param deposits True for deposits, false for withdrawals.
    /// @param paused The new state.
    /// @param by Who changed it.
    event PauseChanged(bool indexed deposits, bool paused, address indexed by);

    /// @notice A new outflow limit applies from now.
    /// @param limit USDC (6 decimals) that may leave per period.
    /// @param period The period in seconds.
    event OutflowLimitChanged(uint256 limit, uint64 period);

    /// @notice A looser outflow limit was scheduled; anyone can apply it from `effectiveAt`.
    /// @param limit USDC (6 decimals) that may leave per period.
    /// @param period The period in seconds.
    /// @param effectiveAt When it may be applied.
    event OutflowLimitScheduled(uint256 limit, uint64 period, uint64 effectiveAt);

    /// @notice A scheduled looser outflow limit was dropped because a tighter one was set.
    /// @param limit The dropped limit.
    /// @param period Its period.
    event OutflowLimitScheduleCancelled(uint256 limit, uint64 period);

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

    /// @notice How money may leave, set at deployment.
    /// @param withdrawalDelay Seconds after a root becomes final before its first claim pays (the guardian's
    ///        time to cancel it).
    /// @param outflowLimit USDC (6 decimals) that may leave per `outflowPeriod`: a token bucket of this size that
    ///        refills linearly over the period.
    /// @param outflowPeriod The bucket's refill period in seconds.
    struct Safety {
        uint64 withdrawalDelay;
        uint128 outflowLimit;
        uint64 outflowPeriod;
    }

    /// @notice P-AMM parameters outside their domain: ᾱ must be positive, x̄_U, θ̄ and δ at most 1.0, θ̄ below 1.0.
    error EscrowInvalidParams();

    /// @notice An outflow limit or period of zero (nothing could ever be paid).
    error EscrowInvalidOutflowLimit();

    /// @notice A required address is zero.
    error EscrowZeroAddress();

    /// @notice A deposit of zero.
    error EscrowZeroAmount();

    /// @notice Deposits are paused.
    error EscrowDepositsPaused();

    /// @notice Withdrawals are paused.
    error EscrowWithdrawalsPaused();

    /// @notice The claim was paid before.
    /// @param claimId The claim.
    error EscrowClaimAlreadyPaid(uint256 claimId);

    /// @notice Only a claim's recipient may send its payment elsewhere.
    /// @param claimId The claim.
    /// @param recipient The claim's recipient.
    error EscrowNotRecipient(uint256 claimId, address recipient);

    /// @notice The proof does not show the claim in the epoch's committed root.
    /// @param claimId The claim.
    /// @param epoch The epoch named by the claim.
    error EscrowInvalidProof(uint256 claimId, uint64 epoch);

    /// @notice The epoch's root does not pay yet: it is not final, or its withdrawal delay has not passed.
    /// @param epoch The epoch.
    /// @param payableAt When its claims pay (`type(uint64).max` while the commitment clock is stopped and the
    ///        epoch was not final when it stopped).
    error EscrowRootNotPayable(uint64 epoch, uint64 payableAt);

    /// @notice The guardian cancelled the commitment the claim's root belongs to.
    /// @param epoch The epoch.
    /// @param commitmentHash The cancelled commitment.
    error EscrowCommitmentCancelled(uint64 epoch, bytes32 commitmentHash);

    /// @notice The commitment named is not the live commitment of its epoch.
    /// @param epoch The epoch.
    /// @param live The live commitment's hash.
    /// @param given The hash given.
    error EscrowNotLiveCommitment(uint64 epoch, bytes32 live, bytes32 given);

    /// @notice The claim's flow penalty is below 1.0, which would grow the payout.
    /// @param claimId The claim.
    /// @param flowPenalty The penalty carried.
    error EscrowInvalidPenalty(uint256 claimId, uint256 flowPenalty);

    /// @notice The claim's slice of the curve ends past the committed supply, or that supply is zero: no correct root
    ///         holds it, and the P-AMM is not defined there.
    /// @param claimId The claim.
    /// @param through priorRedeemed + mycoAmount (saturating).
    /// @param totalSupply The committed supply.
    error EscrowClaimOutsideSupply(uint256 claimId, uint256 through, uint256 totalSupply);

    /// @notice The escrow holds less USDC than the claim pays.
    /// @param claimId The claim.
    /// @param payout USDC owed.
    /// @param balance USDC held.
    error EscrowInsufficientReserve(uint256 claimId, uint256 payout, uint256 balance);

    /// @notice The outflow limit is used up for now; the payout fits again at `retryAt`.
    /// @param payout USDC owed.
    /// @param available USDC that may leave now.
    /// @param retryAt The first time the bucket holds `payout` (for a payout above the limit: is full).
    error EscrowOutflowLimited(uint256 payout, uint256 available, uint64 retryAt);

    /// @notice No scheduled outflow limit is due.
    /// @param effectiveAt When the scheduled one is due (0 when none is scheduled).
    error EscrowNoLimitDue(uint64 effectiveAt);

    /// @notice A commitment can be cancelled only before its claims start to pay.
    /// @param epoch The epoch.
    /// @param payableAt When its claims started to pay.
    error EscrowCancelTooLate(uint64 epoch, uint64 payableAt);

    /// @notice The commitment is not cancelled.
    /// @param commitmentHash The commitment.
    error EscrowNotCancelled(bytes32 commitmentHash);

    /// @notice No undo of this cancellation is scheduled, or it is not due yet.
    /// @param commitmentHash The commitment.
    /// @param effectiveAt When the scheduled undo is due (0 when none is scheduled).
    error EscrowNoUncancelDue(bytes32 commitmentHash, uint64 effectiveAt);

    /// @notice Deposits `amount` USDC for the off-chain account `recipient`; `Deposited` carries what arrived.
    /// @param amount USDC amount (6 decimals), pulled from the caller.
    /// @param recipient The off-chain account's 32-byte Ed25519 key.
    /// @return depositId The deposit's id.
    function deposit(uint256 amount, bytes32 recipient) external returns (uint64 depositId);

    /// @notice Pays a withdrawal claim proven against its epoch's live root once that root is payable (final, past
    ///         the withdrawal delay, not cancelled) and the outflow limit has room. Anyone may submit it; the USDC
    ///         goes to `claim.recipient`.
    /// @param claim The claim.
    /// @param proof The Merkle proof (sibling path) of the claim's leaf.
    /// @return usdcAmount USDC paid.
    function withdraw(WithdrawalClaim calldata claim, bytes32[] calldata proof)
        external
        returns (uint256 usdcAmount);

    /// @notice Pays a claim as `withdraw` does, to `to` instead of `claim.recipient`; only the claim's recipient may
    ///         call it. A recipient the token will not pay (blocklisted) redirects its own claim rather than lock
    ///         it; the claim is paid once either way (its id is the nullifier).
    /// @param claim The claim.
    /// @param proof The Merkle proof of the claim's leaf.
    /// @param to Where the USDC goes.
    /// @return usdcAmount USDC paid.
    function withdrawTo(WithdrawalClaim calldata claim, bytes32[] calldata proof, address to)
        external
        returns (uint256 usdcAmount);

    /// @notice USDC a claim pays: the P-AMM's integral over the claim's slice, from the epoch's committed state
    ///         (supply, reserve value, redemption level), divided by the flow penalty; it does not check the proof
    ///         or whether the claim was paid, and reverts for an epoch not committed or a slice outside the supply.
    /// @param claim The claim.
    function quoteWithdrawal(WithdrawalClaim calldata claim) external view returns (uint256);

    /// @notice Whether `claimId` was paid.
    /// @param claimId The claim.
    function isPaid(uint256 claimId) external view returns (bool);

    /// @notice Stops deposits (the guardian or the admin).
    function pauseDeposits() external;

    /// @notice Resumes deposits (the guardian or the admin).
    function unpauseDeposits() external;

    /// @notice Stops withdrawals (the guardian or the admin) for at most `MAX_STOP` seconds, and not within
    ///         `STOP_COOLDOWN` of the last stop's end.
    function pauseWithdrawals() external;

    /// @notice Resumes withdrawals before the stop expires (the guardian or the admin).
    function unpauseWithdrawals() external;

    /// @notice Cancels the live commitment of `epoch` (the guardian), only before its claims start to pay
    ///         (`payableAt`): its claims do not pay unless the admin undoes it. Inside the challenge window,
    ///         revoking it on `StateCommitment` is the better tool: the epoch stays open for a correct commitment.
    /// @param epoch The epoch.
    /// @param commitmentHash The commitment, as `StateCommitment.commitmentHashOf(epoch)` reports it (so a guardian
    ///        never cancels a commitment it did not look at).
    /// @param reason Why, for the record.
    function cancelCommitment(uint64 epoch, bytes32 commitmentHash, string calldata reason) external;

    /// @notice Schedules the undoing of a cancellation (the admin); it applies after the admin delay unless
    ///         vetoed.
    /// @param commitmentHash The cancelled commitment.
    function scheduleUncancel(bytes32 commitmentHash) external;

    /// @notice Vetoes a scheduled undo (the guardian or the admin).
    /// @param commitmentHash The cancelled commitment.
    function vetoUncancel(bytes32 commitmentHash) external;

    /// @notice Applies a scheduled undo once it is due (anyone).
    /// @param commitmentHash The cancelled commitment.
    function applyUncancel(bytes32 commitmentHash) external;

    /// @notice When the undo of a cancellation is due (0 when none is scheduled).
    /// @param commitmentHash The cancelled commitment.
    function uncancelDue(bytes32 commitmentHash) external view returns (uint64);

    /// @notice Sets the outflow limit (the admin): a tighter one (neither limit nor rate larger) applies at once
    ///         and drops a looser one scheduled before, a looser one is scheduled and applies after the admin
    ///         delay (`applyOutflowLimit`).
    /// @param limit USDC (6 decimals) per period, positive.
    /// @param period Seconds, positive.
    function setOutflowLimit(uint128 limit, uint64 period) external;

    /// @notice Applies a scheduled outflow limit once it is due (anyone).
    function applyOutflowLimit() external;

    /// @notice Whether deposits are paused.
    function depositsPaused() external view returns (bool);

    /// @notice Whether withdrawals are paused.
    function withdrawalsPaused() external view returns (bool);

    /// @notice When the withdrawal stop in force ends by itself (0 when withdrawals run).
    function withdrawalsPausedUntil() external view returns (uint64);

    /// @notice Whether the guardian cancelled this commitment.
    /// @param commitmentHash A commitment hash.
    function isCancelled(bytes32 commitmentHash) external view returns (bool);

    /// @notice When the claims of `epoch`'s live commitment start to pay: `finalAt + withdrawalDelay`
    ///         (`type(uint64).max` while the commitment clock is stopped and the epoch was not final when it
    ///         stopped); reverts for an epoch not committed.
    /// @param epoch The epoch.
    function payableAt(uint64 epoch) external view returns (uint64);

    /// @notice The safety parameters: withdrawal delay and the outflow limit in force.
    function safety() external view returns (Safety memory);

    /// @notice USDC (6 decimals) that may leave now under the outflow limit.
    function outflowAvailable() external view returns (uint256);

    /// @notice The role that pauses, cancels and vetoes.
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice The P-AMM parameters payouts follow (the relayer, attesters and auditors read them here).
    function pammParams() external view returns (PammParams memory);

    /// @notice The token this escrow holds (a preflight checks it is the configured USDC).
    function usdc() external view returns (address);

    /// @notice Where this escrow reads final roots and reserve figures from.
    function stateCommitment() external view returns (address);

    /// @notice The id the next deposit gets.
    function nextDepositId() external view returns (uint64);

    /// @notice The leaf hash of a claim, as the state root's Merkle tree holds it: bound to this chain and this
    ///         escrow, so a root committed for another escrow or chain never pays here.
    /// @param claim The claim.
    function leafOf(WithdrawalClaim calldata claim) external view returns (bytes32);
}
