//! Reading version 2's ledger sections (mints, revaluations, applied settlements, the on-chain reserve).

use super::{Reader, Record, schema};
use crate::ingest::Error;
use crate::ingest::document::{AppliedSettlement, LedgerFlows, MAX_REASON_BYTES, Revaluation, SettledFill};
use crate::ingest::mint::Mint;
use crate::ingest::quote::quoted;

/// Version 2's ledger sections.
impl<'d> Reader<'d> {
    pub(super) fn ledger(&self, root: &Record<'d>) -> Result<LedgerFlows, Error> {
        let reserve = self.map(root, "reserve")?;
        Ok(LedgerFlows {
            mints: self.mints(root)?,
            revaluations: self.revaluations(root)?,
            settlements: self.settlements(root)?,
            onchain_reserve: self.amount(&reserve, "onchain")?,
        })
    }

    fn mints(&self, root: &Record<'d>) -> Result<Vec<Mint>, Error> {
        let r = self;
        r.maps_in_list(root, "mints")?
            .iter()
            .map(|m| {
                Ok(Mint {
                    contributor: r.b256(m, "contributor")?,
                    kind: r.bounded_string(m, "kind", crate::ingest::mint::MAX_KIND_BYTES)?,
                    units: r.uint(m, "units")?,
                    amount: r.amount(m, "amount")?,
                    attester: r.b256(m, "attester")?,
                    signature: r.hex_array::<64>(m, "signature")?,
                })
            })
            .collect()
    }

    fn revaluations(&self, root: &Record<'d>) -> Result<Vec<Revaluation>, Error> {
        let r = self;
        r.maps_in_list(root, "revaluations")?
            .iter()
            .map(|m| {
                let loss = match r.string(m, "direction")?.as_ref() {
                    "gain" => false,
                    "loss" => true,
                    other => {
                        return Err(schema(
                            &m.field("direction"),
                            format!("expected \"gain\" or \"loss\", found {}", quoted(other)),
                        ));
                    }
                };
                Ok(Revaluation {
                    vault: r.string(m, "vault")?.into_owned(),
                    loss,
                    amount: r.amount(m, "amount")?,
                    reason: r.bounded_string(m, "reason", MAX_REASON_BYTES)?,
                })
            })
            .collect()
    }

    fn settlements(&self, root: &Record<'d>) -> Result<Vec<AppliedSettlement>, Error> {
        let r = self;
        r.maps_in_list(root, "settlements")?
            .iter()
            .map(|s| {
                let fills = r
                    .maps_in_list(s, "fills")?
                    .iter()
                    .map(|f| {
                        Ok(SettledFill {
                            maker: r.b256(f, "maker")?,
                            intent: r.b256(f, "intent")?,
                            sell_token: r.token(f, "sell_token")?,
                            sold: r.amount(f, "sold")?,
                            bought: r.amount(f, "bought")?,
                        })
                    })
                    .collect::<Result<_, Error>>()?;
                Ok(AppliedSettlement { epoch: r.uint(s, "epoch")?, fills })
            })
            .collect()
    }

    /// A string of at most `max` bytes.
    fn bounded_string(&self, rec: &Record<'d>, key: &str, max: usize) -> Result<String, Error> {
        let text = self.string(rec, key)?;
        if text.len() > max {
            return Err(schema(&rec.field(key), format!("{} bytes, at most {max} allowed", text.len())));
        }
        Ok(text.into_owned())
    }
}
