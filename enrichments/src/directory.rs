//! The user directory: who an account is (email, display name, department,
//! manager, role, flags), joined to events on the user name or the email.
//!
//! `[enrichments] directory = "users.csv"` names a CSV file with a header
//! row, or a JSON file (`.json`: an array of objects; `.jsonl` / `.ndjson`,
//! or any JSON file whose first character is `{`: one object per line), with
//! these keys:
//!
//! | key | required | meaning |
//! |---|---|---|
//! | `user` | yes | account name: `agarcia`, `CORP\agarcia` or a UPN `ana.garcia@corp.example.com` |
//! | `email` | no | primary address |
//! | `display_name` | no | `Ana García`; used by [`crate::similarity::resembles_user`] |
//! | `department`, `manager`, `role` | no | free text |
//! | `flags` | no | `;`-separated labels (`vip;contractor;travels`), lower-cased; a JSON array also works |
//! | `aliases` | no | `;`-separated further addresses of the same person |
//! | `ips` | no | `;`-separated addresses assigned to this person alone (a fixed workstation) |
//! | `hosts` | no | `;`-separated device names assigned to this person alone (`LT-0042`) |
//!
//! Other columns are ignored (a warning names them once per load). Empty
//! cells are absent values.
//!
//! # Lookup
//!
//! [`Directory::lookup`] is case-insensitive and tries, in order: the key as
//! an email or alias; the key as a user name; the part after the last `\`
//! (`CORP\agarcia` → `agarcia`); and, for `name@domain`, the name as a user
//! when `domain` is one of the organisation's domains (a domain of a
//! directory address, or a configured corporate domain, subdomains
//! included). So `ana.garcia@corp.example.com` finds user `ana.garcia`, but
//! `ana.garcia@gmail.com` finds nobody unless it is someone's address.
//! Entries whose `user` is itself `DOMAIN\name` or `name@domain` are also
//! found by the bare `name`, unless two entries share it.
//!
//! # One id per person
//!
//! Logs name one person many ways: `CORP\Ana`, `ana@corp.example.com`,
//! `ANA`. [`Directory::person`] gives each name one *canonical id*, the same
//! for every alias, following these rules in order:
//!
//! 1. a name the directory knows (by the lookup above) is the entry's id:
//!    its `user` in lower case without a `DOMAIN\` prefix or an
//!    `@domain` suffix (`CORP\agarcia` → `agarcia`), or the whole `user`
//!    in lower case when two entries share the bare name;
//! 2. any other name is lower-cased, loses a `DOMAIN\` prefix, and loses
//!    an `@domain` suffix when the domain is the organisation's
//!    (`CORP\Bob` → `bob`, `bob@corp.example.com` → `bob`); an address at
//!    any other domain stays whole (`bob@gmail.com`), as it may be anyone.
//!
//! The id is the `user_id` column of every event; rules that count people
//! count ids.
//!
//! # Static addresses
//!
//! `ips` and `hosts` say which person a fixed workstation belongs to.
//! A record that names no user but comes from such an address or device is
//! that person's ([`Directory::by_ip`], [`Directory::by_host`];
//! `user_source = 'directory'`). Do not list shared desks, terminal servers
//! or NAT addresses: for those, attribution learned from the logs at the
//! event's time is what names the person (docs/enrichment.md).
//!
//! # Rules
//!
//! `user` is required and unique; an email or alias belongs to one entry
//! only and contains `@`; an address in `ips` is an IP address and belongs
//! to one entry only, and so does a device in `hosts`. Errors name the setting, the file and the line
//! (CSV, JSON lines) or entry (JSON array).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use crate::error::EnrichmentError;

/// One person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// Account name as given.
    pub user: String,
    /// Primary address, lower case.
    pub email: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Manager (as given: a user name or a display name).
    pub manager: Option<String>,
    /// Role.
    pub role: Option<String>,
    /// Labels, lower case (`vip`, `contractor`, `travels`).
    pub flags: Vec<String>,
    /// Further addresses, lower case.
    pub aliases: Vec<String>,
    /// Addresses assigned to this person alone.
    pub ips: Vec<IpAddr>,
    /// Device names assigned to this person alone, lower case.
    pub hosts: Vec<String>,
    /// The canonical id (see the module docs); set when the directory is built.
    pub id: String,
}

