//! The master's metrics at `/metrics/snapshot`, under Mesos's names (Mesos:
//! src/master/metrics.cpp, docs/monitoring.md).
//!
//! Mesos computes most master gauges by dispatching to the master actor on every
//! scrape. Here they are computed from the same cached [`StateSnapshot`] the read-only
//! endpoints use, so scraping never queues work on the master unless its state changed
//! since the last copy (then one copy is taken, as for `/state`). The numbers derived
//! from one snapshot are computed once ([`Figures`]) and shared by all gauges.
//!
//! Message counters (`master/messages_*`) are plain counters bumped by
//! [`count_message`] as the master receives each message. Frameworks with a principal
//! also count their libprocess messages per principal
//! (`frameworks/<principal>/messages_received` and `.../messages_processed`,
//! [`count_framework_message`]); the pair exists while a framework with that principal
//! is registered ([`on_framework_event`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use libprocess::{Context, Metrics, ProcessRef};
use mesos_proto::mesos::{self, scheduler};
use mesos_proto::resources::Resources;
use parking_lot::Mutex;

use crate::core::{AgentState, FrameworkState};
use crate::process::{MasterMessage, MasterProcess};
use crate::snapshot::{SnapshotCell, StateSnapshot};

/// Longest a scrape waits for the master to hand over a fresh copy of its state; past
/// it the scrape answers from the previous copy rather than hang.
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(2);

/// Every `master/messages_*` counter Mesos has that our master can receive.
pub const MESSAGE_COUNTERS: [&str; 17] = [
    "master/messages_register_slave",
    "master/messages_reregister_slave",
    "master/messages_unregister_slave",
    "master/messages_status_update",
    "master/messages_exited_executor",
    "master/messages_executor_to_framework",
    "master/messages_register_framework",
    "master/messages_reregister_framework",
    "master/messages_unregister_framework",
    "master/messages_deactivate_framework",
    "master/messages_kill_task",
    "master/messages_status_update_acknowledgement",
    "master/messages_revive_offers",
    "master/messages_suppress_offers",
    "master/messages_reconcile_tasks",
    "master/messages_framework_to_executor",
    "master/messages_launch_tasks",
];

/// The master's event queue gauges and what each counts of its mailbox (Mesos:
/// master/metrics.cpp `event_queue_messages`, `event_queue_dispatches`,
/// `event_queue_http_requests`, which count the master process's queued events by kind).
pub const EVENT_QUEUE_GAUGES: [&str; 3] = [
    "master/event_queue_messages",
    "master/event_queue_dispatches",
    "master/event_queue_http_requests",
];

/// Registers the metrics that need no snapshot: `master/elected`, the event queue
/// sizes and the message counters (at zero, so they show before the first message, as
/// in Mesos).
pub fn install(ctx: &mut Context<'_, MasterProcess>) {
    let metrics = ctx.node().metrics();
    // 1 while this master leads (set by the master as leadership changes).
    metrics.gauge("master/elected");
    // Read from the master's mailbox counters at scrape time: no message to the master,
    // so a scrape of a flooded master still answers (and shows the flood).
    let [messages, dispatches, http_requests] = EVENT_QUEUE_GAUGES;
    let master = ctx.self_ref();
    let sizes = move || master.queue_sizes();
    let read = sizes.clone();
    metrics.computed_gauge(messages, move || read().messages as f64);
    let read = sizes.clone();
    metrics.computed_gauge(dispatches, move || read().dispatches as f64);
    metrics.computed_gauge(http_requests, move || sizes().http_requests as f64);
    for name in MESSAGE_COUNTERS.iter().chain(
        [
            "master/messages_decline_offers",
            "master/messages_resource_request",
            "master/messages_authenticate",
            "master/messages_operation_status_update",
            "master/messages_operation_status_update_acknowledgement",
            "master/messages_reconcile_operations",
            "master/messages_update_slave",
        ]
        .iter(),
    ) {
        metrics.counter(name);
    }
}

