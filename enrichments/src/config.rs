//! `[enrichments]` settings: where the catalog, MaxMind databases and
//! email-domain lists are, and the organisation's own networks and domains.
//!
//! ```toml
//! [enrichments]
//! catalog = "catalog.toml"                 # default: the bundled catalog
//! overlay = "overlay.toml"                 # the organisation's app stances (docs/enrichment.md)
//! corporate_cidrs = ["203.0.113.0/24"]     # offices and VPN egress
//! corporate_domains = ["example.com"]
//! personal_domains = "extra-freemail.txt"  # added to the bundled list
//! disposable_domains = "extra-disposable.txt"
//!
//! [enrichments.geoip]
//! city = "/var/lib/GeoIP/GeoIP2-City.mmdb"
//! asn = "/var/lib/GeoIP/GeoLite2-ASN.mmdb"
//! connection_type = "/var/lib/GeoIP/GeoIP2-Connection-Type.mmdb"
//! # demo = true uses the bundled MaxMind test databases instead
//! ```

use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

use crate::error::EnrichmentError;
use crate::files::{embedded_name, read_text, resolve, EMBEDDED_TEXT_FILES};
use crate::geo::{embedded_database, GeoFieldConfig, GeoIp, DEFAULT_CACHE_SIZE};
use crate::network::NetworkLists;

/// `[enrichments]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichmentConfig {
    /// App catalog TOML; the bundled catalog when absent.
    #[serde(default)]
    pub catalog: Option<PathBuf>,
    /// Organisation overlay TOML (statuses, reasons, owners, expiry, own apps).
    #[serde(default)]
    pub overlay: Option<PathBuf>,
    /// MaxMind databases.
    #[serde(default)]
    pub geoip: GeoIpConfig,
    /// The organisation's networks (offices, VPN egress): `network_type = corporate`.
    #[serde(default)]
    pub corporate_cidrs: Vec<IpNet>,
    /// The organisation's mail domains (subdomains included).
    #[serde(default)]
    pub corporate_domains: Vec<String>,
    /// Extra free-mail domains, one per line.
    #[serde(default)]
    pub personal_domains: Option<PathBuf>,
    /// Extra disposable-mail domains, one per line.
    #[serde(default)]
    pub disposable_domains: Option<PathBuf>,
    /// The organisation's VPN egress networks: also `network_type = corporate`.
    #[serde(default)]
    pub vpn_egress_cidrs: Vec<IpNet>,
    /// The organisation's network-list files, merged over the shipped
    /// `data/network/asn-lists.toml` (see [`crate::network`]).
    #[serde(default)]
    pub network_lists: Vec<PathBuf>,
    /// User directory, CSV or JSON (see [`crate::directory`]).
    #[serde(default)]
    pub directory: Option<PathBuf>,
    /// Hot reload of every file above (see [`crate::reload`]).
    #[serde(default)]
    pub reload: ReloadConfig,
}

/// `[enrichments.geoip]`: one path per MaxMind database, all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoIpConfig {
    /// GeoIP2/GeoLite2 City or Country.
    pub city: Option<PathBuf>,
    /// GeoLite2 ASN.
    pub asn: Option<PathBuf>,
    /// GeoIP2 Connection-Type.
    pub connection_type: Option<PathBuf>,
    /// GeoIP2 Enterprise.
    pub enterprise: Option<PathBuf>,
    /// GeoIP2 Anonymous-IP.
    pub anonymous_ip: Option<PathBuf>,
    /// GeoIP2 ISP.
    pub isp: Option<PathBuf>,
    /// GeoIP2 Domain (custom columns only).
    #[serde(default)]
    pub domain: Option<PathBuf>,
    /// Use the bundled MaxMind *test* databases (demo and tests only).
    #[serde(default)]
    pub demo: bool,
    /// Lookup-cache size in IPs (default 100,000; 0 disables the cache).
    #[serde(default)]
    pub cache_size: Option<usize>,
    /// Memory-map the database files (default true); `false` reads them
    /// into memory, for setups that rewrite files in place.
    #[serde(default)]
    pub mmap: Option<bool>,
    /// Custom columns: any field of a configured database.
    #[serde(default)]
    pub fields: Vec<GeoFieldConfig>,
}

