//! Storage: SQLite (embedded, WAL) through sqlx. One module per table, free functions over a connection or a
//! transaction; every state change is one transaction.

pub mod attempts;
pub mod batches;
pub mod claims;
pub mod commitments;
pub mod credits;
pub mod curve;
pub mod equivocations;
pub mod escrow;
pub mod mismatches;
pub mod outputs;
pub mod quarantine;

use std::str::FromStr;

use alloy::primitives::U256;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// A store error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value does not decode (the database was changed by hand, or is from a newer version).
    #[error("corrupt stored value in {table}.{column}: {reason}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Result with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The database handle.
pub type Pool = SqlitePool;

/// Opens (creating if needed) the database at `url` (e.g. `sqlite://relayer.db`, `sqlite::memory:`) and
/// applies pending migrations.
pub async fn connect(url: &str) -> Result<Pool> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(10));
    // An in-memory database lives in one connection only.
    let max = if url.contains(":memory:") { 1 } else { 4 };
    let pool = SqlitePoolOptions::new().max_connections(max).connect_with(options).await?;
    sqlx::migrate!("migrations/sqlite").run(&pool).await?;
    Ok(pool)
}

/// Seconds since the Unix epoch, for `*_at` columns.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Decodes a decimal U256 column.
pub(crate) fn parse_u256(table: &'static str, column: &'static str, text: &str) -> Result<U256> {
    U256::from_str_radix(text, 10).map_err(|e| Error::Corrupt { table, column, reason: format!("{e}: {text:?}") })
}

/// Decodes a fixed-size byte column.
pub(crate) fn fixed<const N: usize>(table: &'static str, column: &'static str, bytes: &[u8]) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| Error::Corrupt {
        table,
        column,
        reason: format!("{} bytes, expected {N}", bytes.len()),
    })
}
