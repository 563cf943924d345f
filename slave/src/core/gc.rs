//! Which folders of finished work to garbage collect, and which to take back.
//!
//! Mesos: slave.cpp `Slave::removeExecutor` (the run's sandbox and meta folder, then
//! the executor's), `Slave::removeFramework` (the framework's), and `Slave::run`
//! (a framework or executor that comes back is unscheduled). The core only names
//! the folders ([`Output::GarbageCollect`], [`Output::Unschedule`]); the actor's
//! collector (`agent/gc.rs`) times and removes them.

use std::path::{Path, PathBuf};

use mesos_proto::ids::{ExecutorId, FrameworkId};

use super::{AgentCore, Output};
use crate::state::Executor;

impl AgentCore {
    /// Moves a finished executor to its framework's history and schedules its run's
    /// sandbox and meta folder, and its executor folders (no task of it is queued
    /// here: queued tasks live in the executor, which is gone).
    // Mesos: Slave::removeExecutor.
    pub(crate) fn remove_executor(&mut self, framework_id: &FrameworkId, executor_id: &ExecutorId) {
        let Some(framework) = self.frameworks.get_mut(framework_id) else { return };
        let Some(executor) = framework.remove_executor(executor_id) else { return };
        self.limits.remove(&executor.container_id);
        let Some(agent_id) = self.agent_id() else { return };
        let (f, e) = (framework_id.as_str(), executor_id.as_str());
        let mut paths =
            vec![executor.directory.clone(), self.paths.executor_sandbox_root(&agent_id, f, e)];
        if executor.checkpoint {
            paths.push(self.paths.run_meta_dir(&agent_id, f, e, executor.container_id.value()));
            paths.push(self.paths.executor_meta_dir(&agent_id, f, e));
        }
        self.outbox.push(Output::GarbageCollect(paths));
    }

    /// Schedules a framework's folders once it has nothing left here.
    // Mesos: Slave::removeFramework.
    pub(super) fn garbage_collect_framework(
        &mut self,
        framework_id: &FrameworkId,
        checkpoint: bool,
    ) {
        let Some(agent_id) = self.agent_id() else { return };
        let mut paths = vec![self.paths.framework_sandbox_root(&agent_id, framework_id.as_str())];
        if checkpoint {
            paths.push(self.paths.framework_meta_dir(&agent_id, framework_id.as_str()));
        }
        self.outbox.push(Output::GarbageCollect(paths));
    }

    /// A framework or executor that runs here again: its folders are no longer
    /// garbage. Mesos unschedules the framework's folders when the framework is new
    /// and the executor's when the executor is; for a framework or executor that is
    /// still here nothing is scheduled, so unscheduling at every launch is the same.
    /// (The actor performs this in the same turn as the launch; no removal can come
    /// between.)
    // Mesos: Slave::run, "unschedule the work and meta directories".
    pub(super) fn unschedule(&mut self, framework_id: &FrameworkId, executor_id: &ExecutorId) {
        let Some(agent_id) = self.agent_id() else { return };
        let (f, e) = (framework_id.as_str(), executor_id.as_str());
        let paths = vec![
            self.paths.framework_sandbox_root(&agent_id, f),
            self.paths.framework_meta_dir(&agent_id, f),
            self.paths.executor_sandbox_root(&agent_id, f, e),
            self.paths.executor_meta_dir(&agent_id, f, e),
        ];
        self.outbox.push(Output::Unschedule(paths));
    }

    /// True if `path` is, or holds, the sandbox or meta folder of an executor the
    /// agent still has: the collector never removes such a folder, whatever its
    /// schedule said.
    pub fn uses_path(&self, path: &Path) -> bool {
        let agent_id = self.agent_id().unwrap_or_default();
        self.frameworks.iter().any(|(framework_id, framework)| {
            framework.executors.values().any(|executor| {
                self.executor_folders(&agent_id, framework_id, executor)
                    .iter()
                    .any(|folder| folder.starts_with(path))
            })
        })
    }

    /// The live executor runs, by framework and executor id (recovery's scan of the
    /// disk leaves their folders alone).
    pub fn live_runs(&self) -> crate::gc::LiveRuns {
        self.frameworks
            .iter()
            .map(|(framework_id, framework)| {
                let runs = framework
                    .executors
                    .values()
                    .map(|e| (e.id().to_string(), e.container_id.value().to_string()))
                    .collect();
                (framework_id.to_string(), runs)
            })
            .collect()
    }

    fn executor_folders(
        &self,
        agent_id: &str,
        framework_id: &FrameworkId,
        executor: &Executor,
    ) -> [PathBuf; 2] {
        let meta = self.paths.run_meta_dir(
            agent_id,
            framework_id.as_str(),
            executor.id().as_str(),
            executor.container_id.value(),
        );
        [executor.directory.clone(), meta]
    }
}
