//! The master actor: decodes messages, feeds the pure core, performs its outputs.
//!
//! Mesos: master.cpp `Master::initialize` (the `install<...>` table) and the message
//! handlers, which here are one `match` that calls the core. Legacy driver messages
//! (`RegisterFrameworkMessage`, `KillTaskMessage`, ...) are turned into the equivalent
//! `scheduler::Call`, so old and new schedulers share one code path, as in Mesos.

use std::sync::Arc;

use libprocess::{Context, DecodeError, Pid, Process, ProcessRef};
use mesos_proto::ids::FrameworkId;
use mesos_proto::mesos::{internal, scheduler};
use parking_lot::RwLock;

use crate::allocator_process::AllocatorProcess;
use crate::core::{MasterCore, Outgoing, Output};
use crate::snapshot::{SnapshotCell, StateSnapshot};

libprocess::protocol! {
    /// Every message the master accepts.
    pub enum MasterMessage {
        /// An agent registers for the first time.
        RegisterSlave(internal::RegisterSlaveMessage),
        /// An agent registers again (reconnect, restart, master failover).
        ReregisterSlave(internal::ReregisterSlaveMessage),
        /// An agent leaves for good.
        UnregisterSlave(internal::UnregisterSlaveMessage),
        /// An agent answers a ping.
        PongSlave(internal::PongSlaveMessage),
        /// A task status update from an agent.
        StatusUpdate(internal::StatusUpdateMessage),
        /// An executor ended.
        ExitedExecutor(internal::ExitedExecutorMessage),
        /// An executor's message for its scheduler.
        ExecutorToFramework(internal::ExecutorToFrameworkMessage),
        /// Every scheduler call of the driver since Mesos 1.0.
        SchedulerCall(scheduler::Call),
        /// Legacy: register a framework.
        RegisterFramework(internal::RegisterFrameworkMessage),
        /// Legacy: re-register a framework.
        ReregisterFramework(internal::ReregisterFrameworkMessage),
        /// Legacy: tear a framework down.
        UnregisterFramework(internal::UnregisterFrameworkMessage),
        /// The driver stopped with failover: deactivate until it comes back.
        DeactivateFramework(internal::DeactivateFrameworkMessage),
        /// Legacy: kill a task.
        KillTask(internal::KillTaskMessage),
        /// Legacy: acknowledge a status update.
        StatusUpdateAcknowledgement(internal::StatusUpdateAcknowledgementMessage),
        /// Legacy: revive offers.
        ReviveOffers(internal::ReviveOffersMessage),
        /// Legacy: reconcile tasks.
        ReconcileTasks(internal::ReconcileTasksMessage),
        /// Legacy: a framework's message for an executor.
        FrameworkToExecutor(internal::FrameworkToExecutorMessage),
    }
}

/// The master process (`master@ip:port`).
pub struct MasterProcess {
    core: MasterCore,
    allocator: ProcessRef<AllocatorProcess>,
    snapshot: Arc<SnapshotCell>,
    flags: Arc<RwLock<Vec<(String, String)>>>,
    /// Open v1 scheduler API subscriptions.
    pub(crate) http: crate::scheduler_api::HttpSubscribers,
    /// Open v1 operator API subscriptions.
    pub(crate) operator: crate::operator_api::OperatorSubscribers,
}

impl MasterProcess {
    /// A master around `core`, talking to `allocator`. `flags` are shown at `/flags`.
    pub fn new(core: MasterCore, allocator: ProcessRef<AllocatorProcess>, flags: Vec<(String, String)>) -> MasterProcess {
        MasterProcess {
            core,
            allocator,
            snapshot: Arc::new(SnapshotCell::default()),
            flags: Arc::new(RwLock::new(flags)),
            http: Default::default(),
            operator: Default::default(),
        }
    }

    /// The core (tests and the HTTP layer read it through dispatch).
    pub fn core(&self) -> &MasterCore {
        &self.core
    }

    /// Mutable core (tests).
    pub fn core_mut(&mut self) -> &mut MasterCore {
        &mut self.core
    }

