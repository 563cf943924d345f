//! Where the agent keeps things under `--work_dir` (Mesos: src/slave/paths.cpp).
//!
//! ```text
//! <work_dir>/
//!   .gc/                                            folders being deleted by the garbage collector
//!   meta/boot_id                                    boot id of the machine at checkpoint time
//!   meta/resources/resources.info                   checkpointed resources (reservations, volumes)
//!   volumes/roles/<role>/<persistence id>/          a persistent volume's content
//!   meta/slaves/latest -> <id>                      the agent id in use
//!   meta/slaves/<agent id>/slave.info               SlaveInfo
//!     frameworks/<framework id>/framework.info      FrameworkInfo
//!     frameworks/<framework id>/framework.pid       the scheduler's pid
//!       executors/<executor id>/executor.info       ExecutorInfo
//!         runs/latest -> <container id>
//!         runs/<container id>/pids/forked.pid       OS pid of the executor
//!         runs/<container id>/pids/libprocess.pid   libprocess pid of the executor
//!         runs/<container id>/executor.sentinel     present once the executor exited
//!           tasks/<task id>/task.info               Task
//!           tasks/<task id>/task.updates            StatusUpdateRecords
//!   slaves/<agent id>/frameworks/<framework id>/executors/<executor id>/runs/<container id>/
//!                                                   the sandbox: stdout, stderr, task files
//!     (and runs/latest -> <container id>)
//! ```
//!
//! Every id becomes one path component; ids that could escape (`..`, `/`) are
//! refused by [`component`].

use std::path::{Path, PathBuf};

use crate::error::AgentError;

/// An id as a single, safe path component.
pub fn component(kind: &'static str, id: &str) -> Result<String, AgentError> {
    if id.is_empty() || id == "." || id == ".." || id.contains('/') || id.contains('\0') {
        return Err(AgentError::Launch {
            executor_id: id.to_string(),
            reason: format!("{kind} '{id}' cannot name a folder"),
        });
    }
    Ok(id.to_string())
}

/// The paths of one agent's work directory.
#[derive(Debug, Clone)]
pub struct Paths {
    work_dir: PathBuf,
}

impl Paths {
    /// Paths under `work_dir`.
    pub fn new(work_dir: impl Into<PathBuf>) -> Paths {
        Paths { work_dir: work_dir.into() }
    }

    /// The work directory.
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// `meta/`.
    pub fn meta_dir(&self) -> PathBuf {
        self.work_dir.join("meta")
    }

    /// `meta/boot_id`.
    pub fn boot_id_file(&self) -> PathBuf {
        self.meta_dir().join("boot_id")
    }

    /// `meta/resources/resources.info`: the checkpointed resources.
    pub fn resources_info_file(&self) -> PathBuf {
        self.meta_dir().join("resources").join("resources.info")
    }

    /// `meta/resources/operations.info`: operations awaiting acknowledgement.
    pub fn operations_info_file(&self) -> PathBuf {
        self.meta_dir().join("resources").join("operations.info")
    }

    /// `volumes/roles/<role>/<persistence id>`: a persistent volume's folder. A `/`
    /// of a hierarchical role becomes a space (as in Mesos: a folder per role level
    /// could be mistaken for the volume's content). Both names were validated by the
    /// master (role names have no spaces; ids are one path component).
    // Mesos: paths.cpp getPersistentVolumePath.
    pub fn persistent_volume_dir(&self, role: &str, persistence_id: &str) -> PathBuf {
        self.work_dir
            .join("volumes")
            .join("roles")
            .join(role.replace('/', " "))
            .join(persistence_id)
    }

    /// `meta/slaves/latest`.
    pub fn latest_agent_link(&self) -> PathBuf {
        self.meta_dir().join("slaves").join("latest")
    }

    /// `meta/slaves/<agent id>`.
    pub fn agent_meta_dir(&self, agent_id: &str) -> PathBuf {
        self.meta_dir().join("slaves").join(agent_id)
    }

    /// `meta/slaves/<agent id>/slave.info`.
    pub fn agent_info_file(&self, agent_id: &str) -> PathBuf {
        self.agent_meta_dir(agent_id).join("slave.info")
    }

