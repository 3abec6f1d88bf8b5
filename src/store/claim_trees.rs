//! `claim_trees`: each epoch's Merkle tree over its claims, stored once as its 2n − 1 nodes (root first, 32 bytes
//! each, laid out as OpenZeppelin's StandardMerkleTree), from which a claim's proof is read by its place when asked
//! for. A proof per claim was 17 hashes (54 MB at 100,000 claims); the tree is 6.4 MB.

use alloy::primitives::B256;
use sqlx::AnyConnection;

use super::columns::decoding;
use super::{Error, Pool, Result};
use crate::ids::Epoch;
use crate::settle::EpochSettlement;
use crate::settle::merkle::sibling_indices;

const T: &str = "claim_trees";

/// Stores `settlement`'s tree (nothing for an epoch without claims), in the caller's transaction.
pub(super) async fn insert(conn: &mut AnyConnection, settlement: &EpochSettlement) -> Result<()> {
    if settlement.claims.is_empty() {
        return Ok(());
    }
    let nodes: Vec<u8> = settlement.tree.nodes().iter().flat_map(|h| h.0).collect();
    sqlx::query("INSERT INTO claim_trees (epoch, nodes) VALUES ($1, $2)")
        .bind(Epoch(settlement.epoch))
        .bind(nodes)
        .execute(conn)
        .await?;
    Ok(())
}

/// The proof of node `index` of `epoch`'s stored tree: its sibling nodes up to the root, read out of the tree in
/// one statement (a few hundred bytes, however large the tree).
pub(super) async fn proof(pool: &Pool, epoch: Epoch, index: i64) -> Result<Vec<B256>> {
    let corrupt = |reason: String| Error::Corrupt { table: T, column: "nodes".into(), reason };
    let index = usize::try_from(index).map_err(|_| corrupt(format!("tree index {index} below zero")))?;
    let siblings = sibling_indices(index);
    if siblings.is_empty() {
        return Ok(Vec::new()); // the only leaf is the root
    }
    // SQLite and PostgreSQL both take `substr` of a blob, counting from 1.
    let columns: Vec<String> =
        (0..siblings.len()).map(|i| format!("substr(nodes, CAST(${} AS INTEGER), 32)", i + 2)).collect();
    let sql = format!("SELECT {} FROM claim_trees WHERE epoch = $1", columns.join(", "));
    // Only placeholders are formatted into the statement; every offset is bound.
    let row = siblings
        .iter()
        .fold(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(epoch), |q, node| q.bind((node * 32 + 1) as i64))
        .fetch_optional(pool)
        .await
        .map_err(decoding(T))?
        .ok_or_else(|| corrupt(format!("epoch {epoch} has claims in a tree but no tree")))?;
    (0..siblings.len())
        .map(|i| {
            let node: Vec<u8> = sqlx::Row::try_get(&row, i).map_err(decoding(T))?;
            if node.len() != 32 {
                return Err(corrupt(format!("epoch {epoch}: node {} is past the tree's end", siblings[i])));
            }
            Ok(B256::from_slice(&node))
        })
        .collect()
}
