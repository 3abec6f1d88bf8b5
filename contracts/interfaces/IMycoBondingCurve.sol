// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IMycoBondingCurve
/// @notice Buys and sells MYCO against a USDC reserve along the affine price p(s) = p0 + m*s. The only trades are
///         the net orders of committed epochs, each epoch exactly once and in order, executed by the settlement role
///         (and, before the first epoch, the admin's one-off purchase of the settlement float); quotes are free.
interface IMycoBondingCurve {
    /// @notice MYCO was bought from the curve.
    /// @param buyer The account that paid.
    /// @param to Who received the MYCO.
    /// @param usdcIn USDC paid (6 decimals).
    /// @param mycoOut MYCO minted (18 decimals).
    event Bought(address indexed buyer, address indexed to, uint256 usdcIn, uint256 mycoOut);

    /// @notice MYCO was sold to the curve.
    /// @param seller The settlement account whose MYCO was burned.
    /// @param to Who received the USDC.
    /// @param mycoIn MYCO burned (18 decimals).
    /// @param usdcOut USDC paid (6 decimals).
    event Sold(address indexed seller, address indexed to, uint256 mycoIn, uint256 usdcOut);

    /// @notice An epoch's net orders were executed.
    /// @param epoch The epoch whose batch auction left these orders.
    /// @param mycoIn MYCO sold to the curve (0 if none).
    /// @param usdcOut USDC the sale paid.
    /// @param usdcIn USDC spent buying from the curve (0 if none).
    /// @param mycoOut MYCO the purchase minted.
    event EpochSettled(
        uint64 indexed epoch, uint256 mycoIn, uint256 usdcOut, uint256 usdcIn, uint256 mycoOut
    );

    /// @notice The net orders of one epoch (either side may be zero).
    /// @param sellMyco MYCO to sell (18 decimals).
    /// @param minUsdcOut The sale's slippage limit (6 decimals).
    /// @param buyUsdc USDC to spend buying (6 decimals).
    /// @param minMycoOut The purchase's slippage limit (18 decimals).
    struct NetOrders {
        uint256 sellMyco;
        uint256 minUsdcOut;
        uint256 buyUsdc;
        uint256 minMycoOut;
    }

    /// @notice The epoch offered is not the next one to settle: each epoch settles once, in order.
    /// @param expected `lastSettledEpoch() + 1`.
    /// @param got The epoch offered.
    error CurveEpochOutOfOrder(uint64 expected, uint64 got);

    /// @notice The epoch's root is not committed on `StateCommitment` yet: orders follow their epoch's root.
    /// @param epoch The epoch offered.
    /// @param latestCommitted `StateCommitment.latestEpoch()`.
    error CurveEpochNotCommitted(uint64 epoch, uint64 latestCommitted);

    /// @notice The float purchase happens once, before the first epoch settles.
    error CurveFloatAfterGenesis();

    /// @notice A required address is zero.
    error CurveZeroAddress();

    /// @notice The curve's parameters are unusable (both p0 and m are zero).
    error CurveInvalidParameters();

    /// @notice The order would pay less than its slippage limit.
    /// @param out What it would pay.
    /// @param minOut The limit.
    error CurveSlippage(uint256 out, uint256 minOut);

    /// @notice More MYCO offered than the curve has issued.
    /// @param amount MYCO offered.
    /// @param supply MYCO issued by the curve.
    error CurveSellExceedsSupply(uint256 amount, uint256 supply);

    /// @notice An order of zero.
    error CurveZeroAmount();

    /// @notice The admin buys the settlement float before the first epoch settles: MYCO at the curve's price for
    ///         `usdcIn` USDC pulled from the caller (the only trade outside an epoch's net orders, and only once the
    ///         network has not traded yet).
    /// @param usdcIn USDC to pay (6 decimals).
    /// @param minMycoOut Reverts if fewer MYCO would be minted.
    /// @param to Who receives the MYCO (the settlement account).
    /// @return mycoOut MYCO minted.
    function buyFloat(uint256 usdcIn, uint256 minMycoOut, address to) external returns (uint256 mycoOut);

    /// @notice Executes one epoch's net orders, the sale first, then the purchase, all or nothing: every epoch
    ///         exactly once and in order (an epoch without net orders settles with zeros), and only once its root is
    ///         committed on `StateCommitment`.
    /// @param epoch `lastSettledEpoch() + 1`, at most `StateCommitment.latestEpoch()`.
    /// @param orders The net orders.
    /// @param to Who receives the sale's USDC and the purchase's MYCO.
    /// @return usdcOut USDC the sale paid.
    /// @return mycoOut MYCO the purchase minted.
    function settleEpoch(uint64 epoch, NetOrders calldata orders, address to)
        external
        returns (uint256 usdcOut, uint256 mycoOut);

    /// @notice The curve's price at zero supply, p0 (WAD USD per MYCO).
    function p0() external view returns (uint256);

    /// @notice The curve's slope m (WAD USD per MYCO per MYCO).
    function m() external view returns (uint256);

    /// @notice The role that executes each epoch's net orders (the relayer).
    function SETTLEMENT_ROLE() external view returns (bytes32);

    /// @notice The last epoch whose net orders were executed (0 before any).
    function lastSettledEpoch() external view returns (uint64);

    /// @notice Where committed epochs are read from.
    function stateCommitment() external view returns (address);

    /// @notice MYCO that `usdcIn` USDC buys now.
    /// @param usdcIn USDC (6 decimals).
    function quoteBuy(uint256 usdcIn) external view returns (uint256);

    /// @notice USDC that selling `mycoIn` MYCO pays now.
    /// @param mycoIn MYCO (18 decimals).
    function quoteSell(uint256 mycoIn) external view returns (uint256);

    /// @notice The marginal price p(S) at the current supply (WAD USD per MYCO).
    function spotPrice() external view returns (uint256);

    /// @notice The reserve token (USDC).
    function usdc() external view returns (address);

    /// @notice The issued token (MYCO).
    function myco() external view returns (address);

    /// @notice MYCO issued by the curve (18 decimals).
    function supply() external view returns (uint256);
}
