//! IP context from MaxMind databases, the organisation's own networks and
//! the network lists: country, city, ASN, connection type, Enterprise user
//! type, anonymizer flags, a derived `network_type`, and any other field of
//! a configured database as a custom column.
//!
//! # Databases
//!
//! Any subset may be configured (`[enrichments.geoip]`): `city` (GeoIP2 or
//! GeoLite2 City, or Country), `asn` (GeoLite2 ASN), `connection_type`,
//! `enterprise`, `anonymous_ip` (GeoIP2 Anonymous IP or GeoIP Anonymous
//! Plus), `isp` and `domain`. Files are memory-mapped (`mmap = false` reads
//! them into memory instead); the bundled test databases are read from the
//! binary. Each lookup reads each database once; a miss is simply empty
//! fields.
//!
//! Field sources: `country` / `city` from City (or Country, or Enterprise);
//! `asn` / `as_org` from ASN (or ISP, or Enterprise traits; the ISP name fills
//! `as_org` when no AS organisation is known); `connection_type` from
//! Connection-Type (or Enterprise traits); `user_type` from Enterprise.
//! When several databases answer, the first configured one wins
//! (order: city, asn, connection_type, enterprise, anonymous_ip, isp, domain).
//!
//! # `network_type`
//!
//! Decided in this order, first match wins:
//!
//! 1. `corporate` — the IP is in `corporate_cidrs` or `vpn_egress_cidrs`
//!    (the organisation's offices and VPN egress; IPv4-mapped IPv6 counts as
//!    its IPv4 address);
//! 2. `anonymizer` — Anonymous-IP (or Enterprise traits) sets
//!    `is_anonymous_vpn`, `is_public_proxy`, `is_tor_exit_node` or
//!    `is_residential_proxy`; or Enterprise `user_type` is
//!    `consumer_privacy_network`; or `is_anonymous` is set without
//!    `is_hosting_provider` (a hosting provider alone is rule 6, though
//!    `is_anonymous` stays true as MaxMind reports it);
//! 3. `public_wifi` — Enterprise `user_type` is `cafe`, `traveler` or
//!    `library`; or the ASN is listed `public_wifi`;
//! 4. `cellular` — connection type `Cellular` (Connection-Type or Enterprise);
//!    or `user_type` `cellular`; or a `mobile_country_code` in the ISP or
//!    Enterprise record; or the ASN is listed `cellular` (a
//!    `cellular_mixed` ASN never decides alone);
//! 5. `satellite` — connection type `Satellite`; or the ASN is listed `satellite`;
//! 6. `hosting` — `user_type` `hosting` or `content_delivery_network`; or the
//!    Anonymous-IP `is_hosting_provider` flag; or the ASN is listed `hosting`;
//! 7. `residential` — `user_type` `residential`; or connection type
//!    `Cable/DSL` or `Dialup`;
//! 8. `unknown`.
//!
//! A network-list ASN counts as much as a database field at the same step,
//! so the order of steps, not the source, decides (an ASN listed `hosting`
//! beats a Connection-Type `Cable/DSL`).
//!
//! # Custom columns
//!
//! `[[enrichments.geoip.fields]]` maps any field of a configured database to
//! a column: `path` is dot-separated keys and array indexes into the
//! record (`postal.code`, `subdivisions.0.iso_code`, `city.names.en`,
//! `subdivisions.-1.names.en` for the last element), `type` one of `string`,
//! `int`, `float`, `bool`. Conversion: a `string` column takes any value
//! (numbers and booleans as text, maps and arrays as JSON); `int` takes
//! integers and strings holding one (`"310"`); `float` takes numbers and
//! numeric strings; `bool` takes booleans and `"true"` / `"false"`. Anything
//! else, or a missing path, is null.
//!
//! # Cache
//!
//! Lookups go through a bounded, thread-safe cache (`quick_cache`, CLOCK-Pro
//! style eviction) keyed by IP and holding the whole computed record
//! ([`GeoRecord`]); `cache_size` entries (default
//! [`DEFAULT_CACHE_SIZE`], 0 disables). A snapshot's cache lives and dies
//! with it, so a reload never serves stale answers.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;
use maxminddb::{PathElement, Reader};
use serde::Deserialize;

use crate::error::EnrichmentError;
use crate::files::{embedded_name, EMBEDDED_PREFIX};
use crate::network::{AsnKind, NetworkLists};

/// Default number of IPs the lookup cache holds.
pub const DEFAULT_CACHE_SIZE: usize = 100_000;

/// The IP columns the pipeline always adds; custom columns may not reuse them.
pub const BUILTIN_IP_COLUMNS: &[&str] =
    &["geo_country", "geo_city", "asn", "as_org", "connection_type", "user_type", "is_anonymous", "network_type"];

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
    /// Its step in the documented order (1 `corporate` ... 8 `unknown`).
    pub fn step(self) -> u8 {
        match self {
            NetworkType::Corporate => 1,
            NetworkType::Anonymizer => 2,
            NetworkType::PublicWifi => 3,
            NetworkType::Cellular => 4,
            NetworkType::Satellite => 5,
            NetworkType::Hosting => 6,
            NetworkType::Residential => 7,
            NetworkType::Unknown => 8,
        }
    }

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

/// One of the MaxMind databases floodlight reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbKind {
    /// GeoIP2 / GeoLite2 City or Country.
    City,
    /// GeoLite2 ASN.
    Asn,
    /// GeoIP2 Connection-Type.
    ConnectionType,
    /// GeoIP2 Enterprise.
    Enterprise,
    /// GeoIP2 Anonymous-IP or GeoIP Anonymous Plus.
    AnonymousIp,
    /// GeoIP2 ISP.
    Isp,
    /// GeoIP2 Domain.
    Domain,
}

impl DbKind {
    /// Every kind, in precedence order.
    pub const ALL: [DbKind; 7] = [
        DbKind::City,
        DbKind::Asn,
        DbKind::ConnectionType,
        DbKind::Enterprise,
        DbKind::AnonymousIp,
        DbKind::Isp,
        DbKind::Domain,
    ];

    /// The name used in config (`city`, `anonymous_ip`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DbKind::City => "city",
            DbKind::Asn => "asn",
            DbKind::ConnectionType => "connection_type",
            DbKind::Enterprise => "enterprise",
            DbKind::AnonymousIp => "anonymous_ip",
            DbKind::Isp => "isp",
            DbKind::Domain => "domain",
        }
    }

    /// `enrichments.geoip.<name>`.
    pub fn setting(self) -> &'static str {
        match self {
            DbKind::City => "enrichments.geoip.city",
            DbKind::Asn => "enrichments.geoip.asn",
            DbKind::ConnectionType => "enrichments.geoip.connection_type",
            DbKind::Enterprise => "enrichments.geoip.enterprise",
            DbKind::AnonymousIp => "enrichments.geoip.anonymous_ip",
            DbKind::Isp => "enrichments.geoip.isp",
            DbKind::Domain => "enrichments.geoip.domain",
        }
    }

    /// Parse a config name.
    pub fn parse(name: &str) -> Option<DbKind> {
        DbKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind a setting (`enrichments.geoip.city`) names.
    pub fn from_setting(setting: &str) -> Option<DbKind> {
        DbKind::ALL.into_iter().find(|k| k.setting() == setting)
    }
}

/// Type of a custom column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// UTF-8 text.
    String,
    /// 64-bit signed integer.
    Int,
    /// 64-bit float.
    Float,
    /// Boolean.
    Bool,
}

