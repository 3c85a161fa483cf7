//! Hot reload: watch every file the `[enrichments]` config names and build a
//! whole new [`Enrichments`] snapshot when one changes, without a restart.
//!
//! Watched: `catalog`, `overlay`, `personal_domains`, `disposable_domains`,
//! every `network_lists` file, `directory`, and every `[enrichments.geoip]`
//! database ([`watched_files`]).
//!
//! # How a change is noticed
//!
//! The reloader keeps a fingerprint of each file (size, modification time,
//! device and inode, following symlinks; or "missing"). A change is a
//! different fingerprint. Two things make it look:
//!
//! * file-system notifications (`notify`: inotify, FSEvents, ...) on the
//!   *directories* holding the files (and, for symlinks, their targets'
//!   directories), so a file replaced by rename (editors, `mv`, MaxMind's
//!   `geoipupdate`, which writes a temporary file and renames it) and a
//!   Kubernetes ConfigMap update (an atomic swap of the `..data` symlink)
//!   are seen as well as in-place writes;
//! * polling every `poll_interval_secs` (default 30), for file systems
//!   where notifications do not work (NFS, some volume mounts).
//!
//! After a change the reloader waits until the fingerprints have been
//! stable for `debounce_ms` (default 500), so a file still being written
//! is not read half-way, then loads everything with [`Enrichments::load`].
//!
//! # Outcome
//!
//! * Success: the new snapshot becomes [`Reloader::current`], the callback
//!   receives it (the pipeline stores it in its `ArcSwap`), `reloads_ok`
//!   counts it, and an `info` line names the changed files.
//! * Failure: a `warn` line gives the error, which names the setting, the
//!   file and the rule broken; the old snapshot stays in service;
//!   `reloads_failed` counts it. The same broken state is not retried; the
//!   next change is.
//!
//! Memory-mapped databases stay valid across a reload as long as files are
//! replaced by rename (see [`crate::geo`]); set
//! `enrichments.geoip.mmap = false` where they are rewritten in place.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use notify::Watcher;

use crate::config::{EnrichmentConfig, ReloadConfig};
use crate::error::EnrichmentError;
use crate::files::resolve;
use crate::Enrichments;

/// A file the snapshot depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedFile {
    /// The setting that names it (`enrichments.network_lists[1]`).
    pub setting: String,
    /// Its path, resolved against the base directory.
    pub path: PathBuf,
}

/// Every file `cfg` names, resolved against `base_dir`; bundled
/// (`embedded:...`) files never change and are left out.
pub fn watched_files(cfg: &EnrichmentConfig, base_dir: &Path) -> Vec<WatchedFile> {
    let mut out = Vec::new();
    let mut add = |setting: String, p: &Path| {
        if crate::files::embedded_name(p).is_none() {
            out.push(WatchedFile { setting, path: resolve(base_dir, p) })
        }
    };
    let singles = [
        ("enrichments.catalog", &cfg.catalog),
        ("enrichments.overlay", &cfg.overlay),
        ("enrichments.personal_domains", &cfg.personal_domains),
        ("enrichments.disposable_domains", &cfg.disposable_domains),
        ("enrichments.directory", &cfg.directory),
    ];
    for (setting, p) in singles {
        if let Some(p) = p {
            add(setting.to_string(), p);
        }
    }
    for (i, p) in cfg.network_lists.iter().enumerate() {
        add(format!("enrichments.network_lists[{i}]"), p);
    }
    for (setting, p) in cfg.geoip.databases() {
        add(setting.to_string(), p);
    }
    out
}

/// How the reloader notices changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadOptions {
    /// Use file-system notifications.
    pub watch: bool,
    /// Also poll this often; `None` turns polling off.
    pub poll_interval: Option<Duration>,
    /// Wait for the files to be stable this long before loading.
    pub debounce: Duration,
}

impl From<&ReloadConfig> for ReloadOptions {
    fn from(c: &ReloadConfig) -> Self {
        ReloadOptions {
            watch: c.watch,
            poll_interval: (c.poll_interval_secs > 0).then(|| Duration::from_secs(c.poll_interval_secs)),
            debounce: Duration::from_millis(c.debounce_ms),
        }
    }
}

