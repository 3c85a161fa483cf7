//! One realistic workday at the fictional `corp.example.com`, for
//! `tests/realistic_day.rs`: 300 people at four sites, their firewall,
//! proxy, DNS, sign-in, OAuth and mail logs in thirteen vendor formats, from
//! 07:00 to 19:00 UTC on 2026-11-24, and a user directory for them.
//!
//! Almost everything is benign: sign-ins from the offices and from home,
//! browsing and DNS for sanctioned apps (Microsoft 365, Teams, Zoom, Slack,
//! Salesforce, GitHub, the overlay's own apps) and for sites the catalog
//! does not know, internal mail rules and shares, consents to sanctioned
//! OAuth apps. A known set of shadow-IT behaviours is planted on top, by
//! named people; the findings the pipeline must raise are *derived* from
//! what was planted (a small model of each rule's conditions, fed by the
//! same calls that write the lines), never copied from a run.
//!
//! Sites and what logs them:
//!
//! | site | people | web | DNS |
//! |---|---|---|---|
//! | Lisbon HQ | 0–119 | PAN-OS `fw01` (TRAFFIC + URL) | BIND query log |
//! | Porto branch | 120–199 | FortiGate `FGT-PORTO` | Cisco Umbrella |
//! | R&D lab | 200–259 | Zeek ssl.log (TSV) | Zeek dns.log (JSON) |
//! | remote (VPN) | 260–299 | Squid proxy | (resolved by the proxy) |
//!
//! Everyone signs in to Okta and Entra ID; the lab also to Google
//! Workspace. Mail: Exchange Online audit log and message trace, Google
//! Workspace admin / user-account activities.
//!
//! Rule state is per rule and global, and the sources are read in
//! parallel, so a windowed or correlation rule can see an hour of one log
//! before an earlier hour of another. The generator keeps every planted
//! outcome independent of that order and checks it (`check_order`): the
//! events a window or a correlation needs lie within the rule's lateness of
//! the newest event the rule can see at all. (PF-06's rows, the only
//! message-trace rows it reads, are written within 40 minutes.)

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;

use serde_json::{json, Value};

/// Unix time of 2026-11-24T00:00:00Z.
const MIDNIGHT: u64 = 1_795_478_400;
pub const CORP: &str = "corp.example.com";

/// A finding as the test compares it: (rule id, who, what). `who` is the
/// finding's user, else its source IP; `what` is the app id, else the evidence's destination
/// address, else the source IP, else empty.
pub type Key = (String, String, String);

// ---------------------------------------------------------------- time

/// Milliseconds after midnight UTC of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct T(pub u64);

pub fn at(h: u64, m: u64, s: u64) -> T {
    T(((h * 60 + m) * 60 + s) * 1000)
}

impl T {
    fn plus_ms(self, ms: u64) -> T {
        T(self.0 + ms)
    }
    fn minus_ms(self, ms: u64) -> T {
        T(self.0.saturating_sub(ms))
    }
    fn hms(self) -> String {
        let s = self.0 / 1000;
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
    fn ms(self) -> u64 {
        self.0 % 1000
    }
    /// `2026-11-24T09:12:03.120Z`
    fn iso_ms(self) -> String {
        format!("2026-11-24T{}.{:03}Z", self.hms(), self.ms())
    }
    /// `2026-11-24T09:12:03Z`
    fn iso_z(self) -> String {
        format!("2026-11-24T{}Z", self.hms())
    }
    /// `2026-11-24T09:12:03` (M365 audit: UTC without a zone)
    fn iso_bare(self) -> String {
        format!("2026-11-24T{}", self.hms())
    }
    /// Epoch seconds with microseconds (Zeek).
    fn epoch_us(self) -> String {
        format!("{}.{:06}", MIDNIGHT + self.0 / 1000, self.ms() * 1000)
    }
    /// Epoch seconds with milliseconds (Squid).
    fn epoch_ms(self) -> String {
        format!("{}.{:03}", MIDNIGHT + self.0 / 1000, self.ms())
    }
    fn hour(self) -> u64 {
        self.0 / 3_600_000
    }
}

const HOUR: u64 = 3_600_000;
const MINUTE: u64 = 60_000;

// ---------------------------------------------------------------- randomness

/// SplitMix64: a deterministic sequence, no crate needed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

// ---------------------------------------------------------------- people

const FIRST: [&str; 30] = [
    "Ana", "Bruno", "Carla", "Diego", "Elena", "Filipe", "Greta", "Hugo", "Ines", "Joao", "Katia", "Luis", "Marta",
    "Nuno", "Olga", "Pedro", "Quirina", "Rui", "Sofia", "Tiago", "Ursula", "Vasco", "Wanda", "Xavier", "Yara", "Zeca",
    "Beatriz", "Camilo", "Dora", "Emil",
];
const LAST: [&str; 40] = [
    "Silva",
    "Santos",
    "Ferreira",
    "Pereira",
    "Oliveira",
    "Costa",
    "Rodrigues",
    "Martins",
    "Jesus",
    "Sousa",
    "Fernandes",
    "Goncalves",
    "Gomes",
    "Lopes",
    "Marques",
    "Alves",
    "Almeida",
    "Ribeiro",
    "Pinto",
    "Carvalho",
    "Teixeira",
    "Moreira",
    "Correia",
    "Mendes",
    "Nunes",
    "Soares",
    "Vieira",
    "Monteiro",
    "Cardoso",
    "Rocha",
    "Neves",
    "Coelho",
    "Cruz",
    "Cunha",
    "Pires",
    "Ramos",
    "Reis",
    "Simoes",
    "Antunes",
    "Matos",
];

/// A hot desk at HQ (no one's own workstation) and who sits there: one
/// person in the morning, another from 13:00.
pub const HOT_DESK: &str = "10.10.0.250";
pub const HOT_DESK_MORNING: usize = 72;
pub const HOT_DESK_AFTERNOON: usize = 73;

/// Overlay exceptions as the model applies them: (app, department).
const EXCEPTED: &[(&str, &str)] = &[("ilovepdf", "Legal")];
/// Overlay partners: domains mail may be forwarded to.
const PARTNER_DOMAINS: &[&str] = &["payroll-office.example.nl"];

/// Legal, HQ: uploads to iLovePDF under Legal's exception.
pub const LEGAL_CONVERTER: usize = 77;
/// Forwards the HR mailbox to the payroll office (a partner).
pub const PAYROLL_FORWARDER: usize = 83;

/// Number of people in the directory.
pub const USERS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    Hq,
    Branch,
    Lab,
    Remote,
}

#[derive(Debug, Clone)]
pub struct User {
    pub idx: usize,
    /// `first.last`: the directory's user, FortiGate's user.
    pub account: String,
    pub email: String,
    pub display: String,
    pub department: &'static str,
    pub role: &'static str,
    pub flags: &'static str,
    pub site: Site,
    /// The workstation's address (HQ, branch, lab) or VPN address (remote).
    pub ws_ip: String,
    /// The address sign-ins come from: the office egress, or home broadband.
    pub signin_ip: String,
}

impl User {
    fn new(i: usize) -> User {
        let f = i % 30;
        let l = (i / 30 + 3 * f) % 40;
        let (first, last) = (FIRST[f], LAST[l]);
        let account = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
        let email = format!("{account}@{CORP}");
        let (site, ws_ip, signin_ip) = match i {
            0..120 => (Site::Hq, format!("10.10.{}.{}", i / 100, i % 100 + 20), format!("89.160.20.{}", 113 + i % 6)),
            120..200 => {
                let j = i - 120;
                (Site::Branch, format!("10.20.{}.{}", j / 100, j % 100 + 20), format!("89.160.20.{}", 120 + j % 4))
            }
            200..260 => {
                let j = i - 200;
                (Site::Lab, format!("10.30.0.{}", j + 20), "89.160.20.125".to_string())
            }
            _ => {
                let j = i - 260;
                // Home broadband: MaxMind's test ranges of Cable/DSL and residential users.
                let home = if j % 2 == 0 {
                    format!("2.125.160.{}", 216 + (j / 2) % 8)
                } else {
                    format!("175.16.199.{}", 10 + j)
                };
                (Site::Remote, format!("10.40.0.{}", j + 20), home)
            }
        };
        let department = match site {
            Site::Hq => ["Finance", "Sales", "Marketing", "People", "IT", "Legal"][i % 6],
            Site::Branch => ["Sales", "Operations", "Customer Support", "Logistics"][i % 4],
            Site::Lab => ["R&D", "R&D", "Data Science"][i % 3],
            Site::Remote => ["Field Sales", "Consulting"][i % 2],
        };
        let role = match department {
            "IT" => "Systems Engineer",
            "Finance" => "Financial Analyst",
            "R&D" => "Software Engineer",
            "Data Science" => "Data Scientist",
            "Field Sales" | "Sales" => "Account Executive",
            _ => "Specialist",
        };
        let flags = match i % 17 {
            0 => "vip",
            3 => "travels",
            5 => "contractor",
            _ => "",
        };
        User {
            idx: i,
            display: format!("{first} {last}"),
            account,
            email,
            department,
            role,
            flags,
            site,
            ws_ip,
            signin_ip,
        }
    }

    /// PAN-OS source user.
    fn panos_user(&self) -> String {
        format!("corp\\{}", self.account)
    }

    /// How Squid's `%[un` logs the NTLM user (it decodes to `CORP\account`).
    fn squid_logged(&self) -> String {
        format!("CORP%5C{}", self.account)
    }

    /// Every string a finding could name this person by.
    pub fn identifiers(&self) -> Vec<String> {
        vec![self.account.clone(), self.ws_ip.clone()]
    }
}

// ---------------------------------------------------------------- catalog knowledge

/// The catalog apps the day touches that are not sanctioned (bundled
/// catalog + the overlay below): host suffix, app id, category, status.
const SHADOW: &[(&str, &str, &str, &str)] = &[
    ("ilovepdf.com", "ilovepdf", "file_conversion", "unsanctioned"),
    ("smallpdf.com", "smallpdf", "file_conversion", "unsanctioned"),
    ("otter.ai", "otter-ai", "transcription", "unsanctioned"),
    ("pastebin.com", "pastebin", "paste", "unsanctioned"),
    ("wetransfer.com", "wetransfer", "file_sharing", "unsanctioned"),
    ("dropbox.com", "dropbox", "cloud_storage", "unsanctioned"),
    ("dropboxapi.com", "dropbox", "cloud_storage", "unsanctioned"),
    ("mega.nz", "mega", "cloud_storage", "unsanctioned"),
    ("chatgpt.com", "chatgpt", "genai", "unsanctioned"),
    ("claude.ai", "claude", "genai", "unsanctioned"),
    ("perplexity.ai", "perplexity", "genai", "unsanctioned"),
    ("deepl.com", "deepl", "translation", "unsanctioned"),
    ("anydesk.com", "anydesk", "remote_access", "unsanctioned"),
    ("ngrok-free.app", "ngrok", "remote_access", "unsanctioned"),
];

fn shadow_app(host: &str) -> Option<(&'static str, &'static str, &'static str)> {
    SHADOW
        .iter()
        .find(|(suffix, ..)| host == *suffix || host.ends_with(&format!(".{suffix}")))
        .map(|&(_, id, cat, status)| (id, cat, status))
}

/// OAuth app names the day's consents use: name, catalog id, status.
const OAUTH_APPS: &[(&str, &str, &str)] = &[
    ("Zoom", "zoom", "sanctioned"),
    ("Slack", "slack", "sanctioned"),
    ("Salesforce", "salesforce", "sanctioned"),
    ("Microsoft Teams", "microsoft-teams", "sanctioned"),
    ("Corp Expenses", "corp-expenses", "sanctioned"),
    ("Otter.ai", "otter-ai", "unsanctioned"),
    ("Notion", "notion", "unsanctioned"),
    ("Grammarly", "grammarly", "unsanctioned"),
    ("Calendly", "calendly", "unsanctioned"),
    ("Fireflies.ai Notetaker", "fireflies-ai", "unsanctioned"),
];

fn oauth_app(name: &str) -> (&'static str, &'static str) {
    OAUTH_APPS.iter().find(|(n, ..)| *n == name).map(|&(_, id, st)| (id, st)).unwrap_or(("", "unknown"))
}

/// The apps benign traffic uses that the catalog (or the overlay) sanctions.
pub const SANCTIONED_APPS: &[&str] = &[
    "microsoft-365",
    "microsoft-teams",
    "microsoft-onedrive",
    "microsoft-copilot",
    "zoom",
    "slack",
    "salesforce",
    "atlassian",
    "github",
    "okta",
    "docusign",
    "google-drive",
    "stack-overflow",
    "pypi",
    "corp-sft",
    "corp-expenses",
];

/// Sanctioned hosts (catalog or overlay) and hosts the catalog does not
/// know: what benign browsing reaches.
const BENIGN_HOSTS: &[&str] = &[
    "teams.microsoft.com",
    "outlook.office365.com",
    "login.microsoftonline.com",
    "corp-my.sharepoint.com",
    "corp.sharepoint.com",
    "www.office.com",
    "copilot.microsoft.com",
    "zoom.us",
    "corp.slack.com",
    "corp.my.salesforce.com",
    "corp.atlassian.net",
    "github.com",
    "corp.okta.com",
    "www.docusign.net",
    "sft.corp.example.com",
    "expenses.corp.example.com",
    "intranet.corp.example.com",
    "api.corp.example.com",
    "www.google.com",
    "en.wikipedia.org",
    "www.bbc.co.uk",
    "www.example.org",
    "news.ycombinator.com",
    "www.nytimes.com",
    "www.reuters.com",
    "fonts.gstatic.com",
    "www.bing.com",
    "statics.teams.cdn.office.net",
];
/// The lab also works in Google Workspace and with developer sites the
/// overlay sanctions.
const LAB_HOSTS: &[&str] = &["docs.google.com", "drive.google.com", "stackoverflow.com", "pypi.org", "crates.io"];
/// Background DNS of every Windows laptop.
const DNS_ONLY: &[&str] = &[
    "time.windows.com",
    "ctldl.windowsupdate.com",
    "ocsp.digicert.com",
    "dc01.corp.example.com",
    "wpad.corp.example.com",
];

