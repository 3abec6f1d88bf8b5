//! Many rows in few statements: a big epoch's claims, credits and reuse checks, and a range's escrow deposits, go
//! to the database in statements of about [`BINDS_PER_STATEMENT`] parameters each instead of one round trip per
//! row (10k claims were 10k statements).

use std::collections::HashMap;
use std::hash::Hash;

use sqlx::any::Any;
use sqlx::{Decode, Encode, Type};

use super::columns::decoding;
use super::{Pool, Result};
use crate::ids::Epoch;

/// The parameters one statement binds, well under SQLite's limit (32,766) and PostgreSQL's (65,535). One statement
/// per row spends a big batch's time in the driver's per-statement round trip, and very long statements get
/// slower per row again (sqlx's argument handling): for 10,000 escrow deposits of 9 columns, 20-50 rows per
/// statement was fastest (`cargo bench --bench chain`: about 55k rows/s; 1 row 14k; 1,000 rows 8k).
pub const BINDS_PER_STATEMENT: usize = 288;

/// How many rows of `columns` parameters go in one statement.
pub fn rows_per_statement(columns: usize) -> usize {
    (BINDS_PER_STATEMENT / columns.max(1)).max(1)
}

/// `($1, $2), ($3, $4)` for `rows` rows of `columns` parameters, numbered from `$1`.
pub fn values(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 7);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * columns + column + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// `$1, $2, …, $n`, for an `IN (…)` list.
pub fn list(n: usize) -> String {
    list_from(1, n)
}

/// `n` placeholders numbered from `$first`, for an `IN (…)` list after other parameters.
pub fn list_from(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The first of `ids` (in their order) that `table` already has in `column`, with the row's `epoch`: one
/// statement per [`BINDS_PER_STATEMENT`] ids, where a reuse check was one per id.
pub async fn first_present<Id>(
    pool: &Pool,
    table: &'static str,
    column: &str,
    ids: &[Id],
) -> Result<Option<(Id, Epoch)>>
where
    Id: Copy + Eq + Hash + Send + Unpin + Type<Any> + for<'q> Encode<'q, Any> + for<'r> Decode<'r, Any>,
{
    for chunk in ids.chunks(rows_per_statement(1)) {
        let sql = format!("SELECT {column}, epoch FROM {table} WHERE {column} IN ({})", list(chunk.len()));
        let found: Vec<(Id, Epoch)> = chunk
            .iter()
            // Only placeholders and the caller's constant names are formatted into the statement.
            .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |q, id| q.bind(*id))
            .fetch_all(pool)
            .await
            .map_err(decoding(table))?;
        let found: HashMap<Id, Epoch> = found.into_iter().collect();
        if let Some(hit) = chunk.iter().find_map(|id| found.get(id).map(|e| (*id, *e))) {
            return Ok(Some(hit));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_row_by_row() {
        assert_eq!(values(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values(1, 1), "($1)");
        assert_eq!(list(3), "$1, $2, $3");
    }

    #[test]
    fn a_statement_stays_under_both_databases_limits() {
        for columns in 1..=20 {
            let rows = rows_per_statement(columns);
            assert!(rows * columns <= BINDS_PER_STATEMENT && rows >= 1);
        }
        const { assert!(BINDS_PER_STATEMENT < 32_766) };
    }

    /// Ids that span three statements, stored by a bulk insert that spans several too: the first stored one in
    /// the list's order is found (not the first in the table's), and none when none is stored.
    #[tokio::test]
    async fn the_first_stored_id_is_found_in_the_lists_order_across_statements() {
        use crate::ids::DepositId;
        use crate::ingest::document::CreditedDeposit;
        use alloy::primitives::{B256, U256};

        let pool = crate::store::connect("sqlite::memory:").await.unwrap();
        let mut tx = crate::store::begin(&pool).await.unwrap();
        let batch = crate::ingest::Batch {
            epoch: 1,
            digest: B256::repeat_byte(1),
            parent: B256::ZERO,
            signers: 3,
            state: Default::default(),
            raw: Vec::new(),
        };
        crate::store::batches::insert(&mut tx, &batch, B256::ZERO, &Default::default()).await.unwrap();
        let credited: Vec<CreditedDeposit> = (1_000_000..1_010_000)
            .map(|id| CreditedDeposit { deposit_id: id, account: B256::repeat_byte(2), amount: U256::from(id) })
            .collect();
        crate::store::credits::insert_all(&mut tx, Epoch(1), &credited).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(crate::store::credits::all(&pool).await.unwrap().len(), 10_000);

        let per = rows_per_statement(1);
        let mut ids: Vec<DepositId> = (0..2 * per as u64 + 50).map(DepositId).collect();
        assert_eq!(crate::store::credits::first_credited(&pool, &ids).await.unwrap(), None);
        // Stored ids in the third statement and, later in the list but earlier in the table, the second.
        ids[2 * per + 10] = DepositId(1_009_999);
        ids[2 * per + 20] = DepositId(1_000_000);
        let found = crate::store::credits::first_credited(&pool, &ids).await.unwrap();
        assert_eq!(found, Some((DepositId(1_009_999), Epoch(1))));
        ids[per + 1] = DepositId(1_005_000);
        let found = crate::store::credits::first_credited(&pool, &ids).await.unwrap();
        assert_eq!(found, Some((DepositId(1_005_000), Epoch(1))));
    }
}
