//! A small v0 scheduler for tests against our real master: it subscribes with
//! `scheduler::Call`s over libprocess, keeps the offers it holds, acknowledges every
//! status update as it arrives (as a framework driver does) and records them all.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use libprocess::{Context, Node, Pid, Process, ProcessRef};
use mesos_proto::mesos::{self, scheduler};
use mesos_proto::resources::Resources;
use tokio::sync::mpsc;

/// What the scheduler receives from the master.
pub use mesos_proto::inbox::SchedulerInbox as SchedMsg;

/// Acknowledges every status update at once, as a scheduler driver does, and
/// passes every message to the test.
pub struct Forwarder {
    tx: mpsc::UnboundedSender<SchedMsg>,
    master: Pid,
}

impl Process for Forwarder {
    type Message = SchedMsg;
    fn on_message(&mut self, _from: Pid, message: SchedMsg, ctx: &mut Context<'_, Self>) {
        if let SchedMsg::Update(m) = &message
            && let (Some(uuid), Some(agent_id)) =
                (m.update.uuid.clone(), m.update.status.slave_id.clone())
        {
            let acknowledge = scheduler::call::Acknowledge {
                slave_id: agent_id,
                task_id: m.update.status.task_id.clone(),
                uuid,
            };
            let call = scheduler::Call {
                framework_id: Some(m.update.framework_id.clone()),
                r#type: Some(scheduler::call::Type::Acknowledge as i32),
                acknowledge: Some(acknowledge),
                ..Default::default()
            };
            ctx.send(&self.master, call);
        }
        let _ = self.tx.send(message);
    }
}

/// The scheduler, driven by the test.
pub struct Scheduler {
    node: Node,
    process: ProcessRef<Forwarder>,
    rx: mpsc::UnboundedReceiver<SchedMsg>,
    master: Pid,
    /// The framework id, once subscribed.
    pub framework_id: Option<mesos::FrameworkId>,
    /// Offers held (not yet used, not rescinded).
    pub offers: BTreeMap<String, mesos::Offer>,
    /// Every status update received, in order.
    pub updates: Vec<mesos::TaskStatus>,
}

