//! The first auction (before issue 17), kept as a reference model: the straightforward form of the same rules
//! (a binary search per candidate price, maps keyed by intent). `tests.rs` checks the fast auction against it
//! on random intents; it is not used outside the tests.

use std::collections::BTreeMap;

use alloy::primitives::{B256, U256};

use super::{Auction, Exclusion, Fill, NetOrder, PRICE_SCALE, Side};
use crate::ingest::intent::{Intent, Token};
use crate::settle::fixed::{self, Result};

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
    out.net_sell = to_curve(&sellers, Side::SellMyco, spot, &filled)?;
    out.net_buy = to_curve(&buyers, Side::BuyMyco, spot, &filled)?;
    Ok(out)
}

/// What each intent filled peer to peer, as (MYCO, USDC), by (maker, intent id): ids are unique per maker only.
type Filled = BTreeMap<(B256, B256), (U256, U256)>;

#[derive(Debug, Clone)]
struct Order<'a> {
    intent: &'a Intent,
    side: Side,
    limit: U256,
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
    // The rule's bound on rounds (`super::MAX_FILL_ROUNDS`), then no fills.
    for _ in 0..super::MAX_FILL_ROUNDS {
        let sold = greedy(sellers, sell_caps, target);
        let bought = greedy(buyers, buy_caps, sold.iter().copied().sum());
        let (s, b): (U256, U256) = (sold.iter().copied().sum(), bought.iter().copied().sum());
        if s == b {
            return (sold, bought);
        }
        // Skipped whole-only intents left the other side short: shrink the target and settle again.
        target = b;
    }
    (vec![U256::ZERO; sellers.len()], vec![U256::ZERO; buyers.len()])
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
