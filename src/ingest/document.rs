//! The Automerge document of one epoch's committed state, and its schema.
//!
//! Amounts are decimal strings (Automerge integers are 64-bit, token amounts are not); epochs, timestamps and
//! deposit ids are Automerge unsigned (or non-negative signed) integers; keys and addresses are `0x` hex strings.
//! `docs/batch-format.md` is the normative description.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable};

use super::Error;

/// Version of the document schema this code reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

/// The decoded state of one epoch, as certified by the validators.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchState {
    /// The epoch number (the first is 1).
    pub epoch: u64,
    /// Digest of the previous epoch's batch (zero for epoch 1).
    pub parent: B256,
    /// The batch's timestamp, seconds since the Unix epoch.
    pub timestamp: u64,
    /// Balances in MYCO units (18 decimals), by 32-byte Ed25519 account key.
    pub balances: BTreeMap<B256, U256>,
    /// Escrow deposits this epoch credits.
    pub deposits: Vec<CreditedDeposit>,
    /// Withdrawal requests this epoch certifies; each becomes a claim in the state root.
    pub withdrawals: Vec<WithdrawalRequest>,
    /// The reserve figures the state root attests.
    pub reserve: ReserveState,
}

/// An escrow deposit credited to an off-chain account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditedDeposit {
    /// The escrow's deposit id.
    pub deposit_id: u64,
    /// The credited account.
    pub account: B256,
    /// USDC amount (6 decimals), as deposited.
    pub amount: U256,
}

/// A request to redeem MYCO for USDC on chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRequest {
    /// Unique across all epochs.
    pub claim_id: U256,
    /// The account debited.
    pub account: B256,
    /// MYCO amount (18 decimals).
    pub amount: U256,
    /// Who receives the USDC.
    pub recipient: Address,
}

/// Reserve figures of the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReserveState {
    /// MYCO outstanding (18 decimals).
    pub total_supply: U256,
    /// Reserve value in USD (WAD).
    pub total_reserve: U256,
    /// Outflow pressure (WAD).
    pub flow_pressure: U256,
}

