//! The catalog generator: builds `enrichments/data/catalog.toml` from the
//! sources under `enrichments/data/catalog/`, reproducibly (same sources,
//! same bytes: deterministic order, no timestamps).
//!
//! ```text
//! cargo run -p floodlight-enrichments --bin build-catalog            # rewrite catalog.toml
//! cargo run -p floodlight-enrichments --bin build-catalog -- --check # exit 1 if it is stale
//! ```
//!
//! Sources (all under one directory, see `enrichments/data/README.md`):
//!
//! * `categories.toml` — per category: default `status`, default sanctioned
//!   `alternative`, default `risk_factors`. Every [`Category`] must appear.
//! * `curated/*.toml` — hand-curated `[[app]]` entries (authoritative), one
//!   file per category group. An entry lists `domains` and/or takes them from
//!   upstream lists (`domains_from = ["v2fly:wetransfer"]`), minus its
//!   `exclude_domains`; `category` is required; `status`, `alternative`,
//!   `risk_factors` default to the category's (`add_risk_factors` adds to
//!   them; `alternative = ""` means none).
//! * `upstream.toml` — which upstream lists derive apps: v2fly category lists
//!   mapped to a category (`[[v2fly]] list = "category-remote-control"`,
//!   `category = "remote_access"`, `skip = [...]`), the GenAI CSV, and the
//!   global `exclude_domains` (shared CDNs and clouds that must never map a
//!   whole app).
//! * `upstream/v2fly/data/<list>` — the v2fly domain-list-community files
//!   actually read, copied verbatim; `upstream/genai/ai_domains.csv`.
//!
//! Merge rules:
//!
//! 1. Curated entries first. Their domains are final.
//! 2. GenAI CSV rows, then each mapped v2fly category list in file order,
//!    derive apps for what curated entries do not cover: each `include:X` of
//!    the category list becomes app `X` (unless a curated entry takes its
//!    domains from `v2fly:X` or has id `X`); its plain domain rules become
//!    one app per registrable domain. A derived domain that equals or lies
//!    under a domain already taken, or lies *above* a curated domain, is
//!    dropped; a derived app with no domain left is dropped. Derived apps get
//!    the category defaults plus the `unreviewed` risk factor.
//! 3. A domain made redundant by a shorter domain of the same app (nothing in
//!    between belongs to another app) is removed.
//! 4. Apps sorted by category (taxonomy order), then id; domains sorted.
//! 5. The result must pass [`AppCatalog::from_apps`] validation.
//!
//! v2fly syntax: a bare or `domain:` rule is the domain and its subdomains;
//! `full:` (an exact host in v2fly) is kept as a suffix too — catalog
//! matching has no exact-only patterns and the names under such hosts belong
//! to the same vendor; `keyword:` and `regexp:` are skipped; `include:` is
//! followed (with its `@attr` / `@-attr` filter); rules tagged `@ads` or
//! `@cn` are dropped; `&affiliation` marks are ignored; a rule that is itself
//! an ICANN public suffix is dropped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::{
    is_domain_name, is_icann_suffix, normalize_host, risk_score, App, AppCatalog, AppStatus, Category, RiskFactor,
};

/// Why the catalog could not be built: names the file, the entry and the rule.
#[derive(Debug)]
pub struct BuildError {
    /// The source file (or `catalog`).
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for BuildError {}

fn berr(file: impl fmt::Display, message: impl Into<String>) -> BuildError {
    BuildError { file: file.to_string(), message: message.into() }
}

/// What a build produced.
#[derive(Debug)]
pub struct BuildOutput {
    /// The validated apps, in output order.
    pub apps: Vec<App>,
    /// The rendered `catalog.toml`.
    pub toml: String,
    /// v2fly list names read (the files `upstream/v2fly/data` must hold).
    pub v2fly_lists_read: BTreeSet<String>,
    /// Domains and members left out, with the reason (for `--report`).
    pub dropped: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryDefaults {
    status: AppStatus,
    #[serde(default)]
    alternative: Option<String>,
    risk_factors: Vec<RiskFactor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamFile {
    exclude_domains: Vec<String>,
    #[serde(default)]
    exclude_under: Vec<String>,
    #[serde(default)]
    v2fly: Vec<V2flyMapping>,
    #[serde(default)]
    genai_csv: Option<CsvSource>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct V2flyMapping {
    list: String,
    category: Category,
    #[serde(default)]
    skip: Vec<String>,
    /// Notes for every app derived from this list.
    #[serde(default)]
    notes: Option<String>,
    /// Replaces the category's default factors for derived apps.
    #[serde(default)]
    risk_factors: Option<Vec<RiskFactor>>,
    /// Added to them.
    #[serde(default)]
    add_risk_factors: Vec<RiskFactor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvSource {
    file: String,
    category: Category,
    #[serde(default)]
    skip_products: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CuratedFile {
    /// Category of entries that do not name one.
    #[serde(default)]
    category: Option<Category>,
    app: Vec<CuratedApp>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CuratedApp {
    id: String,
    name: String,
    /// Defaults to `name`.
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    domains_from: Vec<String>,
    #[serde(default)]
    exclude_domains: Vec<String>,
    #[serde(default)]
    client_ids: Vec<String>,
    #[serde(default)]
    oauth_names: Vec<String>,
    #[serde(default)]
    category: Option<Category>,
    #[serde(default)]
    risk_factors: Option<Vec<RiskFactor>>,
    #[serde(default)]
    add_risk_factors: Vec<RiskFactor>,
    #[serde(default)]
    status: Option<AppStatus>,
    #[serde(default)]
    alternative: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
}

/// The generated file's `[[app]]` table (field order is the file's).
#[derive(Serialize)]
struct OutApp<'a> {
    id: &'a str,
    name: &'a str,
    vendor: &'a str,
    domains: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    client_ids: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    oauth_names: &'a [String],
    category: Category,
    risk: u8,
    risk_factors: &'a [RiskFactor],
    status: AppStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    alternative: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
    sources: &'a [String],
}

#[derive(Serialize)]
struct OutFile<'a> {
    app: Vec<OutApp<'a>>,
}

const HEADER: &str = "\
# floodlight's bundled SaaS app catalog. GENERATED: do not edit by hand.
# Regenerate: cargo run -p floodlight-enrichments --bin build-catalog
# Sources: enrichments/data/catalog/ (curated entries, v2fly domain-list-community
# lists (MIT), Azure-Sentinel ai_domains.csv (MIT)); format: docs/enrichment.md.
# `status` is the default stance; an organisation overlay changes it.

";

fn read(path: &Path) -> Result<String, BuildError> {
    std::fs::read_to_string(path).map_err(|e| berr(path.display(), format!("cannot read: {e}")))
}

fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, file: &Path) -> Result<T, BuildError> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1).unwrap_or(1);
        berr(file.display(), format!("line {line}: {}", e.message()))
    })
}

