//! AWS Query form bodies read in place: `Action` and `Version` for routing, and PutMetricData's
//! typed input (`MetricData.member.N.…`). A body is ~90 bytes of form text per value and is read
//! twice (routing, then the input), so neither pass builds the parameter tree or copies a pair it
//! does not keep: routing decodes only the pairs whose name can be `Action` or `Version`, and the
//! input reader takes the pairs that carry the values (`…Values.member.I=12.5`) in one pass each,
//! with an exact decimal reader, and every other pair the general way.
//!
//! Pairs come out exactly as `form_urlencoded::parse` (what [`crate::query::ParamTree::parse`]
//! uses) yields them: split on `&` (empty pieces skipped), then on the first `=`. A pair with an
//! escape (`%` or `+`) is decoded by `form_urlencoded` itself; any other pair is its raw bytes,
//! which is what decoding would give (a name is only ever compared with ASCII names, which no
//! invalid UTF-8 equals; a value is read with `String::from_utf8_lossy`, as `form_urlencoded`
//! reads it). The `query_decode` fuzz target checks both against the tree.

use super::checked;
use crate::service::Input;
use nephoscope_model::meta::{OperationDef, ServiceDef};
use nephoscope_model::types::cloudwatch::{
    Dimension, MetricDatum, PutMetricDataInput, StatisticSet,
};
use std::borrow::Cow;

/// Name and value of a piece, split at the first `=`, as sent.
fn split(piece: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b'=', piece) {
        Some(eq) => (&piece[..eq], &piece[eq + 1..]),
        None => (piece, &[]),
    }
}

fn escaped(s: &[u8]) -> bool {
    memchr::memchr2(b'%', b'+', s).is_some()
}

