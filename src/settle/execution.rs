//! Which of an epoch's net orders the curve can execute, and what they will get: the sale first, then the
//! purchase, exactly as `MycoBondingCurve.settleEpoch` runs them. A leg the curve would refuse (more MYCO than
//! it issued, a quote below the order's slippage limit) or the settlement float cannot fund is left out with
//! its reason instead of being sent to revert: its intents stay unfilled, and the reason is recorded.

use alloy::primitives::U256;

use super::cow::{Auction, NetOrder};
use super::curve::Curve;
use super::fixed::{self, Result};

/// What the relayer's settlement account holds on chain to trade net orders from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Float {
    /// MYCO (18 decimals).
    pub myco: U256,
    /// USDC (6 decimals), counting only what the curve may pull (the allowance caps it).
    pub usdc: U256,
}

/// One leg to execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    /// MYCO sold, or USDC spent.
    pub amount: U256,
    /// The slippage limit sent with it.
    pub min_out: U256,
    /// What the curve will pay for it, quoted like the contract does.
    pub quote: U256,
}

/// Why a leg was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// The float holds less MYCO than the net sale.
    FloatMyco,
    /// The float (balance or allowance) holds less USDC than the net purchase.
    FloatUsdc,
    /// The curve has issued less MYCO than the net sale.
    CurveSupply,
    /// The curve's quote is below the order's slippage limit.
    Slippage,
}

impl SkipReason {
    /// Every reason, so each has a metric series from the start.
    pub const ALL: [SkipReason; 4] =
        [SkipReason::FloatMyco, SkipReason::FloatUsdc, SkipReason::CurveSupply, SkipReason::Slippage];

    /// Its code in the store, metrics and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::FloatMyco => "float_myco",
            SkipReason::FloatUsdc => "float_usdc",
            SkipReason::CurveSupply => "curve_supply",
            SkipReason::Slippage => "slippage",
        }
    }

    /// The reason with code `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A leg left out, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// The reason's code.
    pub reason: SkipReason,
    /// The figures, for people.
    pub detail: String,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.detail)
    }
}

/// The epoch's executable net orders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// MYCO sold to the curve.
    pub sell: Option<Leg>,
    /// USDC spent buying from the curve.
    pub buy: Option<Leg>,
    /// Legs left out, with why.
    pub skipped: Vec<Skip>,
}

impl Plan {
    /// Whether there is anything to send.
    pub fn is_empty(&self) -> bool {
        self.sell.is_none() && self.buy.is_none()
    }
}

/// Plans the auction's net orders against the curve at `supply` and the settlement `float`.
pub fn plan(auction: &Auction, curve: &Curve, supply: U256, float: Float) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut supply = supply;
    let mut usdc = float.usdc;
    if let Some(NetOrder { amount, min_out, .. }) = &auction.net_sell {
        let (amount, min_out) = (*amount, *min_out);
        let mut skip = |reason, detail| plan.skipped.push(Skip { reason, detail });
        match curve.quote_sell(supply, amount)? {
            _ if amount > float.myco => {
                skip(SkipReason::FloatMyco, format!("net sell of {amount} MYCO: the float holds {} MYCO", float.myco))
            }
            None => {
                skip(SkipReason::CurveSupply, format!("net sell of {amount} MYCO: the curve has issued only {supply}"))
            }
            Some(quote) if quote < min_out => skip(
                SkipReason::Slippage,
                format!("net sell of {amount} MYCO: quote {quote} USDC below its limit {min_out}"),
            ),
            Some(quote) => {
                supply = fixed::sub(supply, amount)?;
                usdc = fixed::add(usdc, quote)?;
                plan.sell = Some(Leg { amount, min_out, quote });
            }
        }
    }
    if let Some(NetOrder { amount, min_out, .. }) = &auction.net_buy {
        let (amount, min_out) = (*amount, *min_out);
        let quote = curve.quote_buy(supply, amount)?;
        if amount > usdc {
            let detail = format!("net buy with {amount} USDC: the float can spend {usdc} USDC");
            plan.skipped.push(Skip { reason: SkipReason::FloatUsdc, detail });
        } else if quote < min_out {
            let detail = format!("net buy with {amount} USDC: quote {quote} MYCO below its limit {min_out}");
            plan.skipped.push(Skip { reason: SkipReason::Slippage, detail });
        } else {
            plan.buy = Some(Leg { amount, min_out, quote });
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settle::cow::Side;
    use fixed::ONE;

    const USDC: u64 = 1_000_000;

    fn curve() -> Curve {
        Curve { p0: ONE, m: U256::from(1_000_000_000_000u64) }
    }

    fn order(side: Side, amount: U256, min_out: U256) -> Option<NetOrder> {
        Some(NetOrder { side, amount, min_out, intents: Vec::new() })
    }

    fn myco(x: u64) -> U256 {
        U256::from(x) * ONE
    }

    #[test]
    fn sale_proceeds_fund_the_purchase() {
        // Selling 1000 of 1000 issued pays 1000.5 USD; the float has no USDC of its own.
        let auction = Auction {
            net_sell: order(Side::SellMyco, myco(1_000), U256::from(1_000 * USDC)),
            net_buy: order(Side::BuyMyco, U256::from(1_000 * USDC), myco(999)),
            ..Default::default()
        };
        let p = plan(&auction, &curve(), myco(1_000), Float { myco: myco(1_000), usdc: U256::ZERO }).unwrap();
        assert_eq!(p.sell.unwrap().quote, U256::from(1_000_500_000u64));
        // From zero supply, 1000 USDC buys just under 1000 MYCO.
        assert!(p.buy.unwrap().quote > myco(999) && p.buy.unwrap().quote < myco(1_000));
        assert!(p.skipped.is_empty());
    }

    #[test]
    fn legs_the_curve_or_float_would_refuse_are_skipped_with_a_reason() {
        let sell_more_than_issued =
            Auction { net_sell: order(Side::SellMyco, myco(5), U256::ZERO), ..Default::default() };
        let p = plan(&sell_more_than_issued, &curve(), myco(1), Float { myco: myco(5), usdc: U256::ZERO }).unwrap();
        assert!(p.is_empty());
        assert!(p.skipped[0].reason == SkipReason::CurveSupply, "{:?}", p.skipped);

        let too_greedy =
            Auction { net_sell: order(Side::SellMyco, myco(1), U256::from(2 * USDC)), ..Default::default() };
        let p = plan(&too_greedy, &curve(), myco(10), Float { myco: myco(5), usdc: U256::ZERO }).unwrap();
        assert!(p.is_empty() && p.skipped[0].reason == SkipReason::Slippage, "{:?}", p.skipped);

        let unfunded =
            Auction { net_buy: order(Side::BuyMyco, U256::from(10 * USDC), U256::ZERO), ..Default::default() };
        let p = plan(&unfunded, &curve(), U256::ZERO, Float { myco: U256::ZERO, usdc: U256::from(9 * USDC) }).unwrap();
        assert!(p.is_empty() && p.skipped[0].reason == SkipReason::FloatUsdc, "{:?}", p.skipped);

        let not_held = Auction { net_sell: order(Side::SellMyco, myco(2), U256::ZERO), ..Default::default() };
        let p = plan(&not_held, &curve(), myco(10), Float { myco: myco(1), usdc: U256::ZERO }).unwrap();
        assert!(p.is_empty() && p.skipped[0].reason == SkipReason::FloatMyco, "{:?}", p.skipped);
    }
}
