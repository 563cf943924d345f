//! The libprocess clock: time that tests can pause, advance and settle.
//!
//! Mesos: 3rdparty/libprocess/include/process/clock.hpp. No protocol code in this project
//! reads the wall clock or sleeps: it asks a [`Clock`] for `now()` and schedules timers on
//! it. Running for real, timers fire at their deadline; in a test the clock is paused,
//! `advance` moves time forward and fires every timer that came due, and `settle` waits
//! until every process has handled every message that is already queued.
//!
//! One `Clock` is shared by every node of a simulated cluster, so a whole cluster lives on
//! one virtual timeline. Separate clocks are independent, so tests can run in parallel.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Add, Sub};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Condvar, Mutex};
use tokio::sync::Notify;

/// A point in time: the duration since the UNIX epoch (libprocess `Time`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(Duration);

impl Time {
    /// The time `since_epoch` after 1970-01-01T00:00:00Z.
    pub fn from_epoch(since_epoch: Duration) -> Time {
        Time(since_epoch)
    }

    /// Time since the UNIX epoch.
    pub fn since_epoch(self) -> Duration {
        self.0
    }

    /// Seconds since the epoch as a float, as Mesos puts in `TaskStatus.timestamp`.
    pub fn secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d))
    }
}

impl Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, d: Duration) -> Time {
        Time(self.0.saturating_sub(d))
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Time({:.6}s)", self.0.as_secs_f64())
    }
}

/// Identifies a scheduled timer so it can be cancelled: its deadline and its number, the
/// key of its entry, so a cancel finds it without scanning every timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(Time, u64);

type TimerCallback = Box<dyn FnOnce() + Send>;

struct State {
    /// `Some(t)`: paused at virtual time `t`.
    paused_at: Option<Time>,
    /// Added to real time when running (keeps time monotonic across pause/resume).
    offset: Duration,
    timers: BTreeMap<(Time, u64), TimerCallback>,
    next_timer: u64,
    thread_started: bool,
}

struct Inner {
    state: Mutex<State>,
    wake: Condvar,
    paused: AtomicBool,
    base_instant: Instant,
    base_time: Time,
    /// Events queued to processes while paused and not yet handled (for `settle`).
    pending: AtomicUsize,
    idle: Notify,
}

/// A handle to a libprocess clock. Cloning shares the clock.
#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock(now={:?}, paused={})", self.now(), self.is_paused())
    }
}

