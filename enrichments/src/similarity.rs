//! Name similarity: does a personal mailbox look like the employee's own?
//!
//! Forwarding company mail to `ana.pereira.1988@gmail.com` by Ana Pereira is a
//! different conversation from forwarding it to a stranger: the first is
//! usually convenience, the second possibly an attacker's drop box. The
//! pipeline reports the difference in `dest_resembles_user`. This module owns
//! that one decision, [`resembles_user`]; the exact rule is in its
//! documentation.

/// Jaro-Winkler similarity at or above which two joined name forms are "the same".
pub const JARO_WINKLER_THRESHOLD: f64 = 0.9;

/// Shortest joined destination the fuzzy comparison is tried on; shorter
/// strings are too easy to match by accident.
const FUZZY_MIN_LEN: usize = 6;

/// Largest length difference (in letters) between the destination and a
/// joined form for the fuzzy comparison: Jaro-Winkler rewards shared
/// prefixes, so without it `pereira` would match `pereiraana`.
const FUZZY_MAX_LEN_DIFF: usize = 2;

/// Fold common Latin diacritics so `João` matches `joao`.
fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// Lower-cased, folded letter runs: separators (`.`, `_`, `-`, space, ...)
/// and digits split tokens and are dropped.
fn tokens(s: &str) -> Vec<String> {
    let folded: String = s.to_lowercase().chars().map(fold).collect();
    folded.split(|c: char| !c.is_alphabetic()).filter(|t| !t.is_empty()).map(str::to_string).collect()
}

/// The account part of a user name: after the last `\` (`CORP\apereira`),
/// before the `@` (`ana.pereira@corp.example.com`).
fn user_tokens(user: &str) -> Vec<String> {
    let u = user.trim();
    let u = u.rsplit('\\').next().unwrap_or(u);
    let u = u.split('@').next().unwrap_or(u);
    tokens(u)
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
/// * `local_part`: the destination mailbox's local part, e.g. `a.pereira+fw`.
///
/// # Rule
///
/// 1. **Normalise.** Everything is lower-cased and common Latin diacritics
///    are folded (`João` → `joao`). The user is cut to its account part
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
    let local = local_part.trim();
    let local = local.split('+').next().unwrap_or(local);
    let dest_tokens = tokens(local);
    let dest: String = dest_tokens.concat();
    if dest.chars().count() < 3 {
        return false;
    }
    let account = user_tokens(user);
    let display = display_name.map(tokens).unwrap_or_default();
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
