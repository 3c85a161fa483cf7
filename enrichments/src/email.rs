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

use std::collections::HashSet;

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
}

/// Classifies addresses against domain lists.
#[derive(Debug, Clone, Default)]
pub struct EmailClassifier {
    personal: HashSet<String>,
    disposable: HashSet<String>,
    corporate: Vec<String>,
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

fn listed(set: &HashSet<String>, domain: &str) -> bool {
    let mut d = domain;
    loop {
        if set.contains(d) {
            return true;
        }
        match d.split_once('.') {
            Some((_, rest)) if rest.contains('.') => d = rest,
            _ => return false,
        }
    }
}

impl EmailClassifier {
    /// A classifier over these lists and corporate domains.
    pub fn new(
        personal: impl IntoIterator<Item = String>,
        disposable: impl IntoIterator<Item = String>,
        corporate: impl IntoIterator<Item = String>,
    ) -> Self {
        EmailClassifier {
            personal: personal.into_iter().collect(),
            disposable: disposable.into_iter().collect(),
            corporate: corporate
                .into_iter()
                .map(|d| d.trim().trim_start_matches('@').trim_end_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
        }
    }

    /// The bundled lists, with `corporate` domains.
    pub fn embedded(corporate: impl IntoIterator<Item = String>) -> Self {
        Self::new(
            parse_list(EMBEDDED_FREEMAIL).chain(parse_list(EMBEDDED_PERSONAL_EXTRA)),
            parse_list(EMBEDDED_DISPOSABLE),
            corporate,
        )
    }

    /// Add domains to the personal list.
    pub fn add_personal(&mut self, domains: impl IntoIterator<Item = String>) {
        self.personal.extend(domains);
    }

    /// Add domains to the disposable list.
    pub fn add_disposable(&mut self, domains: impl IntoIterator<Item = String>) {
        self.disposable.extend(domains);
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
}
