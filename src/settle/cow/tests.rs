use alloy::primitives::{B256, U256};
use proptest::prelude::*;

use super::*;
use crate::settle::fixed::ONE;

const MYCO: u64 = 1_000_000_000_000_000_000; // one MYCO in units
const USDC: u64 = 1_000_000; // one USDC in units

fn intent(n: u8, maker: u8, sell: Token, sell_amount: U256, min_buy: U256, partial: bool) -> Intent {
    let buy = if sell == Token::Myco { Token::Usdc } else { Token::Myco };
    Intent {
        id: B256::repeat_byte(n),
        maker: B256::repeat_byte(maker),
        sell_token: sell,
        buy_token: buy,
        sell_amount,
        min_buy,
        valid_until: 100,
        partial,
        signature: [0; 64],
    }
}

fn rich(intents: &[Intent]) -> BTreeMap<Token, BTreeMap<B256, U256>> {
    let mut b: BTreeMap<Token, BTreeMap<B256, U256>> = BTreeMap::new();
    for i in intents {
        *b.entry(i.sell_token).or_default().entry(i.maker).or_default() += i.sell_amount;
    }
    b
}

fn sell(n: u8, myco: u64, usdc_min: u64) -> Intent {
    intent(n, n, Token::Myco, U256::from(myco) * U256::from(MYCO), U256::from(usdc_min) * U256::from(USDC), true)
}

fn buy(n: u8, usdc: u64, myco_min: u64) -> Intent {
    intent(n, n, Token::Usdc, U256::from(usdc) * U256::from(USDC), U256::from(myco_min) * U256::from(MYCO), true)
}

#[test]
fn crossing_intents_match_at_the_spot_price() {
    // Seller wants ≥ 0.95 per MYCO, buyer pays ≤ 1.05: spot 1.00 lies between, so they trade at 1.00.
    let intents = [sell(1, 100, 95), buy(2, 105, 100)];
    let a = auction(&intents, &rich(&intents), 50, ONE).unwrap();
    assert_eq!(a.price, Some(ONE));
    assert_eq!(a.matched_myco, U256::from(100) * U256::from(MYCO));
    let seller = &a.fills[0];
    assert_eq!((seller.myco, seller.usdc), (U256::from(100) * U256::from(MYCO), U256::from(100) * U256::from(USDC)));
    // The buyer's leftover 5 USDC goes to the curve; its limit (1.05) meets the spot.
    let net = a.net_buy.unwrap();
    assert_eq!(net.amount, U256::from(5) * U256::from(USDC));
    assert!(a.net_sell.is_none());
    // Surplus: the seller got 5 USDC above its 95; the buyer got 100 MYCO for 100 USDC where its limit asked
    // 100/1.05 = 95.238095238095238096 (rounded up): 4.761904761904761904 MYCO at 1.00. Total in WAD USD:
    assert_eq!(a.surplus_usd, U256::from(9_761_904_761_904_761_904u64));
}

#[test]
fn no_cross_sends_both_sides_to_the_curve() {
    let intents = [sell(1, 10, 11), buy(2, 9, 10)]; // seller wants 1.10, buyer pays ≤ 0.90
    let a = auction(&intents, &rich(&intents), 50, ONE).unwrap();
    assert_eq!(a.price, None);
    assert!(a.fills.is_empty());
    // Spot 1.00: neither limit is met by the curve either.
    assert!(a.net_sell.is_none() && a.net_buy.is_none());
}

#[test]
fn expired_and_uncovered_intents_are_excluded() {
    let mut expired = sell(1, 10, 9);
    expired.valid_until = 10;
    let greedy = sell(2, 10, 9);
    let intents = [expired, greedy.clone(), buy(3, 20, 10)];
    let mut balances = rich(&intents);
    balances.get_mut(&Token::Myco).unwrap().insert(greedy.maker, U256::from(5) * U256::from(MYCO));
    let a = auction(&intents, &balances, 50, ONE).unwrap();
    let excluded: BTreeMap<_, _> = a.excluded.into_iter().collect();
    assert_eq!(excluded.get(&B256::repeat_byte(1)), Some(&Exclusion::Expired));
    assert_eq!(excluded.get(&B256::repeat_byte(2)), Some(&Exclusion::Uncovered));
    assert!(a.fills.is_empty());
}

