//! `resembles_user`: does a personal mailbox look like the employee's own?
//!
//! Forwarding company mail to `ana.pereira.1988@gmail.com` by Ana Pereira is a
//! different conversation from forwarding it to a stranger: the first is
//! usually convenience, the second possibly an attacker's drop box. PF-02
//! reports the difference in `dest_resembles_user`.
//!
//! The rule, on lower-cased ASCII-folded text:
//!
//! 1. The employee's name tokens come from the user name (the local part of
//!    `ana.pereira@corp.example.com`, or what follows `DOMAIN\`) and, when
//!    known, the display name (`Ana Pereira`); split on `.`, `_`, `-`, spaces
//!    and digits.
//! 2. The destination local part is cut at `+` (sub-addressing), digits are
//!    dropped, and it is split the same way.
//! 3. It resembles the user when, with first name `f` and last name `l`
//!    (any two tokens, in either order), the destination's letters equal
//!    `fl`, `lf`, `f[0]l`, `l f[0]`, `fl[0]`, or when the destination's tokens
//!    contain both names; or, for destinations of at least 6 letters, when the
//!    Jaro-Winkler similarity of the joined forms is ≥ 0.92.
//!
//! Single-token user names (`apereira`) match a destination whose letters
//! equal them, or that is ≥ 0.92 similar.

/// Name tokens: lower case, split on separators and digits, ≥ 2 letters each
/// (single letters kept when they are the only initial available).
fn tokens(s: &str) -> Vec<String> {
    s.to_lowercase().split(|c: char| !c.is_alphabetic()).filter(|t| !t.is_empty()).map(str::to_string).collect()
}

fn user_tokens(user: &str) -> Vec<String> {
    let u = user.rsplit('\\').next().unwrap_or(user);
    let u = u.split('@').next().unwrap_or(u);
    tokens(u)
}

/// See the module documentation for the exact rule.
pub fn resembles_user(user: &str, display_name: Option<&str>, local_part: &str) -> bool {
    let local = local_part.split('+').next().unwrap_or(local_part);
    let dest_tokens = tokens(local);
    let dest: String = dest_tokens.concat();
    if dest.len() < 3 {
        return false;
    }
    let mut names = user_tokens(user);
    if let Some(d) = display_name {
        for t in tokens(d) {
            if !names.contains(&t) {
                names.push(t);
            }
        }
    }
    names.retain(|t| !t.is_empty());
    if names.is_empty() {
        return false;
    }
    let joined_user: String = names.concat();
    if names.len() == 1 {
        let n = &names[0];
        return n.len() >= 3 && (dest == *n || (dest.len() >= 6 && strsim::jaro_winkler(&dest, n) >= 0.92));
    }
    let full: Vec<&String> = names.iter().filter(|t| t.len() >= 2).collect();
    for f in &names {
        for l in &full {
            if std::ptr::eq(f, *l) {
                continue;
            }
            let fi = &f[..f.chars().next().map_or(0, char::len_utf8)];
            let li = &l[..l.chars().next().map_or(0, char::len_utf8)];
            let candidates =
                [format!("{f}{l}"), format!("{l}{f}"), format!("{fi}{l}"), format!("{l}{fi}"), format!("{f}{li}")];
            if f.len() >= 2 && candidates.contains(&dest) {
                return true;
            }
            if f.len() < 2 && (dest == format!("{fi}{l}") || dest == format!("{l}{fi}")) {
                return true;
            }
            if f.len() >= 2 && dest_tokens.contains(f) && dest_tokens.contains(l) {
                return true;
            }
        }
    }
    dest.len() >= 6 && strsim::jaro_winkler(&dest, &joined_user) >= 0.92
}

#[cfg(test)]
mod tests {
    use super::resembles_user;

    #[test]
    fn own_addresses_resemble_the_user() {
        let u = "ana.pereira@corp.example.com";
        for local in [
            "ana.pereira",
            "anapereira",
            "pereira.ana",
            "apereira",
            "a.pereira",
            "ana.pereira1988",
            "ana_pereira+work",
            "Ana-Pereira",
            "pereiraa",
            "anap",
        ] {
            assert!(resembles_user(u, None, local), "{local} should resemble {u}");
        }
        assert!(resembles_user("CORP\\apereira", Some("Ana Pereira"), "ana.pereira.lisboa"));
        assert!(resembles_user("apereira", None, "apereira77"));
    }

    #[test]
    fn other_addresses_do_not() {
        let u = "ana.pereira@corp.example.com";
        for local in ["bob.smith", "newsletters", "dropbox-bot", "info", "payroll", "ana", "pereira", "a1", "x"] {
            assert!(!resembles_user(u, None, local), "{local} should not resemble {u}");
        }
        assert!(!resembles_user("apereira", None, "pedro"));
        assert!(!resembles_user("", None, "ana.pereira"));
    }
}
