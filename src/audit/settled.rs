//! The curve's executed settlements as the auditor reads them: forward through the curve's logs, one request per
//! range of blocks, instead of a search per epoch. The spot each epoch's auction ran at (the curve's price at the
//! end of the block before `EpochSettled`) is computed from the supply the logs themselves give (`Bought` adds,
//! `Sold` takes away, from the deployment on), not read at a past block: a node without old state can serve a
//! catch-up. After each range the computed supply is compared with the curve's own at the range's last block;
//! if they differ (the logs were read from after the deployment) that range's spots are read from the chain
//! instead, and the supply restarts from the curve's.
//!
//! Only settlements of epochs the store has not recorded are kept (they are dropped once recorded), so the map
//! holds at most the epochs the chain is ahead of the reader.

use std::collections::BTreeMap;

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;

use crate::Result;
use crate::chain::bindings::MycoBondingCurve;
use crate::chain::settlements::{ChainSettlement, executed_in};
use crate::settle::conservation::ExecutedLeg;
use crate::settle::curve::Curve;

/// Settlements read and not yet recorded, and where reading goes on.
#[derive(Debug)]
pub struct Settled {
    next_block: u64,
    /// The curve's supply at the end of the last block read, as the logs give it.
    supply: U256,
    curve: Option<Curve>,
    found: BTreeMap<u64, ChainSettlement>,
}

impl Settled {
    /// Nothing read yet; reading starts at `start_block` (the deployment's block: the supply starts at zero).
    pub fn new(start_block: u64) -> Self {
        Self { next_block: start_block, supply: U256::ZERO, curve: None, found: BTreeMap::new() }
    }

    /// Reads the logs of the blocks after the last read up to `confirmations` below the head.
    pub async fn read(
        &mut self,
        provider: &DynProvider,
        curve: Address,
        confirmations: u64,
        max_range: u64,
    ) -> Result<()> {
        let contract = MycoBondingCurve::new(curve, provider);
        let call = |name| move |e| crate::chain::Error::from_call(name, e);
        if self.curve.is_none() {
            let (p0, m) =
                (contract.p0().call().await.map_err(call("p0"))?, contract.m().call().await.map_err(call("m"))?);
            self.curve = Some(Curve { p0, m });
        }
        let shape = self.curve.expect("read just above");
        let head = provider.get_block_number().await.map_err(crate::chain::Error::Rpc)?;
        let Some(to) = head.checked_sub(confirmations) else { return Ok(()) };
        for (from, end) in crate::chain::logs::ranges(self.next_block, to, max_range) {
            let filter = Filter::new()
                .address(curve)
                .event_signature(vec![
                    MycoBondingCurve::Bought::SIGNATURE_HASH,
                    MycoBondingCurve::Sold::SIGNATURE_HASH,
                    MycoBondingCurve::EpochSettled::SIGNATURE_HASH,
                ])
                .from_block(from)
                .to_block(end);
            let logs = provider.get_logs(&filter).await.map_err(crate::chain::Error::Rpc)?;
            let (mut supply, mut block, mut at_block_start) = (self.supply, None, self.supply);
            let mut settled = Vec::new();
            for log in &logs {
                if block != log.block_number {
                    (block, at_block_start) = (log.block_number, supply);
                }
                let decode = |e: alloy::sol_types::Error| crate::chain::Error::Decode {
                    what: "curve log",
                    reason: e.to_string(),
                };
                match log.topic0() {
                    Some(&MycoBondingCurve::Bought::SIGNATURE_HASH) => {
                        supply += MycoBondingCurve::Bought::decode_log_data(log.data()).map_err(decode)?.mycoOut;
                    }
                    Some(&MycoBondingCurve::Sold::SIGNATURE_HASH) => {
                        let sold = MycoBondingCurve::Sold::decode_log_data(log.data()).map_err(decode)?.mycoIn;
                        supply = supply.saturating_sub(sold);
                    }
                    Some(&MycoBondingCurve::EpochSettled::SIGNATURE_HASH) => {
                        let e = MycoBondingCurve::EpochSettled::decode_log_data(log.data()).map_err(decode)?;
                        let leg = |amount: U256, out: U256| (!amount.is_zero()).then_some(ExecutedLeg { amount, out });
                        let spot = shape.spot(at_block_start)?;
                        let s = ChainSettlement { spot, sell: leg(e.mycoIn, e.usdcOut), buy: leg(e.usdcIn, e.mycoOut) };
                        settled.push((e.epoch, s));
                    }
                    _ => {}
                }
            }
            let actual = contract.supply().block(BlockId::number(end)).call().await.map_err(call("supply"))?;
            if actual == supply {
                self.found.extend(settled);
            } else {
                tracing::warn!(from, end, computed = %supply, actual = %actual,
                    "the curve's logs do not give its supply (read from after its deployment?); reading spots from the chain");
                self.found.extend(executed_in(provider, curve, from, end).await?);
            }
            self.supply = actual;
            self.next_block = end + 1;
        }
        Ok(())
    }

    /// The settlement of `epoch`, once read, removed from what is kept (the caller records it).
    pub fn take(&mut self, epoch: u64) -> Option<ChainSettlement> {
        self.found.remove(&epoch)
    }
}
