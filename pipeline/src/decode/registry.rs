//! The table of input formats: id → decoder, with a one-line description
//! used by `floodlight parse --help`, `floodlight validate` and the docs.

use std::sync::Arc;

use super::Decoder;
use crate::schema::EventClass;

/// A registered input format.
pub struct FormatInfo {
    /// Format id used in config and on the command line.
    pub id: &'static str,
    /// What it reads.
    pub description: &'static str,
    /// Constructor.
    make: fn() -> Arc<dyn Decoder>,
}

impl FormatInfo {
    /// A new decoder instance for this format.
    pub fn decoder(&self) -> Arc<dyn Decoder> {
        (self.make)()
    }

    /// The classes this format produces.
    pub fn classes(&self) -> &'static [EventClass] {
        (self.make)().classes()
    }
}

static FORMATS: &[FormatInfo] = &[
    FormatInfo {
        id: "floodlight-json",
        description: "floodlight's normalized JSON, one event per line with a `class` key (any class)",
        make: || Arc::new(super::floodlight_json::FloodlightJson),
    },
    FormatInfo {
        id: "panos",
        description: "Palo Alto Networks PAN-OS syslog CSV: TRAFFIC and THREAT (url), with or without syslog header",
        make: || Arc::new(super::network::panos::Panos),
    },
    FormatInfo {
        id: "zeek-dns",
        description: "Zeek dns.log, TSV (with its #fields header) or JSON",
        make: || Arc::new(super::dns::zeek_dns::ZeekDns),
    },
    FormatInfo {
        id: "okta",
        description: "Okta System Log JSON, also event-hook deliveries and EventBridge events: sign-ins and SSO (auth), OAuth consent and token grants (oauth)",
        make: || Arc::new(super::identity::okta::Okta),
    },
    FormatInfo {
        id: "m365-audit",
        description: "Microsoft 365 Unified Audit Log JSON: inbox rules, mailbox forwarding, transport rules (email); sign-ins (auth); consent and permission grants (oauth)",
        make: || Arc::new(super::email::m365_audit::M365Audit),
    },
    FormatInfo {
        id: "m365-message-trace",
        description: "Exchange Online message trace: Get-MessageTrace[V2] JSON / CSV, Graph exchangeMessageTrace, admin-center report CSV (email messages)",
        make: || Arc::new(super::email::m365_message_trace::M365MessageTrace),
    },
    FormatInfo {
        id: "cisco-asa",
        description: "Cisco ASA / FTD syslog: connection built/teardown, deny and access-list messages (network); other message ids skipped",
        make: || Arc::new(super::network::cisco_asa::CiscoAsa),
    },
    FormatInfo {
        id: "fortigate",
        description: "Fortinet FortiGate (FortiOS) key=value logs: traffic and UTM webfilter (network)",
        make: || Arc::new(super::network::fortigate::Fortigate),
    },
    FormatInfo {
        id: "squid",
        description: "Squid native access.log (network)",
        make: || Arc::new(super::network::squid::Squid),
    },
    FormatInfo {
        id: "cef",
        description: "ArcSight Common Event Format (CEF:0), with or without a syslog header (network)",
        make: || Arc::new(super::network::cef::Cef),
    },
    FormatInfo {
        id: "w3c",
        description: "W3C extended log with a #Fields: header, as Blue Coat ProxySG and IIS write it (network)",
        make: || Arc::new(super::network::w3c::W3c),
    },
    FormatInfo {
        id: "zeek-conn",
        description: "Zeek conn.log, TSV (with its #fields header) or JSON (network)",
        make: || Arc::new(super::network::zeek_conn::ZeekConn),
    },
    FormatInfo {
        id: "zeek-http",
        description: "Zeek http.log, TSV or JSON (network, with host, URL and method)",
        make: || Arc::new(super::network::zeek_http::ZeekHttp),
    },
    FormatInfo {
        id: "zeek-ssl",
        description: "Zeek ssl.log, TSV or JSON; the SNI becomes the host (network)",
        make: || Arc::new(super::network::zeek_ssl::ZeekSsl),
    },
    FormatInfo {
        id: "bind-query",
        description: "ISC BIND 9 query log, also as Infoblox NIOS forwards it over syslog (dns)",
        make: || Arc::new(super::dns::bind_query::BindQuery),
    },
    FormatInfo {
        id: "windows-dns",
        description: "Windows DNS Server debug (packet) log (dns)",
        make: || Arc::new(super::dns::windows_dns::WindowsDns),
    },
    FormatInfo {
        id: "umbrella-dns",
        description: "Cisco Umbrella DNS logs: S3 CSV export and JSON (dns)",
        make: || Arc::new(super::dns::umbrella_dns::UmbrellaDns),
    },
    FormatInfo {
        id: "entra-signin",
        description: "Microsoft Entra ID sign-in logs: Graph signIn and Azure Monitor diagnostic form (auth)",
        make: || Arc::new(super::identity::entra_signin::EntraSignin),
    },
    FormatInfo {
        id: "entra-audit",
        description: "Microsoft Entra ID audit logs: consent to application, delegated permission grants (oauth)",
        make: || Arc::new(super::identity::entra_audit::EntraAudit),
    },
    FormatInfo {
        id: "google-workspace",
        description: "Google Workspace Reports API activities: login (auth), token authorize (oauth), Gmail forwarding and routing (email)",
        make: || Arc::new(super::identity::google_workspace::GoogleWorkspace),
    },
    FormatInfo {
        id: "github-audit",
        description: "GitHub audit log: OAuth app authorizations, approvals and GitHub App installations (oauth); web sign-ins (auth)",
        make: || Arc::new(super::identity::github_audit::GithubAudit),
    },
    FormatInfo {
        id: "github-webhook",
        description: "GitHub App webhook deliveries (REST API deliveries or captured requests): App installations, repository access changes, revoked user authorizations (oauth)",
        make: || Arc::new(super::identity::github_webhook::GithubWebhook),
    },
    FormatInfo {
        id: "auto",
        description: "recognise each record's format among the above (mixed topics and files); rows keep the recognised format",
        make: || Arc::new(super::auto::Auto),
    },
];

/// Every registered format.
pub fn formats() -> &'static [FormatInfo] {
    FORMATS
}

/// The decoder for `id`, or `None` when no such format exists.
pub fn decoder_for(id: &str) -> Option<Arc<dyn Decoder>> {
    FORMATS.iter().find(|f| f.id == id).map(FormatInfo::decoder)
}

/// The ids of every format, comma-separated, for error messages.
pub fn format_ids() -> String {
    FORMATS.iter().map(|f| f.id).collect::<Vec<_>>().join(", ")
}
