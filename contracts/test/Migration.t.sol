// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {StateCommitment} from "../StateCommitment.sol";
import {USDCEscrow} from "../USDCEscrow.sol";
import {IEscrowMigration} from "../interfaces/IEscrowMigration.sol";
import {IStateCommitment} from "../interfaces/IStateCommitment.sol";
import {IUSDCEscrow} from "../interfaces/IUSDCEscrow.sol";
import {TestUSDC} from "../tokens/TestUSDC.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice The way out when a bug is found: the escrow's USDC moves to a successor after the admin delay unless
///         the guardian vetoes; the successor pays the old escrow's unpaid claims with their old proofs, and never
///         a claim the old one paid, never one of a commitment it holds cancelled, and nothing before the move.
contract MigrationTest is EscrowFixture {
    uint48 internal constant ADMIN_DELAY = 2 days;
    USDCEscrow internal old;
    USDCEscrow internal next;

    function setUp() public {
        vm.warp(1_000_000);
        usdc = new TestUSDC();
        sc = new StateCommitment(admin, 0, guardian, WINDOW, attesterSet(), THRESHOLD);
        old = _escrow(USDCEscrow(address(0)));
        escrow = old;
        usdc.mint(address(old), 1_000_000e6);
        next = _escrow(old);
    }

    function _escrow(USDCEscrow predecessor) internal returns (USDCEscrow) {
        return _escrowOn(usdc, ADMIN_DELAY, predecessor);
    }

    function _migrate() internal {
        vm.prank(admin);
        old.scheduleMigration(address(next));
        vm.warp(block.timestamp + ADMIN_DELAY);
        old.applyMigration();
    }

    function test_aMigrationWaitsTheAdminDelayAndTheGuardianCanVetoIt() public {
        vm.prank(guardian);
        vm.expectRevert();
        old.scheduleMigration(address(next));
        vm.prank(admin);
        vm.expectEmit(address(old));
        emit IEscrowMigration.MigrationScheduled(address(next), uint64(block.timestamp) + ADMIN_DELAY);
        old.scheduleMigration(address(next));
        vm.expectRevert(
            abi.encodeWithSelector(
                IEscrowMigration.EscrowNoMigrationDue.selector, uint64(block.timestamp) + ADMIN_DELAY
            )
        );
        old.applyMigration();
        vm.prank(guardian);
        vm.expectEmit(address(old));
        emit IEscrowMigration.MigrationVetoed(address(next), guardian);
        old.vetoMigration();
        vm.warp(block.timestamp + ADMIN_DELAY);
        vm.expectRevert(abi.encodeWithSelector(IEscrowMigration.EscrowNoMigrationDue.selector, 0));
        old.applyMigration();
        vm.assertEq(usdc.balanceOf(address(old)), 1_000_000e6, "nothing moved");
    }

    function test_onlyAnEscrowNamingThisOneAsItsPredecessorCanSucceedIt() public {
        USDCEscrow stranger = _escrow(USDCEscrow(address(0)));
        vm.startPrank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(IEscrowMigration.EscrowInvalidSuccessor.selector, address(stranger))
        );
        old.scheduleMigration(address(stranger));
        vm.expectRevert(abi.encodeWithSelector(IEscrowMigration.EscrowInvalidSuccessor.selector, alice));
        old.scheduleMigration(alice);
        vm.stopPrank();
        TestUSDC other = new TestUSDC();
        vm.expectRevert();
        new USDCEscrow(
            IERC20(address(other)),
            IStateCommitment(address(sc)),
            admin,
            0,
            guardian,
            defaults(),
            safetyDefaults(),
            old
        );
    }

    /// The whole procedure: a claim paid before the move, one unpaid, one of a cancelled commitment; after the
    /// move the old escrow takes and pays nothing, the successor holds every USDC, pays the unpaid claim with its
    /// old proof, and refuses the paid one and the cancelled one. Before the move, the successor pays nothing.
    function test_theSuccessorPaysEachOldClaimAtMostOnce() public {
        IUSDCEscrow.WithdrawalClaim memory paid = _claim(7, 25e18);
        IUSDCEscrow.WithdrawalClaim memory unpaid = _claim(8, 1e18);
        bytes32[] memory paidProof = _commitPayable(paid, unpaid);
        bytes32[] memory unpaidProof = new bytes32[](1);
        unpaidProof[0] = old.leafOf(paid);
        vm.assertEq(old.withdraw(paid, paidProof), 25e6);

        vm.expectRevert(
            abi.encodeWithSelector(IEscrowMigration.EscrowPredecessorActive.selector, address(old))
        );
        next.withdraw(unpaid, unpaidProof);

        _migrate();
        vm.assertEq(old.migratedTo(), address(next));
        vm.assertEq(usdc.balanceOf(address(old)), 0);
        vm.assertEq(usdc.balanceOf(address(next)), 1_000_000e6 - 25e6, "every USDC moved");
        vm.expectRevert(abi.encodeWithSelector(IEscrowMigration.EscrowMigrated.selector, address(next)));
        old.withdraw(unpaid, unpaidProof);
        usdc.mint(alice, 1e6);
        vm.startPrank(alice);
        usdc.approve(address(old), 1e6);
        vm.expectRevert(abi.encodeWithSelector(IEscrowMigration.EscrowMigrated.selector, address(next)));
        old.deposit(1e6, ALICE_KEY);
        vm.stopPrank();

        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowClaimAlreadyPaid.selector, 7));
        next.withdraw(paid, paidProof);
        vm.assertTrue(next.isPaid(7), "the old escrow's paid record is the successor's");
        vm.assertEq(next.withdraw(unpaid, unpaidProof), 1e6, "an old claim pays with its old proof");
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowClaimAlreadyPaid.selector, 8));
        next.withdraw(unpaid, unpaidProof);
        vm.assertEq(usdc.balanceOf(bob), 26e6, "each claim paid once");
    }

    /// Deposit ids are one sequence across both: the successor takes deposits only after the move, continuing the
    /// old escrow's ids, so an off-chain ledger that credits each id once credits each deposit once.
    function test_depositIdsContinueAcrossTheMigration() public {
        _depositAs(alice, 5e6);
        _depositAs(alice, 5e6);
        usdc.mint(alice, 1e6);
        vm.startPrank(alice);
        usdc.approve(address(next), 1e6);
        vm.expectRevert(
            abi.encodeWithSelector(IEscrowMigration.EscrowPredecessorActive.selector, address(old))
        );
        next.deposit(1e6, ALICE_KEY);
        vm.stopPrank();
        _migrate();
        vm.assertEq(next.nextDepositId(), 3);
        vm.startPrank(alice);
        vm.expectEmit(address(next));
        emit IUSDCEscrow.Deposited(3, alice, ALICE_KEY, 1e6);
        vm.assertEq(next.deposit(1e6, ALICE_KEY), 3);
        vm.stopPrank();
        vm.assertEq(next.nextDepositId(), 4);
    }

    function test_aCommitmentTheOldEscrowCancelledDoesNotPayAtTheSuccessor() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        IUSDCEscrow.WithdrawalClaim memory b = _claim(8, 1e18);
        _commitRoot(_hashPair(old.leafOf(a), old.leafOf(b)), _fullyBacked());
        bytes32 hash = sc.commitmentHashOf(1);
        vm.prank(guardian);
        old.cancelCommitment(1, hash, "under review");
        vm.warp(block.timestamp + WINDOW + DELAY);
        _migrate();
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = old.leafOf(b);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowCommitmentCancelled.selector, 1, hash));
        next.withdraw(a, proof);
    }
}
