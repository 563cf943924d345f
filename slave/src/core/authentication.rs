//! Authenticating with the master (CRAM-MD5) before (re-)registering, with
//! `--credential`.
//!
//! Mesos: slave.cpp `Slave::authenticate`, `_authenticate`. Before a registration
//! attempt to a master it has not authenticated with since it last lost its master,
//! the agent runs the exchange of [`mesos_security::cram_md5`] with that master and
//! registers as soon as it completes. The registration timer bounds every attempt:
//! an exchange still unfinished when it fires (no answer, an error) starts over with the
//! next attempt, so retries follow the registration backoff (from
//! `--registration_backoff_factor` doubling up to a minute), never faster than
//! [`AUTHENTICATION_TIMEOUT`]. A refusal (wrong secret, unknown principal) is logged as
//! an error and retried with the same backoff; Mesos's agent exits instead.

use std::time::Duration;

use libprocess::Pid;
pub use mesos_security::cram_md5::AuthenticatorMessage;
use mesos_security::cram_md5::{Authenticatee, AuthenticateeReply, Outcome};

use super::{AgentCore, AgentState, Outgoing, Timer};

/// The shortest wait for one authentication before trying again (Mesos:
/// `--authentication_timeout_min`, 5 seconds).
pub const AUTHENTICATION_TIMEOUT: Duration = Duration::from_secs(5);

/// One exchange in progress.
#[derive(Debug)]
pub(crate) struct Authenticating {
    master: Pid,
    exchange: Authenticatee,
}

impl AgentCore {
    /// Called with each registration attempt to `master`: true if the agent must
    /// authenticate first, which this starts (the caller then only re-arms the timer,
    /// at least [`AUTHENTICATION_TIMEOUT`] away).
    pub(super) fn authenticate_first(&mut self, master: &Pid) -> bool {
        let Some(credential) = self.config.credential.clone() else { return false };
        if self.authenticated_with.as_ref() == Some(master) {
            return false;
        }
        let Some(me) = self.pid.clone() else { return false };
        tracing::info!(%master, principal = %credential.principal, "authenticating with master");
        let (exchange, hello) = Authenticatee::new(credential, &me.to_string());
        self.authenticating = Some(Authenticating { master: master.clone(), exchange });
        self.send(master, Outgoing::Authenticate(hello));
        true
    }

    /// A message from the master's authenticator at `from`.
    pub fn on_authentication(&mut self, from: &Pid, message: AuthenticatorMessage) {
        if self.registration.state() != AgentState::Disconnected {
            return;
        }
        let Some(authenticating) = self.authenticating.as_mut() else {
            tracing::debug!(%from, "ignoring an authentication message: not authenticating");
            return;
        };
        let reply = authenticating.exchange.on_message(message).map(|reply| match reply {
            AuthenticateeReply::Start(m) => Outgoing::AuthenticationStart(m),
            AuthenticateeReply::Step(m) => Outgoing::AuthenticationStep(m),
        });
        let outcome = authenticating.exchange.outcome().clone();
        let master = authenticating.master.clone();
        if let Some(message) = reply {
            self.send(from, message);
        }
        match outcome {
            Outcome::Pending => {}
            Outcome::Authenticated(principal) => {
                tracing::info!(%master, %principal, "authenticated with master");
                self.authenticating = None;
                self.authenticated_with = Some(master.clone());
                self.send_registration(&master);
            }
            Outcome::Refused => {
                tracing::error!(%master, "master refused authentication: check --credential");
                self.authenticating = None;
            }
            Outcome::Error(error) => {
                tracing::warn!(%master, %error, "authentication failed; retrying");
                self.authenticating = None;
            }
        }
    }

    /// The registration timer of `epoch` with an authentication under way: wait at
    /// least [`AUTHENTICATION_TIMEOUT`].
    pub(super) fn authentication_retry(&mut self, retry_after: Duration, epoch: u64) {
        self.timer(retry_after.max(AUTHENTICATION_TIMEOUT), Timer::Registration { epoch });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use libprocess::Time;
    use mesos_security::cram_md5::{self, Authenticator, ToAuthenticatee};
    use mesos_security::{Credential, Credentials};

    use super::*;
    use crate::core::{AgentConfig, Output};

    fn master() -> Pid {
        "master@10.0.0.1:5050".parse().unwrap()
    }

    fn sent(outputs: &[Output]) -> Vec<Outgoing> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::Send { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    fn registration_timer(outputs: &[Output]) -> (Duration, u64) {
        outputs
            .iter()
            .find_map(|o| match o {
                Output::Timer { after, timer: Timer::Registration { epoch } } => {
                    Some((*after, *epoch))
                }
                _ => None,
            })
            .expect("a registration timer")
    }

    /// Transcript (Mesos: AuthenticationTest.AuthenticatedSlave): with a credential the
    /// agent's first attempt is an AuthenticateMessage, not a registration; it answers
    /// the master's CRAM-MD5 challenge and registers as soon as it is authenticated. A
    /// refusal sends no registration.
    #[test]
    fn agent_authenticates_then_registers() {
        for (secret, accepted) in [("a6ent", true), ("guess", false)] {
            let mut config = AgentConfig::new(vec![master()], "/work");
            config.credential =
                Some(Credential { principal: "agent".into(), secret: secret.into() });
            let mut core = AgentCore::new(config);
            core.set_pid("slave(1)@10.0.0.2:5051".parse().unwrap());
            let now = Time::from_epoch(Duration::from_secs(1000));
            core.recover(None, &HashSet::new(), now);
            let (_, epoch) = registration_timer(&core.drain_outputs());
            core.on_timer(Timer::Registration { epoch }, now);
            let outputs = core.drain_outputs();
            let [Outgoing::Authenticate(hello)] = &sent(&outputs)[..] else {
                panic!("{outputs:?}")
            };
            assert_eq!(hello.pid, "slave(1)@10.0.0.2:5051");
            assert!(registration_timer(&outputs).0 >= AUTHENTICATION_TIMEOUT);

            let credentials = Credentials::parse("agent a6ent\n").unwrap();
            let (mut server, mechanisms) = Authenticator::new(cram_md5::challenge(1, 2, "m"));
            core.on_authentication(&master(), AuthenticatorMessage::Mechanisms(mechanisms));
            let [Outgoing::AuthenticationStart(start)] = &sent(&core.drain_outputs())[..] else {
                panic!("start expected")
            };
            let ToAuthenticatee::Step(challenge) = server.on_start(start) else { panic!() };
            core.on_authentication(&master(), AuthenticatorMessage::Step(challenge));
            let [Outgoing::AuthenticationStep(answer)] = &sent(&core.drain_outputs())[..] else {
                panic!("answer expected")
            };
            let verdict = match server.on_step(answer, &credentials) {
                ToAuthenticatee::Completed(_) => AuthenticatorMessage::Completed,
                ToAuthenticatee::Failed(_) => AuthenticatorMessage::Failed,
                other => panic!("{other:?}"),
            };
            core.on_authentication(&master(), verdict);
            let after = sent(&core.drain_outputs());
            assert_eq!(
                matches!(&after[..], [Outgoing::RegisterSlave(_)]),
                accepted,
                "secret {secret}: {after:?}"
            );
        }
    }
}
