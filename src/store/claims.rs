//! `claims`: the withdrawal claims of each epoch's state root, with their proofs.

use alloy::primitives::{Address, B256, U256};
use sqlx::{AnyConnection, Row};

use super::{Pool, Result, fixed, parse_u256};
use crate::settle::{Claim, EpochSettlement};

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

/// Records every claim of an epoch with its proof.
pub async fn insert_all(conn: &mut AnyConnection, settlement: &EpochSettlement) -> Result<()> {
    for claim in &settlement.claims {
        let proof: Vec<u8> = settlement.proof(claim).iter().flat_map(|h| h.0).collect();
        sqlx::query(
            "INSERT INTO claims (claim_id, epoch, account, recipient, myco_amount, flow_penalty, prior_redeemed,
                                 leaf, proof)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(claim.claim_id.to_string())
        .bind(claim.epoch as i64)
        .bind(claim.account.as_slice())
        .bind(claim.recipient.as_slice())
        .bind(claim.myco_amount.to_string())
        .bind(claim.flow_penalty.to_string())
        .bind(claim.prior_redeemed.to_string())
        .bind(claim.leaf().as_slice())
        .bind(proof)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The first of `claim_ids` already certified by an earlier epoch, with that epoch.
pub async fn first_certified(pool: &Pool, claim_ids: &[U256]) -> Result<Option<(U256, u64)>> {
    for id in claim_ids {
        let row = sqlx::query("SELECT epoch FROM claims WHERE claim_id = $1")
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?;
        if let Some(r) = row {
            return Ok(Some((*id, r.get::<i64, _>(0) as u64)));
        }
    }
    Ok(None)
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
pub async fn get(pool: &Pool, claim_id: U256) -> Result<Option<StoredClaim>> {
    let row =
        sqlx::query(select_claims!("WHERE c.claim_id = $1")).bind(claim_id.to_string()).fetch_optional(pool).await?;
    row.map(|r| decode(&r)).transpose()
}

/// Every claim, by epoch then claim id.
pub async fn all(pool: &Pool) -> Result<Vec<StoredClaim>> {
    let rows = sqlx::query(select_claims!("ORDER BY c.epoch, c.claim_id")).fetch_all(pool).await?;
    rows.iter().map(decode).collect()
}

fn decode(r: &sqlx::any::AnyRow) -> Result<StoredClaim> {
    const T: &str = "claims";
    let proof_bytes: &[u8] = r.get(6);
    if !proof_bytes.len().is_multiple_of(32) {
        return Err(super::Error::Corrupt {
            table: T,
            column: "proof".into(),
            reason: "not a multiple of 32 bytes".into(),
        });
    }
    let paid: Option<&[u8]> = r.get(7);
    Ok(StoredClaim {
        claim: Claim {
            claim_id: parse_u256(T, "claim_id", r.get(0))?,
            epoch: r.get::<i64, _>(1) as u64,
            account: B256::from(fixed::<32>(T, "account", r.get(2))?),
            recipient: Address::from(fixed::<20>(T, "recipient", r.get(3))?),
            myco_amount: parse_u256(T, "myco_amount", r.get(4))?,
            flow_penalty: parse_u256(T, "flow_penalty", r.get(5))?,
            prior_redeemed: parse_u256(T, "prior_redeemed", r.get(8))?,
        },
        proof: proof_bytes.chunks_exact(32).map(B256::from_slice).collect(),
        paid_tx: paid.map(|b| fixed::<32>("escrow_withdrawals", "tx_hash", b).map(B256::from)).transpose()?,
    })
}
