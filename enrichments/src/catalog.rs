//! The SaaS app catalog: which app a domain or OAuth client id belongs to,
//! what kind of app it is, how risky, whether the organisation sanctions it,
//! and which sanctioned app does the same job.
//!
//! The catalog is a TOML file of `[[app]]` tables (`enrichments/data/catalog.toml`
//! is the bundled one; see `enrichments/data/README.md`). Domain matching is
//! by label suffix, longest first: `eu.files.wetransfer.com` matches an app
//! listing `wetransfer.com`; `notwetransfer.com` does not. The registrable
//! domain (public suffix list, `psl` crate) bounds the walk, so
//! `foo.github.io` can be told apart from `github.io` pages of other owners
//! when the catalog lists the full name.

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
    /// Generative AI assistants and APIs.
    Genai,
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
            Category::Genai => "genai",
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

/// Normalise a host: lower case, no port, no trailing dot, no brackets.
pub fn normalize_host(host: &str) -> String {
    let h = host.trim().trim_end_matches('.');
    let h = h.strip_prefix("*.").unwrap_or(h);
    let h = match h.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.contains(':') => name,
        _ => h,
    };
    h.trim_matches(['[', ']']).to_ascii_lowercase()
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
            if a.domains.is_empty() && a.client_ids.is_empty() {
                return Err(format!("app `{}`: needs at least one domain or client id", a.id));
            }
            for d in &a.domains {
                let n = normalize_host(d);
                if n.is_empty() || !n.contains('.') || n.contains(['/', ' ', '@']) {
                    return Err(format!("app `{}`: `{d}` is not a domain name", a.id));
                }
                if let Some(other) = by_domain.insert(n.clone(), i) {
                    return Err(format!("app `{}`: domain `{n}` is already listed by app `{}`", a.id, apps[other].id));
                }
            }
            for c in &a.client_ids {
                by_client_id.insert(c.trim().to_ascii_lowercase(), i);
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

    /// The bundled catalog.
    pub fn embedded() -> Result<AppCatalog, EnrichmentError> {
        Self::from_toml(EMBEDDED_CATALOG, "embedded:catalog.toml")
    }

    /// The app a host belongs to: the longest listed suffix of the host.
    pub fn lookup_domain(&self, host: &str) -> Option<&App> {
        let h = normalize_host(host);
        if h.is_empty() {
            return None;
        }
        // The registrable domain bounds the search: never match a bare public suffix.
        let floor = psl::domain_str(&h).map_or(h.len(), str::len);
        let mut rest = h.as_str();
        loop {
            if let Some(&i) = self.by_domain.get(rest) {
                return self.apps.get(i);
            }
            if rest.len() <= floor {
                return None;
            }
            match rest.split_once('.') {
                Some((_, tail)) if !tail.is_empty() => rest = tail,
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
        let c = AppCatalog::embedded().unwrap();
        assert!(c.len() >= 50);
        assert_eq!(c.lookup_domain("eu.files.wetransfer.com").unwrap().id, "wetransfer");
        assert_eq!(c.lookup_domain("WE.TL.").unwrap().id, "wetransfer");
        assert_eq!(c.lookup_domain("api.openai.com:443").unwrap().id, "chatgpt");
        assert_eq!(c.lookup_domain("gemini.google.com").unwrap().id, "gemini");
        assert_eq!(c.lookup_domain("drive.google.com").unwrap().id, "google-drive");
        assert_eq!(c.lookup_domain("mail.google.com").unwrap().id, "gmail");
        assert_eq!(c.lookup_domain("contoso.sharepoint.com").unwrap().id, "microsoft-onedrive");
        assert!(c.lookup_domain("notwetransfer.com").is_none());
        assert!(c.lookup_domain("com").is_none());
        assert!(c.lookup_domain("").is_none());
        assert!(c.lookup_domain("www.example.org").is_none());
    }

    #[test]
    fn alternatives_are_sanctioned_apps() {
        let c = AppCatalog::embedded().unwrap();
        let wt = c.lookup_domain("wetransfer.com").unwrap();
        assert_eq!(wt.status, AppStatus::Unsanctioned);
        let alt = c.get(wt.alternative.as_deref().unwrap()).unwrap();
        assert_eq!(alt.status, AppStatus::Sanctioned);
        assert_eq!(c.lookup_client_id("0OA8OTTER2026XYZ").unwrap().id, "otter-ai");
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
    }
}
