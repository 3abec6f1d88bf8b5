use alloy::primitives::{Address, B256, U256};
use automerge::{AutoCommit, ROOT, ReadDoc, transaction::Transactable};

use super::*;
use crate::ingest::Error;
use crate::ingest::mint::Mint;

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
            reissues: None,
        }],
        reserve: ReserveState {
            total_supply: U256::from(10).pow(U256::from(30)),
            total_reserve: wad,
            flow_pressure: U256::ZERO,
            redemption_level: U256::from(7),
            redemption_updated: 1_699_000_000,
            vaults: vec![Vault { id: "t-bills".into(), value: wad, target_weight: wad }],
        },
        ledger: None,
    }
}

/// The sample with every version 2 section filled.
pub(crate) fn sample_v2() -> BatchState {
    let alice = B256::repeat_byte(0xa1);
    let wad = U256::from(10).pow(U256::from(18));
    let ledger = LedgerFlows {
        mints: vec![Mint {
            contributor: alice,
            kind: "code-review".into(),
            units: 3,
            amount: wad,
            attester: B256::repeat_byte(0x33),
            signature: [0x44; 64],
        }],
        revaluations: vec![Revaluation {
            vault: "t-bills".into(),
            loss: true,
            amount: U256::from(5),
            reason: "mark to market".into(),
        }],
        settlements: vec![AppliedSettlement {
            epoch: 5,
            fills: vec![SettledFill {
                maker: alice,
                intent: B256::repeat_byte(3),
                sell_token: Token::Usdc,
                sold: U256::from(9),
                bought: wad,
            }],
        }],
        onchain_reserve: wad / U256::from(2),
    };
    BatchState { ledger: Some(ledger), ..sample() }
}

#[test]
fn round_trips_through_automerge() {
    for state in [sample(), sample_v2()] {
        assert_eq!(BatchState::from_automerge(&state.to_automerge()).unwrap(), state);
    }
}

#[test]
fn a_version_2_document_must_carry_its_ledger_sections() {
    let mut doc = AutoCommit::load(&sample().to_automerge()).unwrap();
    doc.put(ROOT, "version", 2u64).unwrap();
    match BatchState::from_automerge(&doc.save()) {
        Err(Error::Schema { field, .. }) => assert_eq!(field, "mints"),
        other => panic!("expected a schema error, got {other:?}"),
    }
    doc.put(ROOT, "version", 3u64).unwrap();
    assert!(matches!(BatchState::from_automerge(&doc.save()), Err(Error::Schema { field, .. }) if field == "version"));
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

/// Amounts that fit a machine integer take a faster parse: at and around each width's edges (19 and 20 digits,
/// `u64::MAX` and one past it, 38 and 39 digits, `u128::MAX` and one past it), it gives what the 256-bit parse does.
#[test]
fn amounts_parse_alike_on_both_sides_of_the_fast_paths() {
    let edges = [
        U256::from(u64::MAX),
        U256::from(u128::MAX),
        U256::from(10u64).pow(U256::from(19)),
        U256::from(10u64).pow(U256::from(38)),
    ];
    for edge in edges {
        for delta in 0..3u64 {
            for value in [edge - U256::from(delta), edge + U256::from(delta)] {
                let text = value.to_string();
                assert_eq!(parse_amount(&text).unwrap(), U256::from_str_radix(&text, 10).unwrap(), "{text}");
            }
        }
    }
    assert_eq!(parse_amount(&"9".repeat(19)).unwrap(), U256::from(9_999_999_999_999_999_999u64));
    assert_eq!(parse_amount(&"9".repeat(39)).unwrap(), U256::from(10u64).pow(U256::from(39)) - U256::from(1u64));
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
    doc.put(ROOT, "version", SCHEMA_VERSION + 1).unwrap();
    let err = BatchState::from_automerge(&doc.save()).unwrap_err();
    assert!(matches!(&err, Error::Schema { field, .. } if field == "version"), "{err}");
}

#[test]
fn ignores_unknown_fields() {
    let mut doc = AutoCommit::load(&sample().to_automerge()).unwrap();
    doc.put(ROOT, "comment", "added by a newer validator").unwrap();
    assert_eq!(BatchState::from_automerge(&doc.save()).unwrap(), sample());
}

/// Regenerates `tests/fixtures/bomb-4m-nulls.automerge`: a saved document whose "intents" list claims four million
/// nulls in about a hundred bytes (Automerge's run-length encoding). `cargo test --lib regenerate_bomb -- --ignored`.
#[test]
#[ignore = "writes a fixture; run by hand"]
fn regenerate_bomb_fixture() {
    use automerge::transaction::Transactable;
    let mut doc = automerge::AutoCommit::new();
    let list = doc.put_object(automerge::ROOT, "intents", automerge::ObjType::List).unwrap();
    doc.splice(&list, 0, 0, std::iter::repeat_n(automerge::ScalarValue::Null, 4_000_000)).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bomb-4m-nulls.automerge");
    std::fs::write(path, doc.save()).unwrap();
}

const BOMB: &[u8] = include_bytes!("../../../tests/fixtures/bomb-4m-nulls.automerge");

#[test]
fn a_document_claiming_millions_of_elements_in_a_few_bytes_is_refused_before_it_is_loaded() {
    assert!(BOMB.len() < 256, "the fixture is tiny: {} bytes", BOMB.len());
    let err = footprint::measure(BOMB, &footprint::Limits::default()).unwrap_err();
    assert!(err.contains("claims over 400000 operations"), "{err}");
    let err = BatchState::from_automerge(BOMB).unwrap_err();
    assert!(matches!(&err, Error::Document { .. }) && err.reason() == "bad_document", "{err}");
    // Measured, not loaded: the claim is read from the run lengths.
    let generous = footprint::Limits { max_ops: 10_000_000, ..Default::default() };
    assert!(footprint::measure(BOMB, &generous).unwrap().ops >= 4_000_000);
}

#[test]
fn the_footprint_of_a_real_batch_counts_its_operations_within_the_limit() {
    let state = sample();
    let bytes = state.to_automerge();
    let f = footprint::measure(&bytes, &footprint::Limits::default()).unwrap();
    // At least one operation per field written; a handful of objects more.
    assert!(f.ops >= 40 && f.ops < 200, "{f:?}");
    let tight = footprint::Limits { max_ops: f.ops - 1, ..Default::default() };
    assert!(footprint::measure(&bytes, &tight).is_err(), "one operation over the limit is refused");
    assert!(
        BatchState::from_automerge_within(&bytes, &footprint::Limits { max_ops: f.ops, ..Default::default() }).is_ok()
    );
}

#[test]
fn deflated_columns_are_inflated_under_a_budget() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "padding", "0".repeat(2_000_000)).unwrap();
    let bytes = doc.save();
    assert!(bytes.len() < 100_000, "Automerge deflated the long string: {} bytes", bytes.len());
    let small = footprint::Limits { max_column_bytes: 1 << 20, ..Default::default() };
    let err = footprint::measure(&bytes, &small).unwrap_err();
    assert!(err.contains("once inflated (the limit)"), "{err}");
    assert!(footprint::measure(&bytes, &footprint::Limits::default()).unwrap().column_bytes >= 2_000_000);
}