impl BatchState {
    /// Writes the state as a new Automerge document and returns its saved bytes.
    ///
    /// The bytes are a function of the state alone (the actor id is derived from the epoch, the change carries
    /// no wall-clock time), so every honest validator writing the same state signs the same bytes.
    pub fn to_automerge(&self) -> Vec<u8> {
        let actor = alloy::primitives::keccak256([b"myco-bridge/actor".as_slice(), &self.epoch.to_be_bytes()].concat());
        let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from(&actor[..16]));
        // Writing into a fresh document cannot fail: every object id used below was just created by it.
        let mut write = || -> Result<(), automerge::AutomergeError> {
            doc.put(ROOT, "version", SCHEMA_VERSION)?;
            doc.put(ROOT, "epoch", self.epoch)?;
            doc.put(ROOT, "parent", self.parent.to_string())?;
            doc.put(ROOT, "timestamp", self.timestamp)?;
            let balances = doc.put_object(ROOT, "balances", ObjType::Map)?;
            for (account, amount) in &self.balances {
                doc.put(&balances, account.to_string(), amount.to_string())?;
            }
            let deposits = doc.put_object(ROOT, "deposits", ObjType::List)?;
            for (i, d) in self.deposits.iter().enumerate() {
                let m = doc.insert_object(&deposits, i, ObjType::Map)?;
                doc.put(&m, "deposit_id", d.deposit_id)?;
                doc.put(&m, "account", d.account.to_string())?;
                doc.put(&m, "amount", d.amount.to_string())?;
            }
            let withdrawals = doc.put_object(ROOT, "withdrawals", ObjType::List)?;
            for (i, w) in self.withdrawals.iter().enumerate() {
                let m = doc.insert_object(&withdrawals, i, ObjType::Map)?;
                doc.put(&m, "claim_id", w.claim_id.to_string())?;
                doc.put(&m, "account", w.account.to_string())?;
                doc.put(&m, "amount", w.amount.to_string())?;
                doc.put(&m, "recipient", w.recipient.to_checksum(None))?;
            }
            let reserve = doc.put_object(ROOT, "reserve", ObjType::Map)?;
            doc.put(&reserve, "total_supply", self.reserve.total_supply.to_string())?;
            doc.put(&reserve, "total_reserve", self.reserve.total_reserve.to_string())?;
            doc.put(&reserve, "flow_pressure", self.reserve.flow_pressure.to_string())?;
            Ok(())
        };
        write().expect("writing a fresh automerge document cannot fail");
        doc.save()
    }

    /// Loads and validates a saved Automerge document.
    pub fn from_automerge(bytes: &[u8]) -> Result<Self, Error> {
        let doc = AutoCommit::load(bytes).map_err(|e| Error::Document(e.to_string()))?;
        let r = Reader { doc: &doc };
        let version = r.uint(&ROOT, "version")?;
        if version != SCHEMA_VERSION {
            return Err(Error::Schema { field: "version".into(), reason: format!("unsupported version {version}") });
        }
        let mut state = BatchState {
            epoch: r.uint(&ROOT, "epoch")?,
            parent: r.b256(&ROOT, "parent")?,
            timestamp: r.uint(&ROOT, "timestamp")?,
            ..Default::default()
        };

        let balances = r.object(&ROOT, "balances", ObjType::Map)?;
        for key in doc.keys(&balances) {
            let account = parse_b256(&key).map_err(|reason| Error::Schema {
                field: format!("balances.{key}"),
                reason: format!("account key: {reason}"),
            })?;
            let amount = r.amount(&balances, key.as_str(), &format!("balances.{key}"))?;
            state.balances.insert(account, amount);
        }

        let deposits = r.object(&ROOT, "deposits", ObjType::List)?;
        for i in 0..doc.length(&deposits) {
            let m = r.object(&deposits, i, ObjType::Map)?;
            state.deposits.push(CreditedDeposit {
                deposit_id: r.uint(&m, "deposit_id")?,
                account: r.b256(&m, "account")?,
                amount: r.amount(&m, "amount", &format!("deposits[{i}].amount"))?,
            });
        }

        let withdrawals = r.object(&ROOT, "withdrawals", ObjType::List)?;
        for i in 0..doc.length(&withdrawals) {
            let m = r.object(&withdrawals, i, ObjType::Map)?;
            state.withdrawals.push(WithdrawalRequest {
                claim_id: r.amount(&m, "claim_id", &format!("withdrawals[{i}].claim_id"))?,
                account: r.b256(&m, "account")?,
                amount: r.amount(&m, "amount", &format!("withdrawals[{i}].amount"))?,
                recipient: r.address(&m, "recipient")?,
            });
        }

        let reserve = r.object(&ROOT, "reserve", ObjType::Map)?;
        state.reserve = ReserveState {
            total_supply: r.amount(&reserve, "total_supply", "reserve.total_supply")?,
            total_reserve: r.amount(&reserve, "total_reserve", "reserve.total_reserve")?,
            flow_pressure: r.amount(&reserve, "flow_pressure", "reserve.flow_pressure")?,
        };
        Ok(state)
    }
}

/// Typed, schema-checked reads from a loaded document.
struct Reader<'a> {
    doc: &'a AutoCommit,
}

