//! `parseDate`: dates as text read with a Java `DateTimeFormatter` pattern, in a time zone
//! ([`crate::datetime::time_zone`]).

use crate::datetime::*;
use jiff::civil::{Date, Time};
use jiff::tz::{Offset, TimeZone};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// How deep `[` optional sections may nest (each level is a recursion when parsing).
const MAX_OPTIONAL_DEPTH: usize = 8;

thread_local! {
    static PATTERNS: RefCell<HashMap<String, Option<Rc<JavaPattern>>>> = RefCell::default();
}

/// A compiled `parseDate` format: a Java `DateTimeFormatter` pattern.
///
/// Pattern letters (English names; text matched without regard to ASCII case):
///
/// | letters | field |
/// |---|---|
/// | `y` `yyy` `yyyy`…, `u`… | year, at least as many digits as letters; `yy`/`uu`: two digits, 2000–2099 |
/// | `M` `MM` `MMM` `MMMM` (also `L`) | month: 1–2 digits, 2 digits, `Jan`, `January` |
/// | `d` `dd`; `D` `DD` `DDD` | day of the month; day of the year (1–3, 2–3, 3 digits) |
/// | `H` `HH`, `k` `kk` | hour 0–23, 1–24 |
/// | `h` `hh`, `K` `KK`, `a` | hour 1–12, 0–11, with `AM`/`PM` (`h`/`K` need an `a` in the pattern) |
/// | `m` `mm`, `s` `ss` | minute, second |
/// | `S`…`SSSSSSSSS` | fraction of the second, exactly that many digits (kept to the millisecond) |
/// | `E` `EE` `EEE`, `EEEE` | `Tue`, `Tuesday`: must agree with the date |
/// | `X` `XX` `XXX` `XXXX` `XXXXX` | offset `+HH[mm]`, `+HHMM`, `+HH:MM`, `+HHMM[ss]`, `+HH:MM[:ss]`, or `Z` |
/// | `x`…`xxxxx`, `Z` `ZZ` `ZZZ`, `ZZZZZ` | the same without `Z` (`x`); `+HHMM` (`Z`–`ZZZ`); as `XXXXX` |
/// | `VV` | a zone id, any form [`time_zone`] accepts |
/// | `'text'`, `''` | literal text, a single quote; any other non-letter is itself |
/// | `[` … `]` | an optional section |
///
/// Digits are one or two for a single letter (`M`, `d`, `H`…) and exactly two for a double;
/// a variable-width number followed directly by fixed-width ones leaves them their digits
/// (`yyyyMMdd` reads `20231114`). Other letters (`G`, `Y`, `w`, `Q`, `z`, `O`, …) and `{`, `}`,
/// `#` are compile errors.
pub struct JavaPattern {
    items: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Year,
    Year2,
    Month,
    Day,
    DayOfYear,
    /// `H`: 0–23.
    Hour,
    /// `k`: 1–24.
    ClockHour,
    /// `K`: 0–11.
    AmPmHour,
    /// `h`: 1–12.
    ClockAmPmHour,
    Minute,
    Second,
    Fraction,
}

#[derive(Debug)]
enum Item {
    Lit(String),
    Num {
        field: Field,
        min: usize,
        max: usize,
    },
    MonthName {
        full: bool,
    },
    DayName {
        full: bool,
    },
    AmPm,
    Offset {
        colon: bool,
        minutes_optional: bool,
        seconds_optional: bool,
        z: bool,
    },
    ZoneId,
    Optional(Vec<Item>),
}

fn push_lit(items: &mut Vec<Item>, s: &str) {
    match items.last_mut() {
        Some(Item::Lit(l)) => l.push_str(s),
        _ => items.push(Item::Lit(s.to_string())),
    }
}

