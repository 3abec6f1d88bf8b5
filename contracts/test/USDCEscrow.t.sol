// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {StateCommitment} from "../StateCommitment.sol";
import {USDCEscrow} from "../USDCEscrow.sol";
import {IStateCommitment} from "../interfaces/IStateCommitment.sol";
import {IUSDCEscrow} from "../interfaces/IUSDCEscrow.sol";
import {TestUSDC} from "../tokens/TestUSDC.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @dev Tries to re-enter the escrow while it pays out (the USDC here calls back on transfer).
contract ReentrantUSDC is TestUSDC {
    USDCEscrow internal target;
    IUSDCEscrow.WithdrawalClaim internal claim;
    bytes32[] internal proof;
    bool internal armed;

    function arm(USDCEscrow t, IUSDCEscrow.WithdrawalClaim memory c, bytes32[] memory p) external {
        target = t;
        claim = c;
        proof = p;
        armed = true;
    }

    function transfer(address to, uint256 amount) public override returns (bool) {
        if (armed) {
            armed = false;
            target.withdraw(claim, proof);
        }
        return super.transfer(to, amount);
    }
}

contract USDCEscrowTest is EscrowFixture {
    address internal stranger = vm.addr(9);

    function setUp() public {
        vm.warp(1_000_000);
        usdc = new TestUSDC();
        _deploy(usdc);
    }

    function _refuses(IUSDCEscrow.PammParams memory p) internal {
        vm.expectRevert(IUSDCEscrow.EscrowInvalidParams.selector);
        new USDCEscrow(
            IERC20(address(usdc)),
            IStateCommitment(address(sc)),
            admin,
            0,
            guardian,
            p,
            safetyDefaults(),
            USDCEscrow(address(0))
        );
    }

    /// The same domain as the relayer's `Params::check`, at its edges.
    function test_constructor_refusesParametersOutsideTheirDomain() public {
        IUSDCEscrow.PammParams memory p = defaults();
        p.alphaBar = 0;
        _refuses(p);
        p = defaults();
        p.xuBar = 1e18 + 1;
        _refuses(p);
        p = defaults();
        p.thetaBar = 1e18;
        _refuses(p);
        p = defaults();
        p.decay = 1e18 + 1;
        _refuses(p);
        p = IUSDCEscrow.PammParams({alphaBar: 1, xuBar: 1e18, thetaBar: 1e18 - 1, decay: 1e18});
        USDCEscrow edges = new USDCEscrow(
            IERC20(address(usdc)),
            IStateCommitment(address(sc)),
            admin,
            0,
            guardian,
            p,
            safetyDefaults(),
            USDCEscrow(address(0))
        );
        vm.assertEq(edges.pammParams().thetaBar, 1e18 - 1);
        IUSDCEscrow.PammParams memory read = escrow.pammParams();
        vm.assertEq(read.alphaBar, 1e18);
        vm.assertEq(read.xuBar, 0.3e18);
        vm.assertEq(read.thetaBar, 0.6e18);
        vm.assertEq(read.decay, 999995988739639108);
    }

    function test_constructor_refusesZeroAddressesAndAZeroLimit() public {
        IUSDCEscrow.Safety memory s = safetyDefaults();
        vm.expectRevert(IUSDCEscrow.EscrowZeroAddress.selector);
        new USDCEscrow(
            IERC20(address(0)),
            IStateCommitment(address(sc)),
            admin,
            0,
            guardian,
            defaults(),
            s,
            USDCEscrow(address(0))
        );
        vm.expectRevert(IUSDCEscrow.EscrowZeroAddress.selector);
        new USDCEscrow(
            IERC20(address(usdc)),
            IStateCommitment(address(0)),
            admin,
            0,
            guardian,
            defaults(),
            s,
            USDCEscrow(address(0))
        );
        vm.expectRevert(abi.encodeWithSignature("AccessControlInvalidDefaultAdmin(address)", address(0)));
        new USDCEscrow(
            IERC20(address(usdc)),
            IStateCommitment(address(sc)),
            address(0),
            0,
            guardian,
            defaults(),
            s,
            USDCEscrow(address(0))
        );
        s.outflowLimit = 0;
        vm.expectRevert(IUSDCEscrow.EscrowInvalidOutflowLimit.selector);
        new USDCEscrow(
            IERC20(address(usdc)),
            IStateCommitment(address(sc)),
            admin,
            0,
            guardian,
            defaults(),
            s,
            USDCEscrow(address(0))
        );
        s = safetyDefaults();
        s.outflowPeriod = 0;
        vm.expectRevert(IUSDCEscrow.EscrowInvalidOutflowLimit.selector);
        new USDCEscrow(
            IERC20(address(usdc)),
            IStateCommitment(address(sc)),
            admin,
            0,
            guardian,
            defaults(),
            s,
            USDCEscrow(address(0))
        );
    }

    function test_deposit_emitsIncreasingIds() public {
        usdc.mint(alice, 10e6);
        vm.startPrank(alice);
        usdc.approve(address(escrow), 10e6);
        vm.expectEmit(address(escrow));
        emit IUSDCEscrow.Deposited(1, alice, ALICE_KEY, 4e6);
        vm.assertEq(uint256(escrow.deposit(4e6, ALICE_KEY)), 1);
        vm.assertEq(uint256(escrow.deposit(6e6, ALICE_KEY)), 2);
        vm.stopPrank();
        vm.assertEq(uint256(escrow.nextDepositId()), 3);
        vm.assertEq(usdc.balanceOf(address(escrow)), 1_000_000e6 + 10e6);
    }

    function test_deposit_revertsOnZero() public {
        vm.expectRevert(IUSDCEscrow.EscrowZeroAmount.selector);
        escrow.deposit(0, ALICE_KEY);
    }

    /// Deposits and withdrawals pause separately: a brake on one leaves the other running.
    function test_pause_depositsAndWithdrawalsSeparately() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32[] memory proof = _commitPayable(a, _claim(8, 1e18));
        vm.prank(guardian);
        escrow.pauseDeposits();
        vm.assertTrue(escrow.depositsPaused());
        vm.expectRevert(IUSDCEscrow.EscrowDepositsPaused.selector);
        escrow.deposit(1, ALICE_KEY);
        vm.assertEq(escrow.withdraw(a, proof), 25e6, "withdrawals still pay");

        vm.startPrank(guardian);
        escrow.unpauseDeposits();
        escrow.pauseWithdrawals();
        vm.stopPrank();
        _depositAs(alice, 1e6);
        IUSDCEscrow.WithdrawalClaim memory b = _claim(8, 1e18);
        bytes32[] memory proofB = _single(escrow.leafOf(a));
        vm.expectRevert(IUSDCEscrow.EscrowWithdrawalsPaused.selector);
        escrow.withdraw(b, proofB);
        // The guardian releases its own brake, as OptimismPortal's guardian does; so can the admin.
        vm.prank(admin);
        escrow.unpauseWithdrawals();
        vm.assertEq(escrow.withdraw(b, proofB), 1e6);
    }

    function test_pause_onlyGuardianOrAdmin() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, escrow.GUARDIAN_ROLE()
            )
        );
        vm.prank(stranger);
        escrow.pauseWithdrawals();
    }

    function test_withdraw_paysParOnceWithWhatAWatcherChecks() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32[] memory proof = _commitPayable(a, _claim(8, 1e18));
        vm.expectEmit(address(escrow));
        emit IUSDCEscrow.Withdrawn(7, bob, ALICE_KEY, 1, 25e18, 1e18, 0, 25e6);
        vm.assertEq(escrow.withdraw(a, proof), 25e6);
        vm.assertEq(usdc.balanceOf(bob), 25e6);
        vm.assertTrue(escrow.isPaid(7));

        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowClaimAlreadyPaid.selector, 7));
        escrow.withdraw(a, proof);
    }

    /// A root pays only after it is final and the withdrawal delay has passed (OptimismPortal's proof maturity).
    function test_withdraw_waitsForFinalityAndTheDelay() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        _commitRoot(_hashPair(escrow.leafOf(a), escrow.leafOf(_claim(8, 1e18))), _fullyBacked());
        bytes32[] memory proof = _single(escrow.leafOf(_claim(8, 1e18)));
        uint64 payableAt = uint64(block.timestamp) + WINDOW + DELAY;
        vm.assertEq(uint256(escrow.payableAt(1)), payableAt);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowRootNotPayable.selector, 1, payableAt));
        escrow.withdraw(a, proof);
        vm.warp(block.timestamp + WINDOW);
        vm.assertTrue(sc.isFinal(1));
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowRootNotPayable.selector, 1, payableAt));
        escrow.withdraw(a, proof);
        vm.warp(payableAt);
        vm.assertEq(escrow.withdraw(a, proof), 25e6);
    }

    /// A stop of StateCommitment's clock freezes what is not final yet; a root final before it keeps paying.
    function test_withdraw_aStoppedCommitmentClockFreezesOnlyWhatIsNotFinal() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        IUSDCEscrow.WithdrawalClaim memory b = _claim(8, 1e18);
        bytes32[] memory proof = _commitPayable(a, b);
        IUSDCEscrow.WithdrawalClaim memory c = _claim(9, 2e18);
        c.epoch = 2;
        bytes32 root = escrow.leafOf(c);
        bytes32 parent = sc.commitmentOf(1).stateRoot;
        sc.commit(
            2, parent, root, bytes32(0), _figuresAt(2), attest(sc, 2, parent, root, bytes32(0), _figuresAt(2))
        );
        uint64 payable1 = escrow.payableAt(1);
        vm.prank(guardian);
        sc.pause();
        vm.assertEq(escrow.payableAt(1), payable1, "final before the stop: unchanged");
        vm.assertEq(escrow.withdraw(a, proof), 25e6, "and it pays");
        vm.expectRevert(
            abi.encodeWithSelector(IUSDCEscrow.EscrowRootNotPayable.selector, 2, type(uint64).max)
        );
        escrow.withdraw(c, new bytes32[](0));
        vm.warp(block.timestamp + 1 days);
        vm.prank(guardian);
        sc.unpause();
        vm.warp(block.timestamp + WINDOW + DELAY);
        vm.assertEq(escrow.withdraw(c, new bytes32[](0)), 2e6);
        vm.assertEq(escrow.payableAt(1), payable1, "still unchanged after the stop");
    }

    /// Commits epoch 1 over a and b and waits until it is final: inside the withdrawal delay, still cancellable.
    function _commitFinal(IUSDCEscrow.WithdrawalClaim memory a, IUSDCEscrow.WithdrawalClaim memory b)
        internal
        returns (bytes32 hash)
    {
        _commitRoot(_hashPair(escrow.leafOf(a), escrow.leafOf(b)), _fullyBacked());
        vm.warp(block.timestamp + WINDOW);
        hash = sc.commitmentHashOf(1);
    }

    /// The guardian cancels a final root in its withdrawal delay: none of its claims pays.
    function test_cancel_stopsTheClaimsOfAFinalRootBeforeTheyPay() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        IUSDCEscrow.WithdrawalClaim memory b = _claim(8, 1e18);
        bytes32 hash = _commitFinal(a, b);

        vm.prank(guardian);
        vm.expectRevert(
            abi.encodeWithSelector(IUSDCEscrow.EscrowNotLiveCommitment.selector, 1, hash, bytes32(uint256(1)))
        );
        escrow.cancelCommitment(1, bytes32(uint256(1)), "wrong hash");
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, admin, escrow.GUARDIAN_ROLE()
            )
        );
        vm.prank(admin);
        escrow.cancelCommitment(1, hash, "not the guardian");

        vm.expectEmit(address(escrow));
        emit IUSDCEscrow.CommitmentCancelled(1, hash, guardian, "supply figure off by 1e24");
        vm.prank(guardian);
        escrow.cancelCommitment(1, hash, "supply figure off by 1e24");
        vm.assertTrue(escrow.isCancelled(hash));
        vm.warp(block.timestamp + DELAY);
        bytes32[] memory proof = _single(escrow.leafOf(b));
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowCommitmentCancelled.selector, 1, hash));
        escrow.withdraw(a, proof);
    }

    /// Cancelling is bounded: once a commitment's claims pay, it can no longer be cancelled (years later least
    /// of all), so a cancellation never strands claims half paid.
    function test_cancel_isRefusedOnceTheClaimsPay() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        _commitPayable(a, _claim(8, 1e18));
        bytes32 hash = sc.commitmentHashOf(1);
        uint64 payable_ = escrow.payableAt(1);
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowCancelTooLate.selector, 1, payable_));
        escrow.cancelCommitment(1, hash, "too late");
        vm.warp(block.timestamp + 365 days);
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowCancelTooLate.selector, 1, payable_));
        escrow.cancelCommitment(1, hash, "a year late");
    }

    /// The admin can undo a cancellation, only after the admin delay and unless the guardian vetoes it.
    function test_cancel_undoWaitsTheAdminDelayAndCanBeVetoed() public {
        USDCEscrow slow = _slowEscrow();
        usdc.mint(address(slow), 1_000_000e6);
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        IUSDCEscrow.WithdrawalClaim memory b = _claim(8, 1e18);
        a.epoch = 1;
        _commitRoot(_hashPair(slow.leafOf(a), slow.leafOf(b)), _fullyBacked());
        vm.warp(block.timestamp + WINDOW);
        bytes32 hash = sc.commitmentHashOf(1);
        vm.prank(guardian);
        slow.cancelCommitment(1, hash, "suspicious");

        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowNoUncancelDue.selector, hash, 0));
        slow.applyUncancel(hash);
        vm.expectPartialRevert(IAccessControl.AccessControlUnauthorizedAccount.selector);
        vm.prank(guardian);
        slow.scheduleUncancel(hash);
        uint64 due = uint64(block.timestamp) + 2 days;
        vm.expectEmit(address(slow));
        emit IUSDCEscrow.UncancelScheduled(1, hash, due);
        vm.prank(admin);
        slow.scheduleUncancel(hash);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowNoUncancelDue.selector, hash, due));
        slow.applyUncancel(hash);
        // The guardian vetoes the first undo; the admin schedules another, which applies.
        vm.prank(guardian);
        slow.vetoUncancel(hash);
        vm.warp(due);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowNoUncancelDue.selector, hash, 0));
        slow.applyUncancel(hash);
        vm.prank(admin);
        slow.scheduleUncancel(hash);
        vm.warp(block.timestamp + 2 days);
        vm.expectEmit(address(slow));
        emit IUSDCEscrow.CommitmentUncancelled(1, hash);
        slow.applyUncancel(hash);
        vm.assertFalse(slow.isCancelled(hash));
        vm.assertEq(slow.withdraw(a, _single(slow.leafOf(b))), 25e6, "pays again");
    }

    /// A cancelled epoch does not stop the next one: its claims pay.
    function test_cancel_leavesLaterEpochsPaying() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32 hash = _commitFinal(a, _claim(8, 1e18));
        vm.prank(guardian);
        escrow.cancelCommitment(1, hash, "reissued in epoch 2");
        IUSDCEscrow.WithdrawalClaim memory again = _claim(9, 25e18);
        again.epoch = 2;
        bytes32 root = escrow.leafOf(again);
        bytes32 parent = sc.commitmentOf(1).stateRoot;
        sc.commit(
            2, parent, root, bytes32(0), _figuresAt(2), attest(sc, 2, parent, root, bytes32(0), _figuresAt(2))
        );
        vm.warp(block.timestamp + WINDOW + DELAY);
        vm.assertEq(escrow.withdraw(again, new bytes32[](0)), 25e6);
    }

    function test_withdraw_revertsOnTamperedClaim() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32[] memory proof = _commitPayable(a, _claim(8, 1e18));
        a.mycoAmount = 26e18;
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowInvalidProof.selector, 7, 1));
        escrow.withdraw(a, proof);
    }

    /// The leaf binds chain id and escrow: the same root pays nothing at a second escrow or on another chain.
    function test_withdraw_claimsAreBoundToThisEscrowAndChain() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32[] memory proof = _commitPayable(a, _claim(8, 1e18));
        USDCEscrow second = new USDCEscrow(
            IERC20(address(usdc)),
            IStateCommitment(address(sc)),
            admin,
            0,
            guardian,
            defaults(),
            safetyDefaults(),
            USDCEscrow(address(0))
        );
        usdc.mint(address(second), 1_000_000e6);
        vm.assertTrue(second.leafOf(a) != escrow.leafOf(a));
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowInvalidProof.selector, 7, 1));
        second.withdraw(a, proof);

        uint256 home = block.chainid;
        vm.chainId(home + 1);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowInvalidProof.selector, 7, 1));
        escrow.withdraw(a, proof);
        vm.chainId(home);
        vm.assertEq(escrow.withdraw(a, proof), 25e6);
    }

    function test_withdraw_revertsOnPenaltyBelowOne() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        a.flowPenalty = 1e18 - 1;
        bytes32[] memory proof = _commitPayable(a, _claim(8, 1e18));
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowInvalidPenalty.selector, 7, 1e18 - 1));
        escrow.withdraw(a, proof);
    }

    /// A slice past the committed supply (which no correct root holds) gets a named error, not a Panic.
    function test_withdraw_revertsOnASliceOutsideTheSupply() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        a.priorRedeemed = type(uint256).max;
        bytes32[] memory proof = _commitPayable(a, _claim(8, 1e18));
        vm.expectRevert(
            abi.encodeWithSelector(IUSDCEscrow.EscrowClaimOutsideSupply.selector, 7, type(uint256).max, 1e30)
        );
        escrow.withdraw(a, proof);
    }

    function test_withdraw_revertsOnInsufficientReserve() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 2_000_000e18);
        bytes32[] memory proof = _commitPayable(a, _claim(8, 1e18));
        vm.expectRevert(
            abi.encodeWithSelector(
                IUSDCEscrow.EscrowInsufficientReserve.selector, 7, 2_000_000e6, 1_000_000e6
            )
        );
        escrow.withdraw(a, proof);
    }

    function test_withdraw_revertsOnReentry() public {
        ReentrantUSDC evil = new ReentrantUSDC();
        _deploy(evil);
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32[] memory proof = _commitPayable(a, _claim(8, 1e18));
        evil.arm(escrow, _claim(8, 1e18), _single(escrow.leafOf(a)));
        vm.expectRevert(ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        escrow.withdraw(a, proof);
        vm.assertFalse(escrow.isPaid(7));
    }

    /// The outflow limit: a withdrawal over what the bucket holds reverts saying when it fits, and fits then.
    function test_outflow_limitsPaymentsAndSaysWhenTheyFit() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 80_000e18);
        IUSDCEscrow.WithdrawalClaim memory b = _claim(8, 50_000e18);
        bytes32[] memory proof = _commitPayable(a, b);
        vm.assertEq(escrow.outflowAvailable(), LIMIT);
        escrow.withdraw(a, proof);
        vm.assertEq(escrow.outflowAvailable(), 20_000e6);
        // 30,000 USDC missing at 100,000 per hour: 1,080 seconds.
        uint64 retryAt = uint64(block.timestamp) + 1_080;
        bytes32[] memory proofB = _single(escrow.leafOf(a));
        vm.expectRevert(
            abi.encodeWithSelector(IUSDCEscrow.EscrowOutflowLimited.selector, 50_000e6, 20_000e6, retryAt)
        );
        escrow.withdraw(b, proofB);
        vm.warp(retryAt - 1);
        vm.expectPartialRevert(IUSDCEscrow.EscrowOutflowLimited.selector);
        escrow.withdraw(b, proofB);
        vm.warp(retryAt);
        vm.assertEq(escrow.withdraw(b, proofB), 50_000e6);
        vm.assertEq(escrow.outflowAvailable(), 0);
        vm.warp(block.timestamp + PERIOD * 5);
        vm.assertEq(escrow.outflowAvailable(), LIMIT, "the bucket never holds more than the limit");
    }

    /// A payout larger than the whole bucket is never stranded: it pays once the bucket is full, and its excess
    /// is borrowed from the refill that follows (nothing else leaves until that is paid back), so the long-run
    /// rate still never exceeds the limit.
    function test_outflow_aPayoutAboveTheLimitPaysWhenTheBucketIsFullAndBorrowsTheRefill() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 150_000e18);
        IUSDCEscrow.WithdrawalClaim memory b = _claim(8, 10_000e18);
        bytes32[] memory proof = _commitPayable(a, b);
        vm.assertEq(escrow.withdraw(a, proof), 150_000e6, "a full bucket pays more than its size");
        vm.assertEq(escrow.outflowAvailable(), 0);
        // 50,000 USDC borrowed at 100,000 per hour: half an hour at zero, then 10,000 more refill in 360 s.
        uint64 retryAt = uint64(block.timestamp) + 1_800 + 360;
        bytes32[] memory proofB = _single(escrow.leafOf(a));
        vm.expectRevert(
            abi.encodeWithSelector(IUSDCEscrow.EscrowOutflowLimited.selector, 10_000e6, 0, retryAt)
        );
        escrow.withdraw(b, proofB);
        vm.warp(block.timestamp + 1_800);
        vm.assertEq(escrow.outflowAvailable(), 0, "still paying the excess back");
        vm.warp(retryAt);
        vm.assertEq(escrow.withdraw(b, proofB), 10_000e6);
    }

    /// Tightening the limit below a committed claim does not strand it: it pays once the smaller bucket is full.
    function test_outflow_aTighterLimitNeverStrandsACommittedClaim() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 90_000e18);
        IUSDCEscrow.WithdrawalClaim memory b = _claim(8, 1e18);
        bytes32[] memory proof = _commitPayable(a, b);
        escrow.withdraw(b, _single(escrow.leafOf(a)));
        vm.prank(admin);
        escrow.setOutflowLimit(10_000e6, PERIOD);
        // The bucket holds 10,000 (capped at the new limit): 90,000 is above it, and waits for a full bucket.
        vm.assertEq(escrow.outflowAvailable(), 10_000e6);
        vm.assertEq(escrow.withdraw(a, proof), 90_000e6);
        // 80,000 borrowed at 10,000 per hour: eight hours before anything refills.
        vm.warp(block.timestamp + 8 hours);
        vm.assertEq(escrow.outflowAvailable(), 0);
        vm.warp(block.timestamp + PERIOD);
        vm.assertEq(escrow.outflowAvailable(), 10_000e6);
    }

    /// A debt still owed is carried over a limit change, repaid at the new rate (tightening never forgives it).
    function test_outflow_aDebtSurvivesALimitChange() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 200_000e18);
        bytes32[] memory proof = _commitPayable(a, _claim(8, 1e18));
        escrow.withdraw(a, proof);
        // 100,000 owed at 100,000 per hour; halving the rate makes it two hours.
        vm.prank(admin);
        escrow.setOutflowLimit(50_000e6, PERIOD);
        vm.warp(block.timestamp + 2 hours - 1);
        vm.assertEq(escrow.outflowAvailable(), 0);
        vm.warp(block.timestamp + 1 + PERIOD);
        vm.assertEq(escrow.outflowAvailable(), 50_000e6);
    }

    /// Tightening drops a looser limit scheduled before, and says so.
    function test_outflow_aTighterLimitCancelsAScheduledLooserOneWithAnEvent() public {
        vm.prank(admin);
        escrow.setOutflowLimit(200_000e6, PERIOD);
        vm.expectEmit(address(escrow));
        emit IUSDCEscrow.OutflowLimitScheduleCancelled(200_000e6, PERIOD);
        vm.expectEmit(address(escrow));
        emit IUSDCEscrow.OutflowLimitChanged(50_000e6, PERIOD);
        vm.prank(admin);
        escrow.setOutflowLimit(50_000e6, PERIOD);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowNoLimitDue.selector, 0));
        escrow.applyOutflowLimit();
    }

    /// A tighter limit applies at once; a looser one waits the admin delay and then anyone applies it.
    function test_outflow_tighterAtOnceLooserAfterTheAdminDelay() public {
        USDCEscrow slow = _slowEscrow();
        vm.prank(stranger);
        vm.expectRevert();
        slow.setOutflowLimit(1, 1);

        vm.expectEmit(address(slow));
        emit IUSDCEscrow.OutflowLimitChanged(50_000e6, PERIOD);
        vm.prank(admin);
        slow.setOutflowLimit(50_000e6, PERIOD);
        vm.assertEq(uint256(slow.safety().outflowLimit), 50_000e6);
        vm.assertEq(slow.outflowAvailable(), 50_000e6, "tightening caps what is available");

        // Same bucket, faster refill: looser.
        uint64 due = uint64(block.timestamp) + 2 days;
        vm.expectEmit(address(slow));
        emit IUSDCEscrow.OutflowLimitScheduled(50_000e6, PERIOD / 2, due);
        vm.prank(admin);
        slow.setOutflowLimit(50_000e6, PERIOD / 2);
        vm.assertEq(uint256(slow.safety().outflowPeriod), PERIOD, "not yet");
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowNoLimitDue.selector, due));
        slow.applyOutflowLimit();
        vm.warp(due);
        vm.prank(stranger);
        slow.applyOutflowLimit();
        vm.assertEq(uint256(slow.safety().outflowPeriod), PERIOD / 2);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowNoLimitDue.selector, 0));
        slow.applyOutflowLimit();
    }

    /// @dev A second escrow over the same commitments whose admin powers wait two days.
    function _slowEscrow() internal returns (USDCEscrow) {
        return new USDCEscrow(
            IERC20(address(usdc)),
            IStateCommitment(address(sc)),
            admin,
            2 days,
            guardian,
            defaults(),
            safetyDefaults(),
            USDCEscrow(address(0))
        );
    }

    function _single(bytes32 x) internal pure returns (bytes32[] memory p) {
        p = new bytes32[](1);
        p[0] = x;
    }

    function testFuzz_withdraw_payoutNeverExceedsPar(uint256 myco, uint256 penalty) public {
        myco = bound(myco, 0, 100_000e18);
        penalty = bound(penalty, 1e18, 4e18);
        IUSDCEscrow.WithdrawalClaim memory a = _claim(1, myco);
        a.flowPenalty = penalty;
        bytes32[] memory proof = _commitPayable(a, _claim(2, 1));
        uint256 paid = escrow.withdraw(a, proof);
        vm.assertLe(paid * 1e12, myco, "pays more than par");
        vm.assertLe(paid * 1e12 * penalty / 1e18, myco, "penalty grew the payout");
        vm.assertEq(usdc.balanceOf(bob), paid);
    }

    /// The P-AMM's curved region: a reserve below the supply, any redemption level, any slice within the supply.
    /// Whatever figures StateCommitment accepts (each at most 1e30), a slice within the supply is priced, never
    /// above par, and never reverts.
    function testFuzz_quote_definedAndBelowParForEveryAcceptedFigure(
        uint256 supply,
        uint256 reserve,
        uint256 level,
        uint256 prior,
        uint256 amount
    ) public {
        supply = bound(supply, 1, 1e30);
        reserve = bound(reserve, 0, supply);
        level = bound(level, 0, 1e30);
        amount = bound(amount, 0, supply);
        prior = bound(prior, 0, supply - amount);
        _commitRoot(bytes32(uint256(1)), IStateCommitment.ReserveFigures(supply, reserve, level, 1));
        IUSDCEscrow.WithdrawalClaim memory c =
            IUSDCEscrow.WithdrawalClaim(1, ALICE_KEY, bob, amount, 1e18, 1, prior);
        uint256 usdcOut = escrow.quoteWithdrawal(c);
        vm.assertLe(usdcOut * 1e12, amount, "above par");
    }

    function testFuzz_deposit_anyAmountCredited(uint256 amount) public {
        amount = bound(amount, 1, type(uint128).max);
        _depositAs(alice, amount);
        vm.assertEq(usdc.balanceOf(address(escrow)), 1_000_000e6 + amount);
    }

    /// Below full backing the P-AMM pays less than par, and an epoch's claims, each paid its own slice of the
    /// curve, together pay what redeeming their sum at once would: whatever order they are claimed in.
    function test_withdraw_belowParSlicesTelescope() public {
        // The settlement math's test vector: x = 30, b = 50, y = 70 (MYCO / USD, WAD): redeeming 10 pays 9.5.
        IUSDCEscrow.WithdrawalClaim memory a =
            IUSDCEscrow.WithdrawalClaim(1, ALICE_KEY, bob, 4e18, 1e18, 1, 0);
        IUSDCEscrow.WithdrawalClaim memory b =
            IUSDCEscrow.WithdrawalClaim(2, ALICE_KEY, bob, 6e18, 1e18, 1, 4e18);
        _commitRoot(
            _hashPair(escrow.leafOf(a), escrow.leafOf(b)),
            IStateCommitment.ReserveFigures(70e18, 50e18, 30e18, 1)
        );
        vm.warp(block.timestamp + WINDOW + DELAY);
        uint256 paidB = escrow.withdraw(b, _single(escrow.leafOf(a)));
        uint256 paidA = escrow.withdraw(a, _single(escrow.leafOf(b)));
        vm.assertLe(paidA + paidB, 9.5e6, "more than the whole redemption");
        vm.assertGe(paidA + paidB, 9.5e6 - 1, "slices lose more than rounding");
        vm.assertLe(paidA, 4e6, "above par");
        vm.assertLe(paidB, 6e6, "above par");
        vm.assertGe(paidA, paidB * 4 / 6, "the earlier slice is the cheaper one for the reserve");
    }
}
