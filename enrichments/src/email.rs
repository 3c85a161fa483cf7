//! Email-address classes: personal (free-mail), disposable, corporate.
//!
//! Owns parsing an address out of what mail logs contain (`Ana <ana@x>`,
//! `smtp:ana@x`, `mailto:`, upper case, internationalised domains, which
//! are compared in punycode), and classifying its domain. Bundled lists
//! (see `data/email/SOURCES.md`): `freemail/free.txt` (willwhite/freemail,
//! ISC) plus `extra/personal-extra.txt` (hand-curated) for personal, and
//! `disposable/disposable_email_blocklist.conf` (disposable-email-domains,
//! CC0) for disposable. Organisations add their own lists and their
//! corporate domains in config.
//!
//! A subdomain of a listed domain counts as listed (`eu.mailinator.com`).
//! A corporate domain (or a subdomain of one) is never personal or
//! disposable, whatever the lists say.
//!
//! The overlay's `[[partner]]` entries (see [`crate::overlay`]) add the
//! destinations the organisation agreed to: [`EmailClassifier::add_partners`]
//! takes the ones that hold today, and [`AddressInfo::partner`] names the
//! partner an address belongs to (its own address first, then its domain).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};

use crate::date::Date;
use crate::overlay::PartnerRule;

/// The bundled free-mail list.
pub const EMBEDDED_FREEMAIL: &str = include_str!("../data/email/freemail/free.txt");
/// Hand-curated additions to the free-mail list.
pub const EMBEDDED_PERSONAL_EXTRA: &str = include_str!("../data/email/extra/personal-extra.txt");
/// The bundled disposable-mail list.
pub const EMBEDDED_DISPOSABLE: &str = include_str!("../data/email/disposable/disposable_email_blocklist.conf");

/// What floodlight knows about one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressInfo {
    /// Domain, lower case; `None` when the input is not an address.
    pub domain: Option<String>,
    /// Local part, lower case.
    pub local_part: Option<String>,
    /// Free-mail provider (a personal mailbox).
    pub is_personal: bool,
    /// Disposable-mail provider.
    pub is_disposable: bool,
    /// One of the organisation's domains (or a subdomain of one).
    pub is_corporate: bool,
    /// The overlay `[[partner]]` (its name) the address belongs to, while
    /// the agreement holds.
    pub partner: Option<String>,
}

/// A list of domains, lower case.
type DomainSet = HashSet<String>;

/// Classifies addresses against domain lists.
#[derive(Debug, Clone, Default)]
pub struct EmailClassifier {
    /// Shared with every classifier built from the same lists (the bundled
    /// ones are parsed once per process); copied on the first addition.
    personal: Arc<DomainSet>,
    disposable: Arc<DomainSet>,
    corporate: Vec<String>,
    /// Partner domain → partner name.
    partner_domains: HashMap<String, String>,
    /// Partner address (`local@domain`, lower case) → partner name.
    partner_addresses: HashMap<String, String>,
}

/// Domains of a list file: one per line, `#` comments, blank lines ignored.
pub fn parse_list(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|l| !l.is_empty())
}

/// Split `"Ana <Ana.P@Gmail.com>"`, `smtp:ana@gmail.com`, `[SMTP:x@y]` into (local, domain), lower case.
pub fn split_address(address: &str) -> Option<(String, String)> {
    let mut a = address.trim();
    if let (Some(s), Some(e)) = (a.rfind('<'), a.rfind('>')) {
        if s < e {
            a = &a[s + 1..e];
        }
    }
    let a = a.trim().trim_matches(['[', ']', '"', '\'', ' ']);
    let a = match a.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("smtp") || scheme.eq_ignore_ascii_case("mailto") => rest,
        _ => a,
    };
    let (local, domain) = a.rsplit_once('@')?;
    let local = local.trim().to_lowercase();
    let domain = domain.trim().trim_end_matches('.');
    // Internationalised domains compare in their ASCII (punycode) form, as
    // the lists hold them: `correo.españa.example` → `correo.xn--espaa-rta.example`.
    let domain = if domain.is_ascii() { domain.to_ascii_lowercase() } else { idna::domain_to_ascii(domain).ok()? };
    let valid_domain = domain.contains('.')
        && domain.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if local.is_empty() || local.contains(char::is_whitespace) || !valid_domain {
        return None;
    }
    Some((local, domain))
}

/// `domain` and the parent domains it belongs to, down to two labels:
/// `a.eu.mailinator.com`, `eu.mailinator.com`, `mailinator.com`.
fn suffixes(domain: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(domain), |d| d.split_once('.').map(|(_, rest)| rest).filter(|r| r.contains('.')))
}

