//! Immutable segment files: the events of one log group flushed out of the in-memory head,
//! grouped by stream, stored column by column.
//!
//! Layout (version 2): `NPSEG002` magic, CRC32 of the rest (u32 LE), a varint header (stream
//! names and event counts, then the compressed length of each column), and five zstd frames:
//! timestamps, ingestion times and seqs (zigzag deltas), message lengths, and the messages
//! concatenated. Decoding inflates each column once into flat arrays; reads then look at events
//! in place ([`EventRef`]) — no per-event allocation — which is what lets pattern scans run at
//! memory speed. Per-block bloom filters are the next format version.

use crate::state::Event;
use nephoscope_storage::codec::{DecodeError, Reader, Writer};
use std::ops::Range;

const MAGIC: &[u8; 8] = b"NPSEG002";
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

/// A decoded segment: flat columns, each stream a contiguous range sorted by (timestamp, seq).
#[derive(Debug, Default)]
pub struct Decoded {
    pub streams: Vec<(String, Range<usize>)>,
    timestamps: Vec<i64>,
    ingestion: Vec<i64>,
    seqs: Vec<u64>,
    /// `offsets[i]..offsets[i + 1]` is message i in `messages`.
    offsets: Vec<usize>,
    messages: String,
}

impl Decoded {
    pub fn size(&self) -> usize {
        self.messages.len() + self.timestamps.len() * 32
    }

    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    pub fn event(&self, i: usize) -> EventRef<'_> {
        EventRef {
            timestamp: self.timestamps[i],
            ingestion_time: self.ingestion[i],
            seq: self.seqs[i],
            message: &self.messages[self.offsets[i]..self.offsets[i + 1]],
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
    let mut messages = Vec::new();
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
            messages.extend_from_slice(e.message.as_bytes());
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
        zstd::bulk::compress(&messages, ZSTD_LEVEL)?,
    ];
    for c in &columns {
        header.u64(c.len() as u64);
    }
    let mut body =
        Vec::with_capacity(header.buf.len() + columns.iter().map(Vec::len).sum::<usize>() + 8);
    body.extend_from_slice(&(header.buf.len() as u32).to_le_bytes());
    body.extend_from_slice(&header.buf);
    for c in &columns {
        body.extend_from_slice(c);
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
    let mut lens = [0usize; 5];
    for l in &mut lens {
        *l = h.u64().map_err(codec)? as usize;
    }
    let mut at = 4 + hlen;
    let mut frames = Vec::with_capacity(5);
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
    let message_bytes = *offsets.last().unwrap_or(&0);
    let messages = inflate(frames[4], message_bytes.max(raw_bytes_hint as usize))?;
    if messages.len() != message_bytes {
        return Err(corrupt("message column length mismatch".into()));
    }
    let messages =
        String::from_utf8(messages).map_err(|_| corrupt("messages are not UTF-8".into()))?;
    if offsets.iter().any(|o| !messages.is_char_boundary(*o)) {
        return Err(corrupt("message offsets split a character".into()));
    }
    Ok(Decoded {
        streams,
        timestamps,
        ingestion,
        seqs,
        offsets,
        messages,
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
