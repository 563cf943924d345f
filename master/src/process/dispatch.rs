//! The master's dispatch: every decoded message passes the same checks (authentication
//! of the sender, leadership, admission), then reaches its handler in the core; legacy
//! driver messages become `scheduler::Call`s first.
//!
//! Mesos: master.cpp `Master::initialize` (the `install<...>` table), `_visit`/`_consume`.

use libprocess::{Context, MessageName, Pid};
use mesos_proto::ids::FrameworkId;
use mesos_proto::mesos::scheduler;

use super::decoding::Held;
use super::{MasterMessage, MasterProcess, Role};

impl MasterProcess {
    /// A decoded message: authentication messages first, then the sender, leadership and
    /// admission checks, then the core.
    pub(super) fn on_decoded(
        &mut self,
        from: Pid,
        mut message: MasterMessage,
        ctx: &mut Context<'_, Self>,
    ) {
        crate::http::metrics::count_message(ctx.node().metrics(), &message);
        if matches!(
            message,
            MasterMessage::Authenticate(_)
                | MasterMessage::AuthenticationStart(_)
                | MasterMessage::AuthenticationStep(_)
        ) {
            self.on_authentication(&from, message, ctx);
            return;
        }
        let pong = matches!(message, MasterMessage::PongSlave(_));
        let name = || libprocess::Outbound::name(&message);
        let Some(principal) = self.screen(&from, name, pong, ctx) else { return };
        if !pong {
            // Something happened between this pid and the master: a re-registration it
            // sends next is not a copy of the last one taken.
            self.reregistrations.forget(&from);
        }
        if !self.admit(&from, &mut message, ctx) {
            return;
        }
        if self.decoding.in_flight(&from).is_some() {
            // Its re-registration is being decoded elsewhere: this waits behind it.
            return self.hold(&from, Held::Message(Box::new(message), principal), ctx);
        }
        self.process_decoded(from, message, principal, ctx);
    }

    /// A decoded message that passed the checks: its handler in the core.
    pub(super) fn process_decoded(
        &mut self,
        from: Pid,
        message: MasterMessage,
        principal: Option<String>,
        ctx: &mut Context<'_, Self>,
    ) {
        let pong = matches!(message, MasterMessage::PongSlave(_));
        let now = ctx.now();
        if let MasterMessage::SchedulerCall(call) = &message
            && call.r#type == Some(scheduler::call::Type::Subscribe as i32)
            && tracing::enabled!(target: crate::TIMELINE, tracing::Level::DEBUG)
        {
            // How long the master's queue is when a framework subscribes.
            let queued = ctx.queue_sizes();
            tracing::debug!(target: crate::TIMELINE, %from, messages = queued.messages, dispatches = queued.dispatches, "SUBSCRIBE taken from the mailbox");
        }
        let result = match message {
            MasterMessage::RegisterSlave(m) => self.core.on_register_agent(&from, m, now),
            MasterMessage::ReregisterSlave(m) => self.core.on_reregister_agent(&from, m, now),
            MasterMessage::UnregisterSlave(m) => self.core.on_unregister_agent(&from, m, now),
            MasterMessage::PongSlave(_) => {
                self.core.on_pong(&from);
                Ok(())
            }
            MasterMessage::StatusUpdate(m) => self.core.on_status_update(&from, m),
            MasterMessage::ExitedExecutor(m) => self.core.on_exited_executor(&from, m),
            MasterMessage::ExecutorToFramework(m) => self.core.on_executor_to_framework(&from, m),
            MasterMessage::SchedulerCall(call) => self.core.on_scheduler_call(&from, call, now),
            MasterMessage::UpdateOperationStatus(m) => {
                self.core.on_update_operation_status(&from, m, now)
            }
            MasterMessage::UpdateSlave(m) => self.core.on_update_slave(&from, m, now),
            legacy => self.on_legacy(&from, legacy, ctx),
        };
        if let Err(error) = result {
            ctx.node().metrics().counter("master/invalid_messages").inc();
            tracing::warn!(%from, %error, "refused message");
        }
        if pong {
            self.flush_liveness(ctx)
        } else {
            self.flush(ctx)
        }
        self.count_processed(principal.as_deref(), ctx);
    }

