//! Immutable segment files: the events of one log group flushed out of the in-memory head,
//! grouped by stream, zstd-compressed.
//!
//! Layout (version 1): `NPSEG001` magic, CRC32 of the compressed body (u32 LE), then the zstd
//! frame of the body: stream count, and per stream its name, event count and rows of
//! (timestamp delta, ingestion-time delta, seq delta, message), deltas zigzag varints against the
//! previous row. Segments are read whole; per-block bloom filters and columnar layout are the
//! next format version.

use crate::state::Event;
use nephoscope_storage::codec::{Reader, Writer};
use std::collections::BTreeMap;

const MAGIC: &[u8; 8] = b"NPSEG001";
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

/// A decoded segment: events per stream, sorted by (timestamp, seq).
#[derive(Debug, Default)]
pub struct Decoded {
    pub streams: BTreeMap<String, Vec<Event>>,
}

impl Decoded {
    pub fn size(&self) -> usize {
        self.streams
            .values()
            .flatten()
            .map(|e| e.message.len() + 48)
            .sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("segment {0}: not a segment file")]
    Magic(String),
    #[error("segment {0}: checksum mismatch")]
    Checksum(String),
    #[error("segment {0}: {1}")]
    Corrupt(String, String),
}

/// Encodes the events of several streams (each sorted) into a segment file and its metadata.
pub fn encode(
    key: &str,
    streams: &[(String, Vec<Event>)],
) -> std::io::Result<(Vec<u8>, SegmentMeta)> {
    let mut w = Writer::default();
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
    w.u64(streams.len() as u64);
    for (name, events) in streams {
        w.str(name);
        w.u64(events.len() as u64);
        let (mut ts, mut ing, mut seq) = (0i64, 0i64, 0u64);
        for e in events {
            w.i64(e.timestamp.wrapping_sub(ts));
            w.i64(e.ingestion_time.wrapping_sub(ing));
            w.i64(e.seq.wrapping_sub(seq) as i64);
            w.str(&e.message);
            (ts, ing, seq) = (e.timestamp, e.ingestion_time, e.seq);
            meta.min_ts = meta.min_ts.min(e.timestamp);
            meta.max_ts = meta.max_ts.max(e.timestamp);
            meta.max_seq = meta.max_seq.max(e.seq);
            meta.count += 1;
            meta.raw_bytes += e.message.len() as u64;
        }
        meta.streams.push(name.clone());
    }
    let body = zstd::bulk::compress(&w.buf, ZSTD_LEVEL)?;
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    meta.file_bytes = out.len() as u64;
    Ok((out, meta))
}

pub fn decode(key: &str, data: &[u8], raw_bytes_hint: u64) -> Result<Decoded, SegmentError> {
    if data.len() < 12 || &data[..8] != MAGIC {
        return Err(SegmentError::Magic(key.into()));
    }
    let crc = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
    let body = &data[12..];
    if crc32fast::hash(body) != crc {
        return Err(SegmentError::Checksum(key.into()));
    }
    let corrupt = |e: String| SegmentError::Corrupt(key.into(), e);
    // Rows add at most ~40 bytes of framing to each message.
    let capacity = (raw_bytes_hint as usize).saturating_mul(2).max(1 << 16);
    let raw = zstd::bulk::decompress(body, capacity).map_err(|e| corrupt(e.to_string()))?;
    let mut r = Reader::new(&raw);
    let mut out = Decoded::default();
    let n = r.u64().map_err(|e| corrupt(e.to_string()))?;
    for _ in 0..n {
        let row =
            |r: &mut Reader<'_>| -> Result<(String, u64), nephoscope_storage::codec::DecodeError> {
                Ok((r.str()?, r.u64()?))
            };
        let (name, count) = row(&mut r).map_err(|e| corrupt(e.to_string()))?;
        let mut events = Vec::with_capacity((count as usize).min(1 << 20));
        let (mut ts, mut ing, mut seq) = (0i64, 0i64, 0u64);
        for _ in 0..count {
            let mut next = || -> Result<Event, nephoscope_storage::codec::DecodeError> {
                ts = ts.wrapping_add(r.i64()?);
                ing = ing.wrapping_add(r.i64()?);
                seq = seq.wrapping_add(r.i64()? as u64);
                Ok(Event {
                    timestamp: ts,
                    ingestion_time: ing,
                    seq,
                    message: r.str()?.into_boxed_str(),
                })
            };
            events.push(next().map_err(|e| corrupt(e.to_string()))?);
        }
        out.streams.insert(name, events);
    }
    Ok(out)
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
        assert_eq!(d.streams["a"], streams[0].1);
        assert_eq!(d.streams["b"], streams[1].1);
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
}
