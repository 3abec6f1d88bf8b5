//! Settlement math at scale: CoW netting and Merkle state roots at 10k / 100k / 1M, bonding-curve and
//! fixed-point quotes and P-AMM redemptions per second. The Merkle rows are printed next to `@openzeppelin/merkle-tree` building the
//! same trees in the same run (Node, `tests/interop/merkle-tree.js`).
//!
//! Run: `cargo bench --bench settle` (add `-- cow` / `-- merkle` / `-- quotes` for one group).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use alloy::primitives::{Address, B256, U256, keccak256};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use myco_bridge::ingest::intent::{Intent, Token};
use myco_bridge::parallel;
use myco_bridge::settle::claims::leaves;
use myco_bridge::settle::curve::Curve;
use myco_bridge::settle::fixed::{self, ONE};
use myco_bridge::settle::{Claim, ClaimDomain, CommittedFigures, MerkleTree, cow, merkle, pamm};

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

fn intents(n: usize) -> (Vec<Intent>, BTreeMap<Token, BTreeMap<B256, U256>>) {
    let mut balances: BTreeMap<Token, BTreeMap<B256, U256>> = BTreeMap::new();
    let list = (0..n)
        .map(|i| {
            let h = keccak256((i as u64).to_be_bytes());
            let size = U256::from(1 + u64::from_be_bytes(h[..8].try_into().unwrap()) % 1_000);
            let bps = U256::from(9_500 + u64::from_be_bytes(h[8..16].try_into().unwrap()) % 1_001);
            let sells = h[16].is_multiple_of(2);
            let (sell_token, buy_token, sell_amount, min_buy) = if sells {
                let myco = size * ONE;
                (Token::Myco, Token::Usdc, myco, size * bps * U256::from(100u64))
            } else {
                let usdc = size * U256::from(1_000_000u64);
                (Token::Usdc, Token::Myco, usdc, size * ONE * U256::from(10_000u64) / bps)
            };
            *balances.entry(sell_token).or_default().entry(h).or_default() += sell_amount;
            Intent {
                id: h,
                maker: h,
                sell_token,
                buy_token,
                sell_amount,
                min_buy,
                valid_until: u64::MAX,
                partial: !h[17].is_multiple_of(4),
                signature: [0; 64],
            }
        })
        .collect();
    (list, balances)
}

fn claims(n: usize) -> Vec<Claim> {
    (0..n)
        .map(|i| {
            let h = keccak256((i as u64).to_be_bytes());
            Claim {
                claim_id: U256::from(i),
                account: h,
                recipient: Address::from_slice(&h[12..]),
                myco_amount: U256::from_be_bytes(h.0) >> 128,
                flow_penalty: ONE,
                epoch: 7,
                prior_redeemed: U256::ZERO,
            }
        })
        .collect()
}

fn cow_netting(c: &mut Criterion) {
    let mut group = c.benchmark_group("cow");
    group.sample_size(10);
    for n in SIZES {
        let (list, balances) = intents(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &list, |b, list| {
            b.iter(|| cow::auction(list, &balances, 0, ONE).unwrap())
        });
    }
    group.finish();
}