/// One v2fly rule after parsing.
#[derive(Debug, Clone)]
enum Rule {
    Include { list: String, must: Vec<String>, must_not: Vec<String> },
    Domain { domain: String, attrs: Vec<String> },
    Skipped,
}

/// Reads v2fly lists from a directory, following includes; remembers what it read.
struct V2fly {
    dir: PathBuf,
    parsed: HashMap<String, Vec<(usize, Rule)>>,
    read: BTreeSet<String>,
}

impl V2fly {
    fn new(dir: PathBuf) -> V2fly {
        V2fly { dir, parsed: HashMap::new(), read: BTreeSet::new() }
    }

    fn rules(&mut self, list: &str) -> Result<Vec<(usize, Rule)>, BuildError> {
        if let Some(r) = self.parsed.get(list) {
            return Ok(r.clone());
        }
        if list.is_empty() || list.contains(['/', '\\']) || list.starts_with('.') {
            return Err(berr(self.dir.display(), format!("`{list}` is not a v2fly list name")));
        }
        let path = self.dir.join(list);
        let text = read(&path)?;
        self.read.insert(list.to_string());
        let mut rules = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let Some(head) = parts.next() else { continue };
            let attrs: Vec<&str> = parts.filter(|p| !p.starts_with('&')).collect();
            if let Some(bad) = attrs.iter().find(|a| !a.starts_with('@')) {
                return Err(berr(path.display(), format!("line {}: unexpected `{bad}`", n + 1)));
            }
            let rule = if let Some(inc) = head.strip_prefix("include:") {
                let mut must = Vec::new();
                let mut must_not = Vec::new();
                for a in &attrs {
                    match a.strip_prefix("@-") {
                        Some(x) => must_not.push(x.to_string()),
                        None => must.push(a[1..].to_string()),
                    }
                }
                Rule::Include { list: inc.to_string(), must, must_not }
            } else if head.starts_with("keyword:") || head.starts_with("regexp:") {
                Rule::Skipped
            } else {
                let d = head.strip_prefix("full:").or_else(|| head.strip_prefix("domain:")).unwrap_or(head);
                let domain = d.to_ascii_lowercase();
                if !is_domain_name(&domain) && !(domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')) {
                    return Err(berr(path.display(), format!("line {}: `{head}` is not a domain rule", n + 1)));
                }
                Rule::Domain { domain, attrs: attrs.iter().map(|a| a[1..].to_string()).collect() }
            };
            rules.push((n + 1, rule));
        }
        self.parsed.insert(list.to_string(), rules.clone());
        Ok(rules)
    }

    /// Every domain of `list` (includes followed, except includes of the
    /// lists in `leave`), with its attributes.
    fn resolve(&mut self, list: &str, leave: &BTreeSet<String>) -> Result<Vec<(String, Vec<String>)>, BuildError> {
        let mut out = Vec::new();
        let mut stack = Vec::new();
        self.resolve_into(list, &[], &[], leave, &mut stack, &mut out)?;
        Ok(out)
    }

    fn resolve_into(
        &mut self,
        list: &str,
        must: &[String],
        must_not: &[String],
        leave: &BTreeSet<String>,
        stack: &mut Vec<String>,
        out: &mut Vec<(String, Vec<String>)>,
    ) -> Result<(), BuildError> {
        if stack.iter().any(|s| s == list) {
            return Err(berr(
                self.dir.join(list).display(),
                format!("include cycle: {} -> {list}", stack.join(" -> ")),
            ));
        }
        stack.push(list.to_string());
        for (_, rule) in self.rules(list)? {
            match rule {
                Rule::Include { list: inner, .. } if leave.contains(&inner) => {}
                Rule::Include { list: inner, must: m, must_not: mn } => {
                    let m: Vec<String> = must.iter().cloned().chain(m).collect();
                    let mn: Vec<String> = must_not.iter().cloned().chain(mn).collect();
                    self.resolve_into(&inner, &m, &mn, leave, stack, out)?;
                }
                Rule::Domain { domain, attrs } => {
                    let ok = must.iter().all(|m| attrs.contains(m)) && !must_not.iter().any(|m| attrs.contains(m));
                    if ok {
                        out.push((domain, attrs));
                    }
                }
                Rule::Skipped => {}
            }
        }
        stack.pop();
        Ok(())
    }
}

