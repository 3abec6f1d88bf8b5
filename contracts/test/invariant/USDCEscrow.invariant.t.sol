// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StateCommitment} from "../../StateCommitment.sol";
import {USDCEscrow} from "../../USDCEscrow.sol";
import {IUSDCEscrow} from "../../interfaces/IUSDCEscrow.sol";
import {BlocklistUSDC} from "../utils/BlocklistUSDC.sol";
import {EscrowFixture} from "../utils/EscrowFixture.sol";
import {HostileUSDC} from "../utils/HostileUSDC.sol";
import {EscrowHandler} from "./EscrowHandler.sol";

/// @notice Stateful invariants of StateCommitment and the escrow together, over random sequences of the handler's
///         actions (see `[invariant]` in foundry.toml for runs and depth), judged against the handler's own model
///         (its clock of stops and finality, what each claim and commitment paid), not the contracts' views. Run
///         with a USDC that blocklists (below) and one that also takes a fee on transfer (`HostileTokenInvariant`).
contract USDCEscrowInvariantTest is EscrowFixture {
    uint256 internal constant FUNDED = 1_000_000e6;
    uint48 internal constant ADMIN_DELAY = 2 days;
    EscrowHandler internal handler;
    BlocklistUSDC internal token;

    function _token() internal virtual returns (BlocklistUSDC) {
        return new BlocklistUSDC();
    }

    function setUp() public {
        vm.warp(1_000_000);
        token = _token();
        usdc = token;
        // The admin delay is real here: no power that moves value may act inside it.
        sc = new StateCommitment(admin, ADMIN_DELAY, guardian, WINDOW, attesterSet(), THRESHOLD);
        escrow = _escrowOn(token, ADMIN_DELAY, USDCEscrow(address(0)));
        token.mint(address(escrow), FUNDED);
        handler = new EscrowHandler(sc, escrow, token, admin, guardian);
    }

    /// @notice Forge's shape for a target contract's selectors.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @notice Forge calls the handler only ...
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice ... and only its actions (not its probes or views).
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory actions = new bytes4[](14);
        actions[0] = EscrowHandler.commit.selector;
        actions[1] = EscrowHandler.wait.selector;
        actions[2] = EscrowHandler.withdraw.selector;
        actions[3] = EscrowHandler.revoke.selector;
        actions[4] = EscrowHandler.cancel.selector;
        actions[5] = EscrowHandler.toggleClock.selector;
        actions[6] = EscrowHandler.deposit.selector;
        actions[7] = EscrowHandler.uncancel.selector;
        actions[8] = EscrowHandler.toggleWithdrawals.selector;
        actions[9] = EscrowHandler.rotateAttesters.selector;
        actions[10] = EscrowHandler.setLimit.selector;
        actions[11] = EscrowHandler.grantRole.selector;
        actions[12] = EscrowHandler.toggleBlocklist.selector;
        // Commits and withdrawals twice as often: most runs should have something to pay.
        actions[13] = EscrowHandler.withdraw.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), actions);
    }

    /// The handler's own sanity: a commit, a wait past window and delay, and a withdrawal pay.
    function test_handlerPaysAfterTheWindowAndTheDelay() public {
        handler.commit(2);
        handler.wait((WINDOW + DELAY) << 4 | 1);
        handler.withdraw(0);
        vm.assertEq(handler.payments(), 1);
        vm.assertEq(handler.violations(), 0);
    }

    /// Every payment kept the rules as the model judges them: once per claim id (across revocation, recommit,
    /// cancellation, reissue under the same id and rotation), from a live, uncancelled commitment that the model's
    /// clock calls final and past the delay, at most par; no final commitment revoked; no cancellation of a paying
    /// one; no stop the brake forbids.
    function invariant_noPaymentBreaksARule() public view {
        vm.assertEq(
            handler.violations(), 0, string.concat("rule broken: ", vm.toString(handler.lastViolation()))
        );
    }

    /// Finality is forever: an epoch once final stays final, with the same commitment and the same time, through
    /// every stop, revocation and rotation after it; and the contract's finality time is the model's.
    function invariant_finalityIsForever() public view {
        vm.assertTrue(handler.finalityHeld(), "a final epoch stopped being final");
        vm.assertTrue(handler.finalityMatchesTheModel(), "finalAt differs from the model's clock");
    }

    /// An epoch pays at most what redeeming its claims' whole MYCO at once pays (slices telescope).
    function invariant_anEpochPaysAtMostItsWholeSum() public view {
        for (uint256 i = 0; i < handler.commitmentCount(); ++i) {
            bytes32 h = handler.commitmentAt(i);
            vm.assertLe(handler.paidFrom(h), handler.wholeSumQuote(h), "an epoch paid above its whole sum");
        }
    }

    /// Total paid is accounted for: the escrow holds exactly what was funded, plus what deposits brought, less
    /// what it paid (a fee-taking token is charged to the receiver).
    function invariant_theEscrowsUsdcIsAccountedFor() public view {
        vm.assertEq(
            token.balanceOf(address(escrow)),
            FUNDED + handler.totalDeposited() - handler.totalPaid(),
            "escrow balance unexplained"
        );
    }

    /// Outflow limit: a token bucket with borrowing, under whichever limit is in force.
    function invariant_outflowWithinTheLimit() public view {
        vm.assertTrue(handler.withinTokenBucket(), "more left than the outflow limit allows");
    }

    /// Liveness: every claim the model says is payable (live, final, past the delay, uncancelled, unpaid,
    /// withdrawals running) pays now, its recipient redirecting it if the token blocklists it; only the outflow
    /// limit or the reserve may make it wait.
    function invariant_everyPayableClaimPays() public {
        for (uint256 i = 0; i < handler.claimCount(); ++i) {
            try handler.probePays(i) {
                vm.assertTrue(false, "probe did not revert");
            } catch (bytes memory reason) {
                bytes4 code = bytes4(reason);
                bool fine = code == EscrowHandler.Paid.selector || code == EscrowHandler.Skipped.selector
                    || code == IUSDCEscrow.EscrowOutflowLimited.selector
                    || code == IUSDCEscrow.EscrowInsufficientReserve.selector;
                vm.assertTrue(fine, "a payable claim does not pay");
            }
        }
    }

    /// The guardian causes only temporary stops: neither the clock nor withdrawals stay stopped past 7 days.
    function invariant_theGuardiansStopsAreTemporary() public view {
        (bool clockStopped, uint64 since) = handler.clock().inForce(uint64(block.timestamp));
        vm.assertEq(sc.paused(), clockStopped, "the clock's stop differs from the model's");
        if (clockStopped) vm.assertLt(block.timestamp, since + 7 days, "a stop outlived 7 days");
        (bool withdrawalsStopped, uint64 at) = handler.withdrawalStops().inForce(uint64(block.timestamp));
        vm.assertEq(
            escrow.withdrawalsPaused(), withdrawalsStopped, "the withdrawal stop differs from the model's"
        );
        if (withdrawalsStopped) {
            vm.assertLt(block.timestamp, at + 7 days, "a withdrawal stop outlived 7 days");
        }
    }

    /// No role escalation inside the admin delay: the intruder the admin grants the guardian role holds it only
    /// through a grant applied a full delay after it was scheduled and not vetoed (the handler counts an apply
    /// that came sooner as rule 11).
    function invariant_noRoleInsideTheAdminDelay() public view {
        if (!escrow.hasRole(escrow.GUARDIAN_ROLE(), handler.INTRUDER())) return;
        vm.assertTrue(handler.intruderGranted(), "a role held without a grant that waited the delay");
    }

    /// Whatever was revoked or rotated, the next epoch can always be committed (unless the clock is stopped).
    function invariant_theChainCanAlwaysAdvance() public {
        if (sc.paused()) return;
        try handler.probeAdvance() {
            vm.assertTrue(false, "probe did not revert");
        } catch (bytes memory reason) {
            vm.assertEq(
                bytes32(bytes4(reason)),
                bytes32(EscrowHandler.Advanced.selector),
                "the next epoch cannot be committed"
            );
        }
    }
}

/// @notice The same invariants with a USDC that also takes a fee on every transfer.
contract HostileTokenInvariantTest is USDCEscrowInvariantTest {
    function _token() internal override returns (BlocklistUSDC) {
        return new HostileUSDC();
    }
}
