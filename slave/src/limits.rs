//! Resource limits for containers, where the kernel lets us set them.
//!
//! Mesos enforces cpus and mem with cgroups (`cgroups/cpu`, `cgroups/mem`) and, with
//! the posix isolators, only measures. We detect what this machine allows, and never
//! require it:
//!
//! - **cgroups v2** with the `cpu` and `memory` controllers available and the
//!   hierarchy writable: each container gets `<root>/mesos/<container id>` with
//!   `cpu.max` (the cpus as a CFS quota per 100 ms period, like Mesos's
//!   `--cgroups_enable_cfs`) and `memory.max`; the executor joins it before exec, so
//!   every process it starts is inside. The folder is removed when the container
//!   is reaped.
//! - otherwise **rlimits**: `RLIMIT_DATA` (heap and private writable mappings, per
//!   process) at the container's memory. `RLIMIT_AS` is not used: runtimes like the
//!   JVM and Go reserve far more address space than they use and would fail to
//!   start. CPU has no rlimit equivalent of a share (`RLIMIT_CPU` kills after a
//!   total), so it is not limited, as with Mesos's posix isolator.
//!
//! A container's limits are its executor's resources plus its first task's (for a
//! command executor, the task's plus Mesos's allowance of 0.1 cpus and 32 MB); a
//! custom executor's are updated as tasks join and leave it ([`Limiter::update`]:
//! cgroups v2 only; rlimits stay as launched, as with Mesos's posix isolators).
//!
//! Under rlimits the agent's **own executors** (the command and the default
//! executor) are not limited themselves: `RLIMIT_DATA` counts address space, and an
//! executor's runtime reserves more of it as it starts threads under load (a 2 MiB
//! stack each, the allocator's segments) than the 32 MB allowance it is given, so it
//! would die of a failed allocation with its task still running. Their limit goes to
//! the processes they start instead: the command executor applies
//! [`TASK_RLIMIT_DATA_ENV`] to its task, and the default executor's nested containers
//! get it when they join the executor's container. A custom executor is the
//! framework's workload and keeps the limit itself.
//!
//! **Out of memory.** Mesos's memory isolator listens for the cgroup's OOM event and
//! fails the task with `REASON_CONTAINER_LIMITATION_MEMORY`. Under cgroups v2 the
//! kernel counts its OOM kills in the cgroup's `memory.events` (`oom_kill`); the
//! command executor, which lives in its task's cgroup, reads that count
//! ([`oom_kills_of_own_cgroup`]) at launch and again when the task ends by SIGKILL it
//! did not send: a higher count means the OOM killer ended it. Under rlimits nothing
//! tells: a process over `RLIMIT_DATA` sees its allocations fail and ends however
//! its runtime handles that (an abort, an exit code), so the task simply fails.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};

use mesos_proto::ids::ContainerId;
use mesos_proto::mesos::Resource;
use mesos_proto::resources::Resources;

/// Mesos: slave/constants.hpp `DEFAULT_EXECUTOR_CPUS`.
pub const COMMAND_EXECUTOR_CPUS: f64 = 0.1;
/// Mesos: slave/constants.hpp `DEFAULT_EXECUTOR_MEM` (MB).
pub const COMMAND_EXECUTOR_MEM_MB: f64 = 32.0;
/// The CFS period the cpu quota is given in (Mesos: `CPU_CFS_PERIOD`, 100 ms).
pub const CFS_PERIOD_US: u64 = 100_000;
/// Mesos: `MIN_MEMORY` for a container (32 MB); smaller limits are raised to it.
pub const MIN_MEMORY_BYTES: u64 = 32 << 20;

/// The limits of one container.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ContainerLimits {
    /// CPU shares, in cpus.
    pub cpus: Option<f64>,
    /// Memory, in bytes.
    pub mem_bytes: Option<u64>,
}

impl ContainerLimits {
    /// The limits for `resources` (plus the command executor's allowance when
    /// `command_executor`).
    pub fn of(resources: &[Resource], command_executor: bool) -> ContainerLimits {
        let resources = Resources::from_protos(resources.to_vec()).unwrap_or_default();
        let extra = |v: Option<f64>, allowance: f64| match (v, command_executor) {
            (Some(v), true) => Some(v + allowance),
            (v, _) => v,
        };
        let cpus = extra(resources.cpus(), COMMAND_EXECUTOR_CPUS).filter(|c| *c > 0.0);
        let mem_mb = extra(resources.mem_mb(), COMMAND_EXECUTOR_MEM_MB).filter(|m| *m > 0.0);
        ContainerLimits {
            cpus,
            mem_bytes: mem_mb.map(|mb| ((mb * 1024.0 * 1024.0) as u64).max(MIN_MEMORY_BYTES)),
        }
    }

