//! The work of FAIL-1 (docs/benchmarks.md) split into its parts, with no network, actors
//! or threads: what one new leader does per re-registering agent, phase by phase, so a
//! profiler (callgrind for repeatable instruction counts, perf) can tell which part
//! dominates. A `--release` bench binary printing one line per phase.
//!
//! ```text
//! cargo bench -p mesos-master --bench reregister -- [--agents 10000] [--frameworks 5] [--tasks 2]
//! valgrind --tool=callgrind target/release/deps/reregister-<hash> --agents 2000
//! ```
//!
//! 1. `agent build+encode`: each emulated agent makes its `ReregisterSlaveMessage` (the
//!    FAIL-1 load of `mesos_emulate::load::running`) and encodes it (the agents' side).
//! 2. `registry recovery`: the new leader's core is rebuilt from a registry holding every
//!    agent (`MasterCore::recover`).
//! 3. `decode`: the master decodes each message (`mesos_proto::decode`, as the master
//!    does).
//! 4. `core re-admit`: `MasterCore::on_reregister_agent` for each, its outputs drained
//!    (the agent, its frameworks and tasks re-admitted; no registry write).
//! 5. `allocator`: the allocator calls those outputs asked for (`AddFramework` once per
//!    framework, `AddAgent` per agent with its used resources), then one allocation of
//!    the agents they touched, as the allocator actor runs after its queued events.
//! 6. `replies encode`: the messages the master sends back, encoded.
//! 7. `duplicate re-register`: each agent re-sends its re-registration (the emulated
//!    agents re-send after 1 s unanswered): decode and the known agent's path.

use std::time::{Duration, Instant};

use libprocess::{Pid, Time};
use mesos_master::allocator::process::apply_call;
use mesos_master::allocator::{Allocator, AllocatorConfig};
use mesos_master::core::{AllocatorCall, MasterConfig, MasterCore, Outgoing, Output};
use mesos_proto::mesos::{self, internal};
use mesos_proto::resources::Resources;
use mesos_registrar::{RegistryOperation, RegistryState};
use prost::Message;

/// The allocator the binaries run on, so the bench measures what users run
/// (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn config() -> MasterConfig {
    MasterConfig::with_defaults(
        "master@127.0.0.1:5050".parse().expect("a pid"),
        "bench",
        "127.0.0.1",
    )
}

fn info(i: usize, resources: &[mesos::Resource]) -> mesos::SlaveInfo {
    mesos::SlaveInfo {
        id: Some(mesos::SlaveId { value: format!("agent{i}") }),
        hostname: format!("agent{i}"),
        port: Some(5051),
        resources: resources.to_vec(),
        ..Default::default()
    }
}

fn pid(i: usize) -> Pid {
    format!("slave({})@127.0.0.1:5051", i + 1).parse().expect("a pid")
}

#[inline(never)]
fn phase_agent_encode(agents: usize, frameworks: usize, tasks: usize) -> Vec<Vec<u8>> {
    let resources = Resources::parse("cpus:20;mem:10240").expect("resources").to_protos();
    let running = mesos_emulate::load::running(frameworks, tasks);
    (0..agents)
        .map(|i| {
            let slave = info(i, &resources);
            let (frameworks, tasks, completed_frameworks) =
                running(slave.id.as_ref().expect("set above"));
            internal::ReregisterSlaveMessage {
                slave,
                version: Some("1.11.0".into()),
                frameworks,
                tasks,
                completed_frameworks,
                ..Default::default()
            }
            .encode_to_vec()
        })
        .collect()
}

fn registry(agents: usize) -> RegistryState {
    let resources = Resources::parse("cpus:20;mem:10240").expect("resources").to_protos();
    let mut state = RegistryState::new();
    RegistryOperation::InitializeCluster("bench".into()).apply(&mut state).expect("initialize");
    for i in 0..agents {
        RegistryOperation::AdmitAgent(info(i, &resources)).apply(&mut state).expect("admit");
    }
    state
}

#[inline(never)]
fn phase_recover(registry: &RegistryState, now: Time) -> MasterCore {
    let mut core = MasterCore::recover(config(), registry, now);
    core.drain_outputs();
    core
}

#[inline(never)]
fn phase_decode(encoded: &[Vec<u8>]) -> Vec<internal::ReregisterSlaveMessage> {
    encoded
        .iter()
        .map(|bytes| mesos_proto::decode::reregister_slave_message(bytes).expect("decodes"))
        .collect()
}

#[inline(never)]
fn phase_reregister(
    core: &mut MasterCore,
    messages: Vec<internal::ReregisterSlaveMessage>,
    now: Time,
) -> Vec<Vec<Output>> {
    // One batch of outputs per message, as the master actor performs them.
    let mut outputs = Vec::with_capacity(messages.len());
    for (i, message) in messages.into_iter().enumerate() {
        core.on_reregister_agent(&pid(i), message, now).expect("re-registered");
        outputs.push(core.drain_outputs());
    }
    outputs
}

