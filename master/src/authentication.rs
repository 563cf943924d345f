//! v0 authentication of frameworks and agents (CRAM-MD5 over libprocess messages).
//!
//! With `--authenticate_frameworks` or `--authenticate_agents`, a scheduler driver or
//! an agent first proves, with the CRAM-MD5 exchange of [`mesos_security::cram_md5`],
//! that it holds the secret of a principal in the master's `--credentials`; the master
//! then remembers which pid authenticated as which principal. This module is that
//! bookkeeping, pure like the core: messages and timeouts in, [`AuthOutput`]s out. The
//! actor ([`crate::process`]) performs them and asks [`Authentication::admit_framework`]
//! and [`Authentication::admit_agent`] before a registration reaches the core.
//!
//! 1. `AuthenticateMessage { pid }` from an authenticatee opens a session for `pid`
//!    (discarding any earlier session; an earlier authentication stays until this one
//!    succeeds, see below), answered
//!    with the mechanisms; a timer bounds the session
//!    ([`cram_md5::AUTHENTICATION_V0_TIMEOUT`]).
//! 2. Start and step messages from the authenticatee run the exchange.
//! 3. Completed: `pid` is authenticated as the principal, **on the connection the
//!    exchange ran on**. Failed, error or timeout: the session is dropped and `pid`
//!    stays unauthenticated.
//!
//! # Binding a pid to its connection
//!
//! A libprocess sender is only what its `Libprocess-From` header claims, and any client
//! can write any header. So an authenticated pid is bound to the inbound connection
//! ([`libprocess::Connection`]) its exchange ran on, and [`Authentication::admit_sender`]
//! refuses every other message claiming that pid from any other connection: a forger
//! gets nothing, not even an answer. Mesos has no such check (its libprocess trusts the
//! header); this closes the gap its CRAM-MD5 leaves open.
//!
//! - Start and step messages must come on the connection the session was opened on.
//! - A new `AuthenticateMessage` for a bound pid (from a peer that reconnected, or from
//!   a forger) does not erase the binding, as Mesos erases the authentication; only a
//!   completed exchange moves it, and only for the same principal: a pid bound to one
//!   principal cannot be taken over with another principal's credentials while the
//!   master knows it. A failed exchange leaves the earlier binding as it was.
//! - When the master's link to the peer breaks, the binding stays while the core still
//!   knows the pid (a disconnected framework or agent, which may come back), and goes
//!   otherwise ([`Authentication::on_link_broken`]). A legitimate peer never stays
//!   locked out: our driver and agent (and Mesos's) authenticate again on the new
//!   connection before they register again, which rebinds the pid.
//! - Without authentication nothing is bound and every message passes, as before.
//!
//! At most [`MAX_SESSIONS`] sessions run at once; an `AuthenticateMessage` beyond that
//! is answered with an error (the peer retries with backoff). Authenticated pids are
//! forgotten when the peer's link breaks and the core no longer knows it, so the map
//! holds at most one entry per framework or agent the master knows, plus those that
//! authenticated and have not registered yet.
//!
//! Mesos: master.cpp `Master::authenticate`, `_authenticate`, `authenticationTimeout`,
//! `validateFrameworkAuthentication`, the checks at the top of `registerSlave`.

use std::collections::HashMap;
use std::time::Duration;

use libprocess::{Connection, Pid};
use mesos_proto::mesos::{self, internal};
use mesos_security::cram_md5::{self, Authenticator, Outcome, ToAuthenticatee};
use mesos_security::{Credentials, Principal};

/// Most authentications in progress at once.
pub const MAX_SESSIONS: usize = 1024;

/// The master's authentication settings (its flags).
#[derive(Clone, Debug, Default)]
pub struct AuthenticationConfig {
    /// `--authenticate_frameworks` (alias `--authenticate`): only authenticated
    /// schedulers may register.
    pub authenticate_frameworks: bool,
    /// `--authenticate_agents`: only authenticated agents may register.
    pub authenticate_agents: bool,
    /// `--credentials`: who may authenticate. `None`: no authenticator is loaded, and an
    /// `AuthenticateMessage` is answered with an error, as in Mesos.
    pub credentials: Option<Credentials>,
    /// `--authentication_v0_timeout`.
    pub timeout: Duration,
}

