//! What applying an epoch's settlement must credit and debit: every peer-to-peer fill of its auction, and each
//! maker's share of what an executed net order got from the curve.
//!
//! The share rule (docs/batch-format.md, "Applying a settlement"): a net order that put `A` into the curve and
//! got `out` back pays each intent it carried, which put in `a_i` (Σ a_i = A), `floor(out · a_i / A)`. The
//! rounding remainder, less than one base unit per intent, stays with the settlement float (the protocol's
//! favour). A leg that was not executed pays nothing and debits nothing: its intents keep what they offered.

use std::collections::BTreeMap;

use alloy::primitives::{B256, U256};

use crate::ingest::document::SettledFill;
use crate::ingest::intent::Token;
use crate::settle::cow::{Auction, NetOrder, Side};
use crate::settle::fixed;

/// One executed net order: what it put into the curve and what it got back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecutedLeg {
    /// MYCO sold, or USDC spent.
    pub amount: U256,
    /// USDC got for the sale, or MYCO got for the purchase.
    pub out: U256,
}

/// The epoch's settlement to apply: every intent that traded, sorted by (maker, intent), with what it gave and
/// got. Legs are `None` (or of zero amount) when not executed.
pub fn expected_fills(
    auction: &Auction,
    sell: Option<ExecutedLeg>,
    buy: Option<ExecutedLeg>,
) -> Result<Vec<SettledFill>, String> {
    let mut by_intent: BTreeMap<(B256, B256), SettledFill> = BTreeMap::new();
    for f in &auction.fills {
        let (sell_token, sold, bought) = match f.side {
            Side::SellMyco => (Token::Myco, f.myco, f.usdc),
            Side::BuyMyco => (Token::Usdc, f.usdc, f.myco),
        };
        add(&mut by_intent, f.maker, f.intent, sell_token, sold, bought)?;
    }
    for (order, leg) in [(&auction.net_sell, sell), (&auction.net_buy, buy)] {
        let (Some(order), Some(leg)) = (order, leg) else { continue };
        if leg.amount.is_zero() {
            continue;
        }
        shares(order, leg, &mut by_intent)?;
    }
    Ok(by_intent.into_values().collect())
}

/// Each carried intent's share of an executed net order.
fn shares(
    order: &NetOrder,
    leg: ExecutedLeg,
    by_intent: &mut BTreeMap<(B256, B256), SettledFill>,
) -> Result<(), String> {
    let sell_token = match order.side {
        Side::SellMyco => Token::Myco,
        Side::BuyMyco => Token::Usdc,
    };
    // The executed amount is the order's amount (the plan sends it whole or not at all); a difference means the
    // records disagree, and shares computed from either would not add up.
    if leg.amount != order.amount {
        return Err(format!(
            "the executed {:?} order put in {} but the auction's order is for {}",
            order.side, leg.amount, order.amount
        ));
    }
    for &(maker, intent, put_in) in &order.intents {
        let share = fixed::mul_div(leg.out, put_in, order.amount).map_err(|e| e.to_string())?;
        add(by_intent, maker, intent, sell_token, put_in, share)?;
    }
    Ok(())
}

fn add(
    by_intent: &mut BTreeMap<(B256, B256), SettledFill>,
    maker: B256,
    intent: B256,
    sell_token: Token,
    sold: U256,
    bought: U256,
) -> Result<(), String> {
    let entry = by_intent.entry((maker, intent)).or_insert(SettledFill {
        maker,
        intent,
        sell_token,
        sold: U256::ZERO,
        bought: U256::ZERO,
    });
    entry.sold = fixed::add(entry.sold, sold).map_err(|e| e.to_string())?;
    entry.bought = fixed::add(entry.bought, bought).map_err(|e| e.to_string())?;
    Ok(())
}
