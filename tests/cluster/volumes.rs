//! Issue 15's whole-cluster proof for reservations and persistent volumes, on real
//! processes: three `mesos-master`s replicating with raft (from `mesos-local`), a
//! `mesos-agent` this test starts, kills -9 and starts again itself, and a framework on
//! the SDK's scheduler driver in the test process. Every wait is on an event (a
//! scheduler callback, a line a process prints), with [`GUARD`] only against hangs.
//!
//! What survives what: the agent checkpoints its reservations and volumes
//! (`meta/resources/resources.info`) and reports them when it registers again; the
//! registry holds only the agent's `SlaveInfo`. So a new leading master learns the
//! reservation and the volume from the restarted agent alone.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use mesos_framework::scheduler::{
    Scheduler, SchedulerConfig, SchedulerDriver, SchedulerHandle, framework_info, refuse_for,
    spawn_scheduler,
};
use mesos_proto::mesos::resource::{DiskInfo, disk_info};
use mesos_proto::mesos::{self, FrameworkId, MasterInfo, Offer, OfferId, TaskState, TaskStatus};
use mesos_proto::mesos::{offer, offer::operation};
use mesos_proto::resources::{Resources, resource};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid as OsPid;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::{GUARD, KillOnDrop, leader_line, start_local_with};

const ROLE: &str = "storage";
const PRINCIPAL: &str = "ops";
const VOLUME: &str = "vol-1";
/// What the framework reserves; the volume is made of the reserved disk.
const RESERVED: &str = "cpus:0.5;mem:128;disk:64";
const VOLUME_DISK: &str = "disk:64";
/// The agent's resources, all unreserved again at the end.
const AGENT_RESOURCES: &str = "cpus:2;mem:1024;disk:1024";

/// What the scheduler saw, forwarded to the test.
#[derive(Debug)]
enum Seen {
    /// Subscribed (the first time, or again after a failover).
    Subscribed,
    /// Lost its master.
    Disconnected,
    Offers(Vec<Offer>),
    Status(Box<TaskStatus>),
}

/// A scheduler that only reports: the test decides, through [`SchedulerHandle::call`].
struct Forwarder(UnboundedSender<Seen>);

impl Scheduler for Forwarder {
    fn registered(&mut self, _: &mut SchedulerDriver, _: &FrameworkId, _: &MasterInfo) {
        let _ = self.0.send(Seen::Subscribed);
    }

    fn reregistered(&mut self, _: &mut SchedulerDriver, _: &MasterInfo) {
        let _ = self.0.send(Seen::Subscribed);
    }

    fn disconnected(&mut self, _: &mut SchedulerDriver) {
        let _ = self.0.send(Seen::Disconnected);
    }

    fn resource_offers(&mut self, _: &mut SchedulerDriver, offers: Vec<Offer>) {
        let _ = self.0.send(Seen::Offers(offers));
    }

    fn status_update(&mut self, _: &mut SchedulerDriver, status: &TaskStatus) {
        let _ = self.0.send(Seen::Status(Box::new(status.clone())));
    }
}

/// The framework: its driver, and what its scheduler saw.
struct Framework {
    node: libprocess::Node,
    handle: SchedulerHandle<Forwarder>,
    seen: UnboundedReceiver<Seen>,
    /// How many times a master accepted its SUBSCRIBE.
    subscriptions: usize,
}

impl Framework {
    /// Waits for the next thing the scheduler saw (with the guard).
    async fn next(&mut self) -> Seen {
        let seen = tokio::time::timeout(GUARD, self.seen.recv())
            .await
            .expect("the scheduler heard something in time")
            .expect("the driver runs");
        if let Seen::Subscribed = seen {
            self.subscriptions += 1;
        }
        seen
    }

