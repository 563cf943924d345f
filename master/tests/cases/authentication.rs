//! v0 authentication (CRAM-MD5) of frameworks and agents against the real master on the
//! simulated network (ports of Mesos's `AuthenticationTest` scenarios).

use libprocess::{Context, Pid, Process};
use mesos_master::authentication::AuthenticationConfig;
use mesos_proto::mesos::internal;
use mesos_security::cram_md5::{self, Authenticatee, Outcome};
use mesos_security::{Credential, Credentials};
use tokio::sync::mpsc;

use super::support::{AgentMsg, Cluster, SchedMsg, framework_info};

libprocess::protocol! {
    /// What the authenticator sends the test's authenticatee.
    pub enum AuthInbox {
        Mechanisms(internal::AuthenticationMechanismsMessage),
        Step(internal::AuthenticationStepMessage),
        Completed(internal::AuthenticationCompletedMessage),
        Failed(internal::AuthenticationFailedMessage),
        Error(internal::AuthenticationErrorMessage),
    }
}

/// A Mesos-style authenticatee process beside a client (its own pid, as
/// `crammd5-authenticatee(N)` in Mesos): runs the exchange, reports the outcome.
struct AuthProcess {
    exchange: Authenticatee,
    done: mpsc::UnboundedSender<Outcome>,
}

impl Process for AuthProcess {
    type Message = AuthInbox;
    fn on_message(&mut self, from: Pid, message: AuthInbox, ctx: &mut Context<'_, Self>) {
        match message {
            AuthInbox::Mechanisms(m) => {
                if let Some(start) = self.exchange.on_mechanisms(&m) {
                    ctx.send(&from, start);
                }
            }
            AuthInbox::Step(m) => {
                if let Some(step) = self.exchange.on_step(&m) {
                    ctx.send(&from, step);
                }
            }
            AuthInbox::Completed(_) => self.exchange.on_completed(),
            AuthInbox::Failed(_) => self.exchange.on_failed(),
            AuthInbox::Error(m) => self.exchange.on_error(&m),
        }
        if self.exchange.outcome() != &Outcome::Pending {
            let _ = self.done.send(self.exchange.outcome().clone());
        }
    }
}

fn secured(options: &mut mesos_master::launch::MasterOptions) {
    options.authentication = AuthenticationConfig {
        authenticate_frameworks: true,
        authenticate_agents: true,
        credentials: Some(Credentials::parse("ops s3cret\nagent a6ent\n").unwrap()),
        timeout: cram_md5::AUTHENTICATION_V0_TIMEOUT,
    };
}

/// Authenticates `client` (a pid on `node`) as `principal` with `secret`.
async fn authenticate(
    cluster: &Cluster,
    node: &libprocess::Node,
    client: &Pid,
    principal: &str,
    secret: &str,
) -> Outcome {
    let credential = Credential { principal: principal.into(), secret: secret.into() };
    let (exchange, hello) = Authenticatee::new(credential, &client.to_string());
    let (done, mut outcome) = mpsc::unbounded_channel();
    let authee = node.spawn("crammd5-authenticatee(1)", AuthProcess { exchange, done }).unwrap();
    node.send(authee.pid(), &cluster.master_pid(), hello);
    cluster.settle().await;
    let result = outcome.try_recv().expect("the exchange ended");
    node.terminate(authee.pid());
    cluster.settle().await;
    result
}

fn subscribe_call(info: mesos_proto::mesos::FrameworkInfo) -> mesos_proto::mesos::scheduler::Call {
    use mesos_proto::mesos::scheduler;
    scheduler::Call {
        r#type: Some(scheduler::call::Type::Subscribe as i32),
        subscribe: Some(scheduler::call::Subscribe { framework_info: info, ..Default::default() }),
        ..Default::default()
    }
}

/// `AuthenticationTest.UnauthenticatedFramework`: with `--authenticate_frameworks`, a
/// scheduler that did not authenticate is refused with a `FrameworkErrorMessage`.
#[actix_rt::test]
async fn unauthenticated_framework_is_refused() {
    let cluster = Cluster::start(secured);
    let mut scheduler = cluster.scheduler();
    scheduler.call(subscribe_call(framework_info("fw")));
    cluster.settle().await;
    let messages = scheduler.drain();
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, SchedMsg::Error(e) if e.message.contains("is not authenticated"))),
        "{messages:?}"
    );
    assert!(!messages.iter().any(|m| matches!(m, SchedMsg::Registered(_))));
    assert_eq!(cluster.inspect(|core| core.frameworks().count()).await, 0);
}

/// `AuthenticationTest.AuthenticatedFramework`: after CRAM-MD5 with the right secret the
/// scheduler registers, its principal filled in from the authentication.
#[actix_rt::test]
async fn authenticated_framework_registers_with_its_principal() {
    let cluster = Cluster::start(secured);
    let mut scheduler = cluster.scheduler();
    let outcome = authenticate(&cluster, &scheduler.node, scheduler.pid(), "ops", "s3cret").await;
    assert!(matches!(outcome, Outcome::Authenticated(_)), "{outcome:?}");
    let framework_id = scheduler.subscribe(&cluster, framework_info("fw")).await;
    let principal = cluster
        .master
        .master
        .dispatch(move |m, _| {
            m.core()
                .framework(&mesos_proto::ids::FrameworkId::from(&framework_id))
                .and_then(|f| f.info.principal.clone())
        })
        .await
        .unwrap();
    assert_eq!(principal.as_deref(), Some("ops"));
}

