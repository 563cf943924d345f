//! How an emulated client finds the leading master, the way our real agents do: after a
//! broken link it tries each master of its list in turn, first after at most [`RETRY`]
//! and then backing off (up to 2 s, each wait drawn at random), until one names
//! the leader (`NewMasterDetectedMessage`: a follower answers so once it knows the
//! leader, and a new leader tells the agents of its registry); from then on it re-sends
//! to that leader only after 1 s, 2 s, 4 s, ... up to 8 s (Mesos agents back off from
//! 1 s as well; Mesos: slave.cpp `Slave::doReliableRegistration`).

use std::time::Duration;

use libprocess::Pid;

/// How soon a detached client first tries the next master of its list; each later try
/// waits up to twice as long, up to [`MAX_ROTATION`], a random time in the upper half of
/// that period (as our real agents back off between masters: `slave/src/core/registration.rs`).
pub const RETRY: Duration = Duration::from_millis(250);
/// The longest wait between two masters of the list while no master names the leader.
/// Before this bound existed, every client tried the next master every 250 ms, all in
/// step: at 40,000 agents the surviving masters decoded 40,000 re-registrations every
/// 250 ms, most of them only to drop them or to answer an agent already answered.
const MAX_ROTATION: Duration = Duration::from_secs(2);
/// The first re-send to a named leader that has not answered; doubles up to [`MAX_BACKOFF`].
const BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Which master a client talks to, and how it finds another.
#[derive(Debug, Clone)]
pub struct Detector {
    masters: Vec<Pid>,
    /// The master the client talks to.
    pub current: Pid,
    /// True between losing the master and being (re-)registered.
    pub detached: bool,
    /// While detached: a master named `current` as the leader; wait for it with backoff.
    named: bool,
    /// The master lost last (a follower may still name it until it learns of a new one).
    lost: Option<Pid>,
    backoff: Duration,
    /// While rotating: the longest wait before the next master (doubles up to
    /// [`MAX_ROTATION`]).
    rotation: Duration,
    /// A xorshift state for the random part of the rotation waits, seeded by the order in
    /// which detectors are made (the benchmarks make them in agent order, so runs replay).
    rng: u64,
    next: usize,
}

