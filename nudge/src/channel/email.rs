//! E-mail over SMTP.
//!
//! [`EmailChannel`] sends each message as `multipart/alternative` (the text
//! first, then the HTML, so a mail client shows the richest part it can), with
//! the recipient's name in the `To:` header, a `Content-Language` header from
//! the message's language, and `Auto-Submitted: auto-generated` (RFC 3834) so
//! out-of-office replies are not sent back.
//!
//! # Settings
//!
//! ```text
//! host      smtp.corp.example.com
//! port      587 (STARTTLS), 465 (implicit TLS) or 25 (a relay)
//! tls       StartTls | Tls | None
//! username  optional; with password, AUTH PLAIN or LOGIN
//! password  optional
//! from      "Corp IT <it@corp.example.com>"
//! reply_to  optional, e.g. "IT service desk <servicedesk@corp.example.com>"
//! ca_file   optional PEM file with extra roots (a private CA)
//! timeout   per connection and command, e.g. 30 s
//! ```
//!
//! With `StartTls` the server must offer STARTTLS and its certificate must be
//! valid for `host`: there is no fallback to clear text. Certificates are
//! checked against the Mozilla roots (`webpki-roots`) plus the `ca_file`.
//! With `None` the connection is plain SMTP; that is refused at construction
//! when credentials are set and the host is not loopback, so a password never
//! crosses the network in clear text.
//!
//! Each [`EmailChannel::send`] opens a connection, delivers one message and
//! closes it; nudges are few and far between.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;

use super::{is_loopback_host, ChannelError, Message};

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte, "SMTPS" (port 465).
    Tls,
    /// No TLS at all: only for a relay on loopback or a trusted network, and
    /// without credentials unless the host is loopback.
    None,
}

/// Where and how to send e-mail. `Debug` never shows the password.
#[derive(Clone)]
pub struct EmailSettings {
    /// The SMTP server's host name (checked against its certificate).
    pub host: String,
    /// The SMTP server's port.
    pub port: u16,
    /// How the connection is protected.
    pub tls: SmtpTls,
    /// The AUTH user name, if the server wants one.
    pub username: Option<String>,
    /// The AUTH password; set with `username`.
    pub password: Option<String>,
    /// The sender, e.g. `Corp IT <it@corp.example.com>`.
    pub from: String,
    /// Where replies go, if not to `from`.
    pub reply_to: Option<String>,
    /// A PEM file of extra root certificates to trust (a private CA).
    pub ca_file: Option<PathBuf>,
    /// How long to wait for the connection and for each SMTP reply.
    pub timeout: Duration,
}

impl fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("reply_to", &self.reply_to)
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Sends messages through one SMTP server. Cheap to clone.
#[derive(Clone)]
pub struct EmailChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// Per connection and command; the whole exchange gets four times this.
    timeout: Duration,
    host: String,
    port: u16,
    tls: SmtpTls,
    username: Option<String>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
}