#[test]
fn only_a_single_document_chunk_is_accepted() {
    let bytes = sample().to_automerge();
    let mut twice = bytes.clone();
    twice.extend_from_slice(&bytes);
    assert!(footprint::measure(&twice, &footprint::Limits::default()).unwrap_err().contains("after the document"));
    let mut change = bytes.clone();
    change[8] = 1; // the chunk type byte: a change chunk
    assert!(footprint::measure(&change, &footprint::Limits::default()).unwrap_err().contains("chunk type 1"));
}

#[test]
fn one_account_in_two_spellings_is_inconsistent() {
    let mut doc = AutoCommit::load(&sample().to_automerge()).unwrap();
    let balances = match doc.get(ROOT, "balances").unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        other => panic!("{other:?}"),
    };
    let myco = match doc.get(&balances, "MYCO").unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        other => panic!("{other:?}"),
    };
    let alice = B256::repeat_byte(0xa1).to_string();
    doc.put(&myco, alice.to_uppercase().replace("0X", "0x"), "1").unwrap();
    let err = BatchState::from_automerge(&doc.save()).unwrap_err();
    assert_eq!(err.reason(), "inconsistent", "{err}");
    assert!(err.to_string().contains("two spellings"), "{err}");
}

#[test]
fn a_huge_bad_value_is_quoted_by_a_short_prefix() {
    let mut doc = AutoCommit::load(&sample().to_automerge()).unwrap();
    let reserve = match doc.get(ROOT, "reserve").unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        other => panic!("{other:?}"),
    };
    doc.put(&reserve, "total_supply", "9x".repeat(1_000_000)).unwrap();
    let err = BatchState::from_automerge(&doc.save()).unwrap_err().to_string();
    assert!(err.len() < 300, "{} bytes: {}", err.len(), &err[..300.min(err.len())]);
    assert!(err.contains("(2000000 bytes)"), "{err}");
}

