//! E-mail delivery against a real SMTP server on loopback (aiosmtpd, from
//! PyPI, installed by `deploy/install-python-tools.sh`; see
//! `support/smtp.rs`): plain SMTP, STARTTLS with a private CA and AUTH,
//! implicit TLS, and the failures a nudge sender must tell apart — a wrong
//! password and an untrusted certificate (permanent, nothing sent in clear
//! text), a refused or silent server (transient).

use crate::support::smtp;

use std::path::{Path, PathBuf};
use std::time::Duration;

use floodlight_nudge::{
    Channel, ChannelError, EmailChannel, EmailSettings, Language, Message, NudgeFacts, SmtpTls, Templates,
};
use smtp::{SmtpSink, SmtpSinkOptions};

const WAIT: Duration = Duration::from_secs(15);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn settings(host: &str, port: u16, tls: SmtpTls) -> EmailSettings {
    EmailSettings {
        host: host.into(),
        port,
        tls,
        username: None,
        password: None,
        from: "Corp IT <it@corp.example.com>".into(),
        reply_to: Some("IT servicedesk <servicedesk@corp.example.com>".into()),
        ca_file: None,
        timeout: Duration::from_secs(10),
    }
}

const EXPLAIN: &str = "https://floodlight.corp.example.com/explain/djEubmQtMDEuMTc0MjM4NjQwMA.c2ln";

/// A real nudge, rendered by the built-in Dutch SS-02 template.
fn nudge() -> Message {
    let facts = NudgeFacts {
        rule_id: "SS-02".into(),
        rule_title: "Upload spike to unsanctioned storage".into(),
        family: "shadow_saas".into(),
        severity: "high".into(),
        person_name: Some("Ana".into()),
        app_name: Some("WeTransfer".into()),
        app_category: Some("File transfer".into()),
        alternative_name: Some("OneDrive".into()),
        alternative_url: Some("https://intranet.corp.example.com/onedrive".into()),
        event_count: Some(14),
        bytes: Some(2_147_483_648),
        first_seen: Some("2025-03-05T09:12:00Z".into()),
        last_seen: Some("2025-03-05T10:40:00Z".into()),
        explain_url: EXPLAIN.into(),
        link_expires: "2025-03-19".into(),
        organisation: "Corp IT".into(),
    };
    let rendered = Templates::builtin().render_nudge(Language::Nl, &facts).unwrap();
    Message {
        to_email: Some("ana.devries@corp.example.com".into()),
        to_name: Some("Ana de Vries".into()),
        explain_url: Some(EXPLAIN.into()),
        ..Message::from_rendered(rendered, Language::Nl)
    }
}

/// A private CA and a certificate for `localhost` signed by it, as PEM files.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "floodlight test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        leaf.distinguished_name.push(DnType::CommonName, "localhost");
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), leaf_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), leaf_key.serialize_pem()).unwrap();
        Pki { dir }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn server(&self) -> (PathBuf, PathBuf) {
        (self.dir.path().join("server.pem"), self.dir.path().join("server.key"))
    }
}

fn crlf(s: &str) -> String {
    s.replace("\r\n", "\n")
}

#[tokio::test]
async fn plain_smtp_on_loopback_delivers_the_whole_nudge() {
    let sink = SmtpSink::start(&repo_root(), SmtpSinkOptions::default());
    let channel = Channel::Email(EmailChannel::new(settings("127.0.0.1", sink.port(), SmtpTls::None)).unwrap());
    assert_eq!(channel.kind(), "email");
    let m = nudge();
    channel.send(&m).await.unwrap();

    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    let mail = &got[0];
    assert_eq!(mail.mail_from, "it@corp.example.com");
    assert_eq!(mail.rcpt_tos, vec!["ana.devries@corp.example.com".to_string()]);
    assert!(!mail.tls && mail.auth_user.is_none());
    assert_eq!(mail.header("From"), Some("Corp IT <it@corp.example.com>"), "{:?}", mail.headers);
    assert_eq!(mail.header("To"), Some("Ana de Vries <ana.devries@corp.example.com>"), "{:?}", mail.headers);
    assert_eq!(mail.header("Reply-To"), Some("IT servicedesk <servicedesk@corp.example.com>"));
    // Non-ASCII, so RFC 2047-encoded on the wire and decoded here.
    assert_eq!(mail.header("Subject"), Some("Over bestanden die naar WeTransfer zijn geüpload"));
    assert_eq!(mail.header("Subject"), Some(m.subject.as_str()));
    assert_eq!(mail.header("Content-Language"), Some("nl"));
    assert_eq!(mail.header("Auto-Submitted"), Some("auto-generated"));
    assert!(mail.header("Message-ID").is_some_and(|id| id.starts_with('<') && id.contains('@')));
    assert!(mail.header("Content-Type").is_some_and(|c| c.starts_with("multipart/alternative")), "{:?}", mail.headers);

    let text = mail.text.as_deref().expect("a text/plain part");
    assert_eq!(crlf(text).trim_end(), m.text.trim_end());
    assert!(text.contains(EXPLAIN), "{text}");
    assert!(text.contains("2,1 GB"), "{text}");
    let html = mail.html.as_deref().expect("a text/html part");
    assert!(html.contains(&format!("<a href=\"{EXPLAIN}\"")), "{html}");
    assert!(html.contains("Hoi Ana,"), "{html}");
}