libprocess::protocol! {
    /// What the master's authenticator sends an authenticatee.
    #[derive(Debug, Clone, PartialEq)]
    pub enum AuthMessage {
        /// The mechanisms on offer (CRAM-MD5).
        Mechanisms(internal::AuthenticationMechanismsMessage),
        /// The challenge.
        Step(internal::AuthenticationStepMessage),
        /// Authenticated.
        Completed(internal::AuthenticationCompletedMessage),
        /// Refused.
        Failed(internal::AuthenticationFailedMessage),
        /// The exchange broke.
        Error(internal::AuthenticationErrorMessage),
    }
}

/// What the actor must do after an authentication input.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthOutput {
    /// Send `message` to the authenticatee `to`.
    Send {
        /// The authenticatee.
        to: Pid,
        /// What.
        message: AuthMessage,
    },
    /// Call [`Authentication::on_timeout`] with these after `after`.
    Timer {
        /// The pid being authenticated.
        client: Pid,
        /// The session the timer belongs to.
        session: u64,
        /// When.
        after: Duration,
    },
}

/// One authentication in progress.
#[derive(Debug)]
struct Session {
    /// Where the exchange's messages come from and go to (Mesos's authenticatee
    /// process; ours is the client itself).
    authenticatee: Pid,
    /// The connection the session was opened on: its other messages must come on it,
    /// and a success binds the client pid to it.
    via: Option<Connection>,
    /// Tells a stale timeout from the current session's.
    id: u64,
    authenticator: Authenticator,
}

/// A pid that authenticated: as whom, and on which connection.
#[derive(Debug, Clone, PartialEq)]
struct Authenticated {
    principal: Principal,
    /// `None`: a peer on this node (tests), which nobody outside can impersonate.
    via: Option<Connection>,
    /// The master's link to the peer broke; kept because the core still knows the pid.
    link_broken: bool,
}

/// A message claiming an authenticated pid arrived on another connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgedSender {
    /// The connection the pid authenticated on.
    pub bound: Option<Connection>,
    /// The connection the message came on.
    pub via: Option<Connection>,
}

/// The master's authentication state.
#[derive(Debug, Default)]
pub struct Authentication {
    config: AuthenticationConfig,
    /// Client pid -> its session in progress.
    sessions: HashMap<Pid, Session>,
    /// Authenticatee pid -> client pid, to route start and step messages.
    by_authenticatee: HashMap<Pid, Pid>,
    /// Client pid -> whom it authenticated as, and on which connection.
    authenticated: HashMap<Pid, Authenticated>,
    next_session: u64,
}

impl Authentication {
    /// No authentication in progress or done yet.
    pub fn new(config: AuthenticationConfig) -> Self {
        Self { config, ..Self::default() }
    }

    /// The principal `pid` authenticated as, if it did.
    pub fn principal(&self, pid: &Pid) -> Option<&Principal> {
        self.authenticated.get(pid).map(|a| &a.principal)
    }

    /// May a message claiming to be from `from`, which arrived on `via`, be handled?
    /// Every message passes unless `from` authenticated on another connection. The
    /// authentication messages themselves do not come here: a peer that reconnected
    /// must be able to authenticate again.
    pub fn admit_sender(&self, from: &Pid, via: Option<Connection>) -> Result<(), ForgedSender> {
        match self.authenticated.get(from) {
            Some(bound) if bound.via != via => Err(ForgedSender { bound: bound.via, via }),
            _ => Ok(()),
        }
    }

    /// True while `pid` is authenticating.
    pub fn is_authenticating(&self, pid: &Pid) -> bool {
        self.sessions.contains_key(pid)
    }