    /// A consistent copy of the state for the HTTP endpoints.
    pub fn take_snapshot(&self) -> StateSnapshot {
        StateSnapshot::of(&self.core, self.flags.read().clone())
    }

    /// Performs everything the core asked for.
    pub(crate) fn flush(&mut self, ctx: &mut Context<'_, Self>) {
        self.snapshot.invalidate();
        for output in self.core.drain_outputs() {
            match output {
                Output::Send { to, message } => {
                    if !crate::scheduler_api::deliver(self, &to, &message, ctx) {
                        send(ctx, &to, message);
                    }
                }
                // HTTP subscribers are watched through their stream instead.
                Output::Link(pid) if self.http.contains(&pid) => {}
                Output::Link(pid) => ctx.link(&pid),
                Output::Allocator(call) => {
                    if self.allocator.tell(move |allocator, actx| allocator.on_call(call, actx)).is_err() {
                        tracing::error!("allocator is gone");
                    }
                }
                Output::Event(event) => crate::operator_api::publish(self, event, ctx),
                Output::Timer { after, timer } => {
                    ctx.delay(after, move |master: &mut MasterProcess, ctx| {
                        let now = ctx.now();
                        master.core.on_timer(timer, now);
                        master.flush(ctx);
                    });
                }
            }
        }
    }

    fn on_legacy(&mut self, from: &Pid, message: MasterMessage, ctx: &mut Context<'_, Self>) -> Result<(), crate::core::MasterError> {
        use scheduler::call::{self, Type};
        let now = ctx.now();
        let call = |framework_id: Option<mesos_proto::mesos::FrameworkId>, kind: Type| scheduler::Call {
            framework_id,
            r#type: Some(kind as i32),
            ..Default::default()
        };
        let call = match message {
            MasterMessage::RegisterFramework(m) => scheduler::Call {
                subscribe: Some(call::Subscribe { framework_info: m.framework, ..Default::default() }),
                ..call(None, Type::Subscribe)
            },
            MasterMessage::ReregisterFramework(m) => scheduler::Call {
                subscribe: Some(call::Subscribe { framework_info: m.framework.clone(), force: Some(m.failover), ..Default::default() }),
                ..call(m.framework.id.clone(), Type::Subscribe)
            },
            MasterMessage::UnregisterFramework(m) => call(Some(m.framework_id), Type::Teardown),
            MasterMessage::DeactivateFramework(m) => {
                return self.core.on_deactivate_framework(from, &FrameworkId::from(&m.framework_id), now);
            }
            MasterMessage::KillTask(m) => scheduler::Call {
                kill: Some(call::Kill { task_id: m.task_id, slave_id: None, kill_policy: m.kill_policy }),
                ..call(Some(m.framework_id), Type::Kill)
            },
            MasterMessage::StatusUpdateAcknowledgement(m) => scheduler::Call {
                acknowledge: Some(call::Acknowledge { slave_id: m.slave_id, task_id: m.task_id, uuid: m.uuid }),
                ..call(Some(m.framework_id), Type::Acknowledge)
            },
            MasterMessage::ReviveOffers(m) => scheduler::Call {
                revive: Some(call::Revive { roles: m.roles }),
                ..call(Some(m.framework_id), Type::Revive)
            },
            MasterMessage::ReconcileTasks(m) => scheduler::Call {
                reconcile: Some(call::Reconcile {
                    tasks: m
                        .statuses
                        .into_iter()
                        .map(|s| call::reconcile::Task { task_id: s.task_id, slave_id: s.slave_id })
                        .collect(),
                }),
                ..call(Some(m.framework_id), Type::Reconcile)
            },
            MasterMessage::FrameworkToExecutor(m) => scheduler::Call {
                message: Some(call::Message { slave_id: m.slave_id, executor_id: m.executor_id, data: m.data }),
                ..call(Some(m.framework_id), Type::Message)
            },
            _ => return Ok(()),
        };
        self.core.on_scheduler_call(from, call, now)
    }

