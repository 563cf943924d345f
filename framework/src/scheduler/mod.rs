//! Schedulers: the [`Scheduler`] trait a framework implements, and the driver that
//! connects it to the leading master.
//!
//! Mesos: include/mesos/scheduler.hpp (`Scheduler`, `SchedulerDriver`) and
//! src/sched/sched.cpp (`SchedulerProcess`). The driver is a libprocess process
//! (`scheduler(N)@ip:port`); the scheduler's callbacks run inside it, one at a time, and
//! act through the [`SchedulerDriver`] they are handed. Nothing blocks: a callback that
//! wants to act later sets a timer with [`SchedulerDriver::schedule`].
//!
//! The connection lifecycle (see `docs/frameworks.md` for the diagram):
//!
//! 1. `Subscribing`: SUBSCRIBE is sent to a candidate master and retried with a
//!    randomized, doubling backoff (2 s initial, 1 min cap, at most a tenth of the
//!    failover timeout), moving through the master list ([`crate::masters`]).
//! 2. `Connected`: the master answered; offers, updates and messages flow.
//! 3. The master's connection breaks (`exited`): `disconnected` is called, outstanding
//!    offers are forgotten, and the driver goes back to 1, re-subscribing with its
//!    FrameworkID so its tasks keep running.
//! 4. `Stopped`: [`SchedulerDriver::stop`] or an error from the master.
//!
//! # Layout
//! - `core`: the pure state machine (messages and ticks in, calls and events out); its
//!   `calls` submodule is what the scheduler asks of the driver (ACCEPT, DECLINE, ...).
//! - `driver`: [`SchedulerDriver`], what callbacks act through.
//! - `process`: the actor shell, [`spawn_scheduler`] and [`SchedulerHandle`].

mod core;
mod driver;
mod process;

use std::time::Duration;

use mesos_proto::mesos::{
    self, FrameworkId, InverseOffer, MasterInfo, Offer, OfferId, SlaveId, TaskStatus,
};

pub use self::core::{
    AUTHENTICATION_TIMEOUT, AuthenticateeMessage, AuthenticatorMessage, Event, Output,
    SchedulerCore,
};
pub use driver::SchedulerDriver;
pub use process::{SchedulerHandle, SchedulerProcess, spawn_scheduler};

/// Mesos: sched/constants.hpp `REGISTRATION_BACKOFF_FACTOR` (the default of
/// `--registration_backoff_factor`): the first retry comes within this.
pub const REGISTRATION_BACKOFF_FACTOR: Duration = Duration::from_secs(2);

/// Mesos: sched/constants.hpp `REGISTRATION_RETRY_INTERVAL_MAX`: retries are never
/// further apart than this.
pub const REGISTRATION_RETRY_INTERVAL_MAX: Duration = Duration::from_secs(60);

/// A framework's scheduler. Every method has a default that does nothing (declining
/// offers in `resource_offers`), so a scheduler implements what it cares about.
///
/// Mesos: include/mesos/scheduler.hpp `class Scheduler`.
pub trait Scheduler: Sized + Unpin + 'static {
    /// The master accepted this driver's first SUBSCRIBE: `framework_id` is the
    /// framework's id (new, or the one it failed over with). Persist it to survive a
    /// scheduler restart.
    fn registered(
        &mut self,
        driver: &mut SchedulerDriver,
        framework_id: &FrameworkId,
        master: &MasterInfo,
    ) {
        let _ = (driver, framework_id, master);
    }

    /// The driver subscribed again after losing its master (a new leader, or the same
    /// master after a network blip). Reconcile here: updates may have been missed.
    fn reregistered(&mut self, driver: &mut SchedulerDriver, master: &MasterInfo) {
        let _ = (driver, master);
    }

    /// The connection to the master broke; the driver is already looking for it. Every
    /// outstanding offer is void.
    fn disconnected(&mut self, driver: &mut SchedulerDriver) {
        let _ = driver;
    }

    /// New offers. Accept or decline each of them; an offer left alone is held until the
    /// master rescinds it.
    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        for offer in offers {
            driver.decline(&offer.id, None);
        }
    }

    /// An offer is no longer valid (used elsewhere, agent lost, offer timeout).
    fn offer_rescinded(&mut self, driver: &mut SchedulerDriver, offer_id: &OfferId) {
        let _ = (driver, offer_id);
    }

    /// Inverse offers: the master asks for agents back because their machines are
    /// scheduled for maintenance (each names the agent and its `unavailability`).
    /// Answer with [`SchedulerDriver::accept_inverse_offers`] or
    /// [`SchedulerDriver::decline_inverse_offers`]; by default they are left
    /// unanswered (the master rescinds them when the schedule changes or on
    /// `--offer_timeout`). Mesos: v1 `INVERSE_OFFERS`.
    fn inverse_offers(&mut self, driver: &mut SchedulerDriver, inverse_offers: Vec<InverseOffer>) {
        let _ = (driver, inverse_offers);
    }

    /// An inverse offer is withdrawn. Mesos: v1 `RESCIND_INVERSE_OFFER`.
    fn inverse_offer_rescinded(
        &mut self,
        driver: &mut SchedulerDriver,
        inverse_offer_id: &OfferId,
    ) {
        let _ = (driver, inverse_offer_id);
    }

    /// A task changed state. With implicit acknowledgements the driver acknowledges it
    /// when this returns; otherwise call [`SchedulerDriver::acknowledge`].
    fn status_update(&mut self, driver: &mut SchedulerDriver, status: &TaskStatus) {
        let _ = (driver, status);
    }

    /// What became of an offer operation this framework gave an id (`OperationInfo.id`),
    /// or a reconciliation answer. A status with a `uuid` must be acknowledged with
    /// [`SchedulerDriver::acknowledge_operation_status`].
    fn operation_status(&mut self, driver: &mut SchedulerDriver, status: &mesos::OperationStatus) {
        let _ = (driver, status);
    }

    /// A message from one of this framework's executors.
    fn framework_message(
        &mut self,
        driver: &mut SchedulerDriver,
        executor_id: &mesos::ExecutorId,
        agent_id: &SlaveId,
        data: &[u8],
    ) {
        let _ = (driver, executor_id, agent_id, data);
    }

    /// An agent was lost (its tasks get their own TASK_LOST or TASK_UNREACHABLE updates).
    fn agent_lost(&mut self, driver: &mut SchedulerDriver, agent_id: &SlaveId) {
        let _ = (driver, agent_id);
    }

    /// An executor ended with `status` (its wait status).
    fn executor_lost(
        &mut self,
        driver: &mut SchedulerDriver,
        executor_id: &mesos::ExecutorId,
        agent_id: &SlaveId,
        status: i32,
    ) {
        let _ = (driver, executor_id, agent_id, status);
    }

    /// A timer set with [`SchedulerDriver::schedule`] fired.
    fn timer(&mut self, driver: &mut SchedulerDriver, token: u64) {
        let _ = (driver, token);
    }

    /// The master refused this framework (invalid info, removed, failed over by another
    /// scheduler). The driver has aborted: it delivers nothing more and stops after this.
    fn error(&mut self, driver: &mut SchedulerDriver, message: &str) {
        let _ = (driver, message);
    }
}

