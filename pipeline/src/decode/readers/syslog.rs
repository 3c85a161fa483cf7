//! Syslog headers, shared by the decoders of syslog-borne formats
//! (`cisco-asa`, `fortigate`, `cef`, `bind-query`).
//!
//! A syslog line starts with an optional `<PRI>` and a header whose
//! timestamp takes one of several shapes: RFC 3164 (`Jan  5 08:52:35`, no
//! year), RFC 5424 (`2018-06-27T12:17:46Z`), or a vendor's own
//! (`Jan 05 2015 08:52:35 CET`). [`strip_pri`] removes the priority,
//! [`month_name_time`] reads a month-name timestamp with or without year and
//! zone, [`zone_offset`] reads a zone token, and [`syslog_header_time`] finds
//! the event time in a whole header: a timestamp with a year wins over a
//! year-less one (a relay's RFC 3164 header before the device's own), and a
//! year-less one is dated to the most recent matching day.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};

use crate::schema::time::parse_any;
use crate::schema::Timestamp;

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

fn month_of(tok: &str) -> Option<u32> {
    if tok.len() != 3 {
        return None;
    }
    MONTHS.iter().position(|m| m.eq_ignore_ascii_case(tok)).map(|i| i as u32 + 1)
}

/// Seconds east of UTC for a zone token printed after a time: `UTC`, `GMT`,
/// `Z`, a numeric offset (`+01:00`, `-0800`, `UTC+2`) or a common
/// unambiguous abbreviation (`CET`, `CEST`, `EST`, `PDT`, ...).
pub(crate) fn zone_offset(tok: &str) -> Option<i32> {
    let t = tok.trim_end_matches([':', ',']);
    const H: i32 = 3600;
    let named = match t.to_ascii_uppercase().as_str() {
        "Z" | "UTC" | "GMT" | "UT" | "WET" => Some(0),
        "EST" => Some(-5 * H),
        "EDT" | "AST" => Some(-4 * H),
        "CST" => Some(-6 * H),
        "CDT" => Some(-5 * H),
        "MST" => Some(-7 * H),
        "MDT" => Some(-6 * H),
        "PST" => Some(-8 * H),
        "PDT" | "MST7" => Some(-7 * H),
        "AKST" => Some(-9 * H),
        "AKDT" => Some(-8 * H),
        "HST" => Some(-10 * H),
        "BST" | "CET" | "MET" | "WEST" => Some(H),
        "CEST" | "MEST" | "EET" => Some(2 * H),
        "EEST" | "MSK" => Some(3 * H),
        "SGT" | "HKT" | "AWST" => Some(8 * H),
        "JST" | "KST" => Some(9 * H),
        "ACST" => Some(9 * H + 1800),
        "AEST" => Some(10 * H),
        "AEDT" => Some(11 * H),
        "NZST" => Some(12 * H),
        "NZDT" => Some(13 * H),
        _ => None,
    };
    if named.is_some() {
        return named;
    }
    let t = t.strip_prefix("UTC").or_else(|| t.strip_prefix("GMT")).unwrap_or(t);
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i32, i32) = match digits.len() {
        1 | 2 => (digits.parse().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    (h <= 14 && m <= 59).then_some(sign * (h * H + m * 60))
}

/// The latest `month/day time` that is at most two days after `now`: how a
/// year-less syslog timestamp is dated (a clock a little ahead, or a log
/// read on 1 January about 31 December, both come out right).
fn recent(month: u32, day: u32, clock: NaiveTime, now: Timestamp) -> Option<NaiveDateTime> {
    let now = DateTime::<Utc>::from_timestamp_micros(now.0)?.naive_utc();
    let limit = now + TimeDelta::days(2);
    (now.year() - 4..=now.year() + 1)
        .rev()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day).map(|d| d.and_time(clock)))
        .find(|t| *t <= limit)
}

/// A month-name timestamp read from the start of a token list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextTime {
    /// The instant, UTC (zone-less times read as UTC).
    pub ts: Timestamp,
    /// How many tokens it used.
    pub used: usize,
    /// Whether the text had a year.
    pub has_year: bool,
    /// Whether the text had a zone.
    pub has_zone: bool,
}

