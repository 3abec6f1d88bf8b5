//! Coincidence of wants (docs/settlement-math.md, "CoW matching"): one batch auction for the MYCO/USDC pair. Intents that cross are
//! filled peer to peer at one uniform price, never worse than any filled intent's limit; what is left and the
//! curve's spot price satisfies becomes one net order per direction for the bonding curve.
//!
//! Prices are WAD USD per MYCO. `m` MYCO units at price `P` are `m·P / 1e30` USDC units. What traders receive
//! rounds down and what they pay rounds up; the difference is reported as dust. Everything is sorted by a total
//! order (limit, then intent id; balances are reserved by (maker, intent id)), so the result does not depend on
//! the order intents appear in the document. Cost: O(n log n).

use std::collections::BTreeMap;

use alloy::primitives::{B256, U256};

use super::fixed::{self, Result};
use crate::ingest::intent::{Intent, Token};

/// USDC units × 1e30 / MYCO units = WAD USD per MYCO.
const PRICE_SCALE: U256 = U256::from_limbs([5076944270305263616, 54210108624, 0, 0]);

/// Which way an intent trades MYCO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// Gives MYCO for USDC.
    SellMyco,
    /// Gives USDC for MYCO.
    BuyMyco,
}

/// Why a valid-looking intent took no part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusion {
    /// `valid_until` is before the batch's time.
    Expired,
    /// The maker's balance (after its earlier intents) does not cover the sell amount.
    Uncovered,
}

/// One intent's fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// The intent.
    pub intent: B256,
    /// Its maker.
    pub maker: B256,
    /// Its side.
    pub side: Side,
    /// MYCO units sold (sellers) or bought (buyers).
    pub myco: U256,
    /// USDC units received (sellers) or paid (buyers).
    pub usdc: U256,
}

/// The unmatched remainder sent to the curve in one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetOrder {
    /// Sell MYCO (amount in MYCO, min out in USDC) or buy MYCO (amount in USDC, min out in MYCO).
    pub side: Side,
    /// What the order pays in.
    pub amount: U256,
    /// The slippage limit: the least it must get back, from the worst limit it carries.
    pub min_out: U256,
    /// The intents it carries, as (maker, intent id, what it puts in).
    pub intents: Vec<(B256, B256, U256)>,
}

/// The auction's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auction {
    /// The uniform clearing price, when anything matched.
    pub price: Option<U256>,
    /// MYCO matched peer to peer.
    pub matched_myco: U256,
    /// Fills, sellers then buyers, each in sort order.
    pub fills: Vec<Fill>,
    /// The net sell order for the curve.
    pub net_sell: Option<NetOrder>,
    /// The net buy order for the curve.
    pub net_buy: Option<NetOrder>,
    /// Σ (what each filled trader got − what its limit required), WAD USD.
    pub surplus_usd: U256,
    /// USDC paid in by buyers beyond what sellers received (rounding), kept by the batch.
    pub dust_usdc: U256,
    /// Intents that took no part, and why.
    pub excluded: Vec<(B256, Exclusion)>,
}

/// What each intent filled peer to peer, as (MYCO, USDC), by (maker, intent id): ids are unique per maker only.
type Filled = BTreeMap<(B256, B256), (U256, U256)>;

#[derive(Debug, Clone)]
struct Order<'a> {
    intent: &'a Intent,
    side: Side,
    limit: U256,
}

/// Runs the batch auction over `intents` at time `now`, with the makers' `balances` and the curve's `spot`.
pub fn auction(
    intents: &[Intent],
    balances: &BTreeMap<Token, BTreeMap<B256, U256>>,
    now: u64,
    spot: U256,
) -> Result<Auction> {
    let mut out = Auction::default();
    let (mut sellers, mut buyers) = (Vec::new(), Vec::new());
    for (order, exclusion) in eligible(intents, balances, now)? {
        match (order, exclusion) {
            (o, None) if o.side == Side::SellMyco => sellers.push(o),
            (o, None) => buyers.push(o),
            (o, Some(why)) => out.excluded.push((o.intent.id, why)),
        }
    }
    sellers.sort_by(|a, b| a.limit.cmp(&b.limit).then(a.intent.id.cmp(&b.intent.id)));
    buyers.sort_by(|a, b| b.limit.cmp(&a.limit).then(a.intent.id.cmp(&b.intent.id)));

    let filled = match clearing_price(&sellers, &buyers, spot)? {
        Some(p) => fill_at(p, &sellers, &buyers, &mut out)?,
        None => BTreeMap::new(),
    };
    // The rest goes to the curve where its spot price meets the intent's limit.
    out.net_sell = to_curve(&sellers, Side::SellMyco, spot, &filled)?;
    out.net_buy = to_curve(&buyers, Side::BuyMyco, spot, &filled)?;
    Ok(out)
}

