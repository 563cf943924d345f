//! The scheduler driver's actor: decodes the master's messages, feeds the core, calls
//! the scheduler for each event, and performs the core's outputs.

use libprocess::{Context, DecodeError, Node, Pid, Process, ProcessRef};
use mesos_proto::mesos::internal;
use tokio::sync::{oneshot, watch};

use super::core::{AuthenticatorMessage, Event, Output, SchedulerCore};
use super::driver::SchedulerDriver;
use super::{DriverStatus, Scheduler, SchedulerConfig};
use crate::error::FrameworkError;

libprocess::protocol! {
    /// Every message a scheduler driver accepts. Mesos: sched.cpp `initialize`.
    pub enum SchedulerMessage {
        /// Master: the framework is registered (first subscription).
        Registered(internal::FrameworkRegisteredMessage),
        /// Master: the framework is registered again (failover, reconnection).
        Reregistered(internal::FrameworkReregisteredMessage),
        /// Master: new offers.
        Offers(internal::ResourceOffersMessage),
        /// Master: an offer is withdrawn.
        Rescind(internal::RescindResourceOfferMessage),
        /// Master: inverse offers (agents to give back for maintenance).
        InverseOffers(internal::InverseOffersMessage),
        /// Master: an inverse offer is withdrawn.
        RescindInverseOffer(internal::RescindInverseOfferMessage),
        /// Master: a task status update (acknowledge it if it has a uuid).
        StatusUpdate(internal::StatusUpdateMessage),
        /// Master: what became of an operation with an id (operation feedback).
        OperationStatus(internal::UpdateOperationStatusMessage),
        /// Master: an agent is lost.
        LostSlave(internal::LostSlaveMessage),
        /// Master: an executor ended.
        ExitedExecutor(internal::ExitedExecutorMessage),
        /// Master or agent: a message from an executor.
        ExecutorToFramework(internal::ExecutorToFrameworkMessage),
        /// Master: the framework is refused (or a follower redirects us).
        Error(internal::FrameworkErrorMessage),
        /// A master: the leading master is elsewhere (follower answer, new leader).
        NewMaster(mesos_proto::extensions::NewMasterDetectedMessage),
        /// Authenticator: the mechanisms on offer.
        AuthenticationMechanisms(internal::AuthenticationMechanismsMessage),
        /// Authenticator: the challenge.
        AuthenticationStep(internal::AuthenticationStepMessage),
        /// Authenticator: authenticated.
        AuthenticationCompleted(internal::AuthenticationCompletedMessage),
        /// Authenticator: refused.
        AuthenticationFailed(internal::AuthenticationFailedMessage),
        /// Authenticator: the exchange broke.
        AuthenticationError(internal::AuthenticationErrorMessage),
    }
}

/// The driver process (`scheduler(N)@ip:port`) running scheduler `S`.
pub struct SchedulerProcess<S: Scheduler> {
    /// `None` once handed back through [`SchedulerHandle::join`].
    scheduler: Option<S>,
    core: SchedulerCore,
    status: watch::Sender<DriverStatus>,
    done: Option<oneshot::Sender<(S, DriverStatus)>>,
}

impl<S: Scheduler> SchedulerProcess<S> {
    /// Delivers every queued event to the scheduler, then performs the outputs.
    fn run_events(&mut self, ctx: &mut Context<'_, Self>) {
        self.core.set_now(ctx.now());
        while let Some(event) = self.core.next_event() {
            let Some(scheduler) = self.scheduler.as_mut() else { break };
            let mut driver = SchedulerDriver::new(&mut self.core);
            match &event {
                Event::Registered { framework_id, master } => {
                    scheduler.registered(&mut driver, framework_id, master)
                }
                Event::Reregistered { master } => scheduler.reregistered(&mut driver, master),
                Event::Disconnected => scheduler.disconnected(&mut driver),
                Event::Offers(offers) => scheduler.resource_offers(&mut driver, offers.clone()),
                Event::Rescinded(offer_id) => scheduler.offer_rescinded(&mut driver, offer_id),
                Event::InverseOffers(offers) => {
                    scheduler.inverse_offers(&mut driver, offers.clone())
                }
                Event::InverseOfferRescinded(id) => {
                    scheduler.inverse_offer_rescinded(&mut driver, id)
                }
                Event::Update(status) => {
                    scheduler.status_update(&mut driver, status);
                    self.core.after_status_update(status);
                }
                Event::OperationStatus(status) => scheduler.operation_status(&mut driver, status),
                Event::Message { agent_id, executor_id, data } => {
                    scheduler.framework_message(&mut driver, executor_id, agent_id, data)
                }
                Event::AgentLost(agent_id) => scheduler.agent_lost(&mut driver, agent_id),
                Event::ExecutorLost { executor_id, agent_id, status } => {
                    scheduler.executor_lost(&mut driver, executor_id, agent_id, *status)
                }
                Event::Timer(token) => scheduler.timer(&mut driver, *token),
                Event::Error(message) => scheduler.error(&mut driver, message),
            }
        }
        self.flush(ctx);
    }

