//! A simulated cluster: one master, fake agents and fake schedulers, a paused clock.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use libprocess::{Clock, Hooks, Node, Pid, ProcessRef, SimNetwork};
use mesos_master::launch::{Master, MasterOptions, spawn_master};
use mesos_proto::mesos::{self, internal, scheduler};
use mesos_proto::resources::Resources;
use tokio::sync::mpsc;

/// What a fake agent and a fake scheduler receive from the master.
pub use mesos_proto::inbox::{AgentInbox as AgentMsg, SchedulerInbox as SchedMsg};

#[path = "../common/recorder.rs"]
mod recorder;
pub use recorder::Recorder;

/// The simulated cluster.
pub struct Cluster {
    pub sim: SimNetwork,
    pub clock: Clock,
    pub hooks: Arc<Hooks>,
    pub node: Node,
    pub master: Master,
    /// Every master of an HA cluster (the first is also `node`/`master`).
    pub masters: Vec<(Node, Master)>,
    next_host: std::cell::Cell<u8>,
}

impl Cluster {
    /// A master at 10.0.0.1:5050 with Mesos's defaults changed by `tweak`.
    pub fn start(tweak: impl FnOnce(&mut MasterOptions)) -> Cluster {
        let sim = SimNetwork::new();
        let clock = Clock::paused();
        let hooks = Arc::new(Hooks::default());
        let node = Node::builder("10.0.0.1:5050".parse().unwrap())
            .simulated(&sim)
            .clock(clock.clone())
            .hooks(hooks.clone())
            .start()
            .unwrap();
        let mut options = MasterOptions::with_id("c0ffee00-0000-4000-8000-000000000001");
        tweak(&mut options);
        let master = spawn_master(&node, options).unwrap();
        let masters = vec![(node.clone(), master.clone())];
        Cluster { sim, clock, hooks, node, master, masters, next_host: std::cell::Cell::new(1) }
    }

    /// `n` masters at 10.0.0.1..n:5050 replicating their registry with raft (in-memory
    /// raft logs), each with Mesos's defaults changed by `tweak`.
    pub fn start_ha(n: u8, tweak: impl Fn(&mut MasterOptions)) -> Cluster {
        Cluster::start_ha_on(SimNetwork::new(), Clock::paused(), n, None, tweak)
    }

    /// Like [`Cluster::start_ha`], on a given network and clock, with the raft logs in
    /// sled under `dirs[i]` when given (so a restart finds them).
    pub fn start_ha_on(
        sim: SimNetwork,
        clock: Clock,
        n: u8,
        dirs: Option<&[std::path::PathBuf]>,
        tweak: impl Fn(&mut MasterOptions),
    ) -> Cluster {
        use mesos_registrar::{
            LogBackend, MemBackend, RaftRegistrar, RaftRegistrarConfig, SledBackend,
        };
        let hooks = Arc::new(Hooks::default());
        let addresses: Vec<std::net::SocketAddr> =
            (1..=n).map(|i| format!("10.0.0.{i}:5050").parse().unwrap()).collect();
        let masters: Vec<(Node, Master)> = addresses
            .iter()
            .enumerate()
            .map(|(i, address)| {
                let node = Node::builder(*address)
                    .simulated(&sim)
                    .clock(clock.clone())
                    .hooks(hooks.clone())
                    .start()
                    .unwrap();
                let backend: Box<dyn LogBackend> = match dirs {
                    Some(dirs) => Box::new(SledBackend::open(&dirs[i]).unwrap()),
                    None => Box::new(MemBackend::new()),
                };
                let registrar = RaftRegistrar::start(
                    &node,
                    RaftRegistrarConfig::new(addresses.clone()),
                    backend,
                )
                .unwrap();
                let mut options =
                    MasterOptions::with_id(format!("c0ffee00-0000-4000-8000-00000000000{}", i + 1));
                tweak(&mut options);
                let master =
                    mesos_master::launch::spawn_master_with(&node, options, Arc::new(registrar))
                        .unwrap();
                (node, master)
            })
            .collect();
        let (node, master) = masters[0].clone();
        Cluster { sim, clock, hooks, node, master, masters, next_host: std::cell::Cell::new(1) }
    }

