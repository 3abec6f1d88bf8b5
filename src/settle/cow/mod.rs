//! Coincidence of wants (docs/settlement-math.md, "CoW matching"): one batch auction for the MYCO/USDC pair. Intents that cross are
//! filled peer to peer at one uniform price, never worse than any filled intent's limit; what is left and the
//! curve's spot price satisfies becomes one net order per direction for the bonding curve.
//!
//! Prices are WAD USD per MYCO. `m` MYCO units at price `P` are `m·P / 1e30` USDC units. What traders receive
//! rounds down and what they pay rounds up; the difference is reported as dust. Everything is sorted by a total
//! order (limit, then intent id; balances are reserved by (maker, intent id)), so the result does not depend on
//! the order intents appear in the document. Cost: O(n log n), the two sorts; everything after them is one pass
//! over each side.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use alloy::primitives::{B256, U256};

use super::fixed::{self, Result};
use crate::ingest::intent::{Intent, Token};
use crate::parallel;

mod eligible;

use eligible::eligible;

/// Sides at least this long are sorted, and filled, on two threads.
const PARALLEL_FROM: usize = 20_000;

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

/// An eligible intent with its limit price (WAD USD per MYCO).
#[derive(Debug, Clone)]
struct Order<'a> {
    limit: U256,
    /// The first eight bytes of the intent id: most ties on the limit are settled by it without reading the
    /// intent (limits repeat often, intents are scattered in memory).
    id_prefix: u64,
    intent: &'a Intent,
}

impl<'a> Order<'a> {
    fn new(intent: &'a Intent, limit: U256) -> Self {
        Self { limit, id_prefix: prefix_of(&intent.id), intent }
    }

    /// Sort order after the limit: ids are unique per maker only, so (id, maker).
    fn tie_break(&self, other: &Self) -> Ordering {
        self.id_prefix
            .cmp(&other.id_prefix)
            .then_with(|| (&self.intent.id, &self.intent.maker).cmp(&(&other.intent.id, &other.intent.maker)))
    }
}

fn prefix_of(word: &B256) -> u64 {
    u64::from_be_bytes(word[..8].try_into().expect("eight bytes"))
}

/// Runs the batch auction over `intents` at time `now`, with the makers' `balances` and the curve's `spot`.
pub fn auction(
    intents: &[Intent],
    balances: &BTreeMap<Token, BTreeMap<B256, U256>>,
    now: u64,
    spot: U256,
) -> Result<Auction> {
    let (mut sellers, mut buyers, excluded) = eligible(intents, balances, now)?;
    // Sellers by rising limit, buyers by falling limit: each side's orders that a price meets are a prefix.
    parallel::join(
        sellers.len().min(buyers.len()) >= PARALLEL_FROM,
        || sellers.sort_unstable_by(|a, b| a.limit.cmp(&b.limit).then_with(|| a.tie_break(b))),
        || buyers.sort_unstable_by(|a, b| b.limit.cmp(&a.limit).then_with(|| a.tie_break(b))),
    );
    let mut out = Auction { excluded, ..Auction::default() };
    let (sold, paid) = match clearing_price(&sellers, &buyers, spot)? {
        Some(p) => fill_at(p, &sellers, &buyers, &mut out)?,
        None => Default::default(),
    };
    // The rest goes to the curve where its spot price meets the intent's limit.
    out.net_sell = to_curve(&sellers, Side::SellMyco, spot, &sold)?;
    out.net_buy = to_curve(&buyers, Side::BuyMyco, spot, &paid)?;
    Ok(out)
}

/// How many of `orders` (one side, in sort order) the price `p` meets: sellers asking at most `p`, buyers
/// bidding at least `p`.
fn met_by(orders: &[Order], side: Side, p: U256) -> usize {
    match side {
        Side::SellMyco => orders.partition_point(|o| o.limit <= p),
        Side::BuyMyco => orders.partition_point(|o| o.limit >= p),
    }
}

