//! The organisation overlay: the organisation's own stance on catalog apps,
//! in a TOML file operations edit (`[enrichments] overlay = "overlay.toml"`).
//!
//! ```toml
//! [[app]]                                  # one app, by catalog id
//! id = "dropbox"
//! status = "monitored"
//! reason = "Finance shares statements with the auditor"
//! owner = "it-finance@corp.example.com"
//! expires = "2027-03-31"                   # last day; afterwards: unsanctioned
//!
//! [[category]]                             # every app of a category
//! category = "genai"
//! status = "unsanctioned"
//! alternative = "microsoft-copilot"
//! reason = "AI policy 2026: only the tenant's Copilot"
//!
//! [[sanctioned]]                           # the organisation's own apps
//! id = "corp-sft"
//! name = "Corp Secure File Transfer"
//! domains = ["sft.corp.example.com"]
//! category = "file_sharing"
//!
//! [[exception]]                            # an exception for some people only
//! app = "smallpdf"
//! users = ["ana@corp.example.com"]         # directory user, e-mail or alias
//! departments = ["Legal"]                  # and/or whole departments (directory)
//! reason = "Converts scanned contracts until the Acrobat licence arrives"
//! owner = "it-service@corp.example.com"
//! expires = "2027-01-31"                   # required: scoped exceptions always end
//! source = "nudge n-3f9c1a"                # optional: the explanation it answers
//!
//! [[partner]]                              # a destination the organisation agreed to
//! name = "Auditor (KPMG)"
//! domains = ["kpmg.nl"]                    # whole domains (and their subdomains)
//! addresses = ["j.devries@gmail.com"]      # and/or single addresses (a freelancer's)
//! reason = "Statutory audit 2026: the audit team receives the finance mailbox"
//! owner = "cfo-office@corp.example.com"
//! expires = "2027-06-30"                   # required: agreements are reviewed
//! ```
//!
//! **Exceptions.** An app counts as *excepted* for an event when an overlay
//! entry says `monitored` and has not expired: an `[[app]]` or
//! `[[category]]` entry excepts it for everyone, an `[[exception]]` entry
//! for the people it names (by directory user, e-mail or alias, or by
//! directory department). The enrichment writes the scope into the event's
//! `app_exception` column (`everyone`, `user:<name>`, `department:<name>`)
//! and, for a scoped exception, reports the app as `monitored` with the
//! exception's reason and owner on that person's events only. The
//! shadow-SaaS rules skip excepted events, so an accepted explanation stops
//! the findings for its scope while everyone else's keep coming; once the
//! expiry date has passed the exception no longer applies and the findings
//! start again. The catalog's own `monitored` default is not an exception
//! (nobody explained anything): it is only the catalog's view of the app.
//!
//! Precedence: an `[[app]]` entry beats a `[[category]]` entry, which beats
//! the catalog default (an `[[app]]` entry without `alternative` takes its
//! category entry's). A `[[category]]` entry leaves apps the catalog
//! sanctions alone (so `genai` can be unsanctioned while its alternative,
//! the tenant's Copilot, stays sanctioned); name such an app in `[[app]]` to
//! change it. "Comply or explain": every entry gives a `reason`;
//! an entry whose `expires` date has passed (today, UTC, is later) makes the
//! app `unsanctioned` again, with `status_reason = "exception expired
//! <date>"`. An `alternative` must name a sanctioned app (catalog or the
//! overlay's own); a catalog default alternative that the overlay made
//! non-sanctioned is dropped. Sanctioned apps carry no alternative.
//! Unknown ids, categories and fields are errors naming the file, the entry
//! and the setting.
//!
//! **Partners.** A `[[partner]]` entry names mail destinations the
//! organisation agreed to (an auditor, an outsourced payroll office, a
//! freelancer's own address): while it holds, forwarding to them and
//! sharing files with them is not shadow IT, and the enrichment names the
//! partner in the event's `dest_partner` column (the forwarding rules
//! skip such events). A partner's `domains` cannot be a free-mail or
//! disposable provider (that would agree to every Gmail user; list the
//! person's `addresses` instead) nor one of the organisation's own; these
//! are checked when the enrichments load, against the mail lists. After its
//! `expires` date the entry no longer applies and the findings start again.
//!
//! [`AppCatalog::with_overlay`] applies an [`Overlay`] and returns the
//! effective catalog: `App::status` is the effective status, and
//! `status_reason`, `owner` and `expires` say why and until when.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::catalog::{App, AppCatalog, AppStatus, Category};
use crate::date::Date;
use crate::directory::{Directory, DirectoryEntry};
use crate::email::split_address;
use crate::error::EnrichmentError;

