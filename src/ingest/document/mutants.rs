//! Re-certified Automerge mutants, as the fuzzers made them: a saved document taken apart into its actors,
//! heads and columns, changed, and sealed again with a valid checksum, so Automerge takes it for a real document.

use sha2::{Digest, Sha256};

/// A document chunk taken apart.
pub(crate) struct Chunk {
    pub actors: Vec<Vec<u8>>,
    pub heads: Vec<[u8; 32]>,
    pub change_columns: Vec<(u32, Vec<u8>)>,
    pub op_columns: Vec<(u32, Vec<u8>)>,
    /// What follows the columns' bytes (the heads' indices).
    pub rest: Vec<u8>,
    /// Zero-length actor ids listed after `actors` (a document that is nothing but actors).
    pub empty_actors: u64,
}

/// Automerge's column types (the low three bits of a spec).
const ACTOR: u32 = 1;
const GROUP: u32 = 0;

fn uleb(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn read_uleb(bytes: &[u8], at: &mut usize) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let b = bytes[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return v;
        }
        shift += 7;
    }
}

impl Chunk {
    /// Takes a saved document apart.
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        let mut at = 9;
        let len = read_uleb(bytes, &mut at) as usize;
        let data = &bytes[at..at + len];
        let mut at = 0;
        let actors = (0..read_uleb(data, &mut at))
            .map(|_| {
                let n = read_uleb(data, &mut at) as usize;
                at += n;
                data[at - n..at].to_vec()
            })
            .collect();
        let heads = (0..read_uleb(data, &mut at))
            .map(|_| {
                at += 32;
                data[at - 32..at].try_into().unwrap()
            })
            .collect();
        let specs = |at: &mut usize| -> Vec<(u32, u64)> {
            (0..read_uleb(data, at)).map(|_| (read_uleb(data, at) as u32, read_uleb(data, at))).collect()
        };
        let (change_specs, op_specs) = (specs(&mut at), specs(&mut at));
        let columns = |specs: Vec<(u32, u64)>, at: &mut usize| -> Vec<(u32, Vec<u8>)> {
            specs
                .into_iter()
                .map(|(spec, n)| {
                    *at += n as usize;
                    (spec, data[*at - n as usize..*at].to_vec())
                })
                .collect()
        };
        let change_columns = columns(change_specs, &mut at);
        let op_columns = columns(op_specs, &mut at);
        Self { actors, heads, change_columns, op_columns, rest: data[at..].to_vec(), empty_actors: 0 }
    }

    /// Seals the chunk again: Automerge checks the first four bytes of SHA-256 over type, length and data.
    pub(crate) fn seal(&self) -> Vec<u8> {
        let mut data = Vec::new();
        uleb(self.actors.len() as u64 + self.empty_actors, &mut data);
        for a in &self.actors {
            uleb(a.len() as u64, &mut data);
            data.extend_from_slice(a);
        }
        data.resize(data.len() + self.empty_actors as usize, 0);
        uleb(self.heads.len() as u64, &mut data);
        for h in &self.heads {
            data.extend_from_slice(h);
        }
        for columns in [&self.change_columns, &self.op_columns] {
            uleb(columns.len() as u64, &mut data);
            for (spec, bytes) in columns {
                uleb(u64::from(*spec), &mut data);
                uleb(bytes.len() as u64, &mut data);
            }
        }
        for (_, bytes) in self.change_columns.iter().chain(&self.op_columns) {
            data.extend_from_slice(bytes);
        }
        data.extend_from_slice(&self.rest);
        let mut body = vec![super::footprint::DOCUMENT_CHUNK];
        uleb(data.len() as u64, &mut body);
        body.extend_from_slice(&data);
        let checksum = Sha256::digest(&body);
        let mut out = super::footprint::MAGIC.to_vec();
        out.extend_from_slice(&checksum[..4]);
        out.extend_from_slice(&body);
        out
    }
}

#[test]
fn an_untouched_document_seals_to_the_same_bytes() {
    let bytes = super::tests::sample().to_automerge();
    assert_eq!(Chunk::parse(&bytes).seal(), bytes);
}

fn read_sleb(bytes: &[u8], at: &mut usize) -> i64 {
    let (mut v, mut shift) = (0i64, 0);
    loop {
        let b = bytes[*at];
        *at += 1;
        v |= i64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            if shift < 64 && b & 0x40 != 0 {
                v |= -1i64 << shift;
            }
            return v;
        }
    }
}

