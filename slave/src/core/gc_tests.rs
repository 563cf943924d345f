//! Transcript tests of what the core hands the garbage collector.

use std::path::PathBuf;

use mesos_proto::mesos::internal::ShutdownFrameworkMessage;

use super::Output;
use super::tests::{fw, master, now, running_core, running_t1};
use crate::containerizer::Termination;

fn collected(outputs: &[Output]) -> Vec<PathBuf> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::GarbageCollect(paths) => Some(paths.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Mesos `Slave::removeExecutor` and `removeFramework`: when a checkpointing
/// framework's only executor is gone, its run's sandbox and meta folder, its executor
/// folders, then the framework's folders are scheduled; nothing is while it runs, and
/// a running executor's folders are in use.
#[test]
fn finished_executor_and_framework_folders_are_collected() {
    let mut core = running_core();
    let container_id = running_t1(&mut core);
    let sandbox = core.frameworks()[&fw()].executors.values().next().unwrap().directory.clone();
    assert!(core.uses_path(&sandbox));
    assert!(core.uses_path(&PathBuf::from("/work/slaves/S1/frameworks/fw")));
    assert!(!core.uses_path(&PathBuf::from("/work/slaves/S1/frameworks/other")));
    core.on_shutdown_framework(&master(), ShutdownFrameworkMessage { framework_id: fw().into() });
    assert!(collected(&core.drain_outputs()).is_empty());

    let termination = Termination { container_id, status: Some(9), message: "killed".into() };
    core.on_container_terminated(termination, now());
    let run = sandbox.file_name().unwrap().to_string_lossy().into_owned();
    let expected: Vec<PathBuf> = [
        format!("/work/slaves/S1/frameworks/fw/executors/t1/runs/{run}"),
        "/work/slaves/S1/frameworks/fw/executors/t1".into(),
        format!("/work/meta/slaves/S1/frameworks/fw/executors/t1/runs/{run}"),
        "/work/meta/slaves/S1/frameworks/fw/executors/t1".into(),
        "/work/slaves/S1/frameworks/fw".into(),
        "/work/meta/slaves/S1/frameworks/fw".into(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(collected(&core.drain_outputs()), expected);
    assert!(!core.uses_path(&sandbox), "the executor is gone");
}
