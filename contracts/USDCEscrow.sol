// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IStateCommitment} from "./interfaces/IStateCommitment.sol";
import {ClaimLeaf} from "./libraries/ClaimLeaf.sol";
import {PammMath} from "./libraries/PammMath.sol";
import {IUSDCEscrow} from "./interfaces/IUSDCEscrow.sol";

/// @title USDCEscrow
/// @notice The on-chain side of the off-chain network's money: deposits in, proven withdrawal claims out.
contract USDCEscrow is IUSDCEscrow, AccessControl, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice May pause deposits and withdrawals.
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
    uint64 private _nextDepositId = 1;
    mapping(uint256 claimId => bool) private _paid;

    /// @param usdc The USDC token.
    /// @param commitment Where final state roots are read from.
    /// @param admin Holds the admin role.
    /// @param params The P-AMM parameters payouts follow.
    constructor(IERC20 usdc, IStateCommitment commitment, address admin, PammParams memory params) {
        if (params.alphaBar == 0 || params.xuBar > WAD || params.thetaBar >= WAD || params.decay > WAD) {
            revert EscrowInvalidParams();
        }
        _usdc = usdc;
        _commitment = commitment;
        _alphaBar = params.alphaBar;
        _xuBar = params.xuBar;
        _thetaBar = params.thetaBar;
        _decay = params.decay;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IUSDCEscrow
    function deposit(uint256 amount, bytes32 recipient)
        external
        nonReentrant
        whenNotPaused
        returns (uint64 depositId)
    {
        if (amount == 0) revert EscrowZeroAmount();
        depositId = _nextDepositId++;
        _usdc.safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(depositId, msg.sender, recipient, amount);
    }

    /// @inheritdoc IUSDCEscrow
    function withdraw(WithdrawalClaim calldata claim, bytes32[] calldata proof)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 usdcAmount)
    {
        if (_paid[claim.claimId]) revert EscrowClaimAlreadyPaid(claim.claimId);
        bytes32 root = _commitment.finalRoot(claim.epoch);
        if (!MerkleProof.verifyCalldata(proof, root, leafOf(claim))) {
            revert EscrowInvalidProof(claim.claimId, claim.epoch);
        }
        usdcAmount = _payout(claim, _commitment.commitmentOf(claim.epoch).reserve);
        uint256 balance = _usdc.balanceOf(address(this));
        if (usdcAmount > balance) revert EscrowInsufficientReserve(claim.claimId, usdcAmount, balance);

        _paid[claim.claimId] = true;
        _usdc.safeTransfer(claim.recipient, usdcAmount);
        emit Withdrawn(
            claim.claimId, claim.recipient, claim.account, claim.epoch, claim.mycoAmount, usdcAmount
        );
    }

    /// @inheritdoc IUSDCEscrow
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @inheritdoc IUSDCEscrow
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @inheritdoc IUSDCEscrow
    function quoteWithdrawal(WithdrawalClaim calldata claim) external view returns (uint256) {
        return _payout(claim, _commitment.commitmentOf(claim.epoch).reserve);
    }

    /// @inheritdoc IUSDCEscrow
    function isPaid(uint256 claimId) external view returns (bool) {
        return _paid[claimId];
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
        return _nextDepositId;
    }

    /// @inheritdoc IUSDCEscrow
    function leafOf(WithdrawalClaim calldata claim) public pure returns (bytes32) {
        return ClaimLeaf.hash(claim);
    }

    /// @dev The claim's slice of the P-AMM curve from the epoch's committed state, divided by the flow penalty,
    ///      then WAD USD to USDC; every step rounds down (in the reserve's favour). Slices telescope: an epoch's
    ///      claims together pay exactly what redeeming their sum at once pays, in whatever order they are paid.
    function _payout(WithdrawalClaim calldata claim, IStateCommitment.ReserveFigures memory figures)
        private
        view
        returns (uint256)
    {
        if (claim.flowPenalty < WAD) revert EscrowInvalidPenalty(claim.claimId, claim.flowPenalty);
        PammMath.State memory s0 =
            PammMath.State({x: figures.flowPressure, b: figures.totalReserve, y: figures.totalSupply});
        PammMath.Params memory params =
            PammMath.Params({alphaBar: _alphaBar, xuBar: _xuBar, thetaBar: _thetaBar, decay: _decay});
        uint256 before = PammMath.redeem(s0, claim.priorRedeemed, params);
        uint256 through = PammMath.redeem(s0, claim.priorRedeemed + claim.mycoAmount, params);
        uint256 usd = through > before ? through - before : 0;
        return Math.mulDiv(usd, WAD, claim.flowPenalty) / WAD_PER_USDC_UNIT;
    }
}
