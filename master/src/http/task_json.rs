//! Each task's JSON, kept between renderings while the task does not change.
//!
//! At 10,000 agents `/master/state` lists 100,000 tasks, nine tenths of its 63 MB, and
//! between two requests almost none of them changed (a status update changes one task, a
//! re-registering agent its ten). A task's JSON depends on the task alone (Mesos:
//! common/http.cpp `json(JSON::ObjectWriter*, const Task&)`), and the master shares each
//! task with the snapshots behind an `Arc` (`core::SharedMap`). So a rendering keeps
//! each task's bytes here, keyed by the task's allocation, and the next rendering of any
//! later snapshot copies them instead of writing the task field by field again.
//!
//! Why a changed task is never answered with its old bytes: an entry holds a [`Weak`] to
//! the task it was written from. While it does, that allocation is not freed, so no other
//! task can take its address; and the value in it cannot change: `Arc::make_mut` (how
//! the core changes a shared value) moves the value to a new allocation when a `Weak` to
//! it exists, `Arc::get_mut` refuses, and nothing else hands out a `&mut` (the workspace
//! forbids `unsafe`). A changed task therefore has a new address and misses; the entry
//! of its old version no longer upgrades, and a sweep drops it.
//!
//! Bounded: at most [`MAX_KEPT_BYTES`] of JSON and bookkeeping; past it, further tasks
//! are written each time and not kept. Dead entries are swept once as many entries were
//! added since the last sweep as that sweep left (and at the bound), so they never
//! outnumber the live ones by much; until then each holds its task's allocation (the
//! `Task` struct, not its strings and vectors, which went with the task).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use mesos_proto::mesos;
use parking_lot::Mutex;

/// Most bytes kept (JSON plus `ENTRY_BYTES` per task): the tasks of 20,000 agents at
/// Mesos's benchmark load (200,000 tasks of about 580 bytes), a tenth of the RSS such a
/// master takes (about 2 GB, docs/benchmarks.md).
pub const MAX_KEPT_BYTES: usize = 192 << 20;
/// What an entry costs besides its JSON: the map's slot, the JSON's `Arc` header, and
/// (once the task is gone, until a sweep) the task's own allocation, about 300 bytes.
const ENTRY_BYTES: usize = 64;
/// Fewest additions between two sweeps.
const MIN_SWEEP_INTERVAL: usize = 1024;

/// A task's kept JSON and whether its resources validate (which the framework's used
/// resources need too).
#[derive(Clone)]
pub struct Kept {
    /// The task's JSON object, as `state_writer` writes it.
    pub json: Arc<[u8]>,
    /// `resource_summary::valid` of the task's resources.
    pub valid: bool,
}

struct Entry {
    task: Weak<mesos::Task>,
    kept: Kept,
}

/// The kept tasks: the JSON of the tasks rendered, by the task's address.
#[derive(Default)]
pub struct TaskJsonCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// Hashed with foldhash: SipHash, the default, costs more than the rest of a lookup,
    /// and the addresses are not chosen by clients.
    by_address: HashMap<usize, Entry, foldhash::fast::RandomState>,
    /// JSON and bookkeeping bytes of every entry, dead ones included.
    bytes: usize,
    /// Entries added since the last sweep.
    added: usize,
    /// Entries the last sweep left.
    left: usize,
}

impl std::fmt::Debug for TaskJsonCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries.lock();
        f.debug_struct("TaskJsonCache")
            .field("tasks", &entries.by_address.len())
            .field("bytes", &entries.bytes)
            .finish()
    }
}

fn address(task: &Arc<mesos::Task>) -> usize {
    Arc::as_ptr(task) as usize
}

