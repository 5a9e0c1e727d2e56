//! `pattern` and `diff`: deterministic clustering of log lines into templates, and the
//! comparison of the templates of two periods.
//!
//! AWS clusters with machine learning; Nephoscope's clustering is a fixed rule, so the same lines
//! always give the same patterns and partial states merge exactly:
//!
//! 1. Date-times (`2023-11-14`, `2023-11-14T22:13:20.000Z`, `2023-11-14 22:13:20,5 +02:00`) and
//!    clock times (`22:13:20.123`) are each one dynamic token.
//! 2. The rest is split at whitespace and at `, ; : = ( ) [ ] { } " ' < > | / ? & \`; those
//!    delimiters are kept verbatim in the pattern.
//! 3. A token that contains an ASCII digit (numbers, IP addresses, hex ids, UUIDs, `i-0abc12`) is
//!    dynamic and becomes `<*>`; any other token is static and kept.
//! 4. Lines with the same template form one pattern. Nothing else is merged: two lines that
//!    differ in a word without digits (a user name) are two patterns.
//!
//! `anomaly` (directly after the collecting `pattern`) splits the query's time range into ten
//! equal parts and compares each pattern's last tenth with the nine before, by fixed rules
//! ([`Detail::anomaly`], listed in `docs/compatibility.md`): a new pattern, a frequency out of
//! its band, HTTP error statuses rising in a token, a numeric token's mean moving more than
//! three deviations, a token taking a value outside its small set. AWS uses machine learning
//! and documents neither its rules nor its fields: these are Nephoscope's.
//!
//! `@severityLabel` is read from the template's first static token that names a level
//! (case-insensitive): error/err/fatal/critical/crit/severe/panic/emerg/alert → `Error`,
//! warn/warning → `Warning`, info/information/notice → `Info`, debug/trace/verbose → `Debug`;
//! a template without one has no `@severityLabel`.

use crate::ast::DiffPeriod;
use crate::eval::Row;
use crate::lexer::Unit;
use crate::value::Value;
use regex::Regex;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Output columns of `pattern | anomaly`.
pub const ANOMALY_COLUMNS: &[&str] = &[
    "@pattern",
    "@ratio",
    "@sampleCount",
    "@severityLabel",
    "@anomalyType",
    "@anomalyPriority",
    "@anomalyDescription",
];

/// Output columns of `pattern`, and of `pattern | diff`.
pub const PATTERN_COLUMNS: &[&str] = &["@pattern", "@ratio", "@sampleCount", "@severityLabel"];
pub const DIFF_COLUMNS: &[&str] = &[
    "@pattern",
    "@ratio",
    "@sampleCount",
    "@previousSampleCount",
    "@diffRatio",
    "@changeType",
    "@severityLabel",
];

const DELIMITERS: &[char] = &[
    ',', ';', ':', '=', '(', ')', '[', ']', '{', '}', '"', '\'', '<', '>', '|', '/', '?', '&', '\\',
];

fn datetime_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2}| [+-]\d{2}:?\d{2})?)?|\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?",
        )
        .expect("valid date-time regex")
    })
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || DELIMITERS.contains(&c)
}

/// The template of one value: dynamic tokens replaced by `<*>`.
pub fn template(text: &str) -> String {
    template_with(text, None)
}

/// [`template`], and the dynamic tokens' text in order into `dynamic` when given.
pub fn template_with<'t>(text: &'t str, mut dynamic: Option<&mut Vec<&'t str>>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in datetime_re().find_iter(text) {
        // A match glued to a word (`v2023-01-01x`) is part of that token, not a date-time.
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        if before.is_some_and(|c| !is_delimiter(c)) || after.is_some_and(|c| !is_delimiter(c)) {
            continue;
        }
        tokens(&text[last..m.start()], &mut out, dynamic.as_deref_mut());
        out.push_str("<*>");
        if let Some(d) = dynamic.as_deref_mut() {
            d.push(m.as_str());
        }
        last = m.end();
    }
    tokens(&text[last..], &mut out, dynamic);
    out
}

