//! Reading and schema-checking a saved Automerge document into a [`BatchState`]. Every error names the field's
//! path (`intents[3].min_buy`) and what is wrong with it.
//!
//! Each map is read in one pass (`map_range`) into a [`Record`] and each list in one pass (`list_range`): a
//! large batch is mostly many small maps, and per-field lookups would cost several times the document's load.

mod ledger;

use std::borrow::Cow;
use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use automerge::iter::MapRangeItem;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValueRef, ValueRef};

use super::footprint::{self, Limits};
use super::text::{parse_amount, parse_b256, parse_hex};
use super::{BatchState, CreditedDeposit, FlowTracker, ReserveState, SCHEMA_VERSION, Vault, WithdrawalRequest, guard};
use crate::ingest::Error;
use crate::ingest::intent::{Intent, Token};
use crate::ingest::quote::{key_in_path, quoted};

/// Largest integer every smaller non-negative integer of which a double represents exactly (2^53).
const MAX_EXACT_F64: f64 = 9_007_199_254_740_992.0;

impl BatchState {
    /// Loads and schema-checks a saved Automerge document within the default [`Limits`].
    pub fn from_automerge(bytes: &[u8]) -> Result<Self, Error> {
        Self::from_automerge_within(bytes, &Limits::default())
    }

    /// Loads and schema-checks a saved Automerge document: first its claimed size is measured against `limits`
    /// (nothing is materialised for a document over them), then it is loaded and read with any panic inside
    /// Automerge caught and turned into a `bad_document` error.
    pub fn from_automerge_within(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        Self::from_automerge_checking(bytes, limits, |_| ()).map(|(state, ())| state)
    }

    /// [`BatchState::from_automerge_within`], running `check_intents` on the intents on another thread while the
    /// rest of the document is read (the makers' signatures and the reading are the two largest costs of a big
    /// batch after Automerge's load). Errors come in the same order as without it: the document's first.
    pub fn from_automerge_checking<T: Send>(
        bytes: &[u8],
        limits: &Limits,
        check_intents: impl FnOnce(&[Intent]) -> T + Send,
    ) -> Result<(Self, T), Error> {
        footprint::measure(bytes, limits).map_err(|reason| Error::Document { epoch: None, reason })?;
        // A panic in the check is not the document's: it comes back from the read as it is and is raised here, out
        // of the guard that turns Automerge's panics into a bad document.
        let check = std::panic::AssertUnwindSafe(check_intents);
        let read = guard::catch(move || {
            let check = check;
            Self::read(bytes, check.0)
        });
        let (state, checked) = read.unwrap_or_else(|panic| {
            Err(Error::Document { epoch: None, reason: format!("malformed document (Automerge panicked: {panic})") })
        })?;
        Ok((state, checked.unwrap_or_else(|panic| std::panic::resume_unwind(panic))))
    }

    fn read<T: Send>(
        bytes: &[u8],
        check_intents: impl FnOnce(&[Intent]) -> T + Send,
    ) -> Result<(Self, std::thread::Result<T>), Error> {
        let doc = AutoCommit::load(bytes).map_err(document_error)?;
        let r = Reader { doc: &doc };
        let root = r.record(&ROOT, String::new());
        let version = r.uint(&root, "version")?;
        if !(1..=SCHEMA_VERSION).contains(&version) {
            let reason = format!("unsupported schema version {version}, this relayer reads 1 to {SCHEMA_VERSION}");
            return Err(schema("version", reason));
        }
        let (epoch, parent, timestamp) =
            (r.uint(&root, "epoch")?, r.b256(&root, "parent")?, r.uint(&root, "timestamp")?);
        // The intents are read first so their check can start while every other section is read; each section's
        // error is then taken in the schema's order, so the first one reported is the one a reading in order meets.
        let intents = r.intents(&root);
        let (others, checked) = std::thread::scope(|scope| {
            let checking = intents.as_ref().ok().map(|intents| scope.spawn(|| check_intents(intents)));
            let others = (
                r.balances(&root),
                r.flows(&root),
                r.deposits(&root),
                r.withdrawals(&root),
                r.reserve(&root),
                (version >= 2).then(|| r.ledger(&root)),
            );
            (others, checking.map(|h| h.join()))
        });
        let (balances, flows, deposits, withdrawals, reserve, ledger) = others;
        let state = BatchState {
            epoch,
            parent,
            timestamp,
            balances: balances?,
            intents: intents?,
            flows: flows?,
            deposits: deposits?,
            withdrawals: withdrawals?,
            reserve: reserve?,
            ledger: ledger.transpose()?,
        };
        let checked = checked.expect("the intents were read, so they were checked");
        Ok((state, checked))
    }
}

