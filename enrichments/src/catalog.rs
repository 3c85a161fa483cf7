//! The SaaS app catalog: which app a domain, OAuth client id or OAuth app
//! name belongs to, what kind of app it is ([`Category`]), how risky and why
//! ([`RiskFactor`], [`risk_score`]), whether the organisation sanctions it
//! ([`AppStatus`]) and which sanctioned app does the same job.
//!
//! The catalog is a TOML file of `[[app]]` tables. The bundled one,
//! `enrichments/data/catalog.toml`, is *generated* by
//! [`catalog_build`](crate::catalog_build) (`cargo run -p
//! floodlight-enrichments --bin build-catalog`) from curated entries and open
//! upstream lists; see `docs/enrichment.md` and `enrichments/data/README.md`.
//! The organisation's own stance is layered on top by
//! [`overlay`](crate::overlay); `App::status` is always the *effective* status.
//!
//! # Matching
//!
//! Domain matching is by whole-label suffix, longest first:
//! `eu.files.wetransfer.com` matches an app listing `wetransfer.com`;
//! `notwetransfer.com` and `wetransfer.com.evil.example` do not, and an app
//! listing `files.example.com` beats one listing `example.com`. Lookups accept
//! what logs contain: any case, a trailing dot, `:port`, `www.`, `*.`, a URL
//! with scheme, user info, path, query (`https://u@WWW.WeTransfer.com:443/x?y`).
//! IP literals never match. Hosts are compared in ASCII: an internationalised
//! name must arrive in its `xn--` form (catalog domains are ASCII).
//!
//! Lookup is one hash probe per label suffix of the host, longest first,
//! starting at most at the catalog's longest domain (a handful of probes),
//! with no allocation: an upper-case host is lower-cased into a stack buffer.
//!
//! The public suffix list (`psl` crate) guards the catalog on load: a domain
//! that is itself an ICANN public suffix (`com`, `co.uk`) is rejected because
//! it would match every site under it. Every listed domain is therefore at or
//! below a registrable domain, so a host can only ever match an app that lists
//! the host's own registrable domain (or a name under it): `wetransfer.co.uk`
//! can never match an app listing `mega.co.uk`. Vendor-owned *private*
//! suffixes (`ngrok-free.app`, `github.io`) are allowed and match their
//! subdomains: tunnels and pages under them are the vendor's service; a more
//! specific entry (`someone.github.io`) still wins by length.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::error::EnrichmentError;