fn tokens<'t>(text: &'t str, out: &mut String, mut dynamic: Option<&mut Vec<&'t str>>) {
    let mut word_start: Option<usize> = None;
    let mut flush = |s: usize, e: usize, out: &mut String| {
        let w = &text[s..e];
        if w.bytes().any(|b| b.is_ascii_digit()) {
            out.push_str("<*>");
            if let Some(d) = dynamic.as_deref_mut() {
                d.push(w);
            }
        } else {
            out.push_str(w);
        }
    };
    for (i, c) in text.char_indices() {
        if is_delimiter(c) {
            if let Some(s) = word_start.take() {
                flush(s, i, out);
            }
            out.push(c);
        } else if word_start.is_none() {
            word_start = Some(i);
        }
    }
    if let Some(s) = word_start {
        flush(s, text.len(), out);
    }
}

/// The severity a template names, if any (see the module docs).
pub fn severity(template: &str) -> Option<&'static str> {
    template
        .split(is_delimiter)
        .filter(|w| !w.is_empty())
        .find_map(|w| match w.to_ascii_lowercase().as_str() {
            "error" | "err" | "fatal" | "critical" | "crit" | "severe" | "panic" | "emerg"
            | "alert" => Some("Error"),
            "warn" | "warning" => Some("Warning"),
            "info" | "information" | "notice" => Some("Info"),
            "debug" | "trace" | "verbose" => Some("Debug"),
            _ => None,
        })
}

/// Template counts of one period.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub by_template: HashMap<String, u64>,
    pub total: u64,
}

impl Counts {
    pub fn add(&mut self, v: &Value) {
        let Some(s) = v.as_str() else { return };
        *self.by_template.entry(template(&s)).or_insert(0) += 1;
        self.total += 1;
    }

    fn merge(&mut self, o: Counts) {
        self.total += o.total;
        for (k, n) in o.by_template {
            *self.by_template.entry(k).or_insert(0) += n;
        }
    }
}

/// Mergeable state of a `pattern` (and `diff`, `anomaly`) collector.
#[derive(Debug, Clone, Default)]
pub struct Patterns {
    pub current: Counts,
    /// The comparison period's counts (only with `diff`).
    pub previous: Counts,
    /// Each pattern's counts over the query's time range and its dynamic tokens (only with
    /// `anomaly`).
    pub detail: HashMap<String, Detail>,
}

/// How many equal parts `anomaly` splits the query's time range into: the last is compared
/// with the others.
const BUCKETS: usize = 10;
/// The dynamic tokens of a pattern `anomaly` reads (the first ones).
const MAX_POSITIONS: usize = 16;
/// The distinct values of a token kept per part of the range (past them: "many").
const MAX_VALUES: usize = 10;

/// One dynamic token's values in the earlier nine tenths of the range, or in the last.
#[derive(Debug, Clone, Default)]
pub struct TokenStats {
    /// Values seen, numbers among them, their sum and sum of squares.
    count: u64,
    nums: f64,
    sum: f64,
    sq: f64,
    /// Values that are HTTP error statuses (three digits, 400 to 599).
    errors: u64,
    /// The distinct values (`None`: more than [`MAX_VALUES`]).
    values: Option<std::collections::BTreeSet<String>>,
}

impl TokenStats {
    fn add(&mut self, tok: &str) {
        self.count += 1;
        if let Some(x) = tok.parse::<f64>().ok().filter(|x| x.is_finite()) {
            self.nums += 1.0;
            self.sum += x;
            self.sq += x * x;
        }
        if tok.len() == 3
            && tok.bytes().all(|b| b.is_ascii_digit())
            && (b"400".as_slice()..=b"599".as_slice()).contains(&tok.as_bytes())
        {
            self.errors += 1;
        }
        if self.count == 1 {
            self.values = Some(Default::default());
        }
        if let Some(set) = &mut self.values {
            // (A value kept at most 256 bytes long.)
            let mut cut = tok.len().min(256);
            while !tok.is_char_boundary(cut) {
                cut -= 1;
            }
            set.insert(tok[..cut].to_string());
            if set.len() > MAX_VALUES {
                self.values = None;
            }
        }
    }