/// Milliseconds `@openzeppelin/merkle-tree` takes to build the tree over `claims` (root only), as it measures.
fn openzeppelin_ms(claims: &[Claim]) -> Option<f64> {
    let values: Vec<[String; 9]> = claims.iter().map(|c| c.standard_tree_values(&ClaimDomain::default())).collect();
    let input = serde_json::json!({ "trees": [values], "proofs": false }).to_string();
    let mut child = Command::new("node")
        .args(["--max-old-space-size=8192", "tests/interop/merkle-tree.js"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(input.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    parsed["trees"][0]["ms"].as_f64()
}

/// Whether the command line's benchmark filter (`cargo bench --bench settle -- FILTER`) can select `group`: the
/// slow comparison with `@openzeppelin/merkle-tree` runs only when the Merkle rows do.
fn selected(group: &str) -> bool {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    filters.is_empty() || filters.iter().any(|f| group.contains(f.as_str()) || f.contains(group))
}

fn merkle(c: &mut Criterion) {
    let mut group = c.benchmark_group("merkle");
    group.sample_size(10);
    let domain = ClaimDomain::default();
    for n in SIZES {
        let list = claims(n);
        if selected("merkle") && std::env::var_os("SETTLE_BENCH_NO_JS").is_none() {
            match openzeppelin_ms(&list) {
                Some(ms) => eprintln!("@openzeppelin/merkle-tree StandardMerkleTree.of, {n} claims: {ms:.1} ms"),
                None => eprintln!("@openzeppelin/merkle-tree, {n} claims: node failed (out of memory?)"),
            }
        }
        group.throughput(Throughput::Elements(n as u64));
        // Leaves and tree from the claims, as the relayer computes a state root.
        group.bench_with_input(BenchmarkId::new("tree", n), &list, |b, list| {
            b.iter(|| MerkleTree::new(leaves(list, &domain)).root())
        });
        // The floor: the same keccak calls with nothing else, spread over the cores the same way. A leaf is the
        // hash of the hash of its 288-byte encoding, an inner node the hash of 64 bytes; here each input is a
        // buffer on the stack holding only its index, and nothing is sorted, encoded or stored in a tree.
        group.bench_with_input(BenchmarkId::new("keccak-floor", n), &n, |b, &n| {
            b.iter(|| {
                let mut leaves = vec![B256::ZERO; n];
                parallel::fill(&mut leaves, merkle::PARALLEL_FROM, |i| {
                    let mut encoding = [0u8; 288];
                    encoding[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    keccak256(keccak256(encoding))
                });
                let mut inner = vec![B256::ZERO; n - 1];
                parallel::fill(&mut inner, merkle::PARALLEL_FROM, |i| {
                    let mut pair = [0u8; 64];
                    pair[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    keccak256(pair)
                });
                (leaves[n / 2], inner[n / 3])
            })
        });
    }
    group.finish();
}

fn quotes(c: &mut Criterion) {
    let curve = Curve { p0: ONE, m: U256::from(1_000_000_000_000u64) };
    let supply = U256::from(1_000_000u64) * ONE;
    let mut group = c.benchmark_group("quotes");
    group.throughput(Throughput::Elements(1));
    group.bench_function("curve-buy", |b| b.iter(|| curve.quote_buy(supply, U256::from(123_456_789u64)).unwrap()));
    group.bench_function("curve-sell", |b| b.iter(|| curve.quote_sell(supply, U256::from(1_234u64) * ONE).unwrap()));
    group.bench_function("int-pow-down-2-days", |b| {
        b.iter(|| fixed::int_pow_down(U256::from(999_995_988_795_023_400u64), 172_800).unwrap())
    });
    // The P-AMM in each region: fully backed (par), below par on the curve (anchor reconstruction and the
    // region's integral), and at the floor; then one escrow payout (two redemptions and the penalty).
    let params = pamm::Params::default();
    let y = U256::from(1_000_000u64) * ONE;
    let permille = |k: u64| y * U256::from(k) / U256::from(1_000u64);
    let amount = permille(50);
    for (name, state) in [
        ("pamm-redeem-par", pamm::State { x: permille(100), b: permille(1_050), y }),
        ("pamm-redeem-curve", pamm::State { x: permille(200), b: permille(800), y }),
        ("pamm-redeem-floor", pamm::State { x: permille(200), b: permille(550), y }),
    ] {
        group.bench_function(name, |b| b.iter(|| pamm::redeem(&state, amount, &params).unwrap()));
    }
    let figures = CommittedFigures { total_supply: y, total_reserve: permille(800), flow_pressure: permille(200) };
    let claim = Claim {
        claim_id: U256::from(1u64),
        account: B256::ZERO,
        recipient: Default::default(),
        myco_amount: amount,
        flow_penalty: U256::from(1_500_000_000_000_000_000u64),
        epoch: 1,
        prior_redeemed: permille(30),
    };
    group.bench_function("escrow-payout-below-par", |b| b.iter(|| claim.usdc_payout(&figures, &params).unwrap()));
    group.finish();
}

criterion_group!(benches, cow_netting, merkle, quotes);
criterion_main!(benches);
