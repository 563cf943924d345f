//! The fetcher: puts an executor's `CommandInfo.uris` into its sandbox before the
//! executor starts (Mesos's `mesos-fetcher`).
//!
//! Mesos: src/slave/containerizer/fetcher.cpp (the agent side: validation, the
//! cache, running `mesos-fetcher`) and src/launcher/fetcher.cpp (the program that
//! downloads, copies, extracts and chmods), docs/fetcher.md and
//! docs/fetcher-cache-internals.md.
//!
//! For each URI, in order:
//! 1. its source is classified (`http://`, `https://`; `file://` or a plain path,
//!    relative ones under `--frameworks_home`) and its destination in the sandbox is
//!    resolved: `output_file`, else the URI's basename; both must stay in the sandbox;
//! 2. with `cache` set (and a cache of non-zero size) the file comes from the agent's
//!    fetcher cache, downloaded once per key (user + URI) however many tasks ask at
//!    once; otherwise it is downloaded (or copied) straight into the sandbox;
//! 3. `executable` makes it mode 0755; `extract` unpacks a `.tar`, `.tar.gz`/`.tgz`,
//!    `.tar.bz2`/`.tbz2`, `.tar.xz`/`.txz` or `.zip` into the sandbox, or
//!    decompresses a bare `.gz` beside it; any other file is kept with a warning.
//!
//! The fetch runs on a blocking thread of the agent's runtime (`spawn_blocking`), never
//! on the agent's actor, and writes its log to the sandbox's `stderr` (Mesos runs
//! `mesos-fetcher` with the sandbox's `stdout` and `stderr`; the executor's output is
//! appended after it). It is bounded: each file (and each archive's extracted bytes)
//! by [`FetcherConfig::max_download_size`], the whole fetch by
//! `--executor_registration_timeout` (in Mesos that timer also covers the fetch),
//! stalled reads by `--fetcher_stall_timeout`, connecting by
//! [`download::CONNECT_TIMEOUT`]. The agent cancels a fetch whose executor it shuts
//! down. A failed fetch fails the launch, so the tasks fail with
//! `REASON_CONTAINER_LAUNCH_FAILED` and a message naming the URI.
//!
//! # Layout
//! - [`plan`]: pure: sources, basenames, destinations, archive kinds, cache keys.
//! - [`cache`]: the cache's LRU bookkeeping (pure) and its shared downloads.
//! - [`download`]: HTTP(S) downloads and local copies with their limits.
//! - [`extract`]: writing files and archive entries without leaving the sandbox.

pub mod cache;
pub mod download;
pub mod extract;
pub mod plan;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mesos_proto::mesos::command_info::Uri;

use crate::error::AgentError;
use download::Limits;
use plan::ArchiveKind;

/// Mesos's `--fetcher_cache_size` default: 2 GB.
pub const DEFAULT_CACHE_SIZE: u64 = 2 * 1024 * 1024 * 1024;

/// Mesos's `--fetcher_stall_timeout` default.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest file one URI may bring (and the most one archive may extract to);
/// past it the fetch fails. Ours: Mesos has no such bound.
pub const DEFAULT_MAX_DOWNLOAD_SIZE: u64 = 8 * 1024 * 1024 * 1024;

/// How the agent fetches (from its flags).
#[derive(Debug, Clone)]
pub struct FetcherConfig {
    /// `--fetcher_cache_dir`.
    pub cache_dir: PathBuf,
    /// `--fetcher_cache_size` in bytes; 0 disables the cache (every URI bypasses it).
    pub cache_size: u64,
    /// `--fetcher_stall_timeout`.
    pub stall_timeout: Duration,
    /// `--frameworks_home`: prefix of relative plain-path URIs.
    pub frameworks_home: Option<PathBuf>,
    /// See [`DEFAULT_MAX_DOWNLOAD_SIZE`].
    pub max_download_size: u64,
    /// A CA (PEM) trusted for HTTPS besides the system's: the agent's
    /// `LIBPROCESS_SSL_CA_FILE`, so URIs on the cluster's own TLS servers fetch.
    pub extra_ca_file: Option<PathBuf>,
}

