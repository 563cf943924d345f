//! The process's log verbosity and its temporary toggle.
//!
//! Mesos: 3rdparty/libprocess/src/logging.cpp (`Logging::set_level`, `/logging/toggle`).
//! Mesos logs through glog: `FLAGS_v` is the verbosity (0 by default; libprocess logs at
//! 1, 2 and 3), and an operator raises it for a while to debug a live process
//! (`/logging/toggle?level=1&duration=10mins`, or the operator API's
//! `SET_LOGGING_LEVEL`); when the duration has passed the original level comes back.
//!
//! Here the verbosity maps onto `tracing` levels (0: the filter the binary started
//! with, 1: `debug`, 2 and above: `trace`). The binary that owns the subscriber hands
//! over how to apply a level once ([`install_applier`]); without one (tests, libraries)
//! the level is still tracked and reported, nothing is reloaded. The revert runs on the
//! node's clock, so a test pauses and advances it instead of waiting.
//!
//! Two parts: [`Toggle`], the pure bookkeeping (level in, revert deadline out), and
//! [`Logging`], the shared handle that applies levels and sets the revert timer.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;

use crate::clock::{Clock, Time};

/// How the binary applies a verbosity level to its subscriber (set once).
type Applier = Box<dyn Fn(u32) + Send + Sync>;

static APPLIER: OnceLock<Applier> = OnceLock::new();

/// Hands over how to apply a verbosity level (a reload of the binary's `tracing`
/// filter). The first call wins; false if one was installed already.
pub fn install_applier(apply: impl Fn(u32) + Send + Sync + 'static) -> bool {
    APPLIER.set(Box::new(apply)).is_ok()
}

