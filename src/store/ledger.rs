//! The conservation audit's records: each executed epoch's settlement fills, which batch applied them, the
//! mints audited batches carried, each audited epoch's terms, and violations (docs/settlement-math.md,
//! "Conservation between epochs").

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{B256, U256};
use sqlx::FromRow;

use super::columns::{Decimal, Hash, decoding};
use super::{Pool, Result, now};
use crate::ids::Epoch;
use crate::ingest::document::SettledFill;
use crate::ingest::intent::Token;
use crate::settle::conservation::{MintHistory, Settlement, Terms, Violation, ViolationKind};

/// A stored value that does not fit in a `BIGINT` (a `valid_until` of `u64::MAX`) is kept as the largest one.
fn bigint(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Records that `epoch`'s net orders executed, with its settlement fills, each with its intent's `valid_until`
/// (once: a second call for the same epoch, after a restart, finds them there).
pub async fn record_fills(pool: &Pool, epoch: Epoch, fills: &[(SettledFill, u64)]) -> Result<()> {
    let mut tx = super::begin(pool).await?;
    sqlx::query("INSERT INTO settled_epochs (epoch) VALUES ($1) ON CONFLICT (epoch) DO NOTHING")
        .bind(epoch)
        .execute(&mut *tx)
        .await?;
    for (f, valid_until) in fills {
        sqlx::query(
            "INSERT INTO settlement_fills (epoch, maker, intent_id, sell_token, sold, bought, valid_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (maker, intent_id) DO NOTHING",
        )
        .bind(epoch)
        .bind(f.maker.as_slice())
        .bind(f.intent.as_slice())
        .bind(f.sell_token.symbol())
        .bind(f.sold.to_string())
        .bind(f.bought.to_string())
        .bind(bigint(*valid_until))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[derive(FromRow)]
struct FillRow {
    epoch: Epoch,
    maker: Hash,
    intent_id: Hash,
    sell_token: String,
    sold: Decimal,
    bought: Decimal,
}

impl FillRow {
    fn fill(self) -> Result<(Epoch, SettledFill)> {
        let sell_token = Token::from_symbol(&self.sell_token).ok_or_else(|| super::Error::Corrupt {
            table: "settlement_fills",
            column: "sell_token".into(),
            reason: format!("unknown token {:?}", self.sell_token),
        })?;
        let fill = SettledFill {
            maker: self.maker.0,
            intent: self.intent_id.0,
            sell_token,
            sold: self.sold.0,
            bought: self.bought.0,
        };
        Ok((self.epoch, fill))
    }
}

/// Stored epochs before `before` whose execution is not recorded yet, in order.
pub async fn unsettled_before(pool: &Pool, before: Epoch) -> Result<Vec<Epoch>> {
    sqlx::query_scalar(
        "SELECT b.epoch FROM batches b LEFT JOIN settled_epochs s ON s.epoch = b.epoch
         WHERE s.epoch IS NULL AND b.epoch < $1 ORDER BY b.epoch",
    )
    .bind(before)
    .fetch_all(pool)
    .await
    .map_err(decoding("settled_epochs"))
}

/// Whether `epoch`'s execution is recorded.
pub async fn settled(pool: &Pool, epoch: Epoch) -> Result<bool> {
    has_epoch(pool, "settled_epochs", "SELECT 1 FROM settled_epochs WHERE epoch = $1", epoch).await
}

/// Whether the one-row-per-epoch `table` has a row for `epoch` (`sql` selects it).
async fn has_epoch(pool: &Pool, table: &'static str, sql: &'static str, epoch: Epoch) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(sql).bind(epoch).fetch_optional(pool).await.map_err(decoding(table))?;
    Ok(found.is_some())
}

/// Where each settlement stands for an audit: every executed epoch not applied yet that has fills (sorted), and
/// each of `named` (the epochs the batch applies) as applied, pending (an executed epoch without fills is
/// pending with none) or, absent, never executed.
pub async fn settlements(pool: &Pool, named: &[u64]) -> Result<BTreeMap<u64, Settlement>> {
    let rows: Vec<FillRow> = sqlx::query_as(
        "SELECT epoch, maker, intent_id, sell_token, sold, bought FROM settlement_fills
         WHERE epoch NOT IN (SELECT settled_epoch FROM settlement_applications)
         ORDER BY epoch, maker, intent_id",
    )
    .fetch_all(pool)
    .await
    .map_err(decoding("settlement_fills"))?;
    let mut out: BTreeMap<u64, Settlement> = BTreeMap::new();
    for row in rows {
        let (epoch, fill) = row.fill()?;
        match out.entry(epoch.0).or_insert_with(|| Settlement::Pending(Vec::new())) {
            Settlement::Pending(fills) => fills.push(fill),
            Settlement::Applied(_) => unreachable!("only pending epochs are read"),
        }
    }
    for &epoch in named {
        if settled(pool, Epoch(epoch)).await? {
            out.entry(epoch).or_insert_with(|| Settlement::Pending(Vec::new()));
        }
        let applied: Option<Epoch> =
            sqlx::query_scalar("SELECT applied_in FROM settlement_applications WHERE settled_epoch = $1")
                .bind(Epoch(epoch))
                .fetch_optional(pool)
                .await
                .map_err(decoding("settlement_applications"))?;
        if let Some(applied_in) = applied {
            out.insert(epoch, Settlement::Applied(applied_in.0));
        }
    }
    Ok(out)
}

/// Pairs per query in [`closed_among`]: two parameters each, well under SQLite's limit of 32,766.
const CLOSED_CHUNK: usize = 500;

/// Which of `intents` (maker, intent id) traded in an earlier epoch and are still valid at `now` (an expired
/// intent cannot trade, so listing it again is harmless), with that epoch. Asked in chunks of the batch's own
/// intents, so the memory it takes is bounded by the batch, not by the history of trades.
pub async fn closed_among(pool: &Pool, intents: &[(B256, B256)], now: u64) -> Result<BTreeMap<(B256, B256), u64>> {
    let mut out = BTreeMap::new();
    for chunk in intents.chunks(CLOSED_CHUNK) {
        let pairs: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, ${})", 2 * i + 2, 2 * i + 3)).collect();
        let sql = format!(
            "SELECT epoch, maker, intent_id FROM settlement_fills WHERE valid_until >= $1 AND (maker, intent_id) IN ({})",
            pairs.join(", ")
        );
        let mut query = sqlx::query_as::<_, (Epoch, Hash, Hash)>(sqlx::AssertSqlSafe(sql)).bind(bigint(now));
        for (maker, intent) in chunk {
            query = query.bind(maker.as_slice()).bind(intent.as_slice());
        }
        let rows = query.fetch_all(pool).await.map_err(decoding("settlement_fills"))?;
        out.extend(rows.into_iter().map(|(e, m, i)| ((m.0, i.0), e.0)));
    }
    Ok(out)
}

/// Each of `contributors`' mints before `epoch`: the last one's epoch, and the sum within the `window` epochs
/// ending at `epoch` (the earlier `window − 1`).
pub async fn mint_history(
    pool: &Pool,
    contributors: &BTreeSet<B256>,
    epoch: u64,
    window: u64,
) -> Result<BTreeMap<B256, MintHistory>> {
    let mut out = BTreeMap::new();
    let since = epoch.saturating_sub(window.saturating_sub(1));
    for contributor in contributors {
        let rows: Vec<(Epoch, Decimal)> =
            sqlx::query_as("SELECT epoch, amount FROM mints WHERE contributor = $1 AND epoch < $2 ORDER BY epoch")
                .bind(contributor.as_slice())
                .bind(Epoch(epoch))
                .fetch_all(pool)
                .await
                .map_err(decoding("mints"))?;
        let minted_in_window = rows.iter().filter(|(e, _)| e.0 >= since).map(|(_, a)| a.0).sum();
        out.insert(*contributor, MintHistory { last_epoch: rows.last().map(|(e, _)| e.0), minted_in_window });
    }
    Ok(out)
}

/// What an audit that passed records, in one transaction: its terms, the settlements the batch applied, and its
/// mints. Recording the same epoch again (a restart between the audit and the commit) changes nothing.
pub async fn record_audit(pool: &Pool, terms: &Terms, mints: &[(B256, U256)]) -> Result<()> {
    let epoch = Epoch(terms.epoch);
    let mut tx = super::begin(pool).await?;
    let inserted = sqlx::query(
        "INSERT INTO conservation_audits (epoch, terms, audited_at) VALUES ($1, $2, $3)
         ON CONFLICT (epoch) DO NOTHING",
    )
    .bind(epoch)
    .bind(terms.to_json().to_string())
    .bind(now())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        for settled in &terms.applied {
            sqlx::query("INSERT INTO settlement_applications (settled_epoch, applied_in) VALUES ($1, $2)")
                .bind(Epoch(*settled))
                .bind(epoch)
                .execute(&mut *tx)
                .await?;
        }
        for (position, (contributor, amount)) in mints.iter().enumerate() {
            sqlx::query("INSERT INTO mints (epoch, position, contributor, amount) VALUES ($1, $2, $3, $4)")
                .bind(epoch)
                .bind(position as i64)
                .bind(contributor.as_slice())
                .bind(amount.to_string())
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Whether `epoch` passed its audit already.
pub async fn audited(pool: &Pool, epoch: Epoch) -> Result<bool> {
    has_epoch(pool, "conservation_audits", "SELECT 1 FROM conservation_audits WHERE epoch = $1", epoch).await
}

/// Each audited epoch's terms (JSON), in epoch order.
pub async fn audits(pool: &Pool) -> Result<Vec<(Epoch, serde_json::Value)>> {
    let rows: Vec<(Epoch, String)> = sqlx::query_as("SELECT epoch, terms FROM conservation_audits ORDER BY epoch")
        .fetch_all(pool)
        .await
        .map_err(decoding("conservation_audits"))?;
    rows.into_iter().map(|(e, t)| Ok((e, parse_terms(&t)?))).collect()
}

/// One page of the audited epochs' terms, newest first.
pub async fn audits_page(pool: &Pool, page: super::views::Page) -> Result<Vec<(Epoch, serde_json::Value)>> {
    let rows: Vec<(Epoch, String)> =
        sqlx::query_as("SELECT epoch, terms FROM conservation_audits ORDER BY epoch DESC LIMIT $1 OFFSET $2")
            .bind(page.limit as i64)
            .bind(page.offset as i64)
            .fetch_all(pool)
            .await
            .map_err(decoding("conservation_audits"))?;
    rows.into_iter().map(|(e, t)| Ok((e, parse_terms(&t)?))).collect()
}

fn parse_terms(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|err| super::Error::Corrupt {
        table: "conservation_audits",
        column: "terms".into(),
        reason: err.to_string(),
    })
}

/// Records a violation with the batch's digest (once per epoch).
pub async fn record_violation(pool: &Pool, v: &Violation, digest: B256) -> Result<()> {
    sqlx::query(
        "INSERT INTO conservation_violations (epoch, kind, detail, digest, recorded_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (epoch) DO NOTHING",
    )
    .bind(Epoch(v.epoch))
    .bind(v.kind.code())
    .bind(&v.detail)
    .bind(digest.as_slice())
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

/// The violations on record, in epoch order.
pub async fn violations(pool: &Pool) -> Result<Vec<Violation>> {
    let rows: Vec<(Epoch, String, String)> =
        sqlx::query_as("SELECT epoch, kind, detail FROM conservation_violations ORDER BY epoch")
            .fetch_all(pool)
            .await
            .map_err(decoding("conservation_violations"))?;
    rows.into_iter()
        .map(|(epoch, kind, detail)| {
            let kind = ViolationKind::parse(&kind).ok_or_else(|| super::Error::Corrupt {
                table: "conservation_violations",
                column: "kind".into(),
                reason: format!("unknown rule {kind:?}"),
            })?;
            Ok(Violation { epoch: epoch.0, kind, detail })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(n: u32) -> SettledFill {
        let id = B256::from(U256::from(n));
        SettledFill {
            maker: B256::repeat_byte(1),
            intent: id,
            sell_token: Token::Myco,
            sold: U256::from(1),
            bought: U256::from(1),
        }
    }

    /// Traded intents are found among a batch's however many it lists (several chunks), by maker and id, and only
    /// while they are valid.
    #[tokio::test]
    async fn closed_intents_are_found_in_chunks_and_only_while_valid() {
        let pool = crate::store::connect("sqlite::memory:").await.unwrap();
        let traded: Vec<(SettledFill, u64)> =
            (0..1_200).map(|n| (fill(n), if n % 2 == 0 { 100 } else { 50 })).collect();
        record_fills(&pool, Epoch(3), &traded).await.unwrap();
        let mut listed: Vec<(B256, B256)> = (0..1_300).map(|n| (B256::repeat_byte(1), fill(n).intent)).collect();
        listed.push((B256::repeat_byte(2), fill(0).intent)); // another maker, same id
        let closed = closed_among(&pool, &listed, 60).await.unwrap();
        assert_eq!(closed.len(), 600, "the 600 valid until 100; those valid until 50 have expired");
        assert!(closed.keys().all(|(m, _)| *m == B256::repeat_byte(1)));
        assert!(closed.values().all(|e| *e == 3));
        assert!(settled(&pool, Epoch(3)).await.unwrap());
        assert_eq!(closed_among(&pool, &[], 0).await.unwrap().len(), 0);
    }
}
