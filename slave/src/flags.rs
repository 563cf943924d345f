//! The `mesos-agent` flags (docs/interfaces.md), each also read from `MESOS_<FLAG>`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use mesos_proto::attributes::Attributes;
use mesos_proto::masters::parse_masters;
use mesos_proto::resources::Resources;

use crate::agent::{AgentConfig, RecoverMode};
use crate::error::AgentError;
use crate::fetcher::FetcherConfig;

fn duration(text: &str) -> Result<Duration, String> {
    libprocess::duration::parse_duration(text).map_err(|e| e.to_string())
}

/// `--gc_disk_headroom`: a share of the disk, 0.0 to 1.0 (Mesos refuses others).
fn parse_headroom(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|e| format!("'{text}': {e}"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("'{text}' must be between 0.0 and 1.0"))
    }
}

/// Mesos's `Bytes` syntax (stout bytes.hpp `Bytes::parse`): a number and one of the
/// units `B`, `KB`, `MB`, `GB`, `TB` (powers of 1024), e.g. `2GB` or `512MB`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("'{text}' is not a size like 2GB"))?;
    let scale: u64 = match unit {
        "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        _ => return Err(format!("unknown bytes unit '{unit}' in '{text}' (B, KB, MB, GB, TB)")),
    };
    // Sizes up to petabytes are exact in f64; the cast saturates beyond u64.
    Ok((value * scale as f64) as u64)
}

/// A size as Mesos prints a `Bytes` (stout bytes.hpp): the largest unit dividing it.
pub fn format_bytes(bytes: u64) -> String {
    let units = [("TB", 1u64 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)];
    units
        .iter()
        .find(|(_, scale)| bytes > 0 && bytes.is_multiple_of(*scale))
        .map(|(unit, scale)| format!("{}{unit}", bytes / scale))
        .unwrap_or_else(|| format!("{bytes}B"))
}

/// A boolean as Mesos's flags take it (stout flags/parse.hpp): `true`/`1`, `false`/`0`.
fn boolean(text: &str) -> Result<bool, String> {
    match text {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("'{text}' is not a boolean (true, false, 1 or 0)")),
    }
}

fn recover_mode(text: &str) -> Result<RecoverMode, String> {
    match text {
        "reconnect" => Ok(RecoverMode::Reconnect),
        "cleanup" => Ok(RecoverMode::Cleanup),
        other => Err(format!("'{other}' is neither 'reconnect' nor 'cleanup'")),
    }
}

