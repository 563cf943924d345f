//! Sandbox garbage collection, the pure part: which paths to remove, and when.
//!
//! Mesos: src/slave/gc.cpp (`GarbageCollectorProcess::schedule`, `unschedule`,
//! `prune`, `remove`) and slave.cpp (`Slave::garbageCollect`, `checkDiskUsage`,
//! `maxExecutorDirectoryAge`). When an executor or framework finishes, its sandbox
//! (and its checkpointed meta folder) is scheduled for removal `--gc_delay` later;
//! every `--disk_watch_interval` the agent measures the disk and, the fuller it is,
//! the sooner old sandboxes go: a path is removed once it is older than
//! `gc_delay * max(0, 1 - gc_disk_headroom - usage)`.
//!
//! The collector takes the time as input and returns the paths that are due; the
//! actor (`agent/gc.rs`) removes them off its thread and sets the timer for
//! [`Collector::next_due`]. After a restart, [`finished_on_disk`] finds the folders
//! of work that is over, to schedule by their modification time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use libprocess::Time;

/// Mesos's `--gc_delay` default: one week.
pub const DEFAULT_GC_DELAY: Duration = Duration::from_secs(7 * 24 * 3600);
/// Mesos's `--disk_watch_interval` default: one minute.
pub const DEFAULT_DISK_WATCH_INTERVAL: Duration = Duration::from_secs(60);
/// Mesos's `--gc_disk_headroom` default.
pub const DEFAULT_GC_DISK_HEADROOM: f64 = 0.1;
/// Most paths waiting for removal; past it the oldest-scheduled ones are removed at
/// once (the disk matters more than the delay).
pub const MAX_SCHEDULED: usize = 100_000;

/// The garbage collector's flags.
#[derive(Debug, Clone, Copy)]
pub struct GcConfig {
    /// `--gc_delay`: how long a finished sandbox stays when the disk is empty.
    pub delay: Duration,
    /// `--disk_watch_interval`: how often the disk's usage is checked.
    pub disk_watch_interval: Duration,
    /// `--gc_disk_headroom`: the share of the disk to keep free (0.0 to 1.0).
    pub disk_headroom: f64,
    /// Measures the usage (0.0 to 1.0) of the disk holding a folder: [`disk_usage`]
    /// normally; tests put a fixed figure here.
    pub disk_usage: fn(&Path) -> Result<f64, String>,
}

impl Default for GcConfig {
    fn default() -> GcConfig {
        GcConfig {
            delay: DEFAULT_GC_DELAY,
            disk_watch_interval: DEFAULT_DISK_WATCH_INTERVAL,
            disk_headroom: DEFAULT_GC_DISK_HEADROOM,
            disk_usage,
        }
    }
}

/// The used share of the file system holding `path`: used blocks over all blocks,
/// as Mesos's stout `fs::usage` computes it (`statvfs`).
// statvfs's block counts are u64 on Linux but narrower elsewhere: the casts stay.
#[allow(clippy::unnecessary_cast)]
pub fn disk_usage(path: &Path) -> Result<f64, String> {
    let stat = nix::sys::statvfs::statvfs(path).map_err(|e| format!("statvfs: {e}"))?;
    let blocks = stat.blocks() as u64;
    if blocks == 0 {
        return Ok(0.0);
    }
    let used = blocks.saturating_sub(stat.blocks_free() as u64);
    Ok(used as f64 / blocks as f64)
}

/// How long a finished sandbox may stay given the disk's `usage` (0.0 to 1.0).
/// Mesos: slave.cpp `Slave::maxExecutorDirectoryAge`.
pub fn max_sandbox_age(gc_delay: Duration, headroom: f64, usage: f64) -> Duration {
    let factor = (1.0 - headroom - usage).clamp(0.0, 1.0);
    gc_delay.mul_f64(factor)
}

/// The paths scheduled for removal, by their removal time.
#[derive(Debug, Default)]
pub struct Collector {
    /// (removal time, path), in removal order.
    queue: BTreeSet<(Time, PathBuf)>,
    /// Each scheduled path's removal time.
    scheduled: HashMap<PathBuf, Time>,
}

impl Collector {
    /// An empty collector.
    pub fn new() -> Collector {
        Collector::default()
    }

    /// Schedules `path` for removal `delay` after `now` (a path scheduled again moves
    /// to its new time). Returns paths to remove at once when the bound is reached.
    /// Mesos: `GarbageCollectorProcess::schedule`.
    pub fn schedule(&mut self, path: PathBuf, delay: Duration, now: Time) -> Vec<PathBuf> {
        self.unschedule(&path);
        let at = now + delay;
        self.scheduled.insert(path.clone(), at);
        self.queue.insert((at, path));
        let mut overflow = Vec::new();
        while self.scheduled.len() > MAX_SCHEDULED {
            if let Some((_, first)) = self.queue.pop_first() {
                self.scheduled.remove(&first);
                overflow.push(first);
            }
        }
        overflow
    }

