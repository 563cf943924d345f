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
//! actor removes them off its thread and sets the timer for [`Collector::next_due`].
//! Not yet wired into the agent actor (see docs/agent.md, "Not done yet").

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

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
