//! Test databases: a SQLite file in a temporary directory, or a database on a
//! real PostgreSQL server that the tests start themselves.
//!
//! The PostgreSQL server comes from Debian's `postgresql` package
//! (`deploy/install-system-packages.sh` installs it): `initdb` makes a cluster
//! in a temporary directory (trust authentication, user `floodlight`), and
//! `postgres` serves it on 127.0.0.1 at a free port, without a Unix socket
//! and with durability off (tests need no crash safety). Tests that run at
//! the same time share one server (each in its own database, made with
//! `CREATE DATABASE`). TLS is on, with a self-signed certificate for
//! `127.0.0.1` and `localhost` made by `rcgen` ([`PgServer::ca_file`]), so
//! that `sslmode=require` / `verify-full` can be tested; the last one to finish stops it (`pg_ctl stop -m
//! fast`) and the directory is removed. Should the test process die without
//! unwinding, `setpriv --pdeathsig` stops the server with it.
//!
//! `initdb` and `postgres` refuse to run as root; as root (CI, this machine)
//! they run as the `postgres` system user that the Debian package creates,
//! through `setpriv`, in a directory handed over to that user.
//!
//! The server binaries are looked for in `$FLOODLIGHT_PG_BINDIR`, then the
//! highest `/usr/lib/postgresql/<N>/bin` with `initdb`, then `pg_config
//! --bindir`. If there are none, the PostgreSQL tests fail (they do not
//! skip) and say what to install.

#![allow(dead_code)] // each backend uses part of it

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use floodlight_store::Store;
use sqlx::Connection;

/// The user the cluster is made for (trust authentication: no password).
pub const PG_USER: &str = "floodlight";

/// A database to run one test against.
pub enum TestDb {
    /// A SQLite file (not created yet) in a temporary directory.
    Sqlite { dir: tempfile::TempDir, path: PathBuf },
    /// A fresh database on the shared test server.
    Postgres { server: Arc<PgServer>, database: String },
}

impl TestDb {
    /// A SQLite database file in a new temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::Builder::new().prefix("floodlight-store-").tempdir().expect("temporary directory");
        let path = dir.path().join("console.db");
        TestDb::Sqlite { dir, path }
    }

    /// A new, empty database on the shared PostgreSQL test server (started
    /// if none is running). `name` goes into the database's name.
    pub async fn postgres(name: &str) -> TestDb {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let server = tokio::task::spawn_blocking(PgServer::shared)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let database = format!("t{}_{}_{name}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut conn = sqlx::PgConnection::connect(&server.url("postgres")).await.expect("connect to the test server");
        // A name made here from an identifier, not input: quoting is enough.
        sqlx::raw_sql(&format!("CREATE DATABASE \"{database}\"")).execute(&mut conn).await.expect("CREATE DATABASE");
        conn.close().await.expect("close");
        TestDb::Postgres { server, database }
    }

    /// `"sqlite"` or `"postgresql"`, as [`Store::backend`] says.
    pub fn backend(&self) -> &'static str {
        match self {
            TestDb::Sqlite { .. } => "sqlite",
            TestDb::Postgres { .. } => "postgresql",
        }
    }

    /// The URL to open the store with.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            TestDb::Postgres { server, database } => server.url(database),
        }
    }

    /// The same database's URL with a password in it (trust authentication
    /// ignores it; SQLite has none, so this is the plain URL there).
    pub fn url_with_password(&self, password: &str) -> String {
        match self {
            TestDb::Sqlite { .. } => self.url(),
            TestDb::Postgres { server, database } => {
                format!("postgres://{PG_USER}:{password}@127.0.0.1:{}/{database}", server.port)
            }
        }
    }

    /// A URL on the same backend that cannot be opened, with `password` in
    /// it where the backend has one.
    pub fn unreachable_url(&self, password: &str) -> String {
        match self {
            TestDb::Sqlite { dir, .. } => format!("sqlite://{}/no-such-dir/console.db", dir.path().display()),
            TestDb::Postgres { server, .. } => {
                format!("postgres://{PG_USER}:{password}@127.0.0.1:{}/no_such_database", server.port)
            }
        }
    }

    /// Opens the store, panicking with the error.
    pub async fn open(&self) -> Store {
        match Store::open(&self.url()).await {
            Ok(store) => store,
            Err(e) => panic!("open {}: {e}", self.url()),
        }
    }

    /// Runs `sql` directly on the database (not through the store) and returns
    /// the first column of every row as text.
    pub async fn raw_strings(&self, sql: &str) -> Vec<String> {
        match self {
            TestDb::Sqlite { path, .. } => {
                let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .expect("raw SQLite connection");
                let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut conn).await.expect(sql);
                conn.close().await.expect("close");
                rows
            }
            TestDb::Postgres { .. } => {
                let mut conn = sqlx::PgConnection::connect(&self.url()).await.expect("raw PostgreSQL connection");
                let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut conn).await.expect(sql);
                conn.close().await.expect("close");
                rows
            }
        }
    }

    /// The bytes of the SQLite database's files (main file, WAL, shared
    /// memory); empty for PostgreSQL.
    pub fn sqlite_file_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        if let TestDb::Sqlite { path, .. } = self {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                if let Ok(b) = fs::read(&file) {
                    bytes.extend_from_slice(&b);
                }
            }
        }
        bytes
    }
}