/// `Mon DD [YYYY] HH:MM:SS[.fff] [ZONE]` at the start of `toks` (a `:` after
/// the time or zone is ignored). Year-less dates get the most recent year.
pub(crate) fn month_name_time(toks: &[&str], now: Timestamp) -> Option<TextTime> {
    let month = month_of(toks.first()?)?;
    let day: u32 = toks.get(1)?.parse().ok()?;
    let mut i = 2;
    let maybe_year = toks.get(2)?.trim_end_matches(':');
    let year = if maybe_year.len() == 4 && maybe_year.bytes().all(|b| b.is_ascii_digit()) {
        i = 3;
        Some(maybe_year.parse::<i32>().ok()?)
    } else {
        None
    };
    let clock_text = toks.get(i)?.trim_end_matches(':');
    if clock_text.len() < 8 || !clock_text.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let clock = NaiveTime::parse_from_str(clock_text, "%H:%M:%S%.f").ok()?;
    i += 1;
    let offset = toks.get(i).and_then(|z| zone_offset(z));
    if offset.is_some() {
        i += 1;
    }
    let local = match year {
        Some(y) => NaiveDate::from_ymd_opt(y, month, day)?.and_time(clock),
        None => recent(month, day, clock, now)?,
    };
    let utc = local.checked_sub_signed(TimeDelta::seconds(i64::from(offset.unwrap_or(0))))?;
    Some(TextTime {
        ts: Timestamp::from_datetime(&Utc.from_utc_datetime(&utc)),
        used: i,
        has_year: year.is_some(),
        has_zone: offset.is_some(),
    })
}

/// Remove a leading syslog `<PRI>`.
pub(crate) fn strip_pri(s: &str) -> &str {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('<') {
        if let Some(end) = rest.find('>') {
            if (1..=3).contains(&end) && rest[..end].bytes().all(|b| b.is_ascii_digit()) {
                return &rest[end + 1..];
            }
        }
    }
    s
}

/// The event time in a syslog header (everything before the message): the
/// first ISO 8601 or month-name timestamp with a year, else the first
/// RFC 3164 (year-less) one, dated relative to `now`.
pub(crate) fn syslog_header_time(header: &str, now: Timestamp) -> Option<Timestamp> {
    let toks: Vec<&str> = strip_pri(header).split_whitespace().take(16).collect();
    let mut yearless = None;
    for i in 0..toks.len() {
        let t = toks[i].trim_end_matches(':');
        let b = t.as_bytes();
        if b.len() >= 19 && b[4] == b'-' && b[10] == b'T' {
            if let Some(ts) = parse_any(t) {
                return Some(ts);
            }
        }
        if let Some(tt) = month_name_time(&toks[i..], now) {
            if tt.has_year {
                return Some(tt.ts);
            }
            yearless.get_or_insert(tt.ts);
        }
    }
    yearless
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-06-01T00:00:00Z: "now" for year-less timestamps.
    const NOW: Timestamp = Timestamp(1_433_116_800_000_000);

    #[test]
    fn syslog_times() {
        let t = |s: &str| syslog_header_time(s, NOW).map(Timestamp::to_rfc3339);
        assert_eq!(t("<166>Jan  5 08:52:35 10.22.8.216 ").as_deref(), Some("2015-01-05T08:52:35.000Z"));
        // December seen in June is last December; 2 June is "now".
        assert_eq!(t("Dec 31 23:59:59 fw").as_deref(), Some("2014-12-31T23:59:59.000Z"));
        assert_eq!(t("Jun  2 12:00:00 fw").as_deref(), Some("2015-06-02T12:00:00.000Z"));
        // Relay header first, the ASA's own timestamp with a year wins.
        assert_eq!(
            t("Jan 14 16:10:24 10.1.2.13 Jan 14 2010 12:29:43 asa :").as_deref(),
            Some("2010-01-14T12:29:43.000Z")
        );
        assert_eq!(t("<166>Mar 05 2024 15:03:07 CET: ").as_deref(), Some("2024-03-05T14:03:07.000Z"));
        assert_eq!(t("<166>1 2018-06-27T12:17:46Z asa - - -").as_deref(), Some("2018-06-27T12:17:46.000Z"));
        assert_eq!(t("<166>no time here"), None);
        assert_eq!(zone_offset("+05:30"), Some(19_800));
        assert_eq!(zone_offset("-0800"), Some(-28_800));
        assert_eq!(zone_offset("asa-fw01"), None);
        assert_eq!(zone_offset("-"), None);
        // Year-less 29 February goes back to the last leap year.
        let feb29 = month_name_time(&["Feb", "29", "10:00:00"], NOW).unwrap();
        assert_eq!(feb29.ts.to_rfc3339(), "2012-02-29T10:00:00.000Z");
    }

    #[test]
    fn pri_is_removed_only_when_well_formed() {
        assert_eq!(strip_pri("<166>Jan  5 host"), "Jan  5 host");
        assert_eq!(strip_pri("  <13>msg"), "msg");
        assert_eq!(strip_pri("<1666>msg"), "<1666>msg");
        assert_eq!(strip_pri("<ab>msg"), "<ab>msg");
        assert_eq!(strip_pri("<>msg"), "<>msg");
        assert_eq!(strip_pri("no pri"), "no pri");
    }
}
