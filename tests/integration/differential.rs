//! Rust ≡ Solidity, to the wei: every settlement primitive the chain enforces, evaluated by our Rust code and by
//! the deployed Solidity library through `eth_call`, on at least 10,000 random and edge-case inputs each.
//! Reverts must match too: overflow/underflow (Panic 0x11) and division by zero (Panic 0x12).

use alloy::primitives::{Bytes, U256};
use alloy::providers::DynProvider;
use myco_bridge::chain::bindings::harness::SettlementHarness::{self, SettlementHarnessInstance};
use myco_bridge::devnet::{self, ADMIN_ACCOUNT};
use myco_bridge::rng::SplitMix64;
use myco_bridge::settle::curve::Curve;
use myco_bridge::settle::fixed::{self, MathError, ONE};
use myco_bridge::settle::pamm::{self, Params, State};

/// Inputs per primitive.
const CASES: usize = 10_000;
/// Inputs per eth_call.
const CHUNK: usize = 400;

/// A deterministic generator of U256 values of every magnitude (uniform bit length, then uniform bits).
struct Gen(SplitMix64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// True with probability 1/n.
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }

    fn bits(&mut self, max_bits: usize) -> U256 {
        let bits = (self.next() as usize) % (max_bits + 1);
        let v = U256::from_limbs([self.next(), self.next(), self.next(), self.next()]);
        if bits == 0 { U256::ZERO } else { v >> (256 - bits) }
    }

    /// Mostly values around a scale, sometimes anything.
    fn value(&mut self, typical_bits: usize) -> U256 {
        match self.next() % 8 {
            0 => self.bits(256),
            1 => EDGES[(self.next() as usize) % EDGES.len()],
            _ => self.bits(typical_bits),
        }
    }
}

const EDGES: [U256; 9] = [
    U256::ZERO,
    U256::from_limbs([1, 0, 0, 0]),
    U256::from_limbs([2, 0, 0, 0]),
    ONE,
    U256::from_limbs([999_999_999_999_999_999, 0, 0, 0]),
    U256::from_limbs([0, 0, 1, 0]),               // 2^128
    U256::from_limbs([u64::MAX, u64::MAX, 0, 0]), // 2^128 - 1
    U256::from_limbs([0, 0, 0, 1 << 63]),         // 2^255
    U256::MAX,
];

/// `SettlementHarness.Fn`, in its declaration order (an ABI carries enums as uint8).
#[derive(Debug, Clone, Copy)]
enum F {
    MulDown,
    MulUp,
    DivDown,
    DivUp,
    Sqrt,
    IntPowDown,
    CurveSellOut,
    CurveBuyOut,
    CurveSpot,
    PammRedeem,
}

fn panic_code(data: &[u8]) -> Option<u8> {
    // Panic(uint256): selector 0x4e487b71, then the code as a 32-byte word.
    (data.len() == 36 && data[..4] == [0x4e, 0x48, 0x7b, 0x71]).then(|| data[35])
}

async fn compare(
    harness: &SettlementHarnessInstance<DynProvider>,
    f: F,
    inputs: &[[U256; 4]],
    rust: impl Fn(&[U256; 4]) -> Result<U256, MathError>,
) {
    let (mut agreed, mut reverted) = (0usize, 0usize);
    for chunk in inputs.chunks(CHUNK) {
        let result = harness.evalMany(f as u8, chunk.to_vec()).call().await.expect("evalMany");
        for (i, input) in chunk.iter().enumerate() {
            let (sol, revert): (U256, &Bytes) = (result.out[i], &result.reverts[i]);
            match rust(input) {
                Ok(v) => assert!(revert.is_empty() && sol == v, "{f:?}{input:?}: Rust {v}, Solidity {sol} / {revert}"),
                Err(e) => {
                    let want = if e == MathError::DivisionByZero { 0x12 } else { 0x11 };
                    assert_eq!(panic_code(revert), Some(want), "{f:?}{input:?}: Rust {e:?}, Solidity {sol} / {revert}");
                    reverted += 1;
                }
            }
            agreed += 1;
        }
    }
    assert_eq!(agreed, inputs.len());
    eprintln!("{f:?}: {agreed} inputs agree ({reverted} revert on both sides)");
}

