//! Time periods (`bin`, `datefloor`, `dateceil`), and dates as text in a chosen time zone:
//! `formatDate` (strftime directives) and `parseDate` (Java `DateTimeFormatter` patterns).

use crate::lexer::Unit;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write;

pub fn unit_ms(u: Unit) -> i64 {
    match u {
        Unit::Ms => 1,
        Unit::Sec => 1000,
        Unit::Min => 60_000,
        Unit::Hour => 3_600_000,
        Unit::Day => 86_400_000,
        Unit::Week => 7 * 86_400_000,
        Unit::Month => 30 * 86_400_000,
        Unit::Quarter => 91 * 86_400_000,
        Unit::Year => 365 * 86_400_000,
    }
}

/// Start of the `n`-`unit` period containing `ts` (weeks start on Monday; months, quarters
/// and years are calendar periods, UTC). Per-unit caps (ms ≤ 1000, s/m ≤ 60, h ≤ 24).
pub fn floor_period(ts: i64, n: i64, u: Unit) -> i64 {
    let cap = match u {
        Unit::Ms => 1000,
        Unit::Sec | Unit::Min => 60,
        Unit::Hour => 24,
        _ => i64::MAX,
    };
    let n = n.clamp(1, cap);
    match u {
        Unit::Month | Unit::Quarter | Unit::Year => {
            let months = n * match u {
                Unit::Month => 1,
                Unit::Quarter => 3,
                _ => 12,
            };
            let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ts.div_euclid(1000)) else {
                return ts;
            };
            let idx = t.year() as i64 * 12 + (u8::from(t.month()) as i64 - 1);
            let f = idx - idx.rem_euclid(months);
            let (y, m) = (f.div_euclid(12) as i32, (f.rem_euclid(12) + 1) as u8);
            let Ok(month) = time::Month::try_from(m) else {
                return ts;
            };
            match time::Date::from_calendar_date(y, month, 1) {
                Ok(d) => d.midnight().assume_utc().unix_timestamp() * 1000,
                Err(_) => ts,
            }
        }
        Unit::Week => {
            let p = n * unit_ms(u);
            let monday = 4 * 86_400_000;
            (ts - monday).div_euclid(p) * p + monday
        }
        _ => {
            let p = n * unit_ms(u);
            ts.div_euclid(p) * p
        }
    }
}

pub fn ceil_period(ts: i64, n: i64, u: Unit) -> i64 {
    let f = floor_period(ts, n, u);
    if f == ts {
        return f;
    }
    next_period(f, n, u)
}

/// The start of the period after the one starting at `f` (a [`floor_period`] boundary);
/// `i64::MAX` past the representable times.
pub fn next_period(f: i64, n: i64, u: Unit) -> i64 {
    match u {
        Unit::Month | Unit::Quarter | Unit::Year => {
            let months = n.max(1).saturating_mul(match u {
                Unit::Month => 1,
                Unit::Quarter => 3,
                _ => 12,
            });
            let Ok(t) = time::OffsetDateTime::from_unix_timestamp(f.div_euclid(1000)) else {
                return i64::MAX;
            };
            let idx =
                (t.year() as i64 * 12 + (u8::from(t.month()) as i64 - 1)).saturating_add(months);
            let (y, m) = (idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u8);
            let (Ok(y), Ok(month)) = (i32::try_from(y), time::Month::try_from(m)) else {
                return i64::MAX;
            };
            match time::Date::from_calendar_date(y, month, 1) {
                Ok(d) => d
                    .midnight()
                    .assume_utc()
                    .unix_timestamp()
                    .saturating_mul(1000),
                Err(_) => i64::MAX,
            }
        }
        _ => {
            let cap = match u {
                Unit::Ms => 1000,
                Unit::Sec | Unit::Min => 60,
                Unit::Hour => 24,
                _ => i64::MAX,
            };
            f.saturating_add(n.clamp(1, cap).saturating_mul(unit_ms(u)))
        }
    }
}

