//! Scalar functions, the function catalogue, and period arithmetic.

use crate::ast::AggKind;
use crate::datetime;
use crate::value::{parse_num, text_of, Value};
use md5::Digest;
use std::fmt::Write;
use std::net::IpAddr;

pub enum FnClass {
    Agg(AggKind),
    /// Scalar with (min, max) argument counts.
    Scalar(usize, usize),
    Unsupported,
    Unknown,
}

pub fn classify(name: &str) -> FnClass {
    use FnClass::*;
    let n = name.to_ascii_lowercase();
    match n.as_str() {
        "count" => Agg(AggKind::Count),
        "count_distinct" => Agg(AggKind::CountDistinct),
        "sum" => Agg(AggKind::Sum),
        "avg" => Agg(AggKind::Avg),
        "min" => Agg(AggKind::Min),
        "max" => Agg(AggKind::Max),
        "pct" | "percentile" => Agg(AggKind::Pct),
        "stddev" => Agg(AggKind::Stddev),
        "earliest" => Agg(AggKind::Earliest),
        "latest" => Agg(AggKind::Latest),
        "sortsfirst" => Agg(AggKind::SortsFirst),
        "sortslast" => Agg(AggKind::SortsLast),
        // The time-series functions: AWS's page spells the first two both in snake and in
        // camel case. Over a `by bin(period)` group they are count and sum per bin.
        "count_over_time" | "countovertime" => Agg(AggKind::Count),
        "sum_over_time" | "sumovertime" => Agg(AggKind::Sum),
        "rate" => Agg(AggKind::Rate),
        "histogram" => Agg(AggKind::Histogram),
        "abs" | "ceil" | "floor" | "log" | "sqrt" | "tonumber" | "toint" | "tolong"
        | "todouble" => Scalar(1, 1),
        "round" => Scalar(1, 2),
        "greatest" | "least" | "coalesce" | "concat" => Scalar(1, 64),
        "haversine" => Scalar(4, 4),
        "bin" | "frommillis" | "tomillis" => Scalar(1, 1),
        "datefloor" | "dateceil" => Scalar(2, 2),
        "now" | "querystarttime" | "queryendtime" | "querytimerange" => Scalar(0, 0),
        "formatdate" | "strftime" | "parsedate" => Scalar(2, 3),
        "md5" | "sha256" => Scalar(1, 1),
        "ispresent" | "isnumeric" | "messagesize" | "isempty" | "isblank" | "strlen"
        | "toupper" | "tolower" | "urlencode" | "urldecode" | "base64encode" | "base64decode"
        | "hextoascii" | "hextodec" | "dectohex" | "jsonparse" | "jsonstringify"
        | "jsonarraysize" | "isvalidip" | "isvalidipv4" | "isvalidipv6" | "ipv4tonumber"
        | "isprivateip" | "ispublicip" | "isreservedip" => Scalar(1, 1),
        "case" => Scalar(2, 21),
        "if" => Scalar(3, 3),
        "ltrim" | "rtrim" | "trim" => Scalar(1, 2),
        "substr" => Scalar(2, 3),
        "replace" | "regexreplace" => Scalar(3, 3),
        "strcontains" => Scalar(2, 3),
        "startswith" | "endswith" | "split" | "jsonarraycontains" | "isipinsubnet"
        | "isipv4insubnet" | "isipv6insubnet" => Scalar(2, 2),
        // No data protection policies mask anything here, so unmask returns its argument.
        "unmask" => Scalar(1, 1),
        // AWS documents only md5 and sha256 among the hashes.
        "sha1" | "sha512" | "hash" => Unsupported,
        "ppl_percentile" if crate::translate::in_translation() => Agg(AggKind::Percentile),
        "ppl_take" if crate::translate::in_translation() => Agg(AggKind::Take),
        n if n.starts_with("ppl_") && crate::translate::in_translation() => {
            match crate::translate::INTERNAL_FUNCTIONS
                .iter()
                .chain(crate::translate::PPL_JSON_FUNCTIONS)
                .chain(crate::translate::SQL_JSON_FUNCTIONS)
                .chain(crate::translate::SQL_ARRAY_FUNCTIONS)
                .find(|(_, ours, ..)| *ours == n)
            {
                Some(&(_, _, lo, hi)) => Scalar(lo, hi),
                None => Unknown,
            }
        }
        _ => Unknown,
    }
}

/// A date or time argument of the PPL/SQL date functions: a time, or text holding a date
/// (`2020-08-26`), a date and time (`2020-08-26 12:00:00`, `T` also) read as UTC, or an
/// instant with its offset (`…Z`, `…+02:00`). Numbers are no date (Spark refuses them).
fn instant(v: &Value) -> Option<jiff::Timestamp> {
    match v {
        Value::Time(ms) => jiff::Timestamp::from_millisecond(*ms).ok(),
        Value::Str(t) => {
            let t = t.trim();
            if let Ok(ts) = t.parse::<jiff::Timestamp>() {
                return Some(ts);
            }
            let utc = jiff::tz::TimeZone::UTC;
            if let Ok(dt) = t.parse::<jiff::civil::DateTime>() {
                return dt.to_zoned(utc).ok().map(|z| z.timestamp());
            }
            t.parse::<jiff::civil::Date>()
                .ok()
                .and_then(|d| d.to_zoned(utc).ok())
                .map(|z| z.timestamp())
        }
        _ => None,
    }
}

/// A time (or text holding a date, a date and time, or an instant) in epoch milliseconds.
pub(crate) fn time_millis(v: &Value) -> Option<f64> {
    instant(v).map(|t| t.as_millisecond() as f64)
}

/// Whether a value is a time of day written alone (`01:02:03`), not a date.
fn is_clock(v: &Value) -> bool {
    matches!(v, Value::Str(t) if parse_clock(t.trim()).is_some())
}

/// `[-]H…H:MM[:SS[.fff]]` in milliseconds.
fn parse_clock(t: &str) -> Option<i64> {
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let mut parts = t.split(':');
    let h: i64 = parts
        .next()
        .filter(|p| !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()?;
    let m: i64 = parts
        .next()
        .filter(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()?;
    let (s, ms) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            if whole.len() != 2
                || !whole.bytes().all(|b| b.is_ascii_digit())
                || !frac.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let ms = format!("{frac:0<3}")[..3].parse::<i64>().ok()?;
            (whole.parse::<i64>().ok()?, ms)
        }
    };
    if parts.next().is_some() || m > 59 || s > 59 {
        return None;
    }
    let v = ((h * 60 + m) * 60 + s) * 1000 + ms;
    Some(if neg { -v } else { v })
}

/// A time of day in milliseconds: text such as `01:02:03`, or the clock of an instant (UTC).
fn clock_ms(v: &Value) -> Option<i64> {
    if let Value::Str(t) = v {
        if let Some(c) = parse_clock(t.trim()) {
            return Some(c);
        }
    }
    instant(v).map(|t| t.as_millisecond().rem_euclid(86_400_000))
}

