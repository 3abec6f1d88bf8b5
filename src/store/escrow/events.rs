//! Reading the stored escrow events back: all of them, or only those a reconciliation pass needs (`Among`).

use alloy::primitives::U256;
use sqlx::FromRow;

use super::super::bulk;
use super::super::columns::{Addr, Decimal, Hash, Unsigned, decoding};
use super::super::{Pool, Result};
use super::{Deposit, EventOrigin, Withdrawal};

/// Where an event was emitted, as stored.
#[derive(FromRow)]
struct Origin {
    block_number: Unsigned,
    block_hash: Hash,
    tx_hash: Hash,
    log_index: Unsigned,
}

impl From<Origin> for EventOrigin {
    fn from(o: Origin) -> Self {
        Self {
            block_number: o.block_number.0,
            block_hash: o.block_hash.0,
            tx_hash: o.tx_hash.0,
            log_index: o.log_index.0,
        }
    }
}

/// Which stored events to read.
#[derive(Debug, Clone, Copy)]
pub enum Among<'a> {
    /// Every one.
    All,
    /// Deposits with an id above this.
    DepositsAfter(u64),
    /// Deposits with these ids.
    Deposits(&'a [u64]),
    /// Withdrawals in blocks from the first up to (not including) the second.
    Blocks(u64, u64),
    /// Withdrawals of these claims.
    Claims(&'a [U256]),
}

/// A parameter of a filter: ids and blocks are integers, claim ids decimal text.
enum Bind {
    Int(i64),
    Text(String),
}

impl Among<'_> {
    /// The statements' filters and their parameters, a bounded number of ids each. Only placeholders and column
    /// names are formatted into them.
    fn filters(self) -> Vec<(String, Vec<Bind>)> {
        let int = |n: u64| Bind::Int(i64::try_from(n).unwrap_or(i64::MAX));
        let listed =
            |column: &str, binds: Vec<Bind>| (format!("WHERE {column} IN ({})", bulk::list(binds.len())), binds);
        let per = bulk::rows_per_statement(1);
        match self {
            Among::All => vec![(String::new(), Vec::new())],
            Among::DepositsAfter(id) => vec![("WHERE deposit_id > $1".into(), vec![int(id)])],
            Among::Blocks(from, to) => {
                vec![("WHERE block_number >= $1 AND block_number < $2".into(), vec![int(from), int(to)])]
            }
            Among::Deposits(ids) => {
                ids.chunks(per).map(|c| listed("deposit_id", c.iter().map(|id| int(*id)).collect())).collect()
            }
            Among::Claims(ids) => ids
                .chunks(per)
                .map(|c| listed("claim_id", c.iter().map(|id| Bind::Text(id.to_string())).collect()))
                .collect(),
        }
    }
}

/// Binds `binds` to `query` in order.
fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    binds: Vec<Bind>,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
    for b in binds {
        query = match b {
            Bind::Int(n) => query.bind(n),
            Bind::Text(t) => query.bind(t),
        };
    }
    query
}

/// Every stored deposit, by id.
pub async fn deposits(pool: &Pool) -> Result<Vec<Deposit>> {
    Ok(deposits_among(pool, Among::All).await?.into_iter().map(|(d, _)| d).collect())
}

/// Stored deposits `among`, by id, each with the latest accepted epoch when the watcher stored it.
pub async fn deposits_among(pool: &Pool, among: Among<'_>) -> Result<Vec<(Deposit, u64)>> {
    #[derive(FromRow)]
    struct Row {
        deposit_id: Unsigned,
        depositor: Addr,
        recipient: Hash,
        amount: Decimal,
        seen_epoch: Unsigned,
        #[sqlx(flatten)]
        origin: Origin,
    }
    let mut deposits = Vec::new();
    for (filter, binds) in among.filters() {
        let sql = format!(
            "SELECT deposit_id, depositor, recipient, amount, seen_epoch, block_number, block_hash, tx_hash, log_index
             FROM escrow_deposits {filter} ORDER BY deposit_id"
        );
        let query = bind_all(sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)), binds);
        let rows = query.fetch_all(pool).await.map_err(decoding("escrow_deposits"))?;
        deposits.extend(rows.into_iter().map(|r| {
            let deposit = Deposit {
                deposit_id: r.deposit_id.0,
                depositor: r.depositor.0,
                recipient: r.recipient.0,
                amount: r.amount.0,
                origin: r.origin.into(),
            };
            (deposit, r.seen_epoch.0)
        }));
    }
    deposits.sort_by_key(|(d, _)| d.deposit_id);
    Ok(deposits)
}

/// The highest deposit id stored (0 when none): the chain has every deposit up to it.
pub async fn highest_deposit(pool: &Pool) -> Result<u64> {
    let n: Unsigned = sqlx::query_scalar("SELECT COALESCE(MAX(deposit_id), 0) FROM escrow_deposits")
        .fetch_one(pool)
        .await
        .map_err(decoding("escrow_deposits"))?;
    Ok(n.0)
}

/// Every stored withdrawal, by block.
pub async fn withdrawals(pool: &Pool) -> Result<Vec<Withdrawal>> {
    withdrawals_among(pool, Among::All).await
}

/// Stored withdrawals `among`, by block.
pub async fn withdrawals_among(pool: &Pool, among: Among<'_>) -> Result<Vec<Withdrawal>> {
    #[derive(FromRow)]
    struct Row {
        claim_id: Decimal,
        recipient: Addr,
        account: Hash,
        epoch: Unsigned,
        myco_amount: Decimal,
        usdc_amount: Decimal,
        flow_penalty: Option<Decimal>,
        prior_redeemed: Option<Decimal>,
        #[sqlx(flatten)]
        origin: Origin,
    }
    let mut withdrawals = Vec::new();
    for (filter, binds) in among.filters() {
        let sql = format!(
            "SELECT claim_id, recipient, account, epoch, myco_amount, usdc_amount, flow_penalty, prior_redeemed,
                    block_number, block_hash, tx_hash, log_index
             FROM escrow_withdrawals {filter} ORDER BY block_number, log_index"
        );
        let query = bind_all(sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)), binds);
        let rows = query.fetch_all(pool).await.map_err(decoding("escrow_withdrawals"))?;
        withdrawals.extend(rows.into_iter().map(|r| Withdrawal {
            claim_id: r.claim_id.0,
            recipient: r.recipient.0,
            account: r.account.0,
            epoch: r.epoch.0,
            myco_amount: r.myco_amount.0,
            flow_penalty: r.flow_penalty.map(|p| p.0),
            prior_redeemed: r.prior_redeemed.map(|p| p.0),
            usdc_amount: r.usdc_amount.0,
            origin: r.origin.into(),
        }));
    }
    withdrawals.sort_by_key(|w| (w.origin.block_number, w.origin.log_index));
    Ok(withdrawals)
}