/// A piece decoded by `form_urlencoded`.
fn decoded(piece: &[u8]) -> (Cow<'_, [u8]>, Cow<'_, [u8]>) {
    fn bytes(s: Cow<'_, str>) -> Cow<'_, [u8]> {
        match s {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        }
    }
    let (k, v) = form_urlencoded::parse(piece)
        .next()
        .expect("a non-empty piece without `&` is one pair");
    (bytes(k), bytes(v))
}

/// The pair of a non-empty piece as `form_urlencoded` decodes it (see the module comment).
fn pair(piece: &[u8]) -> (Cow<'_, [u8]>, Cow<'_, [u8]>) {
    if escaped(piece) {
        decoded(piece)
    } else {
        let (k, v) = split(piece);
        (Cow::Borrowed(k), Cow::Borrowed(v))
    }
}

/// A value as text, as `form_urlencoded` decodes it.
fn text(v: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(v)
}

/// `Action` and `Version` of a form body as [`crate::query::ParamTree::get`] reads them (the
/// last of repeated keys), without building the tree or visiting every pair: a name decodes to
/// `Action` only if it is spelt so or holds an escape, so only those pairs — found by scanning
/// the body for the two names and for escapes — are decoded.
pub fn form_action_version(form: &[u8]) -> (Option<String>, Option<String>) {
    // Where the candidate pairs start.
    let mut starts = Vec::new();
    // Both names end in `ion`: one pass over the body finds the places of both.
    for ion in memchr::memmem::find_iter(form, b"ion") {
        let end = ion + 3;
        for name in [&b"Action"[..], b"Version"] {
            let Some(at) = end.checked_sub(name.len()) else {
                continue;
            };
            let after = form.get(end);
            if &form[at..end] == name
                && (at == 0 || form[at - 1] == b'&')
                && after.is_none_or(|&c| c == b'=' || c == b'&')
            {
                starts.push(at);
            }
        }
    }
    // Pairs with an escape in the name; each pair is looked at once, at its first escape.
    let mut end = 0;
    for at in memchr::memchr2_iter(b'%', b'+', form) {
        if at < end {
            continue;
        }
        let start = memchr::memrchr(b'&', &form[..at]).map_or(0, |i| i + 1);
        end = memchr::memchr(b'&', &form[at..]).map_or(form.len(), |i| at + i);
        if memchr::memchr(b'=', &form[start..at]).is_none() {
            starts.push(start);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let (mut action, mut version) = (None, None);
    for start in starts {
        let end = memchr::memchr(b'&', &form[start..]).map_or(form.len(), |i| start + i);
        let (k, v) = decoded(&form[start..end]);
        match &*k {
            b"Action" => action = Some(text(&v).into_owned()),
            b"Version" => version = Some(text(&v).into_owned()),
            _ => {}
        }
    }
    (action, version)
}

/// A list index as the canonical decoder reads it (`1`, `2`, …), only in its plain spelling
/// (the canonical path reads `01` as another key with the same index).
fn index(s: &[u8]) -> Option<usize> {
    if s.first().is_none_or(|&c| c == b'0') {
        return None;
    }
    s.iter().try_fold(0usize, |n, &c| {
        if !c.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(usize::from(c - b'0'))
    })
}

/// Items by index, in index order; a repeated index keeps its last value.
fn ordered<T>(mut items: Vec<(usize, T)>) -> Vec<T> {
    // Stable: among equal indexes the last pushed stays last, and dedup keeps it.
    items.sort_by_key(|(i, _)| *i);
    let mut out: Vec<(usize, T)> = Vec::with_capacity(items.len());
    for (i, v) in items {
        match out.last_mut() {
            Some(last) if last.0 == i => last.1 = v,
            _ => out.push((i, v)),
        }
    }
    out.into_iter().map(|(_, v)| v).collect()
}

/// List items by index: kept as a plain list while they come as 1, 2, 3, … (as every SDK sends
/// them), as (index, item) pairs for [`ordered`] from the first that does not.
struct Indexed<T> {
    dense: Vec<T>,
    sparse: Option<Vec<(usize, T)>>,
}

impl<T> Default for Indexed<T> {
    fn default() -> Self {
        Indexed {
            dense: Vec::new(),
            sparse: None,
        }
    }
}

impl<T> Indexed<T> {
    fn with_capacity(n: usize) -> Self {
        Indexed {
            dense: Vec::with_capacity(n),
            sparse: None,
        }
    }

    /// Items so far, while they came in order.
    fn dense_len(&self) -> usize {
        self.dense.len()
    }

    fn push(&mut self, i: usize, item: T) {
        if let Some(sparse) = &mut self.sparse {
            sparse.push((i, item));
        } else if i == self.dense.len() + 1 {
            self.dense.push(item);
        } else {
            let mut sparse: Vec<(usize, T)> = self
                .dense
                .drain(..)
                .enumerate()
                .map(|(k, v)| (k + 1, v))
                .collect();
            sparse.push((i, item));
            self.sparse = Some(sparse);
        }
    }

    fn items(self) -> Vec<T> {
        match self.sparse {
            None => self.dense,
            Some(sparse) => ordered(sparse),
        }
    }
}

/// A double as the canonical path reads it: `str::trim`, then `f64::from_str`, finite.
fn number(v: &[u8]) -> Option<f64> {
    if let Some((n, len)) = decimal(v) {
        if len == v.len() {
            return Some(n);
        }
    }
    std::str::from_utf8(v)
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// Powers of ten that are exact doubles.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A plain decimal (`-12.345`, `7`, `.5`, `5.`) at the start of `s`, up to the end or a `&`:
/// its value and length. Only when its digits make an integer of at most 2^53 with at most 22
/// of them after the point: the value is then that integer over a power of ten, both exact
/// doubles, and one IEEE division rounds correctly — the same double `f64::from_str` gives.
/// `None` for anything else (an exponent, more digits, a space or escape), which `f64::from_str`
/// reads.
fn decimal(s: &[u8]) -> Option<(f64, usize)> {
    let neg = s.first() == Some(&b'-');
    let mut at = usize::from(neg);
    let (mut m, mut digits, mut frac, mut point) = (0u64, 0u32, 0usize, false);
    while let Some(&c) = s.get(at) {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                if digits > 19 {
                    return None;
                }
                m = m * 10 + u64::from(c - b'0');
                frac += usize::from(point);
            }
            b'.' if !point => point = true,
            b'&' => break,
            _ => return None,
        }
        at += 1;
    }
    if digits == 0 || m > 1 << 53 || frac >= POW10.len() {
        return None;
    }
    let n = m as f64 / POW10[frac];
    Some((if neg { -n } else { n }, at))
}

/// A list index in its plain spelling ([`index`]) at the start of `s`, ended by `end`: the
/// index and the rest after `end`.
fn index_until(s: &[u8], end: u8) -> Option<(usize, &[u8])> {
    let len = s.iter().position(|c| !c.is_ascii_digit())?;
    if s[len] != end {
        return None;
    }
    Some((index(&s[..len])?, &s[len + 1..]))
}

/// A pair that carries a value: `MetricData.member.N.Values.member.I=<plain decimal>` (or
/// `Counts`).
#[derive(Debug, PartialEq)]
struct ValuePair {
    /// The datum (N) and whether the list is `Counts`.
    n: usize,
    counts: bool,
    /// The length of the name up to the item index (`MetricData.member.N.Values.member.`).
    list_len: usize,
    i: usize,
    value: f64,
    /// The length of the whole pair.
    len: usize,
}

/// The value pair at the start of `s` — ~all pairs of a body — read in one pass without
/// escapes; `None` for any other pair, which the general way reads.
fn value_pair(s: &[u8]) -> Option<ValuePair> {
    let rest = s.strip_prefix(b"MetricData.member.")?;
    let (n, rest) = index_until(rest, b'.')?;
    let (counts, rest) = match rest.strip_prefix(b"Values.member.") {
        Some(rest) => (false, rest),
        None => (true, rest.strip_prefix(b"Counts.member.")?),
    };
    let list_len = s.len() - rest.len();
    let (i, value, len) = item(rest)?;
    Some(ValuePair {
        n,
        counts,
        list_len,
        i,
        value,
        len: list_len + len,
    })
}

/// `I=<plain decimal>`, the rest of a value pair: the index, the value and their length.
fn item(s: &[u8]) -> Option<(usize, f64, usize)> {
    let (i, rest) = index_until(s, b'=')?;
    let (value, len) = decimal(rest)?;
    Some((i, value, s.len() - rest.len() + len))
}

/// A dimension's `Name` and `Value` as given.
type NameValue = (Option<String>, Option<String>);

#[derive(Default)]
struct FormDatum {
    name: Option<String>,
    unit: Option<String>,
    value: Option<f64>,
    timestamp: Option<f64>,
    resolution: Option<i32>,
    values: Option<Indexed<f64>>,
    counts: Option<Indexed<f64>>,
    dimensions: Option<Vec<(usize, NameValue)>>,
    stats: Option<[Option<f64>; 4]>,
}

impl FormDatum {
    /// Sets the member `field` (the key after `MetricData.member.N.`) to `v`; `None` for a key
    /// the fast path does not know or a value it does not read.
    fn set(&mut self, field: &[u8], v: &[u8]) -> Option<()> {
        match field {
            b"MetricName" => self.name = Some(text(v).into_owned()),
            b"Unit" => self.unit = Some(text(v).into_owned()),
            b"Value" => self.value = Some(number(v)?),
            b"Timestamp" => {
                let v = text(v);
                self.timestamp = Some(
                    crate::timestamp::parse_iso8601(&v)
                        .or_else(|| v.parse::<f64>().ok())
                        .filter(|t| t.is_finite())?,
                )
            }
            b"StorageResolution" => {
                self.resolution = Some(text(v).trim().parse::<i64>().ok()?.try_into().ok()?)
            }
            _ => {
                if let Some(i) = field.strip_prefix(b"Values.member.") {
                    self.push(false, index(i)?, number(v)?, 0);
                } else if let Some(i) = field.strip_prefix(b"Counts.member.") {
                    self.push(true, index(i)?, number(v)?, 0);
                } else if let Some(rest) = field.strip_prefix(b"Dimensions.member.") {
                    let (i, part) = split_at_dot(rest)?;
                    let i = index(i)?;
                    let dims = self.dimensions.get_or_insert_with(Vec::new);
                    let slot = match dims.iter().position(|(j, _)| *j == i) {
                        Some(s) => s,
                        None => {
                            dims.push((i, (None, None)));
                            dims.len() - 1
                        }
                    };
                    match part {
                        b"Name" => dims[slot].1 .0 = Some(text(v).into_owned()),
                        b"Value" => dims[slot].1 .1 = Some(text(v).into_owned()),
                        _ => return None,
                    }
                } else if let Some(part) = field.strip_prefix(b"StatisticValues.") {
                    let slot = match part {
                        b"SampleCount" => 0,
                        b"Sum" => 1,
                        b"Minimum" => 2,
                        b"Maximum" => 3,
                        _ => return None,
                    };
                    self.stats.get_or_insert([None; 4])[slot] = Some(number(v)?);
                } else {
                    return None;
                }
            }
        }
        Some(())
    }

    /// Item `i` of `Values` (or `Counts`); a new list has room for `hint` items.
    fn push(&mut self, counts: bool, i: usize, n: f64, hint: usize) {
        let list = if counts {
            &mut self.counts
        } else {
            &mut self.values
        };
        list.get_or_insert_with(|| Indexed::with_capacity(hint))
            .push(i, n);
    }

    fn into_datum(self) -> MetricDatum {
        MetricDatum {
            metric_name: self.name,
            dimensions: self.dimensions.map(|ds| {
                ordered(ds)
                    .into_iter()
                    .map(|(name, value)| Dimension { name, value })
                    .collect()
            }),
            timestamp: self.timestamp.map(nephoscope_model::Timestamp),
            value: self.value,
            statistic_values: self.stats.map(|[c, s, mi, ma]| StatisticSet {
                sample_count: c,
                sum: s,
                minimum: mi,
                maximum: ma,
            }),
            values: self.values.map(Indexed::items),
            counts: self.counts.map(Indexed::items),
            unit: self.unit,
            storage_resolution: self.resolution,
        }
    }
}

/// `a == b` for the short names of one list (~35 bytes), compared 8 bytes at a time in line
/// rather than by a call to `memcmp` per value pair.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    for (p, q) in x.by_ref().zip(y.by_ref()) {
        if u64::from_ne_bytes(p.try_into().expect("8 bytes"))
            != u64::from_ne_bytes(q.try_into().expect("8 bytes"))
        {
            return false;
        }
    }
    x.remainder() == y.remainder()
}

