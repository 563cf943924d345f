//! The agent's fetcher cache: files downloaded once and copied (or extracted) into
//! many sandboxes.
//!
//! Mesos: src/slave/containerizer/fetcher.cpp `FetcherProcess::Cache`, and
//! docs/fetcher-cache-internals.md. [`CacheIndex`] is the pure bookkeeping (entries,
//! sizes, pins, least-recently-used order, eviction); [`Cache`] puts it behind a mutex
//! with a condition variable so that concurrent fetches of the same key share one
//! download, and deletes the files the index evicts.
//!
//! Bounds: the files of ready entries never add up to more than `--fetcher_cache_size`.
//! A download in progress is not counted until it completes (its size is unknown until
//! then; each is bounded by the fetcher's maximum download size); a completed download
//! that cannot fit even after evicting every unpinned entry is handed to its task and
//! deleted, not cached (Mesos then bypasses the cache as well).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use super::plan::cache_filename;

/// One cached URI.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Its file in the cache folder.
    filename: String,
    /// True once the download completed; false while a fetch is downloading it.
    ready: bool,
    /// Bytes on disk (0 while downloading).
    size: u64,
    /// Fetches using the file right now; a pinned entry is never evicted.
    pins: u32,
    /// When it was last used, on the index's own counter (larger is more recent).
    last_use: u64,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Cached: the file is pinned for the caller, who must [`CacheIndex::release`] it.
    Hit {
        /// The file in the cache folder.
        filename: String,
    },
    /// Another fetch is downloading it: wait, then look again.
    InFlight,
    /// Not cached: the caller downloads it into `filename`, then reports with
    /// [`CacheIndex::downloaded`] or [`CacheIndex::failed`].
    Download {
        /// The file in the cache folder to download into.
        filename: String,
    },
}

/// What became of a completed download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// It is cached and pinned for the caller; these files were evicted to make room.
    Cached {
        /// Files of evicted entries, to delete.
        evicted: Vec<String>,
    },
    /// It cannot fit: the caller uses it once and deletes it.
    TooBig,
}

/// The cache's bookkeeping, without I/O.
#[derive(Debug)]
pub struct CacheIndex {
    capacity: u64,
    used: u64,
    serial: u64,
    clock: u64,
    entries: HashMap<String, Entry>,
}

impl CacheIndex {
    /// An empty cache of `capacity` bytes.
    pub fn new(capacity: u64) -> CacheIndex {
        CacheIndex { capacity, used: 0, serial: 0, clock: 0, entries: HashMap::new() }
    }

    /// Bytes held by ready entries.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Number of entries (ready or downloading).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if nothing is cached or downloading.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Looks `key` up for a fetch; see [`Lookup`]. `basename` names a new cache file.
    pub fn lookup(&mut self, key: &str, basename: &str) -> Lookup {
        let now = self.tick();
        match self.entries.get_mut(key) {
            Some(entry) if entry.ready => {
                entry.pins += 1;
                entry.last_use = now;
                Lookup::Hit { filename: entry.filename.clone() }
            }
            Some(_) => Lookup::InFlight,
            None => {
                self.serial += 1;
                let filename = cache_filename(self.serial, basename);
                let entry = Entry {
                    filename: filename.clone(),
                    ready: false,
                    size: 0,
                    pins: 1,
                    last_use: now,
                };
                self.entries.insert(key.to_string(), entry);
                Lookup::Download { filename }
            }
        }
    }

    /// The download of `key` completed with `size` bytes: admit it, evicting the least
    /// recently used unpinned entries as needed, or refuse it if it cannot fit.
    // Mesos: FetcherProcess::Cache::reserve (which evicts in LRU order).
    pub fn downloaded(&mut self, key: &str, size: u64) -> Admission {
        let mut victims: Vec<(u64, String, u64)> = self
            .entries
            .iter()
            .filter(|(k, e)| e.ready && e.pins == 0 && k.as_str() != key)
            .map(|(k, e)| (e.last_use, k.clone(), e.size))
            .collect();
        let reclaimable: u64 = victims.iter().map(|(_, _, size)| size).sum();
        if self.used - reclaimable + size > self.capacity {
            self.entries.remove(key);
            return Admission::TooBig;
        }
        victims.sort();
        let mut evicted = Vec::new();
        for (_, victim, victim_size) in victims {
            if self.used + size <= self.capacity {
                break;
            }
            if let Some(entry) = self.entries.remove(&victim) {
                self.used -= victim_size;
                evicted.push(entry.filename);
            }
        }
        let now = self.tick();
        if let Some(entry) = self.entries.get_mut(key) {
            entry.ready = true;
            entry.size = size;
            entry.last_use = now;
            self.used += size;
        }
        Admission::Cached { evicted }
    }