    fn routes(&mut self, ctx: &mut Context<'_, Self>) {
        crate::http::install(ctx, self.snapshot.clone());
    }
}

fn send(ctx: &Context<'_, MasterProcess>, to: &Pid, message: Outgoing) {
    match message {
        Outgoing::SlaveRegistered(m) => ctx.send(to, m),
        Outgoing::SlaveReregistered(m) => ctx.send(to, m),
        Outgoing::PingSlave(m) => ctx.send(to, m),
        Outgoing::RunTask(m) => ctx.send(to, m),
        Outgoing::KillTask(m) => ctx.send(to, m),
        Outgoing::StatusUpdate(m) => ctx.send(to, m),
        Outgoing::StatusUpdateAcknowledgement(m) => ctx.send(to, m),
        Outgoing::ShutdownFramework(m) => ctx.send(to, m),
        Outgoing::ShutdownExecutor(m) => ctx.send(to, m),
        Outgoing::FrameworkToExecutor(m) => ctx.send(to, m),
        Outgoing::ExecutorToFramework(m) => ctx.send(to, m),
        Outgoing::UpdateFramework(m) => ctx.send(to, m),
        Outgoing::FrameworkRegistered(m) => ctx.send(to, m),
        Outgoing::FrameworkReregistered(m) => ctx.send(to, m),
        Outgoing::FrameworkError(m) => ctx.send(to, m),
        Outgoing::ResourceOffers(m) => ctx.send(to, m),
        Outgoing::RescindResourceOffer(m) => ctx.send(to, m),
        Outgoing::LostSlave(m) => ctx.send(to, m),
        Outgoing::ExitedExecutor(m) => ctx.send(to, m),
    }
}

impl Process for MasterProcess {
    type Message = MasterMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        let master = ctx.self_ref();
        let tell = move |decisions| {
            // The master may be gone during shutdown; the allocation is moot then.
            let _ = master.tell(move |m: &mut MasterProcess, ctx| {
                m.core.on_allocations(decisions);
                m.flush(ctx);
            });
        };
        if self.allocator.tell(move |allocator, _| allocator.set_offer_callback(Box::new(tell))).is_err() {
            tracing::error!("allocator is gone");
        }
        self.routes(ctx);
        crate::scheduler_api::install(ctx);
        crate::operator_api::install(ctx, self.snapshot.clone());
        crate::metrics::install(ctx);
        tracing::info!(pid = %ctx.pid(), id = %self.core.info().id, "master started");
    }

    fn on_message(&mut self, from: Pid, message: MasterMessage, ctx: &mut Context<'_, Self>) {
        crate::metrics::count_message(ctx.node().metrics(), &message);
        let now = ctx.now();
        let result = match message {
            MasterMessage::RegisterSlave(m) => self.core.on_register_agent(&from, m, now),
            MasterMessage::ReregisterSlave(m) => self.core.on_reregister_agent(&from, m, now),
            MasterMessage::UnregisterSlave(m) => self.core.on_unregister_agent(&from, m, now),
            MasterMessage::PongSlave(_) => {
                self.core.on_pong(&from);
                Ok(())
            }
            MasterMessage::StatusUpdate(m) => self.core.on_status_update(&from, m, now),
            MasterMessage::ExitedExecutor(m) => self.core.on_exited_executor(&from, m),
            MasterMessage::ExecutorToFramework(m) => self.core.on_executor_to_framework(&from, m),
            MasterMessage::SchedulerCall(call) => self.core.on_scheduler_call(&from, call, now),
            legacy => self.on_legacy(&from, legacy, ctx),
        };
        if let Err(error) = result {
            ctx.node().metrics().counter("master/invalid_messages").inc();
            tracing::warn!(%from, %error, "refused message");
        }
        self.flush(ctx);
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        self.core.on_exited(&pid, now);
        self.flush(ctx);
    }

    fn on_unknown(&mut self, from: Pid, error: DecodeError, _ctx: &mut Context<'_, Self>) {
        tracing::debug!(%from, %error, "master ignores message");
    }
}
