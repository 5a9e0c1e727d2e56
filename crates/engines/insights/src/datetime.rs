//! Time periods (`bin`, `datefloor`, `dateceil`) and `formatDate`.

use crate::lexer::Unit;

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
    // next boundary: floor of a point just past the period end
    let mut probe = f + unit_ms(u) * n.max(1);
    loop {
        let g = floor_period(probe, n, u);
        if g > f {
            return g;
        }
        probe += unit_ms(u);
    }
}

pub fn strftime(ms: i64, f: &str) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return String::new();
    };
    let mut o = String::new();
    let mut it = f.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            o.push(c);
            continue;
        }
        match it.next() {
            Some('Y') => o.push_str(&format!("{:04}", t.year())),
            Some('y') => o.push_str(&format!("{:02}", t.year().rem_euclid(100))),
            Some('m') => o.push_str(&format!("{:02}", u8::from(t.month()))),
            Some('d') => o.push_str(&format!("{:02}", t.day())),
            Some('H') => o.push_str(&format!("{:02}", t.hour())),
            Some('M') => o.push_str(&format!("{:02}", t.minute())),
            Some('S') => o.push_str(&format!("{:02}", t.second())),
            Some('L') | Some('f') => o.push_str(&format!("{:03}", ms.rem_euclid(1000))),
            Some('j') => o.push_str(&format!("{:03}", t.ordinal())),
            Some('s') => o.push_str(&ms.div_euclid(1000).to_string()),
            Some('Z') => o.push_str("UTC"),
            Some('z') => o.push_str("+0000"),
            Some('%') => o.push('%'),
            Some(x) => {
                o.push('%');
                o.push(x);
            }
            None => o.push('%'),
        }
    }
    o
}
