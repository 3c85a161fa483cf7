//! Checkpoints of rule state: windowed, first-seen and correlation state
//! and the dedup set survive a restart, and a checkpoint never holds the
//! effects of a batch whose output was not yet durably written.
//!
//! The protocol is an aligned checkpoint, as stream processors do it:
//!
//! 1. Every change to rule state happens inside [`Checkpoints::enter`],
//!    which holds a read lock of the *gate* and records the change in the
//!    current *epoch*: the epoch's pending count goes up, and a release hook
//!    on the batch's [`AckToken`] brings it down when every sink has written
//!    what came from the batch.
//! 2. A checkpoint takes the gate's write lock (no change in progress),
//!    serialises the state and moves to the next epoch, then waits until
//!    every epoch up to the one it closed has no pending batch, and only then
//!    writes the file (temporary file, fsync, rename, fsync the directory).
//!
//! So after a crash the state on disk reflects only batches that were
//! delivered. Batches read again after a crash (Kafka offsets not yet
//! committed) are idempotent for the state: windows and first-seen keys
//! remember the `event_id`s they counted, and dedup suppresses findings
//! already raised.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use crate::ack::AckToken;

/// The file inside the state directory.
pub const STATE_FILE: &str = "rule-state.json.gz";

/// Epochs and the gate; see the module docs.
#[derive(Debug)]
pub struct Checkpoints {
    dir: Option<PathBuf>,
    /// Snapshots are taken for a caller that keeps them elsewhere (scale-out's changelog).
    external: bool,
    gate: RwLock<()>,
    epoch: AtomicU64,
    pending: Arc<Mutex<BTreeMap<u64, u64>>>,
    released: Arc<tokio::sync::Notify>,
}

impl Checkpoints {
    /// Checkpoints written to `dir` (`None`: state lives in memory only).
    pub fn new(dir: Option<PathBuf>) -> Self {
        Checkpoints {
            dir,
            external: false,
            gate: RwLock::new(()),
            epoch: AtomicU64::new(0),
            pending: Arc::default(),
            released: Arc::default(),
        }
    }

    /// Checkpoints that the caller keeps (no directory): snapshots are
    /// taken and epochs tracked, and the caller writes them where it keeps state.
    pub fn external() -> Self {
        Checkpoints { external: true, ..Self::new(None) }
    }

    /// The state directory, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Whether snapshots are taken (a state directory, or an external keeper).
    pub fn keeps_state(&self) -> bool {
        self.dir.is_some() || self.external
    }

    /// Enter a state change for the batch of `ack`: hold the returned guard
    /// while changing state (never across an `.await`).
    pub fn enter(&self, ack: &AckToken) -> RwLockReadGuard<'_, ()> {
        let guard = self.gate.read().unwrap_or_else(|p| p.into_inner());
        let epoch = self.epoch.load(Ordering::Acquire);
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()).entry(epoch).or_default() += 1;
        let pending = self.pending.clone();
        let released = self.released.clone();
        ack.on_release(move |_| {
            let mut p = pending.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = p.get_mut(&epoch) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    p.remove(&epoch);
                }
            }
            drop(p);
            released.notify_waiters();
        });
        guard
    }

    /// Serialise the state with `f` while no change is in progress and close
    /// the current epoch; returns the closed epoch and the bytes.
    pub fn snapshot<T>(&self, f: impl FnOnce() -> T) -> (u64, T) {
        let _w = self.gate.write().unwrap_or_else(|p| p.into_inner());
        let out = f();
        let epoch = self.epoch.fetch_add(1, Ordering::AcqRel);
        (epoch, out)
    }

    /// Whether every batch of epochs up to `epoch` is released.
    pub fn is_released(&self, epoch: u64) -> bool {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).range(..=epoch).all(|(_, n)| *n == 0)
    }

    /// Wait until every batch of epochs up to `epoch` is released, at most `timeout`.
    pub async fn wait_released(&self, epoch: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.released.notified();
            if self.is_released(epoch) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.is_released(epoch);
            }
        }
    }

    /// Write `bytes` (already serialised JSON) as the state file, gzip'd,
    /// atomically.
    pub fn write(&self, json: &[u8]) -> std::io::Result<Option<PathBuf>> {
        let Some(dir) = &self.dir else { return Ok(None) };
        std::fs::create_dir_all(dir)?;
        let path = dir.join(STATE_FILE);
        let tmp = dir.join(format!("{STATE_FILE}.tmp"));
        {
            let f = std::fs::File::create(&tmp)?;
            let mut gz = flate2::write::GzEncoder::new(std::io::BufWriter::new(f), flate2::Compression::fast());
            gz.write_all(json)?;
            let mut w = gz.finish()?;
            w.flush()?;
            w.get_ref().sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(Some(path))
    }

    /// The last written state file's JSON, if there is one.
    pub fn read(&self) -> std::io::Result<Option<Vec<u8>>> {
        let Some(dir) = &self.dir else { return Ok(None) };
        let path = dir.join(STATE_FILE);
        let f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // Bounded like a gzip log file: a corrupted or planted state file
        // that inflates out of all proportion is an error, not all the memory.
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut crate::source::file::Gunzip::new(f), &mut out)?;
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ack::AckReceiver;

    #[tokio::test]
    async fn a_checkpoint_waits_for_the_batches_of_its_epoch() {
        let cp = Checkpoints::new(None);
        let mut acks = AckReceiver::new();
        let a = acks.token();
        drop(cp.enter(&a));
        let (epoch, ()) = cp.snapshot(|| ());
        let b = acks.token();
        drop(cp.enter(&b)); // the next epoch
        assert!(!cp.is_released(epoch), "batch a is not written yet");
        drop(a);
        assert!(cp.wait_released(epoch, Duration::from_secs(1)).await, "b does not hold the closed epoch");
        assert!(!cp.is_released(epoch + 1));
        drop(b);
        assert!(cp.is_released(epoch + 1));
    }

    #[test]
    fn state_files_are_written_atomically_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let cp = Checkpoints::new(Some(dir.path().join("state")));
        assert_eq!(cp.read().unwrap(), None);
        let path = cp.write(b"{\"version\":1}").unwrap().unwrap();
        assert!(path.ends_with(STATE_FILE));
        assert_eq!(cp.read().unwrap().unwrap(), b"{\"version\":1}");
        assert!(!dir.path().join("state").join(format!("{STATE_FILE}.tmp")).exists());
    }

    #[test]
    fn a_state_file_that_inflates_out_of_proportion_is_an_error() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let cp = Checkpoints::new(Some(dir.path().to_path_buf()));
        // 48 MiB of one byte compress about 1,000:1: past 200:1 beyond the first 16 MiB.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let block = vec![b' '; 1 << 20];
        for _ in 0..48 {
            gz.write_all(&block).unwrap();
        }
        std::fs::write(dir.path().join(STATE_FILE), gz.finish().unwrap()).unwrap();
        let err = cp.read().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("inflates to more than 200 times its compressed size"), "{err}");
        // A state file of the same size that compresses like real state reads back whole.
        let json: Vec<u8> = (0..(48u32 << 20) / 8)
            .flat_map(|i| format!("{:07x},", i.wrapping_mul(2_654_435_761)).into_bytes())
            .collect();
        cp.write(&json).unwrap();
        assert_eq!(cp.read().unwrap().unwrap().len(), json.len());
    }
}