/// The document's sections, each read from the root record.
impl<'d> Reader<'d> {
    fn balances(&self, root: &Record<'d>) -> Result<BTreeMap<Token, BTreeMap<B256, U256>>, Error> {
        let r = self;
        let mut out = BTreeMap::new();
        let balances = r.map(root, "balances")?;
        for item in &balances.items {
            let field = balances.field(&item.key);
            let token = Token::from_symbol(&item.key)
                .ok_or_else(|| schema(&field, "unknown token (expected MYCO or USDC)".into()))?;
            if out.contains_key(&token) {
                return Err(schema(&field, "the token appears twice".into()));
            }
            let accounts = r.object_id(item, &field, ObjType::Map)?;
            out.insert(token, r.amounts_by_account(&accounts, &field)?);
        }
        Ok(out)
    }

    fn intents(&self, root: &Record<'d>) -> Result<Vec<Intent>, Error> {
        let r = self;
        r.maps_in_list(root, "intents")?
            .iter()
            .map(|m| {
                Ok(Intent {
                    id: r.b256(m, "id")?,
                    maker: r.b256(m, "maker")?,
                    sell_token: r.token(m, "sell_token")?,
                    buy_token: r.token(m, "buy_token")?,
                    sell_amount: r.amount(m, "sell_amount")?,
                    min_buy: r.amount(m, "min_buy")?,
                    valid_until: r.uint(m, "valid_until")?,
                    partial: r.boolean(m, "partial")?,
                    signature: r.hex_array::<64>(m, "signature")?,
                })
            })
            .collect()
    }

    fn flows(&self, root: &Record<'d>) -> Result<BTreeMap<B256, FlowTracker>, Error> {
        let r = self;
        let mut out = BTreeMap::new();
        let flows = r.map(root, "flows")?;
        for item in &flows.items {
            let field = flows.field(&item.key);
            let account = parse_b256(&item.key).map_err(|reason| schema(&field, format!("account key: {reason}")))?;
            let m = r.record(&r.object_id(item, &field, ObjType::Map)?, field.clone());
            let tracker = FlowTracker {
                flow: r.amount(&m, "flow")?,
                t_last: r.uint(&m, "t_last")?,
                memory: r.amount(&m, "memory")?,
                threshold: r.amount(&m, "threshold")?,
            };
            if out.insert(account, tracker).is_some() {
                return Err(two_spellings(&field, &account));
            }
        }
        Ok(out)
    }

    fn deposits(&self, root: &Record<'d>) -> Result<Vec<CreditedDeposit>, Error> {
        let r = self;
        r.maps_in_list(root, "deposits")?
            .iter()
            .map(|m| {
                Ok(CreditedDeposit {
                    deposit_id: r.uint(m, "deposit_id")?,
                    account: r.b256(m, "account")?,
                    amount: r.amount(m, "amount")?,
                })
            })
            .collect()
    }

    fn withdrawals(&self, root: &Record<'d>) -> Result<Vec<WithdrawalRequest>, Error> {
        let r = self;
        r.maps_in_list(root, "withdrawals")?
            .iter()
            .map(|m| {
                Ok(WithdrawalRequest {
                    claim_id: r.amount(m, "claim_id")?,
                    account: r.b256(m, "account")?,
                    amount: r.amount(m, "amount")?,
                    recipient: r.address(m, "recipient")?,
                    reissues: match m.items.iter().any(|i| i.key == "reissues") {
                        true => Some(r.uint(m, "reissues")?),
                        false => None,
                    },
                })
            })
            .collect()
    }

