//! An emulated framework: a libprocess scheduler process (`scheduler(N)`) that subscribes
//! over the v0 message path (`scheduler::Call` SUBSCRIBE as a libprocess message, as the
//! failover benchmark's schedulers do), launches as many tasks of a fixed shape as each
//! offer holds, and acknowledges every status update. With agents whose tasks finish
//! after a while, a few of these keep a cluster busy (E2E-1, the Mesos paper, section
//! 6.5: frameworks keeping every agent busy).
//!
//! Not emulated: failover (the framework keeps no id across restarts of this process),
//! reconciliation, inverse offers, operations other than LAUNCH.

use std::sync::Arc;

use libprocess::{Context, Pid, Process, Time};
use mesos_proto::inbox::SchedulerInbox;
use mesos_proto::mesos::{self, scheduler};

use crate::Detector;

/// The most tasks launched on one offer (bounds one ACCEPT's size).
pub const MAX_TASKS_PER_OFFER: usize = 64;

/// What happened to an emulated framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameworkEventKind {
    /// SUBSCRIBE sent (the first one).
    Subscribing,
    /// `FrameworkRegisteredMessage` / `FrameworkReregisteredMessage`.
    Subscribed,
    /// An offer came (the first one only).
    FirstOffer,
    /// The first offer holding a task of this framework's shape came (the time a
    /// framework on a full cluster waits for resources ends here).
    FittingOffer,
    /// The agent sent a task's `TASK_RUNNING` (each task; the time is the update's
    /// timestamp, the agent's clock, reported just before [`FrameworkEventKind::TaskRunning`]).
    /// On one machine it splits ACCEPT -> `TASK_RUNNING` into the way to the agent and
    /// the update's way back.
    TaskStarted,
    /// A task of this framework is `TASK_RUNNING` (each task).
    TaskRunning,
}

/// One framework report line.
#[derive(Debug, Clone)]
pub struct FrameworkEvent {
    /// The framework's number.
    pub framework: usize,
    /// What happened.
    pub kind: FrameworkEventKind,
    /// When, on the libprocess clock.
    pub at: Time,
}

/// Where frameworks report; called on the framework's thread, so it must not block.
pub type FrameworkReport = Arc<dyn Fn(FrameworkEvent) + Send + Sync>;

/// An emulated framework; spawn it on a node: it subscribes when it starts.
pub struct Framework {
    number: usize,
    info: mesos::FrameworkInfo,
    detector: Detector,
    /// Each task's cpus and mem.
    task_cpus: f64,
    task_mem: f64,
    /// Most tasks per offer (at most [`MAX_TASKS_PER_OFFER`]).
    per_offer: usize,
    report: FrameworkReport,
    launched: u64,
    /// Launch no more than this many tasks in all (`None`: no limit); offers beyond it
    /// are declined.
    task_limit: Option<u64>,
    offered: bool,
    fitted: bool,
    /// SUPPRESS sent (done launching).
    suppressed: bool,
}

impl Framework {
    /// Framework `number` named `name`, launching tasks of `task_cpus` cpus and
    /// `task_mem` MB, at most `per_offer` on each offer.
    pub fn new(
        number: usize,
        name: String,
        detector: Detector,
        (task_cpus, task_mem): (f64, f64),
        per_offer: usize,
        report: FrameworkReport,
    ) -> Framework {
        let info = mesos::FrameworkInfo {
            user: "emulate".into(),
            name,
            roles: vec!["*".into()],
            capabilities: vec![mesos::framework_info::Capability {
                r#type: Some(mesos::framework_info::capability::Type::MultiRole as i32),
            }],
            ..Default::default()
        };
        let per_offer = per_offer.clamp(1, MAX_TASKS_PER_OFFER);
        Framework {
            number,
            info,
            detector,
            task_cpus,
            task_mem,
            per_offer,
            report,
            launched: 0,
            task_limit: None,
            offered: false,
            fitted: false,
            suppressed: false,
        }
    }

    /// Launches `limit` tasks in all, then declines every offer (a probe framework
    /// running one task, as the Mesos paper's scalability test framework does).
    pub fn with_task_limit(mut self, limit: u64) -> Framework {
        self.task_limit = Some(limit);
        self
    }

