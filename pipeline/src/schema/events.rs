//! The five event classes floodlight normalises every log into, declared once.
//!
//! Each struct is at the same time the row type decoders fill in, the
//! `floodlight-json` wire form (serde, unknown fields rejected) and, through
//! [`event_class!`](crate::event_class), the Arrow schema and builder. Column
//! names follow OCSF where OCSF has a flat name; `docs/schema.md` documents
//! every column and a test keeps the two identical.

use super::Timestamp;
use crate::event_class;

event_class! {
    /// A firewall / proxy session or HTTP request (OCSF Network Activity 4001 / HTTP Activity 4002).
    pub struct NetworkEvent / NetworkBuilder {
        /// Stable hash of the record's origin (source, partition, offset); the same record always gets the same id.
        event_id: String,
        /// When the event happened, UTC.
        time: Timestamp,
        /// Where the raw record came from: `file:<path>:<line>`, `stdin:<line>`, `kafka:<topic>/<partition>@<offset>`.
        origin: String,
        /// Input format id that decoded the record (e.g. `panos`).
        format: String,
        /// Vendor that wrote the log (e.g. `Palo Alto Networks`).
        vendor: Option<String>,
        /// Product that wrote the log (e.g. `PAN-OS`).
        product: Option<String>,
        /// Client (source) IP address.
        src_ip: Option<String>,
        /// Client (source) port.
        src_port: Option<i32>,
        /// Server (destination) IP address.
        dst_ip: Option<String>,
        /// Server (destination) port.
        dst_port: Option<i32>,
        /// Transport protocol, lower case (`tcp`, `udp`).
        protocol: Option<String>,
        /// What the device did: `allow`, `deny`, `drop`, `reset`, `alert`.
        action: Option<String>,
        /// Bytes sent by the client (upload).
        bytes_out: Option<i64>,
        /// Bytes received by the client (download).
        bytes_in: Option<i64>,
        /// Destination host name: TLS SNI, HTTP Host or URL host, lower case.
        host: Option<String>,
        /// Full URL or path when the log carries one.
        url: Option<String>,
        /// HTTP method (`GET`, `POST`, ...).
        http_method: Option<String>,
        /// User name as the device logged it.
        user: Option<String>,
        /// Device or host name of the client.
        device: Option<String>,
        /// The vendor's own application label (e.g. PAN-OS App-ID `dropbox-uploading`).
        vendor_app: Option<String>,
        /// The vendor's URL category, when logged.
        url_category: Option<String>,
    }
}

event_class! {
    /// A DNS query and its answer (OCSF DNS Activity 4003).
    pub struct DnsEvent / DnsBuilder {
        /// Stable hash of the record's origin (source, partition, offset); the same record always gets the same id.
        event_id: String,
        /// When the event happened, UTC.
        time: Timestamp,
        /// Where the raw record came from: `file:<path>:<line>`, `stdin:<line>`, `kafka:<topic>/<partition>@<offset>`.
        origin: String,
        /// Input format id that decoded the record (e.g. `zeek-dns`).
        format: String,
        /// Vendor that wrote the log.
        vendor: Option<String>,
        /// Product that wrote the log.
        product: Option<String>,
        /// IP address of the client that asked.
        client_ip: Option<String>,
        /// The name queried, lower case, without trailing dot.
        query: Option<String>,
        /// Query type (`A`, `AAAA`, `TXT`, ...).
        query_type: Option<String>,
        /// Response code name (`NOERROR`, `NXDOMAIN`, ...).
        rcode: Option<String>,
        /// Answers (addresses or names), in order.
        answers: Vec<String>,
        /// User, when the resolver knows it.
        user: Option<String>,
        /// Device or host name of the client.
        device: Option<String>,
    }
}

