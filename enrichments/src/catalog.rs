//! The SaaS app catalog: which app a domain or OAuth client id belongs to,
//! what kind of app it is, how risky, whether the organisation sanctions it,
//! and which sanctioned app does the same job.
//!
//! The catalog is a TOML file of `[[app]]` tables (`enrichments/data/catalog.toml`
//! is the bundled one; see `enrichments/data/README.md`). Domain matching is
//! by whole-label suffix, longest first: `eu.files.wetransfer.com` matches an
//! app listing `wetransfer.com`; `notwetransfer.com` does not, and an app
//! listing `files.example.com` beats one listing `example.com`.
//!
//! Lookup is one hash probe per label suffix of the host, longest first (a
//! handful of probes; no allocation beyond normalising the host).
//!
//! The public suffix list (`psl` crate) guards the catalog on load: a domain
//! that is itself an ICANN public suffix (`com`, `co.uk`) is rejected because
//! it would match a whole TLD. Vendor-owned *private* suffixes
//! (`ngrok-free.app`, `github.io`) are allowed and match their subdomains:
//! tunnels and pages under them are the vendor's service. (Bounding the walk
//! at the registrable domain would miss exactly those, e.g.
//! `abcd.ngrok-free.app`.)

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::EnrichmentError;

/// App categories (one taxonomy, documented in `docs/enrichment.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Send-a-file services (WeTransfer, Send Anywhere).
    FileSharing,
    /// Sync-and-share storage (Dropbox, Box, Google Drive, OneDrive).
    CloudStorage,
    /// Generative AI assistants and APIs (`genai`).
    #[serde(rename = "genai")]
    GenAi,
    /// Chat and messaging (WhatsApp Web, Telegram).
    Messaging,
    /// Online PDF / document converters.
    FileConversion,
    /// Meeting and audio transcription.
    Transcription,
    /// Paste sites.
    Paste,
    /// Clipboard sync between devices.
    ClipboardSync,
    /// Remote desktop and support tools.
    RemoteAccess,
    /// Consumer VPNs, proxies and tunnels.
    VpnProxy,
    /// Whiteboards, wikis, project tools.
    Collaboration,
    /// Code hosting and developer tools.
    DevTools,
    /// Customer relationship management.
    Crm,
    /// Web mail.
    Email,
    /// Social networks.
    Social,
    /// Payments and finance.
    Finance,
    /// Cloud infrastructure and hosting.
    CloudInfrastructure,
    /// Office suites and productivity.
    Productivity,
    /// Video meetings.
    VideoConferencing,
    /// Identity providers.
    Identity,
    /// Design tools.
    Design,
}

impl Category {
    /// The snake_case name used in columns and rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::FileSharing => "file_sharing",
            Category::CloudStorage => "cloud_storage",
            Category::GenAi => "genai",
            Category::Messaging => "messaging",
            Category::FileConversion => "file_conversion",
            Category::Transcription => "transcription",
            Category::Paste => "paste",
            Category::ClipboardSync => "clipboard_sync",
            Category::RemoteAccess => "remote_access",
            Category::VpnProxy => "vpn_proxy",
            Category::Collaboration => "collaboration",
            Category::DevTools => "dev_tools",
            Category::Crm => "crm",
            Category::Email => "email",
            Category::Social => "social",
            Category::Finance => "finance",
            Category::CloudInfrastructure => "cloud_infrastructure",
            Category::Productivity => "productivity",
            Category::VideoConferencing => "video_conferencing",
            Category::Identity => "identity",
            Category::Design => "design",
        }
    }
}

/// The organisation's stance on an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppStatus {
    /// Approved and managed by IT.
    Sanctioned,
    /// Tolerated, watched.
    Monitored,
    /// Not approved.
    Unsanctioned,
}

impl AppStatus {
    /// The snake_case name used in columns and rules.
    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Sanctioned => "sanctioned",
            AppStatus::Monitored => "monitored",
            AppStatus::Unsanctioned => "unsanctioned",
        }
    }
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Stable id (`wetransfer`).
    pub id: String,
    /// Display name (`WeTransfer`).
    pub name: String,
    /// Company behind it.
    pub vendor: String,
    /// Domain suffixes (`wetransfer.com`, `we.tl`).
    pub domains: Vec<String>,
    /// OAuth client ids / application ids seen in consent logs.
    #[serde(default)]
    pub client_ids: Vec<String>,
    /// Category.
    pub category: Category,
    /// Risk score 0 (benign) to 10.
    pub risk: u8,
    /// Default status.
    pub status: AppStatus,
    /// Id of the sanctioned app that does the same job.
    #[serde(default)]
    pub alternative: Option<String>,
    /// Why the risk / status.
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    app: Vec<App>,
}

/// The bundled catalog text.
pub const EMBEDDED_CATALOG: &str = include_str!("../data/catalog.toml");