/// `a.b` as (`a`, `b`) at the first dot.
fn split_at_dot(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let dot = memchr::memchr(b'.', s)?;
    Some((&s[..dot], &s[dot + 1..]))
}

/// The datums of a form by index, found by position while they are numbered 1, 2, 3, ….
#[derive(Default)]
struct Datums {
    list: Vec<(usize, FormDatum)>,
    /// `list[k]` has index `k + 1` for every `k`.
    scattered: bool,
    /// Where the last datum looked up is: members of one datum arrive together.
    last: Option<(usize, usize)>,
    /// The longest `Values` or `Counts` so far: the room a new one gets.
    hint: usize,
}

impl Datums {
    fn get(&mut self, n: usize) -> &mut FormDatum {
        let at = match self.last {
            Some((i, at)) if i == n => at,
            Some((_, at)) => {
                let d = &self.list[at].1;
                for list in [&d.values, &d.counts].into_iter().flatten() {
                    self.hint = self.hint.max(list.dense_len());
                }
                self.find(n)
            }
            None => self.find(n),
        };
        self.last = Some((n, at));
        &mut self.list[at].1
    }

    /// Item `i` of datum `n`'s `Values` (or `Counts`).
    fn push(&mut self, n: usize, counts: bool, i: usize, value: f64) {
        let hint = self.hint;
        self.get(n).push(counts, i, value, hint);
    }

