//! A folder of `<epoch>.batch` files, as validators (or the simulator) write them.

use std::path::{Path, PathBuf};

use tokio::io::AsyncReadExt;

use super::source::{Candidate, Fetched, QUARANTINE_PREFIX_BYTES, Refused};
use super::{Error, envelope::MAX_ENVELOPE_BYTES};

/// The largest batch file a folder source reads by default.
const DEFAULT_MAX_BYTES: u64 = MAX_ENVELOPE_BYTES as u64;

/// Reads batches from a folder; a file appears there whole (writers rename it into place).
#[derive(Debug, Clone)]
pub struct FolderSource {
    dir: PathBuf,
    max_bytes: u64,
}

impl FolderSource {
    /// A source over `dir`, reading batches of up to the default size.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), max_bytes: DEFAULT_MAX_BYTES }
    }

    /// The same source, refusing files over `max_bytes` instead.
    pub fn within(self, max_bytes: u64) -> Self {
        Self { max_bytes, ..self }
    }

    /// The file name of `epoch`'s batch.
    pub fn file_name(epoch: u64) -> String {
        format!("{epoch}.batch")
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bytes of `epoch`'s batch, or `None` while it has not appeared.
    pub async fn fetch(&self, epoch: u64) -> Result<Option<Vec<u8>>, Error> {
        let path = self.dir.join(Self::file_name(epoch));
        let meta = match tokio::fs::metadata(&path).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // Refuse before reading: an oversized file must not be loaded into memory.
        if meta.len() > self.max_bytes {
            return Err(Error::Oversized { size: meta.len() as usize, limit: self.max_bytes as usize });
        }
        Ok(Some(tokio::fs::read(&path).await?))
    }

    /// `epoch`'s file as a candidate, an oversized file as refused (with its first bytes), nothing while absent.
    pub async fn fetch_candidates(&self, epoch: u64) -> Fetched {
        let origin = self.dir.join(Self::file_name(epoch)).display().to_string();
        match self.fetch(epoch).await {
            Ok(Some(bytes)) => Fetched { candidates: vec![Candidate { origin, bytes }], refused: Vec::new() },
            Ok(None) => Fetched::default(),
            Err(error @ Error::Oversized { .. }) => {
                let prefix = self.prefix(epoch).await.unwrap_or_default();
                Fetched { candidates: Vec::new(), refused: vec![Refused { origin, error, prefix }] }
            }
            Err(e) => {
                tracing::warn!(epoch, %origin, error = %e, "cannot read batch file");
                Fetched::default()
            }
        }
    }

    async fn prefix(&self, epoch: u64) -> std::io::Result<Vec<u8>> {
        let file = tokio::fs::File::open(self.dir.join(Self::file_name(epoch))).await?;
        let mut prefix = Vec::new();
        file.take(QUARANTINE_PREFIX_BYTES as u64).read_to_end(&mut prefix).await?;
        Ok(prefix)
    }

    /// Writes `bytes` as `epoch`'s batch atomically (temporary file, then rename).
    pub async fn publish(&self, epoch: u64, bytes: &[u8]) -> std::io::Result<()> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let tmp = self.dir.join(format!(".{epoch}.batch.tmp"));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, self.dir.join(Self::file_name(epoch))).await
    }
}
