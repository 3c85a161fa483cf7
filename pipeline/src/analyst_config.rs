//! `[query]` and `[server]`: how analysts reach the lake. The settings live
//! here, with the rest of the config file, so `floodlight validate` checks
//! them; the query engine is `floodlight-analyst` and the HTTP server
//! `floodlight-server`.
//!
//! ```toml
//! [query]
//! timeout = "30s"        # a query running longer is stopped
//! max_rows = 10000       # rows returned at most (the answer says when cut)
//! memory_limit_mib = 512 # DataFusion memory pool; no spilling to disk
//!
//! [server]
//! listen = "127.0.0.1:8080"
//! # tls_cert = "/etc/floodlight/tls.crt"   # PEM; with tls_key, serve HTTPS
//! # tls_key = "/etc/floodlight/tls.key"
//!
//! [[server.tokens]]
//! name = "soc-alice"
//! role = "analyst"                  # analyst (read) or admin
//! sha256 = "9f86d081884c7d65..."    # `floodlight token hash` prints it
//!
//! [[server.tokens]]
//! name = "console"
//! role = "admin"
//! env = "FLOODLIGHT_ADMIN_TOKEN"    # or: file = "/run/secrets/admin-token"
//!
//! [server.console]                  # the web console under `/` (docs/console.md)
//! enabled = true
//! store = "console.db"              # SQLite file (relative to the config file), or
//! # store_env = "FLOODLIGHT_CONSOLE_STORE"   # a variable holding `postgres://user:pass@host/db`
//! session_ttl = "8h"                # a console login lasts this long
//! # secure_cookies = true           # behind a proxy that terminates TLS (default: when serving HTTPS)
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// `[query]`: limits for analyst SQL (CLI and API).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    /// Stop a query after this long.
    pub timeout: String,
    /// Return at most this many rows.
    pub max_rows: usize,
    /// DataFusion memory pool per session, in MiB.
    pub memory_limit_mib: usize,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig { timeout: "30s".into(), max_rows: 10_000, memory_limit_mib: 512 }
    }
}

/// `[server]`: the analyst HTTP API (`floodlight serve`, or `run --serve`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// PEM certificate chain: serve HTTPS (with `tls_key`).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Who may call the API. No tokens: the server refuses to start.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// The web console served beside the API.
    #[serde(default)]
    pub console: ConsoleConfig,
}

/// `[server.console]`: the web console (`/`), its sessions and triage store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Serve the console (`false`: the API only).
    pub enabled: bool,
    /// Where sessions and triage are kept: a SQLite file (relative to the
    /// config file; `console.db` beside it when neither this nor
    /// `store_env` is set), or a `sqlite://` / `postgres://` URL without a
    /// password. Several replicas need one PostgreSQL database.
    pub store: Option<String>,
    /// An environment variable holding the store's URL (for URLs with a password).
    pub store_env: Option<String>,
    /// How long a console login lasts (`8h`, `30m`).
    pub session_ttl: String,
    /// Mark the console's cookies `Secure`. Default: when the server serves
    /// HTTPS itself; set `true` behind a proxy that terminates TLS.
    pub secure_cookies: Option<bool>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig { enabled: true, store: None, store_env: None, session_ttl: "8h".into(), secure_cookies: None }
    }
}

impl ConsoleConfig {
    /// The session lifetime.
    pub fn session_ttl(&self) -> Result<std::time::Duration, String> {
        let d = humantime::parse_duration(self.session_ttl.trim())
            .map_err(|e| format!("`{}` is not a duration ({e}); write `8h` or `30m`", self.session_ttl))?;
        if d < std::time::Duration::from_secs(60) || d > std::time::Duration::from_secs(30 * 86_400) {
            return Err(format!("`{}`: must be between 1 minute and 30 days", self.session_ttl));
        }
        Ok(d)
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read: queries, findings, reports.
    Analyst,
    /// Everything an analyst may, plus administration.
    Admin,
}

impl Role {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

/// One API token: who it is, what it may do, and where its secret is.
/// Exactly one of `sha256`, `env` and `file`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (appears in request logs; the token never does).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Hex SHA-256 of the token (`floodlight token hash`).
    #[serde(default)]
    pub sha256: Option<String>,
    /// Environment variable holding the token itself.
    #[serde(default)]
    pub env: Option<String>,
    /// File holding the token itself (a mounted secret); relative to the config file.
    #[serde(default)]
    pub file: Option<PathBuf>,
}

impl ServerConfig {
    /// Problems, by setting (relative to `server.`).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if self.tokens.is_empty() {
            p.push((
                "tokens".to_string(),
                "no tokens: the API needs at least one `[[server.tokens]]` (create one with `floodlight token new`)"
                    .to_string(),
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            p.push(("tls_cert".into(), "set both `tls_cert` and `tls_key` for HTTPS, or neither".into()));
        }
        if self.console.store.is_some() && self.console.store_env.is_some() {
            p.push(("console.store".into(), "set `store` or `store_env`, not both".into()));
        }
        if let Some(url) = &self.console.store {
            if url.contains('@') && url.contains("://") {
                p.push((
                    "console.store".into(),
                    "looks like a URL with credentials: put it in an environment variable and name it in `store_env`"
                        .into(),
                ));
            }
        }
        if let Err(e) = self.console.session_ttl() {
            p.push(("console.session_ttl".into(), e));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, t) in self.tokens.iter().enumerate() {
            let given = [t.sha256.is_some(), t.env.is_some(), t.file.is_some()].iter().filter(|b| **b).count();
            if given != 1 {
                p.push((format!("tokens[{i}]"), "set exactly one of `sha256`, `env` or `file`".into()));
            }
            if let Some(h) = &t.sha256 {
                if h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
                    p.push((format!("tokens[{i}].sha256"), "must be 64 hex digits (`floodlight token hash`)".into()));
                }
            }
            if t.name.trim().is_empty() {
                p.push((format!("tokens[{i}].name"), "must not be empty".into()));
            } else if !names.insert(t.name.clone()) {
                p.push((format!("tokens[{i}].name"), format!("`{}` is used twice", t.name)));
            }
        }
        p
    }
}
