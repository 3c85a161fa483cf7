//! The web console: what an analyst opens in a browser at `/` of
//! `floodlight serve`, in the same process and behind the same tokens as the
//! API.
//!
//! Pages are rendered on the server ([`maud`] templates, checked at compile
//! time) and work without JavaScript; two vendored scripts only add to them:
//! htmx filters the apps table as you type, Chart.js draws the overview's
//! charts (each chart also has its numbers in a table). Every file a page
//! needs is compiled into the binary ([`assets`]): the console makes no
//! request to anything but its own server, and its Content-Security-Policy
//! says so.
//!
//! | page | path | module |
//! |---|---|---|
//! | log in / out | `/login`, `/logout` | [`session`] |
//! | overview | `/` | [`overview`] |
//! | discovered apps, one app, the decision form | `/apps`, `/apps/{id}` | [`apps`] |
//! | findings, one finding, triage | `/findings`, `/findings/{id}` | [`findings`] |
//! | people, one person | `/people`, `/people/{user}` | [`people`] |
//! | SQL console, CSV download | `/sql` | [`sql`] |
//!
//! **Sessions.** `/login` takes an API token (any configured one; its role
//! is the session's role), checks it like the API does, and sets a session
//! cookie: a random 256-bit secret whose SHA-256 is kept in the store
//! (`floodlight-store`, SQLite by default, PostgreSQL for several
//! replicas), `HttpOnly`, `SameSite=Strict`, and `Secure` (with the
//! `__Host-` prefix) when served over HTTPS. A session ends at logout, when
//! its lifetime (`[server.console] session_ttl`) is over, or when its token
//! is removed from the config.
//!
//! **CSRF.** Every request that is not `GET`/`HEAD` must carry the
//! session's CSRF token, as the form field `csrf` (every form has it) or the
//! `X-CSRF-Token` header, or it is refused with 403 ([`session::require_session`]
//! checks it, so a handler cannot forget). The login form, before any
//! session exists, uses a double-submit cookie.
//!
//! **Decisions** ([`decisions`]) write the overlay through
//! [`floodlight_enrichments::DecisionPlan`]: checked, shown as a diff,
//! saved atomically with a conflict check, audited beside the overlay; the
//! console's own `apps` table is refreshed at once, and a running pipeline
//! picks the file up by its hot reload.

pub mod apps;
pub mod assets;
pub mod decisions;
pub mod explanations;
pub mod findings;
pub mod layout;
pub mod overview;
pub mod people;
pub mod session;
pub mod sql;
pub mod window;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use floodlight_analyst::Lake;
use floodlight_enrichments::EnrichmentConfig;
use floodlight_pipeline::analyst_config::{ConsoleConfig, ServerConfig};
use floodlight_store::Store;

use crate::auth::Auth;
use crate::error::ServerError;
pub use decisions::Decisions;
pub use session::Viewer;

/// What the console needs besides the lake and the tokens.
#[derive(Debug, Clone)]
pub struct Console {
    /// Sessions and triage.
    pub store: Store,
    /// The catalog, the overlay and where decisions go.
    pub decisions: Arc<Decisions>,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// Mark cookies `Secure` (and name the session cookie `__Host-...`):
    /// when served over HTTPS, or behind a proxy that terminates it.
    pub secure_cookies: bool,
    /// Nudges (`[nudges]`): the explain page, replies, the sender.
    pub nudger: Option<Arc<crate::nudges::Nudger>>,
}

impl Console {
    /// The console `server.console` describes, or `None` when it is
    /// disabled: opens (and migrates) the store — a SQLite file
    /// `console.db` beside the config by default — and loads the base
    /// catalog and the overlay `enrichments` names. Relative paths are
    /// against `base_dir`.
    pub async fn from_config(
        server: &ServerConfig,
        enrichments: &EnrichmentConfig,
        base_dir: &Path,
    ) -> Result<Option<Console>, ServerError> {
        let cfg = &server.console;
        if !cfg.enabled {
            return Ok(None);
        }
        let session_ttl = cfg.session_ttl().map_err(|e| ServerError::Console(format!("session_ttl: {e}")))?;
        let store = Store::open(&store_url(cfg, base_dir)?).await?;
        let decisions =
            Decisions::from_config(enrichments, base_dir).map_err(|e| ServerError::Console(e.to_string()))?;
        let secure_cookies = cfg.secure_cookies.unwrap_or(server.tls_cert.is_some());
        Ok(Some(Console { store, decisions: Arc::new(decisions), session_ttl, secure_cookies, nudger: None }))
    }
}

