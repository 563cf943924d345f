//! The agent operator API: `POST /api/v1` (Mesos: slave/http.cpp `Http::api`,
//! docs/operator-http-api.md, "Agent API").
//!
//! Every answer is built from the agent's own bookkeeping inside the actor (the state
//! is one machine's, small), converted to the v1 types by re-encoding (`evolve`).
//! Supported: GET_HEALTH, GET_FLAGS, GET_VERSION, GET_METRICS, GET_STATE,
//! GET_CONTAINERS, GET_FRAMEWORKS, GET_EXECUTORS, GET_TASKS, GET_AGENT. Every other
//! call answers `501 Not Implemented`.

// An error answer is a whole HTTP response, built once per failed request; boxing it
// would buy nothing.
#![allow(clippy::result_large_err)]

use http::StatusCode;
use libprocess::Context;
use libprocess::http::{self as lhttp, Request, Responder, Response};
use mesos_proto::mesos::v1;
use mesos_proto::mesos::{Task, TaskState};

use v1::agent::{Call, call, response};

use super::Agent;
use crate::state::Executor;
use crate::updates::task_from_info;
use mesos_proto::http_api::{
    bad_request, evolve, parse_body, require_post, response_encoding, v1_flags, v1_metrics,
    v1_version,
};

/// Installs the route.
pub(super) fn install(ctx: &mut Context<'_, Agent>) {
    ctx.route("/api/v1", |agent: &mut Agent, request: Request, responder: Responder, ctx| {
        let response = match agent.on_operator_call(&request, ctx) {
            Ok(response) | Err(response) => response,
        };
        responder.respond(response);
    });
}

fn executor(executor: &Executor) -> response::get_executors::Executor {
    response::get_executors::Executor { executor_info: evolve(&executor.info) }
}

impl Agent {
    fn on_operator_call(
        &mut self,
        request: &Request,
        ctx: &Context<'_, Self>,
    ) -> Result<Response, Response> {
        require_post(request)?;
        let call: Call = parse_body(request)?;
        let encoding = response_encoding(request)?;
        let kind =
            call.r#type.and_then(|t| call::Type::try_from(t).ok()).unwrap_or(call::Type::Unknown);
        let answer = self.operator_query(kind, ctx)?;
        Ok(lhttp::response(StatusCode::OK, encoding.content_type(), encoding.encode(&answer)))
    }

    /// The answer to one query call.
    fn operator_query(
        &self,
        kind: call::Type,
        ctx: &Context<'_, Self>,
    ) -> Result<v1::agent::Response, Response> {
        use response::Type as R;
        let mut r = v1::agent::Response::default();
        let t = match kind {
            call::Type::GetHealth => {
                r.get_health = Some(response::GetHealth { healthy: true });
                R::GetHealth
            }
            call::Type::GetFlags => {
                let flags = self.core.config.flags.iter();
                let flags = v1_flags(flags.map(|(name, value)| (name.as_str(), value.as_str())));
                r.get_flags = Some(response::GetFlags { flags });
                R::GetFlags
            }
            call::Type::GetVersion => {
                let version_info = v1_version(crate::core::MESOS_VERSION.to_string());
                r.get_version = Some(response::GetVersion { version_info });
                R::GetVersion
            }
            call::Type::GetMetrics => {
                let metrics = v1_metrics(ctx.node().metrics().snapshot());
                r.get_metrics = Some(response::GetMetrics { metrics });
                R::GetMetrics
            }
            call::Type::GetState => {
                r.get_state = Some(self.get_state());
                R::GetState
            }
            call::Type::GetContainers => {
                r.get_containers = Some(self.get_containers());
                R::GetContainers
            }
            call::Type::GetFrameworks => {
                r.get_frameworks = Some(self.get_frameworks());
                R::GetFrameworks
            }
            call::Type::GetExecutors => {
                r.get_executors = Some(self.get_executors());
                R::GetExecutors
            }
            call::Type::GetTasks => {
                r.get_tasks = Some(self.get_tasks());
                R::GetTasks
            }
            call::Type::GetAgent => {
                r.get_agent = Some(self.get_agent());
                R::GetAgent
            }
            call::Type::Unknown => {
                return Err(bad_request(
                    "Failed to validate agent::Call: Expecting 'type' to be present",
                ));
            }
            other => {
                return Err(lhttp::text(
                    StatusCode::NOT_IMPLEMENTED,
                    format!("{} is not supported by this agent", other.as_str_name()),
                ));
            }
        };
        r.r#type = Some(t as i32);
        Ok(r)
    }

