//! Immutable segment files: the events of one log group flushed out of the in-memory head,
//! grouped by stream, stored column by column.
//!
//! Layout (version 3): `NPSEG003` magic, CRC32 of the rest (u32 LE), a varint header (stream
//! names and event counts, the compressed length of each column, then per message block its
//! compressed length and bloom size), four zstd frames — timestamps, ingestion times and seqs
//! (zigzag deltas), message lengths — then per block of [`BLOCK_EVENTS`] events the block's
//! messages concatenated (one zstd frame) and a bloom filter of every 3-byte window of those
//! messages. Decoding inflates the small columns at once and a block's messages only when an
//! event of it is read; a scan for literal terms skips every block whose bloom rules a term out,
//! without decompressing it. Reads look at events in place ([`EventRef`]), no per-event
//! allocation.

use crate::state::Event;
use nephoscope_storage::codec::{DecodeError, Reader, Writer};
use std::ops::Range;

const MAGIC: &[u8; 8] = b"NPSEG003";
/// Events per message block (the unit of lazy decompression and bloom pruning).
pub const BLOCK_EVENTS: usize = 16_384;
/// Bloom bits per distinct trigram, and probes per trigram. A term of n bytes has n − 2
/// trigrams that must all hit, so even a loose per-trigram rate prunes well.
const BLOOM_BITS_PER_KEY: usize = 5;
const BLOOM_PROBES: u32 = 2;
const ZSTD_LEVEL: i32 = 3;

/// What the catalog keeps of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentMeta {
    /// Blob key.
    pub key: String,
    pub min_ts: i64,
    pub max_ts: i64,
    pub count: u64,
    /// Uncompressed message bytes.
    pub raw_bytes: u64,
    /// Compressed file size.
    pub file_bytes: u64,
    /// Highest event seq in the segment; the head keeps only events above it.
    pub max_seq: u64,
    pub streams: Vec<String>,
}

/// An event seen in place, in a head or a decoded segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRef<'a> {
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub seq: u64,
    pub message: &'a str,
}

impl<'a> From<&'a Event> for EventRef<'a> {
    fn from(e: &'a Event) -> Self {
        EventRef {
            timestamp: e.timestamp,
            ingestion_time: e.ingestion_time,
            seq: e.seq,
            message: &e.message,
        }
    }
}

impl EventRef<'_> {
    pub fn to_event(self) -> Event {
        Event {
            timestamp: self.timestamp,
            ingestion_time: self.ingestion_time,
            seq: self.seq,
            message: self.message.into(),
        }
    }
}

/// One block of messages: compressed until first read.
#[derive(Debug)]
struct Block {
    compressed: Vec<u8>,
    bloom: Vec<u64>,
    text: std::sync::OnceLock<String>,
}

/// A decoded segment: flat columns, each stream a contiguous range sorted by (timestamp, seq);
/// message blocks inflate on first use.
#[derive(Debug, Default)]
pub struct Decoded {
    key: String,
    pub streams: Vec<(String, Range<usize>)>,
    timestamps: Vec<i64>,
    ingestion: Vec<i64>,
    seqs: Vec<u64>,
    /// `offsets[i]..offsets[i + 1]` is message i in the segment's message bytes.
    offsets: Vec<usize>,
    blocks: Vec<Block>,
}

fn trigram(w: &[u8]) -> u32 {
    (u32::from(w[0]) << 16) | (u32::from(w[1]) << 8) | u32::from(w[2])
}

fn probes(t: u32, bits: usize) -> impl Iterator<Item = usize> {
    let h = u64::from(t).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..BLOOM_PROBES).map(move |i| {
        let x = h
            .rotate_left(i * 29)
            .wrapping_mul(0xBF58_476D_1CE4_E5B9 | 1);
        ((x >> 17) as usize) & (bits - 1)
    })
}

