//! Finding the leading master: the `--master` list and the choice of whom to subscribe to.
//!
//! Mesos finds the leader through ZooKeeper (`MasterDetector`). We have no ZooKeeper: a
//! driver is given one master or the whole HA group and tries them in turn until one
//! accepts its SUBSCRIBE. Every decision about *which* master to talk to lives in
//! [`MasterDetector`], so that leader redirection (a follower naming the leader) changes
//! this file only:
//!
//! 1. Start with the first master of the list.
//! 2. The candidate's connection breaks (nothing listens there), or it does not answer
//!    [`ATTEMPTS_PER_MASTER`] SUBSCRIBEs in a row: move on to the next one (round robin).
//! 3. A master names the leader (`NewMasterDetectedMessage`, what our followers answer a
//!    SUBSCRIBE with, and what a newly elected leader announces), or refuses with
//!    "not the leader" ([`NOT_LEADER_PREFIX`]): go to the leader it names, else move on.
//! 4. Any other refusal is the framework's problem and reaches `Scheduler::error`.

use libprocess::Pid;

use crate::error::FrameworkError;

/// SUBSCRIBE attempts sent to one master without an answer before trying the next one
/// (only when there is a next one). A follower that drops SUBSCRIBE costs this many
/// backoff periods.
pub const ATTEMPTS_PER_MASTER: u32 = 2;

/// How a master that is not the leader refuses a SUBSCRIBE: a `FrameworkErrorMessage`
/// whose message starts with this, optionally followed by `; leader: <pid>`.
pub const NOT_LEADER_PREFIX: &str = "Not the leading master";

// The `--master` list is parsed by `mesos_proto`, the one parser every program shares.
pub use mesos_proto::masters::{MastersError, parse_masters};

/// What a refusal of SUBSCRIBE means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The master is not the leader; try `leader` if known, else the next master.
    NotLeader {
        /// The leader the follower named.
        leader: Option<Pid>,
    },
    /// A real error for the framework (invalid FrameworkInfo, removed framework, ...).
    Fatal,
}

/// Chooses the master to subscribe to.
#[derive(Clone, Debug)]
pub struct MasterDetector {
    masters: Vec<Pid>,
    /// Index of the current candidate in `masters`, unless `redirect` overrides it.
    next: usize,
    /// A leader named by a follower, tried before the list.
    redirect: Option<Pid>,
    /// SUBSCRIBEs sent to the current candidate without an answer.
    unanswered: u32,
}

impl MasterDetector {
    /// A detector over `masters` (at least one).
    pub fn new(masters: Vec<Pid>) -> Result<MasterDetector, FrameworkError> {
        if masters.is_empty() {
            return Err(FrameworkError::NoMasters);
        }
        Ok(MasterDetector { masters, next: 0, redirect: None, unanswered: 0 })
    }

    /// Every configured master.
    pub fn masters(&self) -> &[Pid] {
        &self.masters
    }

    /// The master to send the next SUBSCRIBE to.
    pub fn candidate(&self) -> &Pid {
        self.redirect.as_ref().unwrap_or(&self.masters[self.next])
    }

    /// A SUBSCRIBE was sent to the candidate; after [`ATTEMPTS_PER_MASTER`] unanswered
    /// ones, the next master becomes the candidate.
    pub fn on_attempt(&mut self) {
        self.unanswered += 1;
        if self.unanswered > ATTEMPTS_PER_MASTER {
            self.advance();
        }
    }

    /// The candidate (or the master we were connected to) cannot be reached.
    pub fn on_unreachable(&mut self, pid: &Pid) {
        if pid == self.candidate() {
            self.advance();
        }
    }

    /// A master answered: it is the leader; stay with it.
    pub fn on_subscribed(&mut self, master: &Pid) {
        self.unanswered = 0;
        if let Some(index) = self.masters.iter().position(|m| m == master) {
            self.next = index;
            self.redirect = None;
        } else {
            self.redirect = Some(master.clone());
        }
    }

    /// `from` refused our SUBSCRIBE with `message`: decide what that means.
    pub fn on_refused(&mut self, from: &Pid, message: &str) -> Refusal {
        let Some(rest) = message.strip_prefix(NOT_LEADER_PREFIX) else {
            return Refusal::Fatal;
        };
        let leader = rest.split_once("leader:").and_then(|(_, pid)| pid.trim().parse::<Pid>().ok());
        if from == self.candidate() {
            self.advance();
        }
        if let Some(leader) = &leader {
            self.redirect = Some(leader.clone());
            self.unanswered = 0;
        }
        Refusal::NotLeader { leader }
    }

    /// A master said `leader` leads (`NewMasterDetectedMessage`): try it next. Returns
    /// false if it already is the candidate.
    pub fn on_leader_hint(&mut self, leader: &Pid) -> bool {
        if leader == self.candidate() {
            return false;
        }
        self.unanswered = 0;
        if let Some(index) = self.masters.iter().position(|m| m == leader) {
            self.next = index;
            self.redirect = None;
        } else {
            self.redirect = Some(leader.clone());
        }
        true
    }

    /// Whether `pid` is one of the configured masters.
    pub fn is_known(&self, pid: &Pid) -> bool {
        self.masters.contains(pid) || self.redirect.as_ref() == Some(pid)
    }

    /// Whether `pid` is the master the driver currently listens to.
    pub fn is_candidate(&self, pid: &Pid) -> bool {
        pid == self.candidate()
    }

    fn advance(&mut self) {
        self.unanswered = 0;
        if self.redirect.take().is_none() {
            self.next = (self.next + 1) % self.masters.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pids(text: &str) -> Vec<Pid> {
        parse_masters(text).unwrap()
    }

    /// Unreachable masters and silent ones are skipped in order, round robin.
    #[test]
    fn round_robin_over_unreachable_and_silent_masters() {
        let mut detector = MasterDetector::new(pids("10.0.0.1:5050,10.0.0.2:5050")).unwrap();
        let first = detector.candidate().clone();
        detector.on_unreachable(&pids("10.0.0.9:5050")[0]);
        assert_eq!(detector.candidate(), &first, "an unrelated pid changes nothing");
        detector.on_unreachable(&first);
        assert_eq!(detector.candidate().to_string(), "master@10.0.0.2:5050");
        for _ in 0..ATTEMPTS_PER_MASTER {
            detector.on_attempt();
        }
        assert_eq!(detector.candidate().to_string(), "master@10.0.0.2:5050");
        detector.on_attempt();
        assert_eq!(detector.candidate(), &first, "wrapped around after silence");
    }

    /// A follower's refusal moves on (to the leader it names); other errors are fatal.
    #[test]
    fn followers_redirect_other_errors_are_fatal() {
        let masters = pids("10.0.0.1:5050,10.0.0.2:5050,10.0.0.3:5050");
        let mut detector = MasterDetector::new(masters.clone()).unwrap();
        let refusal = detector
            .on_refused(&masters[0], "Not the leading master; leader: master@10.0.0.3:5050");
        assert_eq!(refusal, Refusal::NotLeader { leader: Some(masters[2].clone()) });
        assert_eq!(detector.candidate(), &masters[2]);
        detector.on_subscribed(&masters[2]);
        assert_eq!(detector.candidate(), &masters[2]);
        assert_eq!(detector.on_refused(&masters[2], "Framework has been removed"), Refusal::Fatal);
        let refusal = detector.on_refused(&masters[2], NOT_LEADER_PREFIX);
        assert_eq!(refusal, Refusal::NotLeader { leader: None });
        assert_eq!(detector.candidate(), &masters[0]);
    }
}