#[test]
fn whole_only_intents_fill_whole_or_not_at_all() {
    let mut big = sell(1, 100, 90);
    big.partial = false;
    let intents = [big, sell(2, 30, 27), buy(3, 50, 45)];
    let a = auction(&intents, &rich(&intents), 50, ONE).unwrap();
    assert!(a.fills.iter().all(|f| f.intent != B256::repeat_byte(1)), "the 100-MYCO whole-only seller cannot fit");
    let sold: U256 = a.fills.iter().filter(|f| f.side == Side::SellMyco).map(|f| f.myco).sum();
    let bought: U256 = a.fills.iter().filter(|f| f.side == Side::BuyMyco).map(|f| f.myco).sum();
    assert_eq!(sold, bought);
    assert_eq!(sold, U256::from(30) * U256::from(MYCO));
}

fn arb_intents() -> impl Strategy<Value = Vec<Intent>> {
    prop::collection::vec((any::<bool>(), 1u64..1_000, 900u64..1_100, any::<bool>(), 0u8..6), 0..40).prop_map(|spec| {
        spec.into_iter()
            .enumerate()
            .map(|(i, (sells, size, bps, partial, maker))| {
                let n = i as u8 + 1;
                if sells {
                    // size MYCO for ≥ size × bps/1000 USDC
                    let myco = U256::from(size) * U256::from(MYCO);
                    let usdc = U256::from(size * bps) * U256::from(USDC) / U256::from(1000);
                    intent(n, maker, Token::Myco, myco, usdc, partial)
                } else {
                    // size USDC for ≥ size × 1000/bps MYCO
                    let usdc = U256::from(size) * U256::from(USDC);
                    let myco = U256::from(size) * U256::from(MYCO) * U256::from(1000) / U256::from(bps);
                    intent(n, maker, Token::Usdc, usdc, myco, partial)
                }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn fills_respect_amounts_limits_and_conserve_tokens(intents in arb_intents(), spot_bps in 900u64..1_100) {
        let spot = ONE * U256::from(spot_bps) / U256::from(1000);
        let a = auction(&intents, &rich(&intents), 50, spot).unwrap();
        let by_id: BTreeMap<B256, &Intent> = intents.iter().map(|i| (i.id, i)).collect();
        let mut seen = std::collections::BTreeSet::new();
        for f in &a.fills {
            prop_assert!(seen.insert(f.intent), "filled twice");
            let i = by_id[&f.intent];
            match f.side {
                Side::SellMyco => {
                    prop_assert!(f.myco <= i.sell_amount);
                    // Never worse than the limit: usdc/myco ≥ min_buy/sell_amount, up to the one unit it rounds down.
                    prop_assert!(f.usdc * i.sell_amount + i.sell_amount >= f.myco * i.min_buy);
                    if !i.partial { prop_assert_eq!(f.myco, i.sell_amount); }
                }
                Side::BuyMyco => {
                    prop_assert!(f.usdc <= i.sell_amount);
                    // myco/usdc ≥ min_buy/sell_amount, up to the one USDC unit its payment rounds up.
                    prop_assert!(f.myco * i.sell_amount + i.min_buy >= f.usdc * i.min_buy);
                    if !i.partial { prop_assert!(i.sell_amount - f.usdc < U256::from(USDC)); }
                }
            }
        }
        let sold: U256 = a.fills.iter().filter(|f| f.side == Side::SellMyco).map(|f| f.myco).sum();
        let bought: U256 = a.fills.iter().filter(|f| f.side == Side::BuyMyco).map(|f| f.myco).sum();
        prop_assert_eq!(sold, bought);
        prop_assert_eq!(sold, a.matched_myco);
        let paid: U256 = a.fills.iter().filter(|f| f.side == Side::BuyMyco).map(|f| f.usdc).sum();
        let received: U256 = a.fills.iter().filter(|f| f.side == Side::SellMyco).map(|f| f.usdc).sum();
        prop_assert_eq!(paid, received + a.dust_usdc);
        prop_assert!(a.dust_usdc <= U256::from(a.fills.len()));
    }

    #[test]
    fn the_outcome_does_not_depend_on_intent_order(intents in arb_intents(), seed in any::<u64>()) {
        let a = auction(&intents, &rich(&intents), 50, ONE).unwrap();
        let mut shuffled = intents.clone();
        let n = shuffled.len();
        for i in (1..n).rev() {
            shuffled.swap(i, (seed.wrapping_mul(i as u64 + 7) % (i as u64 + 1)) as usize);
        }
        let b = auction(&shuffled, &rich(&shuffled), 50, ONE).unwrap();
        prop_assert_eq!(a, b);
    }

    /// The auction against the reference model (the first, straightforward form of the same rules): the same
    /// outcome, field for field, with makers short of balance, expired intents and any spot.
    #[test]
    fn the_auction_matches_the_reference_model(
        intents in arb_intents(), spot_bps in 850u64..1_150, short in any::<u64>(), expiring in any::<u64>(),
    ) {
        let mut intents = intents;
        for (k, i) in intents.iter_mut().enumerate() {
            if expiring >> (k % 64) & 1 == 1 && k % 3 == 0 { i.valid_until = 10; }
        }
        let mut balances = rich(&intents);
        for (k, b) in balances.values_mut().flat_map(|m| m.values_mut()).enumerate() {
            if short >> (k % 64) & 1 == 1 { *b /= U256::from(2); }
        }
        let spot = ONE * U256::from(spot_bps) / U256::from(1000);
        prop_assert_eq!(auction(&intents, &balances, 50, spot), super::reference::auction(&intents, &balances, 50, spot));
    }
}

/// Past [`PARALLEL_FROM`] the auction splits its work over threads (eligibility in runs of whole makers, the
/// sides' sorts and fills): the outcome is still the reference model's, with makers of several intents across
/// the split and makers short of balance.
#[test]
fn a_large_auction_on_several_threads_matches_the_reference_model() {
    // Halfway (30,001) is not a multiple of three: a cut there would split a maker.
    let n = 3 * PARALLEL_FROM + 2;
    let intents: Vec<Intent> = (0..n)
        .map(|k| {
            let h = alloy::primitives::keccak256((k as u64).to_be_bytes());
            let word = |i: usize| u64::from_be_bytes(h[i..i + 8].try_into().unwrap());
            let maker = alloy::primitives::keccak256(((k / 3) as u64).to_be_bytes());
            // A maker's intents all sell the same amount of one token, so its reservations stack up.
            let (size, bps) = (1 + u64::from_be_bytes(maker[..8].try_into().unwrap()) % 1_000, 950 + word(8) % 101);
            let mut i = if maker[0].is_multiple_of(2) {
                let usdc = U256::from(size * bps) * U256::from(USDC) / U256::from(1000);
                intent(0, 0, Token::Myco, U256::from(size) * U256::from(MYCO), usdc, !h[17].is_multiple_of(4))
            } else {
                let myco = U256::from(size) * U256::from(MYCO) * U256::from(1000) / U256::from(bps);
                intent(0, 0, Token::Usdc, U256::from(size) * U256::from(USDC), myco, !h[17].is_multiple_of(4))
            };
            i.id = h;
            // Three intents a maker, so a cut between threads that ignored makers would split one.
            i.maker = maker;
            i
        })
        .collect();
    let mut balances = rich(&intents);
    // Every maker covers one of its intents (the lowest id); the last maker, with two, covers neither.
    for b in balances.values_mut().flat_map(|m| m.values_mut()) {
        *b /= U256::from(3);
    }
    let fast = auction(&intents, &balances, 50, ONE).unwrap();
    assert!(fast.fills.len() > n / 10 && fast.excluded.len() > n / 2, "a market with fills and exclusions");
    assert_eq!(fast, super::reference::auction(&intents, &balances, 50, ONE).unwrap());
}

/// Whole-only intents that first-fit cannot make agree force more rounds: sellers of 3 and 2, buyers of 4 and 2
/// (whole) agree at 2 in the third round (5 → 4 → 2). With fewer rounds allowed nothing is matched, so no batch
/// can make the auction take more than `MAX_FILL_ROUNDS` passes over its intents.
#[test]
fn whole_only_intents_agree_within_the_round_bound_or_match_nothing() {
    let whole =
        |n: u8, sell_token: Token, amount: u64| intent(n, n, sell_token, U256::from(amount), U256::from(1), false);
    let (s3, s2, b4, b2) =
        (whole(1, Token::Myco, 3), whole(2, Token::Myco, 2), whole(3, Token::Usdc, 4), whole(4, Token::Usdc, 2));
    let sellers = [Order::new(&s3, ONE), Order::new(&s2, ONE)];
    let buyers = [Order::new(&b4, ONE), Order::new(&b2, ONE)];
    let caps = |v: [u64; 2]| v.map(U256::from);
    let (sell_caps, buy_caps) = (caps([3, 2]), caps([4, 2]));
    let agreed = (vec![U256::ZERO, U256::from(2)], vec![U256::ZERO, U256::from(2)]);
    assert_eq!(settle_volumes_within(&sellers, &sell_caps, &buyers, &buy_caps, 3), agreed);
    assert_eq!(settle_volumes(&sellers, &sell_caps, &buyers, &buy_caps), agreed);
    let nothing = (vec![U256::ZERO; 2], vec![U256::ZERO; 2]);
    assert_eq!(settle_volumes_within(&sellers, &sell_caps, &buyers, &buy_caps, 2), nothing);
}
