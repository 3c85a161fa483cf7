//! The API the pipeline calls, exercised from outside the crate.

use std::net::IpAddr;
use std::path::Path;

use floodlight_enrichments::{
    resembles_user, AddressInfo, App, AppCatalog, AppStatus, Category, EmailClassifier, EnrichmentConfig,
    EnrichmentError, Enrichments, GeoInfo, GeoIp, NetworkType,
};

#[test]
fn signatures_match_what_the_pipeline_calls() {
    let _: fn(&EnrichmentConfig, &Path) -> Result<Enrichments, EnrichmentError> = Enrichments::load;
    let _: fn() -> Result<Enrichments, EnrichmentError> = Enrichments::embedded_default;
    let _: fn(&EnrichmentConfig, &Path) -> Vec<String> = EnrichmentConfig::validate;
    let _: fn(&str, &str) -> Result<AppCatalog, EnrichmentError> = AppCatalog::from_toml;
    let _: fn() -> AppCatalog = AppCatalog::embedded;
    let _: fn() -> GeoIp = GeoIp::disabled;
    let _: fn(&GeoIp, IpAddr) -> GeoInfo = GeoIp::lookup;
    let _: fn(&EmailClassifier, &str) -> AddressInfo = EmailClassifier::classify;
    let _: fn(&str, Option<&str>, &str) -> bool = resembles_user;
    let _: for<'a, 'b> fn(&'a AppCatalog, &'b str) -> Option<&'a App> = AppCatalog::lookup_domain;
    let _: for<'a, 'b> fn(&'a AppCatalog, &'b str) -> Option<&'a App> = AppCatalog::lookup_client_id;
    let _: for<'a, 'b> fn(&'a AppCatalog, &'b str) -> Option<&'a App> = AppCatalog::get;
    let _ = EnrichmentConfig::default();
}

#[test]
fn embedded_default_is_a_working_demo() {
    let e = Enrichments::embedded_default().unwrap();
    assert!(e.catalog.len() >= 60);

    let wt = e.catalog.lookup_domain("EU.Files.WeTransfer.com.").unwrap();
    assert_eq!(
        (wt.id.as_str(), wt.category, wt.status),
        ("wetransfer", Category::FileSharing, AppStatus::Unsanctioned)
    );
    let alt = e.catalog.get(wt.alternative.as_deref().unwrap()).unwrap();
    assert_eq!(alt.id, "microsoft-onedrive");
    assert_eq!(e.catalog.lookup_domain("api.openai.com").unwrap().id, "chatgpt");
    assert!(e.catalog.lookup_domain("notwetransfer.com").is_none());

    let london = e.geo.lookup("81.2.69.192".parse().unwrap());
    assert_eq!(london.country.as_deref(), Some("GB"));
    assert_eq!(london.city.as_deref(), Some("London"));
    assert_eq!(e.geo.lookup("214.214.214.216".parse().unwrap()).network_type, NetworkType::PublicWifi);
    assert_eq!(e.geo.lookup("80.214.0.1".parse().unwrap()).network_type, NetworkType::Cellular);
    let corp = e.geo.lookup("89.160.20.113".parse().unwrap());
    assert_eq!(corp.network_type, NetworkType::Corporate);
    assert_eq!(corp.network_type.as_str(), "corporate");

    let gmail = e.email.classify("Ana <Ana.Pereira.1988@Gmail.com>");
    assert!(gmail.is_personal);
    assert!(resembles_user("ana.pereira@corp.example.com", Some("Ana Pereira"), gmail.local_part.as_deref().unwrap()));
    assert!(e.email.classify("ana@eu.corp.example.com").is_corporate);
    assert_eq!(e.email.classify("not an address").domain, None);
}

#[test]
fn config_from_toml_loads_against_a_base_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("disposable.txt"), "throwaway.example\n").unwrap();
    std::fs::write(
        dir.path().join("catalog.toml"),
        r#"
[[app]]
id = "intranet-wiki"
name = "Wiki"
vendor = "Us"
domains = ["wiki.corp.example.com"]
category = "collaboration"
risk = 0
status = "sanctioned"

[[app]]
id = "pastebin"
name = "Pastebin"
vendor = "Pastebin"
domains = ["pastebin.com"]
client_ids = ["PB-123"]
category = "paste"
risk = 7
status = "unsanctioned"
alternative = "intranet-wiki"
"#,
    )
    .unwrap();
    let cfg: EnrichmentConfig = toml::from_str(
        r#"
catalog = "catalog.toml"
disposable_domains = "disposable.txt"
corporate_cidrs = ["203.0.113.0/24", "2001:db8::/32"]
corporate_domains = ["corp.example.com"]
[geoip]
"#,
    )
    .unwrap();
    assert!(cfg.validate(dir.path()).is_empty(), "{:?}", cfg.validate(dir.path()));
    let e = Enrichments::load(&cfg, dir.path()).unwrap();
    assert_eq!(e.catalog.len(), 2);
    assert_eq!(e.catalog.lookup_client_id("pb-123").unwrap().id, "pastebin");
    assert!(e.email.classify("x@throwaway.example").is_disposable);
    assert_eq!(e.geo.lookup("2001:db8::5".parse().unwrap()).network_type, NetworkType::Corporate);
    // No databases configured: everything else is unknown and empty.
    let other = e.geo.lookup("81.2.69.192".parse().unwrap());
    assert_eq!(other, GeoInfo::default());
}

#[test]
fn demo_and_database_paths_do_not_mix() {
    let cfg: EnrichmentConfig = toml::from_str("[geoip]\ndemo = true\ncity = \"City.mmdb\"\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let problems = cfg.validate(dir.path()).join("\n");
    assert!(problems.contains("enrichments.geoip.demo"), "{problems}");
    assert!(problems.contains("enrichments.geoip.city: file") && problems.contains("does not exist"), "{problems}");
    let err = Enrichments::load(&cfg, dir.path()).unwrap_err().to_string();
    assert!(err.starts_with("enrichments.geoip.demo:"), "{err}");
}

#[test]
fn a_real_database_file_can_be_configured() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/geoip-test");
    for f in ["GeoIP2-City-Test.mmdb", "GeoIP2-Connection-Type-Test.mmdb"] {
        std::fs::copy(data.join(f), dir.path().join(f)).unwrap();
    }
    let cfg: EnrichmentConfig = toml::from_str(
        "[geoip]\ncity = \"GeoIP2-City-Test.mmdb\"\nconnection_type = \"GeoIP2-Connection-Type-Test.mmdb\"\n",
    )
    .unwrap();
    assert!(cfg.validate(dir.path()).is_empty());
    let e = Enrichments::load(&cfg, dir.path()).unwrap();
    assert_eq!(e.geo.lookup("149.101.100.1".parse().unwrap()).network_type, NetworkType::Cellular);
    assert_eq!(e.geo.lookup("81.2.69.192".parse().unwrap()).city.as_deref(), Some("London"));
    // Swapped: a City database named as something else is still a MaxMind
    // database, but a text file is not.
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let bad: EnrichmentConfig = toml::from_str("[geoip]\nasn = \"notes.txt\"\n").unwrap();
    let problems = bad.validate(dir.path());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("enrichments.geoip.asn:") && problems[0].contains("MaxMind"), "{problems:?}");
}