impl fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailChannel")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("from", &self.from.to_string())
            .field("reply_to", &self.reply_to.as_ref().map(|m| m.to_string()))
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    /// Checks `settings` and prepares the SMTP client; connects only when
    /// sending. Fails on an invalid `from` or `reply_to`, half-given
    /// credentials, credentials over plain SMTP to a host that is not
    /// loopback, or an unreadable `ca_file`.
    pub fn new(settings: EmailSettings) -> Result<EmailChannel, ChannelError> {
        let from = parse_mailbox("from", &settings.from)?;
        let reply_to = settings.reply_to.as_deref().map(|r| parse_mailbox("reply_to", r)).transpose()?;
        let host = settings.host.trim().to_string();
        if host.is_empty() {
            return Err(ChannelError::TlsSetup { host, detail: "the SMTP host is empty; set it".into() });
        }
        let credentials = match (&settings.username, &settings.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.clone())),
            (None, None) => None,
            _ => return Err(ChannelError::HalfCredentials),
        };
        if credentials.is_some() && settings.tls == SmtpTls::None && !is_loopback_host(&host) {
            return Err(ChannelError::CleartextCredentials { host });
        }

        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters(&host, settings.ca_file.as_ref())?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters(&host, settings.ca_file.as_ref())?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials).authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(EmailChannel {
            transport: builder.build(),
            host,
            port: settings.port,
            tls: settings.tls,
            username: settings.username,
            timeout: settings.timeout,
            from,
            reply_to,
        })
    }

    /// Delivers `m` to `m.to_email`, once.
    pub async fn send(&self, m: &Message) -> Result<(), ChannelError> {
        let email = self.build(m)?;
        // lettre's timeout covers connecting, not every read of the async
        // transport: a server that accepts and then stalls would hold the
        // sender forever. One deadline for the whole exchange bounds it.
        let deadline = self.timeout * 4;
        let sent = tokio::time::timeout(deadline, self.transport.send(email))
            .await
            .map_err(|_| ChannelError::SmtpTimeout { host: self.host.clone(), port: self.port, after: deadline })?;
        match sent {
            Ok(response) => {
                tracing::debug!(host = %self.host, port = self.port, code = %response.code(), "nudge e-mail accepted");
                Ok(())
            }
            Err(source) => Err(ChannelError::Smtp { host: self.host.clone(), port: self.port, source }),
        }
    }

    /// The e-mail for `m`, as it would be sent.
    fn build(&self, m: &Message) -> Result<lettre::Message, ChannelError> {
        let address =
            m.to_email.as_deref().map(str::trim).filter(|a| !a.is_empty()).ok_or(ChannelError::NoRecipient)?;
        let address = address.parse().map_err(|e: lettre::address::AddressError| ChannelError::BadAddress {
            field: "to",
            value: address.to_string(),
            reason: e.to_string(),
        })?;
        let name =
            m.to_name.as_deref().map(|n| n.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|n| !n.is_empty());
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name, address))
            .subject(m.subject.split_whitespace().collect::<Vec<_>>().join(" "))
            .message_id(None)
            .header(ContentLanguage(m.language.as_str().to_string()))
            .header(AutoSubmitted);
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(m.text.clone(), m.html.clone()))
            .map_err(|e| ChannelError::Build(e.to_string()))
    }
}

/// TLS for `host`: the Mozilla roots plus those in `ca_file`.
fn tls_parameters(host: &str, ca_file: Option<&PathBuf>) -> Result<TlsParameters, ChannelError> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|source| ChannelError::CaFile { path: path.clone(), source })?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(ChannelError::CaFileInvalid { path: path.clone(), detail: "no certificate found".into() });
        }
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| ChannelError::CaFileInvalid { path: path.clone(), detail: e.to_string() })?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build_rustls().map_err(|e| ChannelError::TlsSetup { host: host.to_string(), detail: e.to_string() })
}

fn parse_mailbox(field: &'static str, value: &str) -> Result<Mailbox, ChannelError> {
    value.trim().parse::<Mailbox>().map_err(|e| ChannelError::BadAddress {
        field,
        value: value.to_string(),
        reason: e.to_string(),
    })
}