/// Milliseconds as MySQL writes a time: `[-]HH:MM:SS` (hours past 24 kept).
fn clock_text(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let s = ms.unsigned_abs() / 1000;
    format!("{sign}{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The UTC date and time of a date argument ([`instant`]).
fn civil(v: &Value) -> Option<jiff::civil::DateTime> {
    instant(v).map(|ts| ts.to_zoned(jiff::tz::TimeZone::UTC).datetime())
}

fn date_text(d: jiff::civil::Date) -> Value {
    Value::Str(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
}

/// A finite number, else null (Spark's `NaN` and infinities have no place in a result here).
fn finite(x: f64) -> Value {
    if x.is_finite() {
        Value::Num(x)
    } else {
        Value::Null
    }
}

/// The function PPL's and SQL's `(a, b, …) in (subquery)` compare through.
pub(crate) const TUPLE_FN: &str = "ppl_tuple";

/// The key of several values' keys, compared as one: each part's length, then the part (a
/// `\u{2}` first: no number's key starts so, nor is such text a number).
pub(crate) fn tuple_key(keys: impl Iterator<Item = String>) -> String {
    let mut out = String::from("\u{2}");
    for k in keys {
        out.push_str(&format!("{}:{k}", k.len()));
    }
    out
}

/// The `ppl_…` functions ([`crate::translate::INTERNAL_FUNCTIONS`]).
fn internal(name: &str, a: &[Value], env: &Env) -> Value {
    let a0 = a.first().unwrap_or(&Value::Null);
    let a1 = a.get(1).unwrap_or(&Value::Null);
    let x = num(a0);
    let math = |f: fn(f64) -> f64| x.map_or(Value::Null, |x| finite(f(x)));
    let part = |f: fn(&jiff::civil::DateTime) -> i64| {
        civil(a0).map_or(Value::Null, |dt| Value::Num(f(&dt) as f64))
    };
    match name {
        "ppl_acos" => math(f64::acos),
        "ppl_asin" => math(f64::asin),
        "ppl_atan" if a.len() == 1 => math(f64::atan),
        // (`atan(y, x)` is `atan2`, as OpenSearch's PPL has it.)
        "ppl_atan" | "ppl_atan2" => match (x, num(a1)) {
            (Some(y), Some(x)) => finite(y.atan2(x)),
            _ => Value::Null,
        },
        "ppl_cos" => math(f64::cos),
        "ppl_cot" => math(|x| 1.0 / x.tan()),
        "ppl_sin" => math(f64::sin),
        "ppl_tan" => math(f64::tan),
        "ppl_degrees" => math(f64::to_degrees),
        "ppl_radians" => math(f64::to_radians),
        // One argument: the natural logarithm; two: `log(base, x)`.
        "ppl_log" if a.len() == 2 => match (x, num(a1)) {
            (Some(b), Some(x)) if b > 0.0 && b != 1.0 && x > 0.0 => finite(x.ln() / b.ln()),
            _ => Value::Null,
        },
        "ppl_log" => x
            .filter(|x| *x > 0.0)
            .map_or(Value::Null, |x| finite(x.ln())),
        "ppl_log2" => x
            .filter(|x| *x > 0.0)
            .map_or(Value::Null, |x| finite(x.log2())),
        "ppl_log10" => x
            .filter(|x| *x > 0.0)
            .map_or(Value::Null, |x| finite(x.log10())),
        "ppl_cbrt" => math(f64::cbrt),
        "ppl_crc32" => text_of(a0)
            .map(|t| Value::Num(f64::from(crc32fast::hash(t.as_bytes()))))
            .unwrap_or(Value::Null),
        // `conv(number as text, from base, to base)`, bases 2 to 36; digits upper case.
        "ppl_conv" => {
            let (Some(t), Some(from), Some(to)) = (text_of(a0), num(a1), a.get(2).and_then(num))
            else {
                return Value::Null;
            };
            let ok = |b: f64| (2.0..=36.0).contains(&b) && b.fract() == 0.0;
            if !ok(from) || !ok(to) {
                return Value::Null;
            }
            let (neg, digits) = match t.trim().strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, t.trim()),
            };
            // As Spark: the leading digits of the base (none: null), a negative number as
            // its 64-bit two's complement.
            let valid = digits
                .find(|c: char| !c.is_digit(from as u32))
                .unwrap_or(digits.len());
            let Ok(n) = u64::from_str_radix(&digits[..valid], from as u32) else {
                return Value::Null;
            };
            let mut out = Vec::new();
            let mut n = if neg { n.wrapping_neg() } else { n };
            loop {
                let d = (n % to as u64) as u32;
                out.push(
                    std::char::from_digit(d, to as u32)
                        .unwrap_or('0')
                        .to_ascii_uppercase(),
                );
                n /= to as u64;
                if n == 0 {
                    break;
                }
            }
            Value::Str(out.iter().rev().collect())
        }
        // As CAST to INT (`toInt`): the number truncated, wrapped into the type's bits.
        "ppl_tinyint" => x.map_or(Value::Null, |x| {
            Value::Num(f64::from(x.trunc() as i64 as i32 as i8))
        }),
        "ppl_smallint" => x.map_or(Value::Null, |x| {
            Value::Num(f64::from(x.trunc() as i64 as i32 as i16))
        }),
        // As Spark casts to BOOLEAN: text `t true y yes` / `f false n no` (any case,
        // trimmed), a number — text holding one too, as JSON logs' numbers are kept — by
        // whether it is 0; anything else is null.
        "ppl_boolean" => match a0 {
            Value::Bool(b) => Value::Bool(*b),
            Value::Num(n) => Value::Bool(*n != 0.0),
            Value::Str(t) => match t.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "y" | "yes" | "1" => Value::Bool(true),
                "f" | "false" | "n" | "no" | "0" => Value::Bool(false),
                _ => x.map_or(Value::Null, |n| Value::Bool(n != 0.0)),
            },
            _ => Value::Null,
        },
        "ppl_reverse" => text_of(a0)
            .map(|t| Value::Str(t.chars().rev().collect()))
            .unwrap_or(Value::Null),
        "ppl_right" => match (text_of(a0), num(a1)) {
            (Some(t), Some(n)) => {
                let n = if n > 0.0 { n as usize } else { 0 };
                let len = t.chars().count();
                Value::Str(t.chars().skip(len.saturating_sub(n)).collect())
            }
            _ => Value::Null,
        },
        // Text against text compares as written ('01' is not '1'); otherwise as values.
        "ppl_nullif" => {
            let equal = match (a0, a1) {
                (Value::Str(x), Value::Str(y)) => x == y,
                _ => a0.key() == a1.key(),
            };
            if !a0.is_null() && !a1.is_null() && equal {
                Value::Null
            } else {
                a0.clone()
            }
        }
        "ppl_sha1" => text_of(a0)
            .map(|t| Value::Str(hex(&sha1::Sha1::digest(t.as_bytes()))))
            .unwrap_or(Value::Null),
        "ppl_year" => part(|d| i64::from(d.year())),
        "ppl_month" => part(|d| i64::from(d.month())),
        "ppl_day" => part(|d| i64::from(d.day())),
        // Sunday 1 … Saturday 7.
        "ppl_dayofweek" => part(|d| i64::from(d.weekday().to_sunday_one_offset())),
        "ppl_dayofyear" => part(|d| i64::from(d.day_of_year())),
        // (A time of day alone gives its own parts.)
        "ppl_hour" | "ppl_minute" | "ppl_second" if is_clock(a0) => {
            clock_ms(a0).map_or(Value::Null, |c| {
                let s = c.unsigned_abs() / 1000;
                Value::Num(match name {
                    "ppl_hour" => s / 3600,
                    "ppl_minute" => s / 60 % 60,
                    _ => s % 60,
                } as f64)
            })
        }
        "ppl_hour" => part(|d| i64::from(d.hour())),
        "ppl_minute" => part(|d| i64::from(d.minute())),
        "ppl_second" => part(|d| i64::from(d.second())),
        "ppl_quarter" => part(|d| i64::from((d.month() - 1) / 3 + 1)),
        // Monday 0 … Sunday 6.
        "ppl_weekday" => part(|d| i64::from(d.weekday().to_monday_zero_offset())),
        // The ISO 8601 week (weeks from Monday; week 1 holds the year's first Thursday).
        "ppl_week" => part(|d| i64::from(d.date().iso_week_date().week())),
        "ppl_dayname" => civil(a0).map_or(Value::Null, |d| {
            Value::Str(
                crate::datetime::DAYS[d.weekday().to_monday_zero_offset() as usize].to_string(),
            )
        }),
        "ppl_monthname" => civil(a0).map_or(Value::Null, |d| {
            Value::Str(crate::datetime::MONTHS[d.month() as usize - 1].to_string())
        }),
        "ppl_last_day" => civil(a0).map_or(Value::Null, |d| date_text(d.date().last_of_month())),
        "ppl_date" => civil(a0).map_or(Value::Null, |d| date_text(d.date())),
        // (With a second argument, a time of day added: `timestamp(date, time)`.)
        "ppl_timestamp" if a.len() == 2 => match (instant(a0), clock_ms(a1)) {
            (Some(t), Some(c)) => Value::Time(t.as_millisecond().saturating_add(c)),
            _ => Value::Null,
        },
        "ppl_timestamp" => instant(a0).map_or(Value::Null, |t| Value::Time(t.as_millisecond())),
        // MySQL's times of day (`HH:MM:SS`, hours past 24 and a sign allowed).
        "ppl_time" => clock_ms(a0).map_or(Value::Null, |c| Value::Str(clock_text(c))),
        "ppl_time_to_sec" => clock_ms(a0).map_or(Value::Null, |c| Value::Num((c / 1000) as f64)),
        "ppl_sec_to_time" => x
            .filter(|s| s.is_finite() && s.abs() < 3.0e13)
            .map_or(Value::Null, |s| {
                Value::Str(clock_text((s * 1000.0).trunc() as i64))
            }),
        "ppl_microsecond" => clock_ms(a0).map_or(Value::Null, |c| {
            Value::Num((c.rem_euclid(1000) * 1000) as f64)
        }),
        "ppl_timediff" => {
            // Two instants, or two times of day.
            let d = match (instant(a0), instant(a1)) {
                (Some(x), Some(y)) if !is_clock(a0) && !is_clock(a1) => {
                    Some(x.as_millisecond() - y.as_millisecond())
                }
                _ => match (clock_ms(a0), clock_ms(a1)) {
                    (Some(x), Some(y)) if is_clock(a0) && is_clock(a1) => Some(x - y),
                    _ => None,
                },
            };
            d.map_or(Value::Null, |d| Value::Str(clock_text(d)))
        }
        "ppl_addtime" | "ppl_subtime" => {
            let Some(delta) = clock_ms(a1).filter(|_| is_clock(a1)) else {
                return Value::Null;
            };
            let delta = if name == "ppl_subtime" { -delta } else { delta };
            if is_clock(a0) {
                clock_ms(a0).map_or(Value::Null, |c| Value::Str(clock_text(c + delta)))
            } else {
                instant(a0).map_or(Value::Null, |t| {
                    Value::Time(t.as_millisecond().saturating_add(delta))
                })
            }
        }
        // `makedate(year, day of year)`: a date (a day past the year's end goes into the next).
        "ppl_makedate" => match (x, num(a1)) {
            (Some(y), Some(d))
                if y.fract() == 0.0
                    && (0.0..=9999.0).contains(&y)
                    && (1.0..3_660_000.0).contains(&d) =>
            {
                jiff::civil::Date::new(y as i16, 1, 1)
                    .ok()
                    .and_then(|j| {
                        j.checked_add(jiff::Span::new().days(d.trunc() as i64 - 1))
                            .ok()
                    })
                    .map_or(Value::Null, date_text)
            }
            _ => Value::Null,
        },
        // MySQL's day numbers: 1995-05-01 is day 728779.
        "ppl_to_days" => civil(a0)
            .and_then(|d| {
                let origin = jiff::civil::Date::new(1, 1, 1).ok()?;
                d.date()
                    .since(origin)
                    .ok()
                    .map(|sp| sp.get_days() as i64 + 366)
            })
            .map_or(Value::Null, |n| Value::Num(n as f64)),
        "ppl_from_days" => x
            .filter(|n| n.fract() == 0.0 && *n >= 366.0 && *n < 3_652_500.0)
            .and_then(|n| {
                jiff::civil::Date::new(1, 1, 1)
                    .ok()?
                    .checked_add(jiff::Span::new().days(n as i64 - 366))
                    .ok()
            })
            .map_or(Value::Null, date_text),
        // `convert_tz(time, from, to)`: its wall clock read in `from`, written in `to`.
        "ppl_convert_tz" => {
            let (Some(t), Some(f), Some(to)) = (civil(a0), text_of(a1), a.get(2).and_then(text_of))
            else {
                return Value::Null;
            };
            let (Some(f), Some(to)) = (
                crate::datetime::time_zone_cached(&f),
                crate::datetime::time_zone_cached(&to),
            ) else {
                return Value::Null;
            };
            t.to_zoned(f).map_or(Value::Null, |z| {
                let w = z.timestamp().to_zoned(to).datetime();
                Value::Str(format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                    w.year(),
                    w.month(),
                    w.day(),
                    w.hour(),
                    w.minute(),
                    w.second()
                ))
            })
        }
        // `rand([seed])`: uniform in [0, 1), a hash of the seed (the query's start without
        // one) and the record's `@ptr`, so a seeded query gives each record the same value
        // again; rows of no record (after `stats`) draw from a per-thread sequence.
        "ppl_rand" => {
            use std::hash::{Hash, Hasher};
            let seed = match a.get(1) {
                Some(Value::Null) | None => env.now_ms as u64,
                Some(v) => match num(v) {
                    Some(s) => s.to_bits(),
                    None => return Value::Null,
                },
            };
            let mut h = std::collections::hash_map::DefaultHasher::new();
            seed.hash(&mut h);
            // (Each call of the query draws its own numbers.)
            a.get(2).and_then(num).unwrap_or(0.0).to_bits().hash(&mut h);
            match a0 {
                Value::Str(ptr) => ptr.hash(&mut h),
                _ => {
                    thread_local! {
                        static DRAWN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
                    }
                    DRAWN.with(|d| {
                        d.set(d.get() + 1);
                        d.get().hash(&mut h)
                    });
                }
            }
            Value::Num((h.finish() >> 11) as f64 / (1u64 << 53) as f64)
        }
        // A sort key comparing as text, character by character (`sort str(f)`): every
        // character moved past the digits' code points, so no run of digits reads as a number.
        "ppl_str_key" => text_of(a0).map_or(Value::Null, |t| {
            Value::Str(
                t.chars()
                    .map(|c| char::from_u32(c as u32 + 0x10000).unwrap_or(char::MAX))
                    .collect(),
            )
        }),
        "ppl_utc_time" => Value::Str(clock_text(env.now_ms.rem_euclid(86_400_000))),
        // Epoch seconds → `yyyy-MM-dd HH:mm:ss` (UTC), as Spark writes it.
        "ppl_from_unixtime" => x
            .filter(|s| s.is_finite())
            .and_then(|s| jiff::Timestamp::from_millisecond((s * 1000.0).floor() as i64).ok())
            .map_or(Value::Null, |t| {
                let d = t.to_zoned(jiff::tz::TimeZone::UTC).datetime();
                Value::Str(format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                    d.year(),
                    d.month(),
                    d.day(),
                    d.hour(),
                    d.minute(),
                    d.second()
                ))
            }),
        "ppl_unix_timestamp" if a.is_empty() => Value::Num((env.now_ms.div_euclid(1000)) as f64),
        "ppl_unix_timestamp" => instant(a0).map_or(Value::Null, |t| {
            Value::Num(t.as_millisecond().div_euclid(1000) as f64)
        }),
        "ppl_now" => Value::Time(env.now_ms),
        // MySQL's format letters, as OpenSearch's PPL takes them (UTC).
        "ppl_date_format" => match (instant(a0), text_of(a1)) {
            (Some(t), Some(f)) => mysql_format(&f)
                .and_then(|f| {
                    crate::datetime::format_date(t.as_millisecond(), &f, &jiff::tz::TimeZone::UTC)
                })
                .map_or(Value::Null, Value::Str),
            _ => Value::Null,
        },
        "ppl_current_date" => jiff::Timestamp::from_millisecond(env.now_ms)
            .map_or(Value::Null, |t| {
                date_text(t.to_zoned(jiff::tz::TimeZone::UTC).date())
            }),
        // `(a, b, …) in (subquery)`: the values' keys together (as `in` compares one value),
        // none when one is missing (SQL: unknown).
        TUPLE_FN => {
            if a.iter().any(Value::is_null) {
                Value::Null
            } else {
                Value::Str(tuple_key(a.iter().map(Value::text_key)))
            }
        }
        // Spark's `concat_ws(sep, …)`: the values that are there, joined by the separator.
        "ppl_concat_ws" => match text_of(a0) {
            Some(sep) => Value::Str(
                a[1..]
                    .iter()
                    .filter_map(|v| match v {
                        Value::List(items) => Some(
                            items
                                .iter()
                                .filter_map(|x| text_of(x).map(|t| t.into_owned()))
                                .collect::<Vec<_>>()
                                .join(&sep),
                        ),
                        v => text_of(v).map(|t| t.into_owned()),
                    })
                    .collect::<Vec<_>>()
                    .join(&sep),
            ),
            None => Value::Null,
        },
        // `timestampdiff(unit, from, to)`: whole units from one to the other (months and
        // years by the calendar, as MySQL and OpenSearch count them).
        "ppl_timestampdiff" => {
            let (Some(unit), Some(from), Some(to)) =
                (text_of(a0), civil(a1), a.get(2).and_then(civil))
            else {
                return Value::Null;
            };
            let ms = |d: &jiff::civil::DateTime| {
                d.to_zoned(jiff::tz::TimeZone::UTC)
                    .map_or(0, |z| z.timestamp().as_millisecond())
            };
            let span = ms(&to) - ms(&from);
            let months = || {
                let m = (i64::from(to.year()) - i64::from(from.year())) * 12
                    + i64::from(to.month())
                    - i64::from(from.month());
                // A month not yet complete does not count.
                let rest = |d: &jiff::civil::DateTime| {
                    (
                        d.day(),
                        d.hour(),
                        d.minute(),
                        d.second(),
                        d.subsec_nanosecond(),
                    )
                };
                if m > 0 && rest(&to) < rest(&from) {
                    m - 1
                } else if m < 0 && rest(&to) > rest(&from) {
                    m + 1
                } else {
                    m
                }
            };
            let n = match unit.to_ascii_uppercase().as_str() {
                "MICROSECOND" => span * 1000,
                "MILLISECOND" => span,
                "SECOND" => span / 1000,
                "MINUTE" => span / 60_000,
                "HOUR" => span / 3_600_000,
                "DAY" => span / 86_400_000,
                "WEEK" => span / (7 * 86_400_000),
                "MONTH" => months(),
                "QUARTER" => months() / 3,
                "YEAR" => months() / 12,
                _ => return Value::Null,
            };
            Value::Num(n as f64)
        }
        // `timestampadd(unit, n, time)`: the time n units later.
        "ppl_timestampadd" => {
            let (Some(unit), Some(n), Some(at)) = (text_of(a0), num(a1), a.get(2).and_then(civil))
            else {
                return Value::Null;
            };
            if n.fract() != 0.0 || !n.is_finite() {
                return Value::Null;
            }
            let n = n as i64;
            let span = match unit.to_ascii_uppercase().as_str() {
                "MICROSECOND" => jiff::Span::new().try_microseconds(n),
                "SECOND" => jiff::Span::new().try_seconds(n),
                "MINUTE" => jiff::Span::new().try_minutes(n),
                "HOUR" => jiff::Span::new().try_hours(n),
                "DAY" => jiff::Span::new().try_days(n),
                "WEEK" => jiff::Span::new().try_weeks(n),
                "MONTH" => jiff::Span::new().try_months(n),
                "QUARTER" => n.checked_mul(3).map_or_else(
                    || jiff::Span::new().try_months(i64::MAX),
                    |m| jiff::Span::new().try_months(m),
                ),
                "YEAR" => jiff::Span::new().try_years(n),
                _ => return Value::Null,
            };
            span.ok()
                .and_then(|s| at.checked_add(s).ok())
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map_or(Value::Null, |z| Value::Time(z.timestamp().as_millisecond()))
        }
        "ppl_timezone" => Value::Str("UTC".into()),
        "ppl_make_date" => {
            let (Some(y), Some(m), Some(d)) = (x, num(a1), a.get(2).and_then(num)) else {
                return Value::Null;
            };
            let whole = |v: f64, lo: f64, hi: f64| v.fract() == 0.0 && (lo..=hi).contains(&v);
            if !(whole(y, -9999.0, 9999.0) && whole(m, 1.0, 12.0) && whole(d, 1.0, 31.0)) {
                return Value::Null;
            }
            jiff::civil::Date::new(y as i16, m as i8, d as i8).map_or(Value::Null, date_text)
        }
        "ppl_date_add" | "ppl_date_sub" => {
            let (Some(d), Some(n)) = (civil(a0), num(a1)) else {
                return Value::Null;
            };
            if n.fract() != 0.0 || n.abs() > 3_660_000.0 {
                return Value::Null;
            }
            let n = if name == "ppl_date_sub" { -n } else { n } as i64;
            d.date()
                .checked_add(jiff::Span::new().days(n))
                .map_or(Value::Null, date_text)
        }
        // Whole days from the second date to the first (`datediff(end, start)`).
        "ppl_datediff" => match (civil(a0), civil(a1)) {
            (Some(e), Some(st)) => e
                .date()
                .since(st.date())
                .map_or(Value::Null, |sp| Value::Num(sp.get_days() as f64)),
            _ => Value::Null,
        },
        // `locate(sub, text[, from])`: the 1-based place of `sub` in `text` at or after the
        // 1-based `from` (characters), 0 when absent or `from` < 1.
        "ppl_locate" => {
            let (Some(sub), Some(t)) = (text_of(a0), text_of(a1)) else {
                return Value::Null;
            };
            let from = match a.get(2) {
                None => 1.0,
                Some(v) => match num(v) {
                    Some(f) => f.trunc(),
                    None => return Value::Null,
                },
            };
            if from < 1.0 {
                return Value::Num(0.0);
            }
            // (An empty text is found at the start, as Spark answers.)
            if sub.is_empty() {
                return Value::Num(1.0);
            }
            let skip = from as usize - 1;
            let start = if skip == t.chars().count() {
                t.len()
            } else {
                match t.char_indices().nth(skip) {
                    Some((i, _)) => i,
                    None => return Value::Num(0.0),
                }
            };
            t[start..].find(sub.as_ref()).map_or(Value::Num(0.0), |i| {
                Value::Num((skip + t[start..start + i].chars().count() + 1) as f64)
            })
        }
        // `lpad`/`rpad(text, length[, pad])`: cut to the length, or padded with the pad
        // repeated (a space by default; an empty pad leaves it as it is).
        "ppl_lpad" | "ppl_rpad" => {
            let (Some(t), Some(n)) = (text_of(a0), num(a1)) else {
                return Value::Null;
            };
            let pad = match a.get(2) {
                None => " ".to_string(),
                Some(v) => match text_of(v) {
                    Some(p) => p.into_owned(),
                    None => return Value::Null,
                },
            };
            let n = if n > 0.0 { n as usize } else { 0 };
            if n > MAX_BUILT_TEXT {
                return Value::Null;
            }
            let len = t.chars().count();
            if len >= n || pad.is_empty() {
                return Value::Str(t.chars().take(n).collect());
            }
            let fill: String = pad.chars().cycle().take(n - len).collect();
            Value::Str(if name == "ppl_lpad" {
                fill + &t
            } else {
                t.into_owned() + &fill
            })
        }
        // Each word's first letter upper case, the rest lower case (words split at spaces).
        "ppl_initcap" => text_of(a0).map_or(Value::Null, |t| {
            let mut out = String::with_capacity(t.len());
            let mut start = true;
            for c in t.chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else {
                    out.extend(c.to_lowercase());
                }
                start = c == ' ';
            }
            Value::Str(out)
        }),
        "ppl_repeat" => match (text_of(a0), num(a1)) {
            (Some(t), Some(n)) => {
                let n = if n > 0.0 { n as usize } else { 0 };
                if t.len().saturating_mul(n) > MAX_BUILT_TEXT {
                    Value::Null
                } else {
                    Value::Str(t.repeat(n))
                }
            }
            _ => Value::Null,
        },
        "ppl_ascii" => text_of(a0).map_or(Value::Null, |t| {
            Value::Num(t.chars().next().map_or(0.0, |c| f64::from(u32::from(c))))
        }),
        // `split_part(text, delimiter, n)`: the n-th part (1-based; negative from the end);
        // empty text past the parts, null for 0.
        "ppl_split_part" => match (text_of(a0), text_of(a1), a.get(2).and_then(num)) {
            (Some(t), Some(d), Some(n)) if n.fract() == 0.0 && n != 0.0 => {
                let parts: Vec<&str> = if d.is_empty() {
                    vec![t.as_ref()]
                } else {
                    t.split(d.as_ref()).collect()
                };
                let i = if n > 0.0 {
                    (n as usize).checked_sub(1)
                } else {
                    parts.len().checked_sub((-n) as usize)
                };
                Value::Str(
                    i.and_then(|i| parts.get(i))
                        .map_or(String::new(), |p| p.to_string()),
                )
            }
            _ => Value::Null,
        },
        // `substring_index(text, delimiter, count)`: the text before the count-th delimiter
        // (negative: after the count-th from the end); all of it with fewer delimiters.
        "ppl_substring_index" => match (text_of(a0), text_of(a1), a.get(2).and_then(num)) {
            (Some(t), Some(d), Some(n)) if n.fract() == 0.0 => {
                if d.is_empty() || n == 0.0 {
                    return Value::Str(String::new());
                }
                let k = n.abs() as usize;
                let cut = if n > 0.0 {
                    t.match_indices(d.as_ref())
                        .nth(k - 1)
                        .map(|(i, _)| t[..i].to_string())
                } else {
                    t.rmatch_indices(d.as_ref())
                        .nth(k - 1)
                        .map(|(i, _)| t[i + d.len()..].to_string())
                };
                Value::Str(cut.unwrap_or_else(|| t.into_owned()))
            }
            _ => Value::Null,
        },
        // `translate(text, from, to)`: each character of `from` becomes the one in its place
        // in `to`, or goes when `to` is shorter.
        "ppl_translate" => match (text_of(a0), text_of(a1), a.get(2).and_then(text_of)) {
            (Some(t), Some(from), Some(to)) => {
                let from: Vec<char> = from.chars().collect();
                let to: Vec<char> = to.chars().collect();
                Value::Str(
                    t.chars()
                        .filter_map(|c| match from.iter().position(|f| *f == c) {
                            Some(i) => to.get(i).copied(),
                            None => Some(c),
                        })
                        .collect(),
                )
            }
            _ => Value::Null,
        },
        "ppl_regexp_count" | "ppl_regexp_substr" => match (text_of(a0), text_of(a1)) {
            (Some(x), Some(p)) => with_regex(&p, |re| match (re, name) {
                (None, _) => Value::Null,
                (Some(re), "ppl_regexp_count") => Value::Num(re.find_iter(&x).count() as f64),
                (Some(re), _) => re
                    .find(&x)
                    .map_or(Value::Null, |m| Value::Str(m.as_str().to_string())),
            }),
            _ => Value::Null,
        },
        // `chr(n)`: the character of code n modulo 256 (negative: empty text).
        "ppl_chr" => x.map_or(Value::Null, |n| {
            if n < 0.0 {
                Value::Str(String::new())
            } else {
                let c = (n.trunc() as i64).rem_euclid(256) as u32;
                Value::Str(char::from_u32(c).map(String::from).unwrap_or_default())
            }
        }),
        // `trim(LEADING|TRAILING|BOTH chars FROM text)`, `btrim`, `ltrim`/`rtrim` with chars:
        // the characters of `chars` cut from the chosen ends.
        "ppl_trim_chars" => match (text_of(a0), text_of(a1), a.get(2).and_then(text_of)) {
            (Some(t), Some(chars), Some(mode)) => {
                let cut = |c: char| chars.contains(c);
                Value::Str(
                    match mode.as_ref() {
                        "L" => t.trim_start_matches(cut),
                        "T" => t.trim_end_matches(cut),
                        _ => t.trim_matches(cut),
                    }
                    .to_string(),
                )
            }
            _ => Value::Null,
        },
        // `from_utc_timestamp(time, zone)` (`to_utc_timestamp`: the other way): the time
        // moved by the zone's offset at that instant, so it shows the zone's wall clock.
        "ppl_from_utc" | "ppl_to_utc" => {
            let (Some(t), Some(z)) = (instant(a0), text_of(a1)) else {
                return Value::Null;
            };
            let Some(tz) = crate::datetime::time_zone_cached(&z) else {
                return Value::Null;
            };
            let ms = t.as_millisecond();
            if name == "ppl_from_utc" {
                let off = i64::from(tz.to_offset(t).seconds()) * 1000;
                return Value::Time(ms.saturating_add(off));
            }
            // The time's wall clock read in the zone (its offset there, DST included).
            let wall = t.to_zoned(jiff::tz::TimeZone::UTC).datetime();
            wall.to_zoned(tz)
                .map_or(Value::Null, |z| Value::Time(z.timestamp().as_millisecond()))
        }
        // `make_timestamp(year, month, day, hour, minute, second)` in UTC (seconds may
        // have a fraction, kept to the millisecond).
        "ppl_make_timestamp" => {
            let v: Option<Vec<f64>> = a.iter().map(num).collect();
            let Some(v) = v.filter(|v| v.len() == 6) else {
                return Value::Null;
            };
            let whole = |x: f64, lo: f64, hi: f64| x.fract() == 0.0 && (lo..=hi).contains(&x);
            if !(whole(v[0], 1.0, 9999.0)
                && whole(v[1], 1.0, 12.0)
                && whole(v[2], 1.0, 31.0)
                && whole(v[3], 0.0, 23.0)
                && whole(v[4], 0.0, 59.0)
                && ((0.0..60.0).contains(&v[5]) || v[5] == 60.0))
            {
                return Value::Null;
            }
            // (60 seconds is the next minute, as Spark reads it.)
            let carry = if v[5] == 60.0 { 60_000 } else { 0 };
            let mut v = v;
            if carry > 0 {
                v[5] = 0.0;
            }
            let ms = (v[5].fract() * 1000.0).round() as i32;
            jiff::civil::DateTime::new(
                v[0] as i16,
                v[1] as i8,
                v[2] as i8,
                v[3] as i8,
                v[4] as i8,
                v[5].trunc() as i8,
                ms.min(999) * 1_000_000,
            )
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map_or(Value::Null, |z| {
                Value::Time(z.timestamp().as_millisecond() + carry)
            })
        }
        // `sha2(text, 224 | 384 | 512)` (256 is Logs Insights' `sha256`).
        "ppl_sha224" => text_of(a0).map_or(Value::Null, |t| {
            Value::Str(hex(&sha2::Sha224::digest(t.as_bytes())))
        }),
        "ppl_sha384" => text_of(a0).map_or(Value::Null, |t| {
            Value::Str(hex(&sha2::Sha384::digest(t.as_bytes())))
        }),
        "ppl_sha512" => text_of(a0).map_or(Value::Null, |t| {
            Value::Str(hex(&sha2::Sha512::digest(t.as_bytes())))
        }),
        // `hex(x)`: a whole number in upper-case hexadecimal (negative as its 64-bit two's
        // complement), text as its bytes'; `unhex`: the text those bytes are (null unless
        // they are hexadecimal pairs of UTF-8).
        // (Text holding a whole number is that number, as JSON logs' numbers are kept.)
        "ppl_hex" => match x {
            Some(n) if n.fract() == 0.0 && n.abs() < 9.2e18 => {
                Value::Str(format!("{:X}", n as i64))
            }
            _ => text_of(a0).map_or(Value::Null, |t| {
                Value::Str(t.bytes().map(|b| format!("{b:02X}")).collect())
            }),
        },
        "ppl_unhex" => text_of(a0)
            .and_then(|t| {
                let t = if t.len() % 2 == 1 {
                    format!("0{t}")
                } else {
                    t.into_owned()
                };
                (0..t.len())
                    .step_by(2)
                    .map(|i| t.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                    .collect::<Option<Vec<u8>>>()
            })
            .and_then(|b| String::from_utf8(b).ok())
            .map_or(Value::Null, Value::Str),
        // `pmod(a, b)`: the remainder of a / b with b's sign, never negative for b > 0.
        "ppl_pmod" => match (x, num(a1)) {
            (Some(a), Some(b)) if b != 0.0 => finite(((a % b) + b) % b),
            _ => Value::Null,
        },
        // `bround(x[, d])`: rounded to d decimals (0 by default), halves to even.
        "ppl_bround" => match (x, a.get(1).map_or(Some(0.0), num)) {
            (Some(v), Some(d)) if d.fract() == 0.0 && d.abs() <= 15.0 => {
                let m = 10f64.powi(d as i32);
                finite((v * m).round_ties_even() / m)
            }
            _ => Value::Null,
        },
        // `width_bucket(v, min, max, n)`: the bucket (1 to n) of n equal ones over [min, max)
        // holding v; 0 below, n + 1 at or above max.
        "ppl_width_bucket" => {
            let v: Option<Vec<f64>> = a.iter().map(num).collect();
            match v.as_deref() {
                Some(&[v, lo, hi, n]) if n >= 1.0 && n.fract() == 0.0 && lo != hi && n < 1e15 => {
                    let (inc, lo, hi) = if lo < hi {
                        (true, lo, hi)
                    } else {
                        (false, hi, lo)
                    };
                    let b = if v < lo {
                        if inc {
                            0.0
                        } else {
                            n + 1.0
                        }
                    } else if v >= hi {
                        if inc {
                            n + 1.0
                        } else {
                            0.0
                        }
                    } else {
                        let k = ((v - lo) / (hi - lo) * n).floor() + 1.0;
                        if inc {
                            k
                        } else {
                            n + 1.0 - k
                        }
                    };
                    finite(b)
                }
                _ => Value::Null,
            }
        }
        // `nanvl(a, b)`: a (no value here is NaN).
        "ppl_nanvl" => a0.clone(),
        // `<=>`: both null, or equal as `=` compares.
        "ppl_null_safe_eq" => Value::Bool(match (a0.is_null(), a1.is_null()) {
            (true, true) => true,
            (false, false) => crate::value::loose_eq(a0, a1) == Some(true),
            _ => false,
        }),
        // No value here is NaN (a result that is not a finite number is null), so false, as
        // Spark answers for anything but NaN, null included.
        "ppl_isnan" => Value::Bool(false),
        // Either side null: null (as Spark's `xor`).
        "ppl_xor" => {
            if a0.is_null() || a1.is_null() {
                Value::Null
            } else {
                Value::Bool(a0.truthy() != a1.truthy())
            }
        }
        "ppl_startswith" | "ppl_endswith" | "ppl_contains" => match (text_of(a0), text_of(a1)) {
            (Some(x), Some(y)) => Value::Bool(match name {
                "ppl_startswith" => x.starts_with(y.as_ref()),
                "ppl_endswith" => x.ends_with(y.as_ref()),
                _ => x.contains(y.as_ref()),
            }),
            _ => Value::Null,
        },
        // `rlike`/`regexp_like`: the pattern matches somewhere in the text. A pattern that
        // does not compile here is null.
        "ppl_rlike" => match (text_of(a0), text_of(a1)) {
            (Some(x), Some(p)) => with_regex(&p, |re| {
                re.map_or(Value::Null, |re| Value::Bool(re.is_match(&x)))
            }),
            _ => Value::Null,
        },
        // `regexp_extract(text, pattern[, group])`: the group (1 by default, 0 the whole
        // match) of the first match; empty text without a match or when the group took no
        // part; a group the pattern does not have is null.
        "ppl_regexp_extract" => {
            let (Some(x), Some(p)) = (text_of(a0), text_of(a1)) else {
                return Value::Null;
            };
            let g = match a.get(2) {
                None => 1.0,
                Some(v) => match num(v) {
                    Some(g) if g >= 0.0 && g.fract() == 0.0 => g,
                    _ => return Value::Null,
                },
            };
            with_regex(&p, |re| {
                let Some(re) = re else { return Value::Null };
                if g as usize >= re.captures_len() {
                    return Value::Null;
                }
                Value::Str(
                    re.captures(&x)
                        .and_then(|c| c.get(g as usize))
                        .map_or(String::new(), |m| m.as_str().to_string()),
                )
            })
        }
        "ppl_json" => json_text(a0)
            .filter(|(_, j)| j.is_some())
            .map_or(Value::Null, |(t, _)| Value::Str(t)),
        "ppl_json_valid" => Value::Bool(json_text(a0).is_some_and(|(_, j)| j.is_some())),
        // Keys and values in pairs; a key that is no text, or an odd count, gives null.
        "ppl_json_object" => {
            if !a.len().is_multiple_of(2) {
                return Value::Null;
            }
            let mut o = serde_json::Map::new();
            for kv in a.chunks(2) {
                let Some(k) = text_of(&kv[0]) else {
                    return Value::Null;
                };
                o.insert(k.into_owned(), nested_json(&kv[1]));
            }
            Value::Str(serde_json::Value::Object(o).to_string())
        }
        "ppl_json_array" => {
            Value::Str(serde_json::Value::Array(a.iter().map(nested_json).collect()).to_string())
        }
        "ppl_json_array_length" => match json_of(a0) {
            Some(serde_json::Value::Array(items)) => Value::Num(items.len() as f64),
            _ => Value::Null,
        },
        "ppl_json_keys" => match json_of(a0) {
            Some(serde_json::Value::Object(o)) => Value::Str(
                serde_json::Value::Array(o.keys().map(|k| k.clone().into()).collect()).to_string(),
            ),
            _ => Value::Null,
        },
        "ppl_json_extract" => {
            let (Some(j), Some(path)) = (json_of(a0), text_of(a1)) else {
                return Value::Null;
            };
            match json_path(&j, &path) {
                // Text as itself, numbers as numbers, objects and arrays as JSON text.
                Some(serde_json::Value::String(t)) => Value::Str(t.clone()),
                Some(serde_json::Value::Null) | None => Value::Null,
                // (Numbers as written: a 64-bit id stays exact.)
                Some(
                    v @ (serde_json::Value::Object(_)
                    | serde_json::Value::Array(_)
                    | serde_json::Value::Number(_)),
                ) => Value::Str(v.to_string()),
                Some(v) => from_json(v),
            }
        }
        // An object or array (a map, a list, or text holding one) as its JSON text; other
        // values JSON-encoded.
        "ppl_to_json_string" => match json_text(a0) {
            Some((t, Some(serde_json::Value::Object(_) | serde_json::Value::Array(_)))) => {
                Value::Str(t)
            }
            _ if a0.is_null() => Value::Null,
            _ => Value::Str(to_json(a0).to_string()),
        },
        n if is_array_function(n) => array_function(n, a),
        _ => Value::Null,
    }
}

