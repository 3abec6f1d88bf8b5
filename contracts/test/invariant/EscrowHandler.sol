// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StateCommitment} from "../../StateCommitment.sol";
import {USDCEscrow} from "../../USDCEscrow.sol";
import {IStateCommitment} from "../../interfaces/IStateCommitment.sol";
import {IUSDCEscrow} from "../../interfaces/IUSDCEscrow.sol";
import {BlocklistUSDC} from "../utils/BlocklistUSDC.sol";
import {Attesters} from "../utils/Attesters.sol";
import {GhostClock} from "./GhostClock.sol";

/// @notice Drives StateCommitment and the escrow through random commits (fully backed and below par, reissuing
///         revoked or cancelled claims under their own ids), waits, withdrawals (to several recipients with
///         several penalties, redirected when the token blocklists the recipient), revocations, cancellations,
///         clock and withdrawal stops, attester rotations, tighter and looser outflow limits, role grants by the
///         admin and deposits. It keeps its own model of what should hold (when each commitment is final, by
///         `GhostClock`; what each claim and commitment paid) so that the invariants judge the contracts by
///         something other than the contracts' own views. A payment that breaks a rule is counted in
///         `violations`, with the rule's number in `lastViolation`.
contract EscrowHandler is Attesters {
    struct Recorded {
        IUSDCEscrow.WithdrawalClaim claim;
        bytes32[] proof;
        bytes32 commitmentHash;
        uint64 committedAt;
        uint256 stopsAtCommit;
    }

    struct Payment {
        uint64 at;
        uint256 amount;
    }

    StateCommitment internal immutable sc;
    USDCEscrow internal immutable escrow;
    BlocklistUSDC internal immutable usdc;
    address internal immutable admin;
    address internal immutable guardian;
    /// @notice An address the admin tries to make guardian: it may hold the role only a full delay after a grant.
    address public constant INTRUDER = address(0x1D7);
    bytes32 internal constant ACCOUNT = keccak256("invariant account");
    address[3] internal RECIPIENTS = [address(0xB0B), address(0xCA7), address(0xD06)];
    address internal constant REDIRECT = address(0xF00D);

    GhostClock public immutable clock;
    GhostClock public immutable withdrawalStops;
    Recorded[] internal _claims;
    Payment[] internal _payments;
    uint256 internal _nextClaimId = 1;
    mapping(uint256 claimId => uint256) public timesPaid;
    mapping(bytes32 commitmentHash => bool) public revoked;
    mapping(bytes32 commitmentHash => bool) public cancelled;
    /// @dev USDC paid from each commitment, and what redeeming its claims' whole MYCO at penalty 1 pays.
    mapping(bytes32 commitmentHash => uint256) public paidFrom;
    mapping(bytes32 commitmentHash => uint256) public wholeSumQuote;
    bytes32[] internal _commitments;
    /// @dev Every epoch seen final, with its commitment and finality time then.
    uint64[] internal _seenFinal;
    mapping(uint64 epoch => bytes32) internal _finalHash;
    mapping(uint64 epoch => uint64) internal _finalAt;
    /// @dev When the admin scheduled the intruder's pending grant (0: none), and whether one was applied.
    uint64 public intruderGrantAt;
    bool public intruderGranted;
    bool internal rotationScheduled;
    uint256 public totalPaid;
    uint256 public totalDeposited;
    uint256 public payments;
    uint256 public violations;
    uint256 public lastViolation;

    constructor(
        StateCommitment sc_,
        USDCEscrow escrow_,
        BlocklistUSDC usdc_,
        address admin_,
        address guardian_
    ) {
        sc = sc_;
        escrow = escrow_;
        usdc = usdc_;
        admin = admin_;
        guardian = guardian_;
        clock = new GhostClock();
        withdrawalStops = new GhostClock();
    }

    // ---------------------------------------------------------------- actions

    /// @notice Commits the next epoch: two claims (or a reissue of an unpaid claim whose commitment is gone or
    ///         cancelled, under its own id), figures fully backed or below par.
    function commit(uint256 seed) external {
        if (sc.paused()) return;
        uint64 epoch = sc.latestEpoch() + 1;
        IUSDCEscrow.WithdrawalClaim memory a = _firstClaim(epoch, seed);
        IUSDCEscrow.WithdrawalClaim memory b = _newClaim(epoch, seed >> 128, a.mycoAmount);
        bytes32 hash = _commitPair(epoch, a, b, seed);
        _commitments.push(hash);
        // A copy (memory structs alias): the two claims' whole MYCO as one slice at penalty 1.
        IUSDCEscrow.WithdrawalClaim memory whole = IUSDCEscrow.WithdrawalClaim(
            0, a.account, a.recipient, a.mycoAmount + b.mycoAmount, 1e18, epoch, 0
        );
        wholeSumQuote[hash] = escrow.quoteWithdrawal(whole);
        _record(a, escrow.leafOf(b), hash);
        _record(b, escrow.leafOf(a), hash);
        // Batch timestamps must increase: the next commit is at least a second later.
        vm.warp(block.timestamp + 1);
    }

    /// @dev What one commit sends (in memory, so the call fits the stack).
    struct Commitment {
        uint64 epoch;
        bytes32 parent;
        bytes32 root;
        bytes32 digest;
        IStateCommitment.ReserveFigures figures;
    }

    /// @dev Commits `epoch` with the two-leaf root over `a` and `b`; returns its hash.
    function _commitPair(
        uint64 epoch,
        IUSDCEscrow.WithdrawalClaim memory a,
        IUSDCEscrow.WithdrawalClaim memory b,
        uint256 seed
    ) private returns (bytes32) {
        Commitment memory c;
        c.epoch = epoch;
        (bytes32 leafA, bytes32 leafB) = (escrow.leafOf(a), escrow.leafOf(b));
        c.root = leafA < leafB ? keccak256(abi.encode(leafA, leafB)) : keccak256(abi.encode(leafB, leafA));
        c.parent = epoch == 1 ? bytes32(0) : sc.commitmentOf(epoch - 1).stateRoot;
        c.digest = keccak256(abi.encode(seed, block.timestamp));
        c.figures = _figures(seed);
        bytes[] memory signatures = _sign(c.epoch, c.parent, c.root, c.digest, c.figures);
        sc.commit(c.epoch, c.parent, c.root, c.digest, c.figures, signatures);
        return sc.commitmentHashOf(epoch);
    }

    /// @notice Lets time pass (up to two windows, or rarely past a whole stop).
    function wait(uint256 secondsToWait) external {
        uint256 most = secondsToWait % 16 == 0 ? 10 days : 2 * sc.challengeWindow();
        vm.warp(block.timestamp + bound(secondsToWait >> 4, 1, most));
        _observeFinality();
    }

    /// @notice Tries to pay recorded claims from `index` on until one pays (at most four tries), redirecting a
    ///         blocklisted recipient's payment; checks every payment that goes through.
    function withdraw(uint256 index) external {
        for (uint256 k = 0; k < 4 && k < _claims.length; ++k) {
            if (_tryWithdraw(_claims[(index % _claims.length + k) % _claims.length])) break;
        }
        _observeFinality();
    }

    /// @notice The guardian revokes a commitment (one call in four); final ones must refuse.
    function revoke(uint256 seed) external {
        uint64 latest = sc.latestEpoch();
        if (latest == 0 || seed % 4 != 0) return;
        uint64 epoch = uint64(bound(seed >> 2, 1, latest));
        bytes32 hash = sc.commitmentHashOf(epoch);
        bool finalByModel = _finalByModel(epoch, hash);
        vm.prank(guardian);
        try sc.revoke(epoch) {
            if (_wasFinal(epoch, hash) || finalByModel) _violation(1);
            revoked[hash] = true;
            // Every later commitment goes with it.
            for (uint64 e = epoch + 1; e <= latest; ++e) {
                _retire(e);
            }
        } catch {}
    }

    /// @notice The guardian cancels a live commitment (one call in eight, so that most roots get to pay).
    function cancel(uint256 seed) external {
        uint64 latest = sc.latestEpoch();
        if (latest == 0 || seed % 8 != 0) return;
        uint64 epoch = uint64(bound(seed >> 3, 1, latest));
        bytes32 hash = sc.commitmentHashOf(epoch);
        vm.prank(guardian);
        try escrow.cancelCommitment(epoch, hash, "invariant run") {
            if (paidFrom[hash] != 0) _violation(2);
            cancelled[hash] = true;
        } catch {}
    }

    /// @notice The admin undoes a cancellation (scheduling it; a later call applies it once due).
    function uncancel(uint256 index) external {
        if (_commitments.length == 0) return;
        bytes32 hash = _commitments[index % _commitments.length];
        if (!cancelled[hash]) return;
        if (escrow.uncancelDue(hash) == 0) {
            vm.prank(admin);
            escrow.scheduleUncancel(hash);
        } else {
            try escrow.applyUncancel(hash) {
                cancelled[hash] = false;
            } catch {}
        }
    }

    /// @notice The guardian stops or releases the commitment clock (stops one call in four).
    function toggleClock(uint256 seed) external {
        if (sc.paused()) {
            vm.prank(guardian);
            sc.unpause();
            clock.released(uint64(block.timestamp));
        } else if (seed % 4 == 0) {
            vm.prank(guardian);
            try sc.pause() {
                if (!clock.mayStop(uint64(block.timestamp))) _violation(3);
                clock.stopped(uint64(block.timestamp));
            } catch {
                if (clock.mayStop(uint64(block.timestamp))) _violation(4);
            }
        }
        _observeFinality();
    }

    /// @notice The guardian stops or releases withdrawals (stops one call in four).
    function toggleWithdrawals(uint256 seed) external {
        if (escrow.withdrawalsPaused()) {
            vm.prank(guardian);
            escrow.unpauseWithdrawals();
            withdrawalStops.released(uint64(block.timestamp));
        } else if (seed % 4 == 0) {
            vm.prank(guardian);
            try escrow.pauseWithdrawals() {
                if (!withdrawalStops.mayStop(uint64(block.timestamp))) _violation(3);
                withdrawalStops.stopped(uint64(block.timestamp));
            } catch {}
        }
    }

    /// @notice The admin rotates the attester set (4 keys at threshold 3, or 3 of them at threshold 3), scheduling
    ///         it; a later call applies it once due.
    function rotateAttesters(uint256 seed) external {
        if (rotationScheduled) {
            try sc.applyAttesters() {
                rotationScheduled = false;
            } catch {}
            return;
        }
        address[] memory all = attesterSet();
        address[] memory three = new address[](3);
        for (uint256 i = 0; i < 3; ++i) {
            three[i] = all[i];
        }
        vm.prank(admin);
        sc.scheduleAttesters(seed % 2 == 0 ? all : three, THRESHOLD);
        rotationScheduled = true;
    }

    /// @notice The admin tightens the outflow limit (at once) or schedules a looser one (a later call applies it).
    function setLimit(uint256 seed) external {
        IUSDCEscrow.Safety memory s = escrow.safety();
        uint128 limit = uint128(bound(seed, 10_000e6, 400_000e6));
        vm.prank(admin);
        try escrow.setOutflowLimit(limit, s.outflowPeriod) {} catch {}
        try escrow.applyOutflowLimit() {} catch {}
        if (escrow.safety().outflowLimit != s.outflowLimit) delete _payments;
    }

    /// @notice The admin grants the guardian role to an intruder (it only schedules), or anyone tries to apply
    ///         that grant, or the guardian vetoes it.
    function grantRole(uint256 seed) external {
        bytes32 role = escrow.GUARDIAN_ROLE();
        if (seed % 3 == 0) {
            vm.prank(admin);
            escrow.grantRole(role, INTRUDER);
            if (intruderGrantAt == 0) intruderGrantAt = uint64(block.timestamp);
        } else if (seed % 3 == 1) {
            try escrow.applyRoleGrant(role, INTRUDER) {
                // The model's rule: a grant applies only a full admin delay after it was scheduled.
                if (
                    intruderGrantAt == 0
                        || block.timestamp < uint256(intruderGrantAt) + escrow.defaultAdminDelay()
                ) {
                    _violation(11);
                }
                intruderGrantAt = 0;
                intruderGranted = true;
            } catch {}
        } else {
            vm.prank(guardian);
            try escrow.cancelRoleGrant(role, INTRUDER) {
                intruderGrantAt = 0;
            } catch {}
        }
    }

    /// @notice The token blocklists one of the recipients, or lifts it.
    function toggleBlocklist(uint256 seed) external {
        address who = RECIPIENTS[seed % RECIPIENTS.length];
        if (usdc.isBlacklisted(who)) usdc.unBlacklist(who);
        else usdc.blacklist(who);
    }

    /// @notice Someone deposits (what arrives is counted: the token may take a fee).
    function deposit(uint256 amount) external {
        amount = bound(amount, 1e6, 1_000_000e6);
        usdc.mint(address(this), amount);
        usdc.approve(address(escrow), amount);
        uint256 before = usdc.balanceOf(address(escrow));
        escrow.deposit(amount, ACCOUNT);
        totalDeposited += usdc.balanceOf(address(escrow)) - before;
    }

    // ---------------------------------------------------------------- probes the invariants call

    /// @notice Liveness: claim `i` pays now if the model says it must (its commitment live, final by the model's
    ///         clock, past the delay, not cancelled, unpaid, withdrawals running); reverts `Paid` (state undone)
    ///         or `Skipped`. A refusal for lack of outflow room or reserve is not a rule broken.
    function probePays(uint256 i) external {
        Recorded storage r = _claims[i];
        uint64 epoch = r.claim.epoch;
        bool live = epoch <= sc.latestEpoch() && sc.commitmentHashOf(epoch) == r.commitmentHash;
        if (
            !live || cancelled[r.commitmentHash] || escrow.isPaid(r.claim.claimId)
                || escrow.withdrawalsPaused()
        ) {
            revert Skipped();
        }
        if (block.timestamp < uint256(_modelFinalAt(r)) + escrow.safety().withdrawalDelay) revert Skipped();
        if (usdc.isBlacklisted(r.claim.recipient)) {
            vm.prank(r.claim.recipient);
            escrow.withdrawTo(r.claim, r.proof, REDIRECT);
        } else {
            escrow.withdraw(r.claim, r.proof);
        }
        revert Paid();
    }

    error Paid();
    error Skipped();

    /// @notice Commits one more epoch and reverts with `Advanced`: the chain can always move on (after any
    ///         revocation and rotation) without changing the run's state.
    function probeAdvance() external {
        uint64 epoch = sc.latestEpoch() + 1;
        bytes32 parent = epoch == 1 ? bytes32(0) : sc.commitmentOf(epoch - 1).stateRoot;
        IStateCommitment.ReserveFigures memory f =
            IStateCommitment.ReserveFigures(1e24, 1e24, 0, uint64(block.timestamp));
        bytes32 probe = keccak256(abi.encode("probe", block.timestamp));
        sc.commit(epoch, parent, probe, probe, f, _sign(epoch, parent, probe, probe, f));
        revert Advanced(epoch);
    }

    error Advanced(uint64 epoch);

    // ---------------------------------------------------------------- views the invariants read

    function claimCount() external view returns (uint256) {
        return _claims.length;
    }

    function commitmentCount() external view returns (uint256) {
        return _commitments.length;
    }

    function commitmentAt(uint256 i) external view returns (bytes32) {
        return _commitments[i];
    }

    /// @notice Whether every epoch once seen final is still final, with the same commitment and finality time.
    function finalityHeld() external view returns (bool) {
        for (uint256 i = 0; i < _seenFinal.length; ++i) {
            uint64 e = _seenFinal[i];
            if (!sc.isFinal(e) || sc.commitmentHashOf(e) != _finalHash[e] || sc.finalAt(e) != _finalAt[e]) {
                return false;
            }
        }
        return true;
    }

    /// @notice Whether the contract's finality time of every live recorded commitment is the model's.
    function finalityMatchesTheModel() external view returns (bool) {
        for (uint256 i = 0; i < _claims.length; i += 2) {
            Recorded storage r = _claims[i];
            uint64 e = r.claim.epoch;
            if (e > sc.latestEpoch() || sc.commitmentHashOf(e) != r.commitmentHash) continue;
            if (sc.finalAt(e) != _modelFinalAt(r)) return false;
        }
        return true;
    }

    /// @notice Whether every run of consecutive payments since the last limit change, from the i-th to the j-th,
    ///         stayed within a token bucket with borrowing: limit + limit·(t_j − t_i)/period, plus the most any one
    ///         of them took beyond the whole limit (a payout above the limit pays from a full bucket and leaves a
    ///         debt; a zero payout fits even then).
    function withinTokenBucket() external view returns (bool) {
        IUSDCEscrow.Safety memory s = escrow.safety();
        uint256 limit = s.outflowLimit;
        for (uint256 j = 0; j < _payments.length; ++j) {
            uint256 sum;
            uint256 over;
            for (uint256 i = j + 1; i > 0; --i) {
                Payment storage p = _payments[i - 1];
                sum += p.amount;
                if (p.amount > limit && p.amount - limit > over) over = p.amount - limit;
                uint256 allowed = limit + limit * (_payments[j].at - p.at) / s.outflowPeriod;
                if (sum > allowed + over) return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- internals

    function _tryWithdraw(Recorded storage r) private returns (bool) {
        bool blocked = usdc.isBlacklisted(r.claim.recipient);
        try this.pay(r.claim, r.proof, blocked) returns (uint256 paid) {
            _check(r, paid);
            return true;
        } catch {
            return false;
        }
    }

    /// @dev A payment as its recipient would make it: redirected when the token refuses the recipient. External
    ///      so that a revert is caught whole.
    function pay(IUSDCEscrow.WithdrawalClaim calldata claim, bytes32[] calldata proof, bool redirect)
        external
        returns (uint256)
    {
        if (redirect) {
            vm.prank(claim.recipient);
            return escrow.withdrawTo(claim, proof, REDIRECT);
        }
        return escrow.withdraw(claim, proof);
    }

    /// @dev The rules a payment must have kept, judged by the model: paid once, from a live, uncancelled
    ///      commitment, final by the model's clock and past the delay, at most par, and an epoch never paying
    ///      more than redeeming its whole sum pays.
    function _check(Recorded storage r, uint256 paid) private {
        uint64 epoch = r.claim.epoch;
        bool live = epoch <= sc.latestEpoch() && sc.commitmentHashOf(epoch) == r.commitmentHash;
        if (timesPaid[r.claim.claimId] != 0) _violation(5);
        if (!live || revoked[r.commitmentHash]) _violation(6);
        if (cancelled[r.commitmentHash]) _violation(7);
        if (block.timestamp < uint256(_modelFinalAt(r)) + escrow.safety().withdrawalDelay) _violation(8);
        if (paid > r.claim.mycoAmount / 1e12) _violation(9);
        paidFrom[r.commitmentHash] += paid;
        if (paidFrom[r.commitmentHash] > wholeSumQuote[r.commitmentHash]) _violation(10);
        ++timesPaid[r.claim.claimId];
        totalPaid += paid;
        ++payments;
        _payments.push(Payment(uint64(block.timestamp), paid));
    }

    function _violation(uint256 rule) private {
        ++violations;
        lastViolation = rule;
    }

    /// @dev When the model says `r`'s commitment is final: its window on the clock, extended by each stop that
    ///      began before then (an ongoing one: never).
    function _modelFinalAt(Recorded storage r) private view returns (uint64) {
        return clock.finalAt(r.committedAt + sc.challengeWindow(), r.stopsAtCommit, uint64(block.timestamp));
    }

    /// @dev Records every live epoch the contract calls final, once.
    function _observeFinality() private {
        uint64 latest = sc.latestEpoch();
        uint64 from = _seenFinal.length == 0 ? 1 : _seenFinal[_seenFinal.length - 1] + 1;
        for (uint64 e = from; e <= latest && sc.isFinal(e); ++e) {
            _seenFinal.push(e);
            _finalHash[e] = sc.commitmentHashOf(e);
            _finalAt[e] = sc.finalAt(e);
        }
    }

    /// @dev Whether the model calls `hash` (epoch `epoch`) final now.
    function _finalByModel(uint64 epoch, bytes32 hash) private view returns (bool) {
        for (uint256 i = _claims.length; i > 0; --i) {
            Recorded storage r = _claims[i - 1];
            if (r.claim.epoch == epoch && r.commitmentHash == hash) {
                return block.timestamp >= _modelFinalAt(r);
            }
        }
        return false;
    }

    function _wasFinal(uint64 epoch, bytes32 hash) private view returns (bool) {
        return _finalHash[epoch] == hash && hash != bytes32(0);
    }

    function _retire(uint64 epoch) private {
        for (uint256 i = _claims.length; i > 0; --i) {
            Recorded storage r = _claims[i - 1];
            if (r.claim.epoch == epoch) revoked[r.commitmentHash] = true;
        }
    }

    /// @dev Signatures of the first `threshold()` attester keys (every set the handler rotates to holds them).
    function _sign(
        uint64 epoch,
        bytes32 parent,
        bytes32 root,
        bytes32 digest,
        IStateCommitment.ReserveFigures memory f
    ) private view returns (bytes[] memory) {
        return attestBy(sc.threshold(), sc, epoch, parent, root, digest, f);
    }

    function _figures(uint256 seed) private view returns (IStateCommitment.ReserveFigures memory) {
        uint64 t = uint64(block.timestamp);
        if (seed % 2 == 0) return IStateCommitment.ReserveFigures(1e30, 1e30, 0, t);
        // Below par: a reserve of 30%–100% of a 1M–1e12 MYCO supply, any redemption level up to the supply.
        uint256 supply = bound(seed >> 32, 1_000_000e18, 1e30);
        uint256 reserve = supply * bound(seed >> 96, 30, 100) / 100;
        uint256 level = bound(seed >> 160, 0, supply);
        return IStateCommitment.ReserveFigures(supply, reserve, level, t);
    }

    /// @dev The epoch's first claim: one in four reissues an unpaid claim whose commitment was revoked or
    ///      cancelled, under its own id (the paid bit must keep it paid at most once, whatever happens to the old
    ///      commitment later).
    function _firstClaim(uint64 epoch, uint256 seed) private returns (IUSDCEscrow.WithdrawalClaim memory c) {
        if (seed % 4 == 0 && _claims.length != 0) {
            Recorded storage old = _claims[(seed >> 2) % _claims.length];
            if (
                (revoked[old.commitmentHash] || cancelled[old.commitmentHash])
                    && timesPaid[old.claim.claimId] == 0
            ) {
                c = old.claim;
                (c.epoch, c.priorRedeemed) = (epoch, 0);
                return c;
            }
        }
        return _newClaim(epoch, seed >> 64, 0);
    }

    function _newClaim(uint64 epoch, uint256 seed, uint256 prior)
        private
        returns (IUSDCEscrow.WithdrawalClaim memory)
    {
        uint256 myco = bound(seed, 1, 100_000e18);
        uint256 penalty = [uint256(1e18), 1.5e18, 4e18][(seed >> 80) % 3];
        address recipient = RECIPIENTS[(seed >> 96) % RECIPIENTS.length];
        return IUSDCEscrow.WithdrawalClaim(_nextClaimId++, ACCOUNT, recipient, myco, penalty, epoch, prior);
    }

    function _record(IUSDCEscrow.WithdrawalClaim memory c, bytes32 sibling, bytes32 hash) private {
        Recorded storage r = _claims.push();
        r.claim = c;
        r.proof.push(sibling);
        r.commitmentHash = hash;
        r.committedAt = uint64(block.timestamp);
        r.stopsAtCommit = clock.count();
    }
}
