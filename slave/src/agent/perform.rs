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
                // A container still fetching has no process yet: its fetch is stopped.
                if !self.cancel_fetch(&container_id) {
                    self.containerizer.signal(&container_id, signal)
                }
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
            Output::SyncVolumes { create, remove } => sync_volumes(&create, &remove),
            Output::LinkVolumes { sandbox, links } => link_volumes(&sandbox, &links),
            Output::UpdateLimits { container_id, limits } => {
                self.containerizer.update(&container_id, limits)
            }
            Output::GarbageCollect(paths) => self.gc_schedule(paths, ctx),
            Output::Unschedule(paths) => self.gc_unschedule(paths),
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

    /// Creates the sandbox (with `runs/latest`), fetches the command's URIs if it has
    /// any (then the rest happens in `fetch.rs`), starts the executor, and tells the
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
        // Mesos: Framework::addExecutor, paths::createExecutorDirectory.
        let switch = self.core.config.switch_user;
        let run_as =
            crate::users::run_as(request.command.user.as_deref(), switch).and_then(|user| {
                if let Some(user) = &user {
                    crate::users::chown_tree(&request.sandbox, user).map_err(|e| {
                        format!("Failed to chown directory to '{}': {e}", user.name)
                    })?;
                }
                Ok(user)
            });
        match run_as {
            Ok(user) => request.run_as = user,
            Err(error) => {
                return self.core.on_executor_not_added(&container_id, error, ctx.now());
            }
        }
        if !request.command.uris.is_empty() {
            return self.fetch_then_launch(request, ctx);
        }
        let result = self.containerizer.launch(request).map_err(|e| e.to_string());
        self.core.on_launched(&container_id, result, ctx.now());
    }

    fn write_checkpoint(&self, write: CheckpointWrite) -> Result<(), AgentError> {
        // The core checkpoints only once the agent has an id.
        let Some(agent_id) = self.core.agent_id() else { return Ok(()) };
        let cp = Checkpointer::new(self.core.paths.clone(), agent_id);
        match write {
            CheckpointWrite::Resources(resources) => cp.resources(&resources),
            CheckpointWrite::DrainConfig(config) => cp.drain_config(config.as_ref()),
            CheckpointWrite::Operations(operations) => cp.operations(&operations),
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
            Outgoing::UpdateOperationStatus(m) => ctx.send(to, m),
            Outgoing::UpdateSlave(m) => ctx.send(to, m),
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

/// Creates new volumes' folders and deletes destroyed ones'. Failures are logged: the
/// checkpoint still follows the master (Mesos aborts the agent when a folder cannot
/// be created; a task on that volume then fails to find it instead).
// Mesos: slave.cpp syncCheckpointedResources.
fn sync_volumes(create: &[std::path::PathBuf], remove: &[std::path::PathBuf]) {
    for dir in create {
        match std::fs::create_dir_all(dir) {
            Ok(()) => tracing::info!(volume = %dir.display(), "created persistent volume"),
            Err(error) => {
                tracing::error!(%error, volume = %dir.display(), "cannot create persistent volume")
            }
        }
    }
    for dir in remove {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => tracing::info!(volume = %dir.display(), "deleted persistent volume"),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::error!(%error, volume = %dir.display(), "cannot delete persistent volume")
            }
        }
    }
}

/// Makes each volume visible in the sandbox as a symlink at its container path.
///
/// Without mount namespaces a bind mount would be visible to the whole machine and
/// would need root; Mesos's posix filesystem isolator makes the same symlink. The
/// folder is created if missing (a volume created before this agent version).
// Mesos: isolators/filesystem/posix.cpp PosixFilesystemIsolatorProcess::update.
fn link_volumes(sandbox: &std::path::Path, links: &[(std::path::PathBuf, std::path::PathBuf)]) {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(sandbox).ok().map(|m| (m.uid(), m.gid()));
    for (container_path, volume) in links {
        // A new volume (its folder just made by the agent) becomes the sandbox's
        // owner's, so a task run as its user can write in it (Mesos: posix.cpp
        // "Changing the ownership of the persistent volume"); one already in use
        // keeps its owner.
        let fresh = !volume.exists();
        let link = sandbox.join(container_path);
        let made = std::fs::create_dir_all(volume)
            .and_then(|()| match link.parent() {
                Some(parent) => std::fs::create_dir_all(parent),
                None => Ok(()),
            })
            .and_then(|()| match std::fs::read_link(&link) {
                Ok(target) if target == *volume => Ok(()),
                _ => std::os::unix::fs::symlink(volume, &link),
            });
        if let Err(error) = made {
            tracing::error!(%error, link = %link.display(), volume = %volume.display(), "cannot link persistent volume into the sandbox");
        }
        let root_owned = std::fs::metadata(volume).is_ok_and(|m| m.uid() == 0);
        if let (Some((uid, gid)), true) = (owner, fresh || root_owned)
            && uid != 0
            && let Err(error) = std::os::unix::fs::chown(volume, Some(uid), Some(gid))
        {
            tracing::warn!(%error, volume = %volume.display(), "cannot give the volume to the task's user");
        }
    }
}
