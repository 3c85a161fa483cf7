//! Console login sessions: what a browser's session cookie stands for.
//!
//! A person logs in to the console with an API token; the console then calls
//! [`Store::create_session`] and puts the returned [`SessionSecret`] in an
//! `HttpOnly`, `Secure`, `SameSite` cookie. On each request it calls
//! [`Store::session`] with the cookie's value to learn who this is (token
//! name, role) and the session's CSRF token, which forms must echo back.
//!
//! What is stored, in the table `console_sessions`:
//!
//! | column | what |
//! |---|---|
//! | `secret_sha256` | SHA-256 (hex) of the cookie secret, the key |
//! | `token_name`, `role` | who logged in, and as what |
//! | `csrf_token` | random, per session, for the forms |
//! | `created_at`, `expires_at` | microseconds since the Unix epoch |
//!
//! The secret itself (32 bytes from the OS random generator, as 64 hex
//! digits) is never stored: a copy of the database (a backup, a replica)
//! does not let anyone take over a session. The secret is high-entropy, so a
//! plain SHA-256 is enough (no salt, no slow hash), and the lookup is an
//! index lookup on the hash.
//!
//! Sessions expire at `expires_at`: [`Store::session`] treats an expired one
//! as unknown (and deletes it), and [`Store::purge_expired_sessions`], run
//! now and then, deletes those nobody came back with. Sessions live in the
//! database, not in memory, so every replica sees every login and a restart
//! logs nobody out.

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::triage::required_text;
use crate::{now_micros, Store, StoreError, MAX_NAME_CHARS};

/// Longest cookie value [`Store::session`] looks up; longer ones are unknown.
const MAX_SECRET_LEN: usize = 256;

/// The secret of a session: the value of the session cookie.
///
/// Give it to the browser ([`expose`](SessionSecret::expose)) and forget it:
/// the store keeps only its hash. Its `Debug` prints `SessionSecret(..)`, so
/// it cannot leak into logs by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl SessionSecret {
    /// The secret, 64 hex digits, for the `Set-Cookie` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(..)")
    }
}

/// A live console session. Not `Serialize` (it holds the CSRF token, which
/// belongs in the page's forms only); its `Debug` hides the CSRF token.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The name of the API token that logged in.
    pub token_name: String,
    /// The role the token has (`"analyst"`, `"admin"`, ...; free text).
    pub role: String,
    /// Random per session (64 hex digits): forms send it back, the console
    /// compares it (in constant time) before any change.
    pub csrf_token: String,
    /// When the session was created, microseconds since the Unix epoch.
    pub created_at: i64,
    /// When it stops being valid, microseconds since the Unix epoch.
    pub expires_at: i64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("token_name", &self.token_name)
            .field("role", &self.role)
            .field("csrf_token", &"..")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// 32 bytes from the operating system's random generator, as 64 hex digits.
pub(crate) fn random_hex() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// The key a secret is stored under: SHA-256, hex.
fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Store {
    /// Creates a session for the API token `token_name` with role `role`,
    /// valid for `ttl` from now. Returns the secret for the cookie (only its
    /// SHA-256 is stored) and the session, with a fresh CSRF token.
    ///
    /// `token_name` and `role` are trimmed and must be non-empty and at most
    /// [`MAX_NAME_CHARS`] characters ([`StoreError::Invalid`] otherwise).
    pub async fn create_session(
        &self,
        token_name: &str,
        role: &str,
        ttl: Duration,
    ) -> Result<(SessionSecret, Session), StoreError> {
        let token_name = required_text("token name", token_name, MAX_NAME_CHARS)?;
        let role = required_text("role", role, MAX_NAME_CHARS)?;
        let too_long = || StoreError::Invalid(format!("a session lifetime of {ttl:?} is too long"));
        let ttl = i64::try_from(ttl.as_micros()).map_err(|_| too_long())?;
        let created_at = now_micros();
        let expires_at = created_at.checked_add(ttl).ok_or_else(too_long)?;
        let secret = random_hex()?;
        let csrf_token = random_hex()?;
        let hash = secret_hash(&secret);
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO console_sessions (secret_sha256, token_name, role, csrf_token, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&hash)
            .bind(token_name)
            .bind(role)
            .bind(&csrf_token)
            .bind(created_at)
            .bind(expires_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        let session =
            Session { token_name: token_name.to_string(), role: role.to_string(), csrf_token, created_at, expires_at };
        Ok((SessionSecret(secret), session))
    }

    /// The live session whose secret is `secret` (the cookie's value), or
    /// `None` when there is none or it has expired (an expired one is deleted
    /// on the way).
    pub async fn session(&self, secret: &str) -> Result<Option<Session>, StoreError> {
        if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
            return Ok(None);
        }
        let hash = secret_hash(secret);
        let now = now_micros();
        let row: Option<(String, String, String, i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT token_name, role, csrf_token, created_at, expires_at FROM console_sessions \
                 WHERE secret_sha256 = $1",
            )
            .bind(&hash)
            .fetch_optional(pool)
            .await?
        });
        let Some((token_name, role, csrf_token, created_at, expires_at)) = row else {
            return Ok(None);
        };
        if expires_at <= now {
            with_pool!(self, pool => {
                sqlx::query("DELETE FROM console_sessions WHERE secret_sha256 = $1 AND expires_at <= $2")
                    .bind(&hash)
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            return Ok(None);
        }
        Ok(Some(Session { token_name, role, csrf_token, created_at, expires_at }))
    }

    /// Logs out: deletes the session whose secret is `secret`. Deleting a
    /// session that does not exist (any more) is not an error.
    pub async fn delete_session(&self, secret: &str) -> Result<(), StoreError> {
        if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
            return Ok(());
        }
        let hash = secret_hash(secret);
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM console_sessions WHERE secret_sha256 = $1").bind(&hash).execute(pool).await?.rows_affected()
        });
        Ok(())
    }

    /// Deletes every expired session; returns how many. Run it now and then
    /// (say hourly): lookups delete only the expired sessions someone comes
    /// back with.
    pub async fn purge_expired_sessions(&self) -> Result<u64, StoreError> {
        let now = now_micros();
        let done = with_pool!(self, pool => {
            sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }
}
