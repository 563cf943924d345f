//! The framework SDK: write Mesos schedulers and executors as libprocess actors.
//!
//! A *framework* is a scheduler (it receives resource offers from the master and decides
//! which tasks to run on them) and, optionally, executors (programs the agents start to
//! run its tasks). Implement [`Scheduler`](scheduler::Scheduler), hand it to
//! [`spawn_scheduler`](scheduler::spawn_scheduler) with the master's address, and the
//! driver does the rest: it finds the leading master, subscribes (keeping the
//! FrameworkID across scheduler restarts), reconnects with backoff after a master
//! failover, and acknowledges status updates. Executors implement
//! [`Executor`](executor::Executor) and run under
//! [`run_executor`](executor::run_executor), which reads the environment the agent set.
//! It is the one executor driver of the project: the agent's command executor
//! (`mesos-executor`, in `mesos-agent`) is an `Executor` on it too.
//!
//! Both drivers speak Apache Mesos's own v0 driver protocol (Mesos 1.11's
//! `sched.cpp` and `exec.cpp`), so they work with our master and agent and with real
//! Mesos ones. `docs/frameworks.md` is the tutorial; `examples/frameworks/` has four
//! complete frameworks.
//!
//! ```no_run
//! use mesos_framework::scheduler::{self, Scheduler, SchedulerConfig, SchedulerDriver};
//! use mesos_proto::mesos::{FrameworkId, MasterInfo};
//!
//! struct Hello;
//! impl Scheduler for Hello {
//!     fn registered(&mut self, _driver: &mut SchedulerDriver, id: &FrameworkId, _master: &MasterInfo) {
//!         println!("registered as {}", id.value);
//!     }
//! }
//!
//! actix_rt::System::new().block_on(async {
//!     let node = mesos_framework::runtime::start_node().unwrap();
//!     let masters = mesos_framework::masters::parse_masters("127.0.0.1:5050").unwrap();
//!     let config = SchedulerConfig::new(scheduler::framework_info("hello"), masters);
//!     let mut handle = scheduler::spawn_scheduler(&node, config, Hello).unwrap();
//!     let (_hello, status) = handle.join().await.unwrap();
//!     println!("driver ended: {status:?}");
//! });
//! ```
//!
//! # Layout
//! - [`scheduler`]: the `Scheduler` trait, its driver (core, handle, actor).
//! - [`checks`]: health checks and general checks of tasks (pure checker, probes, the
//!   runner executors use).
//! - [`executor`]: the `Executor` trait, its driver (core, `Notifier`, actor), the
//!   executor environment.
//! - [`masters`]: `--master` parsing and the choice of master to subscribe to.
//! - [`execute`]: the scheduler behind `mesos-execute`.
//! - [`tasks`]: helpers to build tasks from offers.
//! - [`runtime`]: starting a libprocess node for a framework binary.
//! - [`error`]: the error type.
//! - [`testing`] (feature `testing`): a master and fake agents on a simulated network.

pub mod checks;
pub mod error;
pub mod execute;
pub mod executor;
pub mod masters;
pub mod runtime;
pub mod scheduler;
pub mod tasks;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::FrameworkError;