impl DirectoryEntry {
    /// Whether the entry carries `flag` (case-insensitive).
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
    }
}

/// The user directory; empty when none is configured.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    entries: Vec<DirectoryEntry>,
    by_user: HashMap<String, usize>,
    by_email: HashMap<String, usize>,
    by_ip: HashMap<IpAddr, usize>,
    by_host: HashMap<String, usize>,
    domains: BTreeSet<String>,
    origin: Option<String>,
}

const KNOWN: &[&str] =
    &["user", "email", "display_name", "department", "manager", "role", "flags", "aliases", "ips", "hosts"];

#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrText {
    Text(String),
    List(Vec<String>),
}

#[derive(Deserialize, Default)]
struct JsonEntry {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    manager: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    flags: Option<ListOrText>,
    #[serde(default)]
    aliases: Option<ListOrText>,
    #[serde(default)]
    ips: Option<ListOrText>,
    #[serde(default)]
    hosts: Option<ListOrText>,
    #[serde(flatten)]
    other: HashMap<String, serde_json::Value>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn split_list(v: Option<ListOrText>) -> Vec<String> {
    let items: Vec<String> = match v {
        None => Vec::new(),
        Some(ListOrText::Text(t)) => t.split(';').map(str::to_string).collect(),
        Some(ListOrText::List(l)) => l,
    };
    items.into_iter().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect()
}

/// The bare account name of `DOMAIN\name` or `name@domain`, if it has a prefix or suffix.
fn bare(user: &str) -> Option<&str> {
    if let Some((_, n)) = user.rsplit_once('\\') {
        return Some(n).filter(|n| !n.is_empty());
    }
    user.split_once('@').map(|(n, _)| n).filter(|n| !n.is_empty())
}

struct Builder {
    setting: String,
    origin: String,
    dir: Directory,
    /// Where each user / email key was defined (for error messages).
    user_at: HashMap<String, String>,
    email_at: HashMap<String, String>,
    /// Where each static address and device was given.
    static_at: HashMap<String, String>,
    ignored: BTreeSet<String>,
}

impl Builder {
    fn err(&self, message: String) -> EnrichmentError {
        EnrichmentError::Data { setting: self.setting.clone(), origin: self.origin.clone(), message }
    }

    fn add(&mut self, at: String, e: JsonEntry) -> Result<(), EnrichmentError> {
        for k in e.other.keys() {
            self.ignored.insert(k.clone());
        }
        let Some(user) = non_empty(e.user) else {
            return Err(self.err(format!("{at}: `user` is missing")));
        };
        let key = user.to_lowercase();
        if let Some(prev) = self.user_at.get(&key) {
            return Err(self.err(format!("{at}: user `{user}` is already defined at {prev}")));
        }
        let email = non_empty(e.email).map(|s| s.to_lowercase());
        let aliases = split_list(e.aliases);
        for a in email.iter().chain(&aliases) {
            if !a.contains('@') || a.contains(char::is_whitespace) {
                return Err(self.err(format!("{at}: `{a}` is not an email address")));
            }
            if let Some(prev) = self.email_at.get(a) {
                return Err(self.err(format!("{at}: address `{a}` is already used at {prev}")));
            }
        }
        let mut ips = Vec::new();
        for a in split_list(e.ips) {
            let ip: IpAddr = a.parse().map_err(|_| self.err(format!("{at}: `{a}` in `ips` is not an IP address")))?;
            ips.push(ip);
        }
        let hosts = split_list(e.hosts);
        for k in ips.iter().map(IpAddr::to_string).chain(hosts.iter().cloned()) {
            if let Some(prev) = self.static_at.get(&k) {
                return Err(self.err(format!(
                    "{at}: `{k}` is already assigned at {prev}; list only addresses and devices one person uses \
                     (attribution from the logs names the person on a shared one)"
                )));
            }
        }
        let idx = self.dir.entries.len();
        for ip in &ips {
            self.static_at.insert(ip.to_string(), at.clone());
            self.dir.by_ip.insert(*ip, idx);
        }
        for h in &hosts {
            self.static_at.insert(h.clone(), at.clone());
            self.dir.by_host.insert(h.clone(), idx);
        }
        self.user_at.insert(key.clone(), at.clone());
        self.dir.by_user.insert(key, idx);
        let mut own = HashSet::new();
        for a in email.iter().chain(&aliases) {
            if own.insert(a.clone()) {
                self.email_at.insert(a.clone(), at.clone());
                self.dir.by_email.insert(a.clone(), idx);
                if let Some((_, d)) = a.rsplit_once('@') {
                    self.dir.domains.insert(d.to_string());
                }
            }
        }
        self.dir.entries.push(DirectoryEntry {
            user,
            email,
            display_name: non_empty(e.display_name),
            department: non_empty(e.department),
            manager: non_empty(e.manager),
            role: non_empty(e.role),
            flags: split_list(e.flags),
            aliases,
            ips,
            hosts,
            id: String::new(),
        });
        Ok(())
    }