    /// Datum `n`'s `Values` (or `Counts`), as [`Datums::push`] adds to them.
    fn list(&mut self, n: usize, counts: bool) -> &mut Indexed<f64> {
        let hint = self.hint;
        let d = self.get(n);
        let list = if counts { &mut d.counts } else { &mut d.values };
        list.get_or_insert_with(|| Indexed::with_capacity(hint))
    }

    /// Where datum `n` is, added when new.
    fn find(&mut self, n: usize) -> usize {
        if !self.scattered && n <= self.list.len() {
            return n - 1;
        }
        match self.list.iter().position(|(i, _)| *i == n) {
            Some(at) => at,
            None => {
                self.scattered |= n != self.list.len() + 1;
                self.list.push((n, FormDatum::default()));
                self.list.len() - 1
            }
        }
    }

    fn into_datums(self) -> Vec<MetricDatum> {
        let list = if self.scattered {
            ordered(self.list)
        } else {
            self.list.into_iter().map(|(_, d)| d).collect()
        };
        list.into_iter().map(FormDatum::into_datum).collect()
    }
}

/// PutMetricData's typed input straight from its Query form (`MetricData.member.N.…`), when
/// every key is one the fast path knows and the input is certainly valid; `None` sends the body
/// the canonical way.
pub fn put_metric_data_form(
    service: &'static ServiceDef,
    op: &OperationDef,
    form: &[u8],
) -> Option<Input> {
    let mut namespace = None;
    let mut strict = None;
    let mut datums = Datums::default();
    // The name of the last value pair up to its item index (where it is in the form, its
    // length, its datum and list): the pairs of one list share it, so only their index and
    // value are read.
    let mut list: Option<(usize, usize, usize, bool)> = None;
    let mut at = 0;
    while at < form.len() {
        if let Some((start, len, n, counts)) = list {
            // The following pairs of the same list, straight into it.
            let name = &form[start..start + len];
            let next = |at: usize| {
                let s = form.get(at..)?;
                if !s.get(..len).is_some_and(|x| same(x, name)) {
                    return None;
                }
                item(&s[len..])
            };
            if let Some(first) = next(at) {
                let items = datums.list(n, counts);
                let mut pair = Some(first);
                while let Some((i, v, item_len)) = pair {
                    items.push(i, v);
                    at += len + item_len + 1;
                    pair = next(at);
                }
                continue;
            }
        }
        let s = &form[at..];
        if let Some(p) = value_pair(s) {
            datums.push(p.n, p.counts, p.i, p.value);
            list = Some((at, p.list_len, p.n, p.counts));
            at += p.len + 1;
            continue;
        }
        let end = memchr::memchr(b'&', &form[at..]).map_or(form.len(), |e| at + e);
        let piece = &form[at..end];
        at = end + 1;
        if piece.is_empty() {
            continue;
        }
        let (k, v) = pair(piece);
        match &*k {
            b"Action" | b"Version" => {}
            b"Namespace" => namespace = Some(text(&v).into_owned()),
            b"StrictEntityValidation" => {
                strict = Some(match &*v {
                    b"true" => true,
                    b"false" => false,
                    _ => return None,
                })
            }
            key => {
                let (n, field) = split_at_dot(key.strip_prefix(b"MetricData.member.")?)?;
                datums.get(index(n)?).set(field, &v)?;
            }
        }
    }
    let metric_data = datums.into_datums();
    let typed = PutMetricDataInput {
        namespace,
        metric_data: (!metric_data.is_empty()).then_some(metric_data),
        entity_metric_data: None,
        strict_entity_validation: strict,
    };
    checked(service, op, typed)
}