/// `[[app]]`: the stance on one catalog app. Serialises like the TOML entry
/// (absent keys left out): the shape of the audit log's `before`/`after`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppRule {
    /// Catalog app id.
    pub id: String,
    /// The organisation's status.
    pub status: AppStatus,
    /// Why (required: comply or explain).
    pub reason: String,
    /// Who answers for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Last day it holds; afterwards the app is unsanctioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Date>,
    /// The sanctioned app to offer instead (replaces the catalog's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative: Option<String>,
}

/// `[[category]]`: the stance on every app of a category without an `[[app]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// The category.
    pub category: Category,
    /// The organisation's status.
    pub status: AppStatus,
    /// Why (required).
    pub reason: String,
    /// Who answers for it.
    #[serde(default)]
    pub owner: Option<String>,
    /// Last day it holds.
    #[serde(default)]
    pub expires: Option<Date>,
    /// The sanctioned app to offer instead.
    #[serde(default)]
    pub alternative: Option<String>,
}

/// `[[sanctioned]]`: an app of the organisation's own, not in the catalog.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnApp {
    /// Id (lower-case letters, digits, `-`), distinct from catalog ids.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Who runs it (default: `the organisation`).
    #[serde(default)]
    pub vendor: Option<String>,
    /// Domain suffixes.
    pub domains: Vec<String>,
    /// OAuth client ids.
    #[serde(default)]
    pub client_ids: Vec<String>,
    /// OAuth app names.
    #[serde(default)]
    pub oauth_names: Vec<String>,
    /// Category.
    pub category: Category,
    /// Who answers for it.
    #[serde(default)]
    pub owner: Option<String>,
    /// Free text.
    #[serde(default)]
    pub notes: Option<String>,
}

/// `[[exception]]`: an app tolerated for some people (or departments) until
/// a date — typically an employee's explanation that IT accepted.
/// Serialises like the TOML entry (the audit log's `exception`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRule {
    /// Catalog app id.
    pub app: String,
    /// People it covers: directory user names, e-mail addresses or aliases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Departments it covers (the directory's `department`, any case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub departments: Vec<String>,
    /// Why (required: comply or explain).
    pub reason: String,
    /// Who answers for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Last day it holds (required).
    pub expires: Date,
    /// Where the request came from (`nudge <id>`, a ticket number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl ExceptionRule {
    /// The scope this exception covers `user` with, if it does: `user:<name
    /// as listed>` or `department:<name as listed>`. `entry` is the person's
    /// directory entry (when known); a listed user matches when it is the
    /// same directory person, or the same name ignoring case.
    pub fn covers(&self, user: &str, entry: Option<&DirectoryEntry>, directory: &Directory) -> Option<String> {
        let user = user.trim();
        for listed in &self.users {
            let same_name = listed.trim().eq_ignore_ascii_case(user);
            // One person under another alias (`CORP\\ana` for `ana@corp.example.com`).
            let same_person = || match (directory.person(listed), entry) {
                (Some((id, _)), Some(e)) => id == e.id,
                (Some((id, _)), None) => directory.person(user).is_some_and(|(u, _)| u == id),
                (None, _) => false,
            };
            if same_name || same_person() {
                return Some(format!("user:{listed}"));
            }
        }
        let department = entry.and_then(|e| e.department.as_deref())?;
        self.departments
            .iter()
            .find(|d| d.trim().eq_ignore_ascii_case(department.trim()))
            .map(|d| format!("department:{d}"))
    }

    /// Whether the exception still holds on `today` (its expiry is the last day).
    pub fn holds_on(&self, today: Date) -> bool {
        today <= self.expires
    }
}

/// `[[partner]]`: mail destinations the organisation agreed to, until a
/// date. Serialises like the TOML entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerRule {
    /// Who the partner is (shown in `dest_partner`).
    pub name: String,
    /// Whole domains (a subdomain of one counts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// Single addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// Why (required: comply or explain).
    pub reason: String,
    /// Who answers for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Last day it holds (required).
    pub expires: Date,
}

impl PartnerRule {
    /// Whether the agreement still holds on `today` (its expiry is the last day).
    pub fn holds_on(&self, today: Date) -> bool {
        today <= self.expires
    }

