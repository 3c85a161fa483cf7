//! Network lists: autonomous systems whose traffic is of one network type
//! (public Wi-Fi operators, mobile carriers, satellite ISPs, clouds), used by
//! [`crate::geo`] when the MaxMind databases do not say.
//!
//! No open list of hotspot-provider or mobile-carrier ASNs exists, so
//! floodlight ships its own, `data/network/asn-lists.toml`, with a source for
//! every entry; organisations add their own files
//! (`[enrichments] network_lists = ["our-asns.toml"]`), each entry of which
//! replaces the shipped entry for the same ASN.
//!
//! ```toml
//! [[asn]]
//! asn = 14593
//! name = "Space Exploration Technologies Corporation (Starlink)"
//! kind = "satellite"        # public_wifi | cellular | cellular_mixed | satellite | hosting | none
//! country = "US"            # optional, ISO 3166 alpha-2
//! source = "https://rdap.arin.net/registry/autnum/14593"
//! note = "optional free text"
//! ```
//!
//! Rules, checked on load (errors name the setting, the file and the entry):
//! every entry has a non-empty `source` and `name`, a known `kind` and an
//! ASN above 0; an ASN appears once per file; two organisation files may
//! not give one ASN different kinds (an organisation file over the shipped
//! list is an override, not a conflict).
//!
//! `cellular_mixed` marks a carrier whose AS also carries fixed broadband:
//! such an ASN alone never makes an IP `cellular` (it would flag every home
//! DSL user of the carrier). `none` cancels a shipped entry.

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::EnrichmentError;

/// The shipped list.
pub const EMBEDDED_ASN_LISTS: &str = include_str!("../data/network/asn-lists.toml");

/// What an AS's traffic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsnKind {
    /// Hotspot, inflight or rail Wi-Fi operator.
    PublicWifi,
    /// Mobile carrier whose AS carries (almost) only mobile traffic.
    Cellular,
    /// Mobile carrier whose AS also carries fixed broadband: never decides alone.
    CellularMixed,
    /// Satellite ISP.
    Satellite,
    /// Cloud, hosting or CDN provider.
    Hosting,
    /// Cancels a shipped entry.
    None,
}

impl AsnKind {
    /// The name used in list files.
    pub fn as_str(self) -> &'static str {
        match self {
            AsnKind::PublicWifi => "public_wifi",
            AsnKind::Cellular => "cellular",
            AsnKind::CellularMixed => "cellular_mixed",
            AsnKind::Satellite => "satellite",
            AsnKind::Hosting => "hosting",
            AsnKind::None => "none",
        }
    }

    /// Parse a list file's `kind`.
    pub fn parse(s: &str) -> Option<AsnKind> {
        Some(match s {
            "public_wifi" => AsnKind::PublicWifi,
            "cellular" => AsnKind::Cellular,
            "cellular_mixed" => AsnKind::CellularMixed,
            "satellite" => AsnKind::Satellite,
            "hosting" => AsnKind::Hosting,
            "none" => AsnKind::None,
            _ => return None,
        })
    }
}

/// One list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsnEntry {
    /// AS number.
    pub asn: u32,
    /// Operator.
    pub name: String,
    /// What its traffic is.
    pub kind: AsnKind,
    /// ISO 3166 alpha-2 country, when given.
    pub country: Option<String>,
    /// Where the fact comes from.
    pub source: String,
    /// Free text.
    pub note: Option<String>,
    /// The file it came from (`embedded:asn-lists.toml` or a path).
    pub origin: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    asn: Vec<EntryToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryToml {
    asn: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    source: String,
    #[serde(default)]
    note: Option<String>,
}

/// ASN → entry, merged from the shipped list and the organisation's files.
#[derive(Debug, Clone, Default)]
pub struct NetworkLists {
    by_asn: HashMap<u32, AsnEntry>,
    /// For each ASN set by an organisation file: that file (conflict checks).
    overridden_by: HashMap<u32, String>,
}

fn data_err(setting: &str, origin: &str, message: String) -> EnrichmentError {
    EnrichmentError::Data { setting: setting.to_string(), origin: origin.to_string(), message }
}