    fn flush(&mut self, ctx: &mut Context<'_, Self>) {
        for output in self.core.drain_outputs() {
            match output {
                Output::Call { to, call } => ctx.send(&to, call),
                Output::Authentication { to, message } => ctx.send_outbound(&to, message),
                Output::Deactivate { to, message } => ctx.send(&to, message),
                Output::Link(pid) => ctx.link(&pid),
                Output::RetryTimer { after, epoch } => {
                    ctx.delay(after, move |p: &mut Self, ctx| {
                        p.core.on_retry_timer(epoch);
                        p.run_events(ctx);
                    });
                }
                // A zero delay means "after the events queued now" (also on a paused clock).
                Output::UserTimer { after, token } if after.is_zero() => {
                    ctx.defer(move |p: &mut Self, ctx| {
                        p.core.on_user_timer(token);
                        p.run_events(ctx);
                    })
                }
                Output::UserTimer { after, token } => {
                    ctx.delay(after, move |p: &mut Self, ctx| {
                        p.core.on_user_timer(token);
                        p.run_events(ctx);
                    });
                }
                // Terminate after the events already queued: libprocess drops what is left
                // in a terminating process's mailbox without telling a paused clock, so
                // `Clock::settle` would wait for those events forever.
                Output::Terminate => ctx.defer(|_: &mut Self, ctx| ctx.terminate()),
            }
        }
        self.status.send_if_modified(|status| {
            let changed = status != self.core.status();
            if changed {
                *status = self.core.status().clone();
            }
            changed
        });
    }
}

impl<S: Scheduler> Process for SchedulerProcess<S> {
    type Message = SchedulerMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        tracing::info!(pid = %ctx.pid(), framework = %self.core.framework().name, "scheduler driver started");
        self.core.set_pid(ctx.pid().clone());
        self.core.start();
        self.run_events(ctx);
    }

    fn on_message(&mut self, from: Pid, message: SchedulerMessage, ctx: &mut Context<'_, Self>) {
        match message {
            SchedulerMessage::Registered(m) => {
                self.core.on_subscribed(&from, m.framework_id, m.master_info)
            }
            SchedulerMessage::Reregistered(m) => {
                self.core.on_subscribed(&from, m.framework_id, m.master_info)
            }
            SchedulerMessage::Offers(m) => self.core.on_offers(&from, m),
            SchedulerMessage::Rescind(m) => self.core.on_rescind(&from, m),
            SchedulerMessage::InverseOffers(m) => self.core.on_inverse_offers(&from, m),
            SchedulerMessage::RescindInverseOffer(m) => {
                self.core.on_rescind_inverse_offer(&from, m)
            }
            SchedulerMessage::StatusUpdate(m) => self.core.on_status_update(&from, m),
            SchedulerMessage::OperationStatus(m) => self.core.on_operation_status(&from, m),
            SchedulerMessage::LostSlave(m) => self.core.on_lost_agent(&from, m),
            SchedulerMessage::ExitedExecutor(m) => self.core.on_exited_executor(&from, m),
            SchedulerMessage::ExecutorToFramework(m) => self.core.on_executor_message(m),
            SchedulerMessage::Error(m) => self.core.on_error(&from, m.message),
            SchedulerMessage::NewMaster(m) => self.core.on_new_master(&from, &m.pid),
            SchedulerMessage::AuthenticationMechanisms(m) => {
                self.core.on_authentication(&from, AuthenticatorMessage::Mechanisms(m))
            }
            SchedulerMessage::AuthenticationStep(m) => {
                self.core.on_authentication(&from, AuthenticatorMessage::Step(m))
            }
            SchedulerMessage::AuthenticationCompleted(_) => {
                self.core.on_authentication(&from, AuthenticatorMessage::Completed)
            }
            SchedulerMessage::AuthenticationFailed(_) => {
                self.core.on_authentication(&from, AuthenticatorMessage::Failed)
            }
            SchedulerMessage::AuthenticationError(m) => {
                self.core.on_authentication(&from, AuthenticatorMessage::Error(m))
            }
        }
        self.run_events(ctx);
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        self.core.on_exited(&pid);
        self.run_events(ctx);
    }

    fn on_unknown(&mut self, from: Pid, error: DecodeError, _ctx: &mut Context<'_, Self>) {
        tracing::warn!(%from, %error, "scheduler driver ignores message");
    }

    fn finalize(&mut self, _ctx: &mut Context<'_, Self>) {
        let status = match self.core.status() {
            DriverStatus::Running => {
                DriverStatus::Aborted { message: "driver process terminated".to_string() }
            }
            other => other.clone(),
        };
        self.status.send_replace(status.clone());
        if let (Some(scheduler), Some(done)) = (self.scheduler.take(), self.done.take()) {
            // Nobody may be waiting in `join`; then the scheduler is simply dropped.
            let _ = done.send((scheduler, status));
        }
    }
}

