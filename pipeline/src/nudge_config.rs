//! `[nudges]`: telling people about their findings and letting them explain
//! ("comply or explain"). The settings live here with the rest of the config
//! file, so `floodlight validate` checks them; the messages, channels and
//! signed links are `floodlight-nudge`, the sender and the explain page are
//! in `floodlight-server`. The whole story is in `docs/nudges.md`.
//!
//! ```toml
//! [nudges]
//! public_url = "https://floodlight.corp.example.com"  # where `serve` is reached: links point here
//! link_secret_env = "FLOODLIGHT_LINK_SECRET"         # ≥ 32 bytes; or link_secret_file
//! link_ttl = "14d"             # an explain link works this long, once
//! language = "en"              # en or nl; per department below
//! department_languages = { "Operations NL" = "nl" }
//! organisation = "Corp IT"     # who the messages are from, in their text
//! period = "7d"                # at most one nudge per person and app in this period
//! daily_cap = 200              # messages per day, all people together
//! quiet_hours = { start = "19:00", end = "08:00", timezone = "Europe/Amsterdam" }
//! # templates = "nudge-templates"  # overrides: <dir>/<lang>/<name>.j2
//! # dry_run = true                  # write what would be sent to dry_run_path instead
//! # dry_run_path = "nudges.dry-run.jsonl"
//!
//! [[nudges.rule]]              # which findings nudge whom, over what
//! rules = ["SS-01", "SS-03"]   # rule ids; or families = ["shadow_saas"]
//! min_severity = "low"
//! channel = "email"            # email, slack or teams
//!
//! [nudges.email]
//! host = "smtp.corp.example.com"
//! port = 587
//! tls = "starttls"             # starttls, tls or none (loopback relays only with a password)
//! username = "floodlight"
//! password_env = "FLOODLIGHT_SMTP_PASSWORD"
//! from = "IT <it@corp.example.com>"
//!
//! [nudges.slack]
//! webhook_env = "FLOODLIGHT_SLACK_WEBHOOK"
//! [nudges.teams]
//! webhook_env = "FLOODLIGHT_TEAMS_WEBHOOK"
//! ```
//!
//! Answers and the outbox live in the console's store (`[server.console]
//! store`), so `run` and `serve` must name the same one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::detect::findings::SEVERITIES;

/// `[nudges]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NudgesConfig {
    /// Send nudges (`false` keeps the settings but sends nothing).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Write what would be sent to `dry_run_path` instead of sending.
    #[serde(default)]
    pub dry_run: bool,
    /// Where dry-run messages go (JSON lines), relative to the config file.
    #[serde(default = "default_dry_run_path")]
    pub dry_run_path: PathBuf,
    /// The address people reach `floodlight serve` at; explain links start with it.
    pub public_url: String,
    /// An environment variable holding the link-signing secret.
    #[serde(default)]
    pub link_secret_env: Option<String>,
    /// A file holding the link-signing secret.
    #[serde(default)]
    pub link_secret_file: Option<PathBuf>,
    /// How long an explain link works.
    #[serde(default = "default_link_ttl")]
    pub link_ttl: String,
    /// The language of messages and the explain page (`en`, `nl`).
    #[serde(default = "default_language")]
    pub language: String,
    /// Languages by directory department (any case).
    #[serde(default)]
    pub department_languages: BTreeMap<String, String>,
    /// Who the messages are from, in their text.
    #[serde(default = "default_organisation")]
    pub organisation: String,
    /// At most one nudge per person and app in this period.
    #[serde(default = "default_period")]
    pub period: String,
    /// At most this many messages per day (UTC), all people together.
    #[serde(default = "default_daily_cap")]
    pub daily_cap: u32,
    /// No messages between these times; they wait until the end.
    #[serde(default)]
    pub quiet_hours: Option<QuietHoursConfig>,
    /// A directory of template overrides (`<dir>/<lang>/<name>.j2`).
    #[serde(default)]
    pub templates: Option<PathBuf>,
    /// Which findings nudge, over which channel.
    #[serde(default, rename = "rule")]
    pub rules: Vec<NudgeRuleConfig>,
    /// SMTP settings (for `channel = "email"`).
    #[serde(default)]
    pub email: Option<EmailConfig>,
    /// A Slack incoming webhook (for `channel = "slack"`).
    #[serde(default)]
    pub slack: Option<WebhookConfig>,
    /// A Microsoft Teams workflow webhook (for `channel = "teams"`).
    #[serde(default)]
    pub teams: Option<WebhookConfig>,
}

