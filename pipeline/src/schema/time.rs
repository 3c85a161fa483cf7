//! Time parsing: every vendor text format and epoch numbers become a UTC
//! [`Timestamp`]. The decoders use it, and so do the schema's own column
//! readers (a `time` written as text or a number) and the rule fixtures; it
//! lives with the type it produces so that the schema needs nothing from
//! `decode`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::Timestamp;

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
    if let Some(t) = fixed_layout(s.as_bytes()) {
        return Some(t);
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

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d`
/// (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

/// The common fixed layouts without chrono's format machinery (the hot
/// path: every firewall line has a time): `YYYY-MM-DD` or `YYYY/MM/DD`, then
/// `T` or a space, `HH:MM:SS`, optional `.fraction` (any number of digits,
/// kept to microseconds), then nothing, `Z`, or an offset `±HH:MM` / `±HHMM`.
/// Anything else returns `None` and goes to the general parser. A property
/// test checks it against chrono.
fn fixed_layout(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 19 || !matches!(b[4], b'-' | b'/') || b[7] != b[4] || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (h, mi, sec) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for (i, c) in frac[..n].iter().enumerate().take(6) {
            micros += i64::from(c - b'0') * 10i64.pow(5 - i as u32);
        }
        rest = &frac[n..];
    }
    let offset_secs = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] | [sign @ (b'+' | b'-'), oh1, oh2, om1, om2] => {
            let (oh, om) = (digits(&[*oh1, *oh2])?, digits(&[*om1, *om2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = oh * 3600 + om * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    Some(Timestamp(secs * 1_000_000 + micros))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The general path alone (chrono), to check the fast path against.
    fn chrono_only(s: &str) -> Option<Timestamp> {
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Some(Timestamp::from_datetime(&dt));
        }
        for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
            if let Ok(dt) = DateTime::parse_from_str(s, f) {
                return Some(Timestamp::from_datetime(&dt));
            }
        }
        for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y/%m/%d %H:%M:%S%.f"] {
            if let Ok(dt) = NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), f) {
                return Some(Timestamp::from_datetime(&Utc.from_utc_datetime(&dt)));
            }
        }
        None
    }

    proptest! {
        #[test]
        fn fixed_layouts_agree_with_chrono(
            y in 1971i64..2100, mo in 1i64..=12, d in 1i64..=31, h in 0i64..24, mi in 0i64..60, s in 0i64..60,
            frac in proptest::option::of("[0-9]{1,9}"), sep in prop_oneof![Just('-'), Just('/')],
            t in prop_oneof![Just('T'), Just(' ')],
            zone in prop_oneof![Just(String::new()), Just("Z".to_string()), (0i64..14, 0i64..60, any::<bool>())
                .prop_map(|(h, m, neg)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' }))],
        ) {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            let text = format!("{y:04}{sep}{mo:02}{sep}{d:02}{t}{h:02}:{mi:02}:{s:02}{frac}{zone}");
            let fast = fixed_layout(text.as_bytes());
            // Chrono's formats (the general path) have `/` dates only with a space and no offset.
            if sep == '-' || (t == ' ' && zone.len() <= 1) {
                prop_assert_eq!(fast, chrono_only(&text), "{}", text);
            }
            if d <= days_in_month(y, mo) {
                prop_assert!(fast.is_some(), "{}", text);
            }
        }
    }

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
