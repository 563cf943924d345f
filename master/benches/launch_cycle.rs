//! The leader's work per task in E2E-1's steady state, in one thread and on virtual
//! time: the master's core and the allocator's core driven directly (no actors, no
//! sockets), so its instruction counts repeat from run to run where the real-process
//! bench (`e2e1_real.rs`) is at the mercy of a shared machine. A `--release` bench
//! binary printing one line.
//!
//! ```text
//! cargo bench -p mesos-master --bench launch_cycle -- [--agents 10000] [--frameworks 200]
//!     [--slots 2] [--task-ms 30000] [--spread-ms 10000] [--warmup-s 60] [--measure-s 60]
//! valgrind --tool=callgrind --toggle-collect='*launch_cycle*measured*' \
//!     target/release/deps/launch_cycle-<hash> --agents 10000 --measure-s 20
//! ```
//!
//! The cycle of one task, as in E2E-1 (docs/benchmarks.md):
//!
//! 1. A task ends: the agent's `TASK_FINISHED` update goes to the master, which records
//!    it, gives the resources back to the allocator and forwards the update; the
//!    framework acknowledges it and the master forwards the acknowledgement.
//! 2. The allocator's event-triggered round offers the freed resources to the framework
//!    lowest in DRF order (a batch round over every agent each virtual second).
//! 3. The framework accepts the offer with one task (`cpus:1;mem:512`, filters of 0 s);
//!    the master launches it (`RunTaskMessage`) and the rest goes back to the allocator.
//! 4. The agent answers `TASK_RUNNING`; the master records and forwards it, the framework
//!    acknowledges it.
//!
//! Every message the master sends is encoded and every call it receives decoded, as on
//! the wire. Tasks last a uniform draw of `--task-ms` +- `--spread-ms` (seeded), so the
//! same run makes the same calls.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hint::black_box;
use std::time::{Duration, Instant};

use libprocess::{Pid, Time};
use mesos_master::allocator::process::apply_call;
use mesos_master::allocator::{Allocator, AllocatorConfig};
use mesos_master::core::{AllocationDecision, MasterConfig, MasterCore, Outgoing, Output};
use mesos_proto::mesos::{self, internal, scheduler};
use mesos_proto::resources::Resources;
use prost::Message;

/// What the agents and frameworks will send the master next, oldest first.
enum Inbound {
    Call { from: usize, call: Vec<u8> },
    Update { agent: usize, message: Vec<u8> },
}

/// A launched task, to end later.
struct Running {
    agent: usize,
    framework_id: mesos::FrameworkId,
    task_id: mesos::TaskId,
}

/// The settings of a run.
#[derive(Clone, Copy)]
struct Options {
    agents: usize,
    frameworks: usize,
    slots: usize,
    task_ms: u64,
    spread_ms: u64,
    warmup_s: u64,
    measure_s: u64,
}

/// What a run counted.
#[derive(Default, Clone, Copy)]
struct Counts {
    launches: u64,
    updates: u64,
    offers: u64,
    rounds: u64,
}

struct Sim {
    core: MasterCore,
    allocator: Allocator<Resources>,
    now: Duration,
    agent_pids: Vec<Pid>,
    agent_index: HashMap<Pid, usize>,
    framework_pids: Vec<Pid>,
    framework_index: HashMap<Pid, usize>,
    framework_ids: Vec<Option<mesos::FrameworkId>>,
    inbound: VecDeque<Inbound>,
    ends: BinaryHeap<Reverse<(Duration, u64)>>,
    running: HashMap<u64, Running>,
    next_task: u64,
    next_uuid: u64,
    trigger: bool,
    rng: u64,
    options: Options,
    counts: Counts,
    /// Bytes encoded, so the encoding is not optimised away.
    bytes: usize,
}

