//! Processes: spawning, local messages, replies, dispatch, termination.

use libprocess::testing::{Echo, Ping};
use libprocess::{Error, Node};

use super::support::{Seen, next, probe, tcp_node};

/// A local message is delivered as a value and the reply reaches the sender.
#[actix_rt::test]
async fn local_message_and_reply() {
    let node = tcp_node();
    let (a, mut a_rx) = probe(&node, "a");
    let echo = node.spawn("echo", Echo::default()).unwrap();
    node.send(a.pid(), echo.pid(), Ping { seq: 7, payload: Default::default() });
    assert_eq!(next(&mut a_rx).await, Seen::Pong { from: echo.pid().clone(), seq: 7 });
    let answered = echo.dispatch(|echo, _| echo.answered).await.unwrap();
    assert_eq!(answered, 1);
    node.shutdown().await;
}

/// Two processes cannot share an id; generated ids count per prefix like libprocess.
#[actix_rt::test]
async fn ids_are_unique() {
    let node = tcp_node();
    let _first = node.spawn("master", Echo::default()).unwrap();
    assert!(matches!(node.spawn("master", Echo::default()), Err(Error::DuplicateProcessId { .. })));
    assert_eq!(node.generate_id("slave"), "slave(1)");
    assert_eq!(node.generate_id("slave"), "slave(2)");
    assert_eq!(node.generate_id(""), "(1)");
    assert_eq!(node.process_ids(), vec!["master".to_string()]);
    node.shutdown().await;
}

/// Terminate runs to completion: wait returns, dispatch then fails, messages are counted
/// as undeliverable.
#[actix_rt::test]
async fn terminate_and_wait() {
    let node = tcp_node();
    let echo = node.spawn("echo", Echo::default()).unwrap();
    assert!(node.terminate(echo.pid()));
    node.wait(echo.pid()).await;
    assert!(!node.has_process("echo"));
    assert!(matches!(echo.dispatch(|e, _| e.answered).await, Err(Error::ProcessGone { .. })));
    node.send(&node.pid("x"), echo.pid(), Ping::default());
    assert_eq!(node.metrics().snapshot()["libprocess/messages_no_process"], 1.0);
    node.shutdown().await;
}

/// Unknown and malformed messages are counted, logged and reported to the process, and
/// never crash it.
#[actix_rt::test]
async fn unknown_and_malformed_messages_are_counted() {
    let node = tcp_node();
    let (a, mut rx) = probe(&node, "a");
    node.send_raw(&node.pid("x"), a.pid(), "no.Such", bytes::Bytes::from_static(b"abc"));
    assert_eq!(next(&mut rx).await, Seen::Unknown("no.Such".into()));
    node.send_raw(
        &node.pid("x"),
        a.pid(),
        "libprocess.testing.Ping",
        bytes::Bytes::from_static(&[0x08, 0xff]),
    );
    assert_eq!(next(&mut rx).await, Seen::Malformed("libprocess.testing.Ping".into()));
    let metrics = node.metrics().snapshot();
    assert_eq!(metrics["libprocess/messages_unknown"], 1.0);
    assert_eq!(metrics["libprocess/messages_malformed"], 1.0);
    // Still alive and answering.
    node.send(&node.pid("x"), a.pid(), Ping { seq: 1, ..Default::default() });
    assert!(matches!(next(&mut rx).await, Seen::Ping { seq: 1, .. }));
    node.shutdown().await;
}

/// Processes run on other arbiters (threads) and still exchange messages.
#[actix_rt::test]
async fn spawn_on_another_arbiter() {
    let node = tcp_node();
    let arbiter = actix_rt::Arbiter::new();
    let echo = node.spawn_on(&arbiter.handle(), "echo", Echo::default).unwrap();
    let (a, mut rx) = probe(&node, "a");
    node.send(a.pid(), echo.pid(), Ping { seq: 3, ..Default::default() });
    assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.pid().clone(), seq: 3 });
    node.shutdown().await;
    arbiter.stop();
}

/// A node without a process table entry for a pid says so (typed error, no panic).
#[actix_rt::test]
async fn messages_to_missing_processes_are_dropped() {
    let node: Node = tcp_node();
    let delivered = node.deliver(libprocess::Envelope::local(
        node.pid("a"),
        node.pid("nobody"),
        Ping::default(),
    ));
    assert_eq!(delivered, libprocess::Delivered::NoProcess);
    node.shutdown().await;
}

/// A reserved id holds its pid and reference before the process exists: messages and
/// dispatches sent meanwhile wait and are handled once it is spawned; the id is taken
/// while reserved and free again if the reservation is dropped unspawned.
#[actix_rt::test]
async fn reserved_processes_queue_until_spawned() {
    let node = tcp_node();
    let (a, mut rx) = probe(&node, "a");
    let reserved = node.reserve::<Echo>("echo").unwrap();
    let echo = reserved.process_ref().clone();
    assert!(matches!(node.spawn("echo", Echo::default()), Err(Error::DuplicateProcessId { .. })));
    node.send(a.pid(), echo.pid(), Ping { seq: 5, ..Default::default() });
    let answered = echo.dispatch(|echo, _| echo.answered);
    reserved.spawn(Echo::default());
    assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.pid().clone(), seq: 5 });
    assert_eq!(answered.await.unwrap(), 1);

    let dropped = node.reserve::<Echo>("gone").unwrap();
    let gone = dropped.process_ref().clone();
    drop(dropped);
    assert!(!node.has_process("gone"));
    assert!(matches!(gone.dispatch(|e, _| e.answered).await, Err(Error::ProcessGone { .. })));
    assert!(node.spawn("gone", Echo::default()).is_ok());
    node.shutdown().await;
}

/// A protocol enum is also outbound: any variant is sent under its own message name.
#[actix_rt::test]
async fn protocol_enums_send_any_variant() {
    use libprocess::Outbound;
    use libprocess::testing::EchoMessage;
    let node = tcp_node();
    let (a, mut rx) = probe(&node, "a");
    let echo = node.spawn("echo", Echo::default()).unwrap();
    let ping = EchoMessage::Ping(Ping { seq: 9, ..Default::default() });
    assert_eq!(ping.name().to_string(), "libprocess.testing.Ping");
    ping.send(&node, a.pid(), echo.pid());
    assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.pid().clone(), seq: 9 });
    node.shutdown().await;
}
