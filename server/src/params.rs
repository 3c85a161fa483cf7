//! The query-string values with a grammar (`since`, `until`, `cursor`):
//! the schema the OpenAPI document gives each, and the parser that accepts
//! exactly what that schema allows, side by side.
//!
//! Exactly, in both directions, because clients and API fuzzers take the
//! document at its word: a value the schema allows must not be refused
//! (a generated client would send it), and a value it forbids must not be
//! accepted (that would be undocumented behaviour someone comes to rely
//! on). So the parsers here are stricter than `floodlight query --since`:
//! no surrounding white space, no `1h 30m`, spans in one unit only.
//!
//! | value | accepted forms |
//! |---|---|
//! | `since`, `until` | empty (no filter); a span back from now, 1 to 5 digits and a unit `s`, `m`, `h`, `d` or `w` (`90m`, `7d`); a date `YYYY-MM-DD` (its midnight, UTC); an RFC 3339 time (`2026-11-24T09:00:00Z`, `...+02:00`) |
//! | `cursor` | empty (first page), or a `next_cursor` as the API hands it out: `<micros>.<finding id>` |

use floodlight_analyst::Window;
use floodlight_pipeline::schema::Timestamp;
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

use crate::error::ApiError;

/// A span back from now, or nothing.
pub const SPAN_PATTERN: &str = "^([0-9]{1,5}[smhdw])?$";
/// A cursor, or nothing.
pub const CURSOR_PATTERN: &str = "^(-?[0-9]{1,18}\\.[A-Za-z0-9_-]{1,64})?$";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// The schema of `since` / `until`.
pub fn time_schema() -> Schema {
    AnyOfBuilder::new()
        .item(string().pattern(Some(SPAN_PATTERN)).description(Some("a span back from now, e.g. `7d`, `36h`, `90m`")))
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))).description(Some("a UTC date")))
        .item(
            string()
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .description(Some("an RFC 3339 time")),
        )
        .description(Some(
            "Empty (no filter), a span back from now (1 to 5 digits and one of `s`, `m`, `h`, `d`, `w`), \
             a `YYYY-MM-DD` date (its midnight, UTC) or an RFC 3339 time.",
        ))
        .into()
}

/// The schema of `cursor`.
pub fn cursor_schema() -> Schema {
    string()
        .pattern(Some(CURSOR_PATTERN))
        .description(Some("The `next_cursor` of the previous page, as it came; empty for the first page."))
        .into()
}

/// `n` + unit, `n` 1 to 5 digits.
fn is_span(text: &str) -> bool {
    let Some((unit, digits)) = text.as_bytes().split_last() else {
        return false;
    };
    matches!(unit, b's' | b'm' | b'h' | b'd' | b'w')
        && (1..=5).contains(&digits.len())
        && digits.iter().all(u8::is_ascii_digit)
}

/// `YYYY-MM-DD` by shape (the calendar is chrono's to check).
fn is_date_shape(text: &[u8]) -> bool {
    text.len() == 10
        && text.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
}

/// An RFC 3339 `date-time` by shape: a date, `T`, then chrono's parser.
fn is_date_time_shape(text: &[u8]) -> bool {
    text.len() > 11 && is_date_shape(&text[..10]) && matches!(text[10], b'T' | b't')
}

/// `since` / `until`: see the module docs. Empty means no filter.
pub fn parse_time(name: &str, value: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    let text = value.unwrap_or_default();
    if text.is_empty() {
        return Ok(None);
    }
    let bytes = text.as_bytes();
    let shaped = is_span(text) || is_date_shape(bytes) || is_date_time_shape(bytes);
    match shaped.then(|| Window::parse_since(text, Timestamp::now())) {
        Some(Ok(w)) => Ok(Some(w.start)),
        _ => Err(ApiError::bad_request(format!(
            "`{name}`: expected a span back from now (`7d`, `24h`, `90m`: digits and one of s, m, h, d, w), \
             a `YYYY-MM-DD` date or an RFC 3339 time (`2026-11-24T09:00:00Z`)"
        ))),
    }
}