impl ColumnType {
    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Bool => "bool",
        }
    }

    /// Parse a config name.
    pub fn parse(s: &str) -> Option<ColumnType> {
        Some(match s {
            "string" => ColumnType::String,
            "int" => ColumnType::Int,
            "float" => ColumnType::Float,
            "bool" => ColumnType::Bool,
            _ => return None,
        })
    }
}

/// A value of a custom column.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomValue {
    /// For `string` columns.
    String(String),
    /// For `int` columns.
    Int(i64),
    /// For `float` columns.
    Float(f64),
    /// For `bool` columns.
    Bool(bool),
}

/// A configured custom column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomColumn {
    /// Column name.
    pub name: String,
    /// Its type.
    pub column_type: ColumnType,
    /// The database it reads.
    pub database: DbKind,
    /// The path into the record, as configured.
    pub path: String,
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
    FromEnd(usize),
}

/// The cached answer for one IP: the built-in fields and the custom columns
/// (in [`GeoIp::custom_columns`] order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoRecord {
    /// Built-in fields.
    pub info: GeoInfo,
    /// Custom column values, `None` for null.
    pub custom: Vec<Option<CustomValue>>,
}

/// Lookup-cache counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that read the databases.
    pub misses: u64,
    /// IPs held now.
    pub len: usize,
    /// Most IPs held.
    pub capacity: u64,
}

#[derive(Deserialize, Default)]
struct Names {
    #[serde(default)]
    names: Option<NamesEn>,
    #[serde(default)]
    iso_code: Option<String>,
}

#[derive(Deserialize, Default)]
struct NamesEn {
    en: Option<String>,
}

#[derive(Deserialize, Default)]
struct Traits {
    user_type: Option<String>,
    connection_type: Option<String>,
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<String>,
    isp: Option<String>,
    mobile_country_code: Option<String>,
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
    mobile_country_code: Option<String>,
    connection_type: Option<String>,
    is_anonymous: Option<bool>,
    is_anonymous_vpn: Option<bool>,
    is_hosting_provider: Option<bool>,
    is_public_proxy: Option<bool>,
    is_tor_exit_node: Option<bool>,
    is_residential_proxy: Option<bool>,
}

/// Where a database's bytes live.
enum Source {
    Static(&'static [u8]),
    Owned(Vec<u8>),
    Mapped(maxminddb::Mmap),
}

impl AsRef<[u8]> for Source {
    fn as_ref(&self) -> &[u8] {
        match self {
            Source::Static(b) => b,
            Source::Owned(b) => b,
            Source::Mapped(m) => m,
        }
    }
}

/// One open database.
struct Db {
    kind: Option<DbKind>,
    origin: String,
    mapped: bool,
    reader: Reader<Source>,
}

/// Open a database; `setting` and `origin` name it in errors.
fn open(setting: &'static str, origin: &str, source: Source) -> Result<Db, EnrichmentError> {
    let mapped = matches!(source, Source::Mapped(_));
    Reader::from_source(source)
        .map(|reader| Db { kind: DbKind::from_setting(setting), origin: origin.to_string(), mapped, reader })
        .map_err(|e| EnrichmentError::MaxMind { setting, origin: origin.to_string(), message: e.to_string() })
}

type IpCache = quick_cache::sync::Cache<IpAddr, Arc<GeoRecord>>;

/// The GeoIP stage: databases, corporate networks, network lists, custom
/// columns and the lookup cache. `Send + Sync`; share it between threads.
pub struct GeoIp {
    dbs: Vec<Db>,
    corporate: Vec<IpNet>,
    vpn_egress: Vec<IpNet>,
    networks: NetworkLists,
    columns: Vec<CustomColumn>,
    paths: Vec<Vec<Seg>>,
    cache_size: usize,
    cache: Option<IpCache>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp")
            .field("databases", &self.databases())
            .field("corporate", &self.corporate)
            .field("vpn_egress", &self.vpn_egress)
            .field("network_lists", &self.networks.len())
            .field("custom_columns", &self.columns)
            .field("cache_size", &self.cache_size)
            .finish()
    }
}

impl Default for GeoIp {
    fn default() -> Self {
        GeoIp::disabled()
    }
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
    /// GeoIP2 Domain test database.
    pub const DOMAIN: &[u8] = include_bytes!("../data/geoip-test/GeoIP2-Domain-Test.mmdb");
}

/// The bundled test databases: kind, file name (also `embedded:<name>` in
/// config) and bytes, in precedence order.
pub const TEST_DATABASES: &[(DbKind, &str, &[u8])] = &[
    (DbKind::City, "GeoIP2-City-Test.mmdb", test_dbs::CITY),
    (DbKind::Asn, "GeoLite2-ASN-Test.mmdb", test_dbs::ASN),
    (DbKind::ConnectionType, "GeoIP2-Connection-Type-Test.mmdb", test_dbs::CONNECTION_TYPE),
    (DbKind::Enterprise, "GeoIP2-Enterprise-Test.mmdb", test_dbs::ENTERPRISE),
    (DbKind::AnonymousIp, "GeoIP2-Anonymous-IP-Test.mmdb", test_dbs::ANONYMOUS_IP),
    (DbKind::Isp, "GeoIP2-ISP-Test.mmdb", test_dbs::ISP),
    (DbKind::Domain, "GeoIP2-Domain-Test.mmdb", test_dbs::DOMAIN),
];

/// The bytes of a bundled MaxMind test database (`embedded:GeoIP2-City-Test.mmdb`).
pub fn embedded_database(path: &Path) -> Option<&'static [u8]> {
    let name = embedded_name(path)?;
    TEST_DATABASES.iter().find(|(_, n, _)| *n == name).map(|(_, _, b)| *b)
}

/// `[[enrichments.geoip.fields]]`: one custom column.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GeoFieldConfig {
    /// Column name, snake_case, not a built-in column.
    pub column: String,
    /// `city`, `asn`, `connection_type`, `enterprise`, `anonymous_ip`, `isp` or `domain`.
    pub database: String,
    /// Dot-separated path into the record (`subdivisions.0.iso_code`).
    pub path: String,
    /// `string` (default), `int`, `float` or `bool`.
    #[serde(rename = "type", default = "default_field_type")]
    pub column_type: String,
}

fn default_field_type() -> String {
    "string".into()
}

fn setting_err(setting: String, message: String) -> EnrichmentError {
    EnrichmentError::Setting { setting, message }
}

fn parse_path(path: &str) -> Result<Vec<Seg>, String> {
    if path.trim().is_empty() {
        return Err("is empty; give a dot-separated path such as `postal.code`".into());
    }
    path.split('.')
        .map(|s| {
            if s.is_empty() {
                Err(format!("`{path}` has an empty segment; separate keys with single dots"))
            } else if let Some(n) = s.strip_prefix('-') {
                match n.parse::<usize>() {
                    Ok(n) if n >= 1 => Ok(Seg::FromEnd(n - 1)),
                    _ => Err(format!("`{path}`: `{s}` is not an array index (0, 1, ... or -1 for the last)")),
                }
            } else if s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse::<usize>().map(Seg::Index).map_err(|_| format!("`{path}`: index `{s}` is too large"))
            } else if s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                Ok(Seg::Key(s.to_string()))
            } else {
                Err(format!("`{path}`: `{s}` is not a key (letters, digits, `_` and `-` only)"))
            }
        })
        .collect()
}