/// Fills every order whose limit `p` meets, peer to peer at the uniform price `p`, into `out` (fills, surplus,
/// matched volume, dust); returns what each intent filled, as (MYCO, USDC).
fn fill_at(p: U256, sellers: &[Order], buyers: &[Order], out: &mut Auction) -> Result<Filled> {
    let mut filled = BTreeMap::new();
    let sell_side: Vec<&Order> = sellers.iter().filter(|o| o.limit <= p).collect();
    let buy_side: Vec<&Order> = buyers.iter().filter(|o| o.limit >= p).collect();
    let sell_caps: Vec<U256> = sell_side.iter().map(|o| o.intent.sell_amount).collect();
    let buy_caps =
        buy_side.iter().map(|o| fixed::mul_div(o.intent.sell_amount, PRICE_SCALE, p)).collect::<Result<Vec<_>>>()?;
    let (sold, bought) = settle_volumes(&sell_side, &sell_caps, &buy_side, &buy_caps);
    for (o, &x) in sell_side.iter().zip(&sold).filter(|(_, x)| !x.is_zero()) {
        let usdc = fixed::mul_div(x, p, PRICE_SCALE)?;
        out.fills.push(Fill { intent: o.intent.id, maker: o.intent.maker, side: Side::SellMyco, myco: x, usdc });
        let required = fixed::mul_div(x, o.intent.min_buy, o.intent.sell_amount)?;
        out.surplus_usd += usdc.saturating_sub(required) * U256::from(1_000_000_000_000u64);
        filled.insert((o.intent.maker, o.intent.id), (x, usdc));
    }
    for (o, &m) in buy_side.iter().zip(&bought).filter(|(_, m)| !m.is_zero()) {
        let usdc = fixed::mul_div_up(m, p, PRICE_SCALE)?;
        out.fills.push(Fill { intent: o.intent.id, maker: o.intent.maker, side: Side::BuyMyco, myco: m, usdc });
        let required = fixed::mul_div_up(usdc, o.intent.min_buy, o.intent.sell_amount)?;
        out.surplus_usd += fixed::mul_div(m.saturating_sub(required), p, fixed::ONE)?;
        filled.insert((o.intent.maker, o.intent.id), (m, usdc));
    }
    out.matched_myco = sold.iter().copied().sum();
    let paid: U256 = out.fills.iter().filter(|f| f.side == Side::BuyMyco).map(|f| f.usdc).sum();
    let received: U256 = out.fills.iter().filter(|f| f.side == Side::SellMyco).map(|f| f.usdc).sum();
    out.dust_usdc = paid - received;
    out.price = (!out.matched_myco.is_zero()).then_some(p);
    Ok(filled)
}

/// The part of `orders` (one side) the curve takes at `spot`: each order whose limit the spot meets, for what
/// the auction left of it, with the worst carried limit as the order's minimum out.
fn to_curve(orders: &[Order], side: Side, spot: U256, filled: &Filled) -> Result<Option<NetOrder>> {
    let left = |o: &Order| {
        let (myco, usdc) = filled.get(&(o.intent.maker, o.intent.id)).copied().unwrap_or_default();
        match o.side {
            Side::SellMyco => o.intent.sell_amount - myco,
            Side::BuyMyco => o.intent.sell_amount - usdc,
        }
    };
    let carried: Vec<(&Order, U256)> = orders
        .iter()
        .filter(|o| if side == Side::SellMyco { o.limit <= spot } else { o.limit >= spot })
        .map(|o| (o, left(o)))
        .filter(|(_, l)| !l.is_zero())
        .collect();
    if carried.is_empty() {
        return Ok(None);
    }
    let amount: U256 = carried.iter().map(|(_, l)| *l).sum();
    let min_out = match side {
        // The highest seller limit carried: USDC out at least amount × that price.
        Side::SellMyco => {
            fixed::mul_div_up(amount, carried.iter().map(|(o, _)| o.limit).max().unwrap_or_default(), PRICE_SCALE)?
        }
        // The lowest buyer limit carried: MYCO out at least amount / that price.
        Side::BuyMyco => {
            let worst = carried.iter().map(|(o, _)| o.limit).min().unwrap_or_default();
            fixed::mul_div_up(amount, PRICE_SCALE, worst)?
        }
    };
    Ok(Some(NetOrder {
        side,
        amount,
        min_out,
        intents: carried.iter().map(|(o, l)| (o.intent.maker, o.intent.id, *l)).collect(),
    }))
}