/// The Mesos counter a received message counts under, if any.
pub fn message_counter(message: &MasterMessage) -> Option<&'static str> {
    use scheduler::call::Type;
    Some(match message {
        MasterMessage::RegisterSlave(_) => "master/messages_register_slave",
        MasterMessage::ReregisterSlave(_) => "master/messages_reregister_slave",
        MasterMessage::UnregisterSlave(_) => "master/messages_unregister_slave",
        MasterMessage::PongSlave(_) => return None,
        MasterMessage::StatusUpdate(_) => "master/messages_status_update",
        MasterMessage::ExitedExecutor(_) => "master/messages_exited_executor",
        MasterMessage::ExecutorToFramework(_) => "master/messages_executor_to_framework",
        MasterMessage::UpdateOperationStatus(_) => "master/messages_operation_status_update",
        MasterMessage::UpdateSlave(_) => "master/messages_update_slave",
        MasterMessage::SchedulerCall(call) => match call.r#type() {
            Type::Subscribe if call.framework_id.is_some() => {
                "master/messages_reregister_framework"
            }
            Type::Subscribe => "master/messages_register_framework",
            Type::Teardown => "master/messages_unregister_framework",
            Type::Accept => "master/messages_launch_tasks",
            Type::Decline => "master/messages_decline_offers",
            Type::Revive => "master/messages_revive_offers",
            Type::Suppress => "master/messages_suppress_offers",
            Type::Kill => "master/messages_kill_task",
            Type::Acknowledge => "master/messages_status_update_acknowledgement",
            Type::Reconcile => "master/messages_reconcile_tasks",
            Type::Message => "master/messages_framework_to_executor",
            Type::Request => "master/messages_resource_request",
            Type::AcknowledgeOperationStatus => {
                "master/messages_operation_status_update_acknowledgement"
            }
            Type::ReconcileOperations => "master/messages_reconcile_operations",
            _ => return None,
        },
        MasterMessage::RegisterFramework(_) => "master/messages_register_framework",
        MasterMessage::ReregisterFramework(_) => "master/messages_reregister_framework",
        MasterMessage::UnregisterFramework(_) => "master/messages_unregister_framework",
        MasterMessage::DeactivateFramework(_) => "master/messages_deactivate_framework",
        MasterMessage::KillTask(_) => "master/messages_kill_task",
        MasterMessage::StatusUpdateAcknowledgement(_) => {
            "master/messages_status_update_acknowledgement"
        }
        MasterMessage::ReviveOffers(_) => "master/messages_revive_offers",
        MasterMessage::ReconcileTasks(_) => "master/messages_reconcile_tasks",
        MasterMessage::FrameworkToExecutor(_) => "master/messages_framework_to_executor",
        MasterMessage::Authenticate(_) => "master/messages_authenticate",
        MasterMessage::AuthenticationStart(_) | MasterMessage::AuthenticationStep(_) => {
            return None;
        }
    })
}

/// Counts one received message under its Mesos name (call it from the master's
/// `on_message` before handling the message).
pub fn count_message(metrics: &Metrics, message: &MasterMessage) {
    if let Some(name) = message_counter(message) {
        metrics.counter(name).inc();
    }
}

/// The gauges derived from one snapshot, by metric name.
#[derive(Debug, Default)]
pub struct Figures {
    /// Metric name to value.
    pub values: BTreeMap<&'static str, f64>,
}

const RESOURCE_NAMES: [&str; 4] = ["cpus", "gpus", "mem", "disk"];

/// The snapshot-derived gauges other than the per-resource ones.
const SNAPSHOT_GAUGES: [&str; 32] = [
    "master/slaves_active",
    "master/slaves_inactive",
    "master/slaves_connected",
    "master/slaves_disconnected",
    "master/slaves_unreachable",
    "master/frameworks_active",
    "master/frameworks_inactive",
    "master/frameworks_connected",
    "master/frameworks_disconnected",
    "master/outstanding_offers",
    "master/tasks_staging",
    "master/tasks_starting",
    "master/tasks_running",
    "master/tasks_killing",
    "master/tasks_finished",
    "master/tasks_failed",
    "master/tasks_killed",
    "master/tasks_lost",
    "master/tasks_error",
    "master/tasks_dropped",
    "master/tasks_gone",
    "master/tasks_unreachable",
    "master/valid_status_updates",
    "master/invalid_status_updates",
    "master/valid_framework_to_executor_messages",
    "master/invalid_framework_to_executor_messages",
    "master/dropped_messages",
    "master/slave_registrations",
    "master/slave_reregistrations",
    "master/slave_removals",
    "master/slave_unreachable_scheduled",
    "master/slave_unreachable_completed",
];

