//! The emulated agent against a scripted master on a simulated network with a paused
//! clock: registration, pings, a task that runs at once and finishes after its duration,
//! a kill, acknowledgements, and re-registration with the running task after the master
//! names a new leader, re-sent until that leader answers.

use std::sync::Arc;
use std::time::Duration;

use libprocess::{Clock, Context, Node, Pid, Process, SimNetwork};
use mesos_emulate::{AgentsConfig, Event, EventKind, Report, load, spawn_agents};
use mesos_proto::extensions::NewMasterDetectedMessage;
use mesos_proto::mesos::{self, TaskState, internal};
use tokio::sync::mpsc;

libprocess::protocol! {
    /// What the scripted master receives from the agent.
    #[derive(Debug, Clone)]
    pub enum FromAgent {
        /// A first registration.
        Register(internal::RegisterSlaveMessage),
        /// A re-registration.
        Reregister(internal::ReregisterSlaveMessage),
        /// A task's status update.
        Update(internal::StatusUpdateMessage),
        /// The answer to a ping.
        Pong(internal::PongSlaveMessage),
    }
}

/// Forwards what it receives to the test.
struct Recorder(mpsc::UnboundedSender<FromAgent>);

impl Process for Recorder {
    type Message = FromAgent;
    fn on_message(&mut self, _: Pid, message: FromAgent, _: &mut Context<'_, Self>) {
        let _ = self.0.send(message);
    }
}

fn node(sim: &SimNetwork, clock: &Clock, address: &str) -> Node {
    Node::builder(address.parse().unwrap()).simulated(sim).clock(clock.clone()).start().unwrap()
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>, clock: &Clock) -> T {
    clock.settle().await;
    rx.try_recv().expect("a message")
}

fn run_task(id: &str) -> internal::RunTaskMessage {
    let framework = mesos::FrameworkInfo {
        id: Some(mesos::FrameworkId { value: "fw".into() }),
        user: "u".into(),
        name: "fw".into(),
        ..Default::default()
    };
    let task = mesos::TaskInfo {
        name: id.into(),
        task_id: mesos::TaskId { value: id.into() },
        slave_id: mesos::SlaveId { value: "S1".into() },
        ..Default::default()
    };
    internal::RunTaskMessage { framework, task, ..Default::default() }
}

fn update_of(message: FromAgent) -> mesos::TaskStatus {
    match message {
        FromAgent::Update(m) => m.update.status,
        other => panic!("expected a status update, got {other:?}"),
    }
}

/// Register, ping, run (TASK_RUNNING at once, TASK_FINISHED after 5 s), kill
/// (TASK_KILLED), and re-register with the one task still running when told of a new
/// leader.
#[actix_rt::test]
async fn the_emulated_agent_runs_tasks_and_follows_the_leader() {
    let (sim, clock) = (SimNetwork::new(), Clock::paused());
    let masters = [node(&sim, &clock, "10.0.0.1:5050"), node(&sim, &clock, "10.0.0.2:5050")];
    let (tx, mut from_agent) = mpsc::unbounded_channel();
    let m1 = masters[0].spawn("master", Recorder(tx.clone())).unwrap();
    let m2 = masters[1].spawn("master", Recorder(tx)).unwrap();
    let agent_node = node(&sim, &clock, "10.0.1.1:5051");
    let (events_tx, mut events) = mpsc::unbounded_channel::<Event>();
    let report: Report = Arc::new(move |e| {
        let _ = events_tx.send(e);
    });
    let config = AgentsConfig {
        masters: vec![m1.pid().clone(), m2.pid().clone()],
        agents: 1,
        resources: Vec::new(),
        running: load::nothing(),
        reregister: false,
        task_duration: Some(Duration::from_secs(5)),
        prefix: "agent".into(),
    };
    let agents = spawn_agents(&agent_node, &actix_rt::Arbiter::current(), &config, &report);
    let agent = agents.unwrap().remove(0);
    let agent_pid = agent.pid().clone();
    agent.tell(|a, ctx| a.start(ctx)).unwrap();
    assert!(matches!(next(&mut from_agent, &clock).await, FromAgent::Register(_)));

    let slave_id = mesos::SlaveId { value: "S1".into() };
    let registered =
        internal::SlaveRegisteredMessage { slave_id: slave_id.clone(), ..Default::default() };
    m1.tell(move |_, ctx| ctx.send(&agent_pid, registered)).unwrap();
    assert_eq!(next(&mut events, &clock).await.kind, EventKind::Registered);

    let to = agent.pid().clone();
    m1.tell(move |_, ctx| ctx.send(&to, internal::PingSlaveMessage { connected: true })).unwrap();
    assert!(matches!(next(&mut from_agent, &clock).await, FromAgent::Pong(_)));

    for id in ["t1", "t2"] {
        let to = agent.pid().clone();
        m1.tell(move |_, ctx| ctx.send(&to, run_task(id))).unwrap();
        let status = update_of(next(&mut from_agent, &clock).await);
        assert_eq!(
            (status.task_id.value.as_str(), status.state),
            (id, TaskState::TaskRunning as i32)
        );
    }
    let to = agent.pid().clone();
    let kill = internal::KillTaskMessage {
        framework_id: mesos::FrameworkId { value: "fw".into() },
        task_id: mesos::TaskId { value: "t2".into() },
        ..Default::default()
    };
    m1.tell(move |_, ctx| ctx.send(&to, kill)).unwrap();
    assert_eq!(update_of(next(&mut from_agent, &clock).await).state, TaskState::TaskKilled as i32);
    let to = agent.pid().clone();
    let ack = internal::StatusUpdateAcknowledgementMessage {
        slave_id: slave_id.clone(),
        framework_id: mesos::FrameworkId { value: "fw".into() },
        task_id: mesos::TaskId { value: "t2".into() },
        uuid: Vec::new(),
    };
    m1.tell(move |_, ctx| ctx.send(&to, ack)).unwrap();

    // t1 runs for its 5 s, then finishes.
    clock.advance(Duration::from_secs(5));
    let status = update_of(next(&mut from_agent, &clock).await);
    assert_eq!(
        (status.task_id.value.as_str(), status.state),
        ("t1", TaskState::TaskFinished as i32)
    );

    // Told of another leader, it re-registers there with t1 (finished, unacknowledged);
    // t2 was acknowledged and is gone.
    let to = agent.pid().clone();
    let leader = m2.pid().to_string();
    m1.tell(move |_, ctx| ctx.send(&to, NewMasterDetectedMessage { pid: leader })).unwrap();
    match next(&mut from_agent, &clock).await {
        FromAgent::Reregister(m) => {
            let tasks: Vec<_> =
                m.tasks.iter().map(|t| (t.task_id.value.as_str(), t.state)).collect();
            assert_eq!(tasks, [("t1", TaskState::TaskFinished as i32)]);
            assert_eq!(m.slave.id, Some(slave_id));
        }
        other => panic!("expected a re-registration, got {other:?}"),
    }
    // Unanswered (the new leader may still be recovering), it sends it again after 1 s,
    // as Mesos agents register reliably (`Slave::doReliableRegistration`).
    clock.advance(Duration::from_secs(1));
    assert!(matches!(next(&mut from_agent, &clock).await, FromAgent::Reregister(_)));
}