    fn merge(&mut self, o: TokenStats) {
        let first = self.count == 0;
        self.count += o.count;
        self.nums += o.nums;
        self.sum += o.sum;
        self.sq += o.sq;
        self.errors += o.errors;
        let mine = self.values.take();
        self.values = if first {
            o.values
        } else if o.count == 0 {
            mine
        } else {
            match (mine, o.values) {
                (Some(mut a), Some(b)) => {
                    a.extend(b);
                    (a.len() <= MAX_VALUES).then_some(a)
                }
                _ => None,
            }
        };
    }

    fn mean(&self) -> f64 {
        self.sum / self.nums
    }

    /// The sample deviation of the numbers.
    fn deviation(&self) -> f64 {
        if self.nums < 2.0 {
            return 0.0;
        }
        ((self.sq - self.sum * self.sum / self.nums) / (self.nums - 1.0))
            .max(0.0)
            .sqrt()
    }

    fn error_share(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.errors as f64 / self.count as f64
        }
    }
}

/// A pattern's records per tenth of the range, and its dynamic tokens before and in the last
/// tenth.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    buckets: [u64; BUCKETS],
    before: Vec<TokenStats>,
    last: Vec<TokenStats>,
}

impl Detail {
    fn merge(&mut self, o: Detail) {
        for (a, b) in self.buckets.iter_mut().zip(o.buckets) {
            *a += b;
        }
        for (mine, theirs) in [(&mut self.before, o.before), (&mut self.last, o.last)] {
            for (i, t) in theirs.into_iter().enumerate() {
                if i == mine.len() {
                    mine.push(TokenStats::default());
                }
                mine[i].merge(t);
            }
        }
    }

    fn earlier(&self) -> u64 {
        self.buckets[..BUCKETS - 1].iter().sum()
    }

