//! The agent's lifecycle and its registration with the master (a pure core).
//!
//! Mesos: src/slave/slave.cpp `Slave::detected`, `doReliableRegistration`,
//! `registered`, `reregistered`, `ping`, `pingTimeout`.
//!
//! ```text
//!            recovered                 SlaveRegistered / SlaveReregistered
//! Recovering ----------> Disconnected --------------------------------------> Running
//!                           ^                                                   |
//!                           +---- ping timeout / master link broken ------------+
//!  any state --ShutdownMessage / shutdown--> Terminating
//! ```
//!
//! While disconnected, the agent sends a registration (or re-registration, once it
//! has an id) to a master, then again after a random delay in `[0, backoff]`, with
//! `backoff` starting at `--registration_backoff_factor` (1 s) and doubling up to
//! 1 min. With several masters configured, attempts go round the list; whichever
//! master accepts becomes *the* master, and pings are only accepted from it.

use std::time::Duration;

use libprocess::Pid;
use rand::Rng;

/// Longest delay between registration attempts (Mesos: `REGISTER_RETRY_INTERVAL_MAX`).
pub const REGISTER_RETRY_INTERVAL_MAX: Duration = Duration::from_secs(60);
/// How long without a ping before the master is considered lost, until the master
/// says otherwise in `MasterSlaveConnection` (Mesos: `DEFAULT_MASTER_PING_TIMEOUT`,
/// 15 s x 5).
pub const DEFAULT_MASTER_PING_TIMEOUT: Duration = Duration::from_secs(75);

/// Longest ping timeout accepted from a master; larger values are ignored (the default
/// stays). Mesos's is 75 s; a day leaves room for any real setting while keeping the
/// timer's deadline far from overflowing.
pub const MAX_MASTER_PING_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The ping timeout a master announced (`MasterSlaveConnection.total_ping_timeout_seconds`,
/// a double from the network), if it is usable: finite, positive, at most
/// [`MAX_MASTER_PING_TIMEOUT`]. Never panics, whatever the value.
pub fn announced_ping_timeout(seconds: Option<f64>) -> Option<Duration> {
    let seconds = seconds.filter(|s| s.is_finite() && *s > 0.0)?;
    Duration::try_from_secs_f64(seconds).ok().filter(|t| *t <= MAX_MASTER_PING_TIMEOUT)
}

/// Where the agent is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    /// Reading checkpoints and reconnecting to executors; no master traffic yet.
    Recovering,
    /// No master accepted us yet (or we lost it): registering with backoff.
    Disconnected,
    /// Registered with a master: tasks run, updates flow.
    Running,
    /// Shutting down: executors are being killed; nothing new is accepted.
    Terminating,
}

impl AgentState {
    /// Mesos's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            AgentState::Recovering => "RECOVERING",
            AgentState::Disconnected => "DISCONNECTED",
            AgentState::Running => "RUNNING",
            AgentState::Terminating => "TERMINATING",
        }
    }
}

/// The next registration attempt: send to `master`, then try again after `retry_after`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The master to send the (re-)registration to.
    pub master: Pid,
    /// Delay before the next attempt (if still not registered).
    pub retry_after: Duration,
}

/// Registration state: the lifecycle, the masters, the backoff.
#[derive(Debug)]
pub struct Registration {
    state: AgentState,
    masters: Vec<Pid>,
    next_master: usize,
    master: Option<Pid>,
    backoff: Duration,
    backoff_factor: Duration,
    ping_timeout: Duration,
    /// Bumped on every state change, so stale timers can tell they are stale.
    epoch: u64,
}

impl Registration {
    /// A new agent, recovering, that will register with one of `masters`.
    pub fn new(masters: Vec<Pid>, backoff_factor: Duration) -> Registration {
        Registration {
            state: AgentState::Recovering,
            masters,
            next_master: 0,
            master: None,
            backoff: backoff_factor,
            backoff_factor,
            ping_timeout: DEFAULT_MASTER_PING_TIMEOUT,
            epoch: 0,
        }
    }

