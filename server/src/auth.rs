//! Bearer tokens: who may call the API and what they may do.
//!
//! Every endpoint but the OpenAPI document needs `Authorization: Bearer
//! <token>`. The configuration (`[[server.tokens]]`, see
//! [`floodlight_pipeline::analyst_config`]) names each token, gives it a
//! [`Role`] and says where its secret is: its SHA-256 written out
//! (`sha256`), an environment variable (`env`) or a file (`file`, a mounted
//! secret). [`Auth::from_config`] reads them all once, at start, and keeps
//! **only the SHA-256** of each token: the secrets themselves are not held
//! in memory after that, and never logged.
//!
//! Checking a request hashes the presented token and compares the hash with
//! every stored one using [`subtle::ConstantTimeEq`], going through all of
//! them whether or not one matched, so the time taken says nothing about
//! which token (or which bytes) came close. A missing header, another
//! scheme, and an unknown token all get the same 401 with `WWW-Authenticate:
//! Bearer`: the answer does not say which part was wrong.
//!
//! The middleware puts the caller ([`Caller`]) in the request's extensions
//! for the handlers and in the response's extensions for the access log,
//! which records the token's *name*.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use floodlight_pipeline::analyst_config::{Role, ServerConfig};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::error::{ApiError, ServerError};

/// The lower-case hex SHA-256 of `token`: what `sha256 = "..."` holds.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// One configured token: its name, role and the SHA-256 of its secret.
struct Token {
    name: String,
    role: Role,
    hash: [u8; 32],
}

/// The configured tokens, by hash.
pub struct Auth {
    tokens: Vec<Token>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names and roles only: never the hashes.
        f.debug_list().entries(self.tokens.iter().map(|t| (&t.name, t.role))).finish()
    }
}

/// Who is calling: the matched token's name and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name (as configured; appears in the access log).
    pub name: Arc<str>,
    /// What it may do.
    pub role: Role,
}

impl Auth {
    /// Read every token of `cfg`: `sha256` as given, `env` from the
    /// environment (an unset or empty variable is an error), `file` from a
    /// file (relative paths against `base_dir`, the config file's directory;
    /// surrounding white space trimmed). Also refuses a `[server]` section
    /// whose tokens have problems ([`ServerConfig::problems`]): none at all,
    /// duplicate names, not exactly one source.
    pub fn from_config(cfg: &ServerConfig, base_dir: &Path) -> Result<Auth, ServerError> {
        let problems: Vec<_> = cfg.problems().into_iter().filter(|(k, _)| k.starts_with("tokens")).collect();
        if !problems.is_empty() {
            return Err(ServerError::Config(problems));
        }
        let mut tokens = Vec::with_capacity(cfg.tokens.len());
        for t in &cfg.tokens {
            let name = t.name.clone();
            let hash = if let Some(h) = &t.sha256 {
                let mut hash = [0u8; 32];
                hex::decode_to_slice(h.trim(), &mut hash).map_err(|_| ServerError::TokenHash { name: name.clone() })?;
                hash
            } else if let Some(var) = &t.env {
                let secret = std::env::var(var).unwrap_or_default();
                let secret = secret.trim();
                if secret.is_empty() {
                    return Err(ServerError::TokenEnv { name, var: var.clone() });
                }
                Sha256::digest(secret.as_bytes()).into()
            } else if let Some(file) = &t.file {
                let path = base_dir.join(file);
                let text = std::fs::read_to_string(&path).map_err(|source| ServerError::TokenFile {
                    name: name.clone(),
                    path: path.clone(),
                    source,
                })?;
                let secret = text.trim();
                if secret.is_empty() {
                    return Err(ServerError::TokenFileEmpty { name, path });
                }
                Sha256::digest(secret.as_bytes()).into()
            } else {
                // `problems()` above already refused this; keep the error typed anyway.
                return Err(ServerError::Config(vec![(
                    format!("tokens `{name}`"),
                    "set exactly one of `sha256`, `env` or `file`".into(),
                )]));
            };
            tokens.push(Token { name, role: t.role, hash });
        }
        Ok(Auth { tokens })
    }

    /// The caller `token` belongs to, if any. Compares against every stored
    /// hash in constant time, without stopping at a match.
    pub fn check(&self, token: &str) -> Option<Caller> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, t) in self.tokens.iter().enumerate() {
            let same = t.hash.ct_eq(&presented);
            index.conditional_assign(&(i as u64), same);
            found |= same;
        }
        if bool::from(found) {
            let t = self.tokens.get(usize::try_from(index).ok()?)?;
            Some(Caller { name: t.name.as_str().into(), role: t.role })
        } else {
            None
        }
    }

    /// The configured token named `name` as a caller (a console session
    /// holds the name; a token removed from the config ends its sessions).
    pub fn caller_named(&self, name: &str) -> Option<Caller> {
        self.tokens.iter().find(|t| t.name == name).map(|t| Caller { name: t.name.as_str().into(), role: t.role })
    }

    /// The configured tokens: (name, role), in configuration order.
    pub fn tokens(&self) -> impl Iterator<Item = (&str, Role)> {
        self.tokens.iter().map(|t| (t.name.as_str(), t.role))
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(request: &Request) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn unauthorized() -> Response {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this endpoint needs a valid API token: `Authorization: Bearer <token>`",
    )
    .into_response()
}