/// Fills every order whose limit `p` meets, peer to peer at the uniform price `p`, into `out` (fills, surplus,
/// matched volume, dust); returns what each seller and each buyer put in (MYCO sold, USDC paid), by position in
/// its side's sort order (orders past the end put in nothing).
fn fill_at(p: U256, sellers: &[Order], buyers: &[Order], out: &mut Auction) -> Result<(Vec<U256>, Vec<U256>)> {
    let sell_side = &sellers[..met_by(sellers, Side::SellMyco, p)];
    let buy_side = &buyers[..met_by(buyers, Side::BuyMyco, p)];
    let sell_caps: Vec<U256> = sell_side.iter().map(|o| o.intent.sell_amount).collect();
    let buy_caps =
        buy_side.iter().map(|o| fixed::mul_div(o.intent.sell_amount, PRICE_SCALE, p)).collect::<Result<Vec<_>>>()?;
    let (sold, bought) = settle_volumes(sell_side, &sell_caps, buy_side, &buy_caps);
    let (sells, buys) = parallel::join(
        sell_side.len().min(buy_side.len()) >= PARALLEL_FROM,
        || seller_fills(p, sell_side, &sold),
        || buyer_fills(p, buy_side, &bought),
    );
    let (sells, (buys, paid)) = (sells?, buys?);
    out.fills = sells.fills;
    out.fills.extend(buys.fills);
    out.surplus_usd = sells.surplus_usd + buys.surplus_usd;
    out.matched_myco = sold.iter().copied().sum();
    out.dust_usdc = buys.usdc - sells.usdc;
    out.price = (!out.matched_myco.is_zero()).then_some(p);
    Ok((sold, paid))
}

/// One side's fills at a price.
struct SideFills {
    fills: Vec<Fill>,
    /// Σ (what each got − what its limit required), WAD USD.
    surplus_usd: U256,
    /// USDC received (sellers) or paid (buyers), in all.
    usdc: U256,
}

/// The sellers' fills at `p`, each selling `sold[i]` MYCO for what it is worth at `p`, rounded down.
fn seller_fills(p: U256, sellers: &[Order], sold: &[U256]) -> Result<SideFills> {
    let mut side = SideFills { fills: Vec::with_capacity(sellers.len()), surplus_usd: U256::ZERO, usdc: U256::ZERO };
    for (o, &x) in sellers.iter().zip(sold).filter(|(_, x)| !x.is_zero()) {
        let usdc = fixed::mul_div(x, p, PRICE_SCALE)?;
        side.fills.push(Fill { intent: o.intent.id, maker: o.intent.maker, side: Side::SellMyco, myco: x, usdc });
        let required = fixed::mul_div(x, o.intent.min_buy, o.intent.sell_amount)?;
        side.surplus_usd += usdc.saturating_sub(required) * U256::from(1_000_000_000_000u64);
        side.usdc += usdc;
    }
    Ok(side)
}

/// The buyers' fills at `p`, each buying `bought[i]` MYCO and paying for it at `p`, rounded up; and what each
/// paid, by position.
fn buyer_fills(p: U256, buyers: &[Order], bought: &[U256]) -> Result<(SideFills, Vec<U256>)> {
    let mut side = SideFills { fills: Vec::with_capacity(buyers.len()), surplus_usd: U256::ZERO, usdc: U256::ZERO };
    let mut paid = vec![U256::ZERO; bought.len()];
    for ((o, &m), paid) in buyers.iter().zip(bought).zip(&mut paid).filter(|((_, m), _)| !m.is_zero()) {
        let usdc = fixed::mul_div_up(m, p, PRICE_SCALE)?;
        side.fills.push(Fill { intent: o.intent.id, maker: o.intent.maker, side: Side::BuyMyco, myco: m, usdc });
        let required = fixed::mul_div_up(usdc, o.intent.min_buy, o.intent.sell_amount)?;
        side.surplus_usd += fixed::mul_div(m.saturating_sub(required), p, fixed::ONE)?;
        side.usdc += usdc;
        *paid = usdc;
    }
    Ok((side, paid))
}