/// Whether a v2fly rule's attributes drop it: ads, or mainland-China access points.
fn dropped_by_attrs(attrs: &[String]) -> Option<&'static str> {
    if attrs.iter().any(|a| a == "ads") {
        Some("tagged @ads")
    } else if attrs.iter().any(|a| a == "cn") {
        Some("tagged @cn")
    } else {
        None
    }
}

/// A lower-case id from a list name or domain: letters and digits, `-` between.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Parse a CSV text (RFC 4180 quoting) into rows of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Domains taken so far: domain → index into the drafts.
#[derive(Default)]
struct Taken {
    owner: HashMap<String, usize>,
    curated: BTreeSet<String>,
}

impl Taken {
    /// The app owning `d` or a parent of it.
    fn covering(&self, d: &str) -> Option<usize> {
        let mut rest = d;
        loop {
            if let Some(&i) = self.owner.get(rest) {
                return Some(i);
            }
            rest = rest.split_once('.')?.1;
        }
    }

    /// Whether `d` is a strict parent of a curated domain.
    fn above_curated(&self, d: &str) -> bool {
        let suffix = format!(".{d}");
        self.curated.iter().any(|c| c.ends_with(&suffix))
    }
}

struct Builder<'a> {
    dir: &'a Path,
    defaults: BTreeMap<Category, CategoryDefaults>,
    exclude: BTreeSet<String>,
    exclude_under: BTreeSet<String>,
    v2fly: V2fly,
    drafts: Vec<App>,
    taken: Taken,
    /// v2fly list → the curated entry that takes it (by `domains_from` or by id).
    claimed_lists: BTreeMap<String, String>,
    dropped: Vec<String>,
}

fn default_factors(d: &CategoryDefaults, explicit: Option<&Vec<RiskFactor>>, add: &[RiskFactor]) -> Vec<RiskFactor> {
    let mut f: Vec<RiskFactor> = explicit.cloned().unwrap_or_else(|| d.risk_factors.clone());
    for a in add {
        if !f.contains(a) {
            f.push(*a);
        }
    }
    f.sort();
    f.dedup();
    f
}

impl<'a> Builder<'a> {
    fn note(&mut self, s: String) {
        self.dropped.push(s);
    }