/// The item for `n` repetitions of the pattern letter `c`.
fn letter(c: char, n: usize) -> Result<Item, String> {
    let num = |field, min, max| Ok(Item::Num { field, min, max });
    let offset = |colon, minutes_optional, seconds_optional, z| {
        Ok(Item::Offset {
            colon,
            minutes_optional,
            seconds_optional,
            z,
        })
    };
    let run = || c.to_string().repeat(n);
    match (c, n) {
        ('y' | 'u', 2) => num(Field::Year2, 2, 2),
        ('y' | 'u', 1..=9) => num(Field::Year, n.max(1), 9),
        ('M' | 'L', 1) => num(Field::Month, 1, 2),
        ('M' | 'L', 2) => num(Field::Month, 2, 2),
        ('M' | 'L', 3 | 4) => Ok(Item::MonthName { full: n == 4 }),
        ('d', 1..=2) => num(Field::Day, n, 2),
        ('D', 1..=3) => num(Field::DayOfYear, n, 3),
        ('H', 1..=2) => num(Field::Hour, n, 2),
        ('k', 1..=2) => num(Field::ClockHour, n, 2),
        ('K', 1..=2) => num(Field::AmPmHour, n, 2),
        ('h', 1..=2) => num(Field::ClockAmPmHour, n, 2),
        ('m', 1..=2) => num(Field::Minute, n, 2),
        ('s', 1..=2) => num(Field::Second, n, 2),
        ('S', 1..=9) => num(Field::Fraction, n, n),
        ('a', 1) => Ok(Item::AmPm),
        ('E', 1..=4) => Ok(Item::DayName { full: n == 4 }),
        ('X' | 'x', 1) => offset(false, true, false, c == 'X'),
        ('X' | 'x', 2) | ('Z', 1..=3) => offset(false, false, false, c == 'X'),
        ('X' | 'x', 3) => offset(true, false, false, c == 'X'),
        ('X' | 'x', 4) => offset(false, false, true, c == 'X'),
        ('X' | 'x' | 'Z', 5) => offset(true, false, true, c != 'x'),
        ('V', 2) => Ok(Item::ZoneId),
        ('V', _) => Err(format!(
            "pattern letter 'V' must be doubled ('VV'), not '{}'",
            run()
        )),
        (
            'y' | 'u' | 'M' | 'L' | 'd' | 'D' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' | 'a' | 'E'
            | 'X' | 'x' | 'Z',
            _,
        ) => Err(format!("too many pattern letters '{}'", run())),
        _ => Err(format!("unsupported pattern letter '{c}'")),
    }
}

/// Compiles a Java `DateTimeFormatter` pattern; the error names what is wrong.
pub fn compile_java(p: &str) -> Result<JavaPattern, String> {
    let cs: Vec<char> = p.chars().collect();
    // Open optional sections; the first is the pattern itself.
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let (mut needs_ampm, mut has_ampm) = (false, false);
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        let depth = stack.len();
        let top = stack
            .last_mut()
            .expect("the pattern itself is never popped");
        if c.is_ascii_alphabetic() {
            let n = cs[i..].iter().take_while(|&&x| x == c).count();
            i += n;
            needs_ampm |= matches!(c, 'h' | 'K');
            has_ampm |= c == 'a';
            top.push(letter(c, n)?);
        } else if c == '\'' {
            i += 1;
            if cs.get(i) == Some(&'\'') {
                push_lit(top, "'");
                i += 1;
                continue;
            }
            let mut lit = String::new();
            loop {
                match cs.get(i) {
                    None => return Err("unterminated quote (')".into()),
                    Some('\'') if cs.get(i + 1) == Some(&'\'') => {
                        lit.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&x) => {
                        lit.push(x);
                        i += 1;
                    }
                }
            }
            push_lit(top, &lit);
        } else {
            i += 1;
            match c {
                '[' if depth > MAX_OPTIONAL_DEPTH => {
                    return Err(format!(
                        "optional sections '[' nest at most {MAX_OPTIONAL_DEPTH} deep"
                    ))
                }
                '[' => stack.push(Vec::new()),
                ']' => {
                    if stack.len() == 1 {
                        return Err("']' without a previous '['".into());
                    }
                    let inner = stack.pop().unwrap_or_default();
                    if let Some(t) = stack.last_mut() {
                        t.push(Item::Optional(inner));
                    }
                }
                '{' | '}' | '#' => return Err(format!("'{c}' is reserved")),
                _ => push_lit(top, c.encode_utf8(&mut [0; 4])),
            }
        }
    }
    if needs_ampm && !has_ampm {
        return Err("pattern letters 'h' and 'K' need 'a' (AM/PM)".into());
    }
    // As Java does, sections still open end with the pattern.
    while stack.len() > 1 {
        let inner = stack.pop().unwrap_or_default();
        if let Some(t) = stack.last_mut() {
            t.push(Item::Optional(inner));
        }
    }
    Ok(JavaPattern {
        items: stack.pop().unwrap_or_default(),
    })
}

/// [`compile_java`], cached per thread; `None` for a bad pattern.
pub fn java_pattern_cached(p: &str) -> Option<Rc<JavaPattern>> {
    cached(&PATTERNS, p, |p| compile_java(p).ok().map(Rc::new))
}