fn valid_column_name(n: &str) -> bool {
    let mut b = n.bytes();
    matches!(b.next(), Some(b'a'..=b'z'))
        && n.len() <= 63
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// Check `[[enrichments.geoip.fields]]` against the configured databases:
/// every problem, each naming `enrichments.geoip.fields[i].<key>`.
pub fn check_fields(fields: &[GeoFieldConfig], configured: &[DbKind]) -> Vec<EnrichmentError> {
    compile_fields(fields, configured).err().unwrap_or_default()
}

type Compiled = Vec<(CustomColumn, Vec<Seg>)>;

fn compile_fields(fields: &[GeoFieldConfig], configured: &[DbKind]) -> Result<Compiled, Vec<EnrichmentError>> {
    let mut ok = Vec::new();
    let mut problems = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let key = |k: &str| format!("enrichments.geoip.fields[{i}].{k}");
        let before = problems.len();
        if !valid_column_name(&f.column) {
            problems.push(setting_err(
                key("column"),
                format!("`{}` is not a snake_case column name (a-z first, then a-z, 0-9, `_`; at most 63)", f.column),
            ));
        } else if BUILTIN_IP_COLUMNS.contains(&f.column.as_str()) {
            problems
                .push(setting_err(key("column"), format!("`{}` is a built-in column; choose another name", f.column)));
        } else if let Some(j) = fields[..i].iter().position(|g| g.column == f.column) {
            problems.push(setting_err(
                key("column"),
                format!("`{}` is already the column of enrichments.geoip.fields[{j}]", f.column),
            ));
        }
        let kind = match DbKind::parse(&f.database) {
            None => {
                let names: Vec<_> = DbKind::ALL.iter().map(|k| k.name()).collect();
                problems.push(setting_err(
                    key("database"),
                    format!("unknown database `{}`; expected one of {}", f.database, names.join(", ")),
                ));
                None
            }
            Some(k) if !configured.contains(&k) => {
                problems.push(setting_err(
                    key("database"),
                    format!(
                        "database `{}` is not configured; set `{}` (or `enrichments.geoip.demo`)",
                        k.name(),
                        k.setting()
                    ),
                ));
                None
            }
            Some(k) => Some(k),
        };
        let path = parse_path(&f.path).map_err(|m| problems.push(setting_err(key("path"), m))).ok();
        let ty = ColumnType::parse(&f.column_type);
        if ty.is_none() {
            problems.push(setting_err(
                key("type"),
                format!("`{}` is not a column type; expected string, int, float or bool", f.column_type),
            ));
        }
        if let (Some(kind), Some(path), Some(ty), true) = (kind, path, ty, problems.len() == before) {
            ok.push((
                CustomColumn { name: f.column.clone(), column_type: ty, database: kind, path: f.path.clone() },
                path,
            ));
        }
    }
    if problems.is_empty() {
        Ok(ok)
    } else {
        Err(problems)
    }
}

fn convert(v: serde_json::Value, ty: ColumnType) -> Option<CustomValue> {
    use serde_json::Value as J;
    match (ty, v) {
        (_, J::Null) => None,
        (ColumnType::String, J::String(s)) => Some(CustomValue::String(s)),
        (ColumnType::String, J::Bool(b)) => Some(CustomValue::String(b.to_string())),
        (ColumnType::String, J::Number(n)) => Some(CustomValue::String(n.to_string())),
        (ColumnType::String, v @ (J::Array(_) | J::Object(_))) => Some(CustomValue::String(v.to_string())),
        (ColumnType::Int, J::Number(n)) => n.as_i64().map(CustomValue::Int),
        (ColumnType::Int, J::String(s)) => s.trim().parse().ok().map(CustomValue::Int),
        (ColumnType::Float, J::Number(n)) => n.as_f64().map(CustomValue::Float),
        (ColumnType::Float, J::String(s)) => s.trim().parse().ok().map(CustomValue::Float),
        (ColumnType::Bool, J::Bool(b)) => Some(CustomValue::Bool(b)),
        (ColumnType::Bool, J::String(s)) if s == "true" || s == "false" => Some(CustomValue::Bool(s == "true")),
        _ => None,
    }
}

/// Signals gathered from every database for one IP.
#[derive(Default)]
struct Signals {
    vpn: bool,
    proxy: bool,
    tor: bool,
    res_proxy: bool,
    hosting_flag: bool,
    mobile_codes: bool,
}

impl GeoIp {
    /// No databases: every lookup is [`NetworkType::Unknown`] with empty
    /// fields, except corporate CIDRs added with
    /// [`GeoIp::with_corporate_cidrs`]. Has the shipped network lists and a
    /// cache of [`DEFAULT_CACHE_SIZE`].
    pub fn disabled() -> Self {
        let mut g = GeoIp {
            dbs: Vec::new(),
            corporate: Vec::new(),
            vpn_egress: Vec::new(),
            // The shipped list is checked by a unit test; an empty list is
            // the safe answer should it ever fail to parse.
            networks: NetworkLists::embedded().unwrap_or_default(),
            columns: Vec::new(),
            paths: Vec::new(),
            cache_size: DEFAULT_CACHE_SIZE,
            cache: None,
        };
        g.reset_cache();
        g
    }

    fn reset_cache(&mut self) {
        self.cache = (self.cache_size > 0).then(|| IpCache::new(self.cache_size));
    }

    /// Add the organisation's networks (`network_type = corporate`).
    #[must_use]
    pub fn with_corporate_cidrs(mut self, cidrs: impl IntoIterator<Item = IpNet>) -> Self {
        self.corporate.extend(cidrs);
        self.reset_cache();
        self
    }

    /// Add the organisation's VPN egress networks (also `corporate`).
    #[must_use]
    pub fn with_vpn_egress_cidrs(mut self, cidrs: impl IntoIterator<Item = IpNet>) -> Self {
        self.vpn_egress.extend(cidrs);
        self.reset_cache();
        self
    }

    /// Replace the network lists (the shipped one by default).
    #[must_use]
    pub fn with_network_lists(mut self, lists: NetworkLists) -> Self {
        self.networks = lists;
        self.reset_cache();
        self
    }

    /// Set the cache size (IPs); 0 disables the cache.
    #[must_use]
    pub fn with_cache_size(mut self, entries: usize) -> Self {
        self.cache_size = entries;
        self.reset_cache();
        self
    }

    /// Add custom columns; databases must be added first. The first problem
    /// is returned (see [`check_fields`] for all of them).
    pub fn with_fields(mut self, fields: &[GeoFieldConfig]) -> Result<Self, EnrichmentError> {
        let configured: Vec<DbKind> = self.dbs.iter().filter_map(|d| d.kind).collect();
        let compiled = compile_fields(fields, &configured).map_err(|mut e| e.remove(0))?;
        for (c, p) in compiled {
            self.columns.push(c);
            self.paths.push(p);
        }
        self.reset_cache();
        Ok(self)
    }

    /// The organisation's networks.
    pub fn corporate_cidrs(&self) -> &[IpNet] {
        &self.corporate
    }

    /// The organisation's VPN egress networks.
    pub fn vpn_egress_cidrs(&self) -> &[IpNet] {
        &self.vpn_egress
    }

    /// The network lists in use.
    pub fn network_lists(&self) -> &NetworkLists {
        &self.networks
    }

    /// The custom columns, in the order of [`GeoRecord::custom`].
    pub fn custom_columns(&self) -> &[CustomColumn] {
        &self.columns
    }

    /// Number of databases loaded.
    pub fn database_count(&self) -> usize {
        self.dbs.len()
    }

    /// (kind, origin, memory-mapped) of every database, in precedence order.
    pub fn databases(&self) -> Vec<(Option<DbKind>, &str, bool)> {
        self.dbs.iter().map(|d| (d.kind, d.origin.as_str(), d.mapped)).collect()
    }