    /// `meta/slaves/<agent id>/drain.config`: the drain in progress (Mesos:
    /// `paths::getDrainConfigPath`).
    pub fn drain_config_file(&self, agent_id: &str) -> PathBuf {
        self.agent_meta_dir(agent_id).join("drain.config")
    }

    /// `meta/slaves/<agent id>/frameworks/<framework id>`.
    pub fn framework_meta_dir(&self, agent_id: &str, framework_id: &str) -> PathBuf {
        self.agent_meta_dir(agent_id).join("frameworks").join(framework_id)
    }

    /// `.../executors/<executor id>`.
    pub fn executor_meta_dir(
        &self,
        agent_id: &str,
        framework_id: &str,
        executor_id: &str,
    ) -> PathBuf {
        self.framework_meta_dir(agent_id, framework_id).join("executors").join(executor_id)
    }

    /// `.../runs/<container id>`.
    pub fn run_meta_dir(
        &self,
        agent_id: &str,
        framework_id: &str,
        executor_id: &str,
        container_id: &str,
    ) -> PathBuf {
        self.executor_meta_dir(agent_id, framework_id, executor_id).join("runs").join(container_id)
    }

    /// `.../tasks/<task id>`.
    pub fn task_meta_dir(&self, run: &Path, task_id: &str) -> PathBuf {
        run.join("tasks").join(task_id)
    }

    /// The sandbox `slaves/<a>/frameworks/<f>/executors/<e>/runs/<c>`.
    pub fn sandbox_dir(
        &self,
        agent_id: &str,
        framework_id: &str,
        executor_id: &str,
        container_id: &str,
    ) -> PathBuf {
        self.executor_sandbox_root(agent_id, framework_id, executor_id)
            .join("runs")
            .join(container_id)
    }

    /// `slaves/<a>/frameworks/<f>/executors/<e>` (holds `runs/`).
    pub fn executor_sandbox_root(
        &self,
        agent_id: &str,
        framework_id: &str,
        executor_id: &str,
    ) -> PathBuf {
        self.framework_sandbox_root(agent_id, framework_id).join("executors").join(executor_id)
    }

    /// `slaves/<a>/frameworks/<f>`: every sandbox of a framework.
    pub fn framework_sandbox_root(&self, agent_id: &str, framework_id: &str) -> PathBuf {
        self.sandboxes_root().join(agent_id).join("frameworks").join(framework_id)
    }

    /// `slaves/`: every sandbox is below it (the `/files` confinement root).
    pub fn sandboxes_root(&self) -> PathBuf {
        self.work_dir.join("slaves")
    }
}

/// File names inside a run's meta folder.
pub mod files {
    /// The executor's OS pid.
    pub const FORKED_PID: &str = "pids/forked.pid";
    /// The executor's libprocess pid.
    pub const LIBPROCESS_PID: &str = "pids/libprocess.pid";
    /// Present once the executor has exited.
    pub const SENTINEL: &str = "executor.sentinel";
    /// The task.
    pub const TASK_INFO: &str = "task.info";
    /// The task's status update stream.
    pub const TASK_UPDATES: &str = "task.updates";
    /// The framework.
    pub const FRAMEWORK_INFO: &str = "framework.info";
    /// The scheduler's pid.
    pub const FRAMEWORK_PID: &str = "framework.pid";
    /// The executor.
    pub const EXECUTOR_INFO: &str = "executor.info";
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths follow Mesos's layout, and ids that would escape a folder are refused.
    #[test]
    fn layout_and_components() {
        let p = Paths::new("/w");
        assert_eq!(
            p.run_meta_dir("a", "f", "e", "c"),
            PathBuf::from("/w/meta/slaves/a/frameworks/f/executors/e/runs/c")
        );
        assert_eq!(
            p.sandbox_dir("a", "f", "e", "c"),
            PathBuf::from("/w/slaves/a/frameworks/f/executors/e/runs/c")
        );
        assert!(component("task id", "..").is_err());
        assert!(component("task id", "a/b").is_err());
        assert!(component("task id", "").is_err());
        assert_eq!(component("task id", "web.1").unwrap(), "web.1");
    }
}
