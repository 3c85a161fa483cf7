//! The web console's shared state: who is logged in, and what analysts decided
//! about each finding.
//!
//! The pipeline writes findings to the lake and never changes them. What people
//! do with a finding afterwards (acknowledge it, assign it, close it as a false
//! positive, leave a note) lives here, together with the console's login
//! sessions. It is small, transactional data, so it goes to a SQL database
//! rather than to the lake:
//!
//! - **SQLite** (`sqlite:///var/lib/floodlight/console.db`): embedded, nothing to
//!   run, the default for one server. The file is opened in WAL mode (readers do
//!   not block the writer) with foreign keys on and a busy timeout, so the
//!   console's concurrent requests wait for each other instead of failing.
//! - **PostgreSQL** (`postgres://floodlight@db.internal/floodlight`): when several
//!   console replicas run behind a load balancer and must see the same sessions
//!   and the same triage.
//!
//! Both backends run the same SQL with the same semantics; the test suite runs
//! every scenario against a real SQLite file and a real PostgreSQL server.
//!
//! ```no_run
//! # async fn demo() -> Result<(), floodlight_store::StoreError> {
//! use floodlight_store::{Store, TriageStatus, TriageUpdate};
//! use std::time::Duration;
//!
//! let store = Store::open("sqlite:///var/lib/floodlight/console.db").await?;
//!
//! // A login with an API token: the secret goes into the cookie, only its hash is stored.
//! let (secret, session) = store.create_session("alice-laptop", "analyst", Duration::from_secs(8 * 3600)).await?;
//! assert!(store.session(secret.expose()).await?.is_some());
//!
//! // Triage with optimistic concurrency: pass the version the person saw.
//! let seen = store.triage("9f2c4e").await?.map(|t| t.version);
//! let update = TriageUpdate { status: TriageStatus::Acknowledged, assignee: Some("bob".into()) };
//! let triage = store.set_triage("9f2c4e", update, &session.token_name, seen).await?;
//! store.add_note("9f2c4e", &session.token_name, "Marketing's new survey tool; asked IT.").await?;
//! # let _ = triage; Ok(()) }
//! ```
//!
//! The modules:
//! - [`sessions`]: console login sessions ([`Store::create_session`] and friends).
//! - [`triage`]: status, assignee, history and notes of findings.
//! - [`nudges`]: messages to people about their findings (an outbox and a
//!   message log) and their answers ("comply or explain").
//! - [`error`]: [`StoreError`], and how URLs are shown without their password.
//! - `schema` (private): the versioned migrations `open` applies.
//!
//! Timestamps are `i64` microseconds since the Unix epoch (UTC), the same on
//! both backends; [`now_micros`] gives the current one.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend it is.
///
/// The body is expanded once per backend, so the same code (the same SQL, the
/// same binds) is type-checked against `SqlitePool` and `PgPool`: the backends
/// cannot drift apart. SQL uses `$1, $2, ...` placeholders, which both accept.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}

pub mod error;
pub mod nudges;
mod schema;
pub mod sessions;
pub mod triage;

pub use error::StoreError;
pub use nudges::{
    Answer, AnswerChoice, AnswerDecision, AnswerVerdict, NewAnswer, NewNudge, Nudge, NudgeOutcome, NudgeState,
    MAX_ANSWER_CHARS,
};
pub use sessions::{Session, SessionSecret};
pub use triage::{
    Note, Triage, TriageChange, TriageStatus, TriageUpdate, MAX_FINDING_ID_CHARS, MAX_NAME_CHARS, MAX_NOTE_CHARS,
};

/// How long a SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections to a SQLite file: one writer at a time anyway, a few readers.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// Connections to PostgreSQL per replica.
const POSTGRES_MAX_CONNECTIONS: u32 = 10;
/// How long `open` (and any later request) waits for a connection. Refused
/// connections are retried until then, so a replica that starts before its
/// database is up waits for it instead of failing at once.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The connection pool of one backend. Both pools are `Arc`s inside.
#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The console's shared state: a connection pool to SQLite or PostgreSQL.
///
/// Open it once with [`Store::open`] and clone it into every request handler:
/// clones share the pool. Its `Debug` shows the backend and the URL with the
/// password replaced by `***`.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// The URL as shown to people: password and query string removed.
    shown_url: Arc<str>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend()).field("url", &&*self.shown_url).finish()
    }
}