    /// True when there is nothing to limit.
    pub fn is_empty(&self) -> bool {
        self.cpus.is_none() && self.mem_bytes.is_none()
    }
}

/// How this machine limits containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limiter {
    /// Nothing is limited (tests; or `--isolation=none`).
    None,
    /// cgroups v2 under this folder (`<hierarchy>/mesos`).
    CgroupsV2 {
        /// The folder holding one cgroup per container.
        root: PathBuf,
    },
    /// `RLIMIT_DATA` on the executor process.
    Rlimits,
}

impl Limiter {
    /// cgroups v2 when `hierarchy` (normally `/sys/fs/cgroup`) offers the cpu and
    /// memory controllers and we can make our folder there; rlimits otherwise.
    pub fn detect(hierarchy: &Path) -> Limiter {
        match prepare_cgroups_root(hierarchy) {
            Ok(root) => Limiter::CgroupsV2 { root },
            Err(reason) => {
                tracing::info!(%reason, "cgroups v2 not usable; limiting memory with RLIMIT_DATA");
                Limiter::Rlimits
            }
        }
    }

    /// A name for logs and `/flags`.
    pub fn name(&self) -> &'static str {
        match self {
            Limiter::None => "none",
            Limiter::CgroupsV2 { .. } => "cgroups2",
            Limiter::Rlimits => "rlimits",
        }
    }

    /// Prepares what the child needs before exec; the returned [`ChildLimits`] is
    /// applied inside the forked child without allocating.
    pub fn prepare(
        &self,
        container_id: &ContainerId,
        limits: ContainerLimits,
    ) -> Result<ChildLimits, String> {
        if limits.is_empty() {
            return Ok(ChildLimits::default());
        }
        match self {
            Limiter::None => Ok(ChildLimits::default()),
            Limiter::Rlimits => {
                Ok(ChildLimits { data_bytes: limits.mem_bytes, cgroup_procs: None })
            }
            Limiter::CgroupsV2 { root } => {
                let dir = root.join(container_id.value());
                fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create cgroup {}: {e}", dir.display()))?;
                let write = |file: &str, value: String| {
                    fs::write(dir.join(file), &value).map_err(|e| {
                        format!("cannot write {value:?} to {}/{file}: {e}", dir.display())
                    })
                };
                if limits.cpus.is_some() {
                    write("cpu.max", cpu_max(limits.cpus))?;
                }
                if let Some(bytes) = limits.mem_bytes {
                    write("memory.max", bytes.to_string())?;
                }
                let procs = CString::new(dir.join("cgroup.procs").to_string_lossy().into_owned())
                    .map_err(|_| "cgroup path holds a NUL byte".to_string())?;
                Ok(ChildLimits { data_bytes: None, cgroup_procs: Some(procs) })
            }
        }
    }

    /// Resizes a running container (Mesos: `containerizer->update`). Under cgroups v2
    /// its `cpu.max` and `memory.max` are rewritten (a limit gone becomes `max`).
    /// Under rlimits nothing changes, as in Mesos: its `posix/rlimits` isolator has no
    /// `update` (the `Isolator` default, which does nothing: rlimits are set once, at
    /// `prepare`, from `ContainerInfo.rlimit_info`), and `posix/cpu` and `posix/mem`
    /// only measure. It could not be done right anyway: `prlimit(2)` reaches one
    /// process, and each process the executor forked already holds its own copy.
    pub fn update(
        &self,
        container_id: &ContainerId,
        limits: ContainerLimits,
    ) -> Result<(), String> {
        match self {
            Limiter::None => Ok(()),
            Limiter::Rlimits => {
                tracing::debug!(container = %container_id, ?limits, "rlimits are not resized (as Mesos's posix/rlimits); the executor keeps its launch limits");
                Ok(())
            }
            Limiter::CgroupsV2 { root } => {
                let dir = root.join(container_id.value());
                let write = |file: &str, value: String| {
                    fs::write(dir.join(file), &value).map_err(|e| {
                        format!("cannot write {value:?} to {}/{file}: {e}", dir.display())
                    })
                };
                write("cpu.max", cpu_max(limits.cpus))?;
                let memory = limits.mem_bytes.map_or("max".to_string(), |b| b.to_string());
                write("memory.max", memory)
            }
        }
    }

    /// What a process joining the running container `container_id` applies before
    /// exec: under cgroups v2, moving into its cgroup (if it has one), so that a nested
    /// container counts against its executor's limits and is killed by its OOM, rather
    /// than running in the agent's cgroup. Mesos: nested containers without resources
    /// of their own share their parent's cgroup (cgroups v2 isolator, `isolate` of a
    /// nested container). Nothing elsewhere.
    pub fn join(&self, container_id: &ContainerId) -> ChildLimits {
        let Limiter::CgroupsV2 { root } = self else { return ChildLimits::default() };
        let procs = root.join(container_id.value()).join("cgroup.procs");
        if !procs.exists() {
            return ChildLimits::default();
        }
        let procs = CString::new(procs.to_string_lossy().into_owned()).ok();
        ChildLimits { data_bytes: None, cgroup_procs: procs }
    }

    /// Removes what [`Limiter::prepare`] made for a container that is gone.
    pub fn cleanup(&self, container_id: &ContainerId) {
        if let Limiter::CgroupsV2 { root } = self {
            let dir = root.join(container_id.value());
            // Fails while processes remain (they are being killed); harmless.
            if let Err(error) = fs::remove_dir(&dir)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(%error, cgroup = %dir.display(), "cannot remove the container's cgroup");
            }
        }
    }
}