    /// The current state.
    pub fn state(&self) -> AgentState {
        self.state
    }

    /// The master that accepted us (while running), or the last one.
    pub fn master(&self) -> Option<&Pid> {
        self.master.as_ref()
    }

    /// Every configured master.
    pub fn masters(&self) -> &[Pid] {
        &self.masters
    }

    /// The ping timeout in force.
    pub fn ping_timeout(&self) -> Duration {
        self.ping_timeout
    }

    /// Changes with every state change; a timer armed in one epoch ignores later ones.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    fn set_state(&mut self, state: AgentState) {
        tracing::info!(from = self.state.name(), to = state.name(), "agent state change");
        self.state = state;
        self.epoch += 1;
    }

    /// Recovery is done (or the master was lost): start registering. Returns the
    /// delay before the first attempt, random in `[0, backoff_factor]`.
    // Mesos: Slave::detected.
    pub fn become_disconnected(&mut self, rng: &mut impl Rng) -> Duration {
        self.set_state(AgentState::Disconnected);
        self.backoff = self.backoff_factor;
        random_upto(rng, self.backoff)
    }

    /// A master accepted us.
    pub fn become_running(&mut self, master: Pid, ping_timeout: Option<Duration>) {
        self.set_state(AgentState::Running);
        self.master = Some(master);
        if let Some(timeout) = ping_timeout.filter(|t| !t.is_zero()) {
            self.ping_timeout = timeout;
        }
    }

    /// The agent is shutting down.
    pub fn become_terminating(&mut self) {
        self.set_state(AgentState::Terminating);
    }

    /// The next registration attempt, or `None` unless disconnected (or no masters).
    // Mesos: Slave::doReliableRegistration.
    pub fn next_attempt(&mut self, rng: &mut impl Rng) -> Option<Attempt> {
        if self.state != AgentState::Disconnected || self.masters.is_empty() {
            return None;
        }
        // In bounds: `masters` is not empty (checked just above).
        let master = self.masters[self.next_master % self.masters.len()].clone();
        self.next_master = (self.next_master + 1) % self.masters.len();
        self.backoff = (self.backoff * 2).min(REGISTER_RETRY_INTERVAL_MAX);
        Some(Attempt { master, retry_after: random_upto(rng, self.backoff) })
    }

    /// A configured master says `leader` leads the HA group (a follower answering our
    /// registration, or a new leader announcing itself). The next attempt goes to it.
    /// Returns true if the agent must register now: it is registering, or it is
    /// registered with another (deposed) master, or the master it is registered with
    /// announces itself (`from_leader`): a master announces itself only as it starts a
    /// new term, after losing its leadership and winning it back, when it has forgotten
    /// every agent of its earlier term (Mesos's master exits when it loses leadership,
    /// so there its agents see the connection break and re-register). A leader outside
    /// the configured masters is ignored.
    pub fn on_leader_detected(&mut self, leader: &Pid, from_leader: bool) -> bool {
        let Some(index) = self.masters.iter().position(|m| m == leader) else { return false };
        self.next_master = index;
        match self.state {
            AgentState::Disconnected => true,
            AgentState::Running => from_leader || self.master.as_ref() != Some(leader),
            AgentState::Recovering | AgentState::Terminating => false,
        }
    }

    /// True if `from` may act as our master: the accepted one when registered, or
    /// any configured master while registering.
    pub fn is_master(&self, from: &Pid) -> bool {
        match (&self.master, self.state) {
            (Some(master), AgentState::Running) => master == from,
            _ => self.masters.contains(from) || self.master.as_ref() == Some(from),
        }
    }
}

fn random_upto(rng: &mut impl Rng, max: Duration) -> Duration {
    let nanos = max.as_nanos().min(u128::from(u64::MAX)) as u64;
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(rng.random_range(0..=nanos))
}

#[cfg(test)]
mod leader_tests {
    use super::*;
    use rand::SeedableRng;