const WIN_UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
const MAC_UA: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
const IPHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

/// Free-mail domains the day's addresses use.
const PERSONAL_DOMAINS: &[&str] = &["gmail.com", "outlook.com", "yahoo.com", "gmx.de"];

// ---------------------------------------------------------------- files

/// What a written record must become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Row,
    /// Valid, not modelled (the format page lists the reason).
    Skip,
    /// Malformed: dead-lettered, the reason containing this.
    Dead(&'static str),
}

struct Ev {
    t: T,
    seq: u64,
    line: String,
    outcome: Outcome,
}

/// One log file of the day.
pub struct LogFile {
    pub name: &'static str,
    pub format: &'static str,
    header: Vec<String>,
    footer: Vec<String>,
    events: Vec<Ev>,
}

impl LogFile {
    /// Records (lines that are not `#` headers).
    pub fn records(&self) -> usize {
        self.events.len()
    }
    pub fn skipped(&self) -> usize {
        self.events.iter().filter(|e| e.outcome == Outcome::Skip).count()
    }
    pub fn dead(&self) -> usize {
        self.events.iter().filter(|e| matches!(e.outcome, Outcome::Dead(_))).count()
    }
}

const ZEEK_SSL_HEADER: &[&str] = &[
    "#separator \\x09",
    "#set_separator\t,",
    "#empty_field\t(empty)",
    "#unset_field\t-",
    "#path\tssl",
    "#open\t2026-11-24-07-00-00",
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tcipher\tcurve\tserver_name\tresumed\tlast_alert\tnext_protocol\testablished\tssl_history\tcert_chain_fps\tclient_cert_chain_fps\tsni_matches_cert",
    "#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\tbool\tstring\tstring\tbool\tstring\tvector[string]\tvector[string]\tbool",
];

/// The day's files: name, format.
pub const FILES: &[(&str, &str)] = &[
    ("panos-fw01.log", "panos"),
    ("fortigate-porto.log", "fortigate"),
    ("zeek-ssl.log", "zeek-ssl"),
    ("squid-access.log", "squid"),
    ("bind-queries.log", "bind-query"),
    ("umbrella-dns.csv", "umbrella-dns"),
    ("zeek-dns.log", "zeek-dns"),
    ("okta-system-log.jsonl", "okta"),
    ("entra-signin.jsonl", "entra-signin"),
    ("entra-audit.jsonl", "entra-audit"),
    ("google-workspace.jsonl", "google-workspace"),
    ("m365-audit.jsonl", "m365-audit"),
    ("message-trace.jsonl", "m365-message-trace"),
];

// ---------------------------------------------------------------- the model's inputs

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Dns,
    Net,
}

/// One network or DNS row that reaches a catalog app that is not sanctioned.
#[derive(Debug, Clone)]
struct Usage {
    t: T,
    class: Class,
    /// `coalesce(user_id, src_ip)` / `coalesce(user_id, client_ip)` as the
    /// rules see it: the person's canonical id (the directory's account)
    /// where the log names them, else the address (attributed in
    /// `derive_network` where `attributable`).
    entity: String,
    /// A row that names nobody from an address the firewall names people on
    /// (HQ's BIND log): attribution may name the person.
    attributable: bool,
    src_ip: String,
    app: &'static str,
    category: &'static str,
    allowed: bool,
    method: Option<&'static str>,
    bytes_out: Option<u64>,
}

impl Usage {
    /// A DNS query by `u` for an app, named `entity` by its log; BIND's
    /// (HQ) name only the desk, which attribution may turn into the person.
    fn dns(t: T, entity: String, u: &User, app: &'static str, category: &'static str) -> Usage {
        Usage {
            t,
            class: Class::Dns,
            attributable: u.site == Site::Hq,
            entity,
            src_ip: u.ws_ip.clone(),
            app,
            category,
            allowed: true,
            method: None,
            bytes_out: None,
        }
    }
}

/// A successful sign-in from a public Wi-Fi or cellular network.
#[derive(Debug, Clone)]
struct PublicSignin {
    t: T,
    user: String,
    email: String,
    ip: String,
    public_wifi: bool,
    desktop: bool,
}

/// An OAuth row.
#[derive(Debug, Clone)]
struct Grant {
    t: T,
    user: String,
    email: String,
    action: &'static str,
    app: &'static str,
    status: &'static str,
    admin: bool,
    scopes: Vec<String>,
}

/// A forwarding, redirect or routing change.
#[derive(Debug, Clone)]
struct Forward {
    t: T,
    /// Finding user: the mailbox (PF-01..04) or the admin (PF-05).
    user: String,
    email: String,
    kind: &'static str,
    dests: Vec<String>,
    hides: bool,
}

/// A big download (WF-03's third kind of sensitive action).
#[derive(Debug, Clone)]
struct Download {
    t: T,
    email: String,
}

// ---------------------------------------------------------------- the day

/// The generated day: files, people, and the findings it must raise.
pub struct Day {
    pub users: Vec<User>,
    pub files: Vec<LogFile>,
    /// Expected findings, each with the planted behaviour that raises it.
    pub expected: BTreeMap<Key, String>,
    /// People who do something a rule should see; everyone else is benign.
    pub planted: BTreeSet<usize>,
    /// Expected severities of some findings (the highest revision's).
    pub severities: BTreeMap<Key, &'static str>,
}

struct Gen {
    rng: Rng,
    users: Vec<User>,
    files: Vec<LogFile>,
    seq: u64,
    sess: u64,
    planted: BTreeSet<usize>,
    usage: Vec<Usage>,
    signins: Vec<PublicSignin>,
    grants: Vec<Grant>,
    forwards: Vec<Forward>,
    downloads: Vec<Download>,
    expected: BTreeMap<Key, String>,
    severities: BTreeMap<Key, &'static str>,
    /// Why the next expectations are raised.
    why: String,
    /// Sightings of people on internal addresses (rows that name the user,
    /// from a private source address), as logged (whole seconds): address →
    /// (time, account). Attribution learns from these.
    sightings: BTreeMap<String, Vec<(T, String)>>,
}

fn key(rule: &str, who: &str, what: &str) -> Key {
    (rule.to_string(), who.to_string(), what.to_string())
}

fn domain_of(addr: &str) -> &str {
    addr.rsplit('@').next().unwrap_or("")
}
fn is_corporate(addr: &str) -> bool {
    let d = domain_of(addr);
    d == CORP || d.ends_with(".corp.example.com")
}
fn is_personal(addr: &str) -> bool {
    PERSONAL_DOMAINS.contains(&domain_of(addr))
}

/// SS-07's `scope_pattern`, on the scopes joined by spaces.
fn risky_scopes(scopes: &[String]) -> bool {
    let joined = scopes.join(" ").to_lowercase();
    let alts = ["mail.", "files.", "sites.", "offline_access", "gmail", "mail.google.com", "drive", "admin.directory"];
    let bytes = joined.as_bytes();
    (0..joined.len()).any(|i| {
        (i == 0 || matches!(bytes[i - 1], b' ' | b'/' | b'.')) && alts.iter().any(|a| joined[i..].starts_with(a))
    })
}

impl Gen {
    fn new() -> Gen {
        let files = FILES
            .iter()
            .map(|&(name, format)| LogFile {
                name,
                format,
                header: if format == "zeek-ssl" {
                    ZEEK_SSL_HEADER.iter().map(|s| s.to_string()).collect()
                } else {
                    Vec::new()
                },
                footer: if format == "zeek-ssl" { vec!["#close\t2026-11-24-19-00-00".into()] } else { Vec::new() },
                events: Vec::new(),
            })
            .collect();
        Gen {
            rng: Rng::new(0x2026_1124),
            users: (0..USERS).map(User::new).collect(),
            files,
            seq: 0,
            sess: 880_000,
            planted: BTreeSet::new(),
            usage: Vec::new(),
            signins: Vec::new(),
            grants: Vec::new(),
            forwards: Vec::new(),
            downloads: Vec::new(),
            expected: BTreeMap::new(),
            severities: BTreeMap::new(),
            why: String::new(),
            sightings: BTreeMap::new(),
        }
    }

    fn user(&self, i: usize) -> User {
        self.users[i].clone()
    }

    /// Mark `i` as planted and set the reason for the expectations that follow.
    fn plant(&mut self, i: usize, why: &str) -> User {
        self.planted.insert(i);
        self.why = format!("{} ({}): {why}", self.users[i].account, self.users[i].email);
        self.user(i)
    }

    /// `u` was named on their workstation at `t` by a log that writes whole seconds.
    fn seen(&mut self, u: &User, t: T) {
        self.sightings.entry(u.ws_ip.clone()).or_default().push((T(t.0 / 1000 * 1000), u.account.clone()));
    }

    /// Who attribution names on `ip` at `t` (`[rules.attribution]`'s
    /// defaults): the person of the latest sighting at or before `t` if
    /// within an hour, unless three or more turns reach into that hour.
    fn attributed(&self, ip: &str, t: T) -> Option<String> {
        let mut seen: Vec<&(T, String)> = self.sightings.get(ip)?.iter().filter(|(s, _)| *s <= t).collect();
        seen.sort();
        let (last_t, who) = seen.last()?;
        if last_t.0 + HOUR < t.0 {
            return None;
        }
        // Turns (runs of one person) whose last sighting is within the hour.
        let mut turns: Vec<(&str, T)> = Vec::new();
        for (st, w) in &seen {
            match turns.last_mut() {
                Some((p, last)) if *p == w.as_str() => *last = *st,
                _ => turns.push((w.as_str(), *st)),
            }
        }
        let reaching = turns.iter().filter(|(_, last)| last.0 + HOUR >= t.0).count();
        (reaching <= 2).then(|| who.clone())
    }

    fn expect(&mut self, rule: &str, who: &str, what: &str) {
        let why = self.why.clone();
        self.expected.entry(key(rule, who, what)).or_insert(why);
    }

    fn push(&mut self, format: &str, t: T, line: String, outcome: Outcome) {
        self.seq += 1;
        let seq = self.seq;
        let file = self.files.iter_mut().find(|f| f.format == format).expect("a file per format");
        file.events.push(Ev { t, seq, line, outcome });
    }

    fn next_sess(&mut self) -> u64 {
        self.sess += 1 + self.rng.below(7);
        self.sess
    }

    fn dst_ip(&mut self) -> String {
        format!("52.{}.{}.{}", 96 + self.rng.below(20), self.rng.below(256), 1 + self.rng.below(254))
    }

    // ------------------------------------------------------------ network and DNS

    /// One visit of `host` (`path` after it) by `u` from their desk, in
    /// the logs of their site: the DNS query a moment before, then the
    /// firewall, sensor or proxy line. Records the rows the shadow-SaaS
    /// rules will see.
    fn web(&mut self, u: &User, t: T, host: &str, path: &str, w: Web) {
        let app = shadow_app(host);
        let dns_t = t.minus_ms(40 + self.rng.below(200));
        let dns_entity = match u.site {
            Site::Hq => {
                let line = bind_line(dns_t, &u.ws_ip, 49152 + self.rng.below(16000), host);
                self.push("bind-query", dns_t, line, Outcome::Row);
                Some(u.ws_ip.clone())
            }
            Site::Branch => {
                let line = umbrella_line(dns_t, u, host, w.blocked);
                self.push("umbrella-dns", dns_t, line, Outcome::Row);
                Some(u.account.clone())
            }
            Site::Lab => {
                let uid = format!("D{:x}", self.next_sess());
                let dst = self.dst_ip();
                let line = zeek_dns_line(dns_t, &uid, &u.ws_ip, 40000 + self.rng.below(20000), host, &dst);
                self.push("zeek-dns", dns_t, line, Outcome::Row);
                Some(u.ws_ip.clone())
            }
            Site::Remote => None,
        };
        let dst = self.dst_ip();
        let sess = self.next_sess();
        let sport = 49152 + self.rng.below(16000);
        let (entity, method, bytes_out) = match u.site {
            Site::Hq => {
                let action = if w.blocked { "block-url" } else { "alert" };
                let line = panos_url(t, &u.ws_ip, &dst, &u.panos_user(), &format!("{host}{path}"), action, sess, sport);
                self.push("panos", t, line, Outcome::Row);
                self.seen(u, t);
                if !w.blocked {
                    // The session's TRAFFIC log: bytes, but no host.
                    let end = t.plus_ms(2_000 + self.rng.below(60_000));
                    let line = panos_traffic(end, &u.ws_ip, &dst, &u.panos_user(), "ssl", w.up, w.down, sess, sport);
                    self.push("panos", end, line, Outcome::Row);
                    self.seen(u, end);
                    if w.down > 104_857_600 {
                        self.downloads.push(Download { t: end, email: u.email.clone() });
                    }
                }
                (u.account.clone(), None, None)
            }
            Site::Branch => {
                if w.webfilter {
                    let line = fortigate_webfilter(t, &u.ws_ip, &dst, &u.account, host, path, w.method(), sess, sport);
                    self.push("fortigate", t, line, Outcome::Row);
                    (u.account.clone(), Some(w.method()), None)
                } else {
                    let line =
                        fortigate_traffic(t, &u.ws_ip, &dst, &u.account, host, w.up, w.down, w.blocked, sess, sport);
                    self.push("fortigate", t, line, Outcome::Row);
                    if w.down > 104_857_600 && !w.blocked {
                        self.downloads.push(Download { t, email: u.email.clone() });
                    }
                    (u.account.clone(), None, Some(w.up))
                }
            }
            Site::Lab => {
                let uid = format!("C{:x}", sess);
                let line = zeek_ssl_line(t, &uid, &u.ws_ip, sport, &dst, Some(host));
                self.push("zeek-ssl", t, line, Outcome::Row);
                (u.ws_ip.clone(), None, None)
            }
            Site::Remote => {
                let line = if w.post {
                    squid_line(t, &u.ws_ip, "TCP_MISS/200", w.down, "POST", &format!("https://{host}{path}"), u, &dst)
                } else {
                    let code = if w.blocked { "TCP_DENIED/403" } else { "TCP_TUNNEL/200" };
                    squid_line(t, &u.ws_ip, code, w.down, "CONNECT", &format!("{host}:443"), u, &dst)
                };
                self.push("squid", t, line, Outcome::Row);
                (u.account.clone(), Some(if w.post { "POST" } else { "CONNECT" }), None)
            }
        };
        if let Some((app, category, _status)) = app {
            if let Some(e) = dns_entity {
                self.usage.push(Usage::dns(dns_t, e, u, app, category));
            }
            self.usage.push(Usage {
                t,
                class: Class::Net,
                attributable: false,
                entity,
                src_ip: u.ws_ip.clone(),
                app,
                category,
                allowed: !w.blocked,
                method,
                bytes_out,
            });
        }
    }