    /// The anomaly the pattern shows, if any: (type, priority, description), by the rules of
    /// the module's `anomaly` notes; `traffic`: whether the earlier nine tenths held any
    /// record at all.
    fn anomaly(
        &self,
        template: &str,
        severity: Option<&str>,
        traffic: bool,
    ) -> Option<(&'static str, &'static str, String)> {
        let recent = self.buckets[BUCKETS - 1];
        let earlier = self.earlier();
        let error = severity == Some("Error");
        if earlier == 0 && recent > 0 && traffic {
            return Some((
                "NewPattern",
                if error { "HIGH" } else { "MEDIUM" },
                format!(
                    "new pattern: {recent} events in the last tenth of the time range, none before"
                ),
            ));
        }
        let before = &self.buckets[..BUCKETS - 1];
        let mean = earlier as f64 / before.len() as f64;
        let sd = (before
            .iter()
            .map(|&c| (c as f64 - mean).powi(2))
            .sum::<f64>()
            / before.len() as f64)
            .sqrt();
        let band = 3.0 * sd.max(1.0);
        let r = recent as f64;
        if recent >= 5 && r > mean + band {
            return Some((
                "PatternFrequency",
                if error { "HIGH" } else { "MEDIUM" },
                format!("frequency rose: {recent} events in the last tenth of the time range, {} per tenth before", crate::value::fmt_num((mean * 10.0).round() / 10.0)),
            ));
        }
        if mean >= 5.0 && r < mean - band {
            return Some((
                "PatternFrequency",
                "LOW",
                format!("frequency fell: {recent} events in the last tenth of the time range, {} per tenth before", crate::value::fmt_num((mean * 10.0).round() / 10.0)),
            ));
        }
        // (Only in a pattern about HTTP: an HTTP method, `HTTP` or `status` among its words.)
        let http = template.split(is_delimiter).any(|w| {
            [
                "get", "post", "put", "delete", "patch", "head", "options", "http", "https",
                "status",
            ]
            .contains(&w.to_ascii_lowercase().as_str())
        });
        for (i, last) in self.last.iter().enumerate().filter(|_| http) {
            let Some(before) = self.before.get(i) else {
                continue;
            };
            let (now, then) = (last.error_share(), before.error_share());
            if last.errors >= 3 && now - then >= 0.2 {
                return Some((
                    "HttpErrorCode",
                    "HIGH",
                    format!(
                        "HTTP error statuses in token {}: {}% of the last tenth's values, {}% before",
                        i + 1,
                        (now * 100.0).round(),
                        (then * 100.0).round()
                    ),
                ));
            }
        }
        for (i, last) in self.last.iter().enumerate() {
            let Some(before) = self.before.get(i) else {
                continue;
            };
            let sd = before.deviation();
            if before.nums >= 10.0
                && last.nums >= 3.0
                && sd > 0.0
                && (last.mean() - before.mean()).abs() > 3.0 * sd
            {
                let show = |x: f64| crate::value::fmt_num((x * 1000.0).round() / 1000.0);
                return Some((
                    "NumericalToken",
                    "MEDIUM",
                    format!(
                        "token {} averaged {} in the last tenth of the time range, {} (deviation {}) before",
                        i + 1,
                        show(last.mean()),
                        show(before.mean()),
                        show(sd)
                    ),
                ));
            }
        }
        for (i, last) in self.last.iter().enumerate() {
            let Some(before) = self.before.get(i) else {
                continue;
            };
            let (Some(known), Some(now)) = (&before.values, &last.values) else {
                continue;
            };
            if before.count < 10 {
                continue;
            }
            if let Some(v) = now.iter().find(|v| !known.contains(*v)) {
                return Some((
                    "TokenVariation",
                    "LOW",
                    format!("token {} took a value not seen before: {v}", i + 1),
                ));
            }
        }
        None
    }
}

impl Patterns {
    pub fn merge(&mut self, o: Patterns) {
        self.current.merge(o.current);
        self.previous.merge(o.previous);
        for (k, d) in o.detail {
            self.detail.entry(k).or_default().merge(d);
        }
    }

    /// One record's value for `pattern | anomaly`, at `ts` in the query's range
    /// `[start, end]`.
    pub fn add_detailed(&mut self, v: &Value, ts: i64, start: i64, end: i64) {
        let Some(text) = v.as_str() else { return };
        let mut dynamic = Vec::new();
        let t = template_with(&text, Some(&mut dynamic));
        let span = (end as i128 - start as i128 + 1).max(1);
        let b = (((ts as i128 - start as i128) * BUCKETS as i128) / span)
            .clamp(0, BUCKETS as i128 - 1) as usize;
        let d = self.detail.entry(t.clone()).or_default();
        d.buckets[b] += 1;
        let side = if b == BUCKETS - 1 {
            &mut d.last
        } else {
            &mut d.before
        };
        for (i, tok) in dynamic.iter().take(MAX_POSITIONS).enumerate() {
            if i == side.len() {
                side.push(TokenStats::default());
            }
            side[i].add(tok);
        }
        *self.current.by_template.entry(t).or_insert(0) += 1;
        self.current.total += 1;
    }

    /// Result rows of `pattern | anomaly`: the pattern's rows, and on each anomalous one
    /// `@anomalyType`, `@anomalyPriority` and `@anomalyDescription`.
    pub fn finish_anomaly(&self) -> Vec<Row> {
        let traffic = self.detail.values().any(|d| d.earlier() > 0);
        let mut rows = self.finish(false);
        for r in &mut rows {
            let Some(Value::Str(k)) = r.get_ref("@pattern").cloned() else {
                continue;
            };
            let Some(d) = self.detail.get(&k) else {
                continue;
            };
            if let Some((kind, priority, text)) = d.anomaly(&k, severity(&k), traffic) {
                r.set("@anomalyType", Value::Str(kind.into()));
                r.set("@anomalyPriority", Value::Str(priority.into()));
                r.set("@anomalyDescription", Value::Str(text));
            }
        }
        rows
    }

