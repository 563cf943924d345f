//! The big read-only answers written straight to bytes: `/master/state`,
//! `/master/state-summary`, `/master/frameworks`, `/master/slaves` and `/master/tasks`.
//!
//! The same documents as the `Value` renderers of [`super::state_json`] (Mesos's
//! `SlaveWriter`, `FullFrameworkWriter`, `json(Task)`, ...; see there for the fields and
//! their presence rules), byte for byte, but written field by field into a
//! [`JsonOut`] as the snapshot is walked, with no tree in between. Keys are written in
//! byte order, as a printed `Value` lists them; the rare nested messages (a task's
//! container, an agent's domain, ...) still go through the protobuf JSON mapping.
//!
//! This file writes `/master/state` and the parts every document shares (a task, an
//! agent, a framework); `endpoints` (`state_writer/endpoints.rs`) writes the smaller
//! documents from those parts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mesos_proto::ids::AgentId;
use mesos_proto::json::to_json;
use mesos_proto::mesos;
use mesos_proto::resources::{Resources, resource};

use super::json_out::{JsonOut, key};
use super::resource_summary;
use super::state_json::{OfferedIndex, agent_counts, framework_used, resources_full_json};
use super::task_json::{Kept, TaskJsonCache};
use crate::core::{Agent, AgentOperatorState, AgentState, Framework, FrameworkState};
use crate::snapshot::StateSnapshot;

mod endpoints;

use endpoints::TaskCounts;
pub use endpoints::{frameworks_endpoint, slaves_endpoint, state_summary, tasks_endpoint};

/// The `TASK_*` counts `/state-summary` adds, in the byte order of their names.
const SUMMARY_STATES: [mesos::TaskState; 10] = {
    use mesos::TaskState::*;
    [
        TaskError,
        TaskFailed,
        TaskFinished,
        TaskKilled,
        TaskKilling,
        TaskLost,
        TaskRunning,
        TaskStaging,
        TaskStarting,
        TaskUnreachable,
    ]
};

/// Resources as Mesos's summary object, like `Resources::to_state_json`.
fn resources(out: &mut JsonOut, resources: &Resources) {
    resource_summary::write_resources(out, resources);
}

/// The summary of one group of resource protos (a task's, an executor's, an offer's).
fn protos_summary(out: &mut JsonOut, protos: &[mesos::Resource]) {
    resource_summary::write_checked(out, protos, resource_summary::valid(protos));
}

fn labels(out: &mut JsonOut, labels: &mesos::Labels) {
    out.begin_array();
    for label in &labels.labels {
        out.begin_object();
        out.known_key(key!("key"));
        out.str(&label.key);
        if let Some(value) = &label.value {
            out.known_key(key!("value"));
            out.str(value);
        }
        out.end_object();
    }
    out.end_array();
}

fn role_of(resources: &[mesos::Resource]) -> Option<&str> {
    resources.first().and_then(|r| r.allocation_info.as_ref()).and_then(|a| a.role.as_deref())
}

/// One task status (Mesos: `json(TaskStatus)`).
pub fn task_status(out: &mut JsonOut, status: &mesos::TaskStatus) {
    out.begin_object();
    if let Some(container_status) = &status.container_status {
        out.field("container_status", &to_json(container_status));
    }
    if let Some(healthy) = status.healthy {
        out.field_bool("healthy", healthy);
    }
    if let Some(l) = &status.labels {
        out.known_key(key!("labels"));
        labels(out, l);
    }
    if let Some(message) = status.message.as_ref().filter(|m| !m.is_empty()) {
        out.known_key(key!("message"));
        out.str(message);
    }
    if let Some(reason) = status.reason.and_then(|r| mesos::task_status::Reason::try_from(r).ok()) {
        out.known_key(key!("reason"));
        out.str(reason.as_str_name());
    }
    if let Some(source) = status.source.and_then(|s| mesos::task_status::Source::try_from(s).ok()) {
        out.known_key(key!("source"));
        out.str(source.as_str_name());
    }
    out.known_key(key!("state"));
    out.str(status.state().as_str_name());
    out.known_key(key!("timestamp"));
    out.f64(status.timestamp.unwrap_or(0.0));
    out.end_object();
}

/// One task (Mesos: `json(Task)`).
pub fn task(out: &mut JsonOut, task: &mesos::Task) {
    checked_task(out, task, resource_summary::valid(&task.resources));
}