/// The part of `orders` (one side, in sort order) the curve takes at `spot`: each order whose limit the spot
/// meets, for what the auction left of it (`put_in` is what each already put in), with the worst carried limit
/// as the order's minimum out.
fn to_curve(orders: &[Order], side: Side, spot: U256, put_in: &[U256]) -> Result<Option<NetOrder>> {
    let carried: Vec<(&Order, U256)> = orders[..met_by(orders, side, spot)]
        .iter()
        .enumerate()
        .map(|(i, o)| (o, o.intent.sell_amount - put_in.get(i).copied().unwrap_or_default()))
        .filter(|(_, l)| !l.is_zero())
        .collect();
    // In sort order, the last carried order has the worst limit: the highest ask, or the lowest bid.
    let Some(&(worst, _)) = carried.last() else {
        return Ok(None);
    };
    let amount: U256 = carried.iter().map(|(_, l)| *l).sum();
    let min_out = match side {
        // The highest seller limit carried: USDC out at least amount × that price.
        Side::SellMyco => fixed::mul_div_up(amount, worst.limit, PRICE_SCALE)?,
        // The lowest buyer limit carried: MYCO out at least amount / that price.
        Side::BuyMyco => fixed::mul_div_up(amount, PRICE_SCALE, worst.limit)?,
    };
    Ok(Some(NetOrder {
        side,
        amount,
        min_out,
        intents: carried.iter().map(|(o, l)| (o.intent.maker, o.intent.id, *l)).collect(),
    }))
}

/// The price with the largest matched volume among every limit and the spot price; ties go to the price nearest
/// the spot, then the lower. `None` when nothing crosses. One sweep over the candidates in rising order: the
/// sellers a price meets only grow along it and the buyers only shrink, so each side is a moving prefix.
fn clearing_price(sellers: &[Order], buyers: &[Order], spot: U256) -> Result<Option<U256>> {
    if sellers.is_empty() || buyers.is_empty() {
        return Ok(None);
    }
    let supply: Vec<U256> = prefix(sellers.iter().map(|o| o.intent.sell_amount));
    let budget: Vec<U256> = prefix(buyers.iter().map(|o| o.intent.sell_amount));
    let (mut asks_met, mut bids_met) = (0, buyers.len());
    let mut best: Option<(U256, U256)> = None; // (volume, price)
    let mut last = U256::ZERO;
    // Limits repeat (round prices): each distinct price is weighed once.
    for p in rising_prices(sellers, buyers, spot) {
        if p == last {
            continue;
        }
        last = p;
        while asks_met < sellers.len() && sellers[asks_met].limit <= p {
            asks_met += 1;
        }
        while bids_met > 0 && buyers[bids_met - 1].limit < p {
            bids_met -= 1;
        }
        let (s, b) = (supply[asks_met], budget[bids_met]);
        if s.is_zero() || b.is_zero() {
            continue;
        }
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

/// Every seller's and buyer's limit and the spot, in rising order (a merge of the two sorted sides).
fn rising_prices<'o>(sellers: &'o [Order], buyers: &'o [Order], spot: U256) -> impl Iterator<Item = U256> + 'o {
    let mut asks = sellers.iter().map(|o| o.limit).peekable();
    let mut bids = buyers.iter().rev().map(|o| o.limit).peekable();
    let mut spot = Some(spot);
    std::iter::from_fn(move || {
        let next = [asks.peek().copied(), bids.peek().copied(), spot].into_iter().flatten().min()?;
        if asks.next_if_eq(&next).is_none() && bids.next_if_eq(&next).is_none() {
            spot = None;
        }
        Some(next)
    })
}

/// The most rounds [`settle_volumes`] takes to make both sides agree. Each round is O(n), and only the strictly
/// falling volume bounds how many rounds whole-only intents can force, so a batch could make the auction
/// quadratic. Past this many, nothing is matched: every intent is left to the curve's net orders, as when no
/// counterparty meets its limit. Honest batches agree in a few rounds.
pub const MAX_FILL_ROUNDS: usize = 64;

/// How much each seller sells and each buyer buys: both sides fill in sort order up to the same MYCO volume; an
/// intent that does not allow partial fills is filled whole or skipped.
fn settle_volumes(
    sellers: &[Order],
    sell_caps: &[U256],
    buyers: &[Order],
    buy_caps: &[U256],
) -> (Vec<U256>, Vec<U256>) {
    settle_volumes_within(sellers, sell_caps, buyers, buy_caps, MAX_FILL_ROUNDS)
}

/// [`settle_volumes`] in at most `rounds` rounds, else no fills.
fn settle_volumes_within(
    sellers: &[Order],
    sell_caps: &[U256],
    buyers: &[Order],
    buy_caps: &[U256],
    rounds: usize,
) -> (Vec<U256>, Vec<U256>) {
    let mut target = sell_caps.iter().copied().sum::<U256>().min(buy_caps.iter().copied().sum());
    for _ in 0..rounds {
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

fn greedy(orders: &[Order], caps: &[U256], target: U256) -> Vec<U256> {
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
mod reference;
#[cfg(test)]
mod tests;