/// What the text gave, field by field (a field given twice must agree).
#[derive(Clone, Default)]
struct Fields {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour: Option<i64>,
    ampm_hour: Option<i64>,
    pm: Option<i64>,
    minute: Option<i64>,
    second: Option<i64>,
    nanos: Option<i64>,
    weekday: Option<i64>,
    offset: Option<i64>,
    zone: Option<TimeZone>,
}

fn set(slot: &mut Option<i64>, v: i64) -> Option<()> {
    match slot {
        Some(x) if *x != v => None,
        _ => {
            *slot = Some(v);
            Some(())
        }
    }
}

impl Fields {
    fn store(&mut self, field: Field, v: i64, digits: usize) -> Option<()> {
        let within = |lo, hi| (lo..=hi).contains(&v).then_some(());
        match field {
            Field::Year => set(&mut self.year, v),
            Field::Year2 => set(&mut self.year, 2000 + v),
            Field::Month => within(1, 12).and_then(|_| set(&mut self.month, v)),
            Field::Day => within(1, 31).and_then(|_| set(&mut self.day, v)),
            Field::DayOfYear => within(1, 366).and_then(|_| set(&mut self.day_of_year, v)),
            Field::Hour => within(0, 23).and_then(|_| set(&mut self.hour, v)),
            Field::ClockHour => within(1, 24).and_then(|_| set(&mut self.hour, v % 24)),
            Field::AmPmHour => within(0, 11).and_then(|_| set(&mut self.ampm_hour, v)),
            Field::ClockAmPmHour => within(1, 12).and_then(|_| set(&mut self.ampm_hour, v % 12)),
            Field::Minute => within(0, 59).and_then(|_| set(&mut self.minute, v)),
            Field::Second => within(0, 59).and_then(|_| set(&mut self.second, v)),
            Field::Fraction => set(&mut self.nanos, v * 10i64.pow(9 - digits as u32)),
        }
    }
}

/// Digits the fixed-width numbers right after a variable-width one need.
fn reserved(rest: &[Item]) -> usize {
    rest.iter()
        .map_while(|it| match it {
            Item::Num { min, max, .. } if min == max => Some(*min),
            _ => None,
        })
        .sum()
}

/// Index and length of the name in `names` (3-letter prefixes unless `full`) `s` starts with.
fn name_at(s: &str, names: &[&str], full: bool) -> Option<(i64, usize)> {
    names.iter().enumerate().find_map(|(i, n)| {
        let n = if full { n } else { &n[..3] };
        s.get(..n.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(n))
            .then_some((i as i64, n.len()))
    })
}

/// An offset at the start of `r`: its length and seconds.
fn offset_at(
    r: &[u8],
    colon: bool,
    minutes_optional: bool,
    seconds_optional: bool,
    z: bool,
) -> Option<(usize, i32)> {
    if z && r.first() == Some(&b'Z') {
        return Some((1, 0));
    }
    let sign = match r.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h = two_digits(r, 1)?;
    let mut p = 3;
    // The next two-digit group (after a ':' when `colon`), advancing `p` past it.
    let group = |p: &mut usize| {
        let at = *p + usize::from(colon);
        if colon && r.get(*p) != Some(&b':') {
            return None;
        }
        let v = two_digits(r, at)?;
        *p = at + 2;
        Some(v)
    };
    let m = match group(&mut p) {
        Some(m) => m,
        None if minutes_optional => return Some((p, sign * offset_seconds(h, 0, 0)?)),
        None => return None,
    };
    let s = if seconds_optional {
        group(&mut p).unwrap_or(0)
    } else {
        0
    };
    Some((p, sign * offset_seconds(h, m, s)?))
}

/// A zone id at the start of `s`: the longest run of id characters that names a zone.
fn zone_at(s: &str) -> Option<(usize, TimeZone)> {
    // No zone id is longer than this (the longest IANA names have about 30 characters).
    const MAX_ZONE_ID: usize = 64;
    let run = s
        .bytes()
        .take(MAX_ZONE_ID)
        .take_while(|b| b.is_ascii_alphanumeric() || b"/_+-:".contains(b))
        .count();
    (1..=run)
        .rev()
        .find_map(|n| time_zone(&s[..n]).map(|tz| (n, tz)))
}