/// `Content-Language: nl` (RFC 3282).
#[derive(Debug, Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(s.trim().to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): no auto-replies, please.
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Language;

    fn settings() -> EmailSettings {
        EmailSettings {
            host: "smtp.corp.example.com".into(),
            port: 587,
            tls: SmtpTls::StartTls,
            username: Some("nudger".into()),
            password: Some("hunter2-secret".into()),
            from: "Corp IT <it@corp.example.com>".into(),
            reply_to: Some("servicedesk@corp.example.com".into()),
            ca_file: None,
            timeout: Duration::from_secs(10),
        }
    }

    fn message() -> Message {
        Message {
            to_email: Some("ana@corp.example.com".into()),
            to_name: Some("Ana de Vries".into()),
            language: Language::Nl,
            subject: "Even een vraag\nover WeTransfer".into(),
            text: "Hoi Ana,\n".into(),
            html: "<p>Hoi Ana,</p>\n".into(),
            explain_url: Some("https://floodlight.example.com/e/x".into()),
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        let s = settings();
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>") && shown.contains("smtp.corp.example.com"), "{shown}");
        let c = EmailChannel::new(s).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("smtp.corp.example.com"), "{shown}");
    }

    #[test]
    fn a_bad_from_or_reply_to_is_a_config_error() {
        for from in ["", "Corp IT", "it@", "Corp IT <it at corp>"] {
            let err = EmailChannel::new(EmailSettings { from: from.into(), ..settings() }).unwrap_err();
            assert!(matches!(err, ChannelError::BadAddress { field: "from", .. }), "{from:?}: {err:?}");
        }
        let err = EmailChannel::new(EmailSettings { reply_to: Some("nope".into()), ..settings() }).unwrap_err();
        assert!(matches!(err, ChannelError::BadAddress { field: "reply_to", .. }), "{err:?}");
    }

    #[test]
    fn a_password_is_never_sent_in_clear_text_over_the_network() {
        let err = EmailChannel::new(EmailSettings { tls: SmtpTls::None, ..settings() }).unwrap_err();
        assert!(matches!(err, ChannelError::CleartextCredentials { .. }), "{err:?}");
        assert!(err.to_string().contains("starttls"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        for host in ["127.0.0.1", "localhost", "::1"] {
            assert!(
                EmailChannel::new(EmailSettings { tls: SmtpTls::None, host: host.into(), ..settings() }).is_ok(),
                "{host}"
            );
        }
        // Without credentials a plain relay is fine anywhere.
        let relay = EmailSettings { tls: SmtpTls::None, username: None, password: None, ..settings() };
        assert!(EmailChannel::new(relay).is_ok());
    }

    #[test]
    fn username_and_password_go_together() {
        let err = EmailChannel::new(EmailSettings { password: None, ..settings() }).unwrap_err();
        assert!(matches!(err, ChannelError::HalfCredentials), "{err:?}");
        let err = EmailChannel::new(EmailSettings { username: None, ..settings() }).unwrap_err();
        assert!(matches!(err, ChannelError::HalfCredentials), "{err:?}");
    }

    #[test]
    fn an_unreadable_or_empty_ca_file_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = EmailChannel::new(EmailSettings { ca_file: Some(missing), ..settings() }).unwrap_err();
        assert!(matches!(err, ChannelError::CaFile { .. }), "{err:?}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let err = EmailChannel::new(EmailSettings { ca_file: Some(empty), ..settings() }).unwrap_err();
        assert!(matches!(err, ChannelError::CaFileInvalid { .. }), "{err:?}");
    }

    #[test]
    fn the_email_has_the_headers_and_both_parts() {
        let c = EmailChannel::new(settings()).unwrap();
        let raw = String::from_utf8(c.build(&message()).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("From: \"Corp IT\" <it@corp.example.com>")
                || raw.contains("From: Corp IT <it@corp.example.com>"),
            "{raw}"
        );
        assert!(
            raw.contains("To: \"Ana de Vries\" <ana@corp.example.com>")
                || raw.contains("To: Ana de Vries <ana@corp.example.com>"),
            "{raw}"
        );
        assert!(raw.contains("Reply-To: servicedesk@corp.example.com"), "{raw}");
        assert!(raw.contains("Subject: Even een vraag over WeTransfer\r\n"), "{raw}");
        assert!(raw.contains("Content-Language: nl\r\n"), "{raw}");
        assert!(raw.contains("Auto-Submitted: auto-generated\r\n"), "{raw}");
        assert!(raw.contains("Message-ID: <"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        let text_at = raw.find("text/plain").unwrap();
        let html_at = raw.find("text/html").unwrap();
        assert!(text_at < html_at, "text part comes first");
    }

    #[test]
    fn a_message_without_an_address_is_refused_permanently() {
        let c = EmailChannel::new(settings()).unwrap();
        for to in [None, Some(""), Some("  ")] {
            let m = Message { to_email: to.map(str::to_string), ..message() };
            let err = c.build(&m).unwrap_err();
            assert!(matches!(err, ChannelError::NoRecipient), "{err:?}");
            assert!(!err.is_transient());
        }
        let m = Message { to_email: Some("not an address".into()), ..message() };
        let err = c.build(&m).unwrap_err();
        assert!(matches!(err, ChannelError::BadAddress { field: "to", .. }) && !err.is_transient(), "{err:?}");
    }

    #[test]
    fn smtp_tls_reads_from_config() {
        #[derive(Deserialize)]
        struct C {
            tls: SmtpTls,
        }
        let read = |s: &str| serde_json::from_str::<C>(&format!("{{\"tls\":\"{s}\"}}")).map(|c| c.tls);
        assert_eq!(read("starttls").unwrap(), SmtpTls::StartTls);
        assert_eq!(read("tls").unwrap(), SmtpTls::Tls);
        assert_eq!(read("none").unwrap(), SmtpTls::None);
        assert!(read("ssl").is_err());
    }
}
