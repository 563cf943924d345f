//! The binaries' log files (`--log_dir`), named as glog names Mesos's.
//!
//! Mesos logs through glog, which with `--log_dir` writes
//! `<program>.<host>.<user>.log.<SEVERITY>.<yyyymmdd-hhmmss>.<pid>` and keeps the
//! symlink `<program>.<SEVERITY>` (e.g. `mesos-master.INFO`) on the current one; the
//! master and agent serve that file at `/master/log` and `/slave/log`. Ours writes the
//! same names, one line per event, and rotates: a file past [`MAX_LOG_FILE_BYTES`]
//! is closed and a new one started (the symlink moves to it), and of the files this
//! process wrote only the newest [`MAX_LOG_FILES`] are kept, so the logs are bounded.
//! Writes are plain blocking writes from the logging thread, as glog's are.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, MutexGuard};

/// Size at which a log file is closed and the next one started.
pub const MAX_LOG_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// How many of its log files a process keeps (older ones are deleted).
pub const MAX_LOG_FILES: usize = 8;

/// The severity a log file is named after (Mesos's `--logging_level`: `INFO`,
/// `WARNING` or `ERROR`); also the least severe events the process logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// Everything from INFO up (Mesos's default).
    #[default]
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
}

impl LogLevel {
    /// Mesos's name (`INFO`, ...), as in the file names.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        }
    }

    /// The `tracing` filter directive of this level.
    pub fn directive(self) -> &'static str {
        match self {
            LogLevel::Info => "info",
            LogLevel::Warning => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl std::str::FromStr for LogLevel {
    type Err = String;

    /// Mesos: logging/flags.cpp accepts `INFO`, `WARNING` and `ERROR`.
    fn from_str(text: &str) -> Result<LogLevel, String> {
        match text {
            "INFO" => Ok(LogLevel::Info),
            "WARNING" => Ok(LogLevel::Warning),
            "ERROR" => Ok(LogLevel::Error),
            other => Err(format!(
                "'{other}' is not a valid logging level. Possible values for 'logging_level' flag are: 'INFO', 'WARNING', 'ERROR'"
            )),
        }
    }
}

/// One process's rotating log files in a directory.
#[derive(Debug)]
pub struct LogFiles {
    dir: PathBuf,
    /// `<program>.<host>.<user>.log.<SEVERITY>.` : each file's name without its time.
    prefix: String,
    /// The symlink to the current file (`<dir>/<program>.<SEVERITY>`).
    link: PathBuf,
    max_bytes: u64,
    max_files: usize,
    file: File,
    written: u64,
    /// The files written so far, oldest first (the last is the current one).
    files: VecDeque<PathBuf>,
}

impl LogFiles {
    /// Creates `dir` if needed and opens the first file of `program` at `level`, with
    /// the symlink on it.
    pub fn open(dir: &Path, program: &str, level: LogLevel) -> io::Result<LogFiles> {
        LogFiles::with_bounds(dir, program, level, MAX_LOG_FILE_BYTES, MAX_LOG_FILES)
    }

    /// [`LogFiles::open`] with chosen bounds (tests).
    pub fn with_bounds(
        dir: &Path,
        program: &str,
        level: LogLevel,
        max_bytes: u64,
        max_files: usize,
    ) -> io::Result<LogFiles> {
        fs::create_dir_all(dir)?;
        let host = fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let severity = level.name();
        let prefix = format!("{program}.{host}.{user}.log.{severity}.");
        let link = dir.join(format!("{program}.{severity}"));
        let (path, file) = new_file(dir, &prefix)?;
        let files = LogFiles {
            dir: dir.to_path_buf(),
            prefix,
            link,
            max_bytes,
            max_files: max_files.max(1),
            file,
            written: 0,
            files: VecDeque::from([path]),
        };
        files.relink()?;
        Ok(files)
    }

    /// The symlink to the current file: what `/master/log` and `/slave/log` serve.
    pub fn link(&self) -> &Path {
        &self.link
    }

    /// Points the symlink at the current file (a new link renamed over the old one, so
    /// a reader always finds one).
    fn relink(&self) -> io::Result<()> {
        let Some(current) = self.files.back() else { return Ok(()) };
        let target = current.file_name().map(PathBuf::from).unwrap_or_else(|| current.clone());
        let temporary = self.dir.join(format!(".{}.new", std::process::id()));
        let _ = fs::remove_file(&temporary);
        std::os::unix::fs::symlink(&target, &temporary)?;
        fs::rename(&temporary, &self.link)
    }

    /// Closes the current file, opens the next, moves the link and drops the oldest
    /// files past the bound.
    fn rotate(&mut self) -> io::Result<()> {
        let (path, file) = new_file(&self.dir, &self.prefix)?;
        self.file = file;
        self.written = 0;
        self.files.push_back(path);
        while self.files.len() > self.max_files {
            if let Some(old) = self.files.pop_front() {
                let _ = fs::remove_file(old);
            }
        }
        self.relink()
    }
}

impl Write for LogFiles {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.written >= self.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(bytes)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// A new file `<prefix><yyyymmdd-hhmmss>.<pid>` (with `.<n>` when two start within
/// one second).
fn new_file(dir: &Path, prefix: &str) -> io::Result<(PathBuf, File)> {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let base = format!("{prefix}{}.{}", timestamp(secs), std::process::id());
    for n in 0..1000 {
        let name = if n == 0 { base.clone() } else { format!("{base}.{n}") };
        let path = dir.join(name);
        match fs::OpenOptions::new().append(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::other("too many log files started within one second"))
}

/// `yyyymmdd-hhmmss` (UTC) of `secs` since the epoch (glog's file-name time).
fn timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3600,
        (rest % 3600) / 60,
        rest % 60
    )
}

/// The [`LogFiles`] as a `tracing` writer, shared by every event.
#[derive(Debug, Clone)]
pub struct LogFileWriter(pub Arc<Mutex<LogFiles>>);

/// One event's access to the file.
pub struct LogFileGuard<'a>(MutexGuard<'a, LogFiles>);

impl Write for LogFileGuard<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogFileWriter {
    type Writer = LogFileGuard<'a>;

    fn make_writer(&'a self) -> LogFileGuard<'a> {
        LogFileGuard(self.0.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves the glog-style names, the symlink following the current file through
    /// rotations, and the bound on the number of files kept.
    #[test]
    fn files_rotate_and_stay_bounded() {
        let dir = std::env::temp_dir().join(format!("libprocess-log-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut files = LogFiles::with_bounds(&dir, "mesos-test", LogLevel::Info, 10, 2).unwrap();
        assert_eq!(files.link(), dir.join("mesos-test.INFO"));
        let first = fs::read_link(files.link()).unwrap();
        assert!(first.to_string_lossy().starts_with("mesos-test."), "{first:?}");
        assert!(first.to_string_lossy().contains(".log.INFO."), "{first:?}");
        for line in ["one 56789\n", "two 56789\n", "three 789\n"] {
            files.write_all(line.as_bytes()).unwrap();
        }
        assert_eq!(fs::read_to_string(files.link()).unwrap(), "three 789\n");
        let kept: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".log.INFO."))
            .collect();
        assert_eq!(kept.len(), 2, "the oldest file was deleted");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The file-name time is the civil UTC date.
    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "19700101-000000");
        assert_eq!(timestamp(1_709_210_096), "20240229-123456");
        assert_eq!("WARNING".parse::<LogLevel>(), Ok(LogLevel::Warning));
        assert!("info".parse::<LogLevel>().is_err());
    }
}