pub struct Env {
    pub start_ms: i64,
    pub end_ms: i64,
    pub now_ms: i64,
}

fn num(v: &Value) -> Option<f64> {
    v.as_num()
}
fn s(v: &Value) -> Option<String> {
    v.as_str()
}
fn b01(b: bool) -> Value {
    Value::Num(if b { 1.0 } else { 0.0 })
}
fn opt_num(x: Option<f64>) -> Value {
    x.filter(|n| n.is_finite())
        .map(Value::Num)
        .unwrap_or(Value::Null)
}

/// Evaluate a scalar function (period-taking functions are handled by the executor).
pub fn call(name: &str, a: &[Value], env: &Env) -> Value {
    if name.starts_with("ppl_") {
        return internal(name, a, env);
    }
    let a0 = a.first().unwrap_or(&Value::Null);
    let a1 = a.get(1).unwrap_or(&Value::Null);
    match name {
        "abs" => opt_num(num(a0).map(f64::abs)),
        "ceil" => opt_num(num(a0).map(f64::ceil)),
        "floor" => opt_num(num(a0).map(f64::floor)),
        "sqrt" => opt_num(num(a0).filter(|x| *x >= 0.0).map(f64::sqrt)),
        "log" => opt_num(num(a0).filter(|x| *x > 0.0).map(f64::ln)),
        "round" => {
            let d = if a.len() > 1 {
                num(a1).unwrap_or(0.0) as i32
            } else {
                0
            };
            opt_num(num(a0).map(|x| {
                let m = 10f64.powi(d);
                (x * m).round() / m
            }))
        }
        "tonumber" | "todouble" => opt_num(num(a0)),
        "toint" => opt_num(num(a0).map(|x| (x.trunc() as i64 as i32) as f64)),
        "tolong" => opt_num(num(a0).map(|x| x.trunc() as i64 as f64)),
        "greatest" | "least" => {
            let ns: Vec<f64> = a.iter().filter_map(num).collect();
            let f = if name == "greatest" {
                f64::max
            } else {
                f64::min
            };
            opt_num(ns.into_iter().reduce(f))
        }
        "haversine" => {
            let v: Option<Vec<f64>> = a.iter().map(num).collect();
            let Some(v) = v else { return Value::Null };
            let (p1, p2) = (v[0].to_radians(), v[2].to_radians());
            let dp = (v[2] - v[0]).to_radians();
            let dl = (v[3] - v[1]).to_radians();
            let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
            Value::Num(2.0 * 6371.0 * h.sqrt().asin())
        }
        "frommillis" => num(a0)
            .map(|x| Value::Time(x as i64))
            .unwrap_or(Value::Null),
        "tomillis" => opt_num(num(a0)),
        "now" => Value::Num((env.now_ms.div_euclid(1000)) as f64),
        "querystarttime" => Value::Num(env.start_ms as f64),
        "queryendtime" => Value::Num(env.end_ms as f64),
        "querytimerange" => Value::Num((env.end_ms - env.start_ms) as f64),
        // A timezone argument that is null or names no zone makes the result null.
        "formatdate" | "strftime" => {
            let (Some(ms), Some(f), Some(tz)) = (num(a0), text_of(a1), tz_arg(a)) else {
                return Value::Null;
            };
            datetime::format_date(ms as i64, &f, &tz)
                .map(Value::Str)
                .unwrap_or(Value::Null)
        }
        "parsedate" => {
            let (Some(t), Some(f), Some(tz)) = (text_of(a0), text_of(a1), tz_arg(a)) else {
                return Value::Null;
            };
            crate::javadate::java_pattern_cached(&f)
                .and_then(|p| crate::javadate::parse_date(&t, &p, &tz))
                .map(|ms| Value::Num(ms as f64))
                .unwrap_or(Value::Null)
        }
        // Lowercase hex of the UTF-8 text (numbers as rendered); lists and maps are null.
        "md5" => text_of(a0)
            .map(|t| Value::Str(hex(&md5::Md5::digest(t.as_bytes()))))
            .unwrap_or(Value::Null),
        "sha256" => text_of(a0)
            .map(|t| Value::Str(hex(&sha2::Sha256::digest(t.as_bytes()))))
            .unwrap_or(Value::Null),
        "ispresent" => Value::Bool(!a0.is_null()),
        "unmask" => a0.clone(),
        "coalesce" => a
            .iter()
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null),
        "case" => {
            for pair in a.chunks(2) {
                match pair {
                    [c, v] if c.truthy() => return v.clone(),
                    [d] => return d.clone(),
                    _ => {}
                }
            }
            Value::Null
        }
        "if" => {
            if a0.truthy() {
                a1.clone()
            } else {
                a.get(2).cloned().unwrap_or(Value::Null)
            }
        }
        "isnumeric" => Value::Bool(
            matches!(a0, Value::Num(_)) || matches!(a0, Value::Str(x) if parse_num(x).is_some()),
        ),
        "messagesize" => s(a0)
            .map(|x| Value::Num(x.len() as f64))
            .unwrap_or(Value::Null),
        "isempty" => b01(s(a0).is_none_or(|x| x.is_empty())),
        "isblank" => b01(s(a0).is_none_or(|x| x.trim().is_empty())),
        "concat" => Value::Str(a.iter().filter_map(s).collect()),
        "strlen" => s(a0)
            .map(|x| Value::Num(x.chars().count() as f64))
            .unwrap_or(Value::Null),
        "toupper" => s(a0)
            .map(|x| Value::Str(x.to_uppercase()))
            .unwrap_or(Value::Null),
        "tolower" => s(a0)
            .map(|x| Value::Str(x.to_lowercase()))
            .unwrap_or(Value::Null),
        "trim" | "ltrim" | "rtrim" => {
            let Some(x) = s(a0) else { return Value::Null };
            let set: Option<Vec<char>> = if a.len() > 1 {
                s(a1).map(|c| c.chars().collect())
            } else {
                None
            };
            let pat = |c: char| match &set {
                Some(cs) => cs.contains(&c),
                None => c.is_whitespace(),
            };
            Value::Str(
                match name {
                    "trim" => x.trim_matches(pat),
                    "ltrim" => x.trim_start_matches(pat),
                    _ => x.trim_end_matches(pat),
                }
                .to_string(),
            )
        }
        "substr" => {
            let Some(x) = s(a0) else { return Value::Null };
            let cs: Vec<char> = x.chars().collect();
            let st = num(a1).unwrap_or(0.0).max(0.0) as usize;
            let st = st.min(cs.len());
            let len = a
                .get(2)
                .and_then(num)
                .map(|l| l.max(0.0) as usize)
                .unwrap_or(cs.len());
            Value::Str(
                cs[st..(st.saturating_add(len)).min(cs.len())]
                    .iter()
                    .collect(),
            )
        }
        "replace" => match (s(a0), s(a1), a.get(2).and_then(s)) {
            (Some(x), Some(f), Some(r)) if !f.is_empty() => Value::Str(x.replace(&f, &r)),
            (Some(x), _, _) => Value::Str(x),
            _ => Value::Null,
        },
        "regexreplace" => match (s(a0), s(a1), a.get(2).and_then(s)) {
            (Some(x), Some(p), Some(r)) => with_regex(&p, |re| match re {
                Some(re) => Value::Str(re.replace_all(&x, r.as_str()).into_owned()),
                None => Value::Null,
            }),
            _ => Value::Null,
        },
        "strcontains" => match (s(a0), s(a1)) {
            (Some(x), Some(y)) => {
                let ci = a.get(2).is_some_and(|v| v.truthy());
                b01(if ci {
                    x.to_lowercase().contains(&y.to_lowercase())
                } else {
                    x.contains(&y)
                })
            }
            _ => Value::Null,
        },
        "startswith" | "endswith" => match (s(a0), s(a1)) {
            (Some(x), Some(y)) => b01(if name == "startswith" {
                x.starts_with(&y)
            } else {
                x.ends_with(&y)
            }),
            _ => Value::Null,
        },
        "split" => match (s(a0), s(a1)) {
            (Some(x), Some(d)) if !d.is_empty() => {
                Value::List(x.split(d.as_str()).map(|p| Value::Str(p.into())).collect())
            }
            _ => Value::Null,
        },
        "urlencode" => s(a0)
            .map(|x| Value::Str(urlencode(&x)))
            .unwrap_or(Value::Null),
        "urldecode" => s(a0)
            .and_then(|x| urldecode(&x))
            .map(Value::Str)
            .unwrap_or(Value::Null),
        "base64encode" => s(a0)
            .map(|x| Value::Str(b64enc(x.as_bytes())))
            .unwrap_or(Value::Null),
        "base64decode" => s(a0)
            .and_then(|x| b64dec(&x))
            .and_then(|b| String::from_utf8(b).ok())
            .map(Value::Str)
            .unwrap_or(Value::Null),
        "hextoascii" => s(a0)
            .and_then(|x| {
                let x = x.trim_start_matches("0x");
                (0..x.len())
                    .step_by(2)
                    .map(|i| x.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                    .collect::<Option<Vec<u8>>>()
            })
            .and_then(|b| String::from_utf8(b).ok())
            .map(Value::Str)
            .unwrap_or(Value::Null),
        "hextodec" => s(a0)
            .and_then(|x| {
                let t = x.trim();
                let t = t
                    .strip_prefix("0x")
                    .or_else(|| t.strip_prefix("0X"))
                    .unwrap_or(t);
                i64::from_str_radix(t, 16).ok()
            })
            .map(|n| Value::Num(n as f64))
            .unwrap_or(Value::Null),
        "dectohex" => num(a0)
            .map(|n| Value::Str(format!("0x{:x}", n as i64)))
            .unwrap_or(Value::Null),
        "jsonparse" => s(a0)
            .and_then(|x| serde_json::from_str::<serde_json::Value>(&x).ok())
            .map(|j| from_json(&j))
            .unwrap_or(Value::Null),
        "jsonstringify" => match a0 {
            Value::List(_) | Value::Map(_) => Value::Str(to_json(a0).to_string()),
            _ => Value::Null,
        },
        "jsonarraysize" => match as_list(a0) {
            Some(l) => Value::Num(l.len() as f64),
            None => Value::Null,
        },
        "jsonarraycontains" => {
            match as_list(a0) {
                Some(l) => Value::Bool(l.iter().any(|v| {
                    crate::value::loose_eq(v, a1) == Some(true) && v.render() == a1.render()
                })),
                None => Value::Null,
            }
        }
        "isvalidip" => Value::Bool(ip(a0).is_some()),
        "isvalidipv4" => Value::Bool(matches!(ip(a0), Some(IpAddr::V4(_)))),
        "isvalidipv6" => Value::Bool(matches!(ip(a0), Some(IpAddr::V6(_)))),
        "isipinsubnet" | "isipv4insubnet" | "isipv6insubnet" => match (ip(a0), s(a1)) {
            (Some(addr), Some(cidr)) => {
                let fam_ok = match name {
                    "isipv4insubnet" => addr.is_ipv4(),
                    "isipv6insubnet" => addr.is_ipv6(),
                    _ => true,
                };
                Value::Bool(fam_ok && in_subnet(addr, &cidr))
            }
            _ => Value::Bool(false),
        },
        "ipv4tonumber" => match ip(a0) {
            Some(IpAddr::V4(v)) => Value::Num(u32::from(v) as f64),
            _ => Value::Null,
        },
        "isprivateip" => Value::Bool(ip(a0).is_some_and(is_private)),
        "isreservedip" => Value::Bool(ip(a0).is_some_and(is_reserved)),
        "ispublicip" => Value::Bool(ip(a0).is_some_and(|i| !is_private(i) && !is_reserved(i))),
        _ => Value::Null,
    }
}

