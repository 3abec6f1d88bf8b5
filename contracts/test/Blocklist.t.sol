// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IUSDCEscrow} from "../interfaces/IUSDCEscrow.sol";
import {BlocklistUSDC} from "./utils/BlocklistUSDC.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice A claim whose recipient the token blocklists (FiatToken's `Blacklistable`): `withdraw` cannot pay it,
///         and before `withdrawTo` the claim was locked for as long as the block lasted. Its recipient redirects
///         it; it is paid exactly once, and lifting the block pays nothing again.
contract BlocklistTest is EscrowFixture {
    BlocklistUSDC internal token;
    address internal fresh = vm.addr(11);
    address internal stranger = vm.addr(12);

    function setUp() public {
        vm.warp(1_000_000);
        token = new BlocklistUSDC();
        usdc = token;
        _deploy(token);
    }

    function test_aBlocklistedRecipientRedirectsItsOwnClaimOnce() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32[] memory proof = _commitPayable(a, _claim(8, 1e18));
        token.blacklist(bob);
        vm.expectRevert("Blacklistable: account is blacklisted");
        escrow.withdraw(a, proof);
        vm.assertFalse(escrow.isPaid(7), "a failed payment leaves the claim unpaid");

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowNotRecipient.selector, 7, bob));
        escrow.withdrawTo(a, proof, stranger);
        vm.prank(bob);
        vm.expectRevert(IUSDCEscrow.EscrowZeroAddress.selector);
        escrow.withdrawTo(a, proof, address(0));

        vm.expectEmit(address(escrow));
        emit IUSDCEscrow.WithdrawalRedirected(7, bob, fresh);
        vm.expectEmit(address(escrow));
        emit IUSDCEscrow.Withdrawn(7, bob, ALICE_KEY, 1, 25e18, 1e18, 0, 25e6);
        vm.prank(bob);
        vm.assertEq(escrow.withdrawTo(a, proof, fresh), 25e6);
        vm.assertEq(token.balanceOf(fresh), 25e6);
        vm.assertTrue(escrow.isPaid(7));

        token.unBlacklist(bob);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowClaimAlreadyPaid.selector, 7));
        escrow.withdraw(a, proof);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowClaimAlreadyPaid.selector, 7));
        escrow.withdrawTo(a, proof, bob);
        vm.assertEq(token.balanceOf(bob), 0, "never paid twice");
    }

    /// Redirecting changes where the USDC goes, nothing else: every rule of `withdraw` holds.
    function test_aRedirectObeysEveryRuleOfWithdraw() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        _commitRoot(_hashPair(escrow.leafOf(a), escrow.leafOf(_claim(8, 1e18))), _fullyBacked());
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = escrow.leafOf(_claim(8, 1e18));
        uint64 payableAt = escrow.payableAt(1);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowRootNotPayable.selector, 1, payableAt));
        escrow.withdrawTo(a, proof, fresh);
        vm.warp(payableAt);
        IUSDCEscrow.WithdrawalClaim memory more = a;
        more.mycoAmount = 26e18;
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IUSDCEscrow.EscrowInvalidProof.selector, 7, 1));
        escrow.withdrawTo(more, proof, fresh);
        vm.prank(guardian);
        escrow.pauseWithdrawals();
        vm.prank(bob);
        vm.expectRevert(IUSDCEscrow.EscrowWithdrawalsPaused.selector);
        escrow.withdrawTo(a, proof, fresh);
    }
}