impl TaskJsonCache {
    /// Each of `tasks` with what is kept for it, if anything; under one lock.
    pub fn look_up<'t>(
        &self,
        tasks: impl IntoIterator<Item = &'t Arc<mesos::Task>>,
    ) -> Vec<(&'t Arc<mesos::Task>, Option<Kept>)> {
        let entries = self.entries.lock();
        tasks
            .into_iter()
            .map(|task| {
                // The caller holds the task, so an entry at its address was written
                // from this very allocation (see the module's doc): it is current.
                let kept = entries.by_address.get(&address(task)).map(|e| e.kept.clone());
                (task, kept)
            })
            .collect()
    }

    /// Keeps the JSON just written for each of `written`, as far as the bound allows.
    pub fn keep(&self, written: Vec<(&Arc<mesos::Task>, Kept)>) {
        if written.is_empty() {
            return;
        }
        let mut entries = self.entries.lock();
        // At the bound, one sweep per call makes room if tasks died meanwhile; a cache
        // full of live tasks is not swept again for each further one.
        let mut swept = false;
        for (task, kept) in written {
            let cost = kept.json.len() + ENTRY_BYTES;
            if entries.bytes + cost > MAX_KEPT_BYTES && !swept {
                entries.sweep();
                swept = true;
            }
            if entries.bytes + cost > MAX_KEPT_BYTES {
                continue;
            }
            let entry = Entry { task: Arc::downgrade(task), kept };
            if let Some(old) = entries.by_address.insert(address(task), entry) {
                // Two renderings wrote the same task at once: the same bytes.
                entries.bytes -= old.kept.json.len() + ENTRY_BYTES;
            }
            entries.bytes += cost;
            entries.added += 1;
        }
        if entries.added >= entries.left.max(MIN_SWEEP_INTERVAL) {
            entries.sweep();
        }
    }

    /// Tasks kept and the bytes they take.
    pub fn size(&self) -> (usize, usize) {
        let entries = self.entries.lock();
        (entries.by_address.len(), entries.bytes)
    }
}

impl Entries {
    /// Drops the entries of tasks that no longer exist (changed or gone).
    fn sweep(&mut self) {
        self.by_address.retain(|_, entry| entry.task.strong_count() > 0);
        self.bytes = self.by_address.values().map(|e| e.kept.json.len() + ENTRY_BYTES).sum();
        self.left = self.by_address.len();
        self.added = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(text: &str) -> Kept {
        Kept { json: Arc::from(text.as_bytes()), valid: true }
    }

    /// A kept task is found while it lives unchanged; once the core changes it (copy on
    /// write), the changed task misses, and the old entry goes at the next sweep.
    #[test]
    fn a_changed_task_misses() {
        let cache = TaskJsonCache::default();
        let mut task = Arc::new(mesos::Task { name: "a".into(), ..Default::default() });
        assert!(cache.look_up([&task])[0].1.is_none());
        cache.keep(vec![(&task, kept("{\"name\":\"a\"}"))]);
        let found = cache.look_up([&task]);
        assert_eq!(found[0].1.as_ref().map(|k| &*k.json), Some(&b"{\"name\":\"a\"}"[..]));

        // Changed in place by its only owner: `make_mut` moves it, as a `Weak` exists.
        let before = Arc::as_ptr(&task);
        Arc::make_mut(&mut task).name = "b".into();
        assert_ne!(Arc::as_ptr(&task), before);
        assert!(cache.look_up([&task])[0].1.is_none());

        // Changed while a snapshot shares it: copied, so a new address too.
        cache.keep(vec![(&task, kept("{\"name\":\"b\"}"))]);
        let snapshot = task.clone();
        Arc::make_mut(&mut task).name = "c".into();
        assert!(cache.look_up([&task])[0].1.is_none());
        assert!(cache.look_up([&snapshot])[0].1.is_some());

        drop(snapshot);
        cache.entries.lock().sweep();
        assert_eq!(cache.size().0, 0, "both old versions are gone");
    }

    /// The cache never holds more than its bound, and sweeps dead entries as it goes.
    #[test]
    fn stays_within_its_bound() {
        let cache = TaskJsonCache::default();
        let json = "x".repeat(1 << 20);
        let tasks: Vec<Arc<mesos::Task>> =
            (0..300).map(|_| Arc::new(mesos::Task::default())).collect();
        cache.keep(tasks.iter().map(|t| (t, kept(&json))).collect());
        let (count, bytes) = cache.size();
        assert!(bytes <= MAX_KEPT_BYTES, "{bytes}");
        assert!(count < 300 && count > 100, "{count}");
        drop(tasks);
        let more: Vec<Arc<mesos::Task>> =
            (0..100).map(|_| Arc::new(mesos::Task::default())).collect();
        cache.keep(more.iter().map(|t| (t, kept(&json))).collect());
        assert_eq!(cache.size().0, 100, "the dead entries were swept to make room");
    }
}
