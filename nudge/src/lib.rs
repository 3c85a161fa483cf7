//! Nudges: tell a person, kindly, what floodlight saw, and let them explain.
//!
//! When a finding is about a person — they uploaded a file to a PDF
//! converter, forwarded their mail to a private mailbox, signed in from café
//! Wi-Fi — a nudge tells them what was seen, why it matters and what
//! sanctioned tool to use instead, and links to a page where they can tell IT
//! why. This crate does the three steps of sending one:
//!
//! 1. **Sign** the explain link ([`link`]): a short, URL-safe token naming the
//!    nudge and when the link expires, HMAC-signed so nobody can forge or
//!    extend it ([`LinkSigner`]).
//! 2. **Render** the message ([`template`]): MiniJinja templates per rule and
//!    language (English, Dutch), each with a subject, a text body and an HTML
//!    body, overridable from a directory ([`Templates`]).
//! 3. **Deliver** it ([`channel`]): by e-mail over SMTP, or to a Slack or
//!    Teams webhook ([`Channel`]), with errors that say whether a retry can
//!    help ([`ChannelError::is_transient`]).
//!
//! ```text
//! let token = signer.sign(&LinkClaims { nudge_id, expires_at });
//! let facts = NudgeFacts { explain_url: format!("{base}/explain/{token}"), .. };
//! let rendered = templates.render_nudge(Language::Nl, &facts)?;
//! let message = Message { to_email, to_name, explain_url, ..Message::from_rendered(rendered, Language::Nl) };
//! channel.send(&message).await?;
//! ```
//!
//! What this crate does not do lives with the pipeline and the console: which
//! findings deserve a nudge, how often a person may be nudged, retries and
//! their schedule, storing nudges and answers, and the explain page itself
//! (which calls [`LinkSigner::verify`]). It depends on no other floodlight
//! crate and builds without DataFusion.

pub mod channel;
pub mod link;
pub mod template;

pub use channel::{Channel, ChannelError, EmailChannel, EmailSettings, Message, SmtpTls, WebhookChannel};
pub use link::{LinkClaims, LinkError, LinkSigner};
pub use template::{
    Language, NudgeFacts, Rendered, ReplyFacts, ReplyOutcome, TemplateError, Templates, UnknownLanguage,
};
