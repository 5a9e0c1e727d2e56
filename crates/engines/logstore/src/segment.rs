//! Immutable segment files: the events of one log group flushed out of the in-memory head,
//! grouped by stream, stored column by column.
//!
//! Layout (version 6): `NPSEG006` magic, CRC32 of the rest (u32 LE), the header's length (u32
//! LE), a varint header (stream names and event counts; the compressed length of each column;
//! the blocks per stripe; per message block its event count, compressed length, word-bloom size,
//! field-frame length and flat-message code — 0 none, 1 all, 2 a bitmap; per stripe its
//! trigram-bloom size), four zstd frames — timestamps, ingestion times and seqs (zigzag deltas),
//! message lengths — then per message block its messages concatenated (one zstd frame), its word
//! bloom, its discovered-field frame ([`crate::fields`], empty without columns) and, for code 2,
//! one bit per message telling whether it is a flat JSON object ([`crate::flat`]), then per
//! stripe its trigram bloom. Version 5 has no flat-message codes, version 4 no field frames.
//! Version 7 is version 6 with one more varint first in the header, the message blocks' codec
//! ([`Codec`]): `1` LZ4 (a raw LZ4 block per message block; the writer uses version 6 for zstd,
//! so zstd files stay as they were).
//!
//! A message block holds up to [`BLOCK_EVENTS`] events or about [`BLOCK_BYTES`] of messages, so
//! its text stays cache-sized and a bloom can rule it out precisely. Two blooms decide whether a
//! scan for a literal term decompresses a block:
//! * the **word bloom** of the block holds the first [`WORD_PREFIX`] bytes of every word
//!   (maximal run of ASCII alphanumerics, `_` and non-ASCII bytes) of its messages. A word of
//!   the term that a separator precedes inside the term must start a word of a matching
//!   message, so its prefix must be in the bloom (e.g. `04242` of `"user-04242"`, the middle
//!   groups of a UUID). Terms match as substrings, so the term's first word proves nothing.
//! * the **trigram bloom** of a stripe of [`STRIPE_BLOCKS`] blocks holds every 3-byte window:
//!   it rules out words absent from a whole stripe (`ERROR` in a quiet stream).
//!
//! Version 3 files (`NPSEG003`: blocks of 16,384 events, each with a trigram bloom and no word
//! bloom) are still read. Decoding inflates the small columns at once and keeps the file's bytes;
//! message blocks inflate when an event is read, or into a caller's scratch buffer during scans.
//! Reads look at events in place ([`EventRef`]), no per-event allocation.

use crate::fields::{self, BlockFields, FieldExtractor};
use crate::flat::FlatFlags;
use crate::state::Event;
use nephoscope_storage::codec::{DecodeError, Reader, Writer};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

const MAGIC_V7: &[u8; 8] = b"NPSEG007";
const MAGIC: &[u8; 8] = b"NPSEG006";
const MAGIC_V5: &[u8; 8] = b"NPSEG005";
const MAGIC_V4: &[u8; 8] = b"NPSEG004";
const MAGIC_V3: &[u8; 8] = b"NPSEG003";
/// Most events in a message block (the unit of decompression and word-bloom pruning).
pub const BLOCK_EVENTS: usize = 2_048;
/// A block ends once its messages reach this many bytes.
pub const BLOCK_BYTES: usize = 1 << 20;
/// Blocks sharing one trigram bloom.
pub const STRIPE_BLOCKS: usize = 8;
/// Bytes of each word kept in the word bloom.
pub const WORD_PREFIX: usize = 5;
/// Events per block of a version 3 file.
const V3_BLOCK_EVENTS: usize = 16_384;
/// Trigram bloom bits per distinct trigram, and probes per trigram. A term of n bytes has n − 2
/// trigrams that must all hit, so even a loose per-trigram rate prunes well.
const BLOOM_BITS_PER_KEY: usize = 5;
const BLOOM_PROBES: u32 = 2;
/// Word bloom bits per distinct word prefix (two probes: ~25 % false positives for a single
/// prefix, ~0.4 % for the four of a UUID). About 7 distinct prefixes an event on access logs
/// make this ~2.7 bytes an event, inside the 60 bytes an event the store allows itself.
const WORD_BITS_PER_KEY: f64 = 3.0;
/// Largest field frame a reader inflates.
const MAX_FIELDS_FRAME: u64 = 256 << 20;
/// zstd level of the small columns.
const COLUMN_LEVEL: i32 = 3;
/// zstd level of message blocks. On log lines level 1 compresses better than 3, 1.7× faster,
/// and decompresses ~15 % faster, which is what a scan waits on (measured in
/// docs/dev/benchmarks.md).
const MESSAGE_LEVEL: i32 = 1;

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

/// How a segment's message blocks are compressed (its small columns, field frames and blooms
/// do not depend on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    /// zstd level 1: the smaller files (about 6.8× on JSON access logs).
    #[default]
    Zstd,
    /// LZ4: files about 1.8× larger, blocks inflating 3–4× faster (hot segments).
    Lz4,
}