    /// Takes `path` off the schedule (a sandbox in use again, e.g. an executor that
    /// came back in recovery); true if it was scheduled. Mesos: `unschedule`.
    pub fn unschedule(&mut self, path: &PathBuf) -> bool {
        match self.scheduled.remove(path) {
            Some(at) => {
                self.queue.remove(&(at, path.clone()));
                true
            }
            None => false,
        }
    }

    /// Whether `path` is scheduled.
    pub fn is_scheduled(&self, path: &PathBuf) -> bool {
        self.scheduled.contains_key(path)
    }

    /// How many paths wait for removal.
    pub fn len(&self) -> usize {
        self.scheduled.len()
    }

    /// True when nothing waits for removal.
    pub fn is_empty(&self) -> bool {
        self.scheduled.is_empty()
    }

    /// When the next path is due, for the actor's timer.
    pub fn next_due(&self) -> Option<Time> {
        self.queue.first().map(|(at, _)| *at)
    }

    /// The paths due at `now`, taken off the schedule. Mesos: `remove` on the timer.
    pub fn on_timeout(&mut self, now: Time) -> Vec<PathBuf> {
        self.take_until(now)
    }

    /// The disk is `usage` full: the paths that are now too old, taken off the
    /// schedule. Mesos: `checkDiskUsage` then `prune(gc_delay - age)`, which removes
    /// every path due within that much of now.
    pub fn on_disk_usage(
        &mut self,
        usage: f64,
        gc_delay: Duration,
        headroom: f64,
        now: Time,
    ) -> Vec<PathBuf> {
        let age = max_sandbox_age(gc_delay, headroom, usage);
        self.take_until(now + gc_delay.saturating_sub(age))
    }

    fn take_until(&mut self, until: Time) -> Vec<PathBuf> {
        let mut due = Vec::new();
        while let Some((at, _)) = self.queue.first() {
            if *at > until {
                break;
            }
            if let Some((_, path)) = self.queue.pop_first() {
                self.scheduled.remove(&path);
                due.push(path);
            }
        }
        due
    }
}

/// The runs of live executors, by framework and executor id: the folders recovery
/// must not schedule.
pub type LiveRuns = BTreeMap<String, BTreeMap<String, String>>;

/// The folders under `work_dir` of work that is over, with their modification times,
/// for an agent that recovered as `agent_id` with `live` executor runs: other agents'
/// folders (work and meta), frameworks and executors with nothing live, and runs
/// other than an executor's live one. Symlinks (`latest`) are left alone.
/// Mesos: slave.cpp `Slave::_recover` (old agents), `recoverFramework` and
/// `Framework::recoverExecutor` (finished frameworks, executors and old runs).
pub fn finished_on_disk(
    paths: &crate::paths::Paths,
    agent_id: Option<&str>,
    live: &LiveRuns,
) -> Vec<(PathBuf, SystemTime)> {
    let mut found = Vec::new();
    for (name, path) in subdirs(&paths.sandboxes_root()) {
        if Some(name.as_str()) != agent_id {
            found.push(path);
            found.push(paths.agent_meta_dir(&name));
        }
    }
    for (name, path) in subdirs(&paths.meta_dir().join("slaves")) {
        if Some(name.as_str()) != agent_id {
            found.push(path);
        }
    }
    if let Some(agent_id) = agent_id {
        for root in [paths.sandboxes_root().join(agent_id), paths.agent_meta_dir(agent_id)] {
            finished_under(&root, live, &mut found);
        }
    }
    found.sort();
    found.dedup();
    found
        .into_iter()
        .filter_map(|path| {
            let mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
            Some((path, mtime))
        })
        .collect()
}

/// `frameworks/<f>/executors/<e>/runs/<c>` below one agent's folder (the sandboxes
/// and the meta folders share the layout).
fn finished_under(root: &Path, live: &LiveRuns, found: &mut Vec<PathBuf>) {
    for (framework_id, framework_dir) in subdirs(&root.join("frameworks")) {
        let Some(executors) = live.get(&framework_id) else {
            found.push(framework_dir);
            continue;
        };
        for (executor_id, executor_dir) in subdirs(&framework_dir.join("executors")) {
            let Some(container_id) = executors.get(&executor_id) else {
                found.push(executor_dir);
                continue;
            };
            for (run, run_dir) in subdirs(&executor_dir.join("runs")) {
                if &run != container_id {
                    found.push(run_dir);
                }
            }
        }
    }
}

