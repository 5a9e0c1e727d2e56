//! Discovered-field columns of a message block: the fields a [`FieldExtractor`] finds in each
//! message (Logs Insights' JSON discovery, supplied by the service), stored beside the block so
//! a query reading only such fields never inflates the messages.
//!
//! Per block, each discovered name is either
//! * a **column** — every event's value (or its absence): a dictionary of the distinct values
//!   with an index per event, or, for canonical integers of high cardinality, the integers;
//! * an **other** name — present in some event, values not stored (too many distinct values,
//!   or the extractor gave it twice for one event); a query naming it reads the messages.
//!
//! A block is **complete** when every name of every event is a column or an other name: then a
//! name that is neither is absent from every event of the block. A block past [`MAX_NAMES`]
//! names is not complete and keeps no columns.
//!
//! Frame (varints, then one zstd frame in the segment): flags (bit 0: complete), the other
//! names, then the columns, each as its name, its length in bytes and its body (kind,
//! presence — all present or a bitmap —, values), so a reader expands only the columns it
//! wants.

use nephoscope_storage::codec::{DecodeError, Reader, Writer};

/// Maps keyed by names and values, hashed with foldhash (a flush hashes every field of every
/// message).
type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::fmt::Write as _;
use std::sync::Arc;

/// Finds the discovered fields of a message.
pub trait FieldExtractor: Send + Sync {
    /// Calls `emit(name, value)` for every discovered field of `message`, none for a message
    /// without structure.
    fn fields(&self, message: &str, emit: &mut dyn FnMut(&str, &str));
}

/// A shared extractor.
pub type Extractor = Arc<dyn FieldExtractor>;

impl std::fmt::Debug for dyn FieldExtractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldExtractor")
    }
}

/// Most distinct names a block keeps columns for.
pub const MAX_NAMES: usize = 256;
/// A column with at most this many distinct values is always a dictionary.
const SMALL_DICT: usize = 64;
/// A column of many distinct values that are not all integers is still kept, as a dictionary,
/// when compressed it takes at most 1/`COMPACT_SHARE` of the block's raw message bytes (user
/// names, small sets of addresses): random ids and long unique texts compress too poorly.
const COMPACT_SHARE: usize = 64;

const COMPLETE: u64 = 1;
const KIND_DICT: u8 = 0;
const KIND_INT: u8 = 1;
const PRESENT_ALL: u8 = 0;
const PRESENT_BITMAP: u8 = 1;

/// Builds the (uncompressed) field frame of a block of messages.
pub fn build(messages: &[&[u8]], ex: &dyn FieldExtractor) -> Vec<u8> {
    let n = messages.len();
    let mut arena = String::new();
    // Per name: each event's value as a range of `arena`, and whether an event had it twice.
    type Gathered = (String, Vec<Option<(u32, u32)>>, bool);
    let mut cols: Vec<Gathered> = Vec::new();
    let mut index: Map<String, usize> = Map::default();
    // The column of each field position in the previous message: logs of one shape list their
    // fields in the same order, so a name is usually found by one comparison.
    let mut by_position: Vec<usize> = Vec::new();
    let mut complete = true;
    for (i, m) in messages.iter().enumerate() {
        let Ok(m) = std::str::from_utf8(m) else {
            continue;
        };
        let mut position = 0;
        ex.fields(m, &mut |k, v| {
            if !complete {
                return;
            }
            let guess = by_position
                .get(position)
                .copied()
                .filter(|&c| cols.get(c).is_some_and(|col| col.0 == k));
            let c = match guess.or_else(|| index.get(k).copied()) {
                Some(c) => c,
                None => {
                    if cols.len() == MAX_NAMES {
                        complete = false;
                        return;
                    }
                    index.insert(k.to_string(), cols.len());
                    cols.push((k.to_string(), vec![None; n], false));
                    cols.len() - 1
                }
            };
            match by_position.get_mut(position) {
                Some(p) => *p = c,
                None => by_position.push(c),
            }
            position += 1;
            let col = &mut cols[c];
            if col.1[i].is_some() {
                col.2 = true;
                return;
            }
            let s = arena.len() as u32;
            arena.push_str(v);
            col.1[i] = Some((s, arena.len() as u32));
        });
    }
    let mut w = Writer::default();
    if !complete {
        w.u64(0);
        w.u64(0);
        w.u64(0);
        return w.buf;
    }
    let text = |r: (u32, u32)| &arena[r.0 as usize..r.1 as usize];
    let message_bytes: usize = messages.iter().map(|m| m.len()).sum();
    let mut stored = Writer::default();
    let mut stored_n = 0u64;
    let mut others: Vec<&str> = Vec::new();
    for (name, values, twice) in &cols {
        if *twice {
            others.push(name);
            continue;
        }
        let present = values.iter().filter(|v| v.is_some()).count();
        let mut dict: Map<&str, u32> = Map::default();
        let mut order: Vec<&str> = Vec::new();
        for v in values.iter().flatten() {
            let s = text(*v);
            if !dict.contains_key(s) {
                dict.insert(s, order.len() as u32);
                order.push(s);
            }
        }
        // (kind, whether it must earn its place by compressing well)
        let (kind, on_trial) = if order.len() <= SMALL_DICT || order.len() * 4 <= present {
            (KIND_DICT, false)
        } else if values
            .iter()
            .flatten()
            .all(|v| canonical_int(text(*v)).is_some())
        {
            (KIND_INT, false)
        } else {
            (KIND_DICT, true)
        };
        let mut body = Writer::default();
        body.u8(kind);
        if present == n {
            body.u8(PRESENT_ALL);
        } else {
            body.u8(PRESENT_BITMAP);
            let mut bits = vec![0u8; n.div_ceil(8)];
            for (i, v) in values.iter().enumerate() {
                if v.is_some() {
                    bits[i / 8] |= 1 << (i % 8);
                }
            }
            body.buf.extend_from_slice(&bits);
        }
        if kind == KIND_DICT {
            body.u64(order.len() as u64);
            for s in &order {
                body.str(s);
            }
            for v in values.iter().flatten() {
                body.u64(u64::from(dict[text(*v)]));
            }
        } else {
            let mut prev = 0i64;
            for v in values.iter().flatten() {
                let x = canonical_int(text(*v)).unwrap_or_default();
                body.i64(x.wrapping_sub(prev));
                prev = x;
            }
        }
        if on_trial
            && zstd::bulk::compress(&body.buf, 1)
                .map_or(true, |z| z.len() * COMPACT_SHARE > message_bytes)
        {
            others.push(name);
            continue;
        }
        stored_n += 1;
        stored.str(name);
        stored.u64(body.buf.len() as u64);
        stored.buf.extend_from_slice(&body.buf);
    }
    w.u64(COMPLETE);
    w.u64(others.len() as u64);
    for o in others {
        w.str(o);
    }
    w.u64(stored_n);
    w.buf.extend_from_slice(&stored.buf);
    w.buf
}