/// A MySQL `DATE_FORMAT` format as `formatDate`'s strftime one (`None`: a letter it has no
/// counterpart for).
fn mysql_format(f: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = f.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let to = match it.next()? {
            'Y' => "%Y",
            'y' => "%y",
            'm' => "%m",
            'c' => "%-m",
            'M' => "%B",
            'b' => "%b",
            'd' => "%d",
            'e' => "%-d",
            'j' => "%j",
            'H' => "%H",
            'k' => "%-H",
            'h' | 'I' => "%I",
            'l' => "%-I",
            'i' => "%M",
            's' | 'S' => "%S",
            // Microseconds: times here hold milliseconds.
            'f' => "%L000",
            'p' => "%p",
            'W' => "%A",
            'a' => "%a",
            'w' => "%w",
            'T' => "%H:%M:%S",
            'r' => "%I:%M:%S %p",
            'U' => "%U",
            'u' => "%W",
            '%' => "%%",
            _ => return None,
        };
        out.push_str(to);
    }
    Some(out)
}

/// An argument's text and, when it is JSON, its value (a map or list value as itself).
fn json_text(v: &Value) -> Option<(String, Option<serde_json::Value>)> {
    match v {
        Value::Map(_) | Value::List(_) => {
            let j = to_json(v);
            Some((j.to_string(), Some(j)))
        }
        Value::Null => None,
        v => {
            let t = text_of(v)?.into_owned();
            let j = serde_json::from_str(&t).ok();
            Some((t, j))
        }
    }
}