impl Sim {
    fn new(options: Options) -> Sim {
        let pid = "master@10.255.0.1:5050".parse().expect("a pid");
        let config = MasterConfig::with_defaults(pid, "m1", "m1");
        let now = Duration::from_secs(1_000_000);
        let agent_pids: Vec<Pid> = (0..options.agents)
            .map(|i| {
                let address = format!("10.{}.{}.{}:5051", i / 65536, (i / 256) % 256, i % 256);
                format!("slave(1)@{address}").parse().expect("a pid")
            })
            .collect();
        let framework_pids: Vec<Pid> = (0..options.frameworks)
            .map(|i| format!("scheduler({})@10.254.0.1:6000", i + 1).parse().expect("a pid"))
            .collect();
        Sim {
            core: MasterCore::new(config, Time::from_epoch(now)),
            allocator: Allocator::new(AllocatorConfig::default()),
            now,
            agent_index: agent_pids.iter().cloned().enumerate().map(|(i, p)| (p, i)).collect(),
            agent_pids,
            framework_index: framework_pids
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, p)| (p, i))
                .collect(),
            framework_ids: vec![None; options.frameworks],
            framework_pids,
            inbound: VecDeque::new(),
            ends: BinaryHeap::new(),
            running: HashMap::new(),
            next_task: 0,
            next_uuid: 0,
            trigger: false,
            rng: 0x5eed,
            options,
            counts: Counts::default(),
            bytes: 0,
        }
    }

    fn time(&self) -> Time {
        Time::from_epoch(self.now)
    }

    fn register_agents(&mut self) {
        let slots = self.options.slots;
        let resources = Resources::parse(&format!("cpus:{slots};mem:{}", slots * 512))
            .expect("resources")
            .to_protos();
        for i in 0..self.options.agents {
            let slave = mesos::SlaveInfo {
                hostname: format!("agent{i}"),
                resources: resources.clone(),
                ..Default::default()
            };
            let message = internal::RegisterSlaveMessage { slave, ..Default::default() };
            let pid = self.agent_pids[i].clone();
            if let Err(error) = self.core.on_register_agent(&pid, message, self.time()) {
                panic!("agent {i} refused: {error}");
            }
            self.pump();
        }
    }

    fn subscribe_frameworks(&mut self) {
        for i in 0..self.options.frameworks {
            let call = scheduler::Call {
                r#type: Some(scheduler::call::Type::Subscribe as i32),
                subscribe: Some(scheduler::call::Subscribe {
                    framework_info: mesos::FrameworkInfo {
                        user: "bench".into(),
                        name: format!("busy{i}"),
                        roles: vec!["*".into()],
                        capabilities: vec![mesos::framework_info::Capability {
                            r#type: Some(mesos::framework_info::capability::Type::MultiRole as i32),
                        }],
                        ..Default::default()
                    },
                    ..Default::default()
                }),
                ..Default::default()
            };
            self.inbound.push_back(Inbound::Call { from: i, call: call.encode_to_vec() });
            self.pump();
        }
    }

    /// Runs until nothing is left to do at this instant: inbound messages, the core's
    /// outputs, and one event-triggered round whenever a call asked for one.
    fn pump(&mut self) {
        loop {
            self.drain();
            if let Some(inbound) = self.inbound.pop_front() {
                self.deliver(inbound);
                continue;
            }
            if !self.trigger {
                return;
            }
            self.trigger = false;
            self.round(false);
        }
    }

    fn round(&mut self, full: bool) {
        self.counts.rounds += 1;
        let allocations = if full {
            self.allocator.allocate(self.now)
        } else {
            self.allocator.allocate_candidates(self.now)
        };
        if allocations.is_empty() {
            return;
        }
        let decisions = allocations.into_iter().map(AllocationDecision::from).collect();
        self.core.on_allocations(decisions);
    }

    fn deliver(&mut self, inbound: Inbound) {
        let now = self.time();
        match inbound {
            Inbound::Call { from, call } => {
                let call = scheduler::Call::decode(call.as_slice()).expect("a call");
                let pid = self.framework_pids[from].clone();
                if let Err(error) = self.core.on_scheduler_call(&pid, call, now) {
                    panic!("call refused: {error}");
                }
            }
            Inbound::Update { agent, message } => {
                let message =
                    internal::StatusUpdateMessage::decode(message.as_slice()).expect("an update");
                let pid = self.agent_pids[agent].clone();
                if let Err(error) = self.core.on_status_update(&pid, message) {
                    panic!("update refused: {error}");
                }
            }
        }
    }

    /// The core's outputs: sends answered by the emulated peers, allocator calls applied,
    /// registry changes committed.
    fn drain(&mut self) {
        loop {
            let outputs = self.core.drain_outputs();
            if outputs.is_empty() {
                return;
            }
            for output in outputs {
                match output {
                    Output::Send { to, message } => self.on_send(to, *message),
                    Output::Allocator(call) => {
                        self.trigger |= apply_call(&mut self.allocator, call, self.now);
                    }
                    Output::Registry { after, .. } => {
                        self.core.on_registry_result(after, Ok(()), self.time());
                    }
                    Output::Link(_)
                    | Output::Timer { .. }
                    | Output::Event(_)
                    | Output::OperatorReply { .. } => {}
                }
            }
        }
    }

    fn on_send(&mut self, to: Pid, message: Outgoing) {
        self.bytes += encoded_len(&message);
        match message {
            Outgoing::FrameworkRegistered(m) => {
                let i = self.framework_index[&to];
                self.framework_ids[i] = Some(m.framework_id);
            }
            Outgoing::ResourceOffers(m) => {
                let i = self.framework_index[&to];
                for offer in m.offers {
                    self.counts.offers += 1;
                    self.accept(i, offer);
                }
            }
            Outgoing::StatusUpdate(m) => {
                let i = self.framework_index[&to];
                let (Some(uuid), Some(slave_id)) = (m.update.status.uuid, m.update.slave_id) else {
                    return;
                };
                let call = scheduler::Call {
                    framework_id: self.framework_ids[i].clone(),
                    r#type: Some(scheduler::call::Type::Acknowledge as i32),
                    acknowledge: Some(scheduler::call::Acknowledge {
                        slave_id,
                        task_id: m.update.status.task_id,
                        uuid,
                    }),
                    ..Default::default()
                };
                self.inbound.push_back(Inbound::Call { from: i, call: call.encode_to_vec() });
            }
            Outgoing::RunTask(m) => {
                let agent = self.agent_index[&to];
                let (task, Some(framework_id)) = (m.task, m.framework.id) else { return };
                self.counts.launches += 1;
                self.update(agent, &framework_id, &task.task_id, mesos::TaskState::TaskRunning);
                let key = self.next_task;
                self.next_task += 1;
                let spread = self.options.spread_ms;
                let ms =
                    self.options.task_ms.saturating_sub(spread) + self.random() % (2 * spread + 1);
                self.ends.push(Reverse((self.now + Duration::from_millis(ms), key)));
                self.running.insert(key, Running { agent, framework_id, task_id: task.task_id });
            }
            _ => {}
        }
    }

    /// The framework launches one task on the offer if it holds one (filters of 0 s, as
    /// the emulated frameworks do).
    fn accept(&mut self, framework: usize, offer: mesos::Offer) {
        let pick = |name: &str| offer.resources.iter().find(|r| r.name == name).cloned();
        let holds = |r: &Option<mesos::Resource>, want: f64| {
            r.as_ref().and_then(|r| r.scalar.as_ref()).is_some_and(|s| s.value >= want)
        };
        let (cpus, mem) = (pick("cpus"), pick("mem"));
        let operations = match (cpus, mem) {
            (Some(mut cpus), Some(mut mem))
                if holds(&Some(cpus.clone()), 1.0) && holds(&Some(mem.clone()), 512.0) =>
            {
                cpus.scalar = Some(mesos::value::Scalar { value: 1.0 });
                mem.scalar = Some(mesos::value::Scalar { value: 512.0 });
                self.next_uuid += 1;
                let id = format!("busy{framework}-task{}", self.next_uuid);
                vec![mesos::offer::Operation {
                    r#type: Some(mesos::offer::operation::Type::Launch as i32),
                    launch: Some(mesos::offer::operation::Launch {
                        task_infos: vec![mesos::TaskInfo {
                            name: id.clone(),
                            task_id: mesos::TaskId { value: id },
                            slave_id: offer.slave_id.clone(),
                            resources: vec![cpus, mem],
                            command: Some(mesos::CommandInfo {
                                value: Some("true".into()),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }],
                    }),
                    ..Default::default()
                }]
            }
            _ => Vec::new(),
        };
        let call = scheduler::Call {
            framework_id: self.framework_ids[framework].clone(),
            r#type: Some(scheduler::call::Type::Accept as i32),
            accept: Some(scheduler::call::Accept {
                offer_ids: vec![offer.id],
                operations,
                filters: Some(mesos::Filters { refuse_seconds: Some(0.0) }),
            }),
            ..Default::default()
        };
        self.inbound.push_back(Inbound::Call { from: framework, call: call.encode_to_vec() });
    }

    /// The agent's update for a task, queued for the master.
    fn update(
        &mut self,
        agent: usize,
        framework_id: &mesos::FrameworkId,
        task_id: &mesos::TaskId,
        state: mesos::TaskState,
    ) {
        self.counts.updates += 1;
        self.next_uuid += 1;
        let uuid = self.next_uuid.to_le_bytes().repeat(2);
        let slave_id = self.agent_id(agent);
        let timestamp = self.now.as_secs_f64();
        let status = mesos::TaskStatus {
            task_id: task_id.clone(),
            state: state as i32,
            slave_id: Some(slave_id.clone()),
            source: Some(mesos::task_status::Source::Executor as i32),
            timestamp: Some(timestamp),
            uuid: Some(uuid.clone()),
            ..Default::default()
        };
        let update = internal::StatusUpdate {
            framework_id: framework_id.clone(),
            executor_id: None,
            slave_id: Some(slave_id),
            status,
            timestamp,
            uuid: Some(uuid),
            latest_state: None,
        };
        let message =
            internal::StatusUpdateMessage { update, pid: Some(self.agent_pids[agent].to_string()) };
        self.inbound.push_back(Inbound::Update { agent, message: message.encode_to_vec() });
    }

    /// The id the master gave agent `i` (`<master id>-S<i>`: agents registered in order).
    fn agent_id(&self, i: usize) -> mesos::SlaveId {
        mesos::SlaveId { value: format!("m1-S{i}") }
    }

    /// Virtual time moves on by `step`: tasks due end, and a batch round runs each second.
    fn advance(&mut self, step: Duration) {
        let second = self.now.as_secs();
        self.now += step;
        while let Some(Reverse((end, key))) = self.ends.peek().copied() {
            if end > self.now {
                break;
            }
            self.ends.pop();
            if let Some(task) = self.running.remove(&key) {
                self.update(
                    task.agent,
                    &task.framework_id,
                    &task.task_id,
                    mesos::TaskState::TaskFinished,
                );
            }
        }
        if self.now.as_secs() != second {
            self.round(true);
        }
        self.pump();
    }

    /// SplitMix64.
    fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The encoded size of a message the master sends (what the wire costs it).
fn encoded_len(message: &Outgoing) -> usize {
    let bytes = match message {
        Outgoing::ResourceOffers(m) => m.encode_to_vec(),
        Outgoing::RunTask(m) => m.encode_to_vec(),
        Outgoing::StatusUpdate(m) => m.encode_to_vec(),
        Outgoing::StatusUpdateAcknowledgement(m) => m.encode_to_vec(),
        _ => Vec::new(),
    };
    black_box(bytes).len()
}

/// The measured part of a run, a function of its own so that a profiler can count it
/// alone (`valgrind --tool=callgrind --toggle-collect='*launch_cycle*measured*'`).
#[inline(never)]
fn measured(sim: &mut Sim, steps: u64, step: Duration) {
    for _ in 0..steps {
        sim.advance(step);
    }
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number")))
        .unwrap_or(default)
}

/// The allocator the binaries run on, so the bench measures what users run.
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = Options {
        agents: arg(&args, "--agents", 10_000) as usize,
        frameworks: arg(&args, "--frameworks", 200) as usize,
        slots: arg(&args, "--slots", 2) as usize,
        task_ms: arg(&args, "--task-ms", 30_000),
        spread_ms: arg(&args, "--spread-ms", 10_000),
        warmup_s: arg(&args, "--warmup-s", 60),
        measure_s: arg(&args, "--measure-s", 60),
    };
    let step = Duration::from_millis(10);
    let mut sim = Sim::new(options);
    let started = Instant::now();
    sim.register_agents();
    sim.subscribe_frameworks();
    for _ in 0..options.warmup_s * 100 {
        sim.advance(step);
    }
    let setup = started.elapsed();
    let before = sim.counts;
    let started = Instant::now();
    measured(&mut sim, options.measure_s * 100, step);
    let measured = started.elapsed();
    let c = sim.counts;
    let launches = c.launches - before.launches;
    println!(
        "launch_cycle: {} agents x {} slots, {} frameworks; set-up + {} s warm-up {:.2} s; \
         {} virtual s: {} launches, {} updates, {} offers, {} rounds in {:.3} s = {:.1} us \
         per launch; {} tasks running; {} bytes sent",
        options.agents,
        options.slots,
        options.frameworks,
        options.warmup_s,
        setup.as_secs_f64(),
        options.measure_s,
        launches,
        c.updates - before.updates,
        c.offers - before.offers,
        c.rounds - before.rounds,
        measured.as_secs_f64(),
        measured.as_secs_f64() * 1e6 / launches.max(1) as f64,
        sim.running.len(),
        sim.bytes,
    );
}