/// The flags of `mesos-agent`.
#[derive(Debug, Clone, Parser)]
#[command(name = "mesos-agent", about = "A Mesos agent: runs tasks for frameworks on this machine")]
pub struct Flags {
    /// `ip:port` of a master, or a comma list of every master of the HA group.
    #[arg(long = "master", env = "MESOS_MASTER")]
    pub master: String,
    /// Address to listen on.
    #[arg(long = "ip", env = "MESOS_IP", default_value = "127.0.0.1")]
    pub ip: IpAddr,
    /// Port to listen on.
    #[arg(long = "port", env = "MESOS_PORT", default_value_t = 5051)]
    pub port: u16,
    /// Serve on this inherited listening socket instead of binding --ip:--port (its
    /// address becomes --ip and --port): how `mesos-local --port=0` and the tests hand an
    /// agent a port chosen before it starts, and keep it across a restart. Not in Apache
    /// Mesos; no environment form (executors inherit the agent's environment).
    #[arg(long = "listen_fd")]
    pub listen_fd: Option<i32>,
    /// Where sandboxes, checkpoints and meta data live.
    #[arg(long = "work_dir", env = "MESOS_WORK_DIR")]
    pub work_dir: PathBuf,
    /// Also write log files in this folder, glog-style (`mesos-agent.INFO` links to the
    /// current one; rotated, at most 8 of 64 MiB kept), served at `/slave/log`. By
    /// default nothing is written to disk.
    #[arg(long = "log_dir", env = "MESOS_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
    /// Log events at or above this level: INFO, WARNING or ERROR (`RUST_LOG`, when
    /// set, takes precedence).
    #[arg(long = "logging_level", env = "MESOS_LOGGING_LEVEL", default_value = "INFO")]
    pub logging_level: libprocess::log_file::LogLevel,
    /// Resources, Mesos syntax (`cpus:4;mem:8192;disk:20000;ports:[31000-32000]`);
    /// detected from the machine when absent.
    #[arg(long = "resources", env = "MESOS_RESOURCES")]
    pub resources: Option<String>,
    /// Attributes (`rack:a;zone:eu-1`).
    #[arg(long = "attributes", env = "MESOS_ATTRIBUTES", default_value = "")]
    pub attributes: String,
    /// `reconnect` to live executors after a restart, or `cleanup` (kill them and exit).
    #[arg(long = "recover", env = "MESOS_RECOVER", default_value = "reconnect", value_parser = recover_mode)]
    pub recover: RecoverMode,
    /// Grace between SIGTERM and SIGKILL when killing an executor.
    #[arg(long = "executor_shutdown_grace_period", env = "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", default_value = "5secs", value_parser = duration)]
    pub executor_shutdown_grace_period: Duration,
    /// How long a new executor has to register.
    #[arg(long = "executor_registration_timeout", env = "MESOS_EXECUTOR_REGISTRATION_TIMEOUT", default_value = "1mins", value_parser = duration)]
    pub executor_registration_timeout: Duration,
    /// How long recovered executors have to re-register after a restart.
    #[arg(long = "executor_reregistration_timeout", env = "MESOS_EXECUTOR_REREGISTRATION_TIMEOUT", default_value = "2secs", value_parser = duration)]
    pub executor_reregistration_timeout: Duration,
    /// How long executors of checkpointing frameworks wait for a restarted agent.
    #[arg(long = "recovery_timeout", env = "MESOS_RECOVERY_TIMEOUT", default_value = "15mins", value_parser = duration)]
    pub recovery_timeout: Duration,
    /// Upper bound of the first registration delay; doubles per attempt up to 1 min.
    #[arg(long = "registration_backoff_factor", env = "MESOS_REGISTRATION_BACKOFF_FACTOR", default_value = "1secs", value_parser = duration)]
    pub registration_backoff_factor: Duration,
    /// Time between heartbeats on the operator API's long-lived streams (container
    /// sessions and ATTACH_CONTAINER_OUTPUT), as Mesos's flag.
    #[arg(long = "http_heartbeat_interval", env = "MESOS_HTTP_HEARTBEAT_INTERVAL", default_value = "30secs", value_parser = duration)]
    pub http_heartbeat_interval: Duration,
    /// Path (or `file://` URL) of the credential to authenticate with the master
    /// (CRAM-MD5): JSON `{"principal":..,"secret":..}` or one `principal secret` line.
    #[arg(long = "credential", env = "MESOS_CREDENTIAL")]
    pub credential: Option<String>,
    /// The authenticatee used with --credential; only `crammd5`.
    #[arg(long = "authenticatee", env = "MESOS_AUTHENTICATEE", default_value = "crammd5")]
    pub authenticatee: String,
    /// Where `mesos-executor` is; by default next to this binary.
    #[arg(long = "launcher_dir", env = "MESOS_LAUNCHER_DIR")]
    pub launcher_dir: Option<PathBuf>,
    /// Advertised hostname; the ip by default.
    #[arg(long = "hostname", env = "MESOS_HOSTNAME")]
    pub hostname: Option<String>,
    /// Size of the fetcher cache in bytes (Mesos syntax: `2GB`, `512MB`); `0B` turns
    /// the cache off.
    #[arg(long = "fetcher_cache_size", env = "MESOS_FETCHER_CACHE_SIZE", default_value = "2GB", value_parser = parse_bytes)]
    pub fetcher_cache_size: u64,
    /// Folder of the fetcher cache, emptied when the agent starts [default:
    /// <work_dir>/fetch; Mesos's is /tmp/mesos/fetch, which agents sharing a machine
    /// would share and clear].
    #[arg(long = "fetcher_cache_dir", env = "MESOS_FETCHER_CACHE_DIR")]
    pub fetcher_cache_dir: Option<PathBuf>,
    /// A download whose reads stall this long fails.
    #[arg(long = "fetcher_stall_timeout", env = "MESOS_FETCHER_STALL_TIMEOUT", default_value = "1mins", value_parser = duration)]
    pub fetcher_stall_timeout: Duration,
    /// Folder prepended to relative plain-path URIs of executors.
    #[arg(long = "frameworks_home", env = "MESOS_FRAMEWORKS_HOME")]
    pub frameworks_home: Option<PathBuf>,
    /// Resource limits: `auto` (cgroups v2 when usable, else rlimits), `cgroups`
    /// (fail if unusable), `rlimits`, or `none`.
    #[arg(long = "isolation", env = "MESOS_ISOLATION", default_value = "auto", value_parser = ["auto", "cgroups", "rlimits", "none"])]
    pub isolation: String,
    /// Run each executor and its tasks as the user of its command, else of its
    /// framework, when the agent runs as root (a user that does not exist fails the
    /// task); otherwise, or when false, as the agent's own user.
    #[arg(long = "switch_user", env = "MESOS_SWITCH_USER", num_args = 0..=1, default_missing_value = "true", default_value_t = true, action = clap::ArgAction::Set)]
    pub switch_user: bool,
    /// How long after an executor or framework finished its sandbox (and checkpointed
    /// meta folder) is deleted, when the disk is empty; the fuller the disk, the sooner
    /// (see --gc_disk_headroom).
    #[arg(long = "gc_delay", env = "MESOS_GC_DELAY", default_value = "1weeks", value_parser = duration)]
    pub gc_delay: Duration,
    /// How often the disk's usage is checked, deleting the finished sandboxes that
    /// usage makes too old.
    #[arg(long = "disk_watch_interval", env = "MESOS_DISK_WATCH_INTERVAL", default_value = "1mins", value_parser = duration)]
    pub disk_watch_interval: Duration,
    /// The share of the disk to keep free (0.0 to 1.0): a finished sandbox is deleted
    /// once older than `gc_delay * max(0, 1 - gc_disk_headroom - disk usage)`.
    #[arg(long = "gc_disk_headroom", env = "MESOS_GC_DISK_HEADROOM", default_value_t = crate::gc::DEFAULT_GC_DISK_HEADROOM, value_parser = parse_headroom)]
    pub gc_disk_headroom: f64,
    /// Path (or `file://` URL) of a file of credentials used to authenticate HTTP
    /// endpoints on the agent: Mesos's JSON `{"credentials": [{"principal": "yoda",
    /// "secret": "usetheforce"}]}` or one `principal secret` per line (`--credentials`
    /// is accepted too).
    #[arg(long = "http_credentials", alias = "credentials", env = "MESOS_HTTP_CREDENTIALS")]
    pub http_credentials: Option<String>,
    /// If true, only authenticated requests for read-only HTTP endpoints supporting
    /// authentication are allowed; if false, unauthenticated requests are allowed too.
    #[arg(long = "authenticate_http_readonly", env = "MESOS_AUTHENTICATE_HTTP_READONLY", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub authenticate_http_readonly: bool,
    /// If true, only authenticated requests for read-write HTTP endpoints supporting
    /// authentication are allowed; if false, unauthenticated requests are allowed too.
    #[arg(long = "authenticate_http_readwrite", env = "MESOS_AUTHENTICATE_HTTP_READWRITE", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub authenticate_http_readwrite: bool,
    /// If true, only authenticated requests for the HTTP executor API are allowed: each
    /// executor must send the token the agent gave it
    /// (`MESOS_EXECUTOR_AUTHENTICATION_TOKEN`) as `Authorization: Bearer <token>`.
    /// Requires --jwt_secret_key.
    #[arg(long = "authenticate_http_executors", env = "MESOS_AUTHENTICATE_HTTP_EXECUTORS", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub authenticate_http_executors: bool,
    /// Path (or `file://` URL) to a file containing the key used when generating JWT
    /// secrets for executors (HMAC-SHA256); keep it readable by the agent only.
    #[arg(long = "jwt_secret_key", alias = "executor_secret_key", env = "MESOS_JWT_SECRET_KEY")]
    pub jwt_secret_key: Option<String>,
    /// The command executor (`mesos-executor`) talks to the agent over the v1 executor
    /// HTTP API instead of libprocess messages: the agent sets
    /// `MESOS_HTTP_COMMAND_EXECUTOR=1` in its environment. Only an HTTP executor
    /// authenticates, so with --authenticate_http_executors this makes command tasks'
    /// executors prove who they are too.
    #[arg(long = "http_command_executor", env = "MESOS_HTTP_COMMAND_EXECUTOR", num_args = 0..=1, default_missing_value = "true", default_value = "false", value_parser = boolean, action = clap::ArgAction::Set)]
    pub http_command_executor: bool,
    /// HTTP authenticator to use when handling requests to authenticated endpoints
    /// (only `basic` is built in).
    #[arg(
        long = "http_authenticators",
        env = "MESOS_HTTP_AUTHENTICATORS",
        default_value = "basic"
    )]
    pub http_authenticators: String,
    /// The ACLs of the local authorizer, as Mesos's ACLs JSON: inline, or the path of a
    /// file holding it (`file:///path/to/acls.json` or `/path/to/acls.json`) [default: no
    /// authorization, everything is allowed].
    ///
    /// The format is the `ACLs` message of acls.proto (see docs/security.md). The agent
    /// checks `view_flags` (`/flags`, GET_FLAGS, `/state`), `view_frameworks`,
    /// `view_executors` and `view_tasks` (`/state`, the operator API's queries),
    /// `access_sandboxes` (`/files/*`) and `get_endpoints` (`/monitor/statistics`,
    /// `/metrics/snapshot`).
    /// Example:
    /// {"view_flags": [{"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}},
    ///                 {"principals": {"type": "ANY"}, "flags": {"type": "NONE"}}]}
    #[arg(long = "acls", env = "MESOS_ACLS", verbatim_doc_comment)]
    pub acls: Option<String>,
}