#[cfg(test)]
mod tests {
    use super::{decimal, number, value_pair, ValuePair};

    /// `f64::from_str` as the canonical path reads a value.
    fn reference(s: &str) -> Option<f64> {
        s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
    }

    #[test]
    fn decimals_read_as_from_str_reads_them() {
        for s in [
            "0",
            "-0",
            "7",
            "12.345678",
            "-12.345678",
            ".5",
            "5.",
            "-.5",
            "0.1",
            "0.3",
            "007.50",
            "9007199254740992",
            "9007199254740993",
            "123456789012345678",
            "1.0000000000000000000001",
            "0.0000000000000000000001",
            "1e3",
            " 1",
            "1 ",
            "-",
            ".",
            "",
            "1.2.3",
            "--1",
            "1-",
            "+1",
            "inf",
            "NaN",
            "1.7976931348623157",
            "0.000000000000000000001",
        ] {
            let want = reference(s);
            assert_eq!(
                number(s.as_bytes()).map(f64::to_bits),
                want.map(f64::to_bits),
                "{s:?}"
            );
            if let Some((n, len)) = decimal(s.as_bytes()) {
                assert_eq!(len, s.len(), "{s:?}");
                assert_eq!(Some(n.to_bits()), want.map(f64::to_bits), "{s:?}");
            }
        }
        // Pseudo-random decimals of every length and point position.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 20) as usize + 1;
            let mut s: String = (0..digits)
                .map(|k| char::from(b'0' + ((x >> (k * 3 % 60)) % 10) as u8))
                .collect();
            let point = (x >> 40) as usize % (digits + 2);
            if point <= digits {
                s.insert(point, '.');
            }
            if x & (1 << 63) != 0 {
                s.insert(0, '-');
            }
            assert_eq!(
                number(s.as_bytes()).map(f64::to_bits),
                reference(&s).map(f64::to_bits),
                "{s:?}"
            );
        }
    }

    #[test]
    fn value_pairs() {
        let pair = |s: &str| value_pair(s.as_bytes());
        assert_eq!(
            pair("MetricData.member.12.Values.member.3=1.5&x"),
            Some(ValuePair {
                n: 12,
                counts: false,
                list_len: 35,
                i: 3,
                value: 1.5,
                len: 40
            })
        );
        assert_eq!(
            pair("MetricData.member.1.Counts.member.150=2"),
            Some(ValuePair {
                n: 1,
                counts: true,
                list_len: 34,
                i: 150,
                value: 2.0,
                len: 39
            })
        );
        for s in [
            "MetricData.member.1.Values.member.1=1e3",
            "MetricData.member.1.Values.member.1=%31",
            "MetricData.member.1.Values.member.1=+1",
            "MetricData.member.1.Values.member.01=1",
            "MetricData.member.01.Values.member.1=1",
            "MetricData.member.1.Values.member.1",
            "MetricData.member.1.Values.member.=1",
            "MetricData.member.1.Values.member.1=",
            "MetricData.member.1.Value=1",
            "MetricData%2Emember.1.Values.member.1=1",
        ] {
            assert_eq!(pair(s), None, "{s}");
        }
    }
}