impl Codec {
    const LZ4: u64 = 1;
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

/// One block of messages: where its frame and word bloom lie in the file; inflated on first
/// read through [`Decoded::event`].
#[derive(Debug)]
struct Block {
    frame: Range<usize>,
    /// Empty for version 3 files (no word bloom: every word may be present).
    words: Range<usize>,
    /// The discovered-field frame ([`crate::fields`]); empty before version 5 or without an
    /// extractor.
    fields: Range<usize>,
    /// Which of its messages are flat JSON objects ([`crate::flat`]).
    flat: Flat,
    text: std::sync::OnceLock<String>,
}

/// A block's flat-message flags as the file holds them.
#[derive(Debug, Clone)]
enum Flat {
    /// None (also every block of a file before version 6).
    None,
    All,
    /// A bitmap in the file, bit `i % 8` of byte `i / 8` for the block's message `i`.
    Bits(Range<usize>),
}

/// Header codes of [`Flat`].
const FLAT_NONE: u64 = 0;
const FLAT_ALL: u64 = 1;
const FLAT_BITS: u64 = 2;

/// A decoded segment: flat columns, each stream a contiguous range sorted by (timestamp, seq);
/// message blocks inflate on use.
#[derive(Debug, Default)]
pub struct Decoded {
    key: String,
    pub streams: Vec<(String, Range<usize>)>,
    timestamps: Vec<i64>,
    ingestion: Vec<i64>,
    seqs: Vec<u64>,
    /// `offsets[i]..offsets[i + 1]` is message i in the segment's message bytes.
    offsets: Vec<usize>,
    /// The file: frames and blooms are read where they lie.
    file: Vec<u8>,
    blocks: Vec<Block>,
    /// `block_starts[b]..block_starts[b + 1]` are block b's events.
    block_starts: Vec<usize>,
    /// Per block, the lowest sequence number of its events.
    block_min_seqs: Vec<u64>,
    /// The events of every block but the last, when they are all the same (the usual case):
    /// finding an event's block is then a division.
    uniform: Option<usize>,
    stripe_blocks: usize,
    /// Per stripe, where its trigram bloom lies in the file.
    trigrams: Vec<Range<usize>>,
    /// Bytes of the blocks kept inflated and of the field columns kept decoded.
    inflated: std::sync::atomic::AtomicUsize,
    /// Per block, the field columns readers asked for ([`Decoded::block_columns`]).
    kept: std::sync::Mutex<ColumnCache>,
    /// The message blocks' codec.
    codec: Codec,
}

/// Most field lists whose columns a block keeps.
const KEPT_LISTS: usize = 4;

/// A block's decoded columns of some fields (`None`: absent from every event).
pub type KeptColumns = Arc<Vec<Option<fields::ColumnData>>>;
/// Per block, per list of fields, their columns (`None`: not all kept by the block).
type ColumnCache = HashMap<usize, Vec<(String, Option<KeptColumns>)>>;

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

fn trigram_bloom(messages: &[&[u8]]) -> Vec<u64> {
    // Distinct trigrams through presence maps, far cheaper than hashing each of the stripe's
    // millions of windows into a set: ASCII trigrams (nearly all of a log's) in a 2^21-bit map
    // (256 KiB, stays in cache), the others in a 2^24-bit map made when the first one occurs.
    let mut ascii = vec![0u64; 1 << 15];
    let mut other: Vec<u64> = Vec::new();
    for m in messages {
        for w in m.windows(3) {
            if (w[0] | w[1] | w[2]) < 0x80 {
                let t = (usize::from(w[0]) << 14) | (usize::from(w[1]) << 7) | usize::from(w[2]);
                ascii[t / 64] |= 1 << (t % 64);
            } else {
                if other.is_empty() {
                    other = vec![0u64; 1 << 18];
                }
                let t = trigram(w) as usize;
                other[t / 64] |= 1 << (t % 64);
            }
        }
    }
    let distinct: usize = ascii
        .iter()
        .chain(&other)
        .map(|w| w.count_ones() as usize)
        .sum();
    let bits = (distinct * BLOOM_BITS_PER_KEY).next_power_of_two().max(64);
    let mut words = vec![0u64; bits / 64];
    let mut add = |t: u32| {
        for b in probes(t, bits) {
            words[b / 64] |= 1 << (b % 64);
        }
    };
    for_each_set_bit(&ascii, |t| {
        add(((t >> 14) << 16) | (((t >> 7) & 0x7F) << 8) | (t & 0x7F));
    });
    for_each_set_bit(&other, add);
    words
}

fn for_each_set_bit(map: &[u64], mut f: impl FnMut(u32)) {
    for (i, &w) in map.iter().enumerate() {
        let mut w = w;
        while w != 0 {
            f((i * 64 + w.trailing_zeros() as usize) as u32);
            w &= w - 1;
        }
    }
}

/// Bit `b` of a bloom stored little-endian at `bytes`.
fn bit(bytes: &[u8], b: usize) -> bool {
    bytes[b / 8] & (1 << (b % 8)) != 0
}

/// Whether every 3-byte window of `term` may be in the trigram bloom `bytes` (terms shorter
/// than 3 bytes always may).
fn trigrams_may_contain(bytes: &[u8], term: &[u8]) -> bool {
    let bits = bytes.len() * 8;
    term.windows(3)
        .all(|w| probes(trigram(w), bits).all(|b| bit(bytes, b)))
}

/// Whether a byte belongs to a word: ASCII alphanumerics, `_`, and every byte of a non-ASCII
/// character (so words never split a UTF-8 sequence).
const fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

static WORD_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = word_byte(i as u8);
        i += 1;
    }
    t
};

/// The hash of a word prefix (at most [`WORD_PREFIX`] bytes, packed with its length).
fn word_hash(w: &[u8]) -> u64 {
    let mut v = (w.len() as u64) << 56;
    for (i, &b) in w.iter().enumerate() {
        v |= u64::from(b) << (8 * i);
    }
    mix(v)
}

fn mix(v: u64) -> u64 {
    let h = (v ^ 0x5851_F42D_4C95_7F2D).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^ (h >> 31)
}

/// The two bit positions of a word hash in a bloom of `bits` bits (multiply-shift ranges, so
/// the size need not be a power of two).
fn word_probes(h: u64, bits: usize) -> [usize; 2] {
    let range = |x: u64| ((u128::from(x) * bits as u128) >> 64) as usize;
    [
        range(h),
        range(h.rotate_left(32).wrapping_mul(0xBF58_476D_1CE4_E5B9)),
    ]
}

/// Calls `f` with the hash of the word prefix of every word in `m` (as [`word_hash`]).
fn for_each_word_hash(m: &[u8], mut f: impl FnMut(u64)) {
    let n = m.len();
    let mut i = 0;
    while i < n {
        if !WORD_BYTE[m[i] as usize] {
            i += 1;
            continue;
        }
        let start = i;
        let stop = n.min(start + WORD_PREFIX);
        i += 1;
        while i < stop && WORD_BYTE[m[i] as usize] {
            i += 1;
        }
        let len = i - start;
        // The prefix from one unaligned load when eight bytes remain, masked to its length.
        f(match m.get(start..start + 8) {
            Some(w) => {
                let v = u64::from_le_bytes(w.try_into().expect("8 bytes"));
                mix((v & ((1u64 << (8 * len)) - 1)) | ((len as u64) << 56))
            }
            None => word_hash(&m[start..i]),
        });
        // The rest of a long word.
        while i < n && WORD_BYTE[m[i] as usize] {
            i += 1;
        }
    }
}

/// Builds word blooms, reusing its buffers from block to block.
struct WordBloomBuilder {
    hashes: Vec<u64>,
    /// Linear-counting bitmap: estimates how many distinct prefixes a block has.
    seen: Vec<u64>,
}

const SEEN_BITS: usize = 1 << 18;

impl WordBloomBuilder {
    fn new() -> Self {
        WordBloomBuilder {
            hashes: Vec::new(),
            seen: vec![0; SEEN_BITS / 64],
        }
    }

    fn build(&mut self, messages: &[&[u8]]) -> Vec<u64> {
        self.hashes.clear();
        self.seen.iter_mut().for_each(|w| *w = 0);
        for m in messages {
            for_each_word_hash(m, |h| {
                self.hashes.push(h);
                let b = (h >> 46) as usize; // 18 bits
                self.seen[b / 64] |= 1 << (b % 64);
            });
        }
        let set: usize = self.seen.iter().map(|w| w.count_ones() as usize).sum();
        let distinct = if set >= SEEN_BITS * 15 / 16 {
            self.hashes.len()
        } else {
            let m = SEEN_BITS as f64;
            (-m * (1.0 - set as f64 / m).ln()).ceil() as usize
        };
        let bits = ((distinct as f64 * WORD_BITS_PER_KEY) as usize)
            .div_ceil(64)
            .max(1)
            * 64;
        let mut bloom = vec![0u64; bits / 64];
        for &h in &self.hashes {
            for b in word_probes(h, bits) {
                bloom[b / 64] |= 1 << (b % 64);
            }
        }
        bloom
    }
}

/// The literal terms of a query, prepared once for every block's blooms.
#[derive(Debug, Default)]
pub struct Needles {
    terms: Vec<Vec<u8>>,
    /// Hashes of the word prefixes every matching message must contain.
    words: Vec<u64>,
}

