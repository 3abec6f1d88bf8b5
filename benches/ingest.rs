//! Ingest of large certified batches, next to a bare `Automerge::load` of the same document bytes.
//!
//! Run: `cargo bench --bench ingest`. "decode" is loading plus reading the schema; "verify" is everything the relayer does to a batch before storing it:
//! envelope framing, the quorum certificate (4 validators), loading and schema-checking the document, value
//! checks and every intent's maker signature.

use std::collections::BTreeMap;

use alloy::primitives::{B256, U256, keccak256};
use automerge::AutoCommit;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use myco_bridge::ingest::certificate::sign;
use myco_bridge::ingest::document::ReserveState;
use myco_bridge::ingest::intent::{Intent, Token};
use myco_bridge::ingest::{BatchState, Envelope, ValidatorSet, Verifier};

const CHAIN: u64 = 31337;

fn key(tag: &str, i: usize) -> SigningKey {
    SigningKey::from_bytes(&keccak256(format!("{tag}{i}")).0)
}

/// A certified batch with `balances` MYCO balance entries and `intents` signed intents.
fn batch(balances: usize, intents: usize, validators: &[SigningKey]) -> Vec<u8> {
    let wad = U256::from(10u64).pow(U256::from(18));
    let makers: Vec<SigningKey> = (0..balances.max(1)).map(|i| key("account", i)).collect();
    let accounts: BTreeMap<B256, U256> =
        makers.iter().take(balances).map(|k| (B256::from(k.verifying_key().to_bytes()), wad)).collect();
    let mut list = Vec::with_capacity(intents);
    for i in 0..intents {
        let maker = &makers[i % makers.len()];
        let mut intent = Intent {
            id: keccak256((i as u64).to_be_bytes()),
            maker: B256::from(maker.verifying_key().to_bytes()),
            sell_token: Token::Myco,
            buy_token: Token::Usdc,
            sell_amount: wad,
            min_buy: U256::from(990_000u64 + i as u64 % 20_000),
            valid_until: 2_000_000_000,
            partial: i % 2 == 0,
            signature: [0; 64],
        };
        intent.sign(CHAIN, maker);
        list.push(intent);
    }
    let state = BatchState {
        epoch: 1,
        timestamp: 1_800_000_000,
        reserve: ReserveState {
            total_supply: wad * U256::from(accounts.len()),
            total_reserve: wad * U256::from(accounts.len()),
            ..Default::default()
        },
        balances: [(Token::Myco, accounts)].into(),
        intents: list,
        ..Default::default()
    };
    let mut env =
        Envelope { chain_id: CHAIN, epoch: 1, parent: B256::ZERO, document: state.to_automerge(), signatures: vec![] };
    let digest = env.digest();
    env.signatures = validators.iter().map(|k| sign(k, &digest)).collect();
    env.encode()
}

fn ingest(c: &mut Criterion) {
    let validators: Vec<SigningKey> = (0..4).map(|i| key("validator", i)).collect();
    let set = ValidatorSet::new(validators.iter().map(|k| k.verifying_key().to_bytes())).unwrap();
    let verifier = Verifier::new(CHAIN, set, None);

    let mut group = c.benchmark_group("ingest");
    group.sample_size(20);
    for (name, balances, intents) in [("10k-balances", 10_000, 0), ("10k-intents", 1_000, 10_000)] {
        let bytes = batch(balances, intents, &validators);
        let document = Envelope::decode(&bytes).unwrap().document;
        eprintln!("{name}: envelope {} bytes, document {} bytes", bytes.len(), document.len());
        group.throughput(Throughput::Elements((balances + intents) as u64));
        group.bench_with_input(BenchmarkId::new("automerge-load", name), &document, |b, doc| {
            b.iter(|| AutoCommit::load(doc).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("decode", name), &document, |b, doc| {
            b.iter(|| BatchState::from_automerge(doc).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("verify", name), &bytes, |b, bytes| {
            b.iter(|| verifier.verify(bytes).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
