//! The agent's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the agent library.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A file or folder under `--work_dir` could not be read or written.
    #[error("{action} '{path}': {source}")]
    Io {
        /// What was being done ("write", "read", "create folder", ...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A checkpoint file exists but cannot be decoded. Recovery stops here: the
    /// agent never wipes state it cannot read.
    #[error("corrupt checkpoint file '{path}': {reason}")]
    CorruptCheckpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The checkpointed agent info does not match this agent's flags.
    #[error(
        "incompatible agent info in '{path}': {reason}; remove '{latest}' to start as a new agent"
    )]
    IncompatibleAgentInfo {
        /// The checkpointed `slave.info`.
        path: PathBuf,
        /// What differs.
        reason: String,
        /// The `meta/slaves/latest` link to remove.
        latest: PathBuf,
    },
    /// An executor could not be started.
    #[error("cannot launch executor '{executor_id}': {reason}")]
    Launch {
        /// The executor.
        executor_id: String,
        /// Why.
        reason: String,
    },
    /// A URI of an executor's command could not be fetched into its sandbox.
    #[error("Failed to fetch '{uri}': {reason}")]
    Fetch {
        /// The URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// A status update could not be accepted by the status-update manager.
    #[error("status update for task '{task_id}' rejected: {reason}")]
    StatusUpdate {
        /// The task.
        task_id: String,
        /// Why.
        reason: String,
    },
    /// A status-update acknowledgement matched no pending update.
    #[error("acknowledgement for task '{task_id}' of framework '{framework_id}' ignored: {reason}")]
    Acknowledgement {
        /// The framework.
        framework_id: String,
        /// The task.
        task_id: String,
        /// Why.
        reason: String,
    },
    /// A flag has a bad value.
    #[error("invalid value for --{flag}: {reason}")]
    Flag {
        /// The flag name.
        flag: &'static str,
        /// Why.
        reason: String,
    },
    /// A `/files` request names a path outside every sandbox, or nothing.
    #[error("{0}")]
    Files(String),
}

impl AgentError {
    /// An [`AgentError::Io`] for `path`.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> AgentError {
        AgentError::Io { action, path: path.into(), source }
    }
}