/// A running scheduler driver: talk to the scheduler from outside, wait for the end.
pub struct SchedulerHandle<S: Scheduler> {
    process: ProcessRef<SchedulerProcess<S>>,
    status: watch::Receiver<DriverStatus>,
    done: Option<oneshot::Receiver<(S, DriverStatus)>>,
}

/// Starts a driver for `scheduler` on `node` as process `scheduler(N)` (the first free
/// N, as libprocess's `ID::generate("scheduler")`). Must run inside an actix `System`.
pub fn spawn_scheduler<S: Scheduler>(
    node: &Node,
    config: SchedulerConfig,
    scheduler: S,
) -> Result<SchedulerHandle<S>, FrameworkError> {
    let core = SchedulerCore::new(config)?;
    let (status_tx, status_rx) = watch::channel(DriverStatus::Running);
    let (done_tx, done_rx) = oneshot::channel();
    let process = SchedulerProcess {
        scheduler: Some(scheduler),
        core,
        status: status_tx,
        done: Some(done_tx),
    };
    let mut id = node.generate_id("scheduler");
    while node.has_process(&id) {
        id = node.generate_id("scheduler");
    }
    let process = node.spawn(id, process)?;
    Ok(SchedulerHandle { process, status: status_rx, done: Some(done_rx) })
}

impl<S: Scheduler> SchedulerHandle<S> {
    /// The driver's pid.
    pub fn pid(&self) -> &Pid {
        self.process.pid()
    }

    /// The driver's status now.
    pub fn status(&self) -> DriverStatus {
        self.status.borrow().clone()
    }

    /// Runs `f` on the scheduler and its driver inside the driver process (to act from
    /// outside a callback: a signal handler, a test).
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut S, &mut SchedulerDriver) -> R + Send + 'static,
    ) -> Result<R, FrameworkError> {
        let pid = self.pid().clone();
        let result = self
            .process
            .dispatch(move |p: &mut SchedulerProcess<S>, ctx| {
                let scheduler = p.scheduler.as_mut()?;
                let result = f(scheduler, &mut SchedulerDriver::new(&mut p.core));
                p.run_events(ctx);
                Some(result)
            })
            .await
            .map_err(|_| FrameworkError::DriverGone { pid: pid.clone() })?;
        result.ok_or(FrameworkError::DriverGone { pid })
    }

    /// Reads the scheduler and the driver's core (tests, status pages).
    pub async fn inspect<R: Send + 'static>(
        &self,
        f: impl FnOnce(&S, &SchedulerCore) -> R + Send + 'static,
    ) -> Result<R, FrameworkError> {
        let pid = self.pid().clone();
        let result = self
            .process
            .dispatch(move |p: &mut SchedulerProcess<S>, _| {
                p.scheduler.as_ref().map(|s| f(s, &p.core))
            })
            .await
            .map_err(|_| FrameworkError::DriverGone { pid: pid.clone() })?;
        result.ok_or(FrameworkError::DriverGone { pid })
    }

    /// Waits until the driver stops or aborts; returns the scheduler and how it ended.
    /// Cancel-safe: dropping the future (in a `select!`) loses nothing.
    pub async fn join(&mut self) -> Result<(S, DriverStatus), FrameworkError> {
        let pid = self.pid().clone();
        let done = self.done.as_mut().ok_or(FrameworkError::DriverGone { pid: pid.clone() })?;
        let result = done.await.map_err(|_| FrameworkError::DriverGone { pid });
        self.done = None;
        result
    }
}