    /// The download of `key` failed: forget it (a later fetch tries again).
    pub fn failed(&mut self, key: &str) {
        if self.entries.get(key).is_some_and(|e| !e.ready) {
            self.entries.remove(key);
        }
    }

    /// A fetch is done with the file of `key`.
    pub fn release(&mut self, key: &str) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.pins = entry.pins.saturating_sub(1);
        }
    }
}

/// A cache file a fetch may read; released (and deleted if it was not admitted) when
/// dropped.
pub struct Pinned<'a> {
    cache: &'a Cache,
    key: String,
    path: PathBuf,
    cached: bool,
}

impl Pinned<'_> {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Pinned<'_> {
    fn drop(&mut self) {
        if self.cached {
            self.cache.index().release(&self.key);
        } else {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The cache folder and its index, shared by every fetch of the agent.
pub struct Cache {
    dir: PathBuf,
    index: Mutex<CacheIndex>,
    changed: Condvar,
}

impl Cache {
    /// A cache of `capacity` bytes in `dir`, which is emptied first: the cache does
    /// not survive an agent restart (Mesos clears `--fetcher_cache_dir` at startup).
    pub fn new(dir: PathBuf, capacity: u64) -> std::io::Result<Cache> {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(Cache { dir, index: Mutex::new(CacheIndex::new(capacity)), changed: Condvar::new() })
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes of the files of ready entries.
    pub fn used(&self) -> u64 {
        self.index().used()
    }

    fn index(&self) -> std::sync::MutexGuard<'_, CacheIndex> {
        // A panic while holding the lock leaves the index consistent (every method
        // finishes its update before anything can panic), so a poisoned lock is used.
        self.index.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached file of `key`, downloading it with `download` (into the path it is
    /// given; returning the bytes written) if no fetch did yet. Concurrent callers for
    /// the same key wait for the one download, until `deadline` or `cancelled`.
    pub fn get(
        &self,
        key: &str,
        basename: &str,
        deadline: Instant,
        cancelled: &dyn Fn() -> bool,
        download: &mut dyn FnMut(&Path) -> Result<u64, String>,
    ) -> Result<(Pinned<'_>, bool), String> {
        let filename = loop {
            let mut index = self.index();
            match index.lookup(key, basename) {
                Lookup::Hit { filename } => {
                    let path = self.dir.join(filename);
                    return Ok((Pinned { cache: self, key: key.into(), path, cached: true }, true));
                }
                Lookup::Download { filename } => break filename,
                Lookup::InFlight => {
                    let now = Instant::now();
                    if now >= deadline || cancelled() {
                        return Err("gave up waiting for the download of another task".into());
                    }
                    // Woken when any download ends; cancellation is polled every second.
                    let wait = (deadline - now).min(std::time::Duration::from_secs(1));
                    let _unused = self.changed.wait_timeout(index, wait);
                }
            }
        };
        let path = self.dir.join(&filename);
        let result = download(&path);
        let mut index = self.index();
        let outcome = match result {
            Ok(size) => match index.downloaded(key, size) {
                Admission::Cached { evicted } => {
                    for file in evicted {
                        let _ = std::fs::remove_file(self.dir.join(file));
                    }
                    Ok((Pinned { cache: self, key: key.into(), path, cached: true }, false))
                }
                Admission::TooBig => {
                    Ok((Pinned { cache: self, key: key.into(), path, cached: false }, false))
                }
            },
            Err(error) => {
                index.failed(key);
                let _ = std::fs::remove_file(&path);
                Err(error)
            }
        };
        drop(index);
        self.changed.notify_all();
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A miss pins a new entry for download; concurrent lookups see it in flight, then
    /// hit it once downloaded; bytes are accounted.
    #[test]
    fn one_download_then_hits() {
        let mut index = CacheIndex::new(100);
        let Lookup::Download { filename } = index.lookup("u@http://h/a.tgz", "a.tgz") else {
            panic!("a miss")
        };
        assert_eq!(filename, "c1-a.tgz");
        assert_eq!(index.lookup("u@http://h/a.tgz", "a.tgz"), Lookup::InFlight);
        assert_eq!(index.downloaded("u@http://h/a.tgz", 40), Admission::Cached { evicted: vec![] });
        assert_eq!(index.used(), 40);
        assert_eq!(
            index.lookup("u@http://h/a.tgz", "a.tgz"),
            Lookup::Hit { filename: "c1-a.tgz".into() }
        );
        // Another user is another key (Mesos: cacheKey).
        assert!(matches!(index.lookup("v@http://h/a.tgz", "a.tgz"), Lookup::Download { .. }));
    }

    /// Room is made by evicting the least recently used unpinned entries, and only as
    /// many as needed; pinned entries stay.
    #[test]
    fn lru_eviction_spares_pinned_and_recent() {
        let mut index = CacheIndex::new(100);
        for (key, size) in [("a", 30), ("b", 30), ("c", 30)] {
            index.lookup(key, key);
            index.downloaded(key, size);
            index.release(key);
        }
        // Touch `a`: `b` is now the least recently used; pin `c`.
        assert!(matches!(index.lookup("a", "a"), Lookup::Hit { .. }));
        index.release("a");
        assert!(matches!(index.lookup("c", "c"), Lookup::Hit { .. }));
        index.lookup("d", "d");
        assert_eq!(index.downloaded("d", 30), Admission::Cached { evicted: vec!["c2-b".into()] });
        assert_eq!(index.used(), 90);
        index.lookup("e", "e");
        // Needs 10 more: `a` (the only unpinned one) goes; `c` and `d` are pinned.
        assert_eq!(index.downloaded("e", 20), Admission::Cached { evicted: vec!["c1-a".into()] });
        assert_eq!(index.used(), 80);
    }

    /// A download larger than what could ever be freed is not cached and evicts
    /// nothing; a failed download is forgotten so the next fetch tries again.
    #[test]
    fn too_big_and_failed() {
        let mut index = CacheIndex::new(100);
        index.lookup("a", "a");
        index.downloaded("a", 60);
        // `a` is still pinned by its fetch: 60 + 50 cannot fit.
        index.lookup("b", "b");
        assert_eq!(index.downloaded("b", 50), Admission::TooBig);
        assert_eq!((index.used(), index.len()), (60, 1));
        index.lookup("c", "c");
        index.failed("c");
        assert!(matches!(index.lookup("c", "c"), Lookup::Download { .. }));
        // Released, `a` can be evicted for a large newcomer.
        index.release("a");
        index.lookup("d", "d");
        assert_eq!(index.downloaded("d", 100), Admission::Cached { evicted: vec!["c1-a".into()] });
        assert_eq!(index.used(), 100);
    }

    /// Two threads asking for the same key at once share one download.
    #[test]
    fn concurrent_fetches_share_one_download() {
        let dir = std::env::temp_dir().join(format!("fetcher-cache-{}", std::process::id()));
        let cache = Cache::new(dir.clone(), 1 << 20).expect("cache dir");
        let downloads = std::sync::atomic::AtomicU32::new(0);
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let (cache, downloads) = (&cache, &downloads);
        std::thread::scope(|scope| {
            let first = scope.spawn(move || {
                let mut download = |path: &Path| {
                    downloads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    started_tx.send(()).expect("test alive");
                    go_rx.recv().expect("test alive");
                    std::fs::write(path, b"data").map_err(|e| e.to_string())?;
                    Ok(4)
                };
                let (pinned, hit) =
                    cache.get("k", "f.txt", deadline, &|| false, &mut download).expect("fetched");
                assert!(!hit);
                std::fs::read(pinned.path()).expect("cached file")
            });
            started_rx.recv().expect("the first fetch downloads");
            let second = scope.spawn(move || {
                let mut download = |_: &Path| -> Result<u64, String> {
                    downloads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Err("must not download".into())
                };
                let (pinned, hit) =
                    cache.get("k", "f.txt", deadline, &|| false, &mut download).expect("shared");
                assert!(hit);
                std::fs::read(pinned.path()).expect("cached file")
            });
            go_tx.send(()).expect("first waits");
            assert_eq!(first.join().expect("first"), b"data");
            assert_eq!(second.join().expect("second"), b"data");
        });
        assert_eq!(downloads.load(std::sync::atomic::Ordering::SeqCst), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