/// `AuthenticationTest.InvalidCredentials`: a wrong secret is refused
/// (`AuthenticationFailedMessage`) and the scheduler still cannot register; so is a
/// framework claiming another principal than the one it authenticated as.
#[actix_rt::test]
async fn wrong_secret_and_wrong_principal_are_refused() {
    let cluster = Cluster::start(secured);
    let mut scheduler = cluster.scheduler();
    let outcome = authenticate(&cluster, &scheduler.node, scheduler.pid(), "ops", "guess").await;
    assert_eq!(outcome, Outcome::Refused);
    scheduler.call(subscribe_call(framework_info("fw")));
    cluster.settle().await;
    assert!(scheduler.drain().iter().any(|m| matches!(m, SchedMsg::Error(_))));

    let outcome = authenticate(&cluster, &scheduler.node, scheduler.pid(), "ops", "s3cret").await;
    assert!(matches!(outcome, Outcome::Authenticated(_)));
    let mut info = framework_info("fw");
    info.principal = Some("root".into());
    scheduler.call(subscribe_call(info));
    cluster.settle().await;
    let messages = scheduler.drain();
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, SchedMsg::Error(e) if e.message.contains("does not match"))),
        "{messages:?}"
    );
}

/// `AuthenticationTest.UnauthenticatedSlave`: with `--authenticate_agents` an agent that
/// did not authenticate gets no answer; after authenticating it registers.
#[actix_rt::test]
async fn agent_registers_only_after_authenticating() {
    let cluster = Cluster::start(secured);
    let mut agent = cluster.agent("cpus:1;mem:128");
    agent.send(internal::RegisterSlaveMessage {
        slave: agent.info(),
        version: Some("1.11.0".into()),
        ..Default::default()
    });
    cluster.settle().await;
    assert!(!agent.drain().iter().any(|m| matches!(m, AgentMsg::Registered(_))));

    let outcome = authenticate(&cluster, &agent.node, agent.pid(), "agent", "a6ent").await;
    assert!(matches!(outcome, Outcome::Authenticated(_)));
    agent.register(&cluster).await;
}

/// A forged `Libprocess-From` on the simulated network: another node claiming the pid
/// of an authenticated framework (`UnregisterFrameworkMessage`) gets nothing
/// (`master/invalid_sender_messages`). After a partition the real scheduler's messages
/// come on a new connection: they are dropped until it authenticates again, as our
/// driver does after it loses the master, and then it re-registers: never locked out.
#[actix_rt::test]
async fn forged_pid_gets_nothing_and_a_reconnected_peer_is_heard_again() {
    let cluster = Cluster::start(secured);
    let mut scheduler = cluster.scheduler();
    let outcome = authenticate(&cluster, &scheduler.node, scheduler.pid(), "ops", "s3cret").await;
    assert!(matches!(outcome, Outcome::Authenticated(_)), "{outcome:?}");
    let framework_id = scheduler.subscribe(&cluster, framework_info("fw")).await;
    let dropped = cluster.node.metrics().counter("master/invalid_sender_messages");

    let forger = cluster.scheduler();
    let unregister = internal::UnregisterFrameworkMessage { framework_id: framework_id.clone() };
    forger.node.send(scheduler.pid(), &cluster.master_pid(), unregister.clone());
    cluster.settle().await;
    assert_eq!(dropped.get(), 1);
    assert_eq!(cluster.inspect(|core| core.frameworks().count()).await, 1);

    // The network between master and scheduler breaks and heals: a new connection.
    cluster.sim.partition(cluster.node.address(), scheduler.node.address());
    cluster.settle().await;
    cluster.sim.heal(cluster.node.address(), scheduler.node.address());
    let mut info = framework_info("fw");
    info.id = Some(framework_id.clone());
    scheduler.call(subscribe_call(info.clone()));
    cluster.settle().await;
    assert_eq!(dropped.get(), 2, "not yet authenticated on the new connection");
    let outcome = authenticate(&cluster, &scheduler.node, scheduler.pid(), "ops", "s3cret").await;
    assert!(matches!(outcome, Outcome::Authenticated(_)), "{outcome:?}");
    assert_eq!(scheduler.subscribe(&cluster, info).await, framework_id);

    // The forger is still refused; the real scheduler is heard and tears itself down.
    forger.node.send(scheduler.pid(), &cluster.master_pid(), unregister.clone());
    cluster.settle().await;
    assert_eq!(dropped.get(), 3);
    assert_eq!(cluster.inspect(|core| core.frameworks().count()).await, 1);
    scheduler.node.send(scheduler.pid(), &cluster.master_pid(), unregister);
    cluster.settle().await;
    assert_eq!(dropped.get(), 3);
    assert_eq!(cluster.inspect(|core| core.frameworks().count()).await, 0);
}
