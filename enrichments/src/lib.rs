//! # floodlight-enrichments
//!
//! The context floodlight adds to events, as immutable lookup tables:
//!
//! * [`catalog`] — the SaaS app catalog: domain / OAuth client id / OAuth
//!   app name → app, category, risk and its factors, status and sanctioned
//!   alternative. [`catalog_build`] generates the bundled catalog from
//!   curated entries and open lists (`--bin build-catalog`).
//! * [`overlay`] — the organisation's own stance on apps and categories
//!   (status, reason, owner, expiry, own sanctioned apps), applied on load.
//! * [`decision`] — records one decision about one app in the overlay file
//!   from code: validate, show a diff, save atomically, audit.
//! * [`date`] — calendar dates for overlay expiry.
//! * [`geo`] — MaxMind databases and corporate CIDRs → country, city, ASN,
//!   connection type, user type, anonymizer flags, `network_type` and
//!   custom columns, behind a shared lookup cache.
//! * [`network`] — the shipped and the organisation's ASN lists (public
//!   Wi-Fi, mobile carriers, satellite, hosting) behind `network_type`.
//! * [`directory`] — the user directory (email, display name, department,
//!   manager, role, flags), joined on user or email.
//! * [`reload`] — watches every configured file and builds a new snapshot
//!   on change; a bad file keeps the old one.
//! * [`email`] — address → personal (free-mail) / disposable / corporate,
//!   and the overlay's partners.
//! * [`similarity`] — does a personal address look like the employee's own?
//! * [`config`] — the `[enrichments]` settings, their validation, and the
//!   lookups they describe ([`EnrichmentConfig::build_geoip`]).
//! * [`files`] — where the files a setting names come from: relative to the
//!   config, or bundled in the binary (`embedded:<name>`).
//!
//! The modules depend one way: `config` reads `geo`, `network` and `files`;
//! `geo` reads `network` and `files`; none reads `config` back.
//!
//! An [`Enrichments`] value is one consistent snapshot of all of them; the
//! pipeline swaps whole snapshots on reload.

pub mod catalog;
pub mod catalog_build;
pub mod config;
pub mod date;
pub mod decision;
pub mod directory;
pub mod email;
pub mod error;
pub mod files;
pub mod geo;
pub mod network;
pub mod overlay;
pub mod reload;
pub mod similarity;

use std::path::Path;

pub use catalog::{risk_score, App, AppCatalog, AppStatus, Category, RiskFactor};
pub use config::{EnrichmentConfig, GeoIpConfig, ReloadConfig};
pub use date::Date;
pub use decision::{AuditRecord, Decision, DecisionError, DecisionPlan, ExceptionAuditRecord, ExceptionPlan};
pub use directory::{Directory, DirectoryEntry};
pub use email::{AddressInfo, EmailClassifier};
pub use error::EnrichmentError;
pub use geo::{
    CacheStats, ColumnType, CustomColumn, CustomValue, DbKind, GeoFieldConfig, GeoInfo, GeoIp, GeoRecord, NetworkType,
};
pub use network::{AsnEntry, AsnKind, NetworkLists};
pub use overlay::{ExceptionRule, Overlay, PartnerRule};
pub use reload::{watched_files, ReloadEvent, ReloadOptions, ReloadStats, Reloader, WatchedFile};
pub use similarity::resembles_user;

/// The demo organisation's networks used by [`Enrichments::embedded_default`]
/// (`89.160.20.112/28` is in the MaxMind test databases, so the demo shows
/// corporate winning over the databases' answer).
pub const DEMO_CORPORATE_CIDRS: &[&str] = &["89.160.20.112/28", "10.0.0.0/8"];
/// The demo organisation's mail domains used by [`Enrichments::embedded_default`].
pub const DEMO_CORPORATE_DOMAINS: &[&str] = &["corp.example.com"];