    /// The checks every message but authentication's passes before its handler: a pid
    /// that authenticated speaks only on its own connection, a framework's messages are
    /// counted under its principal, and a master that does not lead drops the message
    /// (pointing the sender at the leader). `Some(principal)` when it may go on.
    pub(super) fn screen(
        &mut self,
        from: &Pid,
        name: impl FnOnce() -> MessageName,
        pong: bool,
        ctx: &mut Context<'_, Self>,
    ) -> Option<Option<String>> {
        // A pid that authenticated speaks only on the connection it authenticated on: a
        // forged `Libprocess-From` from anywhere else gets nothing (not even an error,
        // which would go to the real peer).
        if let Err(forged) = self.authentication.admit_sender(from, ctx.via()) {
            ctx.node().metrics().counter("master/invalid_sender_messages").inc();
            tracing::warn!(
                %from,
                message = %name(),
                bound = ?forged.bound,
                via = ?forged.via,
                "dropping a message from an authenticated pid that arrived on another connection"
            );
            return None;
        }
        // Mesos: master.cpp `_visit`/`_consume`: a registered framework's messages count
        // under its principal, received before and processed after the handler.
        let principal = self.core.principal_of(from);
        crate::http::metrics::count_framework_message(
            ctx.node().metrics(),
            principal.as_deref(),
            "messages_received",
        );
        if !matches!(self.role, Role::Leading { .. }) {
            self.on_message_not_leading(from, pong, ctx);
            return None;
        }
        Some(principal)
    }

    /// The link to `pid` broke (after the checks of `on_exited`): the core hears of it.
    pub(super) fn process_exited(&mut self, pid: &Pid, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        self.core.on_exited(pid, now);
        self.flush(ctx);
    }

    /// Counts a handled message under its framework's principal (Mesos: `_consume`).
    pub(super) fn count_processed(&self, principal: Option<&str>, ctx: &mut Context<'_, Self>) {
        crate::http::metrics::count_framework_message(
            ctx.node().metrics(),
            principal,
            "messages_processed",
        );
    }

    /// A legacy driver message, as the `scheduler::Call` it stands for.
    fn on_legacy(
        &mut self,
        from: &Pid,
        message: MasterMessage,
        ctx: &mut Context<'_, Self>,
    ) -> Result<(), crate::core::MasterError> {
        use scheduler::call::{self, Type};
        let now = ctx.now();
        let call = |framework_id: Option<mesos_proto::mesos::FrameworkId>, kind: Type| {
            scheduler::Call { framework_id, r#type: Some(kind as i32), ..Default::default() }
        };
        let call = match message {
            MasterMessage::RegisterFramework(m) => scheduler::Call {
                subscribe: Some(call::Subscribe {
                    framework_info: m.framework,
                    ..Default::default()
                }),
                ..call(None, Type::Subscribe)
            },
            MasterMessage::ReregisterFramework(m) => scheduler::Call {
                subscribe: Some(call::Subscribe {
                    framework_info: m.framework.clone(),
                    force: Some(m.failover),
                    ..Default::default()
                }),
                ..call(m.framework.id.clone(), Type::Subscribe)
            },
            MasterMessage::UnregisterFramework(m) => call(Some(m.framework_id), Type::Teardown),
            MasterMessage::DeactivateFramework(m) => {
                return self.core.on_deactivate_framework(
                    from,
                    &FrameworkId::from(&m.framework_id),
                    now,
                );
            }
            MasterMessage::KillTask(m) => scheduler::Call {
                kill: Some(call::Kill {
                    task_id: m.task_id,
                    slave_id: None,
                    kill_policy: m.kill_policy,
                }),
                ..call(Some(m.framework_id), Type::Kill)
            },
            MasterMessage::StatusUpdateAcknowledgement(m) => scheduler::Call {
                acknowledge: Some(call::Acknowledge {
                    slave_id: m.slave_id,
                    task_id: m.task_id,
                    uuid: m.uuid,
                }),
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
                message: Some(call::Message {
                    slave_id: m.slave_id,
                    executor_id: m.executor_id,
                    data: m.data,
                }),
                ..call(Some(m.framework_id), Type::Message)
            },
            _ => return Ok(()),
        };
        self.core.on_scheduler_call(from, call, now)
    }
}
