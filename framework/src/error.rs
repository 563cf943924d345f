//! The error type of the framework SDK.

use libprocess::Pid;

/// What can go wrong starting or driving a scheduler or an executor.
#[derive(Debug, thiserror::Error)]
pub enum FrameworkError {
    /// `--master` named no master at all.
    #[error("no master given (expected `ip:port` or a comma list of them)")]
    NoMasters,
    /// `--master` is not a list of masters.
    #[error(transparent)]
    Masters(#[from] mesos_proto::masters::MastersError),
    /// A variable of the executor environment is missing.
    #[error("expecting '{name}' to be set in the environment")]
    MissingEnv {
        /// The variable, e.g. `MESOS_SLAVE_PID`.
        name: &'static str,
    },
    /// A variable of the executor environment has a value that cannot be used.
    #[error("failed to parse value '{value}' of '{name}': {reason}")]
    BadEnv {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// `acknowledge` was called on a driver that acknowledges implicitly.
    #[error("explicit acknowledgement on a driver with implicit acknowledgements enabled")]
    ImplicitAcknowledgements,
    /// The driver has stopped or aborted; the call was not carried out.
    #[error("the driver is not running")]
    NotRunning,
    /// Too many status updates wait for the agent's acknowledgement.
    #[error("{count} status updates are unacknowledged; refusing more until the agent catches up")]
    TooManyUnacknowledged {
        /// How many wait.
        count: usize,
    },
    /// The driver's process is gone.
    #[error("the driver process {pid} is gone")]
    DriverGone {
        /// Its pid.
        pid: Pid,
    },
    /// A task's `HealthCheck` or `CheckInfo` cannot be run (Mesos's validation reason).
    #[error("invalid check: {reason}")]
    InvalidCheck {
        /// Why.
        reason: String,
    },
    /// The runtime refused something (spawning a process, binding a port).
    #[error(transparent)]
    Runtime(#[from] libprocess::Error),
}
