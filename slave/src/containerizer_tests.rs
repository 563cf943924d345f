use std::collections::BTreeMap;

use mesos_proto::ids::ContainerId;
use mesos_proto::mesos::CommandInfo;

use super::*;
use crate::limits::{ContainerLimits, Limiter};

struct Sandbox(PathBuf);

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let dir =
            std::env::temp_dir().join(format!("mesos-agent-posix-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Sandbox(dir)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn request(sandbox: &Sandbox, id: &str, shell_command: &str) -> LaunchRequest {
    let mut env = BTreeMap::new();
    env.insert("MESOS_EXECUTOR_ID".to_string(), "e1".to_string());
    LaunchRequest {
        container_id: ContainerId::new(id),
        command: CommandInfo {
            value: Some(shell_command.into()),
            shell: Some(true),
            ..CommandInfo::default()
        },
        env,
        sandbox: sandbox.0.clone(),
        limits: crate::limits::ContainerLimits::default(),
        own_executor: false,
        run_as: None,
    }
}

/// An executor runs in its sandbox, in its own session, with only the given
/// environment (plus a default PATH), writes to the sandbox's stdout, and its exit
/// status is reported once.
#[test]
fn launch_runs_in_sandbox_with_environment_and_reports_exit() {
    let sandbox = Sandbox::new("launch");
    let mut posix = PosixContainerizer::new();
    let command = "echo \"$MESOS_EXECUTOR_ID $PATH $HOME\"; pwd; ps -o sid= -p $$ | tr -d ' '; echo $$; exit 3";
    let pid = posix.launch(request(&sandbox, "c1", command)).unwrap().unwrap();
    let termination = posix.wait_child(&ContainerId::new("c1"));
    assert_eq!(termination.message, "Executor exited with status 3");
    let stdout = fs::read_to_string(sandbox.0.join("stdout")).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("e1 {DEFAULT_PATH} "), "only the given environment");
    assert_eq!(fs::canonicalize(lines[1]).unwrap(), fs::canonicalize(&sandbox.0).unwrap());
    if lines.len() == 4 {
        assert_eq!(lines[2], pid.to_string(), "the executor leads its own session");
    }
    assert!(posix.reap().is_empty(), "reported once");
}

/// SIGTERM reaches the whole process group, and the exit says which signal.
#[test]
fn signal_terminates_the_group() {
    let sandbox = Sandbox::new("signal");
    let mut posix = PosixContainerizer::new();
    // The shell waits on a child in its group; SIGTERM to the group ends both.
    posix.launch(request(&sandbox, "c2", "sleep 1000 & wait")).unwrap();
    posix.signal(&ContainerId::new("c2"), Signal::Term);
    let termination = posix.wait_child(&ContainerId::new("c2"));
    assert_eq!(termination.message, "Executor terminated with signal SIGTERM");
}

/// A command that cannot be started is a launch error, and an executor that was not
/// forked by this agent is recovered only while its process exists.
#[test]
fn bad_launches_and_recovery() {
    let sandbox = Sandbox::new("bad");
    let mut posix = PosixContainerizer::new();
    let mut bad = request(&sandbox, "c3", "");
    assert!(posix.launch(bad.clone()).is_err(), "empty command");
    bad.command = CommandInfo {
        value: Some("/does/not/exist".into()),
        shell: Some(false),
        ..CommandInfo::default()
    };
    let error = posix.launch(bad).unwrap_err();
    assert!(error.to_string().contains("cannot start the executor"), "{error}");
    assert!(posix.recover(&ContainerId::new("mine"), Some(std::process::id())));
    assert!(!posix.recover(&ContainerId::new("none"), None));
    assert!(posix.usage(&ContainerId::new("mine")).is_some());
}

/// With rlimits, the executor runs with `RLIMIT_DATA` at its container's memory.
#[test]
fn rlimits_limit_the_executors_memory() {
    let sandbox = Sandbox::new("rlimit");
    let mut posix = PosixContainerizer::with_limiter(Limiter::Rlimits);
    let mut launch = request(&sandbox, "c1", "ulimit -d");
    launch.limits = ContainerLimits { cpus: Some(1.0), mem_bytes: Some(96 << 20) };
    posix.launch(launch).unwrap();
    let termination = posix.wait_child(&ContainerId::new("c1"));
    assert_eq!(termination.message, "Executor exited with status 0");
    assert_eq!(
        fs::read_to_string(sandbox.0.join("stdout")).unwrap().trim(),
        (96 * 1024).to_string(),
        "KB"
    );
}

/// With rlimits, the agent's own executor is not limited itself: it carries the limit
/// for its task in its environment, and nested containers joining it get it.
#[test]
fn rlimits_of_an_own_executor_go_to_its_tasks() {
    let sandbox = Sandbox::new("rlimit-own");
    let mut posix = PosixContainerizer::with_limiter(Limiter::Rlimits);
    let script = format!("ulimit -d; echo ${}", crate::limits::TASK_RLIMIT_DATA_ENV);
    let mut launch = request(&sandbox, "c1", &script);
    launch.limits = ContainerLimits { cpus: Some(1.0), mem_bytes: Some(96 << 20) };
    launch.own_executor = true;
    posix.launch(launch).unwrap();
    let root = ContainerId::new("c1");
    let mut joined = posix.join_limits(&root);
    let termination = posix.wait_child(&root);
    assert_eq!(termination.message, "Executor exited with status 0");
    let stdout = fs::read_to_string(sandbox.0.join("stdout")).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, ["unlimited", &(96u64 << 20).to_string()], "{stdout}");
    assert_eq!(joined.take_data_limit(), Some(96 << 20));
}

/// With cgroups v2 (only where this machine offers them), the executor runs in
/// its container's cgroup with `cpu.max` and `memory.max` set, and the cgroup is
/// removed when the container is reaped.
#[test]
fn cgroups_v2_limit_the_container_where_available() {
    let limiter = Limiter::detect(std::path::Path::new(crate::flags::CGROUP_HIERARCHY));
    let Limiter::CgroupsV2 { root } = limiter.clone() else {
        eprintln!(
            "no usable cgroup v2 hierarchy here ({}); covered by the rlimits test",
            limiter.name()
        );
        return;
    };
    let sandbox = Sandbox::new("cgroup");
    let mut posix = PosixContainerizer::with_limiter(limiter);
    let mut launch = request(&sandbox, "cg1", "cat /proc/self/cgroup");
    launch.limits = ContainerLimits { cpus: Some(0.5), mem_bytes: Some(64 << 20) };
    posix.launch(launch).unwrap();
    assert_eq!(fs::read_to_string(root.join("cg1/cpu.max")).unwrap().trim(), "50000 100000");
    assert_eq!(
        fs::read_to_string(root.join("cg1/memory.max")).unwrap().trim(),
        (64u64 << 20).to_string()
    );
    posix.wait_child(&ContainerId::new("cg1"));
    assert!(fs::read_to_string(sandbox.0.join("stdout")).unwrap().contains("/mesos/cg1"));
    assert!(!root.join("cg1").exists(), "removed when reaped");
}
