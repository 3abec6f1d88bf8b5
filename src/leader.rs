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
    /// PostgreSQL: a connection of our own that tries for, and then holds, the advisory lock.
    Postgres {
        /// The store, for (re)opening that connection.
        pool: Pool,
        /// The connection; `None` until opened, or after it failed.
        conn: Option<AnyConnection>,
        /// Whether `conn` holds the lock.
        leading: bool,
        /// How often to try for the lock, and to check it.
        poll: Duration,
    },
}

impl Leadership {
    /// Prepares leadership for the store at `url`; on SQLite this takes the lock file or fails.
    pub fn new(pool: Pool, url: &str, poll: Duration) -> Result<Self, Error> {
        match Backend::of(url)? {
            Backend::Postgres => Ok(Self::Postgres { pool, conn: None, leading: false, poll }),
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
        let Self::Postgres { pool, conn, leading, poll } = self else { return Ok(Some(())) };
        loop {
            if shutdown.is_cancelled() {
                return Ok(None);
            }
            match try_lock(pool, conn).await {
                Ok(true) => {
                    *leading = true;
                    return Ok(Some(()));
                }
                Ok(false) => {}
                Err(e) => {
                    // Reconnect on the next try.
                    *conn = None;
                    tracing::warn!(error = %e, "trying for leadership failed, will retry");
                }
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
        let Self::Postgres { conn, leading, poll, .. } = self else { return stop.cancelled().await };
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(*poll) => {}
            }
            let alive = match conn.as_mut() {
                Some(c) => c.execute("SELECT 1").await.is_ok(),
                None => false,
            };
            if !alive {
                tracing::error!("lost the leader lock's connection; stepping down");
                (*conn, *leading) = (None, false);
                return;
            }
        }
    }

    /// Gives leadership up (closing the lock's connection releases the lock at once).
    pub async fn release(&mut self) {
        if let Self::Postgres { conn, leading, .. } = self
            && *leading
        {
            *leading = false;
            let unlocked = match conn.as_mut() {
                Some(c) => c.execute(sqlx::query("SELECT pg_advisory_unlock($1)").bind(LOCK_KEY)).await.is_ok(),
                None => true,
            };
            if !unlocked {
                // Closing the connection releases the lock just as well.
                *conn = None;
            }
        }
    }
}

/// Tries for the advisory lock on `conn` (opened from `pool`, outside its accounting, if there is none yet);
/// the lock stays with that connection until it is released or the connection closes.
async fn try_lock(pool: &Pool, conn: &mut Option<AnyConnection>) -> Result<bool, store::Error> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(pool.acquire().await?.detach()),
    };
    Ok(sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LOCK_KEY).fetch_one(c.acquire().await?).await?)
}

/// An in-memory database cannot be shared between processes; a private lock file stands in.
fn tempfile_lock() -> Result<File, Error> {
    let path = std::env::temp_dir().join(format!("myco-bridge-memory-{}.lock", std::process::id()));
    File::create(&path).map_err(|source| Error::LockFile { path, source })
}
