//! Containers the operator API starts beside the executors: nested containers (inside
//! an executor's container, or inside another nested container) and standalone
//! containers (no parent, no executor).
//!
//! Mesos: src/slave/http.cpp (`_launchContainer`, `_waitContainer`, `_killContainer`,
//! `_removeContainer`), src/slave/containerizer/mesos/containerizer.cpp (`launch` of a
//! nested container, `wait`, `kill`, `remove`), docs/nested-container-and-task-group.md.
//!
//! Mesos runs a nested container in its parent's namespaces. We have no namespaces: a
//! nested container is a process in a session of its own, with its parent's
//! environment, in a sandbox under its parent's:
//!
//! - a `DEFAULT` container (LAUNCH_NESTED_CONTAINER, what the default executor starts
//!   its tasks with) gets `<parent sandbox>/containers/<id>`, as Mesos's
//!   `containerizer::paths::getSandboxPath`, with its `stdout`/`stderr` files there;
//! - a `DEBUG` container (LAUNCH_NESTED_CONTAINER_SESSION, what `mesos task exec` uses)
//!   runs in the parent's own sandbox, its output streamed to the client;
//! - a standalone container (LAUNCH_CONTAINER without a parent) gets
//!   `<work_dir>/containers/<id>`, as Mesos's `slave::paths::getContainerPath`.
//!
//! This module is the pure part: the [`ContainerBook`] of every such container (its
//! sandbox, environment, state, exit status) with Mesos's rules for launching, killing,
//! waiting for and removing them. `process` starts the processes and `io` frames what
//! flows over a session (RecordIO of `ProcessIO`); the agent's `containers` module
//! serves the calls.
//!
//! ```text
//!  LAUNCH ---> Running --(process exits / KILL / parent ends)--> Exited --REMOVE--> gone
//!                  WAIT answers at the exit (at once once Exited); REMOVE of a Running
//!                  container is refused
//! ```

use std::collections::{BTreeMap, btree_map::Entry};
use std::path::PathBuf;

use mesos_proto::ids::ContainerId;

pub mod checkpoint;
pub mod io;
pub mod launcher;
pub mod process;

/// How many containers (running, or exited and not yet removed) the book holds. A
/// launch beyond it is refused (`503`): REMOVE makes room. Mesos has no bound.
pub const MAX_CONTAINERS: usize = 256;

/// How deep containers may nest (Mesos has no bound; ids arrive from the network, and
/// each level is a folder in the sandbox path).
pub const MAX_NESTING_DEPTH: usize = 16;

/// Mesos's `ContainerClass`: what a container is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerClass {
    /// A container doing the work (LAUNCH_NESTED_CONTAINER, LAUNCH_CONTAINER): its own
    /// sandbox, its output in files there.
    Default,
    /// A debugging session (LAUNCH_NESTED_CONTAINER_SESSION): the parent's sandbox, its
    /// output streamed to the client, killed when the client goes.
    Debug,
}

/// How a container ended (Mesos's `ContainerTermination`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The raw wait status (`WAIT_*`'s `exit_status`), when it is known.
    pub status: Option<i32>,
    /// Why, when it did not simply exit (a failed wait, its parent's end).
    pub message: Option<String>,
}

/// Where a container is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerState {
    /// Admitted; its process is being started.
    Launching,
    /// Its process runs (the leader of its own session and process group).
    Running {
        /// The OS pid (= its process group and session).
        pid: u32,
    },
    /// Its process ended; kept for WAIT until REMOVE.
    Exited(Exit),
}

/// One container.
#[derive(Clone, Debug)]
pub struct Record {
    /// What it is for.
    pub class: ContainerClass,
    /// Its sandbox (a `DEBUG` container's is its parent's).
    pub sandbox: PathBuf,
    /// Its environment, which its own nested containers inherit.
    pub env: BTreeMap<String, String>,
    /// Where it is in its life.
    pub state: ContainerState,
}

impl Record {
    /// True while its process may run (launching or running).
    pub fn is_live(&self) -> bool {
        !matches!(self.state, ContainerState::Exited(_))
    }
}

