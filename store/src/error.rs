//! What can go wrong in the store, and how a database URL is shown safely.
//!
//! Every fallible method returns [`StoreError`]. The variants a caller acts on:
//!
//! - [`StoreError::Conflict`]: someone else changed the finding's triage since
//!   the person loaded it. Show the current state and let them decide again
//!   (HTTP 409).
//! - [`StoreError::Invalid`]: the input was refused (an empty note, an assignee
//!   too long); the message says why and can be shown to the person (HTTP 400).
//! - everything else is a server-side problem (HTTP 500/503): log it.
//!
//! Database URLs often carry a password (`postgres://app:s3cret@db/floodlight`).
//! No message and no `Debug` output of this crate contains it: URLs are shown
//! through [`redact_url`], which replaces the password with `***` and drops the
//! query string (where `password=` could also hide).

/// Why a store operation failed. The messages are meant for the server log
/// (and, for [`Invalid`](StoreError::Invalid), for the person).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL given to [`Store::open`](crate::Store::open) cannot be used: an
    /// unknown scheme, an unparsable URL, a SQLite directory that does not
    /// exist. The message shows the URL without its password.
    #[error("invalid store URL: {0}")]
    Url(String),
    /// The database could not be reached or refused the connection (wrong
    /// host, port, database name, credentials, TLS).
    #[error("cannot open the {backend} store (check the URL, and that the database is up and reachable): {source}")]
    Connect {
        /// `"sqlite"` or `"postgresql"`.
        backend: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The schema could not be created or brought up to date (a migration
    /// failed, or a migration already applied differs from this release's).
    #[error("cannot create or update the store's schema: {0}")]
    Migrate(String),
    /// A query failed (connection lost, pool exhausted, constraint violated).
    #[error("store query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// `set_triage` was given a version that is not the stored one: someone
    /// else changed the triage in between (optimistic concurrency). Nothing
    /// was changed.
    #[error(
        "finding `{finding_id}`: triage was changed by someone else (you saw {}, it is now {}); reload and try again",
        show_version(*.expected),
        show_version(*.found)
    )]
    Conflict {
        /// The finding.
        finding_id: String,
        /// The version the caller saw (`None`: no triage yet).
        expected: Option<i64>,
        /// The version stored now (`None`: no triage row).
        found: Option<i64>,
    },
    /// The input was refused; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// A stored value cannot be read back (say, an unknown triage status
    /// written by a newer release).
    #[error("the store holds an unreadable value: {0}")]
    Corrupt(String),
    /// The operating system's random generator failed (session secrets).
    #[error("cannot generate a random secret: {0}")]
    Random(String),
}

fn show_version(v: Option<i64>) -> String {
    match v {
        Some(v) => format!("version {v}"),
        None => "no triage".to_string(),
    }
}

/// `url` as it may be shown to people: the password (anything between the
/// user name's `:` and the last `@` of the authority) becomes `***`, and the
/// query string becomes `?…`. Works on malformed URLs too: it never needs to
/// parse them, and it errs on the side of hiding more.
///
/// `postgres://app:s3cret@db:5432/floodlight?sslmode=require` →
/// `postgres://app:***@db:5432/floodlight?…`.
pub fn redact_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let (head, rest) = url.split_at(start);
    // The last `@` before the query string ends the user info; an unencoded
    // `@`, `/` or `?` inside a password then hides too much rather than too
    // little.
    let mut out = String::with_capacity(url.len());
    out.push_str(head);
    let rest = match rest.rfind('@') {
        Some(at) => {
            // Keep only the user name: whatever follows it (a password, or a
            // query string when the `@` was in there) is hidden.
            let userinfo = &rest[..at];
            let user = userinfo.split([':', '/', '?', '#']).next().unwrap_or_default();
            out.push_str(user);
            if user.len() < userinfo.len() {
                out.push_str(":***");
            }
            out.push('@');
            &rest[at + 1..]
        }
        None => rest,
    };
    match rest.find('?') {
        Some(q) => {
            out.push_str(&rest[..q]);
            out.push_str("?…");
        }
        None => out.push_str(rest),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_and_queries() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/fl?sslmode=require"), "postgres://app:***@db:5432/fl?…");
        assert_eq!(redact_url("postgres://app@db/fl"), "postgres://app@db/fl");
        assert_eq!(redact_url("postgresql://db/fl?password=s3cret"), "postgresql://db/fl?…");
        assert_eq!(redact_url("postgres://a:p@ss/w?rd@db/fl"), "postgres://a:***@db/fl");
        assert_eq!(redact_url("sqlite:///var/lib/fl/console.db"), "sqlite:///var/lib/fl/console.db");
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(redact_url("app:s3cret@db"), "app:***@db");
        assert_eq!(redact_url(""), "");
        assert_eq!(redact_url("postgres://db/fl?password=s3cret&x=a@b"), "postgres://db:***@b");
        for url in [
            "postgres://u:s3cret@h/d",
            "x://u:s3cret@",
            "u:s3cret@h",
            "postgres://u:s3cret@h?p=s3cret",
            "postgres://h/d?password=s3cret&x=a@b",
            "postgres://u:s3cret@h/d?x=@y",
        ] {
            assert!(!redact_url(url).contains("s3cret"), "{url}");
        }
    }

    #[test]
    fn conflict_message_explains() {
        let e = StoreError::Conflict { finding_id: "ab12".into(), expected: Some(1), found: Some(2) };
        assert_eq!(
            e.to_string(),
            "finding `ab12`: triage was changed by someone else (you saw version 1, it is now version 2); reload and \
             try again"
        );
        let e = StoreError::Conflict { finding_id: "ab12".into(), expected: None, found: Some(1) };
        assert!(e.to_string().contains("you saw no triage, it is now version 1"));
    }
}