fn bloom_of(messages: &[&[u8]]) -> Vec<u64> {
    // Distinct trigrams through a 2^24-bit presence map (2 MiB): far cheaper than hashing each
    // of the block's millions of windows into a set.
    let mut seen = vec![0u64; 1 << 18];
    for m in messages {
        for w in m.windows(3) {
            let t = trigram(w) as usize;
            seen[t / 64] |= 1 << (t % 64);
        }
    }
    let distinct: usize = seen.iter().map(|w| w.count_ones() as usize).sum();
    let bits = (distinct * BLOOM_BITS_PER_KEY).next_power_of_two().max(64);
    let mut words = vec![0u64; bits / 64];
    for (i, w) in seen.iter().enumerate() {
        let mut w = *w;
        while w != 0 {
            let t = (i * 64 + w.trailing_zeros() as usize) as u32;
            w &= w - 1;
            for b in probes(t, bits) {
                words[b / 64] |= 1 << (b % 64);
            }
        }
    }
    words
}

/// Whether every 3-byte window of `term` may be in the block (terms shorter than 3 bytes
/// always may).
fn bloom_may_contain(bloom: &[u64], term: &[u8]) -> bool {
    let bits = bloom.len() * 64;
    term.windows(3)
        .all(|w| probes(trigram(w), bits).all(|b| bloom[b / 64] & (1 << (b % 64)) != 0))
}

impl Decoded {
    pub fn size(&self) -> usize {
        // Counted as if every block were inflated: the cache must not be surprised later.
        self.offsets.last().copied().unwrap_or_default() + self.timestamps.len() * 40
    }

    /// The block holding event `i`.
    pub fn block_of(i: usize) -> usize {
        i / BLOCK_EVENTS
    }

    /// The event index where the block after event `i`'s block starts.
    pub fn block_end(&self, i: usize) -> usize {
        ((Self::block_of(i) + 1) * BLOCK_EVENTS).min(self.len())
    }

    /// Whether event `i`'s block may contain all of `terms` (by its bloom filter).
    pub fn may_contain(&self, i: usize, terms: &[String]) -> bool {
        let b = &self.blocks[Self::block_of(i)];
        terms
            .iter()
            .all(|t| bloom_may_contain(&b.bloom, t.as_bytes()))
    }

    fn text(&self, block: usize) -> &str {
        let b = &self.blocks[block];
        b.text.get_or_init(|| {
            let first = block * BLOCK_EVENTS;
            let last = ((block + 1) * BLOCK_EVENTS).min(self.len());
            let want = self.offsets[last] - self.offsets[first];
            match zstd::bulk::decompress(&b.compressed, want.max(64)) {
                Ok(bytes) if bytes.len() == want => match String::from_utf8(bytes) {
                    Ok(t) => t,
                    Err(_) => corrupt_block(&self.key, block),
                },
                _ => corrupt_block(&self.key, block),
            }
        })
    }

    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    pub fn event(&self, i: usize) -> EventRef<'_> {
        let block = Self::block_of(i);
        let base = self.offsets[block * BLOCK_EVENTS];
        let text = self.text(block);
        EventRef {
            timestamp: self.timestamps[i],
            ingestion_time: self.ingestion[i],
            seq: self.seqs[i],
            message: text
                .get(self.offsets[i] - base..self.offsets[i + 1] - base)
                .unwrap_or_default(),
        }
    }

    pub fn timestamp(&self, i: usize) -> i64 {
        self.timestamps[i]
    }

    pub fn seq(&self, i: usize) -> u64 {
        self.seqs[i]
    }

    /// The range of `stream`'s events, if the segment has any.
    pub fn stream(&self, name: &str) -> Option<Range<usize>> {
        self.streams
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone())
    }
}

/// A block that passed its file's checksum yet does not inflate: only a bug can cause it. Its
/// events read as empty messages rather than taking the server down; the log says which.
fn corrupt_block(key: &str, block: usize) -> String {
    tracing::error!(
        segment = key,
        block,
        "segment block does not inflate; its messages read empty"
    );
    String::new()
}

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("segment {0}: not a segment file of a known version")]
    Magic(String),
    #[error("segment {0}: checksum mismatch")]
    Checksum(String),
    #[error("segment {0}: {1}")]
    Corrupt(String, String),
}

fn compress(w: &Writer) -> std::io::Result<Vec<u8>> {
    zstd::bulk::compress(&w.buf, ZSTD_LEVEL)
}

