//! Checkpointed resources: dynamic reservations and persistent volumes.
//!
//! The master owns them: after every RESERVE, UNRESERVE, CREATE, DESTROY (and when the
//! agent re-registers) it sends the whole set in `CheckpointResourcesMessage`. The
//! agent creates the folders of new volumes, deletes those of destroyed ones,
//! checkpoints the set, and reports it in every (re-)registration, so that a master
//! that never saw the operations (it failed over) learns them. A task whose resources
//! include a volume finds it in its sandbox at the volume's `container_path`.
//!
//! Mesos: slave.cpp `Slave::checkpointResources`, `syncCheckpointedResources`; the
//! posix filesystem isolator (isolators/filesystem/posix.cpp) for volumes in sandboxes.

use std::path::{Component, Path, PathBuf};

use libprocess::Pid;
use mesos_proto::mesos::internal::CheckpointResourcesMessage;
use mesos_proto::mesos::{Resource, TaskInfo};
use mesos_proto::resources::{Resources, resource};

use super::{AgentCore, CheckpointWrite, Output};

impl AgentCore {
    /// `CheckpointResourcesMessage`: the master's view of our reservations and volumes.
    /// A set that does not fit this agent's static resources is refused (Mesos aborts
    /// the agent there; refusing keeps the old, consistent set).
    pub fn on_checkpoint_resources(&mut self, from: &Pid, message: CheckpointResourcesMessage) {
        if !self.registration.is_master(from) {
            tracing::warn!(%from, "ignoring CheckpointResourcesMessage from a process that is not our master");
            return;
        }
        let checked = Resources::from_protos(message.resources)
            .map_err(|e| e.to_string())
            .and_then(|new| self.fits_static_resources(&new).map(|()| new));
        let new = match checked {
            Ok(new) => new,
            Err(error) => {
                tracing::error!(%error, "refusing checkpointed resources from the master");
                return;
            }
        };
        self.replace_checkpointed(new);
    }

    /// Makes `new` the checkpointed resources: volume folders made and removed, the
    /// set checkpointed.
    pub(crate) fn replace_checkpointed(&mut self, new: Resources) {
        if new == self.checkpointed {
            return;
        }
        let old_volumes = self.checkpointed.persistent_volumes();
        let new_volumes = new.persistent_volumes();
        let create =
            self.volume_dirs(new_volumes.iter().filter(|v| !old_volumes.contains_resource(v)));
        let remove =
            self.volume_dirs(old_volumes.iter().filter(|v| !new_volumes.contains_resource(v)));
        tracing::info!(resources = %new, created = create.len(), removed = remove.len(), "checkpointing resources");
        self.outbox.push(Output::SyncVolumes { create, remove });
        self.checkpoint(CheckpointWrite::Resources(new.to_protos()));
        self.checkpointed = new;
    }

    /// Takes back the checkpointed resources after a restart.
    pub(crate) fn recover_checkpointed_resources(&mut self, resources: Vec<Resource>) {
        match Resources::from_protos(resources) {
            Ok(resources) => self.checkpointed = resources,
            Err(error) => tracing::error!(%error, "ignoring unreadable checkpointed resources"),
        }
    }

    /// The checkpointed resources, as the master last sent them.
    pub fn checkpointed_resources(&self) -> &Resources {
        &self.checkpointed
    }

    pub(crate) fn fits_static_resources(&self, checkpointed: &Resources) -> Result<(), String> {
        let static_resources =
            Resources::from_protos(self.info.resources.clone()).map_err(|e| e.to_string())?;
        static_resources.with_checkpointed(checkpointed).map(|_| ())
    }

    /// The folder of a persistent volume (root disk; see [`crate::paths::Paths`]).
    pub(crate) fn volume_dir(&self, volume: &Resource) -> Option<PathBuf> {
        let role = resource::reservation_role(volume)?;
        let id = &volume.disk.as_ref()?.persistence.as_ref()?.id;
        crate::paths::component("persistence id", id).ok()?;
        Some(self.paths.persistent_volume_dir(role, id))
    }

    fn volume_dirs<'a>(&self, volumes: impl Iterator<Item = &'a Resource>) -> Vec<PathBuf> {
        volumes.filter_map(|v| self.volume_dir(v)).collect()
    }

    /// The links that make `task`'s persistent volumes visible in its sandbox, or why
    /// they cannot be made. Mesos's posix filesystem isolator refuses absolute
    /// container paths; `..` is refused too, so a link never lands outside the sandbox.
    pub(crate) fn volume_links(&self, task: &TaskInfo) -> Result<Vec<(PathBuf, PathBuf)>, String> {
        let mut links = Vec::new();
        let executor_resources = task.executor.iter().flat_map(|e| e.resources.iter());
        for volume in task.resources.iter().chain(executor_resources) {
            if !resource::is_persistent_volume(volume) {
                continue;
            }
            let container_path = volume
                .disk
                .as_ref()
                .and_then(|d| d.volume.as_ref())
                .map(|v| v.container_path.clone())
                .unwrap_or_default();
            let relative = Path::new(&container_path);
            let safe = !container_path.is_empty()
                && relative.components().all(|c| matches!(c, Component::Normal(_)));
            if !safe {
                return Err(format!(
                    "Persistent volume container path '{container_path}' must be a relative path inside the sandbox"
                ));
            }
            let mut plain = volume.clone();
            plain.allocation_info = None;
            if !self.checkpointed.contains_resource(&plain) {
                return Err(format!(
                    "Persistent volume '{}' is not on this agent",
                    resource::display(volume)
                ));
            }
            let dir = self.volume_dir(volume).ok_or("Persistent volume without a valid id")?;
            links.push((relative.to_path_buf(), dir));
        }
        Ok(links)
    }
}

#[cfg(test)]
#[path = "resources_tests.rs"]
mod tests;