    /// Advances the clock in 100 ms steps until a master leads (at most 30 s of clock
    /// time); returns its index.
    pub async fn elect(&self) -> usize {
        for _ in 0..300 {
            for (i, (_, master)) in self.masters.iter().enumerate() {
                let leading = master
                    .master
                    .dispatch(|m, _| {
                        matches!(m.role(), mesos_master::process::Role::Leading { .. })
                    })
                    .await
                    .unwrap_or(false);
                if leading {
                    return i;
                }
            }
            self.advance(Duration::from_millis(100)).await;
        }
        panic!("no master was elected within 30 s of clock time");
    }

    /// Kills the machine of master `leader` (its node shuts down, as with `kill -9`) and
    /// advances the clock in 100 ms steps until another master leads (at most 30 s of
    /// clock time); returns its index.
    pub async fn fail_over(&self, leader: usize) -> usize {
        self.masters[leader].0.shutdown().await;
        for _ in 0..300 {
            self.advance(Duration::from_millis(100)).await;
            for i in (0..self.masters.len()).filter(|i| *i != leader) {
                let role = self.masters[i].1.master.dispatch(|m, _| m.role().clone()).await;
                if matches!(role, Ok(mesos_master::process::Role::Leading { .. })) {
                    return i;
                }
            }
        }
        panic!("no new leader within 30 s of clock time");
    }

    pub fn master_pid(&self) -> Pid {
        self.master.master.pid().clone()
    }

    pub async fn settle(&self) {
        self.clock.settle().await;
    }

    /// Advances the paused clock and lets everything that came due run.
    pub async fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.clock.settle().await;
    }

    fn host(&self, prefix: &str, port: u16) -> Node {
        let n = self.next_host.get();
        self.next_host.set(n + 1);
        Node::builder(format!("10.0.{prefix}.{n}:{port}").parse().unwrap())
            .simulated(&self.sim)
            .clock(self.clock.clone())
            .hooks(self.hooks.clone())
            .start()
            .unwrap()
    }

    /// A fake agent with `resources` (Mesos syntax), not yet registered.
    pub fn agent(&self, resources: &str) -> FakeAgent {
        let node = self.host("1", 5051);
        let (tx, rx) = mpsc::unbounded_channel();
        let pong = Arc::new(AtomicBool::new(true));
        let process = node.spawn("slave(1)", Recorder { tx, pong: pong.clone() }).unwrap();
        FakeAgent {
            node,
            process,
            rx,
            pong,
            master: self.master_pid(),
            resources: resources.to_string(),
            id: None,
        }
    }

    /// A fake scheduler, not yet subscribed.
    pub fn scheduler(&self) -> FakeScheduler {
        let node = self.host("2", 8080);
        let (tx, rx) = mpsc::unbounded_channel();
        let process = node.spawn("scheduler(1)", Recorder::new(tx)).unwrap();
        FakeScheduler {
            node,
            process,
            rx,
            master: self.master_pid(),
            id: None,
            pending: Vec::new(),
        }
    }

    /// Reads the master's core.
    pub async fn inspect<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mesos_master::core::MasterCore) -> R + Send + 'static,
    ) -> R {
        self.master.master.dispatch(move |m, _| f(m.core())).await.unwrap()
    }
}

pub struct FakeAgent {
    pub node: Node,
    pub process: ProcessRef<Recorder<AgentMsg>>,
    rx: mpsc::UnboundedReceiver<AgentMsg>,
    pub pong: Arc<AtomicBool>,
    pub master: Pid,
    resources: String,
    pub id: Option<mesos::SlaveId>,
}

impl FakeAgent {
    pub fn pid(&self) -> &Pid {
        self.process.pid()
    }

    pub fn info(&self) -> mesos::SlaveInfo {
        mesos::SlaveInfo {
            hostname: format!("host-{}", self.pid().address().ip()),
            port: Some(5051),
            resources: Resources::parse(&self.resources).unwrap().to_protos(),
            id: self.id.clone(),
            ..Default::default()
        }
    }

