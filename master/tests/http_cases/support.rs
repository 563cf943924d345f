//! A master on its own thread over TCP, fake agents and schedulers, an HTTP client.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use libprocess::{Node, Pid, Process, ProcessRef};
use mesos_master::launch::{MasterOptions, spawn_master};
use mesos_master::process::MasterProcess;
use mesos_proto::mesos::{self, internal, scheduler};
use mesos_proto::resources::Resources;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// How long any wait may take before the test fails (a hang guard, not a delay).
pub const GUARD: Duration = Duration::from_secs(20);

/// The master id every test master uses.
pub const MASTER_ID: &str = "c0ffee00-0000-4000-8000-0000000000aa";

/// A master (and its allocator) on a TCP node served by a dedicated thread with its own
/// actix system, so a test may block the master without blocking itself.
pub struct TcpMaster {
    pub address: SocketAddr,
    pub pid: Pid,
    pub master: ProcessRef<MasterProcess>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TcpMaster {
    /// Starts a master with Mesos's defaults changed by `tweak`.
    pub fn start(tweak: impl FnOnce(&mut MasterOptions) + Send + 'static) -> TcpMaster {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let node = Node::builder("127.0.0.1:0".parse().unwrap())
                    .start()
                    .expect("start master node");
                let mut options = MasterOptions::with_id(MASTER_ID);
                options.flags =
                    vec![("port".into(), "0".into()), ("weights".into(), "web=2.5".into())];
                // `/roles` shows the weights in force, not the flag's text.
                options.weights = vec![("web".into(), 2.5)];
                tweak(&mut options);
                let master = spawn_master(&node, options).expect("spawn master");
                // A dispatch runs after `initialize`: the routes and metrics exist then.
                master.master.dispatch(|_, _| ()).await.expect("master initialized");
                ready_tx.send((node.address(), master.master.clone())).expect("test waits");
                let _ = stop_rx.await;
                node.shutdown().await;
            });
        });
        let (address, master) = ready_rx.recv_timeout(GUARD).expect("master started");
        TcpMaster {
            address,
            pid: master.pid().clone(),
            master,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for TcpMaster {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A response read off the wire.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub async fn http(address: SocketAddr, method: &str, path: &str, body: &str) -> HttpResponse {
    tokio::time::timeout(GUARD, async {
        let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        parse_response(&raw)
    })
    .await
    .expect("HTTP response in time")
}

pub async fn get(address: SocketAddr, path: &str) -> HttpResponse {
    http(address, "GET", path, "").await
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let text = String::from_utf8_lossy(raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("response head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_string() };
    HttpResponse { status, headers, body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// What the fakes receive: the shared inboxes of `mesos_proto` (the same the master's
/// simulated-network fakes and the failover benchmarks' agents use).
pub use mesos_proto::inbox::{AgentInbox, SchedulerInbox};

#[path = "../common/recorder.rs"]
mod recorder;
pub use recorder::Recorder;

/// A fake agent (`Fake<AgentInbox>`) or scheduler (`Fake<SchedulerInbox>`): a recorder
/// process on its own TCP node.
pub struct Fake<M> {
    pub node: Node,
    pub pid: Pid,
    pub master: Pid,
    rx: mpsc::UnboundedReceiver<M>,
}

impl<M: Send + 'static> Fake<M>
where
    Recorder<M>: Process,
{
    /// A process called `id` on a new loopback node, talking to `master`.
    pub fn new(master: &TcpMaster, id: &str) -> Fake<M> {
        let node = Node::builder("127.0.0.1:0".parse().unwrap()).start().expect("start node");
        let (tx, rx) = mpsc::unbounded_channel();
        let process = node.spawn(id, Recorder::new(tx)).expect("spawn");
        Fake { pid: process.pid().clone(), node, master: master.pid.clone(), rx }
    }

    pub fn send<T: libprocess::ProtoMessage>(&self, message: T) {
        self.node.send(&self.pid, &self.master, message);
    }

    /// The next message `pick` accepts (others are skipped), failing after [`GUARD`].
    pub async fn next<T>(&mut self, mut pick: impl FnMut(M) -> Option<T>) -> T {
        tokio::time::timeout(GUARD, async {
            loop {
                let message = self.rx.recv().await.expect("recorder gone");
                if let Some(found) = pick(message) {
                    return found;
                }
            }
        })
        .await
        .expect("timed out waiting for a message from the master")
    }
}

impl Fake<AgentInbox> {
    /// Registers as an agent with `resources` and `attributes`; returns its id.
    pub async fn register_agent(&mut self, resources: &str, attributes: &str) -> mesos::SlaveId {
        let info = mesos::SlaveInfo {
            hostname: "agent-host".into(),
            port: Some(5051),
            resources: Resources::parse(resources).expect("resources").to_protos(),
            attributes: mesos_proto::attributes::Attributes::parse(attributes)
                .expect("attributes")
                .to_protos(),
            ..Default::default()
        };
        self.send(internal::RegisterSlaveMessage {
            slave: info,
            version: Some("1.11.0".into()),
            ..Default::default()
        });
        self.next(|m| match m {
            AgentInbox::Registered(r) => Some(r.slave_id),
            _ => None,
        })
        .await
    }

    /// As the agent: reports `state` for a task at `timestamp`.
    pub fn report(
        &self,
        framework_id: &mesos::FrameworkId,
        agent_id: &mesos::SlaveId,
        task: &str,
        state: mesos::TaskState,
        timestamp: f64,
    ) {
        let uuid = format!("{task}-{timestamp}").into_bytes();
        let status = mesos::TaskStatus {
            task_id: mesos::TaskId { value: task.into() },
            state: state as i32,
            source: Some(mesos::task_status::Source::Executor as i32),
            slave_id: Some(agent_id.clone()),
            timestamp: Some(timestamp),
            uuid: Some(uuid.clone()),
            ..Default::default()
        };
        self.send(internal::StatusUpdateMessage {
            update: internal::StatusUpdate {
                framework_id: framework_id.clone(),
                executor_id: None,
                slave_id: Some(agent_id.clone()),
                status,
                timestamp,
                uuid: Some(uuid),
                latest_state: None,
            },
            pid: Some(self.pid.to_string()),
        });
    }
}

impl Fake<SchedulerInbox> {
    /// Subscribes as a framework in `role`; returns its id.
    pub async fn subscribe(&mut self, name: &str, role: &str) -> mesos::FrameworkId {
        let info = mesos::FrameworkInfo {
            user: "tester".into(),
            name: name.into(),
            roles: vec![role.into()],
            failover_timeout: Some(60.0),
            capabilities: vec![mesos::framework_info::Capability {
                r#type: Some(mesos::framework_info::capability::Type::MultiRole as i32),
            }],
            ..Default::default()
        };
        self.send(scheduler::Call {
            r#type: Some(scheduler::call::Type::Subscribe as i32),
            subscribe: Some(scheduler::call::Subscribe {
                framework_info: info,
                ..Default::default()
            }),
            ..Default::default()
        });
        self.next(|m| match m {
            SchedulerInbox::Registered(r) => Some(r.framework_id),
            _ => None,
        })
        .await
    }

    /// The next offers.
    pub async fn offers(&mut self) -> Vec<mesos::Offer> {
        self.next(|m| match m {
            SchedulerInbox::Offers(o) => Some(o.offers),
            _ => None,
        })
        .await
    }

    /// Accepts `offer` with one command task per `(task id, resources)`.
    pub fn launch(
        &self,
        framework_id: &mesos::FrameworkId,
        offer: &mesos::Offer,
        tasks: &[(&str, &str)],
    ) {
        use scheduler::call;
        let task_infos = tasks
            .iter()
            .map(|(id, resources)| mesos::TaskInfo {
                name: format!("task {id}"),
                task_id: mesos::TaskId { value: id.to_string() },
                slave_id: offer.slave_id.clone(),
                resources: Resources::parse(resources).expect("task resources").to_protos(),
                command: Some(mesos::CommandInfo {
                    value: Some("sleep 1000".into()),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        self.send(scheduler::Call {
            framework_id: Some(framework_id.clone()),
            r#type: Some(call::Type::Accept as i32),
            accept: Some(call::Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![mesos::offer::Operation {
                    r#type: Some(mesos::offer::operation::Type::Launch as i32),
                    launch: Some(mesos::offer::operation::Launch { task_infos }),
                    ..Default::default()
                }],
                filters: None,
            }),
            ..Default::default()
        });
    }
}

/// A master with one agent (`cpus:4;mem:1024;disk:2048;ports:[31000-31009]`, rack `a`)
/// and one framework in role `web` holding the agent's offer.
pub struct Scene {
    pub master: TcpMaster,
    pub agent: Fake<AgentInbox>,
    pub agent_id: mesos::SlaveId,
    pub scheduler: Fake<SchedulerInbox>,
    pub framework_id: mesos::FrameworkId,
    pub offer: mesos::Offer,
}

impl Scene {
    pub async fn start() -> Scene {
        let master = TcpMaster::start(|_| {});
        let mut agent = Fake::new(&master, "slave(1)");
        let agent_id = agent
            .register_agent("cpus:4;mem:1024;disk:2048;ports:[31000-31009]", "rack:a;zone:eu-1")
            .await;
        let mut scheduler = Fake::new(&master, "scheduler(1)");
        let framework_id = scheduler.subscribe("web-app", "web").await;
        let offer = scheduler.offers().await.into_iter().next().expect("one offer");
        Scene { master, agent, agent_id, scheduler, framework_id, offer }
    }

    /// Launches tasks on the offer and waits until the agent is asked to run each.
    pub async fn launch(&mut self, tasks: &[(&str, &str)]) {
        self.scheduler.launch(&self.framework_id, &self.offer, tasks);
        for _ in tasks {
            self.agent.next(|m| matches!(m, AgentInbox::RunTask(_)).then_some(())).await;
        }
    }

    /// The agent reports `state` for `task`; waits until the scheduler hears of it.
    pub async fn report(&mut self, task: &str, state: mesos::TaskState, timestamp: f64) {
        self.agent.report(&self.framework_id, &self.agent_id, task, state, timestamp);
        let wanted = task.to_string();
        self.scheduler
            .next(|m| match m {
                SchedulerInbox::Update(u) if u.update.status.task_id.value == wanted => Some(()),
                _ => None,
            })
            .await;
    }
}

/// Parses Prometheus text with the reference Python client's parser (in the venv of
/// scripts/test-setup.sh); the families as JSON (`tests/clients/prometheus_parse.py`).
pub fn parse_prometheus(text: &str) -> Value {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join("target/client-venv/bin/python");
    assert!(python.exists(), "prometheus-client is installed by scripts/test-setup.sh");
    let mut child = Command::new(python)
        .arg(root.join("tests/clients/prometheus_parse.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the parser");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write the text");
    let output = child.wait_with_output().expect("the parser ends");
    assert!(
        output.status.success(),
        "not Prometheus text: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the parser prints JSON")
}
