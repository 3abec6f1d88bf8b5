//! A human-readable summary of a verified batch (what `myco-bridge verify-batch` prints).

use std::fmt;

use alloy::primitives::U256;

use super::Batch;
use super::intent::Token;

/// Displays a verified batch's header, certificate and contents.
#[derive(Debug)]
pub struct Summary<'a> {
    /// The batch.
    pub batch: &'a Batch,
    /// The validator set's size.
    pub validators: usize,
    /// The quorum.
    pub quorum: usize,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.batch;
        let s = &b.state;
        let count = |t: Token| s.balances.get(&t).map_or(0, |m| m.len());
        let (sells, buys) = s
            .intents
            .iter()
            .fold((0, 0), |(a, c), i| if i.sell_token == Token::Myco { (a + 1, c) } else { (a, c + 1) });
        let withdrawn: U256 = s.withdrawals.iter().map(|w| w.amount).sum();
        let deposited: U256 = s.deposits.iter().map(|d| d.amount).sum();
        writeln!(f, "epoch        {}", b.epoch)?;
        writeln!(f, "digest       {}", b.digest)?;
        writeln!(f, "parent       {}", b.parent)?;
        writeln!(f, "timestamp    {}", s.timestamp)?;
        writeln!(f, "certificate  {} of {} validators signed (quorum {})", b.signers, self.validators, self.quorum)?;
        writeln!(f, "balances     {} MYCO, {} USDC accounts", count(Token::Myco), count(Token::Usdc))?;
        writeln!(f, "intents      {} ({sells} sell MYCO, {buys} buy MYCO)", s.intents.len())?;
        writeln!(f, "flows        {} trackers", s.flows.len())?;
        writeln!(f, "deposits     {} credited, {} USDC units", s.deposits.len(), deposited)?;
        writeln!(f, "withdrawals  {} claims, {} MYCO units", s.withdrawals.len(), withdrawn)?;
        writeln!(f, "supply       {} MYCO units", s.reserve.total_supply)?;
        writeln!(f, "reserve      {} (WAD USD) over {} vaults", s.reserve.total_reserve, s.reserve.vaults.len())?;
        write!(f, "size         {} bytes", b.raw.len())
    }
}
