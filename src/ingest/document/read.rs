//! Reading and schema-checking a saved Automerge document into a [`BatchState`]. Every error names the field's
//! path (`intents[3].min_buy`) and what is wrong with it.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use automerge::{AutoCommit, ObjId, ObjType, Prop, ROOT, ReadDoc, ScalarValue, Value};

use super::{BatchState, CreditedDeposit, FlowTracker, ReserveState, SCHEMA_VERSION, Vault, WithdrawalRequest};
use crate::ingest::Error;
use crate::ingest::intent::{Intent, Token};

impl BatchState {
    /// Loads and schema-checks a saved Automerge document.
    pub fn from_automerge(bytes: &[u8]) -> Result<Self, Error> {
        let doc = AutoCommit::load(bytes).map_err(|e| Error::Document { epoch: None, reason: e.to_string() })?;
        let r = Reader { doc: &doc };
        let root = Obj { id: ROOT, path: String::new() };
        let version = r.uint(&root, "version")?;
        if version != SCHEMA_VERSION {
            return Err(schema(
                "version",
                format!("unsupported schema version {version}, this relayer reads {SCHEMA_VERSION}"),
            ));
        }
        let mut state = BatchState {
            epoch: r.uint(&root, "epoch")?,
            parent: r.b256(&root, "parent")?,
            timestamp: r.uint(&root, "timestamp")?,
            ..Default::default()
        };

        let balances = r.map(&root, "balances")?;
        for symbol in doc.keys(&balances.id) {
            let token = Token::from_symbol(&symbol)
                .ok_or_else(|| schema(&balances.field(&symbol), "unknown token (expected MYCO or USDC)".into()))?;
            let accounts = r.map(&balances, &symbol)?;
            let mut out = BTreeMap::new();
            for key in doc.keys(&accounts.id) {
                let account = parse_b256(&key)
                    .map_err(|reason| schema(&accounts.field(&key), format!("account key: {reason}")))?;
                out.insert(account, r.amount(&accounts, &key)?);
            }
            state.balances.insert(token, out);
        }

        let intents = r.list(&root, "intents")?;
        for i in 0..doc.length(&intents.id) {
            let m = r.item(&intents, i)?;
            state.intents.push(Intent {
                id: r.b256(&m, "id")?,
                maker: r.b256(&m, "maker")?,
                sell_token: r.token(&m, "sell_token")?,
                buy_token: r.token(&m, "buy_token")?,
                sell_amount: r.amount(&m, "sell_amount")?,
                min_buy: r.amount(&m, "min_buy")?,
                valid_until: r.uint(&m, "valid_until")?,
                partial: r.boolean(&m, "partial")?,
                signature: r.hex_array::<64>(&m, "signature")?,
            });
        }

        let flows = r.map(&root, "flows")?;
        for key in doc.keys(&flows.id) {
            let account =
                parse_b256(&key).map_err(|reason| schema(&flows.field(&key), format!("account key: {reason}")))?;
            let m = r.map(&flows, &key)?;
            let tracker = FlowTracker {
                flow: r.amount(&m, "flow")?,
                t_last: r.uint(&m, "t_last")?,
                memory: r.amount(&m, "memory")?,
                threshold: r.amount(&m, "threshold")?,
            };
            state.flows.insert(account, tracker);
        }

        let deposits = r.list(&root, "deposits")?;
        for i in 0..doc.length(&deposits.id) {
            let m = r.item(&deposits, i)?;
            state.deposits.push(CreditedDeposit {
                deposit_id: r.uint(&m, "deposit_id")?,
                account: r.b256(&m, "account")?,
                amount: r.amount(&m, "amount")?,
            });
        }

        let withdrawals = r.list(&root, "withdrawals")?;
        for i in 0..doc.length(&withdrawals.id) {
            let m = r.item(&withdrawals, i)?;
            state.withdrawals.push(WithdrawalRequest {
                claim_id: r.amount(&m, "claim_id")?,
                account: r.b256(&m, "account")?,
                amount: r.amount(&m, "amount")?,
                recipient: r.address(&m, "recipient")?,
            });
        }

        let reserve = r.map(&root, "reserve")?;
        let vaults = r.list(&reserve, "vaults")?;
        let mut vault_list = Vec::new();
        for i in 0..doc.length(&vaults.id) {
            let m = r.item(&vaults, i)?;
            vault_list.push(Vault {
                id: r.string(&m, "id")?,
                value: r.amount(&m, "value")?,
                target_weight: r.amount(&m, "target_weight")?,
            });
        }
        state.reserve = ReserveState {
            total_supply: r.amount(&reserve, "total_supply")?,
            total_reserve: r.amount(&reserve, "total_reserve")?,
            flow_pressure: r.amount(&reserve, "flow_pressure")?,
            redemption_level: r.amount(&reserve, "redemption_level")?,
            redemption_updated: r.uint(&reserve, "redemption_updated")?,
            vaults: vault_list,
        };
        Ok(state)
    }
}

/// Largest integer every smaller non-negative integer of which a double represents exactly (2^53).
const MAX_EXACT_F64: f64 = 9_007_199_254_740_992.0;

/// An object of the document and its path, for error messages.
struct Obj {
    id: ObjId,
    path: String,
}

impl Obj {
    fn field(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }
}

fn schema(field: &str, reason: String) -> Error {
    Error::Schema { epoch: None, field: field.to_string(), reason }
}

/// Typed, schema-checked reads from a loaded document.
struct Reader<'a> {
    doc: &'a AutoCommit,
}