    fn reserve(&self, root: &Record<'d>) -> Result<ReserveState, Error> {
        let r = self;
        let reserve = r.map(root, "reserve")?;
        let vaults = r
            .maps_in_list(&reserve, "vaults")?
            .iter()
            .map(|m| {
                Ok(Vault {
                    id: r.string(m, "id")?.into_owned(),
                    value: r.amount(m, "value")?,
                    target_weight: r.amount(m, "target_weight")?,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(ReserveState {
            total_supply: r.amount(&reserve, "total_supply")?,
            total_reserve: r.amount(&reserve, "total_reserve")?,
            flow_pressure: r.amount(&reserve, "flow_pressure")?,
            redemption_level: r.amount(&reserve, "redemption_level")?,
            redemption_updated: r.uint(&reserve, "redemption_updated")?,
            vaults,
        })
    }
}

/// A map's entries, read in one pass, and its path for error messages.
struct Record<'d> {
    path: String,
    items: Vec<MapRangeItem<'d>>,
}

impl Record<'_> {
    fn field(&self, key: &str) -> String {
        let key = key_in_path(key);
        if self.path.is_empty() { key.into_owned() } else { format!("{}.{key}", self.path) }
    }
}

/// One account written twice with different letter case: keys are bytes, so both name the same account.
fn two_spellings(field: &str, account: &B256) -> Error {
    // The reader does not know the epoch; `Error::in_epoch` fills it in.
    Error::Inconsistent { epoch: 0, what: format!("{field}: account {account} appears twice (in two spellings)") }
}

fn schema(field: &str, reason: String) -> Error {
    Error::Schema { epoch: None, field: field.to_string(), reason }
}

fn document_error(e: automerge::AutomergeError) -> Error {
    Error::Document { epoch: None, reason: e.to_string() }
}

/// Typed, schema-checked reads from a loaded document.
struct Reader<'d> {
    doc: &'d AutoCommit,
}

impl<'d> Reader<'d> {
    fn record(&self, id: &ObjId, path: String) -> Record<'d> {
        Record { path, items: self.doc.map_range(id, ..).collect() }
    }