/// `s` as an integer when it is exactly how the integer prints (`-?(0|[1-9][0-9]*)`, no
/// `-0`, within i64).
fn canonical_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let b = digits.as_bytes();
    if b.is_empty()
        || b.len() > 18
        || !b.iter().all(u8::is_ascii_digit)
        || (b[0] == b'0' && (b.len() > 1 || s.starts_with('-')))
    {
        return None;
    }
    s.parse().ok()
}

/// One stored column, expanded per event.
#[derive(Debug)]
enum Values {
    /// Dictionary text, each entry's end in it, and per event the entry (`u32::MAX`: absent).
    Dict {
        text: String,
        ends: Vec<u32>,
        idx: Vec<u32>,
    },
    /// Per event the integer, if present.
    Int(Vec<Option<i64>>),
}

/// One field's values over a block's events, as stored.
#[derive(Debug, Clone, Copy)]
pub enum Column<'a> {
    /// The distinct values laid end to end in `text` (entry `e` ends at `ends[e]`), and per
    /// event its entry (`u32::MAX`: the event has no such field).
    Dict {
        text: &'a str,
        ends: &'a [u32],
        codes: &'a [u32],
    },
    /// Per event the integer (printed canonically, it is the value), if present.
    Int(&'a [Option<i64>]),
    /// No event has the field.
    Absent,
}

impl<'a> Column<'a> {
    /// Events `r` of this column (a block's column covers all of its events).
    pub fn slice(self, r: std::ops::Range<usize>) -> Column<'a> {
        match self {
            Column::Dict { text, ends, codes } => Column::Dict {
                text,
                ends,
                codes: &codes[r],
            },
            Column::Int(v) => Column::Int(&v[r]),
            Column::Absent => Column::Absent,
        }
    }
}

/// One decoded column, kept for reuse.
#[derive(Debug)]
pub struct ColumnData(Values);

impl ColumnData {
    pub fn column(&self) -> Column<'_> {
        match &self.0 {
            Values::Dict { text, ends, idx } => Column::Dict {
                text,
                ends,
                codes: idx,
            },
            Values::Int(v) => Column::Int(v),
        }
    }

    /// Memory held (bytes).
    pub fn size(&self) -> usize {
        match &self.0 {
            Values::Dict { text, ends, idx } => text.len() + 4 * (ends.len() + idx.len()),
            Values::Int(v) => std::mem::size_of::<Option<i64>>() * v.len(),
        }
    }
}

/// The field frame of a block, decoded.
#[derive(Debug, Default)]
pub struct BlockFields {
    complete: bool,
    columns: Vec<(String, Values)>,
    others: Vec<String>,
}

