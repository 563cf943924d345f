//! Everything the master serves over HTTP (Mesos: src/master/http.cpp,
//! readonly_handler.cpp, master/metrics.cpp), installed by one call, [`install`], from
//! the master actor's `initialize`.
//!
//! Read-only endpoints are shared routes: they run outside the master actor and render
//! a [`StateSnapshot`] taken from the [`SnapshotCell`], so a client polling `/state`
//! costs the master at most one state copy per change and never delays offers. Routes
//! that change state or hold a stream of the master's events (`/teardown`, the v1 APIs)
//! run on the master.
//!
//! Every route the master installs (the first path segment names the process; the
//! master is the node's default, so `/state` is also `/master/state`):
//!
//! | path | answer | module |
//! |---|---|---|
//! | `/state`, `/state.json` | the whole state | [`state_json`](mod@state_json) |
//! | `/state-summary` | agents and frameworks with task counts | [`endpoints`] |
//! | `/frameworks?framework_id=` | frameworks with their tasks and offers | [`endpoints`] |
//! | `/slaves?slave_id=` | agents, with `*_full` resources | [`endpoints`] |
//! | `/tasks`, `/tasks.json` `?limit=&offset=&order=&framework_id=&task_id=` | tasks, newest first | [`endpoints`] |
//! | `/roles` | known roles (`view_roles`), weights, quota with its consumption, allocated/offered/reserved | [`roles`] |
//! | `/flags` | the master's flags (answered by followers too) | [`endpoints`] |
//! | `/health` | `200` while the process is up | `read_only` |
//! | `/redirect` | `307` to the leading master | `read_only` |
//! | `POST /teardown` with `frameworkId=` | removes a framework | `teardown` |
//! | `POST /api/v1/scheduler` | the v1 scheduler API (RecordIO event stream) | [`scheduler_api`] |
//! | `POST /api/v1` | the v1 operator API (queries, TEARDOWN, SUBSCRIBE, reservations and volumes) | [`operator_api`] |
//! | `POST /reserve`, `/unreserve`, `/create-volumes`, `/destroy-volumes` | operator reservations and volumes (v0) | `operations` |
//! | `/quota`: `GET`, `POST` a `QuotaRequest`, `DELETE /quota/<role>` | quota (legacy endpoint) | [`quota`] |
//! | `/weights`: `GET`, `PUT` an array of `WeightInfo` | role weights | [`quota`] |
//! | `/raft` | this master's raft status and members (every master) | `raft` |
//! | `/proxy/<ip:port>/<path>` | a read-only `GET` of another master or agent, for the web UI | `web_proxy` |
//! | `/files/browse`, `/files/read`, `/files/download` `?path=/master/log` | the master's log (`--log_dir`), guarded by `access_mesos_logs` | [`files`] |
//! | `/messages?after=&limit=`, `/messages/body?seq=` | the node's message ring, bodies as Mesos JSON (every master) | [`mesos_proto::http_api::messages_handler`] |
//! | `/` | the web UI page and its assets; `404` for any path no other route claims | `web_ui` |
//!
//! Outside the master's own routes, its metrics (`master/*`, `allocator/*`) appear in the
//! node's `/metrics/snapshot` and, in the Prometheus format, `/metrics` ([`metrics`]).
//!
//! Every read endpoint takes Mesos's `jsonp=<callback>`; query values are read as Mesos
//! reads them (`/tasks?limit=-1` is every task), see [`query`].
//!
//! With `--authenticate_http_*`, the node authenticates a request by its route's realm
//! before any route sees it ([`authentication`]); handlers find the principal in the
//! request's extensions (`request.extensions().get::<mesos_security::Principal>()`).
//!
//! # Layout
//!
//! - [`authentication`]: which realm guards which route.
//! - `read_only`: the snapshot-backed JSON endpoints, `/health`, `/redirect`.
//! - [`render`]: rendering those answers off the node's I/O thread, on a bounded pool.
//! - [`endpoints`]: renderers of `/state-summary`, `/frameworks`, `/slaves`, `/tasks`,
//!   `/flags`.
//! - [`roles`]: the known roles and their figures, for `/roles` and `GET_ROLES`.
//! - [`state_json`](mod@state_json): Mesos-shaped JSON of tasks, agents, frameworks and `/state`.
//! - [`state_writer`]: the same documents written straight to bytes ([`json_out`]),
//!   each task's JSON kept between renderings ([`task_json`](mod@task_json)).
//! - [`query`]: query strings, typed values, JSONP.
//! - `teardown`: `POST /teardown`.
//! - `operations`: the operator's reservations and volumes (v1 calls and v0 endpoints).
//! - [`visibility`]: the `view_*` ACLs applied to a snapshot before it is rendered.
//! - [`scheduler_api`]: the v1 scheduler HTTP API and its subscriber streams.
//! - [`operator_api`]: the v1 operator HTTP API and its subscriber streams.
//! - `v1_queries`: the v1 queries' answers built as messages from a snapshot.
//! - [`get_state`]: the v1 `GET_STATE` answer encoded by hand and streamed.
//! - `json_wire`: Mesos's JSON mapping written from a message's wire bytes (the v1
//!   operator API's JSON answers and events).
//! - `maintenance`: `/maintenance/schedule`, `/maintenance/status`, `/machine/down`,
//!   `/machine/up` (the maintenance operator calls with Mesos's v0 JSON bodies).
//! - [`agent_calls`]: the operator calls on one agent (MARK_AGENT_GONE,
//!   DEACTIVATE_AGENT, REACTIVATE_AGENT, DRAIN_AGENT), answered once in the registry.
//! - [`files`]: `/files/*` and the v1 `LIST_FILES`/`READ_FILE` over the master's log.
//! - [`metrics`]: the `master/*` metrics, computed from the snapshot.
//! - `raft`: `/raft`.
//! - `web_ui`: `/` and the page's assets (`webui/`).
//! - `web_proxy`: `/proxy`, the page's reads of other masters and agents.