/// `cursor`: see the module docs. Empty means the first page.
pub fn parse_cursor(value: Option<&str>) -> Result<Option<&str>, ApiError> {
    let text = value.unwrap_or_default();
    if text.is_empty() {
        return Ok(None);
    }
    let well_formed = text.split_once('.').is_some_and(|(micros, id)| {
        let digits = micros.strip_prefix('-').unwrap_or(micros);
        (1..=18).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (1..=64).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if well_formed {
        Ok(Some(text))
    } else {
        Err(ApiError::bad_request("`cursor` is not one this API handed out (pass `next_cursor` back as it came)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_take_exactly_the_documented_forms() {
        assert_eq!(parse_time("since", None).expect("none"), None);
        assert_eq!(parse_time("since", Some("")).expect("empty"), None);
        let day = parse_time("since", Some("2026-11-24")).expect("date").expect("some");
        assert_eq!(day.to_rfc3339(), "2026-11-24T00:00:00.000Z");
        for (text, expected) in [
            ("2026-11-24T10:00:00Z", "2026-11-24T10:00:00.000Z"),
            ("2026-11-24t10:00:00.5z", "2026-11-24T10:00:00.500Z"),
            ("2026-11-24T12:00:00+02:00", "2026-11-24T10:00:00.000Z"),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
            ("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999Z"),
            ("2026-11-24T00:30:00-23:59", "2026-11-25T00:29:00.000Z"),
        ] {
            let t = parse_time("until", Some(text)).expect(text).expect("some");
            assert_eq!(t.to_rfc3339(), expected, "{text}");
        }
        let week = 7 * 24 * 3600 * 1_000_000;
        for span in ["7d", "1w", "168h", "10080m"] {
            let t = parse_time("since", Some(span)).expect(span).expect("some");
            assert!((Timestamp::now().micros() - t.micros() - week).abs() < 60_000_000, "{span}");
        }
        assert!(parse_time("since", Some("99999w")).expect("long span").is_some());
        for bad in [
            " 7d",
            "7d ",
            "7",
            "d",
            "7x",
            "1h 30m",
            "123456d",
            "-7d",
            "2026-1-1",
            "2026-02-30",
            "2026-11-24 10:00:00Z",
            "2026-11-24T10:00:00",
            "2026-11-24T25:00:00Z",
            "yesterday",
            "2026-11-24T",
            "+2026-11-24",
        ] {
            let e = parse_time("until", Some(bad)).expect_err(bad);
            assert!(e.message.starts_with("`until`"), "{e}");
        }
    }

    #[test]
    fn cursors_take_exactly_the_documented_form() {
        assert_eq!(parse_cursor(None).expect("none"), None);
        assert_eq!(parse_cursor(Some("")).expect("empty"), None);
        for good in ["1764000000000000.0c1a4eb08cdd400c", "-5.a", "0.f-01_x"] {
            assert_eq!(parse_cursor(Some(good)).expect(good), Some(good));
        }
        for bad in ["x", "12", "12.", ".abc", "+5.abc", "1234567890123456789.a", "5.a.b", "5.a b", " 5.a"] {
            assert!(parse_cursor(Some(bad)).is_err(), "{bad}");
        }
    }

    /// The hand-written checks accept exactly what the documented patterns match.
    mod patterns {
        use proptest::prelude::*;

        use super::super::*;

        fn anchored(pattern: &str) -> regex::Regex {
            regex::Regex::new(pattern).expect("pattern")
        }

        fn unanchored(pattern: &str) -> String {
            pattern.trim_start_matches('^').trim_end_matches('$').to_string()
        }

        proptest! {
            #[test]
            fn every_span_the_pattern_allows_is_accepted(s in proptest::string::string_regex(&unanchored(SPAN_PATTERN)).expect("regex")) {
                prop_assert!(parse_time("since", Some(&s)).is_ok(), "{}", s);
            }

            #[test]
            fn every_cursor_the_pattern_allows_is_accepted(s in proptest::string::string_regex(&unanchored(CURSOR_PATTERN)).expect("regex")) {
                prop_assert!(parse_cursor(Some(&s)).is_ok(), "{}", s);
            }

            #[test]
            fn other_strings_are_accepted_only_when_the_pattern_matches(s in "[-0-9a-zA-Z_. :+]{0,24}") {
                prop_assert_eq!(parse_cursor(Some(&s)).is_ok(), anchored(CURSOR_PATTERN).is_match(&s), "{}", s);
                let shaped_like_time = s.len() >= 10 && s.as_bytes()[..10].iter().all(|b| b.is_ascii_digit() || *b == b'-');
                if !shaped_like_time {
                    prop_assert_eq!(parse_time("since", Some(&s)).is_ok(), anchored(SPAN_PATTERN).is_match(&s), "{}", s);
                }
            }
        }
    }
}