    fn emit(&self, kind: FrameworkEventKind, ctx: &Context<'_, Self>) {
        (self.report)(FrameworkEvent { framework: self.number, kind, at: ctx.now() });
    }

    fn call(&self, r#type: scheduler::call::Type) -> scheduler::Call {
        scheduler::Call {
            framework_id: self.info.id.clone(),
            r#type: Some(r#type as i32),
            ..Default::default()
        }
    }

    fn subscribe(&self, ctx: &mut Context<'_, Self>) {
        let mut call = self.call(scheduler::call::Type::Subscribe);
        call.subscribe = Some(scheduler::call::Subscribe {
            framework_info: self.info.clone(),
            ..Default::default()
        });
        ctx.send(&self.detector.current.clone(), call);
    }

    fn on_retry_timeout(&mut self, ctx: &mut Context<'_, Self>) {
        if self.detector.detached {
            let next = self.detector.retry();
            self.subscribe(ctx);
            ctx.delay(next, |p, ctx| p.on_retry_timeout(ctx));
        }
    }

    fn on_subscribed(&mut self, from: Pid, id: mesos::FrameworkId, ctx: &mut Context<'_, Self>) {
        self.info.id = Some(id);
        // A master that (newly) answers knows nothing of an earlier SUPPRESS.
        self.suppressed = false;
        self.detector.attached(from.clone());
        ctx.link(&from);
        self.emit(FrameworkEventKind::Subscribed, ctx);
    }

    /// Launches as many tasks as each offer holds (up to `per_offer`), each taking its
    /// cpus and mem from the offer's own resources (so reservations and allocation
    /// roles carry over). One ACCEPT per offer that gets tasks (offers of several agents
    /// cannot be accepted together), sent first; every other offer of the message is
    /// declined in one DECLINE, as a v1 scheduler may (a DECLINE takes many offer ids;
    /// one call per offer cost the master a message per declined offer). A framework
    /// done launching declines for an hour and suppresses offers (Mesos:
    /// `SchedulerDriver::suppressOffers`), as a framework with nothing left to run does:
    /// the allocator then stops offering it what others can use.
    fn on_offers(&mut self, offers: Vec<mesos::Offer>, ctx: &mut Context<'_, Self>) {
        if !self.offered {
            self.offered = true;
            self.emit(FrameworkEventKind::FirstOffer, ctx);
        }
        let mut declined = Vec::new();
        for offer in offers {
            let tasks = self.tasks_for(&offer);
            if tasks.is_empty() {
                declined.push(offer.id);
                continue;
            }
            if !self.fitted {
                self.fitted = true;
                self.emit(FrameworkEventKind::FittingOffer, ctx);
            }
            let mut call = self.call(scheduler::call::Type::Accept);
            call.accept = Some(scheduler::call::Accept {
                offer_ids: vec![offer.id],
                operations: vec![mesos::offer::Operation {
                    r#type: Some(mesos::offer::operation::Type::Launch as i32),
                    launch: Some(mesos::offer::operation::Launch { task_infos: tasks }),
                    ..Default::default()
                }],
                filters: Some(mesos::Filters { refuse_seconds: Some(0.0) }),
            });
            ctx.send(&self.detector.current.clone(), call);
        }
        let done = self.task_limit.is_some_and(|limit| self.launched >= limit);
        if !declined.is_empty() {
            let mut call = self.call(scheduler::call::Type::Decline);
            call.decline = Some(scheduler::call::Decline {
                offer_ids: declined,
                filters: Some(mesos::Filters {
                    refuse_seconds: Some(if done { 3600.0 } else { 0.0 }),
                }),
            });
            ctx.send(&self.detector.current.clone(), call);
        }
        if done && !self.suppressed {
            self.suppressed = true;
            let mut call = self.call(scheduler::call::Type::Suppress);
            call.suppress = Some(scheduler::call::Suppress { roles: Vec::new() });
            ctx.send(&self.detector.current.clone(), call);
        }
    }