fn listed(set: &HashSet<String>, domain: &str) -> bool {
    suffixes(domain).any(|d| set.contains(d))
}

impl EmailClassifier {
    /// A classifier over these lists and corporate domains.
    pub fn new(
        personal: impl IntoIterator<Item = String>,
        disposable: impl IntoIterator<Item = String>,
        corporate: impl IntoIterator<Item = String>,
    ) -> Self {
        EmailClassifier {
            personal: Arc::new(personal.into_iter().collect()),
            disposable: Arc::new(disposable.into_iter().collect()),
            corporate: corporate
                .into_iter()
                .map(|d| d.trim().trim_start_matches('@').trim_end_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            partner_domains: HashMap::new(),
            partner_addresses: HashMap::new(),
        }
    }

    /// The bundled lists, with `corporate` domains.
    pub fn embedded(corporate: impl IntoIterator<Item = String>) -> Self {
        /// The bundled personal and disposable lists, parsed once per process.
        static LISTS: LazyLock<(Arc<DomainSet>, Arc<DomainSet>)> = LazyLock::new(|| {
            let personal = parse_list(EMBEDDED_FREEMAIL).chain(parse_list(EMBEDDED_PERSONAL_EXTRA)).collect();
            (Arc::new(personal), Arc::new(parse_list(EMBEDDED_DISPOSABLE).collect()))
        });
        let (personal, disposable) = &*LISTS;
        EmailClassifier {
            personal: Arc::clone(personal),
            disposable: Arc::clone(disposable),
            ..Self::new([], [], corporate)
        }
    }

    /// Add domains to the personal list.
    pub fn add_personal(&mut self, domains: impl IntoIterator<Item = String>) {
        Arc::make_mut(&mut self.personal).extend(domains);
    }

    /// Add domains to the disposable list.
    pub fn add_disposable(&mut self, domains: impl IntoIterator<Item = String>) {
        Arc::make_mut(&mut self.disposable).extend(domains);
    }

    /// Whether `domain` (lower case) is a mailbox provider anyone can sign up
    /// to: a free-mail or disposable domain that is not the organisation's.
    /// Mail from such a domain comes from a person, never from a vendor.
    pub fn is_mailbox_provider(&self, domain: &str) -> bool {
        !self.is_corporate_domain(domain) && (listed(&self.personal, domain) || listed(&self.disposable, domain))
    }

    /// Add the overlay's `[[partner]]` entries that hold on `today` (UTC).
    /// A partner domain that is a free-mail or disposable provider, or one
    /// of the organisation's own, is refused with the entry named: it would
    /// agree to every mailbox of that provider. Checks every entry, expired
    /// ones included, so a mistake shows before the day it would matter.
    pub fn add_partners(&mut self, partners: &[PartnerRule], today: Date) -> Result<(), String> {
        for (i, p) in partners.iter().enumerate() {
            let entry = format!("[[partner]] #{} (`{}`)", i + 1, p.name);
            let (domains, addresses) = p.normalised().map_err(|e| format!("{entry}: {e}"))?;
            for d in &domains {
                if self.is_corporate_domain(d) {
                    return Err(format!("{entry}: domains: `{d}` is one of the organisation's own domains"));
                }
                if self.is_mailbox_provider(d) {
                    return Err(format!(
                        "{entry}: domains: `{d}` is a free-mail or disposable provider; list the partner's \
                         `addresses` there instead"
                    ));
                }
            }
            if p.holds_on(today) {
                for d in domains {
                    self.partner_domains.entry(d).or_insert_with(|| p.name.clone());
                }
                for a in addresses {
                    self.partner_addresses.entry(a).or_insert_with(|| p.name.clone());
                }
            }
        }
        Ok(())
    }

    /// The partner `local@domain` belongs to: by its own address first, then by its domain.
    fn partner_of(&self, local: &str, domain: &str) -> Option<String> {
        if !self.partner_addresses.is_empty() {
            if let Some(p) = self.partner_addresses.get(&format!("{local}@{domain}")) {
                return Some(p.clone());
            }
        }
        suffixes(domain).find_map(|d| self.partner_domains.get(d)).cloned()
    }

    /// Whether `domain` is one of the organisation's own.
    pub fn is_corporate_domain(&self, domain: &str) -> bool {
        self.corporate.iter().any(|c| domain == c || domain.strip_suffix(c.as_str()).is_some_and(|p| p.ends_with('.')))
    }

    /// Classify one address: `"Ana <Ana.P@Gmail.com>"`, `smtp:ana@gmail.com`,
    /// `mailto:...` and surrounding whitespace are accepted; domain and local
    /// part are lower-cased. Anything that is not an address gives
    /// `AddressInfo::default()` (`domain: None`).
    pub fn classify(&self, address: &str) -> AddressInfo {
        let Some((local, domain)) = split_address(address) else { return AddressInfo::default() };
        let is_corporate = self.is_corporate_domain(&domain);
        AddressInfo {
            is_personal: !is_corporate && listed(&self.personal, &domain),
            is_disposable: !is_corporate && listed(&self.disposable, &domain),
            is_corporate,
            partner: if is_corporate { None } else { self.partner_of(&local, &domain) },
            local_part: Some(local),
            domain: Some(domain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c() -> EmailClassifier {
        EmailClassifier::embedded(["corp.example.com".to_string()])
    }

    #[test]
    fn classifies_personal_disposable_and_corporate() {
        let g = c().classify("Ana <Ana.P@Gmail.com>");
        assert_eq!(g.domain.as_deref(), Some("gmail.com"));
        assert_eq!(g.local_part.as_deref(), Some("ana.p"));
        assert!(g.is_personal && !g.is_disposable && !g.is_corporate);
        assert!(c().classify("smtp:x@mailinator.com").is_disposable);
        assert!(c().classify("SMTP:X@EU.Mailinator.com").is_disposable, "subdomain of a listed domain");
        assert!(c().classify("mailto:ana@proton.me").is_personal, "hand-curated extra list");
        assert!(c().classify("  ana@outlook.com. ").is_personal);
        assert!(c().classify("[ana@yahoo.com]").is_personal);
        let corp_root = c().classify("\"Pereira, Ana\" <Ana.Pereira@Corp.Example.com>");
        assert!(corp_root.is_corporate && !corp_root.is_personal && !corp_root.is_disposable);
        assert_eq!(corp_root.local_part.as_deref(), Some("ana.pereira"));
        let corp = c().classify("bob@eu.corp.example.com");
        assert!(corp.is_corporate && !corp.is_personal);
        assert!(!c().classify("bob@notcorp.example.com").is_corporate);
        let partner = c().classify("dispatch@partner-logistics.example.net");
        assert!(!partner.is_personal && !partner.is_disposable && !partner.is_corporate);
    }

    #[test]
    fn corporate_wins_over_lists_and_extra_lists_add() {
        // An organisation whose own domain is on a free-mail list (an ISP).
        let mut k = EmailClassifier::embedded(["@GMX.net.".to_string()]);
        let g = k.classify("me@gmx.net");
        assert!(g.is_corporate && !g.is_personal);
        assert!(!k.classify("a@isp-mail.example").is_personal);
        k.add_personal(parse_list("# comment\nisp-mail.example  # inline\n\n"));
        k.add_disposable(parse_list("Burner.Example.\n"));
        assert!(k.classify("a@isp-mail.example").is_personal);
        assert!(k.classify("a@x.burner.example").is_disposable);
        // The bundled lists are shared between classifiers: an addition to one stays in it.
        let other = EmailClassifier::embedded([]);
        assert!(!other.classify("a@isp-mail.example").is_personal && !other.classify("a@burner.example").is_disposable);
        assert!(other.classify("a@gmail.com").is_personal);
        assert!(!EmailClassifier::default().classify("a@gmail.com").is_personal);
    }

    #[test]
    fn real_list_entries_are_classified() {
        let k = c();
        for personal in [
            "gmail.com",
            "web.de",
            "gmx.de",
            "mail.ru",
            "yandex.ru",
            "qq.com",
            "naver.com",
            "yahoo.co.jp",
            "hotmail.co.uk",
            "icloud.com",
        ] {
            let a = k.classify(&format!("Someone <Some.One@{}>", personal.to_uppercase()));
            assert!(a.is_personal && !a.is_disposable && !a.is_corporate, "{personal}");
            assert_eq!(a.domain.as_deref(), Some(personal));
        }
        for disposable in [
            "mailinator.com",
            "guerrillamail.com",
            "10minutemail.com",
            "yopmail.com",
            "sharklasers.com",
            "trashmail.com",
        ] {
            let a = k.classify(&format!("smtp:x@{disposable}"));
            assert!(a.is_disposable && !a.is_personal, "{disposable}");
        }
        // Hand-curated extras (Proton, Tuta, DuckDuckGo alias relay).
        for extra in ["pm.me", "tuta.com", "duck.com"] {
            assert!(k.classify(&format!("x@{extra}")).is_personal, "{extra}");
        }
    }

    #[test]
    fn internationalised_domains_compare_in_punycode() {
        // The disposable list holds `xn--yaho-sqa.com` (yahóo.com) and `xn--d-bga.net` (dé.net).
        let a = c().classify("Ana <ana@YAHÓO.com>");
        assert_eq!(a.domain.as_deref(), Some("xn--yaho-sqa.com"));
        assert!(a.is_disposable);
        assert!(c().classify("x@dé.net").is_disposable);
        assert!(c().classify("x@xn--d-bga.net").is_disposable);
        // A Unicode local part is kept (lower-cased).
        assert_eq!(c().classify("JOSÉ@gmail.com").local_part.as_deref(), Some("josé"));
    }

    #[test]
    fn junk_is_not_an_address() {
        for junk in [
            "",
            "   ",
            "no-at-sign",
            "@gmail.com",
            "a@b",
            "a b@gmail.com",
            "a@exa mple.com",
            "a@.com",
            "Ana <>",
            "a@gmail..com",
        ] {
            assert_eq!(c().classify(junk), AddressInfo::default(), "{junk}");
        }
    }

    fn partners(text: &str) -> Vec<PartnerRule> {
        crate::Overlay::from_toml(text, "o.toml").unwrap().partners
    }

    const PARTNERS: &str = r#"
[[partner]]
name = "Auditor"
domains = ["audit.example.nl"]
reason = "Statutory audit"
expires = "2027-06-30"

[[partner]]
name = "Jan (translator)"
addresses = ["J.deVries@gmail.com"]
reason = "Translates customer letters"
expires = "2027-01-31"
"#;

    #[test]
    fn partners_hold_for_their_domains_and_addresses_until_they_expire() {
        let today: Date = "2026-11-24".parse().unwrap();
        let mut e = c();
        e.add_partners(&partners(PARTNERS), today).unwrap();
        let p = |a: &str| e.classify(a).partner;
        assert_eq!(p("team@audit.example.nl").as_deref(), Some("Auditor"));
        assert_eq!(p("x@eu.audit.example.nl").as_deref(), Some("Auditor"), "a subdomain counts");
        assert_eq!(p("x@notaudit.example.nl"), None);
        assert_eq!(p("Jan <j.devries@GMAIL.com>").as_deref(), Some("Jan (translator)"));
        let other = e.classify("someone.else@gmail.com");
        assert_eq!(other.partner, None, "only the listed address of a free-mail provider");
        assert!(other.is_personal);
        assert_eq!(p("ana@corp.example.com"), None);
        // Expired entries are checked but not applied.
        let mut later = c();
        later.add_partners(&partners(PARTNERS), "2027-02-01".parse().unwrap()).unwrap();
        assert_eq!(later.classify("team@audit.example.nl").partner.as_deref(), Some("Auditor"));
        assert_eq!(later.classify("j.devries@gmail.com").partner, None);
    }

    #[test]
    fn a_partner_domain_cannot_be_a_mailbox_provider_or_our_own() {
        let today: Date = "2026-11-24".parse().unwrap();
        let gmail = PARTNERS.replace("audit.example.nl", "gmail.com");
        let e = c().add_partners(&partners(&gmail), today).unwrap_err();
        assert!(
            e.contains("[[partner]] #1 (`Auditor`): domains: `gmail.com` is a free-mail or disposable provider"),
            "{e}"
        );
        let e = c().add_partners(&partners(&PARTNERS.replace("audit.example.nl", "mailinator.com")), today);
        assert!(e.unwrap_err().contains("`mailinator.com` is a free-mail or disposable provider"));
        let e = c().add_partners(&partners(&PARTNERS.replace("audit.example.nl", "hr.corp.example.com")), today);
        assert!(e.unwrap_err().contains("`hr.corp.example.com` is one of the organisation's own domains"));
    }

    #[test]
    fn mailbox_providers_are_free_mail_and_disposable_domains_but_never_ours() {
        let e = c();
        assert!(e.is_mailbox_provider("gmail.com"));
        assert!(e.is_mailbox_provider("hotmail.com"));
        assert!(e.is_mailbox_provider("eu.mailinator.com"));
        assert!(!e.is_mailbox_provider("paddle.com"));
        assert!(!e.is_mailbox_provider("mail.notion.so"));
        let ours = EmailClassifier::embedded(["gmail.com".to_string()]);
        assert!(!ours.is_mailbox_provider("gmail.com"), "Google's own staff: corporate wins");
    }
}