    /// The bundled MaxMind test databases (for the demo and tests).
    pub fn test_databases() -> Result<Self, EnrichmentError> {
        let mut g = GeoIp::disabled();
        for (kind, name, bytes) in TEST_DATABASES {
            g.add_static(kind.setting(), &format!("{EMBEDDED_PREFIX}{name}"), bytes)?;
        }
        Ok(g)
    }

    fn push(&mut self, db: Db) {
        self.dbs.push(db);
        self.reset_cache();
    }

    /// Add a database held in memory. `setting` (`enrichments.geoip.city`)
    /// says which database it is; it and `origin` name it in errors.
    pub fn add_bytes(&mut self, setting: &'static str, origin: &str, bytes: Vec<u8>) -> Result<(), EnrichmentError> {
        let db = open(setting, origin, Source::Owned(bytes))?;
        self.push(db);
        Ok(())
    }

    /// Add a database compiled into the binary.
    pub fn add_static(
        &mut self,
        setting: &'static str,
        origin: &str,
        bytes: &'static [u8],
    ) -> Result<(), EnrichmentError> {
        let db = open(setting, origin, Source::Static(bytes))?;
        self.push(db);
        Ok(())
    }

    /// Add a database file, memory-mapped. `setting` names the config key
    /// in errors and says which database it is.
    pub fn add_file(&mut self, setting: &'static str, path: &Path) -> Result<(), EnrichmentError> {
        self.add_file_with(setting, path, true)
    }

    /// Add a database file, memory-mapped when `mmap`, else read into memory.
    ///
    /// A mapped file must be replaced by renaming a new file over it (as
    /// `geoipupdate`, `mv` and Kubernetes ConfigMap updates do), never
    /// rewritten in place: the running snapshot keeps reading the old file.
    pub fn add_file_with(&mut self, setting: &'static str, path: &Path, mmap: bool) -> Result<(), EnrichmentError> {
        let read_err = |source| EnrichmentError::Read { setting, path: path.to_path_buf(), source };
        if embedded_name(path).is_some() {
            // `embedded:GeoIP2-City-Test.mmdb`: a bundled test database.
            let bytes = embedded_database(path).ok_or_else(|| {
                let known: Vec<_> = TEST_DATABASES.iter().map(|(_, n, _)| format!("{EMBEDDED_PREFIX}{n}")).collect();
                read_err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no such bundled database (bundled: {})", known.join(", ")),
                ))
            })?;
            return self.add_static(setting, &path.display().to_string(), bytes);
        }
        let source = if mmap {
            let file = std::fs::File::open(path).map_err(read_err)?;
            // SAFETY: the map is read-only and floodlight never writes the
            // file. Replacing it by rename (geoipupdate, mv, ConfigMaps)
            // leaves this mapping on the old inode; only an in-place rewrite
            // by another process could change the bytes under us, which the
            // documentation rules out (`mmap = false` for such setups).
            // Every read goes through the reader's bounds checks.
            let map = unsafe { maxminddb::Mmap::map(&file) }.map_err(read_err)?;
            Source::Mapped(map)
        } else {
            Source::Owned(std::fs::read(path).map_err(read_err)?)
        };
        let db = open(setting, &path.display().to_string(), source)?;
        self.push(db);
        Ok(())
    }

    /// Whether `ip` is in one of the corporate or VPN egress CIDRs.
    pub fn is_corporate(&self, ip: IpAddr) -> bool {
        // IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as the IPv4 address.
        in_networks(&self.corporate, ip) || in_networks(&self.vpn_egress, ip)
    }

    /// Everything known about `ip`. Never fails: a miss is empty fields.
    /// Cached; [`GeoIp::lookup_record`] avoids the copy.
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        self.lookup_record(ip).info.clone()
    }

    /// The custom column values for `ip`, in [`GeoIp::custom_columns`] order.
    pub fn lookup_custom(&self, ip: IpAddr) -> Vec<Option<CustomValue>> {
        self.lookup_record(ip).custom.clone()
    }

    /// The whole answer for `ip`, shared with the cache (cheap on a hit).
    pub fn lookup_record(&self, ip: IpAddr) -> Arc<GeoRecord> {
        let Some(cache) = &self.cache else { return Arc::new(self.lookup_uncached(ip)) };
        if let Some(r) = cache.get(&ip) {
            return r;
        }
        let r = Arc::new(self.lookup_uncached(ip));
        cache.insert(ip, Arc::clone(&r));
        r
    }

    /// Hits, misses and size of the lookup cache (zeros when disabled).
    pub fn cache_stats(&self) -> CacheStats {
        match &self.cache {
            Some(c) => CacheStats { hits: c.hits(), misses: c.misses(), len: c.len(), capacity: c.capacity() },
            None => CacheStats::default(),
        }
    }

    /// Read every database for `ip`, bypassing the cache.
    pub fn lookup_uncached(&self, ip: IpAddr) -> GeoRecord {
        let (mut g, s, custom) = self.gather(ip);
        g.is_anonymous |= is_anonymizer(&g, &s);
        g.network_type = self.decide(ip, &g, &s).0;
        GeoRecord { info: g, custom }
    }

    /// Which step of the documented order (module documentation) decided
    /// `ip`'s `network_type`, and on what signal. Reads the databases (not
    /// the cache); for analysts (`floodlight lookup ip`), not the hot path.
    pub fn explain_network_type(&self, ip: IpAddr) -> NetworkTypeReason {
        let (g, s, _) = self.gather(ip);
        let (network_type, why) = self.decide(ip, &g, &s);
        let signal = match why {
            Why::CorporateCidr => "the IP is in `corporate_cidrs`".to_string(),
            Why::VpnEgress => "the IP is in `vpn_egress_cidrs`".to_string(),
            Why::Flag(f) => format!("`{f}` is set (Anonymous-IP or Enterprise traits)"),
            Why::AnonymousNotHosting => "`is_anonymous` is set without `is_hosting_provider`".to_string(),
            Why::UserType => format!("Enterprise `user_type` is `{}`", g.user_type.as_deref().unwrap_or("")),
            Why::ConnectionType => format!("connection type is `{}`", g.connection_type.as_deref().unwrap_or("")),
            Why::MobileCodes => "the ISP or Enterprise record has a `mobile_country_code`".to_string(),
            Why::HostingFlag => "Anonymous-IP `is_hosting_provider` is set".to_string(),
            Why::Listed(kind) => {
                let asn = g.asn.unwrap_or(0);
                match self.networks.get(asn) {
                    Some(e) => format!("AS{asn} ({}) is listed `{}` in `{}`", e.name, kind.as_str(), e.origin),
                    None => format!("AS{asn} is listed `{}`", kind.as_str()),
                }
            }
            Why::Nothing => "no configured database or network list gives a deciding signal".to_string(),
        };
        NetworkTypeReason { network_type, step: network_type.step(), signal }
    }

    /// Every database's whole record for `ip`, in precedence order.
    pub fn database_records(&self, ip: IpAddr) -> Vec<DatabaseRecord> {
        self.dbs
            .iter()
            .map(|db| {
                let res = db.reader.lookup(ip).ok().filter(|r| r.has_data());
                DatabaseRecord {
                    kind: db.kind,
                    origin: db.origin.clone(),
                    network: res.as_ref().and_then(|r| r.network().ok()).map(|n| n.to_string()),
                    record: res.and_then(|r| r.decode::<serde_json::Value>().ok().flatten()),
                }
            })
            .collect()
    }

    /// The fields and signals of every database for `ip`, and the custom
    /// column values (`network_type` and the anonymizer verdict are not set).
    fn gather(&self, ip: IpAddr) -> (GeoInfo, Signals, Vec<Option<CustomValue>>) {
        let mut g = GeoInfo::default();
        let mut s = Signals::default();
        let mut custom: Vec<Option<CustomValue>> = vec![None; self.columns.len()];
        for db in &self.dbs {
            let Ok(res) = db.reader.lookup(ip) else { continue };
            if !res.has_data() {
                continue;
            }
            for (i, (col, path)) in self.columns.iter().zip(&self.paths).enumerate() {
                if Some(col.database) != db.kind || custom[i].is_some() {
                    continue;
                }
                let elems: Vec<PathElement<'_>> = path
                    .iter()
                    .map(|p| match p {
                        Seg::Key(k) => PathElement::Key(k),
                        Seg::Index(n) => PathElement::Index(*n),
                        Seg::FromEnd(n) => PathElement::IndexFromEnd(*n),
                    })
                    .collect();
                if let Ok(Some(v)) = res.decode_path::<serde_json::Value>(&elems) {
                    custom[i] = convert(v, col.column_type);
                }
            }
            let Ok(Some(r)) = res.decode::<Record>() else { continue };
            if let Some(c) = r.country {
                g.country = g.country.or(c.iso_code);
            }
            if let Some(c) = r.city {
                g.city = g.city.or_else(|| c.names.and_then(|n| n.en));
            }
            g.asn = g.asn.or(r.autonomous_system_number);
            g.as_org = g.as_org.or(r.autonomous_system_organization).or(r.isp);
            g.connection_type = g.connection_type.or(r.connection_type);
            s.mobile_codes |= r.mobile_country_code.is_some_and(|c| !c.is_empty());
            s.vpn |= r.is_anonymous_vpn.unwrap_or(false);
            s.proxy |= r.is_public_proxy.unwrap_or(false);
            s.tor |= r.is_tor_exit_node.unwrap_or(false);
            s.res_proxy |= r.is_residential_proxy.unwrap_or(false);
            s.hosting_flag |= r.is_hosting_provider.unwrap_or(false);
            g.is_anonymous |= r.is_anonymous.unwrap_or(false);
            if let Some(t) = r.traits {
                g.user_type = g.user_type.or(t.user_type);
                g.connection_type = g.connection_type.or(t.connection_type);
                g.asn = g.asn.or(t.autonomous_system_number);
                g.as_org = g.as_org.or(t.autonomous_system_organization).or(t.isp);
                s.mobile_codes |= t.mobile_country_code.is_some_and(|c| !c.is_empty());
                s.vpn |= t.is_anonymous_vpn.unwrap_or(false);
                s.proxy |= t.is_public_proxy.unwrap_or(false);
                s.tor |= t.is_tor_exit_node.unwrap_or(false);
                s.res_proxy |= t.is_residential_proxy.unwrap_or(false);
                s.hosting_flag |= t.is_hosting_provider.unwrap_or(false);
                g.is_anonymous |= t.is_anonymous.unwrap_or(false);
            }
        }
        (g, s, custom)
    }

    /// The documented order (module documentation), step by step: the
    /// answer and the first signal of its step that matched.
    fn decide(&self, ip: IpAddr, g: &GeoInfo, s: &Signals) -> (NetworkType, Why) {
        let ut = g.user_type.as_deref().unwrap_or("");
        let ct = g.connection_type.as_deref().unwrap_or("");
        let listed = g.asn.and_then(|a| self.networks.kind(a));
        let is = |k: AsnKind| listed == Some(k);
        if in_networks(&self.corporate, ip) {
            (NetworkType::Corporate, Why::CorporateCidr)
        } else if in_networks(&self.vpn_egress, ip) {
            (NetworkType::Corporate, Why::VpnEgress)
        } else if is_anonymizer(g, s) {
            let why = if s.vpn {
                Why::Flag("is_anonymous_vpn")
            } else if s.proxy {
                Why::Flag("is_public_proxy")
            } else if s.tor {
                Why::Flag("is_tor_exit_node")
            } else if s.res_proxy {
                Why::Flag("is_residential_proxy")
            } else if ut == "consumer_privacy_network" {
                Why::UserType
            } else {
                Why::AnonymousNotHosting
            };
            (NetworkType::Anonymizer, why)
        } else if matches!(ut, "cafe" | "traveler" | "library") {
            (NetworkType::PublicWifi, Why::UserType)
        } else if is(AsnKind::PublicWifi) {
            (NetworkType::PublicWifi, Why::Listed(AsnKind::PublicWifi))
        } else if ct.eq_ignore_ascii_case("cellular") {
            (NetworkType::Cellular, Why::ConnectionType)
        } else if ut == "cellular" {
            (NetworkType::Cellular, Why::UserType)
        } else if s.mobile_codes {
            (NetworkType::Cellular, Why::MobileCodes)
        } else if is(AsnKind::Cellular) {
            (NetworkType::Cellular, Why::Listed(AsnKind::Cellular))
        } else if ct.eq_ignore_ascii_case("satellite") {
            (NetworkType::Satellite, Why::ConnectionType)
        } else if is(AsnKind::Satellite) {
            (NetworkType::Satellite, Why::Listed(AsnKind::Satellite))
        } else if matches!(ut, "hosting" | "content_delivery_network") {
            (NetworkType::Hosting, Why::UserType)
        } else if s.hosting_flag {
            (NetworkType::Hosting, Why::HostingFlag)
        } else if is(AsnKind::Hosting) {
            (NetworkType::Hosting, Why::Listed(AsnKind::Hosting))
        } else if ut == "residential" {
            (NetworkType::Residential, Why::UserType)
        } else if ct.eq_ignore_ascii_case("cable/dsl") || ct.eq_ignore_ascii_case("dialup") {
            (NetworkType::Residential, Why::ConnectionType)
        } else {
            (NetworkType::Unknown, Why::Nothing)
        }
    }
}