    /// A DNS query from `u`'s desk at HQ (BIND) and nothing else: the
    /// connection never shows in a web log.
    fn dns_only(&mut self, u: &User, t: T, host: &str) {
        assert_eq!(u.site, Site::Hq, "BIND logs HQ's queries");
        let line = bind_line(t, &u.ws_ip, 49152 + self.rng.below(16000), host);
        self.push("bind-query", t, line, Outcome::Row);
        if let Some((app, category, _status)) = shadow_app(host) {
            self.usage.push(Usage::dns(t, u.ws_ip.clone(), u, app, category));
        }
    }

    /// A benign day of browsing for `u`, between `start` and `end`.
    fn browse(&mut self, u: &User, start: T, end: T, visits: u64) {
        for _ in 0..visits {
            let t = T(self.rng.range(start.0, end.0));
            let host = if u.site == Site::Lab && self.rng.chance(300) {
                self.rng.pick(LAB_HOSTS)
            } else {
                self.rng.pick(BENIGN_HOSTS)
            };
            let path = ["/", "/index.html", "/api/v1/items", "/mail/inbox", "/search?q=report", "/favicon.ico"]
                [self.rng.below(6) as usize];
            let mut w = Web::browse(self.rng.range(300, 200_000), self.rng.range(2_000, 4_000_000));
            if u.site == Site::Branch && self.rng.chance(150) {
                w.webfilter = true;
            }
            if u.site == Site::Remote && self.rng.chance(100) {
                w.post = true;
            }
            self.web(u, t, host, path, w);
        }
        // Background DNS (time sync, updates, the domain controller).
        for _ in 0..visits / 3 {
            let t = T(self.rng.range(start.0, end.0));
            let name = self.rng.pick(DNS_ONLY);
            match u.site {
                Site::Hq => {
                    let line = bind_line(t, &u.ws_ip, 49152 + self.rng.below(16000), name);
                    self.push("bind-query", t, line, Outcome::Row);
                }
                Site::Branch => {
                    let line = umbrella_line(t, u, name, false);
                    self.push("umbrella-dns", t, line, Outcome::Row);
                }
                Site::Lab => {
                    let uid = format!("D{:x}", self.next_sess());
                    let dst = self.dst_ip();
                    let line = zeek_dns_line(t, &uid, &u.ws_ip, 40000 + self.rng.below(20000), name, &dst);
                    self.push("zeek-dns", t, line, Outcome::Row);
                }
                Site::Remote => {}
            }
        }
    }

    // ------------------------------------------------------------ identity

    fn okta_signin(&mut self, u: &User, t: T, ip: &str, device: Device, success: bool) {
        let line = okta_line(t, "user.session.start", u, ip, device, success, json!([]), json!({}));
        self.push("okta", t, line, Outcome::Row);
        self.note_signin(t, &u.email, &u.email, ip, device, success);
    }

    fn entra_signin(&mut self, u: &User, t: T, ip: &str, app: &str, device: Device, error: u32) {
        let line = entra_signin_line(t, u, ip, app, device, error);
        self.push("entra-signin", t, line, Outcome::Row);
        self.note_signin(t, &u.email, &u.email, ip, device, error == 0);
    }

    fn google_login(&mut self, u: &User, t: T, ip: &str, success: bool) {
        let line = gws_login_line(t, u, ip, success);
        self.push("google-workspace", t, line, Outcome::Row);
        // Google's login event carries no OS: never "desktop" for WF-02.
        self.note_signin(t, &u.email, &u.email, ip, Device::Unknown, success);
    }

    fn note_signin(&mut self, t: T, user: &str, email: &str, ip: &str, device: Device, success: bool) {
        let public_wifi = ip == "214.214.214.216" || ip == "214.214.214.217";
        let cellular = ip.starts_with("149.101.100.") || ip.starts_with("80.214.") || ip.starts_with("108.96.");
        if success && (public_wifi || cellular) {
            self.signins.push(PublicSignin {
                t,
                user: user.to_string(),
                email: email.to_string(),
                ip: ip.to_string(),
                public_wifi,
                desktop: device.desktop(),
            });
        }
    }

    // ------------------------------------------------------------ OAuth

    fn okta_consent(&mut self, u: &User, t: T, ip: &str, app: &str, scopes: &str) {
        let client_id = format!("0oa{:x}{}", self.next_sess(), app.len());
        let targets = json!([{"id": client_id, "type": "PublicClientApp", "alternateId": app, "displayName": app},
                             {"id": format!("00u{}", u.idx), "type": "User", "alternateId": u.email, "displayName": u.display}]);
        let debug = json!({"clientId": client_id, "grantedScopes": scopes});
        let line = okta_line(t, "app.oauth2.as.consent.grant", u, ip, Device::Windows, true, targets, debug);
        self.push("okta", t, line, Outcome::Row);
        self.note_grant(t, u, "consent", app, false, scopes.split(' ').map(String::from).collect());
    }

    fn okta_token_grant(&mut self, u: &User, t: T, ip: &str, app: &str, scopes: &str) {
        let client_id = format!("0oa{}x{}", app.len(), app.to_lowercase().replace(' ', ""));
        let targets = json!([{"id": client_id, "type": "PublicClientApp", "alternateId": app, "displayName": app}]);
        let debug = json!({"clientId": client_id, "grantedScopes": scopes});
        let line = okta_line(t, "app.oauth2.as.token.grant.access_token", u, ip, Device::Windows, true, targets, debug);
        self.push("okta", t, line, Outcome::Row);
        self.note_grant(t, u, "grant", app, false, scopes.split(' ').map(String::from).collect());
    }

    #[allow(clippy::too_many_arguments)]
    fn entra_consent(&mut self, u: &User, t: T, ip: &str, app: &str, app_id: &str, scopes: &str, admin: bool) {
        let n = self.next_sess();
        let line = entra_consent_line(t, u, ip, app, app_id, scopes, admin, n);
        self.push("entra-audit", t, line, Outcome::Row);
        self.note_grant(t, u, "consent", app, admin, scopes.split(' ').map(String::from).collect());
    }

    fn google_authorize(&mut self, u: &User, t: T, ip: &str, app: &str, scopes: &[&str]) {
        let n = self.next_sess();
        let line = gws_token_line(t, u, ip, app, scopes, n);
        self.push("google-workspace", t, line, Outcome::Row);
        self.note_grant(t, u, "authorize", app, false, scopes.iter().map(|s| s.to_string()).collect());
    }

    fn note_grant(&mut self, t: T, u: &User, action: &'static str, app: &str, admin: bool, scopes: Vec<String>) {
        let (id, status) = oauth_app(app);
        self.grants.push(Grant {
            t,
            user: u.email.clone(),
            email: u.email.clone(),
            action,
            app: id,
            status,
            admin,
            scopes,
        });
    }

    // ------------------------------------------------------------ mail

    fn m365_forward_rule(&mut self, u: &User, t: T, name: &str, dest: &str, delete: bool) {
        let mut params = vec![json!({"Name": "Name", "Value": name}), json!({"Name": "ForwardTo", "Value": dest})];
        if delete {
            params.push(json!({"Name": "DeleteMessage", "Value": "True"}));
        }
        let line = m365_exchange_line(t, "New-InboxRule", u, &u.email, params);
        self.push("m365-audit", t, line, Outcome::Row);
        self.note_forward(t, u, &u.email, "inbox_rule", dest, delete);
    }

    fn m365_set_mailbox_forward(&mut self, u: &User, t: T, dest: &str, keep_copy: bool) {
        let params = vec![
            json!({"Name": "Identity", "Value": u.email}),
            json!({"Name": "ForwardingSmtpAddress", "Value": format!("smtp:{dest}")}),
            json!({"Name": "DeliverToMailboxAndForward", "Value": if keep_copy { "True" } else { "False" }}),
        ];
        let line = m365_exchange_line(t, "Set-Mailbox", u, &u.email, params);
        self.push("m365-audit", t, line, Outcome::Row);
        self.note_forward(t, u, &u.email, "mailbox_forwarding", dest, !keep_copy);
    }

    fn google_forward(&mut self, u: &User, t: T, dest: &str) {
        let n = self.next_sess();
        let line = gws_activity(
            t,
            "user_accounts",
            &u.email,
            &u.signin_ip,
            n,
            json!([{"type": "email_forwarding_change", "name": "email_forwarding_out_of_domain",
                    "parameters": [{"name": "email_forwarding_destination_address", "value": dest}]}]),
        );
        self.push("google-workspace", t, line, Outcome::Row);
        self.note_forward(t, u, &u.email, "mailbox_forwarding", dest, false);
    }

    fn note_forward(&mut self, t: T, u: &User, user: &str, kind: &'static str, dest: &str, hides: bool) {
        self.forwards.push(Forward {
            t,
            user: user.to_string(),
            email: u.email.clone(),
            kind,
            dests: vec![dest.to_lowercase()],
            hides,
        });
    }

    fn trace(&mut self, t: T, sender: &str, recipient: &str, subject: &str, size: u64, from_ip: &str) {
        let n = self.next_sess();
        let line = trace_line(t, sender, recipient, subject, size, from_ip, n);
        self.push("m365-message-trace", t, line, Outcome::Row);
    }

    // ------------------------------------------------------------ the model

    /// Expectations of the rules that read the network / DNS rows, from the
    /// recorded usage of unsanctioned apps (defaults of each rule's [params];
    /// SS-01's and SS-10's `learning` set to 0s by the config).
    fn derive_network(&mut self) {
        let mut usage = std::mem::take(&mut self.usage);
        for u in usage.iter_mut().filter(|u| u.attributable) {
            if let Some(who) = self.attributed(&u.src_ip, u.t) {
                u.entity = who;
            }
        }
        // A valid overlay exception covers the person's rows of the app:
        // discovery stays (SS-01 at info), per-use rules skip them.
        let departments: BTreeMap<String, &str> =
            self.users.iter().map(|u| (u.account.clone(), u.department)).collect();
        let excepted = |u: &Usage| {
            departments.get(&u.entity).is_some_and(|d| EXCEPTED.iter().any(|(app, dept)| *app == u.app && dept == d))
        };
        let (excepted_usage, usage): (Vec<Usage>, Vec<Usage>) = usage.into_iter().partition(|u| excepted(u));
        for u in &excepted_usage {
            self.why = format!("{} reached {} ({:?} row), excepted for their department", u.entity, u.app, u.class);
            if u.class == Class::Dns || u.allowed {
                self.expect("SS-01", &u.entity, u.app);
                self.severities.insert(key("SS-01", &u.entity, u.app), "info");
            }
        }
        for u in &usage {
            self.why = format!("{} reached {} ({:?} row)", u.entity, u.app, u.class);
            let allowed = u.class == Class::Dns || u.allowed;
            // SS-01: first use per (user-or-address, app).
            if allowed {
                self.expect("SS-01", &u.entity, u.app);
            }
            // SS-04: conversion / transcription / paste uploads.
            let upload_method = matches!(u.method, None | Some("POST") | Some("PUT"));
            if u.class == Class::Net
                && u.allowed
                && upload_method
                && ["file_conversion", "transcription", "paste", "clipboard_sync"].contains(&u.category)
            {
                self.expect("SS-04", &u.entity, u.app);
            }
            // SS-05: remote access, by person (the address when nobody is known).
            if allowed && ["remote_access", "vpn_proxy"].contains(&u.category) {
                self.expect("SS-05", &u.entity, u.app);
            }
        }
        // SS-02 / SS-03: bytes per (user, app, hour).
        let mut hourly: BTreeMap<(String, &str, u64), u64> = BTreeMap::new();
        for u in &usage {
            let (Some(b), true) = (u.bytes_out, u.class == Class::Net && u.allowed) else { continue };
            if b == 0 {
                continue;
            }
            let storage = ["cloud_storage", "file_sharing"].contains(&u.category);
            let genai = u.category == "genai" && matches!(u.method, None | Some("POST") | Some("PUT"));
            if storage || genai {
                *hourly.entry((u.entity.clone(), u.app, u.t.hour())).or_default() += b;
            }
        }
        for ((entity, app, hour), bytes) in hourly {
            let category = usage.iter().find(|u| u.app == app).map_or("", |u| u.category);
            self.why = format!("{entity} sent {bytes} bytes to {app} in hour {hour}");
            if category == "genai" && bytes > 1_048_576 {
                self.expect("SS-03", &entity, app);
            } else if category != "genai" && bytes > 104_857_600 {
                self.expect("SS-02", &entity, app);
            }
        }
        // SS-10: at least 10 distinct people (canonical ids, or addresses) of one app in the day.
        let mut users_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for u in usage.iter().chain(&excepted_usage) {
            users_of.entry(u.app).or_default().insert(u.entity.as_str());
        }
        let adopted: Vec<(&str, usize)> =
            users_of.iter().filter(|(_, s)| s.len() >= 10).map(|(a, s)| (*a, s.len())).collect();
        for (app, n) in adopted {
            self.why = format!("{app} used by {n} distinct users in one day");
            self.expect("SS-10", "", app);
        }
        let mut usage = usage;
        usage.extend(excepted_usage);
        self.usage = usage;
    }