impl Scheduler {
    /// A scheduler on its own node on loopback, talking to `master`.
    pub fn start(master: Pid) -> Scheduler {
        let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap())
            .start()
            .expect("scheduler node");
        Scheduler::on(node, master)
    }

    /// A scheduler on `node` (e.g. a simulated one), talking to `master`.
    pub fn on(node: Node, master: Pid) -> Scheduler {
        let (tx, rx) = mpsc::unbounded_channel();
        let process = node
            .spawn("scheduler(1)", Forwarder { tx, master: master.clone() })
            .expect("scheduler process");
        Scheduler {
            node,
            process,
            rx,
            master,
            framework_id: None,
            offers: BTreeMap::new(),
            updates: Vec::new(),
        }
    }

    /// Sends a call to the master (with our framework id).
    pub fn call(&self, mut call: scheduler::Call) {
        if call.framework_id.is_none() {
            call.framework_id = self.framework_id.clone();
        }
        self.node.send(self.process.pid(), &self.master, call);
    }

    /// The scheduler's pid.
    pub fn pid(&self) -> &Pid {
        self.process.pid()
    }

    /// Handles one message from the master, failing the test if none comes within
    /// 60 s (a guard against hangs, not a wait).
    pub async fn step(&mut self) -> SchedMsg {
        let message = tokio::time::timeout(Duration::from_secs(60), self.rx.recv())
            .await
            .expect("timed out waiting for the master")
            .expect("scheduler process gone");
        self.handle(message)
    }

    /// Keeps offers, acknowledges and records updates.
    fn handle(&mut self, message: SchedMsg) -> SchedMsg {
        match &message {
            SchedMsg::Registered(m) => self.framework_id = Some(m.framework_id.clone()),
            SchedMsg::Reregistered(m) => self.framework_id = Some(m.framework_id.clone()),
            SchedMsg::Offers(m) => {
                for offer in &m.offers {
                    self.offers.insert(offer.id.value.clone(), offer.clone());
                }
            }
            SchedMsg::Rescind(m) => {
                self.offers.remove(&m.offer_id.value);
            }
            SchedMsg::Update(m) => self.updates.push(m.update.status.clone()),
            SchedMsg::Error(m) => panic!("framework error: {}", m.message),
            _ => {}
        }
        message
    }

    /// Subscribes with `info` and waits for the framework id.
    pub async fn subscribe(&mut self, info: mesos::FrameworkInfo) -> mesos::FrameworkId {
        self.call(scheduler::Call {
            r#type: Some(scheduler::call::Type::Subscribe as i32),
            subscribe: Some(scheduler::call::Subscribe {
                framework_info: info,
                ..Default::default()
            }),
            ..Default::default()
        });
        loop {
            if let SchedMsg::Registered(m) = self.step().await {
                return m.framework_id;
            }
        }
    }

    /// An offer held now, or the next one to arrive.
    pub async fn offer(&mut self) -> mesos::Offer {
        loop {
            if let Some(offer) = self.offers.values().next() {
                return offer.clone();
            }
            self.step().await;
        }
    }

    /// Launches `task` on `offer` (its unused resources are offered again at once).
    pub fn launch(&mut self, offer: &mesos::Offer, task: mesos::TaskInfo) {
        use mesos::offer::operation;
        self.offers.remove(&offer.id.value);
        self.call(scheduler::Call {
            r#type: Some(scheduler::call::Type::Accept as i32),
            accept: Some(scheduler::call::Accept {
                offer_ids: vec![offer.id.clone()],
                operations: vec![mesos::offer::Operation {
                    r#type: Some(operation::Type::Launch as i32),
                    launch: Some(operation::Launch { task_infos: vec![task] }),
                    ..Default::default()
                }],
                filters: Some(mesos::Filters { refuse_seconds: Some(0.0) }),
            }),
            ..Default::default()
        });
    }

    /// Waits for the update of `task_id` to `state` (acknowledging everything on the
    /// way); fails the test if the task reaches another terminal state first.
    pub async fn wait_update(
        &mut self,
        task_id: &str,
        state: mesos::TaskState,
    ) -> mesos::TaskStatus {
        loop {
            if let SchedMsg::Update(m) = self.step().await {
                let status = m.update.status;
                if status.task_id.value != task_id {
                    continue;
                }
                if status.state == state as i32 {
                    return status;
                }
                assert!(
                    !status.state().is_terminal(),
                    "task {task_id} ended {:?} ({:?}) while waiting for {state:?}",
                    status.state(),
                    status.message
                );
            }
        }
    }

    /// How many updates of `task_id` to `state` were received so far.
    pub fn count(&self, task_id: &str, state: mesos::TaskState) -> usize {
        self.updates
            .iter()
            .filter(|s| s.task_id.value == task_id && s.state == state as i32)
            .count()
    }

    /// Handles whatever has already arrived, without waiting; returns it.
    pub fn drain(&mut self) -> Vec<SchedMsg> {
        let mut all = Vec::new();
        while let Ok(message) = self.rx.try_recv() {
            all.push(self.handle(message));
        }
        all
    }

    /// Stops the scheduler's node.
    pub async fn shutdown(self) {
        self.node.shutdown().await;
    }
}

/// A command task using `resources` (Mesos syntax) of `offer`'s agent.
pub fn command_task(
    id: &str,
    offer: &mesos::Offer,
    resources: &str,
    command: &str,
) -> mesos::TaskInfo {
    mesos::TaskInfo {
        name: id.into(),
        task_id: mesos::TaskId { value: id.into() },
        slave_id: offer.slave_id.clone(),
        resources: Resources::parse(resources).expect("resources").to_protos(),
        command: Some(mesos::CommandInfo {
            value: Some(command.into()),
            shell: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}
