//! Delivery: getting a rendered nudge to the person.
//!
//! A [`Message`] is what the templates made (subject, text, HTML) plus who it
//! is for. A [`Channel`] delivers it:
//!
//! - [`Channel::Email`] over SMTP ([`EmailChannel`]): to the person's own
//!   address, as a multipart/alternative message (text and HTML);
//! - [`Channel::Slack`] and [`Channel::Teams`] over an HTTPS webhook
//!   ([`WebhookChannel`]): a card with a button to the explain page. Which
//!   person sees it depends on the webhook's side; see [`webhook`].
//!
//! A failed delivery says whether trying again later can help:
//! [`ChannelError::is_transient`] is true for a server that is down, busy or
//! slow (connection refused, timeouts, SMTP 4xx, HTTP 429 and 5xx) and false
//! for what needs a person to fix it (a rejected address or password, SMTP
//! 5xx, HTTP 4xx, an untrusted certificate, a message without an address).
//! The caller keeps the retry schedule; this module sends once.
//!
//! Errors and logs name the server's host, never a password or a webhook's
//! path (the path of a Slack or Teams webhook URL is its secret).

pub mod email;
pub mod webhook;

use std::time::Duration;

pub use email::{EmailChannel, EmailSettings, SmtpTls};
pub use webhook::WebhookChannel;

use crate::template::{Language, Rendered};

/// A rendered nudge (or reply) and its recipient, ready to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The person's e-mail address; required for e-mail, passed to webhooks
    /// as `recipient_email` so a workflow can route the message.
    pub to_email: Option<String>,
    /// The person's name for the `To:` header, e.g. "Ana de Vries".
    pub to_name: Option<String>,
    /// The language the message is written in (`Content-Language`, button labels).
    pub language: Language,
    /// The subject, one line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
    /// The signed explain link, for a webhook's button.
    pub explain_url: Option<String>,
}

impl Message {
    /// A message from rendered templates, without a recipient or link yet.
    pub fn from_rendered(rendered: Rendered, language: Language) -> Message {
        Message {
            to_email: None,
            to_name: None,
            language,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            explain_url: None,
        }
    }
}

/// One way to reach people.
// Three values per process: boxing the e-mail channel would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Channel {
    /// E-mail over SMTP.
    Email(EmailChannel),
    /// A Slack webhook (incoming webhook or Workflow Builder trigger).
    Slack(WebhookChannel),
    /// A Microsoft Teams Workflows webhook.
    Teams(WebhookChannel),
}

impl Channel {
    /// Delivers `m` once.
    pub async fn send(&self, m: &Message) -> Result<(), ChannelError> {
        match self {
            Channel::Email(c) => c.send(m).await,
            Channel::Slack(c) => c.send_as(webhook::Flavor::Slack, m).await,
            Channel::Teams(c) => c.send_as(webhook::Flavor::Teams, m).await,
        }
    }

    /// `"email"`, `"slack"` or `"teams"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Email(_) => "email",
            Channel::Slack(_) => "slack",
            Channel::Teams(_) => "teams",
        }
    }
}

