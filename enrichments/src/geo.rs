//! IP context from MaxMind databases and the organisation's own networks:
//! country, city, ASN, connection type, Enterprise user type, anonymizer
//! flags, and a derived `network_type`.
//!
//! Any subset of databases may be configured (City or Country, ASN, ISP,
//! Connection-Type, Anonymous-IP, Enterprise); each lookup reads each one
//! once. A miss is simply empty fields.
//!
//! `network_type` is decided in this order, first match wins:
//!
//! 1. `corporate` — the IP is in a configured corporate CIDR (offices, VPN egress);
//! 2. `anonymizer` — Anonymous-IP (or Enterprise traits) says VPN, public proxy,
//!    Tor exit or residential proxy, or `is_anonymous` without any of those
//!    and without the hosting-provider flag (a hosting provider alone is
//!    `hosting`, rule 6, though `is_anonymous` stays true as MaxMind reports);
//! 3. `public_wifi` — Enterprise `user_type` is `cafe`, `traveler`, `library` or `hotel`;
//! 4. `cellular` — connection type `Cellular` (Connection-Type or Enterprise)
//!    or user type `cellular`;
//! 5. `satellite` — connection type `Satellite`;
//! 6. `hosting` — user type `hosting` / `content_delivery_network`, or the
//!    Anonymous-IP hosting-provider flag alone;
//! 7. `residential` — user type `residential` or connection type `Cable/DSL`;
//! 8. `unknown`.
//!
//! Field sources: `country` / `city` from City (or Country, or Enterprise);
//! `asn` / `as_org` from ASN (or ISP, or Enterprise traits; the ISP name fills
//! `as_org` when no AS organisation is known); `connection_type` from
//! Connection-Type (or Enterprise traits); `user_type` from Enterprise.
//! When several databases answer, the first configured one wins
//! (order: city, asn, connection_type, enterprise, anonymous_ip, isp).
//!
//! Databases are read fully into memory (`Reader::from_source`), so the
//! bundled test databases and files on disk take the same path and a file
//! replaced on disk does not affect a running snapshot.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use maxminddb::Reader;
use serde::Deserialize;

use crate::error::EnrichmentError;

/// Network type of an IP (see the module documentation for the order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum NetworkType {
    /// The organisation's own networks.
    Corporate,
    /// VPN, proxy, Tor.
    Anonymizer,
    /// Café, hotel, airport, library Wi-Fi.
    PublicWifi,
    /// Mobile carrier (phones, tethering).
    Cellular,
    /// Satellite internet.
    Satellite,
    /// Data centres and CDNs.
    Hosting,
    /// Home broadband.
    Residential,
    /// Nothing known.
    #[default]
    Unknown,
}

impl NetworkType {
    /// The snake_case name used in columns and rules.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkType::Corporate => "corporate",
            NetworkType::Anonymizer => "anonymizer",
            NetworkType::PublicWifi => "public_wifi",
            NetworkType::Cellular => "cellular",
            NetworkType::Satellite => "satellite",
            NetworkType::Hosting => "hosting",
            NetworkType::Residential => "residential",
            NetworkType::Unknown => "unknown",
        }
    }
}

/// Everything known about one IP.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoInfo {
    /// ISO 3166 country code.
    pub country: Option<String>,
    /// City (English name).
    pub city: Option<String>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// Autonomous system organisation (or ISP).
    pub as_org: Option<String>,
    /// MaxMind connection type (`Cable/DSL`, `Cellular`, `Corporate`, `Satellite`).
    pub connection_type: Option<String>,
    /// MaxMind Enterprise user type (`cafe`, `traveler`, `residential`, ...).
    pub user_type: Option<String>,
    /// VPN, proxy or Tor.
    pub is_anonymous: bool,
    /// Derived network type.
    pub network_type: NetworkType,
}

#[derive(Deserialize, Default)]
struct Names {
    #[serde(default)]
    names: BTreeMap<String, String>,
    #[serde(default)]
    iso_code: Option<String>,
}

#[derive(Deserialize, Default)]
struct Traits {
    user_type: Option<String>,
    connection_type: Option<String>,
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<String>,
    isp: Option<String>,
    is_anonymous: Option<bool>,
    is_anonymous_vpn: Option<bool>,
    is_hosting_provider: Option<bool>,
    is_public_proxy: Option<bool>,
    is_tor_exit_node: Option<bool>,
    is_residential_proxy: Option<bool>,
}

/// The union of the record shapes of every MaxMind database floodlight reads.
#[derive(Deserialize, Default)]
struct Record {
    country: Option<Names>,
    city: Option<Names>,
    traits: Option<Traits>,
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<String>,
    isp: Option<String>,
    connection_type: Option<String>,
    is_anonymous: Option<bool>,
    is_anonymous_vpn: Option<bool>,
    is_hosting_provider: Option<bool>,
    is_public_proxy: Option<bool>,
    is_tor_exit_node: Option<bool>,
    is_residential_proxy: Option<bool>,
}