/// Why a launch was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    /// The id already names a running container. Mesos answers `202 Accepted`
    /// (`Containerizer::LaunchResult::ALREADY_LAUNCHED`).
    #[error("Container {container_id} has already been launched")]
    AlreadyRunning {
        /// The container.
        container_id: ContainerId,
    },
    /// The id names an exited container not yet removed.
    #[error("Container {container_id} has already terminated; REMOVE it first")]
    AlreadyExited {
        /// The container.
        container_id: ContainerId,
    },
    /// The book is full.
    #[error("Too many containers ({MAX_CONTAINERS}); remove terminated ones first")]
    Full,
}

/// Why a KILL, REMOVE or attach found nothing to act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContainerError {
    /// No such container (never launched, or removed).
    #[error("Container {container_id} cannot be found")]
    Unknown {
        /// The container.
        container_id: ContainerId,
    },
    /// The container has exited (KILL, attach).
    #[error("Container {container_id} cannot be found (or is already killed)")]
    NotRunning {
        /// The container.
        container_id: ContainerId,
    },
    /// REMOVE of a container whose process still runs.
    #[error("Nested container {container_id} has not terminated yet")]
    StillRunning {
        /// The container.
        container_id: ContainerId,
    },
}

/// Checks a ContainerID from a call: Mesos's id rules at every level (no `.` or
/// space, at most 242 characters), at most [`MAX_NESTING_DEPTH`] levels, and a parent
/// exactly when `nested`. Mesos: slave/validation.cpp `validateContainerId` and the
/// per-call `Expecting '...container_id.parent' to be present`.
pub fn validate_container_id(
    field: &str,
    id: &ContainerId,
    nested: Option<bool>,
) -> Result<(), String> {
    let mut depth = 0;
    let mut level = Some(id);
    while let Some(current) = level {
        depth += 1;
        if depth > MAX_NESTING_DEPTH {
            return Err(format!("'{field}' nests deeper than {MAX_NESTING_DEPTH} levels"));
        }
        let value = current.value();
        if value.len() > 242 {
            return Err(format!("'{field}' is invalid: '{value}' exceeds 242 characters"));
        }
        if value.contains(' ') {
            return Err(format!("'{field}' is invalid: '{value}' contains a space"));
        }
        level = current.parent();
    }
    id.validate().map_err(|e| format!("'{field}' is invalid: {e}"))?;
    match (nested, id.parent().is_some()) {
        (Some(true), false) => Err(format!("Expecting '{field}.parent' to be present")),
        (Some(false), true) => Err(format!("Expecting '{field}.parent' to be absent")),
        _ => Ok(()),
    }
}

/// Every container the operator API started, by id.
#[derive(Debug, Default)]
pub struct ContainerBook {
    records: BTreeMap<ContainerId, Record>,
}

impl ContainerBook {
    /// An empty book.
    pub fn new() -> ContainerBook {
        ContainerBook::default()
    }

    /// The container `id`, if the book has it.
    pub fn get(&self, id: &ContainerId) -> Option<&Record> {
        self.records.get(id)
    }

    /// Every container, in id order (parents before their children).
    pub fn iter(&self) -> impl Iterator<Item = (&ContainerId, &Record)> {
        self.records.iter()
    }

    /// How many containers the book holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Admits a new container (state `Launching`). Mesos: containerizer.cpp `launch`
    /// (`ALREADY_LAUNCHED` for a known id). The caller has checked the parent.
    pub fn admit(
        &mut self,
        id: &ContainerId,
        class: ContainerClass,
        sandbox: PathBuf,
        env: BTreeMap<String, String>,
    ) -> Result<(), LaunchError> {
        if self.records.len() >= MAX_CONTAINERS && !self.records.contains_key(id) {
            return Err(LaunchError::Full);
        }
        match self.records.entry(id.clone()) {
            Entry::Occupied(entry) if entry.get().is_live() => {
                Err(LaunchError::AlreadyRunning { container_id: id.clone() })
            }
            Entry::Occupied(_) => Err(LaunchError::AlreadyExited { container_id: id.clone() }),
            Entry::Vacant(entry) => {
                entry.insert(Record { class, sandbox, env, state: ContainerState::Launching });
                Ok(())
            }
        }
    }