impl Clock {
    /// A running clock that reads real time.
    pub fn new() -> Clock {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Clock {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    paused_at: None,
                    offset: Duration::ZERO,
                    timers: BTreeMap::new(),
                    next_timer: 0,
                    thread_started: false,
                }),
                wake: Condvar::new(),
                paused: AtomicBool::new(false),
                base_instant: Instant::now(),
                base_time: Time(since_epoch),
                pending: AtomicUsize::new(0),
                idle: Notify::new(),
            }),
        }
    }

    /// A clock that starts paused (the usual choice in tests).
    pub fn paused() -> Clock {
        let clock = Clock::new();
        clock.pause();
        clock
    }

    fn real_now(&self, state: &State) -> Time {
        self.inner.base_time + self.inner.base_instant.elapsed() + state.offset
    }

    /// The current time.
    pub fn now(&self) -> Time {
        let state = self.inner.state.lock();
        state.paused_at.unwrap_or_else(|| self.real_now(&state))
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.inner.paused.load(Ordering::Relaxed)
    }

    /// Stops time. Timers do not fire until [`Clock::advance`] or [`Clock::resume`].
    pub fn pause(&self) {
        let mut state = self.inner.state.lock();
        if state.paused_at.is_none() {
            state.paused_at = Some(self.real_now(&state));
            self.inner.paused.store(true, Ordering::Relaxed);
        }
    }

    /// Lets time run again, continuing from the paused time (never going back).
    pub fn resume(&self) {
        let mut state = self.inner.state.lock();
        if let Some(at) = state.paused_at.take() {
            let real = self.real_now(&state);
            state.offset += at.saturating_since(real);
            self.inner.paused.store(false, Ordering::Relaxed);
            self.inner.wake.notify_all();
        }
    }

    /// Moves a paused clock forward by `by` and fires, in deadline order, every timer
    /// that is due. Does nothing to a running clock.
    pub fn advance(&self, by: Duration) {
        let due = {
            let mut state = self.inner.state.lock();
            let Some(at) = state.paused_at else { return };
            let now = at + by;
            state.paused_at = Some(now);
            take_due(&mut state.timers, now)
        };
        for callback in due {
            callback();
        }
    }

    /// Schedules `callback` to run `after` from now, on the clock's timer thread (or
    /// inside [`Clock::advance`] when paused). Callbacks must be quick: they normally
    /// just enqueue an event to a process.
    pub fn schedule(&self, after: Duration, callback: impl FnOnce() + Send + 'static) -> TimerId {
        let mut state = self.inner.state.lock();
        let now = state.paused_at.unwrap_or_else(|| self.real_now(&state));
        let id = state.next_timer;
        state.next_timer += 1;
        let deadline = now + after;
        // The timer thread sleeps until the earliest deadline (at most 100 ms): only a
        // timer due before that needs to wake it. Waking it for every timer cost a
        // context switch per `delay` (at 40,000 emulated agents with their retry timers,
        // and a master's ping timer per agent, a second of the clock thread's CPU in a
        // failover).
        let earliest =
            state.timers.first_key_value().is_none_or(|(&(first, _), _)| deadline < first);
        state.timers.insert((deadline, id), Box::new(callback));
        if !state.thread_started && state.paused_at.is_none() {
            state.thread_started = true;
            spawn_timer_thread(Arc::downgrade(&self.inner));
        }
        if earliest {
            self.inner.wake.notify_all();
        }
        TimerId(deadline, id)
    }

    /// Cancels a timer; returns false if it already fired or was cancelled.
    pub fn cancel(&self, timer: TimerId) -> bool {
        let TimerId(deadline, id) = timer;
        self.inner.state.lock().timers.remove(&(deadline, id)).is_some()
    }

    /// The number of timers not yet fired.
    pub fn pending_timers(&self) -> usize {
        self.inner.state.lock().timers.len()
    }

    /// Waits until every event queued to a process while the clock was paused has been
    /// handled, including the events those handlers queued in turn (libprocess
    /// `Clock::settle`). Only meaningful while paused.
    pub async fn settle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            if self.inner.pending.load(Ordering::SeqCst) == 0 {
                // Let anything woken by the last handler (futures spawned by processes)
                // take its turn before declaring the system idle.
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
                if self.inner.pending.load(Ordering::SeqCst) == 0 {
                    return;
                }
                continue;
            }
            notified.await;
        }
    }

    /// Marks one event as queued (only while paused): the returned guard marks it done
    /// when dropped, whether the event was handled, refused at a full mailbox, or thrown
    /// away with the mailbox of a process that stopped.
    pub(crate) fn pending(&self) -> Pending {
        if self.is_paused() {
            self.inner.pending.fetch_add(1, Ordering::SeqCst);
            Pending { clock: Some(self.clone()) }
        } else {
            Pending { clock: None }
        }
    }

    fn event_done(&self) {
        if self.inner.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.idle.notify_waiters();
        }
    }
}

/// An event [`Clock::settle`] waits for, until this guard is dropped.
pub(crate) struct Pending {
    clock: Option<Clock>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(clock) = self.clock.take() {
            clock.event_done();
        }
    }
}

fn take_due(timers: &mut BTreeMap<(Time, u64), TimerCallback>, now: Time) -> Vec<TimerCallback> {
    let mut due = Vec::new();
    while let Some(entry) = timers.first_entry() {
        if entry.key().0 > now {
            break;
        }
        due.push(entry.remove());
    }
    due
}

