//! Client load never costs leadership (issue 18, section 1), on real processes: three
//! `mesos-master`s from `mesos-local`, a leader filled with emulated agents and tasks
//! through the real protocol, then loaded in every way a client can.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use libprocess::Pid;
use libprocess::prost::Message as _;
use mesos_proto::mesos::{self, internal};
use mesos_proto::resources::Resources;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid as OsPid;

use super::{GUARD, leader_line, pymesos_background, raft_status, start_local_alone};

/// Agents that re-register, with their tasks, before the load (they make `/state` big).
const AGENTS: usize = 600;
/// Frameworks on each agent, and running tasks of each framework on each agent.
const FRAMEWORKS: usize = 5;
const TASKS: usize = 2;
/// New agents registering all at once during the load.
const NEW_AGENTS: usize = 1000;
/// Clients polling `/master/state`, clients polling v1 `GET_STATE`, and how many
/// answers each reads in full.
const STATE_POLLERS: usize = 4;
const GET_STATE_POLLERS: usize = 2;
const POLLS: usize = 2;

/// What the test waits on: an agent answered, or a line `mesos-local` printed.
enum Event {
    Acknowledged,
    Line(String),
}

/// Where the emulated agents live: one listener standing for every `slave(<n>)`, which
/// reads whatever masters send it and counts the (re-)registration acknowledgements.
struct Agents {
    port: u16,
    events: mpsc::Receiver<Event>,
}

impl Agents {
    /// Starts the listener; `mesos-local`'s later lines (`lines`) come in among the
    /// acknowledgements, so a leadership change ends a wait at once.
    fn start(lines: mpsc::Receiver<String>) -> Agents {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the agents' address");
        let port = listener.local_addr().expect("address").port();
        let (tx, events) = mpsc::channel();
        let forward = tx.clone();
        std::thread::spawn(move || {
            for line in lines {
                let _ = forward.send(Event::Line(line));
            }
        });
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let tx = tx.clone();
                std::thread::spawn(move || count_acknowledgements(stream, &tx));
            }
        });
        Agents { port, events }
    }

    /// Waits (on the acknowledgements, with the guard) until `n` more agents were
    /// answered; fails at once if `mesos-local` reports that a master other than the one
    /// on `leader` leads. (Its "no leading master" is no evidence: it reads each master's
    /// whole `/master/state` within 2 s, which a leader rendering for many clients may not
    /// answer in time; the raft terms checked at the end are the proof.)
    fn wait_acknowledged(&self, n: usize, leader: u16) {
        let mut answered = 0;
        let other_leader = |line: &str| {
            line.starts_with("mesos-local: leading master is now")
                && !line.ends_with(&format!(":{leader}"))
        };
        while answered < n {
            match self.events.recv_timeout(GUARD) {
                Ok(Event::Acknowledged) => answered += 1,
                Ok(Event::Line(line)) if other_leader(&line) => {
                    panic!("leadership changed under load: {line}")
                }
                Ok(Event::Line(_)) => {}
                Err(_) => panic!("only {answered} of {n} agents were answered in time"),
            }
        }
    }
}

/// Reads a master's connection to the agents, signalling each `SlaveRegisteredMessage`
/// and `SlaveReregisteredMessage` (a name split across two reads is still seen).
fn count_acknowledgements(mut stream: TcpStream, tx: &mpsc::Sender<Event>) {
    const NAMES: [&[u8]; 2] =
        [b"/mesos.internal.SlaveRegisteredMessage ", b"/mesos.internal.SlaveReregisteredMessage "];
    let find = |haystack: &[u8], name: &[u8]| {
        haystack.windows(name.len()).position(|w| w == name).map(|at| at + name.len())
    };
    let mut buffer = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        carry.extend_from_slice(&buffer[..n]);
        let mut consumed = 0;
        while let Some(end) = NAMES.iter().filter_map(|name| find(&carry[consumed..], name)).min() {
            let _ = tx.send(Event::Acknowledged);
            consumed += end;
        }
        carry.drain(..consumed);
        // Keep a tail shorter than any name: a name cut by this read completes next time.
        let keep = carry.len().min(64);
        carry.drain(..carry.len() - keep);
    }
}

