//! Block files: a checkpoint (snapshot format 4) stores each sealed block once, in a block file
//! beside the snapshots, and refers to it by (file, offset, length) from then on. Blocks never
//! change, so a checkpoint writes only the blocks sealed since the last one, the heads and the
//! references: its cost follows what changed, not the size of the state.
//!
//! A block file is written whole and made durable before the checkpoint that refers to it; a
//! file no checkpoint refers to any more is deleted after the next one is durable. Rollups and
//! compaction replace blocks, leaving dead bytes behind: when less than half of a file is still
//! referenced, the next checkpoint writes its live blocks again into its new file, so the files
//! hold at most about twice the live blocks.
//!
//! Blocks are written in [`Block::encode_compact`]'s encoding (bins as key steps and whole
//! counts); block files from before it hold the row-by-row one, which still reads.

use crate::block::{Block, Stored};
use crate::State;
use nephoscope_storage::blob::BlobStore;
use nephoscope_storage::codec::{DecodeError, Reader, Writer};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

pub const BLOCKS: &str = "blocks/";

fn key(n: u64) -> String {
    format!("{BLOCKS}{n:016}.blk")
}

/// The block files on disk: their sizes, and the number the next one gets.
#[derive(Debug, Default)]
pub struct BlockFiles {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Block file number → its size in bytes.
    sizes: BTreeMap<u64, u64>,
    next: u64,
    /// The files the latest checkpoint refers to, until [`BlockFiles::collect`] runs.
    referenced: Option<BTreeSet<u64>>,
}