    /// `domains` and `addresses` (`local@domain`) as compared: lower case,
    /// internationalised domains in punycode; the first one that is not a
    /// domain name or an address is the error.
    pub fn normalised(&self) -> Result<(Vec<String>, Vec<String>), String> {
        let domains = self
            .domains
            .iter()
            .map(|d| {
                split_address(&format!("x@{d}"))
                    .map(|(_, domain)| domain)
                    .ok_or_else(|| format!("domains: `{d}` is not a domain name"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let addresses = self
            .addresses
            .iter()
            .map(|a| {
                split_address(a)
                    .map(|(local, domain)| format!("{local}@{domain}"))
                    .ok_or_else(|| format!("addresses: `{a}` is not an e-mail address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((domains, addresses))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverlayFile {
    #[serde(default)]
    app: Vec<AppRule>,
    #[serde(default)]
    category: Vec<CategoryRule>,
    #[serde(default)]
    sanctioned: Vec<OwnApp>,
    #[serde(default)]
    exception: Vec<ExceptionRule>,
    #[serde(default)]
    partner: Vec<PartnerRule>,
}

/// A parsed overlay file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlay {
    /// File name, for errors.
    pub origin: String,
    /// `[[app]]` entries.
    pub apps: Vec<AppRule>,
    /// `[[category]]` entries.
    pub categories: Vec<CategoryRule>,
    /// `[[sanctioned]]` entries.
    pub sanctioned: Vec<OwnApp>,
    /// `[[exception]]` entries (expired ones included).
    pub exceptions: Vec<ExceptionRule>,
    /// `[[partner]]` entries (expired ones included).
    pub partners: Vec<PartnerRule>,
}

fn err(origin: &str, message: String) -> EnrichmentError {
    EnrichmentError::Overlay { origin: origin.to_string(), message }
}

impl Overlay {
    /// Parse an overlay; checks syntax, fields, duplicates and reasons.
    /// Catalog references are checked by [`AppCatalog::with_overlay`].
    pub fn from_toml(text: &str, origin: &str) -> Result<Overlay, EnrichmentError> {
        let file: OverlayFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1).unwrap_or(1);
            err(origin, format!("line {line}: {}", e.message()))
        })?;
        let mut seen = HashSet::new();
        for r in &file.app {
            if !seen.insert(r.id.as_str()) {
                return Err(err(origin, format!("[[app]] `{}`: listed twice", r.id)));
            }
            if r.reason.trim().is_empty() {
                return Err(err(origin, format!("[[app]] `{}`: `reason` must say why", r.id)));
            }
        }
        let mut seen = HashSet::new();
        for r in &file.category {
            if !seen.insert(r.category) {
                return Err(err(origin, format!("[[category]] `{}`: listed twice", r.category)));
            }
            if r.reason.trim().is_empty() {
                return Err(err(origin, format!("[[category]] `{}`: `reason` must say why", r.category)));
            }
        }
        let mut seen = HashSet::new();
        for s in &file.sanctioned {
            if !seen.insert(s.id.as_str()) {
                return Err(err(origin, format!("[[sanctioned]] `{}`: listed twice", s.id)));
            }
        }
        for (i, x) in file.exception.iter().enumerate() {
            let entry = format!("[[exception]] #{} (`{}`)", i + 1, x.app);
            if x.reason.trim().is_empty() {
                return Err(err(origin, format!("{entry}: `reason` must say why")));
            }
            if x.users.is_empty() && x.departments.is_empty() {
                return Err(err(
                    origin,
                    format!(
                        "{entry}: name the people it covers in `users` or `departments` (an exception for \
                         everyone is an [[app]] entry with status = \"monitored\")"
                    ),
                ));
            }
            if x.users.iter().chain(&x.departments).any(|v| v.trim().is_empty()) {
                return Err(err(origin, format!("{entry}: `users` and `departments` must not contain empty names")));
            }
        }
        let mut seen = HashSet::new();
        for (i, p) in file.partner.iter().enumerate() {
            let entry = format!("[[partner]] #{} (`{}`)", i + 1, p.name);
            if p.name.trim().is_empty() {
                return Err(err(origin, format!("[[partner]] #{}: `name` must say who the partner is", i + 1)));
            }
            if !seen.insert(p.name.trim().to_lowercase()) {
                return Err(err(origin, format!("{entry}: listed twice")));
            }
            if p.reason.trim().is_empty() {
                return Err(err(origin, format!("{entry}: `reason` must say why")));
            }
            if p.domains.is_empty() && p.addresses.is_empty() {
                return Err(err(origin, format!("{entry}: name its `domains` or `addresses`")));
            }
            p.normalised().map_err(|e| err(origin, format!("{entry}: {e}")))?;
        }
        Ok(Overlay {
            origin: origin.to_string(),
            apps: file.app,
            categories: file.category,
            sanctioned: file.sanctioned,
            exceptions: file.exception,
            partners: file.partner,
        })
    }
}

/// Status, reason, owner, expiry and alternative decided by one rule.
struct Decision<'a> {
    status: AppStatus,
    reason: String,
    owner: Option<&'a str>,
    expires: Option<Date>,
    alternative: Option<&'a str>,
}

fn decide<'a>(
    status: AppStatus,
    reason: String,
    owner: &'a Option<String>,
    expires: Option<Date>,
    alternative: &'a Option<String>,
    today: Date,
) -> Decision<'a> {
    let lapsed = expires.is_some_and(|e| today > e);
    Decision {
        status: if lapsed { AppStatus::Unsanctioned } else { status },
        reason: match expires {
            Some(e) if lapsed => format!("exception expired {e}"),
            _ => reason,
        },
        owner: owner.as_deref(),
        expires,
        alternative: alternative.as_deref(),
    }
}

impl AppCatalog {
    /// The effective catalog: `overlay` applied to this one as of `today`
    /// (UTC date; inject it in tests, [`Date::today_utc`] in service).
    pub fn with_overlay(&self, overlay: &Overlay, today: Date) -> Result<AppCatalog, EnrichmentError> {
        let origin = overlay.origin.as_str();
        for r in &overlay.apps {
            if self.get(&r.id).is_none() {
                let hint = if overlay.sanctioned.iter().any(|s| s.id == r.id) {
                    " (it is one of the overlay's own [[sanctioned]] apps)"
                } else {
                    ""
                };
                return Err(err(origin, format!("[[app]] `{}`: id: no such app in the catalog{hint}", r.id)));
            }
        }
        for s in &overlay.sanctioned {
            if let Some(a) = self.get(&s.id) {
                return Err(err(
                    origin,
                    format!(
                        "[[sanctioned]] `{}`: id: the catalog already has `{}` ({}); sanction it with an [[app]] entry",
                        s.id, a.id, a.name
                    ),
                ));
            }
        }
        let mut apps: Vec<App> = self.apps.clone();
        for a in &mut apps {
            let category_rule = overlay.categories.iter().find(|c| c.category == a.category);
            let decision = match overlay.apps.iter().find(|r| r.id == a.id) {
                Some(r) => {
                    // An app entry without its own alternative takes its category's.
                    let alternative = if r.alternative.is_some() {
                        &r.alternative
                    } else {
                        category_rule.map_or(&r.alternative, |c| &c.alternative)
                    };
                    Some(decide(r.status, r.reason.clone(), &r.owner, r.expires, alternative, today))
                }
                // Category entries leave the catalog's sanctioned apps alone
                // (name one in [[app]] to change it).
                None if a.status == AppStatus::Sanctioned => None,
                None => category_rule.map(|c| {
                    let reason = format!("category {}: {}", c.category, c.reason);
                    decide(c.status, reason, &c.owner, c.expires, &c.alternative, today)
                }),
            };
            if let Some(d) = decision {
                a.status = d.status;
                a.status_reason = Some(d.reason);
                a.owner = d.owner.map(str::to_string);
                a.expires = d.expires;
                if let Some(alt) = d.alternative {
                    a.alternative = Some(alt.to_string());
                }
            }
        }
        for s in &overlay.sanctioned {
            apps.push(App {
                id: s.id.clone(),
                name: s.name.clone(),
                vendor: s.vendor.clone().unwrap_or_else(|| "the organisation".to_string()),
                domains: s.domains.clone(),
                client_ids: s.client_ids.clone(),
                oauth_names: s.oauth_names.clone(),
                category: s.category,
                risk: 0,
                risk_factors: Vec::new(),
                status: AppStatus::Sanctioned,
                alternative: None,
                notes: s.notes.clone(),
                sources: vec![format!("overlay:{origin}")],
                status_reason: Some("the organisation's own app".to_string()),
                owner: s.owner.clone(),
                expires: None,
            });
        }
        // Alternatives named by the overlay must be sanctioned; catalog ones
        // that are no longer sanctioned are dropped; sanctioned apps have none.
        let sanctioned: HashSet<String> =
            apps.iter().filter(|a| a.status == AppStatus::Sanctioned).map(|a| a.id.clone()).collect();
        let known: HashSet<String> = apps.iter().map(|a| a.id.clone()).collect();
        let check_alt = |entry: String, alt: &str| -> Result<(), EnrichmentError> {
            if !known.contains(alt) {
                Err(err(origin, format!("{entry}: alternative: `{alt}` is not an app in the catalog or the overlay")))
            } else if !sanctioned.contains(alt) {
                Err(err(origin, format!("{entry}: alternative: `{alt}` is not sanctioned (after this overlay)")))
            } else {
                Ok(())
            }
        };
        for r in &overlay.apps {
            if let Some(alt) = &r.alternative {
                check_alt(format!("[[app]] `{}`", r.id), alt)?;
            }
        }
        for c in &overlay.categories {
            if let Some(alt) = &c.alternative {
                check_alt(format!("[[category]] `{}`", c.category), alt)?;
            }
        }
        for a in &mut apps {
            if a.status == AppStatus::Sanctioned
                || a.alternative.as_ref().is_some_and(|alt| !sanctioned.contains(alt) || *alt == a.id)
            {
                a.alternative = None;
            }
        }
        for (i, x) in overlay.exceptions.iter().enumerate() {
            let entry = format!("[[exception]] #{} (`{}`)", i + 1, x.app);
            match apps.iter().find(|a| a.id == x.app) {
                None => return Err(err(origin, format!("{entry}: app: no such app in the catalog or the overlay"))),
                Some(a) if a.status == AppStatus::Sanctioned => {
                    return Err(err(origin, format!("{entry}: app: `{}` is sanctioned; it needs no exception", a.id)))
                }
                Some(_) => {}
            }
        }
        let mut catalog = AppCatalog::from_apps(apps).map_err(|m| {
            let entry = overlay
                .sanctioned
                .iter()
                .find(|s| m.starts_with(&format!("app `{}`", s.id)))
                .map(|s| format!("[[sanctioned]] `{}`: ", s.id))
                .unwrap_or_default();
            err(origin, format!("{entry}{m}"))
        })?;
        for x in overlay.exceptions.iter().filter(|x| x.holds_on(today)) {
            catalog.exceptions.entry(x.app.clone()).or_default().push(x.clone());
        }
        Ok(catalog)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn apply(text: &str, today: &str) -> Result<AppCatalog, EnrichmentError> {
        let o = Overlay::from_toml(text, "ops/overlay.toml")?;
        AppCatalog::embedded().with_overlay(&o, day(today))
    }

    const DROPBOX: &str = r#"
[[app]]
id = "dropbox"
status = "monitored"
reason = "Finance shares statements with the auditor"
owner = "it-finance@corp.example.com"
expires = "2027-03-31"
"#;

    #[test]
    fn an_exception_holds_until_its_expiry_date_then_lapses() {
        let before = apply(DROPBOX, "2026-06-01").unwrap();
        let d = before.get("dropbox").unwrap();
        assert_eq!(d.status, AppStatus::Monitored);
        assert_eq!(d.status_reason.as_deref(), Some("Finance shares statements with the auditor"));
        assert_eq!(d.owner.as_deref(), Some("it-finance@corp.example.com"));
        assert_eq!(d.expires, Some(day("2027-03-31")));
        assert_eq!(d.alternative.as_deref(), Some("microsoft-onedrive"), "catalog alternative kept");
        let last_day = apply(DROPBOX, "2027-03-31").unwrap();
        assert_eq!(last_day.get("dropbox").unwrap().status, AppStatus::Monitored, "expires is the last valid day");
        let after = apply(DROPBOX, "2027-04-01").unwrap();
        let d = after.get("dropbox").unwrap();
        assert_eq!(d.status, AppStatus::Unsanctioned);
        assert_eq!(d.status_reason.as_deref(), Some("exception expired 2027-03-31"));
        assert_eq!(d.owner.as_deref(), Some("it-finance@corp.example.com"), "who to ask is kept");
        // Lookups see the effective status; other apps are untouched.
        assert_eq!(after.lookup_domain("www.dropbox.com").unwrap().status, AppStatus::Unsanctioned);
        let box_app = after.get("box").unwrap();
        assert_eq!((box_app.status, box_app.status_reason.as_deref()), (AppStatus::Unsanctioned, None));
        assert_eq!(after.len(), AppCatalog::embedded().len());
    }

    const POLICY: &str = r#"
[[app]]
id = "perplexity"
status = "monitored"
reason = "Research team pilot"
owner = "research-lead@corp.example.com"

[[category]]
category = "genai"
status = "unsanctioned"
alternative = "corp-assistant"
reason = "Only the in-house assistant"

[[category]]
category = "cloud_storage"
status = "monitored"
reason = "Tolerated while the migration runs"
expires = "2026-12-31"

[[sanctioned]]
id = "corp-assistant"
name = "Corp Assistant"
domains = ["assistant.corp.example.com"]
client_ids = ["11111111-2222-3333-4444-555555555555"]
oauth_names = ["Corp AI"]
category = "genai"
owner = "ai-platform@corp.example.com"
"#;

    #[test]
    fn app_entries_beat_category_entries_beat_the_catalog() {
        let c = apply(POLICY, "2026-06-01").unwrap();
        let p = c.get("perplexity").unwrap();
        assert_eq!((p.status, p.status_reason.as_deref()), (AppStatus::Monitored, Some("Research team pilot")));
        assert_eq!(
            p.alternative.as_deref(),
            Some("corp-assistant"),
            "app entry falls back to its category's alternative"
        );
        let chatgpt = c.lookup_domain("chatgpt.com").unwrap();
        assert_eq!(chatgpt.status, AppStatus::Unsanctioned);
        assert_eq!(chatgpt.status_reason.as_deref(), Some("category genai: Only the in-house assistant"));
        assert_eq!(chatgpt.alternative.as_deref(), Some("corp-assistant"));
        // The catalog's sanctioned genai apps are left alone by the category entry.
        let copilot = c.get("microsoft-copilot").unwrap();
        assert_eq!((copilot.status, copilot.status_reason.as_deref()), (AppStatus::Sanctioned, None));
        // Monitored category: still tolerated, alternatives stay.
        let dropbox = c.get("dropbox").unwrap();
        assert_eq!(dropbox.status, AppStatus::Monitored);
        assert_eq!(dropbox.expires, Some(day("2026-12-31")));
        assert_eq!(dropbox.alternative.as_deref(), Some("microsoft-onedrive"));
        // The organisation's own app is a first-class, sanctioned app.
        let own = c.lookup_domain("https://assistant.corp.example.com/chat").unwrap();
        assert_eq!(
            (own.id.as_str(), own.status, own.vendor.as_str()),
            ("corp-assistant", AppStatus::Sanctioned, "the organisation")
        );
        assert_eq!(own.owner.as_deref(), Some("ai-platform@corp.example.com"));
        assert_eq!(own.alternative, None);
        assert_eq!(c.lookup_client_id("11111111-2222-3333-4444-555555555555").unwrap().id, "corp-assistant");
        assert_eq!(c.lookup_oauth_name("corp ai").unwrap().id, "corp-assistant");
        assert!(c.lookup_domain("www.corp.example.com").is_none());
        // The category exception lapses as a whole.
        let later = apply(POLICY, "2027-01-01").unwrap();
        let dropbox = later.get("dropbox").unwrap();
        assert_eq!(
            (dropbox.status, dropbox.status_reason.as_deref()),
            (AppStatus::Unsanctioned, Some("exception expired 2026-12-31"))
        );
    }

    #[test]
    fn sanctioning_and_unsanctioning_adjusts_alternatives() {
        let text = r#"
[[app]]
id = "dropbox"
status = "sanctioned"
reason = "Chosen for the design studio"

[[app]]
id = "microsoft-onedrive"
status = "unsanctioned"
reason = "Storage moved to Dropbox"

[[category]]
category = "cloud_storage"
status = "unsanctioned"
alternative = "dropbox"
reason = "Dropbox is the company store"
"#;
        let c = apply(text, "2026-06-01").unwrap();
        assert_eq!(c.get("dropbox").unwrap().alternative, None, "a sanctioned app has no alternative");
        assert_eq!(c.get("box").unwrap().alternative.as_deref(), Some("dropbox"));
        assert_eq!(c.get("microsoft-onedrive").unwrap().alternative.as_deref(), Some("dropbox"));
        // Catalog alternatives pointing at the now-unsanctioned OneDrive are dropped.
        let wt = c.get("wetransfer").unwrap();
        assert_eq!(wt.status, AppStatus::Unsanctioned);
        assert_eq!(wt.alternative, None);
    }

    fn err(text: &str) -> String {
        apply(text, "2026-06-01").unwrap_err().to_string()
    }

    #[test]
    fn mistakes_name_the_file_the_entry_and_the_setting() {
        let e = err(&DROPBOX.replace("\"dropbox\"", "\"dropbx\""));
        assert_eq!(e, "enrichments.overlay: `ops/overlay.toml`: [[app]] `dropbx`: id: no such app in the catalog");
        let e = err(&DROPBOX.replace("owner =", "onwer ="));
        assert!(e.starts_with("enrichments.overlay: `ops/overlay.toml`: line 6:") && e.contains("onwer"), "{e}");
        let e = err(&DROPBOX.replace("\"monitored\"", "\"tolerated\""));
        assert!(e.contains("line 4") && e.contains("tolerated"), "{e}");
        let e = err(&DROPBOX.replace("\"2027-03-31\"", "\"31/03/2027\""));
        assert!(e.contains("line 7") && e.contains("not a date"), "{e}");
        let e = err("[[category]]\ncategory = \"gen_ai\"\nstatus = \"unsanctioned\"\nreason = \"x\"\n");
        assert!(e.contains("line 2") && e.contains("gen_ai"), "{e}");
        let e = err(&DROPBOX.replace("reason = \"Finance shares statements with the auditor\"", "reason = \" \""));
        assert!(e.contains("[[app]] `dropbox`: `reason` must say why"), "{e}");
        let e = err(&format!("{DROPBOX}{DROPBOX}"));
        assert!(e.contains("[[app]] `dropbox`: listed twice"), "{e}");
        let e = err(&format!("{DROPBOX}alternative = \"box\"\n"));
        assert!(e.contains("[[app]] `dropbox`: alternative: `box` is not sanctioned"), "{e}");
        let e = err(&format!("{DROPBOX}alternative = \"nope\"\n"));
        assert!(
            e.contains("[[app]] `dropbox`: alternative: `nope` is not an app in the catalog or the overlay"),
            "{e}"
        );
        let e = err("[[category]]\ncategory = \"paste\"\nstatus = \"unsanctioned\"\nreason = \"x\"\nalternative = \"pastebin\"\n");
        assert!(e.contains("[[category]] `paste`: alternative: `pastebin` is not sanctioned"), "{e}");
        let own = "[[sanctioned]]\nid = \"dropbox\"\nname = \"Our Dropbox\"\ndomains = [\"files.corp.example.com\"]\ncategory = \"cloud_storage\"\n";
        let e = err(own);
        assert!(e.contains("[[sanctioned]] `dropbox`: id: the catalog already has `dropbox`"), "{e}");
        let e = err(&own.replace("\"dropbox\"", "\"corp-files\"").replace("files.corp.example.com", "dropbox.com"));
        assert!(e.contains("[[sanctioned]] `corp-files`: app `corp-files`: domain `dropbox.com` is already listed by app `dropbox`"), "{e}");
        let e = err(&own.replace("\"dropbox\"", "\"Corp Files\""));
        assert!(e.contains("[[sanctioned]] `Corp Files`") && e.contains("id must be lower-case"), "{e}");
        let e = err(&format!(
            "{}\n[[app]]\nid = \"corp-files\"\nstatus = \"monitored\"\nreason = \"x\"\n",
            own.replace("\"dropbox\"", "\"corp-files\"")
        ));
        assert!(e.contains("[[app]] `corp-files`: id: no such app in the catalog (it is one of the overlay's own [[sanctioned]] apps)"), "{e}");
        assert!(err("[[apps]]\nid = \"x\"\n").contains("apps"), "unknown table");
    }

    #[test]
    fn an_empty_overlay_changes_nothing() {
        let c = apply("# nothing yet\n", "2026-06-01").unwrap();
        let base = AppCatalog::embedded();
        assert_eq!(c.len(), base.len());
        assert!(c.iter().zip(base.iter()).all(|(a, b)| a == b));
    }

    const EXCEPTIONS: &str = r#"
[[exception]]
app = "smallpdf"
users = ["ana@corp.example.com", "CORP\\joost"]
reason = "Scanned contracts until the Acrobat licence arrives"
owner = "it-service@corp.example.com"
expires = "2027-01-31"
source = "nudge 3f9c"

[[exception]]
app = "wetransfer"
departments = ["Marketing"]
reason = "Agency uploads"
expires = "2026-12-31"
"#;

    fn directory() -> Directory {
        let csv = "user,email,display_name,department\nana,ana@corp.example.com,Ana Pereira,Legal\n\
                   joost,joost@corp.example.com,Joost de Vries,Finance\nmia,mia@corp.example.com,Mia,Marketing\n";
        Directory::from_csv(csv, "enrichments.directory", "people.csv").unwrap()
    }

    #[test]
    fn scoped_exceptions_cover_their_people_until_they_expire() {
        let dir = directory();
        let c = apply(EXCEPTIONS, "2026-12-01").unwrap();
        assert!(c.has_exceptions());
        let smallpdf = c.exceptions_for("smallpdf");
        assert_eq!(smallpdf.len(), 1);
        let x = &smallpdf[0];
        assert_eq!(x.source.as_deref(), Some("nudge 3f9c"));
        // The app itself stays unsanctioned for everyone else.
        assert_eq!(c.get("smallpdf").unwrap().status, AppStatus::Unsanctioned);
        assert!(!c.get("smallpdf").unwrap().excepted_for_everyone());
        // By e-mail, by DOMAIN\user, by any alias of the same directory person, any case.
        let ana = dir.lookup("ana");
        assert_eq!(x.covers("ANA@corp.example.com", ana, &dir).as_deref(), Some("user:ana@corp.example.com"));
        assert_eq!(x.covers("CORP\\ana", ana, &dir).as_deref(), Some("user:ana@corp.example.com"));
        let joost = dir.lookup("joost@corp.example.com");
        assert_eq!(x.covers("joost@corp.example.com", joost, &dir).as_deref(), Some("user:CORP\\joost"));
        // A colleague is not covered; neither is an unknown user.
        assert_eq!(x.covers("mia", dir.lookup("mia"), &dir), None);
        assert_eq!(x.covers("someone", None, &dir), None);
        // Departments come from the directory.
        let wt = &c.exceptions_for("wetransfer")[0];
        assert_eq!(wt.covers("mia", dir.lookup("mia"), &dir).as_deref(), Some("department:Marketing"));
        assert_eq!(wt.covers("ana", dir.lookup("ana"), &dir), None);
        assert_eq!(wt.covers("mia", None, &dir), None, "no directory entry, no department");
        // Expired exceptions are not in force (the overlay keeps them).
        let later = apply(EXCEPTIONS, "2027-01-01").unwrap();
        assert!(later.exceptions_for("wetransfer").is_empty());
        assert_eq!(later.exceptions_for("smallpdf").len(), 1);
        let after = apply(EXCEPTIONS, "2027-02-01").unwrap();
        assert!(!after.has_exceptions());
        assert_eq!(Overlay::from_toml(EXCEPTIONS, "o.toml").unwrap().exceptions.len(), 2);
    }

    #[test]
    fn overlay_monitored_entries_are_exceptions_for_everyone_catalog_defaults_are_not() {
        let c = apply(DROPBOX, "2026-06-01").unwrap();
        assert!(c.get("dropbox").unwrap().excepted_for_everyone());
        let expired = apply(DROPBOX, "2027-06-01").unwrap();
        assert!(!expired.get("dropbox").unwrap().excepted_for_everyone());
        let catalog = AppCatalog::embedded();
        let default_monitored = catalog.iter().find(|a| a.status == AppStatus::Monitored).unwrap();
        assert!(!default_monitored.excepted_for_everyone(), "{}", default_monitored.id);
    }

    #[test]
    fn broken_exceptions_name_the_entry() {
        let one = "[[exception]]\napp = \"smallpdf\"\nusers = [\"ana\"]\nreason = \"r\"\nexpires = \"2027-01-31\"\n";
        assert!(apply(one, "2026-06-01").is_ok());
        let e = err(&one.replace("users = [\"ana\"]\n", ""));
        assert!(e.contains("[[exception]] #1 (`smallpdf`): name the people it covers"), "{e}");
        let e = err(&one.replace("expires = \"2027-01-31\"\n", ""));
        assert!(e.contains("expires"), "{e}");
        let e = err(&one.replace("reason = \"r\"", "reason = \"\""));
        assert!(e.contains("`reason` must say why"), "{e}");
        let e = err(&one.replace("[\"ana\"]", "[\" \"]"));
        assert!(e.contains("must not contain empty names"), "{e}");
        let e = err(&one.replace("smallpdf", "no-such-app"));
        assert!(e.contains("[[exception]] #1 (`no-such-app`): app: no such app"), "{e}");
        let e = err(&one.replace("smallpdf", "microsoft-onedrive"));
        assert!(e.contains("is sanctioned; it needs no exception"), "{e}");
        let e = err(&one.replace("users", "people"));
        assert!(e.contains("people"), "{e}");
    }

    const PARTNER: &str = "[[partner]]\nname = \"Auditor\"\ndomains = [\"Audit.Example.NL\"]\n\
                           addresses = [\"Jan <J.deVries@Gmail.com>\"]\nreason = \"Statutory audit\"\n\
                           expires = \"2027-06-30\"\n";

    #[test]
    fn partners_parse_with_normalised_domains_and_addresses() {
        let o = Overlay::from_toml(PARTNER, "o.toml").unwrap();
        assert_eq!(o.partners.len(), 1);
        let p = &o.partners[0];
        assert_eq!(p.name, "Auditor");
        assert_eq!(
            p.normalised().unwrap(),
            (vec!["audit.example.nl".to_string()], vec!["j.devries@gmail.com".to_string()])
        );
        assert!(p.holds_on(day("2027-06-30")) && !p.holds_on(day("2027-07-01")));
        // A partner does not touch the catalog.
        assert_eq!(apply(PARTNER, "2026-06-01").unwrap().apps.len(), AppCatalog::embedded().apps.len());
    }

    #[test]
    fn broken_partners_name_the_entry() {
        let e = err(&PARTNER.replace("reason = \"Statutory audit\"", "reason = \" \""));
        assert!(e.contains("[[partner]] #1 (`Auditor`): `reason` must say why"), "{e}");
        let e = err(&PARTNER.replace("name = \"Auditor\"", "name = \"\""));
        assert!(e.contains("[[partner]] #1: `name` must say who the partner is"), "{e}");
        let none = PARTNER
            .replace("domains = [\"Audit.Example.NL\"]\n", "")
            .replace("addresses = [\"Jan <J.deVries@Gmail.com>\"]\n", "");
        let e = err(&none);
        assert!(e.contains("[[partner]] #1 (`Auditor`): name its `domains` or `addresses`"), "{e}");
        let e = err(&PARTNER.replace("Audit.Example.NL", "not a domain"));
        assert!(e.contains("domains: `not a domain` is not a domain name"), "{e}");
        let e = err(&PARTNER.replace("Jan <J.deVries@Gmail.com>", "jan at gmail"));
        assert!(e.contains("addresses: `jan at gmail` is not an e-mail address"), "{e}");
        let e = err(&PARTNER.replace("expires = \"2027-06-30\"\n", ""));
        assert!(e.contains("expires"), "{e}");
        let e = err(&format!("{PARTNER}\n{}", PARTNER.replace("Auditor", "auditor")));
        assert!(e.contains("[[partner]] #2 (`auditor`): listed twice"), "{e}");
    }
}
