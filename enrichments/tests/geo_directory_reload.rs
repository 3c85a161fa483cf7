//! GeoIP custom columns, network lists, the user directory and hot reload,
//! configured the way an operator writes `[enrichments]`.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use floodlight_enrichments::{
    CacheStats, CustomColumn, CustomValue, Directory, DirectoryEntry, EnrichmentConfig, EnrichmentError, Enrichments,
    GeoIp, GeoRecord, NetworkType, ReloadOptions, ReloadStats, Reloader,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn data() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn signatures_the_pipeline_calls() {
    let _: fn(&GeoIp, IpAddr) -> Arc<GeoRecord> = GeoIp::lookup_record;
    let _: fn(&GeoIp, IpAddr) -> Vec<Option<CustomValue>> = GeoIp::lookup_custom;
    let _: fn(&GeoIp) -> &[CustomColumn] = GeoIp::custom_columns;
    let _: fn(&GeoIp) -> CacheStats = GeoIp::cache_stats;
    let _: for<'a, 'b> fn(&'a Directory, &'b str) -> Option<&'a DirectoryEntry> = Directory::lookup;
    let _: fn(&Reloader) -> Arc<Enrichments> = Reloader::current;
    let _: fn(&Reloader) -> ReloadStats = Reloader::stats;
    let _: fn(&Reloader) -> Result<Arc<Enrichments>, EnrichmentError> = Reloader::reload_now;
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Enrichments>();
    send_sync::<Reloader>();
}

#[test]
fn a_full_config_loads_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb", "GeoIP2-ISP-Test.mmdb", "GeoIP2-Enterprise-Test.mmdb"]
    {
        std::fs::copy(data().join("data/geoip-test").join(f), dir.path().join(f)).unwrap();
    }
    std::fs::copy(data().join("tests/data/directory/users.csv"), dir.path().join("users.csv")).unwrap();
    std::fs::write(
        dir.path().join("our-asns.toml"),
        "[[asn]]\nasn = 29518\nname = \"Bredband2 (our guest Wi-Fi uplink)\"\nkind = \"public_wifi\"\nsource = \"facilities ticket FAC-1234\"\n",
    )
    .unwrap();
    let cfg: EnrichmentConfig = toml::from_str(
        r#"
corporate_cidrs = ["10.0.0.0/8", "216.160.83.56/29"]
vpn_egress_cidrs = ["65.0.0.0/13"]
corporate_domains = ["corp.example.com"]
network_lists = ["our-asns.toml"]
directory = "users.csv"

[geoip]
city = "GeoIP2-City-Test.mmdb"
asn = "GeoLite2-ASN-Test.mmdb"
isp = "GeoIP2-ISP-Test.mmdb"
enterprise = "GeoIP2-Enterprise-Test.mmdb"
cache_size = 5000

[[geoip.fields]]
column = "geo_postal"
database = "city"
path = "postal.code"

[[geoip.fields]]
column = "geo_subdivision"
database = "city"
path = "subdivisions.0.iso_code"

[[geoip.fields]]
column = "mobile_country_code"
database = "isp"
path = "mobile_country_code"
type = "int"

[[geoip.fields]]
column = "ent_user_type"
database = "enterprise"
path = "traits.user_type"

[reload]
poll_interval_secs = 10
"#,
    )
    .unwrap();
    assert_eq!(cfg.validate(dir.path()), Vec::<String>::new());
    let e = Enrichments::load(&cfg, dir.path()).unwrap();

    // Every database file is memory-mapped.
    assert!(e.geo.databases().iter().all(|(_, _, mapped)| *mapped));
    assert_eq!(e.geo.cache_stats().capacity, 5000);
    let cols: Vec<_> = e.geo.custom_columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, ["geo_postal", "geo_subdivision", "mobile_country_code", "ent_user_type"]);

    let milton = e.geo.lookup_record(ip("216.160.83.57"));
    assert_eq!((milton.info.country.as_deref(), milton.info.city.as_deref()), (Some("US"), Some("Milton")));
    assert_eq!(milton.info.asn, Some(209));
    // A corporate CIDR from config wins over the databases' `Corporate` /
    // `government` answers, and the geo fields stay filled.
    assert_eq!(milton.info.network_type, NetworkType::Corporate);
    assert_eq!(milton.custom[0], Some(CustomValue::String("98354".into())));
    assert_eq!(milton.custom[1], Some(CustomValue::String("WA".into())));
    assert_eq!(milton.custom[3], Some(CustomValue::String("government".into())));
    let verizon = e.geo.lookup_record(ip("149.101.100.1"));
    assert_eq!(verizon.custom[2], Some(CustomValue::Int(310)));
    // No Connection-Type database: the mobile country code (and AS6167, listed
    // `cellular`) say cellular.
    assert_eq!(verizon.info.network_type, NetworkType::Cellular);
    // Our list makes AS29518 public Wi-Fi (89.160.20.128/25 is not corporate here).
    let guest = e.geo.lookup(ip("89.160.20.130"));
    assert_eq!((guest.asn, guest.network_type), (Some(29518), NetworkType::PublicWifi));
    // VPN egress is corporate.
    assert_eq!(e.geo.lookup(ip("65.0.0.1")).network_type, NetworkType::Corporate);
    // The traveler range.
    assert_eq!(e.geo.lookup(ip("214.214.214.216")).network_type, NetworkType::PublicWifi);

    // The directory joins on user and email forms.
    assert_eq!(e.directory.len(), 4);
    let ana = e.directory.lookup("CORP\\agarcia").unwrap();
    assert_eq!(ana.display_name.as_deref(), Some("Ana García"));
    assert_eq!(e.directory.lookup("agarcia@corp.example.com").unwrap().user, "agarcia");
    assert!(floodlight_enrichments::resembles_user("agarcia", ana.display_name.as_deref(), "anagarcia88@gmail.com"));
}

