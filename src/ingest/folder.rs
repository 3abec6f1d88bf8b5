//! A folder of `<epoch>.batch` files, as validators (or the simulator) write them.

use std::path::{Path, PathBuf};

use super::{Error, envelope::MAX_ENVELOPE_BYTES};

/// Reads batches from a folder; a file appears there whole (writers rename it into place).
#[derive(Debug, Clone)]
pub struct FolderSource {
    dir: PathBuf,
}

impl FolderSource {
    /// A source over `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
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
        if meta.len() > MAX_ENVELOPE_BYTES as u64 {
            return Err(Error::Oversized { size: meta.len() as usize, limit: MAX_ENVELOPE_BYTES });
        }
        Ok(Some(tokio::fs::read(&path).await?))
    }

    /// Writes `bytes` as `epoch`'s batch atomically (temporary file, then rename).
    pub async fn publish(&self, epoch: u64, bytes: &[u8]) -> std::io::Result<()> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let tmp = self.dir.join(format!(".{epoch}.batch.tmp"));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, self.dir.join(Self::file_name(epoch))).await
    }
}
