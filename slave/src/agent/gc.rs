//! Sandbox garbage collection, the actor's part: timers, the disk watch, and removing
//! folders off the actor. The schedule is [`crate::gc::Collector`]; which folders
//! are garbage is the core's call ([`crate::core::Output::GarbageCollect`]).
//!
//! Mesos: slave/gc.cpp `GarbageCollectorProcess` (the timer on the earliest removal,
//! removal on a separate executor so it never blocks the agent), slave.cpp
//! `Slave::garbageCollect` (the delay counts from the folder's modification time),
//! `checkDiskUsage` / `_checkDiskUsage` (every `--disk_watch_interval`, prune what
//! the disk's usage makes too old), `Slave::_recover` (reschedule after a restart).
//!
//! 1. A folder to collect is touched (its mtime set to now, as Mesos's `os::utime`)
//!    and scheduled `--gc_delay` later; the timer is set for the earliest one.
//! 2. When one is due, it is renamed into `<work_dir>/.gc/` on the actor (one
//!    system call), then deleted there on a blocking thread. A framework or executor
//!    that comes back meanwhile makes fresh folders the deletion cannot touch (Mesos
//!    makes `unschedule` wait for a deletion in progress instead). A folder that
//!    holds the sandbox or meta folder of an executor the agent still has is never
//!    removed, whatever the schedule says.
//! 3. Every `--disk_watch_interval` the disk's usage is measured off the actor, and
//!    everything older than `gc_delay * (1 - gc_disk_headroom - usage)` goes.
//! 4. After recovery, the folders of work that is over are found on disk off the
//!    actor and scheduled by their modification time; `.gc/` left by a crash is
//!    emptied at start.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use libprocess::{Context, Counter, Gauge, Metrics, Time, TimerId};
use tokio::sync::watch;

use super::Agent;
use crate::gc::{Collector, GcConfig, finished_on_disk};

/// The folder under `--work_dir` where doomed folders wait for their deletion.
pub const TRASH_DIR: &str = ".gc";

/// What the collector has done so far (tests wait on it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcProgress {
    /// The folders found on disk after recovery have been scheduled.
    pub recovered: bool,
    /// Folders whose deletion ended (deleted, or failed and logged).
    pub removals: u64,
}

/// The actor's collector state.
pub(super) struct SandboxGc {
    config: GcConfig,
    collector: Collector,
    /// The armed timer and the removal time it is for.
    timer: Option<(TimerId, Time)>,
    trash: PathBuf,
    serial: u64,
    progress: watch::Sender<GcProgress>,
    succeeded: Counter,
    failed: Counter,
    pending: Gauge,
}

impl SandboxGc {
    pub(super) fn new(config: GcConfig, work_dir: &std::path::Path) -> SandboxGc {
        SandboxGc {
            config,
            collector: Collector::new(),
            timer: None,
            trash: work_dir.join(TRASH_DIR),
            serial: 0,
            progress: watch::Sender::new(GcProgress::default()),
            succeeded: Counter::default(),
            failed: Counter::default(),
            pending: Gauge::default(),
        }
    }

    /// Mesos's metric names (gc.cpp `GarbageCollectorProcess::Metrics`).
    pub(super) fn register(&mut self, metrics: &Metrics) {
        self.succeeded = metrics.counter("gc/path_removals_succeeded");
        self.failed = metrics.counter("gc/path_removals_failed");
        self.pending = metrics.gauge("gc/path_removals_pending");
    }
}

fn to_time(at: SystemTime) -> Time {
    Time::from_epoch(at.duration_since(UNIX_EPOCH).unwrap_or_default())
}

impl Agent {
    /// What the collector has done so far; tests wait on it.
    pub fn gc_progress(&self) -> watch::Receiver<GcProgress> {
        self.gc.progress.subscribe()
    }

    /// True if `path` waits for removal.
    pub fn gc_is_scheduled(&self, path: &std::path::Path) -> bool {
        self.gc.collector.is_scheduled(&path.to_path_buf())
    }

