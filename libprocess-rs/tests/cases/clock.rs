//! Timers on the libprocess clock: pause, advance, settle — no test sleeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use libprocess::testing::Ping;
use libprocess::{Clock, Context, Node, Pid, Process};

use super::support::loopback;

libprocess::protocol! {
    enum TimerMessage { Ping(Ping) }
}

/// On `Ping{seq}` sets a timer of `seq` seconds that adds `seq` to `fired`; a second
/// timer is cancelled before it fires.
struct Timers {
    fired: Arc<AtomicU64>,
    chain: u32,
}

impl Process for Timers {
    type Message = TimerMessage;

    fn on_message(&mut self, _from: Pid, message: TimerMessage, ctx: &mut Context<'_, Self>) {
        let TimerMessage::Ping(ping) = message;
        let seq = ping.seq;
        ctx.delay(Duration::from_secs(seq), move |p: &mut Timers, ctx| {
            p.fired.fetch_add(seq, Ordering::SeqCst);
            // A timer that sets another timer (a retry loop).
            if p.chain > 0 {
                p.chain -= 1;
                ctx.delay(Duration::from_secs(1), move |p: &mut Timers, _| {
                    p.fired.fetch_add(1000, Ordering::SeqCst);
                });
            }
        });
        let cancelled = ctx.delay(Duration::from_secs(seq), |p: &mut Timers, _| {
            p.fired.fetch_add(1_000_000, Ordering::SeqCst);
        });
        assert!(ctx.cancel_timer(cancelled));
    }
}

/// Timers fire exactly when the paused clock is advanced past them (libprocess
/// `Clock::pause/advance/settle`), including timers set by timers.
#[actix_rt::test]
async fn advance_fires_timers_and_settle_waits() {
    let clock = Clock::paused();
    let node = Node::builder(loopback()).clock(clock.clone()).start().unwrap();
    let fired = Arc::new(AtomicU64::new(0));
    let timers = node.spawn("timers", Timers { fired: fired.clone(), chain: 1 }).unwrap();
    node.send(&node.pid("test"), timers.pid(), Ping { seq: 5, ..Default::default() });
    clock.settle().await;
    assert_eq!(clock.pending_timers(), 1);

    clock.advance(Duration::from_secs(4));
    clock.settle().await;
    assert_eq!(fired.load(Ordering::SeqCst), 0, "nothing is due before 5 s");

    clock.advance(Duration::from_secs(1));
    clock.settle().await;
    assert_eq!(fired.load(Ordering::SeqCst), 5);

    clock.advance(Duration::from_secs(1));
    clock.settle().await;
    assert_eq!(
        fired.load(Ordering::SeqCst),
        1005,
        "the chained timer fired; the cancelled one never"
    );
    node.shutdown().await;
}

/// `now()` seen by a process is the paused clock's time.
#[actix_rt::test]
async fn processes_see_the_paused_time() {
    let clock = Clock::paused();
    let node = Node::builder(loopback()).clock(clock.clone()).start().unwrap();
    let timers = node.spawn("timers", Timers { fired: Arc::default(), chain: 0 }).unwrap();
    let before = timers.dispatch(|_, ctx| ctx.now()).await.unwrap();
    clock.advance(Duration::from_secs(3600));
    let after = timers.dispatch(|_, ctx| ctx.now()).await.unwrap();
    assert_eq!(after.saturating_since(before), Duration::from_secs(3600));
    node.shutdown().await;
}

/// `settle` returns when a process terminates with messages still queued behind its
/// termination: the dropped messages count as done (they will never be handled).
#[actix_rt::test]
async fn settle_after_termination_with_queued_messages() {
    let clock = Clock::paused();
    let node = Node::builder(loopback()).clock(clock.clone()).start().unwrap();
    let timers = node.spawn("timers", Timers { fired: Arc::default(), chain: 0 }).unwrap();
    timers.dispatch(|_, _| ()).await.unwrap();
    node.terminate(timers.pid());
    for seq in 0..10 {
        node.send(&node.pid("test"), timers.pid(), Ping { seq, ..Default::default() });
    }
    tokio::time::timeout(Duration::from_secs(20), clock.settle()).await.expect("settle returns");
    node.wait(timers.pid()).await;
    node.shutdown().await;
}