/// The `AddFramework` and `AddAgent` calls applied as `AllocatorProcess::on_call` does
/// (`apply_call`), then one allocation of the agents they touched.
#[inline(never)]
fn phase_allocator(outputs: &mut [Vec<Output>]) -> usize {
    let mut allocator: Allocator<Resources> = Allocator::new(AllocatorConfig::default());
    let now = Duration::from_secs(1001);
    let mut others = 0;
    for output in outputs.iter_mut().flatten() {
        let Output::Allocator(call) = output else { continue };
        match std::mem::replace(call, AllocatorCall::UpdateWeights { weights: Vec::new() }) {
            call @ (AllocatorCall::AddAgent { .. } | AllocatorCall::AddFramework { .. }) => {
                apply_call(&mut allocator, call, now);
            }
            _ => others += 1,
        }
    }
    allocator.allocate_candidates(now).len() + others
}

#[inline(never)]
fn phase_replies(outputs: &[Vec<Output>]) -> usize {
    let mut bytes = 0;
    for output in outputs.iter().flatten() {
        let Some((_, message)) = output.sent() else { continue };
        bytes += match message {
            Outgoing::SlaveReregistered(m) => m.encode_to_vec().len(),
            Outgoing::CheckpointResources(m) => m.encode_to_vec().len(),
            Outgoing::UpdateFramework(m) => m.encode_to_vec().len(),
            Outgoing::StatusUpdate(m) => m.encode_to_vec().len(),
            _ => 0,
        };
    }
    bytes
}

#[inline(never)]
fn phase_duplicates(core: &mut MasterCore, encoded: &[Vec<u8>], now: Time) -> usize {
    let mut outputs = 0;
    for (i, bytes) in encoded.iter().enumerate() {
        let message = mesos_proto::decode::reregister_slave_message(bytes).expect("decodes");
        core.on_reregister_agent(&pid(i), message, now).expect("re-registered");
        outputs += core.drain_outputs().len();
    }
    outputs
}

/// What the master's actor does with a copy of a re-registration it already took (the
/// same bytes from the same pid): a SipHash of the bytes, as `process/reregistrations.rs`
/// takes, and the core's answer from the agent's record, with no decode.
#[inline(never)]
fn phase_copies(core: &mut MasterCore, encoded: &[Vec<u8>], now: Time) -> usize {
    use std::hash::Hasher;
    let mut outputs = 0;
    for (i, bytes) in encoded.iter().enumerate() {
        let mut hasher = std::hash::DefaultHasher::new();
        hasher.write(bytes);
        std::hint::black_box(hasher.finish());
        assert!(core.answer_repeated_reregistration(&pid(i), now), "a copy is answered");
        outputs += core.drain_outputs().len();
    }
    outputs
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    println!(
        "size of Output {} bytes, of Outgoing {} bytes",
        std::mem::size_of::<Output>(),
        std::mem::size_of::<Outgoing>()
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    let agents = arg(&args, "--agents", 10_000);
    let frameworks = arg(&args, "--frameworks", 5);
    let tasks = arg(&args, "--tasks", 2);
    let now = Time::from_epoch(Duration::from_secs(1001));
    let per_1k = |d: Duration| d.as_secs_f64() * 1000.0 / agents as f64;
    let report = |phase: &str, started: Instant| {
        let took = started.elapsed();
        println!("| {phase} | {:.3} s | {:.4} s |", took.as_secs_f64(), per_1k(took));
    };
    println!(
        "re-registration of {agents} agents x {frameworks} frameworks x {tasks} tasks into a \
         new leader, one thread\n\n| phase | total | per 1k agents |\n|---|---|---|"
    );
    let started = Instant::now();
    let encoded = phase_agent_encode(agents, frameworks, tasks);
    report("agent build+encode", started);
    let registry = registry(agents);
    let started = Instant::now();
    let mut core = phase_recover(&registry, now);
    report("registry recovery", started);
    let started = Instant::now();
    let messages = phase_decode(&encoded);
    report("decode", started);
    let started = Instant::now();
    let mut outputs = phase_reregister(&mut core, messages, now);
    report("core re-admit", started);
    let started = Instant::now();
    let allocations = phase_allocator(&mut outputs);
    report("allocator", started);
    let started = Instant::now();
    let bytes = phase_replies(&outputs);
    report("replies encode", started);
    let started = Instant::now();
    let duplicates = phase_duplicates(&mut core, &encoded, now);
    report("duplicate re-register", started);
    let started = Instant::now();
    let copies = phase_copies(&mut core, &encoded, now);
    report("copy answered undecoded", started);
    let started = Instant::now();
    drop(outputs);
    drop(core);
    report("drop", started);
    println!(
        "\n{} bytes of re-registrations, {bytes} bytes of replies, {allocations} allocations \
         and other allocator calls, {duplicates} outputs of duplicates, {copies} of copies",
        encoded.iter().map(Vec::len).sum::<usize>()
    );
}