    fn pid(s: &str) -> Pid {
        s.parse().unwrap()
    }

    /// A master's ping timeout is a double from the network: huge, negative, NaN or
    /// infinite values are ignored instead of panicking; sane ones are taken.
    #[test]
    fn announced_ping_timeout_never_panics() {
        assert_eq!(announced_ping_timeout(Some(75.0)), Some(Duration::from_secs(75)));
        assert_eq!(announced_ping_timeout(Some(0.5)), Some(Duration::from_millis(500)));
        for bad in [1e300, f64::MAX, 1e20, 86_401.0, -1.0, 0.0, f64::NAN, f64::INFINITY] {
            assert_eq!(announced_ping_timeout(Some(bad)), None, "{bad}");
        }
        assert_eq!(announced_ping_timeout(None), None);
    }

    /// A detected leader gets the next attempt; a registered agent re-registers if the
    /// leader is another master, or its own master announcing a new term; unknown
    /// leaders are ignored.
    #[test]
    fn leader_detection() {
        let masters = vec![
            pid("master@10.0.0.1:5050"),
            pid("master@10.0.0.2:5050"),
            pid("master@10.0.0.3:5050"),
        ];
        let mut reg = Registration::new(masters.clone(), Duration::from_millis(10));
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        reg.become_disconnected(&mut rng);
        assert!(reg.on_leader_detected(&masters[2], false));
        assert_eq!(reg.next_attempt(&mut rng).unwrap().master, masters[2]);
        reg.become_running(masters[2].clone(), None);
        assert!(
            !reg.on_leader_detected(&masters[2], false),
            "already registered with the leader (a follower says so)"
        );
        assert!(
            reg.on_leader_detected(&masters[2], true),
            "our master announces itself: a new term that forgot us, re-register"
        );
        assert!(reg.on_leader_detected(&masters[0], false), "a new leader: re-register");
        assert!(!reg.on_leader_detected(&pid("master@10.9.9.9:5050"), true), "not one of ours");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn pid(s: &str) -> Pid {
        s.parse().unwrap()
    }

    /// Registration goes Recovering -> Disconnected -> Running, attempts go round the
    /// masters, and the backoff doubles up to one minute (delays stay within it).
    #[test]
    fn registration_backoff_and_master_rotation() {
        let masters = vec![pid("master@10.0.0.1:5050"), pid("master@10.0.0.2:5050")];
        let mut reg = Registration::new(masters.clone(), Duration::from_secs(1));
        let mut rng = StdRng::seed_from_u64(7);
        assert_eq!(reg.state(), AgentState::Recovering);
        assert!(reg.next_attempt(&mut rng).is_none(), "no registration while recovering");
        let first = reg.become_disconnected(&mut rng);
        assert!(first <= Duration::from_secs(1));
        let mut bounds = Vec::new();
        for i in 0..10 {
            let attempt = reg.next_attempt(&mut rng).unwrap();
            assert_eq!(attempt.master, masters[i % 2]);
            assert!(attempt.retry_after <= reg.backoff);
            bounds.push(reg.backoff);
        }
        assert_eq!(bounds[0], Duration::from_secs(2));
        assert_eq!(bounds[4], Duration::from_secs(32));
        assert_eq!(bounds[9], REGISTER_RETRY_INTERVAL_MAX);

        let epoch = reg.epoch();
        reg.become_running(masters[1].clone(), Some(Duration::from_secs(30)));
        assert_ne!(reg.epoch(), epoch);
        assert_eq!(reg.ping_timeout(), Duration::from_secs(30));
        assert!(reg.next_attempt(&mut rng).is_none(), "no registration while running");
        assert!(reg.is_master(&masters[1]));
        assert!(!reg.is_master(&masters[0]), "only the accepting master counts once running");

        // Losing the master starts over with a fresh backoff.
        reg.become_disconnected(&mut rng);
        assert_eq!(reg.backoff, Duration::from_secs(1));
        assert!(reg.is_master(&masters[0]));
    }
}