    /// In `exclude_domains`, or at or under an `exclude_under` name.
    fn is_excluded(&self, d: &str) -> bool {
        if self.exclude.contains(d) {
            return true;
        }
        let mut rest = d;
        loop {
            if self.exclude_under.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, t)) => rest = t,
                None => return false,
            }
        }
    }

    /// Normalised domains from an upstream list, minus ads / cn / excluded /
    /// public suffixes. Includes of lists another curated entry takes (any
    /// but `taker`) are not followed: that entry has them.
    fn upstream_domains(&mut self, list: &str, taker: Option<&str>, why: &str) -> Result<Vec<String>, BuildError> {
        let leave: BTreeSet<String> = self
            .claimed_lists
            .iter()
            .filter(|(l, by)| Some(by.as_str()) != taker && l.as_str() != list)
            .map(|(l, _)| l.clone())
            .collect();
        let mut out = Vec::new();
        for (d, attrs) in self.v2fly.resolve(list, &leave)? {
            if let Some(reason) = dropped_by_attrs(&attrs) {
                self.note(format!("{why}: v2fly:{list}: `{d}` {reason}"));
                continue;
            }
            let n = normalize_host(&d);
            if !is_domain_name(&n) || is_icann_suffix(&n) {
                self.note(format!("{why}: v2fly:{list}: `{d}` is not a registrable domain"));
                continue;
            }
            if self.is_excluded(&n) {
                self.note(format!("{why}: v2fly:{list}: `{d}` is shared infrastructure (upstream.toml)"));
                continue;
            }
            if !out.contains(&n) {
                out.push(n);
            }
        }
        Ok(out)
    }

    fn add_draft(&mut self, app: App, curated: bool) {
        let i = self.drafts.len();
        for d in &app.domains {
            self.taken.owner.insert(d.clone(), i);
            if curated {
                self.taken.curated.insert(d.clone());
            }
        }
        self.drafts.push(app);
    }

    fn curated(&mut self) -> Result<(), BuildError> {
        let cdir = self.dir.join("curated");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&cdir)
            .map_err(|e| berr(cdir.display(), format!("cannot list: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut entries = Vec::new();
        for f in &files {
            let file: CuratedFile = parse_toml(&read(f)?, f)?;
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            for e in file.app {
                let Some(category) = e.category.or(file.category) else {
                    return Err(berr(f.display(), format!("app `{}`: no `category` (and none for the file)", e.id)));
                };
                for src in &e.domains_from {
                    if let Some(list) = src.strip_prefix("v2fly:") {
                        if let Some(other) = self.claimed_lists.insert(list.to_string(), e.id.clone()) {
                            if other != e.id {
                                return Err(berr(
                                    f.display(),
                                    format!("app `{}`: domains_from `{src}` is already taken by app `{other}`", e.id),
                                ));
                            }
                        }
                    }
                }
                self.claimed_lists.entry(e.id.clone()).or_insert_with(|| e.id.clone());
                entries.push((f.clone(), name.clone(), category, e));
            }
        }
        for (path, fname, category, e) in entries {
            let ctx = |m: String| berr(path.display(), format!("app `{}`: {m}", e.id));
            let mut domains: Vec<String> = Vec::new();
            for d in &e.domains {
                let n = normalize_host(d);
                if !is_domain_name(&n) {
                    return Err(ctx(format!("`{d}` is not a domain name")));
                }
                if self.is_excluded(&n) {
                    return Err(ctx(format!(
                        "`{d}` is shared infrastructure (upstream.toml exclude_domains / exclude_under)"
                    )));
                }
                if domains.contains(&n) {
                    return Err(ctx(format!("domain `{n}` is listed twice")));
                }
                domains.push(n);
            }
            let mut sources = vec![format!("curated:{fname}")];
            for src in &e.domains_from {
                let Some(list) = src.strip_prefix("v2fly:") else {
                    return Err(ctx(format!("domains_from `{src}`: only `v2fly:<list>` is supported")));
                };
                for d in self.upstream_domains(list, Some(&e.id), &format!("app `{}`", e.id))? {
                    if !domains.contains(&d) {
                        domains.push(d);
                    }
                }
                sources.push(src.clone());
            }
            for x in &e.exclude_domains {
                let n = normalize_host(x);
                let before = domains.len();
                domains.retain(|d| *d != n);
                if domains.len() == before {
                    return Err(ctx(format!("exclude_domains `{x}` is not among its domains (stale exclusion?)")));
                }
            }
            if domains.is_empty() {
                return Err(ctx("no domains (give `domains` or `domains_from`)".into()));
            }
            for d in &domains {
                if let Some(&j) = self.taken.owner.get(d) {
                    return Err(ctx(format!("domain `{d}` is already listed by app `{}`", self.drafts[j].id)));
                }
            }
            let Some(def) = self.defaults.get(&category) else {
                return Err(ctx(format!("category `{category}` has no defaults in categories.toml")));
            };
            let status = e.status.unwrap_or(def.status);
            let alternative = match &e.alternative {
                Some(a) if a.is_empty() => None,
                Some(a) => Some(a.clone()),
                None if status == AppStatus::Sanctioned => None,
                None => def.alternative.clone().filter(|a| *a != e.id),
            };
            let risk_factors = default_factors(def, e.risk_factors.as_ref(), &e.add_risk_factors);
            sources.extend(e.sources.iter().cloned());
            let app = App {
                id: e.id.clone(),
                name: e.name.clone(),
                vendor: e.vendor.clone().unwrap_or_else(|| e.name.clone()),
                domains,
                client_ids: e.client_ids.clone(),
                oauth_names: e.oauth_names.clone(),
                category,
                risk: risk_score(&risk_factors),
                risk_factors,
                status,
                alternative,
                notes: e.notes.clone(),
                sources,
                status_reason: None,
                owner: None,
                expires: None,
            };
            if self.drafts.iter().any(|d| d.id == app.id) {
                return Err(ctx("id is used by another curated entry".into()));
            }
            self.add_draft(app, true);
        }
        Ok(())
    }

    /// Filter derived domains against what is taken; returns the keepers.
    fn fresh(&mut self, domains: Vec<String>, why: &str) -> Vec<String> {
        let mut keep = Vec::new();
        for d in domains {
            if let Some(i) = self.taken.covering(&d) {
                let owner = self.drafts[i].id.clone();
                self.note(format!("{why}: `{d}` is covered by app `{owner}`"));
                continue;
            }
            if self.taken.above_curated(&d) {
                self.note(format!("{why}: `{d}` lies above a curated domain; not taken"));
                continue;
            }
            keep.push(d);
        }
        keep
    }

    #[allow(clippy::too_many_arguments)]
    fn derived_app(
        &self,
        id: String,
        name: String,
        vendor: String,
        domains: Vec<String>,
        category: Category,
        sources: Vec<String>,
        mapping: Option<&V2flyMapping>,
    ) -> App {
        let def = &self.defaults[&category];
        let mut add = vec![RiskFactor::Unreviewed];
        add.extend(mapping.map(|m| m.add_risk_factors.clone()).unwrap_or_default());
        let risk_factors = default_factors(def, mapping.and_then(|m| m.risk_factors.as_ref()), &add);
        let status = def.status;
        let alternative = if status == AppStatus::Sanctioned { None } else { def.alternative.clone() };
        App {
            id,
            name,
            vendor,
            domains,
            client_ids: Vec::new(),
            oauth_names: Vec::new(),
            category,
            risk: risk_score(&risk_factors),
            risk_factors,
            status,
            alternative,
            notes: mapping.and_then(|m| m.notes.clone()),
            sources,
            status_reason: None,
            owner: None,
            expires: None,
        }
    }

    fn unique_id(&self, wanted: &str, fallback: &str) -> Option<String> {
        let taken = |id: &str| self.drafts.iter().any(|d| d.id == id);
        [slug(wanted), slug(fallback)].into_iter().find(|id| !id.is_empty() && !taken(id))
    }

    fn genai_csv(&mut self, src: &CsvSource) -> Result<(), BuildError> {
        let path = self.dir.join(&src.file);
        let text = read(&path)?;
        let fname = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let rows = parse_csv(&text);
        let Some(header) = rows.first() else { return Err(berr(path.display(), "empty CSV")) };
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| berr(path.display(), format!("no `{name}` column")))
        };
        let (cp, cn, cd) = (col("Provider")?, col("Product")?, col("Domain")?);
        // Group rows by product, keeping first-seen order.
        let mut products: Vec<(String, String, Vec<String>)> = Vec::new();
        for (n, row) in rows.iter().enumerate().skip(1) {
            let get = |i: usize| row.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
            let (provider, product, domain) = (get(cp), get(cn), get(cd));
            if domain.is_empty() || src.skip_products.contains(&product) {
                continue;
            }
            let d = normalize_host(&domain);
            if !is_domain_name(&d) || is_icann_suffix(&d) {
                return Err(berr(path.display(), format!("line {}: `{domain}` is not a domain", n + 1)));
            }
            match products.iter_mut().find(|(p, q, _)| *p == provider && *q == product) {
                Some((_, _, ds)) => ds.push(d),
                None => products.push((provider, product, vec![d])),
            }
        }
        for (provider, product, domains) in products {
            let why = format!("{fname} `{product}`");
            // Curated apps covering a row gain the CSV as a source.
            for d in &domains {
                if let Some(i) = self.taken.covering(d) {
                    let tag = format!("{fname}:{product}");
                    if !self.drafts[i].sources.contains(&tag) {
                        self.drafts[i].sources.push(tag);
                    }
                }
            }
            let keep = self.fresh(domains, &why);
            if keep.is_empty() {
                continue;
            }
            let Some(id) = self.unique_id(&product, &format!("{provider} {product}")) else {
                return Err(berr(path.display(), format!("`{product}`: no free id")));
            };
            let app = self.derived_app(id, product, provider, keep, src.category, vec![fname.clone()], None);
            self.add_draft(app, false);
        }
        Ok(())
    }

    fn v2fly_mapping(&mut self, m: &V2flyMapping) -> Result<(), BuildError> {
        let rules = self.v2fly.rules(&m.list)?;
        let file = self.dir.join("upstream.toml");
        for s in &m.skip {
            let present = rules.iter().any(|(_, r)| match r {
                Rule::Include { list, .. } => list == s,
                Rule::Domain { domain, .. } => domain == s,
                Rule::Skipped => false,
            });
            if !present {
                return Err(berr(file.display(), format!("[[v2fly]] `{}`: skip `{s}` is not a member", m.list)));
            }
        }
        // Plain domains grouped by registrable domain, in first-seen order.
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for (_, rule) in rules {
            match rule {
                Rule::Include { list, must, must_not } => {
                    if m.skip.contains(&list) {
                        self.note(format!("v2fly:{}: member `{list}` skipped (upstream.toml)", m.list));
                        continue;
                    }
                    if self.claimed_lists.contains_key(&list) {
                        continue;
                    }
                    if !must.is_empty() || !must_not.is_empty() {
                        self.note(format!("v2fly:{}: filtered include `{list}` not derived", m.list));
                        continue;
                    }
                    let why = format!("v2fly:{} member `{list}`", m.list);
                    let ds = self.upstream_domains(&list, None, &why)?;
                    let keep = self.fresh(ds, &why);
                    if keep.is_empty() {
                        self.note(format!("{why}: nothing left; no app"));
                        continue;
                    }
                    let Some(id) = self.unique_id(&list, &format!("{list}-{}", m.category)) else {
                        return Err(berr(file.display(), format!("v2fly `{list}`: no free id")));
                    };
                    let app = self.derived_app(
                        id,
                        list.clone(),
                        list.clone(),
                        keep,
                        m.category,
                        vec![format!("v2fly:{}", m.list), format!("v2fly:{list}")],
                        Some(m),
                    );
                    self.add_draft(app, false);
                }
                Rule::Domain { domain, attrs } => {
                    let why = format!("v2fly:{}", m.list);
                    if m.skip.contains(&domain) {
                        self.note(format!("{why}: `{domain}` skipped (upstream.toml)"));
                        continue;
                    }
                    if let Some(reason) = dropped_by_attrs(&attrs) {
                        self.note(format!("{why}: `{domain}` {reason}"));
                        continue;
                    }
                    let n = normalize_host(&domain);
                    if !is_domain_name(&n) || is_icann_suffix(&n) || self.is_excluded(&n) {
                        self.note(format!("{why}: `{domain}` is not an app domain"));
                        continue;
                    }
                    let reg = psl::domain_str(&n).unwrap_or(&n).to_string();
                    match groups.iter_mut().find(|(r, _)| *r == reg) {
                        Some((_, ds)) => ds.push(n),
                        None => groups.push((reg, vec![n])),
                    }
                }
                Rule::Skipped => {}
            }
        }
        for (reg, ds) in groups {
            let why = format!("v2fly:{} `{reg}`", m.list);
            let keep = self.fresh(ds, &why);
            if keep.is_empty() {
                continue;
            }
            // Named after the hosts' longest common suffix (the one host, or
            // e.g. `canadianshield.cira.ca` for three resolvers under it).
            let name = common_suffix(&keep).unwrap_or_else(|| reg.clone());
            let wanted = match reg.split('.').next() {
                Some(label) if name == reg && label.len() > 3 && !GENERIC_LABELS.contains(&label) => label.to_string(),
                _ => name.clone(),
            };
            let Some(id) = self.unique_id(&wanted, &name) else {
                return Err(berr(file.display(), format!("v2fly `{reg}`: no free id")));
            };
            let sources = vec![format!("v2fly:{}", m.list)];
            let app = self.derived_app(id, name.clone(), name, keep, m.category, sources, Some(m));
            self.add_draft(app, false);
        }
        Ok(())
    }
}