/// Middleware: let the request through only with a known token.
pub async fn require_token(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    let Some(caller) = bearer(&request).and_then(|t| auth.check(t)) else {
        return unauthorized();
    };
    request.extensions_mut().insert(caller.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(caller);
    response
}

/// Middleware (inside [`require_token`]): only admin tokens.
pub async fn require_admin(request: Request, next: Next) -> Response {
    match request.extensions().get::<Caller>() {
        Some(c) if c.role == Role::Admin => next.run(request).await,
        _ => ApiError::new(StatusCode::FORBIDDEN, "forbidden", "needs role admin").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use floodlight_pipeline::analyst_config::TokenConfig;

    use super::*;

    fn token(name: &str, role: Role) -> TokenConfig {
        TokenConfig { name: name.into(), role, sha256: None, env: None, file: None }
    }

    fn config(tokens: Vec<TokenConfig>) -> ServerConfig {
        ServerConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            tls_cert: None,
            tls_key: None,
            tokens,
            console: Default::default(),
        }
    }

    #[test]
    fn hash_is_lower_case_hex_sha256() {
        assert_eq!(hash_token("test"), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    }

    #[test]
    fn tokens_from_hash_env_and_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("secret"), "  from-file\n").expect("write");
        // A name no other test uses: tests run in parallel in one process.
        std::env::set_var("FLOODLIGHT_SERVER_TEST_TOKEN_A", "from-env");
        let mut a = token("alice", Role::Analyst);
        a.sha256 = Some(hash_token("from-hash").to_uppercase());
        let mut b = token("bob", Role::Admin);
        b.env = Some("FLOODLIGHT_SERVER_TEST_TOKEN_A".into());
        let mut c = token("carol", Role::Analyst);
        c.file = Some("secret".into());
        let auth = Auth::from_config(&config(vec![a, b, c]), dir.path()).expect("auth");

        let who = |t: &str| auth.check(t).map(|c| (c.name.to_string(), c.role));
        assert_eq!(who("from-hash"), Some(("alice".into(), Role::Analyst)));
        assert_eq!(who("from-env"), Some(("bob".into(), Role::Admin)));
        assert_eq!(who("from-file"), Some(("carol".into(), Role::Analyst)));
        assert_eq!(who("from-fil"), None);
        assert_eq!(who(""), None);
        let debug = format!("{auth:?}");
        assert!(!debug.contains(&hash_token("from-hash")) && debug.contains("alice"), "{debug}");
    }

    #[test]
    fn unreadable_token_sources_are_errors_that_hide_the_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut t = token("t", Role::Analyst);
        t.env = Some("FLOODLIGHT_SERVER_TEST_TOKEN_UNSET".into());
        let e = Auth::from_config(&config(vec![t]), dir.path()).expect_err("unset");
        assert!(matches!(e, ServerError::TokenEnv { .. }), "{e}");

        std::env::set_var("FLOODLIGHT_SERVER_TEST_TOKEN_BLANK", "  ");
        let mut t = token("t", Role::Analyst);
        t.env = Some("FLOODLIGHT_SERVER_TEST_TOKEN_BLANK".into());
        assert!(matches!(Auth::from_config(&config(vec![t]), dir.path()), Err(ServerError::TokenEnv { .. })));

        let mut t = token("t", Role::Analyst);
        t.file = Some("missing".into());
        assert!(matches!(Auth::from_config(&config(vec![t]), dir.path()), Err(ServerError::TokenFile { .. })));

        std::fs::write(dir.path().join("blank"), "\n").expect("write");
        let mut t = token("t", Role::Analyst);
        t.file = Some("blank".into());
        assert!(matches!(Auth::from_config(&config(vec![t]), dir.path()), Err(ServerError::TokenFileEmpty { .. })));

        let mut t = token("t", Role::Analyst);
        t.sha256 = Some("zz".repeat(32));
        assert!(matches!(Auth::from_config(&config(vec![t]), dir.path()), Err(ServerError::Config(_))));

        assert!(matches!(Auth::from_config(&config(vec![]), dir.path()), Err(ServerError::Config(_))));
    }
}
