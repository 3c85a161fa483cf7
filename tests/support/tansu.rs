//! A tansu broker for the Kafka tests and benchmarks: started on a free
//! loopback port with its SQLite storage in a temporary directory, killed
//! on drop. The binary comes from `FLOODLIGHT_TANSU` or
//! `deploy/kafka/install-tansu.sh`.
//!
//! Storage is SQLite: tansu 0.6's in-memory engine answers a fetch from an
//! offset inside a record batch with the *next* batch, so a consumer
//! resuming mid-batch (after a pause, a restart or a rebalance) would
//! silently skip records; the SQLite engine fetches by record.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The tansu binary; panics with how to install it when it is missing.
pub fn tansu() -> PathBuf {
    if let Ok(p) = std::env::var("FLOODLIGHT_TANSU") {
        return PathBuf::from(p);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kafka/install-tansu.sh");
    let p = Command::new(&script)
        .arg("--path")
        .output()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_default();
    assert!(
        p.exists(),
        "the tansu broker is not installed at {}: run deploy/kafka/install-tansu.sh (the README's test command does), \
         or set FLOODLIGHT_TANSU",
        p.display()
    );
    p
}

/// A running broker.
pub struct Broker {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Broker {
    /// Start one and wait until it listens.
    pub fn start() -> Broker {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(19092);
        let data = tempfile::tempdir().expect("tempdir");
        let child = Self::spawn(port, port, false, data.path());
        Self::wait_listening(port);
        Broker { child, port, _data: data }
    }

    /// `host:port` for clients.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker's process id (its CPU time is read from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Create `name` with `partitions` partitions.
    pub fn create_topic(&self, name: &str, partitions: i32) {
        let ok = Command::new(tansu())
            .args(["topic", "create", name, "--partitions", &partitions.to_string()])
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "create topic {name}");
    }

    /// SIGKILL the broker and start it again on the same port and storage
    /// (tansu keeps topics, records, offsets, groups and users in its SQLite
    /// file): a broker that crashed and was restarted. Returns once it
    /// listens again.
    pub fn restart(&mut self, down: Duration) {
        self.restart_as(down, None, false);
    }

    /// [`Broker::restart`], then advertising `advertised_port` (a proxy in
    /// front of it, `None`: its own port) and, with `authentication`,
    /// requiring SASL (SCRAM) from every client.
    pub fn restart_as(&mut self, down: Duration, advertised_port: Option<u16>, authentication: bool) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(down);
        self.child = Self::spawn(self.port, advertised_port.unwrap_or(self.port), authentication, self._data.path());
        Self::wait_listening(self.port);
    }

    /// Add a SCRAM-SHA-512 user (the broker must not require authentication yet).
    pub fn create_user(&self, name: &str, password: &str) {
        let ok = Command::new(tansu())
            .args(["user", "create", "--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .args(["--mechanism", "scram512", name, password])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "create user {name}");
    }

    fn spawn(port: u16, advertised: u16, authentication: bool, data: &Path) -> Child {
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised = format!("tcp://127.0.0.1:{advertised}");
        Command::new(tansu())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &advertised])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .args(if authentication { &["--authentication"][..] } else { &[][..] })
            .current_dir(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu")
    }

    fn wait_listening(port: u16) {
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "tansu did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGSTOP (`freeze = true`) or SIGCONT the broker: a hung broker, then a recovered one.
    pub fn freeze(&self, freeze: bool) {
        let sig = if freeze { "-STOP" } else { "-CONT" };
        let ok = Command::new("kill").args([sig, &self.child.id().to_string()]).status().is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} tansu");
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.child.id().to_string()]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