macro_rules! closed_set {
    (
        $(#[$meta:meta])* $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )*
        }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The snake_case name used in files, columns and rules.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(format!(
                        "unknown {} `{s}` (expected one of {})",
                        stringify!($name),
                        [$($text),*].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

closed_set! {
    /// App categories: one taxonomy, documented in `docs/enrichment.md`
    /// (`## Categories`); [`Category::definition`] gives each one's meaning.
    pub enum Category {
        /// Send-a-file and file-hosting services.
        FileSharing = "file_sharing",
        /// Sync-and-share storage accounts.
        CloudStorage = "cloud_storage",
        /// Generative AI assistants, coding assistants, model APIs, media generators.
        GenAi = "genai",
        /// Chat, messaging and VoIP.
        Messaging = "messaging",
        /// Online PDF / document / media converters and editors.
        FileConversion = "file_conversion",
        /// Meeting recorders, note-taker bots and transcription.
        Transcription = "transcription",
        /// Paste sites.
        Paste = "paste",
        /// Clipboard and push sync between devices.
        ClipboardSync = "clipboard_sync",
        /// Remote desktop, remote support and tunnels.
        RemoteAccess = "remote_access",
        /// Consumer VPNs, proxies, anonymity networks, public DoH resolvers.
        VpnProxy = "vpn_proxy",
        /// Whiteboards, wikis, shared workspaces and databases.
        Collaboration = "collaboration",
        /// Code hosting, CI, registries, online IDEs.
        DevTools = "dev_tools",
        /// Customer relationship management and support desks.
        Crm = "crm",
        /// Web mail and disposable mail.
        Email = "email",
        /// Social networks and communities.
        Social = "social",
        /// Payments, transfers, banking and SaaS billing processors.
        Finance = "finance",
        /// Cloud, hosting and serverless platforms.
        CloudInfrastructure = "cloud_infrastructure",
        /// Office suites, calendars, scheduling, writing tools.
        Productivity = "productivity",
        /// Video meetings and webinars.
        VideoConferencing = "video_conferencing",
        /// Identity providers and authenticators.
        Identity = "identity",
        /// Design, prototyping and stock media.
        Design = "design",
        /// Password managers and secret vaults.
        PasswordManager = "password_manager",
        /// Link shorteners.
        UrlShortener = "url_shortener",
        /// Electronic signature.
        ESignature = "e_signature",
        /// Task boards and work management.
        ProjectManagement = "project_management",
        /// Note-taking and personal knowledge bases.
        NoteTaking = "note_taking",
        /// Online forms and surveys.
        FormsSurveys = "forms_surveys",
        /// HR, payroll and recruiting.
        Hr = "hr",
        /// Email marketing, newsletters, social scheduling.
        Marketing = "marketing",
        /// Machine translation.
        Translation = "translation",
        /// Integration and automation platforms.
        Automation = "automation",
    }
}

impl Category {
    /// One-line definition (the `## Categories` table in `docs/enrichment.md`).
    pub fn definition(self) -> &'static str {
        match self {
            Category::FileSharing => "Send-a-file and file-hosting services: upload, get a link (WeTransfer, Gofile, image hosts, IPFS gateways).",
            Category::CloudStorage => "Sync-and-share storage accounts (Dropbox, Box, Google Drive, iCloud Drive, OneDrive).",
            Category::GenAi => "Generative-AI assistants, coding assistants, model APIs and media generators (ChatGPT, Claude, Cursor, Midjourney).",
            Category::Messaging => "Chat, messaging and voice apps (WhatsApp, Telegram, Signal, Discord, Slack).",
            Category::FileConversion => "Online PDF, document, image and media converters and editors (iLovePDF, Smallpdf, CloudConvert).",
            Category::Transcription => "Meeting recorders, note-taker bots and audio/video transcription (Otter.ai, Fireflies.ai, Rev).",
            Category::Paste => "Paste sites and text bins (Pastebin, hastebin, PrivateBin instances, Rentry).",
            Category::ClipboardSync => "Clipboard, text and file push between devices (Pushbullet, Join, Snapdrop).",
            Category::RemoteAccess => "Remote desktop and support tools, and tunnels that expose internal services (AnyDesk, TeamViewer, ngrok).",
            Category::VpnProxy => "Consumer VPNs, proxies, anonymity networks and public encrypted-DNS resolvers that route around corporate controls (NordVPN, Psiphon, Tor).",
            Category::Collaboration => "Whiteboards, wikis, shared workspaces and databases (Miro, Confluence, Airtable).",
            Category::DevTools => "Code hosting, CI, package registries, online IDEs and developer platforms (GitHub, GitLab, Replit).",
            Category::Crm => "Customer relationship management and customer-support desks (Salesforce, HubSpot, Zendesk).",
            Category::Email => "Web mail, personal mailboxes and disposable addresses (Gmail, Outlook.com, Proton Mail, Temp Mail).",
            Category::Social => "Social networks and community platforms (LinkedIn, Facebook, X, Reddit).",
            Category::Finance => "Payments, money transfer, banking and the SaaS billing processors whose receipts reveal paid tools (PayPal, Wise, Paddle).",
            Category::CloudInfrastructure => "Cloud, hosting and serverless platforms where personal accounts run workloads (AWS, Vercel, DigitalOcean).",
            Category::Productivity => "Office suites, calendars and scheduling, writing and reading tools (Microsoft 365, Calendly).",
            Category::VideoConferencing => "Video meetings and webinars (Zoom, Microsoft Teams, Google Meet, Webex).",
            Category::Identity => "Identity providers, single sign-on and authenticator services (Okta, Microsoft Entra ID, Auth0).",
            Category::Design => "Design, prototyping and stock-media tools (Figma, Canva, Adobe Express).",
            Category::PasswordManager => "Password managers and secret vaults (1Password, Bitwarden, LastPass).",
            Category::UrlShortener => "Link shorteners that hide the destination of a link (Bitly, TinyURL).",
            Category::ESignature => "Electronic signature and document-signing services (DocuSign, Dropbox Sign).",
            Category::ProjectManagement => "Task boards and project / work management (Trello, Asana, monday.com).",
            Category::NoteTaking => "Note-taking apps and personal knowledge bases (Notion, Evernote).",
            Category::FormsSurveys => "Online forms, surveys and quizzes that collect responses (Typeform, SurveyMonkey, Jotform).",
            Category::Hr => "HR, payroll, recruiting and applicant tracking (Workday, BambooHR, Greenhouse).",
            Category::Marketing => "Email marketing, newsletters, social-media scheduling and landing pages (Mailchimp, Buffer).",
            Category::Translation => "Machine translation of text and documents (DeepL, Google Translate).",
            Category::Automation => "Integration and automation platforms that move data between apps under stored OAuth grants (Zapier, IFTTT, Make).",
        }
    }
}

closed_set! {
    /// The organisation's stance on an app.
    pub enum AppStatus {
        /// Approved and managed by IT.
        Sanctioned = "sanctioned",
        /// Tolerated, watched.
        Monitored = "monitored",
        /// Not approved.
        Unsanctioned = "unsanctioned",
    }
}

closed_set! {
    /// Why an app is risky: a closed set, each with a weight
    /// ([`RiskFactor::weight`]); `docs/enrichment.md` (`## Risk score`)
    /// has the table. [`risk_score`] turns a list of them into the 0–10 score.
    pub enum RiskFactor {
        /// Users upload files, documents, recordings or prompts the vendor stores.
        UploadsData = "uploads_data",
        /// Content is shared through links anyone can open without signing in.
        PublicLinks = "public_links",
        /// Content is public or search-indexed unless the user changes it.
        PublicByDefault = "public_by_default",
        /// Used with personal accounts under consumer terms.
        ConsumerTerms = "consumer_terms",
        /// No SSO / SCIM.
        NoEnterpriseSso = "no_enterprise_sso",
        /// No admin console or audit log.
        NoAdminAudit = "no_admin_audit",
        /// Inputs may train the vendor's models by default.
        TrainsOnUserData = "trains_on_user_data",
        /// End-to-end encrypted content inspection cannot see.
        E2eUnmanaged = "e2e_unmanaged",
        /// Reads what the user types or views across apps.
        ReadsUserInput = "reads_user_input",
        /// Joins or records meetings.
        RecordsMeetings = "records_meetings",
        /// Integration requests broad mail / calendar / file / directory scopes.
        BroadOauthScopes = "broad_oauth_scopes",
        /// Interactive control of the machine from outside.
        RemoteControl = "remote_control",
        /// Tunnels or encrypts traffic around network controls.
        TrafficTunnelling = "traffic_tunnelling",
        /// Publishes internal services to the internet.
        ExposesInternalServices = "exposes_internal_services",
        /// Stores passwords, keys or secrets.
        CredentialStore = "credential_store",
        /// Hosts or runs source code.
        SourceCode = "source_code",
        /// A mailbox outside the organisation.
        PersonalMailbox = "personal_mailbox",
        /// Payments or transfers outside procurement.
        MovesMoney = "moves_money",
        /// Hides the destination of a link.
        HidesLinkTarget = "hides_link_target",
        /// Routinely abused by attackers.
        AttackerFavoured = "attacker_favoured",
        /// Data held under a jurisdiction without adequate safeguards.
        Jurisdiction = "jurisdiction",
        /// Publicly reported breach of customer data.
        BreachHistory = "breach_history",
        /// Derived from an upstream list only; metadata not reviewed.
        Unreviewed = "unreviewed",
    }
}

impl RiskFactor {
    /// Points this factor adds to the risk score.
    pub fn weight(self) -> u8 {
        match self {
            RiskFactor::UploadsData => 2,
            RiskFactor::PublicLinks => 2,
            RiskFactor::PublicByDefault => 2,
            RiskFactor::ConsumerTerms => 1,
            RiskFactor::NoEnterpriseSso => 1,
            RiskFactor::NoAdminAudit => 1,
            RiskFactor::TrainsOnUserData => 2,
            RiskFactor::E2eUnmanaged => 1,
            RiskFactor::ReadsUserInput => 2,
            RiskFactor::RecordsMeetings => 2,
            RiskFactor::BroadOauthScopes => 2,
            RiskFactor::RemoteControl => 3,
            RiskFactor::TrafficTunnelling => 3,
            RiskFactor::ExposesInternalServices => 2,
            RiskFactor::CredentialStore => 2,
            RiskFactor::SourceCode => 2,
            RiskFactor::PersonalMailbox => 2,
            RiskFactor::MovesMoney => 1,
            RiskFactor::HidesLinkTarget => 1,
            RiskFactor::AttackerFavoured => 2,
            RiskFactor::Jurisdiction => 2,
            RiskFactor::BreachHistory => 1,
            RiskFactor::Unreviewed => 1,
        }
    }

    /// One-line meaning (the `## Risk score` table in `docs/enrichment.md`).
    pub fn meaning(self) -> &'static str {
        match self {
            RiskFactor::UploadsData => "Users upload files, documents, recordings or prompts that the vendor stores.",
            RiskFactor::PublicLinks => "Content is shared through links that anyone holding them can open, without signing in.",
            RiskFactor::PublicByDefault => "Content is public or search-indexed unless the user changes it.",
            RiskFactor::ConsumerTerms => "Typically used with personal accounts under consumer terms: no contract or DPA with the organisation.",
            RiskFactor::NoEnterpriseSso => "No SSO / SCIM in the plans people use: accounts are not tied to corporate identity or offboarding.",
            RiskFactor::NoAdminAudit => "No organisation admin console or audit log for what users do.",
            RiskFactor::TrainsOnUserData => "Inputs may be used to train the vendor's models by default (consumer tiers).",
            RiskFactor::E2eUnmanaged => "End-to-end encrypted content that TLS inspection and DLP cannot see.",
            RiskFactor::ReadsUserInput => "An extension or agent reads what the user types or views across other apps.",
            RiskFactor::RecordsMeetings => "Joins or records meetings; audio, video and transcripts are stored by the vendor.",
            RiskFactor::BroadOauthScopes => "Its integrations usually request broad mail, calendar, file or directory OAuth scopes.",
            RiskFactor::RemoteControl => "Gives interactive control of the machine from outside the organisation.",
            RiskFactor::TrafficTunnelling => "Tunnels or encrypts traffic around corporate network controls (proxy, DNS filter, DLP).",
            RiskFactor::ExposesInternalServices => "Publishes services on the internal network or a laptop to the internet.",
            RiskFactor::CredentialStore => "Stores passwords, keys, one-time-password seeds or other secrets.",
            RiskFactor::SourceCode => "Hosts or runs source code, where code and embedded secrets can leak.",
            RiskFactor::PersonalMailbox => "A mailbox outside the organisation: mail sent or forwarded there has left it.",
            RiskFactor::MovesMoney => "Payments or transfers: spending outside procurement, or company money moving.",
            RiskFactor::HidesLinkTarget => "Hides the real destination of a link (used to disguise phishing and malware links).",
            RiskFactor::AttackerFavoured => "Routinely abused by attackers: malware delivery, command and control, hands-on access, leak sites.",
            RiskFactor::Jurisdiction => "Data held in a jurisdiction with broad state access and no data-protection adequacy for EU / US organisations.",
            RiskFactor::BreachHistory => "A publicly reported breach of customer data or accounts.",
            RiskFactor::Unreviewed => "Derived from an upstream list only: name, vendor and factors not reviewed by a curator.",
        }
    }
}

/// The risk score of a set of factors: the sum of their weights (each factor
/// counted once), capped at 10.
pub fn risk_score(factors: &[RiskFactor]) -> u8 {
    let mut seen = 0u64;
    let mut sum = 0u32;
    for f in factors {
        let bit = 1u64 << (*f as u32);
        if seen & bit == 0 {
            seen |= bit;
            sum += u32::from(f.weight());
        }
    }
    sum.min(10) as u8
}

/// One catalog entry, as the pipeline sees it: `status`, `alternative` and
/// the three overlay fields are *effective* values once an
/// [`Overlay`](crate::overlay::Overlay) has been applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "AppRecord")]
pub struct App {
    /// Stable id (`wetransfer`).
    pub id: String,
    /// Display name (`WeTransfer`).
    pub name: String,
    /// Company behind it.
    pub vendor: String,
    /// Domain suffixes (`wetransfer.com`, `we.tl`), lower case.
    pub domains: Vec<String>,
    /// OAuth client ids / application ids seen in consent and sign-in logs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ids: Vec<String>,
    /// Further names the app appears under in OAuth consent logs (besides `name`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oauth_names: Vec<String>,
    /// Category.
    pub category: Category,
    /// Risk score 0 (benign) to 10; [`risk_score`] of `risk_factors` unless
    /// a custom catalog wrote its own.
    pub risk: u8,
    /// Why the risk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risk_factors: Vec<RiskFactor>,
    /// Effective status (catalog default unless the overlay changed it).
    pub status: AppStatus,
    /// Id of the sanctioned app that does the same job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative: Option<String>,
    /// Why the risk / status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Where the entry comes from (`curated`, `v2fly:<list>`, `ai_domains.csv`, reference URLs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Why the status differs from the catalog default (set by the overlay,
    /// e.g. `exception expired 2027-03-31`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Who answers for the overlay's decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Last day the overlay's exception holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Date>,
}

impl App {
    /// Whether the organisation excepted this app for everyone: an overlay
    /// `[[app]]` or `[[category]]` entry says `monitored` and has not expired
    /// (the catalog's own `monitored` default is not an exception).
    pub fn excepted_for_everyone(&self) -> bool {
        self.status == AppStatus::Monitored && self.status_reason.is_some()
    }
}

/// An `[[app]]` table as written in a catalog file: `risk` may be left out
/// (then it is [`risk_score`] of `risk_factors`); overlay fields are not allowed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppRecord {
    id: String,
    name: String,
    vendor: String,
    domains: Vec<String>,
    #[serde(default)]
    client_ids: Vec<String>,
    #[serde(default)]
    oauth_names: Vec<String>,
    category: Category,
    #[serde(default)]
    risk: Option<i64>,
    #[serde(default)]
    risk_factors: Vec<RiskFactor>,
    status: AppStatus,
    #[serde(default)]
    alternative: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
}

impl AppRecord {
    fn into_app(self) -> Result<App, String> {
        let risk = match self.risk {
            None => risk_score(&self.risk_factors),
            Some(r) if (0..=10).contains(&r) => r as u8,
            Some(r) => return Err(format!("app `{}`: risk {r} is out of range 0-10", self.id)),
        };
        Ok(self.with_risk(risk))
    }

    fn with_risk(self, risk: u8) -> App {
        App {
            id: self.id,
            name: self.name,
            vendor: self.vendor,
            domains: self.domains,
            client_ids: self.client_ids,
            oauth_names: self.oauth_names,
            category: self.category,
            risk,
            risk_factors: self.risk_factors,
            status: self.status,
            alternative: self.alternative,
            notes: self.notes,
            sources: self.sources,
            status_reason: None,
            owner: None,
            expires: None,
        }
    }
}

impl From<AppRecord> for App {
    /// Out-of-range risks are clamped to 0..=10 here; [`AppCatalog::from_toml`]
    /// reports them instead.
    fn from(r: AppRecord) -> App {
        let risk = match r.risk {
            None => risk_score(&r.risk_factors),
            Some(v) => v.clamp(0, 10) as u8,
        };
        r.with_risk(risk)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    app: Vec<AppRecord>,
}

/// The bundled catalog text (generated; see [`crate::catalog_build`]).
pub const EMBEDDED_CATALOG: &str = include_str!("../data/catalog.toml");

/// FxHash-style hasher for the domain index: hosts are short and the table
/// is fixed after load, so a fast non-keyed hash is safe and cheap.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<V> = HashMap<Box<str>, V, BuildHasherDefault<FastHasher>>;

/// An indexed, validated catalog.
#[derive(Debug, Clone)]
pub struct AppCatalog {
    pub(crate) apps: Vec<App>,
    by_id: HashMap<String, usize>,
    by_domain: FastMap<u32>,
    /// Most labels of any listed domain: longer hosts skip their leading labels.
    max_labels: usize,
    by_client_id: HashMap<String, usize>,
    by_oauth_name: HashMap<String, usize>,
    /// The overlay's `[[exception]]` entries in force, by app id.
    pub(crate) exceptions: HashMap<String, Vec<crate::overlay::ExceptionRule>>,
}

/// Longest host name we look up (RFC 1035: 253 characters).
const MAX_HOST: usize = 253;

/// The host part of `input`, normalised for lookup, without allocating:
/// borrowed from `input` when it is already lower case, else lower-cased
/// into `buf`. `None` for IP literals and things that are not host names.
fn host_key<'a>(input: &'a str, buf: &'a mut [u8; MAX_HOST]) -> Option<&'a str> {
    let mut h = input.trim();
    if let Some(i) = h.find("://") {
        h = &h[i + 3..];
    }
    if let Some(i) = h.find(['/', '?', '#']) {
        h = &h[..i];
    }
    if let Some(i) = h.rfind('@') {
        h = &h[i + 1..];
    }
    if h.starts_with('[') {
        return None; // IPv6 literal
    }
    if let Some((name, port)) = h.rsplit_once(':') {
        if name.contains(':') {
            return None; // bare IPv6
        }
        if !port.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        h = name;
    }
    let h = h.trim_end_matches('.');
    let h = h.strip_prefix("*.").unwrap_or(h);
    let h = match h.get(..4) {
        Some(w) if w.eq_ignore_ascii_case("www.") && h[4..].contains('.') => &h[4..],
        _ => h,
    };
    if h.is_empty() || h.len() > MAX_HOST {
        return None;
    }
    if h.bytes().any(|c| c.is_ascii_uppercase()) {
        let out = &mut buf[..h.len()];
        out.copy_from_slice(h.as_bytes());
        out.make_ascii_lowercase();
        // Only ASCII bytes changed, so this is still UTF-8.
        std::str::from_utf8(out).ok()
    } else {
        Some(h)
    }
}

/// Normalise a host or URL for display and indexing: lower case, no scheme,
/// path, user info or port, no trailing dot, no leading `*.` or `www.`.
/// Empty for IP literals.
pub fn normalize_host(host: &str) -> String {
    let mut buf = [0u8; MAX_HOST];
    host_key(host, &mut buf).map(str::to_string).unwrap_or_default()
}

/// `name` normalised for OAuth-name matching: trimmed, inner whitespace
/// collapsed to one space, lower case. Borrowed when already normal.
pub fn normalize_app_name(name: &str) -> Cow<'_, str> {
    let t = name.trim();
    let normal = !t.chars().any(|c| c.is_uppercase() || (c.is_whitespace() && c != ' ')) && !t.contains("  ");
    if normal {
        Cow::Borrowed(t)
    } else {
        Cow::Owned(t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase())
    }
}

/// Letters, digits, `-` and `_` in dot-separated labels; at least two labels;
/// the last label not all digits (an IP address is not a domain).
pub(crate) fn is_domain_name(n: &str) -> bool {
    n.len() <= MAX_HOST
        && n.contains('.')
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        && !n.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|c| c.is_ascii_digit()))
}

