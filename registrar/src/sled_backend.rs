//! The durable raft log: sled 0.34 under `<work_dir>/raft`, made crash-safe by fsync.
//!
//! What sled 0.34.7 does on its own (read from its source, `pagecache/iobuf.rs`,
//! `pagecache/blob_io.rs`): `Db::flush()` writes the log buffers with `pwrite` and then,
//! on Linux, calls `sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)` on the written
//! range of the `db` file. That pushes the data pages to the device but neither the
//! file's metadata (its size and newly allocated extents) nor the device's volatile write
//! cache: after a power loss a flushed write can be gone. Values larger than a quarter of
//! a segment (about 128 KiB with the default 512 KiB segments; our registry snapshots are
//! that large from a few hundred agents on) are written to separate files under
//! `blobs/`, which sled never fsyncs at all.
//!
//! What we add so that an acknowledged write survives both `kill -9` and power loss:
//! after every batch, `flush()`, then `fsync` of the `db` file (Linux fsync is per inode,
//! so our own descriptor flushes sled's writes too, metadata and device cache included),
//! `fsync` of every blob file not yet synced, and of the `blobs/` directory (new names).
//! The folder itself is fsynced once when created. A batch is applied with
//! `Tree::apply_batch`, which sled makes atomic: after a crash either all of a batch or
//! none of it is there.
//!
//! What remains: sled 0.34 has open reports of corruption after abrupt kills; we cannot
//! fix sled, so its recovery is tested here by killing a writer process repeatedly
//! (registrar/tests/cases/durability.rs), and the registry can be backed up with
//! `mesos-registry dump`. A member whose disk is lost starts blank and rejoins the group
//! as a new member (see the registrar's `process` module and docs/ha.md).

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};

use crate::RegistrarError;
use crate::storage::{LogBackend, LogWrite, Persisted};

const HARD_STATE: &[u8] = b"m/hard_state";
const CONF_STATE: &[u8] = b"m/conf_state";
const SNAPSHOT: &[u8] = b"m/snapshot";
const MEMBER: &[u8] = b"m/member";
const ENTRY_PREFIX: u8 = b'e';

fn storage_error(what: &str, error: impl std::fmt::Display) -> RegistrarError {
    RegistrarError::Storage { reason: format!("{what}: {error}") }
}

fn entry_key(index: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = ENTRY_PREFIX;
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

/// The raft log in sled, with the durability described in the module docs.
pub struct SledBackend {
    path: PathBuf,
    db: sled::Db,
    tree: sled::Tree,
    db_file: File,
    synced_blobs: HashSet<std::ffi::OsString>,
}

/// How long [`open_db`] waits for the lock of a database closed a moment ago in this
/// process, and how often it looks.
const LOCK_WAIT: Duration = Duration::from_secs(2);
const LOCK_RETRY: Duration = Duration::from_millis(5);

/// Opens the sled database at `path`. No background flusher: every batch is flushed and
/// fsynced before it is acknowledged. Closing a database does not always release its
/// file lock at once: a file truncation sled runs on its own thread pool after
/// compacting holds the database's file, and its lock, until it ends. So a database
/// reopened in the same process right after it was closed (a master restarted inside
/// `mesos-local`, the tests) can find it locked for a moment: that is retried for at
/// most [`LOCK_WAIT`]. Another process holding it (two masters given one work folder)
/// still fails, after that wait.
fn open_db(path: &Path) -> Result<sled::Db, RegistrarError> {
    let started = Instant::now();
    loop {
        match sled::Config::new().path(path).flush_every_ms(None).open() {
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && started.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(LOCK_RETRY);
            }
            opened => return opened.map_err(|e| storage_error("open sled", e)),
        }
    }
}

impl SledBackend {
    /// Opens (or creates) the log in `<work_dir>/raft`.
    pub fn open(work_dir: &Path) -> Result<SledBackend, RegistrarError> {
        let path = work_dir.join("raft");
        let created = !path.exists();
        std::fs::create_dir_all(&path).map_err(|e| storage_error("create the raft folder", e))?;
        let db = open_db(&path)?;
        let tree = db.open_tree("raft").map_err(|e| storage_error("open the raft tree", e))?;
        db.flush().map_err(|e| storage_error("flush sled", e))?;
        let db_file =
            File::open(path.join("db")).map_err(|e| storage_error("open sled's db file", e))?;
        if created {
            sync_dir(&path)?;
            sync_dir(work_dir)?;
        }
        let mut backend = SledBackend { path, db, tree, db_file, synced_blobs: HashSet::new() };
        backend.sync()?;
        Ok(backend)
    }