impl BlockFiles {
    /// Reads every block file: the files, and each one's bytes for decoding the checkpoint.
    pub fn load(blobs: &dyn BlobStore) -> std::io::Result<(BlockFiles, BTreeMap<u64, Vec<u8>>)> {
        let mut files = BTreeMap::new();
        for k in blobs.list(BLOCKS)? {
            let n = k
                .trim_start_matches(BLOCKS)
                .trim_end_matches(".blk")
                .parse()
                .map_err(|_| std::io::Error::other(format!("bad block file name {k}")))?;
            files.insert(n, blobs.get(&k)?);
        }
        let inner = Inner {
            sizes: files.iter().map(|(n, b)| (*n, b.len() as u64)).collect(),
            next: files.keys().next_back().map_or(1, |n| n + 1),
            referenced: None,
        };
        Ok((
            BlockFiles {
                inner: Mutex::new(inner),
            },
            files,
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `state` as a checkpoint in format 4. Blocks not stored yet, and the live blocks of
    /// files mostly dead, go into one new block file, durable before this returns; each then
    /// remembers its place. Checkpoints must not run concurrently.
    pub fn encode(&self, blobs: &dyn BlobStore, state: &State) -> std::io::Result<Vec<u8>> {
        let sizes = self.lock().sizes.clone();
        let mut live: BTreeMap<u64, u64> = BTreeMap::new();
        for_each_block(state, |b| {
            if let Some(at) = b.stored() {
                *live.entry(at.file).or_default() += at.len;
            }
        });
        let rewrite: BTreeSet<u64> = live
            .iter()
            .filter(|(n, bytes)| sizes.get(n).is_none_or(|size| **bytes * 2 < *size))
            .map(|(n, _)| *n)
            .collect();
        let file = self.lock().next;
        let mut out = Writer::default();
        let mut placed: Vec<(Arc<Block>, Stored)> = Vec::new();
        let mut referenced = BTreeSet::new();
        let snapshot = state.encode_snapshot_as(4, &mut |b, w| {
            let at = match b.stored() {
                Some(at) if !rewrite.contains(&at.file) => at,
                _ => {
                    let offset = out.buf.len() as u64;
                    b.encode_compact(&mut out);
                    let at = Stored {
                        file,
                        offset,
                        len: out.buf.len() as u64 - offset,
                    };
                    placed.push((b.clone(), at));
                    at
                }
            };
            referenced.insert(at.file);
            w.u64(at.file);
            w.u64(at.offset);
            w.u64(at.len);
        });
        if !placed.is_empty() {
            blobs.put(&key(file), &out.buf)?;
            let mut inner = self.lock();
            inner.sizes.insert(file, out.buf.len() as u64);
            inner.next = file + 1;
        }
        for (b, at) in placed {
            b.set_stored(at);
        }
        self.lock().referenced = Some(referenced);
        Ok(snapshot)
    }

    /// After the checkpoint [`BlockFiles::encode`] made is durable: deletes the block files it
    /// does not refer to.
    pub fn collect(&self, blobs: &dyn BlobStore) -> std::io::Result<()> {
        let Some(referenced) = self.lock().referenced.take() else {
            return Ok(());
        };
        let dead: Vec<u64> = self
            .lock()
            .sizes
            .keys()
            .filter(|n| !referenced.contains(n))
            .copied()
            .collect();
        for n in dead {
            blobs.delete(&key(n))?;
            self.lock().sizes.remove(&n);
        }
        Ok(())
    }

    /// Block file numbers and sizes (for tests and inspection).
    pub fn sizes(&self) -> BTreeMap<u64, u64> {
        self.lock().sizes.clone()
    }
}

fn for_each_block(state: &State, mut f: impl FnMut(&Arc<Block>)) {
    for series in state.scopes.values() {
        for s in series.values() {
            s.blocks.iter().for_each(&mut f);
        }
    }
}

/// A format-4 block reference read from a checkpoint, and the block it names in `files`.
pub(crate) fn decode_block(
    r: &mut Reader<'_>,
    files: &BTreeMap<u64, Vec<u8>>,
) -> Result<Block, DecodeError> {
    let at = Stored {
        file: r.u64()?,
        offset: r.u64()?,
        len: r.u64()?,
    };
    let bytes = usize::try_from(at.offset)
        .ok()
        .zip(usize::try_from(at.len).ok())
        .and_then(|(o, l)| files.get(&at.file)?.get(o..o.checked_add(l)?))
        .ok_or(DecodeError(0))?;
    let b = Block::decode_stored(bytes)?;
    b.set_stored(at);
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Agg;

    /// A checkpoint's block reference reads the block from its file in either encoding: the
    /// compact one written now, or the row-by-row one of block files written before it.
    #[test]
    fn block_references_read_both_block_encodings() {
        let aggs: Vec<Agg> = (0..60)
            .map(|t| {
                let mut a = Agg::default();
                a.add_ones(
                    &(0..150)
                        .map(|i| f64::from(i * (t + 1)) / 3.0)
                        .collect::<Vec<_>>(),
                );
                a
            })
            .collect();
        let block = Block::from_rows(
            aggs.iter()
                .enumerate()
                .map(|(t, a)| (t as i64 * 60_000, "Milliseconds", a.view())),
        );
        let (mut compact, mut old) = (Writer::default(), Writer::default());
        block.encode_compact(&mut compact);
        block.encode(&mut old);
        for bytes in [compact.buf, old.buf] {
            // The block lies after 3 other bytes of file 7.
            let file = [vec![1, 2, 3], bytes.clone()].concat();
            let files = BTreeMap::from([(7u64, file)]);
            let mut reference = Writer::default();
            for x in [7, 3, bytes.len() as u64] {
                reference.u64(x);
            }
            let b = decode_block(&mut Reader::new(&reference.buf), &files).unwrap();
            assert_eq!(b, block);
            assert_eq!(
                b.stored(),
                Some(Stored {
                    file: 7,
                    offset: 3,
                    len: bytes.len() as u64
                })
            );
            // A length one short does not read.
            let mut short = Writer::default();
            for x in [7, 3, bytes.len() as u64 - 1] {
                short.u64(x);
            }
            assert!(decode_block(&mut Reader::new(&short.buf), &files).is_err());
        }
    }
}
