//! The executor driver's actor, the [`ExecutorDriver`] handle callbacks act through, and
//! the entry points for executor binaries.

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;

use libprocess::{Context, DecodeError, Node, Pid, Process, ProcessRef};
use mesos_proto::mesos::{self, internal};
use tokio::sync::oneshot;

use super::core::{ExecutorCore, ExecutorEvent, ExecutorOutput, ToAgent};
use super::http::{HttpEndpoint, HttpOutput, Inbound, RESUBSCRIBE_INTERVAL, from_event, to_call};
use super::{Executor, ExecutorEnv};
use crate::error::FrameworkError;
use crate::scheduler::DriverStatus;

libprocess::protocol! {
    /// Every message an executor driver accepts. Mesos: exec.cpp `ExecutorProcess`.
    pub enum ExecutorMessage {
        /// Agent: registration accepted.
        Registered(internal::ExecutorRegisteredMessage),
        /// Agent: re-registration accepted.
        Reregistered(internal::ExecutorReregisteredMessage),
        /// Restarted agent: re-register with me.
        Reconnect(internal::ReconnectExecutorMessage),
        /// Agent: run a task.
        RunTask(internal::RunTaskMessage),
        /// Agent: run a task group (Mesos sends these to v1 executors only; ours take
        /// them on either transport).
        RunTaskGroup(internal::RunTaskGroupMessage),
        /// Agent: kill a task.
        KillTask(internal::KillTaskMessage),
        /// Agent: it has this status update.
        Acknowledgement(internal::StatusUpdateAcknowledgementMessage),
        /// Agent: a message from the scheduler.
        FrameworkToExecutor(internal::FrameworkToExecutorMessage),
        /// Agent: shut down.
        Shutdown(internal::ShutdownExecutorMessage),
    }
}

/// The handle an [`Executor`] callback acts through. Mesos: `ExecutorDriver`.
pub struct ExecutorDriver<'a> {
    core: &'a mut ExecutorCore,
    pid: &'a Pid,
    notifier: &'a Notifier,
}

/// Hands values to [`Executor::notified`] from outside the driver: a thread waiting for
/// a task's process, a blocking read. Each notice is queued on the driver's process
/// like a message, so the executor sees it on the driver, in order with the agent's
/// messages, and never re-entrantly (even when sent from inside a callback).
#[derive(Clone)]
pub struct Notifier {
    deliver: Arc<dyn Fn(Box<dyn Any + Send>) -> bool + Send + Sync>,
}

impl Notifier {
    /// Queues `notice` for [`Executor::notified`]; false once the driver has ended
    /// (then nobody needs it).
    pub fn notify<T: Any + Send>(&self, notice: T) -> bool {
        (self.deliver)(Box::new(notice))
    }
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier")
    }
}

impl ExecutorDriver<'_> {
    /// The environment the agent started this executor with.
    pub fn env(&self) -> &ExecutorEnv {
        self.core.env()
    }

    /// The driver's clock (the libprocess clock: paused and advanced in tests).
    pub fn now(&self) -> libprocess::Time {
        self.core.now()
    }

    /// True while registered with the agent.
    pub fn is_connected(&self) -> bool {
        self.core.is_connected()
    }

    /// Sends a task's status to the agent, which forwards it reliably to the scheduler.
    pub fn send_status_update(&mut self, status: mesos::TaskStatus) -> Result<(), FrameworkError> {
        self.core.send_status_update(status, self.pid)
    }

    /// Sends `data` to the scheduler (best effort).
    pub fn send_framework_message(&mut self, data: Vec<u8>) -> Result<(), FrameworkError> {
        self.core.send_framework_message(data)
    }

    /// A handle that delivers values to [`Executor::notified`] from anywhere (it is
    /// `Send`); keep it in whatever works off the driver.
    pub fn notifier(&self) -> Notifier {
        self.notifier.clone()
    }

    /// Calls [`Executor::timer`] with `token` after `after`.
    pub fn schedule(&mut self, after: std::time::Duration, token: u64) {
        self.core.schedule(after, token);
    }

    /// Stops the driver once the agent has every update sent so far.
    pub fn stop(&mut self) {
        self.core.stop();
    }

    /// Aborts the driver at once.
    pub fn abort(&mut self, message: &str) {
        self.core.abort(message);
    }
}

/// The executor driver process (`executor(N)@ip:port`).
pub struct ExecutorProcess<E: Executor> {
    executor: Option<E>,
    core: ExecutorCore,
    /// Made in `initialize`, from the process's own reference.
    notifier: Option<Notifier>,
    done: Option<oneshot::Sender<(E, DriverStatus)>>,
    /// Set on the v1 HTTP transport; `None` speaks libprocess messages.
    http: Option<HttpState>,
}

