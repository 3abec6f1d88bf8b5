//! `claims`: the withdrawal claims of each epoch's state root, each with its place in the epoch's tree
//! (`store::claim_trees`, where its proof is read) and what the escrow pays for it.

use std::collections::HashSet;

use alloy::primitives::{B256, U256};
use sqlx::{AnyConnection, FromRow};

use super::columns::{Addr, Decimal, Hash, decoding};
use super::{Pool, Result};
use super::{bulk, claim_trees, counts, owed};
use crate::ids::{ClaimId, Epoch};
use crate::settle::{Claim, EpochSettlement};

const T: &str = "claims";

/// A claim with its proof and, once the escrow paid it, the payment's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClaim {
    /// The claim.
    pub claim: Claim,
    /// Its Merkle proof against the epoch's root, read from the epoch's stored tree by [`get`] and [`all`]; the
    /// bulk reads ([`among`], [`unpaid_between`], [`unpriced_unpaid_before`]) leave it empty, except for claims
    /// stored before trees were (their proof is in their row).
    pub proof: Vec<B256>,
    /// The escrow's `Withdrawn` transaction, if paid.
    pub paid_tx: Option<B256>,
}

/// Records every claim of an epoch with its place in the epoch's tree (stored once) and, when the epoch could be
/// priced, what the escrow pays for it (`payouts`, one per claim in order), many rows per statement; what the
/// unpaid ones owe is kept (`store::owed`).
pub async fn insert_all(
    conn: &mut AnyConnection,
    settlement: &EpochSettlement,
    payouts: Option<&[U256]>,
) -> Result<()> {
    const COLUMNS: usize = 11;
    counts::hold(conn, counts::CLAIMS_UNPAID).await?;
    let payout = |i: usize| payouts.and_then(|p| p.get(i)).copied();
    let per_statement = bulk::rows_per_statement(COLUMNS);
    for (n, chunk) in settlement.claims.chunks(per_statement).enumerate() {
        let sql = format!(
            "INSERT INTO claims (claim_id, epoch, account, recipient, myco_amount, flow_penalty, prior_redeemed,
                                 leaf, proof, tree_index, usdc_payout)
             VALUES {}",
            bulk::values(chunk.len(), COLUMNS)
        );
        // Only placeholders are formatted into the statement; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (i, claim) in chunk.iter().enumerate() {
            let at = n * per_statement + i;
            let (leaf, tree_index) = settlement.leaf_and_index(at);
            query = query
                .bind(ClaimId(claim.claim_id))
                .bind(Epoch(claim.epoch))
                .bind(claim.account.to_vec())
                .bind(claim.recipient.to_vec())
                .bind(claim.myco_amount.to_string())
                .bind(claim.flow_penalty.to_string())
                .bind(claim.prior_redeemed.to_string())
                .bind(leaf.to_vec())
                // The proof is read from the epoch's tree (`claim_trees`), stored once below.
                .bind(Vec::<u8>::new())
                .bind(tree_index as i64)
                .bind(payout(at).map(|p| p.to_string()));
        }
        query.execute(&mut *conn).await?;
    }
    claim_trees::insert(conn, settlement).await?;
    // A claim is unpaid unless the watcher already stored its payment (an auditor may read it first): one query
    // over the epoch's claims, through its index.
    let paid: Vec<ClaimId> = sqlx::query_scalar(
        "SELECT c.claim_id FROM claims c JOIN escrow_withdrawals w ON w.claim_id = c.claim_id WHERE c.epoch = $1",
    )
    .bind(Epoch(settlement.epoch))
    .fetch_all(&mut *conn)
    .await
    .map_err(decoding(T))?;
    counts::add(conn, counts::CLAIMS_UNPAID, settlement.claims.len() as i64 - paid.len() as i64).await?;
    let paid: HashSet<U256> = paid.into_iter().map(|c| c.0).collect();
    let owed = settlement
        .claims
        .iter()
        .enumerate()
        .filter(|(_, c)| !paid.contains(&c.claim_id))
        .filter_map(|(i, _)| payout(i))
        .fold(U256::ZERO, U256::saturating_add);
    owed::apply(conn, &[(settlement.epoch, owed)].into(), owed::Change::Owe).await
}