/// Encodes the events of several streams (each sorted) into a segment file and its metadata.
pub fn encode(
    key: &str,
    streams: &[(String, Vec<Event>)],
) -> std::io::Result<(Vec<u8>, SegmentMeta)> {
    let mut meta = SegmentMeta {
        key: key.to_string(),
        min_ts: i64::MAX,
        max_ts: i64::MIN,
        count: 0,
        raw_bytes: 0,
        file_bytes: 0,
        max_seq: 0,
        streams: Vec::new(),
    };
    let (mut ts_col, mut ing_col, mut seq_col, mut len_col) = (
        Writer::default(),
        Writer::default(),
        Writer::default(),
        Writer::default(),
    );
    let mut all: Vec<&[u8]> = Vec::new();
    let (mut ts, mut ing, mut seq) = (0i64, 0i64, 0u64);
    let mut header = Writer::default();
    header.u64(streams.len() as u64);
    for (name, events) in streams {
        header.str(name);
        header.u64(events.len() as u64);
        for e in events {
            ts_col.i64(e.timestamp.wrapping_sub(ts));
            ing_col.i64(e.ingestion_time.wrapping_sub(ing));
            seq_col.i64(e.seq.wrapping_sub(seq) as i64);
            len_col.u64(e.message.len() as u64);
            all.push(e.message.as_bytes());
            (ts, ing, seq) = (e.timestamp, e.ingestion_time, e.seq);
            meta.min_ts = meta.min_ts.min(e.timestamp);
            meta.max_ts = meta.max_ts.max(e.timestamp);
            meta.max_seq = meta.max_seq.max(e.seq);
            meta.count += 1;
            meta.raw_bytes += e.message.len() as u64;
        }
        meta.streams.push(name.clone());
    }
    let columns = [
        compress(&ts_col)?,
        compress(&ing_col)?,
        compress(&seq_col)?,
        compress(&len_col)?,
    ];
    for c in &columns {
        header.u64(c.len() as u64);
    }
    let mut blocks = Vec::new();
    for chunk in all.chunks(BLOCK_EVENTS) {
        let text: Vec<u8> = chunk.concat();
        let frame = zstd::bulk::compress(&text, ZSTD_LEVEL)?;
        let bloom = bloom_of(chunk);
        header.u64(frame.len() as u64);
        header.u64(bloom.len() as u64);
        blocks.push((frame, bloom));
    }
    let mut body = Vec::new();
    body.extend_from_slice(&(header.buf.len() as u32).to_le_bytes());
    body.extend_from_slice(&header.buf);
    for c in &columns {
        body.extend_from_slice(c);
    }
    for (frame, bloom) in &blocks {
        body.extend_from_slice(frame);
        for w in bloom {
            body.extend_from_slice(&w.to_le_bytes());
        }
    }
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    meta.file_bytes = out.len() as u64;
    Ok((out, meta))
}