fn parse_items(items: &[Item], s: &str, mut pos: usize, f: &mut Fields) -> Option<usize> {
    for (i, item) in items.iter().enumerate() {
        let rest = &s[pos..];
        pos += match item {
            Item::Lit(l) => rest.starts_with(l.as_str()).then_some(l.len())?,
            Item::Num { field, min, max } => {
                let avail = rest.bytes().take_while(u8::is_ascii_digit).count();
                let take = if min == max {
                    *min
                } else {
                    avail.checked_sub(reserved(&items[i + 1..]))?.min(*max)
                };
                if take < *min || take > avail {
                    return None;
                }
                f.store(*field, rest[..take].parse().ok()?, take)?;
                take
            }
            Item::MonthName { full } => {
                let (m, len) = name_at(rest, &MONTHS, *full)?;
                set(&mut f.month, m + 1)?;
                len
            }
            Item::DayName { full } => {
                let (d, len) = name_at(rest, &DAYS, *full)?;
                set(&mut f.weekday, d)?;
                len
            }
            Item::AmPm => {
                let (pm, len) = name_at(rest, &["AM", "PM"], true)?;
                set(&mut f.pm, pm)?;
                len
            }
            Item::Offset {
                colon,
                minutes_optional,
                seconds_optional,
                z,
            } => {
                let (len, secs) = offset_at(
                    rest.as_bytes(),
                    *colon,
                    *minutes_optional,
                    *seconds_optional,
                    *z,
                )?;
                set(&mut f.offset, i64::from(secs))?;
                len
            }
            Item::ZoneId => {
                let (len, tz) = zone_at(rest)?;
                f.zone = Some(tz);
                len
            }
            Item::Optional(inner) => {
                let mut g = f.clone();
                match parse_items(inner, s, pos, &mut g) {
                    Some(end) => {
                        *f = g;
                        end - pos
                    }
                    None => 0,
                }
            }
        };
    }
    Some(pos)
}

/// `parseDate`: the epoch milliseconds `text` denotes under pattern `p`, or `None` unless the
/// pattern matches all of `text` and the fields make one valid instant. How fields resolve
/// (as Java's SMART resolver, with defaults in place of its errors):
/// - the year is required; a missing month or day is 1, a missing time of day 00:00:00.000;
/// - a day of the month past the month's end is its last day (`2023-02-30` → Feb 28);
/// - an offset in the text wins, then a zone id in the text, then `tz`; a local time a
///   daylight-saving change skips or repeats is taken as Java does (shifted forward by the
///   gap; the earlier of the two).
pub fn parse_date(text: &str, p: &JavaPattern, tz: &TimeZone) -> Option<i64> {
    let mut f = Fields::default();
    if parse_items(&p.items, text, 0, &mut f)? != text.len() {
        return None;
    }
    resolve(&f, tz)
}

fn resolve(f: &Fields, tz: &TimeZone) -> Option<i64> {
    let year = i16::try_from(f.year?).ok()?;
    let date = match (f.day_of_year, f.day) {
        (Some(doy), None) => {
            let date = Date::new(year, 1, 1)
                .ok()?
                .with()
                .day_of_year(doy as i16)
                .build()
                .ok()?;
            if f.month.is_some_and(|m| m != i64::from(date.month())) {
                return None;
            }
            date
        }
        (doy, day) => {
            let first = Date::new(year, f.month.unwrap_or(1) as i8, 1).ok()?;
            let day = (day.unwrap_or(1) as i8).min(first.days_in_month());
            let date = Date::new(year, first.month(), day).ok()?;
            if doy.is_some_and(|d| d != i64::from(date.day_of_year())) {
                return None;
            }
            date
        }
    };
    if f.weekday
        .is_some_and(|w| w != i64::from(date.weekday().to_monday_zero_offset()))
    {
        return None;
    }
    let hour = match (f.hour, f.ampm_hour, f.pm) {
        (Some(h), ah, pm) => {
            if ah.is_some_and(|ah| ah != h % 12) || pm.is_some_and(|pm| pm != h / 12) {
                return None;
            }
            h
        }
        (None, Some(ah), Some(pm)) => ah + 12 * pm,
        (None, Some(_), None) => return None,
        (None, None, _) => 0,
    };
    // Epoch milliseconds floor the fraction, as Java's `Instant::toEpochMilli` does.
    let nanos = f.nanos.unwrap_or(0) / 1_000_000 * 1_000_000;
    let time = Time::new(
        hour as i8,
        f.minute.unwrap_or(0) as i8,
        f.second.unwrap_or(0) as i8,
        nanos as i32,
    )
    .ok()?;
    let dt = date.to_datetime(time);
    let ts = match (f.offset, &f.zone) {
        (Some(off), _) => Offset::from_seconds(off as i32)
            .ok()?
            .to_timestamp(dt)
            .ok()?,
        (None, Some(zone)) => zone.to_timestamp(dt).ok()?,
        (None, None) => tz.to_timestamp(dt).ok()?,
    };
    Some(ts.as_millisecond())
}