    /// `AuthenticateMessage` from `from`, arrived on `via`, for the pid in `message`.
    /// `random` and `now_secs` make the challenge (injected so tests replay).
    pub fn on_authenticate(
        &mut self,
        from: &Pid,
        via: Option<Connection>,
        message: &internal::AuthenticateMessage,
        hostname: &str,
        random: u64,
        now_secs: u64,
    ) -> Vec<AuthOutput> {
        let error = |error: &str| {
            vec![AuthOutput::Send {
                to: from.clone(),
                message: AuthMessage::Error(internal::AuthenticationErrorMessage {
                    error: Some(error.to_string()),
                }),
            }]
        };
        let Ok(client) = message.pid.parse::<Pid>() else {
            return error("Invalid pid");
        };
        // Mesos erases an earlier authentication of the pid here. We keep it (and its
        // binding) until this exchange completes: anyone can send this message, and an
        // erased binding would let every claim of the pid through in the meantime. A
        // registration waits for the exchange all the same (`is_authenticating`).
        let earlier = self.authenticated.contains_key(&client);
        if self.config.credentials.is_none() {
            tracing::error!(%client, "authentication request but no authenticator is loaded (no --credentials)");
            return error("No authenticator loaded");
        }
        if let Some(old) = self.sessions.remove(&client) {
            self.by_authenticatee.remove(&old.authenticatee);
            tracing::info!(%client, "re-authenticating; discarding outstanding authentication");
        } else if self.sessions.len() >= MAX_SESSIONS {
            tracing::warn!(%client, "too many authentications in progress; refusing one");
            return error("Too many authentications in progress");
        } else {
            tracing::info!(%client, earlier, "authenticating");
        }
        // One authenticatee runs one exchange: a second client from the same
        // authenticatee pid replaces the first.
        if let Some(previous) = self.by_authenticatee.remove(from) {
            self.sessions.remove(&previous);
        }
        let challenge = cram_md5::challenge(random, now_secs, hostname);
        let (authenticator, mechanisms) = Authenticator::new(challenge);
        self.next_session += 1;
        let id = self.next_session;
        let session = Session { authenticatee: from.clone(), via, id, authenticator };
        self.sessions.insert(client.clone(), session);
        self.by_authenticatee.insert(from.clone(), client.clone());
        vec![
            AuthOutput::Send { to: from.clone(), message: AuthMessage::Mechanisms(mechanisms) },
            AuthOutput::Timer { client, session: id, after: self.config.timeout },
        ]
    }

    /// `AuthenticationStartMessage` from an authenticatee, arrived on `via`.
    pub fn on_start(
        &mut self,
        from: &Pid,
        via: Option<Connection>,
        start: &internal::AuthenticationStartMessage,
    ) -> Vec<AuthOutput> {
        self.step_session(from, via, |authenticator, _| authenticator.on_start(start))
    }

    /// `AuthenticationStepMessage` from an authenticatee, arrived on `via`.
    pub fn on_step(
        &mut self,
        from: &Pid,
        via: Option<Connection>,
        step: &internal::AuthenticationStepMessage,
    ) -> Vec<AuthOutput> {
        self.step_session(from, via, |authenticator, credentials| {
            authenticator.on_step(step, credentials)
        })
    }

    fn step_session(
        &mut self,
        from: &Pid,
        via: Option<Connection>,
        step: impl FnOnce(&mut Authenticator, &Credentials) -> ToAuthenticatee,
    ) -> Vec<AuthOutput> {
        let Some(client) = self.by_authenticatee.get(from).cloned() else {
            tracing::warn!(%from, "authentication message from a peer not authenticating; ignored");
            return Vec::new();
        };
        let (Some(session), Some(credentials)) =
            (self.sessions.get_mut(&client), self.config.credentials.as_ref())
        else {
            return Vec::new();
        };
        if session.via != via {
            tracing::warn!(%from, %client, "authentication message on another connection than its session's; ignored");
            return Vec::new();
        }
        let reply = step(&mut session.authenticator, credentials);
        let mut outcome = session.authenticator.outcome().clone();
        let mut message = match reply {
            ToAuthenticatee::Step(m) => AuthMessage::Step(m),
            ToAuthenticatee::Completed(m) => AuthMessage::Completed(m),
            ToAuthenticatee::Failed(m) => AuthMessage::Failed(m),
            ToAuthenticatee::Error(m) => AuthMessage::Error(m),
        };
        if let Outcome::Authenticated(principal) = &outcome
            && let Some(bound) = self.authenticated.get(&client)
            && bound.principal != *principal
        {
            // Another principal's credentials must not take over a pid the master knows
            // (a registered framework or agent): that would let them speak for it. An
            // error, not a refusal: the rightful peer's driver retries rather than abort.
            let error = format!("{client} is authenticated as another principal");
            message = AuthMessage::Error(internal::AuthenticationErrorMessage {
                error: Some(error.clone()),
            });
            outcome = Outcome::Error(error);
        }
        if outcome != Outcome::Pending {
            self.finish(&client, outcome);
        }
        vec![AuthOutput::Send { to: from.clone(), message }]
    }

