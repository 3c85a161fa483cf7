//! Name similarity: does a personal mailbox look like the employee's own?
//!
//! Forwarding company mail to `ana.pereira.1988@gmail.com` by Ana Pereira is a
//! different conversation from forwarding it to a stranger: the first is
//! usually convenience, the second possibly an attacker's drop box. The
//! pipeline reports the difference in `dest_resembles_user`. This module owns
//! that one decision, [`resembles_user`].
//!
//! # The rule, in short
//!
//! Inputs: the employee's account (`ana.garcia@corp.example.com`,
//! `CORP\agarcia`), their display name when the user directory has it
//! (`Ana García`, `García, Ana`), and the destination (a local part or a
//! whole address; a whole address is cut to its local part).
//!
//! 1. Normalise: lower case, Latin diacritics and ligatures folded
//!    (`García` → `garcia`, `Groß` → `gross`), the account cut to its
//!    account part, the destination cut at `+` (sub-addressing); split into
//!    letter tokens (separators and digits dropped).
//! 2. Resembles when the destination's joined letters `D` are, for two
//!    different name tokens first `f` and last `l` (either order):
//!    `fl`, `lf`, `f₀l`, `lf₀` or `fl₀` (`f₀` the initial); or the
//!    destination contains both tokens; or, for a one-token account,
//!    `D` is that token.
//! 3. Otherwise, for `D` of 6+ letters, a Jaro-Winkler similarity ≥ 0.9 with
//!    a joined form of the same first letter and a length within 2 letters
//!    (typos, `juergenmueller` for `Jürgen Müller`).
//!
//! A first or last name alone never resembles a two-token employee
//! (`ana@gmail.com`, `garcia@gmail.com`: too common to tell), nor do other
//! people's names or role mailboxes. The full statement, with its limits,
//! is the documentation of [`resembles_user`]; `docs/enrichment.md` has the
//! table of examples.

/// Jaro-Winkler similarity at or above which two joined name forms are "the same".
pub const JARO_WINKLER_THRESHOLD: f64 = 0.9;

/// Shortest joined destination the fuzzy comparison is tried on; shorter
/// strings are too easy to match by accident.
const FUZZY_MIN_LEN: usize = 6;

/// Largest length difference (in letters) between the destination and a
/// joined form for the fuzzy comparison: Jaro-Winkler rewards shared
/// prefixes, so without it `pereira` would match `pereiraana`.
const FUZZY_MAX_LEN_DIFF: usize = 2;

/// Fold Latin diacritics and ligatures so `García` matches `garcia`,
/// `Łukasz` `lukasz`, `Groß` `gross`.
fn fold_into(c: char, german: bool, out: &mut String) {
    if german {
        match c {
            'ä' => return out.push_str("ae"),
            'ö' => return out.push_str("oe"),
            'ü' => return out.push_str("ue"),
            _ => {}
        }
    }
    let f = match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' | 'ą' | 'ā' | 'ă' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' | 'đ' | 'ð' => 'd',
        'é' | 'è' | 'ê' | 'ë' | 'ę' | 'ě' | 'ē' => 'e',
        'ğ' => 'g',
        'í' | 'ì' | 'î' | 'ï' | 'ı' | 'ī' => 'i',
        'ł' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'ø' | 'ő' | 'ō' => 'o',
        'ř' => 'r',
        'ś' | 'š' | 'ş' | 'ș' => 's',
        'ť' | 'ţ' | 'ț' => 't',
        'ú' | 'ù' | 'û' | 'ü' | 'ů' | 'ű' | 'ū' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ž' | 'ż' => 'z',
        'ß' => return out.push_str("ss"),
        'æ' => return out.push_str("ae"),
        'œ' => return out.push_str("oe"),
        'þ' => return out.push_str("th"),
        other => other,
    };
    out.push(f);
}