/// A Java (Spark) datetime pattern for *writing* a time, as the `formatDate` directives that
/// write the same text; an error names what has no such directive.
///
/// `y`/`yyy`/`yyyy` year, `yy` two digits; `M` `MM` `MMM` `MMMM` (and `L`); `d` `dd`; `D`
/// `DDD` day of the year; `H` `HH`; `h` `hh`; `m` `mm`; `s` `ss`; `SSS` milliseconds; `a`;
/// `E`–`EEE`, `EEEE`; `X`–`XXX` (`Z`: the time is UTC), `Z`–`ZZZ`/`xx` (`+HHMM`), `xxx`
/// (`+HH:MM`), `z`; `'text'` and `''`; `[ ]` sections print what they hold.
pub fn to_strftime(pattern: &str) -> Result<String, String> {
    let c: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\'' {
            if c.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            // Quoted text, where `''` is an apostrophe.
            let mut j = i + 1;
            loop {
                match c.get(j) {
                    None => return Err("the pattern has an unclosed quote".into()),
                    Some('\'') if c.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some('%') => {
                        out.push_str("%%");
                        j += 1;
                    }
                    Some(&x) => {
                        out.push(x);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !ch.is_ascii_alphabetic() {
            match ch {
                '%' => out.push_str("%%"),
                // An optional section prints its fields (all are there to print).
                '[' | ']' => {}
                '{' | '}' | '#' => {
                    return Err(format!("the pattern character {ch} is reserved"));
                }
                _ => out.push(ch),
            }
            i += 1;
            continue;
        }
        let mut n = 1;
        while c.get(i + n) == Some(&ch) {
            n += 1;
        }
        let d = match (ch, n) {
            ('y', 2) => "%y",
            ('y', 1 | 3 | 4) => "%Y",
            ('M' | 'L', 1) => "%-m",
            ('M' | 'L', 2) => "%m",
            ('M' | 'L', 3) => "%b",
            ('M' | 'L', 4) => "%B",
            ('d', 1) => "%-d",
            ('d', 2) => "%d",
            ('D', 1) => "%-j",
            ('D', 3) => "%j",
            ('H', 1) => "%-H",
            ('H', 2) => "%H",
            ('h', 1) => "%-I",
            ('h', 2) => "%I",
            ('m', 1) => "%-M",
            ('m', 2) => "%M",
            ('s', 1) => "%-S",
            ('s', 2) => "%S",
            ('S', 3) => "%L",
            ('a', 1) => "%p",
            ('E', 1..=3) => "%a",
            ('E', 4) => "%A",
            // (Times are written in UTC: `X` writes a zero offset as `Z`.)
            ('X', 1..=3) => "Z",
            ('Z', 1..=3) | ('x', 2) => "%z",
            ('x', 3) => "%:z",
            ('z', 1..=3) => "%Z",
            _ => {
                return Err(format!(
                    "the pattern letters {} are not supported yet",
                    ch.to_string().repeat(n)
                ))
            }
        };
        out.push_str(d);
        i += n;
    }
    Ok(out)
}

#[cfg(test)]
mod strftime_tests {
    #[test]
    fn java_patterns_as_directives() {
        for (java, want) in [
            ("yyyy-MM-dd HH:mm:ss.SSS", Ok("%Y-%m-%d %H:%M:%S.%L")),
            ("d MMM yy, h:mm a", Ok("%-d %b %y, %-I:%M %p")),
            (
                "EEEE, MMMM d 'at' HH'h' '' 100%",
                Ok("%A, %B %-d at %Hh ' 100%%"),
            ),
            ("'100%' x", Err(())),
            ("yyyy-MM-dd'T'HH:mm:ssXXX", Ok("%Y-%m-%dT%H:%M:%SZ")),
            ("DDD yyyy Z xxx z", Ok("%j %Y %z %:z %Z")),
            ("h 'o''clock'[ a]", Ok("%-I o'clock %p")),
            ("uuuu", Err(())),
            ("yyyyy", Err(())),
            ("{yyyy}", Err(())),
            ("'open", Err(())),
            ("SS", Err(())),
            ("QQ", Err(())),
        ] {
            assert_eq!(
                super::to_strftime(java).map_err(|_| ()),
                want.map(str::to_string),
                "{java}"
            );
        }
    }
}