/// [`task`], whose resources the caller validated already (`valid`).
fn checked_task(out: &mut JsonOut, task: &mesos::Task, valid: bool) {
    out.begin_object();
    if let Some(container) = &task.container {
        out.field("container", &to_json(container));
    }
    if let Some(discovery) = &task.discovery {
        out.field("discovery", &to_json(discovery));
    }
    out.known_key(key!("executor_id"));
    out.str(task.executor_id.as_ref().map_or("", |e| e.value.as_str()));
    out.known_key(key!("framework_id"));
    out.str(&task.framework_id.value);
    if let Some(health_check) = &task.health_check {
        out.field("health_check", &to_json(health_check));
    }
    out.known_key(key!("id"));
    out.str(&task.task_id.value);
    if let Some(l) = &task.labels {
        out.known_key(key!("labels"));
        labels(out, l);
    }
    if !task.limits.is_empty() {
        let limits: BTreeMap<&str, f64> =
            task.limits.iter().map(|(name, scalar)| (name.as_str(), scalar.value)).collect();
        out.known_key(key!("limits"));
        out.begin_object();
        for (name, value) in limits {
            out.field_f64(name, value);
        }
        out.end_object();
    }
    out.known_key(key!("name"));
    out.str(&task.name);
    out.known_key(key!("resources"));
    resource_summary::write_checked(out, &task.resources, valid);
    if let Some(role) = role_of(&task.resources) {
        out.known_key(key!("role"));
        out.str(role);
    }
    out.known_key(key!("slave_id"));
    out.str(&task.slave_id.value);
    out.known_key(key!("state"));
    out.str(task.state().as_str_name());
    out.known_key(key!("statuses"));
    out.begin_array();
    for status in &task.statuses {
        task_status(out, status);
    }
    out.end_array();
    if let Some(user) = &task.user {
        out.known_key(key!("user"));
        out.str(user);
    }
    out.end_object();
}

fn command(out: &mut JsonOut, command: &mesos::CommandInfo) {
    out.begin_object();
    out.key("argv");
    out.strings(command.arguments.iter().map(String::as_str));
    if let Some(environment) = &command.environment {
        out.field("environment", &to_json(environment));
    }
    if let Some(shell) = command.shell {
        out.field_bool("shell", shell);
    }
    out.key("uris");
    out.begin_array();
    for uri in &command.uris {
        out.begin_object();
        out.field_bool("executable", uri.executable.unwrap_or(false));
        out.field_str("value", &uri.value);
        out.end_object();
    }
    out.end_array();
    if let Some(text) = &command.value {
        out.field_str("value", text);
    }
    out.end_object();
}

/// One executor of a framework on an agent (Mesos: `json(ExecutorInfo)` + `slave_id`).
pub fn executor(out: &mut JsonOut, executor: &mesos::ExecutorInfo, agent_id: &AgentId) {
    out.begin_object();
    out.key("command");
    command(out, executor.command.as_ref().unwrap_or(&Default::default()));
    out.field_str("executor_id", &executor.executor_id.value);
    out.field_str("framework_id", executor.framework_id.as_ref().map_or("", |f| f.value.as_str()));
    if let Some(l) = &executor.labels {
        out.key("labels");
        labels(out, l);
    }
    out.field_str("name", executor.name.as_deref().unwrap_or_default());
    out.key("resources");
    protos_summary(out, &executor.resources);
    if let Some(role) = role_of(&executor.resources) {
        out.field_str("role", role);
    }
    out.field_str("slave_id", agent_id.as_str());
    if let Some(kind) = executor.r#type.and_then(|t| mesos::executor_info::Type::try_from(t).ok()) {
        out.field_str("type", kind.as_str_name());
    }
    out.end_object();
}

/// One offer (Mesos: `json(Offer)`).
pub fn offer(out: &mut JsonOut, offer: &mesos::Offer) {
    out.begin_object();
    out.key("allocation_info");
    match &offer.allocation_info {
        Some(info) => out.value(&to_json(info)),
        None => {
            out.begin_object();
            out.end_object();
        }
    }
    out.field_str("framework_id", &offer.framework_id.value);
    out.field_str("id", &offer.id.value);
    out.key("resources");
    protos_summary(out, &offer.resources);
    out.field_str("slave_id", &offer.slave_id.value);
    out.end_object();
}