fn apply(level: u32) {
    if let Some(apply) = APPLIER.get() {
        apply(level);
    }
}
/// How a binary logs: Mesos's logging flags (logging/flags.hpp).
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// The program's name, in the log files' names (`mesos-master`).
    pub program: String,
    /// `--log_dir`: also write log files there (none by default, as in Mesos).
    pub log_dir: Option<std::path::PathBuf>,
    /// `--logging_level`: the least severe events logged (when `RUST_LOG` is unset)
    /// and the severity the log file is named after.
    pub level: crate::log_file::LogLevel,
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`): [`init`] without log files.
pub fn init_stderr() {
    // Without a log directory nothing can fail.
    let _ = init(&LogOptions::default());
}

/// Logs to stderr and, with `log_dir`, to rotating glog-style files there
/// ([`crate::log_file`]); both filtered by `RUST_LOG`, else by the level. Installs the
/// applier that swaps the filter when the level is raised (`/logging/toggle`,
/// `SET_LOGGING_LEVEL`): verbosity 0 is this filter, higher levels `debug` or `trace`
/// until they revert. Returns the symlink to the current log file (what the master
/// and agent serve at `/master/log` and `/slave/log`). For binaries (`mesos-master`,
/// `mesos-agent`); a second call, or one after another subscriber was set, sets
/// nothing up (the files are still opened). Fails if the log directory cannot be
/// written.
pub fn init(options: &LogOptions) -> std::io::Result<Option<std::path::PathBuf>> {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;
    let original =
        std::env::var("RUST_LOG").unwrap_or_else(|_| options.level.directive().to_string());
    let filter =
        |directive: &str| EnvFilter::try_new(directive).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter_layer, handle) = tracing_subscriber::reload::Layer::new(filter(&original));
    let files = match &options.log_dir {
        Some(dir) => Some(crate::log_file::LogFiles::open(dir, &options.program, options.level)?),
        None => None,
    };
    let link = files.as_ref().map(|f| f.link().to_path_buf());
    let file_layer = files.map(|files| {
        let writer = crate::log_file::LogFileWriter(Arc::new(Mutex::new(files)));
        tracing_subscriber::fmt::layer().with_ansi(false).with_writer(writer)
    });
    let stderr_layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let subscriber =
        tracing_subscriber::registry().with(filter_layer).with(stderr_layer).with(file_layer);
    if subscriber.try_init().is_ok() {
        install_applier(move |level| {
            let directive = if level == 0 { original.as_str() } else { directive(level) };
            if let Err(error) = handle.reload(filter(directive)) {
                tracing::warn!(%error, "cannot change the logging level");
            }
        });
    }
    Ok(link)
}

/// The `tracing` filter directive for a verbosity level above the original: 1 is
/// `debug`, 2 and more `trace` (Mesos's `VLOG(1)` is debugging, `VLOG(2)` and up are
/// the chattiest messages).
pub fn directive(level: u32) -> &'static str {
    if level >= 2 { "trace" } else { "debug" }
}

/// The verbosity bookkeeping: the original level, the current one, and when the
/// current one reverts. Pure: the caller passes the time and sets the timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toggle {
    original: u32,
    current: u32,
    revert_at: Option<Time>,
}

impl Toggle {
    /// Starting at `original` (Mesos: `FLAGS_v` when the process started).
    pub fn new(original: u32) -> Toggle {
        Toggle { original, current: original, revert_at: None }
    }

    /// The current level.
    pub fn level(&self) -> u32 {
        self.current
    }

    /// The level the process started with, to which every toggle reverts.
    pub fn original(&self) -> u32 {
        self.original
    }

    /// Sets `level` until `now + duration`; returns that deadline when a revert timer
    /// is needed (not when `level` is the original). A later call replaces the
    /// deadline, so the earlier timer's revert does nothing. Mesos:
    /// `Logging::set_level`.
    pub fn set(&mut self, level: u32, duration: Duration, now: Time) -> Option<Time> {
        self.current = level;
        if level == self.original {
            self.revert_at = None;
            return None;
        }
        let deadline = now + duration;
        self.revert_at = Some(deadline);
        Some(deadline)
    }

    /// A revert timer fired at `now`: the original level if the latest toggle's
    /// deadline has passed, else `None` (a newer toggle is in force). Mesos:
    /// `Logging::revert`.
    pub fn on_revert_timeout(&mut self, now: Time) -> Option<u32> {
        match self.revert_at {
            Some(deadline) if deadline <= now => {
                self.revert_at = None;
                self.current = self.original;
                Some(self.original)
            }
            _ => None,
        }
    }
}

/// Why a toggle is refused (answered `400`, as Mesos's `/logging/toggle` does).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToggleError {
    /// Only one of `level` and `duration` was given.
    #[error("Expecting '{0}=value' in query")]
    Missing(&'static str),
    /// `level` is not a non-negative integer.
    #[error("Invalid level '{0}'")]
    InvalidLevel(String),
    /// `level` is below the level the process started with.
    #[error("'{level}' < original level")]
    BelowOriginal {
        /// The requested level.
        level: u32,
    },
    /// `duration` does not parse.
    #[error(transparent)]
    Duration(#[from] crate::duration::DurationParseError),
}

/// A process's verbosity, shared between the routes and APIs that read or toggle it.
/// Cloning shares it.
#[derive(Clone)]
pub struct Logging {
    toggle: Arc<Mutex<Toggle>>,
    clock: Clock,
}

impl Logging {
    /// Verbosity 0 (the binary's own filter), reverting on `clock`.
    pub fn new(clock: Clock) -> Logging {
        Logging { toggle: Arc::new(Mutex::new(Toggle::new(0))), clock }
    }

    /// The current level (Mesos: `FLAGS_v`).
    pub fn level(&self) -> u32 {
        self.toggle.lock().level()
    }

    /// Sets `level` for `duration`, then back to the original. Mesos:
    /// `Logging::set_level` (the v1 `SET_LOGGING_LEVEL` calls it directly, with no
    /// check against the original level).
    pub fn set_level(&self, level: u32, duration: Duration) {
        let deadline = self.toggle.lock().set(level, duration, self.clock.now());
        apply(level);
        tracing::info!(level, ?duration, "logging level set");
        if deadline.is_some() {
            let (toggle, clock) = (self.toggle.clone(), self.clock.clone());
            self.clock.schedule(duration, move || {
                let reverted = toggle.lock().on_revert_timeout(clock.now());
                if let Some(level) = reverted {
                    apply(level);
                    tracing::info!(level, "logging level reverted");
                }
            });
        }
    }

    /// `/logging/toggle?level=L&duration=D`: with neither, the current level; with
    /// both, a toggle. Mesos: `Logging::toggle` (refuses a level below the original).
    /// `Ok(None)` is a toggle done, `Ok(Some(level))` the level asked for.
    pub fn toggle(
        &self,
        level: Option<&str>,
        duration: Option<&str>,
    ) -> Result<Option<u32>, ToggleError> {
        let (level, duration) = match (level, duration) {
            (None, None) => return Ok(Some(self.level())),
            (Some(_), None) => return Err(ToggleError::Missing("duration")),
            (None, Some(_)) => return Err(ToggleError::Missing("level")),
            (Some(level), Some(duration)) => (level, duration),
        };
        let level: u32 =
            level.trim().parse().map_err(|_| ToggleError::InvalidLevel(level.to_string()))?;
        if level < self.toggle.lock().original() {
            return Err(ToggleError::BelowOriginal { level });
        }
        let duration = crate::duration::parse_duration(duration)?;
        self.set_level(level, duration);
        Ok(None)
    }
}

impl std::fmt::Debug for Logging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logging").field("toggle", &*self.toggle.lock()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toggle reverts after its duration on the paused clock; a second toggle before
    /// the first's deadline moves the deadline (the first timer then does nothing).
    #[test]
    fn toggle_reverts_after_its_duration() {
        let clock = Clock::paused();
        let logging = Logging::new(clock.clone());
        assert_eq!(logging.level(), 0);
        logging.set_level(2, Duration::from_secs(60));
        assert_eq!(logging.level(), 2);
        clock.advance(Duration::from_secs(30));
        logging.set_level(1, Duration::from_secs(60));
        clock.advance(Duration::from_secs(31));
        assert_eq!(logging.level(), 1, "the first deadline was replaced");
        clock.advance(Duration::from_secs(30));
        assert_eq!(logging.level(), 0, "reverted to the original");
    }

    /// `/logging/toggle`'s parameters as Mesos checks them.
    #[test]
    fn toggle_parameters() {
        let logging = Logging::new(Clock::paused());
        assert_eq!(logging.toggle(None, None), Ok(Some(0)));
        assert_eq!(logging.toggle(Some("1"), None), Err(ToggleError::Missing("duration")));
        assert_eq!(logging.toggle(None, Some("1secs")), Err(ToggleError::Missing("level")));
        assert!(matches!(
            logging.toggle(Some("-1"), Some("1secs")),
            Err(ToggleError::InvalidLevel(_))
        ));
        assert!(matches!(logging.toggle(Some("1"), Some("soon")), Err(ToggleError::Duration(_))));
        assert_eq!(logging.toggle(Some("3"), Some("1mins")), Ok(None));
        assert_eq!(logging.level(), 3);
    }

    /// The pure toggle: setting the original level needs no timer.
    #[test]
    fn setting_the_original_needs_no_timer() {
        let mut toggle = Toggle::new(0);
        let now = Time::from_epoch(Duration::from_secs(100));
        assert_eq!(toggle.set(0, Duration::from_secs(5), now), None);
        assert_eq!(toggle.on_revert_timeout(now + Duration::from_secs(10)), None);
        assert!(toggle.set(1, Duration::from_secs(5), now).is_some());
        assert_eq!(toggle.on_revert_timeout(now + Duration::from_secs(4)), None);
        assert_eq!(toggle.on_revert_timeout(now + Duration::from_secs(5)), Some(0));
    }
}