impl Default for ReloadOptions {
    fn default() -> Self {
        ReloadOptions::from(&ReloadConfig::default())
    }
}

/// Reload counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadStats {
    /// Snapshots built and swapped in after the first.
    pub reloads_ok: u64,
    /// Reloads rejected (the old snapshot stayed).
    pub reloads_failed: u64,
    /// The last failure, until a reload succeeds.
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Fingerprint {
    Missing,
    File { len: u64, modified: Option<SystemTime>, dev: u64, ino: u64 },
}

fn fingerprint(p: &Path) -> Fingerprint {
    match std::fs::metadata(p) {
        Err(_) => Fingerprint::Missing,
        Ok(m) => {
            #[cfg(unix)]
            let (dev, ino) = {
                use std::os::unix::fs::MetadataExt;
                (m.dev(), m.ino())
            };
            #[cfg(not(unix))]
            let (dev, ino) = (0, 0);
            Fingerprint::File { len: m.len(), modified: m.modified().ok(), dev, ino }
        }
    }
}

/// What a reload attempt did, handed to the observer of
/// [`Reloader::start_observed`].
#[derive(Debug)]
pub enum ReloadEvent<'a> {
    /// A new snapshot is in service.
    Reloaded {
        /// The new snapshot.
        snapshot: Arc<Enrichments>,
        /// The settings whose files changed (`enrichments.overlay`, ...);
        /// empty for a forced reload.
        changed: &'a [String],
    },
    /// The reload was rejected; the previous snapshot stays in service.
    Failed {
        /// Why: names the setting, the file and the rule broken
        /// ([`EnrichmentError::setting`]).
        error: &'a EnrichmentError,
        /// The settings whose files changed.
        changed: &'a [String],
    },
}

type Observer = Box<dyn Fn(ReloadEvent<'_>) + Send + Sync>;
type Check = Box<dyn Fn(&Enrichments) -> Result<(), EnrichmentError> + Send + Sync>;

/// What the reloader calls besides loading.
struct Hooks {
    /// Vets a new snapshot before it goes into service; an error rejects it.
    check: Check,
    /// Told of every outcome.
    observer: Observer,
    /// Whether the reloader writes its own log lines (the observer does when not).
    log: bool,
}

impl Hooks {
    fn plain(on_reload: impl Fn(Arc<Enrichments>) + Send + Sync + 'static) -> Hooks {
        Hooks {
            check: Box::new(|_| Ok(())),
            observer: Box::new(move |ev| {
                if let ReloadEvent::Reloaded { snapshot, .. } = ev {
                    on_reload(snapshot)
                }
            }),
            log: true,
        }
    }
}

struct State {
    loaded: Vec<Fingerprint>,
    failed: Option<Vec<Fingerprint>>,
}

struct Shared {
    cfg: EnrichmentConfig,
    base_dir: PathBuf,
    files: Vec<WatchedFile>,
    current: RwLock<Arc<Enrichments>>,
    /// Held for a whole reload (serialises the thread and `reload_now`).
    state: Mutex<State>,
    last_error: Mutex<Option<String>>,
    ok: AtomicU64,
    failed: AtomicU64,
    hooks: Hooks,
}

impl Shared {
    fn fingerprints(&self) -> Vec<Fingerprint> {
        self.files.iter().map(|f| fingerprint(&f.path)).collect()
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `fp` differs from both the loaded and the last failed state.
    fn is_new(&self, fp: &[Fingerprint]) -> bool {
        let st = self.lock_state();
        st.loaded != fp && st.failed.as_deref() != Some(fp)
    }

    /// Load everything; swap on success. `fp` is the state the load starts from.
    fn reload(&self, fp: Vec<Fingerprint>) -> Result<Arc<Enrichments>, EnrichmentError> {
        let mut st = self.lock_state();
        let changed: Vec<String> = self
            .files
            .iter()
            .zip(&fp)
            .zip(st.loaded.iter().map(Some).chain(std::iter::repeat(None)))
            .filter(|((_, new), old)| Some(*new) != *old)
            .map(|((f, _), _)| f.setting.clone())
            .collect();
        let changed_text = if changed.is_empty() { "none (forced)".to_string() } else { changed.join(", ") };
        let loaded = Enrichments::load(&self.cfg, &self.base_dir).and_then(|s| (self.hooks.check)(&s).map(|()| s));
        let tell = |ev: ReloadEvent<'_>| {
            let hand_over = std::panic::AssertUnwindSafe(|| (self.hooks.observer)(ev));
            if std::panic::catch_unwind(hand_over).is_err() {
                tracing::error!("enrichments reload: the reload observer panicked; reloading goes on");
            }
        };
        match loaded {
            Ok(snapshot) => {
                let snapshot = Arc::new(snapshot);
                // Counters and state first: whoever sees the new snapshot
                // also sees it counted.
                st.loaded = fp;
                st.failed = None;
                *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = None;
                let n = self.ok.fetch_add(1, Ordering::SeqCst) + 1;
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&snapshot);
                if self.hooks.log {
                    tracing::info!(changed = %changed_text, reloads_ok = n, "enrichments reloaded");
                }
                tell(ReloadEvent::Reloaded { snapshot: Arc::clone(&snapshot), changed: &changed });
                Ok(snapshot)
            }
            Err(e) => {
                st.failed = Some(fp);
                *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                let n = self.failed.fetch_add(1, Ordering::SeqCst) + 1;
                if self.hooks.log {
                    tracing::warn!(
                        changed = %changed_text,
                        reloads_failed = n,
                        "enrichments reload rejected, the previous snapshot stays in service: {e}"
                    );
                }
                tell(ReloadEvent::Failed { error: &e, changed: &changed });
                Err(e)
            }
        }
    }
}