/// Unexpired MYCO/USDC intents in (maker, id) order, each reserving its sell amount from its maker's balance.
fn eligible<'a>(
    intents: &'a [Intent],
    balances: &BTreeMap<Token, BTreeMap<B256, U256>>,
    now: u64,
) -> Result<Vec<(Order<'a>, Option<Exclusion>)>> {
    let mut sorted: Vec<&Intent> = intents.iter().collect();
    sorted.sort_by_key(|i| (i.maker, i.id));
    let mut reserved: BTreeMap<(B256, Token), U256> = BTreeMap::new();
    let mut out = Vec::with_capacity(sorted.len());
    for intent in sorted {
        let (side, limit) = match intent.sell_token {
            // A seller's limit is a least price: round it up, so no fill is worse than asked.
            Token::Myco => (Side::SellMyco, fixed::mul_div_up(intent.min_buy, PRICE_SCALE, intent.sell_amount)?),
            // A buyer's limit is a most price: round it down.
            Token::Usdc => (Side::BuyMyco, fixed::mul_div(intent.sell_amount, PRICE_SCALE, intent.min_buy)?),
        };
        let order = Order { intent, side, limit };
        if intent.valid_until < now {
            out.push((order, Some(Exclusion::Expired)));
            continue;
        }
        let held = balances.get(&intent.sell_token).and_then(|b| b.get(&intent.maker)).copied().unwrap_or_default();
        let used = reserved.entry((intent.maker, intent.sell_token)).or_default();
        if held.saturating_sub(*used) < intent.sell_amount {
            out.push((order, Some(Exclusion::Uncovered)));
            continue;
        }
        *used += intent.sell_amount;
        out.push((order, None));
    }
    Ok(out)
}

/// The price with the largest matched volume among every limit and the spot price; ties go to the price nearest
/// the spot, then the lower. `None` when nothing crosses.
fn clearing_price(sellers: &[Order], buyers: &[Order], spot: U256) -> Result<Option<U256>> {
    if sellers.is_empty() || buyers.is_empty() {
        return Ok(None);
    }
    let supply: Vec<U256> = prefix(sellers.iter().map(|o| o.intent.sell_amount));
    let budget: Vec<U256> = prefix(buyers.iter().map(|o| o.intent.sell_amount));
    let mut best: Option<(U256, U256)> = None; // (volume, price)
    let candidates = sellers.iter().chain(buyers).map(|o| o.limit).chain(std::iter::once(spot));
    for p in candidates.filter(|p| !p.is_zero()) {
        let s = supply[sellers.partition_point(|o| o.limit <= p)];
        let b = budget[buyers.partition_point(|o| o.limit >= p)];
        let volume = s.min(fixed::mul_div(b, PRICE_SCALE, p)?);
        let better = match best {
            None => true,
            Some((v, q)) => volume > v || (volume == v && (p.abs_diff(spot), p) < (q.abs_diff(spot), q)),
        };
        if better {
            best = Some((volume, p));
        }
    }
    Ok(best.filter(|(v, _)| !v.is_zero()).map(|(_, p)| p))
}

/// How much each seller sells and each buyer buys: both sides fill in sort order up to the same MYCO volume; an
/// intent that does not allow partial fills is filled whole or skipped.
fn settle_volumes(
    sellers: &[&Order],
    sell_caps: &[U256],
    buyers: &[&Order],
    buy_caps: &[U256],
) -> (Vec<U256>, Vec<U256>) {
    let mut target = sell_caps.iter().copied().sum::<U256>().min(buy_caps.iter().copied().sum());
    loop {
        let sold = greedy(sellers, sell_caps, target);
        let bought = greedy(buyers, buy_caps, sold.iter().copied().sum());
        let (s, b): (U256, U256) = (sold.iter().copied().sum(), bought.iter().copied().sum());
        if s == b {
            return (sold, bought);
        }
        // Skipped whole-only intents left the other side short: shrink the target and settle again.
        target = b;
    }
}

fn greedy(orders: &[&Order], caps: &[U256], target: U256) -> Vec<U256> {
    let mut left = target;
    orders
        .iter()
        .zip(caps)
        .map(|(o, &cap)| {
            let take = if cap <= left {
                cap
            } else if o.intent.partial {
                left
            } else {
                U256::ZERO
            };
            left -= take;
            take
        })
        .collect()
}

fn prefix(values: impl Iterator<Item = U256>) -> Vec<U256> {
    let mut out = vec![U256::ZERO];
    for v in values {
        let last = *out.last().expect("starts with zero");
        out.push(last.saturating_add(v));
    }
    out
}

#[cfg(test)]
mod tests;