/// This master as `leader_info` shows it (Mesos: `json(MasterInfo)`).
fn master_info(out: &mut JsonOut, info: &mesos::MasterInfo) {
    out.begin_object();
    if let Some(domain) = &info.domain {
        out.field("domain", &to_json(domain));
    }
    out.field_str("hostname", info.hostname.as_deref().unwrap_or_default());
    out.field_str("id", &info.id);
    out.field_str("pid", info.pid.as_deref().unwrap_or_default());
    out.field_int("port", i64::from(info.port));
    out.end_object();
}

/// What `/state-summary` adds to an agent or a framework: task counts by state, and
/// the ids on the other side (`framework_ids` of an agent, `slave_ids` of a framework).
struct SummaryExtra<'a> {
    counts: TaskCounts,
    ids: Option<&'a BTreeSet<String>>,
}

fn summary_counts(out: &mut JsonOut, extra: Option<&SummaryExtra>) {
    if let Some(extra) = extra {
        for state in SUMMARY_STATES {
            let count = i64::try_from(extra.counts.get(state)).unwrap_or(i64::MAX);
            out.field_int(state.as_str_name(), count);
        }
    }
}

fn summary_ids(out: &mut JsonOut, key: &str, extra: Option<&SummaryExtra>) {
    if let Some(extra) = extra {
        out.key(key);
        out.strings(extra.ids.into_iter().flatten().map(String::as_str));
    }
}

/// The summaries of `total`'s reservations, by role.
fn reserved(out: &mut JsonOut, total: &Resources) {
    let mut reservations: BTreeMap<&str, Vec<&mesos::Resource>> = BTreeMap::new();
    for r in total.iter() {
        if let Some(role) = resource::reservation_role(r) {
            reservations.entry(role).or_default().push(r);
        }
    }
    out.begin_object();
    for (role, reserved) in &reservations {
        out.key(role);
        if !resource_summary::write(out, reserved.iter().copied()) {
            resources(out, &total.reservations()[*role]);
        }
    }
    out.end_object();
}

fn reserved_full(out: &mut JsonOut, reservations: &BTreeMap<String, Resources>) {
    out.begin_object();
    for (role, r) in reservations {
        out.field(role, &resources_full_json(r));
    }
    out.end_object();
}

/// One agent (Mesos: `SlaveWriter`); with `full`, the `*_full` arrays of
/// `/master/slaves`; with `extra`, the `/state-summary` fields.
fn agent(
    out: &mut JsonOut,
    agent: &Agent,
    operator: Option<&AgentOperatorState>,
    offered: &OfferedIndex,
    full: bool,
    extra: Option<&SummaryExtra>,
) {
    let empty = Resources::new();
    let offered = offered.by_agent.get(&agent.id).unwrap_or(&empty);
    let default_operator = AgentOperatorState::default();
    let operator = operator.unwrap_or(&default_operator);
    let info = &agent.info;
    out.begin_object();
    summary_counts(out, extra);
    out.field_bool("active", agent.state == AgentState::Active);
    let attributes = mesos_proto::attributes::Attributes::from_protos(info.attributes.clone())
        .map(|a| a.to_state_json())
        .unwrap_or_else(|_| serde_json::json!({}));
    out.field("attributes", &attributes);
    out.key("capabilities");
    out.strings(agent.capabilities.iter().map(|c| c.r#type().as_str_name()));
    out.field_bool("deactivated", operator.deactivated);
    if let Some(domain) = &info.domain {
        out.field("domain", &to_json(domain));
    }
    if let Some(drain_info) = &operator.drain_info {
        out.field("drain_info", &to_json(drain_info));
        if let Some(start) = operator.estimated_drain_start_time {
            out.field_f64("estimated_drain_start_time_seconds", start.secs_f64());
        }
    }
    summary_ids(out, "framework_ids", extra);
    out.field_str("hostname", &info.hostname);
    out.field_str("id", info.id.as_ref().map_or("", |id| id.value.as_str()));
    out.key("offered_resources");
    resources(out, offered);
    if full {
        out.field("offered_resources_full", &resources_full_json(offered));
    }
    out.field_str("pid", &agent.pid.to_string());
    out.field_int("port", i64::from(info.port.unwrap_or(5051)));
    out.field_f64("registered_time", agent.registered_time.secs_f64());
    if let Some(time) = agent.reregistered_time {
        out.field_f64("reregistered_time", time.secs_f64());
    }
    // Summed from the agent's own resources; the `*_full` arrays need them as
    // `Resources` (/master/slaves only).
    out.key("reserved_resources");
    reserved(out, &agent.total);
    if full {
        out.key("reserved_resources_full");
        reserved_full(out, &agent.total.reservations());
    }
    out.key("resources");
    resources(out, &agent.total);
    out.key("unreserved_resources");
    if !resource_summary::write(out, agent.total.iter().filter(|r| resource::is_unreserved(r))) {
        resources(out, &agent.total.unreserved());
    }
    if full {
        out.field("unreserved_resources_full", &resources_full_json(&agent.total.unreserved()));
    }
    out.key("used_resources");
    if !resource_summary::write(out, agent.used.values().flat_map(|r| r.iter())) {
        resources(out, &agent.used_total());
    }
    if full {
        out.field("used_resources_full", &resources_full_json(&agent.used_total()));
    }
    out.field_str("version", &agent.version);
    out.end_object();
}

/// A task to write: whether its resources validate (checked once per rendering, for the
/// framework's used resources and for the task's own summary alike), and its JSON if a
/// rendering kept it ([`TaskJsonCache`]).
struct Checked<'a> {
    task: &'a Arc<mesos::Task>,
    valid: bool,
    kept: Option<Arc<[u8]>>,
}

/// `tasks`, checked, with what `cache` kept for them.
fn checked<'a>(
    tasks: impl IntoIterator<Item = &'a Arc<mesos::Task>>,
    cache: Option<&TaskJsonCache>,
) -> Vec<Checked<'a>> {
    let check = |task: &'a Arc<mesos::Task>, kept: Option<Kept>| match kept {
        Some(Kept { json, valid }) => Checked { task, valid, kept: Some(json) },
        None => Checked { task, valid: resource_summary::valid(&task.resources), kept: None },
    };
    match cache {
        Some(cache) => cache.look_up(tasks).into_iter().map(|(t, kept)| check(t, kept)).collect(),
        None => tasks.into_iter().map(|t| check(t, None)).collect(),
    }
}