event_class! {
    /// A sign-in to an identity provider or app (OCSF Authentication 3002).
    pub struct AuthEvent / AuthBuilder {
        /// Stable hash of the record's origin (source, partition, offset); the same record always gets the same id.
        event_id: String,
        /// When the event happened, UTC.
        time: Timestamp,
        /// Where the raw record came from: `file:<path>:<line>`, `stdin:<line>`, `kafka:<topic>/<partition>@<offset>`.
        origin: String,
        /// Input format id that decoded the record (e.g. `okta`).
        format: String,
        /// Vendor that wrote the log.
        vendor: Option<String>,
        /// Product that wrote the log.
        product: Option<String>,
        /// The vendor's event type (e.g. `user.session.start`).
        event_type: Option<String>,
        /// Who signed in (e-mail / UPN when the log has one).
        user: Option<String>,
        /// Display name of the user, when logged.
        user_name: Option<String>,
        /// IP address the sign-in came from.
        src_ip: Option<String>,
        /// Application signed in to, when logged.
        app: Option<String>,
        /// `success` or `failure`.
        result: Option<String>,
        /// Failure or status reason as the vendor wrote it.
        reason: Option<String>,
        /// Whether multi-factor authentication was used.
        mfa: Option<bool>,
        /// The raw User-Agent string.
        user_agent: Option<String>,
        /// Operating system of the client (from the log or the User-Agent).
        os: Option<String>,
        /// Device type or name.
        device: Option<String>,
    }
}

event_class! {
    /// An OAuth consent, grant or token authorisation (OCSF API Activity 6003).
    pub struct OauthEvent / OauthBuilder {
        /// Stable hash of the record's origin (source, partition, offset); the same record always gets the same id.
        event_id: String,
        /// When the event happened, UTC.
        time: Timestamp,
        /// Where the raw record came from: `file:<path>:<line>`, `stdin:<line>`, `kafka:<topic>/<partition>@<offset>`.
        origin: String,
        /// Input format id that decoded the record (e.g. `okta`).
        format: String,
        /// Vendor that wrote the log.
        vendor: Option<String>,
        /// Product that wrote the log.
        product: Option<String>,
        /// The vendor's event type (e.g. `app.oauth2.as.consent.grant`).
        event_type: Option<String>,
        /// The user who granted (or for whom admin granted) access.
        user: Option<String>,
        /// Name of the application that received the grant, as the vendor logged it
        /// (the catalog's name for it is `app_name`, added by enrichment).
        client_app: Option<String>,
        /// OAuth client id of the application.
        client_id: Option<String>,
        /// Scopes granted.
        scopes: Vec<String>,
        /// `consent`, `grant`, `authorize` or `revoke`.
        action: Option<String>,
        /// Whether an administrator consented for the whole organisation.
        admin_consent: Option<bool>,
        /// `success` or `failure`.
        result: Option<String>,
        /// IP address of the client.
        src_ip: Option<String>,
        /// The raw User-Agent string.
        user_agent: Option<String>,
    }
}

event_class! {
    /// A mail message or a mailbox / transport configuration change (OCSF Email Activity 4009).
    pub struct EmailEvent / EmailBuilder {
        /// Stable hash of the record's origin (source, partition, offset); the same record always gets the same id.
        event_id: String,
        /// When the event happened, UTC.
        time: Timestamp,
        /// Where the raw record came from: `file:<path>:<line>`, `stdin:<line>`, `kafka:<topic>/<partition>@<offset>`.
        origin: String,
        /// Input format id that decoded the record (e.g. `m365-audit`).
        format: String,
        /// Vendor that wrote the log.
        vendor: Option<String>,
        /// Product that wrote the log.
        product: Option<String>,
        /// `message`, `inbox_rule`, `mailbox_forwarding`, `transport_rule` or `routing_setting`.
        kind: Option<String>,
        /// The vendor's operation name (e.g. `New-InboxRule`).
        operation: Option<String>,
        /// The mailbox owner the event is about (or the sender of a message).
        user: Option<String>,
        /// Who performed the change, when different from `user` (e.g. an admin).
        actor: Option<String>,
        /// `inbound`, `outbound` or `internal` for messages.
        direction: Option<String>,
        /// Sender address of a message.
        sender: Option<String>,
        /// Recipient addresses of a message.
        recipients: Vec<String>,
        /// Subject of a message.
        subject: Option<String>,
        /// Message size in bytes.
        size: Option<i64>,
        /// Number of attachments.
        attachments: Option<i32>,
        /// Name of the inbox or transport rule.
        rule_name: Option<String>,
        /// Addresses mail is forwarded, redirected or copied to.
        forward_to: Vec<String>,
        /// Whether the rule hides mail from the owner (deletes it, marks it read, or keeps no local copy).
        hides_mail: Option<bool>,
        /// Whether the change succeeded.
        result: Option<String>,
        /// IP address of the client that made the change.
        src_ip: Option<String>,
    }
}
