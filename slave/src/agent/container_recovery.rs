//! Starting the operator API's containers' processes, and the `DEFAULT` ones across an
//! agent restart: where their runtime checkpoint is, how their exit is learnt, and
//! taking them back.
//!
//! Mesos: containerizer.cpp `MesosContainerizerProcess::recover` (nested containers
//! whose root container is recovered are recoverable, the others orphans to destroy),
//! `__recover` (reap each recovered container, destroy the orphans), `reaped` (the exit
//! status from the `status` file the launcher wrote). See `containers::checkpoint` for
//! the files and `containers::launcher` for the launcher step.
//!
//! 1. At the launch the agent writes the container's `config` and `command`, starts
//!    `mesos-containerizer launch`, and writes its `pid`.
//! 2. When the launcher (the agent's child) exits, the exit is the status it recorded;
//!    without one (it was SIGKILLed with its group) the launcher's own status.
//! 3. After a restart, once the core has taken back the executors
//!    ([`Agent::recover_containers`], called from `start_recovery`), each checkpointed
//!    container whose root (an executor's container, or a standalone container) is
//!    alive is taken back into the book: running (its launcher holds its lock: the agent
//!    waits on a blocking thread for the lock to drop, then reads the status) or exited
//!    while the agent was down (its recorded status answers WAIT until REMOVE). The
//!    others are orphans: killed if they run, their checkpoint deleted.
//! 4. REMOVE, and the end of a container's root, delete its runtime folder.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use libprocess::Context;
use mesos_proto::ids::ContainerId;
use mesos_proto::mesos::CommandInfo;
use nix::sys::signal::Signal;

use super::Agent;
use crate::containers::checkpoint::{self, Found, runtime_root};
use crate::containers::launcher::{self, LAUNCHER_BINARY};
use crate::containers::process::{IoMode, SessionIo, Spec};
use crate::containers::{ContainerClass, ContainerState, Exit, process};

/// What a container admitted to the book is started with.
pub(super) struct Launch {
    /// What it is for.
    pub(super) class: ContainerClass,
    /// Its sandbox (created here).
    pub(super) sandbox: PathBuf,
    /// Its whole environment.
    pub(super) env: BTreeMap<String, String>,
    /// Where its streams go.
    pub(super) io: IoMode,
    /// Its command.
    pub(super) command: CommandInfo,
}

/// How a launched container ended: the status its launcher recorded in `runtime_dir`,
/// else the wait status of the process the agent started.
fn exit_of_launched(
    status: std::io::Result<std::process::ExitStatus>,
    runtime_dir: Option<&Path>,
) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    if let Some(recorded) = runtime_dir.and_then(launcher::read_status) {
        return Exit { status: Some(recorded), message: None };
    }
    match status {
        Ok(status) => Exit { status: Some(status.into_raw()), message: None },
        Err(e) => {
            Exit { status: None, message: Some(format!("Cannot wait for the container: {e}")) }
        }
    }
}

/// How a re-adopted container ended, once its launcher's lock dropped.
fn exit_of_adopted(runtime_dir: &Path) -> Exit {
    match launcher::read_status(runtime_dir) {
        Some(status) => Exit { status: Some(status), message: None },
        None => Exit {
            status: None,
            message: Some("The container's launcher ended without recording an exit status".into()),
        },
    }
}

impl Agent {
    /// The runtime folder of container `id`.
    pub(super) fn runtime_dir(&self, id: &ContainerId) -> PathBuf {
        checkpoint::runtime_path(&runtime_root(&self.core.config.work_dir), id)
    }

    /// The launcher and runtime folder to start `id` with, when the launcher is installed
    /// beside the agent (`--launcher_dir`); without it the container runs unrecorded and
    /// is not taken back after a restart.
    pub(super) fn launcher_for(&self, id: &ContainerId) -> Option<(PathBuf, PathBuf)> {
        let launcher = self.core.config.launcher_dir.join(LAUNCHER_BINARY);
        if !launcher.is_file() {
            tracing::warn!(launcher = %launcher.display(), "no launcher: the container will not survive an agent restart");
            return None;
        }
        Some((launcher, self.runtime_dir(id)))
    }

