//! Who may send: exactly one relayer per store. On PostgreSQL the leader holds a session advisory lock on a
//! connection of its own (released by the server the moment that connection dies, with the process); the others
//! follow, serve the status API, and try for the lock every poll interval (CoW's 200 ms), so one takes over
//! within about that long. The leader checks it still holds the connection every interval and steps down if
//! not. On SQLite a second instance refuses to start: a lock file next to the database says who runs.

use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use sqlx::{Acquire, AnyConnection, Executor};
use tokio_util::sync::CancellationToken;

use crate::store::{self, Backend, Pool};

/// The advisory lock's key: "myco-bridge relayer" as a 64-bit number, the same for every instance.
const LOCK_KEY: i64 = 0x6d79_636f_7265_6c61;

/// Why leadership cannot be had at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another instance runs on this SQLite database.
    #[error(
        "another myco-bridge is running on {database} (it holds {lock}); SQLite allows one instance, use \
         PostgreSQL to run two or more"
    )]
    SqliteTaken {
        /// The database file.
        database: String,
        /// The lock file.
        lock: String,
    },
    /// The lock file could not be opened.
    #[error("opening the lock file {path}: {source}")]
    LockFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// The right to send, for one process.
#[derive(Debug)]
pub enum Leadership {
    /// SQLite: the lock file is held for the life of the process; always the leader.
    Sqlite(File),
    /// PostgreSQL: a connection that holds (or will hold) the advisory lock.
    Postgres {
        /// The store, for a fresh lock connection.
        pool: Pool,
        /// The connection holding the lock, while leading.
        held: Option<AnyConnection>,
        /// How often to try for the lock, and to check it.
        poll: Duration,
    },
}

impl Leadership {
    /// Prepares leadership for the store at `url`; on SQLite this takes the lock file or fails.
    pub fn new(pool: Pool, url: &str, poll: Duration) -> Result<Self, Error> {
        match Backend::of(url)? {
            Backend::Postgres => Ok(Self::Postgres { pool, held: None, poll }),
            Backend::Sqlite => {
                let database = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                let database = database.split('?').next().unwrap_or(database).to_string();
                if database.contains(":memory:") {
                    return Ok(Self::Sqlite(tempfile_lock()?));
                }
                let path = PathBuf::from(format!("{database}.lock"));
                let file = File::options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|source| Error::LockFile { path: path.clone(), source })?;
                match file.try_lock() {
                    Ok(()) => Ok(Self::Sqlite(file)),
                    Err(std::fs::TryLockError::WouldBlock) => {
                        Err(Error::SqliteTaken { database, lock: path.display().to_string() })
                    }
                    Err(std::fs::TryLockError::Error(source)) => Err(Error::LockFile { path, source }),
                }
            }
        }
    }

    /// Waits until this process leads (at once on SQLite); `None` if `shutdown` came first.
    pub async fn acquire(&mut self, shutdown: &CancellationToken) -> Result<Option<()>, Error> {
        let Self::Postgres { pool, held, poll } = self else { return Ok(Some(())) };
        loop {
            if shutdown.is_cancelled() {
                return Ok(None);
            }
            match try_lock(pool).await {
                Ok(Some(conn)) => {
                    *held = Some(conn);
                    return Ok(Some(()));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "trying for leadership failed, will retry"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(None),
                _ = tokio::time::sleep(*poll) => {}
            }
        }
    }

    /// While leading: returns once leadership is lost (the lock's connection failed) or `stop` is cancelled.
    /// On SQLite it only waits for `stop`.
    pub async fn hold(&mut self, stop: &CancellationToken) {
        let Self::Postgres { held, poll, .. } = self else { return stop.cancelled().await };
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(*poll) => {}
            }
            let alive = match held.as_mut() {
                Some(conn) => conn.execute("SELECT 1").await.is_ok(),
                None => false,
            };
            if !alive {
                tracing::error!("lost the leader lock's connection; stepping down");
                *held = None;
                return;
            }
        }
    }

    /// Gives leadership up (closing the lock's connection releases the lock at once).
    pub async fn release(&mut self) {
        if let Self::Postgres { held, .. } = self
            && let Some(mut conn) = held.take()
        {
            let _ = conn.execute(sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK_KEY)).await;
            drop(conn);
        }
    }
}

/// A connection of its own holding the advisory lock, or `None` if another instance holds it.
async fn try_lock(pool: &Pool) -> Result<Option<AnyConnection>, store::Error> {
    let mut conn = pool.acquire().await?.detach();
    let got: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LOCK_KEY).fetch_one(conn.acquire().await?).await?;
    Ok(got.then_some(conn))
}

/// An in-memory database cannot be shared between processes; a private lock file stands in.
fn tempfile_lock() -> Result<File, Error> {
    let path = std::env::temp_dir().join(format!("myco-bridge-memory-{}.lock", std::process::id()));
    File::create(&path).map_err(|source| Error::LockFile { path, source })
}
