//! Test hooks: the equivalents of FUTURE_PROTOBUF, DROP_PROTOBUF(S), and holding.

use libprocess::testing::{Echo, Ping, Pong};
use libprocess::{Clock, Match, Node};

use super::support::{Seen, loopback, next, probe};

fn paused_node() -> (Node, Clock) {
    let clock = Clock::paused();
    (Node::builder(loopback()).clock(clock.clone()).start().unwrap(), clock)
}

/// `expect` observes the next matching message without taking it.
#[actix_rt::test]
async fn expect_observes() {
    let (node, _clock) = paused_node();
    let (a, mut rx) = probe(&node, "a");
    let echo = node.spawn("echo", Echo::default()).unwrap();
    let pong = node.hooks().expect::<Pong>(Match::any().from(echo.pid()).to(a.pid()));
    node.send(a.pid(), echo.pid(), Ping { seq: 11, ..Default::default() });
    let observed = pong.await;
    assert_eq!(observed.message.seq, 11);
    assert_eq!(&observed.from, echo.pid());
    assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.pid().clone(), seq: 11 });
    node.shutdown().await;
}

/// `drop_next` drops exactly one matching message; `drop_all` drops until removed.
#[actix_rt::test]
async fn drop_next_and_drop_all() {
    let (node, clock) = paused_node();
    let (a, mut rx) = probe(&node, "a");
    let echo = node.spawn("echo", Echo::default()).unwrap();
    let dropped = node.hooks().drop_next::<Pong>(Match::any().to(a.pid()));
    node.send(a.pid(), echo.pid(), Ping { seq: 1, ..Default::default() });
    assert_eq!(dropped.await.message.seq, 1);
    node.send(a.pid(), echo.pid(), Ping { seq: 2, ..Default::default() });
    assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.pid().clone(), seq: 2 });

    let rule = node.hooks().drop_all::<Ping>(Match::any().to(echo.pid()));
    for seq in 3..6 {
        node.send(a.pid(), echo.pid(), Ping { seq, ..Default::default() });
    }
    clock.settle().await;
    assert_eq!(rule.dropped(), 3);
    drop(rule);
    node.send(a.pid(), echo.pid(), Ping { seq: 6, ..Default::default() });
    assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.pid().clone(), seq: 6 });
    node.shutdown().await;
}

/// Held messages wait until released, then arrive in their original order.
#[actix_rt::test]
async fn hold_and_release() {
    let (node, clock) = paused_node();
    let (a, mut rx) = probe(&node, "a");
    let echo = node.spawn("echo", Echo::default()).unwrap();
    let held = node.hooks().hold::<Pong>(Match::any().to(a.pid()));
    node.send(a.pid(), echo.pid(), Ping { seq: 1, ..Default::default() });
    node.send(a.pid(), echo.pid(), Ping { seq: 2, ..Default::default() });
    held.wait_for(2).await;
    clock.settle().await;
    assert!(rx.try_recv().is_err(), "nothing delivered while held");
    held.release();
    assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.pid().clone(), seq: 1 });
    assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.pid().clone(), seq: 2 });
    node.shutdown().await;
}
