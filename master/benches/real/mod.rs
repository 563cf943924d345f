//! What the real-process benchmarks (`fail1_real.rs`, `e2e1_real.rs`) share: three
//! `mesos-master` processes started as users start them, their metrics, and small
//! helpers.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use libprocess::Pid;

/// The three master processes of a run.
pub struct Masters {
    /// The master processes.
    pub children: Vec<Child>,
    /// Their addresses, in the same order.
    pub addresses: Vec<SocketAddr>,
}

impl Masters {
    /// Starts three masters (raft, one group) with their work dirs and logs under `dir`.
    pub fn start(dir: &Path) -> Masters {
        Masters::start_with(dir, &[])
    }

    /// [`Masters::start`], each master also given `flags` (e.g. slower elections).
    pub fn start_with(dir: &Path, flags: &[String]) -> Masters {
        let listeners: Vec<TcpListener> =
            (0..3).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1")).collect();
        let addresses: Vec<SocketAddr> =
            listeners.iter().map(|l| l.local_addr().expect("an address")).collect();
        let group = addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",");
        let children = listeners
            .iter()
            .enumerate()
            .map(|(i, listener)| {
                let work_dir = dir.join(format!("master-{i}"));
                let log = std::fs::File::create(dir.join(format!("master-{i}.log"))).expect("log");
                let mut command = Command::new(env!("CARGO_BIN_EXE_mesos-master"));
                let fd = libprocess::inherit::pass_listener(&mut command, listener);
                command
                    .arg(format!("--listen_fd={fd}"))
                    .arg(format!("--masters={group}"))
                    .arg(format!("--work_dir={}", work_dir.display()))
                    .arg("--registry=raft")
                    .arg("--logging_level=WARNING")
                    .args(flags)
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().expect("log"))
                    .stderr(log)
                    .spawn()
                    .expect("start mesos-master")
            })
            .collect();
        Masters { children, addresses }
    }

    /// The index of the master `pid`.
    pub fn index_of(&self, pid: &Pid) -> usize {
        self.addresses.iter().position(|a| *a == pid.address()).expect("one of the masters")
    }

    /// SIGKILLs master `i` and reaps it.
    pub fn kill(&mut self, i: usize) {
        let _ = self.children[i].kill();
        let _ = self.children[i].wait();
    }

    /// SIGKILLs every master.
    pub fn kill_all(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

/// (active agents, running tasks) in the metrics of the master at `address`.
pub fn holds(address: SocketAddr) -> Option<(u64, u64)> {
    let mut response = ureq::get(format!("http://{address}/metrics/snapshot")).call().ok()?;
    let text = response.body_mut().read_to_string().ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let count = |key: &str| json.get(key).and_then(serde_json::Value::as_f64).map(|v| v as u64);
    Some((count("master/slaves_active")?, count("master/tasks_running")?))
}

/// The resident memory (`/proc/<pid>/status` VmRSS) of process `pid` in KiB (0 when
/// unreadable).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The minor page faults process `pid` has taken (`minflt`, the 10th field of
/// `/proc/<pid>/stat`; 0 when unreadable): pages the kernel mapped, and zeroed when
/// fresh, on first touch.
// fail1_real prints them; e2e1_real, which includes this module too, does not.
#[allow(dead_code)]
pub fn minor_faults(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (2nd field) may hold spaces: count from after its `)`.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(7))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The machine's 1-minute load average (`/proc/loadavg`), 0 when unreadable.
pub fn load_average() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

/// The masters' pids.
pub fn pids(masters: &Masters) -> Vec<Pid> {
    masters.addresses.iter().map(|a| format!("master@{a}").parse().expect("a pid")).collect()
}

impl Drop for Masters {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Runs `make` on a new arbiter (an OS thread with its own event loop).
pub async fn on_thread<T: Send + 'static>(
    make: impl FnOnce() -> T + Send + 'static,
) -> (actix_rt::Arbiter, T) {
    let arbiter = actix_rt::Arbiter::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    arbiter.spawn(async move {
        let _ = tx.send(make());
    });
    (arbiter, rx.await.expect("the arbiter runs"))
}

/// The comma-separated numbers after `name` in `args`, else `default`.
pub fn list(args: &[String], name: &str, default: &[usize]) -> Vec<usize> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

/// The median (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