    pub fn send<T: libprocess::ProtoMessage>(&self, message: T) {
        self.node.send(self.pid(), &self.master, message);
    }

    /// Registers and returns the assigned id (the cluster must be settled after).
    pub async fn register(&mut self, cluster: &Cluster) -> mesos::SlaveId {
        self.send(internal::RegisterSlaveMessage {
            slave: self.info(),
            version: Some("1.11.0".into()),
            ..Default::default()
        });
        cluster.settle().await;
        let id = self
            .drain()
            .into_iter()
            .find_map(|m| match m {
                AgentMsg::Registered(r) => Some(r.slave_id),
                _ => None,
            })
            .expect("SlaveRegisteredMessage");
        self.id = Some(id.clone());
        id
    }

    /// Everything received so far.
    pub fn drain(&mut self) -> Vec<AgentMsg> {
        let mut all = Vec::new();
        while let Ok(m) = self.rx.try_recv() {
            all.push(m);
        }
        all
    }

    /// Sends a status update for `task` as an agent does (with a uuid).
    pub fn update(
        &self,
        framework_id: &mesos::FrameworkId,
        task_id: &str,
        state: mesos::TaskState,
        uuid: &[u8],
    ) {
        let status = mesos::TaskStatus {
            task_id: mesos::TaskId { value: task_id.into() },
            state: state as i32,
            source: Some(mesos::task_status::Source::Executor as i32),
            slave_id: self.id.clone(),
            uuid: Some(uuid.to_vec()),
            timestamp: Some(1.0),
            ..Default::default()
        };
        self.send(internal::StatusUpdateMessage {
            update: internal::StatusUpdate {
                framework_id: framework_id.clone(),
                executor_id: None,
                slave_id: self.id.clone(),
                status,
                timestamp: 1.0,
                uuid: Some(uuid.to_vec()),
                latest_state: None,
            },
            pid: Some(self.pid().to_string()),
        });
    }
}

pub struct FakeScheduler {
    pub node: Node,
    pub process: ProcessRef<Recorder<SchedMsg>>,
    rx: mpsc::UnboundedReceiver<SchedMsg>,
    pub master: Pid,
    pub id: Option<mesos::FrameworkId>,
    pub pending: Vec<SchedMsg>,
}

/// A FrameworkInfo for tests.
pub fn framework_info(name: &str) -> mesos::FrameworkInfo {
    mesos::FrameworkInfo { user: "test".into(), name: name.into(), ..Default::default() }
}

impl FakeScheduler {
    pub fn pid(&self) -> &Pid {
        self.process.pid()
    }