/// How an executor driver reaches its agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Transport {
    /// libprocess messages (Mesos's v0 executor driver, exec.cpp).
    #[default]
    Libprocess,
    /// The v1 executor HTTP API (Mesos's v1 executor library, executor.cpp).
    Http,
}

/// The v1 transport's state.
struct HttpState {
    endpoint: HttpEndpoint,
    /// The framework from SUBSCRIBED (LAUNCH events carry none).
    framework: mesos::FrameworkInfo,
    /// Counts SUBSCRIBEs: events and the end of an older stream are ignored.
    epoch: u64,
    /// The current stream answers a re-subscription.
    resubscribe: bool,
    /// Failed first SUBSCRIBEs so far.
    failed_subscribes: u32,
    /// The queue of UPDATE and MESSAGE calls, sent one after the other.
    calls: Option<tokio::sync::mpsc::Sender<mesos_proto::mesos::v1::executor::Call>>,
}

/// Calls queued for the agent at most; past this a call is dropped (the core resends
/// unacknowledged updates).
const MAX_QUEUED_CALLS: usize = 1024;

/// First SUBSCRIBEs that may fail (the agent not listening yet) before the driver gives
/// up; the agent's registration timeout would end the executor anyway.
const MAX_FAILED_SUBSCRIBES: u32 = 60;

impl<E: Executor> ExecutorProcess<E> {
    fn run_events(&mut self, ctx: &mut Context<'_, Self>) {
        self.core.set_now(ctx.now());
        let pid = ctx.pid().clone();
        while let Some(event) = self.core.next_event() {
            let (Some(executor), Some(notifier)) = (self.executor.as_mut(), self.notifier.as_ref())
            else {
                break;
            };
            let mut driver = ExecutorDriver { core: &mut self.core, pid: &pid, notifier };
            match event {
                ExecutorEvent::Registered { executor: info, framework, agent } => {
                    executor.registered(&mut driver, &info, &framework, &agent)
                }
                ExecutorEvent::Reregistered(agent) => executor.reregistered(&mut driver, &agent),
                ExecutorEvent::Disconnected => executor.disconnected(&mut driver),
                ExecutorEvent::LaunchTask(task) => executor.launch_task(&mut driver, task),
                ExecutorEvent::LaunchGroup(group) => executor.launch_group(&mut driver, group),
                ExecutorEvent::KillTask { task_id, kill_policy } => {
                    executor.kill_task(&mut driver, &task_id, kill_policy.as_ref())
                }
                ExecutorEvent::FrameworkMessage(data) => {
                    executor.framework_message(&mut driver, &data)
                }
                ExecutorEvent::Shutdown => executor.shutdown(&mut driver),
                ExecutorEvent::Timer(token) => executor.timer(&mut driver, token),
            }
        }
        self.flush(ctx);
    }

    /// A [`Notifier`]'s value reached the driver: hand it to the executor, then do
    /// what that made it ask for.
    fn on_notice(&mut self, notice: Box<dyn Any + Send>, ctx: &mut Context<'_, Self>) {
        self.core.set_now(ctx.now());
        let pid = ctx.pid().clone();
        if let (Some(executor), Some(notifier)) = (self.executor.as_mut(), self.notifier.as_ref()) {
            let mut driver = ExecutorDriver { core: &mut self.core, pid: &pid, notifier };
            executor.notified(&mut driver, notice);
        }
        self.run_events(ctx);
    }

