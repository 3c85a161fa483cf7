//! Columns the enrichment stage appends to each event class.
//!
//! Decoders never fill these; [`crate::transform::enrich`] computes them
//! batch-at-a-time and appends them after the class's own columns. Rules see
//! the base columns followed by these, then any custom GeoIP columns the
//! configuration adds (`[[enrichments.geoip.fields]]`, `auth` and `oauth`
//! only; see [`crate::transform::enrich::class_schemas`]).

use super::columns::{ColumnDef, ColumnKind};
use super::EventClass;

const fn col(name: &'static str, kind: ColumnKind, doc: &'static str) -> ColumnDef {
    ColumnDef { name, kind, nullable: true, doc }
}

/// App-catalog columns, looked up from a host, query, sender domain or client id.
pub const APP_COLUMNS: &[ColumnDef] = &[
    col(
        "app_id",
        ColumnKind::Utf8,
        " Catalog id of the SaaS app (e.g. `wetransfer`); null when the domain is not in the catalog.",
    ),
    col("app_name", ColumnKind::Utf8, " Display name of the app."),
    col("app_vendor", ColumnKind::Utf8, " Company behind the app (`the organisation` for the overlay's own apps)."),
    col("app_category", ColumnKind::Utf8, " Catalog category (`file_sharing`, `genai`, `remote_access`, ...)."),
    col("app_risk", ColumnKind::Int32, " Catalog risk score, 0 (benign) to 10."),
    col(
        "app_risk_factors",
        ColumnKind::Utf8List,
        " Why the risk: the catalog's risk factors (`uploads_data`, `consumer_terms`, `records_meetings`, ...).",
    ),
    col(
        "app_status",
        ColumnKind::Utf8,
        " `sanctioned`, `monitored`, `unsanctioned`, or `unknown` when the domain is not in the catalog.",
    ),
    col(
        "app_status_reason",
        ColumnKind::Utf8,
        " Why the organisation's overlay set the status (its `reason`, `category <c>: <reason>`, or `exception expired <date>`); null without an overlay entry.",
    ),
    col("app_owner", ColumnKind::Utf8, " Who answers for the overlay's decision on the app (its `owner`), when given."),
    col("app_alternative", ColumnKind::Utf8, " Name of the sanctioned app that does the same job, when there is one."),
    col(
        "app_exception",
        ColumnKind::Utf8,
        " The overlay exception that covers this event, if any: `everyone` (the overlay made the app `monitored`), or an `[[exception]]` entry's scope, `user:<name>` or `department:<name>`. The shadow-SaaS rules skip excepted events.",
    ),
];

/// Destination-IP columns of the `network` class (`dst_ip` looked up in the
/// MaxMind databases): where an upload went.
pub const DST_IP_COLUMNS: &[ColumnDef] = &[
    col("dst_country", ColumnKind::Utf8, " ISO country code of `dst_ip`."),
    col("dst_asn", ColumnKind::Int64, " Autonomous system number of `dst_ip`."),
    col("dst_as_org", ColumnKind::Utf8, " Autonomous system organisation (or ISP) of `dst_ip`."),
];

/// Who the event is about: the person's canonical id and how it is known,
/// then the user-directory columns (`[enrichments] directory`), joined on
/// `user_id`; the directory columns are null when the person is not in the
/// directory.
pub const USER_COLUMNS: &[ColumnDef] = &[
    col(
        "user_id",
        ColumnKind::Utf8,
        " The person, one id for all their aliases (`CORP\\Ana`, `ana@corp.example.com` and `ana` are `ana`): the log's `user` made canonical with the directory, or, when the log names nobody, the person the directory or the logs attribute the source address or device to. Rules that count people count this.",
    ),
    col(
        "user_source",
        ColumnKind::Utf8,
        " How `user_id` is known: `log` (the record names the user), `directory` (a fixed workstation's `ips` / `hosts`), `ip_lease` (the person the logs showed on the source address at the event's time; rules see it, the events sinks keep what was known when the record was read) or `none`.",
    ),
    col("user_display_name", ColumnKind::Utf8, " The user's display name from the directory."),
    col("user_email", ColumnKind::Utf8, " The user's primary address from the directory."),
    col("user_department", ColumnKind::Utf8, " The user's department from the directory."),
    col("user_manager", ColumnKind::Utf8, " The user's manager from the directory."),
    col("user_role", ColumnKind::Utf8, " The user's role or title from the directory."),
    col(
        "user_flags",
        ColumnKind::Utf8List,
        " The user's directory labels, lower case (`vip`, `contractor`, `travels`, ...).",
    ),
];