/// Parse and check one list file. `setting` and `origin` name it in errors.
pub fn parse_list_file(text: &str, setting: &str, origin: &str) -> Result<Vec<AsnEntry>, EnrichmentError> {
    let file: FileToml = toml::from_str(text).map_err(|e| data_err(setting, origin, e.to_string()))?;
    let mut seen: HashMap<u32, usize> = HashMap::new();
    let mut out = Vec::with_capacity(file.asn.len());
    for (i, e) in file.asn.into_iter().enumerate() {
        let at = |m: String| data_err(setting, origin, format!("[[asn]] entry {} (asn = {}): {m}", i + 1, e.asn));
        let asn =
            u32::try_from(e.asn).ok().filter(|a| *a > 0).ok_or_else(|| at("`asn` must be 1..4294967295".into()))?;
        let kind = AsnKind::parse(e.kind.trim()).ok_or_else(|| {
            at(format!(
                "`kind` is `{}`; expected public_wifi, cellular, cellular_mixed, satellite, hosting or none",
                e.kind
            ))
        })?;
        if e.source.trim().is_empty() {
            return Err(at(
                "`source` is missing: say where the ASN-to-operator fact comes from (registry record or the operator's page)"
                    .into(),
            ));
        }
        if e.name.trim().is_empty() {
            return Err(at("`name` is missing".into()));
        }
        if let Some(c) = &e.country {
            if c.len() != 2 || !c.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(at(format!("`country` is `{c}`; expected an ISO 3166 alpha-2 code such as `US`")));
            }
        }
        if let Some(first) = seen.insert(asn, i + 1) {
            let prev: &AsnEntry = &out[first - 1];
            let what = if prev.kind == kind { "listed twice" } else { "listed twice with conflicting kinds" };
            return Err(at(format!("{what} (entry {first} says `{}`)", prev.kind.as_str())));
        }
        out.push(AsnEntry {
            asn,
            name: e.name.trim().to_string(),
            kind,
            country: e.country,
            source: e.source.trim().to_string(),
            note: e.note,
            origin: origin.to_string(),
        });
    }
    Ok(out)
}

impl NetworkLists {
    /// The shipped list.
    pub fn embedded() -> Result<NetworkLists, EnrichmentError> {
        let entries = parse_list_file(EMBEDDED_ASN_LISTS, "enrichments.network_lists", "embedded:asn-lists.toml")?;
        let mut l = NetworkLists::default();
        for e in entries {
            l.by_asn.insert(e.asn, e);
        }
        Ok(l)
    }

    /// Merge an organisation's list file over what is there. `setting` and
    /// `origin` name it in errors.
    pub fn add_file_text(&mut self, text: &str, setting: &str, origin: &str) -> Result<(), EnrichmentError> {
        for e in parse_list_file(text, setting, origin)? {
            if let Some(other) = self.overridden_by.get(&e.asn) {
                if let Some(prev) = self.by_asn.get(&e.asn).filter(|p| p.kind != e.kind) {
                    return Err(data_err(
                        setting,
                        origin,
                        format!(
                            "asn {} is `{}` here but `{}` in `{other}`; list it in one file",
                            e.asn,
                            e.kind.as_str(),
                            prev.kind.as_str()
                        ),
                    ));
                }
            }
            self.overridden_by.insert(e.asn, origin.to_string());
            self.by_asn.insert(e.asn, e);
        }
        Ok(())
    }

    /// The shipped list with `files` (`enrichments.network_lists`) merged
    /// over it, in order. Relative paths resolve against `base_dir`.
    pub fn with_files(
        files: &[std::path::PathBuf],
        base_dir: &std::path::Path,
    ) -> Result<NetworkLists, EnrichmentError> {
        let mut lists = NetworkLists::embedded()?;
        for (i, p) in files.iter().enumerate() {
            let setting = format!("enrichments.network_lists[{i}]");
            let full = crate::files::resolve(base_dir, p);
            let origin = full.display().to_string();
            let text =
                crate::files::read_text(&full).map_err(|e| data_err(&setting, &origin, format!("cannot read: {e}")))?;
            lists.add_file_text(&text, &setting, &origin)?;
        }
        Ok(lists)
    }

    /// The entry for `asn`, unless cancelled with `kind = "none"`.
    pub fn get(&self, asn: u32) -> Option<&AsnEntry> {
        self.by_asn.get(&asn).filter(|e| e.kind != AsnKind::None)
    }

    /// The kind of `asn`, unless unlisted or cancelled.
    pub fn kind(&self, asn: u32) -> Option<AsnKind> {
        self.get(asn).map(|e| e.kind)
    }

    /// Number of entries in effect.
    pub fn len(&self) -> usize {
        self.by_asn.values().filter(|e| e.kind != AsnKind::None).count()
    }