/// Lower-cased, folded letter runs: separators (`.`, `_`, `-`, space, ...)
/// and digits split tokens and are dropped.
fn tokens(s: &str, german: bool) -> Vec<String> {
    let mut folded = String::with_capacity(s.len());
    for c in s.to_lowercase().chars() {
        fold_into(c, german, &mut folded);
    }
    folded.split(|c: char| !c.is_alphabetic()).filter(|t| !t.is_empty()).map(str::to_string).collect()
}

/// The account part of a user name: after the last `\` (`CORP\apereira`),
/// before the `@` (`ana.pereira@corp.example.com`).
fn user_tokens(user: &str, german: bool) -> Vec<String> {
    let u = user.trim();
    let u = u.rsplit('\\').next().unwrap_or(u);
    let u = u.split('@').next().unwrap_or(u);
    tokens(u, german)
}

fn initial(s: &str) -> &str {
    &s[..s.chars().next().map_or(0, char::len_utf8)]
}

/// Whether a personal mailbox local part (`local_part`) looks like the
/// employee's own.
///
/// * `user`: the employee's account, e.g. `ana.pereira@corp.example.com`,
///   `CORP\apereira` or `apereira`.
/// * `display_name`: their display name when known, e.g. `Ana Pereira` or
///   `Pereira, Ana`.
/// * `local_part`: the destination mailbox's local part, e.g. `a.pereira+fw`,
///   or the whole address (`Ana <anagarcia88@gmail.com>`, cut to its local
///   part; an address that does not parse never resembles).
///
/// # Rule
///
/// 1. **Normalise.** Everything is lower-cased and Latin diacritics and
///    ligatures are folded (`João` → `joao`, `Łukasz` → `lukasz`, `Groß` →
///    `gross`); when any input has `ä`, `ö` or `ü` the whole rule is tried a
///    second time with those as `ae`, `oe`, `ue` (`Jürgen Müller` →
///    `juergen.mueller`). The user is cut to its account part
///    (after the last `\`, before `@`); the destination is cut at `+`
///    (sub-addressing). Each is split into letter tokens: `.`, `_`, `-`,
///    spaces and digits separate tokens and are dropped
///    (`Ana_Pereira1988+work` → `ana`, `pereira`).
/// 2. **Name tokens.** The employee's tokens are the user's tokens plus the
///    display name's. `D` is the destination's tokens joined
///    (`a.pereira` → `apereira`). `D` shorter than 3 letters never matches.
/// 3. **Exact forms.** It resembles the user when, for any two different name
///    tokens `f` and `l` (`l` at least 2 letters, either order, so
///    `Pereira, Ana` works too), `D` is `f+l`, `l+f`, `f[0]+l`, `l+f[0]` or
///    `f+l[0]` (`anapereira`, `pereiraana`, `apereira`, `pereiraa`, `anap`);
///    or the destination's tokens include both `f` and `l`
///    (`ana.pereira.lisboa`); or `D` equals a single name token of at least
///    3 letters when the user has only one token (`apereira` → `apereira77`).
/// 4. **Fuzzy.** Otherwise, when `D` has at least 6 letters, it resembles the
///    user if the Jaro-Winkler similarity ([`strsim::jaro_winkler`]) of `D`
///    with a joined form of the employee (user tokens joined, display-name
///    tokens joined, or any `f+l` / `l+f`) that starts with the same letter
///    as `D` and whose length is within 2 letters of `D` is at least [`JARO_WINKLER_THRESHOLD`] (0.9): catches small
///    typos and variants such as `anapereirra`, `ana.pereiras`, or
///    `ana.pereira` for the bare account `apereira`.
///
/// A first or last name alone (`ana`, `pereira`) does not resemble a
/// two-token user: too many people share it. Role mailboxes (`newsletters`,
/// `dropbox-bot`, `info`) and other people (`bob.smith`) do not resemble.
///
/// ```
/// use floodlight_enrichments::resembles_user;
/// assert!(resembles_user("ana.pereira@corp.example.com", None, "a.pereira+fw"));
/// assert!(resembles_user("CORP\\apereira", Some("Ana Pereira"), "pereira.ana"));
/// assert!(!resembles_user("ana.pereira@corp.example.com", None, "bob.smith"));
/// ```
pub fn resembles_user(user: &str, display_name: Option<&str>, local_part: &str) -> bool {
    // A whole address (`Ana <anagarcia88@gmail.com>`) is cut to its local part.
    let owned;
    let local_part = if local_part.contains('@') {
        match crate::email::split_address(local_part) {
            Some((l, _)) => {
                owned = l;
                owned.as_str()
            }
            None => return false,
        }
    } else {
        local_part
    };
    let local = local_part.trim();
    let local = local.split('+').next().unwrap_or(local);
    // German umlauts are also tried as `ae` / `oe` / `ue` (Müller → mueller).
    let umlaut = |s: &str| s.to_lowercase().contains(['ä', 'ö', 'ü']);
    let german = umlaut(user) || display_name.is_some_and(umlaut) || umlaut(local);
    resembles(user, display_name, local, false) || (german && resembles(user, display_name, local, true))
}