/// The folders (not symlinks) directly in `dir`, by name.
fn subdirs(dir: &Path) -> Vec<(String, PathBuf)> {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    entries
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| Some((entry.file_name().into_string().ok()?, entry.path())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Time {
        Time::from_epoch(Duration::from_secs(secs))
    }

    /// A finished sandbox is due `gc_delay` after it was scheduled, not before; one
    /// taken back (its executor running again) is never removed.
    #[test]
    fn removed_after_the_delay_unless_unscheduled() {
        let mut gc = Collector::new();
        let (old, kept) = (PathBuf::from("/w/old"), PathBuf::from("/w/kept"));
        assert!(gc.schedule(old.clone(), DEFAULT_GC_DELAY, at(0)).is_empty());
        gc.schedule(kept.clone(), DEFAULT_GC_DELAY, at(0));
        assert!(gc.unschedule(&kept));
        assert_eq!(gc.next_due(), Some(at(0) + DEFAULT_GC_DELAY));
        assert!(gc.on_timeout(at(0) + DEFAULT_GC_DELAY - Duration::from_secs(1)).is_empty());
        assert_eq!(gc.on_timeout(at(0) + DEFAULT_GC_DELAY), vec![old]);
        assert!(!gc.is_scheduled(&kept));
        assert_eq!(gc.next_due(), None);
    }

    /// Mesos's `maxExecutorDirectoryAge`: the fuller the disk, the younger a sandbox
    /// is removed; at or past `1 - headroom` full, at once.
    #[test]
    fn disk_usage_shortens_the_delay() {
        let week = DEFAULT_GC_DELAY;
        assert_eq!(max_sandbox_age(week, 0.1, 0.0), week.mul_f64(0.9));
        assert_eq!(max_sandbox_age(week, 0.1, 0.95), Duration::ZERO);
        let mut gc = Collector::new();
        gc.schedule(PathBuf::from("/w/a"), week, at(0));
        gc.schedule(PathBuf::from("/w/b"), week, at(3 * 24 * 3600));
        // Four days after `a` finished, 40% used: the age limit is half a week, so `a`
        // (four days old) goes and `b` (one day old) stays.
        let removed = gc.on_disk_usage(0.4, week, 0.1, at(4 * 24 * 3600));
        assert_eq!(removed, vec![PathBuf::from("/w/a")]);
        let removed = gc.on_disk_usage(0.95, week, 0.1, at(4 * 24 * 3600));
        assert_eq!(removed, vec![PathBuf::from("/w/b")]);
    }

    /// After a restart, what is over is found on disk: another agent's folders, a
    /// framework and an executor with nothing live, an old run; the live run, its
    /// `latest` link and its framework and executor folders are not.
    #[test]
    fn finished_folders_are_found_on_disk() {
        let dir = std::env::temp_dir().join(format!("mesos-agent-gc-scan-{}", std::process::id()));
        let paths = crate::paths::Paths::new(&dir);
        let mk = |p: PathBuf| {
            std::fs::create_dir_all(&p).unwrap();
            p
        };
        let live_run = mk(paths.sandbox_dir("A", "f", "e", "c2"));
        let old_run = mk(paths.sandbox_dir("A", "f", "e", "c1"));
        let old_meta_run = mk(paths.run_meta_dir("A", "f", "e", "c1"));
        mk(paths.run_meta_dir("A", "f", "e", "c2"));
        let done_executor = mk(paths.executor_sandbox_root("A", "f", "done"));
        let done_framework = mk(paths.executor_sandbox_root("A", "g", "x")).join("../..");
        let other_agent = mk(paths.sandbox_dir("OLD", "f", "e", "c"));
        std::os::unix::fs::symlink("c2", live_run.parent().unwrap().join("latest")).unwrap();
        let live: LiveRuns =
            [("f".to_string(), [("e".to_string(), "c2".to_string())].into())].into();
        let found: Vec<PathBuf> =
            finished_on_disk(&paths, Some("A"), &live).into_iter().map(|(p, _)| p).collect();
        let normal = |p: PathBuf| p.canonicalize().unwrap();
        let mut expected = vec![
            old_run,
            old_meta_run,
            done_executor,
            normal(done_framework),
            paths.sandboxes_root().join("OLD"),
        ];
        expected.sort();
        assert_eq!(found, expected);
        assert!(other_agent.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Scheduling a path again moves it to its new time.
    #[test]
    fn rescheduling_moves_the_time() {
        let mut gc = Collector::new();
        let path = PathBuf::from("/w/a");
        gc.schedule(path.clone(), Duration::from_secs(10), at(0));
        gc.schedule(path.clone(), Duration::from_secs(10), at(5));
        assert!(gc.on_timeout(at(10)).is_empty());
        assert_eq!(gc.on_timeout(at(15)), vec![path]);
    }
}