/// `quiet_hours = { start = "19:00", end = "08:00", timezone = "Europe/Amsterdam" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursConfig {
    /// Local time the quiet starts (`HH:MM`).
    pub start: String,
    /// Local time it ends (`HH:MM`); before `start` means over midnight.
    pub end: String,
    /// IANA time zone (`Europe/Amsterdam`); default UTC.
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

/// `[[nudges.rule]]`: findings of these rules (or families) at or above
/// `min_severity` nudge the person over `channel`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NudgeRuleConfig {
    /// Rule ids (`SS-01`); empty with `families` empty means every rule.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Rule families (`shadow_saas`, `email_forwarding`, `public_network`).
    #[serde(default)]
    pub families: Vec<String>,
    /// The lowest severity that nudges (`info` … `critical`).
    #[serde(default = "default_min_severity")]
    pub min_severity: String,
    /// `email`, `slack` or `teams`.
    #[serde(default = "default_channel")]
    pub channel: String,
}

/// `[nudges.email]`: the SMTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The server's host name (checked against its certificate).
    pub host: String,
    /// Default: 587 for `starttls`, 465 for `tls`, 25 for `none`.
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls`, `tls` or `none`.
    #[serde(default = "default_tls")]
    pub tls: String,
    /// AUTH user name.
    #[serde(default)]
    pub username: Option<String>,
    /// An environment variable holding the AUTH password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// A file holding the AUTH password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The `From:` mailbox (`IT <it@corp.example.com>`).
    pub from: String,
    /// An optional `Reply-To:` mailbox.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Extra PEM CA certificates to trust (a private CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Per connection and command.
    #[serde(default = "default_smtp_timeout")]
    pub timeout: String,
}

/// `[nudges.slack]` / `[nudges.teams]`: a webhook URL, kept out of the file
/// (its path is its secret).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// An environment variable holding the webhook URL.
    #[serde(default)]
    pub webhook_env: Option<String>,
    /// A file holding the webhook URL.
    #[serde(default)]
    pub webhook_file: Option<PathBuf>,
    /// Per request.
    #[serde(default = "default_smtp_timeout")]
    pub timeout: String,
}

const LANGUAGES: [&str; 2] = ["en", "nl"];
const CHANNELS: [&str; 3] = ["email", "slack", "teams"];
const FAMILIES: [&str; 3] = ["shadow_saas", "email_forwarding", "public_network"];

/// The rank of a severity name (`info` = 0 … `critical` = 4), any case.
pub fn severity_rank(severity: &str) -> Option<usize> {
    SEVERITIES.iter().position(|s| s.eq_ignore_ascii_case(severity.trim()))
}

impl NudgeRuleConfig {
    /// Whether a finding of `rule_id` in `family` at `severity` matches.
    pub fn matches(&self, rule_id: &str, family: &str, severity: &str) -> bool {
        let by_rule = self.rules.iter().any(|r| r.eq_ignore_ascii_case(rule_id));
        let by_family = self.families.iter().any(|f| f.eq_ignore_ascii_case(family));
        let any = self.rules.is_empty() && self.families.is_empty();
        let severe = match (severity_rank(severity), severity_rank(&self.min_severity)) {
            (Some(s), Some(min)) => s >= min,
            _ => false,
        };
        (any || by_rule || by_family) && severe
    }
}

impl QuietHoursConfig {
    /// `(start, end)` as minutes after local midnight.
    pub fn minutes(&self) -> Result<(u32, u32), String> {
        Ok((hh_mm(&self.start)?, hh_mm(&self.end)?))
    }
}

fn hh_mm(v: &str) -> Result<u32, String> {
    let bad = || format!("`{v}` is not a time of day; write `HH:MM`, e.g. `19:00`");
    let (h, m) = v.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 || v.trim().len() != 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl NudgesConfig {
    /// `link_ttl`, parsed.
    pub fn link_ttl(&self) -> Result<Duration, String> {
        positive(&self.link_ttl)
    }

    /// `period`, parsed.
    pub fn period(&self) -> Result<Duration, String> {
        positive(&self.period)
    }

    /// The language for a person in `department` (the configured default
    /// when the department has none).
    pub fn language_for(&self, department: Option<&str>) -> &str {
        department
            .and_then(|d| self.department_languages.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(d.trim())))
            .map_or(self.language.as_str(), |(_, v)| v.as_str())
    }

    /// Every problem, as `(setting under nudges., what is wrong)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        let mut push = |s: &str, m: String| p.push((s.to_string(), m));
        match url::Url::parse(self.public_url.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => push(
                "public_url",
                format!("`{}` is not an http(s) URL; write where people reach `floodlight serve`", self.public_url),
            ),
        }
        match (&self.link_secret_env, &self.link_secret_file) {
            (None, None) => push(
                "link_secret_env",
                "set `link_secret_env` or `link_secret_file`: links are signed with a secret of at least 32 bytes \
                 (`openssl rand -base64 48`)"
                    .into(),
            ),
            (Some(_), Some(_)) => {
                push("link_secret_env", "set `link_secret_env` or `link_secret_file`, not both".into())
            }
            _ => {}
        }
        if let Err(e) = self.link_ttl() {
            push("link_ttl", e);
        }
        if let Err(e) = self.period() {
            push("period", e);
        }
        for (setting, lang) in std::iter::once(("language".to_string(), &self.language))
            .chain(self.department_languages.iter().map(|(d, l)| (format!("department_languages.{d}"), l)))
        {
            if !LANGUAGES.iter().any(|l| l.eq_ignore_ascii_case(lang.trim())) {
                push(&setting, format!("`{lang}` is not a language floodlight ships; use one of {LANGUAGES:?}"));
            }
        }
        if let Some(q) = &self.quiet_hours {
            if let Err(e) = q.minutes() {
                push("quiet_hours", e);
            }
            if q.timezone.parse::<chrono_tz::Tz>().is_err() {
                push(
                    "quiet_hours.timezone",
                    format!("`{}` is not an IANA time zone; write e.g. `Europe/Amsterdam`", q.timezone),
                );
            }
        }
        if self.rules.is_empty() {
            push(
                "rule",
                "no [[nudges.rule]]: add one naming the rules (or families) that nudge, e.g. \
                 `rules = [\"SS-01\"]`, `channel = \"email\"`"
                    .into(),
            );
        }
        for (i, r) in self.rules.iter().enumerate() {
            let at = format!("rule[{i}]");
            if severity_rank(&r.min_severity).is_none() {
                push(&format!("{at}.min_severity"), format!("`{}` is not one of {SEVERITIES:?}", r.min_severity));
            }
            for f in &r.families {
                if !FAMILIES.contains(&f.as_str()) {
                    push(&format!("{at}.families"), format!("`{f}` is not one of {FAMILIES:?}"));
                }
            }
            let configured = match r.channel.as_str() {
                "email" => self.email.is_some(),
                "slack" => self.slack.is_some(),
                "teams" => self.teams.is_some(),
                other => {
                    push(&format!("{at}.channel"), format!("`{other}` is not one of {CHANNELS:?}"));
                    true
                }
            };
            if !configured {
                push(&format!("{at}.channel"), format!("channel `{}` needs a [nudges.{}] table", r.channel, r.channel));
            }
        }
        if let Some(e) = &self.email {
            if !matches!(e.tls.as_str(), "starttls" | "tls" | "none") {
                push("email.tls", format!("`{}` is not one of starttls, tls, none", e.tls));
            }
            if e.password_env.is_some() && e.password_file.is_some() {
                push("email.password_env", "set `password_env` or `password_file`, not both".into());
            }
            if let Err(err) = positive(&e.timeout) {
                push("email.timeout", err);
            }
        }
        for (name, w) in [("slack", &self.slack), ("teams", &self.teams)] {
            let Some(w) = w else { continue };
            match (&w.webhook_env, &w.webhook_file) {
                (None, None) => push(
                    &format!("{name}.webhook_env"),
                    "set `webhook_env` or `webhook_file`: the URL is a secret and stays out of the config file".into(),
                ),
                (Some(_), Some(_)) => {
                    push(&format!("{name}.webhook_env"), "set `webhook_env` or `webhook_file`, not both".into())
                }
                _ => {}
            }
            if let Err(err) = positive(&w.timeout) {
                push(&format!("{name}.timeout"), err);
            }
        }
        p
    }
}