/// The snapshot-derived figures that Mesos declares as counters (master/metrics.hpp:
/// `process::metrics::Counter`); every other one is a gauge. `/metrics` (Prometheus)
/// types them so.
pub const SNAPSHOT_COUNTERS: [&str; 17] = [
    "master/tasks_finished",
    "master/tasks_failed",
    "master/tasks_killed",
    "master/tasks_lost",
    "master/tasks_error",
    "master/tasks_dropped",
    "master/tasks_gone",
    "master/valid_status_updates",
    "master/invalid_status_updates",
    "master/valid_framework_to_executor_messages",
    "master/invalid_framework_to_executor_messages",
    "master/dropped_messages",
    "master/slave_registrations",
    "master/slave_reregistrations",
    "master/slave_removals",
    "master/slave_unreachable_scheduled",
    "master/slave_unreachable_completed",
];

/// Every gauge [`Figures::of`] computes.
pub fn gauge_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = SNAPSHOT_GAUGES.to_vec();
    for name in RESOURCE_NAMES {
        for kind in ["", "_revocable"] {
            for suffix in ["total", "used", "percent"] {
                names.push(leak_name(format!("master/{name}{kind}_{suffix}")));
            }
        }
        for suffix in ["total", "offered_or_allocated"] {
            names.push(leak_name(format!("allocator/mesos/resources/{name}/{suffix}")));
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}

impl Figures {
    /// Computes every snapshot-derived gauge.
    pub fn of(s: &StateSnapshot) -> Figures {
        let mut values = BTreeMap::new();
        let mut put = |name: &'static str, value: f64| {
            values.insert(name, value);
        };
        let active_agents =
            s.agents.iter().filter(|a| a.state == AgentState::Active).count() as f64;
        let agents = s.agents.len() as f64;
        put("master/slaves_active", active_agents);
        put("master/slaves_inactive", agents - active_agents);
        put("master/slaves_connected", active_agents);
        put("master/slaves_disconnected", agents - active_agents);
        put("master/slaves_unreachable", s.unreachable.len() as f64);
        let active =
            s.frameworks.iter().filter(|f| f.state == FrameworkState::Active).count() as f64;
        let connected =
            s.frameworks.iter().filter(|f| f.pid.is_some() && f.active()).count() as f64;
        let frameworks = s.frameworks.len() as f64;
        put("master/frameworks_active", active);
        put("master/frameworks_inactive", frameworks - active);
        put("master/frameworks_connected", connected);
        put("master/frameworks_disconnected", frameworks - connected);
        put("master/outstanding_offers", s.offers.len() as f64);
        let live = |state: mesos::TaskState| {
            s.frameworks
                .iter()
                .flat_map(|f| f.tasks.values())
                .filter(|t| t.state() == state)
                .count() as f64
        };
        put("master/tasks_staging", live(mesos::TaskState::TaskStaging));
        put("master/tasks_starting", live(mesos::TaskState::TaskStarting));
        put("master/tasks_running", live(mesos::TaskState::TaskRunning));
        put("master/tasks_killing", live(mesos::TaskState::TaskKilling));
        let stats = &s.stats;
        for (name, value) in [
            ("master/tasks_finished", stats.tasks_finished),
            ("master/tasks_failed", stats.tasks_failed),
            ("master/tasks_killed", stats.tasks_killed),
            ("master/tasks_lost", stats.tasks_lost),
            ("master/tasks_error", stats.tasks_error),
            ("master/tasks_dropped", stats.tasks_dropped),
            ("master/tasks_gone", stats.tasks_gone),
            ("master/tasks_unreachable", stats.tasks_unreachable),
            ("master/valid_status_updates", stats.valid_status_updates),
            ("master/invalid_status_updates", stats.invalid_status_updates),
            (
                "master/valid_framework_to_executor_messages",
                stats.valid_framework_to_executor_messages,
            ),
            (
                "master/invalid_framework_to_executor_messages",
                stats.invalid_framework_to_executor_messages,
            ),
            ("master/dropped_messages", stats.dropped_messages),
            ("master/slave_registrations", stats.slave_registrations),
            ("master/slave_reregistrations", stats.slave_reregistrations),
            ("master/slave_removals", stats.slave_removals),
            ("master/slave_unreachable_scheduled", stats.slave_unreachable_scheduled),
            // Marking unreachable is immediate here (no registry write to wait for yet).
            ("master/slave_unreachable_completed", stats.slave_unreachable_scheduled),
        ] {
            put(name, value as f64);
        }
        resource_figures(s, &mut put);
        Figures { values }
    }
}