/// Of `ids`, the stored claims' epochs and payouts (`None`: not priced when stored), in the caller's transaction:
/// what a payment stored or rewound changes in what is owed.
pub(super) async fn payouts_among(conn: &mut AnyConnection, ids: &[ClaimId]) -> Result<Vec<(Epoch, Option<U256>)>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(bulk::rows_per_statement(1)) {
        let sql = format!("SELECT epoch, usdc_payout FROM claims WHERE claim_id IN ({})", bulk::list(chunk.len()));
        // Only placeholders are formatted into the statement; every id is bound.
        let rows: Vec<(Epoch, Option<Decimal>)> = chunk
            .iter()
            .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |q, id| q.bind(*id))
            .fetch_all(&mut *conn)
            .await
            .map_err(decoding(T))?;
        found.extend(rows.into_iter().map(|(epoch, payout)| (epoch, payout.map(|p| p.0))));
    }
    Ok(found)
}

/// What the priced claims among `ids` of epochs before `epoch` that have no stored payment pay: claims paid on
/// chain in blocks the watcher has not read yet, whose payments the kept figure still counts as owed.
pub async fn owed_among(pool: &Pool, ids: &[ClaimId], epoch: Epoch) -> Result<U256> {
    let mut owed = U256::ZERO;
    for chunk in ids.chunks(bulk::rows_per_statement(1)) {
        let sql = format!(
            "SELECT c.usdc_payout FROM claims c LEFT JOIN escrow_withdrawals w ON w.claim_id = c.claim_id
             WHERE w.claim_id IS NULL AND c.usdc_payout IS NOT NULL AND c.epoch < $1 AND c.claim_id IN ({})",
            bulk::list_from(2, chunk.len())
        );
        // Only placeholders are formatted into the statement; every value is bound.
        let payouts: Vec<Decimal> = chunk
            .iter()
            .fold(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(epoch), |q, id| q.bind(*id))
            .fetch_all(pool)
            .await
            .map_err(decoding(T))?;
        owed = payouts.into_iter().fold(owed, |sum, p| sum.saturating_add(p.0));
    }
    Ok(owed)
}

/// The first of `ids` (in their order) already certified by an earlier epoch, with that epoch; a few
/// statements for any number of ids.
pub async fn first_certified(pool: &Pool, ids: &[ClaimId]) -> Result<Option<(ClaimId, Epoch)>> {
    bulk::first_present(pool, "claims", "claim_id", ids).await
}

/// A claim row with its payment, as stored.
#[derive(FromRow)]
struct Row {
    claim_id: ClaimId,
    epoch: Epoch,
    account: Hash,
    recipient: Addr,
    myco_amount: Decimal,
    flow_penalty: Decimal,
    proof: Vec<u8>,
    tx_hash: Option<Hash>,
    prior_redeemed: Decimal,
    tree_index: Option<i64>,
}

impl TryFrom<Row> for StoredClaim {
    type Error = super::Error;

    fn try_from(r: Row) -> Result<Self> {
        if !r.proof.len().is_multiple_of(32) {
            return Err(super::Error::Corrupt {
                table: T,
                column: "proof".into(),
                reason: "not a multiple of 32 bytes".into(),
            });
        }
        Ok(StoredClaim {
            claim: Claim {
                claim_id: r.claim_id.0,
                epoch: r.epoch.0,
                account: r.account.0,
                recipient: r.recipient.0,
                myco_amount: r.myco_amount.0,
                flow_penalty: r.flow_penalty.0,
                prior_redeemed: r.prior_redeemed.0,
            },
            proof: r.proof.chunks_exact(32).map(B256::from_slice).collect(),
            paid_tx: r.tx_hash.map(|h| h.0),
        })
    }
}