#[test]
fn validate_names_each_new_setting() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("users.csv"), "user,email\nana,a@x.example\nana,b@x.example\n").unwrap();
    std::fs::write(dir.path().join("asns.toml"), "[[asn]]\nasn = 64500\nname = \"x\"\nkind = \"hosting\"\n").unwrap();
    let cfg: EnrichmentConfig = toml::from_str(
        r#"
directory = "users.csv"
network_lists = ["asns.toml", "missing.toml"]
[geoip]
demo = true
[[geoip.fields]]
column = "geo_postal"
database = "cty"
path = "postal.code"
[[geoip.fields]]
column = "x"
database = "city"
path = "a..b"
type = "str"
[reload]
watch = false
poll_interval_secs = 0
"#,
    )
    .unwrap();
    let p = cfg.validate(dir.path());
    let all = p.join("\n");
    assert!(all.contains("enrichments.geoip.fields[0].database: unknown database `cty`"), "{all}");
    assert!(all.contains("enrichments.geoip.fields[1].path: `a..b` has an empty segment"), "{all}");
    assert!(all.contains("enrichments.geoip.fields[1].type: `str` is not a column type"), "{all}");
    assert!(all.contains("enrichments.network_lists[0]: `") && all.contains("`source` is missing"), "{all}");
    assert!(all.contains("enrichments.network_lists[1]: cannot read"), "{all}");
    assert!(
        all.contains("enrichments.directory: `") && all.contains("line 3: user `ana` is already defined at line 2"),
        "{all}"
    );
    assert!(all.contains("enrichments.reload: with `watch = false`"), "{all}");
    assert_eq!(p.len(), 7, "{all}");
    // Load stops at the first problem, naming it.
    let e = Enrichments::load(&cfg, dir.path()).unwrap_err().to_string();
    assert!(e.starts_with("enrichments.network_lists[0]:"), "{e}");
    let e = toml::from_str::<EnrichmentConfig>(
        "[geoip]\n[[geoip.fields]]\ncolumn = \"a\"\ndatabase = \"city\"\npath = \"x\"\npth = 1\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("pth"), "{e}");
}

#[test]
fn a_reloader_built_from_config_swaps_and_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let asns = dir.path().join("our-asns.toml");
    std::fs::write(&asns, "").unwrap();
    let cfg: EnrichmentConfig =
        toml::from_str("network_lists = [\"our-asns.toml\"]\n[geoip]\ndemo = true\n[reload]\ndebounce_ms = 50\n")
            .unwrap();
    let opts = ReloadOptions::from(&cfg.reload);
    assert_eq!(opts.poll_interval, Some(Duration::from_secs(30)));
    let r = Reloader::start(cfg, dir.path(), opts, |_| {}).unwrap();
    let linkoping = ip("89.160.20.130");
    assert_eq!(r.current().geo.lookup(linkoping).network_type, NetworkType::Unknown);
    let wait_for = |what: &str, cond: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    std::fs::write(&asns, "[[asn]]\nasn = 29518\nname = \"Bredband2\"\nkind = \"hosting\"\nsource = \"test\"\n")
        .unwrap();
    wait_for("the new list", &|| r.current().geo.lookup(linkoping).network_type == NetworkType::Hosting);
    std::fs::write(&asns, "[[asn]]\nasn = 29518\nname = \"Bredband2\"\nkind = \"hosting\"\n").unwrap();
    wait_for("the rejected list", &|| r.stats().reloads_failed == 1);
    assert_eq!(r.current().geo.lookup(linkoping).network_type, NetworkType::Hosting, "old snapshot kept");
    assert!(r.stats().last_error.unwrap().contains("`source` is missing"));
}