    fn flush(&mut self, ctx: &mut Context<'_, Self>) {
        for output in self.core.drain_outputs() {
            match output {
                ExecutorOutput::Send { message, .. } if self.http.is_some() => {
                    self.http_send(message, ctx)
                }
                // The v1 transport's stream is its link.
                ExecutorOutput::Link { .. } if self.http.is_some() => {}
                ExecutorOutput::Send { to, message } => match message {
                    ToAgent::Register(m) => ctx.send(&to, m),
                    ToAgent::Reregister(m) => ctx.send(&to, m),
                    ToAgent::StatusUpdate(m) => ctx.send(&to, m),
                    ToAgent::ToFramework(m) => ctx.send(&to, m),
                },
                ExecutorOutput::Link { pid, reconnect: false } => ctx.link(&pid),
                ExecutorOutput::Link { pid, reconnect: true } => ctx.link_reconnect(&pid),
                ExecutorOutput::RecoveryTimer { after, epoch } => {
                    ctx.delay(after, move |p: &mut Self, ctx| {
                        p.core.on_recovery_timeout(epoch);
                        p.run_events(ctx);
                    });
                }
                ExecutorOutput::RetryTimer { after } => {
                    ctx.delay(after, |p: &mut Self, ctx| {
                        p.core.on_retry_timer();
                        p.run_events(ctx);
                    });
                }
                ExecutorOutput::ShutdownTimer { after } => {
                    ctx.delay(after, |p: &mut Self, ctx| {
                        p.core.on_shutdown_timer();
                        p.run_events(ctx);
                    });
                }
                // A zero delay means "after the events queued now" (also on a paused clock).
                ExecutorOutput::UserTimer { after, token } if after.is_zero() => {
                    ctx.defer(move |p: &mut Self, ctx| {
                        p.core.on_user_timer(token);
                        p.run_events(ctx);
                    })
                }
                ExecutorOutput::UserTimer { after, token } => {
                    ctx.delay(after, move |p: &mut Self, ctx| {
                        p.core.on_user_timer(token);
                        p.run_events(ctx);
                    });
                }
                // Terminate after the events already queued: libprocess drops what is left
                // in a terminating process's mailbox without telling a paused clock, so
                // `Clock::settle` would wait for those events forever.
                ExecutorOutput::Terminate => ctx.defer(|_: &mut Self, ctx| ctx.terminate()),
            }
        }
    }
}

/// The v1 transport. Mesos: executor.cpp `MesosProcess`.
impl<E: Executor> ExecutorProcess<E> {
    fn http_send(&mut self, message: ToAgent, ctx: &mut Context<'_, Self>) {
        let Some(http) = self.http.as_ref() else { return };
        match to_call(self.core.env(), message) {
            HttpOutput::Subscribe { call, resubscribe } => self.open_stream(call, resubscribe, ctx),
            HttpOutput::Send(call) => {
                let calls = match &http.calls {
                    Some(calls) => calls.clone(),
                    None => self.start_call_sender(ctx),
                };
                // Full: the call is dropped; a lost UPDATE is resent by the core's
                // retry timer, a MESSAGE is best effort.
                if calls.try_send(call).is_err() {
                    tracing::warn!("executor call queue full or closed: dropping a call");
                }
            }
        }
    }