impl Reader<'_> {
    fn get(&self, obj: &ObjId, prop: Prop, field: &str) -> Result<Value<'_>, Error> {
        match self.doc.get(obj, prop) {
            Ok(Some((value, _))) => Ok(value),
            Ok(None) => Err(schema(field, "missing".into())),
            Err(e) => Err(Error::Document { epoch: None, reason: e.to_string() }),
        }
    }

    fn object(&self, obj: &Obj, prop: Prop, path: String, want: ObjType) -> Result<Obj, Error> {
        let found = self.doc.get(&obj.id, prop).map_err(|e| Error::Document { epoch: None, reason: e.to_string() })?;
        match found {
            Some((Value::Object(t), id)) if t == want => Ok(Obj { id, path }),
            Some((other, _)) => Err(schema(&path, format!("expected a {want:?}, found {}", describe(&other)))),
            None => Err(schema(&path, "missing".into())),
        }
    }

    fn map(&self, obj: &Obj, key: &str) -> Result<Obj, Error> {
        self.object(obj, key.into(), obj.field(key), ObjType::Map)
    }

    fn list(&self, obj: &Obj, key: &str) -> Result<Obj, Error> {
        self.object(obj, key.into(), obj.field(key), ObjType::List)
    }

    fn item(&self, list: &Obj, index: usize) -> Result<Obj, Error> {
        self.object(list, index.into(), format!("{}[{index}]", list.path), ObjType::Map)
    }

    fn scalar(&self, obj: &Obj, key: &str) -> Result<ScalarValue, Error> {
        let field = obj.field(key);
        match self.get(&obj.id, key.into(), &field)? {
            Value::Scalar(s) => Ok(s.into_owned()),
            other => Err(schema(&field, format!("expected a scalar, found {}", describe(&other)))),
        }
    }

    fn uint(&self, obj: &Obj, key: &str) -> Result<u64, Error> {
        match self.scalar(obj, key)? {
            ScalarValue::Uint(v) => Ok(v),
            ScalarValue::Int(v) if v >= 0 => Ok(v as u64),
            // JavaScript writers store some integral numbers as doubles; those up to 2^53 are exact integers.
            // (Amounts are never numbers: they are decimal strings.)
            ScalarValue::F64(v) if (0.0..=MAX_EXACT_F64).contains(&v) && v.fract() == 0.0 => Ok(v as u64),
            other => Err(schema(&obj.field(key), format!("expected a non-negative integer, found {other:?}"))),
        }
    }

    fn boolean(&self, obj: &Obj, key: &str) -> Result<bool, Error> {
        match self.scalar(obj, key)? {
            ScalarValue::Boolean(b) => Ok(b),
            other => Err(schema(&obj.field(key), format!("expected a boolean, found {other:?}"))),
        }
    }

    /// A scalar string, or a text object (what JavaScript Automerge makes of a plain string).
    fn string(&self, obj: &Obj, key: &str) -> Result<String, Error> {
        let field = obj.field(key);
        let found = self.doc.get(&obj.id, key).map_err(|e| Error::Document { epoch: None, reason: e.to_string() })?;
        match found {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Str(text) => Ok(text.to_string()),
                other => Err(schema(&field, format!("expected a string, found {other:?}"))),
            },
            Some((Value::Object(ObjType::Text), id)) => {
                self.doc.text(&id).map_err(|e| Error::Document { epoch: None, reason: e.to_string() })
            }
            Some((other, _)) => Err(schema(&field, format!("expected a string, found {}", describe(&other)))),
            None => Err(schema(&field, "missing".into())),
        }
    }

    /// A non-negative integer written as a canonical decimal string.
    fn amount(&self, obj: &Obj, key: &str) -> Result<U256, Error> {
        parse_amount(&self.string(obj, key)?).map_err(|reason| schema(&obj.field(key), reason))
    }

    fn b256(&self, obj: &Obj, key: &str) -> Result<B256, Error> {
        parse_b256(&self.string(obj, key)?).map_err(|reason| schema(&obj.field(key), reason))
    }

    fn hex_array<const N: usize>(&self, obj: &Obj, key: &str) -> Result<[u8; N], Error> {
        let text = self.string(obj, key)?;
        parse_hex::<N>(&text).map_err(|reason| schema(&obj.field(key), reason))
    }

    fn address(&self, obj: &Obj, key: &str) -> Result<Address, Error> {
        self.hex_array::<20>(obj, key).map(Address::from)
    }

    fn token(&self, obj: &Obj, key: &str) -> Result<Token, Error> {
        let text = self.string(obj, key)?;
        Token::from_symbol(&text).ok_or_else(|| schema(&obj.field(key), format!("unknown token {text:?}")))
    }
}

/// Parses a canonical decimal amount: digits only, no sign, no leading zeros, at most 2^256 − 1.
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

fn parse_hex<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let digits = text.strip_prefix("0x").ok_or_else(|| format!("expected 0x-prefixed hex, found {text:?}"))?;
    if digits.len() != 2 * N {
        return Err(format!("expected {N} bytes of hex, found {} characters", digits.len()));
    }
    let mut out = [0u8; N];
    alloy::hex::decode_to_slice(digits, &mut out).map_err(|e| format!("{e}: {text:?}"))?;
    Ok(out)
}

fn parse_b256(text: &str) -> Result<B256, String> {
    parse_hex::<32>(text).map(B256::from)
}

fn describe(v: &Value<'_>) -> String {
    match v {
        Value::Object(t) => format!("a {t:?}"),
        Value::Scalar(s) => format!("{s:?}"),
    }
}
