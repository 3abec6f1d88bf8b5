//! `equivocations`: evidence of two conflicting certified batches for one epoch. While any is stored the relayer
//! refuses to run: a validator set that signs two histories must be looked at by a person.

use alloy::primitives::B256;
use sqlx::Row;

use super::{Pool, Result, fixed, now};

/// One side of an equivocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// The batch's digest.
    pub digest: B256,
    /// Its bytes as received.
    pub raw: Vec<u8>,
    /// Where it came from.
    pub origin: String,
}

/// Stored evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The epoch.
    pub epoch: u64,
    /// The batch seen (or accepted) first.
    pub first: Side,
    /// The conflicting one.
    pub second: Side,
}

/// Keeps both batches as evidence.
pub async fn insert(pool: &Pool, e: &Evidence) -> Result<()> {
    sqlx::query(
        "INSERT INTO equivocations (epoch, first_digest, first_raw, first_origin, second_digest, second_raw,
                                    second_origin, detected_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.epoch as i64)
    .bind(e.first.digest.as_slice())
    .bind(&e.first.raw)
    .bind(&e.first.origin)
    .bind(e.second.digest.as_slice())
    .bind(&e.second.raw)
    .bind(&e.second.origin)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

/// Every stored equivocation.
pub async fn all(pool: &Pool) -> Result<Vec<Evidence>> {
    const T: &str = "equivocations";
    let rows = sqlx::query(
        "SELECT epoch, first_digest, first_raw, first_origin, second_digest, second_raw, second_origin
         FROM equivocations ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Evidence {
                epoch: r.get::<i64, _>(0) as u64,
                first: Side {
                    digest: B256::from(fixed::<32>(T, "first_digest", r.get(1))?),
                    raw: r.get(2),
                    origin: r.get(3),
                },
                second: Side {
                    digest: B256::from(fixed::<32>(T, "second_digest", r.get(4))?),
                    raw: r.get(5),
                    origin: r.get(6),
                },
            })
        })
        .collect()
}

/// How many equivocations are on record (without loading their evidence).
pub async fn count(pool: &Pool) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM equivocations").fetch_one(pool).await?;
    Ok(n as u64)
}