/// IP-context columns from the MaxMind databases and the corporate CIDRs.
pub const IP_COLUMNS: &[ColumnDef] = &[
    col("geo_country", ColumnKind::Utf8, " ISO country code of `src_ip`."),
    col("geo_city", ColumnKind::Utf8, " City of `src_ip` (English name)."),
    col("asn", ColumnKind::Int64, " Autonomous system number of `src_ip`."),
    col("as_org", ColumnKind::Utf8, " Autonomous system organisation of `src_ip`."),
    col(
        "connection_type",
        ColumnKind::Utf8,
        " MaxMind connection type (`Cable/DSL`, `Cellular`, `Corporate`, `Satellite`).",
    ),
    col(
        "user_type",
        ColumnKind::Utf8,
        " MaxMind Enterprise user type (`cafe`, `traveler`, `library`, `residential`, ...).",
    ),
    col(
        "is_anonymous",
        ColumnKind::Bool,
        " Whether `src_ip` is a VPN, proxy or Tor exit per the Anonymous-IP database.",
    ),
    col(
        "network_type",
        ColumnKind::Utf8,
        " `corporate`, `anonymizer`, `public_wifi`, `cellular`, `satellite`, `hosting`, `residential` or `unknown`.",
    ),
];

/// Sender-side columns of the `email` class.
pub const SENDER_COLUMNS: &[ColumnDef] = &[
    col("sender_domain", ColumnKind::Utf8, " Domain of `sender`, lower case."),
    col(
        "sender_is_personal",
        ColumnKind::Bool,
        " Whether `sender_domain` is a free-mail or disposable provider: the mail comes from a person's own mailbox (a customer on gmail.com), never from a vendor.",
    ),
];

/// Destination-address columns of the `email` class: the first external
/// address among `forward_to` then `recipients` (one that is not a
/// partner's before a partner's).
pub const DEST_COLUMNS: &[ColumnDef] = &[
    col("dest_address", ColumnKind::Utf8, " The destination that matters: the first non-corporate address of `forward_to`, then of `recipients`, one outside the overlay's partners first (else the first address)."),
    col("dest_domain", ColumnKind::Utf8, " Domain of `dest_address`."),
    col("dest_is_personal", ColumnKind::Bool, " Whether `dest_domain` is a free-mail provider (personal mailbox)."),
    col("dest_is_disposable", ColumnKind::Bool, " Whether `dest_domain` is a disposable-mail provider."),
    col("dest_is_corporate", ColumnKind::Bool, " Whether `dest_domain` is one of the organisation's own domains."),
    col("dest_resembles_user", ColumnKind::Bool, " Whether a personal `dest_address` looks like the mailbox owner's own (name similarity with `user` and, when known, the directory display name)."),
    col("external_dest_count", ColumnKind::Int32, " How many destination addresses are outside the organisation's domains."),
    col(
        "dest_partner",
        ColumnKind::Utf8,
        " The overlay `[[partner]]` (its name) `dest_address` belongs to, while the agreement holds; set only when every external destination is a partner's. The forwarding and sharing rules skip such events.",
    ),
];

/// The enrichment column groups appended to `class`, in order.
pub fn enrichment_groups(class: EventClass) -> &'static [&'static [ColumnDef]] {
    match class {
        EventClass::Network => &[APP_COLUMNS, DST_IP_COLUMNS, USER_COLUMNS],
        EventClass::Dns => &[APP_COLUMNS, USER_COLUMNS],
        EventClass::Auth => &[IP_COLUMNS, USER_COLUMNS],
        EventClass::Oauth => &[APP_COLUMNS, IP_COLUMNS, USER_COLUMNS],
        EventClass::Email => &[SENDER_COLUMNS, APP_COLUMNS, DEST_COLUMNS, USER_COLUMNS],
    }
}