    /// Calls go out one at a time, in order (an UPDATE of TASK_RUNNING must not overtake
    /// the task's TASK_STARTING), as over Mesos's one connection per executor.
    fn start_call_sender(
        &mut self,
        ctx: &mut Context<'_, Self>,
    ) -> tokio::sync::mpsc::Sender<mesos_proto::mesos::v1::executor::Call> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(MAX_QUEUED_CALLS);
        let Some(http) = self.http.as_mut() else { return tx };
        http.calls = Some(tx.clone());
        let endpoint = http.endpoint.clone();
        let sender = async move {
            while let Some(call) = rx.recv().await {
                if let Err(error) = endpoint.send(call).await {
                    tracing::warn!(%error, "executor call failed");
                }
            }
        };
        ctx.spawn(sender, |_, (), _| {});
        tx
    }

    fn open_stream(
        &mut self,
        call: mesos_proto::mesos::v1::executor::Call,
        resubscribe: bool,
        ctx: &mut Context<'_, Self>,
    ) {
        let Some(http) = self.http.as_mut() else { return };
        http.epoch += 1;
        http.resubscribe = resubscribe;
        let epoch = http.epoch;
        let endpoint = http.endpoint.clone();
        let me = ctx.self_ref();
        let deliver = move |event| {
            me.tell(move |p: &mut Self, ctx| p.on_http_event(epoch, event, ctx)).is_ok()
        };
        ctx.spawn(async move { endpoint.subscribe(call, deliver).await }, move |p, reason, ctx| {
            p.on_http_stream_ended(epoch, reason, ctx)
        });
    }

    fn on_http_event(
        &mut self,
        epoch: u64,
        event: mesos_proto::mesos::v1::executor::Event,
        ctx: &mut Context<'_, Self>,
    ) {
        let Some(http) = self.http.as_mut().filter(|h| h.epoch == epoch) else { return };
        self.core.set_now(ctx.now());
        match from_event(self.core.env(), &http.framework, event) {
            None => {}
            Some(Inbound::Subscribed(m)) if http.resubscribe => {
                http.framework = m.framework_info.clone();
                let message = internal::ExecutorReregisteredMessage {
                    slave_id: m.slave_id,
                    slave_info: m.slave_info,
                };
                self.core.on_reregistered(message);
            }
            Some(Inbound::Subscribed(m)) => {
                http.framework = m.framework_info.clone();
                self.core.on_registered(m);
            }
            Some(Inbound::Launch(m)) => self.core.on_run_task(m),
            Some(Inbound::LaunchGroup(m)) => self.core.on_run_task_group(m),
            Some(Inbound::Kill(m)) => self.core.on_kill_task(m),
            Some(Inbound::Acknowledged(m)) => self.core.on_acknowledgement(m),
            Some(Inbound::Message(m)) => self.core.on_framework_message(m),
            Some(Inbound::Shutdown) => self.core.on_shutdown(),
            Some(Inbound::Error(message)) => {
                tracing::error!(%message, "the agent sent ERROR");
                self.core.abort(&message);
            }
        }
        self.run_events(ctx);
    }

    /// The event stream ended: the agent's connection broke (Mesos: `disconnected`).
    fn on_http_stream_ended(&mut self, epoch: u64, reason: String, ctx: &mut Context<'_, Self>) {
        let Some(http) = self.http.as_mut().filter(|h| h.epoch == epoch) else { return };
        self.core.set_now(ctx.now());
        tracing::info!(%reason, "executor event stream ended");
        if self.core.is_registering() {
            http.failed_subscribes += 1;
            if http.failed_subscribes >= MAX_FAILED_SUBSCRIBES {
                self.core.abort(&format!("cannot subscribe with the agent: {reason}"));
            } else {
                ctx.delay(RESUBSCRIBE_INTERVAL, |p: &mut Self, ctx| {
                    if p.core.is_registering() {
                        p.core.start();
                        p.flush(ctx);
                    }
                });
            }
        } else {
            if self.core.is_connected() {
                let agent = self.core.env().agent.clone();
                self.core.on_exited(&agent);
            }
            if self.core.is_awaiting_recovery() {
                ctx.delay(RESUBSCRIBE_INTERVAL, |p: &mut Self, ctx| p.resubscribe(ctx));
            }
        }
        self.run_events(ctx);
    }

    /// Subscribes again after the agent went away, with what it may have missed.
    fn resubscribe(&mut self, ctx: &mut Context<'_, Self>) {
        if !self.core.is_awaiting_recovery() {
            return;
        }
        let env = self.core.env();
        let (agent, agent_id) = (env.agent.clone(), env.agent_id.clone());
        self.core.on_reconnect(&agent, internal::ReconnectExecutorMessage { slave_id: agent_id });
        self.run_events(ctx);
    }
}

impl<E: Executor> Process for ExecutorProcess<E> {
    type Message = ExecutorMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        tracing::info!(pid = %ctx.pid(), agent = %self.core.env().agent, "executor driver started");
        let me = ctx.self_ref();
        self.notifier = Some(Notifier {
            deliver: Arc::new(move |notice| {
                me.tell(move |p: &mut Self, ctx| p.on_notice(notice, ctx)).is_ok()
            }),
        });
        self.core.start();
        self.run_events(ctx);
    }

    fn on_message(&mut self, from: Pid, message: ExecutorMessage, ctx: &mut Context<'_, Self>) {
        match message {
            ExecutorMessage::Registered(m) => self.core.on_registered(m),
            ExecutorMessage::Reregistered(m) => self.core.on_reregistered(m),
            ExecutorMessage::Reconnect(m) => self.core.on_reconnect(&from, m),
            ExecutorMessage::RunTask(m) => self.core.on_run_task(m),
            ExecutorMessage::RunTaskGroup(m) => self.core.on_run_task_group(m),
            ExecutorMessage::KillTask(m) => self.core.on_kill_task(m),
            ExecutorMessage::Acknowledgement(m) => self.core.on_acknowledgement(m),
            ExecutorMessage::FrameworkToExecutor(m) => self.core.on_framework_message(m),
            ExecutorMessage::Shutdown(_) => self.core.on_shutdown(),
        }
        self.run_events(ctx);
    }

    fn on_exited(&mut self, pid: Pid, ctx: &mut Context<'_, Self>) {
        self.core.on_exited(&pid);
        self.run_events(ctx);
    }

    fn on_unknown(&mut self, from: Pid, error: DecodeError, _ctx: &mut Context<'_, Self>) {
        tracing::warn!(%from, %error, "executor driver ignores message");
    }

    fn finalize(&mut self, _ctx: &mut Context<'_, Self>) {
        let status = match self.core.status() {
            DriverStatus::Running => {
                DriverStatus::Aborted { message: "driver process terminated".to_string() }
            }
            other => other.clone(),
        };
        if let (Some(executor), Some(done)) = (self.executor.take(), self.done.take()) {
            // Nobody may be waiting in `join`; then the executor is simply dropped.
            let _ = done.send((executor, status));
        }
    }
}