    fn finish(&mut self, client: &Pid, outcome: Outcome) {
        let via = match self.sessions.remove(client) {
            Some(session) => {
                self.by_authenticatee.remove(&session.authenticatee);
                session.via
            }
            None => None,
        };
        match outcome {
            Outcome::Authenticated(principal) => {
                tracing::info!(%client, %principal, ?via, "successfully authenticated");
                let authenticated = Authenticated { principal, via, link_broken: false };
                self.authenticated.insert(client.clone(), authenticated);
            }
            Outcome::Refused => {
                tracing::info!(%client, "authentication unsuccessful: invalid credentials")
            }
            Outcome::Error(error) => tracing::warn!(%client, %error, "authentication error"),
            Outcome::Pending => {}
        }
    }

    /// A session's timer fired: drop it if it is still running (Mesos discards it; the
    /// authenticatee's own timeout makes it retry).
    pub fn on_timeout(&mut self, client: &Pid, session: u64) {
        if self.sessions.get(client).is_some_and(|s| s.id == session) {
            tracing::warn!(%client, "authentication timed out");
            self.finish(client, Outcome::Error("timed out".into()));
        }
    }

    /// `pid` was removed: forget its authentication (Mesos erases it when it removes
    /// the framework or agent). It authenticates again to come back.
    pub fn forget(&mut self, pid: &Pid) {
        self.authenticated.remove(pid);
        if let Some(session) = self.sessions.remove(pid) {
            self.by_authenticatee.remove(&session.authenticatee);
        }
    }

    /// The master's link to `pid` broke. `known` says whether the core still knows a pid
    /// (as a framework or agent). A known pid keeps its binding, so nobody can speak for
    /// a disconnected framework or agent; the rightful peer authenticates again when it
    /// comes back. Any other is forgotten, and so are earlier broken links whose pid the
    /// core has since removed (this keeps the map bounded by what the core knows).
    pub fn on_link_broken(&mut self, pid: &Pid, known: impl Fn(&Pid) -> bool) {
        if let Some(session) = self.sessions.remove(pid) {
            self.by_authenticatee.remove(&session.authenticatee);
        }
        if known(pid) {
            if let Some(authenticated) = self.authenticated.get_mut(pid) {
                authenticated.link_broken = true;
            }
        } else {
            self.authenticated.remove(pid);
        }
        self.authenticated.retain(|pid, a| !a.link_broken || known(pid));
    }

    /// True while `pid` is authenticating on `via`. An exchange someone opened for the
    /// pid on another connection does not count: it must not hold up (or, through a
    /// "Re-authentication in progress" error, abort) the peer bound to `via`.
    fn is_authenticating_on(&self, pid: &Pid, via: Option<Connection>) -> bool {
        self.sessions.get(pid).is_some_and(|session| session.via == via)
    }

    /// May a scheduler at `from`, speaking on `via`, subscribe with `info`? Fills in
    /// `info.principal` from the authentication when the framework left it out. `Err`
    /// is the refusal's text, for a `FrameworkErrorMessage`.
    ///
    /// Mesos: master.cpp `Master::validateFrameworkAuthentication`.
    pub fn admit_framework(
        &self,
        from: &Pid,
        via: Option<Connection>,
        info: Option<&mut mesos::FrameworkInfo>,
    ) -> Result<(), String> {
        if self.is_authenticating_on(from, via) {
            return Err("Re-authentication in progress".into());
        }
        let principal = self.principal(from);
        if self.config.authenticate_frameworks && principal.is_none() {
            return Err(format!("Framework at {from} is not authenticated"));
        }
        let (Some(principal), Some(info)) = (principal, info) else { return Ok(()) };
        match &info.principal {
            Some(claimed) if claimed != principal.as_str() => Err(format!(
                "Framework principal '{claimed}' does not match authenticated principal '{principal}'"
            )),
            Some(_) => Ok(()),
            None => {
                tracing::warn!(%from, %principal, "setting the framework's principal to the one it authenticated as");
                info.principal = Some(principal.to_string());
                Ok(())
            }
        }
    }