    fn tasks_for(&mut self, offer: &mesos::Offer) -> Vec<mesos::TaskInfo> {
        let pick =
            |name: &str| offer.resources.iter().find(|r| r.name == name && r.scalar.is_some());
        let (Some(cpus), Some(mem)) = (pick("cpus"), pick("mem")) else { return Vec::new() };
        let have = |r: &mesos::Resource| r.scalar.as_ref().map_or(0.0, |s| s.value);
        let fit = (have(cpus) / self.task_cpus).min(have(mem) / self.task_mem);
        let left = self.task_limit.map_or(u64::MAX, |limit| limit.saturating_sub(self.launched));
        let count = (fit.max(0.0) as usize).min(self.per_offer).min(left as usize);
        let with = |r: &mesos::Resource, value: f64| {
            let mut r = r.clone();
            r.scalar = Some(mesos::value::Scalar { value });
            r
        };
        (0..count)
            .map(|_| {
                self.launched += 1;
                let id = format!("{}-task{}", self.info.name, self.launched);
                mesos::TaskInfo {
                    name: id.clone(),
                    task_id: mesos::TaskId { value: id },
                    slave_id: offer.slave_id.clone(),
                    resources: vec![with(cpus, self.task_cpus), with(mem, self.task_mem)],
                    command: Some(mesos::CommandInfo {
                        value: Some("true".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            })
            .collect()
    }

    fn on_update(
        &mut self,
        update: mesos_proto::mesos::internal::StatusUpdate,
        ctx: &mut Context<'_, Self>,
    ) {
        if update.status.state == mesos::TaskState::TaskRunning as i32 {
            // A timestamp that is no time (negative, NaN, too large) is not reported.
            let sent = update.status.timestamp.map(std::time::Duration::try_from_secs_f64);
            if let Some(Ok(sent)) = sent {
                let at = Time::from_epoch(sent);
                (self.report)(FrameworkEvent {
                    framework: self.number,
                    kind: FrameworkEventKind::TaskStarted,
                    at,
                });
            }
            self.emit(FrameworkEventKind::TaskRunning, ctx);
        }
        // Mesos: sched.cpp statusUpdate; only updates with a uuid are acknowledged.
        let (Some(uuid), Some(slave_id)) = (update.status.uuid.clone(), update.slave_id) else {
            return;
        };
        let mut call = self.call(scheduler::call::Type::Acknowledge);
        call.acknowledge =
            Some(scheduler::call::Acknowledge { slave_id, task_id: update.status.task_id, uuid });
        ctx.send(&self.detector.current.clone(), call);
    }
}

impl Process for Framework {
    type Message = SchedulerInbox;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        self.emit(FrameworkEventKind::Subscribing, ctx);
        self.detector.starting();
        self.subscribe(ctx);
        let next = self.detector.retry();
        ctx.delay(next, |p, ctx| p.on_retry_timeout(ctx));
    }

    fn on_message(&mut self, from: Pid, message: SchedulerInbox, ctx: &mut Context<'_, Self>) {
        match message {
            SchedulerInbox::Registered(m) => self.on_subscribed(from, m.framework_id, ctx),
            SchedulerInbox::Reregistered(m) => self.on_subscribed(from, m.framework_id, ctx),
            SchedulerInbox::Offers(m) => self.on_offers(m.offers, ctx),
            SchedulerInbox::Update(m) => self.on_update(m.update, ctx),
            SchedulerInbox::NewMaster(m) => {
                // Attached, no retry timer runs: start one for the new leader.
                let attached = !self.detector.detached;
                if let Ok(pid) = m.pid.parse::<Pid>()
                    && self.detector.named(pid)
                {
                    self.subscribe(ctx);
                    if attached {
                        let next = self.detector.retry();
                        ctx.delay(next, |p, ctx| p.on_retry_timeout(ctx));
                    }
                }
            }
            // Nothing to do for these here: rescinded offers were not kept, lost agents
            // and errors end tasks the master reports anyway.
            SchedulerInbox::Rescind(_)
            | SchedulerInbox::Error(_)
            | SchedulerInbox::LostSlave(_)
            | SchedulerInbox::ExitedExecutor(_)
            | SchedulerInbox::ExecutorMessage(_)
            | SchedulerInbox::OperationStatus(_)
            | SchedulerInbox::InverseOffers(_)
            | SchedulerInbox::RescindInverseOffer(_) => {}
        }
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        if pid == self.detector.current && !self.detector.detached {
            self.detector.lost();
            self.subscribe(ctx);
            ctx.delay(crate::RETRY, |p, ctx| p.on_retry_timeout(ctx));
        }
    }
}
