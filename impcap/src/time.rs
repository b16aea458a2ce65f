//! Packet timestamps in RFC 3339 UTC with microseconds, as the C impcap
//! renders them (`2005-03-30T08:52:17.733384+00:00`).

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats seconds + microseconds since the epoch.
pub fn rfc3339_utc_micros(secs: i64, usecs: i64) -> String {
    let secs = secs + usecs.div_euclid(1_000_000);
    let usecs = usecs.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{usecs:06}+00:00",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(
            rfc3339_utc_micros(1_112_172_737, 733_384),
            "2005-03-30T08:52:17.733384+00:00"
        );
        assert_eq!(rfc3339_utc_micros(0, 0), "1970-01-01T00:00:00.000000+00:00");
        assert_eq!(rfc3339_utc_micros(951_782_400, 5), "2000-02-29T00:00:00.000005+00:00");
        assert_eq!(
            rfc3339_utc_micros(4_107_542_399, 999_999),
            "2100-02-28T23:59:59.999999+00:00"
        );
    }
}