    /// Waits for an offer `wanted` accepts; every other offer is declined for
    /// `refuse_seconds: 0`, so its resources come back at the next allocation.
    async fn offer(&mut self, what: &str, wanted: impl Fn(&Resources) -> bool) -> Offer {
        let mut seen = Vec::new();
        loop {
            let Seen::Offers(offers) = self.next().await else { continue };
            let mut found = None;
            for offer in offers {
                let resources = offered(&offer);
                if found.is_none() && wanted(&resources) {
                    found = Some(offer);
                } else {
                    seen.push(resources.to_string());
                    self.decline(&offer.id, 0.0).await;
                }
            }
            if let Some(offer) = found {
                return offer;
            }
            assert!(seen.len() < 100, "no offer with {what}; offered {seen:?}");
        }
    }

    /// Waits for the terminal state of task `id`; offers meanwhile are declined for
    /// `refuse_seconds: 0`.
    async fn terminal(&mut self, id: &str) -> TaskStatus {
        loop {
            match self.next().await {
                Seen::Status(status)
                    if status.task_id.value == id && status.state().is_terminal() =>
                {
                    return *status;
                }
                Seen::Offers(offers) => {
                    for offer in offers {
                        self.decline(&offer.id, 0.0).await;
                    }
                }
                Seen::Status(_) | Seen::Subscribed | Seen::Disconnected => {}
            }
        }
    }

    async fn accept(&self, offer: &Offer, operations: Vec<offer::Operation>) {
        let id = offer.id.clone();
        let filters = Some(refuse_for(std::time::Duration::ZERO));
        self.handle
            .call(move |_, driver| driver.accept(&[id], operations, filters))
            .await
            .expect("the driver runs");
    }

    async fn decline(&self, id: &OfferId, refuse_seconds: f64) {
        let (id, filters) = (id.clone(), mesos::Filters { refuse_seconds: Some(refuse_seconds) });
        self.handle
            .call(move |_, driver| driver.decline(&id, Some(filters)))
            .await
            .expect("the driver runs");
    }
}

/// An offer's resources as the agent's books hold them (without the allocation).
fn offered(offer: &Offer) -> Resources {
    let mut resources = mesos_framework::tasks::offered(offer);
    resources.unallocate();
    resources
}

/// `text` reserved dynamically to [`ROLE`] by [`PRINCIPAL`].
fn reserved(text: &str) -> Resources {
    let reservation = resource::dynamic_reservation(ROLE, Some(PRINCIPAL), None);
    Resources::parse(text).expect("resources").push_reservation(&reservation).expect("reserve")
}

/// The persistent volume: the reserved disk, mounted at `data` in a task's sandbox.
fn volume() -> mesos::Resource {
    let mut volume = reserved(VOLUME_DISK).to_protos().remove(0);
    volume.disk = Some(Box::new(DiskInfo {
        persistence: Some(disk_info::Persistence {
            id: VOLUME.into(),
            principal: Some(PRINCIPAL.into()),
        }),
        volume: Some(mesos::Volume {
            container_path: "data".into(),
            mode: mesos::volume::Mode::Rw as i32,
            ..Default::default()
        }),
        ..Default::default()
    }));
    volume
}

/// Whether `resources` hold the volume and the rest of the reservation.
fn has_volume_and_reservation(resources: &Resources) -> bool {
    let mut wanted = reserved("cpus:0.5;mem:128");
    wanted.push(volume()).expect("a volume");
    resources.contains(&wanted)
}