    /// Steps 1 and 2: starts the process of `id` (admitted to the book): its sandbox,
    /// for a `DEFAULT` container its checkpoint and the launcher, inside an executor's
    /// container its cgroup; then waits for it. The session's streams, or why it could
    /// not start (its checkpoint is then gone; the caller forgets it).
    pub(super) fn start_container(
        &mut self,
        id: &ContainerId,
        launch: Launch,
        ctx: &mut Context<'_, Self>,
    ) -> Result<SessionIo, String> {
        let Launch { class, sandbox, env, io, command } = launch;
        let launcher = (class == ContainerClass::Default).then(|| self.launcher_for(id)).flatten();
        let runtime_dir = launcher.as_ref().map(|(_, dir)| dir.clone());
        let launched = checkpoint::Launched { sandbox: sandbox.clone(), env: env.clone(), command };
        // Inside an executor's container it joins the executor's cgroup.
        let limits = match id.parent() {
            Some(_) => self.containerizer.join_limits(id.root()),
            None => Default::default(),
        };
        let started = std::fs::create_dir_all(&sandbox)
            .map_err(|e| format!("Failed to create sandbox: {e}"))
            .and_then(|()| match &runtime_dir {
                Some(dir) => checkpoint::write_launched(dir, &launched).map_err(|e| e.to_string()),
                None => Ok(()),
            })
            .and_then(|()| {
                let command = launched.command;
                process::spawn(&Spec { command, sandbox, env, io, launcher, limits })
            });
        let started = match started {
            Ok(started) => started,
            Err(reason) => {
                if let Some(dir) = &runtime_dir {
                    checkpoint::remove(dir);
                }
                return Err(reason);
            }
        };
        tracing::info!(container = %id, pid = started.pid, ?class, "launched a container");
        self.containers.book.on_started(id, started.pid);
        if let Some(dir) = &runtime_dir
            && let Err(error) = checkpoint::write_pid(dir, started.pid)
        {
            tracing::warn!(container = %id, %error, "cannot checkpoint the container's pid");
        }
        let waited = id.clone();
        let mut child = started.child;
        ctx.spawn(async move { child.wait().await }, move |agent: &mut Agent, status, ctx| {
            let exit = exit_of_launched(status, runtime_dir.as_deref());
            agent.on_container_exited(&waited, exit, ctx);
        });
        Ok(started.io)
    }

    /// Step 3: takes back the checkpointed containers whose root lives (`alive`: the
    /// executors' containers the containerizer found running; a standalone root taken
    /// back just before), destroys the orphans. An executor that died while the agent
    /// was down is still in the core until its re-registration timeout, so its being
    /// known is not enough.
    pub(super) fn recover_containers(
        &mut self,
        alive: &HashSet<ContainerId>,
        ctx: &mut Context<'_, Self>,
    ) {
        let root = runtime_root(&self.core.config.work_dir);
        for recovered in checkpoint::read_all(&root) {
            let id = recovered.id;
            let root_id = id.root();
            let root_lives = match self.containers.book.get(root_id) {
                Some(record) => record.is_live(),
                None => alive.contains(root_id),
            };
            if !root_lives {
                tracing::info!(container = %id, "cleaning up an orphan container: its root is gone");
                if let Found::Running { pid } = recovered.found {
                    process::signal_group(pid, Signal::SIGKILL);
                }
                checkpoint::remove(&recovered.dir);
                continue;
            }
            let state = match &recovered.found {
                Found::Running { pid } => ContainerState::Running { pid: *pid },
                Found::Exited(exit) => ContainerState::Exited(exit.clone()),
            };
            let launched = recovered.launched;
            if let Err(error) =
                self.containers.book.adopt(&id, launched.sandbox, launched.env, state)
            {
                tracing::warn!(container = %id, %error, "cannot take back a container");
                continue;
            }
            match recovered.found {
                Found::Running { pid } => {
                    tracing::info!(container = %id, pid, "took back a running container");
                    self.watch_adopted(id, recovered.dir, ctx);
                }
                Found::Exited(exit) => {
                    tracing::info!(container = %id, status = ?exit.status, "a container ended while the agent was down");
                }
            }
        }
    }

    /// Waits (on a blocking thread: the launcher is not our child) for a re-adopted
    /// container's launcher to drop its lock, then reports the exit. At most
    /// `MAX_CONTAINERS` such threads.
    fn watch_adopted(&mut self, id: ContainerId, dir: PathBuf, ctx: &mut Context<'_, Self>) {
        let waited = dir.clone();
        let wait = tokio::task::spawn_blocking(move || launcher::wait_unlocked(&waited));
        ctx.spawn(wait, move |agent: &mut Agent, _, ctx| {
            agent.on_container_exited(&id, exit_of_adopted(&dir), ctx);
        });
    }
}
