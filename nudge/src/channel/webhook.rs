//! Slack and Microsoft Teams, over HTTPS webhooks.
//!
//! A [`WebhookChannel`] POSTs one JSON document per message to a webhook URL.
//! The URL's path (and query) is its secret: anyone who has it can post. It is
//! therefore never logged or shown in errors or `Debug` output; only its host
//! is.
//!
//! # Slack
//!
//! A plain Slack *incoming webhook* posts to one fixed channel, so on its own
//! it cannot reach a person privately. For per-person delivery, create a
//! **Workflow Builder** workflow that starts "From a webhook", declare the
//! text variables `recipient_email`, `subject`, `text` and `explain_url`, and
//! add steps that look the person up by e-mail and send them a direct message
//! (with a button to `explain_url`). The body sent here works for both kinds:
//!
//! ```json
//! {
//!   "text": "<subject and text, mrkdwn-escaped: the fallback for notifications>",
//!   "blocks": [
//!     {"type": "section", "text": {"type": "mrkdwn", "text": "*subject*\n\ntext"}},
//!     {"type": "actions", "elements": [
//!       {"type": "button", "text": {"type": "plain_text", "text": "Explain"},
//!        "url": "<explain_url>", "style": "primary", "action_id": "explain"}]}
//!   ],
//!   "recipient_email": "ana@corp.example.com",
//!   "subject": "...",
//!   "explain_url": "..."
//! }
//! ```
//!
//! The workflow variable `text` is the top-level `text`. Unknown values are
//! sent as empty strings (Workflow Builder variables are text). The button is
//! labelled in the message's language ("Explain", "Uitleggen") and left out
//! when there is no link.
//!
//! # Teams
//!
//! Office 365 connectors are retired; Teams takes webhooks through a
//! **Workflows** flow that starts with "When a Teams webhook request is
//! received". Its "Post card in a chat or channel" step posts the Adaptive
//! Card from `attachments`; to reach a person, post it in a chat with the
//! user found by `recipient_email`. The body:
//!
//! ```json
//! {
//!   "type": "message",
//!   "attachments": [{
//!     "contentType": "application/vnd.microsoft.card.adaptive",
//!     "contentUrl": null,
//!     "content": {
//!       "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
//!       "type": "AdaptiveCard", "version": "1.4",
//!       "body": [
//!         {"type": "TextBlock", "text": "<subject>", "weight": "Bolder", "size": "Medium", "wrap": true},
//!         {"type": "TextBlock", "text": "<text>", "wrap": true}
//!       ],
//!       "actions": [{"type": "Action.OpenUrl", "title": "Explain", "url": "<explain_url>"}]
//!     }
//!   }],
//!   "recipient_email": "...", "subject": "...", "text": "...", "explain_url": "..."
//! }
//! ```
//!
//! # TLS
//!
//! The client is reqwest with rustls (ring) and the operating system's root
//! certificates (`rustls-tls-native-roots`): the same store a corporate
//! TLS-inspection CA is installed in, and what the rest of floodlight's HTTP
//! clients use. A container image needs its `ca-certificates` package.
//! Redirects are not followed: a webhook that moved is a configuration
//! change. Plain `http://` is accepted only for loopback (tests, a local
//! relay).

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use serde_json::{json, Value};

use super::{is_loopback_host, ChannelError, Message};
use crate::template::Language;

/// The most Slack shows of a section's text.
const SLACK_SECTION_MAX: usize = 3000;

/// The payload a webhook gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Slack,
    Teams,
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Flavor::Slack => "slack",
            Flavor::Teams => "teams",
        }
    }
}

/// Posts messages to one Slack or Teams webhook. Cheap to clone. `Debug`
/// shows only the URL's host.
#[derive(Clone)]
pub struct WebhookChannel {
    flavor: Flavor,
    url: Url,
    host: String,
    client: reqwest::Client,
}

impl fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookChannel")
            .field("kind", &self.flavor.name())
            .field("host", &self.host)
            .field("url", &"<secret path hidden>")
            .finish()
    }
}

impl WebhookChannel {
    /// A Slack webhook (incoming webhook or Workflow Builder trigger) at `url`;
    /// each request may take up to `timeout`.
    pub fn slack(url: String, timeout: Duration) -> Result<WebhookChannel, ChannelError> {
        WebhookChannel::new(Flavor::Slack, &url, timeout)
    }

    /// A Teams Workflows webhook at `url`; each request may take up to `timeout`.
    pub fn teams(url: String, timeout: Duration) -> Result<WebhookChannel, ChannelError> {
        WebhookChannel::new(Flavor::Teams, &url, timeout)
    }

    fn new(flavor: Flavor, url: &str, timeout: Duration) -> Result<WebhookChannel, ChannelError> {
        let kind = flavor.name();
        // The parser's message does not contain the URL.
        let url = Url::parse(url.trim())
            .map_err(|e| ChannelError::WebhookUrl { kind, reason: format!("it does not parse ({e})") })?;
        let host = url.host_str().unwrap_or_default().to_string();
        if host.is_empty() {
            return Err(ChannelError::WebhookUrl { kind, reason: "it has no host".into() });
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(&host) => {}
            "http" => {
                return Err(ChannelError::WebhookUrl {
                    kind,
                    reason: format!("it uses http:// to {host}; use https:// (the URL is a secret)"),
                })
            }
            other => return Err(ChannelError::WebhookUrl { kind, reason: format!("scheme {other:?} is not https") }),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ChannelError::WebhookUrl {
                kind,
                reason: "it carries a user name or password; remove them".into(),
            });
        }
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("floodlight-nudge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ChannelError::HttpClient(e.without_url()))?;
        Ok(WebhookChannel { flavor, url, host, client })
    }