impl FetcherConfig {
    /// Mesos's defaults, with the cache in `<work_dir>/fetch`.
    pub fn new(work_dir: &Path) -> FetcherConfig {
        FetcherConfig {
            cache_dir: work_dir.join("fetch"),
            cache_size: DEFAULT_CACHE_SIZE,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
            frameworks_home: None,
            max_download_size: DEFAULT_MAX_DOWNLOAD_SIZE,
            extra_ca_file: None,
        }
    }
}

/// One container's fetch.
#[derive(Debug, Clone)]
pub struct FetchJob {
    /// The URIs, fetched in order.
    pub uris: Vec<Uri>,
    /// The sandbox (exists).
    pub sandbox: PathBuf,
    /// The user the executor runs as (part of the cache key).
    pub user: Option<String>,
    /// With `--switch_user` under root: the user local files (`file://`, plain
    /// paths) are read as.
    pub run_as: Option<crate::users::RunAs>,
    /// How long the whole fetch may take.
    pub timeout: Duration,
    /// Set by the agent when it no longer wants the fetch.
    pub cancel: Arc<AtomicBool>,
}

/// The agent's fetcher: its configuration and its cache, shared by concurrent fetches.
pub struct Fetcher {
    config: FetcherConfig,
    /// Set up by the first fetch that uses it (so an agent that never fetches never
    /// touches `--fetcher_cache_dir`); `None` inside if disabled or unusable.
    cache: std::sync::OnceLock<Option<cache::Cache>>,
    /// The HTTP client, made by the first download (it reads the CA bundles).
    http: std::sync::OnceLock<ureq::Agent>,
}

impl Fetcher {
    /// A fetcher; nothing is touched on disk until the first fetch.
    pub fn new(config: FetcherConfig) -> Fetcher {
        Fetcher { config, cache: std::sync::OnceLock::new(), http: std::sync::OnceLock::new() }
    }

    /// The cache, emptied and created on first use (Mesos empties it when the agent
    /// starts; nothing can be cached before the first use). If its folder cannot be
    /// made, the agent fetches without a cache and says so.
    fn cache(&self) -> Option<&cache::Cache> {
        let config = &self.config;
        self.cache
            .get_or_init(|| {
                if config.cache_size == 0 {
                    return None;
                }
                cache::Cache::new(config.cache_dir.clone(), config.cache_size)
                    .map_err(|error| {
                        tracing::error!(%error, dir = %config.cache_dir.display(), "cannot set up the fetcher cache; fetching without it")
                    })
                    .ok()
            })
            .as_ref()
    }

    /// `--fetcher_cache_size` (0 when the cache is off).
    pub fn cache_size_total_bytes(&self) -> u64 {
        self.config.cache_size
    }

    /// Bytes of the files in the cache now.
    pub fn cache_size_used_bytes(&self) -> u64 {
        self.cache.get().and_then(Option::as_ref).map_or(0, cache::Cache::used)
    }

    fn http(&self) -> &ureq::Agent {
        self.http.get_or_init(|| {
            download::http_client(self.config.extra_ca_file.as_deref(), self.config.stall_timeout)
        })
    }

    /// Fetches every URI of `job` into its sandbox (blocking: run it off the actor).
    /// The first failure ends the fetch: `AgentError::Fetch` names the URI.
    pub fn fetch(&self, job: &FetchJob) -> Result<(), AgentError> {
        let mut log = FetchLog::open(&job.sandbox);
        let cancelled = || job.cancel.load(Ordering::SeqCst);
        let limits = Limits {
            max_bytes: self.config.max_download_size,
            deadline: Instant::now() + job.timeout,
            stall_timeout: self.config.stall_timeout,
            cancelled: &cancelled,
        };
        log.line(&format!("Fetching {} URI(s) into '{}'", job.uris.len(), job.sandbox.display()));
        for uri in &job.uris {
            if let Err(reason) = self.fetch_one(uri, job, &limits, &mut log) {
                log.line(&format!("Failed to fetch '{}': {reason}", uri.value));
                return Err(AgentError::Fetch { uri: uri.value.clone(), reason });
            }
        }
        log.line("Successfully fetched all URIs into the sandbox");
        Ok(())
    }