/// `[enrichments.reload]`: watch the files and swap snapshots on change.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ReloadConfig {
    /// Reload on change at all (default true).
    pub enabled: bool,
    /// Use file-system notifications (inotify, ...) (default true).
    pub watch: bool,
    /// Also check sizes and modification times this often, for file systems
    /// without notifications (NFS, some volume mounts); 0 turns polling off
    /// (default 30).
    pub poll_interval_secs: u64,
    /// Wait until the files have been unchanged this long before reloading
    /// (default 500).
    pub debounce_ms: u64,
}

impl Default for ReloadConfig {
    fn default() -> Self {
        ReloadConfig { enabled: true, watch: true, poll_interval_secs: 30, debounce_ms: 500 }
    }
}

impl GeoIpConfig {
    /// (setting, path) of every configured database.
    pub fn databases(&self) -> Vec<(&'static str, &Path)> {
        [
            ("enrichments.geoip.city", &self.city),
            ("enrichments.geoip.asn", &self.asn),
            ("enrichments.geoip.connection_type", &self.connection_type),
            ("enrichments.geoip.enterprise", &self.enterprise),
            ("enrichments.geoip.anonymous_ip", &self.anonymous_ip),
            ("enrichments.geoip.isp", &self.isp),
            ("enrichments.geoip.domain", &self.domain),
        ]
        .into_iter()
        .filter_map(|(s, p)| p.as_deref().map(|p| (s, p)))
        .collect()
    }
}

/// Whether `path` (resolved) is a readable file: on disk, or bundled.
pub fn is_file(path: &Path) -> bool {
    match embedded_name(path) {
        Some(name) => EMBEDDED_TEXT_FILES.iter().any(|(n, _)| *n == name) || embedded_database(path).is_some(),
        None => path.is_file(),
    }
}

impl EnrichmentConfig {
    /// The GeoIP lookup `[enrichments]` describes: the databases (or the
    /// demo ones), the corporate and VPN egress CIDRs, the network lists, the
    /// custom columns and the cache size. Relative paths resolve against
    /// `base_dir`.
    pub fn build_geoip(&self, base_dir: &Path) -> Result<GeoIp, EnrichmentError> {
        let databases = self.geoip.databases();
        let mut geo = if self.geoip.demo {
            if let Some((setting, _)) = databases.first() {
                return Err(EnrichmentError::Config {
                    setting: "enrichments.geoip.demo",
                    message: format!("cannot be combined with `{setting}`; remove one"),
                });
            }
            GeoIp::test_databases()?
        } else {
            GeoIp::disabled()
        }
        .with_corporate_cidrs(self.corporate_cidrs.iter().copied())
        .with_vpn_egress_cidrs(self.vpn_egress_cidrs.iter().copied())
        .with_network_lists(NetworkLists::with_files(&self.network_lists, base_dir)?)
        .with_cache_size(self.geoip.cache_size.unwrap_or(DEFAULT_CACHE_SIZE));
        let mmap = self.geoip.mmap.unwrap_or(true);
        for (setting, p) in databases {
            geo.add_file_with(setting, &resolve(base_dir, p), mmap)?;
        }
        geo.with_fields(&self.geoip.fields)
    }
}