// ------------------------------------------------------------------------------- time zones

/// The time zone a `formatDate`/`parseDate` timezone argument names (Java `ZoneId.of` forms):
/// - `UTC`, `GMT`, `UT` or `Z`, in any case;
/// - a fixed offset `±H`, `±HH`, `±HHMM`, `±HH:MM`, `±HHMMSS` or `±HH:MM:SS` of at most 18
///   hours, bare or after `UTC`, `GMT` or `UT` (`+05:30`, `-0800`, `UTC+2`, `GMT-08:00`);
/// - a name of the bundled IANA tz database, in any case (`America/New_York`, `Europe/Paris`,
///   `Etc/GMT+2`, and the database's legacy names such as `EST5EDT`).
///
/// Anything else — POSIX TZ strings, abbreviations the database lacks (`PST`) — is `None`.
pub fn time_zone(name: &str) -> Option<TimeZone> {
    for prefix in ["UTC", "GMT", "UT"] {
        if name
            .get(..prefix.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
        {
            let rest = &name[prefix.len()..];
            if rest.is_empty() {
                return Some(TimeZone::UTC);
            }
            if rest.starts_with(['+', '-']) {
                return fixed_offset(rest).map(TimeZone::fixed);
            }
        }
    }
    if name.eq_ignore_ascii_case("Z") {
        return Some(TimeZone::UTC);
    }
    if name.starts_with(['+', '-']) {
        return fixed_offset(name).map(TimeZone::fixed);
    }
    TimeZone::get(name).ok()
}

/// `±H`, `±HH`, `±HHMM`, `±HH:MM`, `±HHMMSS`, `±HH:MM:SS` (at most ±18:00).
fn fixed_offset(s: &str) -> Option<Offset> {
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let r = s.get(1..)?.as_bytes();
    let two = |i: usize| two_digits(r, i);
    let (h, m, sec) = match r.len() {
        1 if r[0].is_ascii_digit() => (i32::from(r[0] - b'0'), 0, 0),
        2 => (two(0)?, 0, 0),
        4 => (two(0)?, two(2)?, 0),
        5 if r[2] == b':' => (two(0)?, two(3)?, 0),
        6 => (two(0)?, two(2)?, two(4)?),
        8 if r[2] == b':' && r[5] == b':' => (two(0)?, two(3)?, two(6)?),
        _ => return None,
    };
    offset_seconds(h, m, sec).and_then(|t| Offset::from_seconds(sign * t).ok())
}

pub(crate) fn two_digits(r: &[u8], i: usize) -> Option<i32> {
    let (a, b) = (*r.get(i)?, *r.get(i + 1)?);
    (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i32::from((a - b'0') * 10 + (b - b'0')))
}

pub(crate) fn offset_seconds(h: i32, m: i32, s: i32) -> Option<i32> {
    let t = h * 3600 + m * 60 + s;
    (m < 60 && s < 60 && t <= 18 * 3600).then_some(t)
}

thread_local! {
    static ZONES: RefCell<HashMap<String, Option<TimeZone>>> = RefCell::default();
}

/// `make(key)`, remembered per thread (a query evaluates the same few formats and zones for
/// every record); the cache is emptied when it reaches 64 entries.
pub(crate) fn cached<T: Clone>(
    cache: &'static std::thread::LocalKey<RefCell<HashMap<String, T>>>,
    key: &str,
    make: impl FnOnce(&str) -> T,
) -> T {
    cache.with(|c| {
        if let Some(v) = c.borrow().get(key) {
            return v.clone();
        }
        let v = make(key);
        let mut c = c.borrow_mut();
        if c.len() >= 64 {
            c.clear();
        }
        c.insert(key.to_string(), v.clone());
        v
    })
}

/// [`time_zone`], cached per thread.
pub fn time_zone_cached(name: &str) -> Option<TimeZone> {
    cached(&ZONES, name, time_zone)
}

// ------------------------------------------------------------------------------- formatDate

pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Monday first, as `Weekday::to_monday_zero_offset` counts.
pub(crate) const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// `formatDate`/`strftime`: epoch milliseconds `ms` shown in `tz` (C locale, English names):
///
/// | directive | meaning |
/// |---|---|
/// | `%Y` `%C` `%y` | year (4+ digits), century, year of the century |
/// | `%G` `%g` `%V` | ISO 8601 week-based year, its last two digits, ISO week (01–53) |
/// | `%m` `%b` `%h` `%B` | month 01–12, `Jan`, `Jan`, `January` |
/// | `%d` `%e` `%j` | day of the month 01–31, the same space-padded, day of the year 001–366 |
/// | `%a` `%A` `%u` `%w` | `Tue`, `Tuesday`, weekday 1–7 (Monday 1), weekday 0–6 (Sunday 0) |
/// | `%U` `%W` | week of the year 00–53, weeks starting on Sunday / Monday |
/// | `%H` `%k` `%I` `%l` `%p` `%P` | hour 00–23, the same space-padded, 01–12, the same space-padded, `AM`/`PM`, `am`/`pm` |
/// | `%M` `%S` `%L` `%f` `%s` | minute, second, milliseconds 000–999 (both), epoch seconds |
/// | `%z` `%:z` `%Z` | offset `+hhmm`, `+hh:mm`, the zone's abbreviation (`EST`, `CEST`; `UTC`; else the offset) |
/// | `%T` `%X` `%R` `%D` `%x` `%F` `%c` | `%H:%M:%S`, same, `%H:%M`, `%m/%d/%y`, same, `%Y-%m-%d`, `%a %b %e %H:%M:%S %Y` |
/// | `%n` `%t` `%%` | newline, tab, `%` |
///
/// `%-` before a numeric directive drops its padding (`%-d` → `5`). `None` when `ms` is outside
/// the years -9999..=9999 or `f` holds another directive.
pub fn format_date(ms: i64, f: &str, tz: &TimeZone) -> Option<String> {
    render(Timestamp::from_millisecond(ms).ok()?, f, tz).ok()
}

/// Why `f` is not a `formatDate` format (it names the directive), for a literal format.
pub fn check_strftime(f: &str) -> Result<(), String> {
    render(Timestamp::UNIX_EPOCH, f, &TimeZone::UTC).map(|_| ())
}

fn render(ts: Timestamp, f: &str, tz: &TimeZone) -> Result<String, String> {
    let info = tz.to_offset_info(ts);
    let z = Zoned {
        ts,
        dt: info.offset().to_datetime(ts),
        offset: info.offset().seconds(),
        abbr: info.abbreviation(),
    };
    let mut o = String::with_capacity(f.len() + 16);
    let mut it = f.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            o.push(c);
            continue;
        }
        let mut d = it.next();
        let nopad = d == Some('-');
        if nopad {
            d = it.next();
        }
        let start = o.len();
        match d {
            Some(':') => match it.next() {
                Some('z') => z.offset_into(&mut o, true),
                Some(x) => return Err(format!("unknown format directive '%:{x}'")),
                None => return Err("format ends with an incomplete directive '%:'".into()),
            },
            Some(d) => {
                if z.directive(&mut o, d).is_none() {
                    return Err(format!("unknown format directive '%{d}'"));
                }
                if nopad && "CdegHIjklmMSUuVwWy".contains(d) {
                    let digits = o[start..].trim_start_matches(['0', ' ']);
                    let keep = if digits.is_empty() { "0" } else { digits }.to_string();
                    o.truncate(start);
                    o.push_str(&keep);
                }
            }
            None => return Err("format ends with a lone '%'".into()),
        }
    }
    Ok(o)
}