/// Whether `n` is itself a known ICANN public suffix (`com`, `co.uk`).
pub(crate) fn is_icann_suffix(n: &str) -> bool {
    psl::suffix(n.as_bytes())
        .is_some_and(|s| s.is_known() && s.as_bytes() == n.as_bytes() && s.typ() == Some(psl::Type::Icann))
}

impl AppCatalog {
    /// Parse and validate a catalog. `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<AppCatalog, EnrichmentError> {
        let err = |message: String| EnrichmentError::Catalog { origin: origin.to_string(), message };
        let file: CatalogFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1).unwrap_or(1);
            err(format!("line {line}: {}", e.message()))
        })?;
        let apps = file.app.into_iter().map(AppRecord::into_app).collect::<Result<Vec<_>, _>>().map_err(err)?;
        Self::from_apps(apps).map_err(err)
    }

    /// Index and validate a list of apps. Domains are normalised
    /// ([`normalize_host`]); the error names the app and the rule broken.
    pub fn from_apps(mut apps: Vec<App>) -> Result<AppCatalog, String> {
        for a in &mut apps {
            for d in &mut a.domains {
                let n = normalize_host(d);
                if !is_domain_name(&n) {
                    return Err(format!("app `{}`: `{d}` is not a domain name", a.id));
                }
                *d = n;
            }
        }
        let mut by_id = HashMap::new();
        let mut by_domain: FastMap<u32> = FastMap::default();
        let mut by_client_id = HashMap::new();
        let mut by_oauth_name: HashMap<String, usize> = HashMap::new();
        let mut max_labels = 0;
        for (i, a) in apps.iter().enumerate() {
            if a.id.is_empty() || !a.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                return Err(format!("app `{}`: id must be lower-case letters, digits and `-`", a.id));
            }
            if by_id.insert(a.id.clone(), i).is_some() {
                return Err(format!("app `{}` is listed twice", a.id));
            }
            if a.risk > 10 {
                return Err(format!("app `{}`: risk {} is out of range 0-10", a.id, a.risk));
            }
            if a.name.trim().is_empty() || a.vendor.trim().is_empty() {
                return Err(format!("app `{}`: name and vendor must not be empty", a.id));
            }
            if a.domains.is_empty() {
                return Err(format!("app `{}`: `domains` must list at least one domain", a.id));
            }
            for n in &a.domains {
                if is_icann_suffix(n) {
                    return Err(format!(
                        "app `{}`: `{n}` is a public suffix and would match every site under it; list the vendor's own domain",
                        a.id
                    ));
                }
                max_labels = max_labels.max(n.split('.').count());
                if let Some(other) = by_domain.insert(n.clone().into_boxed_str(), i as u32) {
                    let other = &apps[other as usize].id;
                    return Err(if *other == a.id {
                        format!("app `{}`: domain `{n}` is listed twice", a.id)
                    } else {
                        format!("app `{}`: domain `{n}` is already listed by app `{other}`", a.id)
                    });
                }
            }
            for c in &a.client_ids {
                let key = c.trim().to_ascii_lowercase();
                if key.is_empty() {
                    return Err(format!("app `{}`: empty client id", a.id));
                }
                if let Some(other) = by_client_id.insert(key, i) {
                    return Err(format!(
                        "app `{}`: client id `{c}` is already listed by app `{}`",
                        a.id, apps[other].id
                    ));
                }
            }
            for n in std::iter::once(&a.name).chain(&a.oauth_names) {
                let key = normalize_app_name(n).into_owned();
                if key.is_empty() {
                    return Err(format!("app `{}`: empty OAuth app name", a.id));
                }
                match by_oauth_name.insert(key, i) {
                    Some(other) if other != i => {
                        return Err(format!(
                            "app `{}`: name `{n}` is already used by app `{}` (names and oauth_names must be unique)",
                            a.id, apps[other].id
                        ))
                    }
                    _ => {}
                }
            }
        }
        for a in &apps {
            if let Some(alt) = &a.alternative {
                match by_id.get(alt) {
                    None => return Err(format!("app `{}`: alternative `{alt}` is not in the catalog", a.id)),
                    Some(&j) if apps[j].status != AppStatus::Sanctioned => {
                        return Err(format!("app `{}`: alternative `{alt}` is not sanctioned", a.id))
                    }
                    _ => {}
                }
            }
        }
        Ok(AppCatalog { apps, by_id, by_domain, max_labels, by_client_id, by_oauth_name, exceptions: HashMap::new() })
    }

    /// The bundled catalog, or why it is invalid (only possible when
    /// `data/catalog.toml` was edited; the crate's tests load it).
    ///
    /// The file is parsed once per process; each call returns a copy, so
    /// validating a config or reloading an overlay does not parse it again.
    pub fn try_embedded() -> Result<AppCatalog, EnrichmentError> {
        const ORIGIN: &str = "embedded:catalog.toml";
        static PARSED: std::sync::LazyLock<Option<AppCatalog>> =
            std::sync::LazyLock::new(|| AppCatalog::from_toml(EMBEDDED_CATALOG, ORIGIN).ok());
        match &*PARSED {
            Some(catalog) => Ok(catalog.clone()),
            // Only for an edited, invalid file: parse again for the error.
            None => Self::from_toml(EMBEDDED_CATALOG, ORIGIN),
        }
    }

    /// The bundled catalog.
    ///
    /// # Panics
    ///
    /// Never for a released build: the bundled file is compiled in and
    /// validated by this crate's tests. Use [`AppCatalog::try_embedded`] to
    /// handle an edited catalog gracefully.
    pub fn embedded() -> AppCatalog {
        match Self::try_embedded() {
            Ok(c) => c,
            Err(e) => panic!("bundled catalog is invalid (fix enrichments/data/catalog.toml): {e}"),
        }
    }

    /// The app a host (or URL) belongs to: the longest listed suffix of the host.
    ///
    /// Case-insensitive; scheme, user info, path, `:port`, a trailing dot and
    /// a leading `www.` are ignored; IP literals never match. Suffixes are
    /// compared on whole labels only. Does not allocate.
    pub fn lookup_domain(&self, host: &str) -> Option<&App> {
        let mut buf = [0u8; MAX_HOST];
        let h = host_key(host, &mut buf)?;
        self.lookup_normalized(h).map(|(app, _)| app)
    }

    /// Like [`AppCatalog::lookup_domain`], with the listed domain that
    /// matched (`wetransfer.com` for `eu.files.wetransfer.com`).
    pub fn lookup_domain_match(&self, host: &str) -> Option<(&App, &str)> {
        let mut buf = [0u8; MAX_HOST];
        let h = host_key(host, &mut buf)?;
        self.lookup_normalized(h)
    }

    fn lookup_normalized(&self, h: &str) -> Option<(&App, &str)> {
        if self.by_domain.is_empty() {
            return None;
        }
        // Skip leading labels beyond the longest listed domain.
        let labels = h.bytes().filter(|&b| b == b'.').count() + 1;
        let mut rest = h;
        for _ in self.max_labels..labels {
            rest = rest.split_once('.').map_or(rest, |(_, t)| t);
        }
        // Longest first; catalog domains have at least two labels.
        loop {
            if let Some((listed, &i)) = self.by_domain.get_key_value(rest) {
                return self.apps.get(i as usize).map(|a| (a, &**listed));
            }
            match rest.split_once('.') {
                Some((_, tail)) if tail.contains('.') => rest = tail,
                _ => return None,
            }
        }
    }

    /// The app that lists exactly this domain (after normalisation), if any.
    pub fn domain_owner(&self, domain: &str) -> Option<&App> {
        let mut buf = [0u8; MAX_HOST];
        let h = host_key(domain, &mut buf)?;
        self.by_domain.get(h).and_then(|&i| self.apps.get(i as usize))
    }

    /// The app an OAuth client id belongs to (case-insensitive, trimmed).
    pub fn lookup_client_id(&self, client_id: &str) -> Option<&App> {
        let c = client_id.trim();
        let hit = if c.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_client_id.get(&c.to_ascii_lowercase())
        } else {
            self.by_client_id.get(c)
        };
        hit.and_then(|&i| self.apps.get(i))
    }

    /// The app an OAuth app display name belongs to: exact match on the
    /// app's `name` or one of its `oauth_names`, ignoring case and
    /// surrounding / repeated whitespace. No fuzzy matching: `Otter` does not
    /// find `Otter.ai`.
    pub fn lookup_oauth_name(&self, name: &str) -> Option<&App> {
        self.by_oauth_name.get(normalize_app_name(name).as_ref()).and_then(|&i| self.apps.get(i))
    }

    /// The overlay's `[[exception]]` entries in force for the app `id`
    /// (empty without an overlay, or when none names the app).
    pub fn exceptions_for(&self, id: &str) -> &[crate::overlay::ExceptionRule] {
        self.exceptions.get(id).map_or(&[], Vec::as_slice)
    }

    /// Whether any `[[exception]]` entry is in force.
    pub fn has_exceptions(&self) -> bool {
        !self.exceptions.is_empty()
    }

    /// The app with this id.
    pub fn get(&self, id: &str) -> Option<&App> {
        self.by_id.get(id).and_then(|&i| self.apps.get(i))
    }

    /// Every app, in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = &App> {
        self.apps.iter()
    }

    /// Number of apps.
    pub fn len(&self) -> usize {
        self.apps.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of<'a>(c: &'a AppCatalog, host: &str) -> Option<&'a str> {
        c.lookup_domain(host).map(|a| a.id.as_str())
    }

    #[test]
    fn the_matched_suffix_is_reported() {
        let c = AppCatalog::embedded();
        let (app, suffix) = c.lookup_domain_match("HTTPS://EU.Files.WeTransfer.com:443/x").unwrap();
        assert_eq!((app.id.as_str(), suffix), ("wetransfer", "wetransfer.com"));
        let (app, suffix) = c.lookup_domain_match("gist.github.com").unwrap();
        assert_eq!((app.id.as_str(), suffix), ("github-gist", "gist.github.com"));
        assert!(c.lookup_domain_match("notwetransfer.com").is_none());
    }

    #[test]
    fn longest_suffix_wins_and_labels_must_match() {
        let c = AppCatalog::embedded();
        for (host, id) in [
            ("eu.files.wetransfer.com", "wetransfer"),
            ("WE.TL.", "wetransfer"),
            ("api.openai.com:443", "chatgpt"),
            ("files.oaiusercontent.com", "chatgpt"),
            ("gemini.google.com", "gemini"),
            ("drive.google.com", "google-drive"),
            ("mail.google.com", "gmail"),
            ("contoso.sharepoint.com", "microsoft-onedrive"),
            ("contoso-my.sharepoint.com", "microsoft-onedrive"),
            ("https-tunnel-7f3a.ngrok-free.app", "ngrok"),
            ("copilot.microsoft.com", "microsoft-copilot"),
            ("teams.microsoft.com", "microsoft-teams"),
            ("outlook.office365.com", "microsoft-365"),
            ("login.microsoftonline.com", "microsoft-365"),
            ("web.whatsapp.com", "whatsapp-web"),
            ("claude.ai", "claude"),
            ("*.Dropbox.com", "dropbox"),
            ("relay-4c3e1b2a.net.anydesk.com", "anydesk"),
            ("www.ilovepdf.com", "ilovepdf"),
            ("api11.ilovepdf.com", "ilovepdf"),
            ("otter.ai", "otter-ai"),
            ("pastebin.com", "pastebin"),
            ("tunnel.us.ngrok.com", "ngrok"),
            ("abc-def.trycloudflare.com", "cloudflare-tunnel"),
            ("mega.nz", "mega"),
            ("userstorage.mega.co.nz", "mega"),
        ] {
            assert_eq!(id_of(&c, host), Some(id), "{host}");
        }
        // A more specific listing beats its parent.
        assert_eq!(id_of(&c, "github.com"), Some("github"));
        assert_eq!(id_of(&c, "gist.github.com"), Some("github-gist"));
        assert_eq!(id_of(&c, "copilot-proxy.githubusercontent.com"), Some("github-copilot"));
        assert_eq!(id_of(&c, "raw.githubusercontent.com"), Some("github"));
        assert_eq!(id_of(&c, "tresorit.com"), Some("tresorit"));
        assert_eq!(id_of(&c, "send.tresorit.com"), Some("tresorit-send"));
        assert_eq!(id_of(&c, "x.com"), Some("x-twitter"));
        assert_eq!(id_of(&c, "grok.x.com"), Some("grok"));
        assert_eq!(id_of(&c, "openai.azure.com"), Some("azure-openai"));
        assert_eq!(id_of(&c, "myresource.openai.azure.com"), Some("azure-openai"));
        assert_eq!(id_of(&c, "portal.azure.com"), Some("microsoft-azure"));
        // Look-alikes and unrelated names never match.
        for host in [
            "notwetransfer.com",
            "wetransfer.com.evil.example",
            "wetransfer-com.example",
            "wetransfer.co",
            "wetransfer.comm",
            "we.tl.evil.example",
            "xwe.tl",
            "[2001:db8::1]:443",
            "2001:db8::1",
            "89.160.20.112",
            "google.com",
            "microsoft.com",
            "com",
            "",
            "   ",
            "www.example.org",
            "cdn.example.net",
            "d33wubrfki0l68.cloudfront.net",
            "bucket.s3.amazonaws.com",
            "wetransfer.com:https",
            "wëtransfer.com",
        ] {
            assert_eq!(id_of(&c, host), None, "{host:?} must not match");
        }
    }

    #[test]
    fn lookups_accept_urls_and_decorations() {
        let c = AppCatalog::embedded();
        for input in [
            "https://wetransfer.com/downloads/abc",
            "HTTPS://user:pw@WWW.WeTransfer.com:8443/x?y=1#z",
            "  eu.files.WETRANSFER.com.  ",
            "www.wetransfer.com",
            "wetransfer.com:443",
            "*.wetransfer.com",
            "wetransfer.com/path",
        ] {
            assert_eq!(id_of(&c, input), Some("wetransfer"), "{input:?}");
        }
        assert_eq!(normalize_host("HTTPS://u@WWW.Example.COM:8443/a"), "example.com");
        assert_eq!(normalize_host("[::1]:80"), "");
        assert_eq!(normalize_host("www.com"), "www.com");
        let long = format!("{}.wetransfer.com", "a.".repeat(200));
        assert_eq!(id_of(&c, &long), None, "longer than a host name may be");
        let deep = format!("{}wetransfer.com", "a.".repeat(40));
        assert_eq!(id_of(&c, &deep), Some("wetransfer"), "many labels");
        assert_eq!(c.domain_owner("WeTransfer.com").map(|a| a.id.as_str()), Some("wetransfer"));
        assert!(c.domain_owner("eu.wetransfer.com").is_none(), "domain_owner is exact");
    }

    /// The registrable domain of `host` under ICANN rules only.
    fn icann_registrable(host: &str) -> Option<String> {
        let labels: Vec<&str> = host.split('.').collect();
        (1..labels.len()).find(|&i| is_icann_suffix(&labels[i..].join("."))).map(|i| labels[i - 1..].join("."))
    }

    #[test]
    fn matches_stay_within_the_hosts_registrable_domain() {
        // Listed domains are never ICANN public suffixes, so a match never
        // crosses an ICANN registrable domain: `x.foo.co.uk` can only match
        // apps listing `foo.co.uk` or names under it. Vendor-owned *private*
        // suffixes (`ngrok-free.app`, `github.io`) deliberately match their
        // customers' subdomains; they are the only exceptions, listed here.
        let c = AppCatalog::embedded();
        let mut private = Vec::new();
        for a in c.iter() {
            for d in &a.domains {
                assert!(!is_icann_suffix(d), "{}: {d}", a.id);
                let host = format!("probe.{d}");
                let reg = icann_registrable(&host).unwrap_or_else(|| panic!("{}: {d} has no ICANN suffix", a.id));
                assert!(*d == reg || d.ends_with(&format!(".{reg}")), "{}: {d} lies above {reg}", a.id);
                assert_eq!(c.lookup_domain(&host).map(|m| m.id.as_str()), Some(a.id.as_str()), "{d}");
                if psl::domain_str(&host) != psl::domain_str(d) {
                    let s = psl::suffix(host.as_bytes()).unwrap();
                    assert_eq!(s.typ(), Some(psl::Type::Private), "{d}");
                    private.push(d.as_str());
                }
            }
        }
        for vendor_suffix in ["ngrok-free.app", "github.io", "vercel.app", "netlify.app", "herokuapp.com", "dweb.link"]
        {
            assert!(private.contains(&vendor_suffix), "{vendor_suffix} not in {private:?}");
        }
        assert!(private.len() < 60, "{private:?}");
        assert_eq!(id_of(&c, "mega.co.nz"), Some("mega"));
        assert_eq!(id_of(&c, "notmega.co.nz"), None);
        assert_eq!(id_of(&c, "co.nz"), None);
    }

    #[test]
    fn client_ids_are_case_insensitive_and_exact() {
        let c = AppCatalog::embedded();
        for (cid, id) in [
            ("d3590ed6-52b3-4102-aeff-aad2292ab01c", "microsoft-365"),
            ("D3590ED6-52B3-4102-AEFF-AAD2292AB01C", "microsoft-365"),
            (" 04b07795-8ddb-461a-bbee-02f9e1bf7b46 ", "microsoft-azure"),
            ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "microsoft-teams"),
            ("de8bc8b5-d9f9-48b1-a8ad-b748da725064", "microsoft-entra"),
            ("ab9b8c07-8f02-4f72-87fa-80105867a763", "microsoft-onedrive"),
            ("178c6fc778ccc68e1d6a", "github"),
            ("aebc6443-996d-45c2-90f0-388ff96faa56", "visual-studio-code"),
        ] {
            assert_eq!(c.lookup_client_id(cid).map(|a| a.id.as_str()), Some(id), "{cid}");
        }
        assert!(c.lookup_client_id("d3590ed6-52b3-4102-aeff-aad2292ab01").is_none());
        assert!(c.lookup_client_id("").is_none());
    }

    #[test]
    fn oauth_names_match_exactly_after_normalisation() {
        let c = AppCatalog::embedded();
        for (name, id) in [
            ("Otter.ai", "otter-ai"),
            ("otter.ai", "otter-ai"),
            ("  Fireflies.ai   NOTETAKER ", "fireflies-ai"),
            ("Zoom", "zoom"),
            ("Grammarly", "grammarly"),
            ("Microsoft Azure CLI", "microsoft-azure"),
            ("Graph Explorer", "microsoft-entra"),
            ("GitHub CLI", "github"),
            ("Microsoft\tOffice", "microsoft-365"),
        ] {
            assert_eq!(c.lookup_oauth_name(name).map(|a| a.id.as_str()), Some(id), "{name:?}");
        }
        for name in ["Otter.a", "Otter.ai Notes", "Zoom Video", "", "  "] {
            assert!(c.lookup_oauth_name(name).is_none(), "{name:?}");
        }
        assert_eq!(normalize_app_name("a  B\tc"), "a b c");
        assert!(matches!(normalize_app_name("already normal"), Cow::Borrowed(_)));
    }

    #[test]
    fn risk_is_the_capped_sum_of_distinct_factor_weights() {
        use RiskFactor::*;
        assert_eq!(risk_score(&[]), 0);
        assert_eq!(risk_score(&[UploadsData, PublicLinks, ConsumerTerms]), 5);
        assert_eq!(risk_score(&[UploadsData, UploadsData]), 2, "each factor once");
        assert_eq!(risk_score(RiskFactor::ALL), 10, "capped");
        let c = AppCatalog::embedded();
        for a in c.iter() {
            assert_eq!(a.risk, risk_score(&a.risk_factors), "{}", a.id);
        }
        let wt = c.get("wetransfer").unwrap();
        assert_eq!(wt.risk_factors, vec![UploadsData, PublicLinks, ConsumerTerms, NoAdminAudit, AttackerFavoured]);
        assert_eq!(wt.risk, 8);
        assert_eq!(c.get("microsoft-365").unwrap().risk, 2);
        let deepseek = c.get("deepseek").unwrap();
        assert!(deepseek.risk_factors.contains(&Jurisdiction) && deepseek.risk == 8, "{deepseek:?}");
    }

    #[test]
    fn alternatives_are_sanctioned_apps() {
        let c = AppCatalog::embedded();
        let mut with_alt = 0;
        for a in c.iter() {
            if let Some(alt) = &a.alternative {
                with_alt += 1;
                let alt = c.get(alt).unwrap();
                assert_eq!(alt.status, AppStatus::Sanctioned, "{} -> {}", a.id, alt.id);
                assert_ne!(a.status, AppStatus::Sanctioned, "{} is sanctioned yet has an alternative", a.id);
            }
        }
        assert!(with_alt > 300, "{with_alt}");
        for (id, alt) in [
            ("wetransfer", "microsoft-onedrive"),
            ("dropbox", "microsoft-onedrive"),
            ("chatgpt", "microsoft-copilot"),
            ("cursor", "github-copilot"),
            ("otter-ai", "microsoft-teams"),
            ("ilovepdf", "adobe-acrobat"),
            ("anydesk", "company-remote-support"),
            ("deepl", "microsoft-translator"),
            ("zapier", "microsoft-power-automate"),
            ("typeform", "microsoft-forms"),
            ("trello", "atlassian"),
            ("gmail", "microsoft-365"),
        ] {
            assert_eq!(c.get(id).and_then(|a| a.alternative.as_deref()), Some(alt), "{id}");
        }
        assert_eq!(c.get("pastebin").unwrap().alternative, None, "no sanctioned paste site");
    }

    #[test]
    fn embedded_catalog_covers_every_category_with_the_core_apps() {
        let c = AppCatalog::embedded();
        assert!(c.len() >= 500, "{}", c.len());
        for cat in Category::ALL {
            let n = c.iter().filter(|a| a.category == *cat).count();
            assert!(n >= 8, "{cat}: {n} apps");
            assert!(!cat.definition().is_empty());
            assert_eq!(cat.as_str().parse::<Category>(), Ok(*cat));
            assert_eq!(serde_json::to_value(cat).unwrap(), cat.as_str());
        }
        for f in RiskFactor::ALL {
            assert!(f.weight() > 0 && !f.meaning().is_empty());
            assert_eq!(f.as_str().parse::<RiskFactor>(), Ok(*f));
        }
        for (id, status, category) in [
            ("wetransfer", AppStatus::Unsanctioned, "file_sharing"),
            ("google-drive", AppStatus::Monitored, "cloud_storage"),
            ("microsoft-copilot", AppStatus::Sanctioned, "genai"),
            ("microsoft-onedrive", AppStatus::Sanctioned, "cloud_storage"),
            ("microsoft-365", AppStatus::Sanctioned, "productivity"),
            ("microsoft-teams", AppStatus::Sanctioned, "video_conferencing"),
            ("okta", AppStatus::Sanctioned, "identity"),
            ("zoom", AppStatus::Sanctioned, "video_conferencing"),
            ("slack", AppStatus::Sanctioned, "messaging"),
            ("gmail", AppStatus::Unsanctioned, "email"),
            ("chatgpt", AppStatus::Unsanctioned, "genai"),
            ("ilovepdf", AppStatus::Unsanctioned, "file_conversion"),
            ("otter-ai", AppStatus::Unsanctioned, "transcription"),
            ("pastebin", AppStatus::Unsanctioned, "paste"),
            ("pushbullet", AppStatus::Unsanctioned, "clipboard_sync"),
            ("anydesk", AppStatus::Unsanctioned, "remote_access"),
            ("ngrok", AppStatus::Unsanctioned, "remote_access"),
            ("nordvpn", AppStatus::Unsanctioned, "vpn_proxy"),
            ("adobe-acrobat", AppStatus::Sanctioned, "file_conversion"),
            ("paddle", AppStatus::Monitored, "finance"),
            ("docusign", AppStatus::Sanctioned, "e_signature"),
        ] {
            let a = c.get(id).unwrap_or_else(|| panic!("{id} missing"));
            assert_eq!((a.status, a.category.as_str()), (status, category), "{id}");
        }
        assert_eq!(c.get("adobe-acrobat").unwrap().name, "Adobe Acrobat", "named in the demo's SS-04 message");
        assert_eq!(c.iter().count(), c.len());
        for a in c.iter() {
            assert_eq!(serde_json::to_value(a.status).unwrap(), a.status.as_str());
            assert!(!a.sources.is_empty(), "{} has no provenance", a.id);
        }
    }

    const BASE: &str = r#"[[app]]