impl Store {
    /// Connects to the database at `url` and creates or updates its schema.
    ///
    /// - `sqlite://PATH` (`sqlite:///abs/path.db`, `sqlite://relative.db`): the
    ///   file is created if missing (its directory must exist), opened in WAL
    ///   mode with foreign keys on and a busy timeout.
    /// - `sqlite::memory:`: a private in-memory database, gone when the store
    ///   is dropped (tests).
    /// - `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (or `postgresql://`);
    ///   `?sslmode=require` / `verify-full` use TLS (rustls, web PKI roots).
    ///
    /// The schema is versioned: `open` applies the migrations the database does
    /// not have yet, in one transaction, and does nothing when it is up to date.
    /// On PostgreSQL an advisory lock serialises replicas that start at once.
    ///
    /// Errors: [`StoreError::Url`] for a URL that cannot be used,
    /// [`StoreError::Connect`] when the database cannot be reached,
    /// [`StoreError::Migrate`] when the schema cannot be brought up to date.
    /// None of them shows the URL's password.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let shown_url: Arc<str> = error::redact_url(url).into();
        let Some((scheme, _)) = url.split_once(':') else {
            return Err(StoreError::Url(
                "the store URL has no scheme: use sqlite://PATH, sqlite::memory: or postgres://USER@HOST/DATABASE"
                    .to_string(),
            ));
        };
        let pool = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Pool::Sqlite(open_sqlite(url, &shown_url).await?),
            "postgres" | "postgresql" => Pool::Postgres(open_postgres(url, &shown_url).await?),
            _ => {
                return Err(StoreError::Url(format!(
                    "`{shown_url}`: unsupported scheme (use sqlite://PATH, sqlite::memory: or \
                     postgres://USER@HOST/DATABASE)"
                )))
            }
        };
        let store = Store { pool, shown_url };
        schema::migrate(&store).await?;
        Ok(store)
    }

    /// Which database this store uses: `"sqlite"` or `"postgresql"`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgresql",
        }
    }

    /// Closes every connection of the pool (shared by all clones) and waits
    /// until they are closed. Calls after this fail with [`StoreError::Query`].
    /// Optional: dropping the last clone closes the pool too, in the background.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// Opens the SQLite pool for `url` (`sqlite://PATH` or `sqlite::memory:`).
async fn open_sqlite(url: &str, shown_url: &str) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Url(format!("`{shown_url}`: {e}")))?;
    let rest = url.get("sqlite:".len()..).unwrap_or_default();
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path == ":memory:" || params.split('&').any(|p| p == "mode=memory");
    if in_memory {
        // One connection: an in-memory database lives as long as a connection
        // to it, and shared-cache connections would fail on table locks rather
        // than wait. Keep it open for the life of the pool.
        return SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.foreign_keys(true))
            .await
            .map_err(|source| StoreError::Connect { backend: "sqlite", source });
    }
    let file = options.get_filename().to_path_buf();
    if file.as_os_str().is_empty() {
        return Err(StoreError::Url(format!(
            "`{shown_url}`: no file name (use sqlite:///absolute/path.db, sqlite://relative.db or sqlite::memory:)"
        )));
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(StoreError::Url(format!(
                "`{shown_url}`: the directory `{}` does not exist; create it (the database file itself is created \
                 on first use)",
                dir.display()
            )));
        }
    }
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    // Switching a new file to WAL needs a lock SQLite does not wait for (the
    // busy timeout does not cover `PRAGMA journal_mode`): when several
    // processes open a fresh file at once, the losers get SQLITE_BUSY. Retry
    // those for as long as the busy timeout would have waited.
    let started = std::time::Instant::now();
    loop {
        let opened = SqlitePoolOptions::new()
            .max_connections(SQLITE_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await;
        match opened {
            Ok(pool) => return Ok(pool),
            Err(source) if is_busy(&source) && started.elapsed() < SQLITE_BUSY_TIMEOUT => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(source) => return Err(StoreError::Connect { backend: "sqlite", source }),
        }
    }
}

/// SQLITE_BUSY (5) or SQLITE_LOCKED (6), by their primary code.
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff), Some(5 | 6))
        }
        _ => false,
    }
}

/// Opens the PostgreSQL pool for `url`.
async fn open_postgres(url: &str, shown_url: &str) -> Result<PgPool, StoreError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Url(format!("`{shown_url}`: {e}")))?
        .application_name("floodlight-console");
    PgPoolOptions::new()
        .max_connections(POSTGRES_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Connect { backend: "postgresql", source })
}

/// The current time as microseconds since the Unix epoch (UTC), the unit of
/// every timestamp in this crate. A clock before 1970 gives a negative number.
pub fn now_micros() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |m| -m),
    }
}

/// Starts a transaction that will write, on either backend.
///
/// On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken at once (waiting
/// up to the busy timeout), so a transaction that reads before it writes can
/// never fail half-way on a lock upgrade. On PostgreSQL a plain `BEGIN`: row
/// locks and `WHERE version = $n` do the rest.
trait BeginWrite {
    type Db: sqlx::Database;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// Every public future is `Send` (axum handlers and `tokio::spawn` need it).
/// sqlx plus iterator closures held across an await can silently lose that,
/// so it is checked at compile time here.
#[cfg(test)]
#[allow(dead_code, clippy::let_underscore_future)]
mod send_checks {
    use super::*;

    fn send<T: Send>(_: T) {}

    fn every_future_is_send(store: &Store, ids: &[String]) {
        send(Store::open(""));
        send(store.close());
        send(store.create_session("", "", Duration::ZERO));
        send(store.session(""));
        send(store.delete_session(""));
        send(store.purge_expired_sessions());
        send(store.triage(""));
        send(store.triage_many(ids));
        send(store.set_triage("", TriageUpdate { status: TriageStatus::New, assignee: None }, "", None));
        send(store.triage_history(""));
        send(store.add_note("", "", ""));
        send(store.notes(""));
        send(store.findings_with_status(TriageStatus::New, 1));
        send(store.enqueue_nudge(&NewNudge::default()));
        send(store.claim_due_nudges(0, 1, 0));
        send(store.finish_nudge("", &NudgeOutcome::Skipped { reason: String::new() }));
        send(store.last_nudge_to("", None, 0, ""));
        send(store.count_sent_since(0));
        send(store.answer_nudge("", &NewAnswer { choice: AnswerChoice::Switch, reason: None, requested_days: None }));
        send(store.answers_since(0, 1));
        send(store.recent_nudges(1));
        send(store.nudge_for_finding(""));
    }
}