/// `master/<name>_{total,used,percent}` (and `_revocable_` variants) and the
/// allocator's `allocator/mesos/resources/<name>/{total,offered_or_allocated}`.
fn resource_figures(s: &StateSnapshot, put: &mut impl FnMut(&'static str, f64)) {
    let total: Resources = s.agents.iter().map(|a| &a.total).sum();
    let used: Resources = s.agents.iter().map(|a| a.used_total()).sum();
    let offered: Resources = s.offers.iter().map(|o| &o.resources).sum();
    for revocable in [false, true] {
        let pick = |r: &Resources| if revocable { r.revocable() } else { r.non_revocable() };
        let (total, used) = (pick(&total), pick(&used));
        for name in RESOURCE_NAMES {
            let t = total.scalar(name).unwrap_or(0.0);
            let u = used.scalar(name).unwrap_or(0.0);
            let prefix = if revocable {
                format!("master/{name}_revocable")
            } else {
                format!("master/{name}")
            };
            put(leak_name(format!("{prefix}_total")), t);
            put(leak_name(format!("{prefix}_used")), u);
            put(leak_name(format!("{prefix}_percent")), if t > 0.0 { u / t } else { 0.0 });
        }
    }
    let busy = &used + &offered;
    for name in RESOURCE_NAMES {
        put(
            leak_name(format!("allocator/mesos/resources/{name}/total")),
            total.scalar(name).unwrap_or(0.0),
        );
        put(
            leak_name(format!("allocator/mesos/resources/{name}/offered_or_allocated")),
            busy.scalar(name).unwrap_or(0.0),
        );
    }
}

/// Interns a metric name built at run time. The set of such names is fixed (resource
/// names times a few suffixes), so each is allocated once for the life of the process.
fn leak_name(name: String) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock();
    if let Some(known) = names.iter().find(|n| **n == name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.push(leaked);
    leaked
}

/// Reads the master's state for the gauges: the cached snapshot, refreshed when stale.
struct SnapshotSource {
    cell: Arc<SnapshotCell>,
    master: ProcessRef<MasterProcess>,
    /// The thread the master runs on: a scrape from that thread cannot wait for the
    /// master (it would wait for itself), so it answers from the previous copy and lets
    /// the refresh finish in the background.
    master_thread: ThreadId,
    /// The figures of the latest snapshot seen, with that snapshot.
    last: Mutex<Option<(Arc<StateSnapshot>, Arc<Figures>)>>,
}

impl SnapshotSource {
    /// The figures of the current state (or of the latest copy, see `master_thread`).
    fn figures(self: &Arc<Self>) -> Option<Arc<Figures>> {
        let mut refresh: Pin<Box<dyn Future<Output = Option<Arc<StateSnapshot>>> + Send>> = {
            let (cell, master) = (self.cell.clone(), self.master.clone());
            Box::pin(async move { cell.get(&master).await })
        };
        let snapshot = match poll_once(refresh.as_mut()) {
            Poll::Ready(snapshot) => snapshot,
            Poll::Pending if thread::current().id() == self.master_thread => {
                let source = self.clone();
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        if let Some(snapshot) = refresh.await {
                            source.remember(snapshot);
                        }
                    });
                }
                None
            }
            Poll::Pending => wait_blocking(refresh, REFRESH_TIMEOUT).flatten(),
        };
        match snapshot {
            Some(snapshot) => Some(self.remember(snapshot)),
            None => self.last.lock().as_ref().map(|(_, figures)| figures.clone()),
        }
    }

    fn remember(&self, snapshot: Arc<StateSnapshot>) -> Arc<Figures> {
        let mut last = self.last.lock();
        if let Some((seen, figures)) = last.as_ref()
            && Arc::ptr_eq(seen, &snapshot)
        {
            return figures.clone();
        }
        let figures = Arc::new(Figures::of(&snapshot));
        *last = Some((snapshot, figures.clone()));
        figures
    }

    fn start_time(&self) -> Option<libprocess::Time> {
        self.last.lock().as_ref().map(|(s, _)| s.start_time)
    }
}