impl BlockFields {
    /// Decodes the frame of a block of `n` events, expanding only the columns named in
    /// `wanted` (all with `None`).
    pub fn decode(
        raw: &[u8],
        n: usize,
        wanted: Option<&[String]>,
    ) -> Result<BlockFields, DecodeError> {
        let mut r = Reader::new(raw);
        let complete = r.u64()? & COMPLETE != 0;
        let mut others = Vec::new();
        for _ in 0..r.u64()? {
            others.push(r.str()?);
        }
        // A wanted name left in the messages: nothing to expand, the messages are read.
        if wanted.is_some_and(|w| w.iter().any(|n| others.contains(n))) {
            return Ok(BlockFields {
                complete,
                columns: Vec::new(),
                others,
            });
        }
        let ncols = r.u64()? as usize;
        if ncols > MAX_NAMES {
            return Err(DecodeError(0));
        }
        let mut columns = Vec::with_capacity(ncols);
        for _ in 0..ncols {
            let name = r.str()?;
            let len = r.u64()? as usize;
            let body = r.bytes(len)?;
            if wanted.is_some_and(|w| !w.contains(&name)) {
                continue;
            }
            let mut r = Reader::new(body);
            let kind = r.u8()?;
            let present: Vec<bool> = match r.u8()? {
                PRESENT_ALL => vec![true; n],
                PRESENT_BITMAP => {
                    let bits = r.bytes(n.div_ceil(8))?;
                    (0..n).map(|i| bits[i / 8] & (1 << (i % 8)) != 0).collect()
                }
                _ => return Err(DecodeError(0)),
            };
            let values = match kind {
                KIND_DICT => {
                    let entries = r.u64()? as usize;
                    if entries > n {
                        return Err(DecodeError(0));
                    }
                    let mut text = String::new();
                    let mut ends = Vec::with_capacity(entries);
                    for _ in 0..entries {
                        let len = r.u64()? as usize;
                        let b = std::str::from_utf8(r.bytes(len)?).map_err(|_| DecodeError(0))?;
                        text.push_str(b);
                        ends.push(text.len() as u32);
                    }
                    let mut idx = Vec::with_capacity(n);
                    for &p in &present {
                        idx.push(if p {
                            let e = r.u64()?;
                            if e >= entries as u64 {
                                return Err(DecodeError(0));
                            }
                            e as u32
                        } else {
                            u32::MAX
                        });
                    }
                    Values::Dict { text, ends, idx }
                }
                KIND_INT => {
                    let mut prev = 0i64;
                    let mut out = Vec::with_capacity(n);
                    for &p in &present {
                        out.push(if p {
                            prev = prev.wrapping_add(r.i64()?);
                            Some(prev)
                        } else {
                            None
                        });
                    }
                    Values::Int(out)
                }
                _ => return Err(DecodeError(0)),
            };
            columns.push((name, values));
        }
        Ok(BlockFields {
            complete,
            columns,
            others,
        })
    }

    /// The columns of `wanted` taken out, in that order (`None`: no event has the field);
    /// `None` when some name can only be found in the messages.
    pub fn into_columns(mut self, wanted: &[String]) -> Option<Vec<Option<ColumnData>>> {
        wanted
            .iter()
            .map(
                |name| match self.columns.iter().position(|(c, _)| c == name) {
                    Some(i) => {
                        let values =
                            std::mem::replace(&mut self.columns[i].1, Values::Int(Vec::new()));
                        Some(Some(ColumnData(values)))
                    }
                    None if self.complete && !self.others.iter().any(|o| o == name) => Some(None),
                    None => None,
                },
            )
            .collect()
    }

