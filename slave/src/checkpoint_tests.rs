use std::path::PathBuf;

use mesos_proto::mesos::internal::{StatusUpdateRecord, status_update_record};
use mesos_proto::mesos::{
    ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo, Task, TaskId,
};

use super::*;

/// A fresh folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("mesos-agent-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn populated(dir: &TempDir) -> (Paths, Checkpointer) {
    let paths = Paths::new(&dir.0);
    let cp = Checkpointer::new(paths.clone(), "A-S1");
    let info = SlaveInfo {
        hostname: "h".into(),
        id: Some(SlaveId { value: "A-S1".into() }),
        ..SlaveInfo::default()
    };
    cp.agent_info(&info).unwrap();
    let fw = FrameworkInfo {
        id: Some(FrameworkId { value: "F-0001".into() }),
        checkpoint: Some(true),
        ..FrameworkInfo::default()
    };
    cp.framework(&fw, "F-0001", Some("scheduler(1)@127.0.0.1:9")).unwrap();
    let exec =
        ExecutorInfo { executor_id: ExecutorId { value: "E".into() }, ..ExecutorInfo::default() };
    cp.executor("F-0001", &exec, "C1").unwrap();
    let run = ("F-0001", "E", "C1");
    cp.run_file(run, files::FORKED_PID, "4242").unwrap();
    cp.run_file(run, files::LIBPROCESS_PID, "executor(1)@127.0.0.1:7000").unwrap();
    let task = Task { task_id: TaskId { value: "T".into() }, ..Task::default() };
    cp.task(run, &task).unwrap();
    let record = StatusUpdateRecord {
        r#type: status_update_record::Type::Ack as i32,
        update: None,
        uuid: Some(vec![1; 16]),
    };
    cp.task_updates(run, "T", &[record.clone(), record]).unwrap();
    (paths, cp)
}

/// Port of `SlaveRecoveryTest.RecoverSlaveState` (the reading half): everything the
/// agent checkpoints (agent, framework, executor, run pids, task, update stream) reads
/// back as written.
#[test]
fn recover_slave_state_reads_back_everything() {
    let dir = TempDir::new("recover-state");
    let (paths, _) = populated(&dir);
    let state = read_state(&paths).unwrap().expect("a checkpoint exists");
    assert_eq!(state.info.id.unwrap().value, "A-S1");
    assert!(!state.rebooted);
    let fw = &state.frameworks[0];
    assert_eq!(fw.pid.as_deref(), Some("scheduler(1)@127.0.0.1:9"));
    let exec = &fw.executors[0];
    assert_eq!(exec.container_id, "C1");
    assert_eq!(exec.forked_pid, Some(4242));
    assert_eq!(
        exec.libprocess_pid.as_ref().map(|p| p.to_string()).as_deref(),
        Some("executor(1)@127.0.0.1:7000")
    );
    assert!(!exec.completed);
    assert_eq!(exec.tasks[0].task.task_id.value, "T");
    assert_eq!(exec.tasks[0].records.len(), 2);
}

/// A fresh work directory has nothing to recover.
#[test]
fn fresh_work_dir_recovers_nothing() {
    let dir = TempDir::new("fresh");
    assert!(read_state(&Paths::new(&dir.0)).unwrap().is_none());
}

/// Malformed checkpoint files are errors that name the file; nothing is deleted.
#[test]
fn malformed_checkpoints_name_the_file() {
    let dir = TempDir::new("malformed");
    let (paths, cp) = populated(&dir);
    let run = cp.run_dir("F-0001", "E", "C1");

    let updates = run.join("tasks/T").join(files::TASK_UPDATES);
    let mut bytes = fs::read(&updates).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&updates, &bytes).unwrap();
    let error = read_state(&paths).unwrap_err();
    assert!(
        matches!(&error, AgentError::CorruptCheckpoint { path, .. } if *path == updates),
        "{error}"
    );
    assert!(error.to_string().contains("task.updates"), "{error}");
    assert!(updates.exists(), "never a silent wipe");

    fs::write(&updates, b"\x05\x00").unwrap();
    assert!(read_state(&paths).unwrap_err().to_string().contains("truncated"));
    fs::remove_file(&updates).unwrap();

    let pid_file = run.join(files::FORKED_PID);
    fs::write(&pid_file, "not-a-pid").unwrap();
    let error = read_state(&paths).unwrap_err();
    assert!(error.to_string().contains("forked.pid"), "{error}");
    fs::write(&pid_file, "4242").unwrap();

    let info = paths.agent_info_file("A-S1");
    fs::write(&info, b"garbage that is not a framed protobuf").unwrap();
    let error = read_state(&paths).unwrap_err();
    assert!(error.to_string().contains("slave.info"), "{error}");
}

/// Atomic writes replace the whole content and leave no temporary file behind.
#[test]
fn atomic_write_replaces_content() {
    let dir = TempDir::new("atomic");
    let file = dir.0.join("a/b/file");
    write_atomic(&file, b"one").unwrap();
    write_atomic(&file, b"two").unwrap();
    assert_eq!(fs::read(&file).unwrap(), b"two");
    let names: Vec<_> =
        fs::read_dir(dir.0.join("a/b")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
}

/// The checkpointed resources (`meta/resources/resources.info`) come back with the
/// rest of the state (Mesos: `SlaveRecoveryTest` reads `resources.info` the same way).
#[test]
fn checkpointed_resources_round_trip() {
    let dir = TempDir::new("resources");
    let (paths, cp) = populated(&dir);
    let reservation =
        mesos_proto::resources::resource::dynamic_reservation("role1", Some("p"), None);
    let reserved = mesos_proto::resources::Resources::parse("cpus:1;disk:32")
        .unwrap()
        .push_reservation(&reservation)
        .unwrap();
    assert!(read_state(&paths).unwrap().unwrap().resources.is_empty(), "none yet");
    cp.resources(&reserved.to_protos()).unwrap();
    assert!(paths.resources_info_file().starts_with(paths.meta_dir()));
    let state = read_state(&paths).unwrap().unwrap();
    assert_eq!(mesos_proto::resources::Resources::from_protos(state.resources).unwrap(), reserved);
}

/// The drain config is checkpointed at `meta/slaves/<id>/drain.config` (Mesos's path),
/// read back after a restart, and gone once removed (removing twice is fine).
#[test]
fn drain_config_round_trip() {
    use mesos_proto::mesos::{DrainConfig, DurationInfo};
    let dir = TempDir::new("drain-config");
    let (paths, cp) = populated(&dir);
    assert_eq!(read_state(&paths).unwrap().unwrap().drain_config, None);
    let config = DrainConfig {
        max_grace_period: Some(DurationInfo { nanoseconds: 9 }),
        mark_gone: Some(true),
    };
    cp.drain_config(Some(&config)).unwrap();
    assert!(dir.0.join("meta/slaves/A-S1/drain.config").is_file());
    assert_eq!(read_state(&paths).unwrap().unwrap().drain_config, Some(config));
    cp.drain_config(None).unwrap();
    cp.drain_config(None).unwrap();
    assert_eq!(read_state(&paths).unwrap().unwrap().drain_config, None);
}