    /// `"slack"` or `"teams"`, as made.
    pub fn kind(&self) -> &'static str {
        self.flavor.name()
    }

    /// The webhook's host, e.g. `hooks.slack.com` (safe to log).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The JSON body this channel posts for `m` (see the module docs).
    pub fn payload(&self, m: &Message) -> Value {
        payload(self.flavor, m)
    }

    /// Posts `m`, once.
    pub async fn send(&self, m: &Message) -> Result<(), ChannelError> {
        self.send_as(self.flavor, m).await
    }

    pub(crate) async fn send_as(&self, flavor: Flavor, m: &Message) -> Result<(), ChannelError> {
        let kind = flavor.name();
        let transport =
            |e: reqwest::Error| ChannelError::HttpTransport { kind, host: self.host.clone(), source: e.without_url() };
        let response = self.client.post(self.url.clone()).json(&payload(flavor, m)).send().await.map_err(transport)?;
        let status = response.status();
        if status.is_success() {
            tracing::debug!(channel = kind, host = %self.host, status = status.as_u16(), "nudge posted");
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // The body is for the error message only: a failure to read it is not
        // the error we report.
        let body = response.text().await.unwrap_or_default();
        let mut body: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
        if body.chars().count() > 200 {
            body = body.chars().take(200).collect::<String>() + "…";
        }
        Err(ChannelError::HttpStatus { kind, host: self.host.clone(), status: status.as_u16(), body, retry_after })
    }
}

fn payload(flavor: Flavor, m: &Message) -> Value {
    let explain = match m.language {
        Language::En => "Explain",
        Language::Nl => "Uitleggen",
    };
    let url = m.explain_url.as_deref().unwrap_or_default();
    let recipient = m.to_email.as_deref().unwrap_or_default();
    match flavor {
        Flavor::Slack => {
            let section = truncate(&format!("*{}*\n\n{}", slack_escape(&m.subject), slack_escape(m.text.trim_end())));
            let mut blocks = vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": section}})];
            if !url.is_empty() {
                blocks.push(json!({
                    "type": "actions",
                    "elements": [{
                        "type": "button",
                        "text": {"type": "plain_text", "text": explain},
                        "url": url,
                        "style": "primary",
                        "action_id": "explain",
                    }],
                }));
            }
            json!({
                "text": format!("{}\n\n{}", slack_escape(&m.subject), slack_escape(m.text.trim_end())),
                "blocks": blocks,
                "recipient_email": recipient,
                "subject": m.subject,
                "explain_url": url,
            })
        }
        Flavor::Teams => {
            let actions: Vec<Value> = if url.is_empty() {
                Vec::new()
            } else {
                vec![json!({"type": "Action.OpenUrl", "title": explain, "url": url})]
            };
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "lang": m.language.as_str(),
                        "body": [
                            {"type": "TextBlock", "text": m.subject, "weight": "Bolder", "size": "Medium", "wrap": true},
                            {"type": "TextBlock", "text": m.text.trim_end(), "wrap": true},
                        ],
                        "actions": actions,
                    },
                }],
                "recipient_email": recipient,
                "subject": m.subject,
                "text": m.text.trim_end(),
                "explain_url": url,
            })
        }
    }
}

/// Slack's three control characters in mrkdwn text.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// At most Slack's section length, cut at a character boundary.
fn truncate(s: &str) -> String {
    if s.chars().count() <= SLACK_SECTION_MAX {
        return s.to_string();
    }
    s.chars().take(SLACK_SECTION_MAX - 1).collect::<String>() + "…"
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_URL: &str = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX";

    #[test]
    fn debug_and_errors_show_only_the_host() {
        let c = WebhookChannel::slack(SECRET_URL.into(), Duration::from_secs(5)).unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("hooks.slack.com"), "{shown}");
        assert!(!shown.contains("XXXX") && !shown.contains("T000") && !shown.contains("/services"), "{shown}");
        assert_eq!(c.host(), "hooks.slack.com");
        assert_eq!(c.kind(), "slack");
    }

    #[test]
    fn bad_urls_are_refused_without_repeating_them() {
        for (url, wants) in [
            ("not a url", "does not parse"),
            ("http://hooks.slack.com/services/T000/B000/XXXXsecretXXXX", "https://"),
            ("ftp://example.com/XXXXsecretXXXX", "not https"),
            ("https://user:XXXXsecretXXXX@example.com/x", "password"),
        ] {
            let err = WebhookChannel::teams(url.into(), Duration::from_secs(5)).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(wants), "{url}: {msg}");
            assert!(!msg.contains("XXXXsecret"), "{url}: {msg}");
            assert!(!err.is_transient());
        }
        assert!(WebhookChannel::teams("http://127.0.0.1:8080/hook".into(), Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn slack_text_is_escaped_and_cut_to_size() {
        let m = Message {
            to_email: None,
            to_name: None,
            language: Language::Nl,
            subject: "<b>A & B</b>".into(),
            text: "x".repeat(5000),
            html: String::new(),
            explain_url: None,
        };
        let p = payload(Flavor::Slack, &m);
        let section = p["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(section.starts_with("*&lt;b&gt;A &amp; B&lt;/b&gt;*"), "{section}");
        assert_eq!(section.chars().count(), SLACK_SECTION_MAX);
        // No link, no button; unknown recipient is an empty string.
        assert_eq!(p["blocks"].as_array().unwrap().len(), 1);
        assert_eq!(p["recipient_email"], "");
        assert_eq!(p["subject"], "<b>A & B</b>");
    }
}
