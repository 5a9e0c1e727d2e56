//! ISO-8601 timestamps of the Query protocol ⇄ canonical epoch seconds.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `2024-01-01T00:00:00Z`, fractional seconds and offsets allowed; a missing zone means UTC.
pub fn parse_iso8601(s: &str) -> Option<f64> {
    let s = s.trim();
    let parsed = OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .ok()?;
    Some(parsed.unix_timestamp_nanos() as f64 / 1e9)
}

/// `2024-01-01T00:00:00.000Z`.
pub fn format_iso8601(secs: f64) -> String {
    let nanos = (secs * 1e3).round() as i128 * 1_000_000;
    match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_table() {
        for (text, secs) in [
            ("2024-01-01T00:00:00Z", 1_704_067_200.0),
            ("2024-01-01T00:00:00.500Z", 1_704_067_200.5),
            ("2024-01-01T01:00:00+01:00", 1_704_067_200.0),
            ("2024-01-01T00:00:00", 1_704_067_200.0),
        ] {
            assert_eq!(parse_iso8601(text), Some(secs), "{text}");
        }
        assert_eq!(parse_iso8601("yesterday"), None);
        assert_eq!(format_iso8601(1_704_067_200.25), "2024-01-01T00:00:00.250Z");
    }
}