fn inputs(seed: u64, mut make: impl FnMut(&mut Gen) -> [U256; 4]) -> Vec<[U256; 4]> {
    let mut g = Gen(SplitMix64(seed));
    (0..CASES).map(|_| make(&mut g)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_point_and_curve_agree_with_solidity_to_the_wei() {
    let anvil = devnet::anvil::spawn().unwrap();
    let signer = alloy::signers::local::PrivateKeySigner::from(&anvil.keys()[ADMIN_ACCOUNT]);
    let provider = myco_bridge::chain::signing_provider(anvil.endpoint_url(), signer);
    let harness = SettlementHarness::deploy(provider).await.unwrap();

    let pair = |g: &mut Gen| [g.value(140), g.value(140), U256::ZERO, U256::ZERO];
    compare(&harness, F::MulDown, &inputs(1, pair), |a| fixed::mul_down(a[0], a[1])).await;
    compare(&harness, F::MulUp, &inputs(2, pair), |a| fixed::mul_up(a[0], a[1])).await;
    compare(&harness, F::DivDown, &inputs(3, pair), |a| fixed::div_down(a[0], a[1])).await;
    compare(&harness, F::DivUp, &inputs(4, pair), |a| fixed::div_up(a[0], a[1])).await;
    compare(&harness, F::Sqrt, &inputs(5, |g| [g.value(200), U256::ZERO, U256::ZERO, U256::ZERO]), |a| {
        fixed::sqrt(a[0])
    })
    .await;
    // Decay factors near 1 raised to second counts, as flow dampening and the P-AMM use them.
    let pow = |g: &mut Gen| {
        let x = if g.one_in(4) { g.value(64) } else { ONE - U256::from(g.next() % 10_000_000_000_000_000) };
        [x, U256::from(g.next() % 10_000_000), U256::ZERO, U256::ZERO]
    };
    compare(&harness, F::IntPowDown, &inputs(6, pow), |a| fixed::int_pow_down(a[0], a[1].to::<u64>())).await;

    // Curve: p0 around 1 USD, slopes from flat to steep, supplies and amounts up to 2^128 and beyond.
    let curve_args = |g: &mut Gen| {
        let p0 = if g.one_in(10) { U256::ZERO } else { g.value(64) };
        let m = if g.one_in(10) { U256::ZERO } else { g.value(60) };
        [p0, m, g.value(100), g.value(100)]
    };
    let curve = |a: &[U256; 4]| Curve { p0: a[0], m: a[1] };
    // Sells mostly within the supply (the contract checks that first), sometimes beyond it.
    let sell_args = |g: &mut Gen| {
        let [p0, m, supply, amount] = curve_args(g);
        let amount = match supply.checked_add(U256::from(1)) {
            Some(bound) if !g.one_in(5) => amount % bound,
            _ => amount,
        };
        [p0, m, supply, amount]
    };
    compare(&harness, F::CurveSellOut, &inputs(7, sell_args), |a| curve(a).sell_out(a[2], a[3])).await;
    compare(&harness, F::CurveBuyOut, &inputs(8, curve_args), |a| curve(a).buy_out(a[2], a[3])).await;
    compare(&harness, F::CurveSpot, &inputs(9, curve_args), |a| curve(a).spot(a[2])).await;

    // P-AMM: supplies of every size, backing from below the floor to above par, redemption levels up to twice
    // the supply, amounts up to beyond the supply; one in eight inputs anything at all.
    let pamm_args = |g: &mut Gen| {
        if g.one_in(8) {
            return [g.value(256), g.value(256), g.value(256), g.value(256)];
        }
        let y = g.value(100).max(U256::from(1));
        let permille = |g: &mut Gen, max: u64| U256::from(g.next() % (max + 1));
        let b = y * permille(g, 1_100) / U256::from(1000);
        let x = y * permille(g, 2_000) / U256::from(1000);
        let amount = if g.one_in(10) {
            EDGES[(g.next() as usize) % EDGES.len()]
        } else {
            y * permille(g, 1_200) / U256::from(1000)
        };
        [x, b, y, amount]
    };
    let params = Params::default();
    compare(&harness, F::PammRedeem, &inputs(10, pamm_args), |a| {
        pamm::redeem(&State { x: a[0], b: a[1], y: a[2] }, a[3], &params)
    })
    .await;
}

/// The P-AMM at every scale the batch limits allow (supplies from 1 wei to 10^12 MYCO, redemption levels up to
/// the supply) and with other parameters (slopes 0.3 and 0.5 reach regions the default cannot; another floor
/// and par cap): Rust and Solidity agree to the wei, reverts included, on 10,000 inputs per parameter set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pamm_agrees_with_solidity_at_every_scale_and_with_other_parameters() {
    let anvil = devnet::anvil::spawn().unwrap();
    let signer = alloy::signers::local::PrivateKeySigner::from(&anvil.keys()[ADMIN_ACCOUNT]);
    let provider = myco_bridge::chain::signing_provider(anvil.endpoint_url(), signer);
    let harness = SettlementHarness::deploy(provider).await.unwrap();
    let wad = |tenths: u64| U256::from(tenths) * (ONE / U256::from(10));
    let sets =
        [(wad(10), wad(3), wad(6)), (wad(3), wad(3), wad(6)), (wad(5), wad(3), wad(6)), (wad(7), wad(2), wad(5))];
    for (set, (alpha_bar, xu_bar, theta_bar)) in sets.into_iter().enumerate() {
        let params = Params { alpha_bar, xu_bar, theta_bar, decay: U256::ZERO };
        let mut g = Gen(SplitMix64(100 + set as u64));
        let inputs: Vec<[U256; 7]> = (0..CASES)
            .map(|_| {
                let y =
                    U256::from(10).pow(U256::from(g.next() % 31)) * U256::from(1 + g.next() % 999) / U256::from(100);
                let y = y.max(U256::from(1));
                let fraction = |g: &mut Gen, max: u64| y * U256::from(g.next() % (max + 1)) / U256::from(1_000_000);
                let b = fraction(&mut g, 1_050_000);
                let x = fraction(&mut g, 1_000_000);
                let amount =
                    if g.one_in(8) { EDGES[(g.next() as usize) % EDGES.len()] } else { fraction(&mut g, 1_100_000) };
                [x, b, y, amount, alpha_bar, xu_bar, theta_bar]
            })
            .collect();
        let (mut agreed, mut reverted) = (0, 0);
        for chunk in inputs.chunks(CHUNK) {
            let result = harness.pammMany(chunk.to_vec()).call().await.expect("pammMany");
            for (i, a) in chunk.iter().enumerate() {
                let (sol, revert) = (result.out[i], &result.reverts[i]);
                match pamm::redeem(&State { x: a[0], b: a[1], y: a[2] }, a[3], &params) {
                    Ok(v) => assert!(revert.is_empty() && sol == v, "{a:?}: Rust {v}, Solidity {sol} / {revert}"),
                    Err(e) => {
                        let want = if e == MathError::DivisionByZero { 0x12 } else { 0x11 };
                        assert_eq!(panic_code(revert), Some(want), "{a:?}: Rust {e:?}, Solidity {sol} / {revert}");
                        reverted += 1;
                    }
                }
                agreed += 1;
            }
        }
        eprintln!("P-AMM, parameters {set}: {agreed} inputs agree ({reverted} revert on both sides)");
    }
}