impl Flags {
    /// Reads `--http_credentials` and sets up an authenticator for every realm switched
    /// on, refusing what Mesos refuses at start. Mesos: slave.cpp `Slave::initialize`.
    pub fn http_authenticator(&self) -> Result<mesos_security::HttpAuthenticator, AgentError> {
        use mesos_security::http_auth::{AGENT_READONLY, AGENT_READWRITE};
        let credentials = match &self.http_credentials {
            Some(path) => {
                let flag = "http_credentials";
                let credentials = mesos_security::Credentials::read(path)
                    .map_err(|e| AgentError::Flag { flag, reason: e.to_string() })?;
                if credentials.is_empty() {
                    let reason = "Credentials file must contain at least one credential".into();
                    return Err(AgentError::Flag { flag, reason });
                }
                Some(std::sync::Arc::new(credentials))
            }
            None => None,
        };
        let mut authenticator = mesos_security::HttpAuthenticator::default();
        if self.authenticate_http_executors {
            // Mesos: slave.cpp `Slave::initialize` exits with this message.
            let Some(key) = self.executor_token_key()? else {
                return Err(AgentError::Flag {
                    flag: "jwt_secret_key",
                    reason: "--jwt_secret_key must be specified when \
                             --authenticate_http_executors is set to true"
                        .into(),
                });
            };
            authenticator.enable_jwt(mesos_security::http_auth::AGENT_EXECUTOR, key);
        }
        // `jwt` beside `basic` in --http_authenticators: the realm also takes
        // executors' tokens (what the default executor sends to `/api/v1`).
        let names: Vec<&str> = self.http_authenticators.split(',').map(str::trim).collect();
        let with_jwt = names.contains(&"jwt");
        let others = names.iter().filter(|n| **n != "jwt").copied().collect::<Vec<_>>().join(",");
        for (flag, on, realm) in [
            ("authenticate_http_readonly", self.authenticate_http_readonly, AGENT_READONLY),
            ("authenticate_http_readwrite", self.authenticate_http_readwrite, AGENT_READWRITE),
        ] {
            if on {
                authenticator
                    .enable(realm, &others, credentials.as_ref())
                    .map_err(|e| AgentError::Flag { flag, reason: e.to_string() })?;
                if with_jwt {
                    let Some(key) = self.executor_token_key()? else {
                        return Err(AgentError::Flag {
                            flag: "jwt_secret_key",
                            reason: "No secret key provided for the 'jwt' HTTP authenticator"
                                .into(),
                        });
                    };
                    authenticator.also_accept_jwt(realm, key);
                }
            }
        }
        Ok(authenticator)
    }
}