/// The real-time timer thread: sleeps until the earliest deadline and fires what is due.
/// Exits when the clock is dropped.
fn spawn_timer_thread(inner: Weak<Inner>) {
    let spawned = std::thread::Builder::new().name("libprocess-clock".into()).spawn(move || {
        loop {
            let Some(inner) = inner.upgrade() else { return };
            let clock = Clock { inner };
            let due = {
                let mut state = clock.inner.state.lock();
                if state.paused_at.is_some() {
                    clock.inner.wake.wait_for(&mut state, Duration::from_millis(100));
                    continue;
                }
                let now = clock.real_now(&state);
                let due = take_due(&mut state.timers, now);
                if due.is_empty() {
                    let wait = state
                        .timers
                        .keys()
                        .next()
                        .map(|(deadline, _)| deadline.saturating_since(now))
                        .unwrap_or(Duration::from_millis(100))
                        .min(Duration::from_millis(100));
                    clock.inner.wake.wait_for(&mut state, wait);
                }
                due
            };
            for callback in due {
                callback();
            }
        }
    });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the libprocess clock thread; timers will not fire");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    /// A paused clock stands still; advance moves it and fires due timers in order.
    #[test]
    fn paused_clock_advances_and_fires_in_order() {
        let clock = Clock::paused();
        let start = clock.now();
        let fired = Arc::new(Mutex::new(Vec::new()));
        for (name, secs) in [("b", 2), ("a", 1), ("c", 3)] {
            let fired = fired.clone();
            clock.schedule(Duration::from_secs(secs), move || fired.lock().push(name));
        }
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(*fired.lock(), vec!["a"]);
        clock.advance(Duration::from_secs(10));
        assert_eq!(*fired.lock(), vec!["a", "b", "c"]);
        assert_eq!(clock.now(), start + Duration::from_millis(11_500));
    }

    /// Cancelled timers never fire.
    #[test]
    fn cancelled_timer_does_not_fire() {
        let clock = Clock::paused();
        let count = Arc::new(AtomicU32::new(0));
        let c = count.clone();
        let id = clock.schedule(Duration::from_secs(1), move || {
            c.fetch_add(1, Ordering::SeqCst);
        });
        assert!(clock.cancel(id));
        assert!(!clock.cancel(id));
        clock.advance(Duration::from_secs(2));
        assert_eq!(count.load(Ordering::SeqCst), 0);
    }

    /// A cancel removes that timer only, among timers due at the same time.
    #[test]
    fn cancel_removes_only_its_timer() {
        let clock = Clock::paused();
        let fired = Arc::new(Mutex::new(Vec::new()));
        let ids: Vec<TimerId> = ["a", "b", "c"]
            .into_iter()
            .map(|name| {
                let fired = fired.clone();
                clock.schedule(Duration::from_secs(1), move || fired.lock().push(name))
            })
            .collect();
        assert!(clock.cancel(ids[1]));
        assert_eq!(clock.pending_timers(), 2);
        clock.advance(Duration::from_secs(1));
        assert_eq!(*fired.lock(), vec!["a", "c"]);
        assert!(!clock.cancel(ids[0]), "already fired");
    }

    /// A running clock fires a timer scheduled after a later one first.
    #[test]
    fn running_clock_fires_an_earlier_timer_scheduled_later_first() {
        let clock = Clock::new();
        let (tx, rx) = std::sync::mpsc::channel();
        let late = tx.clone();
        clock.schedule(Duration::from_millis(200), move || late.send("late").unwrap());
        clock.schedule(Duration::from_millis(1), move || tx.send("early").unwrap());
        let first = rx.recv_timeout(Duration::from_secs(10)).expect("a timer fired");
        assert_eq!(first, "early");
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).expect("the other fired"), "late");
    }

    /// Resuming never moves time backwards.
    #[test]
    fn resume_is_monotonic() {
        let clock = Clock::paused();
        clock.advance(Duration::from_secs(3600));
        let paused_time = clock.now();
        clock.resume();
        assert!(clock.now() >= paused_time);
    }

    /// A running clock fires timers on its own thread (waits on a channel, not a sleep).
    #[test]
    fn running_clock_fires_for_real() {
        let clock = Clock::new();
        let (tx, rx) = std::sync::mpsc::channel();
        clock.schedule(Duration::from_millis(5), move || tx.send(()).unwrap());
        rx.recv_timeout(Duration::from_secs(10)).expect("timer fired");
    }
}