    /// May an agent at `from`, speaking on `via`, (re-)register? Mesos ignores one that
    /// may not: it logs and does not answer, and the agent retries (after
    /// authenticating).
    ///
    /// Mesos: master.cpp `Master::registerSlave`, `Master::reregisterSlave`.
    pub fn admit_agent(&self, from: &Pid, via: Option<Connection>) -> bool {
        if self.is_authenticating_on(from, via) {
            return false;
        }
        !self.config.authenticate_agents || self.authenticated.contains_key(from)
    }
}

#[cfg(test)]
mod tests {
    use mesos_security::Credential;
    use mesos_security::cram_md5::Authenticatee;

    use super::*;

    fn gate(frameworks: bool) -> Authentication {
        Authentication::new(AuthenticationConfig {
            authenticate_frameworks: frameworks,
            authenticate_agents: true,
            credentials: Some(Credentials::parse("ops s3cret\n").unwrap()),
            timeout: cram_md5::AUTHENTICATION_V0_TIMEOUT,
        })
    }

    fn sent(outputs: &[AuthOutput]) -> AuthMessage {
        outputs
            .iter()
            .find_map(|o| match o {
                AuthOutput::Send { message, .. } => Some(message.clone()),
                _ => None,
            })
            .expect("a message")
    }

    /// Runs the whole exchange for `client` with `secret`; returns the verdict.
    fn authenticate(gate: &mut Authentication, client: &Pid, secret: &str) -> AuthMessage {
        authenticate_as(gate, client, None, "ops", secret)
    }

    /// Runs the whole exchange for `client` as `principal`, every message on `via`.
    fn authenticate_as(
        gate: &mut Authentication,
        client: &Pid,
        via: Option<Connection>,
        principal: &str,
        secret: &str,
    ) -> AuthMessage {
        let credential = Credential { principal: principal.into(), secret: secret.into() };
        let (mut authenticatee, hello) = Authenticatee::new(credential, &client.to_string());
        let AuthMessage::Mechanisms(m) =
            sent(&gate.on_authenticate(client, via, &hello, "m", 1, 2))
        else {
            panic!("mechanisms expected")
        };
        let start = authenticatee.on_mechanisms(&m).unwrap();
        let AuthMessage::Step(challenge) = sent(&gate.on_start(client, via, &start)) else {
            panic!("challenge expected")
        };
        let answer = authenticatee.on_step(&challenge).unwrap();
        sent(&gate.on_step(client, via, &answer))
    }

    fn connection(id: u64) -> Option<Connection> {
        Some(Connection { id, peer: "10.0.0.1:4000".parse().unwrap() })
    }

    fn pid(text: &str) -> Pid {
        text.parse().unwrap()
    }

    /// Mesos: AuthenticationTest.UnauthenticatedFramework — an unauthenticated framework
    /// is refused when authentication is required; an authenticated one is admitted and
    /// gets its principal filled in.
    #[test]
    fn framework_admission_follows_authentication() {
        let mut gate = gate(true);
        let scheduler = pid("scheduler(1)@10.0.0.1:4000");
        let mut info = mesos::FrameworkInfo::default();
        let refusal = gate.admit_framework(&scheduler, None, Some(&mut info)).unwrap_err();
        assert!(refusal.contains("is not authenticated"), "{refusal}");

        let verdict = authenticate(&mut gate, &scheduler, "s3cret");
        assert!(matches!(verdict, AuthMessage::Completed(_)));
        assert_eq!(gate.principal(&scheduler), Some(&Principal("ops".into())));
        gate.admit_framework(&scheduler, None, Some(&mut info)).unwrap();
        assert_eq!(info.principal.as_deref(), Some("ops"));
        // Another pid (a forger claiming another name) is still unauthenticated.
        assert!(gate.admit_framework(&pid("scheduler(2)@10.0.0.1:4000"), None, None).is_err());
    }

    /// Mesos: AuthenticationTest.InvalidCredentials — a wrong secret is refused and the
    /// framework stays unauthenticated.
    #[test]
    fn wrong_secret_is_refused() {
        let mut gate = gate(true);
        let scheduler = pid("scheduler(1)@10.0.0.1:4000");
        assert!(matches!(authenticate(&mut gate, &scheduler, "guess"), AuthMessage::Failed(_)));
        assert!(gate.admit_framework(&scheduler, None, None).is_err());
    }

