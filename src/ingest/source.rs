//! Where batches come from: a folder or several validator HTTP endpoints, behind one interface.

use std::path::PathBuf;
use std::time::Duration;

use alloy::transports::http::reqwest::Url;

use super::Error;
use super::folder::FolderSource;
use super::http::HttpSource;

/// Bytes of a refused input kept in quarantine (an oversized body is cut here; the reason says its size).
pub const QUARANTINE_PREFIX_BYTES: usize = 1024 * 1024;

/// Which source to read, as configured.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    /// A folder of `<epoch>.batch` files.
    Folder(PathBuf),
    /// Validator endpoints serving `GET <url>/v1/batches/<epoch>`; any one serving a valid batch is enough.
    Http {
        /// Base URLs.
        endpoints: Vec<Url>,
        /// Per-request timeout.
        timeout: Duration,
    },
}

/// A batch as one origin served it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The file or endpoint it came from.
    pub origin: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Input refused before verification (too large to read whole), to quarantine.
#[derive(Debug)]
pub struct Refused {
    /// The file or endpoint.
    pub origin: String,
    /// Why.
    pub error: Error,
    /// The first bytes, up to [`QUARANTINE_PREFIX_BYTES`].
    pub prefix: Vec<u8>,
}

/// What one fetch of an epoch found.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Batches served for the epoch (none while it has not appeared anywhere).
    pub candidates: Vec<Candidate>,
    /// Inputs refused outright.
    pub refused: Vec<Refused>,
}

/// A configured batch source.
#[derive(Debug)]
pub enum Source {
    /// See [`FolderSource`].
    Folder(FolderSource),
    /// See [`HttpSource`].
    Http(HttpSource),
}

impl Source {
    /// Opens the configured source, refusing batches over `max_batch_bytes` before reading them.
    pub fn open(config: &SourceConfig, max_batch_bytes: u64) -> Result<Self, Error> {
        Ok(match config {
            SourceConfig::Folder(dir) => Source::Folder(FolderSource::new(dir).within(max_batch_bytes)),
            SourceConfig::Http { endpoints, timeout } => {
                Source::Http(HttpSource::new(endpoints.clone(), *timeout)?.within(max_batch_bytes))
            }
        })
    }

    /// Everything the source serves for `epoch` right now. Transport trouble at one origin is logged and
    /// backed off from, never returned: another origin may well serve the batch.
    pub async fn fetch(&mut self, epoch: u64) -> Fetched {
        match self {
            Source::Folder(folder) => folder.fetch_candidates(epoch).await,
            Source::Http(http) => http.fetch(epoch).await,
        }
    }

    /// Tells the source that `origin` served input that failed verification: an HTTP endpoint backs off as if it
    /// had failed (it answered, but it is not healthy); a folder does not read that file again until it changes.
    pub fn rejected(&mut self, origin: &str) {
        match self {
            Source::Http(http) => http.rejected(origin),
            Source::Folder(folder) => folder.rejected(origin),
        }
    }

    /// Tells the source that `origin` served a batch that was accepted (an HTTP endpoint's backoff resets).
    pub fn accepted(&mut self, origin: &str) {
        if let Source::Http(http) = self {
            http.accepted(origin);
        }
    }

    /// A short description for logs.
    pub fn describe(&self) -> String {
        match self {
            Source::Folder(f) => format!("folder {}", f.dir().display()),
            Source::Http(h) => format!("http {}", h.describe()),
        }
    }
}