    /// WF-01, WF-02, WF-03, SS-06, SS-07 and PF-01..PF-05 from the recorded
    /// sign-ins, grants and forwarding changes.
    fn derive_identity_and_mail(&mut self) {
        let signins = self.signins.clone();
        for s in &signins {
            self.why = format!("{} signed in from {} at {}", s.user, s.ip, s.t.hms());
            if s.public_wifi {
                self.expect("WF-01", &s.user, &s.ip);
            } else if s.desktop {
                self.expect("WF-02", &s.user, &s.ip);
            }
        }
        // WF-03: a sensitive action within an hour after a public sign-in.
        let mut thens: Vec<(T, String, String)> = Vec::new();
        for g in &self.grants {
            if ["consent", "authorize"].contains(&g.action) {
                thens.push((g.t, g.email.clone(), format!("granted {}", g.app)));
            }
        }
        for f in &self.forwards {
            // Inbox rules, mailbox forwarding and transport rules (not Google routing settings).
            if f.kind != "routing_setting" && f.dests.iter().any(|d| !is_corporate(d)) {
                thens.push((f.t, f.email.clone(), format!("forwarding to {:?}", f.dests)));
            }
        }
        for d in &self.downloads {
            thens.push((d.t, d.email.clone(), "a big download".into()));
        }
        for s in &signins {
            for (t, email, what) in &thens {
                if *email == s.email && *t >= s.t && t.0 - s.t.0 <= HOUR {
                    self.why =
                        format!("{} signed in from {} at {}, then {what} at {}", s.email, s.ip, s.t.hms(), t.hms());
                    self.expect("WF-03", &s.email, &s.ip);
                }
            }
        }
        // SS-06 / SS-07.
        let grants = self.grants.clone();
        for g in &grants {
            self.why = format!("{} {} {} ({}) with {:?}", g.user, g.action, g.app, g.status, g.scopes);
            let what = if g.app.is_empty() { "" } else { g.app };
            if ["consent", "authorize"].contains(&g.action) && !g.admin && g.status != "sanctioned" {
                self.expect("SS-06", &g.user, what);
            }
            if g.status != "sanctioned" && risky_scopes(&g.scopes) {
                self.expect("SS-07", &g.user, what);
                self.severities.insert(key("SS-07", &g.user, what), if g.admin { "critical" } else { "high" });
            }
        }
        // PF-01..PF-05.
        let forwards = self.forwards.clone();
        let mut by_dest: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in &forwards {
            let Some(dest) = f.dests.iter().find(|d| !is_corporate(d)).cloned() else { continue };
            self.why = format!("{} forwards ({}) to {dest}", f.user, f.kind);
            if PARTNER_DOMAINS.contains(&domain_of(&dest)) {
                // An agreed partner: only hiding the mail from its owner is still a finding.
                if f.hides {
                    self.expect("PF-03", &f.user, &dest);
                }
                continue;
            }
            if f.kind == "transport_rule" || f.kind == "routing_setting" {
                self.expect("PF-05", &f.user, &dest);
                continue;
            }
            if is_personal(&dest) {
                self.expect("PF-02", &f.user, &dest);
            } else {
                self.expect("PF-01", &f.user, &dest);
            }
            if f.hides {
                self.expect("PF-03", &f.user, &dest);
            }
            by_dest.entry(dest).or_default().insert(f.user.clone());
        }
        for (dest, users) in by_dest {
            if users.len() > 1 {
                self.why = format!("{} mailboxes forward to {dest}: {users:?}", users.len());
                self.expect("PF-04", "", &dest);
            }
        }
    }

    /// Checks that each planted outcome does not depend on the order in
    /// which the parallel sources' batches reach the rules (see the module
    /// documentation). Panics with the violated condition.
    fn check_order(&self) {
        // SS-10 (lateness 1h over every unsanctioned app row of network and DNS):
        // an adopted app's rows must lie within an hour of the newest such row.
        let newest = self.usage.iter().map(|u| u.t).max().unwrap_or(T(0));
        for (rule, _, app) in self.expected.keys().filter(|k| k.0 == "SS-10") {
            let oldest = self.usage.iter().filter(|u| u.app == app).map(|u| u.t).min().unwrap_or(T(0));
            assert!(
                oldest.0 + HOUR >= newest.0,
                "{rule} {app}: {} is more than 1h before {}",
                oldest.hms(),
                newest.hms()
            );
        }
        // SS-02 / SS-03 (lateness 15 min): every row either rule reads lies within 15 minutes.
        for (cats, rule) in [(&["cloud_storage", "file_sharing"][..], "SS-02"), (&["genai"][..], "SS-03")] {
            let times: Vec<T> = self
                .usage
                .iter()
                .filter(|u| u.class == Class::Net && u.bytes_out.is_some_and(|b| b > 0) && cats.contains(&u.category))
                .map(|u| u.t)
                .collect();
            if let (Some(lo), Some(hi)) = (times.iter().min(), times.iter().max()) {
                assert!(hi.0 - lo.0 <= 15 * MINUTE, "{rule}: its rows span {}..{}", lo.hms(), hi.hms());
            }
        }
        // PF-04 (lateness 1h over external forwarding): a shared destination's rows
        // lie within an hour of the newest external forwarding row.
        let external: Vec<&Forward> = self
            .forwards
            .iter()
            .filter(|f| {
                ["inbox_rule", "mailbox_forwarding"].contains(&f.kind) && f.dests.iter().any(|d| !is_corporate(d))
            })
            .collect();
        let newest = external.iter().map(|f| f.t).max().unwrap_or(T(0));
        for (_, _, dest) in self.expected.keys().filter(|k| k.0 == "PF-04") {
            for f in external.iter().filter(|f| f.dests.contains(dest)) {
                assert!(
                    f.t.0 + HOUR >= newest.0,
                    "PF-04 {dest}: {} is more than 1h before {}",
                    f.t.hms(),
                    newest.hms()
                );
            }
        }
        // WF-03 (both sides kept for 1h after the newest step row): a correlated
        // sign-in lies within an hour of the newest row of any step.
        let mut steps: Vec<T> = self.signins.iter().map(|s| s.t).collect();
        steps.extend(self.grants.iter().filter(|g| g.action != "grant").map(|g| g.t));
        steps.extend(self.forwards.iter().filter(|f| f.dests.iter().any(|d| !is_corporate(d))).map(|f| f.t));
        steps.extend(self.downloads.iter().map(|d| d.t));
        let newest = steps.iter().max().copied().unwrap_or(T(0));
        for (_, who, ip) in self.expected.keys().filter(|k| k.0 == "WF-03") {
            for s in self.signins.iter().filter(|s| s.email == *who && s.ip == *ip) {
                assert!(
                    s.t.0 + HOUR >= newest.0,
                    "WF-03 {who}: sign-in {} is more than 1h before {}",
                    s.t.hms(),
                    newest.hms()
                );
            }
        }
    }
}

/// How a visit looks on the wire.
#[derive(Debug, Clone, Copy, Default)]
struct Web {
    up: u64,
    down: u64,
    blocked: bool,
    /// Squid (TLS-intercepting): a POST instead of a CONNECT tunnel.
    post: bool,
    /// FortiGate: a web filter log (no byte counts) instead of a traffic log.
    webfilter: bool,
}

