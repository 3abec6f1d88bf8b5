// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {DelayedRoles} from "./access/DelayedRoles.sol";
import {IBrake} from "./interfaces/IBrake.sol";
import {IStateCommitment} from "./interfaces/IStateCommitment.sol";
import {Brake} from "./libraries/Brake.sol";
import {ClaimLeaf} from "./libraries/ClaimLeaf.sol";
import {OutflowBucket} from "./libraries/OutflowBucket.sol";
import {PammMath} from "./libraries/PammMath.sol";
import {IEscrowMigration} from "./interfaces/IEscrowMigration.sol";
import {IUSDCEscrow} from "./interfaces/IUSDCEscrow.sol";

/// @title USDCEscrow
/// @notice The on-chain side of the off-chain network's money: deposits in, proven withdrawal claims out.
///         A root pays only after it is final and a withdrawal delay has passed (the guardian's time to cancel
///         it), never beyond an outflow limit per period, and only claims bound to this chain and this escrow.
///         Withdrawal stops are temporary (`Brake`), and every role grant waits the admin delay. A delayed,
///         vetoable migration moves everything to a fixed successor (`IEscrowMigration`).
contract USDCEscrow is IUSDCEscrow, IEscrowMigration, IBrake, DelayedRoles, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using OutflowBucket for OutflowBucket.Bucket;
    using Brake for Brake.Stop;

    /// @notice May pause and resume deposits and withdrawals, cancel a commitment before it pays, and veto a
    ///         scheduled role grant.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    /// @dev 1.0 in WAD fixed point.
    uint256 private constant WAD = 1e18;
    /// @dev WAD USD to USDC units (6 decimals): divide by 1e12.
    uint256 private constant WAD_PER_USDC_UNIT = 1e12;

    IERC20 private immutable _usdc;
    IStateCommitment private immutable _commitment;
    uint256 private immutable _alphaBar;
    uint256 private immutable _xuBar;
    uint256 private immutable _thetaBar;
    uint256 private immutable _decay;
    uint64 private immutable _withdrawalDelay;
    /// @dev The escrow this one succeeds (zero: none): its unpaid claims pay here once it migrated to us.
    USDCEscrow private immutable _predecessor;

    /// @dev 0 in a successor until its first deposit: its ids continue the predecessor's (one sequence, so a
    ///      deposit id credits once across both).
    uint64 private _nextDepositId;
    bool private _depositsPaused;
    Brake.Stop private _withdrawalStop;
    OutflowBucket.Bucket private _outflow;
    /// @dev A looser limit waiting for the admin delay (`effectiveAt` 0 when none).
    uint128 private _pendingLimit;
    uint64 private _pendingPeriod;
    uint64 private _pendingAt;
    mapping(uint256 claimId => bool) private _paid;
    /// @dev The epoch of each cancelled commitment (0: not cancelled).
    mapping(bytes32 commitmentHash => uint64 epoch) private _cancelled;
    /// @dev When the admin's undo of a cancellation is due (0: none scheduled).
    mapping(bytes32 commitmentHash => uint64 effectiveAt) private _undoDue;
    /// @dev A migration waiting for the admin delay (`_migrationAt` 0 when none), and where it went once applied.
    address private _pendingSuccessor;
    uint64 private _migrationAt;
    address private _migratedTo;

    modifier onlyGuardianOrAdmin() {
        if (!hasRole(GUARDIAN_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, GUARDIAN_ROLE);
        }
        _;
    }

    /// @param usdcToken The USDC token.
    /// @param commitment Where committed roots and their reserve figures are read from.
    /// @param admin Holds the admin role; moved only by a two-step transfer.
    /// @param adminDelay Seconds an admin transfer, a role grant, a looser outflow limit or an undone
    ///        cancellation waits.
    /// @param guardian Holds the guardian role from the start (the zero address: nobody yet).
    /// @param params The P-AMM parameters payouts follow.
    /// @param safety_ Withdrawal delay and outflow limit.
    /// @param predecessor_ The escrow this one succeeds after a migration (the zero address for none): on the same
    ///        token and commitment.
    constructor(
        IERC20 usdcToken,
        IStateCommitment commitment,
        address admin,
        uint48 adminDelay,
        address guardian,
        PammParams memory params,
        Safety memory safety_,
        USDCEscrow predecessor_
    ) DelayedRoles(adminDelay, admin) {
        if (address(usdcToken) == address(0) || address(commitment) == address(0)) {
            revert EscrowZeroAddress();
        }
        if (
            address(predecessor_) != address(0)
                && (predecessor_.usdc() != address(usdcToken)
                    || predecessor_.stateCommitment() != address(commitment))
        ) revert EscrowInvalidSuccessor(address(this));
        _predecessor = predecessor_;
        _nextDepositId = address(predecessor_) == address(0) ? 1 : 0;
        if (params.alphaBar == 0 || params.xuBar > WAD || params.thetaBar >= WAD || params.decay > WAD) {
            revert EscrowInvalidParams();
        }
        if (safety_.outflowLimit == 0 || safety_.outflowPeriod == 0) revert EscrowInvalidOutflowLimit();
        if (guardian != address(0)) _grantRole(GUARDIAN_ROLE, guardian);
        _usdc = usdcToken;
        _commitment = commitment;
        _alphaBar = params.alphaBar;
        _xuBar = params.xuBar;
        _thetaBar = params.thetaBar;
        _decay = params.decay;
        _withdrawalDelay = safety_.withdrawalDelay;
        _outflow.reset(safety_.outflowLimit, safety_.outflowPeriod, block.timestamp);
        emit OutflowLimitChanged(safety_.outflowLimit, safety_.outflowPeriod);
    }

    /// @inheritdoc IUSDCEscrow
    function deposit(uint256 amount, bytes32 recipient) external nonReentrant returns (uint64 depositId) {
        if (_migratedTo != address(0)) revert EscrowMigrated(_migratedTo);
        if (_depositsPaused) revert EscrowDepositsPaused();
        if (amount == 0) revert EscrowZeroAmount();
        depositId = _nextDepositId;
        if (depositId == 0) {
            // A successor's first deposit: only once the predecessor stopped taking them, after its last id.
            if (_predecessor.migratedTo() != address(this)) {
                revert EscrowPredecessorActive(address(_predecessor));
            }
            depositId = _predecessor.nextDepositId();
        }
        _nextDepositId = depositId + 1;
        // What arrived, not what was asked: a token that takes a fee on transfer must not credit the fee.
        uint256 before = _usdc.balanceOf(address(this));
        _usdc.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _usdc.balanceOf(address(this)) - before;
        if (received == 0) revert EscrowZeroAmount();
        emit Deposited(depositId, msg.sender, recipient, received);
    }

    /// @inheritdoc IUSDCEscrow
    function withdraw(WithdrawalClaim calldata claim, bytes32[] calldata proof)
        external
        nonReentrant
        returns (uint256 usdcAmount)
    {
        return _withdraw(claim, proof, claim.recipient);
    }

    /// @inheritdoc IUSDCEscrow
    function withdrawTo(WithdrawalClaim calldata claim, bytes32[] calldata proof, address to)
        external
        nonReentrant
        returns (uint256 usdcAmount)
    {
        if (msg.sender != claim.recipient) revert EscrowNotRecipient(claim.claimId, claim.recipient);
        if (to == address(0)) revert EscrowZeroAddress();
        emit WithdrawalRedirected(claim.claimId, claim.recipient, to);
        return _withdraw(claim, proof, to);
    }

    /// @dev Pays `claim` to `to` once every rule holds; the event names the claim's own recipient.
    function _withdraw(WithdrawalClaim calldata claim, bytes32[] calldata proof, address to)
        private
        returns (uint256 usdcAmount)
    {
        usdcAmount = _payout(claim, _provenPayable(claim, proof));
        uint256 balance = _usdc.balanceOf(address(this));
        if (usdcAmount > balance) revert EscrowInsufficientReserve(claim.claimId, usdcAmount, balance);
        _takeOutflow(usdcAmount);

        _paid[claim.claimId] = true;
        _usdc.safeTransfer(to, usdcAmount);
        emit Withdrawn(
            claim.claimId,
            claim.recipient,
            claim.account,
            claim.epoch,
            claim.mycoAmount,
            claim.flowPenalty,
            claim.priorRedeemed,
            usdcAmount
        );
    }

    /// @dev The committed figures `claim` pays by, once it may pay: withdrawals run, it is unpaid, its epoch's live
    ///      commitment is not cancelled and is payable, and `proof` proves it against that commitment's root.
    function _provenPayable(WithdrawalClaim calldata claim, bytes32[] calldata proof)
        private
        view
        returns (IStateCommitment.ReserveFigures memory)
    {
        if (_migratedTo != address(0)) revert EscrowMigrated(_migratedTo);
        if (_withdrawalStop.engaged()) revert EscrowWithdrawalsPaused();
        if (_paid[claim.claimId]) revert EscrowClaimAlreadyPaid(claim.claimId);
        (IStateCommitment.Commitment memory c, bytes32 hash, uint64 finalAt) =
            _commitment.liveCommitment(claim.epoch);
        if (_cancelled[hash] != 0) revert EscrowCommitmentCancelled(claim.epoch, hash);
        uint64 payable_ = _payableAt(finalAt);
        if (block.timestamp < payable_) revert EscrowRootNotPayable(claim.epoch, payable_);
        if (MerkleProof.verifyCalldata(proof, c.stateRoot, leafOf(claim))) {
            return _inheritedRules(claim, hash, c);
        }
        // A claim certified for the predecessor: its leaf binds the predecessor's address.
        if (
            address(_predecessor) == address(0)
                || !MerkleProof.verifyCalldata(
                    proof, c.stateRoot, ClaimLeaf.hash(block.chainid, address(_predecessor), claim)
                )
        ) revert EscrowInvalidProof(claim.claimId, claim.epoch);
        return _inheritedRules(claim, hash, c);
    }

    /// @inheritdoc IUSDCEscrow
    function pauseDeposits() external onlyGuardianOrAdmin {
        _depositsPaused = true;
        emit PauseChanged(true, true, msg.sender);
    }

    /// @inheritdoc IUSDCEscrow
    function unpauseDeposits() external onlyGuardianOrAdmin {
        _depositsPaused = false;
        emit PauseChanged(true, false, msg.sender);
    }

    /// @inheritdoc IUSDCEscrow
    function pauseWithdrawals() external onlyGuardianOrAdmin {
        Brake.Stop memory stop = _withdrawalStop.next();
        _withdrawalStop = stop;
        emit PauseChanged(false, true, msg.sender);
        emit WithdrawalsStopped(stop.start, stop.until);
    }

    /// @inheritdoc IUSDCEscrow
    function unpauseWithdrawals() external onlyGuardianOrAdmin {
        _withdrawalStop.release();
        emit PauseChanged(false, false, msg.sender);
    }

    /// @inheritdoc IUSDCEscrow
    function cancelCommitment(uint64 epoch, bytes32 commitmentHash, string calldata reason)
        external
        onlyRole(GUARDIAN_ROLE)
    {
        (, bytes32 live, uint64 finalAt) = _commitment.liveCommitment(epoch);
        if (live != commitmentHash) revert EscrowNotLiveCommitment(epoch, live, commitmentHash);
        // Only before its first claim can pay: a cancellation never strands claims already being paid.
        uint64 payable_ = _payableAt(finalAt);
        if (block.timestamp >= payable_) revert EscrowCancelTooLate(epoch, payable_);
        _cancelled[commitmentHash] = epoch;
        delete _undoDue[commitmentHash];
        emit CommitmentCancelled(epoch, commitmentHash, msg.sender, reason);
    }

    /// @inheritdoc IUSDCEscrow
    function scheduleUncancel(bytes32 commitmentHash) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint64 epoch = _cancelled[commitmentHash];
        if (epoch == 0) revert EscrowNotCancelled(commitmentHash);
        uint64 effectiveAt = uint64(block.timestamp) + uint64(defaultAdminDelay());
        _undoDue[commitmentHash] = effectiveAt;
        emit UncancelScheduled(epoch, commitmentHash, effectiveAt);
    }

    /// @inheritdoc IUSDCEscrow
    function vetoUncancel(bytes32 commitmentHash) external onlyGuardianOrAdmin {
        uint64 due = _undoDue[commitmentHash];
        if (due == 0) revert EscrowNoUncancelDue(commitmentHash, 0);
        delete _undoDue[commitmentHash];
        emit UncancelVetoed(_cancelled[commitmentHash], commitmentHash, msg.sender);
    }

    /// @inheritdoc IUSDCEscrow
    function applyUncancel(bytes32 commitmentHash) external {
        uint64 due = _undoDue[commitmentHash];
        if (due == 0 || block.timestamp < due) revert EscrowNoUncancelDue(commitmentHash, due);
        uint64 epoch = _cancelled[commitmentHash];
        delete _undoDue[commitmentHash];
        delete _cancelled[commitmentHash];
        emit CommitmentUncancelled(epoch, commitmentHash);
    }

    /// @inheritdoc IUSDCEscrow
    function setOutflowLimit(uint128 limit, uint64 period) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (limit == 0 || period == 0) revert EscrowInvalidOutflowLimit();
        OutflowBucket.Bucket storage b = _outflow;
        // Tighter: neither a bigger bucket nor a faster refill (limit/period ≤ old limit/old period).
        bool tighter = limit <= b.limit && uint256(limit) * b.period <= uint256(b.limit) * period;
        if (tighter) {
            b.reset(limit, period, block.timestamp);
            if (_pendingAt != 0) {
                emit OutflowLimitScheduleCancelled(_pendingLimit, _pendingPeriod);
                delete _pendingAt;
            }
            emit OutflowLimitChanged(limit, period);
            return;
        }
        uint64 effectiveAt = uint64(block.timestamp) + uint64(defaultAdminDelay());
        (_pendingLimit, _pendingPeriod, _pendingAt) = (limit, period, effectiveAt);
        emit OutflowLimitScheduled(limit, period, effectiveAt);
    }

    /// @inheritdoc IUSDCEscrow
    function applyOutflowLimit() external {
        uint64 at = _pendingAt;
        if (at == 0 || block.timestamp < at) revert EscrowNoLimitDue(at);
        delete _pendingAt;
        _outflow.reset(_pendingLimit, _pendingPeriod, block.timestamp);
        emit OutflowLimitChanged(_pendingLimit, _pendingPeriod);
    }

    /// @inheritdoc IUSDCEscrow
    function quoteWithdrawal(WithdrawalClaim calldata claim) external view returns (uint256) {
        return _payout(claim, _commitment.commitmentOf(claim.epoch).reserve);
    }

    /// @inheritdoc IUSDCEscrow
    function isPaid(uint256 claimId) public view returns (bool) {
        return _paid[claimId] || (address(_predecessor) != address(0) && _predecessor.isPaid(claimId));
    }

    /// @dev What a successor adds to a claim's rules (nothing for a first deployment): it pays nothing until the
    ///      predecessor migrated here, no claim the predecessor paid, and no claim of a commitment the predecessor
    ///      holds cancelled. Claim ids are one sequence for both, so the paid bits are one nullifier.
    function _inheritedRules(
        WithdrawalClaim calldata claim,
        bytes32 hash,
        IStateCommitment.Commitment memory c
    ) private view returns (IStateCommitment.ReserveFigures memory) {
        USDCEscrow p = _predecessor;
        if (address(p) == address(0)) return c.reserve;
        if (p.migratedTo() != address(this)) revert EscrowPredecessorActive(address(p));
        if (p.isPaid(claim.claimId)) revert EscrowClaimAlreadyPaid(claim.claimId);
        if (p.isCancelled(hash)) revert EscrowCommitmentCancelled(claim.epoch, hash);
        return c.reserve;
    }

    /// @inheritdoc IEscrowMigration
    function scheduleMigration(address successor) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkSuccessor(successor);
        uint64 effectiveAt = uint64(block.timestamp) + uint64(defaultAdminDelay());
        (_pendingSuccessor, _migrationAt) = (successor, effectiveAt);
        emit MigrationScheduled(successor, effectiveAt);
    }

    /// @inheritdoc IEscrowMigration
    function vetoMigration() external onlyGuardianOrAdmin {
        if (_migrationAt == 0) revert EscrowNoMigrationDue(0);
        emit MigrationVetoed(_pendingSuccessor, msg.sender);
        delete _pendingSuccessor;
        delete _migrationAt;
    }

    /// @inheritdoc IEscrowMigration
    function applyMigration() external nonReentrant {
        uint64 at = _migrationAt;
        if (at == 0 || block.timestamp < at) revert EscrowNoMigrationDue(at);
        address successor = _pendingSuccessor;
        _checkSuccessor(successor);
        delete _pendingSuccessor;
        delete _migrationAt;
        _migratedTo = successor;
        uint256 amount = _usdc.balanceOf(address(this));
        _usdc.safeTransfer(successor, amount);
        emit Migrated(successor, amount);
    }

    /// @inheritdoc IEscrowMigration
    function migrationDue() external view returns (address successor, uint64 effectiveAt) {
        return (_pendingSuccessor, _migrationAt);
    }

    /// @inheritdoc IEscrowMigration
    function migratedTo() external view returns (address) {
        return _migratedTo;
    }

    /// @inheritdoc IEscrowMigration
    function predecessor() external view returns (address) {
        return address(_predecessor);
    }

    /// @dev A successor names this escrow as its predecessor (so it reads our paid record), and we have not
    ///      migrated already.
    function _checkSuccessor(address successor) private view {
        if (_migratedTo != address(0)) revert EscrowMigrated(_migratedTo);
        if (successor.code.length == 0 || IEscrowMigration(successor).predecessor() != address(this)) {
            revert EscrowInvalidSuccessor(successor);
        }
    }

    /// @inheritdoc IUSDCEscrow
    function depositsPaused() external view returns (bool) {
        return _depositsPaused;
    }

    /// @inheritdoc IUSDCEscrow
    function withdrawalsPaused() external view returns (bool) {
        return _withdrawalStop.engaged();
    }

    /// @inheritdoc IUSDCEscrow
    function withdrawalsPausedUntil() external view returns (uint64) {
        return _withdrawalStop.engaged() ? _withdrawalStop.until : 0;
    }

    /// @inheritdoc IUSDCEscrow
    function isCancelled(bytes32 commitmentHash) external view returns (bool) {
        return _cancelled[commitmentHash] != 0;
    }

    /// @inheritdoc IUSDCEscrow
    function uncancelDue(bytes32 commitmentHash) external view returns (uint64) {
        return _undoDue[commitmentHash];
    }

    /// @inheritdoc IBrake
    function MAX_STOP() external pure returns (uint64) {
        return Brake.MAX_STOP;
    }

    /// @inheritdoc IBrake
    function STOP_COOLDOWN() external pure returns (uint64) {
        return Brake.STOP_COOLDOWN;
    }

    /// @inheritdoc IUSDCEscrow
    function payableAt(uint64 epoch) external view returns (uint64) {
        return _payableAt(_commitment.finalAt(epoch));
    }

    /// @inheritdoc IUSDCEscrow
    function safety() external view returns (Safety memory) {
        return Safety({
            withdrawalDelay: _withdrawalDelay, outflowLimit: _outflow.limit, outflowPeriod: _outflow.period
        });
    }

    /// @inheritdoc IUSDCEscrow
    function outflowAvailable() external view returns (uint256) {
        return _outflow.availableAt(block.timestamp);
    }

    /// @inheritdoc IUSDCEscrow
    function pammParams() external view returns (PammParams memory) {
        return PammParams({alphaBar: _alphaBar, xuBar: _xuBar, thetaBar: _thetaBar, decay: _decay});
    }

    /// @inheritdoc IUSDCEscrow
    function usdc() external view returns (address) {
        return address(_usdc);
    }

    /// @inheritdoc IUSDCEscrow
    function stateCommitment() external view returns (address) {
        return address(_commitment);
    }

    /// @inheritdoc IUSDCEscrow
    function nextDepositId() external view returns (uint64) {
        return _nextDepositId == 0 ? _predecessor.nextDepositId() : _nextDepositId;
    }

    /// @inheritdoc IUSDCEscrow
    function leafOf(WithdrawalClaim calldata claim) public view returns (bytes32) {
        return ClaimLeaf.hash(block.chainid, address(this), claim);
    }

    /// @dev finalAt + the withdrawal delay, saturating (a stopped clock never pays).
    function _payableAt(uint64 finalAt) private view returns (uint64) {
        if (finalAt > type(uint64).max - _withdrawalDelay) return type(uint64).max;
        return finalAt + _withdrawalDelay;
    }

    /// @dev Takes `amount` from the outflow bucket, or reverts saying when it fits (a payout above the limit
    ///      fits when the bucket is full).
    function _takeOutflow(uint256 amount) private {
        OutflowBucket.Bucket storage b = _outflow;
        uint256 fits = b.fitsAt(amount, block.timestamp);
        if (fits > block.timestamp) {
            revert EscrowOutflowLimited(amount, b.availableAt(block.timestamp), uint64(fits));
        }
        b.take(amount, block.timestamp);
    }

    /// @dev The guardian's veto of a scheduled role grant.
    function _mayVeto(address account) internal view override returns (bool) {
        return hasRole(GUARDIAN_ROLE, account);
    }

    /// @dev The claim's slice of the P-AMM curve from the epoch's committed state, divided by the flow penalty,
    ///      then WAD USD to USDC; every step rounds down (in the reserve's favour). Slices telescope: an epoch's
    ///      claims together pay exactly what redeeming their sum at once pays, in whatever order they are paid.
    ///      Committed figures are at most `MAX_FIGURE` and the slice lies within the supply, where the P-AMM is
    ///      defined and cannot overflow; both are checked here so a bad claim gets a named error, never a Panic.
    function _payout(WithdrawalClaim calldata claim, IStateCommitment.ReserveFigures memory figures)
        private
        view
        returns (uint256)
    {
        if (claim.flowPenalty < WAD) revert EscrowInvalidPenalty(claim.claimId, claim.flowPenalty);
        uint256 supply = figures.totalSupply;
        if (supply == 0 || claim.mycoAmount > supply || claim.priorRedeemed > supply - claim.mycoAmount) {
            uint256 through = claim.priorRedeemed > type(uint256).max - claim.mycoAmount
                ? type(uint256).max
                : claim.priorRedeemed + claim.mycoAmount;
            revert EscrowClaimOutsideSupply(claim.claimId, through, supply);
        }
        PammMath.State memory s0 =
            PammMath.State({x: figures.flowPressure, b: figures.totalReserve, y: supply});
        PammMath.Params memory params =
            PammMath.Params({alphaBar: _alphaBar, xuBar: _xuBar, thetaBar: _thetaBar, decay: _decay});
        uint256 before = PammMath.redeem(s0, claim.priorRedeemed, params);
        uint256 through_ = PammMath.redeem(s0, claim.priorRedeemed + claim.mycoAmount, params);
        uint256 usd = through_ > before ? through_ - before : 0;
        return Math.mulDiv(usd, WAD, claim.flowPenalty) / WAD_PER_USDC_UNIT;
    }
}