/// A value put into `json_object`/`json_array`: text holding an object or array (another
/// `json_object`'s) nests as that object or array, and text holding a JSON number is that
/// number (discovered fields keep a JSON number as its text).
fn nested_json(v: &Value) -> serde_json::Value {
    match json_text(v) {
        Some((
            _,
            Some(
                j @ (serde_json::Value::Object(_)
                | serde_json::Value::Array(_)
                | serde_json::Value::Number(_)),
            ),
        )) if matches!(v, Value::Str(_)) => j,
        _ => to_json(v),
    }
}

fn json_of(v: &Value) -> Option<serde_json::Value> {
    json_text(v).and_then(|(_, j)| j)
}

/// The value at a JSONPath of the simple kind: `$`, then `.name`, `['name']` or `[n]` steps.
fn json_path<'j>(j: &'j serde_json::Value, path: &str) -> Option<&'j serde_json::Value> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut at = j;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let (name, r) = r.split_at(end);
            if name.is_empty() {
                return None;
            }
            at = at.get(name)?;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            let (inside, r) = (r[..close].trim(), &r[close + 1..]);
            at = match inside
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .or_else(|| inside.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
            {
                Some(name) => at.get(name)?,
                None => at.get(inside.parse::<usize>().ok()?)?,
            };
            rest = r;
        } else {
            return None;
        }
    }
    Some(at)
}