/// The claim columns and their payment, followed by a query's own tail.
macro_rules! select_claims {
    ($tail:literal) => {
        concat!(
            "SELECT c.claim_id, c.epoch, c.account, c.recipient, c.myco_amount, c.flow_penalty, c.proof, w.tx_hash,
                    c.prior_redeemed, c.tree_index
             FROM claims c LEFT JOIN escrow_withdrawals w ON w.claim_id = c.claim_id ",
            $tail
        )
    };
}

/// The claim `claim_id` with its proof, if any epoch certified it.
pub async fn get(pool: &Pool, claim_id: ClaimId) -> Result<Option<StoredClaim>> {
    let row: Option<Row> = sqlx::query_as(select_claims!("WHERE c.claim_id = $1"))
        .bind(claim_id)
        .fetch_optional(pool)
        .await
        .map_err(decoding(T))?;
    match row {
        Some(row) => Ok(Some(with_proof(pool, row).await?)),
        None => Ok(None),
    }
}

/// The stored claim of `row` with its proof: from its epoch's tree, or (stored before trees were) its row.
async fn with_proof(pool: &Pool, row: Row) -> Result<StoredClaim> {
    let at = row.tree_index;
    let mut stored = StoredClaim::try_from(row)?;
    if let Some(index) = at {
        stored.proof = claim_trees::proof(pool, Epoch(stored.claim.epoch), index).await?;
    }
    Ok(stored)
}

/// The claims of epochs `from` (inclusive) to `to` (exclusive) the escrow has not paid, by epoch then claim id
/// (paid claims are left out by the query, so this grows with what is outstanding, not with history).
pub async fn unpaid_between(pool: &Pool, from: Epoch, to: Epoch) -> Result<Vec<StoredClaim>> {
    let rows: Vec<Row> = sqlx::query_as(select_claims!(
        "WHERE w.tx_hash IS NULL AND c.epoch >= $1 AND c.epoch < $2 ORDER BY c.epoch, c.claim_id"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(decoding(T))?;
    rows.into_iter().map(StoredClaim::try_from).collect()
}

/// The unpaid claims of epochs before `epoch` stored without their payout (before payouts were stored): the ones
/// the kept figure of `store::owed` does not count. Through a partial index, so a store with none reads nothing.
pub async fn unpriced_unpaid_before(pool: &Pool, epoch: Epoch) -> Result<Vec<StoredClaim>> {
    let rows: Vec<Row> = sqlx::query_as(select_claims!(
        "WHERE w.tx_hash IS NULL AND c.usdc_payout IS NULL AND c.epoch < $1 ORDER BY c.epoch, c.claim_id"
    ))
    .bind(epoch)
    .fetch_all(pool)
    .await
    .map_err(decoding(T))?;
    rows.into_iter().map(StoredClaim::try_from).collect()
}

/// The stored claims among `ids`, by epoch then claim id: a few statements for any number of ids.
pub async fn among(pool: &Pool, ids: &[ClaimId]) -> Result<Vec<StoredClaim>> {
    let mut claims = Vec::new();
    for chunk in ids.chunks(bulk::rows_per_statement(1)) {
        let sql = format!(select_claims!("WHERE c.claim_id IN ({})"), bulk::list(chunk.len()));
        // Only placeholders are formatted into the statement; every id is bound.
        let rows: Vec<Row> = chunk
            .iter()
            .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |q, id| q.bind(*id))
            .fetch_all(pool)
            .await
            .map_err(decoding(T))?;
        for row in rows {
            claims.push(StoredClaim::try_from(row)?);
        }
    }
    claims.sort_by_key(|c| (c.claim.epoch, c.claim.claim_id));
    Ok(claims)
}

/// Every claim with its proof, by epoch then claim id (one more statement per claim for its proof: for the demo and
/// tests, not a large store).
pub async fn all(pool: &Pool) -> Result<Vec<StoredClaim>> {
    let rows: Vec<Row> =
        sqlx::query_as(select_claims!("ORDER BY c.epoch, c.claim_id")).fetch_all(pool).await.map_err(decoding(T))?;
    let mut claims = Vec::with_capacity(rows.len());
    for row in rows {
        claims.push(with_proof(pool, row).await?);
    }
    Ok(claims)
}
