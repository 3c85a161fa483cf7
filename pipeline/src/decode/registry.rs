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
        make: || Arc::new(super::panos::Panos),
    },
    FormatInfo {
        id: "zeek-dns",
        description: "Zeek dns.log, TSV (with its #fields header) or JSON",
        make: || Arc::new(super::zeek_dns::ZeekDns),
    },
    FormatInfo {
        id: "okta",
        description: "Okta System Log JSON: sign-ins and SSO (auth), OAuth consent and token grants (oauth)",
        make: || Arc::new(super::okta::Okta),
    },
    FormatInfo {
        id: "m365-audit",
        description: "Microsoft 365 Unified Audit Log JSON: inbox rules, mailbox forwarding, transport rules (email); sign-ins (auth)",
        make: || Arc::new(super::m365_audit::M365Audit),
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