#[tokio::test]
async fn starttls_with_a_private_ca_and_auth_delivers() {
    let pki = Pki::new();
    let sink = SmtpSink::start(
        &repo_root(),
        SmtpSinkOptions {
            starttls: Some(pki.server()),
            auth: Some(("nudger".into(), "correct horse".into())),
            ..Default::default()
        },
    );
    let s = EmailSettings {
        username: Some("nudger".into()),
        password: Some("correct horse".into()),
        ca_file: Some(pki.ca()),
        ..settings("localhost", sink.port(), SmtpTls::StartTls)
    };
    EmailChannel::new(s).unwrap().send(&nudge()).await.unwrap();
    let got = sink.wait_for(1, WAIT);
    assert!(got[0].tls, "the server saw no TLS");
    assert_eq!(got[0].auth_user.as_deref(), Some("nudger"));
    assert!(got[0].text.as_deref().is_some_and(|t| t.contains(EXPLAIN)));
}

#[tokio::test]
async fn implicit_tls_with_auth_delivers() {
    let pki = Pki::new();
    let sink = SmtpSink::start(
        &repo_root(),
        SmtpSinkOptions {
            implicit_tls: Some(pki.server()),
            auth: Some(("nudger".into(), "correct horse".into())),
            ..Default::default()
        },
    );
    let s = EmailSettings {
        username: Some("nudger".into()),
        password: Some("correct horse".into()),
        ca_file: Some(pki.ca()),
        ..settings("localhost", sink.port(), SmtpTls::Tls)
    };
    EmailChannel::new(s).unwrap().send(&nudge()).await.unwrap();
    let got = sink.wait_for(1, WAIT);
    assert!(got[0].tls);
    assert_eq!(got[0].auth_user.as_deref(), Some("nudger"));
}

#[tokio::test]
async fn a_wrong_password_is_a_permanent_error() {
    let pki = Pki::new();
    let sink = SmtpSink::start(
        &repo_root(),
        SmtpSinkOptions {
            starttls: Some(pki.server()),
            auth: Some(("nudger".into(), "correct horse".into())),
            ..Default::default()
        },
    );
    let s = EmailSettings {
        username: Some("nudger".into()),
        password: Some("battery staple".into()),
        ca_file: Some(pki.ca()),
        ..settings("localhost", sink.port(), SmtpTls::StartTls)
    };
    let err = EmailChannel::new(s).unwrap().send(&nudge()).await.unwrap_err();
    assert!(matches!(err, ChannelError::Smtp { .. }), "{err:?}");
    assert!(!err.is_transient(), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("535") && msg.contains("localhost"), "{msg}");
    assert!(!msg.contains("battery"), "the password leaked into the error: {msg}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn an_untrusted_certificate_stops_delivery_without_falling_back_to_clear_text() {
    let pki = Pki::new();
    let sink = SmtpSink::start(&repo_root(), SmtpSinkOptions { starttls: Some(pki.server()), ..Default::default() });
    // The private CA is not trusted: only the public roots are.
    let err = EmailChannel::new(settings("localhost", sink.port(), SmtpTls::StartTls))
        .unwrap()
        .send(&nudge())
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Smtp { .. }), "{err:?}");
    assert!(!err.is_transient(), "{err}");
    // A certificate for another name fails the same way, even with the CA.
    let s = EmailSettings { ca_file: Some(pki.ca()), ..settings("127.0.0.1", sink.port(), SmtpTls::StartTls) };
    let err = EmailChannel::new(s).unwrap().send(&nudge()).await.unwrap_err();
    assert!(!err.is_transient(), "{err}");
    // And a client configured for plain SMTP is turned away before MAIL.
    let err =
        EmailChannel::new(settings("127.0.0.1", sink.port(), SmtpTls::None)).unwrap().send(&nudge()).await.unwrap_err();
    assert!(err.to_string().contains("530"), "{err}");
    assert!(!err.is_transient(), "{err}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(sink.messages().is_empty(), "a message got through: {:?}", sink.messages());
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = EmailChannel::new(settings("127.0.0.1", port, SmtpTls::None)).unwrap().send(&nudge()).await.unwrap_err();
    assert!(matches!(err, ChannelError::Smtp { .. }), "{err:?}");
    assert!(err.is_transient(), "{err}");
}

#[tokio::test]
async fn a_silent_server_times_out_and_is_transient() {
    // Accepts connections and never says hello.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = EmailSettings { timeout: Duration::from_millis(500), ..settings("127.0.0.1", port, SmtpTls::None) };
    let started = std::time::Instant::now();
    let err = EmailChannel::new(s).unwrap().send(&nudge()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(err.is_transient(), "{err}");
    drop(listener);
}

#[tokio::test]
async fn a_message_without_an_address_never_reaches_the_server() {
    let sink = SmtpSink::start(&repo_root(), SmtpSinkOptions::default());
    let m = Message { to_email: None, ..nudge() };
    let err = EmailChannel::new(settings("127.0.0.1", sink.port(), SmtpTls::None)).unwrap().send(&m).await.unwrap_err();
    assert!(matches!(err, ChannelError::NoRecipient) && !err.is_transient(), "{err:?}");
    assert!(sink.messages().is_empty());
}
