//! Real OS processes in tests: starting `mesos-agent` on a listening socket the test
//! holds, fifos the tasks use to talk to the test, and a guard that kills everything a
//! test started.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use libprocess::{Node, Pid, ProcessRef};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid as OsPid;
use tokio::sync::mpsc;

use super::support::{FakeMaster, MasterEvent, fake_master, next_event};

/// Kills every OS process the test started, however the test ends: the agents
/// (and then they are reaped) and the process groups of executors and tasks.
#[derive(Default)]
pub struct Processes {
    pub agents: Vec<Child>,
    pub groups: Vec<i32>,
}

impl Processes {
    /// kill -9 of the agent started `index`-th, and reaps it.
    pub fn kill_agent(&mut self, index: usize) {
        let mut agent = self.agents.remove(index);
        agent.kill().expect("kill -9 the agent");
        agent.wait().expect("reap the agent");
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for group in &self.groups {
            let _ = killpg(OsPid::from_raw(*group), Signal::SIGKILL);
            // A task in a nested container is not its group's leader (its launcher
            // is): the process itself goes too.
            let _ = nix::sys::signal::kill(OsPid::from_raw(*group), Signal::SIGKILL);
        }
        for agent in &mut self.agents {
            let _ = agent.kill();
            let _ = agent.wait();
        }
    }
}

/// A listening socket on a port the OS assigns, for an agent. The test holds it for as
/// long as it runs and hands it to every start of the agent (`--listen_fd`): a restarted
/// agent keeps its port (part of its `SlaveInfo`) and no other test can take it meanwhile.
pub fn agent_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("listen on a port the OS assigns")
}

/// Starts the real `mesos-agent` on `listener`, registering with `master`. Tasks run
/// as the test's user (`--switch_user=false`: the fifos and folders tests share with
/// their tasks are the test's) unless `extra` sets `--switch_user`.
pub fn start_agent(master: &Pid, listener: &TcpListener, work_dir: &Path, extra: &[&str]) -> Child {
    let port = listener.local_addr().expect("a bound listener").port();
    let launcher_dir = PathBuf::from(env!("CARGO_BIN_EXE_mesos-executor"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(work_dir.with_extension(format!("agent-{port}.log")))
        .ok();
    let stderr = log.map(Stdio::from).unwrap_or_else(Stdio::null);
    let mut command = Command::new(env!("CARGO_BIN_EXE_mesos-agent"));
    let fd = libprocess::inherit::pass_listener(&mut command, listener);
    command
        .arg(format!("--master={}", master.address()))
        .arg(format!("--listen_fd={fd}"))
        .arg(format!("--work_dir={}", work_dir.display()))
        .arg("--resources=cpus:2;mem:1024;disk:1024;ports:[31000-31100]")
        .arg("--registration_backoff_factor=10ms")
        .arg(format!("--launcher_dir={}", launcher_dir.parent().expect("bin dir").display()))
        .args(extra)
        .args(
            (!extra.iter().any(|flag| flag.starts_with("--switch_user")))
                .then_some("--switch_user=false"),
        )
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start mesos-agent")
}

/// Makes a named pipe: tasks block on it until the test writes.
pub fn make_fifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
}

/// Blocks (off the runtime) until a line arrives on the fifo.
pub async fn read_fifo(path: PathBuf) -> String {
    let read =
        tokio::task::spawn_blocking(move || std::fs::read_to_string(path).expect("read fifo"));
    tokio::time::timeout(std::time::Duration::from_secs(60), read)
        .await
        .expect("the task never wrote")
        .expect("reader")
}

/// Blocks (off the runtime) until the task opens the fifo, then writes a line.
pub async fn write_fifo(path: PathBuf) {
    let write =
        tokio::task::spawn_blocking(move || std::fs::write(path, "go\n").expect("write fifo"));
    tokio::time::timeout(std::time::Duration::from_secs(60), write)
        .await
        .expect("the task never read")
        .expect("writer");
}

/// True while the OS process `pid` exists.
pub fn alive(pid: i32) -> bool {
    kill(OsPid::from_raw(pid), None).is_ok()
}

/// The OS pid of the latest run of `executor_id`, as the agent checkpointed it.
pub fn executor_pid(
    work_dir: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
) -> Option<i32> {
    let run = work_dir.join(format!(
        "meta/slaves/{agent_id}/frameworks/{framework_id}/executors/{executor_id}/runs/latest"
    ));
    std::fs::read_to_string(run.join("pids/forked.pid")).ok()?.trim().parse().ok()
}

/// The sandbox of an executor's latest run (through the `runs/latest` link).
pub fn executor_sandbox(
    work_dir: &Path,
    agent_id: &str,
    framework_id: &str,
    executor_id: &str,
) -> PathBuf {
    work_dir.join(format!(
        "slaves/{agent_id}/frameworks/{framework_id}/executors/{executor_id}/runs/latest"
    ))
}

/// A node with a fake master (acknowledging every update) and a real `mesos-agent`
/// registered with it.
pub struct RegisteredAgent {
    pub node: Node,
    pub master: ProcessRef<FakeMaster>,
    pub events: mpsc::UnboundedReceiver<MasterEvent>,
    /// The agent, as the master saw it register.
    pub agent: Pid,
}

/// Starts a node and its fake master, then a `mesos-agent` on `listener` with `extra`
/// flags (kept in `processes`), and waits until it registers.
pub async fn registered_agent(
    processes: &mut Processes,
    listener: &TcpListener,
    work_dir: &Path,
    extra: &[&str],
) -> RegisteredAgent {
    let node = Node::builder("127.0.0.1:0".parse().expect("an address")).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    processes.agents.push(start_agent(master.pid(), listener, work_dir, extra));
    let MasterEvent::Registered { from: agent } = next_event(&mut events).await else {
        panic!("expected registration")
    };
    RegisteredAgent { node, master, events, agent }
}