fn operation(kind: operation::Type) -> offer::Operation {
    offer::Operation { r#type: Some(kind as i32), ..Default::default() }
}

fn reserve(resources: &Resources) -> offer::Operation {
    let mut op = operation(operation::Type::Reserve);
    op.reserve = Some(operation::Reserve { resources: resources.to_protos(), source: vec![] });
    op
}

fn unreserve(resources: &Resources) -> offer::Operation {
    let mut op = operation(operation::Type::Unreserve);
    op.unreserve = Some(operation::Unreserve { resources: resources.to_protos() });
    op
}

fn create(volume: mesos::Resource) -> offer::Operation {
    let mut op = operation(operation::Type::Create);
    op.create = Some(operation::Create { volumes: vec![volume] });
    op
}

fn destroy(volume: mesos::Resource) -> offer::Operation {
    let mut op = operation(operation::Type::Destroy);
    op.destroy = Some(operation::Destroy { volumes: vec![volume] });
    op
}

/// LAUNCH of a command task `id` running `command` on reserved cpus and mem and the
/// volume.
fn launch_on_volume(offer: &Offer, id: &str, command: &str) -> offer::Operation {
    let mut resources = reserved("cpus:0.1;mem:32");
    resources.push(volume()).expect("a volume");
    let task = mesos_framework::tasks::command_task(id, id, offer, &resources, command);
    let mut op = operation(operation::Type::Launch);
    op.launch = Some(operation::Launch { task_infos: vec![task] });
    op
}

/// The agent of this test: started (and started again) on one listening socket, so it
/// keeps its address; its log lines come through `lines`.
struct Agent {
    program: PathBuf,
    args: Vec<String>,
    listener: TcpListener,
    child: Option<KillOnDrop>,
    lines: UnboundedReceiver<String>,
    lines_tx: UnboundedSender<String>,
}

impl Agent {
    fn new(bin: &Path, masters: &str, work_dir: &Path) -> Agent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen on a port the OS assigns");
        let port = listener.local_addr().expect("an address").port();
        let args = vec![
            format!("--master={masters}"),
            "--ip=127.0.0.1".into(),
            format!("--port={port}"),
            format!("--work_dir={}", work_dir.display()),
            format!("--launcher_dir={}", bin.display()),
            format!("--resources={AGENT_RESOURCES}"),
            "--recover=reconnect".into(),
            "--registration_backoff_factor=100ms".into(),
        ];
        let (lines_tx, lines) = unbounded_channel();
        let program = bin.join("mesos-agent");
        Agent { program, args, listener, child: None, lines, lines_tx }
    }

    /// Starts the agent and waits until its log says it `registered with master` (or
    /// `re-registered with master`, after a restart).
    async fn start(&mut self, wanted: &str) {
        let mut command = Command::new(&self.program);
        let fd = libprocess::inherit::pass_listener(&mut command, &self.listener);
        let mut child: Child = command
            .args(&self.args)
            .arg(format!("--listen_fd={fd}"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mesos-agent");
        let stderr = child.stderr.take().expect("piped stderr");
        self.child = Some(KillOnDrop(child));
        let tx = self.lines_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut seen = Vec::new();
        loop {
            let line = tokio::time::timeout(GUARD, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("the agent logged '{wanted}' in time: {seen:#?}"))
                .expect("the agent's log");
            if line.contains(wanted) {
                return;
            }
            seen.push(line);
        }
    }

    /// kill -9, and reaped.
    fn kill(&mut self) {
        drop(self.child.take());
    }
}

/// Issue 15's proof (Mesos's `PersistentVolumeTest.AccessPersistentVolume` with
/// `ReservationTest.ReserveAndLaunch`, across an agent restart and a master failover, on
/// real processes): the framework reserves, creates a volume and launches a task that
/// writes a file into it, in one ACCEPT; the task finishes and the volume is offered back.
/// The agent is killed -9, then the leading master; the agent starts again
/// (`--recover=reconnect`) and re-registers with the new leader, which offers the
/// reservation and the volume again; a second task reads the file. DESTROY and UNRESERVE
/// then give the agent's resources back unreserved, and the volume's folder is gone.
#[test]
fn reservation_and_volume_survive_agent_restart_and_master_failover() {
    let (mut local, ports) = start_local_with(3, 0, &[], &[]);
    let (leader_port, leader_pid, _) = leader_line(&local.lines);
    let masters = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>().join(",");
    let agent_dir = local.work_dir.join("agent");
    let later = forward(std::mem::replace(&mut local.later, mpsc::channel().1));
    let bin = local.work_dir.join("bin");
    let volume_dir = agent_dir.join("volumes/roles").join(ROLE).join(VOLUME);

    actix_rt::System::new().block_on(async move {
        let mut later = later;
        let mut agent = Agent::new(&bin, &masters, &agent_dir);
        agent.start("registered with master").await;
        let mut framework = start_framework(&masters);

        // One ACCEPT: RESERVE, CREATE on the reservation, LAUNCH on the volume.
        let offer = framework.offer("the agent's resources", |r| r.disk_mb() >= Some(64.0)).await;
        let writer = launch_on_volume(&offer, "writer", "echo persisted > data/greeting");
        let operations = vec![reserve(&reserved(RESERVED)), create(volume()), writer];
        framework.accept(&offer, operations).await;
        let status = framework.terminal("writer").await;
        assert_eq!(status.state(), TaskState::TaskFinished, "{status:?}");
        let offer = framework.offer("the volume", has_volume_and_reservation).await;
        let file = std::fs::read_to_string(volume_dir.join("greeting")).expect("the file");
        assert_eq!(file, "persisted\n");
        // Kept away from this leader: the next offer of them must come from the next one.
        framework.decline(&offer.id, 3600.0).await;

        agent.kill();
        kill(OsPid::from_raw(leader_pid), Signal::SIGKILL).expect("kill -9 the leader");
        let line = wait_line(&mut later, "mesos-local: leading master is now").await;
        assert!(!line.ends_with(&format!(":{leader_port}")), "another master leads: {line}");
        agent.start("re-registered with master").await;

        let offer = framework.offer("the volume after failover", has_volume_and_reservation).await;
        assert!(framework.subscriptions >= 2, "the framework subscribed to the new leader");
        let reader =
            launch_on_volume(&offer, "reader", "test \"$(cat data/greeting)\" = persisted");
        framework.accept(&offer, vec![reader]).await;
        let status = framework.terminal("reader").await;
        assert_eq!(status.state(), TaskState::TaskFinished, "the file was read: {status:?}");

        let offer = framework.offer("the volume to destroy", has_volume_and_reservation).await;
        let operations = vec![destroy(volume()), unreserve(&reserved(RESERVED))];
        framework.accept(&offer, operations).await;
        let all = Resources::parse(AGENT_RESOURCES).expect("resources");
        let offer = framework.offer("everything unreserved", |r| *r == all).await;
        framework.decline(&offer.id, 3600.0).await;
        assert!(!volume_dir.exists(), "DESTROY removed {}", volume_dir.display());

        framework.handle.call(|_, driver| driver.stop(false)).await.expect("the driver runs");
        framework.node.shutdown().await;
        agent.kill();
    });
    drop(local);
}

/// Starts the framework (role [`ROLE`], principal [`PRINCIPAL`], checkpointing) on a
/// node of its own, given every master, and waits until it subscribed.
fn start_framework(masters: &str) -> Framework {
    let node = mesos_framework::runtime::start_node().expect("a libprocess node");
    let mut info = framework_info("volumes");
    info.roles = vec![ROLE.into()];
    info.principal = Some(PRINCIPAL.into());
    info.checkpoint = Some(true);
    info.failover_timeout = Some(3600.0);
    info.capabilities = vec![mesos::framework_info::Capability {
        r#type: Some(mesos::framework_info::capability::Type::MultiRole as i32),
    }];
    let masters = mesos_framework::masters::parse_masters(masters).expect("masters");
    let mut config = SchedulerConfig::new(info, masters);
    config.registration_backoff_factor = std::time::Duration::from_millis(100);
    let (tx, seen) = unbounded_channel();
    let handle = spawn_scheduler(&node, config, Forwarder(tx)).expect("the driver starts");
    Framework { node, handle, seen, subscriptions: 0 }
}

/// Waits (with the guard) for a line of `mesos-local` starting with `prefix`.
async fn wait_line(lines: &mut UnboundedReceiver<String>, prefix: &str) -> String {
    loop {
        let line = tokio::time::timeout(GUARD, lines.recv())
            .await
            .unwrap_or_else(|_| panic!("mesos-local printed '{prefix}' in time"))
            .expect("mesos-local's output");
        if line.starts_with(prefix) {
            return line;
        }
    }
}

/// Forwards `lines` (a thread reads them) to an async channel.
fn forward(lines: mpsc::Receiver<String>) -> UnboundedReceiver<String> {
    let (tx, rx) = unbounded_channel();
    std::thread::spawn(move || {
        for line in lines {
            let _ = tx.send(line);
        }
    });
    rx
}
