// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {DelayedRoles} from "./access/DelayedRoles.sol";
import {IMycoBondingCurve} from "./interfaces/IMycoBondingCurve.sol";
import {IStateCommitment} from "./interfaces/IStateCommitment.sol";
import {CurveMath} from "./libraries/CurveMath.sol";
import {MycoToken} from "./tokens/MycoToken.sol";

/// @title MycoBondingCurve
/// @notice MYCO issued against a USDC reserve along p(s) = p0 + m*s. The only trades are each committed epoch's net
///         orders (left after peer-to-peer matching), in order and once, by the settlement role; anyone can quote.
///         The curve deploys MYCO and is its only minter; the settlement role is granted at deployment and
///         afterwards only after the admin delay.
contract MycoBondingCurve is IMycoBondingCurve, DelayedRoles, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice May execute net orders.
    bytes32 public constant SETTLEMENT_ROLE = keccak256("SETTLEMENT_ROLE");

    /// @dev One USDC unit (6 decimals) is 1e12 WAD units.
    uint256 private constant WAD_PER_USDC_UNIT = 1e12;

    IERC20 private immutable _usdc;
    MycoToken private immutable _myco;
    IStateCommitment private immutable _commitment;
    /// @notice Price at zero supply (WAD USD per MYCO).
    uint256 public immutable p0;
    /// @notice Price slope (WAD USD per MYCO, per MYCO of supply).
    uint256 public immutable m;
    uint256 private _supply;
    uint64 private _lastSettledEpoch;
    bool private _floatBought;

    /// @param usdcToken The reserve token.
    /// @param basePrice p0 in WAD.
    /// @param slope m in WAD.
    /// @param admin Holds the admin role; moved only by a two-step transfer.
    /// @param adminDelay Seconds an admin transfer or a role grant waits.
    /// @param commitment Where committed epochs are read from (net orders follow their epoch's root).
    /// @param settler Holds the settlement role from the start (the relayer's account; zero: nobody yet).
    constructor(
        IERC20 usdcToken,
        uint256 basePrice,
        uint256 slope,
        address admin,
        uint48 adminDelay,
        IStateCommitment commitment,
        address settler
    ) DelayedRoles(adminDelay, admin) {
        if (basePrice == 0 && slope == 0) revert CurveInvalidParameters();
        if (address(usdcToken) == address(0) || address(commitment) == address(0)) revert CurveZeroAddress();
        if (settler != address(0)) _grantRole(SETTLEMENT_ROLE, settler);
        _usdc = usdcToken;
        _myco = new MycoToken(address(this));
        _commitment = commitment;
        p0 = basePrice;
        m = slope;
    }

    /// @inheritdoc IMycoBondingCurve
    function buyFloat(uint256 usdcIn, uint256 minMycoOut, address to)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        nonReentrant
        returns (uint256 mycoOut)
    {
        if (_lastSettledEpoch != 0 || _floatBought) {
            revert CurveFloatAfterGenesis();
        }
        _floatBought = true;
        mycoOut = _buy(usdcIn, minMycoOut, to);
    }

    /// @inheritdoc IMycoBondingCurve
    function settleEpoch(uint64 epoch, NetOrders calldata orders, address to)
        external
        onlyRole(SETTLEMENT_ROLE)
        nonReentrant
        returns (uint256 usdcOut, uint256 mycoOut)
    {
        uint64 expected = _lastSettledEpoch + 1;
        if (epoch != expected) revert CurveEpochOutOfOrder(expected, epoch);
        uint64 latest = _commitment.latestEpoch();
        if (epoch > latest) revert CurveEpochNotCommitted(epoch, latest);
        _lastSettledEpoch = epoch;
        // Selling first: its USDC can fund the purchase, and the two legs see the supply in a fixed order.
        if (orders.sellMyco != 0) usdcOut = _sell(orders.sellMyco, orders.minUsdcOut, to);
        if (orders.buyUsdc != 0) mycoOut = _buy(orders.buyUsdc, orders.minMycoOut, to);
        emit EpochSettled(epoch, orders.sellMyco, usdcOut, orders.buyUsdc, mycoOut);
    }

    /// @inheritdoc IMycoBondingCurve
    function lastSettledEpoch() external view returns (uint64) {
        return _lastSettledEpoch;
    }

    /// @inheritdoc IMycoBondingCurve
    function stateCommitment() external view returns (address) {
        return address(_commitment);
    }

    function _buy(uint256 usdcIn, uint256 minMycoOut, address to) private returns (uint256 mycoOut) {
        if (usdcIn == 0) revert CurveZeroAmount();
        mycoOut = quoteBuy(usdcIn);
        if (mycoOut < minMycoOut) revert CurveSlippage(mycoOut, minMycoOut);
        _supply += mycoOut;
        _usdc.safeTransferFrom(msg.sender, address(this), usdcIn);
        _myco.mint(to, mycoOut);
        emit Bought(msg.sender, to, usdcIn, mycoOut);
    }

    function _sell(uint256 mycoIn, uint256 minUsdcOut, address to) private returns (uint256 usdcOut) {
        if (mycoIn == 0) revert CurveZeroAmount();
        usdcOut = quoteSell(mycoIn);
        if (usdcOut < minUsdcOut) revert CurveSlippage(usdcOut, minUsdcOut);
        _supply -= mycoIn;
        _myco.burn(msg.sender, mycoIn);
        _usdc.safeTransfer(to, usdcOut);
        emit Sold(msg.sender, to, mycoIn, usdcOut);
    }

    /// @inheritdoc IMycoBondingCurve
    function quoteBuy(uint256 usdcIn) public view returns (uint256) {
        return CurveMath.buyOut(p0, m, _supply, usdcIn * WAD_PER_USDC_UNIT);
    }

    /// @inheritdoc IMycoBondingCurve
    function quoteSell(uint256 mycoIn) public view returns (uint256) {
        if (mycoIn > _supply) revert CurveSellExceedsSupply(mycoIn, _supply);
        // WAD -> USDC rounds down: the reserve never pays dust it does not have.
        return CurveMath.sellOut(p0, m, _supply, mycoIn) / WAD_PER_USDC_UNIT;
    }

    /// @inheritdoc IMycoBondingCurve
    function spotPrice() external view returns (uint256) {
        return CurveMath.spot(p0, m, _supply);
    }

    /// @inheritdoc IMycoBondingCurve
    function usdc() external view returns (address) {
        return address(_usdc);
    }

    /// @inheritdoc IMycoBondingCurve
    function myco() external view returns (address) {
        return address(_myco);
    }

    /// @inheritdoc IMycoBondingCurve
    function supply() external view returns (uint256) {
        return _supply;
    }
}