fn resembles(user: &str, display_name: Option<&str>, local: &str, german: bool) -> bool {
    let dest_tokens = tokens(local, german);
    let dest: String = dest_tokens.concat();
    if dest.chars().count() < 3 {
        return false;
    }
    let account = user_tokens(user, german);
    let display = display_name.map(|d| tokens(d, german)).unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    for t in account.iter().chain(&display) {
        if !names.contains(t) {
            names.push(t.clone());
        }
    }
    if names.is_empty() {
        return false;
    }

    // Step 3: exact forms.
    if names.len() == 1 && names[0].chars().count() >= 3 && dest == names[0] {
        return true;
    }
    let mut joined_forms: Vec<String> = Vec::new();
    for (i, f) in names.iter().enumerate() {
        for (j, l) in names.iter().enumerate() {
            if i == j || l.chars().count() < 2 {
                continue;
            }
            let (fi, li) = (initial(f), initial(l));
            let full_first = f.chars().count() >= 2;
            let mut forms = vec![format!("{fi}{l}"), format!("{l}{fi}")];
            if full_first {
                forms.extend([format!("{f}{l}"), format!("{l}{f}"), format!("{f}{li}")]);
                if dest_tokens.contains(f) && dest_tokens.contains(l) {
                    return true;
                }
                joined_forms.push(format!("{f}{l}"));
            }
            if forms.contains(&dest) {
                return true;
            }
        }
    }

    // Step 4: fuzzy on joined forms.
    if dest.chars().count() < FUZZY_MIN_LEN {
        return false;
    }
    joined_forms.push(account.concat());
    joined_forms.push(display.concat());
    let dest_len = dest.chars().count();
    joined_forms
        .iter()
        .filter(|form| {
            let n = form.chars().count();
            n >= 3 && n.abs_diff(dest_len) <= FUZZY_MAX_LEN_DIFF && initial(form) == initial(&dest)
        })
        .any(|form| strsim::jaro_winkler(&dest, form) >= JARO_WINKLER_THRESHOLD)
}

#[cfg(test)]
mod tests {
    use super::resembles_user;

    const ANA: &str = "ana.pereira@corp.example.com";

    #[test]
    fn own_addresses_resemble_the_user() {
        for local in [
            "ana.pereira",
            "anapereira",
            "pereira.ana",
            "pereiraana",
            "apereira",
            "a.pereira",
            "pereira.a",
            "pereiraa",
            "anap",
            "ana.pereira1988",
            "ana_pereira+work",
            "Ana-Pereira",
            "ANA.PEREIRA",
            "ana.pereira.lisboa",
            "1988.ana.pereira",
            "anapereirra",  // typo, fuzzy
            "ana.pereiras", // variant, fuzzy
        ] {
            assert!(resembles_user(ANA, None, local), "{local} should resemble {ANA}");
        }
    }