    /// Takes back a container found in the runtime checkpoint after an agent restart
    /// (running, or exited while the agent was down). Refused like a launch when the
    /// book is full or knows the id.
    pub fn adopt(
        &mut self,
        id: &ContainerId,
        sandbox: PathBuf,
        env: BTreeMap<String, String>,
        state: ContainerState,
    ) -> Result<(), LaunchError> {
        self.admit(id, ContainerClass::Default, sandbox, env)?;
        if let Some(record) = self.records.get_mut(id) {
            record.state = state;
        }
        Ok(())
    }

    /// The process of `id` started as `pid`.
    pub fn on_started(&mut self, id: &ContainerId, pid: u32) {
        if let Some(record) = self.records.get_mut(id) {
            record.state = ContainerState::Running { pid };
        }
    }

    /// The process of `id` could not start: the container is forgotten (Mesos destroys
    /// a container whose launch failed).
    pub fn on_launch_failed(&mut self, id: &ContainerId) {
        self.records.remove(id);
    }

    /// The process of `id` ended. Returns false if the book did not know it running.
    pub fn on_exited(&mut self, id: &ContainerId, exit: Exit) -> bool {
        match self.records.get_mut(id) {
            Some(record) if record.is_live() => {
                record.state = ContainerState::Exited(exit);
                true
            }
            _ => false,
        }
    }

    /// The pid to signal for a KILL of `id`. Mesos: `containerizer->kill` answers false
    /// (`404`) for an unknown or terminated container.
    pub fn kill_target(&self, id: &ContainerId) -> Result<u32, ContainerError> {
        match self.records.get(id).map(|r| &r.state) {
            None => Err(ContainerError::Unknown { container_id: id.clone() }),
            Some(ContainerState::Running { pid }) => Ok(*pid),
            Some(_) => Err(ContainerError::NotRunning { container_id: id.clone() }),
        }
    }

    /// Forgets the exited container `id`, returning its record (its sandbox is the
    /// caller's to delete). Mesos: containerizer.cpp `remove` ("Nested container has
    /// not terminated yet").
    pub fn remove(&mut self, id: &ContainerId) -> Result<Record, ContainerError> {
        match self.records.get(id) {
            None => Err(ContainerError::Unknown { container_id: id.clone() }),
            Some(record) if record.is_live() => {
                Err(ContainerError::StillRunning { container_id: id.clone() })
            }
            Some(_) => self
                .records
                .remove(id)
                .ok_or_else(|| ContainerError::Unknown { container_id: id.clone() }),
        }
    }

    /// The running containers under `ancestor` (at any depth), deepest first: what to
    /// kill when `ancestor` ends (Mesos destroys a container's nested containers with
    /// it).
    pub fn running_under(&self, ancestor: &ContainerId) -> Vec<(ContainerId, u32)> {
        let mut found: Vec<(ContainerId, u32)> = self
            .records
            .iter()
            .filter(|(id, _)| is_under(id, ancestor))
            .filter_map(|(id, r)| match r.state {
                ContainerState::Running { pid } => Some((id.clone(), pid)),
                _ => None,
            })
            .collect();
        found.sort_by_key(|(id, _)| std::cmp::Reverse(depth(id)));
        found
    }

    /// Forgets every exited container under `ancestor` (its root is gone, so nobody
    /// can reach them any more). Returns what was forgotten.
    pub fn forget_exited_under(&mut self, ancestor: &ContainerId) -> Vec<(ContainerId, Record)> {
        let ids: Vec<ContainerId> = self
            .records
            .iter()
            .filter(|(id, r)| is_under(id, ancestor) && !r.is_live())
            .map(|(id, _)| id.clone())
            .collect();
        ids.into_iter().filter_map(|id| self.records.remove(&id).map(|r| (id, r))).collect()
    }
}

/// True if `id` is nested (at any depth) in `ancestor`.
pub fn is_under(id: &ContainerId, ancestor: &ContainerId) -> bool {
    let mut parent = id.parent();
    while let Some(p) = parent {
        if p == ancestor {
            return true;
        }
        parent = p.parent();
    }
    false
}

fn depth(id: &ContainerId) -> usize {
    let mut depth = 0;
    let mut parent = id.parent();
    while let Some(p) = parent {
        depth += 1;
        parent = p.parent();
    }
    depth
}

#[cfg(test)]
mod tests;
