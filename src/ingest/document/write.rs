//! Writing a [`BatchState`] as an Automerge document (the simulator and tests; validators in other languages
//! follow `docs/batch-format.md`).

use alloy::primitives::{U256, keccak256};
use automerge::{ActorId, AutoCommit, AutomergeError, ObjId, ObjType, ROOT, transaction::Transactable};

use super::{BatchState, LedgerFlows, SCHEMA_VERSION};

impl BatchState {
    /// Writes the state as a new Automerge document and returns its saved bytes.
    ///
    /// The bytes are a function of the state alone (the actor id is derived from the epoch, the change carries
    /// no wall-clock time), so every honest validator writing the same state signs the same bytes.
    pub fn to_automerge(&self) -> Vec<u8> {
        let actor = keccak256([b"myco-bridge/actor".as_slice(), &self.epoch.to_be_bytes()].concat());
        let mut doc = AutoCommit::new().with_actor(ActorId::from(&actor[..16]));
        // Writing into a fresh document cannot fail: every object id used was just created by this document.
        self.write(&mut doc).expect("writing a fresh automerge document cannot fail");
        doc.save()
    }

    fn write(&self, doc: &mut AutoCommit) -> Result<(), AutomergeError> {
        // A state without ledger sections is a version 1 document (what relayers before version 2 read).
        doc.put(ROOT, "version", if self.ledger.is_some() { SCHEMA_VERSION } else { 1 })?;
        doc.put(ROOT, "epoch", self.epoch)?;
        doc.put(ROOT, "parent", self.parent.to_string())?;
        doc.put(ROOT, "timestamp", self.timestamp)?;

        let balances = doc.put_object(ROOT, "balances", ObjType::Map)?;
        for (token, accounts) in &self.balances {
            let m = doc.put_object(&balances, token.symbol(), ObjType::Map)?;
            for (account, amount) in accounts {
                doc.put(&m, account.to_string(), amount.to_string())?;
            }
        }

        let intents = doc.put_object(ROOT, "intents", ObjType::List)?;
        for (i, intent) in self.intents.iter().enumerate() {
            let m = doc.insert_object(&intents, i, ObjType::Map)?;
            doc.put(&m, "id", intent.id.to_string())?;
            doc.put(&m, "maker", intent.maker.to_string())?;
            doc.put(&m, "sell_token", intent.sell_token.symbol())?;
            doc.put(&m, "buy_token", intent.buy_token.symbol())?;
            put_amount(doc, &m, "sell_amount", intent.sell_amount)?;
            put_amount(doc, &m, "min_buy", intent.min_buy)?;
            doc.put(&m, "valid_until", intent.valid_until)?;
            doc.put(&m, "partial", intent.partial)?;
            doc.put(&m, "signature", alloy::hex::encode_prefixed(intent.signature))?;
        }

        let flows = doc.put_object(ROOT, "flows", ObjType::Map)?;
        for (account, f) in &self.flows {
            let m = doc.put_object(&flows, account.to_string(), ObjType::Map)?;
            put_amount(doc, &m, "flow", f.flow)?;
            doc.put(&m, "t_last", f.t_last)?;
            put_amount(doc, &m, "memory", f.memory)?;
            put_amount(doc, &m, "threshold", f.threshold)?;
        }

        let deposits = doc.put_object(ROOT, "deposits", ObjType::List)?;
        for (i, d) in self.deposits.iter().enumerate() {
            let m = doc.insert_object(&deposits, i, ObjType::Map)?;
            doc.put(&m, "deposit_id", d.deposit_id)?;
            doc.put(&m, "account", d.account.to_string())?;
            put_amount(doc, &m, "amount", d.amount)?;
        }

        let withdrawals = doc.put_object(ROOT, "withdrawals", ObjType::List)?;
        for (i, w) in self.withdrawals.iter().enumerate() {
            let m = doc.insert_object(&withdrawals, i, ObjType::Map)?;
            put_amount(doc, &m, "claim_id", w.claim_id)?;
            doc.put(&m, "account", w.account.to_string())?;
            put_amount(doc, &m, "amount", w.amount)?;
            doc.put(&m, "recipient", w.recipient.to_checksum(None))?;
            if let Some(epoch) = w.reissues {
                doc.put(&m, "reissues", epoch)?;
            }
        }

        let r = &self.reserve;
        let reserve = doc.put_object(ROOT, "reserve", ObjType::Map)?;
        put_amount(doc, &reserve, "total_supply", r.total_supply)?;
        put_amount(doc, &reserve, "total_reserve", r.total_reserve)?;
        put_amount(doc, &reserve, "flow_pressure", r.flow_pressure)?;
        put_amount(doc, &reserve, "redemption_level", r.redemption_level)?;
        doc.put(&reserve, "redemption_updated", r.redemption_updated)?;
        let vaults = doc.put_object(&reserve, "vaults", ObjType::List)?;
        for (i, v) in r.vaults.iter().enumerate() {
            let m = doc.insert_object(&vaults, i, ObjType::Map)?;
            doc.put(&m, "id", v.id.as_str())?;
            put_amount(doc, &m, "value", v.value)?;
            put_amount(doc, &m, "target_weight", v.target_weight)?;
        }
        if let Some(ledger) = &self.ledger {
            put_amount(doc, &reserve, "onchain", ledger.onchain_reserve)?;
            self.write_ledger(doc, ledger)?;
        }
        Ok(())
    }

    fn write_ledger(&self, doc: &mut AutoCommit, ledger: &LedgerFlows) -> Result<(), AutomergeError> {
        let mints = doc.put_object(ROOT, "mints", ObjType::List)?;
        for (i, mint) in ledger.mints.iter().enumerate() {
            let m = doc.insert_object(&mints, i, ObjType::Map)?;
            doc.put(&m, "contributor", mint.contributor.to_string())?;
            doc.put(&m, "kind", mint.kind.as_str())?;
            doc.put(&m, "units", mint.units)?;
            put_amount(doc, &m, "amount", mint.amount)?;
            doc.put(&m, "attester", mint.attester.to_string())?;
            doc.put(&m, "signature", alloy::hex::encode_prefixed(mint.signature))?;
        }
        let revaluations = doc.put_object(ROOT, "revaluations", ObjType::List)?;
        for (i, r) in ledger.revaluations.iter().enumerate() {
            let m = doc.insert_object(&revaluations, i, ObjType::Map)?;
            doc.put(&m, "vault", r.vault.as_str())?;
            doc.put(&m, "direction", if r.loss { "loss" } else { "gain" })?;
            put_amount(doc, &m, "amount", r.amount)?;
            doc.put(&m, "reason", r.reason.as_str())?;
        }
        let settlements = doc.put_object(ROOT, "settlements", ObjType::List)?;
        for (i, s) in ledger.settlements.iter().enumerate() {
            let m = doc.insert_object(&settlements, i, ObjType::Map)?;
            doc.put(&m, "epoch", s.epoch)?;
            let fills = doc.put_object(&m, "fills", ObjType::List)?;
            for (j, f) in s.fills.iter().enumerate() {
                let fm = doc.insert_object(&fills, j, ObjType::Map)?;
                doc.put(&fm, "maker", f.maker.to_string())?;
                doc.put(&fm, "intent", f.intent.to_string())?;
                doc.put(&fm, "sell_token", f.sell_token.symbol())?;
                put_amount(doc, &fm, "sold", f.sold)?;
                put_amount(doc, &fm, "bought", f.bought)?;
            }
        }
        Ok(())
    }
}

fn put_amount(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: U256) -> Result<(), AutomergeError> {
    doc.put(obj, key, value.to_string())
}