/// Step 2's test: an anonymizer flag, a privacy-network user type, or
/// `is_anonymous` without the hosting-provider flag.
fn is_anonymizer(g: &GeoInfo, s: &Signals) -> bool {
    s.vpn
        || s.proxy
        || s.tor
        || s.res_proxy
        || g.user_type.as_deref() == Some("consumer_privacy_network")
        || (g.is_anonymous && !s.hosting_flag)
}

/// Whether `ip` is in one of `nets` (IPv4-mapped IPv6 counts as its IPv4 address).
fn in_networks(nets: &[IpNet], ip: IpAddr) -> bool {
    let v4 = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        IpAddr::V4(_) => None,
    };
    nets.iter().any(|n| n.contains(&ip) || v4.is_some_and(|v4| n.contains(&v4)))
}

/// The signal that decided a `network_type` (see [`GeoIp::explain_network_type`]).
#[derive(Debug, Clone, Copy)]
enum Why {
    CorporateCidr,
    VpnEgress,
    Flag(&'static str),
    AnonymousNotHosting,
    UserType,
    ConnectionType,
    MobileCodes,
    HostingFlag,
    Listed(AsnKind),
    Nothing,
}

/// Why an IP got its `network_type`: the step of the documented order and
/// the signal that matched first within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkTypeReason {
    /// The answer.
    pub network_type: NetworkType,
    /// The step of the documented order that decided (1 `corporate` ... 8 `unknown`).
    pub step: u8,
    /// The signal, e.g. "connection type is `Cellular`".
    pub signal: String,
}

