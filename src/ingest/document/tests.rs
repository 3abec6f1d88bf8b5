use alloy::primitives::{Address, B256, U256};
use automerge::{AutoCommit, ROOT, ReadDoc, transaction::Transactable};

use super::*;
use crate::ingest::Error;

pub(crate) fn sample() -> BatchState {
    let alice = B256::repeat_byte(0xa1);
    let wad = U256::from(10).pow(U256::from(18));
    BatchState {
        epoch: 7,
        parent: B256::repeat_byte(0x11),
        timestamp: 1_700_000_000,
        balances: [
            (Token::Myco, [(alice, U256::from(10).pow(U256::from(30)))].into()),
            (Token::Usdc, [(alice, U256::from(5_000_000u64))].into()),
        ]
        .into(),
        intents: vec![Intent {
            id: B256::repeat_byte(3),
            maker: alice,
            sell_token: Token::Myco,
            buy_token: Token::Usdc,
            sell_amount: wad,
            min_buy: U256::from(990_000u64),
            valid_until: 1_700_000_600,
            partial: true,
            signature: [0x55; 64],
        }],
        flows: [(
            alice,
            FlowTracker { flow: wad, t_last: 1_699_999_000, memory: wad, threshold: wad / U256::from(10) },
        )]
        .into(),
        deposits: vec![CreditedDeposit { deposit_id: 3, account: alice, amount: U256::from(5_000_000u64) }],
        withdrawals: vec![WithdrawalRequest {
            claim_id: U256::from(42),
            account: alice,
            amount: wad,
            recipient: Address::repeat_byte(0x22),
        }],
        reserve: ReserveState {
            total_supply: U256::from(10).pow(U256::from(30)),
            total_reserve: wad,
            flow_pressure: U256::ZERO,
            redemption_level: U256::from(7),
            redemption_updated: 1_699_000_000,
            vaults: vec![Vault { id: "t-bills".into(), value: wad, target_weight: wad }],
        },
    }
}

#[test]
fn round_trips_through_automerge() {
    let state = sample();
    assert_eq!(BatchState::from_automerge(&state.to_automerge()).unwrap(), state);
}

#[test]
fn same_state_same_bytes() {
    assert_eq!(sample().to_automerge(), sample().to_automerge());
}

#[test]
fn rejects_corrupted_bytes() {
    let mut bytes = sample().to_automerge();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    assert!(matches!(BatchState::from_automerge(&bytes), Err(Error::Document { .. })));
}

#[test]
fn rejects_non_canonical_amounts() {
    for bad in ["", "-1", "01", "1.5", "1e18", " 1", "0x10", &"9".repeat(79)] {
        assert!(parse_amount(bad).is_err(), "{bad:?} accepted");
    }
    assert_eq!(parse_amount("0").unwrap(), U256::ZERO);
    assert!(parse_amount(&U256::MAX.to_string()).is_ok());
    let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
    assert!(parse_amount(over).is_err());
}

#[test]
fn rejects_missing_field_naming_it() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "version", SCHEMA_VERSION).unwrap();
    let err = BatchState::from_automerge(&doc.save()).unwrap_err();
    assert!(matches!(&err, Error::Schema { field, .. } if field == "epoch"), "{err}");
}

#[test]
fn rejects_wrong_type_naming_the_nested_path() {
    let mut doc = AutoCommit::load(&sample().to_automerge()).unwrap();
    let intents = match doc.get(ROOT, "intents").unwrap() {
        Some((_, id)) => id,
        None => unreachable!(),
    };
    let first = doc.get(&intents, 0).unwrap().unwrap().1;
    doc.put(&first, "valid_until", "tomorrow").unwrap();
    let err = BatchState::from_automerge(&doc.save()).unwrap_err();
    assert!(matches!(&err, Error::Schema { field, .. } if field == "intents[0].valid_until"), "{err}");
}

#[test]
fn rejects_unknown_schema_version() {
    let mut doc = AutoCommit::load(&sample().to_automerge()).unwrap();
    doc.put(ROOT, "version", 2u64).unwrap();
    let err = BatchState::from_automerge(&doc.save()).unwrap_err();
    assert!(matches!(&err, Error::Schema { field, .. } if field == "version"), "{err}");
}

#[test]
fn ignores_unknown_fields() {
    let mut doc = AutoCommit::load(&sample().to_automerge()).unwrap();
    doc.put(ROOT, "comment", "added by a newer validator").unwrap();
    assert_eq!(BatchState::from_automerge(&doc.save()).unwrap(), sample());
}