    /// The folder of the sled database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes everything written so far durable (see the module docs).
    fn sync(&mut self) -> Result<(), RegistrarError> {
        self.db.flush().map_err(|e| storage_error("flush sled", e))?;
        self.db_file.sync_all().map_err(|e| storage_error("fsync sled's db file", e))?;
        let blobs = self.path.join("blobs");
        let Ok(listing) = std::fs::read_dir(&blobs) else { return Ok(()) };
        let mut present = HashSet::new();
        let mut synced_any = false;
        for entry in listing.flatten() {
            let name = entry.file_name();
            if !self.synced_blobs.contains(&name) {
                // A blob may be garbage-collected by sled between listing and opening.
                if let Ok(file) = File::open(entry.path()) {
                    file.sync_all().map_err(|e| storage_error("fsync a sled blob", e))?;
                    synced_any = true;
                }
            }
            present.insert(name);
        }
        self.synced_blobs = present;
        if synced_any {
            sync_dir(&blobs)?;
        }
        Ok(())
    }
}

fn sync_dir(path: &Path) -> Result<(), RegistrarError> {
    File::open(path).and_then(|dir| dir.sync_all()).map_err(|e| storage_error("fsync a folder", e))
}

fn decode<M: protobuf::Message>(bytes: &[u8], what: &str) -> Result<M, RegistrarError> {
    M::parse_from_bytes(bytes).map_err(|e| storage_error(&format!("decode the stored {what}"), e))
}

fn encode<M: protobuf::Message>(message: &M) -> Result<Vec<u8>, RegistrarError> {
    message.write_to_bytes().map_err(|e| storage_error("encode", e))
}

impl LogBackend for SledBackend {
    fn load(&mut self) -> Result<Persisted, RegistrarError> {
        let get = |key: &[u8]| self.tree.get(key).map_err(|e| storage_error("read sled", e));
        let mut persisted = Persisted::default();
        if let Some(bytes) = get(HARD_STATE)? {
            persisted.hard_state = decode::<HardState>(&bytes, "hard state")?;
        }
        if let Some(bytes) = get(CONF_STATE)? {
            persisted.conf_state = decode::<ConfState>(&bytes, "conf state")?;
        }
        if let Some(bytes) = get(SNAPSHOT)? {
            persisted.snapshot = decode::<Snapshot>(&bytes, "snapshot")?;
        }
        if let Some(bytes) = get(MEMBER)? {
            let id: [u8; 8] = bytes
                .as_ref()
                .try_into()
                .map_err(|_| storage_error("decode the stored member id", "not 8 bytes"))?;
            persisted.member = Some(u64::from_be_bytes(id));
        }
        let mut entries = BTreeMap::new();
        for item in self.tree.scan_prefix([ENTRY_PREFIX]) {
            let (_, value) = item.map_err(|e| storage_error("scan sled", e))?;
            let entry = decode::<Entry>(&value, "entry")?;
            entries.insert(entry.index, entry);
        }
        persisted.entries = entries;
        Ok(persisted)
    }

    fn write(&mut self, batch: &[LogWrite]) -> Result<(), RegistrarError> {
        let mut sled_batch = sled::Batch::default();
        for write in batch {
            match write {
                LogWrite::PutEntry(entry) => {
                    sled_batch.insert(&entry_key(entry.index)[..], encode(entry)?)
                }
                LogWrite::DeleteEntry(index) => sled_batch.remove(&entry_key(*index)[..]),
                LogWrite::HardState(hs) => sled_batch.insert(HARD_STATE, encode(hs)?),
                LogWrite::ConfState(cs) => sled_batch.insert(CONF_STATE, encode(cs)?),
                LogWrite::Snapshot(snapshot) => sled_batch.insert(SNAPSHOT, encode(snapshot)?),
                LogWrite::Member(Some(id)) => sled_batch.insert(MEMBER, &id.to_be_bytes()[..]),
                LogWrite::Member(None) => sled_batch.remove(MEMBER),
            }
        }
        self.tree.apply_batch(sled_batch).map_err(|e| storage_error("write sled", e))?;
        self.sync()
    }
}
