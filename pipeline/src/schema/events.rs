//! The five event classes floodlight normalises every log into, declared once.
//!
//! Each struct is at the same time the row type decoders fill in, the
//! `floodlight-json` wire form (serde, unknown fields rejected) and, through
//! [`event_class!`](crate::event_class), the Arrow schema and builder. Column
//! names follow OCSF where OCSF has a flat name; `docs/schema.md` documents
//! every column and a test keeps the two identical.

use super::Str;
use crate::event_class;

event_class! {
    /// A firewall / proxy session or HTTP request (OCSF Network Activity 4001 / HTTP Activity 4002).
    pub struct NetworkEvent<'a> / NetworkBuilder {
        /// Vendor that wrote the log (e.g. `Palo Alto Networks`).
        vendor: Option<Str<'a>>,
        /// Product that wrote the log (e.g. `PAN-OS`).
        product: Option<Str<'a>>,
        /// Client (source) IP address.
        src_ip: Option<Str<'a>>,
        /// Client (source) port.
        src_port: Option<i32>,
        /// Server (destination) IP address.
        dst_ip: Option<Str<'a>>,
        /// Server (destination) port.
        dst_port: Option<i32>,
        /// Transport protocol, lower case (`tcp`, `udp`).
        protocol: Option<Str<'a>>,
        /// What the device did: `allow`, `deny`, `drop`, `reset`, `alert`.
        action: Option<Str<'a>>,
        /// Bytes sent by the client (upload).
        bytes_out: Option<i64>,
        /// Bytes received by the client (download).
        bytes_in: Option<i64>,
        /// Destination host name: TLS SNI, HTTP Host or URL host, lower case.
        host: Option<Str<'a>>,
        /// Full URL or path when the log carries one.
        url: Option<Str<'a>>,
        /// HTTP method (`GET`, `POST`, ...).
        http_method: Option<Str<'a>>,
        /// User name as the device logged it.
        user: Option<Str<'a>>,
        /// Device or host name of the client.
        device: Option<Str<'a>>,
        /// The vendor's own application label (e.g. PAN-OS App-ID `dropbox-uploading`).
        vendor_app: Option<Str<'a>>,
        /// The vendor's URL category, when logged.
        url_category: Option<Str<'a>>,
    }
}

event_class! {
    /// A DNS query and its answer (OCSF DNS Activity 4003).
    pub struct DnsEvent<'a> / DnsBuilder {
        /// Vendor that wrote the log.
        vendor: Option<Str<'a>>,
        /// Product that wrote the log.
        product: Option<Str<'a>>,
        /// IP address of the client that asked.
        client_ip: Option<Str<'a>>,
        /// The name queried, lower case, without trailing dot.
        query: Option<Str<'a>>,
        /// Query type (`A`, `AAAA`, `TXT`, ...).
        query_type: Option<Str<'a>>,
        /// Response code name (`NOERROR`, `NXDOMAIN`, ...).
        rcode: Option<Str<'a>>,
        /// Answers (addresses or names), in order.
        answers: Vec<Str<'a>>,
        /// User, when the resolver knows it.
        user: Option<Str<'a>>,
        /// Device or host name of the client.
        device: Option<Str<'a>>,
    }
}

event_class! {
    /// A sign-in to an identity provider or app (OCSF Authentication 3002).
    pub struct AuthEvent<'a> / AuthBuilder {
        /// Vendor that wrote the log.
        vendor: Option<Str<'a>>,
        /// Product that wrote the log.
        product: Option<Str<'a>>,
        /// The vendor's event type (e.g. `user.session.start`).
        event_type: Option<Str<'a>>,
        /// Who signed in (e-mail / UPN when the log has one).
        user: Option<Str<'a>>,
        /// Display name of the user, when logged.
        user_name: Option<Str<'a>>,
        /// IP address the sign-in came from.
        src_ip: Option<Str<'a>>,
        /// Application signed in to, when logged.
        app: Option<Str<'a>>,
        /// `success` or `failure`.
        result: Option<Str<'a>>,
        /// Failure or status reason as the vendor wrote it.
        reason: Option<Str<'a>>,
        /// Whether multi-factor authentication was used.
        mfa: Option<bool>,
        /// The raw User-Agent string.
        user_agent: Option<Str<'a>>,
        /// Operating system of the client (from the log or the User-Agent).
        os: Option<Str<'a>>,
        /// Device type or name.
        device: Option<Str<'a>>,
    }
}

event_class! {
    /// An OAuth consent, grant or token authorisation (OCSF API Activity 6003).
    pub struct OauthEvent<'a> / OauthBuilder {
        /// Vendor that wrote the log.
        vendor: Option<Str<'a>>,
        /// Product that wrote the log.
        product: Option<Str<'a>>,
        /// The vendor's event type (e.g. `app.oauth2.as.consent.grant`).
        event_type: Option<Str<'a>>,
        /// The user who granted (or for whom admin granted) access.
        user: Option<Str<'a>>,
        /// Name of the application that received the grant, as the vendor logged it
        /// (the catalog's name for it is `app_name`, added by enrichment).
        client_app: Option<Str<'a>>,
        /// OAuth client id of the application.
        client_id: Option<Str<'a>>,
        /// Scopes granted.
        scopes: Vec<Str<'a>>,
        /// `consent`, `grant`, `authorize` or `revoke`.
        action: Option<Str<'a>>,
        /// Whether an administrator consented for the whole organisation.
        admin_consent: Option<bool>,
        /// `success` or `failure`.
        result: Option<Str<'a>>,
        /// IP address of the client.
        src_ip: Option<Str<'a>>,
        /// The raw User-Agent string.
        user_agent: Option<Str<'a>>,
    }
}

event_class! {
    /// A mail message or a mailbox / transport configuration change (OCSF Email Activity 4009).
    pub struct EmailEvent<'a> / EmailBuilder {
        /// Vendor that wrote the log.
        vendor: Option<Str<'a>>,
        /// Product that wrote the log.
        product: Option<Str<'a>>,
        /// `message`, `inbox_rule`, `mailbox_forwarding`, `transport_rule`, `routing_setting` or `file_share` (a file shared with one address).
        kind: Option<Str<'a>>,
        /// The vendor's operation name (e.g. `New-InboxRule`).
        operation: Option<Str<'a>>,
        /// The mailbox owner the event is about (or the sender of a message).
        user: Option<Str<'a>>,
        /// Who performed the change, when different from `user` (e.g. an admin).
        actor: Option<Str<'a>>,
        /// `inbound`, `outbound` or `internal` for messages.
        direction: Option<Str<'a>>,
        /// Sender address of a message.
        sender: Option<Str<'a>>,
        /// Recipient addresses of a message.
        recipients: Vec<Str<'a>>,
        /// Subject of a message.
        subject: Option<Str<'a>>,
        /// Message size in bytes.
        size: Option<i64>,
        /// Number of attachments.
        attachments: Option<i32>,
        /// Name of the inbox or transport rule.
        rule_name: Option<Str<'a>>,
        /// Addresses mail is forwarded, redirected or copied to.
        forward_to: Vec<Str<'a>>,
        /// Whether the rule hides mail from the owner (deletes it, marks it read, or keeps no local copy).
        hides_mail: Option<bool>,
        /// Whether the change succeeded.
        result: Option<Str<'a>>,
        /// IP address of the client that made the change.
        src_ip: Option<Str<'a>>,
    }
}
