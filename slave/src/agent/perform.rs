//! Performing the core's outputs: the agent's only I/O besides HTTP.

use std::time::Duration;

use libprocess::{Context, Pid};

use super::Agent;
use crate::checkpoint::Checkpointer;
use crate::containerizer::LaunchRequest;
use crate::core::{CheckpointWrite, Outgoing, Output, Timer, is_http_executor};
use crate::error::AgentError;

impl Agent {
    /// Performs everything the core asked for, including what it asks in answer to
    /// launches performed here, then refreshes the gauges.
    pub(super) fn flush(&mut self, ctx: &mut Context<'_, Self>) {
        loop {
            let outputs = self.core.drain_outputs();
            if outputs.is_empty() {
                break;
            }
            for output in outputs {
                self.perform(output, ctx);
            }
        }
        self.metrics.refresh(&self.core);
    }

    fn perform(&mut self, output: Output, ctx: &mut Context<'_, Self>) {
        match output {
            Output::Send { to, message } => self.send_outgoing(&to, message, ctx),
            // An HTTP executor is watched through its stream instead.
            Output::Link(pid) if is_http_executor(&pid) => {}
            Output::Link(pid) => ctx.link(&pid),
            Output::LinkReconnect(pid) => ctx.link_reconnect(&pid),
            Output::Launch(request) => self.launch(*request, ctx),
            Output::Signal { container_id, signal } => {
                self.containerizer.signal(&container_id, signal)
            }
            Output::Checkpoint(write) => {
                if let Err(error) = self.write_checkpoint(write) {
                    tracing::error!(%error, "cannot checkpoint");
                }
            }
            Output::CheckpointUpdates { write, then } => match self.write_checkpoint(write) {
                Ok(()) => {
                    for output in then {
                        self.perform(output, ctx);
                    }
                }
                // Not acknowledging lets the executor resend it after we recover.
                Err(error) => {
                    tracing::error!(%error, "cannot checkpoint the status update; not acknowledging it")
                }
            },
            Output::Timer { after, timer } => self.set_timer(after, timer, ctx),
            Output::Terminate => ctx.terminate(),
        }
    }

    fn set_timer(&mut self, after: Duration, timer: Timer, ctx: &mut Context<'_, Self>) {
        let ping = matches!(timer, Timer::PingTimeout { .. });
        let id = ctx.delay(after, move |agent: &mut Agent, ctx| {
            let now = ctx.now();
            agent.core.on_timer(timer, now);
            agent.flush(ctx);
        });
        if ping && let Some(old) = self.ping_timer.replace(id) {
            ctx.cancel_timer(old);
        }
    }

    /// Creates the sandbox (with `runs/latest`), starts the executor, and tells the
    /// core how that went.
    fn launch(&mut self, mut request: LaunchRequest, ctx: &mut Context<'_, Self>) {
        if let Ok(filter) = std::env::var("RUST_LOG") {
            request.env.entry("RUST_LOG".into()).or_insert(filter);
        }
        // The executor talks to this agent with the agent's TLS setting (Mesos operators
        // pass it on with --executor_environment_variables; Mesos docs/ssl.md).
        for (name, value) in libprocess::TlsConfig::inherited_environment() {
            request.env.entry(name).or_insert(value);
        }
        let sandbox = &request.sandbox;
        if let Err(error) = std::fs::create_dir_all(sandbox) {
            tracing::error!(%error, sandbox = %sandbox.display(), "cannot create the sandbox");
        }
        let latest = sandbox.parent().map(|runs| runs.join("latest"));
        let target = std::path::Path::new(request.container_id.value());
        if let Some(latest) = latest
            && let Err(error) = crate::checkpoint::link_atomic(target, &latest)
        {
            tracing::warn!(%error, "cannot point runs/latest at the new sandbox");
        }
        let container_id = request.container_id.clone();
        let result = self.containerizer.launch(request).map_err(|e| e.to_string());
        self.core.on_launched(&container_id, result, ctx.now());
    }

    fn write_checkpoint(&self, write: CheckpointWrite) -> Result<(), AgentError> {
        // The core checkpoints only once the agent has an id.
        let Some(agent_id) = self.core.agent_id() else { return Ok(()) };
        let cp = Checkpointer::new(self.core.paths.clone(), agent_id);
        match write {
            CheckpointWrite::AgentInfo(info) => cp.agent_info(&info),
            CheckpointWrite::Framework { framework_id, info, pid } => {
                cp.framework(&info, framework_id.as_str(), pid.as_deref())
            }
            CheckpointWrite::Executor { framework_id, info, container_id } => {
                cp.executor(framework_id.as_str(), &info, container_id.value())
            }
            CheckpointWrite::RunFile { run, name, text } => cp.run_file(run.ids(), name, &text),
            CheckpointWrite::Task { run, task } => cp.task(run.ids(), &task),
            CheckpointWrite::TaskUpdates { run, task_id, records } => {
                cp.task_updates(run.ids(), task_id.as_str(), &records)
            }
        }
    }

    fn send_outgoing(&mut self, to: &Pid, message: Outgoing, ctx: &mut Context<'_, Self>) {
        match message {
            Outgoing::RegisterSlave(m) => ctx.send(to, m),
            Outgoing::ReregisterSlave(m) => ctx.send(to, m),
            Outgoing::PongSlave(m) => ctx.send(to, m),
            Outgoing::StatusUpdate(m) => ctx.send(to, m),
            Outgoing::ExitedExecutor(m) => ctx.send(to, m),
            Outgoing::ExecutorToFramework(m) => ctx.send(to, m),
            Outgoing::Authenticate(m) => ctx.send(to, m),
            Outgoing::AuthenticationStart(m) => ctx.send(to, m),
            Outgoing::AuthenticationStep(m) => ctx.send(to, m),
            Outgoing::ReconnectExecutor(m) => ctx.send(to, m),
            Outgoing::ExecutorRegistered(m) => self.send_executor(to, m, ctx),
            Outgoing::ExecutorReregistered(m) => self.send_executor(to, m, ctx),
            Outgoing::RunTask(m) => self.send_executor(to, m, ctx),
            Outgoing::RunTaskGroup(m) => self.send_executor(to, m, ctx),
            Outgoing::KillTask(m) => self.send_executor(to, m, ctx),
            Outgoing::StatusUpdateAcknowledgement(m) => self.send_executor(to, m, ctx),
            Outgoing::FrameworkToExecutor(m) => self.send_executor(to, m, ctx),
            Outgoing::ShutdownExecutor(m) => self.send_executor(to, m, ctx),
        }
    }
}
