//! A folder of `<epoch>.batch` files, as validators (or the simulator) write them.

use std::path::{Path, PathBuf};

use tokio::io::AsyncReadExt;

use super::source::{Candidate, Fetched, QUARANTINE_PREFIX_BYTES, Refused};
use super::{Error, envelope::MAX_ENVELOPE_BYTES};

/// The largest batch file a folder source reads by default.
const DEFAULT_MAX_BYTES: u64 = MAX_ENVELOPE_BYTES as u64;

/// Reads batches from a folder; a file appears there whole (writers rename it into place).
///
/// A file refused (too large) or rejected (it failed verification) is not read again while it is the same file:
/// the reader would only quarantine it again, and reading and verifying a large bad batch at every poll costs
/// seconds of CPU each time. A writer replacing it (a new file renamed into place) is read at once.
#[derive(Debug, Clone)]
pub struct FolderSource {
    dir: PathBuf,
    max_bytes: u64,
    /// The file last handed out as a candidate, as it was when read.
    last_read: Option<(PathBuf, Stamp)>,
    /// The file last refused or rejected, as it was then.
    refused: Option<(PathBuf, Stamp)>,
}

/// Which file is at a path: its inode (a file renamed into place is a new one), size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Self { inode, len: meta.len(), modified: meta.modified().ok() }
    }
}

impl FolderSource {
    /// A source over `dir`, reading batches of up to the default size.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), max_bytes: DEFAULT_MAX_BYTES, last_read: None, refused: None }
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

    /// `epoch`'s file as a candidate, an oversized file as refused (with its first bytes), nothing while absent
    /// or while it is the file refused or rejected last.
    pub async fn fetch_candidates(&mut self, epoch: u64) -> Fetched {
        let path = self.dir.join(Self::file_name(epoch));
        let origin = path.display().to_string();
        // Stamped before reading: if a writer renames a new file into place meanwhile, what is read is newer
        // than the stamp, and a stamp that names no file's content is never matched again.
        let stamp = tokio::fs::metadata(&path).await.ok().map(|m| Stamp::of(&m));
        if let Some(stamp) = stamp
            && self.refused == Some((path.clone(), stamp))
        {
            return Fetched::default();
        }
        match self.fetch(epoch).await {
            Ok(Some(bytes)) => {
                self.last_read = stamp.map(|s| (path, s));
                Fetched { candidates: vec![Candidate { origin, bytes }], refused: Vec::new() }
            }
            Ok(None) => Fetched::default(),
            Err(error @ Error::Oversized { .. }) => {
                let prefix = self.prefix(epoch).await.unwrap_or_default();
                self.refused = stamp.map(|s| (path, s));
                Fetched { candidates: Vec::new(), refused: vec![Refused { origin, error, prefix }] }
            }
            Err(e) => {
                tracing::warn!(epoch, %origin, error = %e, "cannot read batch file");
                Fetched::default()
            }
        }
    }

    /// The candidate last read from `origin` failed verification: it is not read again while it is the same file.
    pub fn rejected(&mut self, origin: &str) {
        if let Some((path, stamp)) = self.last_read.take_if(|(path, _)| path.display().to_string() == origin) {
            self.refused = Some((path, stamp));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(dir: &Path, epoch: u64) -> String {
        dir.join(FolderSource::file_name(epoch)).display().to_string()
    }

    #[tokio::test]
    async fn a_rejected_file_is_not_read_again_until_it_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let mut source = FolderSource::new(dir.path());
        source.publish(1, b"bad batch").await.unwrap();
        assert_eq!(source.fetch_candidates(1).await.candidates.len(), 1);
        // Read again while nothing said it was bad.
        assert_eq!(source.fetch_candidates(1).await.candidates.len(), 1);
        source.rejected(&origin(dir.path(), 1));
        let again = source.fetch_candidates(1).await;
        assert!(again.candidates.is_empty() && again.refused.is_empty());

        // The writer renames a new file into place (even of the same size): read at once.
        source.publish(1, b"new batch").await.unwrap();
        let replaced = source.fetch_candidates(1).await;
        assert_eq!(replaced.candidates[0].bytes, b"new batch");
        // Another file's rejection does not hide this one.
        source.rejected(&origin(dir.path(), 2));
        assert_eq!(source.fetch_candidates(1).await.candidates.len(), 1);
    }

    #[tokio::test]
    async fn an_oversized_file_is_refused_once_until_it_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let mut source = FolderSource::new(dir.path()).within(8);
        source.publish(1, b"far too large").await.unwrap();
        assert_eq!(source.fetch_candidates(1).await.refused.len(), 1);
        let again = source.fetch_candidates(1).await;
        assert!(again.candidates.is_empty() && again.refused.is_empty());
        source.publish(1, b"fits").await.unwrap();
        assert_eq!(source.fetch_candidates(1).await.candidates[0].bytes, b"fits");
    }
}
