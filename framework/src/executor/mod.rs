//! Executors: the [`Executor`] trait a framework's executor implements, and the driver
//! that registers it with its agent.
//!
//! Mesos: include/mesos/executor.hpp and src/exec/exec.cpp (`ExecutorProcess`). The
//! agent starts the executor with Mesos's environment ([`ExecutorEnv`]); the driver
//! registers (`RegisterExecutorMessage`), runs the tasks the agent sends, sends status
//! updates with a fresh uuid each and keeps them until the agent acknowledges them.
//!
//! Lifecycle:
//!
//! 1. `Registering`: `RegisterExecutorMessage` sent; `ExecutorRegisteredMessage` answers.
//! 2. `Connected`: tasks, kills, framework messages arrive; updates go out. Updates the
//!    agent has not acknowledged are resent every [`STATUS_UPDATE_RETRY_INTERVAL`], at
//!    most [`MAX_STATUS_UPDATE_RETRIES`] times (the agent ignores duplicates).
//! 3. The agent's connection breaks. Without checkpointing the executor shuts down.
//!    With it, the driver waits up to `MESOS_RECOVERY_TIMEOUT` for the restarted agent's
//!    `ReconnectExecutorMessage` and re-registers (`ReregisterExecutorMessage`, carrying
//!    every unacknowledged update and task); if none comes, it shuts down.
//! 4. Shutdown: `Executor::shutdown` runs, then the executor should stop the driver; if
//!    it has not after `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`, the driver aborts.
//! 5. Stop: `ExecutorDriver::stop` ends the driver once the agent has acknowledged every
//!    update (bounded by the shutdown grace period). If the agent is away and the
//!    framework checkpoints, the updates wait for the restarted agent instead: they ride
//!    on the re-registration, bounded by the recovery timeout.
//!
//! The driver reaches its agent over libprocess messages (Mesos's v0 driver) or the v1
//! executor HTTP API ([`Transport`]); the core and the [`Executor`] callbacks are the
//! same on both.
//!
//! Every executor runs on this one driver: users' executors, the examples', and the
//! agent's own command executor (`mesos-executor`, in `mesos-agent`), which watches its
//! task's process from a thread and reports back through a [`Notifier`].
//!
//! # Layout
//! - `env`: [`ExecutorEnv`], the environment the agent sets.
//! - `core`: the pure state machine.
//! - `http`: the v1 HTTP transport ([`Transport::Http`], over TLS when the node is): SUBSCRIBE with its RecordIO
//!   event stream, UPDATE and MESSAGE as POSTs, re-subscription after an agent restart.
//! - `process`: the actor, [`ExecutorDriver`], [`Notifier`], [`spawn_executor`],
//!   [`run_executor`] (and their `_on` forms taking a [`Transport`]).

mod core;
mod env;
mod http;
mod process;

use std::any::Any;
use std::time::Duration;

use mesos_proto::mesos::{
    ExecutorInfo, FrameworkInfo, KillPolicy, SlaveInfo, TaskGroupInfo, TaskId, TaskInfo,
};

pub use self::core::{ExecutorCore, ExecutorEvent, ExecutorOutput};
pub use env::ExecutorEnv;
pub use http::{CONNECT_TIMEOUT, HttpEndpoint, MAX_EVENT_BYTES, RESUBSCRIBE_INTERVAL};
pub use process::{
    ExecutorDriver, ExecutorHandle, ExecutorProcess, Notifier, Transport, run_executor,
    run_executor_on, spawn_executor, spawn_executor_on,
};

/// How often unacknowledged status updates are resent while connected.
pub const STATUS_UPDATE_RETRY_INTERVAL: Duration = Duration::from_secs(10);

/// Resends of one update while connected; past this it waits for a re-registration.
pub const MAX_STATUS_UPDATE_RETRIES: u32 = 6;

/// Unacknowledged updates kept at once; past this `send_status_update` is refused.
pub const MAX_UNACKNOWLEDGED_UPDATES: usize = 10_000;

/// Mesos: slave/constants.hpp `RECOVERY_TIMEOUT`, used when the agent does not set
/// `MESOS_RECOVERY_TIMEOUT`.
pub const DEFAULT_RECOVERY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Mesos: `DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD`.
pub const DEFAULT_SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// An executor. Mesos: include/mesos/executor.hpp `class Executor`.
pub trait Executor: Sized + Unpin + 'static {
    /// Registered with the agent; tasks follow.
    fn registered(
        &mut self,
        driver: &mut ExecutorDriver,
        executor: &ExecutorInfo,
        framework: &FrameworkInfo,
        agent: &SlaveInfo,
    ) {
        let _ = (driver, executor, framework, agent);
    }

    /// Registered again with a restarted agent.
    fn reregistered(&mut self, driver: &mut ExecutorDriver, agent: &SlaveInfo) {
        let _ = (driver, agent);
    }

    /// The agent went away and the framework checkpoints: the driver waits for it to
    /// come back (up to the recovery timeout).
    fn disconnected(&mut self, driver: &mut ExecutorDriver) {
        let _ = driver;
    }

    /// Run `task`; report its progress with [`ExecutorDriver::send_status_update`]
    /// (at least TASK_RUNNING, then a terminal state).
    fn launch_task(&mut self, driver: &mut ExecutorDriver, task: TaskInfo);

    /// Run a task group (LAUNCH_GROUP, v1 transport only): all of its tasks together.
    /// The default runs each with [`Executor::launch_task`]; Mesos's default executor
    /// (`mesos-default-executor`) overrides it to treat the group as one unit.
    fn launch_group(&mut self, driver: &mut ExecutorDriver, group: TaskGroupInfo) {
        for task in group.tasks {
            self.launch_task(driver, task);
        }
    }

    /// Kill a task; answer with TASK_KILLED. `kill_policy` is the one the scheduler gave
    /// with this kill, which overrides the task's own (Mesos: v1 executor `Event::Kill`).
    fn kill_task(
        &mut self,
        driver: &mut ExecutorDriver,
        task_id: &TaskId,
        kill_policy: Option<&KillPolicy>,
    );

    /// A message from the scheduler.
    fn framework_message(&mut self, driver: &mut ExecutorDriver, data: &[u8]) {
        let _ = (driver, data);
    }

    /// Shut down: kill every task (sending their terminal updates) and stop the driver.
    fn shutdown(&mut self, driver: &mut ExecutorDriver) {
        driver.stop();
    }

    /// A timer set with [`ExecutorDriver::schedule`] fired.
    fn timer(&mut self, driver: &mut ExecutorDriver, token: u64) {
        let _ = (driver, token);
    }

    /// Something sent with a [`Notifier`] (from [`ExecutorDriver::notifier`]) arrived:
    /// work the executor started off the driver (a thread waiting for a task's process,
    /// say) reports back here, on the driver, in order with the agent's messages.
    fn notified(&mut self, driver: &mut ExecutorDriver, notice: Box<dyn Any + Send>) {
        let _ = (driver, notice);
    }

    /// The driver cannot go on (bad environment); it stops after this.
    fn error(&mut self, driver: &mut ExecutorDriver, message: &str) {
        let _ = (driver, message);
    }
}