/// What agent `n`'s re-registration says: its frameworks and running tasks.
fn reregistration(n: usize) -> internal::ReregisterSlaveMessage {
    let id = mesos::SlaveId { value: format!("agent{n}") };
    let task_resources = Resources::parse("cpus:0.1;mem:5").expect("resources").to_protos();
    let frameworks: Vec<mesos::FrameworkInfo> = (0..FRAMEWORKS)
        .map(|k| mesos::FrameworkInfo {
            id: Some(mesos::FrameworkId { value: format!("framework{k}") }),
            user: "load".into(),
            name: format!("load-{k}"),
            roles: vec!["*".into()],
            capabilities: vec![mesos::framework_info::Capability {
                r#type: Some(mesos::framework_info::capability::Type::MultiRole as i32),
            }],
            ..Default::default()
        })
        .collect();
    let tasks = frameworks
        .iter()
        .flat_map(|f| (0..TASKS).map(move |j| (f.id.clone().expect("an id"), j)))
        .map(|(framework_id, j)| {
            let task = format!("{}-{}-task{j}", id.value, framework_id.value);
            mesos::Task {
                name: task.clone(),
                task_id: mesos::TaskId { value: task },
                framework_id,
                slave_id: id.clone(),
                state: mesos::TaskState::TaskRunning as i32,
                resources: task_resources.clone(),
                ..Default::default()
            }
        })
        .collect();
    internal::ReregisterSlaveMessage {
        slave: agent_info(n, Some(id)),
        version: Some("1.11.0".into()),
        frameworks,
        tasks,
        ..Default::default()
    }
}

fn agent_info(n: usize, id: Option<mesos::SlaveId>) -> mesos::SlaveInfo {
    mesos::SlaveInfo {
        id,
        hostname: format!("agent{n}"),
        resources: Resources::parse("cpus:8;mem:16384").expect("resources").to_protos(),
        ..Default::default()
    }
}

/// Sends every message in `messages` (name, body) to the master at `port` on one
/// connection, back to back, from `slave(<n>)@<agents>`; the `202`s are read and dropped
/// on a thread of their own.
fn send_all(
    port: u16,
    agents: u16,
    messages: impl Iterator<Item = (usize, &'static str, Vec<u8>)>,
) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the leader");
    let mut answers = stream.try_clone().expect("clone");
    std::thread::spawn(move || std::io::copy(&mut answers, &mut std::io::sink()));
    let to: Pid = format!("master@127.0.0.1:{port}").parse().expect("a pid");
    let mut batch = Vec::new();
    for (n, name, body) in messages {
        let from: Pid = format!("slave({n})@127.0.0.1:{agents}").parse().expect("a pid");
        batch.extend_from_slice(&libprocess::wire::encode_message(&from, &to, name, &body));
    }
    stream.write_all(&batch).expect("send the registrations");
}

/// Reads `GET path` (or POSTs `body` when given) to the end, `times` times, each on a
/// new connection; any status will do (a deposed leader answers `307`).
fn poll(port: u16, path: &'static str, body: Option<&'static str>, times: usize) {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .max_redirects(0)
        .http_status_as_error(false)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let url = format!("http://127.0.0.1:{port}{path}");
    for _ in 0..times {
        let response = match body {
            Some(body) => agent.post(&url).content_type("application/json").send(body),
            None => agent.get(&url).call(),
        };
        if let Ok(mut response) = response {
            let _ = std::io::copy(&mut response.body_mut().as_reader(), &mut std::io::sink());
        }
    }
}

