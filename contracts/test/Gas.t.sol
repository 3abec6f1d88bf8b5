// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StateCommitment} from "../StateCommitment.sol";
import {IStateCommitment} from "../interfaces/IStateCommitment.sol";
import {IUSDCEscrow} from "../interfaces/IUSDCEscrow.sol";
import {TestUSDC} from "../tokens/TestUSDC.sol";
import {EscrowFixture} from "./utils/EscrowFixture.sol";

/// @notice Gas of the operations that matter to an operator, printed as a table by
///         `forge test --isolate --match-contract GasTest -vv` (BENCHMARKS.md quotes it; `--isolate` runs each
///         call as its own transaction, so storage starts cold and the figures include the 21,000 intrinsic gas
///         and calldata), each held under a ceiling so a regression fails (plain `forge test` measures less:
///         one transaction, warm storage).
contract GasTest is EscrowFixture {
    event log_named_uint(string key, uint256 val);

    function setUp() public {
        vm.warp(1_000_000);
        usdc = new TestUSDC();
        _deploy(usdc);
    }

    function _commit(uint64 epoch, bytes32 root, IStateCommitment.ReserveFigures memory f)
        internal
        returns (uint256)
    {
        bytes32 parent = epoch == 1 ? bytes32(0) : sc.commitmentOf(epoch - 1).stateRoot;
        bytes32 digest = keccak256(abi.encode(epoch));
        bytes[] memory signatures = attest(sc, epoch, parent, root, digest, f);
        vm.prank(relayer);
        uint256 start = gasleft();
        sc.commit(epoch, parent, root, digest, f, signatures);
        return start - gasleft();
    }

    function _report(string memory what, uint256 gas, uint256 ceiling) internal {
        emit log_named_uint(what, gas);
        vm.assertLe(gas, ceiling, what);
    }

    function test_gas_commitAndRevoke() public {
        _report("commit, 3 of 4 attesters (fresh epoch)", _commit(1, keccak256("r1"), _figuresAt(1)), 260_000);
        vm.warp(block.timestamp + 1);
        for (uint64 e = 2; e <= 1_000; ++e) {
            _commit(e, keccak256(abi.encode(e)), _figuresAt(e));
        }
        vm.warp(block.timestamp + 1);
        vm.prank(guardian);
        uint256 start = gasleft();
        sc.revoke(2);
        _report("revoke (999 later epochs)", start - gasleft(), 90_000);
        _report("commit (over a revoked epoch)", _commit(2, keccak256("r2'"), _figuresAt(2)), 260_000);
    }

    function test_gas_withdraw() public {
        IUSDCEscrow.WithdrawalClaim memory a = _claim(7, 25e18);
        bytes32[] memory proof = _commitPayable(a, _claim(8, 1e18));
        uint256 start = gasleft();
        escrow.withdraw(a, proof);
        _report("withdraw (par, first claim)", start - gasleft(), 200_000);

        // Below par: the P-AMM's curved region.
        IUSDCEscrow.WithdrawalClaim memory b =
            IUSDCEscrow.WithdrawalClaim(1, ALICE_KEY, bob, 4e18, 1e18, 2, 0);
        IUSDCEscrow.WithdrawalClaim memory c =
            IUSDCEscrow.WithdrawalClaim(2, ALICE_KEY, bob, 6e18, 1e18, 2, 4e18);
        bytes32 root = _hashPair(escrow.leafOf(b), escrow.leafOf(c));
        bytes32 parent = sc.commitmentOf(1).stateRoot;
        sc.commit(
            2,
            parent,
            root,
            bytes32(0),
            IStateCommitment.ReserveFigures(70e18, 50e18, 30e18, 2),
            attest(sc, 2, parent, root, bytes32(0), IStateCommitment.ReserveFigures(70e18, 50e18, 30e18, 2))
        );
        vm.warp(block.timestamp + WINDOW + DELAY);
        bytes32[] memory proofB = new bytes32[](1);
        proofB[0] = escrow.leafOf(c);
        start = gasleft();
        escrow.withdraw(b, proofB);
        _report("withdraw (below par)", start - gasleft(), 200_000);
    }

    /// A commit verified against 7 of 10 attesters (n = 3f + 1 with f = 3), next to 3 of 4 above.
    function test_gas_commitSevenOfTen() public {
        uint256[] memory keys = new uint256[](10);
        address[] memory set = new address[](10);
        for (uint256 i = 0; i < 10; ++i) {
            keys[i] = 0x5EED00 + i;
        }
        for (uint256 i = 1; i < 10; ++i) {
            for (uint256 j = i; j > 0 && vm.addr(keys[j]) < vm.addr(keys[j - 1]); --j) {
                (keys[j], keys[j - 1]) = (keys[j - 1], keys[j]);
            }
        }
        for (uint256 i = 0; i < 10; ++i) {
            set[i] = vm.addr(keys[i]);
        }
        StateCommitment ten = new StateCommitment(admin, 0, address(0), WINDOW, set, 7);
        IStateCommitment.ReserveFigures memory f = _figuresAt(1);
        bytes32 d = typedDigest(ten, 1, bytes32(0), keccak256("r"), keccak256("d"), f);
        bytes[] memory sigs = new bytes[](7);
        for (uint256 i = 0; i < 7; ++i) {
            sigs[i] = signWith(keys[i], d);
        }
        uint256 start = gasleft();
        ten.commit(1, bytes32(0), keccak256("r"), keccak256("d"), f, sigs);
        _report("commit, 7 of 10 attesters (fresh epoch)", start - gasleft(), 300_000);
    }
}
