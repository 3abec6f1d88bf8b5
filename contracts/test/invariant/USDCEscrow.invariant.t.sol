// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EscrowFixture} from "../utils/EscrowFixture.sol";
import {TestUSDC} from "../../tokens/TestUSDC.sol";
import {EscrowHandler} from "./EscrowHandler.sol";

/// @notice Stateful invariants of StateCommitment and the escrow together, over random sequences of the handler's
///         actions (see `[invariant]` in foundry.toml for runs and depth).
contract USDCEscrowInvariantTest is EscrowFixture {
    uint256 internal constant FUNDED = 1_000_000e6;
    EscrowHandler internal handler;

    function setUp() public {
        vm.warp(1_000_000);
        usdc = new TestUSDC();
        _deploy(usdc);
        handler = new EscrowHandler(sc, escrow, usdc, relayer, guardian);
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

    /// @notice ... and only its actions (not its probe or views).
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory actions = new bytes4[](7);
        actions[0] = EscrowHandler.commit.selector;
        actions[1] = EscrowHandler.wait.selector;
        actions[2] = EscrowHandler.withdraw.selector;
        actions[3] = EscrowHandler.revoke.selector;
        actions[4] = EscrowHandler.cancel.selector;
        actions[5] = EscrowHandler.toggleClock.selector;
        actions[6] = EscrowHandler.deposit.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), actions);
    }

    /// The handler's own sanity: a commit, a wait past window and delay, and a withdrawal pay.
    function test_handlerPaysAfterTheWindowAndTheDelay() public {
        handler.commit(2);
        handler.wait(WINDOW + DELAY);
        handler.withdraw(0);
        vm.assertEq(handler.payments(), 1);
    }

    /// A claim is paid at most once; nothing revoked, cancelled or not yet payable pays; each payment is the quote.
    function invariant_noPaymentBreaksARule() public view {
        vm.assertEq(handler.violations(), 0, "a payment broke a rule");
    }

    /// Total paid ≤ the sum of the paid claims' quotes, and the escrow's USDC is exactly funded + deposits − paid.
    function invariant_paidIsWithinQuotesAndAccountedFor() public view {
        vm.assertLe(handler.totalPaid(), handler.totalQuotedOfPaid(), "paid above quotes");
        vm.assertEq(
            usdc.balanceOf(address(escrow)),
            FUNDED + handler.totalDeposited() - handler.totalPaid(),
            "escrow balance unexplained"
        );
    }

    /// Outflow limit: over any stretch of T seconds at most limit + limit·T/period left (a token bucket).
    function invariant_outflowWithinTheLimit() public view {
        vm.assertTrue(handler.withinTokenBucket(LIMIT, PERIOD), "more left than the outflow limit allows");
    }

    /// Whatever was revoked, the next epoch can always be committed (unless the clock is stopped on purpose).
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