impl Web {
    fn browse(up: u64, down: u64) -> Web {
        Web { up, down, ..Web::default() }
    }
    fn method(&self) -> &'static str {
        if self.post {
            "POST"
        } else {
            "GET"
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Device {
    Windows,
    Mac,
    IPhone,
    Unknown,
}

impl Device {
    fn desktop(self) -> bool {
        matches!(self, Device::Windows | Device::Mac)
    }
    fn okta(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Device::Windows | Device::Unknown => ("Windows 10", WIN_UA, "Computer"),
            Device::Mac => ("Mac OS X", MAC_UA, "Computer"),
            Device::IPhone => ("iOS", IPHONE_UA, "Mobile"),
        }
    }
    fn entra(self) -> (&'static str, &'static str) {
        match self {
            Device::Windows | Device::Unknown => ("Windows10", "Edge 131.0.0"),
            Device::Mac => ("MacOs", "Chrome 131.0.0"),
            Device::IPhone => ("Ios", "Mobile Safari 18.1"),
        }
    }
}

// ---------------------------------------------------------------- vendor lines
// Shapes as docs/formats/<format>.md and the rule fixtures show them.

#[allow(clippy::too_many_arguments)]
fn panos_url(t: T, src: &str, dst: &str, user: &str, url: &str, action: &str, sess: u64, sport: u64) -> String {
    let (d, h) = ("2026/11/24", t.hms());
    format!(
        "<14>Nov 24 {h} fw01.corp.example.com 1,{d} {h},013201001234,THREAT,url,2305,{d} {h},{src},{dst},89.160.20.113,{dst},allow-web,{user},,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,{d} {h},{sess},1,{sport},443,{},443,0x408000,tcp,{action},\"{url}\",(9999),computer-and-internet-info,informational,client-to-server,{},0x0,10.0.0.0-10.255.255.255,United States,0,,0,,",
        sport + 1000,
        sess * 7
    )
}

#[allow(clippy::too_many_arguments)]
fn panos_traffic(
    t: T,
    src: &str,
    dst: &str,
    user: &str,
    app: &str,
    sent: u64,
    recv: u64,
    sess: u64,
    sport: u64,
) -> String {
    let (d, h) = ("2026/11/24", t.hms());
    format!(
        "<14>Nov 24 {h} fw01.corp.example.com 1,{d} {h},013201001234,TRAFFIC,end,2305,{d} {h},{src},{dst},89.160.20.113,{dst},allow-web,{user},,{app},vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,{d} {h},{sess},1,{sport},443,{},443,0x400053,tcp,allow,{},{sent},{recv},{},{d} {h},{},computer-and-internet-info,0,{},0x0,10.0.0.0-10.255.255.255,United States,0,{},{},tcp-fin",
        sport + 1000,
        sent + recv,
        (sent + recv) / 1200 + 4,
        3 + sess % 90,
        sess * 7 + 1,
        (sent / 1200) + 2,
        (recv / 1200) + 2
    )
}

#[allow(clippy::too_many_arguments)]
fn fortigate_traffic(
    t: T,
    src: &str,
    dst: &str,
    user: &str,
    host: &str,
    sent: u64,
    recv: u64,
    blocked: bool,
    sess: u64,
    sport: u64,
) -> String {
    let utm = if blocked { "block" } else { "allow" };
    format!(
        "date=2026-11-24 time={} devname=\"FGT-PORTO\" devid=\"FG100FTK20000002\" tz=\"+0000\" logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" srcip={src} srcport={sport} srcintf=\"port2\" dstip={dst} dstport=443 dstintf=\"wan1\" sessionid={sess} proto=6 action=\"close\" policyid=12 user=\"{user}\" service=\"HTTPS\" app=\"HTTPS.BROWSER\" duration={} sentbyte={sent} rcvdbyte={recv} hostname=\"{host}\" utmaction=\"{utm}\"",
        t.hms(),
        2 + sess % 300
    )
}

#[allow(clippy::too_many_arguments)]
fn fortigate_webfilter(
    t: T,
    src: &str,
    dst: &str,
    user: &str,
    host: &str,
    path: &str,
    method: &str,
    sess: u64,
    sport: u64,
) -> String {
    format!(
        "date=2026-11-24 time={} devname=\"FGT-PORTO\" devid=\"FG100FTK20000002\" tz=\"+0000\" logid=\"0317013312\" type=\"utm\" subtype=\"webfilter\" eventtype=\"ftgd_allow\" level=\"notice\" vd=\"root\" policyid=12 sessionid={sess} user=\"{user}\" srcip={src} srcport={sport} srcintf=\"port2\" srcintfrole=\"lan\" dstip={dst} dstport=443 dstintf=\"wan1\" dstintfrole=\"wan\" proto=6 httpmethod=\"{method}\" service=\"HTTPS\" hostname=\"{host}\" profile=\"monitor-all\" action=\"passthrough\" reqtype=\"direct\" url=\"https://{host}{path}\" direction=\"outgoing\" msg=\"URL belongs to an allowed category in policy\" ratemethod=\"domain\" cat=52 catdesc=\"Information Technology\"",
        t.hms()
    )
}

fn zeek_ssl_line(t: T, uid: &str, src: &str, sport: u64, dst: &str, sni: Option<&str>) -> String {
    format!(
        "{}\t{uid}\t{src}\t{sport}\t{dst}\t443\tTLSv13\tTLS_AES_128_GCM_SHA256\tx25519\t{}\tF\t-\th2\tT\tCsiI\t(empty)\t(empty)\t{}",
        t.epoch_us(),
        sni.unwrap_or("-"),
        if sni.is_some() { "T" } else { "-" }
    )
}

fn zeek_dns_line(t: T, uid: &str, src: &str, sport: u64, query: &str, answer: &str) -> String {
    json!({"ts": (MIDNIGHT * 1000 + t.0) as f64 / 1000.0, "uid": uid, "id.orig_h": src, "id.orig_p": sport,
           "id.resp_h": "10.30.0.2", "id.resp_p": 53, "proto": "udp", "trans_id": sport % 65535, "query": query,
           "qclass": 1, "qclass_name": "C_INTERNET", "qtype": 1, "qtype_name": "A", "rcode": 0, "rcode_name": "NOERROR",
           "AA": false, "TC": false, "RD": true, "RA": true, "Z": 0, "answers": [answer], "TTLs": [60.0], "rejected": false})
    .to_string()
}

fn bind_line(t: T, src: &str, sport: u64, query: &str) -> String {
    format!(
        "24-Nov-2026 {}.{:03} queries: info: client @0x7f91b8005490 {src}#{sport} ({query}): query: {query} IN A +E(0)K (10.10.0.2)",
        t.hms(),
        t.ms()
    )
}

fn umbrella_line(t: T, u: &User, query: &str, blocked: bool) -> String {
    let host = format!("LT-{}", u.idx + 1000);
    format!(
        "\"2026-11-24 {}\",\"{} ({})\",\"{} ({}),{host},Porto Office\",\"{}\",\"89.160.20.120\",\"{}\",\"1 (A)\",\"NOERROR\",\"{query}.\",\"Software/Technology\",\"AD Users\",\"AD Users,Roaming Computers,Networks\",\"\"",
        t.hms(),
        u.display,
        u.email,
        u.display,
        u.email,
        u.ws_ip,
        if blocked { "Blocked" } else { "Allowed" }
    )
}

#[allow(clippy::too_many_arguments)]
fn squid_line(t: T, src: &str, code: &str, bytes: u64, method: &str, url: &str, u: &User, peer: &str) -> String {
    let hier = if code.starts_with("TCP_DENIED") { "HIER_NONE/-".to_string() } else { format!("HIER_DIRECT/{peer}") };
    format!(
        "{} {:>6} {src} {code} {bytes} {method} {url} {} {hier} -",
        t.epoch_ms(),
        20 + bytes % 900,
        u.squid_logged()
    )
}

#[allow(clippy::too_many_arguments)]
fn okta_line(
    t: T,
    event_type: &str,
    u: &User,
    ip: &str,
    device: Device,
    success: bool,
    targets: Value,
    debug: Value,
) -> String {
    let (os, ua, dev) = device.okta();
    json!({
        "uuid": format!("{:08x}-{:04x}-4000-8000-{:012x}", t.0, u.idx, t.0 * 31 + u.idx as u64),
        "published": t.iso_ms(),
        "eventType": event_type,
        "version": "0",
        "severity": "INFO",
        "displayMessage": event_type,
        "actor": {"id": format!("00u{}", u.idx), "type": "User", "alternateId": u.email, "displayName": u.display},
        "client": {"userAgent": {"rawUserAgent": ua, "os": os, "browser": "CHROME"}, "zone": "null", "device": dev, "ipAddress": ip},
        "outcome": {"result": if success { "SUCCESS" } else { "FAILURE" }},
        "target": targets,
        "debugContext": {"debugData": debug},
        "legacyEventType": event_type,
    })
    .to_string()
}

fn entra_signin_line(t: T, u: &User, ip: &str, app: &str, device: Device, error: u32) -> String {
    let (os, browser) = device.entra();
    let app_id = match app {
        "Microsoft Teams" => "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
        "Office 365 SharePoint Online" => "00000003-0000-0ff1-ce00-000000000000",
        _ => "00000002-0000-0ff1-ce00-000000000000",
    };
    let mut status = json!({"errorCode": error});
    if error != 0 {
        status["failureReason"] = json!("Invalid username or password or Invalid on-premise username or password.");
    }
    json!({
        "id": format!("{:08x}-{:04x}-4e5f-9a8b-{:012x}", t.0, u.idx, t.0 ^ 0x5eed),
        "createdDateTime": t.iso_z(),
        "userDisplayName": u.display,
        "userPrincipalName": u.email,
        "userId": format!("{:08x}-0000-4000-8000-{:012x}", u.idx, u.idx),
        "appId": app_id,
        "appDisplayName": app,
        "ipAddress": ip,
        "clientAppUsed": "Browser",
        "isInteractive": true,
        "conditionalAccessStatus": "success",
        "status": status,
        "deviceDetail": {"deviceId": "", "displayName": "", "operatingSystem": os, "browser": browser, "isCompliant": true, "isManaged": true},
        "location": {"city": "Lisbon", "countryOrRegion": "PT"},
    })
    .to_string()
}

#[allow(clippy::too_many_arguments)]
fn entra_consent_line(t: T, u: &User, ip: &str, app: &str, app_id: &str, scopes: &str, admin: bool, n: u64) -> String {
    let b = |v: bool| if v { "\"True\"" } else { "\"False\"" };
    let sp = format!("{:08x}-{:04x}-4b0b-8821-{:012x}", n, u.idx, n * 13);
    let consent_type = if admin { "AllPrincipals" } else { "Principal" };
    json!({
        "id": format!("Directory_{sp}_{n}"),
        "category": "ApplicationManagement",
        "correlationId": format!("{:08x}-c179-427f-a8ae-{:012x}", n, n * 7),
        "result": "success",
        "resultReason": "",
        "activityDisplayName": "Consent to application",
        "activityDateTime": t.iso_ms(),
        "loggedByService": "Core Directory",
        "operationType": "Assign",
        "initiatedBy": {"app": null, "user": {"id": format!("{:08x}-0000-4000-8000-{:012x}", u.idx, u.idx), "displayName": null, "userPrincipalName": u.email, "ipAddress": ip}},
        "targetResources": [{
            "id": sp, "displayName": app, "type": "ServicePrincipal",
            "modifiedProperties": [
                {"displayName": "ConsentContext.IsAdminConsent", "oldValue": null, "newValue": b(admin)},
                {"displayName": "ConsentContext.IsAppOnly", "oldValue": null, "newValue": b(false)},
                {"displayName": "ConsentContext.OnBehalfOfAll", "oldValue": null, "newValue": b(admin)},
                {"displayName": "ConsentAction.Permissions", "oldValue": null,
                 "newValue": format!("\"[] => [[Id: x{n}, ClientId: {sp}, PrincipalId: , ResourceId: 911e3bbe-33bf-4a5c-89ff-f2a09363baaa, ConsentType: {consent_type}, Scope:  {scopes}, CreatedDateTime: , LastModifiedDateTime ]]; \"")},
                {"displayName": "TargetId.ServicePrincipalNames", "oldValue": null, "newValue": format!("\"{app_id}\"")},
            ]
        }],
        "additionalDetails": [{"key": "User-Agent", "value": "EvoSTS"}, {"key": "AppId", "value": app_id}],
    })
    .to_string()
}

fn gws_activity(t: T, application: &str, actor: &str, ip: &str, n: u64, events: Value) -> String {
    json!({
        "kind": "admin#reports#activity",
        "id": {"time": t.iso_ms(), "uniqueQualifier": format!("-{}", 4_410_012_378_812_663_801u64 - n), "applicationName": application, "customerId": "C03az79cb"},
        "actor": {"callerType": "USER", "email": actor, "profileId": format!("1145111473{:011}", n)},
        "ownerDomain": CORP,
        "ipAddress": ip,
        "events": events,
    })
    .to_string()
}

fn gws_login_line(t: T, u: &User, ip: &str, success: bool) -> String {
    let n = u.idx as u64 * 100_000 + t.0 / 1000;
    let event = if success {
        json!([{"type": "login", "name": "login_success", "parameters": [
            {"name": "login_type", "value": "google_password"},
            {"name": "login_challenge_method", "multiValue": ["password", "google_prompt"]},
            {"name": "is_suspicious", "boolValue": false}]}])
    } else {
        json!([{"type": "login", "name": "login_failure", "parameters": [
            {"name": "login_type", "value": "google_password"},
            {"name": "login_challenge_method", "multiValue": ["password"]},
            {"name": "login_failure_type", "value": "login_failure_invalid_password"},
            {"name": "is_suspicious", "boolValue": false}]}])
    };
    gws_activity(t, "login", &u.email, ip, n, event)
}

fn gws_token_line(t: T, u: &User, ip: &str, app: &str, scopes: &[&str], n: u64) -> String {
    gws_activity(
        t,
        "token",
        &u.email,
        ip,
        n,
        json!([{"type": "auth", "name": "authorize", "parameters": [
            {"name": "client_id", "value": format!("{n}-{}.apps.googleusercontent.com", app.to_lowercase().replace(['.', ' '], ""))},
            {"name": "app_name", "value": app},
            {"name": "client_type", "value": "WEB"},
            {"name": "scope", "multiValue": scopes}]}]),
    )
}

fn m365_exchange_line(t: T, operation: &str, actor: &User, object: &str, params: Vec<Value>) -> String {
    json!({
        "CreationTime": t.iso_bare(),
        "Id": format!("{:08x}-0004-4e5f-8a9b-{:012x}", t.0, actor.idx),
        "Operation": operation,
        "OrganizationId": "4f1c0a52-0000-4000-8000-0000c0ffee00",
        "RecordType": 1,
        "ResultStatus": "True",
        "UserKey": format!("10032000{:08}", actor.idx),
        "UserType": 0,
        "Version": 1,
        "Workload": "Exchange",
        "ClientIP": format!("{}:{}", actor.signin_ip, 50000 + t.0 % 10000),
        "ObjectId": object,
        "UserId": actor.email,
        "ExternalAccess": false,
        "OrganizationName": CORP,
        "OriginatingServer": "DB8PR01MB1234 (15.20.8000.000)",
        "Parameters": params,
        "SessionId": format!("5c9f0d3e-0000-4000-8000-{:012x}", t.0),
    })
    .to_string()
}

fn m365_share_line(t: T, u: &User, operation: &str, file: &str, target: Option<(&str, &str)>) -> String {
    let mut v = json!({
        "CreationTime": t.iso_bare(),
        "Id": format!("{:08x}-0014-4e5f-8a9b-{:012x}", t.0, u.idx),
        "Operation": operation,
        "RecordType": 14,
        "Workload": "OneDrive",
        "ResultStatus": "Succeeded",
        "UserId": u.email,
        "ClientIP": u.signin_ip,
        "ObjectId": format!("https://corp-my.sharepoint.com/personal/{}_corp_example_com/Documents/{file}", u.account.replace('.', "_")),
        "SourceFileName": file,
        "ItemType": "File",
        "SiteUrl": format!("https://corp-my.sharepoint.com/personal/{}_corp_example_com/", u.account.replace('.', "_")),
    });
    if let Some((target, kind)) = target {
        v["TargetUserOrGroupName"] = json!(target);
        v["TargetUserOrGroupType"] = json!(kind);
    }
    v.to_string()
}

fn trace_line(t: T, sender: &str, recipient: &str, subject: &str, size: u64, from_ip: &str, n: u64) -> String {
    json!({
        "Received": t.iso_z(),
        "SenderAddress": sender,
        "RecipientAddress": recipient,
        "Subject": subject,
        "Status": "Delivered",
        "ToIP": null,
        "FromIP": from_ip,
        "Size": size,
        "MessageId": format!("<DB8PR01MB{n:06}@DB8PR01MB1234.eurprd01.prod.outlook.com>"),
        "MessageTraceId": format!("{:08x}-3b7e-4d2a-9c11-{:012x}", n, n * 3),
    })
    .to_string()
}

// ---------------------------------------------------------------- the day's story

pub fn generate() -> Day {
    let mut g = Gen::new();
    benign(&mut g);
    let benign_only = benign_only(&mut g);
    plant_network(&mut g);
    plant_identity(&mut g);
    plant_mail(&mut g);
    plant_noise(&mut g);
    g.derive_network();
    g.derive_identity_and_mail();
    g.check_order();
    for i in benign_only {
        assert!(!g.planted.contains(&i), "{} is benign-only but planted", g.users[i].account);
    }
    for f in &mut g.files {
        f.events.sort_by_key(|e| (e.t, e.seq));
    }
    Day { users: g.users, files: g.files, expected: g.expected, planted: g.planted, severities: g.severities }
}

/// The bulk: everyone's ordinary day.
fn benign(g: &mut Gen) {
    for i in 0..USERS {
        let u = g.user(i);
        let arrive = at(7, 0, 0).plus_ms(g.rng.below(150 * MINUTE));
        let leave = at(16, 30, 0).plus_ms(g.rng.below(120 * MINUTE));
        // Sign-ins: Okta in the morning, Entra ID for the Microsoft apps,
        // Okta SSO to the SaaS apps, the Google Workspace login in the lab.
        let device = if i % 5 == 0 { Device::Mac } else { Device::Windows };
        g.okta_signin(&u, arrive, &u.signin_ip, device, true);
        for app in ["Salesforce", "Slack", "Zoom"].iter().take(1 + i % 3) {
            let t = T(g.rng.range(arrive.0, leave.0));
            let targets = json!([{"id": format!("0oa{}", app.len()), "type": "AppInstance", "alternateId": app, "displayName": app}]);
            let line = okta_line(t, "user.authentication.sso", &u, &u.signin_ip, device, true, targets, json!({}));
            g.push("okta", t, line, Outcome::Row);
        }
        for app in ["Office 365 Exchange Online", "Microsoft Teams", "Office 365 SharePoint Online"] {
            let t = T(g.rng.range(arrive.0, leave.0));
            g.entra_signin(&u, t, &u.signin_ip, app, device, 0);
        }
        if i % 23 == 7 {
            // A mistyped password, then the sign-in.
            let t = arrive.plus_ms(30 * MINUTE);
            g.entra_signin(&u, t, &u.signin_ip, "Office 365 Exchange Online", device, 50126);
        }
        if u.site == Site::Lab {
            g.google_login(&u, arrive.plus_ms(5 * MINUTE), &u.signin_ip, true);
            let line = gws_activity(
                leave,
                "login",
                &u.email,
                &u.signin_ip,
                i as u64,
                json!([{"type": "login", "name": "logout", "parameters": [{"name": "login_type", "value": "google_password"}]}]),
            );
            g.push("google-workspace", leave, line, Outcome::Skip); // google-workspace: event not modelled
        }
        // Okta `user.session.end` at the end of the day: not modelled.
        let line = okta_line(leave, "user.session.end", &u, &u.signin_ip, device, true, json!([]), json!({}));
        g.push("okta", leave, line, Outcome::Skip);

        // Browsing and DNS.
        g.browse(&u, arrive, leave, 40 + (i as u64 % 15));

        // Mail: internal threads, partners, newsletters, SaaS notifications from sanctioned apps.
        let colleague = g.user((i * 7 + 13) % USERS);
        for k in 0..6 {
            let t = T(g.rng.range(arrive.0, leave.0));
            let subject =
                ["Re: Q4 planning", "Minutes of today's stand-up", "Draft contract v3", "Lunch?"][(i + k) % 4];
            let size = g.rng.range(8_000, 2_500_000);
            g.trace(t, &u.email, &colleague.email, subject, size, &u.signin_ip);
        }
        let t = T(g.rng.range(arrive.0, leave.0));
        let (sender, subject) = [
            ("newsletter@industry-weekly.example.net", "This week in logistics"),
            ("no-reply@zoom.us", "Your cloud recording is now available"),
            ("dse@docusign.net", "Completed: NDA for review"),
            ("noreply@salesforce.com", "Your weekly pipeline report"),
            ("orders@supplier-one.example.net", "Order confirmation 4471"),
            ("events@conference.example.org", "Your ticket for DevDays"),
        ][i % 6];
        let size = g.rng.range(20_000, 400_000);
        g.trace(t, sender, &u.email, subject, size, "198.51.100.25");
        if i % 4 == 0 {
            let t = T(g.rng.range(arrive.0, leave.0));
            let partner = format!("{}@partner-{}.example.net", ["buyer", "ops", "legal", "sales"][i % 4], i % 9);
            let size = g.rng.range(50_000, 9_000_000);
            g.trace(t, &u.email, &partner, "Proposal and price list", size, &u.signin_ip);
        }

        // Mailbox housekeeping: inbox rules that file mail, internal forwarding, shares with colleagues.
        if i % 6 == 1 {
            let t = T(g.rng.range(arrive.0, leave.0));
            let params = vec![
                json!({"Name": "Name", "Value": "Newsletters"}),
                json!({"Name": "SubjectContainsWords", "Value": "newsletter;webinar"}),
                json!({"Name": "MoveToFolder", "Value": "Newsletters"}),
            ];
            let line = m365_exchange_line(t, "New-InboxRule", &u, &u.email, params);
            g.push("m365-audit", t, line, Outcome::Row);
        }
        if i % 25 == 2 {
            // While on leave: forward to a colleague (internal, so no finding).
            let t = T(g.rng.range(arrive.0, leave.0));
            let c = colleague.email.clone();
            g.m365_forward_rule(&u, t, "While I am away", &c, false);
        }
        if i % 40 == 9 {
            let t = T(g.rng.range(arrive.0, leave.0));
            let c = colleague.email.clone();
            g.m365_set_mailbox_forward(&u, t, &c, true);
        }
        if i % 8 == 3 {
            let t = T(g.rng.range(arrive.0, leave.0));
            let line = m365_share_line(t, &u, "SharingSet", "budget-2027.xlsx", Some((&colleague.email, "Member")));
            g.push("m365-audit", t, line, Outcome::Row);
        }
        if i % 10 == 0 {
            let t = T(g.rng.range(arrive.0, leave.0));
            let line = json!({"CreationTime": t.iso_bare(), "Id": format!("mia-{i}"), "Operation": "MailItemsAccessed",
                              "RecordType": 50, "ResultStatus": "Succeeded", "Workload": "Exchange", "ClientIP": u.signin_ip,
                              "UserId": u.email, "MailboxOwnerUPN": u.email})
            .to_string();
            g.push("m365-audit", t, line, Outcome::Skip); // m365-audit: operation not modelled
        }
    }
}

/// Benign events by people who are never planted (so no sign-in of theirs
/// can pair with them): OAuth consents and token grants to sanctioned apps,
/// large transfers to sanctioned storage, partner shares.
fn benign_only(g: &mut Gen) -> Vec<usize> {
    // Chosen so that none of them is planted below (asserted at the end).
    let consenters = [2usize, 9, 14, 27, 38, 70, 88, 101, 123, 133, 160, 171, 190, 201, 219, 240, 262, 281, 293];
    for (k, &i) in consenters.iter().enumerate() {
        let u = g.user(i);
        let t = at(8, 10, 0).plus_ms(k as u64 * 23 * MINUTE);
        let app = ["Zoom", "Slack", "Salesforce"][k % 3];
        g.okta_consent(&u, t, &u.signin_ip, app, "openid profile email offline_access");
        g.okta_token_grant(
            &u,
            t.plus_ms(40 * MINUTE),
            &u.signin_ip,
            "Corp Expenses",
            "openid offline_access expenses.write",
        );
        if k % 2 == 0 {
            // Only the `Consent to application` record: Entra ID also writes an
            // `Add delegated permission grant` record for it, which names no app
            // (client_app null, client_id the service principal's object id), so
            // SS-07 reports it as an unknown app with risky scopes — a false
            // positive on a sanctioned app, left out here and reported instead.
            g.entra_consent(
                &u,
                t.plus_ms(5 * MINUTE),
                &u.signin_ip,
                "Microsoft Teams",
                "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
                "User.Read Files.ReadWrite offline_access",
                false,
            );
        }
        if u.site == Site::Lab {
            g.google_authorize(
                &u,
                t.plus_ms(9 * MINUTE),
                &u.signin_ip,
                "Slack",
                &[
                    "openid",
                    "https://www.googleapis.com/auth/userinfo.email",
                    "https://www.googleapis.com/auth/drive.file",
                ],
            );
        }
    }
    // Large transfers to sanctioned storage, and a big software download at HQ.
    for (k, &i) in [122usize, 150, 177].iter().enumerate() {
        let u = g.user(i);
        let t = at(13, 5, 0).plus_ms(k as u64 * 47 * MINUTE);
        let w = Web::browse(310_000_000, 120_000);
        g.web(&u, t, if k == 0 { "sft.corp.example.com" } else { "corp-my.sharepoint.com" }, "/upload", w);
    }
    for (k, &i) in [4usize, 57].iter().enumerate() {
        let u = g.user(i);
        let t = at(12, 20, 0).plus_ms(k as u64 * 71 * MINUTE);
        g.web(&u, t, "github.com", "/releases/download/v2.1/toolchain.tar.gz", Web::browse(90_000, 412_000_000));
    }
    // Files shared with a partner's guest account: external, not personal.
    for &i in &[39usize, 96] {
        let u = g.user(i);
        let t = at(14, 12, 0).plus_ms(i as u64 * MINUTE);
        let line = m365_share_line(
            t,
            &u,
            "SharingInvitationCreated",
            "offer.docx",
            Some(("buyer@partner-company.example.net", "Guest")),
        );
        g.push("m365-audit", t, line, Outcome::Row);
    }
    consenters.iter().chain(&[122, 150, 177, 4, 57, 39, 96]).copied().collect()
}

/// The person whose iLovePDF uploads the test reads the message of.
pub const ILOVEPDF_USER: usize = 3;

/// Shadow SaaS seen on the network and in DNS.
fn plant_network(g: &mut Gen) {
    // HQ: iLovePDF uploads (SS-04 with Adobe Acrobat as the alternative).
    let u = g.plant(ILOVEPDF_USER, "converts a contract at iLovePDF");
    g.web(&u, at(9, 12, 3), "www.ilovepdf.com", "/upload", Web::browse(2_400_000, 40_000));
    g.web(&u, at(9, 12, 41), "api11.ilovepdf.com", "/v1/upload", Web::browse(2_100_000, 12_000));
    // HQ: a Pastebin post the firewall blocked (the DNS query still shows it).
    let u = g.plant(7, "tries Pastebin; PAN-OS blocks the URL");
    g.web(&u, at(10, 5, 0), "pastebin.com", "/api/api_post.php", Web { blocked: true, ..Web::default() });
    // HQ: an ngrok tunnel (SS-05 by address: firewall and DNS rows share it).
    let u = g.plant(11, "exposes a demo through ngrok");
    g.web(&u, at(9, 30, 0), "abcd-1234.ngrok-free.app", "/", Web::browse(40_000, 90_000));
    // Branch: a recording uploaded to Otter.ai (its pilot exception expired).
    let u = g.plant(125, "uploads a call recording to Otter.ai");
    g.web(&u, at(14, 20, 0), "otter.ai", "/upload/recording", Web::browse(41_000_000, 300_000));
    // Branch: 160 MB to a personal Dropbox within twelve minutes (SS-02).
    let u = g.plant(130, "uploads 160 MB to a personal Dropbox");
    for k in 0..4 {
        g.web(&u, at(10, k * 4, 0), "content.dropboxapi.com", "/2/files/upload", Web::browse(40_000_000 + k, 88_000));
    }
    // Branch: 60 MB to WeTransfer, under SS-02's 100 MB floor.
    let u = g.plant(131, "sends 60 MB through WeTransfer (below the SS-02 floor)");
    for k in 0..2 {
        g.web(&u, at(10, 2 + k * 8, 0), "wetransfer.com", "/uploads", Web::browse(30_000_000, 50_000));
    }
    // Branch: 2.1 MB pasted into ChatGPT within an hour (SS-03), and small Claude prompts.
    let u = g.plant(135, "pastes 2.1 MB of customer data into ChatGPT");
    g.web(&u, at(11, 0, 0), "chatgpt.com", "/backend-api/conversation", Web::browse(1_200_000, 90_000));
    g.web(&u, at(11, 10, 0), "chatgpt.com", "/backend-api/conversation", Web::browse(900_000, 80_000));
    let u = g.plant(136, "asks Claude a few short questions (below the SS-03 threshold)");
    g.web(&u, at(11, 5, 0), "claude.ai", "/api/append_message", Web::browse(300_000, 40_000));
    // Lab: AnyDesk relays resolved (SS-05 from DNS), WeTransfer and Smallpdf over TLS.
    let u = g.plant(205, "starts AnyDesk for remote help");
    g.web(&u, at(9, 20, 1), "relay-4c3e1b2a.net.anydesk.com", "/", Web::browse(5_000, 9_000));
    g.web(&u, at(9, 20, 2), "boot.net.anydesk.com", "/", Web::browse(5_000, 9_000));
    let u = g.plant(206, "opens WeTransfer (Zeek sees the TLS handshake)");
    g.web(&u, at(13, 40, 0), "wetransfer.com", "/", Web::browse(10_000, 90_000));
    // Zeek names no user: the two are told apart by address alone.
    let u = g.plant(207, "converts a PDF at Smallpdf (Zeek: no user, by address)");
    g.web(&u, at(15, 10, 0), "smallpdf.com", "/pdf-to-word", Web::browse(10_000, 90_000));
    let u = g.plant(208, "converts another PDF at Smallpdf from the next desk");
    g.web(&u, at(15, 40, 0), "smallpdf.com", "/pdf-to-word", Web::browse(10_000, 90_000));
    // Remote: MEGA over the proxy's CONNECT tunnel; an iLovePDF upload the proxy decrypts.
    let u = g.plant(265, "browses MEGA through the VPN proxy");
    g.web(&u, at(10, 45, 0), "mega.nz", "/", Web::browse(0, 2_200_000));
    let u = g.plant(266, "uploads a scan to iLovePDF (proxy sees the POST)");
    g.web(&u, at(15, 33, 0), "www.ilovepdf.com", "/v1/upload", Web { post: true, down: 3_300, ..Web::default() });
    // DeepL: four people at three sites, short of SS-10's ten.
    for (k, i) in [15usize, 16, 155, 275].into_iter().enumerate() {
        let u = g.plant(i, "translates a document with DeepL");
        let w = Web { webfilter: u.site == Site::Branch, ..Web::browse(80_000, 200_000) };
        g.web(&u, at(13, 15 + k as u64 * 9, 0), "www.deepl.com", "/translator", w);
    }
    // Perplexity spreads across the company in the last hour of the day (SS-10).
    let adopters = [20usize, 21, 22, 140, 141, 142, 220, 221, 222, 270, 271, 272];
    for (k, i) in adopters.into_iter().enumerate() {
        let u = g.plant(i, "tries Perplexity after a colleague's tip");
        // FortiGate: a web filter log (no byte counts), so SS-03 never sees it.
        let w = Web { webfilter: u.site == Site::Branch, ..Web::browse(20_000, 300_000) };
        g.web(&u, at(18, 2 + k as u64 * 4, 0), "www.perplexity.ai", "/search", w);
    }
    // HQ: Legal converts a court filing at iLovePDF; the overlay excepts
    // Legal (valid): discovery at info, no SS-04.
    let u = g.plant(LEGAL_CONVERTER, "converts a court filing at iLovePDF (Legal's exception)");
    assert_eq!(u.department, "Legal");
    g.web(&u, at(10, 40, 0), "www.ilovepdf.com", "/upload", Web::browse(1_800_000, 30_000));
    // HQ: a hot desk changes hands at lunch; AnyDesk resolved from it in the
    // afternoon, seen only in DNS. SS-05 (and SS-01) name the person the
    // firewall shows at the desk then, not the morning's colleague.
    let mut morning = g.plant(HOT_DESK_MORNING, "works at the hot desk in the morning");
    morning.ws_ip = HOT_DESK.into();
    g.browse(&morning, at(8, 0, 0), at(12, 0, 0), 40);
    let mut afternoon = g.plant(HOT_DESK_AFTERNOON, "takes the hot desk after lunch and resolves AnyDesk there");
    afternoon.ws_ip = HOT_DESK.into();
    g.browse(&afternoon, at(13, 0, 0), at(16, 0, 0), 30);
    g.dns_only(&afternoon, at(15, 10, 0), "relay-9f1e.net.anydesk.com");
}

/// Sign-ins from public networks, OAuth consents.
fn plant_identity(g: &mut Gen) {
    // WF-01: three sign-ins from a hotel hotspot in the morning: one finding.
    let u = g.plant(60, "works from a hotel hotspot");
    for m in [5u64, 40, 75] {
        g.okta_signin(&u, at(8, 0, 0).plus_ms(m * MINUTE), "214.214.214.216", Device::Windows, true);
    }
    // WF-02: a Windows laptop tethered to a phone.
    let u = g.plant(61, "tethers the laptop to a phone");
    g.okta_signin(&u, at(8, 30, 40), "149.101.100.1", Device::Windows, true);
    // Not findings: a failed hotspot sign-in; an iPhone on cellular; a failed Entra sign-in over cellular.
    let u = g.plant(62, "fails to sign in from a hotspot");
    g.okta_signin(&u, at(8, 46, 0), "214.214.214.216", Device::Windows, false);
    let u = g.plant(63, "signs in from an iPhone over cellular");
    g.okta_signin(&u, at(8, 31, 0), "149.101.100.2", Device::IPhone, true);
    let u = g.plant(150 + 1, "mistypes the password on a tethered laptop");
    g.entra_signin(&u, at(9, 14, 0), "80.214.0.7", "Office 365 Exchange Online", Device::Windows, 50126);
    // WF-01 in Entra ID and in Google Workspace; a failed Google login from the hotspot.
    let u = g.plant(66, "reads mail at the airport");
    g.entra_signin(&u, at(12, 10, 0), "214.214.214.217", "Office 365 Exchange Online", Device::Windows, 0);
    let u = g.plant(211, "signs in to Google Workspace from the hotel");
    g.google_login(&u, at(8, 40, 0), "214.214.214.216", true);
    let u = g.plant(225, "fails to sign in to Google Workspace from the hotel");
    g.google_login(&u, at(8, 41, 0), "214.214.214.216", false);

    // SS-06 + SS-07: Otter.ai with offline access (Okta).
    let u = g.plant(55, "grants Otter.ai offline access to the calendar");
    g.okta_consent(&u, at(9, 55, 30), &u.signin_ip, "Otter.ai", "openid profile email offline_access calendar.read");
    // SS-06: Calendly through Google, harmless scopes.
    let u = g.plant(210, "connects Calendly to the Google calendar");
    g.google_authorize(
        &u,
        at(10, 30, 0),
        &u.signin_ip,
        "Calendly",
        &[
            "openid",
            "https://www.googleapis.com/auth/calendar.readonly",
            "https://www.googleapis.com/auth/userinfo.email",
        ],
    );
    // SS-07 (critical): an administrator consents Fireflies for the whole tenant with mail access.
    let u = g.plant(230, "consents Fireflies.ai for everyone (admin consent)");
    g.entra_consent(
        &u,
        at(11, 40, 3),
        &u.signin_ip,
        "Fireflies.ai Notetaker",
        "6b7c1f3e-2a9d-4c55-8e0b-3f1d2c4b5a69",
        "openid offline_access Mail.Read Calendars.Read",
        true,
    );
    // WF-01 at 08:00, an unrelated Grammarly consent 3.5 hours later: no WF-03.
    let u = g.plant(65, "signs in at the hotel, consents to Grammarly from the office hours later");
    g.okta_signin(&u, at(8, 0, 0), "214.214.214.216", Device::Windows, true);
    g.okta_consent(&u, at(11, 30, 0), &u.signin_ip, "Grammarly", "openid profile email");

    // WF-03, the day's last hour: a hotel sign-in, then a Notion consent 15 minutes later.
    let u = g.plant(64, "signs in at the hotel, connects Notion 15 minutes later");
    g.okta_signin(&u, at(17, 50, 0), "214.214.214.217", Device::Windows, true);
    g.okta_consent(&u, at(18, 5, 0), "214.214.214.217", "Notion", "openid profile email");
    // WF-03: a Mac tethered over cellular, then 350 MB from SharePoint through the VPN.
    let u = g.plant(145, "tethers a Mac, then downloads 350 MB from SharePoint");
    g.entra_signin(&u, at(17, 45, 0), "80.214.0.9", "Office 365 SharePoint Online", Device::Mac, 0);
    g.web(
        &u,
        at(18, 15, 0),
        "corp.sharepoint.com",
        "/sites/sales/Shared Documents/export.zip",
        Web::browse(40_000, 367_001_600),
    );
}

/// Forwarding, routing, mail to private addresses, sharing, SaaS mails.
fn plant_mail(g: &mut Gen) {
    // Forwarding to the payroll office, an agreed partner (overlay): nothing.
    let u = g.plant(PAYROLL_FORWARDER, "forwards the HR mailbox to the payroll office, an agreed partner");
    g.m365_set_mailbox_forward(&u, at(9, 40, 0), "salaris@payroll-office.example.nl", true);
    // Customers write to agents from free-mail about invoices, in English and
    // Dutch: mail from a person, not a SaaS receipt (SS-09 stays quiet).
    for (k, (customer, subject)) in [
        ("marieke.b@hotmail.com", "Wrong invoice amount"),
        ("j.devries1961@gmail.com", "Billing question about my last invoice"),
        ("famvanleeuwen@gmail.com", "Factuur klopt niet - betaalbewijs bijgevoegd"),
    ]
    .into_iter()
    .enumerate()
    {
        let agent = g.user(140 + k);
        g.trace(at(10, 15 + k as u64 * 7, 0), customer, &agent.email, subject, 48_000, "203.0.113.9");
    }
    // PF-02 + PF-03: an inbox rule to their own Gmail that deletes the original.
    let u = g.plant(30, "forwards payroll mail to their own Gmail and deletes it");
    let dest = format!("{}1988@gmail.com", u.account);
    g.m365_forward_rule(&u, at(10, 15, 0), "Keep a copy", &dest, true);
    g.severities.insert(key("PF-02", &u.email, &dest), "high");
    // PF-01: mailbox forwarding to a partner, keeping a copy.
    let u = g.plant(31, "forwards the mailbox to a partner's dispatch desk");
    g.m365_set_mailbox_forward(&u, at(11, 20, 0), "dispatch@partner-logistics.example.net", true);
    // PF-01 + PF-03: forwarding without a local copy.
    let u = g.plant(32, "forwards the mailbox to a partner without keeping a copy");
    g.m365_set_mailbox_forward(&u, at(12, 30, 0), "ops@partner-logistics.example.net", false);
    // PF-02 (medium): Google forwarding to someone else's Gmail.
    let u = g.plant(212, "forwards Google mail to a friend's Gmail");
    g.google_forward(&u, at(13, 10, 0), "surfer.joe77@gmail.com");
    g.severities.insert(key("PF-02", &u.email, "surfer.joe77@gmail.com"), "medium");
    // PF-01: Google forwarding to a partner.
    let u = g.plant(213, "forwards Google mail to a partner");
    g.google_forward(&u, at(14, 0, 0), "lab-results@university.example.edu");
    // PF-04: three mailboxes (two Exchange, one Google) forward to one collector.
    for (k, i) in [33usize, 214, 34].into_iter().enumerate() {
        let u = g.plant(i, "forwards mail to the collector address of a phishing campaign");
        let t = at(16, 5 + k as u64 * 17, 0);
        if u.site == Site::Lab {
            g.google_forward(&u, t, "collector@mail-drop.example.org");
        } else {
            g.m365_forward_rule(&u, t, "Invoices", "collector@mail-drop.example.org", false);
        }
    }
    // PF-05: an Exchange transport rule and a Google routing rule copying mail outside.
    let u = g.plant(5, "adds a transport rule that blind-copies Finance mail outside");
    let params = vec![
        json!({"Name": "Name", "Value": "Copy finance"}),
        json!({"Name": "SentToMemberOf", "Value": "finance@corp.example.com"}),
        json!({"Name": "BlindCopyTo", "Value": "archive@outside-vendor.example.net"}),
    ];
    let line = m365_exchange_line(at(8, 0, 0), "New-TransportRule", &u, "Copy finance", params);
    g.push("m365-audit", at(8, 0, 0), line, Outcome::Row);
    g.forwards.push(Forward {
        t: at(8, 0, 0),
        user: u.email.clone(),
        email: u.email.clone(),
        kind: "transport_rule",
        dests: vec!["archive@outside-vendor.example.net".into()],
        hides: false,
    });
    let u = g.plant(216, "routes a copy of R&D mail to an archiving vendor");
    let n = g.next_sess();
    let line = gws_activity(
        at(11, 20, 41),
        "admin",
        &u.email,
        &u.signin_ip,
        n,
        json!([{"type": "EMAIL_SETTINGS", "name": "CREATE_GMAIL_SETTING", "parameters": [
            {"name": "SETTING_NAME", "value": "EMAIL_ROUTE"},
            {"name": "USER_DEFINED_SETTING_NAME", "value": "Copy R&D mail"},
            {"name": "ORG_UNIT_NAME", "value": "R&D"},
            {"name": "NEW_VALUE", "value": "Add more recipients: vault@archive-vendor.example.net; Affect: inbound, internal-receiving"}]}]),
    );
    g.push("google-workspace", at(11, 20, 41), line, Outcome::Row);
    g.forwards.push(Forward {
        t: at(11, 20, 41),
        user: u.email.clone(),
        email: u.email.clone(),
        kind: "routing_setting",
        dests: vec!["vault@archive-vendor.example.net".into()],
        hides: false,
    });

    // PF-06: three large messages to one's own Gmail in 40 minutes (high), one large
    // message (medium); a short note to one's own Gmail and a big file to a friend are not.
    let u = g.plant(40, "mails the board deck, customer list and pricing to their own Gmail");
    let own = format!("{}.home@gmail.com", u.account);
    for (k, (subject, size)) in
        [("Q4 board deck", 48_211_977u64), ("customer list", 912_004), ("pricing", 402_311)].into_iter().enumerate()
    {
        g.trace(at(16, 5 + k as u64 * 20, 0), &u.email, &own, subject, size, &u.signin_ip);
    }
    g.why = format!("{}: three large mails to {own}", u.email);
    g.expect("PF-06", &u.email, &own);
    g.severities.insert(key("PF-06", &u.email, &own), "high");
    let u = g.plant(41, "mails a spreadsheet to their own Gmail");
    let own = format!("{}@gmail.com", u.account.replace('.', "_"));
    g.trace(at(16, 30, 0), &u.email, &own, "forecast.xlsx", 5_242_880, &u.signin_ip);
    g.why = format!("{}: one large mail to {own}", u.email);
    g.expect("PF-06", &u.email, &own);
    g.severities.insert(key("PF-06", &u.email, &own), "medium");
    let u = g.plant(42, "sends a short note to their own Gmail");
    let own = format!("{}@gmail.com", u.account);
    g.trace(at(9, 41, 7), &u.email, &own, "running late", 21_311, &u.signin_ip);
    let u = g.plant(43, "sends holiday photos to a friend's Gmail");
    g.trace(at(10, 41, 7), &u.email, "surfer.joe77@gmail.com", "holiday photos", 8_211_977, &u.signin_ip);

    // PF-07: a OneDrive file shared with their own Gmail (critical); a Drive document with a friend's Outlook.com (high).
    let u = g.plant(45, "shares next year's pricing with their own Gmail");
    let own = format!("{}1990@gmail.com", u.account);
    let line = m365_share_line(at(14, 5, 0), &u, "AddedToSecureLink", "pricing-2027.xlsx", Some((&own, "Guest")));
    g.push("m365-audit", at(14, 5, 0), line, Outcome::Row);
    g.expect("PF-07", &u.email, &own);
    g.severities.insert(key("PF-07", &u.email, &own), "critical");
    let u = g.plant(215, "shares the roadmap with a friend's Outlook.com");
    let n = g.next_sess();
    let line = gws_activity(
        at(15, 0, 0),
        "drive",
        &u.email,
        &u.signin_ip,
        n,
        json!([{"type": "acl_change", "name": "change_user_access", "parameters": [
            {"name": "primary_event", "boolValue": true}, {"name": "doc_id", "value": "1AbC"},
            {"name": "doc_type", "value": "document"}, {"name": "doc_title", "value": "Roadmap 2027"},
            {"name": "visibility", "value": "shared_externally"}, {"name": "target_user", "value": "surfer.joe77@outlook.com"},
            {"name": "old_value", "multiValue": ["none"]}, {"name": "new_value", "multiValue": ["can_edit"]}]}]),
    );
    g.push("google-workspace", at(15, 0, 0), line, Outcome::Row);
    g.expect("PF-07", &u.email, "surfer.joe77@outlook.com");
    g.severities.insert(key("PF-07", &u.email, "surfer.joe77@outlook.com"), "high");
    // ... and later takes the access away again (skipped: access removed).
    let n = g.next_sess();
    let line = gws_activity(
        at(15, 30, 0),
        "drive",
        &u.email,
        &u.signin_ip,
        n,
        json!([{"type": "acl_change", "name": "change_user_access", "parameters": [
            {"name": "doc_title", "value": "Roadmap 2027"}, {"name": "target_user", "value": "surfer.joe77@outlook.com"},
            {"name": "old_value", "multiValue": ["can_edit"]}, {"name": "new_value", "multiValue": ["none"]}]}]),
    );
    g.push("google-workspace", at(15, 30, 0), line, Outcome::Skip);

    // SS-08: a Notion sign-up confirmation. SS-09: a Paddle receipt and a Canva invoice.
    let u = g.plant(50, "signs up for Notion with the work address");
    g.trace(
        at(9, 12, 40),
        "notify@mail.notion.so",
        &u.email,
        "Welcome to Notion! Confirm your email",
        38_120,
        "198.51.100.40",
    );
    g.expect("SS-08", &u.email, "notion");
    let u = g.plant(51, "buys SnapConvert Pro through Paddle");
    g.trace(
        at(7, 30, 0),
        "help@paddle.com",
        &u.email,
        "Your receipt from Paddle for SnapConvert Pro",
        28_120,
        "198.51.100.42",
    );
    g.expect("SS-09", &u.email, "paddle");
    let u = g.plant(52, "pays for Canva Pro");
    g.trace(at(8, 30, 0), "billing@canva.com", &u.email, "Your Canva Pro invoice", 28_120, "198.51.100.43");
    g.expect("SS-09", &u.email, "canva");
    // Not findings: sanctioned Zoom's welcome and invoice, a Notion newsletter, a Paddle product update.
    let u = g.user(53);
    g.trace(
        at(9, 13, 0),
        "no-reply@zoom.us",
        &u.email,
        "Welcome to Zoom - activate your account",
        38_120,
        "198.51.100.41",
    );
    g.trace(at(9, 14, 0), "billing@zoom.us", &u.email, "Your Zoom invoice", 28_120, "198.51.100.41");
    g.trace(
        at(10, 12, 40),
        "team@mail.notion.so",
        &u.email,
        "What's new in Notion this month",
        58_120,
        "198.51.100.40",
    );
    g.trace(at(10, 30, 0), "news@paddle.com", &u.email, "Paddle product update", 28_120, "198.51.100.42");
}

/// Records every format keeps but does not model, and three broken lines.
fn plant_noise(g: &mut Gen) {
    let admin = g.user(5);
    // PAN-OS SYSTEM logs: `panos: log type not modelled`.
    for (k, msg) in
        ["User admin logged in via Web from 10.10.0.5", "Configuration committed by admin", "HA state changed"]
            .into_iter()
            .enumerate()
    {
        let t = at(7, 1 + k as u64 * 200, 0);
        let h = t.hms();
        let line = format!("<14>Nov 24 {h} fw01.corp.example.com 1,2026/11/24 {h},013201001234,SYSTEM,general,0,2026/11/24 {h},,general,,0,0,general,informational,\"{msg}\",{},0x0,0,0,0,0,,fw01", 812 + k);
        g.push("panos", t, line, Outcome::Skip);
    }
    // Okta records whose `published` is missing or odd: kept, with the time
    // they were read after (`time_inferred`), not dead-lettered.
    for (k, published) in [None, Some("yesterday-ish")].into_iter().enumerate() {
        let u = g.user(90 + k);
        let t = at(9, 30 + k as u64, 0);
        let line = okta_line(t, "user.session.start", &u, &u.signin_ip, Device::Windows, true, json!([]), json!({}));
        let mut v: Value = serde_json::from_str(&line).expect("okta line is JSON");
        if let Some(o) = v.as_object_mut() {
            match published {
                None => o.remove("published"),
                Some(p) => o.insert("published".into(), json!(p)),
            };
        }
        g.push("okta", t, v.to_string(), Outcome::Row);
    }
    // A truncated PAN-OS TRAFFIC line.
    let line = "<14>Nov 24 10:07:00 fw01.corp.example.com 1,2026/11/24 10:07:00,013201001234,TRAFFIC,end,2305,2026/11/24 10:07:00,10.10.0.2".to_string();
    g.push("panos", at(10, 7, 0), line, Outcome::Dead("fields, expected at least"));
    // FortiGate event logs: `fortigate: log type not modelled`; a source address that is not one.
    for (k, t) in [at(7, 2, 0), at(12, 0, 0)].into_iter().enumerate() {
        let line = format!("date=2026-11-24 time={} devname=\"FGT-PORTO\" devid=\"FG100FTK20000002\" tz=\"+0000\" logid=\"0100032001\" type=\"event\" subtype=\"system\" level=\"information\" vd=\"root\" logdesc=\"Admin login successful\" sn=\"{}\" user=\"admin\" ui=\"https(10.20.0.5)\" method=\"https\" srcip=10.20.0.5 dstip=10.20.0.1 action=\"login\" status=\"success\" reason=\"none\" profile=\"super_admin\" msg=\"Administrator admin logged in successfully from https(10.20.0.5)\"", t.hms(), 1709648100 + k);
        g.push("fortigate", t, line, Outcome::Skip);
    }
    let line = "date=2026-11-24 time=11:11:11 devname=\"FGT-PORTO\" devid=\"FG100FTK20000002\" tz=\"+0000\" logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" srcip=10.20.1.311 srcport=51544 srcintf=\"port2\" dstip=162.125.1.18 dstport=443 dstintf=\"wan1\" sessionid=9999 proto=6 action=\"close\" policyid=12 service=\"HTTPS\" sentbyte=100 rcvdbyte=200 hostname=\"www.example.org\"".to_string();
    g.push("fortigate", at(11, 11, 11), line, Outcome::Dead("is not an IP address"));
    // Zeek: TLS handshakes without SNI, `zeek-ssl: no server_name (SNI)`.
    for k in 0..4u64 {
        let t = at(9 + k * 2, 17, 0);
        let line = zeek_ssl_line(t, &format!("CnoSNI{k}"), "10.30.0.40", 50000 + k, "192.0.2.80", None);
        g.push("zeek-ssl", t, line, Outcome::Skip);
    }
    // Squid: connections closed before a request, `squid: no HTTP request`.
    for k in 0..3u64 {
        let t = at(8 + k * 3, 3, 3);
        let line = format!(
            "{}      0 10.40.0.{} NONE_NONE/000 0 - error:transaction-end-before-headers - HIER_NONE/- -",
            t.epoch_ms(),
            30 + k
        );
        g.push("squid", t, line, Outcome::Skip);
    }
    // BIND: server messages, `bind-query: not a query log line`.
    let line = "24-Nov-2026 07:00:00.001 general: notice: running".to_string();
    g.push("bind-query", at(7, 0, 0), line, Outcome::Skip);
    // Umbrella: the export's header row, `umbrella-dns: header row`.
    let line = "\"Timestamp\",\"Most Granular Identity\",\"Identities\",\"Internal IP\",\"External IP\",\"Action\",\"Query Type\",\"Response Code\",\"Domain\",\"Categories\",\"Most Granular Identity Type\",\"Identity Types\",\"Blocked Categories\"".to_string();
    g.push("umbrella-dns", T(0), line, Outcome::Skip);
    // Zeek DNS: a reply Zeek could not match to a query, `zeek-dns: no query`.
    for k in 0..2u64 {
        let t = at(10 + k, 1, 0);
        let line = json!({"ts": (MIDNIGHT * 1000 + t.0) as f64 / 1000.0, "uid": format!("Cnoq{k}"), "id.orig_h": "10.30.0.41",
                          "id.orig_p": 53000 + k, "id.resp_h": "10.30.0.2", "id.resp_p": 53, "proto": "udp", "trans_id": 77,
                          "rcode": 0, "rcode_name": "NOERROR", "rejected": false})
        .to_string();
        g.push("zeek-dns", t, line, Outcome::Skip);
    }
    // Okta: a password change (not modelled); an export cut off mid-record.
    let line = okta_line(
        at(10, 10, 0),
        "user.account.update_password",
        &admin,
        &admin.signin_ip,
        Device::Windows,
        true,
        json!([]),
        json!({}),
    );
    g.push("okta", at(10, 10, 0), line, Outcome::Skip);
    let line = "{\"published\": \"2026-11-24T10:11:00.000Z\", \"eventType\": \"user.session.start\", \"actor\": {\"alternateId\": \"broken@corp.example.com\"".to_string();
    g.push("okta", at(10, 11, 0), line, Outcome::Dead("invalid JSON"));
    // Entra ID audit: a user update, `entra-audit: activity not modelled`.
    let line = json!({"id": "Directory_upd_1", "category": "UserManagement", "correlationId": "5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f",
                      "result": "success", "activityDisplayName": "Update user", "activityDateTime": at(12, 30, 0).iso_ms(),
                      "loggedByService": "Core Directory", "operationType": "Update",
                      "initiatedBy": {"user": {"userPrincipalName": admin.email, "ipAddress": admin.signin_ip}},
                      "targetResources": [{"id": "d7cc485d", "type": "User", "userPrincipalName": g.user(8).email}]})
    .to_string();
    g.push("entra-audit", at(12, 30, 0), line, Outcome::Skip);
    // M365: Set-Mailbox without forwarding (`Set-Mailbox without forwarding settings`), an anonymous link.
    for &i in &[17usize, 58, 99] {
        let u = g.user(i);
        let t = at(9, 0, 0).plus_ms(i as u64 * MINUTE);
        let params =
            vec![json!({"Name": "Identity", "Value": u.email}), json!({"Name": "AuditEnabled", "Value": "True"})];
        let line = m365_exchange_line(t, "Set-Mailbox", &admin, &u.email, params);
        g.push("m365-audit", t, line, Outcome::Skip);
    }
    let u = g.user(77);
    let line = m365_share_line(at(14, 7, 0), &u, "AnonymousLinkCreated", "menu.pdf", None);
    g.push("m365-audit", at(14, 7, 0), line, Outcome::Skip);
}

// ---------------------------------------------------------------- output

/// A dead letter the run must write: (file name, line number, format, reason fragment).
pub type DeadLetter = (String, usize, &'static str, &'static str);

impl Day {
    /// Write the logs into `dir/logs/`, the directory and the overlay into
    /// `dir`. Returns the dead letters expected, with their line numbers.
    pub fn write(&self, dir: &Path) -> std::io::Result<Vec<DeadLetter>> {
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        let mut dead = Vec::new();
        for f in &self.files {
            let mut w = std::io::BufWriter::new(std::fs::File::create(logs.join(f.name))?);
            let mut line_no = 0;
            for h in &f.header {
                line_no += 1;
                writeln!(w, "{h}")?;
            }
            for e in &f.events {
                line_no += 1;
                writeln!(w, "{}", e.line)?;
                if let Outcome::Dead(reason) = e.outcome {
                    dead.push((f.name.to_string(), line_no, f.format, reason));
                }
            }
            for h in &f.footer {
                writeln!(w, "{h}")?;
            }
            w.flush()?;
        }
        let mut csv = String::from("user,email,display_name,department,manager,role,flags,aliases\n");
        for u in &self.users {
            let manager = if u.idx % 20 == 0 { String::new() } else { self.users[u.idx / 20 * 20].account.clone() };
            csv.push_str(&format!(
                "{},{},{},{},{manager},{},{},\n",
                u.account, u.email, u.display, u.department, u.role, u.flags
            ));
        }
        std::fs::write(dir.join("users.csv"), csv)?;
        std::fs::write(dir.join("overlay.toml"), OVERLAY)?;
        Ok(dead)
    }

