//! `floodlight lookup`: every enrichment field for one value, as JSON, for
//! analysts checking why a finding said what it said ("why is this IP
//! `public_wifi`?", "which app is this client id?").
//!
//! The answers come from the same [`Enrichments`] snapshot the pipeline
//! builds from the config, so they are exactly what the enrichment stage
//! would add to an event carrying that value.

use std::net::IpAddr;

use anyhow::{bail, Result};
use clap::ValueEnum;
use floodlight_enrichments::{resembles_user, App, DirectoryEntry, Enrichments};
use serde_json::{json, Value};

/// What kind of value is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LookupKind {
    /// An IPv4 or IPv6 address: GeoIP fields, custom GeoIP columns, network type.
    Ip,
    /// A host name or URL host: the catalog app it belongs to.
    Domain,
    /// An e-mail address: personal / disposable / corporate, the sender app, the directory entry.
    Email,
    /// An OAuth client id or app display name: the catalog app.
    ClientId,
    /// A user name or address: the directory entry.
    User,
}

/// Every enrichment field for `value`, as one JSON object.
pub fn lookup(snap: &Enrichments, kind: LookupKind, value: &str) -> Result<Value> {
    let value = value.trim();
    if value.is_empty() {
        bail!("nothing to look up: the value is empty");
    }
    Ok(match kind {
        LookupKind::Ip => {
            let Ok(ip) = value.parse::<IpAddr>() else {
                bail!("`{value}` is not an IPv4 or IPv6 address");
            };
            let r = snap.geo.lookup_record(ip);
            let i = &r.info;
            let custom: serde_json::Map<String, Value> = snap
                .geo
                .custom_columns()
                .iter()
                .zip(r.custom.iter())
                .map(|(c, v)| (c.name.clone(), custom_value(v.as_ref())))
                .collect();
            json!({
                "ip": ip.to_string(),
                "geo_country": i.country,
                "geo_city": i.city,
                "geo_asn": i.asn,
                "geo_as_org": i.as_org,
                "geo_connection_type": i.connection_type,
                "geo_user_type": i.user_type,
                "geo_is_anonymous": i.is_anonymous,
                "network_type": i.network_type.as_str(),
                "custom": custom,
            })
        }
        LookupKind::Domain => {
            let host = host_of(value);
            match snap.catalog.lookup_domain_match(&host) {
                Some((app, matched)) => json!({"domain": host, "matched_domain": matched, "app": app_json(snap, app)}),
                None => json!({"domain": host, "matched_domain": null, "app": null, "app_status": "unknown"}),
            }
        }
        LookupKind::Email => {
            let info = snap.email.classify(value);
            let Some(domain) = info.domain.clone() else {
                bail!("`{value}` is not an e-mail address");
            };
            let entry = snap.directory.lookup(value);
            let owner_like = |e: &DirectoryEntry| {
                info.local_part.as_deref().is_some_and(|l| resembles_user(&e.user, e.display_name.as_deref(), l))
            };
            json!({
                "address": value.to_ascii_lowercase(),
                "domain": domain,
                "local_part": info.local_part,
                "is_personal": info.is_personal,
                "is_disposable": info.is_disposable,
                "is_corporate": info.is_corporate,
                "app": snap.catalog.lookup_domain(&domain).map(|a| app_json(snap, a)),
                "directory": entry.map(directory_json),
                "resembles_directory_user": entry.map(owner_like),
            })
        }
        LookupKind::ClientId => {
            let by_id = snap.catalog.lookup_client_id(value);
            let (app, matched_by) = match by_id {
                Some(a) => (Some(a), "client_id"),
                None => (snap.catalog.lookup_oauth_name(value), "oauth_name"),
            };
            json!({
                "client_id": value,
                "matched_by": app.map(|_| matched_by),
                "app": app.map(|a| app_json(snap, a)),
                "app_status": app.map_or("unknown", |a| a.status.as_str()),
            })
        }
        LookupKind::User => {
            json!({"user": value, "directory": snap.directory.lookup(value).map(directory_json)})
        }
    })
}

fn host_of(value: &str) -> String {
    let v = value.split_once("://").map_or(value, |(_, rest)| rest);
    let v = v.split(['/', '?', '#']).next().unwrap_or(v);
    let v = v.rsplit_once('@').map_or(v, |(_, h)| h);
    let v = if v.starts_with('[') { v } else { v.split(':').next().unwrap_or(v) };
    v.trim_end_matches('.').to_ascii_lowercase()
}