use std::sync::Arc;

use libprocess::Context;
use serde_json::{Value, json};

use crate::leadership::LeaderView;
use crate::process::MasterProcess;
use crate::snapshot::{SnapshotCell, StateSnapshot};
use mesos_registrar::Registrar;

pub mod agent_calls;
pub mod authentication;
pub mod endpoints;
pub mod files;
pub mod get_state;
pub mod json_out;
mod json_wire;
mod maintenance;
pub mod metrics;
mod operations;
pub mod operator_api;
pub mod query;
pub mod quota;
mod raft;
mod read_only;
pub mod render;
mod resource_summary;
pub mod roles;
pub mod scheduler_api;
pub mod state_json;
pub mod state_writer;
pub mod task_json;
mod teardown;
mod v1_queries;
pub mod visibility;
mod web_proxy;
mod web_ui;

pub use query::{Query, QueryError};
pub use state_json::{
    OfferedIndex, agent_json, executor_json, framework_json, master_info_json, offer_json,
    state_json, task_json,
};

/// What the HTTP layer reads besides the master itself.
pub struct Shared {
    /// The cached state copy the read-only endpoints and metrics render.
    pub snapshot: Arc<SnapshotCell>,
    /// Whether this master leads (followers redirect).
    pub leader_view: Arc<LeaderView>,
    /// The registry, for `/raft`.
    pub registrar: Arc<dyn Registrar>,
    /// The local authorizer (`--acls`), for the read-only endpoints; `None` without ACLs.
    pub authorizer: Option<Arc<mesos_security::Authorizer>>,
    /// The master's log file (`--log_dir`), served at `/master/log` by [`files`].
    pub log_file: Option<std::path::PathBuf>,
}

/// Installs every route listed above on the master process, the heartbeats of the v1
/// API streams, and the master's metrics. Runs once, in the master's `initialize` (the
/// snapshot-backed gauges must be registered on the master's thread).
pub fn install(ctx: &mut Context<'_, MasterProcess>, shared: &Shared) {
    raft::install(ctx, &shared.registrar, &shared.leader_view);
    ctx.route_shared("/messages", mesos_proto::http_api::messages_handler(ctx.node()));
    web_ui::install(ctx);
    web_proxy::install(ctx, &shared.snapshot, &shared.leader_view, &shared.registrar);
    read_only::install(ctx, shared);
    teardown::install(ctx);
    operations::install(ctx);
    metrics::install_snapshot_gauges(ctx, shared.snapshot.clone());
    scheduler_api::install(ctx);
    operator_api::install(ctx, shared);
    maintenance::install(ctx, shared);
    quota::install(ctx, shared);
    files::install(ctx, shared);
    metrics::install(ctx);
}

/// The pid of the leading master, as `/state` shows it (`master@ip:port`).
///
/// Standalone, a master always leads; the HA issue makes this the raft leader's pid.
pub fn leader_pid(s: &StateSnapshot) -> Option<String> {
    s.info.pid.clone()
}

/// Who sent `request`: the principal HTTP authentication put in its extensions, or
/// `None` when authentication is off for the endpoint (the authorizer then treats the
/// caller as unauthenticated, as Mesos does).
pub fn principal(request: &libprocess::http::Request) -> Option<mesos_security::Principal> {
    request.extensions().get::<mesos_security::Principal>().cloned()
}

/// `403 Forbidden`: the ACLs deny the request (Mesos: `process::http::Forbidden`).
pub fn forbidden(message: &str) -> libprocess::http::Response {
    libprocess::http::text(http::StatusCode::FORBIDDEN, message)
}

/// JSON helper for the endpoints: `{"error": ...}`.
pub fn error_json(message: &str) -> Value {
    json!({ "error": message })
}
