//! What a saved Automerge document claims to hold, measured from its bytes before Automerge materialises it.
//!
//! Automerge stores operations in run-length-encoded columns and trusts the run lengths: a list of N nulls saves
//! to the same hundred bytes for any N, and loading it allocates a few hundred bytes per claimed element. So the
//! envelope's byte limit bounds nothing; this scan does. It reads the one document chunk's column metadata and
//! sums each column's run lengths (inflating deflated columns under a byte budget), and refuses a document that
//! claims more operations than [`Limits::max_ops`] before a single one is built. It allocates nothing per
//! element and runs in time linear in the document's (inflated) bytes.
//!
//! The format is Automerge's binary storage format: a chunk is `magic(4) ‖ checksum(4) ‖ type(1) ‖
//! uLEB(len) ‖ data`; a document chunk's data is actors, heads, the change columns' and the operation columns'
//! `(spec, len)` lists, then the columns' bytes. We accept exactly one document chunk (what `save()` writes, in
//! Rust and in JavaScript): no change chunks, no bundles, nothing after it.

use std::io::Read;

/// Automerge's magic bytes.
pub(super) const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The document chunk's type byte.
pub(super) const DOCUMENT_CHUNK: u8 = 0;
/// A column spec's deflate flag.
const DEFLATE: u32 = 0b1000;

/// Bounds on what a batch and its document may claim; each is checked before the batch is read or the document
/// is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the whole batch (envelope, signatures and document), checked before it is read into memory.
    pub max_batch_bytes: u64,
    /// Operations (map entries, list elements, text characters, objects), counted in every column. Loading costs
    /// a few hundred bytes of memory per operation (see `BENCHMARKS.md`).
    pub max_ops: u64,
    /// Bytes of all columns (keys, strings, values), deflated ones counted once inflated (a deflate bomb is
    /// refused when it crosses this).
    pub max_column_bytes: u64,
    /// Actors (writers) the document lists. Automerge keeps a table of them, and a document that lists only
    /// actor ids (60 million zero-length ones fit in 60 MB) costs gigabytes; a batch has one per validator that
    /// wrote it.
    pub max_actors: u64,
}

impl Default for Limits {
    /// 64 MiB batches, 400,000 operations, 48 MiB of columns and 1,024 actors: the worst document within them
    /// (400,000 map entries with 64-character keys and 30-digit values) loads in about 220 MiB of resident memory
    /// and 0.6 s here; a batch of a hundred thousand balances or twenty thousand intents fits.
    fn default() -> Self {
        Self {
            max_batch_bytes: crate::ingest::envelope::MAX_ENVELOPE_BYTES as u64,
            max_ops: 400_000,
            max_column_bytes: 48 << 20,
            max_actors: 1_024,
        }
    }
}

/// What a document claims, as measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Footprint {
    /// Operations: the longest operation column.
    pub ops: u64,
    /// Changes: the longest change column.
    pub changes: u64,
    /// Bytes of all columns, deflated ones counted once inflated.
    pub column_bytes: u64,
}

/// Measures `bytes` (a saved document) against `limits`; the reason says what was exceeded or malformed.
pub fn measure(bytes: &[u8], limits: &Limits) -> Result<Footprint, String> {
    let mut input = Cursor { bytes, at: 0 };
    if input.take(4)? != MAGIC {
        return Err("not an Automerge document (bad magic bytes)".into());
    }
    input.take(4)?; // the checksum: Automerge verifies it
    let chunk_type = input.byte()?;
    if chunk_type != DOCUMENT_CHUNK {
        return Err(format!("chunk type {chunk_type}: a batch holds exactly one document chunk (a full save)"));
    }
    let len = input.uleb()?;
    let data = input.take(usize::try_from(len).map_err(|_| "chunk length too large".to_string())?)?;
    if input.at != bytes.len() {
        return Err(format!("{} bytes after the document chunk", bytes.len() - input.at));
    }

    let mut doc = Cursor { bytes: data, at: 0 };
    let actors = doc.uleb()?;
    if actors > limits.max_actors {
        return Err(format!("lists {actors} actors, over {} (the limit)", limits.max_actors));
    }
    for _ in 0..actors {
        let actor_len = doc.uleb()?;
        doc.take(usize::try_from(actor_len).map_err(|_| "actor length too large".to_string())?)?;
    }
    for _ in 0..doc.uleb()? {
        doc.take(32)?;
    }
    let change_columns = doc.columns()?;
    let op_columns = doc.columns()?;
    let mut footprint = Footprint::default();
    let mut budget = Budget { left: limits.max_column_bytes, used: 0 };
    for (columns, longest) in [(change_columns, &mut footprint.changes), (op_columns, &mut footprint.ops)] {
        for (spec, len) in columns {
            let raw = doc.take(usize::try_from(len).map_err(|_| "column length too large".to_string())?)?;
            let count = column_length(spec, raw, Bounds { ops: limits.max_ops, actors }, &mut budget)?;
            *longest = (*longest).max(count);
            if *longest > limits.max_ops {
                return Err(format!("claims over {} operations (the limit)", limits.max_ops));
            }
        }
    }
    footprint.column_bytes = budget.used;
    Ok(footprint)
}

/// How many column bytes may still come.
struct Budget {
    left: u64,
    used: u64,
}