fn positive(v: &str) -> Result<Duration, String> {
    match humantime::parse_duration(v.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be longer than zero".into()),
        Err(e) => Err(format!("`{v}` is not a duration ({e}); write e.g. `7d`, `12h`")),
    }
}

fn yes() -> bool {
    true
}
fn default_dry_run_path() -> PathBuf {
    PathBuf::from("nudges.dry-run.jsonl")
}
fn default_link_ttl() -> String {
    "14d".into()
}
fn default_language() -> String {
    "en".into()
}
fn default_organisation() -> String {
    "IT".into()
}
fn default_period() -> String {
    "7d".into()
}
fn default_daily_cap() -> u32 {
    500
}
fn default_timezone() -> String {
    "UTC".into()
}
fn default_min_severity() -> String {
    "low".into()
}
fn default_channel() -> String {
    "email".into()
}
fn default_tls() -> String {
    "starttls".into()
}
fn default_smtp_timeout() -> String {
    "30s".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NudgesConfig, toml::de::Error> {
        toml::from_str(text)
    }

    const GOOD: &str = "public_url = \"https://fl.corp.example.com\"\nlink_secret_env = \"S\"\n\
        [[rule]]\nrules = [\"SS-01\"]\nchannel = \"email\"\n[email]\nhost = \"smtp\"\nfrom = \"it@corp.example.com\"\n";

    #[test]
    fn a_complete_table_has_no_problems_and_sane_defaults() {
        let c = parse(GOOD).unwrap();
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert_eq!(c.period().unwrap(), Duration::from_secs(7 * 86400));
        assert_eq!(c.link_ttl().unwrap(), Duration::from_secs(14 * 86400));
        assert!(c.enabled && !c.dry_run);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = parse(&format!("{GOOD}colour = \"red\"\n")).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        assert!(parse(&GOOD.replace("[[rule]]", "[[rule]]\nchanel = \"x\"")).is_err());
    }

    #[test]
    fn problems_name_the_setting() {
        let text = "public_url = \"fl.corp\"\nperiod = \"soon\"\nlanguage = \"fr\"\n\
            quiet_hours = { start = \"25:00\", end = \"08:00\", timezone = \"Mars/Olympus\" }\n\
            [[rule]]\nmin_severity = \"urgent\"\nchannel = \"slack\"\nfamilies = [\"saas\"]\n";
        let p = parse(text).unwrap().problems();
        let settings: Vec<&str> = p.iter().map(|(s, _)| s.as_str()).collect();
        for s in [
            "public_url",
            "link_secret_env",
            "period",
            "language",
            "quiet_hours",
            "quiet_hours.timezone",
            "rule[0].min_severity",
            "rule[0].families",
            "rule[0].channel",
        ] {
            assert!(settings.contains(&s), "{s} missing from {p:?}");
        }
    }

    #[test]
    fn rules_match_by_id_family_and_severity() {
        let r = NudgeRuleConfig {
            rules: vec!["SS-01".into()],
            families: vec!["email_forwarding".into()],
            min_severity: "medium".into(),
            channel: "email".into(),
        };
        assert!(r.matches("ss-01", "shadow_saas", "high"));
        assert!(r.matches("PF-02", "email_forwarding", "medium"));
        assert!(!r.matches("SS-01", "shadow_saas", "low"));
        assert!(!r.matches("SS-03", "shadow_saas", "critical"));
        let all = NudgeRuleConfig { rules: vec![], families: vec![], ..r };
        assert!(all.matches("WF-01", "public_network", "critical"));
        assert!(!all.matches("WF-01", "public_network", "bogus"));
    }

    #[test]
    fn languages_follow_the_department() {
        let c = parse(&format!("department_languages = {{ \"Operations NL\" = \"nl\" }}\n{GOOD}")).unwrap();
        assert_eq!(c.language_for(Some("operations nl")), "nl");
        assert_eq!(c.language_for(Some("Finance")), "en");
        assert_eq!(c.language_for(None), "en");
    }

    #[test]
    fn quiet_hours_parse() {
        let q = QuietHoursConfig { start: "19:00".into(), end: "08:30".into(), timezone: "UTC".into() };
        assert_eq!(q.minutes().unwrap(), (19 * 60, 8 * 60 + 30));
        for bad in ["7pm", "19:0", "24:00", "19:60"] {
            assert!(QuietHoursConfig { start: bad.into(), ..q.clone() }.minutes().is_err(), "{bad}");
        }
    }
}
