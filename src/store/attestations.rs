//! `attestations` (an attester's record of what it signed, one commitment per epoch) and
//! `attestation_disagreements` (the relayer's record of attesters that signed something else).

use alloy::primitives::Address;
use sqlx::FromRow;

use super::columns::{Addr, Decimal, Hash, Unsigned, decoding};
use super::{Pool, Result, now};
use crate::chain::RootCommit;
use crate::ids::Epoch;
use crate::settle::CommittedFigures;

/// A commitment this attester signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// What was signed.
    pub root: RootCommit,
    /// The attester's address.
    pub signer: Address,
    /// The 65-byte signature.
    pub signature: Vec<u8>,
}

/// A whole commitment's columns, as every table that keeps one names them (`flatten` them into a row).
#[derive(FromRow)]
pub(super) struct CommitmentColumns {
    epoch: Epoch,
    parent_root: Hash,
    state_root: Hash,
    batch_digest: Hash,
    total_supply: Decimal,
    total_reserve: Decimal,
    flow_pressure: Decimal,
    timestamp: Unsigned,
}

impl From<CommitmentColumns> for RootCommit {
    fn from(r: CommitmentColumns) -> Self {
        RootCommit {
            epoch: r.epoch,
            state_root: r.state_root.0,
            parent_root: r.parent_root.0,
            digest: r.batch_digest.0,
            timestamp: r.timestamp.0,
            figures: CommittedFigures {
                total_supply: r.total_supply.0,
                total_reserve: r.total_reserve.0,
                flow_pressure: r.flow_pressure.0,
            },
        }
    }
}

#[derive(FromRow)]
struct Row {
    #[sqlx(flatten)]
    root: CommitmentColumns,
    signer: Addr,
    signature: Vec<u8>,
}

impl From<Row> for Signed {
    fn from(r: Row) -> Self {
        Self { root: r.root.into(), signer: r.signer.0, signature: r.signature }
    }
}

/// What this attester signed for `epoch`, if anything.
pub async fn get(pool: &Pool, epoch: Epoch) -> Result<Option<Signed>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT epoch, parent_root, state_root, batch_digest, total_supply, total_reserve, flow_pressure, timestamp,
                signer, signature
         FROM attestations WHERE epoch = $1",
    )
    .bind(epoch)
    .fetch_optional(pool)
    .await
    .map_err(decoding("attestations"))?;
    Ok(row.map(Signed::from))
}

/// The highest epoch signed.
pub async fn latest(pool: &Pool) -> Result<Option<Epoch>> {
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(epoch) FROM attestations")
        .fetch_one(pool)
        .await
        .map_err(decoding("attestations"))?;
    Ok(max.map(|e| Epoch(e as u64)))
}

/// Records a signature. The epoch is the primary key: a second row for an epoch fails, so no code path can
/// record two signed commitments for one epoch.
pub async fn insert(pool: &Pool, s: &Signed) -> Result<()> {
    let r = &s.root;
    sqlx::query(
        "INSERT INTO attestations (epoch, commitment_hash, parent_root, state_root, batch_digest, total_supply,
                                   total_reserve, flow_pressure, timestamp, signer, signature, signed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(r.epoch)
    .bind(r.hash().as_slice())
    .bind(r.parent_root.as_slice())
    .bind(r.state_root.as_slice())
    .bind(r.digest.as_slice())
    .bind(r.figures.total_supply.to_string())
    .bind(r.figures.total_reserve.to_string())
    .bind(r.figures.flow_pressure.to_string())
    .bind(r.timestamp as i64)
    .bind(s.signer.as_slice())
    .bind(s.signature.as_slice())
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

/// An attester that signed something other than the relayer's own computation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// The epoch.
    pub epoch: Epoch,
    /// Where the attestation came from.
    pub endpoint: String,
    /// Who signed it, when the signature recovers to an address over its own commitment.
    pub signer: Option<Address>,
    /// What differs ("state root, total supply", or why it does not count).
    pub fields: String,
    /// Their attestation, as served (JSON).
    pub evidence: String,
}

/// Records a disagreement once (the same endpoint, epoch and fields again is not new); returns whether it is new.
pub async fn record_disagreement(pool: &Pool, d: &Disagreement) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO attestation_disagreements (epoch, endpoint, signer, fields, evidence, seen_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (epoch, endpoint, fields) DO NOTHING",
    )
    .bind(d.epoch)
    .bind(&d.endpoint)
    .bind(d.signer.map(|s| s.to_vec()))
    .bind(&d.fields)
    .bind(&d.evidence)
    .bind(now())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Every disagreement on record, oldest first.
pub async fn disagreements(pool: &Pool) -> Result<Vec<Disagreement>> {
    #[derive(FromRow)]
    struct DRow {
        epoch: Epoch,
        endpoint: String,
        signer: Option<Addr>,
        fields: String,
        evidence: String,
    }
    let rows: Vec<DRow> =
        sqlx::query_as("SELECT epoch, endpoint, signer, fields, evidence FROM attestation_disagreements ORDER BY id")
            .fetch_all(pool)
            .await
            .map_err(decoding("attestation_disagreements"))?;
    Ok(rows
        .into_iter()
        .map(|r| Disagreement {
            epoch: r.epoch,
            endpoint: r.endpoint,
            signer: r.signer.map(|s| s.0),
            fields: r.fields,
            evidence: r.evidence,
        })
        .collect())
}