    pub fn records(&self) -> usize {
        self.files.iter().map(LogFile::records).sum()
    }
    pub fn skipped(&self) -> usize {
        self.files.iter().map(LogFile::skipped).sum()
    }
    pub fn dead(&self) -> usize {
        self.files.iter().map(LogFile::dead).sum()
    }
}

/// The organisation's overlay: Otter.ai's pilot exception has lapsed; R&D's
/// Google Drive and developer sites are sanctioned; two own apps; Legal may
/// use iLovePDF (an accepted explanation, valid); the payroll office is a
/// partner mail may be forwarded to.
pub const OVERLAY: &str = r#"
[[exception]]
app = "ilovepdf"
departments = ["Legal"]
reason = "Court filings arrive as scans; Acrobat licences for Legal are on order (ticket SEC-3120)"
owner = "legal-lead@corp.example.com"
expires = "2030-12-31"

[[partner]]
name = "Payroll office"
domains = ["payroll-office.example.nl"]
reason = "Outsourced payroll receives the HR mailbox (contract HR-2024-7)"
owner = "hr-lead@corp.example.com"
expires = "2030-12-31"

[[app]]
id = "otter-ai"
status = "monitored"
reason = "Sales pilot of AI call notes (ticket SEC-2291)"
owner = "grace.hall@corp.example.com"
expires = "2026-06-30"

[[app]]
id = "google-drive"
status = "sanctioned"
reason = "R&D works in Google Workspace (contract GW-2025)"
owner = "it-infra@corp.example.com"

[[app]]
id = "stack-overflow"
status = "sanctioned"
reason = "Developer reference for R&D"

[[app]]
id = "pypi"
status = "sanctioned"
reason = "Python packages for R&D builds, through the proxy cache"

[[sanctioned]]
id = "corp-sft"
name = "Corp Secure File Transfer"
domains = ["sft.corp.example.com"]
category = "file_sharing"
owner = "it-infra@corp.example.com"

[[sanctioned]]
id = "corp-expenses"
name = "Corp Expenses"
domains = ["expenses.corp.example.com"]
category = "finance"
oauth_names = ["Corp Expenses"]
owner = "it-finance@corp.example.com"
"#;
