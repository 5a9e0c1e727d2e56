//! PutMetricData's typed input straight from its RPC v2 CBOR body: a reader for exactly the
//! items the input holds, accepting only what the canonical decoder ([`crate::cbor::decode`],
//! ciborium's `Value` then `to_canonical`) accepts and reading it the same way.
//!
//! What the reader takes, and how the canonical decoder reads the same bytes:
//! * Maps and arrays of definite or indefinite length (`0xbf … 0xff`).
//! * Text strings, definite or as an indefinite string of definite chunks, each chunk valid
//!   UTF-8 on its own (ciborium checks chunk by chunk). Only text-string keys: the canonical
//!   decoder rejects any other key of a structure.
//! * Integers (major 0 and 1, any argument width) and half, single and double floats. A double
//!   member takes either, as `i128 as f64` for integers; an integer member only integers, in
//!   range. Non-finite floats are left to the canonical path.
//! * Tag 1 (in any argument width) directly before the integer or float of a timestamp, the
//!   only place `to_canonical` looks through a tag; any other tag anywhere is left to it.
//! * `null` (`0xf6`) and `undefined` (`0xf7`) as a structure member's value: the member is
//!   absent, as `to_canonical` skips it.
//! * Bytes after the body's map are ignored: ciborium reads one item and stops.
//!
//! Everything else returns `None` and the canonical path runs: a member the input does not
//! know, a member given twice with two values (the canonical path converts both and keeps the
//! last), `EntityMetricData`, `null` inside a list, simple values in their two-byte form,
//! nested indefinite chunks, an empty body. That path gives the exact error or input, so both
//! paths accept the same requests with the same input — the `cbor_decode` fuzz target checks it.

use super::checked;
use crate::service::Input;
use nephoscope_model::meta::{OperationDef, ServiceDef};
use nephoscope_model::types::cloudwatch::{
    Dimension, MetricDatum, PutMetricDataInput, StatisticSet,
};
use nephoscope_model::Timestamp;
use std::borrow::Cow;

/// PutMetricData's typed input from a CBOR body, when it is certainly valid.
pub fn put_metric_data_cbor(
    service: &'static ServiceDef,
    op: &OperationDef,
    body: &[u8],
) -> Option<Input> {
    // Bytes after the body's map are never read, as by `ciborium::de::from_reader`.
    let input = Reader { b: body, at: 0 }.put_metric_data()?;
    checked(service, op, input)
}

const MAP: u8 = 5;
const ARRAY: u8 = 4;
const TEXT: u8 = 3;
const BREAK: u8 = 0xff;

/// Members seen so far in one structure: a second non-null value goes the canonical way.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn first(&mut self, member: u32) -> Option<()> {
        let bit = 1 << member;
        if self.0 & bit != 0 {
            return None;
        }
        self.0 |= bit;
        Some(())
    }
}