impl EnrichmentConfig {
    /// Every problem, each naming its setting. Opens the files to check them.
    pub fn validate(&self, base_dir: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        let mut exists = |setting: &str, p: &Path| {
            let full = resolve(base_dir, p);
            if !is_file(&full) {
                problems.push(format!("{setting}: file `{}` does not exist", full.display()));
                false
            } else {
                true
            }
        };
        let catalog_ok = self.catalog.as_deref().map(|p| exists("enrichments.catalog", p));
        let overlay_ok = self.overlay.as_deref().map(|p| exists("enrichments.overlay", p));
        let dbs: Vec<_> = self.geoip.databases().into_iter().map(|(s, p)| (s, p, exists(s, p))).collect();
        if let Some(p) = &self.personal_domains {
            exists("enrichments.personal_domains", p);
        }
        if let Some(p) = &self.disposable_domains {
            exists("enrichments.disposable_domains", p);
        }
        if self.geoip.demo && !dbs.is_empty() {
            problems.push("enrichments.geoip.demo: cannot be combined with database paths; remove one".into());
        }
        if let (Some(true), Some(p)) = (catalog_ok, &self.catalog) {
            let full = resolve(base_dir, p);
            match read_text(&full) {
                Ok(text) => {
                    if let Err(e) = crate::AppCatalog::from_toml(&text, &full.display().to_string()) {
                        problems.push(format!("enrichments.catalog: {e}"));
                    }
                }
                Err(e) => problems.push(format!("enrichments.catalog: cannot read `{}`: {e}", full.display())),
            }
        }
        if let (Some(true), Some(p)) = (overlay_ok, &self.overlay) {
            problems.extend(self.validate_overlay(base_dir, p));
        }
        for (setting, p, ok) in dbs {
            if ok {
                let mut g = crate::GeoIp::disabled();
                if let Err(e) = g.add_file(setting, &resolve(base_dir, p)) {
                    problems.push(e.to_string());
                }
            }
        }
        for d in &self.corporate_domains {
            if !d.contains('.') || d.contains(['@', '/', ' ']) {
                problems.push(format!("enrichments.corporate_domains: `{d}` is not a domain name"));
            }
        }
        problems.extend(self.validate_geo_lists_directory(base_dir));
        problems
    }
}

impl EnrichmentConfig {
    /// Problems of `geoip.fields`, `network_lists`, `directory` and `reload`.
    fn validate_geo_lists_directory(&self, base_dir: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        let configured: Vec<crate::geo::DbKind> = if self.geoip.demo {
            crate::geo::DbKind::ALL.to_vec()
        } else {
            self.geoip.databases().iter().filter_map(|(s, _)| crate::geo::DbKind::from_setting(s)).collect()
        };
        problems.extend(crate::geo::check_fields(&self.geoip.fields, &configured).iter().map(|e| e.to_string()));
        let mut lists = crate::NetworkLists::embedded().unwrap_or_default();
        for (i, p) in self.network_lists.iter().enumerate() {
            let setting = format!("enrichments.network_lists[{i}]");
            let full = resolve(base_dir, p);
            match read_text(&full) {
                Ok(text) => {
                    if let Err(e) = lists.add_file_text(&text, &setting, &full.display().to_string()) {
                        problems.push(e.to_string());
                    }
                }
                Err(e) => problems.push(format!("{setting}: cannot read `{}`: {e}", full.display())),
            }
        }
        if let Some(p) = &self.directory {
            if let Err(e) = crate::Directory::load(&resolve(base_dir, p), "enrichments.directory") {
                problems.push(e.to_string());
            }
        }
        let r = &self.reload;
        if r.enabled && !r.watch && r.poll_interval_secs == 0 {
            problems.push(
                "enrichments.reload: with `watch = false` and `poll_interval_secs = 0` no change would be noticed; \
                 enable one or set `enabled = false`"
                    .into(),
            );
        }
        problems
    }
}