    /// Result rows, most frequent pattern first (ties: previous count, then the pattern text).
    pub fn finish(&self, diff: bool) -> Vec<Row> {
        let mut keys: Vec<&String> = self.current.by_template.keys().collect();
        if diff {
            keys.extend(
                self.previous
                    .by_template
                    .keys()
                    .filter(|k| !self.current.by_template.contains_key(*k)),
            );
        }
        let count = |c: &Counts, k: &String| c.by_template.get(k).copied().unwrap_or(0);
        keys.sort_by(|a, b| {
            count(&self.current, b)
                .cmp(&count(&self.current, a))
                .then_with(|| count(&self.previous, b).cmp(&count(&self.previous, a)))
                .then_with(|| a.cmp(b))
        });
        keys.into_iter()
            .map(|k| {
                let (cur, prev) = (count(&self.current, k), count(&self.previous, k));
                let mut r = Row::default();
                r.set("@pattern", Value::Str(k.clone()));
                if self.current.total > 0 {
                    r.set("@ratio", Value::Num(cur as f64 / self.current.total as f64));
                }
                r.set("@sampleCount", Value::Num(cur as f64));
                if diff {
                    r.set("@previousSampleCount", Value::Num(prev as f64));
                    if prev > 0 {
                        r.set(
                            "@diffRatio",
                            Value::Num((cur as f64 - prev as f64) / prev as f64),
                        );
                    }
                    let change = match (prev, cur) {
                        (0, _) => "New",
                        (_, 0) => "Removed",
                        (p, c) if c > p => "Increased",
                        (p, c) if c < p => "Decreased",
                        _ => "Unchanged",
                    };
                    r.set("@changeType", Value::Str(change.into()));
                }
                if let Some(s) = severity(k) {
                    r.set("@severityLabel", Value::Str(s.into()));
                }
                r
            })
            .collect()
    }
}

/// The comparison period of `diff` for the inclusive range `[start, end]` (epoch ms): of equal
/// length, ending just before `start` (previous period) or shifted back a day, a week, a
/// calendar month (the day clamped to the month's last day), or `logcompare`'s time shift.
pub fn comparison_range(period: DiffPeriod, start: i64, end: i64) -> (i64, i64) {
    const DAY: i64 = 86_400_000;
    let len = end.saturating_sub(start);
    let s = match period {
        DiffPeriod::Previous => start.saturating_sub(len).saturating_sub(1),
        DiffPeriod::Day => start.saturating_sub(DAY),
        DiffPeriod::Week => start.saturating_sub(7 * DAY),
        DiffPeriod::Month => months_back(start, 1),
        DiffPeriod::Shift(n, u) => match u {
            Unit::Month => months_back(start, n),
            Unit::Quarter => months_back(start, n.saturating_mul(3)),
            Unit::Year => months_back(start, n.saturating_mul(12)),
            u => start.saturating_sub(crate::datetime::unit_ms(u).saturating_mul(n)),
        },
    };
    (s, s.saturating_add(len))
}