/// The entries of a map or the items of an array: a count, or until a break.
struct Count(Option<u64>);

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn byte(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    /// The argument of an initial byte's minor value 0–27 (28–31 are not arguments).
    fn arg(&mut self, minor: u8) -> Option<u64> {
        Some(match minor {
            0..=23 => u64::from(minor),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.take(2)?.try_into().ok()?)),
            26 => u64::from(u32::from_be_bytes(self.take(4)?.try_into().ok()?)),
            27 => u64::from_be_bytes(self.take(8)?.try_into().ok()?),
            _ => return None,
        })
    }

    /// The length of a string or container of major type `major`; `None` inside for an
    /// indefinite one.
    fn head(&mut self, major: u8) -> Option<Count> {
        let c = self.byte()?;
        if c >> 5 != major {
            return None;
        }
        match c & 0x1f {
            31 => Some(Count(None)),
            minor => Some(Count(Some(self.arg(minor)?))),
        }
    }

    /// Whether another entry or item follows (consuming the break that ends an indefinite one).
    fn more(&mut self, count: &mut Count) -> Option<bool> {
        match &mut count.0 {
            Some(0) => Some(false),
            Some(n) => {
                *n -= 1;
                Some(true)
            }
            None if self.peek()? == BREAK => {
                self.at += 1;
                Some(false)
            }
            None => Some(true),
        }
    }

    /// A `null` or `undefined` value (consumed), which makes a structure member absent.
    fn null(&mut self) -> bool {
        let null = matches!(self.peek(), Some(0xf6 | 0xf7));
        if null {
            self.at += 1;
        }
        null
    }

    fn text(&mut self) -> Option<Cow<'a, str>> {
        match self.head(TEXT)?.0 {
            Some(len) => self.chunk(len).map(Cow::Borrowed),
            None => {
                let mut s = String::new();
                while self.peek()? != BREAK {
                    // Chunks are definite text strings; ciborium's nested indefinite ones are
                    // left to it.
                    let len = self.head(TEXT)?.0?;
                    s.push_str(self.chunk(len)?);
                }
                self.at += 1;
                Some(Cow::Owned(s))
            }
        }
    }

    fn chunk(&mut self, len: u64) -> Option<&'a str> {
        std::str::from_utf8(self.take(usize::try_from(len).ok()?)?).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.text().map(Cow::into_owned)
    }

    /// An integer (major 0 or 1) as `to_canonical` holds it.
    fn integer(&mut self) -> Option<i128> {
        let c = self.byte()?;
        let n = i128::from(self.arg(c & 0x1f)?);
        match c >> 5 {
            0 => Some(n),
            1 => Some(-1 - n),
            _ => None,
        }
    }

    /// A double member: an integer or a float, finite.
    fn number(&mut self) -> Option<f64> {
        let n = match self.peek()? {
            0xf9 => {
                let h = u16::from_be_bytes(self.b.get(self.at + 1..self.at + 3)?.try_into().ok()?);
                self.at += 3;
                half(h)?
            }
            0xfa => {
                let bits: [u8; 4] = self.b.get(self.at + 1..self.at + 5)?.try_into().ok()?;
                self.at += 5;
                f64::from(f32::from_be_bytes(bits))
            }
            0xfb => {
                let bits: [u8; 8] = self.b.get(self.at + 1..self.at + 9)?.try_into().ok()?;
                self.at += 9;
                f64::from_be_bytes(bits)
            }
            c if c >> 5 <= 1 => self.integer()? as f64,
            _ => return None,
        };
        n.is_finite().then_some(n)
    }

    /// A timestamp member: tag 1 (optional) before an integer or float, finite.
    fn timestamp(&mut self) -> Option<f64> {
        if self.peek()? >> 5 == 6 {
            let c = self.byte()?;
            if self.arg(c & 0x1f)? != 1 {
                return None;
            }
        }
        self.number()
    }

    fn int32(&mut self) -> Option<i32> {
        i32::try_from(self.integer()?).ok()
    }

    fn boolean(&mut self) -> Option<bool> {
        match self.byte()? {
            0xf4 => Some(false),
            0xf5 => Some(true),
            _ => None,
        }
    }

    /// Up to `n` items preallocated: a definite count is bounded by the bytes left.
    fn capacity(&self, count: &Count) -> usize {
        let left = self.b.len() - self.at;
        count
            .0
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX).min(left))
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let mut count = self.head(ARRAY)?;
        let mut out = Vec::with_capacity(self.capacity(&count));
        while self.more(&mut count)? {
            out.push(item(self)?);
        }
        Some(out)
    }

    /// A list of doubles (`Values`, `Counts`): the hot loop of a PutMetricData body.
    fn numbers(&mut self) -> Option<Vec<f64>> {
        self.list(Self::number)
    }

    /// The members of a structure: `member` gets each key that is not followed by null, and
    /// reads its value.
    fn structure(&mut self, mut member: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        let mut count = self.head(MAP)?;
        while self.more(&mut count)? {
            let key = self.text()?;
            if self.null() {
                continue;
            }
            member(self, &key)?;
        }
        Some(())
    }

    fn put_metric_data(&mut self) -> Option<PutMetricDataInput> {
        let mut input = PutMetricDataInput::default();
        let mut seen = Seen::default();
        self.structure(|r, key| {
            match key {
                "Namespace" => {
                    seen.first(0)?;
                    input.namespace = Some(r.string()?);
                }
                "MetricData" => {
                    seen.first(1)?;
                    input.metric_data = Some(r.list(Self::datum)?);
                }
                "StrictEntityValidation" => {
                    seen.first(2)?;
                    input.strict_entity_validation = Some(r.boolean()?);
                }
                // EntityMetricData and members the input does not have.
                _ => return None,
            }
            Some(())
        })?;
        Some(input)
    }

    fn datum(&mut self) -> Option<MetricDatum> {
        let mut d = MetricDatum::default();
        let mut seen = Seen::default();
        self.structure(|r, key| {
            match key {
                "MetricName" => {
                    seen.first(0)?;
                    d.metric_name = Some(r.string()?);
                }
                "Dimensions" => {
                    seen.first(1)?;
                    d.dimensions = Some(r.list(Self::dimension)?);
                }
                "Timestamp" => {
                    seen.first(2)?;
                    d.timestamp = Some(Timestamp(r.timestamp()?));
                }
                "Value" => {
                    seen.first(3)?;
                    d.value = Some(r.number()?);
                }
                "StatisticValues" => {
                    seen.first(4)?;
                    d.statistic_values = Some(r.statistic_set()?);
                }
                "Values" => {
                    seen.first(5)?;
                    d.values = Some(r.numbers()?);
                }
                "Counts" => {
                    seen.first(6)?;
                    d.counts = Some(r.numbers()?);
                }
                "Unit" => {
                    seen.first(7)?;
                    d.unit = Some(r.string()?);
                }
                "StorageResolution" => {
                    seen.first(8)?;
                    d.storage_resolution = Some(r.int32()?);
                }
                _ => return None,
            }
            Some(())
        })?;
        Some(d)
    }

    fn dimension(&mut self) -> Option<Dimension> {
        let mut d = Dimension::default();
        let mut seen = Seen::default();
        self.structure(|r, key| {
            match key {
                "Name" => {
                    seen.first(0)?;
                    d.name = Some(r.string()?);
                }
                "Value" => {
                    seen.first(1)?;
                    d.value = Some(r.string()?);
                }
                _ => return None,
            }
            Some(())
        })?;
        Some(d)
    }

    fn statistic_set(&mut self) -> Option<StatisticSet> {
        let mut s = StatisticSet::default();
        let mut seen = Seen::default();
        self.structure(|r, key| {
            let (bit, slot) = match key {
                "SampleCount" => (0, &mut s.sample_count),
                "Sum" => (1, &mut s.sum),
                "Minimum" => (2, &mut s.minimum),
                "Maximum" => (3, &mut s.maximum),
                _ => return None,
            };
            seen.first(bit)?;
            *slot = Some(r.number()?);
            Some(())
        })?;
        Some(s)
    }
}