    /// Follows a new leader at `master`: forgets what it had received and re-subscribes
    /// as `framework_id` with `info`, forcing the takeover (what a scheduler driver does
    /// after a master failover).
    pub fn resubscribe(
        &mut self,
        master: Pid,
        framework_id: &mesos::FrameworkId,
        info: mesos::FrameworkInfo,
    ) {
        self.master = master;
        self.drain();
        self.call(scheduler::Call {
            framework_id: Some(framework_id.clone()),
            r#type: Some(scheduler::call::Type::Subscribe as i32),
            subscribe: Some(scheduler::call::Subscribe {
                framework_info: info,
                force: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        });
    }

    pub fn call(&self, mut call: scheduler::Call) {
        if call.framework_id.is_none() {
            call.framework_id = self.id.clone();
        }
        self.node.send(self.pid(), &self.master, call);
    }

    /// Subscribes with `info` and returns the framework id (settles the cluster).
    pub async fn subscribe(
        &mut self,
        cluster: &Cluster,
        info: mesos::FrameworkInfo,
    ) -> mesos::FrameworkId {
        let framework_id = info.id.clone();
        self.call(scheduler::Call {
            framework_id,
            r#type: Some(scheduler::call::Type::Subscribe as i32),
            subscribe: Some(scheduler::call::Subscribe {
                framework_info: info,
                ..Default::default()
            }),
            ..Default::default()
        });
        cluster.settle().await;
        let mut rest = Vec::new();
        let mut id = None;
        for m in self.drain() {
            match m {
                SchedMsg::Registered(r) => id = Some(r.framework_id),
                SchedMsg::Reregistered(r) => id = Some(r.framework_id),
                other => rest.push(other),
            }
        }
        let id = id.expect("FrameworkRegisteredMessage");
        self.id = Some(id.clone());
        self.pending = rest;
        id
    }

    pub fn drain(&mut self) -> Vec<SchedMsg> {
        let mut all = std::mem::take(&mut self.pending);
        while let Ok(m) = self.rx.try_recv() {
            all.push(m);
        }
        all
    }

    /// Offers received so far (drains).
    pub fn offers(&mut self) -> Vec<mesos::Offer> {
        self.drain()
            .into_iter()
            .flat_map(|m| match m {
                SchedMsg::Offers(o) => o.offers,
                _ => Vec::new(),
            })
            .collect()
    }

    /// Status updates received so far (drains).
    pub fn updates(&mut self) -> Vec<mesos::TaskStatus> {
        self.drain()
            .into_iter()
            .filter_map(|m| match m {
                SchedMsg::Update(u) => Some(u.update.status),
                _ => None,
            })
            .collect()
    }

    pub fn accept(
        &self,
        offer_ids: Vec<mesos::OfferId>,
        tasks: Vec<mesos::TaskInfo>,
        refuse_seconds: f64,
    ) {
        use mesos::offer::operation;
        self.call(scheduler::Call {
            r#type: Some(scheduler::call::Type::Accept as i32),
            accept: Some(scheduler::call::Accept {
                offer_ids,
                operations: vec![mesos::offer::Operation {
                    r#type: Some(operation::Type::Launch as i32),
                    launch: Some(operation::Launch { task_infos: tasks }),
                    ..Default::default()
                }],
                filters: Some(mesos::Filters { refuse_seconds: Some(refuse_seconds) }),
            }),
            ..Default::default()
        });
    }

    /// ACCEPT with any operations (no filters).
    pub fn accept_operations(
        &self,
        offer_ids: Vec<mesos::OfferId>,
        operations: Vec<mesos::offer::Operation>,
    ) {
        self.call(scheduler::Call {
            r#type: Some(scheduler::call::Type::Accept as i32),
            accept: Some(scheduler::call::Accept { offer_ids, operations, filters: None }),
            ..Default::default()
        });
    }

    /// Operation status updates received so far (drains).
    pub fn operation_statuses(&mut self) -> Vec<mesos::OperationStatus> {
        self.drain()
            .into_iter()
            .filter_map(|m| match m {
                SchedMsg::OperationStatus(u) => Some(u.status),
                _ => None,
            })
            .collect()
    }

    pub fn decline(&self, offer_ids: Vec<mesos::OfferId>, refuse_seconds: f64) {
        self.call(scheduler::Call {
            r#type: Some(scheduler::call::Type::Decline as i32),
            decline: Some(scheduler::call::Decline {
                offer_ids,
                filters: Some(mesos::Filters { refuse_seconds: Some(refuse_seconds) }),
            }),
            ..Default::default()
        });
    }
}

/// A command task using `resources` of `offer`'s agent.
pub fn task(id: &str, offer: &mesos::Offer, resources: &str) -> mesos::TaskInfo {
    mesos::TaskInfo {
        name: id.into(),
        task_id: mesos::TaskId { value: id.into() },
        slave_id: offer.slave_id.clone(),
        resources: Resources::parse(resources).unwrap().to_protos(),
        command: Some(mesos::CommandInfo {
            value: Some("sleep 1000".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Registers one agent and one framework and returns the first offer.
pub async fn agent_framework_offer(
    cluster: &Cluster,
    resources: &str,
) -> (FakeAgent, FakeScheduler, mesos::Offer) {
    let mut agent = cluster.agent(resources);
    agent.register(cluster).await;
    let mut scheduler = cluster.scheduler();
    scheduler.subscribe(cluster, framework_info("fw")).await;
    cluster.settle().await;
    let mut offers = scheduler.offers();
    assert_eq!(offers.len(), 1, "one offer for the one agent");
    (agent, scheduler, offers.remove(0))
}
