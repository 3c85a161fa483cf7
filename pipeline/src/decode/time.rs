//! Time parsing shared by decoders: every vendor text format and epoch
//! numbers become a UTC [`Timestamp`].

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::schema::Timestamp;

/// Epoch seconds, milliseconds or microseconds (guessed from magnitude) as a timestamp.
pub fn from_epoch_number(n: f64) -> Timestamp {
    let abs = n.abs();
    let micros = if abs >= 1e14 {
        n // already microseconds
    } else if abs >= 1e11 {
        n * 1_000.0 // milliseconds
    } else {
        n * 1_000_000.0 // seconds
    };
    Timestamp(micros.round() as i64)
}

/// Parse the time formats vendors write, interpreting zone-less times as UTC:
/// RFC 3339 / ISO 8601 (`2026-11-24T09:14:03.120Z`, with offset or without),
/// `2026-11-24 09:14:03[.fff]`, PAN-OS `2026/11/24 09:14:03`, epoch numbers.
pub fn parse_any(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(Timestamp::from_datetime(&dt));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && s.bytes().any(|b| b.is_ascii_digit())
        && !s.contains('-')
    {
        return s.parse::<f64>().ok().map(from_epoch_number);
    }
    const ZONED: &[&str] = &["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f %z"];
    for f in ZONED {
        if let Ok(dt) = DateTime::parse_from_str(s, f) {
            return Some(Timestamp::from_datetime(&dt));
        }
    }
    const NAIVE: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M:%S%.f",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
        "%d/%b/%Y:%H:%M:%S",
    ];
    let trimmed = s.trim_end_matches('Z');
    for f in NAIVE {
        if let Ok(dt) = NaiveDateTime::parse_from_str(trimmed, f) {
            return Some(Timestamp::from_datetime(&Utc.from_utc_datetime(&dt)));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|dt| Timestamp::from_datetime(&Utc.from_utc_datetime(&dt)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc(t: Timestamp) -> String {
        t.to_rfc3339()
    }

    #[test]
    fn parses_vendor_formats_as_utc() {
        assert_eq!(rfc(parse_any("2026-11-24T09:14:03.120Z").unwrap()), "2026-11-24T09:14:03.120Z");
        assert_eq!(rfc(parse_any("2026-11-24T10:14:03+01:00").unwrap()), "2026-11-24T09:14:03.000Z");
        assert_eq!(rfc(parse_any("2022-03-22 14:21:53.225").unwrap()), "2022-03-22T14:21:53.225Z");
        assert_eq!(rfc(parse_any("2024-05-02 18:46:21.121000000").unwrap()), "2024-05-02T18:46:21.121Z");
        assert_eq!(rfc(parse_any("2015/01/05 05:38:58").unwrap()), "2015-01-05T05:38:58.000Z");
        assert_eq!(rfc(parse_any("1700000000.5").unwrap()), "2023-11-14T22:13:20.500Z");
        assert_eq!(rfc(parse_any("1700000000500").unwrap()), "2023-11-14T22:13:20.500Z");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_any("").is_none());
        assert!(parse_any("yesterday").is_none());
        assert!(parse_any("2026-13-45 99:99:99").is_none());
    }
}