/// Seeds the detectors in the order they are made.
static SEEDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Detector {
    /// Talks to `leader`, one of `masters` (which must hold at least `leader`).
    pub fn new(masters: Vec<Pid>, leader: Pid) -> Detector {
        let masters = if masters.is_empty() { vec![leader.clone()] } else { masters };
        Detector {
            masters,
            current: leader,
            detached: false,
            named: false,
            lost: None,
            backoff: BACKOFF,
            rotation: RETRY,
            rng: SEEDS
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                | 1,
            next: 0,
        }
    }

    /// How long to wait after losing the master before trying the next one: at most
    /// [`RETRY`], not all clients at once.
    pub fn first_rotation(&mut self) -> Duration {
        self.jitter(RETRY)
    }

    /// A random wait in `[period / 2, period]`.
    fn jitter(&mut self, period: Duration) -> Duration {
        // xorshift64: never zero, as the seed is odd.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let fraction = (self.rng >> 11) as f64 / (1u64 << 53) as f64;
        period.mul_f64(0.5 + fraction / 2.0)
    }

    /// About to register for the first time: wait for `current` with backoff, as for a
    /// named leader.
    pub fn starting(&mut self) {
        self.detached = true;
        self.named = true;
    }

    /// The current master is lost: go to the next one.
    pub fn lost(&mut self) {
        self.detached = true;
        self.named = false;
        self.lost = Some(self.current.clone());
        self.rotation = RETRY;
        self.next = (self.next + 1) % self.masters.len();
        self.current = self.masters[self.next].clone();
    }

    /// A master names `leader`: true if the client should (re-)register with it now
    /// (not when it is already waiting for that leader's answer, nor when it is the
    /// master just lost). An attached client told of another leader detaches and waits
    /// for that leader with backoff, so a (re-)registration the new leader drops (it
    /// may still be recovering) is sent again (Mesos: slave.cpp `Slave::detected`
    /// disconnects and starts `doReliableRegistration`). Before, it sent one and, if
    /// that one was lost, stayed with no master: at 10,000 agents, 7,972 did.
    pub fn named(&mut self, leader: Pid) -> bool {
        self.announced(None, leader)
    }

    /// `from` (a master; `None`: the caller) names `leader`: as [`Detector::named`],
    /// except that a master announcing itself while the client is attached to it starts
    /// a new term of its own (it lost its leadership, forgetting its clients, and won it
    /// back): the client re-registers with it (our real agents do the same:
    /// `slave/src/core/registration.rs`).
    pub fn announced(&mut self, from: Option<&Pid>, leader: Pid) -> bool {
        if (self.named && leader == self.current) || self.lost.as_ref() == Some(&leader) {
            return false;
        }
        if !self.detached && leader == self.current && from != Some(&leader) {
            return false; // Already (re-)registered with it, in its current term.
        }
        self.current = leader;
        self.detached = true;
        self.named = true;
        self.backoff = BACKOFF;
        true
    }

    /// The retry timer fired while detached: when to fire next, after the client tried
    /// `current` again (a named leader) or moved to the next master.
    pub fn retry(&mut self) -> Duration {
        if self.named {
            let wait = self.backoff;
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            wait
        } else {
            self.next = (self.next + 1) % self.masters.len();
            self.current = self.masters[self.next].clone();
            let period = self.rotation;
            self.rotation = (self.rotation * 2).min(MAX_ROTATION);
            self.jitter(period)
        }
    }

    /// (Re-)registered by `from`.
    pub fn attached(&mut self, from: Pid) {
        self.detached = false;
        self.named = false;
        self.lost = None;
        self.current = from;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(port: u16) -> Pid {
        format!("master@127.0.0.1:{port}").parse().unwrap()
    }

    /// A lost client walks the list (first after at most RETRY), then backs off once a
    /// leader is named,
    /// and ignores the master it just lost.
    #[test]
    fn walks_the_list_then_backs_off_on_the_named_leader() {
        let mut d = Detector::new(vec![pid(1), pid(2), pid(3)], pid(1));
        d.lost();
        assert_eq!(d.current, pid(2));
        let wait = d.retry();
        assert!(wait >= RETRY / 2 && wait <= RETRY, "{wait:?}");
        assert_eq!(d.current, pid(3));
        assert!(!d.named(pid(1)), "the lost master is not taken back");
        assert!(d.named(pid(2)));
        assert!(!d.named(pid(2)), "already waiting for it");
        assert_eq!(d.retry(), Duration::from_secs(1));
        assert_eq!(d.retry(), Duration::from_secs(2));
        d.attached(pid(2));
        assert!(!d.detached);
    }

    /// A client attached to a master that announces itself re-registers with it (a new
    /// term that forgot it); told so by another master, or by the caller, it stays.
    #[test]
    fn its_own_master_announcing_itself_is_a_new_term() {
        let mut d = Detector::new(vec![pid(1), pid(2), pid(3)], pid(1));
        d.attached(pid(1));
        assert!(!d.announced(Some(&pid(2)), pid(1)), "a follower naming our master");
        assert!(!d.announced(None, pid(1)), "the caller naming our master");
        assert!(!d.detached);
        assert!(d.announced(Some(&pid(1)), pid(1)), "our master announcing itself");
        assert!(d.detached);
        assert_eq!(d.current, pid(1));
        assert!(!d.announced(Some(&pid(1)), pid(1)), "already waiting for its answer");
        assert_eq!(d.retry(), Duration::from_secs(1), "backs off on it while unanswered");
    }

    /// An attached client told of a new leader detaches and backs off on it (the
    /// caller then keeps re-sending until that leader answers); told of the master it
    /// is attached to, it stays.
    #[test]
    fn a_new_leader_named_while_attached_is_waited_for_with_backoff() {
        let mut d = Detector::new(vec![pid(1), pid(2), pid(3)], pid(1));
        d.attached(pid(1));
        assert!(!d.named(pid(1)), "already with it");
        assert!(!d.detached);
        assert!(d.named(pid(3)));
        assert!(d.detached);
        assert_eq!(d.current, pid(3));
        assert_eq!(d.retry(), Duration::from_secs(1));
        assert_eq!(d.current, pid(3), "a named leader is tried again, not the next master");
    }
}