/// An indexed catalog.
#[derive(Debug, Clone)]
pub struct AppCatalog {
    apps: Vec<App>,
    by_id: HashMap<String, usize>,
    by_domain: HashMap<String, usize>,
    by_client_id: HashMap<String, usize>,
}

/// Normalise a host: lower case, no port, no trailing dot, no IPv6 brackets,
/// no leading `*.` wildcard.
pub fn normalize_host(host: &str) -> String {
    let h = host.trim();
    let h = if let Some(inner) = h.strip_prefix('[') {
        inner.split(']').next().unwrap_or(inner)
    } else {
        match h.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.contains(':') => name,
            _ => h,
        }
    };
    let h = h.trim_end_matches('.');
    let h = h.strip_prefix("*.").unwrap_or(h);
    h.to_ascii_lowercase()
}

/// Letters, digits, `-` and `_` in dot-separated labels; at least two labels.
fn is_domain_name(n: &str) -> bool {
    n.len() <= 253
        && n.contains('.')
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Whether `n` is itself a known ICANN public suffix (`com`, `co.uk`).
fn is_icann_suffix(n: &str) -> bool {
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
        Self::from_apps(file.app).map_err(err)
    }

    /// Index and validate a list of apps.
    pub fn from_apps(apps: Vec<App>) -> Result<AppCatalog, String> {
        let mut by_id = HashMap::new();
        let mut by_domain: HashMap<String, usize> = HashMap::new();
        let mut by_client_id = HashMap::new();
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
            for d in &a.domains {
                let n = normalize_host(d);
                if !is_domain_name(&n) {
                    return Err(format!("app `{}`: `{d}` is not a domain name", a.id));
                }
                if is_icann_suffix(&n) {
                    return Err(format!(
                        "app `{}`: `{d}` is a public suffix and would match every site under it; list the vendor's own domain",
                        a.id
                    ));
                }
                if let Some(other) = by_domain.insert(n.clone(), i) {
                    return Err(format!("app `{}`: domain `{n}` is already listed by app `{}`", a.id, apps[other].id));
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
        Ok(AppCatalog { apps, by_id, by_domain, by_client_id })
    }

    /// The bundled catalog, or why it is invalid (only possible when
    /// `data/catalog.toml` was edited; the crate's tests load it).
    pub fn try_embedded() -> Result<AppCatalog, EnrichmentError> {
        Self::from_toml(EMBEDDED_CATALOG, "embedded:catalog.toml")
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

    /// The app a host belongs to: the longest listed suffix of the host.
    ///
    /// Case-insensitive; a trailing dot, a `:port` and IPv6 brackets are
    /// ignored. Suffixes are compared on whole labels only.
    pub fn lookup_domain(&self, host: &str) -> Option<&App> {
        let h = normalize_host(host);
        if h.is_empty() || self.by_domain.is_empty() {
            return None;
        }
        // Longest first: one hash probe per label suffix (a handful at most).
        // Catalog domains have at least two labels, so stop before the TLD.
        let mut rest = h.as_str();
        loop {
            if let Some(&i) = self.by_domain.get(rest) {
                return self.apps.get(i);
            }
            match rest.split_once('.') {
                Some((_, tail)) if tail.contains('.') => rest = tail,
                _ => return None,
            }
        }
    }

    /// The app an OAuth client id belongs to.
    pub fn lookup_client_id(&self, client_id: &str) -> Option<&App> {
        self.by_client_id.get(&client_id.trim().to_ascii_lowercase()).and_then(|&i| self.apps.get(i))
    }

    /// The app with this id.
    pub fn get(&self, id: &str) -> Option<&App> {
        self.by_id.get(id).and_then(|&i| self.apps.get(i))
    }

    /// Every app.
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

    #[test]
    fn longest_suffix_wins_and_labels_must_match() {
        let c = AppCatalog::embedded();
        assert!(c.len() >= 50);
        assert_eq!(c.lookup_domain("eu.files.wetransfer.com").unwrap().id, "wetransfer");
        assert_eq!(c.lookup_domain("WE.TL.").unwrap().id, "wetransfer");
        assert_eq!(c.lookup_domain("api.openai.com:443").unwrap().id, "chatgpt");
        assert_eq!(c.lookup_domain("gemini.google.com").unwrap().id, "gemini");
        assert_eq!(c.lookup_domain("drive.google.com").unwrap().id, "google-drive");
        assert_eq!(c.lookup_domain("mail.google.com").unwrap().id, "gmail");
        assert_eq!(c.lookup_domain("contoso.sharepoint.com").unwrap().id, "microsoft-onedrive");
        assert_eq!(c.lookup_domain("https-tunnel-7f3a.ngrok-free.app").unwrap().id, "ngrok");
        assert_eq!(c.lookup_domain("copilot.microsoft.com").unwrap().id, "microsoft-copilot");
        assert_eq!(c.lookup_domain("web.whatsapp.com").unwrap().id, "whatsapp-web");
        assert_eq!(c.lookup_domain("claude.ai").unwrap().id, "claude");
        assert_eq!(c.lookup_domain("files.oaiusercontent.com").unwrap().id, "chatgpt");
        assert_eq!(c.lookup_domain("*.Dropbox.com").unwrap().id, "dropbox");
        assert!(c.lookup_domain("notwetransfer.com").is_none());
        assert!(c.lookup_domain("wetransfer.com.evil.example").is_none());
        assert!(c.lookup_domain("[2001:db8::1]:443").is_none());
        assert!(c.lookup_domain("google.com").is_none(), "only listed Google services match");
        assert!(c.lookup_domain("microsoft.com").is_none());
        assert!(c.lookup_domain("com").is_none());
        assert!(c.lookup_domain("").is_none());
        assert!(c.lookup_domain("www.example.org").is_none());
    }

    #[test]
    fn alternatives_are_sanctioned_apps() {
        let c = AppCatalog::embedded();
        let wt = c.lookup_domain("wetransfer.com").unwrap();
        assert_eq!(wt.status, AppStatus::Unsanctioned);
        let alt = c.get(wt.alternative.as_deref().unwrap()).unwrap();
        assert_eq!(alt.status, AppStatus::Sanctioned);
        assert_eq!(c.lookup_client_id("0OA8OTTER2026XYZ").unwrap().id, "otter-ai");
    }

    #[test]
    fn embedded_catalog_has_the_core_apps() {
        let c = AppCatalog::embedded();
        for (id, status) in [
            ("wetransfer", AppStatus::Unsanctioned),
            ("google-drive", AppStatus::Monitored),
            ("microsoft-copilot", AppStatus::Sanctioned),
            ("microsoft-onedrive", AppStatus::Sanctioned),
            ("microsoft-365", AppStatus::Sanctioned),
            ("gmail", AppStatus::Unsanctioned),
        ] {
            assert_eq!(c.get(id).map(|a| a.status), Some(status), "{id}");
        }
        let chatgpt = c.get("chatgpt").unwrap();
        assert_eq!(chatgpt.category, Category::GenAi);
        assert_eq!(chatgpt.category.as_str(), "genai");
        assert_eq!(chatgpt.alternative.as_deref(), Some("microsoft-copilot"));
        assert_eq!(c.get("gmail").unwrap().category.as_str(), "email");
        assert_eq!(c.get("anydesk").unwrap().category.as_str(), "remote_access");
        assert_eq!(c.iter().count(), c.len());
        assert!(!c.is_empty());
        // as_str and serde agree for every category in use.
        for a in c.iter() {
            assert_eq!(serde_json::to_value(a.category).unwrap(), a.category.as_str());
            assert_eq!(serde_json::to_value(a.status).unwrap(), a.status.as_str());
        }
    }

    #[test]
    fn client_ids_are_case_insensitive_and_exact() {
        let c = AppCatalog::embedded();
        assert_eq!(c.lookup_client_id(" 0oa8otter2026xyz ").unwrap().id, "otter-ai");
        assert_eq!(c.lookup_client_id("grammarly-oauth-client").unwrap().id, "grammarly");
        assert!(c.lookup_client_id("0oa8otter2026xy").is_none());
        assert!(c.lookup_client_id("").is_none());
    }

    #[test]
    fn invalid_catalogs_name_the_app() {
        let base = r#"[[app]]
id = "x"
name = "X"
vendor = "X"
domains = ["x.com"]
category = "paste"
risk = 3
status = "unsanctioned"
"#;
        assert!(AppCatalog::from_toml(base, "t").is_ok());
        let e = AppCatalog::from_toml(&base.replace("risk = 3", "risk = 11"), "t").unwrap_err().to_string();
        assert!(e.contains("app `x`") && e.contains("risk 11"), "{e}");
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
        let sanctioned_alt = format!(
            "{}alternative = \"y\"\n{}",
            base,
            base.replace("id = \"x\"", "id = \"y\"").replace("x.com", "y.com")
        );
        let e = AppCatalog::from_toml(&sanctioned_alt, "t").unwrap_err().to_string();
        assert!(e.contains("app `x`: alternative `y` is not sanctioned"), "{e}");
        let y_sanctioned = base
            .replace("id = \"x\"", "id = \"y\"")
            .replace("x.com", "y.com")
            .replace("\"unsanctioned\"", "\"sanctioned\"");
        let ok = AppCatalog::from_toml(&format!("{base}alternative = \"y\"\n{y_sanctioned}"), "t").unwrap();
        assert_eq!(ok.get("x").unwrap().alternative.as_deref(), Some("y"));
        let e = AppCatalog::from_toml(&base.replace("risk = 3", "risk = 3\ncolour = \"red\""), "my.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("app catalog my.toml: line") && e.contains("colour"), "{e}");
    }
}