enum Msg {
    Wake,
    Stop,
}

/// Watches the configured files and produces new snapshots. Stops (and
/// joins its thread) when dropped.
pub struct Reloader {
    shared: Arc<Shared>,
    tx: Sender<Msg>,
    thread: Option<JoinHandle<()>>,
    watcher: Option<notify::RecommendedWatcher>,
    watched_dirs: Vec<PathBuf>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("files", &self.shared.files)
            .field("watched_dirs", &self.watched_dirs)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Reloader {
    /// Load the first snapshot (an error here is returned: nothing to keep
    /// in service yet), then watch. `on_reload` receives every later
    /// snapshot; it runs on the reloader's thread and must not call
    /// [`Reloader::reload_now`].
    pub fn start(
        cfg: EnrichmentConfig,
        base_dir: impl Into<PathBuf>,
        options: ReloadOptions,
        on_reload: impl Fn(Arc<Enrichments>) + Send + Sync + 'static,
    ) -> Result<Reloader, EnrichmentError> {
        let base_dir = base_dir.into();
        let files = watched_files(&cfg, &base_dir);
        let before: Vec<Fingerprint> = files.iter().map(|f| fingerprint(&f.path)).collect();
        let first = Arc::new(Enrichments::load(&cfg, &base_dir)?);
        Ok(Reloader::watch(cfg, base_dir, files, before, first, options, Hooks::plain(on_reload)))
    }

    /// Watch for changes to a snapshot already loaded from `cfg` (by
    /// [`Enrichments::load`] just before).
    pub fn start_with(
        initial: Arc<Enrichments>,
        cfg: EnrichmentConfig,
        base_dir: impl Into<PathBuf>,
        options: ReloadOptions,
        on_reload: impl Fn(Arc<Enrichments>) + Send + Sync + 'static,
    ) -> Reloader {
        let base_dir = base_dir.into();
        let files = watched_files(&cfg, &base_dir);
        let now: Vec<Fingerprint> = files.iter().map(|f| fingerprint(&f.path)).collect();
        Reloader::watch(cfg, base_dir, files, now, initial, options, Hooks::plain(on_reload))
    }

    /// Like [`Reloader::start_with`], for a service that reports reloads
    /// itself: `check` vets each new snapshot before it goes into service
    /// (an error rejects the reload like a bad file: counted, the old
    /// snapshot stays), and `observer` is told of every outcome, success or
    /// failure, with the settings whose files changed. The reloader writes
    /// no log lines of its own; the observer does. Both run on the
    /// reloader's thread and must not call [`Reloader::reload_now`].
    pub fn start_observed(
        initial: Arc<Enrichments>,
        cfg: EnrichmentConfig,
        base_dir: impl Into<PathBuf>,
        options: ReloadOptions,
        check: impl Fn(&Enrichments) -> Result<(), EnrichmentError> + Send + Sync + 'static,
        observer: impl Fn(ReloadEvent<'_>) + Send + Sync + 'static,
    ) -> Reloader {
        let base_dir = base_dir.into();
        let files = watched_files(&cfg, &base_dir);
        let now: Vec<Fingerprint> = files.iter().map(|f| fingerprint(&f.path)).collect();
        let hooks = Hooks { check: Box::new(check), observer: Box::new(observer), log: false };
        Reloader::watch(cfg, base_dir, files, now, initial, options, hooks)
    }

    fn watch(
        cfg: EnrichmentConfig,
        base_dir: PathBuf,
        files: Vec<WatchedFile>,
        loaded: Vec<Fingerprint>,
        first: Arc<Enrichments>,
        options: ReloadOptions,
        hooks: Hooks,
    ) -> Reloader {
        let shared = Arc::new(Shared {
            cfg,
            base_dir,
            files,
            current: RwLock::new(first),
            state: Mutex::new(State { loaded, failed: None }),
            last_error: Mutex::new(None),
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            hooks,
        });
        let (tx, rx) = mpsc::channel();
        let (watcher, watched_dirs) =
            if options.watch { start_watcher(&shared.files, tx.clone()) } else { (None, Vec::new()) };
        if watcher.is_none() && options.poll_interval.is_none() && !shared.files.is_empty() {
            tracing::warn!(
                "enrichments reload: neither file notifications nor polling is active; changes will not be noticed"
            );
        }
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("enrichments-reload".into())
                .spawn(move || run(&shared, &rx, &options))
                .map_err(|e| tracing::warn!("enrichments reload: cannot start the reload thread: {e}"))
                .ok()
        };
        Reloader { shared, tx, thread, watcher, watched_dirs }
    }

    /// The snapshot in service.
    pub fn current(&self) -> Arc<Enrichments> {
        Arc::clone(&self.shared.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Reload counters and the last error.
    pub fn stats(&self) -> ReloadStats {
        ReloadStats {
            reloads_ok: self.shared.ok.load(Ordering::SeqCst),
            reloads_failed: self.shared.failed.load(Ordering::SeqCst),
            last_error: self.shared.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        }
    }

    /// The files the snapshot depends on.
    pub fn files(&self) -> &[WatchedFile] {
        &self.shared.files
    }

    /// The directories under file-system notification.
    pub fn watched_dirs(&self) -> &[PathBuf] {
        &self.watched_dirs
    }

    /// Whether file-system notifications are active.
    pub fn is_watching(&self) -> bool {
        self.watcher.is_some()
    }

    /// Ask the reloader thread to check the files now (e.g. on SIGHUP);
    /// returns at once.
    pub fn check_now(&self) {
        let _ = self.tx.send(Msg::Wake);
    }

    /// Reload now, whether or not anything changed, on the calling thread.
    /// Counts and logs like any reload; the callback runs too.
    pub fn reload_now(&self) -> Result<Arc<Enrichments>, EnrichmentError> {
        self.shared.reload(self.shared.fingerprints())
    }
}

impl Drop for Reloader {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        self.watcher.take();
        if let Some(t) = self.thread.take() {
            // Dropped from its own thread (the last owner was an observer):
            // the thread ends on the stop message; joining itself would fail.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// Watch the directories holding `files` (and their symlink targets').
fn start_watcher(files: &[WatchedFile], tx: Sender<Msg>) -> (Option<notify::RecommendedWatcher>, Vec<PathBuf>) {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    let mut names: BTreeSet<OsString> = BTreeSet::new();
    for f in files {
        for p in [Some(f.path.clone()), std::fs::canonicalize(&f.path).ok()].into_iter().flatten() {
            if let Some(n) = p.file_name() {
                names.insert(n.to_os_string());
            }
            if let Some(d) = p.parent() {
                let d = if d.as_os_str().is_empty() { Path::new(".") } else { d };
                dirs.insert(d.to_path_buf());
            }
        }
    }
    if dirs.is_empty() {
        return (None, Vec::new());
    }
    let handler = move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        let relevant = ev.paths.is_empty()
            || ev
                .paths
                .iter()
                .any(|p| p.file_name().is_some_and(|n| names.contains(n) || n.to_string_lossy().starts_with("..")));
        if relevant {
            let _ = tx.send(Msg::Wake);
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("enrichments reload: file notifications unavailable, relying on polling: {e}");
            return (None, Vec::new());
        }
    };
    let mut watched = Vec::new();
    for d in dirs {
        match watcher.watch(&d, notify::RecursiveMode::NonRecursive) {
            Ok(()) => watched.push(d),
            Err(e) => tracing::warn!(
                dir = %d.display(),
                "enrichments reload: cannot watch the directory, relying on polling: {e}"
            ),
        }
    }
    if watched.is_empty() {
        (None, watched)
    } else {
        (Some(watcher), watched)
    }
}

/// Wait `d`, draining wake-ups; `false` when told to stop.
fn wait(rx: &Receiver<Msg>, d: Duration) -> bool {
    let deadline = Instant::now() + d;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        match rx.recv_timeout(deadline - now) {
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
            Ok(Msg::Wake) => {}
            Err(RecvTimeoutError::Timeout) => return true,
        }
    }
}

fn run(shared: &Shared, rx: &Receiver<Msg>, options: &ReloadOptions) {
    let tick = options.poll_interval.unwrap_or(Duration::from_secs(3600));
    loop {
        match rx.recv_timeout(tick) {
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(Msg::Wake) | Err(RecvTimeoutError::Timeout) => {}
        }
        let mut fp = shared.fingerprints();
        if !shared.is_new(&fp) {
            continue;
        }
        // Debounce: wait until nothing has changed for `debounce`.
        loop {
            if !wait(rx, options.debounce) {
                return;
            }
            let again = shared.fingerprints();
            if again == fp {
                break;
            }
            fp = again;
        }
        if shared.is_new(&fp) {
            let _ = shared.reload(fp);
        }
        // A change during the load is seen on the next check.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    const USERS_1: &str = "user,email,display_name\nagarcia,ana.garcia@corp.example.com,Ana García\n";
    const USERS_2: &str =
        "user,email,display_name\nagarcia,ana.garcia@corp.example.com,Ana García\nslee,sam.lee@corp.example.com,Sam Lee\n";
    const USERS_BAD: &str = "user,email\nagarcia,a@corp.example.com\nAGARCIA,b@corp.example.com\n";

    fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn options(watch: bool, poll: Option<u64>) -> ReloadOptions {
        ReloadOptions { watch, poll_interval: poll.map(Duration::from_millis), debounce: Duration::from_millis(50) }
    }

    fn cfg(toml_text: &str) -> EnrichmentConfig {
        toml::from_str(toml_text).unwrap()
    }

    /// Write via a temporary file and rename, as editors and geoipupdate do.
    fn replace(path: &Path, contents: &[u8]) {
        let tmp = path.with_extension("tmp-write");
        std::fs::write(&tmp, contents).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    fn exercise(watch: bool, poll: Option<u64>) {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users.csv");
        std::fs::write(&users, USERS_1).unwrap();
        let seen = Arc::new(AtomicUsize::new(0));
        let seen2 = Arc::clone(&seen);
        let r = Reloader::start(cfg("directory = \"users.csv\""), dir.path(), options(watch, poll), move |s| {
            seen2.store(s.directory.len(), Ordering::SeqCst);
        })
        .unwrap();
        assert_eq!(r.watched_dirs().is_empty(), !watch);
        assert_eq!(r.current().directory.len(), 1);
        assert_eq!(r.files()[0].setting, "enrichments.directory");

        // A good file swaps (in-place write).
        std::fs::write(&users, USERS_2).unwrap();
        wait_for("the new directory", || r.current().directory.len() == 2);
        wait_for("the callback to get the new snapshot", || seen.load(Ordering::SeqCst) == 2);
        assert_eq!(r.current().directory.lookup("slee").unwrap().display_name.as_deref(), Some("Sam Lee"));
        assert_eq!(r.stats(), ReloadStats { reloads_ok: 1, reloads_failed: 0, last_error: None });

        // A bad file is rejected; the old snapshot stays.
        let before = r.current();
        replace(&users, USERS_BAD.as_bytes());
        wait_for("the failed reload", || r.stats().reloads_failed == 1);
        let st = r.stats();
        let err = st.last_error.unwrap();
        assert!(err.starts_with("enrichments.directory: `"), "{err}");
        assert!(err.contains("users.csv`: line 3: user `AGARCIA` is already defined at line 2"), "{err}");
        assert!(Arc::ptr_eq(&before, &r.current()), "the old snapshot stays in service");
        assert_eq!(r.current().directory.len(), 2);
        assert_eq!(st.reloads_ok, 1);

        // Fixed: swaps again.
        replace(&users, USERS_1.as_bytes());
        wait_for("the fixed directory", || r.current().directory.len() == 1);
        wait_for("the callback to get the fixed snapshot", || seen.load(Ordering::SeqCst) == 1);
        assert_eq!(r.stats(), ReloadStats { reloads_ok: 2, reloads_failed: 1, last_error: None });

        // A deleted file is a failed reload too.
        std::fs::remove_file(&users).unwrap();
        wait_for("the failed reload of a deleted file", || r.stats().reloads_failed == 2);
        assert_eq!(r.current().directory.len(), 1);
    }

    #[test]
    fn file_notifications_swap_good_files_and_keep_the_old_snapshot_on_bad_ones() {
        exercise(true, None);
    }

    #[test]
    fn polling_works_without_notifications() {
        exercise(false, Some(50));
    }

    #[test]
    fn a_database_replaced_by_rename_is_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/geoip-test");
        let db = dir.path().join("GeoIP2-City.mmdb");
        std::fs::copy(data.join("GeoIP2-City-Test.mmdb"), &db).unwrap();
        let r = Reloader::start(
            cfg("[geoip]\ncity = \"GeoIP2-City.mmdb\"\n"),
            dir.path(),
            options(true, Some(200)),
            |_| {},
        )
        .unwrap();
        let ip: std::net::IpAddr = "81.2.69.142".parse().unwrap();
        let old = r.current();
        assert_eq!(old.geo.lookup(ip).city.as_deref(), Some("London"));
        // geoipupdate style: write GeoIP2-City.mmdb.temp, rename over it. A
        // Country database has no city.
        replace(&db, &std::fs::read(data.join("GeoIP2-Country-Test.mmdb")).unwrap());
        wait_for("the new database", || r.current().geo.lookup(ip).city.is_none());
        assert_eq!(r.current().geo.lookup(ip).country.as_deref(), Some("GB"));
        // The old snapshot's map is still valid (the old inode lives on).
        assert_eq!(old.geo.lookup_uncached(ip).info.city.as_deref(), Some("London"));
        // A broken database keeps the Country one in service.
        replace(&db, b"not a database");
        wait_for("the failed reload", || r.stats().reloads_failed == 1);
        let err = r.stats().last_error.unwrap();
        assert!(
            err.starts_with("enrichments.geoip.city: `") && err.contains("not a readable MaxMind database"),
            "{err}"
        );
        assert_eq!(r.current().geo.lookup(ip).country.as_deref(), Some("GB"));
    }

    #[cfg(unix)]
    #[test]
    fn a_configmap_symlink_swap_is_reloaded() {
        use std::os::unix::fs::symlink;
        // Kubernetes: users.csv -> ..data/users.csv, ..data -> ..2024_v1;
        // an update writes ..2024_v2 and renames a new ..data over the old.
        let dir = tempfile::tempdir().unwrap();
        let mount = dir.path();
        std::fs::create_dir(mount.join("..v1")).unwrap();
        std::fs::write(mount.join("..v1/users.csv"), USERS_1).unwrap();
        symlink("..v1", mount.join("..data")).unwrap();
        symlink("..data/users.csv", mount.join("users.csv")).unwrap();
        let r = Reloader::start(cfg("directory = \"users.csv\""), mount, options(true, None), |_| {}).unwrap();
        assert_eq!(r.current().directory.len(), 1);
        std::fs::create_dir(mount.join("..v2")).unwrap();
        std::fs::write(mount.join("..v2/users.csv"), USERS_2).unwrap();
        symlink("..v2", mount.join("..data_tmp")).unwrap();
        std::fs::rename(mount.join("..data_tmp"), mount.join("..data")).unwrap();
        std::fs::remove_dir_all(mount.join("..v1")).unwrap();
        wait_for("the swapped ConfigMap", || r.current().directory.len() == 2);
        assert_eq!(r.stats().reloads_ok, 1);
    }

    #[test]
    fn an_observer_hears_every_outcome_and_a_check_can_reject() {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users.csv");
        std::fs::write(&users, USERS_1).unwrap();
        let c = cfg("directory = \"users.csv\"");
        let first = Arc::new(Enrichments::load(&c, dir.path()).unwrap());
        let heard: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = Arc::clone(&heard);
        let r = Reloader::start_observed(
            Arc::clone(&first),
            c,
            dir.path(),
            options(false, None),
            // Refuse directories of more than two people.
            |s| match s.directory.len() {
                0..=2 => Ok(()),
                n => Err(EnrichmentError::Setting {
                    setting: "enrichments.directory".into(),
                    message: format!("{n} people is too many for this test"),
                }),
            },
            move |ev| {
                let line = match ev {
                    ReloadEvent::Reloaded { snapshot, changed } => {
                        format!("ok {} {}", changed.join(","), snapshot.directory.len())
                    }
                    ReloadEvent::Failed { error, changed } => {
                        format!("failed {} {}", changed.join(","), error.setting())
                    }
                };
                log.lock().unwrap().push(line);
            },
        );
        assert!(Arc::ptr_eq(&first, &r.current()));
        std::fs::write(&users, USERS_2).unwrap();
        r.reload_now().unwrap();
        std::fs::write(&users, format!("{USERS_2}jdoe,j.doe@corp.example.com,J Doe\n")).unwrap();
        let e = r.reload_now().unwrap_err();
        assert_eq!(e.to_string(), "enrichments.directory: 3 people is too many for this test");
        assert_eq!(r.current().directory.len(), 2, "a rejected snapshot never goes into service");
        std::fs::write(&users, USERS_BAD).unwrap();
        assert!(r.reload_now().is_err());
        assert_eq!(
            *heard.lock().unwrap(),
            [
                "ok enrichments.directory 2",
                "failed enrichments.directory enrichments.directory",
                "failed enrichments.directory enrichments.directory"
            ]
        );
        assert_eq!((r.stats().reloads_ok, r.stats().reloads_failed), (1, 2));
    }

    #[test]
    fn every_configured_file_is_watched_and_reload_now_forces() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("nets.toml"), "").unwrap();
        std::fs::write(dir.path().join("free.txt"), "my-isp-mail.example\n").unwrap();
        let c = cfg(
            "personal_domains = \"free.txt\"\nnetwork_lists = [\"nets.toml\"]\n[geoip]\nasn = \"/var/lib/GeoIP/GeoLite2-ASN.mmdb\"\n",
        );
        let files = watched_files(&c, dir.path());
        let settings: Vec<_> = files.iter().map(|f| f.setting.as_str()).collect();
        assert_eq!(settings, ["enrichments.personal_domains", "enrichments.network_lists[0]", "enrichments.geoip.asn"]);
        assert_eq!(files[0].path, dir.path().join("free.txt"));
        assert_eq!(files[2].path, Path::new("/var/lib/GeoIP/GeoLite2-ASN.mmdb"));
        // A missing database fails the first load: returned, not swallowed.
        let e = Reloader::start(c, dir.path(), options(false, None), |_| {}).unwrap_err().to_string();
        assert!(e.starts_with("enrichments.geoip.asn: cannot read"), "{e}");

        let c = cfg("personal_domains = \"free.txt\"\nnetwork_lists = [\"nets.toml\"]\n");
        let r = Reloader::start(c, dir.path(), options(false, None), |_| {}).unwrap();
        let first = r.current();
        let again = r.reload_now().unwrap();
        assert!(!Arc::ptr_eq(&first, &again));
        assert!(again.email.classify("a@my-isp-mail.example").is_personal);
        assert_eq!(r.stats().reloads_ok, 1);
        std::fs::write(dir.path().join("nets.toml"), "[[asn]]\nasn = 1\n").unwrap();
        let e = r.reload_now().unwrap_err().to_string();
        assert!(e.starts_with("enrichments.network_lists[0]: `") && e.contains("`kind` is ``"), "{e}");
        assert!(Arc::ptr_eq(&again, &r.current()));
        assert_eq!((r.stats().reloads_ok, r.stats().reloads_failed), (1, 1));
    }
}
