//! Persistent volumes on the real `mesos-agent` and `mesos-executor` binaries, with a
//! fake master in the test process (issue 15's real-process proof, agent half; the
//! master half is in `mesos-master`'s `reservations` tests).

use std::net::SocketAddr;

use libprocess::Node;
use mesos_proto::mesos::internal::{CheckpointResourcesMessage, RunTaskMessage};
use mesos_proto::mesos::resource::{DiskInfo, disk_info};
use mesos_proto::mesos::{self, TaskState};
use mesos_proto::resources::{Resources, resource};

use super::processes::{Processes, agent_listener, start_agent};
use super::support::{
    AGENT_ID, MasterEvent, TempDir, command_task, fake_master, framework, next_event, next_update,
};

/// A persistent volume `id` of 64 MB of disk reserved to `role1`, at `data` in
/// sandboxes.
fn volume(id: &str) -> mesos::Resource {
    let reservation = resource::dynamic_reservation("role1", Some("ops"), None);
    let disk = Resources::parse("disk:64").unwrap().push_reservation(&reservation).unwrap();
    let mut volume = disk.to_protos().remove(0);
    volume.disk = Some(Box::new(DiskInfo {
        persistence: Some(disk_info::Persistence { id: id.into(), principal: Some("ops".into()) }),
        volume: Some(mesos::Volume {
            container_path: "data".into(),
            mode: mesos::volume::Mode::Rw as i32,
            ..Default::default()
        }),
        ..Default::default()
    }));
    volume
}

/// A command task using the volume.
fn task_on_volume(id: &str, command: &str, volume: &mesos::Resource) -> mesos::TaskInfo {
    let mut task = command_task(id, command);
    task.resources = Resources::parse("cpus:0.1;mem:32").unwrap().to_protos();
    task.resources.push(volume.clone());
    task
}

/// Runs `task` and returns its terminal state.
async fn run(
    node: &Node,
    master: &libprocess::Pid,
    agent: &libprocess::Pid,
    task: mesos::TaskInfo,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<MasterEvent>,
) -> TaskState {
    let id = task.task_id.value.clone();
    let message = RunTaskMessage { framework: framework(true), task, ..Default::default() };
    node.send(master, agent, message);
    loop {
        let update = next_update(events).await;
        let state = update.status.state();
        if update.status.task_id.value == id && state.is_terminal() {
            return state;
        }
    }
}

/// `PersistentVolumeTest.AccessPersistentVolume` with an agent restart: the master has
/// the agent checkpoint a volume; a task writes a file into it through its sandbox;
/// the agent is killed (-9) and restarted, and re-registers with the volume in
/// `checkpointed_resources`; a second task reads the file back; a DESTROY (the volume
/// left out of the checkpointed set) deletes the folder.
#[actix_rt::test]
async fn persistent_volume_survives_tasks_and_agent_restart() {
    let dir = TempDir::new("volume");
    let work_dir = dir.0.join("work");
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut processes = Processes::default();
    let listener = agent_listener();
    processes.agents.push(start_agent(master.pid(), &listener, &work_dir, &[]));
    let MasterEvent::Registered { from: agent } = next_event(&mut events).await else {
        panic!("expected registration")
    };
    let volume = volume("vol-1");
    node.send(master.pid(), &agent, CheckpointResourcesMessage { resources: vec![volume.clone()] });

    let write = task_on_volume("writer", "echo hello-volume > data/hello.txt", &volume);
    assert_eq!(run(&node, master.pid(), &agent, write, &mut events).await, TaskState::TaskFinished);
    let folder = work_dir.join("volumes/roles/role1/vol-1");
    assert_eq!(std::fs::read_to_string(folder.join("hello.txt")).unwrap(), "hello-volume\n");

    processes.kill_agent(0);
    processes.agents.push(start_agent(master.pid(), &listener, &work_dir, &[]));
    let reregistered = loop {
        if let MasterEvent::Reregistered { message, .. } = next_event(&mut events).await {
            break message;
        }
    };
    assert_eq!(reregistered.slave.id.as_ref().map(|id| id.value.as_str()), Some(AGENT_ID));
    let reported = Resources::from_protos(reregistered.checkpointed_resources).unwrap();
    assert_eq!(reported, Resources::from_protos([volume.clone()]).unwrap());

    let read = task_on_volume("reader", "test \"$(cat data/hello.txt)\" = hello-volume", &volume);
    assert_eq!(run(&node, master.pid(), &agent, read, &mut events).await, TaskState::TaskFinished);

    // DESTROY: the master sends the set without the volume.
    node.send(master.pid(), &agent, CheckpointResourcesMessage { resources: Vec::new() });
    let check = command_task("after-destroy", "true");
    let mut check = check;
    check.resources = Resources::parse("cpus:0.1;mem:32").unwrap().to_protos();
    assert_eq!(run(&node, master.pid(), &agent, check, &mut events).await, TaskState::TaskFinished);
    assert!(!folder.exists(), "the destroyed volume's folder is gone");
    node.shutdown().await;
}
