//! Transcript tests of checkpointed resources and volumes in sandboxes.

use std::path::PathBuf;

use mesos_proto::mesos::internal::CheckpointResourcesMessage;
use mesos_proto::mesos::resource::{DiskInfo, disk_info};
use mesos_proto::mesos::{self, TaskState};
use mesos_proto::resources::{Resources, resource};

use super::super::tests::{command_task, master, now, run_task, running_core};
use super::super::{AgentCore, CheckpointWrite, Outgoing, Output};

fn volume(id: &str, container_path: &str) -> mesos::Resource {
    let reservation = resource::dynamic_reservation("role1", None, None);
    let disk = Resources::parse("disk:64").unwrap().push_reservation(&reservation).unwrap();
    let mut volume = disk.to_protos().remove(0);
    volume.disk = Some(Box::new(DiskInfo {
        persistence: Some(disk_info::Persistence { id: id.into(), principal: None }),
        volume: Some(mesos::Volume {
            container_path: container_path.into(),
            mode: mesos::volume::Mode::Rw as i32,
            ..Default::default()
        }),
        ..Default::default()
    }));
    volume
}

fn core_with_disk() -> AgentCore {
    let mut core = running_core();
    core.info.resources = Resources::parse("cpus:1;mem:128;disk:128").unwrap().to_protos();
    core
}

fn checkpoint(core: &mut AgentCore, resources: Vec<mesos::Resource>) -> Vec<Output> {
    core.on_checkpoint_resources(&master(), CheckpointResourcesMessage { resources });
    core.drain_outputs()
}

/// `CheckpointResourcesMessage` with a new volume: its folder is created, then the set
/// is checkpointed; without it: the folder is deleted. A re-registration reports the
/// set (`checkpointed_resources`).
#[test]
fn checkpoint_resources_creates_and_removes_volumes() {
    let mut core = core_with_disk();
    let v1 = volume("v1", "data");
    let outputs = checkpoint(&mut core, vec![v1.clone()]);
    let dir = PathBuf::from("/work/volumes/roles/role1/v1");
    assert!(
        matches!(&outputs[0], Output::SyncVolumes { create, remove } if *create == vec![dir.clone()] && remove.is_empty()),
        "{outputs:?}"
    );
    assert!(
        matches!(&outputs[1], Output::Checkpoint(CheckpointWrite::Resources(r)) if r.len() == 1)
    );
    let reregister = core.reregister_message();
    assert_eq!(reregister.checkpointed_resources.len(), 1);

    assert!(checkpoint(&mut core, vec![v1]).is_empty(), "the same set again changes nothing");
    let outputs = checkpoint(&mut core, Vec::new());
    assert!(
        matches!(&outputs[0], Output::SyncVolumes { create, remove } if create.is_empty() && *remove == vec![dir])
    );
    assert!(core.checkpointed_resources().is_empty());
}

/// Checkpointed resources the agent's static resources cannot hold are refused, and
/// so is a message from a process that is not the master.
#[test]
fn incompatible_or_foreign_checkpoints_are_refused() {
    let mut core = core_with_disk();
    let reservation = resource::dynamic_reservation("role1", None, None);
    let too_much = Resources::parse("cpus:8").unwrap().push_reservation(&reservation).unwrap();
    assert!(checkpoint(&mut core, too_much.to_protos()).is_empty());
    let stranger: libprocess::Pid = "master@10.9.9.9:5050".parse().unwrap();
    let message = CheckpointResourcesMessage { resources: vec![volume("v1", "data")] };
    core.on_checkpoint_resources(&stranger, message);
    assert!(core.drain_outputs().is_empty());
    assert!(core.checkpointed_resources().is_empty());
}

/// A task using a volume: after the executor's launch, the volume is linked into the
/// sandbox at its container path. A volume that escapes the sandbox, or that the
/// agent does not have, fails the task with TASK_ERROR.
#[test]
fn tasks_find_their_volumes_in_the_sandbox() {
    let mut core = core_with_disk();
    checkpoint(&mut core, vec![volume("v1", "data")]);
    let mut task = command_task("t1");
    task.resources = Resources::parse("cpus:0.1").unwrap().to_protos();
    task.resources.push(volume("v1", "data"));
    core.on_run_task(&master(), run_task(task), now());
    let outputs = core.drain_outputs();
    let launch = outputs.iter().position(|o| matches!(o, Output::Launch(_))).unwrap();
    let link = outputs.iter().position(|o| matches!(o, Output::LinkVolumes { .. })).unwrap();
    assert!(launch < link, "the sandbox exists before the link");
    let Output::LinkVolumes { links, .. } = &outputs[link] else { unreachable!() };
    assert_eq!(
        links,
        &vec![(PathBuf::from("data"), PathBuf::from("/work/volumes/roles/role1/v1"))]
    );

    for (id, path) in [("v1", "/etc"), ("v1", "../../x"), ("v2", "data")] {
        let mut task = command_task(&format!("bad-{id}-{}", path.len()));
        task.resources.push(volume(id, path));
        core.on_run_task(&master(), run_task(task), now());
        let outputs = core.drain_outputs();
        let error = outputs.iter().find_map(|o| match o {
            Output::Send { message: Outgoing::StatusUpdate(m), .. } => {
                Some(m.update.status.clone())
            }
            _ => None,
        });
        let error = error.unwrap_or_else(|| panic!("a status for {path}: {outputs:?}"));
        assert_eq!(error.state(), TaskState::TaskError, "{path}");
        assert!(!outputs.iter().any(|o| matches!(o, Output::LinkVolumes { .. })));
    }
}
