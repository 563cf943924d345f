//! The driver's CRAM-MD5 authentication before it subscribes (with a credential).
//!
//! Mesos: sched.cpp `SchedulerProcess::authenticate` / `_authenticate`. Before each
//! SUBSCRIBE to a master it has not authenticated with on the current connection, the
//! driver runs the exchange of [`mesos_security::cram_md5`] with it; SUBSCRIBE follows
//! at once on success. A refusal (unknown principal, wrong secret) aborts the driver
//! with "Master refused authentication", as in Mesos; an error or no answer within
//! [`AUTHENTICATION_TIMEOUT`] starts it again (the subscription retry timer does).

use std::time::Duration;

use libprocess::Pid;
use mesos_proto::mesos::internal;
pub use mesos_security::cram_md5::AuthenticatorMessage;
use mesos_security::cram_md5::{Authenticatee, AuthenticateeReply, Outcome};

use super::{Connection, Event, Output, SchedulerCore};

/// How long the driver waits for one authentication before starting over (Mesos:
/// the driver's `--authentication_timeout_min`, 5 seconds).
pub const AUTHENTICATION_TIMEOUT: Duration = Duration::from_secs(5);

libprocess::protocol! {
    /// What the driver's authenticatee sends the master.
    #[derive(Debug, Clone, PartialEq)]
    pub enum AuthenticateeMessage {
        /// Opens the exchange for the driver's pid.
        Authenticate(internal::AuthenticateMessage),
        /// The chosen mechanism.
        Start(internal::AuthenticationStartMessage),
        /// The answer to the challenge.
        Step(internal::AuthenticationStepMessage),
    }
}

/// One authentication in progress.
#[derive(Debug)]
pub(super) struct Authenticating {
    /// The master being authenticated with.
    master: Pid,
    exchange: Authenticatee,
}

impl SchedulerCore {
    /// True when SUBSCRIBE to `to` must wait for an authentication, which this starts
    /// (`self_pid` is the driver's own pid, the one the master will know it by).
    pub(super) fn authenticate_first(&mut self, to: &Pid) -> bool {
        let Some(credential) = self.credential.clone() else { return false };
        if self.authenticated_with.as_ref() == Some(to) {
            return false;
        }
        let Some(me) = self.self_pid.clone() else { return false };
        tracing::info!(master = %to, principal = %credential.principal, "authenticating with the master");
        let (exchange, hello) = Authenticatee::new(credential, &me.to_string());
        self.authenticating = Some(Authenticating { master: to.clone(), exchange });
        self.outbox.push(Output::Link(to.clone()));
        self.outbox.push(Output::Authentication {
            to: to.clone(),
            message: AuthenticateeMessage::Authenticate(hello),
        });
        self.retry_epoch += 1;
        self.outbox
            .push(Output::RetryTimer { after: AUTHENTICATION_TIMEOUT, epoch: self.retry_epoch });
        true
    }

    /// A message from the master's authenticator (`from`, which may be a session
    /// process of a Mesos master rather than the master itself).
    pub fn on_authentication(&mut self, from: &Pid, message: AuthenticatorMessage) {
        if !self.running() || self.connection != Connection::Subscribing {
            return;
        }
        let Some(authenticating) = self.authenticating.as_mut() else {
            tracing::debug!(%from, "ignoring an authentication message: not authenticating");
            return;
        };
        let reply = authenticating.exchange.on_message(message).map(|reply| match reply {
            AuthenticateeReply::Start(m) => AuthenticateeMessage::Start(m),
            AuthenticateeReply::Step(m) => AuthenticateeMessage::Step(m),
        });
        if let Some(message) = reply {
            self.outbox.push(Output::Authentication { to: from.clone(), message });
        }
        let outcome = authenticating.exchange.outcome().clone();
        let master = authenticating.master.clone();
        match outcome {
            Outcome::Pending => {}
            Outcome::Authenticated(principal) => {
                tracing::info!(%master, %principal, "authenticated with the master");
                self.authenticating = None;
                self.authenticated_with = Some(master);
                self.send_subscribe();
            }
            Outcome::Refused => {
                tracing::error!(%master, "master refused authentication");
                self.authenticating = None;
                let message = "Master refused authentication".to_string();
                self.abort_with(message.clone());
                self.events.push_back(Event::Error(message));
            }
            Outcome::Error(error) => {
                // The retry timer starts a new authentication.
                tracing::warn!(%master, %error, "authentication failed; retrying");
                self.authenticating = None;
            }
        }
    }
}
