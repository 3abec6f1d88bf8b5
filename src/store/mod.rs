//! Storage through sqlx: SQLite (embedded, WAL) by default, PostgreSQL when the URL says so. One module per
//! table, free functions over a pool or a transaction; every state change is one transaction. Queries are
//! written once, in the SQL both accept (`$n` parameters, `ON CONFLICT`, `RETURNING`).

pub mod attempts;
pub mod attestations;
pub mod audit;
pub mod batches;
mod bulk;
mod claim_trees;
pub mod claims;
pub mod clock;
pub mod columns;
pub mod commitments;
pub mod counts;
pub mod credits;
pub mod curve;
pub mod equivocations;
pub mod escrow;
pub mod escrow_totals;
pub mod halts;
pub mod ledger;
pub mod mismatches;
pub mod outputs;
pub mod owed;
pub mod quarantine;
pub mod reconciled;
pub mod reissues;
pub mod views;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

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
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// The database URL names no backend we support.
    #[error("unsupported database URL {0:?}: use sqlite://PATH (or sqlite::memory:) or postgres://…")]
    UnsupportedUrl(String),
}

impl Error {
    /// Whether the database is only unreachable for now (connection lost, server restarting, busy): the same
    /// operation may succeed later, so the caller backs off and retries instead of stopping.
    pub fn is_transient(&self) -> bool {
        let Error::Database(e) = self else { return false };
        match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| transient_code(&code)),
            _ => false,
        }
    }
}

/// PostgreSQL: connection exceptions (class 08), operator intervention such as a shutdown or restart (57P),
/// serialization failures and deadlocks (40001, 40P01). SQLite: busy and locked (5, 6, and their extended codes).
fn transient_code(code: &str) -> bool {
    if code.len() == 5 {
        // A SQLSTATE: PostgreSQL's codes are always five characters; SQLite's are shorter numbers.
        code.starts_with("08") || code.starts_with("57P") || code == "40001" || code == "40P01"
    } else {
        code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
    }
}

/// Result with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The database handle: SQLite or Postgres, chosen by the URL.
pub type Pool = AnyPool;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (WAL); the default.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// Its name, for logs.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// The backend of `url`.
    pub fn of(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(Error::UnsupportedUrl(url.to_string()))
        }
    }
}

/// How long getting a connection may take before the operation fails as transient.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the database at `url` and applies pending migrations: `sqlite://relayer.db` (created if missing; WAL,
/// full sync, foreign keys), `sqlite::memory:`, or `postgres://user:password@host/database`. The same queries
/// run on both; each backend has its own migrations (`migrations/sqlite`, `migrations/postgres`).
pub async fn connect(url: &str) -> Result<Pool> {
    install_default_drivers();
    let backend = Backend::of(url)?;
    let (url, max) = match backend {
        // An in-memory database lives in one connection only.
        Backend::Sqlite if url.contains(":memory:") => (url.to_string(), 1),
        Backend::Sqlite if url.contains('?') => (url.to_string(), 4),
        Backend::Sqlite => (format!("{url}?mode=rwc"), 4),
        Backend::Postgres => (url.to_string(), 8),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        // A database that is down fails a query in seconds (and the caller backs off and retries) instead of
        // holding it for sqlx's default 30 s.
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
                         PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    match backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
        Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
    }
    Ok(pool)
}

/// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a deferred
/// transaction that reads first and writes later fails with "database is locked" when another connection wrote
/// in between, instead of waiting for its turn.
pub async fn begin(pool: &Pool) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
    let sqlite = pool.connect_options().database_url.scheme() == "sqlite";
    Ok(if sqlite { pool.begin_with("BEGIN IMMEDIATE").await? } else { pool.begin().await? })
}

/// Seconds since the Unix epoch, for `*_at` columns.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn outages_and_busy_databases_are_transient_and_constraint_violations_are_not() {
        for code in ["08006", "08001", "57P01", "57P03", "40001", "40P01", "5", "6", "517", "262"] {
            assert!(super::transient_code(code), "{code}");
        }
        for code in ["23505", "23502", "42P01", "19", "2067", "1"] {
            assert!(!super::transient_code(code), "{code}");
        }
    }
}