/// One snapshot of every lookup table.
#[derive(Debug)]
pub struct Enrichments {
    /// SaaS app catalog.
    pub catalog: AppCatalog,
    /// IP context.
    pub geo: GeoIp,
    /// Email-address classes.
    pub email: EmailClassifier,
    /// User directory (empty when `enrichments.directory` is not set).
    pub directory: Directory,
}

fn read(setting: &'static str, base: &Path, p: &Path) -> Result<String, EnrichmentError> {
    let full = files::resolve(base, p);
    files::read_text(&full).map_err(|source| EnrichmentError::Read { setting, path: full, source })
}

/// The app catalog `cfg` names (the bundled one when none), *before* the
/// overlay: what [`Enrichments::load`] starts from, and what a
/// [`DecisionPlan`] checks a decision against.
pub fn base_catalog(cfg: &EnrichmentConfig, base_dir: &Path) -> Result<AppCatalog, EnrichmentError> {
    match &cfg.catalog {
        Some(p) => {
            let text = read("enrichments.catalog", base_dir, p)?;
            AppCatalog::from_toml(&text, &files::resolve(base_dir, p).display().to_string())
        }
        None => AppCatalog::try_embedded(),
    }
}

/// The overlay `cfg` names, parsed; `None` without one.
fn read_overlay(cfg: &EnrichmentConfig, base_dir: &Path) -> Result<Option<Overlay>, EnrichmentError> {
    let Some(p) = &cfg.overlay else { return Ok(None) };
    let text = read("enrichments.overlay", base_dir, p)?;
    Overlay::from_toml(&text, &files::resolve(base_dir, p).display().to_string()).map(Some)
}

/// The catalog `cfg` names with its overlay applied as of today (UTC): the
/// statuses, reasons and alternatives the pipeline enriches with.
pub fn effective_catalog(cfg: &EnrichmentConfig, base_dir: &Path) -> Result<AppCatalog, EnrichmentError> {
    let catalog = base_catalog(cfg, base_dir)?;
    match read_overlay(cfg, base_dir)? {
        Some(overlay) => catalog.with_overlay(&overlay, Date::today_utc()),
        None => Ok(catalog),
    }
}

impl Enrichments {
    /// Load what `cfg` names; relative paths resolve against `base_dir`.
    pub fn load(cfg: &EnrichmentConfig, base_dir: &Path) -> Result<Enrichments, EnrichmentError> {
        let overlay = read_overlay(cfg, base_dir)?;
        let catalog = base_catalog(cfg, base_dir)?;
        let geo = cfg.build_geoip(base_dir)?;
        let mut email = EmailClassifier::embedded(cfg.corporate_domains.iter().cloned());
        if let Some(p) = &cfg.personal_domains {
            email.add_personal(
                email::parse_list(&read("enrichments.personal_domains", base_dir, p)?).collect::<Vec<_>>(),
            );
        }
        if let Some(p) = &cfg.disposable_domains {
            email.add_disposable(
                email::parse_list(&read("enrichments.disposable_domains", base_dir, p)?).collect::<Vec<_>>(),
            );
        }
        let directory = Directory::from_config(cfg, base_dir)?;
        let base = Enrichments { catalog, geo, email, directory };
        match overlay {
            Some(o) => base.with_overlay(&o, Date::today_utc()),
            None => Ok(base),
        }
    }

    /// This snapshot with `overlay` applied as of `today` (UTC date): the
    /// catalog's statuses and exceptions, and the partners the mail
    /// classifier knows. [`Enrichments::load`] applies the configured
    /// overlay this way; rule fixtures apply theirs on the bundled default.
    pub fn with_overlay(mut self, overlay: &Overlay, today: Date) -> Result<Enrichments, EnrichmentError> {
        self.catalog = self.catalog.with_overlay(overlay, today)?;
        self.email
            .add_partners(&overlay.partners, today)
            .map_err(|message| EnrichmentError::Overlay { origin: overlay.origin.clone(), message })?;
        Ok(self)
    }

