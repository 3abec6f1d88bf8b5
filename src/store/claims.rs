//! `claims`: the withdrawal claims of each epoch's state root, with their proofs.

use alloy::primitives::B256;
use sqlx::{AnyConnection, FromRow};

use super::columns::{Addr, Decimal, Hash, decoding};
use super::{Pool, Result};
use super::{bulk, counts};
use crate::ids::{ClaimId, Epoch};
use crate::settle::{Claim, EpochSettlement};

const T: &str = "claims";

/// A claim with its proof and, once the escrow paid it, the payment's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClaim {
    /// The claim.
    pub claim: Claim,
    /// Its Merkle proof against the epoch's root.
    pub proof: Vec<B256>,
    /// The escrow's `Withdrawn` transaction, if paid.
    pub paid_tx: Option<B256>,
}

/// Records every claim of an epoch with its proof, many rows per statement.
pub async fn insert_all(conn: &mut AnyConnection, settlement: &EpochSettlement) -> Result<()> {
    const COLUMNS: usize = 9;
    counts::hold(conn, counts::CLAIMS_UNPAID).await?;
    for chunk in settlement.claims.chunks(bulk::rows_per_statement(COLUMNS)) {
        let sql = format!(
            "INSERT INTO claims (claim_id, epoch, account, recipient, myco_amount, flow_penalty, prior_redeemed,
                                 leaf, proof)
             VALUES {}",
            bulk::values(chunk.len(), COLUMNS)
        );
        // Only placeholders are formatted into the statement; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for claim in chunk {
            let (leaf, proof) = settlement.leaf_and_proof(claim);
            let proof: Vec<u8> = proof.iter().flat_map(|h| h.0).collect();
            query = query
                .bind(ClaimId(claim.claim_id))
                .bind(Epoch(claim.epoch))
                .bind(claim.account.to_vec())
                .bind(claim.recipient.to_vec())
                .bind(claim.myco_amount.to_string())
                .bind(claim.flow_penalty.to_string())
                .bind(claim.prior_redeemed.to_string())
                .bind(leaf.to_vec())
                .bind(proof);
        }
        query.execute(&mut *conn).await?;
    }
    // A claim is unpaid unless the watcher already stored its payment (an auditor may read it first): one count
    // over the epoch's claims, through its index.
    let paid: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM claims c JOIN escrow_withdrawals w ON w.claim_id = c.claim_id WHERE c.epoch = $1",
    )
    .bind(Epoch(settlement.epoch))
    .fetch_one(&mut *conn)
    .await
    .map_err(decoding(T))?;
    counts::add(conn, counts::CLAIMS_UNPAID, settlement.claims.len() as i64 - paid).await?;
    Ok(())
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
                    c.prior_redeemed
             FROM claims c LEFT JOIN escrow_withdrawals w ON w.claim_id = c.claim_id ",
            $tail
        )
    };
}

/// The claim `claim_id`, if any epoch certified it.
pub async fn get(pool: &Pool, claim_id: ClaimId) -> Result<Option<StoredClaim>> {
    let row: Option<Row> = sqlx::query_as(select_claims!("WHERE c.claim_id = $1"))
        .bind(claim_id)
        .fetch_optional(pool)
        .await
        .map_err(decoding(T))?;
    row.map(StoredClaim::try_from).transpose()
}

/// The claims of epochs before `epoch` the escrow has not paid, by epoch then claim id: what committed epochs
/// still owe (paid claims are left out by the query, so this grows with what is outstanding, not with history).
pub async fn unpaid_before(pool: &Pool, epoch: Epoch) -> Result<Vec<StoredClaim>> {
    unpaid_between(pool, Epoch(0), epoch).await
}

/// Unpaid claims of epochs `from` (inclusive) to `to` (exclusive), by epoch then claim id.
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

/// Every claim, by epoch then claim id.
pub async fn all(pool: &Pool) -> Result<Vec<StoredClaim>> {
    let rows: Vec<Row> =
        sqlx::query_as(select_claims!("ORDER BY c.epoch, c.claim_id")).fetch_all(pool).await.map_err(decoding(T))?;
    rows.into_iter().map(StoredClaim::try_from).collect()
}