/// The store's URL `[server.console]` names: `store_env`'s value, a URL,
/// or a SQLite file (`console.db` beside the config by default). `run`
/// uses it too, for the nudge outbox, so both see the same answers.
pub fn store_url(cfg: &ConsoleConfig, base_dir: &Path) -> Result<String, ServerError> {
    let url = match (&cfg.store, &cfg.store_env) {
        (_, Some(var)) => std::env::var(var).ok().filter(|v| !v.trim().is_empty()).ok_or_else(|| {
            ServerError::Console(format!("store_env: environment variable `{var}` is not set or empty"))
        })?,
        (Some(s), None) if s.contains("://") || s.starts_with("sqlite:") => s.clone(),
        (Some(path), None) => format!("sqlite://{}", base_dir.join(path).display()),
        (None, None) => format!("sqlite://{}", base_dir.join("console.db").display()),
    };
    Ok(url.trim().to_string())
}

/// What every console handler shares.
#[derive(Clone)]
pub struct ConsoleState {
    /// The lake the pages read.
    pub lake: Lake,
    /// The configured tokens (login checks them; a removed token ends its sessions).
    pub auth: Arc<Auth>,
    /// Sessions, CSRF tokens, triage.
    pub store: Store,
    /// The catalog with the overlay, and the decision workflow.
    pub decisions: Arc<Decisions>,
    /// Session lifetime and cookie flags.
    pub session_ttl: Duration,
    /// Whether cookies are `Secure`.
    pub secure_cookies: bool,
    /// The anchor of the time windows (cached newest day of the lake).
    pub window: Arc<window::Anchor>,
    /// Nudges, when configured (replies to decided explanations).
    pub nudger: Option<Arc<crate::nudges::Nudger>>,
}

/// The console's routes, with their guards: `/login` and `/assets/*` are
/// open, everything else needs a session (and a CSRF token unless it is a
/// `GET`). Every response carries the console's security headers.
pub fn router(lake: Lake, auth: Arc<Auth>, console: Console) -> Router {
    let state = ConsoleState {
        lake,
        auth,
        store: console.store,
        decisions: console.decisions,
        session_ttl: console.session_ttl,
        secure_cookies: console.secure_cookies,
        window: Arc::new(window::Anchor::default()),
        nudger: console.nudger.clone(),
    };
    let guarded = Router::new()
        .route("/", get(overview::page))
        .route("/apps", get(apps::list))
        .route("/apps/{id}", get(apps::page))
        .route("/apps/{id}/decision", post(apps::decide))
        .route("/findings", get(findings::list))
        .route("/findings/{id}", get(findings::page))
        .route("/findings/{id}/triage", post(findings::triage))
        .route("/findings/{id}/notes", post(findings::note))
        .route("/people", get(people::list))
        .route("/people/{user}", get(people::page))
        .route("/explanations", get(explanations::page_handler))
        .route("/explanations/{id}/grant", post(explanations::grant))
        .route("/explanations/{id}/decline", post(explanations::decline))
        .route("/sql", get(sql::form).post(sql::run))
        .route("/logout", post(session::logout))
        .route_layer(from_fn_with_state(state.clone(), session::require_session));
    // The explain page: no session (the link's signature is the
    // authentication), the console's security headers.
    let explain = match console.nudger {
        Some(n) => Router::new()
            .route("/explain/{token}", get(crate::nudges::explain::form).post(crate::nudges::explain::submit))
            .with_state(n),
        None => Router::new(),
    };
    Router::new()
        .route("/login", get(session::login_form).post(session::login))
        .route("/assets/{name}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .merge(guarded)
        .with_state(state)
        .merge(explain)
        .layer(from_fn(session::security_headers))
}