    /// Everything bundled: catalog, lists, MaxMind test databases, and the
    /// demo organisation (`corp.example.com`, `89.160.20.112/28`, `10.0.0.0/8`).
    pub fn embedded_default() -> Result<Enrichments, EnrichmentError> {
        let corporate = DEMO_CORPORATE_CIDRS.iter().filter_map(|c| c.parse::<ipnet::IpNet>().ok());
        Ok(Enrichments {
            catalog: AppCatalog::try_embedded()?,
            geo: GeoIp::test_databases()?.with_corporate_cidrs(corporate),
            email: EmailClassifier::embedded(DEMO_CORPORATE_DOMAINS.iter().map(|d| d.to_string())),
            directory: Directory::default().with_domains(DEMO_CORPORATE_DOMAINS.iter().map(|d| d.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_answers_for_the_demo_organisation() {
        let e = Enrichments::embedded_default().unwrap();
        assert_eq!(e.geo.lookup("10.1.2.3".parse().unwrap()).network_type, NetworkType::Corporate);
        assert!(e.email.classify("x@corp.example.com").is_corporate);
        assert_eq!(e.catalog.lookup_domain("relay-1.net.anydesk.com").map(|a| a.id.as_str()), Some("anydesk"));
    }

    #[test]
    fn bundled_files_load_without_anything_on_disk() {
        let cfg: EnrichmentConfig = toml::from_str(
            "catalog = \"embedded:catalog.toml\"\noverlay = \"embedded:demo/overlay.toml\"\n\
             directory = \"embedded:demo/users.csv\"\ncorporate_domains = [\"corp.example.com\"]\n\
             [geoip]\nasn = \"embedded:GeoLite2-ASN-Test.mmdb\"\n",
        )
        .unwrap();
        let nowhere = std::path::Path::new("/nonexistent");
        assert!(cfg.validate(nowhere).is_empty(), "{:?}", cfg.validate(nowhere));
        let e = Enrichments::load(&cfg, nowhere).unwrap();
        let otter = e.catalog.get("otter-ai").unwrap();
        assert_eq!(otter.status, AppStatus::Unsanctioned);
        assert_eq!(otter.status_reason.as_deref(), Some("exception expired 2026-06-30"));
        assert_eq!(e.catalog.lookup_domain("sft.corp.example.com").unwrap().id, "corp-sft");
        let ana = e.directory.lookup("corp\\ana.pereira").unwrap();
        assert_eq!(ana.display_name.as_deref(), Some("Ana Pereira"));
        assert_eq!(e.directory.origin(), Some("embedded:demo/users.csv"));
        assert_eq!(e.geo.lookup("149.101.100.1".parse().unwrap()).asn, Some(6167));
        assert!(reload::watched_files(&cfg, nowhere).is_empty(), "bundled files never change");
        let bad: EnrichmentConfig = toml::from_str("directory = \"embedded:demo/nobody.csv\"").unwrap();
        let p = bad.validate(nowhere).join("\n");
        assert!(
            p.contains("enrichments.directory: `embedded:demo/nobody.csv`: cannot read: no such bundled file"),
            "{p}"
        );
    }

    #[test]
    fn load_reads_configured_files_relative_to_the_base_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("extra.txt"), "# ours\nmy-isp-mail.example\n").unwrap();
        let cfg: EnrichmentConfig = toml::from_str(
            "personal_domains = \"extra.txt\"\ncorporate_domains = [\"corp.example.com\"]\n[geoip]\ndemo = true\n",
        )
        .unwrap();
        let e = Enrichments::load(&cfg, dir.path()).unwrap();
        assert!(e.email.classify("a@my-isp-mail.example").is_personal);
        assert!(e.email.classify("a@gmail.com").is_personal);
        assert_eq!(e.geo.lookup("149.101.100.1".parse().unwrap()).network_type, NetworkType::Cellular);
        let missing: EnrichmentConfig = toml::from_str("catalog = \"nope.toml\"").unwrap();
        let err = Enrichments::load(&missing, dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("enrichments.catalog: cannot read"), "{err}");
    }
}