/// A PostgreSQL server running on loopback in a temporary directory; stopped
/// and removed when dropped.
pub struct PgServer {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// The server's (self-signed) certificate, PEM: the root to trust for
    /// `sslmode=verify-full&sslrootcert=...`.
    pub ca_file: PathBuf,
    bindir: PathBuf,
    data: PathBuf,
    /// The thread that waits for the `postgres` process (so that
    /// `--pdeathsig` is tied to a thread that lives as long as the server).
    keeper: Option<thread::JoinHandle<()>>,
    dir: Option<tempfile::TempDir>,
}

impl PgServer {
    /// The running test server, or a new one if none is running. Tests that
    /// overlap share it; it stops when the last of them drops its handle.
    pub fn shared() -> Arc<PgServer> {
        static SHARED: Mutex<Weak<PgServer>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(server) = shared.upgrade() {
            return server;
        }
        let server = Arc::new(PgServer::start());
        *shared = Arc::downgrade(&server);
        server
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{PG_USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Makes a cluster and starts a server on it (see the module docs).
    pub fn start() -> PgServer {
        let started = Instant::now();
        let bindir = pg_bindir();
        let root = is_root();
        let dir = tempfile::Builder::new().prefix("floodlight-pg-").tempdir().expect("temporary directory");
        if root {
            run(Command::new("chown").arg("postgres:").arg(dir.path()), "chown the PostgreSQL test directory");
        }
        let data = dir.path().join("data");
        let mut initdb = pg_command(&bindir, "initdb", root, None);
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", PG_USER, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
            .current_dir(dir.path());
        run(&mut initdb, "initdb");

        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("test certificate");
        let ca_file = dir.path().join("server.crt");
        let key_file = dir.path().join("server.key");
        fs::write(&ca_file, cert.cert.pem()).expect("write the certificate");
        fs::write(&key_file, cert.key_pair.serialize_pem()).expect("write the key");
        // PostgreSQL wants its key private to the user it runs as.
        fs::set_permissions(&key_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod key");
        if root {
            run(Command::new("chown").arg("postgres:").arg(&ca_file).arg(&key_file), "chown the certificate");
        }

        let mut attempts = 0;
        loop {
            attempts += 1;
            let port = free_port();
            let log_path = dir.path().join(format!("postgres-{port}.log"));
            let log = fs::File::create(&log_path).expect("server log file");
            let mut postgres = pg_command(&bindir, "postgres", root, Some("INT"));
            postgres
                .arg("-D")
                .arg(&data)
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k", ""])
                .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
                .args(["-c", "max_connections=300", "-c", "shared_buffers=32MB", "-c", "ssl=on"])
                .arg("-c")
                .arg(format!("ssl_cert_file={}", ca_file.display()))
                .arg("-c")
                .arg(format!("ssl_key_file={}", key_file.display()))
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log);
            let (tx, rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
            let keeper = thread::spawn(move || match postgres.spawn() {
                Ok(mut child) => {
                    let _ = tx.send(Ok(()));
                    wait_quietly(&mut child);
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            });
            if let Err(e) = rx.recv().expect("server keeper thread") {
                panic!("cannot run {}/postgres: {e}", bindir.display());
            }
            let mut server = PgServer {
                port,
                ca_file: ca_file.clone(),
                bindir: bindir.clone(),
                data: data.clone(),
                keeper: Some(keeper),
                dir: None,
            };
            match server.wait_ready(&log_path) {
                Ok(()) => {
                    server.dir = Some(dir);
                    eprintln!(
                        "PostgreSQL test server on 127.0.0.1:{port} ({}), ready in {:.1?}",
                        bindir.display(),
                        started.elapsed()
                    );
                    return server;
                }
                Err(log) => {
                    // The port was taken between choosing and binding it: try another.
                    let port_taken = log.contains("could not bind") || log.contains("already in use");
                    drop(server);
                    if !port_taken || attempts >= 5 {
                        panic!("the PostgreSQL test server did not start; its log:\n{log}");
                    }
                }
            }
        }
    }

    /// Waits until the server accepts connections; `Err(log)` if it exited or
    /// did not come up within a minute.
    fn wait_ready(&self, log_path: &Path) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let read_log = || fs::read_to_string(log_path).unwrap_or_default();
        loop {
            if self.keeper.as_ref().is_none_or(|k| k.is_finished()) {
                return Err(read_log());
            }
            let ready = Command::new(self.bindir.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", PG_USER, "-d", "postgres"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("not ready after 60 s\n{}", read_log()));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Fast shutdown: disconnect clients, stop. The keeper thread then
        // sees the process exit.
        let mut stop = pg_command(&self.bindir, "pg_ctl", is_root(), None);
        stop.arg("stop").arg("-D").arg(&self.data).args(["-m", "fast", "-w", "-t", "60"]);
        let stopped = stop.stdout(Stdio::null()).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false);
        if let Some(keeper) = self.keeper.take() {
            if stopped || keeper.is_finished() {
                let _ = keeper.join();
            }
        }
        // `dir` (the cluster) is removed when it drops, after this.
    }
}

/// Waits for a child without caring how it ended.
fn wait_quietly(child: &mut Child) {
    let _ = child.wait();
}

/// Whether this process runs as root (uid 0).
fn is_root() -> bool {
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// A command for the PostgreSQL program `program`: run as the `postgres`
/// user when we are root; with `pdeathsig`, the program gets that signal if
/// the thread that started it dies (the test process is killed).
fn pg_command(bindir: &Path, program: &str, root: bool, pdeathsig: Option<&str>) -> Command {
    let have_setpriv = Path::new("/usr/bin/setpriv").exists() || Path::new("/bin/setpriv").exists();
    if !root && (pdeathsig.is_none() || !have_setpriv) {
        return Command::new(bindir.join(program));
    }
    assert!(have_setpriv, "setpriv (util-linux) is needed to run PostgreSQL as the postgres user");
    let mut cmd = Command::new("setpriv");
    if root {
        cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
    }
    if let Some(signal) = pdeathsig {
        cmd.arg(format!("--pdeathsig={signal}"));
    }
    cmd.arg("--").arg(bindir.join(program));
    cmd
}

/// Runs `cmd` to completion; panics with its output if it fails.
fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A TCP port that was free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Where `initdb`, `postgres`, `pg_ctl` and `pg_isready` are (module docs).
fn pg_bindir() -> PathBuf {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("FLOODLIGHT_PG_BINDIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        assert!(
            has_server(&dir),
            "FLOODLIGHT_PG_BINDIR={} has no initdb and postgres: point it at a PostgreSQL server's bin directory",
            dir.display()
        );
        return dir;
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return dir;
        }
    }
    panic!(
        "the PostgreSQL server binaries (initdb, postgres) were not found in /usr/lib/postgresql/<N>/bin nor by \
         `pg_config --bindir`: run deploy/install-system-packages.sh (Debian's `postgresql` package), or set \
         FLOODLIGHT_PG_BINDIR to a PostgreSQL bin directory"
    );
}