/// A running executor driver.
pub struct ExecutorHandle<E: Executor> {
    process: ProcessRef<ExecutorProcess<E>>,
    done: oneshot::Receiver<(E, DriverStatus)>,
}

/// Starts a driver for `executor` on `node` as `executor(N)`. `seed` seeds the update
/// uuids. Must run inside an actix `System`.
pub fn spawn_executor<E: Executor>(
    node: &Node,
    env: ExecutorEnv,
    executor: E,
    seed: u64,
) -> Result<ExecutorHandle<E>, FrameworkError> {
    spawn_executor_on(node, env, executor, seed, Transport::Libprocess)
}

/// [`spawn_executor`] on a chosen [`Transport`].
pub fn spawn_executor_on<E: Executor>(
    node: &Node,
    env: ExecutorEnv,
    executor: E,
    seed: u64,
    transport: Transport,
) -> Result<ExecutorHandle<E>, FrameworkError> {
    let (done_tx, done_rx) = oneshot::channel();
    let http = (transport == Transport::Http).then(|| HttpState {
        endpoint: HttpEndpoint::from_env(&env, node.tls()),
        framework: mesos::FrameworkInfo::default(),
        epoch: 0,
        resubscribe: false,
        failed_subscribes: 0,
        calls: None,
    });
    let process = ExecutorProcess {
        executor: Some(executor),
        core: ExecutorCore::new(env, seed),
        notifier: None,
        done: Some(done_tx),
        http,
    };
    let mut id = node.generate_id("executor");
    while node.has_process(&id) {
        id = node.generate_id("executor");
    }
    let process = node.spawn(id, process)?;
    Ok(ExecutorHandle { process, done: done_rx })
}

impl<E: Executor> ExecutorHandle<E> {
    /// The driver's pid.
    pub fn pid(&self) -> &Pid {
        self.process.pid()
    }

    /// The driver's process: to watch it (`is_alive`) without holding on to the
    /// executor the way [`ExecutorHandle::join`] does.
    pub fn process(&self) -> &ProcessRef<ExecutorProcess<E>> {
        &self.process
    }

    /// Reads the executor and the driver's core.
    pub async fn inspect<R: Send + 'static>(
        &self,
        f: impl FnOnce(&E, &ExecutorCore) -> R + Send + 'static,
    ) -> Result<R, FrameworkError> {
        let pid = self.pid().clone();
        let result = self
            .process
            .dispatch(move |p: &mut ExecutorProcess<E>, _| {
                p.executor.as_ref().map(|e| f(e, &p.core))
            })
            .await
            .map_err(|_| FrameworkError::DriverGone { pid: pid.clone() })?;
        result.ok_or(FrameworkError::DriverGone { pid })
    }

    /// Waits until the driver stops; returns the executor and how it ended.
    pub async fn join(self) -> Result<(E, DriverStatus), FrameworkError> {
        let pid = self.pid().clone();
        self.done.await.map_err(|_| FrameworkError::DriverGone { pid })
    }
}

/// Runs `executor` as the executor of this OS process: reads the environment, starts a
/// node on the agent's IP (or `LIBPROCESS_IP`), registers, and returns when the driver
/// stops. Must run inside an actix `System`.
pub async fn run_executor<E: Executor>(executor: E) -> Result<DriverStatus, FrameworkError> {
    run_executor_on(executor, Transport::Libprocess).await
}

/// [`run_executor`] on a chosen [`Transport`] (Mesos's default executor uses
/// [`Transport::Http`]).
pub async fn run_executor_on<E: Executor>(
    executor: E,
    transport: Transport,
) -> Result<DriverStatus, FrameworkError> {
    let env = ExecutorEnv::from_env()?;
    let node = match std::env::var("LIBPROCESS_IP") {
        Ok(ip) if !ip.is_empty() => crate::runtime::start_node()?,
        _ => Node::builder(SocketAddr::new(env.agent.address().ip(), 0)).start()?,
    };
    let seed = u64::from(std::process::id()) ^ node.clock().now().since_epoch().as_nanos() as u64;
    let handle = spawn_executor_on(&node, env, executor, seed, transport)?;
    let (_executor, status) = handle.join().await?;
    node.shutdown().await;
    Ok(status)
}