/// `ms` moved back `n` calendar months (the day clamped to the month's last day).
fn months_back(ms: i64, n: i64) -> i64 {
    use time::{Month, OffsetDateTime};
    let fallback = ms.saturating_sub(n.saturating_mul(30 * 86_400_000));
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000) else {
        return fallback;
    };
    let months = (t.year() as i64 * 12 + (t.month() as i64 - 1)).saturating_sub(n);
    let Ok(y) = i32::try_from(months.div_euclid(12)) else {
        return fallback;
    };
    let Ok(m) = Month::try_from(months.rem_euclid(12) as u8 + 1) else {
        return fallback;
    };
    let day = t.day().min(m.length(y));
    match t
        .replace_day(1)
        .and_then(|x| x.replace_year(y))
        .and_then(|x| x.replace_month(m))
        .and_then(|x| x.replace_day(day))
    {
        Ok(x) => (x.unix_timestamp_nanos() / 1_000_000) as i64,
        Err(_) => fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let cases = [
            ("[INFO] Request time: 327 ms", "[INFO] Request time: <*> ms"),
            (
                "2023-01-01 19:00:01 [INFO] Calling DynamoDB to store for resource id 12342342k124-12345",
                "<*> [INFO] Calling DynamoDB to store for resource id <*>",
            ),
            (
                "2023-11-14T22:13:20.000Z ERROR user=alice ip=10.0.0.5:8080",
                "<*> ERROR user=alice ip=<*>:<*>",
            ),
            ("GET /pets/42?x=1&y=abc", "GET /pets/<*>?x=<*>&y=abc"),
            (
                r#"{"level":"warn","id":"3f2b8c1e-0d4a-4b8e-9f3c-2a1b0c9d8e7f"}"#,
                r#"{"level":"warn","id":"<*>"}"#,
            ),
            ("at 22:13:20.123 done", "at <*> done"),
            ("v2023-01-01x stays one token", "<*> stays one token"),
            ("", ""),
            ("  two  spaces ", "  two  spaces "),
        ];
        for (input, want) in cases {
            assert_eq!(template(input), want, "{input:?}");
        }
    }

    #[test]
    fn severities() {
        let cases = [
            ("[ERROR] x <*>", Some("Error")),
            ("level=warn msg", Some("Warning")),
            ("INFO then ERROR", Some("Info")),
            ("debugging <*>", None),
            ("nothing here", None),
            (r#"{"severity":"TRACE"}"#, Some("Debug")),
        ];
        for (t, want) in cases {
            assert_eq!(severity(t), want, "{t:?}");
        }
    }

    #[test]
    fn comparison_ranges() {
        // 2024-03-31 00:00:00 UTC → 2024-02-29 (clamped), same length.
        let start = 1_711_843_200_000;
        let end = start + 3_600_000 - 1;
        assert_eq!(
            comparison_range(DiffPeriod::Previous, start, end),
            (start - 3_600_000, start - 1)
        );
        assert_eq!(
            comparison_range(DiffPeriod::Day, start, end),
            (start - 86_400_000, end - 86_400_000)
        );
        let feb29 = 1_709_164_800_000;
        assert_eq!(
            comparison_range(DiffPeriod::Month, start, end),
            (feb29, feb29 + 3_600_000 - 1)
        );
        // `logcompare timeshift …`: fixed units, then calendar months, quarters and years.
        let shift = |n, u| comparison_range(DiffPeriod::Shift(n, u), start, end);
        assert_eq!(
            shift(7, Unit::Day),
            (start - 7 * 86_400_000, end - 7 * 86_400_000)
        );
        assert_eq!(shift(90, Unit::Min), (start - 5_400_000, end - 5_400_000));
        assert_eq!(shift(1, Unit::Month), (feb29, feb29 + 3_600_000 - 1));
        // 2024-03-31 → 2023-12-31 and 2022-03-31.
        assert_eq!(shift(1, Unit::Quarter).0, 1_703_980_800_000);
        assert_eq!(shift(2, Unit::Year).0, 1_648_684_800_000);
        // 13 months back: 2023-02-28 (clamped).
        assert_eq!(shift(13, Unit::Month).0, 1_677_542_400_000);
        // A shift past any calendar stays a number.
        assert!(shift(i64::MAX, Unit::Month).0 < start);
        assert!(shift(i64::MAX, Unit::Week).0 < start);
    }
}