    fn get_state(&self) -> response::GetState {
        response::GetState {
            get_tasks: Some(self.get_tasks()),
            get_executors: Some(self.get_executors()),
            get_frameworks: Some(self.get_frameworks()),
        }
    }

    fn get_agent(&self) -> response::GetAgent {
        response::GetAgent { agent_info: Some(evolve(&self.core.info)), ..Default::default() }
    }

    fn get_frameworks(&self) -> response::GetFrameworks {
        let framework = |info| response::get_frameworks::Framework { framework_info: evolve(info) };
        response::GetFrameworks {
            frameworks: self.core.frameworks.values().map(|f| framework(&f.info)).collect(),
            completed_frameworks: self
                .core
                .completed_frameworks
                .iter()
                .map(|f| framework(&f.info))
                .collect(),
        }
    }

    fn get_executors(&self) -> response::GetExecutors {
        response::GetExecutors {
            executors: self
                .core
                .frameworks
                .values()
                .flat_map(|f| f.executors.values())
                .map(executor)
                .collect(),
            completed_executors: self
                .core
                .frameworks
                .values()
                .chain(self.core.completed_frameworks.iter())
                .flat_map(|f| f.completed_executors.iter())
                .map(executor)
                .collect(),
        }
    }

    fn get_tasks(&self) -> response::GetTasks {
        let mut out = response::GetTasks::default();
        let v1_task = |task: &Task| -> v1::Task { evolve(task) };
        for (framework_id, framework) in &self.core.frameworks {
            for e in framework.executors.values() {
                let id = framework_id.into();
                out.queued_tasks.extend(
                    e.queued_tasks
                        .values()
                        .map(|t| v1_task(&task_from_info(t, TaskState::TaskStaging, &id))),
                );
                out.launched_tasks.extend(e.launched_tasks.values().map(v1_task));
                out.terminated_tasks.extend(e.terminated_tasks.values().map(v1_task));
                out.completed_tasks.extend(e.completed_tasks.iter().map(v1_task));
            }
        }
        let completed = self
            .core
            .frameworks
            .values()
            .chain(self.core.completed_frameworks.iter())
            .flat_map(|f| f.completed_executors.iter());
        out.completed_tasks.extend(completed.flat_map(|e| e.completed_tasks.iter()).map(v1_task));
        out
    }

    fn get_containers(&self) -> response::GetContainers {
        let mut containers = Vec::new();
        for (framework_id, framework) in &self.core.frameworks {
            for e in framework.executors.values() {
                let container_id =
                    v1::ContainerId { value: e.container_id.value().to_string(), parent: None };
                containers.push(response::get_containers::Container {
                    framework_id: Some(v1::FrameworkId { value: framework_id.to_string() }),
                    executor_id: Some(evolve(&e.info.executor_id)),
                    executor_name: e.info.name.clone(),
                    container_status: Some(v1::ContainerStatus {
                        container_id: Some(container_id.clone()),
                        executor_pid: e.os_pid,
                        ..Default::default()
                    }),
                    resource_statistics: self
                        .containerizer
                        .usage(&e.container_id)
                        .map(|s| evolve(&s)),
                    container_id,
                });
            }
        }
        response::GetContainers { containers }
    }
}