impl Flags {
    /// The key of `--jwt_secret_key`, read (an unreadable or empty file is an error).
    pub fn executor_token_key(&self) -> Result<Option<mesos_security::jwt::JwtKey>, AgentError> {
        let Some(path) = &self.jwt_secret_key else { return Ok(None) };
        mesos_security::jwt::JwtKey::read(path)
            .map(Some)
            .map_err(|e| AgentError::Flag { flag: "jwt_secret_key", reason: e.to_string() })
    }
}

/// The cgroup v2 hierarchy `--isolation=auto|cgroups` looks at.
pub const CGROUP_HIERARCHY: &str = "/sys/fs/cgroup";

impl Flags {
    /// The limiter `--isolation` asks for, detected on this machine.
    pub fn limiter(&self) -> Result<crate::limits::Limiter, AgentError> {
        use crate::limits::Limiter;
        Ok(match self.isolation.as_str() {
            "none" => Limiter::None,
            "rlimits" => Limiter::Rlimits,
            "cgroups" => match Limiter::detect(Path::new(CGROUP_HIERARCHY)) {
                Limiter::CgroupsV2 { root } => Limiter::CgroupsV2 { root },
                _ => {
                    let reason = format!(
                        "no writable cgroup v2 hierarchy with cpu and memory at {CGROUP_HIERARCHY}"
                    );
                    return Err(AgentError::Flag { flag: "isolation", reason });
                }
            },
            _ => Limiter::detect(Path::new(CGROUP_HIERARCHY)),
        })
    }
}