impl EnrichmentConfig {
    /// `enrichments.overlay` problems: the file parses and fits the catalog
    /// (the configured one when it loads, else the bundled one).
    fn validate_overlay(&self, base_dir: &Path, p: &Path) -> Vec<String> {
        let full = resolve(base_dir, p);
        let text = match read_text(&full) {
            Ok(t) => t,
            Err(e) => return vec![format!("enrichments.overlay: cannot read `{}`: {e}", full.display())],
        };
        let overlay = match crate::Overlay::from_toml(&text, &full.display().to_string()) {
            Ok(o) => o,
            Err(e) => return vec![e.to_string()],
        };
        // Against the configured catalog (its own problems are reported
        // separately, so skip the check when it does not load), else the bundled one.
        let catalog = match &self.catalog {
            None => crate::AppCatalog::try_embedded(),
            Some(c) => {
                let c = resolve(base_dir, c);
                let Ok(text) = read_text(&c) else { return Vec::new() };
                match crate::AppCatalog::from_toml(&text, &c.display().to_string()) {
                    Ok(cat) => Ok(cat),
                    Err(_) => return Vec::new(),
                }
            }
        };
        let today = crate::Date::today_utc();
        let mut problems = match catalog {
            Ok(c) => match c.with_overlay(&overlay, today) {
                Ok(_) => Vec::new(),
                Err(e) => vec![e.to_string()],
            },
            Err(e) => vec![format!("enrichments.overlay: cannot check against the catalog: {e}")],
        };
        // Partner domains against the organisation's domains and the bundled
        // mail lists (the configured extra lists are checked on load).
        let mut email = crate::EmailClassifier::embedded(self.corporate_domains.iter().cloned());
        if let Err(message) = email.add_partners(&overlay.partners, today) {
            problems.push(crate::EnrichmentError::Overlay { origin: overlay.origin.clone(), message }.to_string());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_rejected() {
        let e = toml::from_str::<EnrichmentConfig>("corprate_domains = []").unwrap_err().to_string();
        assert!(e.contains("corprate_domains"), "{e}");
        let e = toml::from_str::<EnrichmentConfig>("[geoip]\ncty = \"x\"").unwrap_err().to_string();
        assert!(e.contains("cty"), "{e}");
        let e = toml::from_str::<EnrichmentConfig>("corporate_cidrs = [\"10.0.0.0/33\"]").unwrap_err().to_string();
        assert!(e.contains("invalid") || e.contains("10.0.0.0/33"), "{e}");
    }

    #[test]
    fn validate_names_every_bad_setting() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.mmdb"), b"nope").unwrap();
        std::fs::write(dir.path().join("cat.toml"), "[[app]]\nid = \"Bad Id\"\nname=\"x\"\nvendor=\"x\"\ndomains=[\"x.com\"]\ncategory=\"paste\"\nrisk=1\nstatus=\"sanctioned\"\n").unwrap();
        let cfg: EnrichmentConfig = toml::from_str(
            "catalog = \"cat.toml\"\npersonal_domains = \"missing.txt\"\ncorporate_domains = [\"localhost\"]\n[geoip]\ncity = \"bad.mmdb\"\nasn = \"gone.mmdb\"\n",
        )
        .unwrap();
        let p = cfg.validate(dir.path());
        let all = p.join("\n");
        assert!(all.contains("enrichments.personal_domains: file"), "{all}");
        assert!(all.contains("enrichments.geoip.asn: file"), "{all}");
        assert!(all.contains("enrichments.geoip.city:") && all.contains("not a readable MaxMind database"), "{all}");
        assert!(all.contains("enrichments.catalog:") && all.contains("Bad Id"), "{all}");
        assert!(all.contains("`localhost` is not a domain name"), "{all}");
        assert_eq!(p.len(), 5, "{all}");
    }

    #[test]
    fn validate_checks_partner_domains_against_the_mail_lists() {
        let dir = tempfile::tempdir().unwrap();
        let partner = |domain: &str| {
            format!("[[partner]]\nname = \"P\"\ndomains = [\"{domain}\"]\nreason = \"r\"\nexpires = \"2099-12-31\"\n")
        };
        let cfg: EnrichmentConfig =
            toml::from_str("overlay = \"o.toml\"\ncorporate_domains = [\"corp.example.com\"]\n").unwrap();
        std::fs::write(dir.path().join("o.toml"), partner("audit.example.nl")).unwrap();
        assert!(cfg.validate(dir.path()).is_empty(), "{:?}", cfg.validate(dir.path()));
        std::fs::write(dir.path().join("o.toml"), partner("GMAIL.com")).unwrap();
        let all = cfg.validate(dir.path()).join("\n");
        assert!(all.starts_with("enrichments.overlay: "), "{all}");
        assert!(
            all.contains("[[partner]] #1 (`P`): domains: `gmail.com` is a free-mail or disposable provider"),
            "{all}"
        );
        std::fs::write(dir.path().join("o.toml"), partner("corp.example.com")).unwrap();
        let all = cfg.validate(dir.path()).join("\n");
        assert!(all.contains("`corp.example.com` is one of the organisation's own domains"), "{all}");
    }
}