    /// Mesos: AuthenticationTest.AuthenticatedFramework with a mismatching principal.
    #[test]
    fn principal_must_match() {
        let mut gate = gate(false);
        let scheduler = pid("scheduler(1)@10.0.0.1:4000");
        authenticate(&mut gate, &scheduler, "s3cret");
        let mut info =
            mesos::FrameworkInfo { principal: Some("root".into()), ..Default::default() };
        let refusal = gate.admit_framework(&scheduler, None, Some(&mut info)).unwrap_err();
        assert!(refusal.contains("does not match"), "{refusal}");
    }

    /// Agents: refused until authenticated, admitted after; forgotten on exit.
    #[test]
    fn agent_admission_and_forget() {
        let mut gate = gate(false);
        let agent = pid("slave(1)@10.0.0.2:5051");
        assert!(!gate.admit_agent(&agent, None));
        authenticate(&mut gate, &agent, "s3cret");
        assert!(gate.admit_agent(&agent, None));
        gate.forget(&agent);
        assert!(!gate.admit_agent(&agent, None));
    }

    /// A session that outlives the timeout is dropped; a stale timer does nothing.
    #[test]
    fn timeout_drops_the_session() {
        let mut gate = gate(true);
        let agent = pid("slave(1)@10.0.0.2:5051");
        let hello = internal::AuthenticateMessage { pid: agent.to_string() };
        let outputs = gate.on_authenticate(&agent, None, &hello, "m", 1, 2);
        let Some(AuthOutput::Timer { session, .. }) = outputs.get(1).cloned() else {
            panic!("timer expected")
        };
        gate.on_timeout(&agent, session + 1);
        assert!(gate.is_authenticating(&agent));
        gate.on_timeout(&agent, session);
        assert!(!gate.is_authenticating(&agent));
        let start = internal::AuthenticationStartMessage {
            mechanism: cram_md5::MECHANISM.into(),
            data: None,
        };
        assert!(gate.on_start(&agent, None, &start).is_empty());
    }

    /// Without `--credentials` an authentication request gets an error, as in Mesos.
    #[test]
    fn no_authenticator_is_an_error() {
        let mut gate = Authentication::new(AuthenticationConfig::default());
        let agent = pid("slave(1)@10.0.0.2:5051");
        let hello = internal::AuthenticateMessage { pid: agent.to_string() };
        assert!(matches!(
            sent(&gate.on_authenticate(&agent, None, &hello, "m", 1, 2)),
            AuthMessage::Error(_)
        ));
    }

    /// A forged `Libprocess-From`: once a pid authenticated on a connection, a message
    /// claiming it from any other connection (or from this node) is refused, and the
    /// real peer's still passes. Without authentication everything passes, as before.
    #[test]
    fn an_authenticated_pid_is_bound_to_its_connection() {
        let mut gate = gate(true);
        let scheduler = pid("scheduler(1)@10.0.0.1:4000");
        assert_eq!(gate.admit_sender(&scheduler, connection(7)), Ok(()));
        let verdict = authenticate_as(&mut gate, &scheduler, connection(1), "ops", "s3cret");
        assert!(matches!(verdict, AuthMessage::Completed(_)));
        assert_eq!(gate.admit_sender(&scheduler, connection(1)), Ok(()));
        let forged = gate.admit_sender(&scheduler, connection(2)).unwrap_err();
        assert_eq!(forged, ForgedSender { bound: connection(1), via: connection(2) });
        assert!(gate.admit_sender(&scheduler, None).is_err());
        // Other pids are not bound.
        assert_eq!(gate.admit_sender(&pid("slave(1)@10.0.0.2:5051"), connection(2)), Ok(()));
        let open = Authentication::new(AuthenticationConfig::default());
        assert_eq!(open.admit_sender(&scheduler, connection(2)), Ok(()));
    }