/// Map keys are the sender's too: a balance, flow or token key of megabytes is quoted by a prefix and its length
/// wherever a refusal names the field, never copied whole into the log and the quarantine.
#[test]
fn a_huge_hostile_map_key_is_quoted_by_a_short_prefix() {
    let huge = "k".repeat(8_000_000);
    let map_in_root = |doc: &AutoCommit, name: &str| match doc.get(ROOT, name).unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        other => panic!("{other:?}"),
    };
    let token_key = |doc: &mut AutoCommit| {
        let balances = map_in_root(doc, "balances");
        doc.put_object(&balances, huge.as_str(), automerge::ObjType::Map).unwrap();
    };
    let account_key = |doc: &mut AutoCommit| {
        let balances = map_in_root(doc, "balances");
        let myco = match doc.get(&balances, "MYCO").unwrap() {
            Some((automerge::Value::Object(_), id)) => id,
            other => panic!("{other:?}"),
        };
        doc.put(&myco, huge.as_str(), "1").unwrap();
    };
    let flow_key = |doc: &mut AutoCommit| {
        let flows = map_in_root(doc, "flows");
        doc.put_object(&flows, huge.as_str(), automerge::ObjType::Map).unwrap();
    };
    type Mutation<'a> = &'a dyn Fn(&mut AutoCommit);
    let cases: [(&str, Mutation); 3] =
        [("token", &token_key), ("balance account", &account_key), ("flow account", &flow_key)];
    for (what, mutate) in cases {
        let mut doc = AutoCommit::load(&sample().to_automerge()).unwrap();
        mutate(&mut doc);
        let err = BatchState::from_automerge(&doc.save()).unwrap_err().to_string();
        assert!(err.len() < 400, "{what}: {} bytes: {}", err.len(), &err[..400.min(err.len())]);
        assert!(err.contains("(8000000 bytes)"), "{what}: {err}");
    }
}

/// Documents on which Automerge 0.12 panics (found by mutating a saved batch document and resealing its
/// checksum), one per panic site: `change_graph.rs:993`, hexane's `lib.rs:354` and `raw.rs:622`.
const PANICS: [(&str, &[u8]); 3] = [
    ("change graph", include_bytes!("../../../tests/fixtures/panic-change-graph.automerge")),
    ("hexane lib", include_bytes!("../../../tests/fixtures/panic-hexane-lib.automerge")),
    ("hexane raw", include_bytes!("../../../tests/fixtures/panic-hexane-raw.automerge")),
];

#[test]
fn documents_on_which_automerge_panics_are_rejected_as_bad_documents() {
    let mut caught = 0;
    for (site, bytes) in PANICS {
        assert!(
            std::panic::catch_unwind(|| AutoCommit::load(bytes)).is_err(),
            "{site}: the fixture still makes Automerge panic"
        );
        let err = BatchState::from_automerge(bytes).unwrap_err();
        assert_eq!(err.reason(), "bad_document", "{site}: {err}");
        // Some are already refused by the footprint scan (their columns are malformed); the others reach
        // Automerge, which panics, and the panic comes back as the reason.
        let text = err.to_string();
        assert!(!text.contains('\n') && text.len() < 300, "{site}: one short line: {text}");
        caught += usize::from(text.contains("Automerge panicked"));
    }
    assert!(caught >= 2, "the guard, not only the scan, is exercised");
}

/// The check run beside the reading sees exactly the intents the state ends up with, and a document error wins
/// over it, in the schema's order: a bad balance (before the intents) is reported, not a bad intent.
#[test]
fn the_intents_check_beside_the_reading_sees_the_read_intents_and_document_errors_come_first() {
    let state = sample();
    assert!(!state.intents.is_empty());
    let (read, seen) =
        BatchState::from_automerge_checking(&state.to_automerge(), &footprint::Limits::default(), |intents| {
            intents.to_vec()
        })
        .unwrap();
    assert_eq!(read, state);
    assert_eq!(seen, state.intents);

    let mut doc = AutoCommit::load(&state.to_automerge()).unwrap();
    let object = |doc: &AutoCommit, parent: &automerge::ObjId, key: &str| match doc.get(parent, key).unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        other => panic!("{other:?}"),
    };
    let myco = object(&doc, &object(&doc, &ROOT, "balances"), "MYCO");
    let first_intent = match doc.get(object(&doc, &ROOT, "intents"), 0).unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        other => panic!("{other:?}"),
    };
    doc.put(&first_intent, "min_buy", "-1").unwrap();
    let intent_error = BatchState::from_automerge(&doc.save()).unwrap_err();
    assert!(intent_error.to_string().contains("intents[0].min_buy"), "{intent_error}");
    doc.put(&myco, B256::repeat_byte(0xa1).to_string(), "01").unwrap();
    let err = BatchState::from_automerge_checking(&doc.save(), &footprint::Limits::default(), |_| ()).unwrap_err();
    assert!(err.to_string().contains("balances.MYCO"), "{err}");
}
