// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StateCommitment} from "../../StateCommitment.sol";
import {USDCEscrow} from "../../USDCEscrow.sol";
import {IStateCommitment} from "../../interfaces/IStateCommitment.sol";
import {IUSDCEscrow} from "../../interfaces/IUSDCEscrow.sol";
import {TestUSDC} from "../../tokens/TestUSDC.sol";
import {Attesters} from "../utils/Attesters.sol";

/// @notice Drives StateCommitment and the escrow through random commits (fully backed and below par), waits,
///         withdrawals, revocations, cancellations, clock stops and deposits, and keeps the ghost records the
///         invariants are checked against. Any payment that breaks a rule is counted in `violations`.
contract EscrowHandler is Attesters {
    struct Recorded {
        IUSDCEscrow.WithdrawalClaim claim;
        bytes32[] proof;
        bytes32 commitmentHash;
        uint256 quote;
    }

    struct Payment {
        uint64 at;
        uint256 amount;
    }

    StateCommitment internal immutable sc;
    USDCEscrow internal immutable escrow;
    TestUSDC internal immutable usdc;
    address internal immutable relayer;
    address internal immutable guardian;
    bytes32 internal constant ACCOUNT = keccak256("invariant account");

    Recorded[] internal _claims;
    Payment[] internal _payments;
    uint256 internal _nextClaimId = 1;
    mapping(uint256 claimId => uint256) public timesPaid;
    mapping(bytes32 commitmentHash => bool) public revoked;
    mapping(bytes32 commitmentHash => bool) public cancelled;
    uint256 public totalPaid;
    uint256 public totalQuotedOfPaid;
    uint256 public totalDeposited;
    uint256 public revocations;
    uint256 public payments;
    /// @notice Payments that broke a rule: paid twice, from a revoked, cancelled or not yet payable commitment, or
    ///         not what the commitment quoted.
    uint256 public violations;

    constructor(
        StateCommitment sc_,
        USDCEscrow escrow_,
        TestUSDC usdc_,
        address relayer_,
        address guardian_
    ) {
        sc = sc_;
        escrow = escrow_;
        usdc = usdc_;
        relayer = relayer_;
        guardian = guardian_;
    }

    /// @notice Commits the next epoch: two claims, figures fully backed or below par.
    function commit(uint256 seed) external {
        if (sc.paused()) return;
        uint64 epoch = sc.latestEpoch() + 1;
        IStateCommitment.ReserveFigures memory figures = _figures(seed);
        IUSDCEscrow.WithdrawalClaim memory a = _newClaim(epoch, bound(seed >> 64, 1, 100_000e18), 0);
        IUSDCEscrow.WithdrawalClaim memory b =
            _newClaim(epoch, bound(seed >> 128, 1, 100_000e18), a.mycoAmount);
        bytes32 leafA = escrow.leafOf(a);
        bytes32 leafB = escrow.leafOf(b);
        bytes32 root =
            leafA < leafB ? keccak256(abi.encode(leafA, leafB)) : keccak256(abi.encode(leafB, leafA));
        attestedCommit(sc, epoch, root, keccak256(abi.encode(seed)), figures);
        bytes32 hash = sc.commitmentHashOf(epoch);
        _record(a, leafB, hash);
        _record(b, leafA, hash);
        // Batch timestamps must increase: the next commit is at least a second later.
        vm.warp(block.timestamp + 1);
    }

    /// @notice Lets time pass (up to two windows).
    function wait(uint256 secondsToWait) external {
        vm.warp(block.timestamp + bound(secondsToWait, 1, 2 * sc.challengeWindow()));
    }

    /// @notice Tries to pay recorded claims from `index` on until one pays (at most four tries); checks every
    ///         payment that goes through.
    function withdraw(uint256 index) external {
        for (uint256 k = 0; k < 4 && k < _claims.length; ++k) {
            if (_tryWithdraw(_claims[(index % _claims.length + k) % _claims.length])) return;
        }
    }

    function _tryWithdraw(Recorded storage r) private returns (bool) {
        uint64 epoch = r.claim.epoch;
        try escrow.withdraw(r.claim, r.proof) returns (uint256 paid) {
            bool live = epoch <= sc.latestEpoch() && sc.commitmentHashOf(epoch) == r.commitmentHash;
            bool payable_ = live && block.timestamp >= escrow.payableAt(epoch);
            if (
                timesPaid[r.claim.claimId] != 0 || revoked[r.commitmentHash] || cancelled[r.commitmentHash]
                    || !payable_ || paid != r.quote
            ) ++violations;
            ++timesPaid[r.claim.claimId];
            totalPaid += paid;
            totalQuotedOfPaid += r.quote;
            ++payments;
            _payments.push(Payment(uint64(block.timestamp), paid));
            return true;
        } catch {
            return false;
        }
    }

    /// @notice The guardian revokes a commitment still inside its window (one call in four).
    function revoke(uint256 seed) external {
        uint64 latest = sc.latestEpoch();
        if (latest == 0 || seed % 4 != 0) return;
        seed >>= 2;
        uint64 epoch = uint64(bound(seed, 1, latest));
        bytes32 hash = sc.commitmentHashOf(epoch);
        vm.prank(guardian);
        try sc.revoke(epoch) {
            revoked[hash] = true;
            ++revocations;
        } catch {}
    }

    /// @notice The guardian cancels a live commitment (one call in eight, so that most roots get to pay).
    function cancel(uint256 seed) external {
        uint64 latest = sc.latestEpoch();
        if (latest == 0 || seed % 8 != 0) return;
        seed >>= 3;
        uint64 epoch = uint64(bound(seed, 1, latest));
        bytes32 hash = sc.commitmentHashOf(epoch);
        vm.prank(guardian);
        // Refused once the commitment pays (or while it is already cancelled: nothing changes then).
        try escrow.cancelCommitment(epoch, hash, "invariant run") {
            cancelled[hash] = true;
        } catch {}
    }

    /// @notice The guardian restarts a stopped commitment clock, or stops it (one call in four).
    function toggleClock(uint256 seed) external {
        bool stopped = sc.paused();
        if (!stopped && seed % 4 != 0) return;
        vm.prank(guardian);
        // A new stop is refused within the cooldown of the last one's end.
        if (stopped) sc.unpause();
        else try sc.pause() {} catch {}
    }

    /// @notice Someone deposits.
    function deposit(uint256 amount) external {
        amount = bound(amount, 1, 1_000_000e6);
        usdc.mint(address(this), amount);
        usdc.approve(address(escrow), amount);
        escrow.deposit(amount, ACCOUNT);
        totalDeposited += amount;
    }

    /// @notice Whether every run of consecutive payments, from the i-th to the j-th, stayed within what a full
    ///         bucket refilled linearly allows: limit + limit·(t_j − t_i)/period.
    function withinTokenBucket(uint256 limit, uint256 period) external view returns (bool) {
        for (uint256 j = 0; j < _payments.length; ++j) {
            uint256 sum;
            for (uint256 i = j + 1; i > 0; --i) {
                Payment storage p = _payments[i - 1];
                sum += p.amount;
                if (sum > limit + limit * (_payments[j].at - p.at) / period) return false;
            }
        }
        return true;
    }

    /// @notice Commits one more epoch and reverts with `Advanced`: the invariant checks the chain can always move
    ///         on (after any revocation) without changing the run's state.
    function probeAdvance() external {
        uint64 epoch = sc.latestEpoch() + 1;
        bytes32 parent = epoch == 1 ? bytes32(0) : sc.commitmentOf(epoch - 1).stateRoot;
        IStateCommitment.ReserveFigures memory f =
            IStateCommitment.ReserveFigures(1e24, 1e24, 0, uint64(block.timestamp));
        sc.commit(
            epoch,
            parent,
            keccak256("probe"),
            keccak256("probe"),
            f,
            attest(sc, epoch, parent, keccak256("probe"), keccak256("probe"), f)
        );
        revert Advanced(epoch);
    }

    error Advanced(uint64 epoch);

    function _figures(uint256 seed) private view returns (IStateCommitment.ReserveFigures memory) {
        uint64 t = uint64(block.timestamp);
        if (seed % 2 == 0) return IStateCommitment.ReserveFigures(1e30, 1e30, 0, t);
        // Below par: a reserve of 30%–100% of a 1M–1e12 MYCO supply, any redemption level up to the supply.
        uint256 supply = bound(seed >> 32, 1_000_000e18, 1e30);
        uint256 reserve = supply * bound(seed >> 96, 30, 100) / 100;
        uint256 level = bound(seed >> 160, 0, supply);
        return IStateCommitment.ReserveFigures(supply, reserve, level, t);
    }

    function _newClaim(uint64 epoch, uint256 myco, uint256 prior)
        private
        returns (IUSDCEscrow.WithdrawalClaim memory)
    {
        return IUSDCEscrow.WithdrawalClaim(_nextClaimId++, ACCOUNT, address(0xB0B), myco, 1e18, epoch, prior);
    }

    function _record(IUSDCEscrow.WithdrawalClaim memory c, bytes32 sibling, bytes32 hash) private {
        Recorded storage r = _claims.push();
        r.claim = c;
        r.proof.push(sibling);
        r.commitmentHash = hash;
        r.quote = escrow.quoteWithdrawal(c);
    }
}