    fn finish(mut self) -> Directory {
        // Bare names of `DOMAIN\name` / `name@domain` users, where unambiguous.
        let mut bare_count: HashMap<String, usize> = HashMap::new();
        for e in &self.dir.entries {
            if let Some(b) = bare(&e.user.to_lowercase()) {
                *bare_count.entry(b.to_string()).or_default() += 1;
            }
        }
        for (i, e) in self.dir.entries.iter_mut().enumerate() {
            let lower = e.user.to_lowercase();
            e.id = lower.clone();
            if let Some(b) = bare(&lower) {
                if bare_count.get(b) == Some(&1) && self.dir.by_user.get(b).is_none_or(|j| *j == i) {
                    self.dir.by_user.insert(b.to_string(), i);
                    e.id = b.to_string();
                }
            }
        }
        if !self.ignored.is_empty() {
            let cols: Vec<_> = self.ignored.iter().map(String::as_str).collect();
            tracing::warn!(
                setting = %self.setting,
                file = %self.origin,
                "user directory: ignoring unknown columns {} (known: {})",
                cols.join(", "),
                KNOWN.join(", ")
            );
        }
        self.dir.origin = Some(self.origin);
        self.dir
    }
}

impl Directory {
    fn builder(setting: &str, origin: &str) -> Builder {
        Builder {
            setting: setting.to_string(),
            origin: origin.to_string(),
            dir: Directory::default(),
            user_at: HashMap::new(),
            email_at: HashMap::new(),
            static_at: HashMap::new(),
            ignored: BTreeSet::new(),
        }
    }