    /// Whether no entry is in effect.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry in effect, by ASN.
    pub fn entries(&self) -> Vec<&AsnEntry> {
        let mut v: Vec<_> = self.by_asn.values().filter(|e| e.kind != AsnKind::None).collect();
        v.sort_by_key(|e| e.asn);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_is_valid_and_sourced() {
        let l = NetworkLists::embedded().unwrap();
        assert!(l.len() >= 40, "{}", l.len());
        let starlink = l.get(14593).unwrap();
        assert_eq!((starlink.kind, starlink.country.as_deref()), (AsnKind::Satellite, Some("US")));
        assert_eq!(starlink.source, "https://rdap.arin.net/registry/autnum/14593");
        assert_eq!(l.kind(21928), Some(AsnKind::Cellular), "T-Mobile US");
        assert_eq!(l.kind(22394), Some(AsnKind::Cellular), "Verizon Wireless");
        assert_eq!(l.kind(3209), Some(AsnKind::CellularMixed), "Vodafone DE");
        assert_eq!(l.kind(16509), Some(AsnKind::Hosting), "AWS");
        assert_eq!(l.kind(7018), None, "AT&T fixed is not listed");
        for e in l.entries() {
            assert!(e.source.starts_with("https://"), "{} {}", e.asn, e.source);
            let rdap = e.source.contains("rdap.");
            assert!(!rdap || e.source.ends_with(&format!("/autnum/{}", e.asn)), "{}: {}", e.asn, e.source);
        }
    }

    #[test]
    fn organisation_files_override_and_cancel() {
        let mut l = NetworkLists::embedded().unwrap();
        l.add_file_text(
            "[[asn]]\nasn = 3209\nname = \"Vodafone DE\"\nkind = \"cellular\"\nsource = \"our tethering study\"\n\
             [[asn]]\nasn = 15169\nname = \"Google\"\nkind = \"none\"\nsource = \"we use Google Fi\"\n\
             [[asn]]\nasn = 64500\nname = \"Our airport\"\nkind = \"public_wifi\"\nsource = \"ops wiki\"\n",
            "enrichments.network_lists[0]",
            "ours.toml",
        )
        .unwrap();
        assert_eq!(l.kind(3209), Some(AsnKind::Cellular));
        assert_eq!(l.kind(15169), None);
        assert_eq!(l.kind(64500), Some(AsnKind::PublicWifi));
        assert_eq!(l.get(64500).unwrap().origin, "ours.toml");
        // A second organisation file may not contradict the first.
        let e = l
            .add_file_text(
                "[[asn]]\nasn = 64500\nname = \"x\"\nkind = \"hosting\"\nsource = \"y\"\n",
                "enrichments.network_lists[1]",
                "theirs.toml",
            )
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "enrichments.network_lists[1]: `theirs.toml`: asn 64500 is `hosting` here but `public_wifi` in `ours.toml`; list it in one file"
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let p = |t: &str| parse_list_file(t, "enrichments.network_lists[0]", "ours.toml").unwrap_err().to_string();
        let e = p("[[asn]]\nasn = 64500\nname = \"x\"\nkind = \"hosting\"\n");
        assert!(
            e.starts_with(
                "enrichments.network_lists[0]: `ours.toml`: [[asn]] entry 1 (asn = 64500): `source` is missing"
            ),
            "{e}"
        );
        let e = p("[[asn]]\nasn = 1\nname = \"a\"\nkind = \"hosting\"\nsource = \"s\"\n[[asn]]\nasn = 1\nname = \"b\"\nkind = \"cellular\"\nsource = \"s\"\n");
        assert!(e.contains("entry 2 (asn = 1): listed twice with conflicting kinds (entry 1 says `hosting`)"), "{e}");
        let e = p("[[asn]]\nasn = 2\nname = \"a\"\nkind = \"wifi\"\nsource = \"s\"\n");
        assert!(e.contains("`kind` is `wifi`; expected public_wifi"), "{e}");
        let e = p("[[asn]]\nasn = -5\nname = \"a\"\nkind = \"hosting\"\nsource = \"s\"\n");
        assert!(e.contains("`asn` must be"), "{e}");
        let e = p("[[asn]]\nasn = 5\nname = \"a\"\nkind = \"hosting\"\nsource = \"s\"\ncountry = \"usa\"\n");
        assert!(e.contains("`country` is `usa`"), "{e}");
        let e = p("[[asn]]\nasn = 5\nnmae = \"a\"\n");
        assert!(e.contains("nmae"), "{e}");
    }
}