fn sleb(mut v: i64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if (v == 0 && b & 0x40 == 0) || (v == -1 && b & 0x40 != 0) {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The values of an unsigned RLE column (`None` for nulls).
pub(crate) fn decode_rle(bytes: &[u8]) -> Vec<Option<u64>> {
    let (mut out, mut at) = (Vec::new(), 0);
    while at < bytes.len() {
        let count = read_sleb(bytes, &mut at);
        if count > 0 {
            let v = read_uleb(bytes, &mut at);
            out.extend(std::iter::repeat_n(Some(v), count as usize));
        } else if count < 0 {
            for _ in 0..-count {
                out.push(Some(read_uleb(bytes, &mut at)));
            }
        } else {
            out.extend(std::iter::repeat_n(None, read_uleb(bytes, &mut at) as usize));
        }
    }
    out
}

/// `values` as an unsigned RLE column in Automerge's canonical form: nulls as null runs, repeated values as runs,
/// the rest as literals.
pub(crate) fn encode_rle(values: &[Option<u64>]) -> Vec<u8> {
    let mut runs: Vec<(Option<u64>, u64)> = Vec::new();
    for v in values {
        match runs.last_mut() {
            Some((last, n)) if last == v => *n += 1,
            _ => runs.push((*v, 1)),
        }
    }
    let (mut out, mut literal) = (Vec::new(), Vec::new());
    let flush = |literal: &mut Vec<u64>, out: &mut Vec<u8>| {
        if !literal.is_empty() {
            sleb(-(literal.len() as i64), out);
            literal.drain(..).for_each(|v| uleb(v, out));
        }
    };
    for (v, n) in runs {
        match (v, n) {
            (None, n) => {
                flush(&mut literal, &mut out);
                sleb(0, &mut out);
                uleb(n, &mut out);
            }
            (Some(v), 1) => literal.push(v),
            (Some(v), n) => {
                flush(&mut literal, &mut out);
                sleb(n as i64, &mut out);
                uleb(v, &mut out);
            }
        }
    }
    flush(&mut literal, &mut out);
    out
}

use super::footprint::{self, Limits};
use super::tests::sample;
use crate::ingest::document::BatchState;

/// The sample batch's document with the first value of its first op column of `kind` set to `value`.
fn with_op_value(kind: u32, value: u64) -> Vec<u8> {
    let mut chunk = Chunk::parse(&sample().to_automerge());
    let column = chunk.op_columns.iter_mut().find(|(spec, _)| spec & 7 == kind).expect("the sample has one");
    let mut values = decode_rle(&column.1);
    let first = values.iter().position(Option::is_some).expect("a value");
    values[first] = Some(value);
    column.1 = encode_rle(&values);
    chunk.seal()
}

/// A 3.3 KB document whose object-actor column names actor 2^30 made Automerge allocate 8.6 GB and abort (2^26
/// here took 0.6 s and a panic). Refused by the scan, before Automerge sees it.
#[test]
fn an_actor_index_beyond_the_actor_table_is_refused_before_loading() {
    let bomb = with_op_value(ACTOR, 1 << 30);
    let err = footprint::measure(&bomb, &Limits::default()).unwrap_err();
    assert!(err.contains("actor index 1073741824 in a document listing 1 actors"), "{err}");
    let err = BatchState::from_automerge(&bomb).unwrap_err();
    assert_eq!(err.reason(), "bad_document", "{err}");
    // The last listed actor is fine.
    assert!(footprint::measure(&with_op_value(ACTOR, 0), &Limits::default()).is_ok());
}

/// 60 million zero-length actor ids fit in 60 MB and cost Automerge 5.6 GB: the count is refused as read.
#[test]
fn a_document_that_lists_millions_of_actors_is_refused_as_it_is_read() {
    let mut chunk = Chunk::parse(&sample().to_automerge());
    chunk.empty_actors = 60_000_000;
    let bomb = chunk.seal();
    assert!(bomb.len() > 60_000_000 && bomb.len() < 64 << 20, "inside the batch limit");
    let started = std::time::Instant::now();
    let err = footprint::measure(&bomb, &Limits::default()).unwrap_err();
    assert!(err.contains("lists 60000001 actors, over 1024 (the limit)"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "refused without reading them");
    let mut chunk = Chunk::parse(&sample().to_automerge());
    chunk.empty_actors = 1_023;
    assert!(footprint::measure(&chunk.seal(), &Limits::default()).is_ok(), "1,024 actors are within the limit");
}

/// A group column (how many successors each operation has) that counts more items than the limit.
#[test]
fn groups_counting_more_items_than_the_limit_are_refused() {
    let bomb = with_op_value(GROUP, 1 << 40);
    let err = footprint::measure(&bomb, &Limits::default()).unwrap_err();
    assert!(err.contains("a group column counts over 400000 items"), "{err}");
}