    /// A peer that reconnects authenticates again on its new connection and is bound to
    /// it from then on; a forger's `AuthenticateMessage` erases nothing meanwhile, and a
    /// forger's start or step messages do not reach another connection's session.
    #[test]
    fn reauthentication_moves_the_binding() {
        let mut gate = gate(true);
        let scheduler = pid("scheduler(1)@10.0.0.1:4000");
        authenticate_as(&mut gate, &scheduler, connection(1), "ops", "s3cret");
        let hello = internal::AuthenticateMessage { pid: scheduler.to_string() };
        gate.on_authenticate(&scheduler, connection(9), &hello, "m", 1, 2);
        assert_eq!(gate.admit_sender(&scheduler, connection(1)), Ok(()));
        assert!(gate.admit_sender(&scheduler, connection(9)).is_err());
        let start = internal::AuthenticationStartMessage {
            mechanism: cram_md5::MECHANISM.into(),
            data: None,
        };
        assert!(gate.on_start(&scheduler, connection(8), &start).is_empty());

        let verdict = authenticate_as(&mut gate, &scheduler, connection(2), "ops", "s3cret");
        assert!(matches!(verdict, AuthMessage::Completed(_)));
        assert_eq!(gate.admit_sender(&scheduler, connection(2)), Ok(()));
        assert!(gate.admit_sender(&scheduler, connection(1)).is_err());
    }

    /// Another principal's valid credentials cannot take over a bound pid: the exchange
    /// ends in an error and the binding stays with the first principal.
    #[test]
    fn another_principal_cannot_take_over_a_bound_pid() {
        let mut gate = Authentication::new(AuthenticationConfig {
            authenticate_frameworks: true,
            authenticate_agents: true,
            credentials: Some(Credentials::parse("ops s3cret\neve evil\n").unwrap()),
            timeout: cram_md5::AUTHENTICATION_V0_TIMEOUT,
        });
        let scheduler = pid("scheduler(1)@10.0.0.1:4000");
        authenticate_as(&mut gate, &scheduler, connection(1), "ops", "s3cret");
        let verdict = authenticate_as(&mut gate, &scheduler, connection(2), "eve", "evil");
        assert!(matches!(verdict, AuthMessage::Error(_)), "{verdict:?}");
        assert_eq!(gate.principal(&scheduler), Some(&Principal("ops".into())));
        assert!(gate.admit_sender(&scheduler, connection(2)).is_err());
        // A fresh pid is eve's to take.
        let other = pid("scheduler(2)@10.0.0.9:4000");
        let verdict = authenticate_as(&mut gate, &other, connection(2), "eve", "evil");
        assert!(matches!(verdict, AuthMessage::Completed(_)));
    }

    /// A broken link keeps the binding of a pid the core still knows (a disconnected
    /// framework) and forgets any other; a kept one goes once the core forgets the pid.
    #[test]
    fn broken_links_keep_known_bindings() {
        let mut gate = gate(true);
        let framework = pid("scheduler(1)@10.0.0.1:4000");
        let stranger = pid("scheduler(2)@10.0.0.1:4000");
        authenticate_as(&mut gate, &framework, connection(1), "ops", "s3cret");
        authenticate_as(&mut gate, &stranger, connection(2), "ops", "s3cret");
        gate.on_link_broken(&framework, |p| *p == framework);
        gate.on_link_broken(&stranger, |p| *p == framework);
        assert!(gate.admit_sender(&framework, connection(3)).is_err());
        assert_eq!(gate.principal(&stranger), None);
        assert_eq!(gate.admit_sender(&stranger, connection(3)), Ok(()));
        // The core has removed the framework: the next broken link sweeps it.
        gate.on_link_broken(&stranger, |_| false);
        assert_eq!(gate.admit_sender(&framework, connection(3)), Ok(()));
    }

    /// A forger's `AuthenticateMessage` for a bound pid, from its own connection, does
    /// not make the real peer's registration wait ("Re-authentication in progress").
    #[test]
    fn a_forged_exchange_does_not_hold_up_the_bound_peer() {
        let mut gate = gate(true);
        let scheduler = pid("scheduler(1)@10.0.0.1:4000");
        authenticate_as(&mut gate, &scheduler, connection(1), "ops", "s3cret");
        let hello = internal::AuthenticateMessage { pid: scheduler.to_string() };
        gate.on_authenticate(&scheduler, connection(2), &hello, "m", 1, 2);
        assert!(gate.is_authenticating(&scheduler));
        gate.admit_framework(&scheduler, connection(1), None).unwrap();
        assert!(gate.admit_framework(&scheduler, connection(2), None).is_err());
    }
}