    fn find<'r>(&self, rec: &'r Record<'d>, key: &str) -> Result<&'r MapRangeItem<'d>, Error> {
        rec.items.iter().find(|i| i.key == key).ok_or_else(|| schema(&rec.field(key), "missing".into()))
    }

    fn object_id(&self, item: &MapRangeItem<'d>, field: &str, want: ObjType) -> Result<ObjId, Error> {
        match &item.value {
            ValueRef::Object(t) if *t == want => Ok(item.id()),
            other => Err(schema(field, format!("expected a {want:?}, found {}", describe(other)))),
        }
    }

    fn map(&self, rec: &Record<'d>, key: &str) -> Result<Record<'d>, Error> {
        let field = rec.field(key);
        let id = self.object_id(self.find(rec, key)?, &field, ObjType::Map)?;
        Ok(self.record(&id, field))
    }

    /// The list at `key`, whose every element must be a map.
    fn maps_in_list(&self, rec: &Record<'d>, key: &str) -> Result<Vec<Record<'d>>, Error> {
        let field = rec.field(key);
        let list = self.object_id(self.find(rec, key)?, &field, ObjType::List)?;
        self.doc
            .list_range(&list, ..)
            .map(|item| {
                let path = format!("{field}[{}]", item.index);
                match &item.value {
                    ValueRef::Object(ObjType::Map) => Ok(self.record(&item.id(), path)),
                    other => Err(schema(&path, format!("expected a Map, found {}", describe(other)))),
                }
            })
            .collect()
    }

    fn uint(&self, rec: &Record<'d>, key: &str) -> Result<u64, Error> {
        match &self.find(rec, key)?.value {
            ValueRef::Scalar(ScalarValueRef::Uint(v)) => Ok(*v),
            ValueRef::Scalar(ScalarValueRef::Int(v)) if *v >= 0 => Ok(*v as u64),
            // JavaScript writers store some integral numbers as doubles; those up to 2^53 are exact integers.
            // (Amounts are never numbers: they are decimal strings.)
            ValueRef::Scalar(ScalarValueRef::F64(v)) if (0.0..=MAX_EXACT_F64).contains(v) && v.fract() == 0.0 => {
                Ok(*v as u64)
            }
            other => {
                Err(schema(&rec.field(key), format!("expected a non-negative integer, found {}", describe(other))))
            }
        }
    }

    fn boolean(&self, rec: &Record<'d>, key: &str) -> Result<bool, Error> {
        match &self.find(rec, key)?.value {
            ValueRef::Scalar(ScalarValueRef::Boolean(b)) => Ok(*b),
            other => Err(schema(&rec.field(key), format!("expected a boolean, found {}", describe(other)))),
        }
    }

    /// A scalar string, or a text object (what JavaScript Automerge makes of a plain string).
    fn string<'r>(&self, rec: &'r Record<'d>, key: &str) -> Result<Cow<'r, str>, Error> {
        let item = self.find(rec, key)?;
        self.text_of(item).map_err(|found| schema(&rec.field(key), format!("expected a string, found {found}")))
    }

    fn text_of<'r>(&self, item: &'r MapRangeItem<'d>) -> Result<Cow<'r, str>, String> {
        match &item.value {
            ValueRef::Scalar(ScalarValueRef::Str(text)) => Ok(Cow::Borrowed(text.as_ref())),
            ValueRef::Object(ObjType::Text) => self.doc.text(item.id()).map(Cow::Owned).map_err(|e| e.to_string()),
            other => Err(describe(other)),
        }
    }

    /// A non-negative integer written as a canonical decimal string.
    fn amount(&self, rec: &Record<'d>, key: &str) -> Result<U256, Error> {
        parse_amount(&self.string(rec, key)?).map_err(|reason| schema(&rec.field(key), reason))
    }

    /// The map `obj` (at `path`) of account (hex32) → amount. The largest section of a batch (a million balances is
    /// a real size), so it is read in one streaming pass, not gathered into a [`Record`] first, and the accounts are
    /// sorted once and the map built from them in one go.
    fn amounts_by_account(&self, obj: &ObjId, path: &str) -> Result<BTreeMap<B256, U256>, Error> {
        let field = |key: &str| format!("{path}.{}", key_in_path(key));
        let mut amounts = Vec::new();
        for item in self.doc.map_range(obj, ..) {
            let account =
                parse_b256(&item.key).map_err(|reason| schema(&field(&item.key), format!("account key: {reason}")))?;
            let text = self
                .text_of(&item)
                .map_err(|found| schema(&field(&item.key), format!("expected a string, found {found}")))?;
            amounts.push((account, parse_amount(&text).map_err(|reason| schema(&field(&item.key), reason))?));
        }
        // Keys are distinct strings, so an account found twice was written in two letter cases.
        amounts.sort_unstable_by_key(|(account, _)| *account);
        if let Some(pair) = amounts.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            let account = pair[0].0;
            let spelled = self
                .doc
                .map_range(obj, ..)
                .map(|item| item.key.into_owned())
                .find(|key| parse_b256(key).is_ok_and(|a| a == account))
                .unwrap_or_default();
            return Err(two_spellings(&field(&spelled), &account));
        }
        Ok(amounts.into_iter().collect())
    }

    fn b256(&self, rec: &Record<'d>, key: &str) -> Result<B256, Error> {
        self.hex_array::<32>(rec, key).map(B256::from)
    }

    fn hex_array<const N: usize>(&self, rec: &Record<'d>, key: &str) -> Result<[u8; N], Error> {
        parse_hex::<N>(&self.string(rec, key)?).map_err(|reason| schema(&rec.field(key), reason))
    }

    fn address(&self, rec: &Record<'d>, key: &str) -> Result<Address, Error> {
        self.hex_array::<20>(rec, key).map(Address::from)
    }

    fn token(&self, rec: &Record<'d>, key: &str) -> Result<Token, Error> {
        let text = self.string(rec, key)?;
        Token::from_symbol(&text).ok_or_else(|| schema(&rec.field(key), format!("unknown token {}", quoted(&text))))
    }
}

fn describe(v: &ValueRef<'_>) -> String {
    match v {
        ValueRef::Object(t) => format!("a {t:?}"),
        ValueRef::Scalar(ScalarValueRef::Str(text)) => format!("the string {}", quoted(text)),
        ValueRef::Scalar(s) => crate::ingest::quote::prefix(&format!("{s:?}"), 2 * crate::ingest::quote::MAX_QUOTED),
    }
}