/// An IEEE half-precision float as f64 (exact, as ciborium's `half` conversion); `None` for
/// the infinities and NaN.
fn half(h: u16) -> Option<f64> {
    let sign = u64::from(h >> 15) << 63;
    let exp = u64::from((h >> 10) & 0x1f);
    let mant = u64::from(h & 0x3ff);
    let magnitude = match exp {
        // Subnormal: mant × 2^-24.
        0 => mant as f64 * f64::from_bits(0x3e70_0000_0000_0000),
        31 => return None,
        // Rebias the exponent (15 → 1023) and widen the mantissa (10 → 52 bits).
        _ => f64::from_bits(((exp + 1008) << 52) | (mant << 42)),
    };
    Some(f64::from_bits(magnitude.to_bits() | sign))
}

#[cfg(test)]
mod tests {
    use super::half;

    #[test]
    fn half_floats() {
        for (bits, want) in [
            (0x3c00, 1.0),
            (0xc000, -2.0),
            (0x7bff, 65504.0),
            (0x0001, 5.960464477539063e-8),
            (0x0400, 6.103515625e-5),
            (0x3555, 0.333251953125),
            (0x0000, 0.0),
        ] {
            assert_eq!(half(bits), Some(want), "{bits:#06x}");
        }
        assert_eq!(half(0x8000).map(f64::to_bits), Some((-0.0f64).to_bits()));
        assert_eq!(half(0x7c00), None);
        // Every finite half against the textbook formula.
        for h in 0..=u16::MAX {
            let (e, m) = (i32::from((h >> 10) & 0x1f), f64::from(h & 0x3ff));
            let want = match e {
                0 => m * 2f64.powi(-24),
                31 => continue,
                _ => (1024.0 + m) * 2f64.powi(e - 25),
            } * if h & 0x8000 != 0 { -1.0 } else { 1.0 };
            assert_eq!(half(h).map(f64::to_bits), Some(want.to_bits()), "{h:#06x}");
        }
        assert_eq!(half(0x7e00), None);
    }
}