id = "x"
name = "X"
vendor = "X"
domains = ["x.com"]
category = "paste"
risk = 3
status = "unsanctioned"
"#;

    #[test]
    fn invalid_catalogs_name_the_app() {
        let base = BASE;
        assert!(AppCatalog::from_toml(base, "t").is_ok());
        let e = AppCatalog::from_toml(&base.replace("risk = 3", "risk = 11"), "t").unwrap_err().to_string();
        assert!(e.contains("app `x`") && e.contains("risk 11"), "{e}");
        let e = AppCatalog::from_toml(&base.replace("risk = 3", "risk = -1"), "t").unwrap_err().to_string();
        assert!(e.contains("app `x`") && e.contains("risk -1 is out of range 0-10"), "{e}");
        let e = AppCatalog::from_toml(&format!("{base}alternative = \"nope\"\n"), "t").unwrap_err().to_string();
        assert!(e.contains("alternative `nope`"), "{e}");
        let e = AppCatalog::from_toml(&base.replace("paste", "pastry"), "t").unwrap_err().to_string();
        assert!(e.contains("line 6"), "{e}");
        let e = AppCatalog::from_toml(&format!("{base}{}", base.replace("id = \"x\"", "id = \"y\"")), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("already listed by app `x`"), "{e}");
        let e = AppCatalog::from_toml(&base.replace("[\"x.com\"]", "[]"), "t").unwrap_err().to_string();
        assert!(e.contains("app `x`") && e.contains("at least one domain"), "{e}");
        let e = AppCatalog::from_toml(&base.replace("x.com", "co.uk"), "t").unwrap_err().to_string();
        assert!(e.contains("app `x`") && e.contains("public suffix"), "{e}");
        let e = AppCatalog::from_toml(&base.replace("x.com", "x..com"), "t").unwrap_err().to_string();
        assert!(e.contains("`x..com` is not a domain name"), "{e}");
        let e = AppCatalog::from_toml(&base.replace("x.com", "10.0.0.1"), "t").unwrap_err().to_string();
        assert!(e.contains("`10.0.0.1` is not a domain name"), "{e}");
        let e =
            AppCatalog::from_toml(&base.replace("[\"x.com\"]", "[\"x.com\", \"X.com\"]"), "t").unwrap_err().to_string();
        assert!(e.contains("app `x`: domain `x.com` is listed twice"), "{e}");
        let sanctioned_alt = format!(
            "{}alternative = \"y\"\n{}",
            base,
            base.replace("id = \"x\"", "id = \"y\"").replace("x.com", "y.com").replace("name = \"X\"", "name = \"Y\"")
        );
        let e = AppCatalog::from_toml(&sanctioned_alt, "t").unwrap_err().to_string();
        assert!(e.contains("app `x`: alternative `y` is not sanctioned"), "{e}");
        let y_sanctioned = base
            .replace("id = \"x\"", "id = \"y\"")
            .replace("name = \"X\"", "name = \"Y\"")
            .replace("x.com", "y.com")
            .replace("\"unsanctioned\"", "\"sanctioned\"");
        let ok = AppCatalog::from_toml(&format!("{base}alternative = \"y\"\n{y_sanctioned}"), "t").unwrap();
        assert_eq!(ok.get("x").unwrap().alternative.as_deref(), Some("y"));
        let e = AppCatalog::from_toml(&base.replace("risk = 3", "risk = 3\ncolour = \"red\""), "my.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("app catalog my.toml: line") && e.contains("colour"), "{e}");
        let e = AppCatalog::from_toml(&base.replace("risk = 3", "risk_factors = [\"scary\"]"), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 7") && e.contains("scary"), "{e}");
        let same_name = format!("{base}{}", base.replace("id = \"x\"", "id = \"y\"").replace("x.com", "y.com"));
        let e = AppCatalog::from_toml(&same_name, "t").unwrap_err().to_string();
        assert!(e.contains("app `y`: name `X` is already used by app `x`"), "{e}");
        let alias = format!("{base}oauth_names = [\"  x \"]\n");
        assert!(AppCatalog::from_toml(&alias, "t").is_ok(), "an alias equal to the app's own name is fine");
    }

    #[test]
    fn custom_catalogs_may_leave_risk_to_the_factors() {
        let text =
            BASE.replace("risk = 3", "risk_factors = [\"uploads_data\", \"public_by_default\", \"attacker_favoured\"]");
        let c = AppCatalog::from_toml(&text, "t").unwrap();
        let x = c.get("x").unwrap();
        assert_eq!(x.risk, 6);
        assert_eq!(x.status_reason, None);
        assert_eq!(c.lookup_oauth_name("x").map(|a| a.id.as_str()), Some("x"));
        // Explicit risk wins over the factors (0..=10 checked).
        let text = format!("{}risk_factors = [\"uploads_data\"]\n", BASE);
        assert_eq!(AppCatalog::from_toml(&text, "t").unwrap().get("x").unwrap().risk, 3);
        // Deserialising an App directly computes the risk too.
        let app: App =
            toml::from_str(&BASE.replace("[[app]]\n", "").replace("risk = 3", "risk_factors = [\"remote_control\"]"))
                .unwrap();
        assert_eq!(app.risk, 3);
    }
}