/// One instant as seen in one zone.
struct Zoned<'a> {
    ts: Timestamp,
    dt: DateTime,
    offset: i32,
    abbr: &'a str,
}

impl Zoned<'_> {
    fn offset_into(&self, o: &mut String, colon: bool) {
        let a = self.offset.unsigned_abs();
        let sign = if self.offset < 0 { '-' } else { '+' };
        let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
        let sep = if colon { ":" } else { "" };
        let _ = write!(o, "{sign}{h:02}{sep}{m:02}");
        if s != 0 {
            let _ = write!(o, "{sep}{s:02}");
        }
    }

    /// Appends directive `d`; `None` for an unknown directive.
    fn directive(&self, o: &mut String, d: char) -> Option<()> {
        let dt = &self.dt;
        let (y, mo, day) = (i32::from(dt.year()), dt.month() as usize, dt.day());
        let (h, mi, s) = (dt.hour(), dt.minute(), dt.second());
        let h12 = match h % 12 {
            0 => 12,
            x => x,
        };
        let wd = dt.weekday();
        let doy0 = i32::from(dt.day_of_year()) - 1;
        let month = MONTHS[mo - 1];
        let wday = DAYS[wd.to_monday_zero_offset() as usize];
        let ms = self.ts.as_millisecond();
        let r = match d {
            'Y' => write!(o, "{y:04}"),
            'C' => write!(o, "{:02}", y.div_euclid(100)),
            'y' => write!(o, "{:02}", y.rem_euclid(100)),
            'G' => write!(o, "{:04}", dt.date().iso_week_date().year()),
            'g' => write!(
                o,
                "{:02}",
                i32::from(dt.date().iso_week_date().year()).rem_euclid(100)
            ),
            'V' => write!(o, "{:02}", dt.date().iso_week_date().week()),
            'm' => write!(o, "{mo:02}"),
            'b' | 'h' => write!(o, "{}", &month[..3]),
            'B' => write!(o, "{month}"),
            'd' => write!(o, "{day:02}"),
            'e' => write!(o, "{day:>2}"),
            'j' => write!(o, "{:03}", doy0 + 1),
            'a' => write!(o, "{}", &wday[..3]),
            'A' => write!(o, "{wday}"),
            'u' => write!(o, "{}", wd.to_monday_one_offset()),
            'w' => write!(o, "{}", wd.to_sunday_zero_offset()),
            'U' => write!(
                o,
                "{:02}",
                (doy0 + 7 - i32::from(wd.to_sunday_zero_offset())) / 7
            ),
            'W' => write!(
                o,
                "{:02}",
                (doy0 + 7 - i32::from(wd.to_monday_zero_offset())) / 7
            ),
            'H' => write!(o, "{h:02}"),
            'k' => write!(o, "{h:>2}"),
            'I' => write!(o, "{h12:02}"),
            'l' => write!(o, "{h12:>2}"),
            'p' => write!(o, "{}", if h < 12 { "AM" } else { "PM" }),
            'P' => write!(o, "{}", if h < 12 { "am" } else { "pm" }),
            'M' => write!(o, "{mi:02}"),
            'S' => write!(o, "{s:02}"),
            'L' | 'f' => write!(o, "{:03}", ms.rem_euclid(1000)),
            's' => write!(o, "{}", ms.div_euclid(1000)),
            'z' => {
                self.offset_into(o, false);
                Ok(())
            }
            'Z' => write!(o, "{}", self.abbr),
            'T' | 'X' => write!(o, "{h:02}:{mi:02}:{s:02}"),
            'R' => write!(o, "{h:02}:{mi:02}"),
            'D' | 'x' => write!(o, "{mo:02}/{day:02}/{:02}", y.rem_euclid(100)),
            'F' => write!(o, "{y:04}-{mo:02}-{day:02}"),
            'c' => write!(
                o,
                "{} {} {day:>2} {h:02}:{mi:02}:{s:02} {y:04}",
                &wday[..3],
                &month[..3]
            ),
            'n' => o.write_char('\n'),
            't' => o.write_char('\t'),
            '%' => o.write_char('%'),
            _ => return None,
        };
        r.ok()
    }
}
