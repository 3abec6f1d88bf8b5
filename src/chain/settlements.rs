//! What anyone reads from the chain to compute an epoch's settlement (docs/batch-format.md, "Applying a
//! settlement"): the curve's `EpochSettled` log for the epoch (what each leg put in and got) and the curve's spot
//! price right before it (the price the auction ran at: the curve's after the previous epoch's settlement, since
//! only `settleEpoch` moves it). With the epoch's batch, that is every input of the settlement: validators apply
//! it, attesters and auditors check it.

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;

use super::bindings::MycoBondingCurve;
use crate::settle::conservation::ExecutedLeg;

/// One epoch's settlement as the chain records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainSettlement {
    /// The curve's spot (WAD USD per MYCO) the auction ran at.
    pub spot: U256,
    /// The sale of MYCO, if one executed.
    pub sell: Option<ExecutedLeg>,
    /// The purchase of MYCO, if one executed.
    pub buy: Option<ExecutedLeg>,
}

/// `epoch`'s settlement on the curve at `curve`, searching logs from `from_block`; `None` until it executed.
pub async fn executed(
    provider: &DynProvider,
    curve: Address,
    epoch: u64,
    from_block: u64,
) -> Result<Option<ChainSettlement>, super::Error> {
    let filter = Filter::new()
        .address(curve)
        .event_signature(MycoBondingCurve::EpochSettled::SIGNATURE_HASH)
        .topic1(U256::from(epoch));
    let head = provider.get_block_number().await?;
    let Some(log) =
        super::logs::find_newest(provider, &filter, from_block, head, super::logs::DEFAULT_MAX_LOG_RANGE).await?
    else {
        return Ok(None);
    };
    Ok(Some(settlement_of(provider, curve, &log).await?.1))
}

/// Every epoch the curve at `curve` settled in blocks `from..=to` (the caller bounds the range), with its
/// settlement, in order: one log request for a whole range, where a catch-up would otherwise search per epoch.
pub async fn executed_in(
    provider: &DynProvider,
    curve: Address,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, ChainSettlement)>, super::Error> {
    let filter = Filter::new()
        .address(curve)
        .event_signature(MycoBondingCurve::EpochSettled::SIGNATURE_HASH)
        .from_block(from)
        .to_block(to);
    let mut out = Vec::new();
    for log in provider.get_logs(&filter).await? {
        out.push(settlement_of(provider, curve, &log).await?);
    }
    Ok(out)
}

/// The epoch and settlement an `EpochSettled` log records, with the curve's spot at the block before it.
async fn settlement_of(
    provider: &DynProvider,
    curve: Address,
    log: &alloy::rpc::types::Log,
) -> Result<(u64, ChainSettlement), super::Error> {
    let event = MycoBondingCurve::EpochSettled::decode_log_data(log.data())
        .map_err(|e| super::Error::Decode { what: "EpochSettled", reason: e.to_string() })?;
    let before = log.block_number.unwrap_or_default().saturating_sub(1);
    let spot = MycoBondingCurve::new(curve, provider)
        .spotPrice()
        .block(BlockId::number(before))
        .call()
        .await
        .map_err(|e| super::Error::from_call("spotPrice", e))?;
    let leg = |amount: U256, out: U256| (!amount.is_zero()).then_some(ExecutedLeg { amount, out });
    let settlement =
        ChainSettlement { spot, sell: leg(event.mycoIn, event.usdcOut), buy: leg(event.usdcIn, event.mycoOut) };
    Ok((event.epoch, settlement))
}