fn app_json(snap: &Enrichments, app: &App) -> Value {
    let alternative = app.alternative.as_deref().map(|id| snap.catalog.get(id).map_or(id, |a| a.name.as_str()));
    json!({
        "app_id": app.id,
        "app_name": app.name,
        "app_vendor": app.vendor,
        "app_category": app.category.as_str(),
        "app_risk": app.risk,
        "app_risk_factors": app.risk_factors.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        "app_status": app.status.as_str(),
        "app_status_reason": app.status_reason,
        "app_owner": app.owner,
        "app_alternative": alternative,
        "domains": app.domains,
        "client_ids": app.client_ids,
        "notes": app.notes,
        "sources": app.sources,
    })
}

fn directory_json(e: &DirectoryEntry) -> Value {
    json!({
        "user": e.user,
        "user_display_name": e.display_name,
        "user_email": e.email,
        "user_department": e.department,
        "user_manager": e.manager,
        "user_role": e.role,
        "user_flags": e.flags,
        "aliases": e.aliases,
    })
}

fn custom_value(v: Option<&floodlight_enrichments::CustomValue>) -> Value {
    use floodlight_enrichments::CustomValue;
    match v {
        None => Value::Null,
        Some(CustomValue::String(s)) => json!(s),
        Some(CustomValue::Int(i)) => json!(i),
        Some(CustomValue::Float(f)) => json!(f),
        Some(CustomValue::Bool(b)) => json!(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Enrichments {
        let cfg: floodlight_enrichments::EnrichmentConfig = toml::from_str(
            "corporate_cidrs = [\"89.160.20.112/28\"]\ncorporate_domains = [\"corp.example.com\"]\ndirectory = \"embedded:demo/users.csv\"\noverlay = \"embedded:demo/overlay.toml\"\n[geoip]\ndemo = true\n",
        )
        .unwrap();
        Enrichments::load(&cfg, std::path::Path::new(".")).unwrap()
    }

    #[test]
    fn ip_answers_geo_and_network_type() {
        let e = demo();
        let v = lookup(&e, LookupKind::Ip, "89.160.20.115").unwrap();
        assert_eq!(v["network_type"], "corporate");
        let v = lookup(&e, LookupKind::Ip, "149.101.100.1").unwrap();
        assert_eq!(v["geo_asn"], 6167);
        assert_eq!(v["network_type"], "cellular");
        assert!(lookup(&e, LookupKind::Ip, "not-an-ip").unwrap_err().to_string().contains("not an IPv4"));
    }

    #[test]
    fn domain_finds_the_app_by_longest_suffix() {
        let e = demo();
        let v = lookup(&e, LookupKind::Domain, "https://eu.files.wetransfer.com/x?y").unwrap();
        assert_eq!(v["domain"], "eu.files.wetransfer.com");
        assert_eq!(v["matched_domain"], "wetransfer.com");
        assert_eq!(v["app"]["app_id"], "wetransfer");
        let v = lookup(&e, LookupKind::Domain, "intranet.nowhere.invalid").unwrap();
        assert_eq!(v["app_status"], "unknown");
    }

    #[test]
    fn email_classifies_and_joins_the_directory() {
        let e = demo();
        let v = lookup(&e, LookupKind::Email, "Someone@Gmail.com").unwrap();
        assert_eq!(v["is_personal"], true);
        assert_eq!(v["is_corporate"], false);
        let v = lookup(&e, LookupKind::Email, "ana.pereira@corp.example.com").unwrap();
        assert_eq!(v["is_corporate"], true);
        assert_eq!(v["directory"]["user_display_name"], "Ana Pereira");
        assert!(lookup(&e, LookupKind::Email, "nobody").is_err());
    }

    #[test]
    fn client_id_by_name_when_the_id_is_unknown() {
        let e = demo();
        let v = lookup(&e, LookupKind::ClientId, "Zoom").unwrap();
        assert_eq!(v["matched_by"], "oauth_name");
        assert_eq!(v["app_status"], "sanctioned");
        let v = lookup(&e, LookupKind::ClientId, "00000000-dead-beef").unwrap();
        assert_eq!(v["app_status"], "unknown");
        assert!(v["app"].is_null());
    }
}