    /// Empties the trash a crash left and starts the disk watch.
    pub(super) fn start_gc(&mut self, ctx: &mut Context<'_, Self>) {
        self.gc.register(ctx.node().metrics());
        let trash = self.gc.trash.clone();
        if trash.exists() {
            let empty = async move { tokio::task::spawn_blocking(move || remove(&trash)).await };
            ctx.spawn(empty, |_: &mut Agent, _, _| {});
        }
        let interval = self.gc.config.disk_watch_interval;
        ctx.delay(interval, |agent, ctx| agent.on_disk_watch_tick(ctx));
    }

    /// Schedules folders of work that just ended, `--gc_delay` from now.
    pub(super) fn gc_schedule(&mut self, paths: Vec<PathBuf>, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        let mtime = UNIX_EPOCH + now.since_epoch();
        for path in paths {
            // Mesos: os::utime before garbageCollect, so that after a restart the
            // delay still counts from the end of the work.
            match std::fs::File::open(&path).and_then(|dir| dir.set_modified(mtime)) {
                Ok(()) => self.gc_schedule_at(path, now, ctx),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(%error, path = %path.display(), "cannot touch a folder to collect");
                    self.gc_schedule_at(path, now, ctx);
                }
            }
        }
        self.gc_rearm(ctx);
    }

    /// Schedules `path`, last modified at `mtime`, for `gc_delay` after that.
    // Mesos: Slave::garbageCollect.
    fn gc_schedule_at(&mut self, path: PathBuf, mtime: Time, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        let delay = self.gc.config.delay.saturating_sub(now.saturating_since(mtime));
        tracing::info!(path = %path.display(), ?delay, "scheduling for garbage collection");
        // Past the collector's bound the oldest go at once.
        let overflow = self.gc.collector.schedule(path, delay, now);
        self.gc_remove(overflow, ctx);
    }

    /// Takes folders of a framework or executor that is back off the schedule.
    pub(super) fn gc_unschedule(&mut self, paths: Vec<PathBuf>) {
        for path in paths {
            if self.gc.collector.unschedule(&path) {
                tracing::info!(path = %path.display(), "unscheduled from garbage collection");
            }
        }
        // The timer stays: if it comes with nothing due, it only re-arms.
        self.gc.pending.set(self.gc.collector.len() as f64);
    }

    /// Arms the timer for the earliest removal (Mesos: `GarbageCollectorProcess::reset`).
    fn gc_rearm(&mut self, ctx: &mut Context<'_, Self>) {
        self.gc.pending.set(self.gc.collector.len() as f64);
        let next = self.gc.collector.next_due();
        if self.gc.timer.map(|(_, at)| at) == next {
            return;
        }
        if let Some((id, _)) = self.gc.timer.take() {
            ctx.cancel_timer(id);
        }
        if let Some(at) = next {
            let after = at.saturating_since(ctx.now());
            let id = ctx.delay(after, |agent: &mut Agent, ctx| agent.on_gc_timeout(ctx));
            self.gc.timer = Some((id, at));
        }
    }

    fn on_gc_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        self.gc.timer = None;
        let due = self.gc.collector.on_timeout(ctx.now());
        self.gc_remove(due, ctx);
        self.gc_rearm(ctx);
    }

    /// Measures the disk off the actor, then prunes. Mesos: Slave::checkDiskUsage.
    fn on_disk_watch_tick(&mut self, ctx: &mut Context<'_, Self>) {
        let usage_of = self.gc.config.disk_usage;
        let work_dir = self.core.config.work_dir.clone();
        let measure = async move { tokio::task::spawn_blocking(move || usage_of(&work_dir)).await };
        ctx.spawn(measure, |agent: &mut Agent, usage, ctx| {
            match usage.map_err(|e| e.to_string()).and_then(|usage| usage) {
                Ok(usage) => agent.on_disk_usage(usage, ctx),
                Err(error) => tracing::error!(%error, "cannot measure the disk's usage"),
            }
            let interval = agent.gc.config.disk_watch_interval;
            ctx.delay(interval, |agent, ctx| agent.on_disk_watch_tick(ctx));
        });
    }

    /// Mesos: Slave::_checkDiskUsage, then `gc->prune(gc_delay - age)`.
    fn on_disk_usage(&mut self, usage: f64, ctx: &mut Context<'_, Self>) {
        let GcConfig { delay, disk_headroom, .. } = self.gc.config;
        let age = crate::gc::max_sandbox_age(delay, disk_headroom, usage);
        tracing::info!(usage = format!("{:.2}%", usage * 100.0), max_age = ?age, "disk usage");
        let due = self.gc.collector.on_disk_usage(usage, delay, disk_headroom, ctx.now());
        self.gc_remove(due, ctx);
        self.gc_rearm(ctx);
    }

    /// Moves the due folders into the trash and deletes them on a blocking thread.
    fn gc_remove(&mut self, due: Vec<PathBuf>, ctx: &mut Context<'_, Self>) {
        let mut doomed = Vec::new();
        for path in due {
            if self.core.uses_path(&path) {
                tracing::warn!(path = %path.display(), "not removing a folder an executor still uses");
                continue;
            }
            self.gc.serial += 1;
            let name = format!("{}-{}", ctx.now().since_epoch().as_nanos(), self.gc.serial);
            let tomb = self.gc.trash.join(name);
            let moved = std::fs::create_dir_all(&self.gc.trash)
                .and_then(|()| std::fs::rename(&path, &tomb));
            match moved {
                Ok(()) => doomed.push((path, tomb)),
                Err(_) if !path.exists() => {
                    tracing::info!(path = %path.display(), "skipped a folder that does not exist")
                }
                // Another file system (a mount in the work dir): deleted where it is.
                Err(_) => doomed.push((path.clone(), path)),
            }
        }
        if doomed.is_empty() {
            return;
        }
        let job = async move {
            tokio::task::spawn_blocking(move || {
                doomed.into_iter().map(|(path, at)| (path, remove(&at))).collect::<Vec<_>>()
            })
            .await
        };
        ctx.spawn(job, |agent: &mut Agent, results, _ctx| match results {
            Ok(results) => agent.on_gc_removed(results),
            Err(error) => tracing::error!(%error, "the garbage collector's deletion stopped"),
        });
    }

    fn on_gc_removed(&mut self, results: Vec<(PathBuf, Result<(), String>)>) {
        let count = results.len() as u64;
        for (path, result) in results {
            match result {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "deleted");
                    self.gc.succeeded.inc();
                }
                Err(error) => {
                    tracing::warn!(%error, path = %path.display(), "failed to delete");
                    self.gc.failed.inc();
                }
            }
        }
        self.gc.progress.send_modify(|p| p.removals += count);
    }

    /// After recovery: schedules what is over by its modification time.
    pub(super) fn gc_recovered(&mut self, ctx: &mut Context<'_, Self>) {
        let paths = self.core.paths.clone();
        let agent_id = self.core.agent_id();
        let live = self.core.live_runs();
        let scan = async move {
            tokio::task::spawn_blocking(move || {
                finished_on_disk(&paths, agent_id.as_deref(), &live)
            })
            .await
        };
        ctx.spawn(scan, |agent: &mut Agent, found, ctx| {
            for (path, mtime) in found.unwrap_or_default() {
                // An executor launched since the scan may use it again.
                if !agent.core.uses_path(&path) {
                    agent.gc_schedule_at(path, to_time(mtime), ctx);
                }
            }
            agent.gc_rearm(ctx);
            agent.gc.progress.send_modify(|p| p.recovered = true);
        });
    }
}

/// Deletes a folder and everything in it; one that is already gone is fine.
fn remove(path: &std::path::Path) -> Result<(), String> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error.to_string()),
    }
}
