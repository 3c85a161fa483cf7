//! `[enrichments]` settings: where the catalog, MaxMind databases and
//! email-domain lists are, and the organisation's own networks and domains.
//!
//! ```toml
//! [enrichments]
//! catalog = "catalog.toml"                 # default: the bundled catalog
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

/// `[enrichments]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichmentConfig {
    /// App catalog TOML; the bundled catalog when absent.
    #[serde(default)]
    pub catalog: Option<PathBuf>,
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
    /// Use the bundled MaxMind *test* databases (demo and tests only).
    #[serde(default)]
    pub demo: bool,
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
        ]
        .into_iter()
        .filter_map(|(s, p)| p.as_deref().map(|p| (s, p)))
        .collect()
    }
}

/// `path` relative to `base` unless absolute.
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

impl EnrichmentConfig {
    /// Every problem, each naming its setting. Opens the files to check them.
    pub fn validate(&self, base_dir: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        let mut exists = |setting: &str, p: &Path| {
            let full = resolve(base_dir, p);
            if !full.is_file() {
                problems.push(format!("{setting}: file `{}` does not exist", full.display()));
                false
            } else {
                true
            }
        };
        let catalog_ok = self.catalog.as_deref().map(|p| exists("enrichments.catalog", p));
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
            match std::fs::read_to_string(&full) {
                Ok(text) => {
                    if let Err(e) = crate::AppCatalog::from_toml(&text, &full.display().to_string()) {
                        problems.push(format!("enrichments.catalog: {e}"));
                    }
                }
                Err(e) => problems.push(format!("enrichments.catalog: cannot read `{}`: {e}", full.display())),
            }
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
}