    // Mesos: launcher/fetcher.cpp fetchBypassingCache, fetchFromCache.
    fn fetch_one(
        &self,
        uri: &Uri,
        job: &FetchJob,
        limits: &Limits,
        log: &mut FetchLog,
    ) -> Result<(), String> {
        let source = plan::source(&uri.value, self.config.frameworks_home.as_deref())?;
        let relative = plan::destination(&uri.value, uri.output_file.as_deref())?;
        let root = extract::Root::new(&job.sandbox)?;
        let destination = root.prepare(&relative)?;
        let name = relative.to_string_lossy().into_owned();
        let extract_kind = uri.extract().then(|| ArchiveKind::of(&name)).flatten();
        let executable = uri.executable();
        let cache = if uri.cache() { self.cache() } else { None };
        let run_as = job.run_as.as_ref();
        match cache {
            Some(cache) => {
                log.line(&format!("Fetching '{}' through the fetcher cache", uri.value));
                let key = plan::cache_key(job.user.as_deref(), uri.value.trim_start());
                let basename = plan::basename(uri.value.trim_start())?;
                let mut download =
                    |path: &Path| download::download(self.http(), &source, path, limits, run_as);
                let (pinned, hit) =
                    cache.get(&key, &basename, limits.deadline, limits.cancelled, &mut download)?;
                log.line(if hit {
                    "Found it in the cache"
                } else {
                    "Downloaded it into the cache"
                });
                match extract_kind.filter(|_| !executable) {
                    // Mesos: fetchFromCache extracts straight from the cache file.
                    Some(kind) => {
                        self.extract(pinned.path(), kind, &name, &job.sandbox, limits, log)?
                    }
                    None => {
                        let mut from = std::fs::File::open(pinned.path())
                            .map_err(|e| format!("cannot open the cache file: {e}"))?;
                        let mut to = extract::create_file(&destination, 0o644)?;
                        download::bounded_copy(&mut from, &mut to, limits)?;
                    }
                }
            }
            None => {
                log.line(&format!("Fetching '{}' directly into the sandbox", uri.value));
                let bytes = download::download(self.http(), &source, &destination, limits, run_as)?;
                log.line(&format!("Fetched {bytes} bytes to '{}'", destination.display()));
                if let (false, Some(kind)) = (executable, extract_kind) {
                    self.extract(&destination, kind, &name, &job.sandbox, limits, log)?;
                }
            }
        }
        if executable {
            // Mesos: chmodExecutable, rwxr-xr-x.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&destination, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("cannot make '{name}' executable: {e}"))?;
        }
        if uri.extract() && extract_kind.is_none() && !executable {
            log.line(&format!("Copying instead of extracting resource from URI with 'extract' flag, because it does not seem to be an archive: {}", uri.value));
        }
        Ok(())
    }

    fn extract(
        &self,
        archive: &Path,
        kind: ArchiveKind,
        name: &str,
        sandbox: &Path,
        limits: &Limits,
        log: &mut FetchLog,
    ) -> Result<(), String> {
        // Mesos: everything is extracted into the sandbox itself (a bare `.gz` as its
        // basename without the extension).
        let into = sandbox;
        let mut extractor = extract::Extractor::new(into, limits)?;
        let result = extractor.extract(archive, kind, name);
        for note in &extractor.notes {
            log.line(note);
        }
        result.map_err(|e| format!("Failed to extract '{name}': {e}"))?;
        log.line(&format!("Extracted '{name}' into '{}'", into.display()));
        Ok(())
    }
}

/// The fetch's log: lines appended to the sandbox's `stderr` (and `stdout` created),
/// as `mesos-fetcher`'s glog output lands there in Mesos.
struct FetchLog {
    stderr: Option<std::fs::File>,
}

impl FetchLog {
    fn open(sandbox: &Path) -> FetchLog {
        let append = |name: &str| {
            std::fs::OpenOptions::new().create(true).append(true).open(sandbox.join(name)).ok()
        };
        let _stdout = append("stdout");
        FetchLog { stderr: append("stderr") }
    }

    fn line(&mut self, text: &str) {
        tracing::debug!(target: "mesos_agent::fetcher", "{text}");
        if let Some(stderr) = &mut self.stderr {
            let _ = writeln!(stderr, "mesos-fetcher: {text}");
        }
    }
}

#[cfg(test)]
mod tests;