/// A leader loaded by clients keeps leading: 600 agents with 6,000 tasks re-register all
/// at once, then, together, clients poll `/master/state` and v1 `GET_STATE`, a client asks
/// for `/master/state` and never reads the answer, and 1,000 new agents register at once.
/// No master's raft term moves (no follower started an election, the leader never
/// stepped down) and the leader still leads. Before raft had a lane of its own, the
/// leader's I/O thread rendered `/state` while its heartbeats waited: it was deposed
/// within seconds.
///
/// The first phase alone (600 re-registrations at once, before any HTTP load) used to
/// cost the leader its term about two runs in five: the registrar measured the registry's
/// encoded size once per applied entry, a walk of the whole registry each time, which on
/// a burst kept the raft thread busy past the election timeout (see
/// `RaftDriver::apply_entries`).
#[test]
fn client_load_on_the_leader_never_costs_its_leadership() {
    let (mut local, ports) = start_local_alone(3, 0);
    let (leader, _, _) = leader_line(&local.lines);
    let terms = |ports: &[u16]| -> Vec<u64> {
        ports.iter().map(|p| raft_status(*p)["term"].as_u64().expect("a term")).collect()
    };
    let before = terms(&ports);

    let agents = Agents::start(std::mem::replace(&mut local.later, mpsc::channel().1));
    let reregistrations = (0..AGENTS).map(|n| {
        let name = "mesos.internal.ReregisterSlaveMessage";
        (n, name, reregistration(n).encode_to_vec())
    });
    send_all(leader, agents.port, reregistrations);
    agents.wait_acknowledged(AGENTS, leader);

    let mut load = Vec::new();
    for _ in 0..STATE_POLLERS {
        load.push(std::thread::spawn(move || poll(leader, "/master/state", None, POLLS)));
    }
    for _ in 0..GET_STATE_POLLERS {
        let body = Some(r#"{"type": "GET_STATE"}"#);
        load.push(std::thread::spawn(move || poll(leader, "/api/v1", body, POLLS)));
    }
    // A slow reader: asks for the whole state and never reads a byte of it.
    let mut slow = TcpStream::connect(("127.0.0.1", leader)).expect("connect");
    slow.write_all(b"GET /master/state HTTP/1.1\r\nHost: leader\r\n\r\n").expect("ask");
    let registrations = (AGENTS..AGENTS + NEW_AGENTS).map(|n| {
        let message = internal::RegisterSlaveMessage {
            slave: agent_info(n, None),
            version: Some("1.11.0".into()),
            ..Default::default()
        };
        (n, "mesos.internal.RegisterSlaveMessage", message.encode_to_vec())
    });
    send_all(leader, agents.port, registrations);
    for client in load {
        client.join().expect("a client thread");
    }
    agents.wait_acknowledged(NEW_AGENTS, leader);

    let after = terms(&ports);
    assert_eq!(before, after, "no master's raft term moved (masters {ports:?})");
    let status = raft_status(leader);
    assert_eq!(status["leading"], true, "the loaded master still leads: {status}");
    drop(slow);
    drop(local);
}

/// A process stopped with SIGSTOP (Jepsen's process pause), continued when dropped so a
/// failing test leaves nothing frozen behind.
struct Paused(i32);

impl Paused {
    fn stop(pid: i32) -> Paused {
        kill(OsPid::from_raw(pid), Signal::SIGSTOP).expect("SIGSTOP the leader");
        Paused(pid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        let _ = kill(OsPid::from_raw(self.0), Signal::SIGCONT);
    }
}

/// Subscribes to the v1 operator API of the master at `port` (answered once subscribed);
/// the receiver gets the bytes of the whole stream when the master ends it.
fn operator_subscription(port: u16) -> mpsc::Receiver<Vec<u8>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let body = r#"{"type": "SUBSCRIBE"}"#;
    let request = format!(
        "POST /api/v1 HTTP/1.1\r\nHost: master\r\nContent-Type: application/json\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("subscribe");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("the answer's status line");
    assert_eq!(&head, b"HTTP/1.1 200", "subscribed");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stream.read_to_end(&mut all);
        let _ = tx.send(all);
    });
    rx
}

/// A deposed leader closes its v1 scheduler and operator subscriptions at once, so an
/// unmodified pymesos framework comes back (issue 18, section 3): the framework
/// subscribes to the leader and runs a task that waits for a file, and an operator
/// subscribes too; the leader is paused (SIGSTOP) until another master leads, then woken
/// (SIGCONT). It learns it was deposed and must end both event streams; pymesos then
/// subscribes again at the old leader, follows its `307` to the new one, and gets its
/// task's TASK_FINISHED there. Before, the scheduler's stream stayed open after fencing
/// (the master's watcher of the client's side kept a copy of its writer) and pymesos
/// waited on it forever.
#[test]
fn paused_leader_closes_its_subscriptions_and_the_framework_comes_back() {
    let (local, _ports) = start_local_alone(3, 1);
    let (leader, leader_pid, _) = leader_line(&local.lines);
    let go = local.work_dir.join("go");
    let command = format!("while [ ! -e {} ]; do sleep 0.05; done", go.display());
    let framework = pymesos_background(&["--wait", "90"], &format!("127.0.0.1:{leader}"), &command);
    framework.wait_for("TASK_RUNNING");
    let operator = operator_subscription(leader);

    let paused = Paused::stop(leader_pid);
    let line = local.wait_line(|l| l.starts_with("mesos-local: leading master is now"));
    assert!(!line.ends_with(&format!(":{leader}")), "another master leads: {line}");
    drop(paused);
    operator.recv_timeout(GUARD).expect("the deposed leader ended the operator's event stream");
    // The task ends only now: its TASK_FINISHED reaches the framework only if the
    // framework found the new leader.
    std::fs::write(&go, b"").expect("create the file the task waits for");
    framework.wait_for("TASK_FINISHED");
    drop(local);
}