/// `cpu.max` for `cpus` as a CFS quota per period (`max`: no limit).
fn cpu_max(cpus: Option<f64>) -> String {
    match cpus {
        Some(cpus) => {
            let quota = ((cpus * CFS_PERIOD_US as f64) as u64).max(1000);
            format!("{quota} {CFS_PERIOD_US}")
        }
        None => format!("max {CFS_PERIOD_US}"),
    }
}

fn prepare_cgroups_root(hierarchy: &Path) -> Result<PathBuf, String> {
    let controllers = fs::read_to_string(hierarchy.join("cgroup.controllers"))
        .map_err(|e| format!("no cgroup v2 hierarchy: {e}"))?;
    let available: Vec<&str> = controllers.split_whitespace().collect();
    if !(available.contains(&"cpu") && available.contains(&"memory")) {
        return Err(format!("cgroup v2 controllers are {controllers:?}, without cpu and memory"));
    }
    let root = hierarchy.join("mesos");
    fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    for dir in [hierarchy, root.as_path()] {
        fs::write(dir.join("cgroup.subtree_control"), "+cpu +memory")
            .map_err(|e| format!("cannot enable cpu and memory in {}: {e}", dir.display()))?;
    }
    Ok(root)
}

/// The `oom_kill` count of a cgroup v2 `memory.events` file's text.
pub fn parse_oom_kills(memory_events: &str) -> Option<u64> {
    memory_events.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        if key == "oom_kill" { value.trim().parse().ok() } else { None }
    })
}

/// The cgroup v2 path of this process from `/proc/self/cgroup`'s text (the `0::` line).
pub fn parse_own_cgroup(proc_self_cgroup: &str) -> Option<&str> {
    proc_self_cgroup.lines().find_map(|line| line.strip_prefix("0::"))
}

/// How many processes the kernel's OOM killer has killed in this process's own cgroup
/// (cgroups v2 under `hierarchy`, normally `/sys/fs/cgroup`); `None` where that cannot
/// be read (no cgroup v2, no memory controller).
pub fn oom_kills_of_own_cgroup(hierarchy: &Path) -> Option<u64> {
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let relative = parse_own_cgroup(&own)?.trim_start_matches('/');
    let events = fs::read_to_string(hierarchy.join(relative).join("memory.events")).ok()?;
    parse_oom_kills(&events)
}

/// The environment variable holding the `RLIMIT_DATA` (bytes) the agent's own command
/// executor applies to its task under rlimits (see `LaunchRequest::own_executor`).
pub const TASK_RLIMIT_DATA_ENV: &str = "MESOS_TASK_RLIMIT_DATA";

/// The task data limit in [`TASK_RLIMIT_DATA_ENV`] of the running process `pid` (a
/// recovered executor), if it has one.
pub fn task_data_limit_of(pid: u32) -> Option<u64> {
    let environ = fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{TASK_RLIMIT_DATA_ENV}=");
    environ
        .split(|byte| *byte == 0)
        .find_map(|entry| entry.strip_prefix(prefix.as_bytes()))
        .and_then(|value| std::str::from_utf8(value).ok()?.parse().ok())
}

/// What the forked child applies to itself before exec.
#[derive(Clone, Debug, Default)]
pub struct ChildLimits {
    data_bytes: Option<u64>,
    cgroup_procs: Option<CString>,
}

impl ChildLimits {
    /// These limits with `RLIMIT_DATA` at `bytes` (if some).
    pub fn with_data_limit(mut self, bytes: Option<u64>) -> ChildLimits {
        if bytes.is_some() {
            self.data_bytes = bytes;
        }
        self
    }

    /// Removes the `RLIMIT_DATA` from these limits and returns it.
    pub fn take_data_limit(&mut self) -> Option<u64> {
        self.data_bytes.take()
    }

    /// True when the child has nothing to do.
    pub fn is_empty(&self) -> bool {
        self.data_bytes.is_none() && self.cgroup_procs.is_none()
    }