impl Needles {
    /// `terms`: literal substrings every matching message contains.
    pub fn new(terms: &[String]) -> Needles {
        let mut words = Vec::new();
        for t in terms {
            let t = t.as_bytes();
            let mut i = 0;
            while i < t.len() {
                while i < t.len() && !WORD_BYTE[t[i] as usize] {
                    i += 1;
                }
                let start = i;
                while i < t.len() && WORD_BYTE[t[i] as usize] {
                    i += 1;
                }
                // A word the term's start cuts may continue leftwards in the message; one the
                // term's end cuts may continue rightwards, which its prefix tolerates once it
                // is a whole prefix long.
                let whole_prefix = i < t.len() || i - start >= WORD_PREFIX;
                if start > 0 && i > start && whole_prefix {
                    words.push(word_hash(&t[start..i.min(start + WORD_PREFIX)]));
                }
            }
        }
        Needles {
            terms: terms.iter().map(|t| t.as_bytes().to_vec()).collect(),
            words,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

fn le_words(bytes: &[u64]) -> impl Iterator<Item = u8> + '_ {
    bytes.iter().flat_map(|w| w.to_le_bytes())
}

impl Decoded {
    /// Memory held: the file, the per-event columns and the blocks inflated so far (scans
    /// inflate into their own buffers; single-event reads keep what they inflate).
    pub fn size(&self) -> usize {
        self.timestamps.len() * 32
            + self.block_min_seqs.len() * 8
            + self.file.len()
            + self.inflated.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The block holding event `i`.
    pub fn block_of(&self, i: usize) -> usize {
        match self.uniform {
            Some(n) => i / n,
            None => self.block_starts.partition_point(|&s| s <= i) - 1,
        }
    }

    /// Message blocks in the segment.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// The events of block `b`.
    pub fn block_events(&self, b: usize) -> Range<usize> {
        self.block_starts[b]..self.block_starts[b + 1]
    }

    /// Whether block `b` may contain all of `needles` (by its word bloom and its stripe's
    /// trigram bloom).
    pub fn block_may_contain(&self, b: usize, needles: &Needles) -> bool {
        let words = &self.file[self.blocks[b].words.clone()];
        if !words.is_empty() {
            let bits = words.len() * 8;
            if !needles
                .words
                .iter()
                .all(|&h| word_probes(h, bits).iter().all(|&p| bit(words, p)))
            {
                return false;
            }
        }
        let trigrams = &self.file[self.trigrams[b / self.stripe_blocks].clone()];
        needles
            .terms
            .iter()
            .all(|t| trigrams_may_contain(trigrams, t))
    }

    /// The messages of block `b` concatenated: the inflated text when an earlier read kept it,
    /// otherwise decompressed into `scratch` and not kept (a scan touches every block once, so
    /// keeping them would only grow memory) unless `scratch.keep`. Message `i` of the block is at
    /// [`Decoded::message_span`]. Not validated as UTF-8: callers check what they read.
    pub fn block_bytes<'a>(&'a self, b: usize, scratch: &'a mut Scratch) -> &'a [u8] {
        let block = &self.blocks[b];
        if let Some(t) = block.text.get() {
            return t.as_bytes();
        }
        if scratch.keep > 0 {
            scratch.keep -= 1;
            return self.text(b).as_bytes();
        }
        let r = self.block_events(b);
        let want = self.offsets[r.end] - self.offsets[r.start];
        let frame = &self.file[block.frame.clone()];
        if self.codec == Codec::Lz4 {
            if !lz4_fits(frame, want) {
                corrupt_block(&self.key, b);
                return &[];
            }
            // Into the buffer's first `want` bytes (only ever grown: no zeroing per block).
            if scratch.buf.len() < want {
                scratch.buf.resize(want, 0);
            }
            return match lz4_flex::block::decompress_into(frame, &mut scratch.buf[..want]) {
                Ok(n) if n == want => &scratch.buf[..want],
                _ => {
                    corrupt_block(&self.key, b);
                    &[]
                }
            };
        }
        if !declares(frame, want) {
            corrupt_block(&self.key, b);
            return &[];
        }
        scratch.buf.clear();
        scratch.buf.reserve(want);
        let dctx = match &mut scratch.dctx {
            Some(d) => d,
            None => match zstd::bulk::Decompressor::new() {
                Ok(d) => scratch.dctx.insert(d),
                Err(e) => {
                    tracing::error!(error = %e, "no zstd decompression context");
                    return &[];
                }
            },
        };
        match dctx.decompress_to_buffer(frame, &mut scratch.buf) {
            Ok(n) if n == want => &scratch.buf,
            _ => {
                corrupt_block(&self.key, b);
                &[]
            }
        }
    }

    /// The discovered-field columns of block `b` (those named in `wanted`, or all), if the
    /// segment keeps them (inflated through
    /// `scratch`'s context into a fresh buffer; `None` also for a frame that does not decode,
    /// which is logged: the caller then reads the messages).
    pub fn block_fields(
        &self,
        b: usize,
        wanted: Option<&[String]>,
        scratch: &mut Scratch,
    ) -> Option<BlockFields> {
        let block = &self.blocks[b];
        if block.fields.is_empty() {
            return None;
        }
        let n = self.block_events(b).len();
        let frame = &self.file[block.fields.clone()];
        let dctx = match &mut scratch.dctx {
            Some(d) => d,
            None => scratch.dctx.insert(zstd::bulk::Decompressor::new().ok()?),
        };
        // The writer declares the frame's size; a sane cap keeps a damaged one from asking for
        // an absurd buffer.
        let size = match zstd::zstd_safe::get_frame_content_size(frame) {
            Ok(Some(size)) if size <= MAX_FIELDS_FRAME => size as usize,
            _ => 0,
        };
        let decoded = (size > 0)
            .then(|| dctx.decompress(frame, size).ok())
            .flatten()
            .and_then(|raw| BlockFields::decode(&raw, n, wanted).ok());
        if decoded.is_none() {
            tracing::error!(
                segment = self.key.as_str(),
                block = b,
                "segment field columns do not decode; the block's messages are read instead"
            );
        }
        decoded
    }

    /// The columns of `wanted` in block `b` (`None` in the list: no event has the field), as
    /// [`BlockFields::into_columns`] takes them out of [`Decoded::block_fields`]; `None` when
    /// the block does not keep them all. Kept for the next reader asking for the same fields
    /// (`key` names the list), their memory counted in [`Decoded::size`].
    pub fn block_columns(
        &self,
        b: usize,
        wanted: &[String],
        key: &str,
        scratch: &mut Scratch,
    ) -> Option<KeptColumns> {
        let lock = || self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = lock()
            .get(&b)
            .and_then(|v| v.iter().find(|(k, _)| k == key))
        {
            return hit.1.clone();
        }
        let columns = self
            .block_fields(b, Some(wanted), scratch)
            .and_then(|f| f.into_columns(wanted))
            .map(Arc::new);
        let size = |key: &str, columns: &Option<KeptColumns>| {
            key.len()
                + 64
                + columns.as_ref().map_or(0, |c| {
                    c.iter()
                        .flatten()
                        .map(fields::ColumnData::size)
                        .sum::<usize>()
                })
        };
        self.inflated
            .fetch_add(size(key, &columns), std::sync::atomic::Ordering::Relaxed);
        let mut kept = lock();
        let lists = kept.entry(b).or_default();
        // A few field lists per block: the oldest makes room.
        if lists.len() >= KEPT_LISTS {
            let (k, c) = lists.remove(0);
            self.inflated
                .fetch_sub(size(&k, &c), std::sync::atomic::Ordering::Relaxed);
        }
        lists.push((key.to_string(), columns.clone()));
        columns
    }

    /// Pushes onto `out`, in order, the events of `events` (all in block `b`, whose bytes are
    /// `bytes`) whose message contains `finder`'s needle: one pass over the block's bytes instead
    /// of a search per message. An occurrence straddling two messages names the first, which
    /// the caller's full match then rejects; the search resumes at the next message, so no
    /// occurrence inside a message is missed.
    pub fn find_in_block(
        &self,
        b: usize,
        bytes: &[u8],
        events: Range<usize>,
        finder: &memchr::memmem::Finder<'_>,
        out: &mut Vec<usize>,
    ) {
        let base = self.offsets[self.block_starts[b]];
        if events.is_empty() || bytes.len() < self.offsets[events.end] - base {
            return;
        }
        let end = self.offsets[events.end] - base;
        let mut k = events.start;
        let mut at = self.offsets[k] - base;
        while let Some(p) = finder.find(&bytes[at..end]) {
            let pos = base + at + p;
            // The message holding `pos`: the last k' with offsets[k'] <= pos.
            k += self.offsets[k + 1..=events.end].partition_point(|&o| o <= pos);
            out.push(k);
            k += 1;
            if k >= events.end {
                break;
            }
            at = self.offsets[k] - base;
        }
    }

    /// Where event `i` (of block `b`) lies in its block's bytes ([`Decoded::block_bytes`]).
    pub fn message_span(&self, b: usize, i: usize) -> Range<usize> {
        let base = self.offsets[self.block_starts[b]];
        self.offsets[i] - base..self.offsets[i + 1] - base
    }

    /// Whether event `i` (of block `b`) was a flat JSON object when written ([`crate::flat`]);
    /// always `false` in files before version 6.
    pub fn is_flat(&self, b: usize, i: usize) -> bool {
        match &self.blocks[b].flat {
            Flat::None => false,
            Flat::All => true,
            Flat::Bits(r) => {
                let k = i - self.block_starts[b];
                self.file[r.clone()]
                    .get(k / 8)
                    .is_some_and(|byte| byte & (1 << (k % 8)) != 0)
            }
        }
    }

    fn text(&self, block: usize) -> &str {
        let b = &self.blocks[block];
        b.text.get_or_init(|| {
            let r = self.block_events(block);
            let want = self.offsets[r.end] - self.offsets[r.start];
            let frame = &self.file[b.frame.clone()];
            let inflated = match self.codec {
                Codec::Lz4 if lz4_fits(frame, want) => {
                    lz4_flex::block::decompress(frame, want).ok()
                }
                Codec::Lz4 => None,
                Codec::Zstd if declares(frame, want) => {
                    zstd::bulk::decompress(frame, want.max(64)).ok()
                }
                Codec::Zstd => None,
            };
            match inflated {
                Some(bytes) if bytes.len() == want => match String::from_utf8(bytes) {
                    Ok(t) => {
                        self.inflated
                            .fetch_add(t.len(), std::sync::atomic::Ordering::Relaxed);
                        t
                    }
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
        let block = self.block_of(i);
        let text = self.text(block);
        EventRef {
            timestamp: self.timestamps[i],
            ingestion_time: self.ingestion[i],
            seq: self.seqs[i],
            message: text.get(self.message_span(block, i)).unwrap_or_default(),
        }
    }

    pub fn timestamp(&self, i: usize) -> i64 {
        self.timestamps[i]
    }

    /// The timestamps of events `r`.
    pub fn timestamps(&self, r: Range<usize>) -> &[i64] {
        &self.timestamps[r]
    }

    /// The message offsets bounding events `r`: event `r.start + i`'s message is
    /// `offsets[i + 1] - offsets[i]` bytes long.
    pub fn offsets(&self, r: Range<usize>) -> &[usize] {
        &self.offsets[r.start..r.end + 1]
    }

    /// The lowest sequence number of block `b`'s events.
    pub fn block_min_seq(&self, b: usize) -> u64 {
        self.block_min_seqs[b]
    }

    /// The length (bytes) of event `i`'s message, from the length column alone.
    pub fn message_len(&self, i: usize) -> usize {
        self.offsets[i + 1] - self.offsets[i]
    }

    pub fn ingestion_time(&self, i: usize) -> i64 {
        self.ingestion[i]
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

/// Buffers reused across block reads: a decompression context (made on first use) and the
/// output it writes.
#[derive(Default)]
pub struct Scratch {
    dctx: Option<zstd::bulk::Decompressor<'static>>,
    buf: Vec<u8>,
    /// How many more blocks read are kept inflated in their segment (as single-event reads
    /// keep them), for reads that touch few blocks and come back to them.
    pub keep: usize,
}

/// Whether an LZ4 block of `frame.len()` bytes can hold `want` bytes (LZ4 inflates at most
/// about 255 times): checked before allocating for them, as [`declares`] for zstd.
fn lz4_fits(frame: &[u8], want: usize) -> bool {
    want <= frame.len().saturating_mul(256).saturating_add(64)
}

/// Whether `frame` says it holds `want` bytes: checked before allocating for them, so a
/// corrupt length column cannot ask for an absurd buffer.
fn declares(frame: &[u8], want: usize) -> bool {
    matches!(zstd::zstd_safe::get_frame_content_size(frame), Ok(Some(n)) if n == want as u64)
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

/// Encodes the events of several streams (each sorted) into a segment file and its metadata,
/// the message blocks compressed with `codec`.
pub fn encode(
    key: &str,
    streams: &[(String, Vec<Event>)],
    extractor: Option<&dyn FieldExtractor>,
    codec: Codec,
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
    // The same messages as text, for the flat-message flags (no second UTF-8 check).
    let mut texts: Vec<&str> = Vec::new();
    let (mut ts, mut ing, mut seq) = (0i64, 0i64, 0u64);
    let mut header = Writer::default();
    if codec == Codec::Lz4 {
        header.u64(Codec::LZ4);
    }
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
            texts.push(&e.message);
            (ts, ing, seq) = (e.timestamp, e.ingestion_time, e.seq);
            meta.min_ts = meta.min_ts.min(e.timestamp);
            meta.max_ts = meta.max_ts.max(e.timestamp);
            meta.max_seq = meta.max_seq.max(e.seq);
            meta.count += 1;
            meta.raw_bytes += e.message.len() as u64;
        }
        meta.streams.push(name.clone());
    }
    let mut column_cctx = zstd::bulk::Compressor::new(COLUMN_LEVEL)?;
    let columns = [
        column_cctx.compress(&ts_col.buf)?,
        column_cctx.compress(&ing_col.buf)?,
        column_cctx.compress(&seq_col.buf)?,
        column_cctx.compress(&len_col.buf)?,
    ];
    for c in &columns {
        header.u64(c.len() as u64);
    }
    // Cut the messages into blocks.
    let mut cuts = vec![0usize];
    let mut bytes = 0;
    for (i, m) in all.iter().enumerate() {
        bytes += m.len();
        if i + 1 - cuts[cuts.len() - 1] == BLOCK_EVENTS || bytes >= BLOCK_BYTES {
            cuts.push(i + 1);
            bytes = 0;
        }
    }
    if cuts[cuts.len() - 1] != all.len() {
        cuts.push(all.len());
    }
    let mut cctx = zstd::bulk::Compressor::new(MESSAGE_LEVEL)?;
    let mut words = WordBloomBuilder::new();
    let (mut text, mut frame) = (Vec::new(), Vec::new());
    // Frames and word blooms in file order, in one buffer rather than one allocation each.
    let mut blocks = Vec::new();
    header.u64(STRIPE_BLOCKS as u64);
    header.u64((cuts.len() - 1) as u64);
    for w in cuts.windows(2) {
        let chunk = &all[w[0]..w[1]];
        text.clear();
        for m in chunk {
            text.extend_from_slice(m);
        }
        frame.clear();
        match codec {
            Codec::Zstd => {
                frame.reserve(zstd::zstd_safe::compress_bound(text.len()));
                cctx.compress_to_buffer(&text, &mut frame)?;
            }
            Codec::Lz4 => {
                frame.resize(lz4_flex::block::get_maximum_output_size(text.len()), 0);
                let n = lz4_flex::block::compress_into(&text, &mut frame)
                    .map_err(std::io::Error::other)?;
                frame.truncate(n);
            }
        }
        let bloom = words.build(chunk);
        let fields = match extractor {
            Some(ex) => column_cctx.compress(&crate::fields::build(chunk, ex))?,
            None => Vec::new(),
        };
        let flat = FlatFlags::of(&texts[w[0]..w[1]]);
        header.u64(chunk.len() as u64);
        header.u64(frame.len() as u64);
        header.u64(bloom.len() as u64);
        header.u64(fields.len() as u64);
        header.u64(match flat {
            FlatFlags::None => FLAT_NONE,
            FlatFlags::All => FLAT_ALL,
            FlatFlags::Some(_) => FLAT_BITS,
        });
        blocks.extend_from_slice(&frame);
        blocks.extend(le_words(&bloom));
        blocks.extend_from_slice(&fields);
        if let FlatFlags::Some(bits) = &flat {
            blocks.extend_from_slice(bits);
        }
    }
    let stripes: Vec<Vec<u64>> = cuts
        .windows(2)
        .collect::<Vec<_>>()
        .chunks(STRIPE_BLOCKS)
        .map(|s| trigram_bloom(&all[s[0][0]..s[s.len() - 1][1]]))
        .collect();
    for s in &stripes {
        header.u64(s.len() as u64);
    }
    let size = 16
        + header.buf.len()
        + columns.iter().map(Vec::len).sum::<usize>()
        + blocks.len()
        + stripes.iter().map(|s| s.len() * 8).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(match codec {
        Codec::Zstd => MAGIC,
        Codec::Lz4 => MAGIC_V7,
    });
    out.extend_from_slice(&[0; 4]); // the checksum, once the rest is written
    out.extend_from_slice(&(header.buf.len() as u32).to_le_bytes());
    out.extend_from_slice(&header.buf);
    for c in &columns {
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&blocks);
    drop(blocks);
    for s in &stripes {
        out.extend(le_words(s));
    }
    let crc = crc32fast::hash(&out[12..]).to_le_bytes();
    out[8..12].copy_from_slice(&crc);
    meta.file_bytes = out.len() as u64;
    Ok((out, meta))
}

/// Decodes a segment file (version 6, or an older one: 5 without flat flags, 4 without field
/// frames, 3 without word blooms).
pub fn decode(key: &str, data: Vec<u8>) -> Result<Decoded, SegmentError> {
    let (v3, v5, v6, v7) = match data.get(..8) {
        Some(m) if m == MAGIC_V7 => (false, true, true, true),
        Some(m) if m == MAGIC => (false, true, true, false),
        Some(m) if m == MAGIC_V5 => (false, true, false, false),
        Some(m) if m == MAGIC_V4 => (false, false, false, false),
        Some(m) if m == MAGIC_V3 => (true, false, false, false),
        _ => return Err(SegmentError::Magic(key.into())),
    };
    if data.len() < 16 {
        return Err(SegmentError::Magic(key.into()));
    }
    let crc = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
    if crc32fast::hash(&data[12..]) != crc {
        return Err(SegmentError::Checksum(key.into()));
    }
    let corrupt = |e: &str| SegmentError::Corrupt(key.into(), e.into());
    let codec = |e: DecodeError| SegmentError::Corrupt(key.into(), e.to_string());
    let hlen = u32::from_le_bytes(data[12..16].try_into().expect("4 bytes")) as usize;
    let header = data
        .get(16..16 + hlen)
        .ok_or_else(|| corrupt("short header"))?;
    let mut h = Reader::new(header);
    let message_codec = if v7 {
        match h.u64().map_err(codec)? {
            Codec::LZ4 => Codec::Lz4,
            _ => return Err(corrupt("unknown message codec")),
        }
    } else {
        Codec::Zstd
    };
    let mut streams = Vec::new();
    let mut total = 0usize;
    for _ in 0..h.u64().map_err(codec)? {
        let name = h.str().map_err(codec)?;
        let n = h.u64().map_err(codec)? as usize;
        let end = total
            .checked_add(n)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| corrupt("event count"))?;
        streams.push((name, total..end));
        total = end;
    }
    let mut lens = [0usize; 4];
    for l in &mut lens {
        *l = h.u64().map_err(codec)? as usize;
    }
    // Cursor over the body after the header: hands out the next `len` bytes' range.
    let mut at = 16 + hlen;
    let mut take = |len: usize, what: &str| -> Result<Range<usize>, SegmentError> {
        let end = at
            .checked_add(len)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| corrupt(what))?;
        let r = at..end;
        at = end;
        Ok(r)
    };
    let mut frames = Vec::with_capacity(4);
    for l in lens {
        frames.push(take(l, "short column")?);
    }
    let mut blocks = Vec::new();
    let mut block_starts = vec![0usize];
    let mut trigrams = Vec::new();
    let bloom_words = |h: &mut Reader<'_>, pow2: bool| -> Result<usize, SegmentError> {
        let w = h.u64().map_err(codec)? as usize;
        if w == 0 || (pow2 && !w.is_power_of_two()) || w > data.len() / 8 {
            return Err(corrupt("bad bloom filter size"));
        }
        Ok(w)
    };
    let stripe_blocks = if v3 {
        for _ in 0..total.div_ceil(V3_BLOCK_EVENTS) {
            let frame_len = h.u64().map_err(codec)? as usize;
            let words = bloom_words(&mut h, true)?;
            let start = block_starts[block_starts.len() - 1];
            block_starts.push((start + V3_BLOCK_EVENTS).min(total));
            blocks.push(Block {
                frame: take(frame_len, "short message block")?,
                words: 0..0,
                fields: 0..0,
                flat: Flat::None,
                text: std::sync::OnceLock::new(),
            });
            trigrams.push(take(words * 8, "short bloom filter")?);
        }
        1
    } else {
        let stripe_blocks = h.u64().map_err(codec)? as usize;
        let n_blocks = h.u64().map_err(codec)? as usize;
        if stripe_blocks == 0 || n_blocks > total {
            return Err(corrupt("bad block layout"));
        }
        let mut layout = Vec::with_capacity(n_blocks);
        for _ in 0..n_blocks {
            let events = h.u64().map_err(codec)? as usize;
            let frame_len = h.u64().map_err(codec)? as usize;
            let words = bloom_words(&mut h, false)?;
            let fields_len = if v5 {
                h.u64().map_err(codec)? as usize
            } else {
                0
            };
            let flat = if v6 {
                h.u64().map_err(codec)?
            } else {
                FLAT_NONE
            };
            let start = block_starts[block_starts.len() - 1];
            if events == 0 || events > total - start {
                return Err(corrupt("bad block event count"));
            }
            if flat > FLAT_BITS {
                return Err(corrupt("bad flat-message flags"));
            }
            block_starts.push(start + events);
            layout.push((frame_len, words, fields_len, flat, events));
        }
        if block_starts[block_starts.len() - 1] != total {
            return Err(corrupt("blocks do not cover the events"));
        }
        for (frame_len, words, fields_len, flat, events) in layout {
            blocks.push(Block {
                frame: take(frame_len, "short message block")?,
                words: take(words * 8, "short bloom filter")?,
                fields: take(fields_len, "short field columns")?,
                flat: match flat {
                    FLAT_NONE => Flat::None,
                    FLAT_ALL => Flat::All,
                    _ => Flat::Bits(take(events.div_ceil(8), "short flat-message flags")?),
                },
                text: std::sync::OnceLock::new(),
            });
        }
        for _ in 0..n_blocks.div_ceil(stripe_blocks) {
            let words = bloom_words(&mut h, true)?;
            trigrams.push(take(words * 8, "short bloom filter")?);
        }
        stripe_blocks
    };
    // Varint columns take at most 10 bytes a value.
    let inflate = |f: &Range<usize>| {
        zstd::bulk::decompress(&data[f.clone()], (total * 10).max(64))
            .map_err(|e| corrupt(&e.to_string()))
    };
    let deltas = |f: &Range<usize>| -> Result<Vec<i64>, SegmentError> {
        let raw = inflate(f)?;
        let mut r = Reader::new(&raw);
        let mut out = Vec::with_capacity(total);
        let mut acc = 0i64;
        for _ in 0..total {
            acc = acc.wrapping_add(r.i64().map_err(codec)?);
            out.push(acc);
        }
        Ok(out)
    };
    let timestamps = deltas(&frames[0])?;
    let ingestion = deltas(&frames[1])?;
    let seqs: Vec<u64> = deltas(&frames[2])?.into_iter().map(|s| s as u64).collect();
    let raw_lens = inflate(&frames[3])?;
    let mut r = Reader::new(&raw_lens);
    let mut offsets = Vec::with_capacity(total + 1);
    offsets.push(0usize);
    for _ in 0..total {
        let l = r.u64().map_err(codec)? as usize;
        let next = offsets[offsets.len() - 1]
            .checked_add(l)
            .ok_or_else(|| corrupt("message lengths overflow"))?;
        offsets.push(next);
    }
    let first = block_starts.get(1).copied().unwrap_or_default();
    let uniform = (first > 0
        && block_starts
            .windows(2)
            .enumerate()
            .all(|(b, w)| w[0] == b * first && w[1] - w[0] <= first))
    .then_some(first);
    let block_min_seqs = block_starts
        .windows(2)
        .map(|w| seqs[w[0]..w[1]].iter().copied().min().unwrap_or(u64::MAX))
        .collect();
    Ok(Decoded {
        key: key.to_string(),
        block_min_seqs,
        uniform,
        streams,
        timestamps,
        ingestion,
        seqs,
        offsets,
        file: data,
        blocks,
        block_starts,
        stripe_blocks,
        trigrams,
        inflated: Default::default(),
        kept: Default::default(),
        codec: message_codec,
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
        let (bytes, meta) = encode("k", &streams, None, Codec::Zstd).unwrap();
        assert_eq!(
            (meta.min_ts, meta.max_ts, meta.count, meta.max_seq),
            (-5, 30, 4, 4)
        );
        assert_eq!(meta.streams, vec!["a", "b"]);
        let d = decode("k", bytes.clone()).unwrap();
        for (name, events) in &streams {
            let r = d.stream(name).unwrap();
            let got: Vec<Event> = r.map(|i| d.event(i).to_event()).collect();
            assert_eq!(&got, events);
        }
        assert!(d.stream("c").is_none());
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(decode("k", bad), Err(SegmentError::Checksum(_))));
        assert!(matches!(
            decode("k", b"nope".to_vec()),
            Err(SegmentError::Magic(_))
        ));
    }

    /// LZ4 message blocks (version 7) read as zstd ones do, event by event and block by block,
    /// through a scratch buffer that only grows (a long block, then shorter ones).
    #[test]
    fn lz4_files_read_as_zstd_files() {
        let big = "y".repeat(200_000);
        let mut a = access_log(4_500);
        a.push(ev(8_000, 8_000, "ünï-cödé"));
        a.extend((0..6).map(|i| ev(9_000 + i, 9_000 + i as u64, &big)));
        a.extend(access_log(30).into_iter().map(|mut e| {
            e.timestamp += 10_000;
            e.seq += 10_000;
            e
        }));
        let streams = vec![
            ("a".to_string(), a),
            ("b".to_string(), vec![ev(5, 50_000, "")]),
        ];
        let (z, zmeta) = encode("k", &streams, Some(&Words), Codec::Zstd).unwrap();
        let (l, lmeta) = encode("k", &streams, Some(&Words), Codec::Lz4).unwrap();
        assert_eq!(&z[..8], MAGIC);
        assert_eq!(&l[..8], MAGIC_V7);
        assert!(l.len() > z.len(), "{} vs {}", l.len(), z.len());
        assert_eq!(
            (zmeta.count, zmeta.raw_bytes, zmeta.max_seq),
            (lmeta.count, lmeta.raw_bytes, lmeta.max_seq)
        );
        let (dz, dl) = (decode("k", z).unwrap(), decode("k", l).unwrap());
        assert_eq!(dl.codec, Codec::Lz4);
        assert_eq!(dz.block_count(), dl.block_count());
        let (mut sz, mut sl) = (Scratch::default(), Scratch::default());
        for b in 0..dl.block_count() {
            let want = dz.block_bytes(b, &mut sz).to_vec();
            assert_eq!(dl.block_bytes(b, &mut sl), want.as_slice(), "block {b}");
            assert_eq!(
                dl.is_flat(b, dl.block_events(b).start),
                dz.is_flat(b, dz.block_events(b).start)
            );
        }
        for (name, events) in &streams {
            let got: Vec<Event> = dl
                .stream(name)
                .unwrap()
                .map(|i| dl.event(i).to_event())
                .collect();
            assert_eq!(&got, events);
        }
        // A codec this reader does not know is refused, not guessed.
        let mut unknown = encode("k", &streams, None, Codec::Lz4).unwrap().0;
        assert_eq!(unknown[16], 1);
        unknown[16] = 2;
        let crc = crc32fast::hash(&unknown[12..]).to_le_bytes();
        unknown[8..12].copy_from_slice(&crc);
        assert!(matches!(
            decode("k", unknown),
            Err(SegmentError::Corrupt(..))
        ));
    }

    /// Damage that keeps the checksum valid (as only a bug could) never panics: decoding
    /// fails, or every read answers something.
    #[test]
    fn damaged_files_with_valid_checksums_never_panic() {
        let mut events = access_log(2_100);
        events.push(ev(9_000, 9_000, "ünï-cödé"));
        let streams = vec![("a".to_string(), events), ("b".to_string(), access_log(3))];
        let (v6, _) = encode("k", &streams, Some(&Words), Codec::Zstd).unwrap();
        let v5 = downgrade(&v6, 5);
        let v4 = as_v4(&encode("k", &streams, None, Codec::Zstd).unwrap().0);
        let v3 = encode_v3(&streams);
        let v7 = encode("k", &streams, Some(&Words), Codec::Lz4).unwrap().0;
        let needles = Needles::new(&["user-00042".into(), "cödé".into()]);
        let finder = memchr::memmem::Finder::new("user");
        for file in [v7, v6, v5, v4, v3] {
            // Every byte of the header and columns, then a sample of the rest.
            let positions = (8..file.len().min(1_200)).chain((1_200..file.len()).step_by(1_499));
            for (n, at) in positions.enumerate() {
                let mut bad = file.clone();
                bad[at] ^= [0x01, 0x80, 0xFF, 0x10][n % 4];
                if at >= 12 {
                    let crc = crc32fast::hash(&bad[12..]).to_le_bytes();
                    bad[8..12].copy_from_slice(&crc);
                }
                let Ok(d) = decode("k", bad) else {
                    continue;
                };
                let mut scratch = Scratch::default();
                let mut out = Vec::new();
                for b in 0..d.block_count() {
                    d.block_may_contain(b, &needles);
                    let bytes = d.block_bytes(b, &mut scratch).to_vec();
                    d.find_in_block(b, &bytes, d.block_events(b), &finder, &mut out);
                    d.block_events(b).for_each(|i| {
                        d.is_flat(b, i);
                    });
                    if let Some(f) = d.block_fields(b, None, &mut scratch) {
                        let (mut arena, mut values) = (String::new(), Vec::new());
                        let wanted = ["w0".to_string(), "w3".to_string()];
                        f.values(&wanted, d.block_events(b).len(), &mut arena, &mut values);
                    }
                }
                for i in (0..d.len()).step_by(101) {
                    d.event(i);
                }
            }
        }
    }

    /// Fields of a message for tests: word i is field `w<i>`.
    struct Words;
    impl FieldExtractor for Words {
        fn fields(&self, message: &str, emit: &mut dyn FnMut(&str, &str)) {
            for (i, w) in message.split(' ').enumerate() {
                emit(&format!("w{i}"), w);
            }
        }
    }

    /// The same file as the version 4 or 5 encoder wrote it: the header without each block's
    /// flat-message code (5) and field-frame length (4), the body without flag bitmaps.
    fn downgrade(v6: &[u8], version: u8) -> Vec<u8> {
        let hlen = u32::from_le_bytes(v6[12..16].try_into().unwrap()) as usize;
        let mut r = Reader::new(&v6[16..16 + hlen]);
        let mut w = Writer::default();
        let n_streams = r.u64().unwrap();
        w.u64(n_streams);
        for _ in 0..n_streams {
            w.str(&r.str().unwrap());
            w.u64(r.u64().unwrap());
        }
        let mut at = 16 + hlen;
        let mut body = Vec::new();
        let mut copy = |len: usize, keep: bool| {
            if keep {
                body.extend_from_slice(&v6[at..at + len]);
            }
            at += len;
            at
        };
        for _ in 0..4 {
            let len = r.u64().unwrap();
            w.u64(len);
            copy(len as usize, true);
        }
        let stripe_blocks = r.u64().unwrap();
        let n_blocks = r.u64().unwrap();
        w.u64(stripe_blocks);
        w.u64(n_blocks);
        let mut layout = Vec::new();
        for _ in 0..n_blocks {
            let (events, frame, words) = (r.u64().unwrap(), r.u64().unwrap(), r.u64().unwrap());
            w.u64(events);
            w.u64(frame);
            w.u64(words);
            let fields = r.u64().unwrap();
            if version == 5 {
                w.u64(fields);
            } else {
                assert_eq!(fields, 0, "no field frame");
            }
            let flat = r.u64().unwrap();
            layout.push((frame + words * 8 + fields, flat, events));
        }
        for (len, flat, events) in layout {
            copy(len as usize, true);
            if flat == FLAT_BITS {
                copy((events as usize).div_ceil(8), false);
            }
        }
        let at = copy(0, true);
        copy(v6.len() - at, true);
        while !r.done() {
            w.u64(r.u64().unwrap());
        }
        let mut out = if version == 5 { MAGIC_V5 } else { MAGIC_V4 }.to_vec();
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(w.buf.len() as u32).to_le_bytes());
        out.extend_from_slice(&w.buf);
        out.extend_from_slice(&body);
        let crc = crc32fast::hash(&out[12..]).to_le_bytes();
        out[8..12].copy_from_slice(&crc);
        out
    }

    fn as_v4(v6: &[u8]) -> Vec<u8> {
        downgrade(v6, 4)
    }

    /// Version 6 records which messages are flat JSON objects, per block as none, all or a
    /// bitmap; versions 5 and 4 read as having none.
    #[test]
    fn flat_flags_round_trip_and_older_files_have_none() {
        let msg = |i: usize| match i % 5 {
            0 => format!(r#"{{"n":{i},"s":"x"}}"#),
            1 => format!(r#"{{"n":{{"i":{i}}}}}"#),
            2 => format!("plain {i}"),
            _ => format!(r#"{{"k":"v{i}"}}"#),
        };
        let mixed: Vec<Event> = (0..5_000)
            .map(|i| ev(i as i64, i as u64 + 1, &msg(i)))
            .collect();
        let all: Vec<Event> = (0..3_000)
            .map(|i| ev(i as i64, i as u64 + 1, &msg(3 + 5 * i)))
            .collect();
        let none: Vec<Event> = (0..3_000)
            .map(|i| ev(i as i64, i as u64 + 1, &msg(2 + 5 * i)))
            .collect();
        let (v6, _) = encode("k", &[("a".to_string(), mixed.clone())], None, Codec::Zstd).unwrap();
        let d = decode("k", v6).unwrap();
        assert!(d.block_count() > 1);
        for b in 0..d.block_count() {
            for i in d.block_events(b) {
                let want = crate::flat::is_flat_object(&msg(i));
                assert_eq!(d.is_flat(b, i), want, "event {i}");
            }
        }
        let d5 = decode(
            "k",
            downgrade(
                &encode("k", &[("a".into(), mixed)], None, Codec::Zstd)
                    .unwrap()
                    .0,
                5,
            ),
        );
        let d5 = d5.unwrap();
        for b in 0..d5.block_count() {
            for i in d5.block_events(b) {
                assert!(!d5.is_flat(b, i));
                assert_eq!(d5.event(i).message, msg(i));
            }
        }
        for (events, flat) in [(all, true), (none, false)] {
            let (v6, _) =
                encode("k", &[("a".to_string(), events)], Some(&Words), Codec::Zstd).unwrap();
            let d6 = decode("k", v6.clone()).unwrap();
            let d5 = decode("k", downgrade(&v6, 5)).unwrap();
            for b in 0..d6.block_count() {
                for i in d6.block_events(b) {
                    assert_eq!(d6.is_flat(b, i), flat);
                    assert!(!d5.is_flat(b, i));
                    assert_eq!(d5.event(i).message, d6.event(i).message);
                }
            }
        }
    }

    /// Version 5 keeps the discovered fields beside each block; version 4 files still read,
    /// with no fields.
    #[test]
    fn field_frames_round_trip_and_v4_still_reads() {
        let streams = vec![(
            "a".to_string(),
            (0..5_000)
                .map(|i| ev(i, i as u64 + 1, &format!("GET /p{} {}", i % 7, i * 3)))
                .collect::<Vec<_>>(),
        )];
        let (v5, _) = encode("k", &streams, Some(&Words), Codec::Zstd).unwrap();
        let v4 = as_v4(&encode("k", &streams, None, Codec::Zstd).unwrap().0);
        let d5 = decode("k", v5).unwrap();
        let d4 = decode("k", v4).unwrap();
        let wanted = [
            "w0".to_string(),
            "w1".to_string(),
            "w2".to_string(),
            "w9".to_string(),
        ];
        let mut scratch = Scratch::default();
        assert!(d5.block_count() > 1);
        for b in 0..d5.block_count() {
            assert!(d4.block_fields(b, None, &mut scratch).is_none());
            let f = d5
                .block_fields(b, Some(&wanted), &mut scratch)
                .expect("fields kept");
            let events = d5.block_events(b);
            let (mut arena, mut values) = (String::new(), Vec::new());
            assert!(f.values(&wanted, events.len(), &mut arena, &mut values));
            for (i, k) in events.clone().enumerate() {
                let msg = d4.event(k).message.to_string();
                assert_eq!(d5.event(k).message, msg);
                let mut words: Vec<Option<&str>> = msg.split(' ').map(Some).collect();
                words.push(None);
                let want = [words[0], words[1], words[2], None];
                let got: Vec<Option<&str>> = (0..wanted.len())
                    .map(|j| {
                        values[i * wanted.len() + j].map(|(a, z)| &arena[a as usize..z as usize])
                    })
                    .collect();
                assert_eq!(got, want, "event {k}");
            }
        }
    }

    #[test]
    fn empty_segment_round_trips() {
        let (bytes, meta) = encode("k", &[], None, Codec::Zstd).unwrap();
        assert_eq!(meta.count, 0);
        assert!(decode("k", bytes).unwrap().is_empty());
    }

    /// A version 3 file as the previous encoder wrote it: blocks of 16,384 events, each frame
    /// followed by its trigram bloom, no word blooms.
    fn encode_v3(streams: &[(String, Vec<Event>)]) -> Vec<u8> {
        let mut cols = [
            Writer::default(),
            Writer::default(),
            Writer::default(),
            Writer::default(),
        ];
        let mut header = Writer::default();
        let mut all: Vec<&[u8]> = Vec::new();
        let (mut ts, mut ing, mut seq) = (0i64, 0i64, 0u64);
        header.u64(streams.len() as u64);
        for (name, events) in streams {
            header.str(name);
            header.u64(events.len() as u64);
            for e in events {
                cols[0].i64(e.timestamp.wrapping_sub(ts));
                cols[1].i64(e.ingestion_time.wrapping_sub(ing));
                cols[2].i64(e.seq.wrapping_sub(seq) as i64);
                cols[3].u64(e.message.len() as u64);
                all.push(e.message.as_bytes());
                (ts, ing, seq) = (e.timestamp, e.ingestion_time, e.seq);
            }
        }
        let cols: Vec<Vec<u8>> = cols
            .iter()
            .map(|c| zstd::bulk::compress(&c.buf, 3).unwrap())
            .collect();
        for c in &cols {
            header.u64(c.len() as u64);
        }
        let mut rest = Vec::new();
        for chunk in all.chunks(V3_BLOCK_EVENTS) {
            let frame = zstd::bulk::compress(&chunk.concat(), 3).unwrap();
            let bloom = trigram_bloom(chunk);
            header.u64(frame.len() as u64);
            header.u64(bloom.len() as u64);
            rest.extend_from_slice(&frame);
            rest.extend(le_words(&bloom));
        }
        let mut body = (header.buf.len() as u32).to_le_bytes().to_vec();
        body.extend_from_slice(&header.buf);
        cols.iter().for_each(|c| body.extend_from_slice(c));
        body.extend_from_slice(&rest);
        let mut out = MAGIC_V3.to_vec();
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Messages shaped like access logs, with ids that make word prefixes rare.
    fn access_log(n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| {
                let m = format!(
                    r#"{{"requestId":"{:08x}-{:04x}-4abc","user":"user-{:05}","status":{}}}"#,
                    (i as u64).wrapping_mul(2_654_435_761) as u32,
                    i % 65_536,
                    i % 20_000,
                    if i % 1000 == 7 { 503 } else { 200 }
                );
                ev(i as i64, i as u64 + 1, &m)
            })
            .collect()
    }

    #[test]
    fn version_3_files_still_read() {
        let streams = vec![
            ("a".to_string(), access_log(40_000)),
            ("b".to_string(), vec![ev(-5, 0, ""), ev(20, 3, "ü")]),
        ];
        let d = decode("k", encode_v3(&streams)).unwrap();
        assert_eq!(d.block_count(), 3);
        for (name, events) in &streams {
            let got: Vec<Event> = d
                .stream(name)
                .unwrap()
                .map(|i| d.event(i).to_event())
                .collect();
            assert_eq!(&got, events);
        }
        // The trigram blooms still prune; without word blooms every word may be present.
        assert!(!d.block_may_contain(0, &Needles::new(&["NOPE".into()])));
        assert!(d.block_may_contain(0, &Needles::new(&["user-00017".into()])));
        let mut scratch = Scratch::default();
        let bytes = d.block_bytes(2, &mut scratch);
        let span = d.message_span(2, 39_999);
        assert_eq!(
            std::str::from_utf8(&bytes[span]).unwrap(),
            &*streams[0].1[39_999].message
        );
    }

    #[test]
    fn blocks_are_cut_by_events_and_bytes() {
        let big = "x".repeat(300_000);
        let mut events = access_log(5_000);
        events.extend((0..7).map(|i| ev(10_000 + i, 10_000 + i as u64, &big)));
        let (bytes, _) =
            encode("k", &[("a".to_string(), events.clone())], None, Codec::Zstd).unwrap();
        let d = decode("k", bytes).unwrap();
        let sizes: Vec<usize> = (0..d.block_count())
            .map(|b| d.block_events(b).len())
            .collect();
        // 2,048 + 2,048 + the rest of the small events and the first big ones up to 1 MiB.
        assert_eq!(sizes[..2], [BLOCK_EVENTS, BLOCK_EVENTS]);
        assert_eq!(sizes.iter().sum::<usize>(), events.len());
        assert!(sizes.len() >= 4, "{sizes:?}");
        let got: Vec<Event> = (0..d.len()).map(|i| d.event(i).to_event()).collect();
        assert_eq!(got, events);
        // A short first block followed by longer ones: blocks are found by search.
        let mut events: Vec<Event> = (0..4).map(|i| ev(i, i as u64, &big)).collect();
        events.extend(access_log(3_000).into_iter().map(|mut e| {
            e.timestamp += 10;
            e
        }));
        let (bytes, _) =
            encode("k", &[("a".to_string(), events.clone())], None, Codec::Zstd).unwrap();
        let d = decode("k", bytes).unwrap();
        assert_eq!(d.block_events(0), 0..4);
        assert_eq!(d.uniform, None);
        let got: Vec<Event> = (0..d.len()).map(|i| d.event(i).to_event()).collect();
        assert_eq!(got, events);
    }

    /// No bloom may rule out a block that holds a term: every substring of every message, with
    /// separators inside, at the start and at the end, must pass its block.
    #[test]
    fn blooms_never_rule_out_a_present_term() {
        let mut events = access_log(6_000);
        events.push(ev(7_000, 7_001, "ünï-cödé_word x.y/z 00042-abc-"));
        let (bytes, _) =
            encode("k", &[("a".to_string(), events.clone())], None, Codec::Zstd).unwrap();
        let d = decode("k", bytes).unwrap();
        for (i, e) in events.iter().enumerate().step_by(7) {
            let b = d.block_of(i);
            let m = e.message.as_bytes();
            for start in (0..m.len()).step_by(3) {
                for len in 1..=24.min(m.len() - start) {
                    let Ok(term) = std::str::from_utf8(&m[start..start + len]) else {
                        continue;
                    };
                    let needles = Needles::new(&[term.to_string()]);
                    assert!(d.block_may_contain(b, &needles), "{term:?} in event {i}");
                }
            }
        }
    }

    #[test]
    fn word_blooms_rule_out_absent_ids() {
        let (bytes, _) = encode(
            "k",
            &[("a".to_string(), access_log(20_480))],
            None,
            Codec::Zstd,
        )
        .unwrap();
        let d = decode("k", bytes).unwrap();
        assert_eq!(d.block_count(), 10);
        // user-01234 is in block 0 only (event 1234); the middle of a request id likewise.
        for term in ["user-01234", "\"user-01234\"", "-04d2-"] {
            let needles = Needles::new(&[term.to_string()]);
            let passing: Vec<usize> = (0..10)
                .filter(|&b| d.block_may_contain(b, &needles))
                .collect();
            assert!(passing.contains(&0), "{term}");
            assert!(passing.len() <= 5, "{term}: {passing:?}");
        }
        // No word with a separator before it: nothing to look up, every block may hold it.
        let needles = Needles::new(&["user".to_string()]);
        assert!((0..10).all(|b| d.block_may_contain(b, &needles)));
    }

    #[test]
    fn word_hashes_are_those_of_word_prefixes() {
        for m in [
            "",
            "a",
            "ab-cdefgh_ij ü€x 12345678901 z",
            "x.y/zz",
            "end-abcdefg",
            "-abcdefghij",
        ] {
            let mut got = Vec::new();
            for_each_word_hash(m.as_bytes(), |h| got.push(h));
            let want: Vec<u64> = m
                .as_bytes()
                .split(|&b| !word_byte(b))
                .filter(|w| !w.is_empty())
                .map(|w| word_hash(&w[..w.len().min(WORD_PREFIX)]))
                .collect();
            assert_eq!(got, want, "{m}");
        }
    }

    #[test]
    fn needles_take_words_a_separator_precedes() {
        let hashes = |t: &str| Needles::new(&[t.to_string()]).words;
        assert_eq!(hashes("user-04242"), vec![word_hash(b"04242")]);
        // Too short to be a whole prefix, and cut by the term's end: it may continue.
        assert!(hashes("user-042").is_empty());
        // Bounded on both sides: the whole word.
        assert_eq!(hashes("a-42-b"), vec![word_hash(b"42")]);
        assert_eq!(
            hashes("8f14e45f-ceea-467f-a0e6-0123456789ab"),
            ["ceea", "467f", "a0e6", "01234"]
                .map(|w| word_hash(w.as_bytes()))
                .to_vec()
        );
        assert!(hashes("ERROR").is_empty());
        assert!(hashes("").is_empty());
    }
}
