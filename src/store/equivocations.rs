//! `equivocations`: evidence that the validators certified two histories: two conflicting certified batches for
//! one epoch, or a certified batch whose parent forks the accepted chain. While any is stored the relayer refuses
//! to run: a validator set that signs two histories must be looked at by a person.

use alloy::primitives::B256;
use sqlx::FromRow;

use super::columns::{Hash, Unsigned, decoding};
use super::{Pool, Result, now};

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

/// What the two sides show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Two certified batches for the epoch.
    TwoBatches,
    /// The accepted batch of the epoch, and a certified batch of the next epoch whose parent is another batch of
    /// it: the validators certified a sibling of the accepted batch somewhere.
    Fork,
}

impl Shape {
    /// Its name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::TwoBatches => "two_batches",
            Shape::Fork => "fork",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "fork" { Shape::Fork } else { Shape::TwoBatches }
    }
}

/// Stored evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The epoch with two certified histories.
    pub epoch: u64,
    /// Which kind of evidence the sides are.
    pub shape: Shape,
    /// The batch seen (or accepted) first.
    pub first: Side,
    /// The conflicting one.
    pub second: Side,
}

/// Keeps both batches as evidence, once: the same pair of digests for the epoch (either way round) is not kept
/// twice. Returns whether it was new.
pub async fn insert(pool: &Pool, e: &Evidence) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO equivocations (epoch, first_digest, first_raw, first_origin, second_digest, second_raw,
                                    second_origin, detected_at, kind)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
         WHERE NOT EXISTS (SELECT 1 FROM equivocations WHERE epoch = $1
                           AND ((first_digest = $2 AND second_digest = $5) OR (first_digest = $5 AND second_digest = $2)))",
    )
    .bind(e.epoch as i64)
    .bind(e.first.digest.as_slice())
    .bind(&e.first.raw)
    .bind(&e.first.origin)
    .bind(e.second.digest.as_slice())
    .bind(&e.second.raw)
    .bind(&e.second.origin)
    .bind(now())
    .bind(e.shape.as_str())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}

/// Every stored equivocation, oldest first.
pub async fn all(pool: &Pool) -> Result<Vec<Evidence>> {
    #[derive(FromRow)]
    struct Row {
        epoch: Unsigned,
        first_digest: Hash,
        first_raw: Vec<u8>,
        first_origin: String,
        second_digest: Hash,
        second_raw: Vec<u8>,
        second_origin: String,
        kind: String,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT epoch, first_digest, first_raw, first_origin, second_digest, second_raw, second_origin, kind
         FROM equivocations ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .map_err(decoding("equivocations"))?;
    Ok(rows
        .into_iter()
        .map(|r| Evidence {
            epoch: r.epoch.0,
            shape: Shape::parse(&r.kind),
            first: Side { digest: r.first_digest.0, raw: r.first_raw, origin: r.first_origin },
            second: Side { digest: r.second_digest.0, raw: r.second_raw, origin: r.second_origin },
        })
        .collect())
}

/// How many equivocations are on record (without loading their evidence).
pub async fn count(pool: &Pool) -> Result<u64> {
    let n: Unsigned = sqlx::query_scalar("SELECT COUNT(*) FROM equivocations")
        .fetch_one(pool)
        .await
        .map_err(decoding("equivocations"))?;
    Ok(n.0)
}