pub fn decode(key: &str, data: &[u8], raw_bytes_hint: u64) -> Result<Decoded, SegmentError> {
    if data.len() < 16 || &data[..8] != MAGIC {
        return Err(SegmentError::Magic(key.into()));
    }
    let crc = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
    let body = &data[12..];
    if crc32fast::hash(body) != crc {
        return Err(SegmentError::Checksum(key.into()));
    }
    let corrupt = |e: String| SegmentError::Corrupt(key.into(), e);
    let codec = |e: DecodeError| corrupt(e.to_string());
    let hlen = u32::from_le_bytes(body[..4].try_into().expect("4 bytes")) as usize;
    let header = body
        .get(4..4 + hlen)
        .ok_or_else(|| corrupt("short header".into()))?;
    let mut h = Reader::new(header);
    let mut streams = Vec::new();
    let mut total = 0usize;
    for _ in 0..h.u64().map_err(codec)? {
        let name = h.str().map_err(codec)?;
        let n = h.u64().map_err(codec)? as usize;
        streams.push((name, total..total + n));
        total += n;
    }
    let mut lens = [0usize; 4];
    for l in &mut lens {
        *l = h.u64().map_err(codec)? as usize;
    }
    let n_blocks = total.div_ceil(BLOCK_EVENTS);
    let mut block_lens = Vec::with_capacity(n_blocks);
    for _ in 0..n_blocks {
        block_lens.push((
            h.u64().map_err(codec)? as usize,
            h.u64().map_err(codec)? as usize,
        ));
    }
    let mut at = 4 + hlen;
    let mut frames = Vec::with_capacity(4);
    for l in lens {
        let f = body
            .get(at..at + l)
            .ok_or_else(|| corrupt("short column".into()))?;
        frames.push(f);
        at += l;
    }
    // Varint columns take at most 10 bytes a value.
    let inflate = |f: &[u8], cap: usize| {
        zstd::bulk::decompress(f, cap.max(64)).map_err(|e| corrupt(e.to_string()))
    };
    let deltas = |f: &[u8]| -> Result<Vec<i64>, SegmentError> {
        let raw = inflate(f, total * 10)?;
        let mut r = Reader::new(&raw);
        let mut out = Vec::with_capacity(total);
        let mut acc = 0i64;
        for _ in 0..total {
            acc = acc.wrapping_add(r.i64().map_err(codec)?);
            out.push(acc);
        }
        Ok(out)
    };
    let timestamps = deltas(frames[0])?;
    let ingestion = deltas(frames[1])?;
    let seqs = deltas(frames[2])?.into_iter().map(|s| s as u64).collect();
    let raw_lens = inflate(frames[3], total * 10)?;
    let mut r = Reader::new(&raw_lens);
    let mut offsets = Vec::with_capacity(total + 1);
    offsets.push(0usize);
    for _ in 0..total {
        let l = r.u64().map_err(codec)? as usize;
        offsets.push(offsets.last().copied().unwrap_or_default() + l);
    }
    let mut blocks = Vec::with_capacity(n_blocks);
    for (frame_len, bloom_words) in block_lens {
        let compressed = body
            .get(at..at + frame_len)
            .ok_or_else(|| corrupt("short message block".into()))?
            .to_vec();
        at += frame_len;
        let bloom_bytes = body
            .get(at..at + bloom_words * 8)
            .ok_or_else(|| corrupt("short bloom filter".into()))?;
        at += bloom_words * 8;
        if bloom_words == 0 || !bloom_words.is_power_of_two() {
            return Err(corrupt("bad bloom filter size".into()));
        }
        let bloom = bloom_bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        blocks.push(Block {
            compressed,
            bloom,
            text: std::sync::OnceLock::new(),
        });
    }
    let _ = raw_bytes_hint;
    Ok(Decoded {
        key: key.to_string(),
        streams,
        timestamps,
        ingestion,
        seqs,
        offsets,
        blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64, seq: u64, m: &str) -> Event {
        Event {
            timestamp: ts,
            ingestion_time: ts + 5,
            seq,
            message: m.into(),
        }
    }

    #[test]
    fn round_trip_and_metadata() {
        let streams = vec![
            ("a".to_string(), vec![ev(10, 1, "x"), ev(30, 4, "yy")]),
            ("b".to_string(), vec![ev(-5, 2, ""), ev(20, 3, "ü")]),
        ];
        let (bytes, meta) = encode("k", &streams).unwrap();
        assert_eq!(
            (meta.min_ts, meta.max_ts, meta.count, meta.max_seq),
            (-5, 30, 4, 4)
        );
        assert_eq!(meta.streams, vec!["a", "b"]);
        let d = decode("k", &bytes, meta.raw_bytes).unwrap();
        for (name, events) in &streams {
            let r = d.stream(name).unwrap();
            let got: Vec<Event> = r.map(|i| d.event(i).to_event()).collect();
            assert_eq!(&got, events);
        }
        assert!(d.stream("c").is_none());
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            decode("k", &bad, 0),
            Err(SegmentError::Checksum(_))
        ));
        assert!(matches!(
            decode("k", b"nope", 0),
            Err(SegmentError::Magic(_))
        ));
    }

    #[test]
    fn empty_segment_round_trips() {
        let (bytes, meta) = encode("k", &[]).unwrap();
        assert_eq!(meta.count, 0);
        assert!(decode("k", &bytes, 0).unwrap().is_empty());
    }
}
