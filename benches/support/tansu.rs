//! A tansu broker for the Kafka benchmarks: started on a free loopback
//! port with its SQLite storage in a temporary directory, killed on drop.
//! The binary comes from `FLOODLIGHT_TANSU` or `deploy/kafka/install-tansu.sh`.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The tansu binary; exits the benchmark with a hint when it is not installed.
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
    if !p.exists() {
        eprintln!("tansu not found at {}: run deploy/kafka/install-tansu.sh", p.display());
        std::process::exit(2);
    }
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
        let url = format!("tcp://127.0.0.1:{port}");
        let data = tempfile::tempdir().expect("tempdir");
        let child = Command::new(tansu())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "tansu did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
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
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
