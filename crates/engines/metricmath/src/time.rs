//! UTC calendar fields of an epoch-seconds timestamp, for MINUTE, HOUR, DAY, DATE, MONTH, YEAR.

/// Calendar fields of one instant, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    /// 1 = January … 12 = December.
    pub month: i64,
    /// Day of month, 1 … 31.
    pub date: i64,
    pub hour: i64,
    pub minute: i64,
    /// Day of week, 1 = Monday … 7 = Sunday (so `DAY(m1) < 6` selects weekdays).
    pub weekday: i64,
}

/// Splits an epoch-seconds timestamp into UTC calendar fields (proleptic Gregorian).
pub(crate) fn civil(epoch: i64) -> Civil {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let date = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // 1970-01-01 was a Thursday (4).
    let weekday = (days + 3).rem_euclid(7) + 1;
    Civil {
        year,
        month,
        date,
        hour: secs / 3600,
        minute: (secs % 3600) / 60,
        weekday,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        let c = civil(0);
        assert_eq!(
            (c.year, c.month, c.date, c.hour, c.minute, c.weekday),
            (1970, 1, 1, 0, 0, 4)
        );
        // 2024-02-29T13:45:00Z, a Thursday.
        let c = civil(1_709_214_300);
        assert_eq!(
            (c.year, c.month, c.date, c.hour, c.minute, c.weekday),
            (2024, 2, 29, 13, 45, 4)
        );
        // 2023-12-31T23:59:00Z, a Sunday.
        let c = civil(1_704_067_140);
        assert_eq!(
            (c.year, c.month, c.date, c.hour, c.minute, c.weekday),
            (2023, 12, 31, 23, 59, 7)
        );
        // 1969-12-31T23:00:00Z, a Wednesday.
        let c = civil(-3600);
        assert_eq!(
            (c.year, c.month, c.date, c.hour, c.weekday),
            (1969, 12, 31, 23, 3)
        );
    }
}