    /// Lays out the values of `wanted` for every event: `out[i * wanted.len() + j]` is event
    /// i's value of `wanted[j]` as a range of `arena`. False when some name can only be found
    /// in the messages.
    pub fn values(
        &self,
        wanted: &[String],
        n: usize,
        arena: &mut String,
        out: &mut Vec<Option<(u32, u32)>>,
    ) -> bool {
        let w = wanted.len();
        arena.clear();
        out.clear();
        out.resize(n * w, None);
        for (j, name) in wanted.iter().enumerate() {
            match self.columns.iter().find(|(c, _)| c == name) {
                Some((_, Values::Dict { text, ends, idx })) => {
                    let base = arena.len() as u32;
                    arena.push_str(text);
                    for (i, &e) in idx.iter().enumerate().take(n) {
                        if e != u32::MAX {
                            let start = if e == 0 { 0 } else { ends[e as usize - 1] };
                            out[i * w + j] = Some((base + start, base + ends[e as usize]));
                        }
                    }
                }
                Some((_, Values::Int(v))) => {
                    for (i, x) in v.iter().enumerate().take(n) {
                        if let Some(x) = x {
                            let s = arena.len() as u32;
                            let _ = write!(arena, "{x}");
                            out[i * w + j] = Some((s, arena.len() as u32));
                        }
                    }
                }
                // Not a column: absent everywhere only if the block is complete and the name
                // is not one whose values were left in the messages.
                None => {
                    if !self.complete || self.others.iter().any(|o| o == name) {
                        return false;
                    }
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `k=v` pairs separated by spaces (a stand-in for JSON discovery).
    struct Pairs;
    impl FieldExtractor for Pairs {
        fn fields(&self, message: &str, emit: &mut dyn FnMut(&str, &str)) {
            for p in message.split(' ') {
                if let Some((k, v)) = p.split_once('=') {
                    emit(k, v);
                }
            }
        }
    }

    /// What the columns answer for `wanted`, per event (None: read the messages).
    fn answer(messages: &[&str], wanted: &[&str]) -> Option<Vec<Vec<Option<String>>>> {
        let raw: Vec<&[u8]> = messages.iter().map(|m| m.as_bytes()).collect();
        let frame = build(&raw, &Pairs);
        let f = BlockFields::decode(&frame, messages.len(), None).unwrap();
        let wanted_: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
        let g = BlockFields::decode(&frame, messages.len(), Some(&wanted_)).unwrap();
        assert!(g.columns.len() <= f.columns.len());
        let f = g;
        let wanted: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
        let (mut arena, mut out) = (String::new(), Vec::new());
        if !f.values(&wanted, messages.len(), &mut arena, &mut out) {
            return None;
        }
        Some(
            (0..messages.len())
                .map(|i| {
                    (0..wanted.len())
                        .map(|j| {
                            out[i * wanted.len() + j]
                                .map(|(a, b)| arena[a as usize..b as usize].to_string())
                        })
                        .collect()
                })
                .collect(),
        )
    }

    /// The naive answer: the extractor run on each message (last value of a name).
    fn naive(messages: &[&str], wanted: &[&str]) -> Vec<Vec<Option<String>>> {
        messages
            .iter()
            .map(|m| {
                let mut got: Vec<(String, String)> = Vec::new();
                Pairs.fields(m, &mut |k, v| got.push((k.into(), v.into())));
                wanted
                    .iter()
                    .map(|w| {
                        got.iter()
                            .rev()
                            .find(|(k, _)| k == w)
                            .map(|(_, v)| v.clone())
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn columns_answer_as_the_messages_would() {
        let many: Vec<String> = (0..300).map(|i| format!("id=u{i} n={i} s=x")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let wide: Vec<String> = (0..300).map(|i| format!("f{i}=1")).collect();
        let wide = [wide.join(" ")];
        let wide: Vec<&str> = wide.iter().map(String::as_str).collect();
        // (messages, wanted, served from columns?)
        let cases: Vec<(Vec<&str>, Vec<&str>, bool)> = vec![
            (
                vec!["a=1 b=x", "a=2", "plain text"],
                vec!["a", "b", "c"],
                true,
            ),
            (vec!["a=-5 b=007", "a=0 b=-0"], vec!["a", "b"], true),
            // High-cardinality text: left in the messages; integers kept as integers.
            (many.clone(), vec!["n", "s"], true),
            (many.clone(), vec!["id"], false),
            (many.clone(), vec!["absent"], true),
            // A name given twice for one event: left in the messages.
            (vec!["a=1 a=2", "a=3"], vec!["a"], false),
            (vec!["a=1 a=2", "b=3"], vec!["b"], true),
            // Too many names: no columns at all.
            (wide.clone(), vec!["f1"], false),
            (vec![], vec!["a"], true),
        ];
        for (messages, wanted, served) in cases {
            let got = answer(&messages, &wanted);
            assert_eq!(got.is_some(), served, "{wanted:?} over {messages:?}");
            if let Some(got) = got {
                assert_eq!(got, naive(&messages, &wanted), "{wanted:?}");
            }
        }
    }

    #[test]
    fn canonical_integers() {
        for (s, want) in [
            ("0", Some(0)),
            ("-0", None),
            ("007", None),
            ("-12", Some(-12)),
            ("123456789012345678", Some(123_456_789_012_345_678)),
            ("1234567890123456789", None),
            ("1.5", None),
            ("", None),
            ("-", None),
            ("+1", None),
        ] {
            assert_eq!(canonical_int(s), want, "{s}");
        }
    }

    #[test]
    fn corrupt_frames_are_errors() {
        let raw: Vec<&[u8]> = vec![b"a=1 b=x", b"a=2"];
        let frame = build(&raw, &Pairs);
        for cut in 0..frame.len() {
            let _ = BlockFields::decode(&frame[..cut], 2, None);
        }
        assert!(BlockFields::decode(&frame, 2, None).is_ok());
    }
}