/// The time zone of a date function's optional third argument: UTC when absent.
fn tz_arg(a: &[Value]) -> Option<jiff::tz::TimeZone> {
    match a.get(2) {
        None => Some(jiff::tz::TimeZone::UTC),
        Some(v) => datetime::time_zone_cached(&text_of(v)?),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut o, b| {
            let _ = write!(o, "{b:02x}");
            o
        })
}

/// A value read as a map: a map, or JSON object text.
fn as_map(v: &Value) -> Option<Vec<(String, Value)>> {
    match v {
        Value::Map(m) => Some(m.clone()),
        Value::Str(x) => match serde_json::from_str::<serde_json::Value>(x).ok()? {
            j @ serde_json::Value::Object(_) => match from_json(&j) {
                Value::Map(m) => Some(m),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn as_list(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) => Some(l.clone()),
        Value::Str(x) => match serde_json::from_str::<serde_json::Value>(x).ok()? {
            j @ serde_json::Value::Array(_) => match from_json(&j) {
                Value::List(l) => Some(l),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn ip(v: &Value) -> Option<IpAddr> {
    s(v)?.trim().parse().ok()
}

fn in_subnet(addr: IpAddr, cidr: &str) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let Ok(net) = net.trim().parse::<IpAddr>() else {
        return false;
    };
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn is_private(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.is_private(),
        IpAddr::V6(v) => (v.segments()[0] & 0xfe00) == 0xfc00,
    }
}

fn is_reserved(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.is_multicast()
                || o[0] == 0
                || o[0] >= 240
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 2)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || (o[0] == 198 && o[1] == 51 && o[2] == 100)
                || (o[0] == 203 && o[1] == 0 && o[2] == 113)
        }
        IpAddr::V6(v) => {
            v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (v.segments()[0] & 0xffc0) == 0xfe80
                || v.segments()[0] == 0x2001 && v.segments()[1] == 0xdb8
        }
    }
}

pub fn from_json(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Str(b.to_string()),
        serde_json::Value::Number(n) => Value::Num(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(x) => Value::Str(x.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            Value::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Num(n) => serde_json::Number::from_f64(*n)
            .map(|x| {
                if n.fract() == 0.0 && n.abs() < 9e15 {
                    (*n as i64).into()
                } else {
                    serde_json::Value::Number(x)
                }
            })
            .unwrap_or(serde_json::Value::Null),
        Value::Time(_) | Value::Str(_) => serde_json::Value::String(v.render()),
        Value::List(l) => serde_json::Value::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => {
            serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

use crate::codec::{b64dec, b64enc, urldecode, urlencode};
pub use crate::datetime::{ceil_period, floor_period, unit_ms};

/// The longest text `lpad`, `rpad` and `repeat` build (longer: null).
const MAX_BUILT_TEXT: usize = 1 << 20;

/// How many compiled patterns a thread keeps (a query's patterns are usually the same for
/// every record).
const REGEX_CACHE: usize = 8;

thread_local! {
    /// The patterns `regexReplace`, `rlike` and `regexp_extract` compiled last on this
    /// thread, the most recent first.
    static LAST_REGEX: std::cell::RefCell<Vec<(String, Option<regex::Regex>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with `pattern` compiled (`None`: it does not compile), compiling it only when it
/// is not among the last few.
fn with_regex<T>(pattern: &str, f: impl FnOnce(Option<&regex::Regex>) -> T) -> T {
    LAST_REGEX.with(|last| {
        let mut last = last.borrow_mut();
        match last.iter().position(|(p, _)| p == pattern) {
            Some(0) => {}
            Some(i) => {
                let hit = last.remove(i);
                last.insert(0, hit);
            }
            None => {
                last.truncate(REGEX_CACHE - 1);
                last.insert(0, (pattern.to_string(), regex::Regex::new(pattern).ok()));
            }
        }
        f(last[0].1.as_ref())
    })
}

/// Whether an engine function is one of Spark's array functions ([`array_function`]).
fn is_array_function(name: &str) -> bool {
    name == "ppl_array_of"
        || name == "ppl_with_positions"
        || name == "ppl_elements"
        || name == "ppl_arrays_zip_named"
        || name == "ppl_or_json"
        || crate::translate::SQL_ARRAY_FUNCTIONS
            .iter()
            .any(|(_, ours, ..)| *ours == name)
}

/// A value read as a list: a list, or JSON array text (numbers stay numbers, objects become
/// maps).
pub(crate) fn list_of(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) => Some(l.clone()),
        Value::Str(_) => as_list(v),
        _ => None,
    }
}

/// The JSON array or object (as a list or map) at the dotted path `a[2]` in the JSON message
/// `a[1]`: a column discovery kept only the parts of. NULL when there is none.
fn structure_at(a: &[Value]) -> Value {
    let (Some(message), Some(path)) = (a.get(1).and_then(text_of), a.get(2).and_then(text_of))
    else {
        return Value::Null;
    };
    match json_at_path(&message, &path) {
        Some(j @ (serde_json::Value::Array(_) | serde_json::Value::Object(_))) => from_json(&j),
        _ => Value::Null,
    }
}

/// The JSON value at a discovered field's dotted path (`req.items`, `tags.0`) in a JSON
/// message; a key starting with `@` is discovered with an extra `@`.
pub(crate) fn json_at_path(message: &str, field: &str) -> Option<serde_json::Value> {
    let mut at = match serde_json::from_str::<serde_json::Value>(message.trim_start()) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => return None,
    };
    let path = match field.strip_prefix("@@") {
        Some(rest) => format!("@{rest}"),
        None => field.to_string(),
    };
    for key in path.split('.') {
        at = match at {
            serde_json::Value::Object(mut o) => o.remove(key)?,
            serde_json::Value::Array(mut a) => {
                let i: usize = key.parse().ok()?;
                (i < a.len()).then(|| a.swap_remove(i))?
            }
            _ => return None,
        };
    }
    Some(at)
}

/// Spark's array functions over lists (Spark's results for its non-ANSI mode: an index past
/// the end is null). Elements compare as Logs Insights compares values (`2` equals `"2"`).
fn array_function(name: &str, a: &[Value]) -> Value {
    const MAX_ITEMS: usize = 100_000;
    let arr = |i: usize| a.get(i).and_then(list_of);
    let same = |x: &Value, y: &Value| !x.is_null() && !y.is_null() && elem_key(x) == elem_key(y);
    let list = |l: Vec<Value>| Value::List(l);
    let a1 = a.get(1).unwrap_or(&Value::Null);
    let map_get = |m: &[(String, Value)]| {
        text_of(a1)
            .and_then(|k| m.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap_or(Value::Null)
    };
    let distinct = |l: Vec<Value>| {
        let mut seen = std::collections::HashSet::new();
        l.into_iter()
            .filter(|v| seen.insert(elem_key(v)))
            .collect::<Vec<_>>()
    };
    let keys_of = |l: &[Value]| {
        l.iter()
            .map(elem_key)
            .collect::<std::collections::HashSet<_>>()
    };
    match name {
        // (A map passes as it is, and an object at the path becomes one: `m['key']` reads it.)
        "ppl_array_of" => match a.first().unwrap_or(&Value::Null) {
            m @ Value::Map(_) => m.clone(),
            Value::Null => structure_at(a),
            // (Text holding a JSON array is its list, holding a JSON object its map.)
            v => list_of(v).map_or_else(|| as_map(v).map_or(Value::Null, Value::Map), list),
        },
        // (Within MAX_BUILT_VALUE and MAX_NESTING, else NULL.)
        "ppl_array" if !buildable(a) => Value::Null,
        "ppl_array" => list(a.to_vec()),
        "ppl_or_json" => match a.first() {
            Some(v) if !v.is_null() => v.clone(),
            _ => structure_at(a),
        },
        // `arrays_zip(a, b, …)` as `ppl_arrays_zip_named(k, names…, arrays…)`: element i of
        // each array under its name, as many as the longest array (NULL past an end); NULL
        // when an array is.
        "ppl_arrays_zip_named" => {
            let k = a.first().and_then(num).unwrap_or(0.0) as usize;
            if k == 0 || a.len() != 1 + 2 * k {
                return Value::Null;
            }
            let names: Option<Vec<String>> = a[1..=k]
                .iter()
                .map(|n| text_of(n).map(|t| t.into_owned()))
                .collect();
            let arrays: Option<Vec<Vec<Value>>> = (k + 1..=2 * k).map(arr).collect();
            let (Some(names), Some(arrays)) = (names, arrays) else {
                return Value::Null;
            };
            let n = arrays.iter().map(Vec::len).max().unwrap_or(0);
            // (Each element's map repeats the names: their bytes count too.)
            let names_len: usize = names.iter().map(String::len).sum();
            if n.saturating_mul(k) > MAX_ITEMS
                || n.saturating_mul(names_len) > MAX_BUILT_VALUE
                || !buildable(arrays.iter().flatten())
            {
                return Value::Null;
            }
            list(
                (0..n)
                    .map(|i| {
                        Value::Map(
                            names
                                .iter()
                                .zip(&arrays)
                                .map(|(nm, l)| {
                                    (nm.clone(), l.get(i).cloned().unwrap_or(Value::Null))
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            )
        }
        // An array's elements; NULL for anything else (a map is no array to explode).
        "ppl_elements" => arr(0).map_or(Value::Null, list),
        "ppl_with_positions" => arr(0).map_or(Value::Null, |l| {
            list(
                l.into_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        Value::Map(vec![
                            ("pos".to_string(), Value::Num(i as f64)),
                            ("col".to_string(), v),
                        ])
                    })
                    .collect(),
            )
        }),
        // `split(text, regex[, limit])`: a limit above 0 caps the parts (the last holds the
        // rest); trailing empty parts are kept, as Spark keeps them.
        "ppl_split" => {
            let (Some(x), Some(p)) = (a.first().and_then(text_of), text_of(a1)) else {
                return Value::Null;
            };
            let limit = a.get(2).map_or(Some(-1.0), num);
            let Some(limit) = limit else {
                return Value::Null;
            };
            // (An empty pattern splits between characters, as Spark does.)
            if p.is_empty() {
                let cap = if limit >= 1.0 {
                    limit as usize
                } else {
                    usize::MAX
                };
                let mut out: Vec<Value> = Vec::new();
                let mut rest = x.as_ref();
                while let Some(c) = rest.chars().next() {
                    if out.len() + 1 >= cap || out.len() >= MAX_ITEMS {
                        break;
                    }
                    out.push(Value::Str(c.to_string()));
                    rest = &rest[c.len_utf8()..];
                }
                if !rest.is_empty() {
                    out.push(Value::Str(rest.to_string()));
                }
                return list(out);
            }
            with_regex(&p, |re| {
                let Some(re) = re else {
                    return Value::Null;
                };
                let parts: Vec<Value> = if limit > 0.0 {
                    re.splitn(&x, limit.min(MAX_ITEMS as f64) as usize)
                        .map(|s| Value::Str(s.to_string()))
                        .collect()
                } else {
                    re.split(&x)
                        .take(MAX_ITEMS)
                        .map(|s| Value::Str(s.to_string()))
                        .collect()
                };
                list(parts)
            })
        }
        // (Spark's `size` of NULL is -1 outside ANSI mode; `array_size` gives NULL.)
        "ppl_size" => match a.first().and_then(|v| match v {
            Value::Map(m) => Some(m.len()),
            v => list_of(v).map(|l| l.len()),
        }) {
            Some(n) => Value::Num(n as f64),
            None => Value::Num(-1.0),
        },
        "ppl_array_size" => arr(0).map_or(Value::Null, |l| Value::Num(l.len() as f64)),
        "ppl_array_contains" => match arr(0) {
            Some(_) if a1.is_null() => Value::Null,
            Some(l) => Value::Bool(l.iter().any(|v| same(v, a1))),
            None => Value::Null,
        },
        // 1-based, from the end when negative; a map by its key.
        "ppl_element_at" => {
            if let Some(Value::Map(m)) = a.first() {
                return map_get(m);
            }
            match (arr(0), num(a1)) {
                (Some(l), Some(i)) if i.fract() == 0.0 && i != 0.0 => {
                    let n = l.len() as f64;
                    let at = if i > 0.0 { i - 1.0 } else { n + i };
                    if at >= 0.0 && at < n {
                        l[at as usize].clone()
                    } else {
                        Value::Null
                    }
                }
                _ => Value::Null,
            }
        }
        // `a[i]`: 0-based; a map by its key.
        "ppl_array_get" => {
            if let Some(Value::Map(m)) = a.first() {
                return map_get(m);
            }
            match (arr(0), num(a1)) {
                (Some(l), Some(i)) if i.fract() == 0.0 && i >= 0.0 && (i as usize) < l.len() => {
                    l[i as usize].clone()
                }
                _ => Value::Null,
            }
        }
        // Nulls are skipped unless a replacement is given.
        "ppl_array_join" => {
            let (Some(l), Some(d)) = (arr(0), text_of(a1)) else {
                return Value::Null;
            };
            let null = a.get(2).and_then(text_of);
            let parts: Vec<String> = l
                .iter()
                .filter_map(|v| match v {
                    Value::Null => null.as_ref().map(|n| n.to_string()),
                    v => Some(v.render()),
                })
                .collect();
            Value::Str(parts.join(&d))
        }
        "ppl_array_distinct" => arr(0).map_or(Value::Null, |l| list(distinct(l))),
        // Ascending, nulls last (`array_sort`); `sort_array` puts nulls first ascending and
        // last descending.
        "ppl_array_sort" | "ppl_sort_array" => {
            let Some(mut l) = arr(0) else {
                return Value::Null;
            };
            let asc = match a.get(1) {
                None => true,
                Some(Value::Bool(b)) => *b,
                Some(v) => match text_of(v).as_deref() {
                    Some("true") => true,
                    Some("false") => false,
                    _ => return Value::Null,
                },
            };
            l.sort_by(|x, y| crate::value::sort_cmp(x, y, !asc));
            if name == "ppl_sort_array" && asc {
                let nulls = l.iter().filter(|v| v.is_null()).count();
                l.rotate_right(nulls);
            }
            list(l)
        }
        "ppl_array_max" | "ppl_array_min" => {
            let Some(l) = arr(0) else {
                return Value::Null;
            };
            let it = l.into_iter().filter(|v| !v.is_null());
            let best = if name == "ppl_array_max" {
                it.max_by(crate::value::natural_cmp)
            } else {
                it.min_by(crate::value::natural_cmp)
            };
            best.unwrap_or(Value::Null)
        }
        // 1-based; 0 when absent.
        "ppl_array_position" => match arr(0) {
            Some(_) if a1.is_null() => Value::Null,
            Some(l) => Value::Num(l.iter().position(|v| same(v, a1)).map_or(0, |i| i + 1) as f64),
            None => Value::Null,
        },
        "ppl_array_remove" => match arr(0) {
            Some(_) if a1.is_null() => Value::Null,
            Some(l) => list(l.into_iter().filter(|v| !same(v, a1)).collect()),
            None => Value::Null,
        },
        "ppl_array_compact" => arr(0).map_or(Value::Null, |l| {
            list(l.into_iter().filter(|v| !v.is_null()).collect())
        }),
        // `slice(a, start, length)`: start 1-based, from the end when negative.
        "ppl_slice" => {
            let (Some(l), Some(s), Some(n)) = (arr(0), num(a1), a.get(2).and_then(num)) else {
                return Value::Null;
            };
            if s == 0.0 || n < 0.0 || s.fract() != 0.0 || n.fract() != 0.0 {
                return Value::Null;
            }
            let len = l.len() as f64;
            let from = if s > 0.0 { s - 1.0 } else { len + s };
            if from < 0.0 || from >= len {
                return list(vec![]);
            }
            let from = from as usize;
            list(l.into_iter().skip(from).take(n.min(len) as usize).collect())
        }
        "ppl_arrays_overlap" => match (arr(0), arr(1)) {
            (Some(x), Some(y)) => {
                let ys = keys_of(&y);
                Value::Bool(x.iter().any(|v| !v.is_null() && ys.contains(&elem_key(v))))
            }
            _ => Value::Null,
        },
        "ppl_array_union" => match (arr(0), arr(1)) {
            (Some(x), Some(y)) => list(distinct(x.into_iter().chain(y).collect())),
            _ => Value::Null,
        },
        "ppl_array_intersect" | "ppl_array_except" => match (arr(0), arr(1)) {
            (Some(x), Some(y)) => {
                let ys = keys_of(&y);
                let keep = name == "ppl_array_intersect";
                list(distinct(
                    x.into_iter()
                        .filter(|v| ys.contains(&elem_key(v)) == keep)
                        .collect(),
                ))
            }
            _ => Value::Null,
        },
        // (At most MAX_BUILT_TEXT of copies: a large element repeated often is null.)
        "ppl_array_repeat" => match num(a1) {
            Some(n) if n.fract() == 0.0 && n <= MAX_ITEMS as f64 => {
                let v = a.first().cloned().unwrap_or(Value::Null);
                let n = n.max(0.0) as usize;
                if weight(&v).saturating_mul(n) > MAX_BUILT_TEXT {
                    return Value::Null;
                }
                list(vec![v; n])
            }
            _ => Value::Null,
        },
        // Maps: `map(k, v, …)`/`named_struct(…)` (keys as text, a later key replacing an
        // earlier one), `map_from_arrays`, `str_to_map(text[, pairs ',', key ':'])`.
        "ppl_map" => {
            if a.len() % 2 == 1 || !buildable(a) {
                return Value::Null;
            }
            let mut pairs = Vec::new();
            for kv in a.chunks(2) {
                let Some(k) = text_of(&kv[0]) else {
                    return Value::Null;
                };
                pairs.push((k.into_owned(), kv[1].clone()));
            }
            map_of(pairs)
        }
        "ppl_map_from_arrays" => match (arr(0), arr(1)) {
            (Some(ks), Some(vs)) if ks.len() == vs.len() => {
                let mut pairs = Vec::new();
                for (k, v) in ks.iter().zip(vs) {
                    let Some(k) = text_of(k) else {
                        return Value::Null;
                    };
                    pairs.push((k.into_owned(), v));
                }
                map_of(pairs)
            }
            _ => Value::Null,
        },
        "ppl_str_to_map" => {
            let Some(t) = a.first().and_then(text_of) else {
                return Value::Null;
            };
            let sep = |i: usize, d: &str| match a.get(i) {
                None => Some(d.to_string()),
                Some(v) => text_of(v).map(|x| x.into_owned()).filter(|x| !x.is_empty()),
            };
            let (Some(pairs), Some(kv)) = (sep(1, ","), sep(2, ":")) else {
                return Value::Null;
            };
            // (The separators are regular expressions, as Spark reads them.)
            let (Some(pairs), Some(kv)) = (
                with_regex(&pairs, |r| r.cloned()),
                with_regex(&kv, |r| r.cloned()),
            ) else {
                return Value::Null;
            };
            map_of(pairs.split(&t).take(MAX_ITEMS).map(|p| {
                let mut two = kv.splitn(p, 2);
                match (two.next(), two.next()) {
                    (Some(k), Some(v)) => (k.to_string(), Value::Str(v.to_string())),
                    _ => (p.to_string(), Value::Null),
                }
            }))
        }
        // `map_concat(m, …)`: the maps' entries in order, a later key replacing an earlier one.
        "ppl_map_concat" => {
            let mut pairs = Vec::new();
            for v in a {
                match v {
                    Value::Map(m) => pairs.extend(m.iter().cloned()),
                    _ => return Value::Null,
                }
            }
            map_of(pairs)
        }
        // `flatten(array of arrays)`: their elements in order; NULL if one is NULL (Spark).
        "ppl_flatten" => {
            let Some(outer) = arr(0) else {
                return Value::Null;
            };
            let mut out = Vec::new();
            for inner in outer {
                match list_of(&inner) {
                    Some(l) if out.len() + l.len() <= MAX_ITEMS => out.extend(l),
                    _ => return Value::Null,
                }
            }
            list(out)
        }
        "ppl_map_keys" | "ppl_map_values" | "ppl_map_entries" | "ppl_map_contains_key" => {
            // (Text holding a JSON object is read as its map.)
            let Some(m) = a.first().and_then(as_map) else {
                return Value::Null;
            };
            match name {
                "ppl_map_keys" => list(m.iter().map(|(k, _)| Value::Str(k.clone())).collect()),
                "ppl_map_values" => list(m.iter().map(|(_, v)| v.clone()).collect()),
                "ppl_map_entries" => list(
                    m.iter()
                        .map(|(k, v)| {
                            Value::Map(vec![
                                ("key".to_string(), Value::Str(k.clone())),
                                ("value".to_string(), v.clone()),
                            ])
                        })
                        .collect(),
                ),
                _ => match text_of(a1) {
                    Some(k) => Value::Bool(m.iter().any(|(n, _)| *n == k)),
                    None => Value::Null,
                },
            }
        }
        // `sequence(start, stop[, step])`: whole numbers, the step 1 or -1 by default.
        "ppl_sequence" => {
            let (Some(x), Some(y)) = (a.first().and_then(num), num(a1)) else {
                return Value::Null;
            };
            let step = match a.get(2) {
                Some(v) => match num(v) {
                    Some(s) => s,
                    None => return Value::Null,
                },
                None if y >= x => 1.0,
                None => -1.0,
            };
            if [x, y, step]
                .iter()
                .any(|v| v.fract() != 0.0 || !v.is_finite())
                || step == 0.0
                || (y - x) / step < 0.0
                || (y - x) / step >= MAX_ITEMS as f64
            {
                return Value::Null;
            }
            let n = ((y - x) / step).floor() as usize + 1;
            list((0..n).map(|i| Value::Num(x + step * i as f64)).collect())
        }
        _ => Value::Null,
    }
}

/// An array element's identity for equality and sets: as Logs Insights keys values (`2`
/// equals `"2"`), a boolean as its text (JSON's `true` is discovered as text).
fn elem_key(v: &Value) -> String {
    match v {
        Value::Bool(b) => Value::Str(b.to_string()).key(),
        v => v.key(),
    }
}

/// The most a list or map built by a function may hold ([`weight`]), and how deep lists and
/// maps may nest in one (dropping or printing a value recurses that deep).
pub(crate) const MAX_BUILT_VALUE: usize = 8 << 20;
pub(crate) const MAX_NESTING: usize = 64;

/// How deep lists and maps nest in a value (a scalar is 0).
pub(crate) fn depth(v: &Value) -> usize {
    match v {
        Value::List(l) => 1 + l.iter().map(depth).max().unwrap_or(0),
        Value::Map(m) => 1 + m.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

thread_local! {
    /// Set when a list or map was refused for its size ([`buildable`]): a lambda whose bodies
    /// built one answers NULL, not a value built from the NULL.
    pub(crate) static REFUSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a list or map of these items stays within [`MAX_BUILT_VALUE`] and [`MAX_NESTING`].
pub(crate) fn buildable<'v>(items: impl IntoIterator<Item = &'v Value>) -> bool {
    let (mut w, mut d) = (0usize, 0usize);
    for v in items {
        w = w.saturating_add(weight(v));
        d = d.max(depth(v));
        if w > MAX_BUILT_VALUE || d >= MAX_NESTING {
            REFUSED.with(|r| r.set(true));
            return false;
        }
    }
    true
}

/// About how many bytes a value holds (text by its length, lists and maps by their items).
pub(crate) fn weight(v: &Value) -> usize {
    match v {
        Value::Str(t) => t.len().max(8),
        Value::List(l) => l.iter().map(weight).fold(8, usize::saturating_add),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| k.len().saturating_add(weight(v)))
            .fold(8, usize::saturating_add),
        _ => 8,
    }
}

/// A map of key–value pairs in order, a later key replacing an earlier one's value (Spark's
/// last-wins policy).
fn map_of(pairs: impl IntoIterator<Item = (String, Value)>) -> Value {
    let mut m: Vec<(String, Value)> = Vec::new();
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (k, v) in pairs {
        match at.get(&k) {
            Some(&i) => m[i].1 = v,
            None => {
                at.insert(k.clone(), m.len());
                m.push((k, v));
            }
        }
    }
    Value::Map(m)
}
