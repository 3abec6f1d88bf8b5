//! Executes an epoch's net orders on `MycoBondingCurve.settleEpoch`, from the relayer's settlement account.
//!
//! The contract settles each epoch at most once and in increasing order, so a resend after a crash cannot
//! trade twice; the `EpochSettled` event lets a restart recover what an earlier run executed.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;

use super::Error;
use super::bindings::Erc20;
use super::bindings::MycoBondingCurve;
use super::bindings::curve::IMycoBondingCurve::NetOrders;
use super::txmgr::TxManager;
use crate::ids::{Epoch, Purpose};
use crate::settle::curve::Curve;
use crate::settle::execution::Float;

/// What the curve did with an epoch's net orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Executed {
    /// USDC the sale paid.
    pub usdc_out: U256,
    /// MYCO the purchase minted.
    pub myco_out: U256,
    /// The transaction.
    pub tx_hash: B256,
    /// Its block.
    pub block_number: u64,
    /// Gas it used (0 when recovered from the chain's event log after a restart).
    pub gas_used: u64,
}

/// The curve as the relayer sees it before planning an epoch's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurveView {
    /// The curve's parameters.
    pub curve: Curve,
    /// MYCO it has issued.
    pub supply: U256,
    /// Its spot price (WAD).
    pub spot: U256,
    /// The last epoch whose orders it executed.
    pub last_settled: Epoch,
    /// What the settlement account can trade.
    pub float: Float,
}

/// Sends net orders from the settlement account.
#[derive(Debug, Clone)]
pub struct CurveSettler {
    contract: MycoBondingCurve::IMycoBondingCurveInstance<DynProvider>,
    account: Address,
    txmgr: TxManager,
}

impl CurveSettler {
    /// A settler for the curve at `address`, trading from `account` (the address `txmgr` sends as).
    pub fn new(provider: DynProvider, address: Address, account: Address, txmgr: TxManager) -> Self {
        Self { contract: MycoBondingCurve::new(address, provider), account, txmgr }
    }

    /// Reads the curve and the settlement account's float.
    pub async fn view(&self) -> Result<CurveView, Error> {
        let c = &self.contract;
        let call = |name| move |e| Error::from_call(name, e);
        let (p0, m) = (c.p0().call().await.map_err(call("p0"))?, c.m().call().await.map_err(call("m"))?);
        let supply = c.supply().call().await.map_err(call("supply"))?;
        let spot = c.spotPrice().call().await.map_err(call("spotPrice"))?;
        let last_settled = Epoch(c.lastSettledEpoch().call().await.map_err(call("lastSettledEpoch"))?);
        let provider = c.provider();
        let usdc = Erc20::new(c.usdc().call().await.map_err(call("usdc"))?, provider);
        let myco = Erc20::new(c.myco().call().await.map_err(call("myco"))?, provider);
        let usdc_held = usdc.balanceOf(self.account).call().await.map_err(call("balanceOf"))?;
        let allowance = usdc.allowance(self.account, *c.address()).call().await.map_err(call("allowance"))?;
        let float = Float {
            myco: myco.balanceOf(self.account).call().await.map_err(call("balanceOf"))?,
            usdc: usdc_held.min(allowance),
        };
        Ok(CurveView { curve: Curve { p0, m }, supply, spot, last_settled, float })
    }

    /// Executes epoch `epoch`'s net orders, each leg `(amount, min_out)` (zero amount for none): simulated first,
    /// then sent, then awaited.
    pub async fn execute(
        &self,
        epoch: Epoch,
        (sell, min_usdc): (U256, U256),
        (buy, min_myco): (U256, U256),
    ) -> Result<Executed, Error> {
        let orders = NetOrders { sellMyco: sell, minUsdcOut: min_usdc, buyUsdc: buy, minMycoOut: min_myco };
        let call = self.contract.settleEpoch(epoch.0, orders, self.account);
        call.call().await.map_err(|e| Error::from_call("settleEpoch", e))?;
        let mined = self.txmgr.send(Purpose::Settle, epoch, call.into_transaction_request()).await?;
        let (tx, receipt) = (mined.tx_hash, mined.receipt);
        let event = receipt
            .decoded_log::<MycoBondingCurve::EpochSettled>()
            .ok_or(Error::Decode { what: "EpochSettled", reason: format!("no EpochSettled event in {tx}") })?;
        Ok(Executed {
            usdc_out: event.usdcOut,
            myco_out: event.mycoOut,
            tx_hash: tx,
            block_number: receipt.block_number.unwrap_or_default(),
            gas_used: receipt.gas_used,
        })
    }

    /// What an earlier run executed for `epoch`, from the chain's `EpochSettled` log: searched backwards from the
    /// head to `from_block` (the earliest block the transaction can be in: when it was first sent, or the previous
    /// epoch's commitment), `max_range` blocks per request.
    pub async fn find_executed(
        &self,
        epoch: Epoch,
        from_block: u64,
        max_range: u64,
    ) -> Result<Option<Executed>, Error> {
        let filter = Filter::new()
            .address(*self.contract.address())
            .event_signature(MycoBondingCurve::EpochSettled::SIGNATURE_HASH)
            .topic1(U256::from(epoch.0));
        let head = self.contract.provider().get_block_number().await?;
        let found = super::logs::find_newest(self.contract.provider(), &filter, from_block, head, max_range).await?;
        let Some(log) = found else { return Ok(None) };
        // Close our stored attempts; the mined one (if it was ours) also gives the gas it used.
        let ours = self.txmgr.resolve(Purpose::Settle, epoch).await?;
        let event = MycoBondingCurve::EpochSettled::decode_log_data(log.data())
            .map_err(|e| Error::Decode { what: "EpochSettled", reason: e.to_string() })?;
        Ok(Some(Executed {
            usdc_out: event.usdcOut,
            myco_out: event.mycoOut,
            tx_hash: log.transaction_hash.unwrap_or_default(),
            block_number: log.block_number.unwrap_or_default(),
            gas_used: ours.map_or(0, |m| m.gas_used),
        }))
    }
}