    #[test]
    fn windows_and_bare_accounts_use_the_display_name() {
        let u = "CORP\\apereira";
        for local in ["apereira", "apereira77", "ana.pereira", "anapereira", "pereira.ana", "a.pereira"] {
            assert!(resembles_user(u, Some("Ana Pereira"), local), "{local}");
        }
        assert!(resembles_user(u, Some("Pereira, Ana"), "ana.pereira"));
        assert!(resembles_user("apereira", None, "apereira77"));
        assert!(resembles_user("apereira", None, "a.pereira"));
        // Without a display name, the bare account is all we know: close
        // enough (fuzzy) to `ana.pereira`, not to other people.
        assert!(resembles_user("apereira", None, "ana.pereira"));
        assert!(!resembles_user("apereira", None, "pedro"));
        assert!(!resembles_user("apereira", None, "pereira"));
        assert!(!resembles_user("apereira", None, "bob.smith"));
        // Diacritics fold.
        assert!(resembles_user("CORP\\jconceicao", Some("João Conceição"), "joao.conceicao"));
        assert!(resembles_user("joão.conceição@corp.example.com", None, "jconceicao"));
    }

    #[test]
    fn ana_garcia_with_and_without_a_directory_display_name() {
        let u = "ana.garcia@corp.example.com";
        for dn in [None, Some("Ana García"), Some("García, Ana")] {
            for (dest, want) in [
                ("anagarcia88@gmail.com", true),
                ("a.garcia@gmail.com", true),
                ("garcia.ana@outlook.com", true),
                ("agarcia@gmail.com", true), // initial + surname: the commonest own alias
                ("Ana Garcia <ANA.GARCIA@GMAIL.COM>", true),
                ("ana_garcia+fwd@gmail.com", true),
                ("ana-garcia-1990@yahoo.com", true),
                ("ana.garcía@gmail.com", true),
                ("anagracia@gmail.com", true), // transposition typo (fuzzy)
                ("ana@gmail.com", false),      // first name alone is too weak
                ("garcia@gmail.com", false),   // so is the surname
                ("bob.smith@gmail.com", false),
                ("maria.garcia@gmail.com", false),
                ("ana.gomez@gmail.com", false),
                ("anagarcia@", false),
            ] {
                assert_eq!(resembles_user(u, dn, dest), want, "{dest} with display name {dn:?}");
            }
        }
        // A bare Windows account needs the directory's display name.
        assert!(!resembles_user("CORP\\u4711", None, "ana.garcia@gmail.com"));
        assert!(resembles_user("CORP\\u4711", Some("Ana García"), "ana.garcia@gmail.com"));
        assert!(resembles_user("CORP\\u4711", Some("García López, Ana"), "ana.lopez@gmail.com"));
    }

    #[test]
    fn diacritics_and_ligatures_fold() {
        assert!(resembles_user("CORP\\jmueller", Some("Jürgen Müller"), "jurgen.muller"));
        assert!(resembles_user("CORP\\jmueller", Some("Jürgen Müller"), "juergen.mueller"), "ue spelling, fuzzy");
        assert!(resembles_user("lukasz.wrobel@corp.example.com", Some("Łukasz Wróbel"), "lukasz.wrobel"));
        assert!(resembles_user("CORP\\kgross", Some("Karl Groß"), "karl.gross"));
        assert!(resembles_user("CORP\\fsoerensen", Some("Frida Sørensen"), "fsorensen"));
    }

    #[test]
    fn other_addresses_do_not() {
        for local in [
            "bob.smith",
            "newsletters",
            "dropbox-bot",
            "info",
            "payroll",
            "noreply",
            "ana",
            "pereira",
            "ana.silva",
            "maria.pereira",
            "anabela",
            "a1",
            "x",
            "",
            "+ana.pereira",
            "12345",
        ] {
            assert!(!resembles_user(ANA, None, local), "{local} should not resemble {ANA}");
        }
        assert!(!resembles_user(ANA, Some("Ana Pereira"), "bob.smith"));
        assert!(!resembles_user("CORP\\apereira", Some("Ana Pereira"), "pedro.pereira"));
        assert!(!resembles_user("", None, "ana.pereira"));
        assert!(!resembles_user("CORP\\", None, "ana.pereira"));
        assert!(!resembles_user("bob.smith@corp.example.com", Some("Bob Smith"), "ana.pereira"));
    }
}