/// Wakes a thread parked in [`wait_blocking`].
struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    future.poll(&mut TaskContext::from_waker(&waker))
}

/// Drives `future` on this thread until it completes or `timeout` passes. Inside a
/// multi-threaded tokio runtime (the node's network threads) the worker is handed
/// over first, so other connections keep being served meanwhile.
fn wait_blocking<F: Future + Unpin>(future: F, timeout: Duration) -> Option<F::Output> {
    let run = move || {
        let mut future = future;
        let deadline = Instant::now() + timeout;
        loop {
            if let Poll::Ready(output) = poll_once(Pin::new(&mut future)) {
                return Some(output);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            thread::park_timeout(deadline - now);
        }
    };
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
        _ => run(),
    }
}

/// Registers every snapshot-derived gauge (called by [`super::install`], which
/// has the master's [`SnapshotCell`]). Must run on the master's thread (its
/// `initialize`).
pub fn install_snapshot_gauges(ctx: &mut Context<'_, MasterProcess>, cell: Arc<SnapshotCell>) {
    let source = Arc::new(SnapshotSource {
        cell,
        master: ctx.self_ref(),
        master_thread: thread::current().id(),
        last: Mutex::new(None),
    });
    let metrics = ctx.node().metrics().clone();
    for name in gauge_names() {
        let source = source.clone();
        let value =
            move || source.figures().and_then(|f| f.values.get(name).copied()).unwrap_or(0.0);
        if SNAPSHOT_COUNTERS.contains(&name) {
            metrics.computed_counter(name, value);
        } else {
            metrics.computed_gauge(name, value);
        }
    }
    let clock = ctx.node().clock().clone();
    metrics.computed_gauge("master/uptime_secs", move || {
        // The start time is fixed; the latest copy (taken by this or an earlier
        // scrape) has it, so uptime never waits for the master.
        let start =
            source.start_time().or_else(|| source.figures().and_then(|_| source.start_time()));
        start.map(|start| clock.now().saturating_since(start).as_secs_f64()).unwrap_or(0.0)
    });
}

/// Counts one libprocess message of a framework under its principal: `stage` is
/// `messages_received` (before the handler) or `messages_processed` (after). Mesos:
/// master/metrics.hpp `Metrics::Frameworks`, master.cpp `_visit`, `_consume`.
pub fn count_framework_message(metrics: &Metrics, principal: Option<&str>, stage: &str) {
    if let Some(principal) = principal {
        metrics.counter(&format!("frameworks/{principal}/{stage}")).add(1);
    }
}

/// Keeps the per-principal counters in step with the frameworks: registered at zero
/// when a framework with a new principal is added, removed with the last framework of
/// that principal. Mesos: master.cpp `addFramework`, `removeFramework`.
pub fn on_framework_event(
    metrics: &Metrics,
    core: &crate::core::MasterCore,
    event: &crate::core::MasterEvent,
) {
    use crate::core::MasterEvent;
    match event {
        MasterEvent::FrameworkAdded(id) => {
            let Some(principal) = core.framework(id).and_then(|f| f.info.principal.as_deref())
            else {
                return;
            };
            for stage in ["messages_received", "messages_processed"] {
                // Creates the counter at zero if it is new; an existing one keeps counting.
                let _ = metrics.counter(&format!("frameworks/{principal}/{stage}"));
            }
        }
        MasterEvent::FrameworkRemoved(info) => {
            let Some(principal) = info.principal.as_deref() else { return };
            let still_used =
                core.frameworks().any(|f| f.info.principal.as_deref() == Some(principal));
            if !still_used {
                metrics.remove(&format!("frameworks/{principal}/messages_received"));
                metrics.remove(&format!("frameworks/{principal}/messages_processed"));
            }
        }
        _ => {}
    }
}