/// First labels too generic to be an app id on their own (`dns.sb`, `doh.pub`).
const GENERIC_LABELS: &[&str] = &["dns", "doh", "dot", "www", "api", "app", "cloud", "mail", "chat", "proxy", "vpn"];

/// The longest whole-label suffix shared by all `domains` (at least two labels).
fn common_suffix(domains: &[String]) -> Option<String> {
    let first = domains.first()?;
    let labels: Vec<&str> = first.split('.').collect();
    for start in 0..labels.len().saturating_sub(1) {
        let cand = labels[start..].join(".");
        let dotted = format!(".{cand}");
        if domains.iter().all(|d| *d == cand || d.ends_with(&dotted)) {
            return Some(cand);
        }
    }
    None
}

/// Drop domains that a shorter domain of the same app already matches, when
/// no other app lists anything in between.
fn remove_redundant(apps: &mut [App]) {
    let owner: HashMap<String, usize> =
        apps.iter().enumerate().flat_map(|(i, a)| a.domains.iter().map(move |d| (d.clone(), i))).collect();
    for (i, a) in apps.iter_mut().enumerate() {
        a.domains.retain(|d| {
            let mut rest = d.as_str();
            while let Some((_, parent)) = rest.split_once('.') {
                if let Some(&j) = owner.get(parent) {
                    return j != i;
                }
                rest = parent;
            }
            true
        });
    }
}

