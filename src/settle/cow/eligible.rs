//! Who takes part in the auction: each unexpired intent, in (maker, id) order, reserves its sell amount from its
//! maker's balance; what is left uncovered or expired is excluded with why.

use std::collections::BTreeMap;

use alloy::primitives::{B256, U256};

use super::{Exclusion, Order, PARALLEL_FROM, PRICE_SCALE, prefix_of};
use crate::ingest::intent::{Intent, Token};
use crate::parallel;
use crate::settle::fixed::{self, Result};

/// The sellers and buyers among `intents`, and the intents that take no part with why, in (maker, id) order:
/// unexpired intents each reserve their sell amount from their maker's balance, in that order. Large inputs are
/// cut into runs of whole makers, one per core (a maker's reservations never cross runs).
pub(super) fn eligible<'a>(
    intents: &'a [Intent],
    balances: &BTreeMap<Token, BTreeMap<B256, U256>>,
    now: u64,
) -> Result<Eligible<'a>> {
    // The maker's first eight bytes beside each intent: the sort reads the intent only on a tie.
    let mut sorted: Vec<(u64, &Intent)> = intents.iter().map(|i| (prefix_of(&i.maker), i)).collect();
    sorted.sort_unstable_by(|(pa, a), (pb, b)| pa.cmp(pb).then_with(|| (&a.maker, &a.id).cmp(&(&b.maker, &b.id))));
    let sorted: Vec<&Intent> = sorted.into_iter().map(|(_, i)| i).collect();
    let (first, second) = sorted.split_at(maker_boundary_near(&sorted, sorted.len() / 2));
    let (first, second) = parallel::join(
        second.len() >= PARALLEL_FROM,
        || eligible_run(first, balances, now),
        || eligible_run(second, balances, now),
    );
    let (mut all, rest) = (first?, second?);
    all.0.extend(rest.0);
    all.1.extend(rest.1);
    all.2.extend(rest.2);
    Ok(all)
}

/// Sellers, buyers, and the excluded with why.
pub(super) type Eligible<'a> = (Vec<Order<'a>>, Vec<Order<'a>>, Vec<(B256, Exclusion)>);

/// The first index at or after `i` where a new maker starts (or the end).
fn maker_boundary_near(sorted: &[&Intent], i: usize) -> usize {
    let mut i = i.min(sorted.len());
    while i > 0 && i < sorted.len() && sorted[i].maker == sorted[i - 1].maker {
        i += 1;
    }
    i
}

/// [`eligible`] over a run of intents in (maker, id) order that holds each of its makers whole.
fn eligible_run<'a>(
    sorted: &[&'a Intent],
    balances: &BTreeMap<Token, BTreeMap<B256, U256>>,
    now: u64,
) -> Result<Eligible<'a>> {
    let from = sorted.first().map(|i| i.maker).unwrap_or_default();
    let mut holdings = [Token::Myco, Token::Usdc].map(|t| Holdings::new(balances.get(&t), &from, sorted.len()));
    // What the current maker's earlier intents reserved, per token (makers come one after another).
    let mut maker: Option<&B256> = None;
    let mut reserved = [U256::ZERO; 2];
    let (mut sellers, mut buyers, mut excluded) = (Vec::new(), Vec::new(), Vec::new());
    for &intent in sorted {
        // `token` indexes `holdings` and `reserved`.
        let (side, token, limit) = match intent.sell_token {
            // A seller's limit is a least price: round it up, so no fill is worse than asked.
            Token::Myco => (&mut sellers, 0, fixed::mul_div_up(intent.min_buy, PRICE_SCALE, intent.sell_amount)?),
            // A buyer's limit is a most price: round it down.
            Token::Usdc => (&mut buyers, 1, fixed::mul_div(intent.sell_amount, PRICE_SCALE, intent.min_buy)?),
        };
        if intent.valid_until < now {
            excluded.push((intent.id, Exclusion::Expired));
            continue;
        }
        if maker != Some(&intent.maker) {
            maker = Some(&intent.maker);
            reserved = [U256::ZERO; 2];
        }
        let held = holdings[token].of(&intent.maker);
        if held.saturating_sub(reserved[token]) < intent.sell_amount {
            excluded.push((intent.id, Exclusion::Uncovered));
            continue;
        }
        reserved[token] += intent.sell_amount;
        side.push(Order::new(intent, limit));
    }
    Ok((sellers, buyers, excluded))
}

/// One token's balances, asked for makers in ascending order from `from`: a walk along the map when the
/// questions are about as many as the balances (no search per maker), a lookup each when they are far fewer.
struct Holdings<'m> {
    map: Option<&'m BTreeMap<B256, U256>>,
    walk: Option<std::iter::Peekable<std::collections::btree_map::Range<'m, B256, U256>>>,
}

impl<'m> Holdings<'m> {
    fn new(map: Option<&'m BTreeMap<B256, U256>>, from: &B256, questions: usize) -> Self {
        let walk =
            map.filter(|m| m.len() <= questions.saturating_mul(16)).map(|m| m.range::<B256, _>(from..).peekable());
        Self { map, walk }
    }

    fn of(&mut self, maker: &B256) -> U256 {
        match &mut self.walk {
            Some(walk) => {
                while walk.next_if(|(k, _)| *k < maker).is_some() {}
                walk.peek().filter(|(k, _)| *k == maker).map(|(_, v)| **v).unwrap_or_default()
            }
            None => self.map.and_then(|m| m.get(maker)).copied().unwrap_or_default(),
        }
    }
}