    /// Runs in the forked child: only system calls, no allocation.
    pub(crate) fn apply_in_child(&self) -> std::io::Result<()> {
        if let Some(procs) = &self.cgroup_procs {
            let fd = nix::fcntl::open(
                procs.as_c_str(),
                nix::fcntl::OFlag::O_WRONLY,
                nix::sys::stat::Mode::empty(),
            )?;
            // "0" moves the writing process itself.
            nix::unistd::write(&fd, b"0")?;
        }
        if let Some(bytes) = self.data_bytes {
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_DATA, bytes, bytes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::resources::Resources;

    /// A command executor's container gets its task's resources plus Mesos's
    /// allowance; memory is never below Mesos's minimum.
    #[test]
    fn limits_from_resources() {
        let task = Resources::parse("cpus:0.5;mem:100;disk:10").unwrap().to_protos();
        let limits = ContainerLimits::of(&task, true);
        assert_eq!(limits.cpus, Some(0.6));
        assert_eq!(limits.mem_bytes, Some(132 << 20));
        let small = Resources::parse("cpus:1;mem:1").unwrap().to_protos();
        assert_eq!(ContainerLimits::of(&small, false).mem_bytes, Some(MIN_MEMORY_BYTES));
        assert!(ContainerLimits::of(&[], false).is_empty());
    }

    /// The OOM kill count and the own cgroup are read from the kernel's formats.
    #[test]
    fn reads_oom_kills_and_own_cgroup() {
        let events = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(parse_oom_kills(events), Some(2));
        assert_eq!(parse_oom_kills("low 0\n"), None);
        assert_eq!(parse_own_cgroup("0::/mesos/abc\n"), Some("/mesos/abc"));
        assert_eq!(parse_own_cgroup("12:memory:/x\n"), None);
    }

    /// Resizing a container rewrites its cgroup's `cpu.max` and `memory.max` (here in a
    /// folder standing for the hierarchy); a limit gone becomes `max`.
    #[test]
    fn update_rewrites_the_cgroup_files() {
        let root =
            std::env::temp_dir().join(format!("mesos-agent-cgroup-update-{}", std::process::id()));
        let container = ContainerId::new("c1");
        fs::create_dir_all(root.join("c1")).unwrap();
        let limiter = Limiter::CgroupsV2 { root: root.clone() };
        let two_tasks = Resources::parse("cpus:1.5;mem:384").unwrap().to_protos();
        limiter.update(&container, ContainerLimits::of(&two_tasks, false)).unwrap();
        assert_eq!(fs::read_to_string(root.join("c1/cpu.max")).unwrap(), "150000 100000");
        assert_eq!(
            fs::read_to_string(root.join("c1/memory.max")).unwrap(),
            (384u64 << 20).to_string()
        );
        limiter.update(&container, ContainerLimits::default()).unwrap();
        assert_eq!(fs::read_to_string(root.join("c1/cpu.max")).unwrap(), "max 100000");
        assert_eq!(fs::read_to_string(root.join("c1/memory.max")).unwrap(), "max");
        fs::remove_dir_all(&root).unwrap();
    }

    /// A nested container joins its executor's cgroup when it has one, and nothing
    /// without cgroups v2.
    #[test]
    fn nested_containers_join_their_executors_cgroup() {
        let root =
            std::env::temp_dir().join(format!("mesos-agent-cgroup-join-{}", std::process::id()));
        fs::create_dir_all(root.join("exec")).unwrap();
        fs::write(root.join("exec/cgroup.procs"), "").unwrap();
        let limiter = Limiter::CgroupsV2 { root: root.clone() };
        let joined = limiter.join(&ContainerId::new("exec"));
        let expected = root.join("exec/cgroup.procs").to_string_lossy().into_owned();
        assert_eq!(
            joined.cgroup_procs.as_ref().map(|p| p.to_string_lossy().into_owned()),
            Some(expected)
        );
        assert!(limiter.join(&ContainerId::new("unlimited")).is_empty(), "no cgroup of its own");
        assert!(Limiter::Rlimits.join(&ContainerId::new("exec")).is_empty());
        fs::remove_dir_all(&root).unwrap();
    }

    /// Without a cgroup v2 hierarchy offering cpu and memory, rlimits are used.
    #[test]
    fn detect_falls_back_to_rlimits() {
        let dir = std::env::temp_dir().join(format!("mesos-agent-cgroup-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("cgroup.controllers"), "hugetlb pids\n").unwrap();
        assert_eq!(Limiter::detect(&dir), Limiter::Rlimits);
        assert_eq!(Limiter::detect(&dir.join("missing")), Limiter::Rlimits);
        fs::remove_dir_all(&dir).unwrap();
    }
}
