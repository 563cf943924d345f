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

fn duration(text: &str) -> Result<Duration, String> {
    libprocess::duration::parse_duration(text).map_err(|e| e.to_string())
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
    /// Where `mesos-executor` is; by default next to this binary.
    #[arg(long = "launcher_dir", env = "MESOS_LAUNCHER_DIR")]
    pub launcher_dir: Option<PathBuf>,
    /// Advertised hostname; the ip by default.
    #[arg(long = "hostname", env = "MESOS_HOSTNAME")]
    pub hostname: Option<String>,
    /// Resource limits: `auto` (cgroups v2 when usable, else rlimits), `cgroups`
    /// (fail if unusable), `rlimits`, or `none`.
    #[arg(long = "isolation", env = "MESOS_ISOLATION", default_value = "auto", value_parser = ["auto", "cgroups", "rlimits", "none"])]
    pub isolation: String,
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
        let mut config = AgentConfig::new(masters, &self.work_dir);
        config.hostname = self.hostname.unwrap_or_else(|| self.ip.to_string());
        config.resources = resources.to_protos();
        config.attributes = attributes.to_protos();
        config.recover = self.recover;
        config.executor_shutdown_grace_period = grace;
        config.executor_registration_timeout = self.executor_registration_timeout;
        config.executor_reregistration_timeout = self.executor_reregistration_timeout;
        config.recovery_timeout = self.recovery_timeout;
        config.registration_backoff_factor = self.registration_backoff_factor;
        config.launcher_dir = launcher_dir;
        config.flags = flags;
        config.seed = std::process::id() as u64 ^ u64::from(self.port);
        Ok(config)
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
}
