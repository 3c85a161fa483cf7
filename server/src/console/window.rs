//! The time window a page shows: the last day, week, 30 or 90 days *of the
//! lake's data*, or all of it.
//!
//! Windows end at the newest day the lake holds ([`Lake::newest_day`]),
//! not at the clock: on a live pipeline the two are the same day, and a lake
//! that stopped growing (a replayed archive, the demo, a stalled source)
//! still shows its last weeks instead of empty pages. Every page says which
//! days it covers. The newest day is cached for [`ANCHOR_TTL`].

use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use floodlight_analyst::Lake;
use floodlight_pipeline::schema::Timestamp;
use serde::Deserialize;
use tokio::sync::Mutex;

/// How long the newest day is remembered.
pub const ANCHOR_TTL: Duration = Duration::from_secs(30);

/// A window's length, as the `since` query parameter writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum Span {
    /// The newest day.
    #[serde(rename = "1d")]
    Day,
    /// The newest 7 days.
    #[serde(rename = "7d")]
    Week,
    /// The newest 30 days (the default).
    #[default]
    #[serde(rename = "30d")]
    Month,
    /// The newest 90 days.
    #[serde(rename = "90d")]
    Quarter,
    /// Everything in the lake.
    #[serde(rename = "all")]
    All,
}

impl Span {
    /// Every span, in the order the selector lists them.
    pub const ALL: [Span; 5] = [Span::Day, Span::Week, Span::Month, Span::Quarter, Span::All];

    /// The query parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Span::Day => "1d",
            Span::Week => "7d",
            Span::Month => "30d",
            Span::Quarter => "90d",
            Span::All => "all",
        }
    }

    /// What the selector shows.
    pub fn label(self) -> &'static str {
        match self {
            Span::Day => "Last day",
            Span::Week => "Last 7 days",
            Span::Month => "Last 30 days",
            Span::Quarter => "Last 90 days",
            Span::All => "All data",
        }
    }

    /// The span a `since` parameter names; the default (30 days) for none
    /// or one it does not know.
    pub fn parse(value: Option<&str>) -> Span {
        Span::ALL.into_iter().find(|s| Some(s.as_str()) == value).unwrap_or_default()
    }

    fn days(self) -> Option<u64> {
        match self {
            Span::Day => Some(1),
            Span::Week => Some(7),
            Span::Month => Some(30),
            Span::Quarter => Some(90),
            Span::All => None,
        }
    }
}

/// A resolved window: its span, first and newest day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The span asked for.
    pub span: Span,
    /// The newest day in the lake (`None`: the lake is empty).
    pub newest: Option<NaiveDate>,
    /// The first day included (`None`: no lower bound).
    pub first: Option<NaiveDate>,
}

impl Window {
    /// `span` ending at `newest` (the lake's newest day).
    pub fn ending_at(span: Span, newest: Option<NaiveDate>) -> Window {
        let first = match (span.days(), newest) {
            (Some(days), Some(n)) => n.checked_sub_days(Days::new(days - 1)),
            _ => None,
        };
        Window { span, newest, first }
    }

    /// The lower bound as a time, for the reports' `since`.
    pub fn since(&self) -> Option<Timestamp> {
        let start = self.first?.and_hms_opt(0, 0, 0)?.and_utc();
        Some(Timestamp::from_datetime(&start))
    }

    /// `2026-11-18 – 2026-11-24`, or why there is nothing.
    pub fn describe(&self) -> String {
        match (self.first, self.newest) {
            (_, None) => "the lake has no data yet".into(),
            (Some(first), Some(newest)) if first == newest => format!("{newest}"),
            (Some(first), Some(newest)) => format!("{first} – {newest}"),
            (None, Some(newest)) => format!("everything up to {newest}"),
        }
    }

    /// The first day of the `days` days ending at the newest day.
    pub fn last_days(&self, days: u64) -> Option<NaiveDate> {
        self.newest?.checked_sub_days(Days::new(days.saturating_sub(1)))
    }
}

/// The cached newest day of the lake.
#[derive(Debug, Default)]
pub struct Anchor {
    cached: Mutex<Option<(Instant, Option<NaiveDate>)>>,
}

impl Anchor {
    /// Resolve `span` against the lake's newest day (asked at most every
    /// [`ANCHOR_TTL`]). A lake that cannot be read counts as empty here; the
    /// page's own queries then report the error.
    pub async fn window(&self, lake: &Lake, span: Span) -> Window {
        let newest = {
            let mut cached = self.cached.lock().await;
            match *cached {
                Some((at, newest)) if at.elapsed() < ANCHOR_TTL => newest,
                _ => {
                    let newest = match lake.newest_day().await {
                        Ok(day) => day.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
                        Err(e) => {
                            tracing::warn!(target: "floodlight_server", error = %e, "console: cannot read the lake's newest day");
                            None
                        }
                    };
                    *cached = Some((Instant::now(), newest));
                    newest
                }
            }
        };
        Window::ending_at(span, newest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_at_the_newest_day() {
        let newest = NaiveDate::from_ymd_opt(2026, 11, 24);
        let w = |span: Span| Window::ending_at(span, newest);
        assert_eq!(w(Span::Week).describe(), "2026-11-18 – 2026-11-24");
        assert_eq!(w(Span::Day).describe(), "2026-11-24");
        assert_eq!(w(Span::All).describe(), "everything up to 2026-11-24");
        assert_eq!(w(Span::All).since(), None);
        assert_eq!(w(Span::Week).since().map(|t| t.date()), Some("2026-11-18".to_string()));
        let empty = Window { span: Span::Month, newest: None, first: None };
        assert_eq!(empty.describe(), "the lake has no data yet");
    }
}
