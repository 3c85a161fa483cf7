//! The catalog and the organisation overlay through the public API, with the
//! example overlay in `tests/data/overlay/overlay.toml`.

use std::path::{Path, PathBuf};

use floodlight_enrichments::{
    AppCatalog, AppStatus, Category, Date, EnrichmentConfig, Enrichments, Overlay, RiskFactor,
};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/overlay")
}

fn fixture() -> Overlay {
    let path = fixture_dir().join("overlay.toml");
    Overlay::from_toml(&std::fs::read_to_string(&path).unwrap(), &path.display().to_string()).unwrap()
}

#[test]
fn signatures_the_pipeline_can_use() {
    let _: for<'a, 'b> fn(&'a AppCatalog, &'b str) -> Option<&'a floodlight_enrichments::App> =
        AppCatalog::lookup_oauth_name;
    let _: fn(&AppCatalog, &Overlay, Date) -> Result<AppCatalog, floodlight_enrichments::EnrichmentError> =
        AppCatalog::with_overlay;
    let _: fn(&[RiskFactor]) -> u8 = floodlight_enrichments::risk_score;
}

#[test]
fn the_example_overlay_as_of_a_given_day() {
    let c = AppCatalog::embedded().with_overlay(&fixture(), "2026-11-24".parse().unwrap()).unwrap();
    let dropbox = c.lookup_domain("www.dropbox.com").unwrap();
    assert_eq!(dropbox.status, AppStatus::Monitored);
    assert_eq!(dropbox.owner.as_deref(), Some("it-finance@corp.example.com"));
    assert_eq!(dropbox.expires.map(|d| d.to_string()).as_deref(), Some("2027-03-31"));
    let wt = c.lookup_domain("eu.files.wetransfer.com").unwrap();
    assert_eq!(
        (wt.status, wt.status_reason.as_deref()),
        (AppStatus::Unsanctioned, Some("exception expired 2025-12-31"))
    );
    assert_eq!(wt.alternative.as_deref(), Some("corp-sft"), "the file_sharing category's alternative");
    assert_eq!(c.get(wt.alternative.as_deref().unwrap()).unwrap().name, "Corp Secure File Transfer");
    let sft = c.lookup_domain("sft.corp.example.com").unwrap();
    assert_eq!((sft.id.as_str(), sft.status, sft.category), ("corp-sft", AppStatus::Sanctioned, Category::FileSharing));
    let zoom = c.lookup_oauth_name("Zoom").unwrap();
    assert_eq!((zoom.status, zoom.alternative.as_deref()), (AppStatus::Unsanctioned, Some("microsoft-teams")));
    let claude = c.lookup_domain("claude.ai").unwrap();
    assert_eq!(claude.status_reason.as_deref(), Some("category genai: AI policy 2026: only the tenant's Copilot"));
    assert_eq!(claude.owner.as_deref(), Some("ciso@corp.example.com"));
    assert_eq!(c.get("microsoft-copilot").unwrap().status, AppStatus::Sanctioned);
    // After the dropbox exception's last day.
    let later = AppCatalog::embedded().with_overlay(&fixture(), "2027-04-01".parse().unwrap()).unwrap();
    let dropbox = later.get("dropbox").unwrap();
    assert_eq!(
        (dropbox.status, dropbox.status_reason.as_deref()),
        (AppStatus::Unsanctioned, Some("exception expired 2027-03-31"))
    );
}

#[test]
fn config_loads_and_validates_the_overlay() {
    let cfg: EnrichmentConfig = toml::from_str("overlay = \"overlay.toml\"\n").unwrap();
    assert!(cfg.validate(&fixture_dir()).is_empty(), "{:?}", cfg.validate(&fixture_dir()));
    let e = Enrichments::load(&cfg, &fixture_dir()).unwrap();
    let wt = e.catalog.get("wetransfer").unwrap();
    assert_eq!(
        wt.status_reason.as_deref(),
        Some("exception expired 2025-12-31"),
        "lapsed before any clock this runs on"
    );
    assert_eq!(e.catalog.lookup_domain("sft.corp.example.com").unwrap().id, "corp-sft");
    let today = Date::today_utc();
    let dropbox = e.catalog.get("dropbox").unwrap();
    let expected = if today > "2027-03-31".parse().unwrap() { AppStatus::Unsanctioned } else { AppStatus::Monitored };
    assert_eq!(dropbox.status, expected);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("o.toml"), "[[app]]\nid = \"dropbx\"\nstatus = \"monitored\"\nreason = \"x\"\n")
        .unwrap();
    let bad: EnrichmentConfig = toml::from_str("overlay = \"o.toml\"\n").unwrap();
    let problems = bad.validate(dir.path());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("enrichments.overlay:") && problems[0].contains("[[app]] `dropbx`: id"),
        "{problems:?}"
    );
    let err = Enrichments::load(&bad, dir.path()).unwrap_err().to_string();
    assert!(err.starts_with("enrichments.overlay:") && err.contains("o.toml") && err.contains("dropbx"), "{err}");
    let missing: EnrichmentConfig = toml::from_str("overlay = \"nope.toml\"\n").unwrap();
    let problems = missing.validate(dir.path());
    assert!(problems.len() == 1 && problems[0].starts_with("enrichments.overlay: file"), "{problems:?}");
    let err = Enrichments::load(&missing, dir.path()).unwrap_err().to_string();
    assert!(err.starts_with("enrichments.overlay: cannot read"), "{err}");
}

#[test]
fn an_overlay_checks_against_a_custom_catalog_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("catalog.toml"),
        "[[app]]\nid = \"pastebin\"\nname = \"Pastebin\"\nvendor = \"Pastebin\"\ndomains = [\"pastebin.com\"]\ncategory = \"paste\"\nrisk_factors = [\"public_by_default\"]\nstatus = \"unsanctioned\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("o.toml"), "[[app]]\nid = \"dropbox\"\nstatus = \"monitored\"\nreason = \"x\"\n")
        .unwrap();
    let cfg: EnrichmentConfig = toml::from_str("catalog = \"catalog.toml\"\noverlay = \"o.toml\"\n").unwrap();
    let problems = cfg.validate(dir.path()).join("\n");
    assert!(problems.contains("[[app]] `dropbox`: id: no such app"), "{problems}");
    std::fs::write(
        dir.path().join("o.toml"),
        "[[app]]\nid = \"pastebin\"\nstatus = \"monitored\"\nreason = \"Docs team\"\n",
    )
    .unwrap();
    assert!(cfg.validate(dir.path()).is_empty());
    let e = Enrichments::load(&cfg, dir.path()).unwrap();
    let p = e.catalog.get("pastebin").unwrap();
    assert_eq!((p.status, p.risk), (AppStatus::Monitored, 2));
}