/// The resource groups a framework uses (Mesos counts them as `Resources::from_protos`
/// does, which takes a group that does not validate as nothing): its non-terminal
/// tasks' and its executors'.
fn used_groups<'a>(framework: &'a Framework, tasks: &[Checked<'a>]) -> Vec<&'a [mesos::Resource]> {
    let tasks = tasks.iter().filter(|t| t.valid && !t.task.state().is_terminal());
    let executors = framework.executors.values().flat_map(|on_agent| on_agent.values());
    let executors =
        executors.map(|e| e.resources.as_slice()).filter(|g| resource_summary::valid(g));
    tasks.map(|t| t.task.resources.as_slice()).chain(executors).collect()
}

/// The summary of what a framework uses (`used`, from [`used_groups`]), plus `offered`.
fn framework_resources(
    out: &mut JsonOut,
    framework: &Framework,
    used: &[&[mesos::Resource]],
    offered: Option<&Resources>,
) {
    let entries =
        used.iter().flat_map(|g| g.iter()).chain(offered.into_iter().flat_map(|r| r.iter()));
    if !resource_summary::write(out, entries) {
        let used = framework_used(framework);
        resources(out, &offered.map_or_else(|| used.clone(), |o| used.clone() + o));
    }
}

/// The tasks of one framework by id, split into live and unreachable (Mesos lists
/// unreachable tasks apart). Ids are unique within a framework, so an unstable sort
/// gives the one order. Each id's first bytes, read as a number ([`id_prefix`]), decide
/// most comparisons; only ids that share them are compared whole (`memcmp` of ids that
/// share their first bytes, `agent1234-framework0-task1`, was most of the sort).
fn live_and_unreachable(tasks: Vec<Checked<'_>>) -> (Vec<Checked<'_>>, Vec<Checked<'_>>) {
    let mut keyed: Vec<(u128, Checked<'_>)> =
        tasks.into_iter().map(|t| (id_prefix(&t.task.task_id.value), t)).collect();
    keyed.sort_unstable_by(|(prefix_a, a), (prefix_b, b)| {
        prefix_a.cmp(prefix_b).then_with(|| a.task.task_id.value.cmp(&b.task.task_id.value))
    });
    let tasks = keyed.into_iter().map(|(_, t)| t);
    tasks.partition(|t| t.task.state() != mesos::TaskState::TaskUnreachable)
}

/// The first 16 bytes of `id`, zero-padded, as a big-endian number. Two ids whose
/// numbers differ are in the byte order of their numbers (they differ within those
/// bytes, or one is a prefix of the other padded with zeros, which sorts first); equal
/// numbers leave the order to the whole ids.
fn id_prefix(id: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let n = id.len().min(bytes.len());
    bytes[..n].copy_from_slice(&id.as_bytes()[..n]);
    u128::from_be_bytes(bytes)
}

fn task_list<'t>(out: &mut JsonOut, tasks: impl IntoIterator<Item = &'t mesos::Task>) {
    out.begin_array();
    for t in tasks {
        task(out, t);
        out.boundary();
    }
    out.end_array();
}

/// `tasks` as an array: each task's kept JSON, or written afresh and then kept in
/// `cache` for the next rendering.
fn checked_task_list(out: &mut JsonOut, tasks: &[Checked<'_>], cache: Option<&TaskJsonCache>) {
    let mut written = Vec::new();
    out.begin_array();
    for t in tasks {
        match (&t.kept, cache) {
            (Some(json), _) => out.raw_value(json),
            (None, Some(_)) => {
                let json = out.kept_value(|out| checked_task(out, t.task, t.valid));
                written.push((t.task, Kept { json, valid: t.valid }));
            }
            (None, None) => checked_task(out, t.task, t.valid),
        }
        out.boundary();
    }
    out.end_array();
    if let Some(cache) = cache {
        cache.keep(written);
    }
}

/// A framework's executors, by agent then id.
fn executors(out: &mut JsonOut, framework: &Framework) {
    out.begin_array();
    let mut agents: Vec<&AgentId> = framework.executors.keys().collect();
    agents.sort();
    for agent_id in agents {
        let mut on_agent: Vec<&mesos::ExecutorInfo> =
            framework.executors[agent_id].values().collect();
        on_agent.sort_by(|a, b| a.executor_id.value.cmp(&b.executor_id.value));
        for e in on_agent {
            executor(out, e, agent_id);
        }
    }
    out.end_array();
}

/// A framework's outstanding offers, by id.
fn offers(out: &mut JsonOut, framework: &Framework, snapshot: &StateSnapshot) {
    let offers = snapshot.offers_of(&framework.id);
    out.begin_array();
    for o in offers {
        offer(out, o);
    }
    out.end_array();
}

/// A framework: its summary fields (Mesos: `json(Summary<Framework>)`), and with
/// `snapshot` the full one (Mesos: `FullFrameworkWriter`); with `extra`, the
/// `/state-summary` fields.
fn framework(
    out: &mut JsonOut,
    framework: &Framework,
    offered: &OfferedIndex,
    snapshot: Option<&StateSnapshot>,
    extra: Option<&SummaryExtra>,
) {
    let info = &framework.info;
    let empty = Resources::new();
    let offered_here = offered.by_framework.get(&framework.id).unwrap_or(&empty);
    let cache = snapshot.and_then(|s| s.task_json.as_deref());
    let tasks = checked(framework.tasks.shared_values(), cache);
    let used = used_groups(framework, &tasks);
    // `resources` (used and offered) is `used_resources` when nothing is offered, the
    // usual case: summed once (over every task of the framework), written twice.
    let used_json = {
        let mut used_out = JsonOut::new();
        framework_resources(&mut used_out, framework, &used, None);
        used_out.into_bytes()
    };
    let full = snapshot.is_some();
    out.begin_object();
    summary_counts(out, extra);
    out.field_bool("active", framework.active());
    out.key("capabilities");
    out.strings(info.capabilities.iter().map(|c| c.r#type().as_str_name()));
    if full {
        out.field_bool("checkpoint", info.checkpoint.unwrap_or(false));
        out.key("completed_tasks");
        checked_task_list(out, &checked(&framework.completed_tasks, cache), cache);
    }
    out.field_bool("connected", framework.pid.is_some() && framework.active());
    if full {
        out.key("executors");
        executors(out, framework);
        out.field_f64("failover_timeout", info.failover_timeout.unwrap_or(0.0));
    }
    out.field_str("hostname", info.hostname.as_deref().unwrap_or_default());
    out.field_str("id", framework.id.as_str());
    if full && let Some(l) = &info.labels {
        out.key("labels");
        labels(out, l);
    }
    out.field_str("name", &info.name);
    if full {
        out.key("offer_constraints");
        out.begin_object();
        out.end_object();
    }
    out.key("offered_resources");
    resources(out, offered_here);
    if let Some(snapshot) = snapshot {
        out.key("offers");
        offers(out, framework, snapshot);
    }
    if let Some(pid) = &framework.pid {
        out.field_str("pid", &pid.to_string());
    }
    if full && let Some(principal) = &info.principal {
        out.field_str("principal", principal);
    }
    out.field_bool("recovered", framework.state == FrameworkState::Recovered);
    if full {
        out.field_f64("registered_time", framework.registered_time.secs_f64());
        if let Some(time) = framework.reregistered_time {
            out.field_f64("reregistered_time", time.secs_f64());
        }
        out.key("resources");
        if offered_here.is_empty() {
            out.raw_value(&used_json);
        } else {
            framework_resources(out, framework, &used, Some(offered_here));
        }
        if framework.has_capability(mesos::framework_info::capability::Type::MultiRole) {
            out.key("roles");
            out.strings(info.roles.iter().map(String::as_str));
        } else {
            #[allow(deprecated)]
            out.field_str("role", info.role.as_deref().unwrap_or("*"));
        }
    }
    summary_ids(out, "slave_ids", extra);
    if full {
        let (live, unreachable) = live_and_unreachable(tasks);
        out.key("tasks");
        checked_task_list(out, &live, cache);
        out.key("unreachable_tasks");
        checked_task_list(out, &unreachable, cache);
        out.field_f64(
            "unregistered_time",
            framework.unregistered_time.map(|t| t.secs_f64()).unwrap_or(0.0),
        );
    }
    out.key("used_resources");
    out.raw_value(&used_json);
    if full {
        out.field_str("user", &info.user);
    }
    out.field_str("webui_url", info.webui_url.as_deref().unwrap_or_default());
    out.end_object();
}

fn agents<'a>(
    out: &mut JsonOut,
    s: &StateSnapshot,
    offered: &OfferedIndex,
    full: bool,
    wanted: impl Fn(&Agent) -> bool,
    extra: impl Fn(&Agent) -> Option<SummaryExtra<'a>>,
) {
    out.begin_array();
    for a in s.agents.iter().filter(|a| wanted(a)) {
        let extra = extra(a);
        agent(out, a, s.agent_operator_states.get(&a.id), offered, full, extra.as_ref());
        out.boundary();
    }
    out.end_array();
}

fn frameworks<'f>(
    out: &mut JsonOut,
    s: &StateSnapshot,
    list: impl IntoIterator<Item = &'f Framework>,
    offered: &OfferedIndex,
) {
    out.begin_array();
    for f in list {
        framework(out, f, offered, Some(s), None);
        out.boundary();
    }
    out.end_array();
}

fn empty_array(out: &mut JsonOut, key: &str) {
    out.key(key);
    out.begin_array();
    out.end_array();
}

/// The whole `/master/state` document (Mesos: `ReadOnlyHandler::state`).
pub fn state(out: &mut JsonOut, s: &StateSnapshot) {
    let offered = OfferedIndex::of(s);
    let (active, inactive) = agent_counts(s);
    out.begin_object();
    out.field_f64("activated_slaves", active as f64);
    out.field_str("build_date", "");
    out.field_int("build_time", 0);
    out.field_str("build_user", "");
    out.key("capabilities");
    out.strings(s.info.capabilities.iter().map(|c| c.r#type().as_str_name()));
    out.key("completed_frameworks");
    frameworks(out, s, s.completed_frameworks.iter().map(|f| &**f), &offered);
    out.field_f64("deactivated_slaves", inactive as f64);
    out.field_f64("elected_time", s.elected_time.secs_f64());
    out.key("flags");
    out.begin_object();
    let flags: BTreeMap<&str, &str> =
        s.flags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for (name, value) in flags {
        out.field_str(name, value);
    }
    out.end_object();
    out.key("frameworks");
    frameworks(out, s, s.frameworks.iter().map(|f| &**f), &offered);
    out.field_str("hostname", s.info.hostname.as_deref().unwrap_or_default());
    out.field_str("id", &s.info.id);
    out.field("leader", &super::leader_pid(s));
    out.key("leader_info");
    master_info(out, &s.info);
    empty_array(out, "orphan_tasks");
    out.field_str("pid", s.info.pid.as_deref().unwrap_or_default());
    empty_array(out, "recovered_slaves");
    out.key("slaves");
    agents(out, s, &offered, false, |_| true, |_| None);
    out.field_f64("start_time", s.start_time.secs_f64());
    out.field_f64("unreachable_slaves", s.unreachable.len() as f64);
    empty_array(out, "unregistered_frameworks");
    out.field_str("version", s.info.version.as_deref().unwrap_or_default());
    out.end_object();
}

#[cfg(test)]
#[path = "state_writer_tests.rs"]
pub(super) mod tests;