impl Reader<'_> {
    fn get(&self, obj: &ObjId, prop: impl Into<automerge::Prop>) -> Result<(Value<'_>, ObjId), Error> {
        let prop = prop.into();
        self.doc
            .get(obj, prop.clone())
            .map_err(|e| Error::Document(e.to_string()))?
            .ok_or_else(|| Error::Schema { field: prop.to_string(), reason: "missing".into() })
    }

    fn object(&self, obj: &ObjId, prop: impl Into<automerge::Prop>, want: ObjType) -> Result<ObjId, Error> {
        let prop = prop.into();
        match self.get(obj, prop.clone())? {
            (Value::Object(t), id) if t == want => Ok(id),
            (other, _) => Err(Error::Schema {
                field: prop.to_string(),
                reason: format!("expected a {want:?}, found {}", describe(&other)),
            }),
        }
    }

    fn scalar(&self, obj: &ObjId, key: &str) -> Result<ScalarValue, Error> {
        match self.get(obj, key)? {
            (Value::Scalar(s), _) => Ok(s.into_owned()),
            (other, _) => Err(Error::Schema {
                field: key.into(),
                reason: format!("expected a scalar, found {}", describe(&other)),
            }),
        }
    }

    fn uint(&self, obj: &ObjId, key: &str) -> Result<u64, Error> {
        match self.scalar(obj, key)? {
            ScalarValue::Uint(v) => Ok(v),
            ScalarValue::Int(v) if v >= 0 => Ok(v as u64),
            other => Err(Error::Schema {
                field: key.into(),
                reason: format!("expected a non-negative integer, found {other:?}"),
            }),
        }
    }

    fn string(&self, obj: &ObjId, key: &str) -> Result<String, Error> {
        match self.scalar(obj, key)? {
            ScalarValue::Str(s) => Ok(s.to_string()),
            other => Err(Error::Schema { field: key.into(), reason: format!("expected a string, found {other:?}") }),
        }
    }

    /// A non-negative integer amount, written as a decimal string.
    fn amount(&self, obj: &ObjId, key: &str, field: &str) -> Result<U256, Error> {
        let text = self.string(obj, key).map_err(|e| e.in_field(field))?;
        parse_amount(&text).map_err(|reason| Error::Schema { field: field.into(), reason })
    }

    fn b256(&self, obj: &ObjId, key: &str) -> Result<B256, Error> {
        let text = self.string(obj, key)?;
        parse_b256(&text).map_err(|reason| Error::Schema { field: key.into(), reason })
    }

    fn address(&self, obj: &ObjId, key: &str) -> Result<Address, Error> {
        let text = self.string(obj, key)?;
        if text.len() != 42 || !text.starts_with("0x") {
            return Err(Error::Schema { field: key.into(), reason: format!("not a 20-byte 0x address: {text:?}") });
        }
        text.parse().map_err(|e| Error::Schema { field: key.into(), reason: format!("{e}: {text:?}") })
    }
}

/// Parses a canonical decimal amount: digits only, no sign, no leading zeros, at most 78 digits.
pub fn parse_amount(text: &str) -> Result<U256, String> {
    let canonical = !text.is_empty()
        && text.len() <= 78
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(format!("not a canonical non-negative decimal integer: {text:?}"));
    }
    U256::from_str_radix(text, 10).map_err(|e| format!("{e}: {text:?}"))
}

fn parse_b256(text: &str) -> Result<B256, String> {
    if text.len() != 66 || !text.starts_with("0x") {
        return Err(format!("not 32 bytes of 0x hex: {text:?}"));
    }
    text.parse().map_err(|e| format!("{e}: {text:?}"))
}

fn describe(v: &Value<'_>) -> String {
    match v {
        Value::Object(t) => format!("a {t:?}"),
        Value::Scalar(s) => format!("{s:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BatchState {
        let alice = B256::repeat_byte(0xa1);
        BatchState {
            epoch: 7,
            parent: B256::repeat_byte(0x11),
            timestamp: 1_700_000_000,
            balances: [(alice, U256::from(10).pow(U256::from(30)))].into(),
            deposits: vec![CreditedDeposit { deposit_id: 3, account: alice, amount: U256::from(5_000_000u64) }],
            withdrawals: vec![WithdrawalRequest {
                claim_id: U256::from(42),
                account: alice,
                amount: U256::from(10).pow(U256::from(18)),
                recipient: Address::repeat_byte(0x22),
            }],
            reserve: ReserveState {
                total_supply: U256::from(1),
                total_reserve: U256::from(2),
                flow_pressure: U256::ZERO,
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
        assert!(matches!(BatchState::from_automerge(&bytes), Err(Error::Document(_))));
    }

    #[test]
    fn rejects_non_canonical_amounts() {
        for bad in ["", "-1", "01", "1.5", "1e18", " 1", &"9".repeat(79)] {
            assert!(parse_amount(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(parse_amount("0").unwrap(), U256::ZERO);
        assert!(parse_amount(&U256::MAX.to_string()).is_ok());
        assert!(
            parse_amount("115792089237316195423570985008687907853269984665640564039457584007913129639936").is_err()
        );
    }

    #[test]
    fn rejects_missing_field_naming_it() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "version", SCHEMA_VERSION).unwrap();
        let err = BatchState::from_automerge(&doc.save()).unwrap_err();
        assert!(matches!(&err, Error::Schema { field, .. } if field == "epoch"), "{err}");
    }
}