/// Build the catalog from the sources in `dir` (`enrichments/data/catalog`).
pub fn build(dir: &Path) -> Result<BuildOutput, BuildError> {
    build_with_v2fly(dir, &dir.join("upstream/v2fly/data"))
}

/// [`build`], reading v2fly lists from `v2fly_data` (an upstream checkout's
/// `data/` when refreshing the copied lists).
pub fn build_with_v2fly(dir: &Path, v2fly_data: &Path) -> Result<BuildOutput, BuildError> {
    let cat_path = dir.join("categories.toml");
    let raw: BTreeMap<String, CategoryDefaults> = parse_toml(&read(&cat_path)?, &cat_path)?;
    let mut defaults = BTreeMap::new();
    for (k, v) in raw {
        let c: Category = k.parse().map_err(|e: String| berr(cat_path.display(), e))?;
        defaults.insert(c, v);
    }
    if let Some(missing) = Category::ALL.iter().find(|c| !defaults.contains_key(c)) {
        return Err(berr(cat_path.display(), format!("category `{missing}` has no defaults")));
    }
    let up_path = dir.join("upstream.toml");
    let upstream: UpstreamFile = parse_toml(&read(&up_path)?, &up_path)?;
    let exclude: BTreeSet<String> = upstream.exclude_domains.iter().map(|d| normalize_host(d)).collect();
    let exclude_under: BTreeSet<String> = upstream.exclude_under.iter().map(|d| normalize_host(d)).collect();
    let mut b = Builder {
        dir,
        defaults,
        exclude,
        exclude_under,
        v2fly: V2fly::new(v2fly_data.to_path_buf()),
        drafts: Vec::new(),
        taken: Taken::default(),
        claimed_lists: BTreeMap::new(),
        dropped: Vec::new(),
    };
    b.curated()?;
    if let Some(csv) = &upstream.genai_csv {
        b.genai_csv(csv)?;
    }
    for m in &upstream.v2fly {
        b.v2fly_mapping(m)?;
    }
    let mut apps: Vec<App> = b.drafts;
    remove_redundant(&mut apps);
    let order: HashMap<Category, usize> = Category::ALL.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    apps.sort_by(|x, y| order[&x.category].cmp(&order[&y.category]).then_with(|| x.id.cmp(&y.id)));
    for a in &mut apps {
        a.domains.sort();
    }
    let catalog = AppCatalog::from_apps(apps).map_err(|m| berr("catalog", m))?;
    let apps: Vec<App> = catalog.iter().cloned().collect();
    let out = OutFile {
        app: apps
            .iter()
            .map(|a| OutApp {
                id: &a.id,
                name: &a.name,
                vendor: &a.vendor,
                domains: &a.domains,
                client_ids: &a.client_ids,
                oauth_names: &a.oauth_names,
                category: a.category,
                risk: a.risk,
                risk_factors: &a.risk_factors,
                status: a.status,
                alternative: a.alternative.as_deref(),
                notes: a.notes.as_deref(),
                sources: &a.sources,
            })
            .collect(),
    };
    let body = toml::to_string(&out).map_err(|e| berr("catalog", format!("cannot render: {e}")))?;
    let toml = format!("{HEADER}{body}");
    Ok(BuildOutput { apps, toml, v2fly_lists_read: b.v2fly.read, dropped: b.dropped })
}

/// The `## Categories` table of `docs/enrichment.md`: every category with its
/// definition and the defaults from `categories.toml` (a test keeps the
/// document in step; `build-catalog --docs` prints it).
pub fn category_docs_table(dir: &Path) -> Result<String, BuildError> {
    let cat_path = dir.join("categories.toml");
    let raw: BTreeMap<String, CategoryDefaults> = parse_toml(&read(&cat_path)?, &cat_path)?;
    let mut out = String::from(
        "| category | definition | default status | default alternative | default risk factors |\n|---|---|---|---|---|\n",
    );
    for c in Category::ALL {
        let d =
            raw.get(c.as_str()).ok_or_else(|| berr(cat_path.display(), format!("category `{c}` has no defaults")))?;
        let factors: Vec<String> = d.risk_factors.iter().map(|f| format!("`{f}`")).collect();
        out.push_str(&format!(
            "| `{c}` | {} | {} | {} | {} ({}) |\n",
            c.definition(),
            d.status,
            d.alternative.as_deref().map_or("—".to_string(), |a| format!("`{a}`")),
            factors.join(", "),
            risk_score(&d.risk_factors)
        ));
    }
    Ok(out)
}

/// The `## Risk score` factor table of `docs/enrichment.md`.
pub fn risk_factor_docs_table() -> String {
    let mut out = String::from("| factor | weight | meaning |\n|---|---|---|\n");
    for f in RiskFactor::ALL {
        out.push_str(&format!("| `{f}` | {} | {} |\n", f.weight(), f.meaning()));
    }
    out
}

/// The sources directory in this crate (`enrichments/data/catalog`).
pub fn default_sources_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/catalog")
}