/// One database's whole record for an IP (see [`GeoIp::database_records`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseRecord {
    /// Which database.
    pub kind: Option<DbKind>,
    /// Its file (or `embedded:<name>`).
    pub origin: String,
    /// The network the record covers (`81.2.69.142/31`), when it has one.
    pub network: Option<String>,
    /// The record as JSON; `None` when the database does not cover the IP.
    pub record: Option<serde_json::Value>,
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

    fn field(column: &str, database: &str, path: &str, ty: &str) -> GeoFieldConfig {
        GeoFieldConfig { column: column.into(), database: database.into(), path: path.into(), column_type: ty.into() }
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
        let g = geo().lookup(ip("216.160.83.57"));
        assert_eq!((g.country.as_deref(), g.city.as_deref()), (Some("US"), Some("Milton")));
        assert_eq!(g.connection_type.as_deref(), Some("Corporate"));
        let g = geo().lookup(ip("175.16.199.5"));
        assert_eq!((g.country.as_deref(), g.city.as_deref()), (Some("CN"), Some("Changchun")));
        let g = geo().lookup(ip("2001:218::1"));
        assert_eq!(g.country.as_deref(), Some("JP"));
    }

    #[test]
    fn network_types_follow_the_documented_order() {
        let g = geo();
        let nt = |s: &str| g.lookup(ip(s)).network_type;
        // 3. public_wifi: the Enterprise `traveler` ranges.
        assert_eq!(nt("214.214.214.216"), NetworkType::PublicWifi);
        assert_eq!(g.lookup(ip("214.214.214.216")).user_type.as_deref(), Some("traveler"));
        assert_eq!(nt("214.214.214.217"), NetworkType::PublicWifi);
        // 4. cellular: Connection-Type `Cellular` ranges.
        assert_eq!(nt("149.101.100.1"), NetworkType::Cellular);
        assert_eq!(nt("80.214.0.5"), NetworkType::Cellular);
        assert_eq!(nt("108.96.0.1"), NetworkType::Cellular);
        assert_eq!(g.lookup(ip("80.214.0.5")).connection_type.as_deref(), Some("Cellular"));
        // ... Enterprise connection type alone (Irancell, AS44244).
        assert_eq!(nt("1.124.213.2"), NetworkType::Cellular);
        // 5. satellite: Connection-Type `Satellite` (Enterprise: Starlink).
        // GeoLite2-ASN (AS721, 214.0.0.0/8) answers the ASN before the
        // Enterprise record's AS14593: the asn database comes first.
        let sat = g.lookup(ip("214.78.120.5"));
        assert_eq!((sat.network_type, sat.connection_type.as_deref()), (NetworkType::Satellite, Some("Satellite")));
        assert_eq!((sat.asn, sat.city.as_deref()), (Some(721), Some("San Diego")));
        // Enterprise alone names Starlink, listed `satellite` too.
        let mut ent = GeoIp::disabled();
        ent.add_static("enrichments.geoip.enterprise", "enterprise", test_dbs::ENTERPRISE).unwrap();
        let sat = ent.lookup(ip("214.78.120.5"));
        assert_eq!((sat.asn, sat.as_org.as_deref()), (Some(14593), Some("SPACEX-STARLINK")));
        assert_eq!(ent.network_lists().kind(14593), Some(AsnKind::Satellite));
        // 7. residential.
        assert_eq!(nt("2.125.160.218"), NetworkType::Residential);
        assert_eq!(nt("175.16.199.5"), NetworkType::Residential, "Enterprise user_type residential");
        assert_eq!(nt("1.0.2.1"), NetworkType::Residential, "Cable/DSL");
        // 8. unknown: Enterprise `business`.
        assert_eq!(nt("214.214.214.218"), NetworkType::Unknown, "business");
        // 2. anonymizer, every flag.
        for a in ["1.2.0.5", "186.30.236.9", "65.0.0.1", "6.1.0.4", "6.1.0.3", "6.1.0.1", "81.2.69.142"] {
            let anon = g.lookup(ip(a));
            assert_eq!(anon.network_type, NetworkType::Anonymizer, "{a}");
            assert!(anon.is_anonymous, "{a}");
        }
        // Anonymizer beats cellular (Tor exit on a cellular network).
        assert_eq!(nt("1.124.213.1"), NetworkType::Anonymizer);
        assert_eq!(g.lookup(ip("1.124.213.1")).connection_type.as_deref(), Some("Cellular"));
        assert_eq!(nt("2001:480:3a::1"), NetworkType::Anonymizer);
        // 6. hosting: the hosting-provider flag alone is hosting, not
        // anonymizer, and beats the Enterprise `residential` of 6.1.0.0/25.
        let h = g.lookup(ip("6.1.0.2"));
        assert_eq!(h.network_type, NetworkType::Hosting);
        assert!(h.is_anonymous);
        assert_eq!(h.user_type.as_deref(), Some("residential"));
        assert_eq!(nt("71.160.223.7"), NetworkType::Hosting);
        assert_eq!(nt("214.214.214.220"), NetworkType::Hosting, "user_type hosting");
        assert_eq!(nt("214.214.214.221"), NetworkType::Hosting, "user_type content_delivery_network");
        // 1. corporate wins over everything, and the geo fields are still filled.
        let corp = g.lookup(ip("89.160.20.115"));
        assert_eq!(corp.network_type, NetworkType::Corporate);
        assert_eq!(corp.country.as_deref(), Some("SE"));
        // ... even over anonymizer and cellular.
        let g2 = geo().with_corporate_cidrs(["81.2.69.0/24".parse().unwrap(), "149.101.100.0/28".parse().unwrap()]);
        assert_eq!(g2.lookup(ip("81.2.69.142")).network_type, NetworkType::Corporate);
        assert!(g2.lookup(ip("81.2.69.142")).is_anonymous);
        assert_eq!(g2.lookup(ip("149.101.100.1")).network_type, NetworkType::Corporate);
        assert_eq!(nt("::ffff:10.9.8.7"), NetworkType::Corporate);
        assert_eq!(g.lookup(ip("192.0.2.1")), GeoInfo::default());
        assert_eq!(nt("::1"), NetworkType::Unknown);
        assert_eq!(GeoIp::disabled().lookup(ip("149.101.100.1")), GeoInfo::default());
        let only_cidrs = GeoIp::disabled().with_corporate_cidrs(["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(only_cidrs.lookup(ip("10.1.1.1")).network_type, NetworkType::Corporate);
        assert_eq!(only_cidrs.database_count(), 0);
        assert_eq!(NetworkType::default().as_str(), "unknown");
        assert_eq!(NetworkType::PublicWifi.as_str(), "public_wifi");
    }

    #[test]
    fn network_type_reasons_name_the_step_and_the_signal() {
        let g = geo().with_vpn_egress_cidrs(["1.2.0.0/24".parse().unwrap()]);
        let why = |s: &str| {
            let r = g.explain_network_type(ip(s));
            assert_eq!(r.network_type, g.lookup(ip(s)).network_type, "{s}: explanation and lookup agree");
            (r.step, r.signal)
        };
        assert_eq!(why("89.160.20.115"), (1, "the IP is in `corporate_cidrs`".into()));
        assert_eq!(why("1.2.0.5"), (1, "the IP is in `vpn_egress_cidrs`".into()));
        assert_eq!(why("81.2.69.142"), (2, "`is_anonymous_vpn` is set (Anonymous-IP or Enterprise traits)".into()));
        assert_eq!(why("214.214.214.216"), (3, "Enterprise `user_type` is `traveler`".into()));
        assert_eq!(why("149.101.100.1"), (4, "connection type is `Cellular`".into()));
        let (step, signal) = why("70.192.0.1");
        assert_eq!(step, 4);
        assert!(
            signal.starts_with("AS6167 (") && signal.contains("is listed `cellular` in `embedded:asn-lists.toml`"),
            "{signal}"
        );
        assert_eq!(why("214.78.120.5"), (5, "connection type is `Satellite`".into()));
        assert_eq!(why("6.1.0.2"), (6, "Anonymous-IP `is_hosting_provider` is set".into()));
        assert_eq!(why("2.125.160.218"), (7, "connection type is `Cable/DSL`".into()));
        assert_eq!(why("192.0.2.1"), (8, "no configured database or network list gives a deciding signal".into()));
    }

    #[test]
    fn every_database_record_is_available_for_analysts() {
        let g = geo();
        let recs = g.database_records(ip("81.2.69.142"));
        assert_eq!(recs.len(), 7);
        assert_eq!((recs[0].kind, recs[0].origin.as_str()), (Some(DbKind::City), "embedded:GeoIP2-City-Test.mmdb"));
        let city = recs[0].record.as_ref().unwrap();
        assert_eq!(city["city"]["names"]["en"], "London");
        assert!(recs[0].network.as_deref().is_some_and(|n| n.starts_with("81.2.69.")), "{:?}", recs[0].network);
        let anon = recs.iter().find(|r| r.kind == Some(DbKind::AnonymousIp)).unwrap();
        assert_eq!(anon.record.as_ref().unwrap()["is_anonymous_vpn"], true);
        // A database that does not cover the IP has no record.
        assert!(g.database_records(ip("192.0.2.1")).iter().all(|r| r.record.is_none()));
    }

    #[test]
    fn bundled_databases_are_addressable_as_embedded_paths() {
        let mut g = GeoIp::disabled();
        g.add_file("enrichments.geoip.city", Path::new("embedded:GeoIP2-City-Test.mmdb")).unwrap();
        assert_eq!(g.lookup(ip("81.2.69.142")).city.as_deref(), Some("London"));
        let e = g.add_file("enrichments.geoip.asn", Path::new("embedded:nope.mmdb")).unwrap_err().to_string();
        assert!(
            e.starts_with("enrichments.geoip.asn: cannot read `embedded:nope.mmdb`: no such bundled database"),
            "{e}"
        );
    }

    #[test]
    fn vpn_egress_is_corporate() {
        let g = GeoIp::test_databases().unwrap().with_vpn_egress_cidrs(["1.2.0.0/24".parse().unwrap()]);
        // 1.2.0.5 is an Anonymous-IP VPN range; our own VPN egress wins.
        assert_eq!(g.lookup(ip("1.2.0.5")).network_type, NetworkType::Corporate);
        assert_eq!(g.lookup(ip("1.2.1.5")).network_type, NetworkType::Anonymizer);
        assert!(g.is_corporate(ip("::ffff:1.2.0.9")));
        assert_eq!(g.vpn_egress_cidrs().len(), 1);
    }

    #[test]
    fn network_lists_decide_when_the_databases_do_not() {
        let g = geo();
        // AS6167 (Verizon Wireless, listed `cellular`): 70.192.0.0/11 is only
        // in GeoLite2-ASN, no connection type.
        let v = g.lookup(ip("70.192.0.1"));
        assert_eq!((v.asn, v.connection_type.as_deref()), (Some(6167), None));
        assert_eq!(v.network_type, NetworkType::Cellular);
        // AS12576 (EE, `cellular_mixed`) alone does not say cellular.
        let ee = g.lookup(ip("31.64.0.1"));
        assert_eq!((ee.asn, ee.network_type), (Some(12576), NetworkType::Unknown));
        // AS35994 (Akamai, `hosting`).
        assert_eq!(g.lookup(ip("23.32.0.1")).network_type, NetworkType::Hosting);
        // AS15169 (Google, `hosting`) beats the Connection-Type `Cable/DSL`
        // of 1.0.0.0/24: step 6 comes before step 7.
        let goog = g.lookup(ip("1.0.0.1"));
        assert_eq!((goog.asn, goog.connection_type.as_deref()), (Some(15169), Some("Cable/DSL")));
        assert_eq!(goog.network_type, NetworkType::Hosting);
        // An organisation list: AS12576 promoted to cellular, AS1221 (Telstra)
        // as public Wi-Fi for the sake of the test, Google cancelled.
        let mut lists = NetworkLists::embedded().unwrap();
        lists
            .add_file_text(
                "[[asn]]\nasn = 12576\nname = \"EE\"\nkind = \"cellular\"\nsource = \"s\"\n\
                 [[asn]]\nasn = 1221\nname = \"Telstra\"\nkind = \"public_wifi\"\nsource = \"s\"\n\
                 [[asn]]\nasn = 15169\nname = \"Google\"\nkind = \"none\"\nsource = \"s\"\n",
                "enrichments.network_lists[0]",
                "ours.toml",
            )
            .unwrap();
        let g = geo().with_network_lists(lists);
        assert_eq!(g.lookup(ip("31.64.0.1")).network_type, NetworkType::Cellular);
        assert_eq!(g.lookup(ip("1.128.0.1")).network_type, NetworkType::PublicWifi);
        assert_eq!(g.lookup(ip("1.0.0.1")).network_type, NetworkType::Residential);
    }

    #[test]
    fn isp_mobile_codes_say_cellular() {
        // Only the ISP database: 149.101.100.0/28 has mobile_country_code 310.
        let mut g = GeoIp::disabled().with_network_lists(NetworkLists::default());
        g.add_static("enrichments.geoip.isp", "isp", test_dbs::ISP).unwrap();
        let r = g.lookup(ip("149.101.100.1"));
        assert_eq!((r.connection_type, r.network_type), (None, NetworkType::Cellular));
        assert_eq!(r.as_org.as_deref(), Some("CELLCO-PART"));
    }

    #[test]
    fn custom_columns_read_any_field() {
        let g = geo()
            .with_fields(&[
                field("geo_postal", "city", "postal.code", "string"),
                field("geo_time_zone", "city", "location.time_zone", "string"),
                field("geo_subdivision", "city", "subdivisions.0.iso_code", "string"),
                field("geo_last_subdivision", "city", "subdivisions.-1.names.en", "string"),
                field("geo_lat", "city", "location.latitude", "float"),
                field("geo_accuracy", "city", "location.accuracy_radius", "int"),
                field("geo_eu", "city", "country.is_in_european_union", "bool"),
                field("isp_mcc", "isp", "mobile_country_code", "string"),
                field("isp_mcc_int", "isp", "mobile_country_code", "int"),
                field("ent_user_type", "enterprise", "traits.user_type", "string"),
                field("ent_static_score", "enterprise", "traits.static_ip_score", "float"),
                field("domain_name", "domain", "domain", "string"),
                field("city_names", "city", "city.names", "string"),
            ])
            .unwrap();
        let names: Vec<_> = g.custom_columns().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names[0], "geo_postal");
        assert_eq!(g.custom_columns()[4].column_type, ColumnType::Float);
        let s = |v: &str| Some(CustomValue::String(v.into()));
        let london = g.lookup_custom(ip("81.2.69.160"));
        assert_eq!(london[1], s("Europe/London"));
        assert_eq!(london[2], s("ENG"));
        assert_eq!(london[3], s("England"));
        assert_eq!(london[5], Some(CustomValue::Int(100)));
        assert_eq!(london[9], s("government"));
        assert_eq!(
            london[12].as_ref().map(|v| matches!(v, CustomValue::String(j) if j.contains("\"en\":\"London\""))),
            Some(true)
        );
        let milton = g.lookup_custom(ip("216.160.83.57"));
        assert_eq!(milton[0], s("98354"));
        assert_eq!(milton[1], s("America/Los_Angeles"));
        assert_eq!(milton[2], s("WA"));
        assert_eq!(milton[4], Some(CustomValue::Float(47.2513)));
        assert_eq!(milton[6], None, "US is not in the EU (field absent)");
        let linkoping = g.lookup_custom(ip("89.160.20.115"));
        assert_eq!(linkoping[6], Some(CustomValue::Bool(true)));
        let verizon = g.lookup_custom(ip("149.101.100.1"));
        assert_eq!(verizon[7], s("310"));
        assert_eq!(verizon[8], Some(CustomValue::Int(310)));
        let traveler = g.lookup_custom(ip("214.214.214.216"));
        assert_eq!(traveler[9], s("traveler"));
        assert_eq!(traveler[10], Some(CustomValue::Float(0.4)));
        assert_eq!(g.lookup_custom(ip("1.2.3.4"))[11], s("maxmind.com"));
        assert_eq!(g.lookup_custom(ip("192.0.2.1")), vec![None; 13]);
        // The built-in fields are unchanged by custom columns.
        assert_eq!(g.lookup(ip("81.2.69.160")).city.as_deref(), Some("London"));
    }

    #[test]
    fn bad_custom_columns_are_named() {
        let all = |fields: &[GeoFieldConfig], configured: &[DbKind]| {
            check_fields(fields, configured).iter().map(|e| e.to_string()).collect::<Vec<_>>()
        };
        let e = all(
            &[
                field("Geo-Postal", "city", "postal.code", "string"),
                field("network_type", "city", "postal.code", "string"),
                field("x", "cty", "postal.code", "string"),
                field("y", "isp", "mobile_country_code", "string"),
                field("z", "city", "postal..code", "string"),
                field("w", "city", "postal.code", "text"),
                field("v", "city", "names.$en", "string"),
                field("x", "city", "postal.code", "string"),
            ],
            &[DbKind::City],
        );
        assert_eq!(e.len(), 8, "{e:#?}");
        assert!(e[0].starts_with("enrichments.geoip.fields[0].column: `Geo-Postal` is not a snake_case"), "{}", e[0]);
        assert_eq!(
            e[1],
            "enrichments.geoip.fields[1].column: `network_type` is a built-in column; choose another name"
        );
        assert!(
            e[2].starts_with("enrichments.geoip.fields[2].database: unknown database `cty`; expected one of city, asn"),
            "{}",
            e[2]
        );
        assert_eq!(
            e[3],
            "enrichments.geoip.fields[3].database: database `isp` is not configured; set `enrichments.geoip.isp` (or `enrichments.geoip.demo`)"
        );
        assert_eq!(
            e[4],
            "enrichments.geoip.fields[4].path: `postal..code` has an empty segment; separate keys with single dots"
        );
        assert_eq!(
            e[5],
            "enrichments.geoip.fields[5].type: `text` is not a column type; expected string, int, float or bool"
        );
        assert!(e[6].starts_with("enrichments.geoip.fields[6].path: `names.$en`: `$en` is not a key"), "{}", e[6]);
        assert_eq!(
            e[7],
            "enrichments.geoip.fields[7].column: `x` is already the column of enrichments.geoip.fields[2]"
        );
        let first = GeoIp::disabled().with_fields(&[field("a", "city", "x", "string")]).unwrap_err().to_string();
        assert!(
            first.starts_with("enrichments.geoip.fields[0].database: database `city` is not configured"),
            "{first}"
        );
    }

    #[test]
    fn the_cache_answers_hits_with_the_same_record() {
        let g = geo().with_cache_size(1000);
        assert_eq!(g.cache_stats(), CacheStats { capacity: 1000, ..CacheStats::default() });
        let first = g.lookup_record(ip("81.2.69.142"));
        let second = g.lookup_record(ip("81.2.69.142"));
        assert!(Arc::ptr_eq(&first, &second), "a hit shares the cached record");
        assert_eq!(second.info.city.as_deref(), Some("London"));
        assert_eq!(*first, g.lookup_uncached(ip("81.2.69.142")));
        assert_eq!(g.lookup(ip("81.2.69.142")), first.info);
        let st = g.cache_stats();
        assert_eq!((st.hits, st.misses, st.len), (2, 1, 1));
        // Disabled cache: same answers, no counts.
        let nc = geo().with_cache_size(0);
        assert_eq!(nc.lookup(ip("81.2.69.142")), first.info);
        assert_eq!(nc.cache_stats(), CacheStats::default());
        // Shared across threads.
        let g = Arc::new(geo());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let g = Arc::clone(&g);
                std::thread::spawn(move || {
                    (0..100).map(|_| g.lookup(ip("214.78.120.5")).network_type).collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap().iter().all(|t| *t == NetworkType::Satellite));
        }
        let st = g.cache_stats();
        assert_eq!(st.hits + st.misses, 200);
        assert!(st.misses <= 2, "{st:?}");
    }

    #[test]
    fn database_files_are_memory_mapped_or_read() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/geoip-test");
        let mut g = GeoIp::disabled();
        g.add_file("enrichments.geoip.city", &data.join("GeoLite2-City-Test.mmdb")).unwrap();
        g.add_file_with("enrichments.geoip.anonymous_ip", &data.join("GeoIP-Anonymous-Plus-Test.mmdb"), false).unwrap();
        let dbs = g.databases();
        assert_eq!((dbs[0].0, dbs[0].2), (Some(DbKind::City), true));
        assert_eq!((dbs[1].0, dbs[1].2), (Some(DbKind::AnonymousIp), false));
        let r = g.lookup(ip("89.160.20.130"));
        assert_eq!((r.country.as_deref(), r.city.as_deref()), (Some("SE"), Some("Linköping")));
        // Anonymous Plus reads like Anonymous-IP.
        assert_eq!(g.lookup(ip("1.2.0.1")).network_type, NetworkType::Anonymizer);
        let g = g.with_fields(&[field("anon_confidence", "anonymous_ip", "anonymizer_confidence", "int")]).unwrap();
        assert_eq!(g.lookup_custom(ip("1.2.0.1")), vec![Some(CustomValue::Int(30))]);
        // A Country database in the `city` slot.
        let mut c = GeoIp::disabled();
        c.add_file("enrichments.geoip.city", &data.join("GeoIP2-Country-Test.mmdb")).unwrap();
        let r = c.lookup(ip("74.209.16.1"));
        assert_eq!((r.country.as_deref(), r.city), (Some("US"), None));
    }

    #[test]
    fn a_file_that_is_not_a_database_is_rejected_with_its_setting() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.mmdb");
        std::fs::write(&p, b"not a database").unwrap();
        for mmap in [true, false] {
            let e = GeoIp::disabled().add_file_with("enrichments.geoip.city", &p, mmap).unwrap_err().to_string();
            assert!(e.starts_with("enrichments.geoip.city:") && e.contains("not a readable MaxMind database"), "{e}");
        }
        let e = GeoIp::disabled().add_file("enrichments.geoip.asn", &dir.path().join("nope.mmdb")).unwrap_err();
        assert!(e.to_string().starts_with("enrichments.geoip.asn: cannot read"), "{e}");
        std::fs::write(&p, b"").unwrap();
        let e = GeoIp::disabled().add_file("enrichments.geoip.city", &p).unwrap_err().to_string();
        assert!(e.starts_with("enrichments.geoip.city:"), "{e}");
    }
}