    /// Parse CSV text with a header row. `setting` and `origin` name it in errors.
    pub fn from_csv(text: &str, setting: &str, origin: &str) -> Result<Directory, EnrichmentError> {
        let mut b = Directory::builder(setting, origin);
        let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(text.as_bytes());
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| b.err(format!("line 1: cannot read the header row: {e}")))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
            .collect();
        if !headers.iter().any(|h| h == "user") {
            return Err(b.err(format!("line 1: the header row has no `user` column (columns: {})", headers.join(", "))));
        }
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                b.err(format!("line {line}: {e}"))
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            if rec.iter().all(str::is_empty) {
                continue;
            }
            let mut e = JsonEntry::default();
            for (h, v) in headers.iter().zip(rec.iter()) {
                let v = Some(v.to_string());
                match h.as_str() {
                    "user" => e.user = v,
                    "email" => e.email = v,
                    "display_name" => e.display_name = v,
                    "department" => e.department = v,
                    "manager" => e.manager = v,
                    "role" => e.role = v,
                    "flags" => e.flags = v.map(ListOrText::Text),
                    "aliases" => e.aliases = v.map(ListOrText::Text),
                    "ips" => e.ips = v.map(ListOrText::Text),
                    "hosts" => e.hosts = v.map(ListOrText::Text),
                    other => {
                        e.other.insert(other.to_string(), serde_json::Value::Null);
                    }
                }
            }
            b.add(format!("line {line}"), e)?;
        }
        Ok(b.finish())
    }

    /// Parse JSON: an array of objects, or one object per line (JSON lines).
    pub fn from_json(text: &str, setting: &str, origin: &str) -> Result<Directory, EnrichmentError> {
        let mut b = Directory::builder(setting, origin);
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if trimmed.starts_with('[') {
            let items: Vec<serde_json::Value> =
                serde_json::from_str(trimmed).map_err(|e| b.err(format!("line {}: {e}", e.line())))?;
            for (i, v) in items.into_iter().enumerate() {
                let at = format!("entry {}", i + 1);
                let e: JsonEntry = serde_json::from_value(v).map_err(|e| b.err(format!("{at}: {e}")))?;
                b.add(at, e)?;
            }
        } else {
            for (i, line) in text.lines().enumerate() {
                let l = line.trim().trim_start_matches('\u{feff}');
                if l.is_empty() {
                    continue;
                }
                let at = format!("line {}", i + 1);
                let e: JsonEntry = serde_json::from_str(l).map_err(|e| b.err(format!("{at}: {e}")))?;
                b.add(at, e)?;
            }
        }
        Ok(b.finish())
    }

    /// Load a file (or a bundled `embedded:<name>` one): JSON when it ends
    /// in `.json`, `.jsonl` or `.ndjson` or starts with `[` or `{`, CSV otherwise.
    pub fn load(path: &Path, setting: &str) -> Result<Directory, EnrichmentError> {
        let text = crate::files::read_text(path).map_err(|e| EnrichmentError::Data {
            setting: setting.to_string(),
            origin: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        let origin = path.display().to_string();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let first = text.trim_start_matches('\u{feff}').trim_start().chars().next();
        if matches!(ext.as_str(), "json" | "jsonl" | "ndjson") || matches!(first, Some('[' | '{')) {
            Directory::from_json(&text, setting, &origin)
        } else {
            Directory::from_csv(&text, setting, &origin)
        }
    }

    /// `enrichments.directory` (empty when unset), with the configured
    /// corporate domains as organisation domains. Relative paths resolve
    /// against `base_dir`.
    pub fn from_config(cfg: &crate::EnrichmentConfig, base_dir: &Path) -> Result<Directory, EnrichmentError> {
        let dir = match &cfg.directory {
            None => Directory::default(),
            Some(p) => Directory::load(&crate::files::resolve(base_dir, p), "enrichments.directory")?,
        };
        // Without a directory file the corporate domains still shape ids.
        Ok(dir.with_domains(cfg.corporate_domains.iter().cloned()))
    }

    /// Also treat `domains` (and their subdomains) as the organisation's for
    /// `name@domain` lookups (the configured corporate domains).
    #[must_use]
    pub fn with_domains(mut self, domains: impl IntoIterator<Item = String>) -> Self {
        self.domains.extend(
            domains
                .into_iter()
                .map(|d| d.trim().trim_start_matches('@').trim_end_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty()),
        );
        self
    }

    fn is_own_domain(&self, domain: &str) -> bool {
        let mut d = domain;
        loop {
            if self.domains.contains(d) {
                return true;
            }
            match d.split_once('.') {
                Some((_, rest)) if rest.contains('.') => d = rest,
                _ => return false,
            }
        }
    }

    /// The person `key` names: an email or alias, a user name, `DOMAIN\user`,
    /// or `user@<organisation domain>` (see the module documentation).
    pub fn lookup(&self, key: &str) -> Option<&DirectoryEntry> {
        if self.entries.is_empty() {
            return None;
        }
        let k = key.trim().to_lowercase();
        if k.is_empty() {
            return None;
        }
        let idx = self
            .by_email
            .get(&k)
            .or_else(|| self.by_user.get(&k))
            .or_else(|| k.rsplit_once('\\').and_then(|(_, n)| self.by_user.get(n)))
            .or_else(|| {
                let (n, d) = k.rsplit_once('@')?;
                self.is_own_domain(d).then(|| self.by_user.get(n)).flatten()
            })?;
        self.entries.get(*idx)
    }

    /// The canonical id of the person `name` names, and their entry when the
    /// directory knows them (see "One id per person" in the module docs).
    /// `None` for a blank name.
    pub fn person(&self, name: &str) -> Option<(String, Option<&DirectoryEntry>)> {
        let k = name.trim();
        if k.is_empty() {
            return None;
        }
        if let Some(e) = self.lookup(k) {
            return Some((e.id.clone(), Some(e)));
        }
        let k = k.to_lowercase();
        let id = match k.rsplit_once('\\') {
            Some((_, n)) if !n.is_empty() => n.to_string(),
            _ => match k.rsplit_once('@') {
                Some((n, d)) if !n.is_empty() && self.is_own_domain(d) => n.to_string(),
                _ => k,
            },
        };
        Some((id, None))
    }

    /// Whether any entry has `ips` or `hosts`.
    pub fn has_fixed_workstations(&self) -> bool {
        !self.by_ip.is_empty() || !self.by_host.is_empty()
    }

    /// The person a fixed workstation address is assigned to (`ips`).
    pub fn by_ip(&self, ip: &str) -> Option<&DirectoryEntry> {
        if self.by_ip.is_empty() {
            return None;
        }
        let ip: IpAddr = ip.trim().parse().ok()?;
        self.by_ip.get(&ip).and_then(|i| self.entries.get(*i))
    }

    /// The person a device is assigned to (`hosts`, case-insensitive; a
    /// fully qualified name also matches its first label).
    pub fn by_host(&self, host: &str) -> Option<&DirectoryEntry> {
        if self.by_host.is_empty() {
            return None;
        }
        let h = host.trim().trim_end_matches('.').to_lowercase();
        let short = h.split('.').next().unwrap_or(&h);
        self.by_host.get(&h).or_else(|| self.by_host.get(short)).and_then(|i| self.entries.get(*i))
    }

    /// The person with this user name (exact, case-insensitive).
    pub fn lookup_user(&self, user: &str) -> Option<&DirectoryEntry> {
        self.by_user.get(&user.trim().to_lowercase()).and_then(|i| self.entries.get(*i))
    }

    /// The person with this email or alias (exact, case-insensitive).
    pub fn lookup_email(&self, email: &str) -> Option<&DirectoryEntry> {
        self.by_email.get(&email.trim().to_lowercase()).and_then(|i| self.entries.get(*i))
    }

    /// Number of people.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the directory is empty (none configured).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[DirectoryEntry] {
        &self.entries
    }

    /// The file it was loaded from.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/directory").join(name)
    }

    #[test]
    fn csv_fixture_loads_and_joins_on_user_or_email() {
        let d = Directory::load(&fixture("users.csv"), "enrichments.directory").unwrap();
        assert_eq!(d.len(), 4);
        let ana = d.lookup("ana.garcia@corp.example.com").unwrap();
        assert_eq!(ana.user, "agarcia");
        assert_eq!(ana.display_name.as_deref(), Some("Ana García"));
        assert_eq!(ana.department.as_deref(), Some("Finance"));
        assert_eq!(ana.manager.as_deref(), Some("jchen"));
        assert_eq!(ana.role.as_deref(), Some("Controller"));
        assert_eq!(ana.flags, ["vip", "travels"]);
        assert!(ana.has_flag("VIP"));
        assert_eq!(ana.aliases, ["a.garcia@corp.example.com"]);
        for k in ["agarcia", "AGARCIA", "CORP\\agarcia", "corp\\AGarcia", "a.garcia@corp.example.com", " agarcia "] {
            assert_eq!(d.lookup(k).map(|e| e.user.as_str()), Some("agarcia"), "{k}");
        }
        // UPN form of the account at an organisation domain.
        assert_eq!(d.lookup("agarcia@corp.example.com").map(|e| e.user.as_str()), Some("agarcia"));
        assert_eq!(d.lookup("agarcia@eu.corp.example.com").map(|e| e.user.as_str()), Some("agarcia"));
        // A personal address with the same name is not the employee.
        assert!(d.lookup("agarcia@gmail.com").is_none());
        // A user given as DOMAIN\name is found by the bare name too, and a
        // UPN user by its local part.
        assert_eq!(d.lookup("jchen").map(|e| e.user.as_str()), Some("CORP\\jchen"));
        assert_eq!(d.lookup("bob.ext").map(|e| e.user.as_str()), Some("bob.ext@partner.example.net"));
        let bob = d.lookup_user("bob.ext@partner.example.net").unwrap();
        assert_eq!((bob.email.as_deref(), bob.flags.as_slice()), (None, &["contractor".to_string()][..]));
        // Empty cells are absent.
        let svc = d.lookup("svc-backup").unwrap();
        assert_eq!((svc.display_name.as_deref(), svc.department.as_deref()), (None, None));
        assert!(d.lookup("nobody").is_none());
        assert!(d.lookup("").is_none());
        assert_eq!(d.lookup_email("ANA.GARCIA@corp.example.com").unwrap().user, "agarcia");
        assert!(d.lookup_email("agarcia").is_none());
        assert!(Directory::default().lookup("agarcia").is_none());
    }

    #[test]
    fn every_alias_of_a_person_has_one_id() {
        let d = Directory::load(&fixture("users.csv"), "enrichments.directory")
            .unwrap()
            .with_domains(["corp.example.com".to_string()]);
        let id = |k: &str| d.person(k).map(|(id, e)| (id, e.map(|e| e.user.clone())));
        for k in ["agarcia", "CORP\\AGarcia", "ana.garcia@corp.example.com", "a.garcia@corp.example.com", "AGARCIA"] {
            assert_eq!(id(k), Some(("agarcia".into(), Some("agarcia".into()))), "{k}");
        }
        // A directory user given as DOMAIN\name or a UPN: the bare name.
        assert_eq!(id("jchen").unwrap().0, "jchen");
        assert_eq!(id("CORP\\JChen").unwrap().0, "jchen");
        assert_eq!(id("bob.ext@partner.example.net").unwrap().0, "bob.ext");
        // Unknown people: the same rules without the directory.
        assert_eq!(id("EU\\Zoe"), Some(("zoe".into(), None)));
        assert_eq!(id("zoe@eu.corp.example.com"), Some(("zoe".into(), None)));
        assert_eq!(id("Zoe@gmail.com"), Some(("zoe@gmail.com".into(), None)));
        assert_eq!(id("  "), None);
        // Without a directory file, the corporate domains still apply.
        let bare = Directory::default().with_domains(["corp.example.com".to_string()]);
        for k in ["corp\\ana", "ana@corp.example.com", "Ana"] {
            assert_eq!(bare.person(k).unwrap().0, "ana", "{k}");
        }
    }

    #[test]
    fn fixed_workstations_name_their_person() {
        let d = Directory::from_csv(
            "user,email,ips,hosts\nana,ana@x.example,10.1.2.3;2001:db8::7,LT-0042\nbob,bob@x.example,,\n",
            "enrichments.directory",
            "users.csv",
        )
        .unwrap();
        assert_eq!(d.by_ip("10.1.2.3").unwrap().user, "ana");
        assert_eq!(d.by_ip("2001:DB8::7").unwrap().user, "ana");
        assert!(d.by_ip("10.1.2.4").is_none() && d.by_ip("not an ip").is_none());
        assert_eq!(d.by_host("lt-0042").unwrap().user, "ana");
        assert_eq!(d.by_host("LT-0042.corp.example.com.").unwrap().user, "ana");
        assert!(d.by_host("LT-0043").is_none());
        let err = |t: &str| Directory::from_csv(t, "enrichments.directory", "users.csv").unwrap_err().to_string();
        assert_eq!(
            err("user,ips\nana,10.1.2.300\n"),
            "enrichments.directory: `users.csv`: line 2: `10.1.2.300` in `ips` is not an IP address"
        );
        assert!(
            err("user,ips\nana,10.1.2.3\nbob,10.1.2.3\n").contains("line 3: `10.1.2.3` is already assigned at line 2")
        );
        assert!(err("user,hosts\nana,DESK-1\nbob,desk-1\n").contains("line 3: `desk-1` is already assigned at line 2"));
    }

    #[test]
    fn configured_domains_extend_upn_lookups() {
        let d = Directory::load(&fixture("users.csv"), "enrichments.directory").unwrap();
        assert!(d.lookup("svc-backup@corp.local").is_none());
        let d = d.with_domains(["corp.local".to_string()]);
        assert_eq!(d.lookup("svc-backup@corp.local").unwrap().user, "svc-backup");
    }

    #[test]
    fn json_array_and_json_lines_read_like_csv() {
        for f in ["users.json", "users.jsonl"] {
            let d = Directory::load(&fixture(f), "enrichments.directory").unwrap();
            assert_eq!(d.len(), 2, "{f}");
            let ana = d.lookup("CORP\\agarcia").unwrap();
            assert_eq!(ana.email.as_deref(), Some("ana.garcia@corp.example.com"), "{f}");
            assert_eq!(ana.flags, ["vip", "travels"], "{f}");
            assert_eq!(d.lookup("sam.lee@corp.example.com").unwrap().role.as_deref(), Some("Engineer"), "{f}");
        }
    }

    #[test]
    fn bad_files_are_named_with_the_line() {
        let csv = |t: &str| Directory::from_csv(t, "enrichments.directory", "users.csv").unwrap_err().to_string();
        assert_eq!(
            csv("user,email\nana,ana@x.example\nANA,other@x.example\n"),
            "enrichments.directory: `users.csv`: line 3: user `ANA` is already defined at line 2"
        );
        assert_eq!(
            csv("user,email\nana,ana@x.example\nbob,Ana@X.example\n"),
            "enrichments.directory: `users.csv`: line 3: address `ana@x.example` is already used at line 2"
        );
        assert_eq!(
            csv("user,email,aliases\nana,ana@x.example,\nbob,bob@x.example,ana@x.example\n"),
            "enrichments.directory: `users.csv`: line 3: address `ana@x.example` is already used at line 2"
        );
        assert_eq!(
            csv("user,email\n,ana@x.example\n"),
            "enrichments.directory: `users.csv`: line 2: `user` is missing"
        );
        assert_eq!(
            csv("user,email\nana,not-an-address\n"),
            "enrichments.directory: `users.csv`: line 2: `not-an-address` is not an email address"
        );
        assert!(csv("email,name\nana@x.example,Ana\n").contains("line 1: the header row has no `user` column"));
        assert!(csv("user,email\nana,a@x.example,extra\n").contains("line 2:"));
        let json = |t: &str| Directory::from_json(t, "enrichments.directory", "users.json").unwrap_err().to_string();
        assert!(
            json("[{\"user\": \"a\"}, {\"user\": \"A\"}]").ends_with("entry 2: user `A` is already defined at entry 1")
        );
        assert!(
            json("{\"user\": \"a\"}\n\n{\"user\": 5}\n").starts_with("enrichments.directory: `users.json`: line 3:")
        );
        assert!(json("[{\"user\": \"a\"},]").contains("line 1:"));
        let missing = Directory::load(Path::new("/nonexistent/users.csv"), "enrichments.directory").unwrap_err();
        assert!(missing.to_string().starts_with("enrichments.directory: `/nonexistent/users.csv`: cannot read"));
    }

    #[test]
    fn unknown_columns_are_ignored_and_blank_lines_skipped() {
        let d = Directory::from_csv(
            "\u{feff}User,Email,Cost_Center\nana,ana@x.example,4711\n,,\n",
            "enrichments.directory",
            "hr.csv",
        )
        .unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d.lookup("ANA@x.example").unwrap().user, "ana");
        assert_eq!(d.origin(), Some("hr.csv"));
    }
}