/// The committed catalog path (`enrichments/data/catalog.toml`).
pub fn default_output_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/catalog.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_catalog_is_reproducible() {
        let built = build(&default_sources_dir()).unwrap();
        let committed = std::fs::read_to_string(default_output_path()).unwrap();
        assert!(
            built.toml == committed,
            "enrichments/data/catalog.toml is stale: run `cargo run -p floodlight-enrichments --bin build-catalog`"
        );
        assert!(built.apps.len() >= 500, "{}", built.apps.len());
        assert_eq!(build(&default_sources_dir()).unwrap().toml, built.toml, "deterministic");
        // Curated apps win over derived ones, derived ones are marked.
        let chatgpt = built.apps.iter().find(|a| a.id == "chatgpt").unwrap();
        assert!(chatgpt.sources.contains(&"v2fly:openai".to_string()), "{:?}", chatgpt.sources);
        assert!(chatgpt.sources.contains(&"ai_domains.csv:OpenAI API".to_string()), "{:?}", chatgpt.sources);
        assert!(!chatgpt.risk_factors.contains(&RiskFactor::Unreviewed));
        let flux = built.apps.iter().find(|a| a.domains == ["blackforestlabs.ai"]).unwrap();
        assert_eq!((flux.name.as_str(), flux.vendor.as_str()), ("FLUX", "Black Forest Labs"));
        assert!(flux.risk_factors.contains(&RiskFactor::Unreviewed));
        // Shared infrastructure from upstream lists never reaches an app.
        for a in &built.apps {
            for d in &a.domains {
                for shared in
                    [".amazonaws.com", ".cloudfront.net", ".googleusercontent.com", ".akamaihd.net", ".fastly.net"]
                {
                    assert!(!d.ends_with(shared) && *d != shared[1..], "{}: {d}", a.id);
                }
            }
        }
        assert!(built.dropped.iter().any(|d| d.contains("paper-attachments.s3.amazonaws.com")));
    }

    #[test]
    fn upstream_copies_are_exactly_the_lists_read() {
        let dir = default_sources_dir();
        let built = build(&dir).unwrap();
        let on_disk: BTreeSet<String> = std::fs::read_dir(dir.join("upstream/v2fly/data"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(on_disk, built.v2fly_lists_read, "refresh with --vendor-v2fly");
        for f in ["upstream/v2fly/LICENSE", "upstream/v2fly/LICENSE-NOTE.txt", "upstream/genai/LICENSE-NOTE.txt"] {
            assert!(dir.join(f).is_file(), "{f}");
        }
    }

    /// A sources directory with minimal category defaults.
    fn sources(upstream: &str, curated: &str, lists: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut cats = String::new();
        for c in Category::ALL {
            let (status, factor) = if *c == Category::RemoteAccess {
                ("monitored", "remote_control")
            } else {
                ("unsanctioned", "uploads_data")
            };
            cats.push_str(&format!("[{c}]\nstatus = \"{status}\"\nrisk_factors = [\"{factor}\"]\n"));
        }
        std::fs::write(dir.path().join("categories.toml"), cats).unwrap();
        std::fs::write(dir.path().join("upstream.toml"), upstream).unwrap();
        std::fs::create_dir_all(dir.path().join("curated")).unwrap();
        std::fs::write(dir.path().join("curated/a.toml"), curated).unwrap();
        let data = dir.path().join("upstream/v2fly/data");
        std::fs::create_dir_all(&data).unwrap();
        for (name, text) in lists {
            std::fs::write(data.join(name), text).unwrap();
        }
        dir
    }

    const UPSTREAM: &str = r#"
exclude_domains = ["exact.example"]
exclude_under = ["shared.example"]
[[v2fly]]
list = "category-remote"
category = "remote_access"
skip = ["skipped.example"]
notes = "From the test list"
"#;

    const LISTS: &[(&str, &str)] = &[
        (
            "category-remote",
            "# header\ninclude:alpha\ninclude:beta @cn\ninclude:taken\nfoo.example\nfull:bar.foo.example\n\
             keyword:zzz\nregexp:^a$\ncdn.shared.example\nexact.example\nads.example @ads\n\
             skipped.example\nsolo.example # trailing comment\n  dns.resolver.example\n  doh.resolver.example\n",
        ),
        ("alpha", "alpha.example\nfull:api.alpha.example\ncn.alpha.example @cn\ninclude:gamma\n"),
        ("gamma", "gamma.example @ads\ndomain:gamma2.example &affiliation\n"),
        ("beta", "beta.example @cn\n"),
        ("taken", "taken.example\nmine.example\n"),
    ];

    const CURATED: &str = r#"
category = "remote_access"
app = [
  { id = "taker", name = "Taker", domains = ["own.example"], domains_from = ["v2fly:taken"], exclude_domains = ["mine.example"], status = "sanctioned" },
]
"#;

    #[test]
    fn v2fly_syntax_and_merge_rules() {
        let dir = sources(UPSTREAM, CURATED, LISTS);
        let out = build(dir.path()).unwrap();
        let get = |id: &str| out.apps.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("{id}: {:#?}", out.apps));
        let taker = get("taker");
        assert_eq!(taker.domains, ["own.example", "taken.example"], "curated: list domains minus its exclusions");
        assert_eq!(taker.risk_factors, [RiskFactor::RemoteControl]);
        assert_eq!(taker.sources, ["curated:a.toml", "v2fly:taken"]);
        // include member -> app; @cn / @ads dropped; includes followed; redundant subdomain removed.
        let alpha = get("alpha");
        assert_eq!(alpha.domains, ["alpha.example", "gamma2.example"]);
        assert_eq!((alpha.name.as_str(), alpha.status), ("alpha", AppStatus::Monitored));
        assert_eq!(alpha.risk_factors, [RiskFactor::RemoteControl, RiskFactor::Unreviewed]);
        assert_eq!(alpha.notes.as_deref(), Some("From the test list"));
        assert_eq!(alpha.sources, ["v2fly:category-remote", "v2fly:alpha"]);
        // Plain domains: one app per registrable domain, named by the hosts' common suffix.
        assert_eq!(get("foo-example").domains, ["foo.example"], "full:bar.foo.example folded into foo.example");
        assert_eq!(get("solo").name, "solo.example");
        let resolver = get("resolver");
        assert_eq!(resolver.domains, ["dns.resolver.example", "doh.resolver.example"]);
        assert_eq!(resolver.name, "resolver.example");
        let ids: Vec<&str> = out.apps.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["alpha", "foo-example", "resolver", "solo", "taker"], "sorted; nothing else derived");
        for gone in ["cdn.shared.example", "exact.example", "ads.example", "skipped.example", "beta.example", "zzz"] {
            assert!(!out.toml.contains(gone), "{gone} leaked into the catalog");
        }
        assert!(out.dropped.iter().any(|d| d.contains("`ads.example` tagged @ads")), "{:#?}", out.dropped);
        assert!(out.dropped.iter().any(|d| d.contains("filtered include `beta`")), "{:#?}", out.dropped);
        assert_eq!(
            out.v2fly_lists_read,
            ["alpha", "category-remote", "gamma", "taken"].iter().map(|s| s.to_string()).collect()
        );
        // The output loads as a catalog.
        let c = AppCatalog::from_toml(&out.toml, "t").unwrap();
        assert_eq!(c.lookup_domain("x.api.alpha.example").map(|a| a.id.as_str()), Some("alpha"));
        assert_eq!(c.lookup_domain("cdn.shared.example"), None);
    }

    fn build_err(upstream: &str, curated: &str, lists: &[(&str, &str)]) -> String {
        let dir = sources(upstream, curated, lists);
        build(dir.path()).unwrap_err().to_string()
    }

    #[test]
    fn source_errors_name_the_file_entry_and_rule() {
        let second = "  { id = \"other\", name = \"Other\", domains = [\"own.example\"] },\n]\n";
        let e = build_err(UPSTREAM, &CURATED.replace("\n]\n", &format!("\n{second}")), LISTS);
        assert!(e.contains("a.toml: app `other`: domain `own.example` is already listed by app `taker`"), "{e}");
        let e = build_err(UPSTREAM, &CURATED.replace("\"mine.example\"", "\"gone.example\""), LISTS);
        assert!(e.contains("app `taker`: exclude_domains `gone.example` is not among its domains"), "{e}");
        let e = build_err(&UPSTREAM.replace("skipped.example", "nowhere.example"), CURATED, LISTS);
        assert!(e.contains("upstream.toml") && e.contains("skip `nowhere.example` is not a member"), "{e}");
        let e = build_err(UPSTREAM, &CURATED.replace("status =", "stauts ="), LISTS);
        assert!(e.contains("a.toml: line 4") && e.contains("stauts"), "{e}");
        let e = build_err(UPSTREAM, &CURATED.replace("own.example", "x.shared.example"), LISTS);
        assert!(e.contains("`x.shared.example` is shared infrastructure"), "{e}");
        let e = build_err(UPSTREAM, &CURATED.replace("category = \"remote_access\"\n", ""), LISTS);
        assert!(e.contains("app `taker`: no `category`"), "{e}");
        let mut cyclic = LISTS.to_vec();
        cyclic[2] = ("gamma", "include:alpha\n");
        let e = build_err(UPSTREAM, CURATED, &cyclic);
        assert!(e.contains("include cycle: alpha -> gamma -> alpha"), "{e}");
        let mut bad = LISTS.to_vec();
        bad[1] = ("alpha", "alpha.example\nnot a rule here\n");
        let e = build_err(UPSTREAM, CURATED, &bad);
        assert!(e.contains("alpha: line 2: unexpected `a`"), "{e}");
        let e =
            build_err(UPSTREAM, &CURATED.replace("\"sanctioned\"", "\"unsanctioned\", alternative = \"nope\""), LISTS);
        assert!(e.contains("catalog: app `taker`: alternative `nope` is not in the catalog"), "{e}");
    }

    #[test]
    fn docs_tables_match_the_code_and_the_defaults() {
        let docs =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/enrichment.md")).unwrap();
        let categories = category_docs_table(&default_sources_dir()).unwrap();
        assert!(
            docs.contains(&categories),
            "docs/enrichment.md ## Categories is stale; `build-catalog --docs`:\n{categories}"
        );
        let factors = risk_factor_docs_table();
        assert!(
            docs.contains(&factors),
            "docs/enrichment.md ## Risk score is stale; `build-catalog --docs`:\n{factors}"
        );
        for section in ["## App catalog", "## Categories", "## Risk score", "## Organisation overlay"] {
            assert!(docs.contains(&format!("\n{section}\n")), "{section}");
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(slug("category-ai-!cn"), "category-ai-cn");
        assert_eq!(slug("Microsoft Foundry"), "microsoft-foundry");
        assert_eq!(common_suffix(&["a.b.example".into(), "c.b.example".into()]).as_deref(), Some("b.example"));
        assert_eq!(common_suffix(&["a.example".into(), "a.other".into()]), None);
        let rows = parse_csv("A,B\n\"x, y\",\"say \"\"hi\"\"\"\r\nlast,\n");
        assert_eq!(rows, vec![vec!["A", "B"], vec!["x, y", "say \"hi\""], vec!["last", ""]]);
    }
}