/// Why a channel could not be set up or a message not delivered.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// An address in the settings or the message does not parse.
    #[error("the {field} address {value:?} is not valid ({reason}); write it as user@example.com or \"Name <user@example.com>\"")]
    BadAddress {
        /// Which address: `from`, `reply_to` or `to`.
        field: &'static str,
        /// The address as given.
        value: String,
        /// What the parser said.
        reason: String,
    },
    /// Credentials were given for an SMTP server reached without TLS.
    #[error(
        "refusing to send the SMTP password to {host} without TLS; set tls to starttls or tls \
         (plain SMTP with a password is only allowed to a relay on loopback)"
    )]
    CleartextCredentials {
        /// The SMTP host.
        host: String,
    },
    /// Only one of the SMTP username and password was given.
    #[error("the SMTP username and password go together: set both, or neither for a relay without AUTH")]
    HalfCredentials,
    /// The extra CA file could not be read.
    #[error("cannot read the CA file {}: {source}", path.display())]
    CaFile {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The extra CA file holds no usable certificate.
    #[error("the CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----): {detail}", path.display())]
    CaFileInvalid {
        /// The file.
        path: std::path::PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// TLS could not be set up for the SMTP server.
    #[error("cannot set up TLS for {host}: {detail}")]
    TlsSetup {
        /// The SMTP host.
        host: String,
        /// What failed.
        detail: String,
    },
    /// An e-mail message without a recipient address.
    #[error("the message has no recipient e-mail address; look the person up in the directory, or nudge them over Slack or Teams")]
    NoRecipient,
    /// The e-mail could not be put together (a header value lettre refuses).
    #[error("cannot build the e-mail: {0}")]
    Build(String),
    /// The SMTP server could not be reached or refused the message.
    #[error("SMTP delivery via {host}:{port} failed: {source}")]
    Smtp {
        /// The SMTP host.
        host: String,
        /// The SMTP port.
        port: u16,
        /// What lettre reported (the server's reply, when there was one).
        source: lettre::transport::smtp::Error,
    },
    /// The SMTP server did not finish the exchange in time (it accepted the
    /// connection but stalled, e.g. never sent its greeting).
    #[error("SMTP delivery via {host}:{port} did not finish within {after:?}")]
    SmtpTimeout {
        /// The SMTP host.
        host: String,
        /// The SMTP port.
        port: u16,
        /// The deadline for the whole exchange.
        after: Duration,
    },
    /// The webhook URL is not usable.
    #[error("the {kind} webhook URL is not usable: {reason}")]
    WebhookUrl {
        /// `slack` or `teams`.
        kind: &'static str,
        /// What is wrong (the URL itself is not repeated: it is a secret).
        reason: String,
    },
    /// The HTTP client could not be built (e.g. no usable root certificates).
    #[error("cannot set up the HTTP client for webhooks: {0}")]
    HttpClient(reqwest::Error),
    /// The webhook's server could not be reached, or did not answer in time.
    #[error("the {kind} webhook at {host} could not be reached: {source}")]
    HttpTransport {
        /// `slack` or `teams`.
        kind: &'static str,
        /// The webhook's host.
        host: String,
        /// What reqwest reported, with the URL removed.
        source: reqwest::Error,
    },
    /// The webhook answered with an error status.
    #[error("the {kind} webhook at {host} answered HTTP {status}: {body}")]
    HttpStatus {
        /// `slack` or `teams`.
        kind: &'static str,
        /// The webhook's host.
        host: String,
        /// The status code.
        status: u16,
        /// The start of the answer's body, on one line.
        body: String,
        /// How long the server asked us to wait (`Retry-After`, in seconds).
        retry_after: Option<Duration>,
    },
}

impl ChannelError {
    /// Whether sending the same message again later may succeed: the server
    /// was unreachable, slow or busy, or deferred the message. False when a
    /// person has to change something first.
    pub fn is_transient(&self) -> bool {
        match self {
            // What is left after these are 4xx replies, timeouts, and refused
            // or dropped connections. A TLS failure (an untrusted or expired
            // certificate, no STARTTLS offered) needs a person.
            ChannelError::Smtp { source, .. } => {
                !(source.is_permanent()
                    || source.is_tls()
                    || source.is_client()
                    || source.is_response()
                    || mentions_certificate(source))
            }
            ChannelError::SmtpTimeout { .. } => true,
            // A certificate the client does not trust shows up as a connect
            // error too; retrying will not fix it.
            ChannelError::HttpTransport { source, .. } => {
                !source.is_builder() && !source.is_redirect() && !mentions_certificate(source)
            }
            ChannelError::HttpStatus { status, .. } => *status == 429 || *status == 408 || (500..600).contains(status),
            ChannelError::BadAddress { .. }
            | ChannelError::CleartextCredentials { .. }
            | ChannelError::HalfCredentials
            | ChannelError::CaFile { .. }
            | ChannelError::CaFileInvalid { .. }
            | ChannelError::TlsSetup { .. }
            | ChannelError::NoRecipient
            | ChannelError::Build(_)
            | ChannelError::WebhookUrl { .. }
            | ChannelError::HttpClient(_) => false,
        }
    }

    /// How long the server asked us to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ChannelError::HttpStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Whether an error's chain of causes reports a certificate problem (rustls
/// says "invalid peer certificate: UnknownIssuer" and the like).
fn mentions_certificate(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.to_string().to_ascii_lowercase().contains("certificate") {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Whether `host` names this machine: `localhost` or a loopback address.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["smtp.example.com", "10.0.0.1", "localhost.example.com", "0.0.0.0", ""] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn status_codes_are_classified() {
        let status = |status| ChannelError::HttpStatus {
            kind: "slack",
            host: "hooks.slack.com".into(),
            status,
            body: String::new(),
            retry_after: None,
        };
        for s in [429, 408, 500, 502, 503, 504] {
            assert!(status(s).is_transient(), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 413, 301] {
            assert!(!status(s).is_transient(), "{s}");
        }
        assert!(!ChannelError::NoRecipient.is_transient());
        assert!(!ChannelError::CleartextCredentials { host: "x".into() }.is_transient());
    }
}