/// How to run a scheduler driver.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// The framework. Set `id` to fail over an existing framework (a restarted scheduler),
    /// and `failover_timeout` so the master keeps its tasks while no scheduler is there.
    pub framework: mesos::FrameworkInfo,
    /// The master, or every master of the HA group ([`crate::masters::parse_masters`]).
    pub masters: Vec<libprocess::Pid>,
    /// Acknowledge each status update after `status_update` returns (Mesos's default).
    pub implicit_acknowledgements: bool,
    /// Roles offers are suppressed for at subscription.
    pub suppressed_roles: Vec<String>,
    /// The first retry delay bound (Mesos `--registration_backoff_factor`).
    pub registration_backoff_factor: Duration,
    /// Seed of the backoff jitter (reproducible simulations).
    pub seed: u64,
    /// Authenticate with CRAM-MD5 before subscribing (Mesos:
    /// `MesosSchedulerDriver(scheduler, framework, master, credential)`). Set
    /// `framework.principal` to the same principal.
    pub credential: Option<mesos_security::Credential>,
}

impl SchedulerConfig {
    /// Mesos's defaults for `framework` talking to `masters`.
    pub fn new(framework: mesos::FrameworkInfo, masters: Vec<libprocess::Pid>) -> SchedulerConfig {
        SchedulerConfig {
            framework,
            masters,
            implicit_acknowledgements: true,
            suppressed_roles: Vec::new(),
            registration_backoff_factor: REGISTRATION_BACKOFF_FACTOR,
            seed: 0,
            credential: None,
        }
    }
}

/// Where a driver is in its life (Mesos's `Status` of the driver).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriverStatus {
    /// Running: subscribing or connected.
    Running,
    /// Stopped by [`SchedulerDriver::stop`].
    Stopped,
    /// Aborted by an error from the master or [`SchedulerDriver::abort`].
    Aborted {
        /// Why.
        message: String,
    },
}

/// A framework with Mesos's defaults: `name`, user from `$USER` (or `root`), role `*`.
pub fn framework_info(name: &str) -> mesos::FrameworkInfo {
    let user =
        std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "root".to_string());
    mesos::FrameworkInfo { user, name: name.to_string(), ..Default::default() }
}

/// A `Filters` that keeps declined resources away for `refuse_seconds`.
pub fn refuse_for(refuse: Duration) -> mesos::Filters {
    mesos::Filters { refuse_seconds: Some(refuse.as_secs_f64()) }
}

/// The roles a framework subscribes with: `roles` with MULTI_ROLE, else `role` (`*`).
fn roles_of(info: &mesos::FrameworkInfo) -> Vec<String> {
    let multi_role = info
        .capabilities
        .iter()
        .any(|c| c.r#type() == mesos::framework_info::capability::Type::MultiRole);
    #[allow(deprecated)]
    let role = info.role.clone();
    if multi_role { info.roles.clone() } else { vec![role.unwrap_or_else(|| "*".to_string())] }
}

#[cfg(test)]
mod core_tests;