/// The machine's resources as Mesos detects them: every cpu, memory minus what the
/// system needs (1 GiB or half, whichever is less), the disk of `work_dir` likewise
/// (5 GiB or half), and ports 31000-32000.
// statvfs's block counts are u64 here but narrower on other platforms: the casts stay.
#[allow(clippy::unnecessary_cast)]
pub fn detect_resources(work_dir: &Path) -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mem_mb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(1024);
    let mem_mb = mem_mb.saturating_sub((mem_mb / 2).min(1024)).max(32);
    // `statvfs`'s block counts are `u64` on Linux but `u32` on some other targets (macOS,
    // 32-bit); the casts keep this portable, so clippy's same-type lint does not apply.
    #[allow(clippy::unnecessary_cast)]
    let disk_mb = nix::sys::statvfs::statvfs(work_dir)
        .map(|s| (s.blocks() as u64).saturating_mul(s.fragment_size() as u64) / (1024 * 1024))
        .unwrap_or(10_240);
    let disk_mb = disk_mb.saturating_sub((disk_mb / 2).min(5 * 1024)).max(1);
    format!("cpus:{cpus};mem:{mem_mb};disk:{disk_mb};ports:[31000-32000]")
}

impl Flags {
    /// The agent configuration these flags describe; bad values are errors naming
    /// the flag.
    pub fn into_config(self) -> Result<AgentConfig, AgentError> {
        let masters = parse_masters(&self.master)
            .map_err(|e| AgentError::Flag { flag: "master", reason: e.to_string() })?;
        let http_authenticator = self.http_authenticator()?;
        std::fs::create_dir_all(&self.work_dir)
            .map_err(|e| AgentError::io("create folder", &self.work_dir, e))?;
        let resources_text =
            self.resources.clone().unwrap_or_else(|| detect_resources(&self.work_dir));
        let resources = Resources::parse(&resources_text)
            .map_err(|e| AgentError::Flag { flag: "resources", reason: e.to_string() })?;
        let attributes = Attributes::parse(&self.attributes)
            .map_err(|e| AgentError::Flag { flag: "attributes", reason: e.to_string() })?;
        let launcher_dir = match &self.launcher_dir {
            Some(dir) => dir.clone(),
            None => std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| PathBuf::from(".")),
        };
        let mut flags = BTreeMap::new();
        flags.insert("master".into(), self.master.clone());
        flags.insert("ip".into(), self.ip.to_string());
        flags.insert("port".into(), self.port.to_string());
        flags.insert("work_dir".into(), self.work_dir.to_string_lossy().into_owned());
        if let Some(dir) = &self.log_dir {
            flags.insert("log_dir".into(), dir.to_string_lossy().into_owned());
        }
        flags.insert("logging_level".into(), self.logging_level.name().into());
        flags.insert("resources".into(), resources_text);
        flags.insert("attributes".into(), self.attributes.clone());
        flags.insert("recover".into(), format!("{:?}", self.recover).to_lowercase());
        flags.insert("isolation".into(), self.isolation.clone());
        flags.insert("launcher_dir".into(), launcher_dir.to_string_lossy().into_owned());
        let grace = self.executor_shutdown_grace_period;
        flags.insert(
            "executor_shutdown_grace_period".into(),
            libprocess::duration::format_duration(grace),
        );
        flags.insert(
            "registration_backoff_factor".into(),
            libprocess::duration::format_duration(self.registration_backoff_factor),
        );
        let fetcher = self.fetcher_settings(&mut flags);
        let gc = self.gc_settings(&mut flags);
        flags.insert("switch_user".into(), self.switch_user.to_string());
        let (authorizer, credential) = self.security_settings(&mut flags)?;
        let mut config = AgentConfig::new(masters, &self.work_dir);
        config.http_authenticator = http_authenticator;
        config.credential = credential;
        config.executor_token_key = self.executor_token_key()?;
        config.http_command_executor = self.http_command_executor;
        config.hostname = self.hostname.unwrap_or_else(|| self.ip.to_string());
        config.resources = resources.to_protos();
        config.attributes = attributes.to_protos();
        config.recover = self.recover;
        config.executor_shutdown_grace_period = grace;
        config.executor_registration_timeout = self.executor_registration_timeout;
        config.executor_reregistration_timeout = self.executor_reregistration_timeout;
        config.recovery_timeout = self.recovery_timeout;
        config.registration_backoff_factor = self.registration_backoff_factor;
        config.http_heartbeat_interval = self.http_heartbeat_interval;
        config.launcher_dir = launcher_dir;
        config.flags = flags;
        config.seed = std::process::id() as u64 ^ u64::from(self.port);
        config.authorizer = authorizer;
        config.fetcher = fetcher;
        config.gc = gc;
        config.switch_user = self.switch_user;
        Ok(config)
    }

    /// `--gc_delay`, `--disk_watch_interval`, `--gc_disk_headroom`, and their `/flags`
    /// echo.
    fn gc_settings(&self, flags: &mut BTreeMap<String, String>) -> crate::gc::GcConfig {
        let format = libprocess::duration::format_duration;
        flags.insert("gc_delay".into(), format(self.gc_delay));
        flags.insert("disk_watch_interval".into(), format(self.disk_watch_interval));
        flags.insert("gc_disk_headroom".into(), self.gc_disk_headroom.to_string());
        crate::gc::GcConfig {
            delay: self.gc_delay,
            disk_watch_interval: self.disk_watch_interval,
            disk_headroom: self.gc_disk_headroom,
            ..crate::gc::GcConfig::default()
        }
    }

    /// `--fetcher_cache_size`, `--fetcher_cache_dir`, `--fetcher_stall_timeout` and
    /// `--frameworks_home`, and their `/flags` echo.
    fn fetcher_settings(&self, flags: &mut BTreeMap<String, String>) -> FetcherConfig {
        let mut fetcher = FetcherConfig::new(&self.work_dir);
        if let Some(dir) = &self.fetcher_cache_dir {
            fetcher.cache_dir = dir.clone();
        }
        fetcher.cache_size = self.fetcher_cache_size;
        fetcher.stall_timeout = self.fetcher_stall_timeout;
        fetcher.frameworks_home = self.frameworks_home.clone();
        // The CA the agent's own TLS trusts is trusted for HTTPS URIs too.
        fetcher.extra_ca_file = std::env::var_os("LIBPROCESS_SSL_CA_FILE").map(PathBuf::from);
        flags.insert("fetcher_cache_dir".into(), fetcher.cache_dir.to_string_lossy().into_owned());
        flags.insert("fetcher_cache_size".into(), format_bytes(fetcher.cache_size));
        let stall = libprocess::duration::format_duration(fetcher.stall_timeout);
        flags.insert("fetcher_stall_timeout".into(), stall);
        if let Some(home) = &fetcher.frameworks_home {
            flags.insert("frameworks_home".into(), home.to_string_lossy().into_owned());
        }
        fetcher
    }

    /// `--acls`, `--authenticatee` and `--credential`, checked (malformed ACLs or an
    /// unreadable credential stop the agent at start, with the reason), and the security
    /// flags as `/flags` shows them.
    fn security_settings(
        &self,
        flags: &mut BTreeMap<String, String>,
    ) -> Result<
        (Option<std::sync::Arc<mesos_security::Authorizer>>, Option<mesos_security::Credential>),
        AgentError,
    > {
        // Malformed ACLs stop the agent at start, with the reason.
        let authorizer = self
            .acls
            .as_deref()
            .map(mesos_security::Authorizer::from_flag)
            .transpose()
            .map_err(|e| AgentError::Flag { flag: "acls", reason: e.to_string() })?
            .map(std::sync::Arc::new);
        if let Some(acls) = &self.acls {
            flags.insert("acls".into(), acls.clone());
        }
        flags.insert(
            "authenticate_http_readonly".into(),
            self.authenticate_http_readonly.to_string(),
        );
        flags.insert(
            "authenticate_http_readwrite".into(),
            self.authenticate_http_readwrite.to_string(),
        );
        flags.insert("http_authenticators".into(), self.http_authenticators.clone());
        flags.insert(
            "authenticate_http_executors".into(),
            self.authenticate_http_executors.to_string(),
        );
        if let Some(path) = &self.jwt_secret_key {
            flags.insert("jwt_secret_key".into(), path.clone());
        }
        flags.insert("http_command_executor".into(), self.http_command_executor.to_string());
        if let Some(path) = &self.http_credentials {
            flags.insert("http_credentials".into(), path.clone());
        }
        if self.authenticatee != mesos_security::cram_md5::MODULE_NAME {
            return Err(AgentError::Flag {
                flag: "authenticatee",
                reason: format!("'{}': only 'crammd5' is built in", self.authenticatee),
            });
        }
        let credential = match &self.credential {
            Some(path) => Some(
                mesos_security::Credential::read(path)
                    .map_err(|e| AgentError::Flag { flag: "credential", reason: e.to_string() })?,
            ),
            None => None,
        };
        flags.insert("authenticatee".into(), self.authenticatee.clone());
        if let Some(path) = &self.credential {
            flags.insert("credential".into(), path.clone());
        }
        Ok((authorizer, credential))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Masters parse as single addresses, lists and pids; garbage is an error.
    #[test]
    fn masters_and_flags() {
        let masters = parse_masters("127.0.0.1:5050, master@10.0.0.2:5050").unwrap();
        assert_eq!(masters[0].to_string(), "master@127.0.0.1:5050");
        assert_eq!(masters[1].to_string(), "master@10.0.0.2:5050");
        assert!(parse_masters("zk://x/mesos").is_err());
        assert!(parse_masters("").is_err());
        let flags = Flags::try_parse_from([
            "mesos-agent",
            "--master=127.0.0.1:5050",
            "--work_dir=/tmp/x",
            "--executor_shutdown_grace_period=3secs",
        ])
        .unwrap();
        assert_eq!(flags.executor_shutdown_grace_period, Duration::from_secs(3));
        assert!(
            Flags::try_parse_from([
                "mesos-agent",
                "--master=a",
                "--work_dir=/x",
                "--recover=maybe"
            ])
            .is_err()
        );
        assert!(
            Flags::try_parse_from(["mesos-agent", "--master=a", "--work_dir=/x", "--bogus=1"])
                .is_err()
        );
        assert!(
            Flags::try_parse_from([
                "mesos-agent",
                "--master=a",
                "--work_dir=/x",
                "--executor_shutdown_grace_period=5"
            ])
            .is_err()
        );
        assert!(Resources::parse(&detect_resources(Path::new("/"))).is_ok());
    }

    /// Mesos's Bytes syntax for `--fetcher_cache_size`.
    #[test]
    fn bytes_flag() {
        assert_eq!(parse_bytes("2GB"), Ok(2 << 30));
        assert_eq!(parse_bytes("512MB"), Ok(512 << 20));
        assert_eq!(parse_bytes("1.5KB"), Ok(1536));
        assert_eq!(parse_bytes("0B"), Ok(0));
        assert!(parse_bytes("2").is_err());
        assert!(parse_bytes("2GiB").is_err());
        assert!(parse_bytes("GB").is_err());
        assert_eq!(format_bytes(2 << 30), "2GB");
        assert_eq!(format_bytes(1536), "1536B");
        assert_eq!(format_bytes(3 << 20), "3MB");
        assert_eq!(format_bytes(0), "0B");
    }

    /// `--acls` gives the agent an authorizer; malformed ACLs are refused at start.
    #[test]
    fn acls_flag() {
        let dir = std::env::temp_dir().join(format!("agent-acls-{}", std::process::id()));
        let work_dir = format!("--work_dir={}", dir.display());
        let parse = |acls: &str| {
            Flags::try_parse_from(["mesos-agent", "--master=127.0.0.1:5050", &work_dir, acls])
                .unwrap()
                .into_config()
        };
        let config = parse(r#"--acls={"permissive":false}"#).unwrap();
        assert!(!config.authorizer.expect("an authorizer").acls().permissive());
        assert_eq!(config.flags["acls"], r#"{"permissive":false}"#);
        let error = parse("--acls={oops").unwrap_err().to_string();
        assert!(error.contains("acls"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `--authenticate_http_executors` needs `--jwt_secret_key` (Mesos's message);
    /// with it, the executor realm is on and the agent holds the key to sign tokens.
    #[test]
    fn executor_authentication_flags() {
        let dir = std::env::temp_dir().join(format!("agent-jwt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("jwt.key");
        std::fs::write(&key_file, "k3y").unwrap();
        let work_dir = format!("--work_dir={}", dir.join("work").display());
        let key_flag = format!("--jwt_secret_key={}", key_file.display());
        let parse = |extra: &[&str]| {
            let mut args = vec!["mesos-agent", "--master=127.0.0.1:5050", &work_dir];
            args.extend_from_slice(extra);
            Flags::try_parse_from(args).unwrap().into_config()
        };
        let error = parse(&["--authenticate_http_executors"]).unwrap_err().to_string();
        assert!(error.contains("--jwt_secret_key must be specified"), "{error}");
        let config = parse(&["--authenticate_http_executors", &key_flag]).unwrap();
        assert!(config.http_authenticator.is_enabled(mesos_security::http_auth::AGENT_EXECUTOR));
        assert!(config.executor_token_key.is_some());
        assert_eq!(config.flags["authenticate_http_executors"], "true");
        // A key alone hands out tokens but checks nothing (Mesos's secret generator).
        let config = parse(&[&key_flag]).unwrap();
        assert!(config.executor_token_key.is_some());
        assert!(config.http_authenticator.is_empty());
        let missing = format!("--jwt_secret_key={}", dir.join("none").display());
        assert!(parse(&[&missing]).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `--http_command_executor` is off by default and takes Mesos's booleans
    /// (`true`/`1`, `false`/`0`); the agent hands it to its executors as
    /// `MESOS_HTTP_COMMAND_EXECUTOR`.
    #[test]
    fn http_command_executor_flag() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["mesos-agent", "--master=127.0.0.1:5050", "--work_dir=/w"];
            args.extend_from_slice(extra);
            Flags::try_parse_from(args).map(|flags| flags.http_command_executor)
        };
        assert!(!parse(&[]).unwrap());
        assert!(parse(&["--http_command_executor"]).unwrap());
        assert!(parse(&["--http_command_executor=1"]).unwrap());
        assert!(!parse(&["--http_command_executor=0"]).unwrap());
        assert!(!parse(&["--http_command_executor=false"]).unwrap());
        assert!(parse(&["--http_command_executor=yes"]).is_err());
    }
}