/// What a column's values may say.
#[derive(Clone, Copy)]
struct Bounds {
    /// Elements a column may hold, and items its groups may count in all.
    ops: u64,
    /// Actors the document lists: an actor column's every value indexes them. Automerge allocates for the
    /// largest index it meets (one index of 2^30 cost 8.6 GB and an abort no panic guard catches).
    actors: u64,
}

/// A column whose run lengths add past 2^64 elements: far past any limit, refused as such.
fn too_many() -> String {
    "a column's run lengths count past 2^64 elements".into()
}

/// The number of elements column `spec` holds in `raw`, stopping as soon as it passes `bounds.ops`; an actor
/// index beyond the actor table, or groups counting more than `bounds.ops` items, refuse the document.
fn column_length(spec: u32, raw: &[u8], bounds: Bounds, budget: &mut Budget) -> Result<u64, String> {
    let limit = bounds.ops;
    let inflated;
    let raw = if spec & DEFLATE != 0 {
        let mut out = Vec::new();
        let reader = flate2::read::DeflateDecoder::new(raw);
        // Read one byte past the budget: reaching it means the column inflates beyond what we allow.
        reader
            .take(budget.left.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| format!("a deflated column does not inflate: {e}"))?;
        let n = out.len() as u64;
        if n > budget.left {
            return Err(format!("columns exceed {} bytes once inflated (the limit)", budget.left + budget.used));
        }
        budget.left -= n;
        budget.used += n;
        inflated = out;
        &inflated[..]
    } else {
        let n = raw.len() as u64;
        if n > budget.left {
            return Err(format!("columns exceed {} bytes (the limit)", budget.left + budget.used));
        }
        budget.left -= n;
        budget.used += n;
        raw
    };
    let mut c = Cursor { bytes: raw, at: 0 };
    match spec & 0b111 {
        // Group: how many items of the grouped columns follow each element; they may count no more than the
        // columns could hold.
        0 => {
            let mut items = 0u64;
            c.rle(limit, |c, repeat| {
                let over = || format!("a group column counts over {limit} items (the operations limit)");
                let run = c.uleb()?.checked_mul(repeat).ok_or_else(over)?;
                items = items.checked_add(run).filter(|n| *n <= limit).ok_or_else(over)?;
                Ok(())
            })
        }
        // Actor: indices into the document's actor table.
        1 => c.rle(limit, |c, _| match c.uleb()? {
            index if index >= bounds.actors => {
                Err(format!("actor index {index} in a document listing {} actors", bounds.actors))
            }
            _ => Ok(()),
        }),
        // Integer and value metadata: run-length-encoded unsigned LEB128.
        2 | 6 => c.rle(limit, |c, _| c.uleb().map(drop)),
        // Delta: run-length-encoded signed LEB128.
        3 => c.rle(limit, |c, _| c.sleb().map(drop)),
        // Boolean: alternating run lengths.
        4 => {
            let mut total = 0u64;
            while !c.done() {
                total = total.checked_add(c.uleb()?).ok_or_else(too_many)?;
                if total > limit {
                    break;
                }
            }
            Ok(total)
        }
        // String: run-length-encoded length-prefixed UTF-8.
        5 => c.rle(limit, |c, _| {
            let len = c.uleb()?;
            c.take(usize::try_from(len).map_err(|_| "string too long".to_string())?).map(drop)
        }),
        // Raw values: bytes, not elements (their count is the metadata column's).
        _ => Ok(0),
    }
}

/// A position in a byte slice, with the LEB128 readers Automerge's format uses.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or("truncated document")?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn uleb(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).ok_or("LEB128 overflow")?;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("LEB128 overflow".into())
    }

    fn sleb(&mut self) -> Result<i64, String> {
        let mut value = 0i64;
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            if shift >= 64 {
                return Err("LEB128 overflow".into());
            }
            value |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
        }
    }

    /// A column list: `uLEB(count)` then `(uLEB spec, uLEB len)` pairs.
    fn columns(&mut self) -> Result<Vec<(u32, u64)>, String> {
        let count = self.uleb()?;
        // Each pair takes at least two bytes, so a count larger than what is left is malformed.
        if count > (self.bytes.len() - self.at) as u64 {
            return Err("column count larger than the document".into());
        }
        (0..count)
            .map(|_| {
                let spec = u32::try_from(self.uleb()?).map_err(|_| "column spec too large".to_string())?;
                Ok((spec, self.uleb()?))
            })
            .collect()
    }

    /// Sums the run lengths of an RLE column whose values `value` reads (each with how many times it repeats): a
    /// positive count repeats one value, a negative one is that many literal values, zero is a run of nulls whose
    /// length follows.
    fn rle(&mut self, limit: u64, mut value: impl FnMut(&mut Self, u64) -> Result<(), String>) -> Result<u64, String> {
        let mut total = 0u64;
        while !self.done() && total <= limit {
            let count = self.sleb()?;
            if count > 0 {
                value(self, count as u64)?;
                total = total.checked_add(count as u64).ok_or_else(too_many)?;
            } else if count < 0 {
                let n = count.unsigned_abs();
                for _ in 0..n {
                    value(self, 1)?;
                }
                total = total.checked_add(n).ok_or_else(too_many)?;
            } else {
                total = total.checked_add(self.uleb()?).ok_or_else(too_many)?;
            }
        }
        Ok(total)
    }
}