/// A database and the setting it came from.
struct Db {
    reader: Reader<Vec<u8>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db(MaxMind reader)")
    }
}

impl Db {
    fn lookup(&self, ip: IpAddr) -> Option<Record> {
        let r = self.reader.lookup(ip).ok()?;
        r.decode::<Record>().ok().flatten()
    }
}

/// Open a database from bytes; `setting` and `origin` name it in errors.
fn open(setting: &'static str, origin: &str, bytes: Vec<u8>) -> Result<Db, EnrichmentError> {
    Reader::from_source(bytes).map(|reader| Db { reader }).map_err(|e| EnrichmentError::MaxMind {
        setting,
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// The GeoIP stage's databases and corporate networks.
#[derive(Debug, Default)]
pub struct GeoIp {
    dbs: Vec<Db>,
    corporate: Vec<IpNet>,
}

/// Bundled MaxMind **test** databases (Apache-2.0 / MIT, see `data/geoip-test/`).
pub mod test_dbs {
    /// GeoIP2 City test database.
    pub const CITY: &[u8] = include_bytes!("../data/geoip-test/GeoIP2-City-Test.mmdb");
    /// GeoLite2 ASN test database.
    pub const ASN: &[u8] = include_bytes!("../data/geoip-test/GeoLite2-ASN-Test.mmdb");
    /// GeoIP2 Connection-Type test database.
    pub const CONNECTION_TYPE: &[u8] = include_bytes!("../data/geoip-test/GeoIP2-Connection-Type-Test.mmdb");
    /// GeoIP2 Enterprise test database.
    pub const ENTERPRISE: &[u8] = include_bytes!("../data/geoip-test/GeoIP2-Enterprise-Test.mmdb");
    /// GeoIP2 Anonymous-IP test database.
    pub const ANONYMOUS_IP: &[u8] = include_bytes!("../data/geoip-test/GeoIP2-Anonymous-IP-Test.mmdb");
    /// GeoIP2 ISP test database.
    pub const ISP: &[u8] = include_bytes!("../data/geoip-test/GeoIP2-ISP-Test.mmdb");
}

impl GeoIp {
    /// No databases: every lookup is [`NetworkType::Unknown`] with empty
    /// fields, except corporate CIDRs added with
    /// [`GeoIp::with_corporate_cidrs`].
    pub fn disabled() -> Self {
        GeoIp::default()
    }

    /// Add the organisation's networks (`network_type = corporate`).
    #[must_use]
    pub fn with_corporate_cidrs(mut self, cidrs: impl IntoIterator<Item = IpNet>) -> Self {
        self.corporate.extend(cidrs);
        self
    }

    /// The organisation's networks.
    pub fn corporate_cidrs(&self) -> &[IpNet] {
        &self.corporate
    }

    /// Number of databases loaded.
    pub fn database_count(&self) -> usize {
        self.dbs.len()
    }

    /// The bundled MaxMind test databases (for the demo and tests).
    pub fn test_databases() -> Result<Self, EnrichmentError> {
        let mut g = GeoIp::disabled();
        for (setting, name, bytes) in [
            ("enrichments.geoip.city", "GeoIP2-City-Test.mmdb", test_dbs::CITY),
            ("enrichments.geoip.asn", "GeoLite2-ASN-Test.mmdb", test_dbs::ASN),
            ("enrichments.geoip.connection_type", "GeoIP2-Connection-Type-Test.mmdb", test_dbs::CONNECTION_TYPE),
            ("enrichments.geoip.enterprise", "GeoIP2-Enterprise-Test.mmdb", test_dbs::ENTERPRISE),
            ("enrichments.geoip.anonymous_ip", "GeoIP2-Anonymous-IP-Test.mmdb", test_dbs::ANONYMOUS_IP),
            ("enrichments.geoip.isp", "GeoIP2-ISP-Test.mmdb", test_dbs::ISP),
        ] {
            g.add_bytes(setting, &format!("embedded:{name}"), bytes.to_vec())?;
        }
        Ok(g)
    }

    /// Add a database held in memory. `setting` and `origin` name it in errors.
    pub fn add_bytes(&mut self, setting: &'static str, origin: &str, bytes: Vec<u8>) -> Result<(), EnrichmentError> {
        self.dbs.push(open(setting, origin, bytes)?);
        Ok(())
    }

    /// Add a database file. `setting` names the config key in errors.
    pub fn add_file(&mut self, setting: &'static str, path: &std::path::Path) -> Result<(), EnrichmentError> {
        let bytes = std::fs::read(path).map_err(|source| EnrichmentError::Read {
            setting,
            path: path.to_path_buf(),
            source,
        })?;
        self.dbs.push(open(setting, &path.display().to_string(), bytes)?);
        Ok(())
    }

    /// Whether `ip` is in one of the corporate CIDRs.
    pub fn is_corporate(&self, ip: IpAddr) -> bool {
        // IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as the IPv4 address.
        let v4 = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.corporate.iter().any(|n| n.contains(&ip) || v4.is_some_and(|v4| n.contains(&v4)))
    }

    /// Everything known about `ip`. Never fails: a miss is empty fields.
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let mut g = GeoInfo::default();
        let (mut vpn, mut proxy, mut tor, mut res_proxy, mut hosting_flag) = (false, false, false, false, false);
        for db in &self.dbs {
            let Some(r) = db.lookup(ip) else { continue };
            if let Some(c) = r.country {
                g.country = g.country.or(c.iso_code);
            }
            if let Some(c) = r.city {
                g.city = g.city.or_else(|| c.names.get("en").cloned());
            }
            g.asn = g.asn.or(r.autonomous_system_number);
            g.as_org = g.as_org.or(r.autonomous_system_organization).or(r.isp);
            g.connection_type = g.connection_type.or(r.connection_type);
            vpn |= r.is_anonymous_vpn.unwrap_or(false);
            proxy |= r.is_public_proxy.unwrap_or(false);
            tor |= r.is_tor_exit_node.unwrap_or(false);
            res_proxy |= r.is_residential_proxy.unwrap_or(false);
            hosting_flag |= r.is_hosting_provider.unwrap_or(false);
            g.is_anonymous |= r.is_anonymous.unwrap_or(false);
            if let Some(t) = r.traits {
                g.user_type = g.user_type.or(t.user_type);
                g.connection_type = g.connection_type.or(t.connection_type);
                g.asn = g.asn.or(t.autonomous_system_number);
                g.as_org = g.as_org.or(t.autonomous_system_organization).or(t.isp);
                vpn |= t.is_anonymous_vpn.unwrap_or(false);
                proxy |= t.is_public_proxy.unwrap_or(false);
                tor |= t.is_tor_exit_node.unwrap_or(false);
                res_proxy |= t.is_residential_proxy.unwrap_or(false);
                hosting_flag |= t.is_hosting_provider.unwrap_or(false);
                g.is_anonymous |= t.is_anonymous.unwrap_or(false);
            }
        }
        let anonymizer = vpn || proxy || tor || res_proxy || (g.is_anonymous && !hosting_flag);
        g.is_anonymous |= anonymizer;
        let ut = g.user_type.as_deref().unwrap_or("");
        let ct = g.connection_type.as_deref().unwrap_or("");
        g.network_type = if self.is_corporate(ip) {
            NetworkType::Corporate
        } else if anonymizer {
            NetworkType::Anonymizer
        } else if matches!(ut, "cafe" | "traveler" | "library" | "hotel") {
            NetworkType::PublicWifi
        } else if ct.eq_ignore_ascii_case("cellular") || ut == "cellular" {
            NetworkType::Cellular
        } else if ct.eq_ignore_ascii_case("satellite") {
            NetworkType::Satellite
        } else if matches!(ut, "hosting" | "content_delivery_network") || hosting_flag {
            NetworkType::Hosting
        } else if ut == "residential" || ct.eq_ignore_ascii_case("cable/dsl") {
            NetworkType::Residential
        } else {
            NetworkType::Unknown
        };
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo() -> GeoIp {
        GeoIp::test_databases()
            .unwrap()
            .with_corporate_cidrs(["89.160.20.112/28".parse().unwrap(), "10.0.0.0/8".parse().unwrap()])
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn city_country_and_asn_come_from_the_databases() {
        let g = geo().lookup(ip("81.2.69.142"));
        assert_eq!(g.country.as_deref(), Some("GB"));
        assert_eq!(g.city.as_deref(), Some("London"));
        let g = geo().lookup(ip("89.160.20.115"));
        assert_eq!((g.country.as_deref(), g.city.as_deref()), (Some("SE"), Some("Linköping")));
        assert_eq!((g.asn, g.as_org.as_deref()), (Some(29518), Some("Bredband2 AB")));
        assert_eq!(g.connection_type.as_deref(), Some("Corporate"));
        let g = geo().lookup(ip("149.101.100.1"));
        assert_eq!((g.country.as_deref(), g.asn), (Some("US"), Some(6167)));
        let g = geo().lookup(ip("1.128.0.1"));
        assert_eq!(g.asn, Some(1221));
        assert_eq!(g.as_org.as_deref(), Some("Telstra Pty Ltd"));
    }

    #[test]
    fn network_types_follow_the_documented_order() {
        let g = geo();
        assert_eq!(g.lookup(ip("214.214.214.216")).network_type, NetworkType::PublicWifi);
        assert_eq!(g.lookup(ip("214.214.214.216")).user_type.as_deref(), Some("traveler"));
        assert_eq!(g.lookup(ip("149.101.100.1")).network_type, NetworkType::Cellular);
        assert_eq!(g.lookup(ip("80.214.0.5")).network_type, NetworkType::Cellular);
        assert_eq!(g.lookup(ip("214.78.120.5")).network_type, NetworkType::Satellite);
        assert_eq!(g.lookup(ip("2.125.160.218")).network_type, NetworkType::Residential);
        assert_eq!(g.lookup(ip("214.214.214.217")).network_type, NetworkType::PublicWifi);
        assert_eq!(g.lookup(ip("214.214.214.218")).network_type, NetworkType::Unknown, "business");
        // Enterprise connection type alone also says cellular.
        assert_eq!(g.lookup(ip("1.124.213.2")).network_type, NetworkType::Cellular);
        assert_eq!(g.lookup(ip("175.16.199.5")).network_type, NetworkType::Residential);
        assert_eq!(g.lookup(ip("1.0.0.1")).network_type, NetworkType::Residential, "Cable/DSL");
        for a in ["1.2.0.5", "186.30.236.9", "65.0.0.1", "6.1.0.4", "81.2.69.142"] {
            let anon = g.lookup(ip(a));
            assert_eq!(anon.network_type, NetworkType::Anonymizer, "{a}");
            assert!(anon.is_anonymous, "{a}");
        }
        // Anonymizer beats cellular (Tor exit on a cellular network).
        assert_eq!(g.lookup(ip("1.124.213.1")).network_type, NetworkType::Anonymizer);
        assert_eq!(g.lookup(ip("1.124.213.1")).connection_type.as_deref(), Some("Cellular"));
        assert_eq!(g.lookup(ip("2001:480:3a::1")).network_type, NetworkType::Anonymizer);
        // A hosting provider alone is hosting, not anonymizer, and beats the
        // Enterprise `residential` user type of 6.1.0.0/25.
        let h = g.lookup(ip("6.1.0.2"));
        assert_eq!(h.network_type, NetworkType::Hosting);
        assert!(h.is_anonymous);
        assert_eq!(h.user_type.as_deref(), Some("residential"));
        assert_eq!(g.lookup(ip("71.160.223.7")).network_type, NetworkType::Hosting);
        assert_eq!(g.lookup(ip("214.214.214.220")).network_type, NetworkType::Hosting);
        assert_eq!(g.lookup(ip("214.214.214.221")).network_type, NetworkType::Hosting);
        // Corporate wins over everything, and the geo fields are still filled.
        let corp = g.lookup(ip("89.160.20.115"));
        assert_eq!(corp.network_type, NetworkType::Corporate);
        assert_eq!(corp.country.as_deref(), Some("SE"));
        // ... even over anonymizer and cellular.
        let g2 = geo().with_corporate_cidrs(["81.2.69.0/24".parse().unwrap(), "149.101.100.0/28".parse().unwrap()]);
        assert_eq!(g2.lookup(ip("81.2.69.142")).network_type, NetworkType::Corporate);
        assert!(g2.lookup(ip("81.2.69.142")).is_anonymous);
        assert_eq!(g2.lookup(ip("149.101.100.1")).network_type, NetworkType::Corporate);
        assert_eq!(g.lookup(ip("::ffff:10.9.8.7")).network_type, NetworkType::Corporate);
        assert_eq!(g.lookup(ip("192.0.2.1")), GeoInfo::default());
        assert_eq!(g.lookup(ip("::1")).network_type, NetworkType::Unknown);
        assert_eq!(GeoIp::disabled().lookup(ip("149.101.100.1")), GeoInfo::default());
        let only_cidrs = GeoIp::disabled().with_corporate_cidrs(["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(only_cidrs.lookup(ip("10.1.1.1")).network_type, NetworkType::Corporate);
        assert_eq!(only_cidrs.database_count(), 0);
        assert_eq!(NetworkType::default().as_str(), "unknown");
        assert_eq!(NetworkType::PublicWifi.as_str(), "public_wifi");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_rejected_with_its_setting() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.mmdb");
        std::fs::write(&p, b"not a database").unwrap();
        let e = GeoIp::disabled().add_file("enrichments.geoip.city", &p).unwrap_err().to_string();
        assert!(e.starts_with("enrichments.geoip.city:"), "{e}");
        let e = GeoIp::disabled().add_file("enrichments.geoip.asn", &dir.path().join("nope.mmdb")).unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
    }
}
