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

/// A process remembers where it last sent (its mailbox cache) without ever outliving the
/// receiver: after the receiver terminates its messages count as undeliverable, and a new
/// process that takes the same id gets them. A local message of a type the receiver does
/// not accept is still refused by name and counted.
#[actix_rt::test]
async fn cached_receivers_follow_the_process_table() {
    let node = tcp_node();
    let (a, mut rx) = probe(&node, "a");
    let echo = node.spawn("echo", Echo::default()).unwrap();
    let to = echo.pid().clone();
    let send = |seq: u64| {
        let to = to.clone();
        a.dispatch(move |_, ctx| ctx.send(&to, Ping { seq, ..Default::default() }))
    };
    send(1).await.unwrap();
    assert_eq!(next(&mut rx).await, Seen::Pong { from: to.clone(), seq: 1 });

    node.terminate(echo.pid());
    node.wait(echo.pid()).await;
    send(2).await.unwrap();
    assert_eq!(node.metrics().snapshot()["libprocess/messages_no_process"], 1.0);

    let again = node.spawn("echo", Echo::default()).unwrap();
    send(3).await.unwrap();
    assert_eq!(next(&mut rx).await, Seen::Pong { from: to.clone(), seq: 3 });
    assert_eq!(again.dispatch(|echo, _| echo.answered).await.unwrap(), 1);

    let pong_to = to.clone();
    a.dispatch(move |_, ctx| ctx.send(&pong_to, libprocess::testing::Pong::default()))
        .await
        .unwrap();
    // Queued behind the pong, so the pong has been handled when this returns.
    again.dispatch(|_, _| ()).await.unwrap();
    assert_eq!(node.metrics().snapshot()["libprocess/messages_unknown"], 1.0);
    node.shutdown().await;
}

/// A message of 320 bytes: a protocol holding it is too large to queue inline.
#[derive(Clone, PartialEq, prost::Message)]
struct Wide {
    #[prost(fixed64, tag = "1")]
    f1: u64,
    #[prost(fixed64, tag = "2")]
    f2: u64,
    #[prost(fixed64, tag = "3")]
    f3: u64,
    #[prost(fixed64, tag = "4")]
    f4: u64,
    #[prost(fixed64, tag = "5")]
    f5: u64,
    #[prost(fixed64, tag = "6")]
    f6: u64,
    #[prost(fixed64, tag = "7")]
    f7: u64,
    #[prost(fixed64, tag = "8")]
    f8: u64,
    #[prost(fixed64, tag = "9")]
    f9: u64,
    #[prost(fixed64, tag = "10")]
    f10: u64,
    #[prost(fixed64, tag = "11")]
    f11: u64,
    #[prost(fixed64, tag = "12")]
    f12: u64,
    #[prost(fixed64, tag = "13")]
    f13: u64,
    #[prost(fixed64, tag = "14")]
    f14: u64,
    #[prost(fixed64, tag = "15")]
    f15: u64,
    #[prost(fixed64, tag = "16")]
    f16: u64,
    #[prost(fixed64, tag = "17")]
    f17: u64,
    #[prost(fixed64, tag = "18")]
    f18: u64,
    #[prost(fixed64, tag = "19")]
    f19: u64,
    #[prost(fixed64, tag = "20")]
    f20: u64,
    #[prost(fixed64, tag = "21")]
    f21: u64,
    #[prost(fixed64, tag = "22")]
    f22: u64,
    #[prost(fixed64, tag = "23")]
    f23: u64,
    #[prost(fixed64, tag = "24")]
    f24: u64,
    #[prost(fixed64, tag = "25")]
    f25: u64,
    #[prost(fixed64, tag = "26")]
    f26: u64,
    #[prost(fixed64, tag = "27")]
    f27: u64,
    #[prost(fixed64, tag = "28")]
    f28: u64,
    #[prost(fixed64, tag = "29")]
    f29: u64,
    #[prost(fixed64, tag = "30")]
    f30: u64,
    #[prost(fixed64, tag = "31")]
    f31: u64,
    #[prost(fixed64, tag = "32")]
    f32: u64,
    #[prost(fixed64, tag = "33")]
    f33: u64,
    #[prost(fixed64, tag = "34")]
    f34: u64,
    #[prost(fixed64, tag = "35")]
    f35: u64,
    #[prost(fixed64, tag = "36")]
    f36: u64,
    #[prost(fixed64, tag = "37")]
    f37: u64,
    #[prost(fixed64, tag = "38")]
    f38: u64,
    #[prost(fixed64, tag = "39")]
    f39: u64,
    #[prost(fixed64, tag = "40")]
    f40: u64,
}

impl prost::Name for Wide {
    const NAME: &'static str = "Wide";
    const PACKAGE: &'static str = "libprocess.test";
    fn full_name() -> String {
        "libprocess.test.Wide".into()
    }
}

libprocess::protocol! {
    /// What `WideSink` accepts: larger than the inline bound.
    enum WideMessage {
        Wide(Wide),
        Ping(Ping),
    }
}

/// Reports the `f40` of every `Wide` and the seq of every `Ping`.
struct WideSink {
    tx: tokio::sync::mpsc::UnboundedSender<u64>,
}

impl libprocess::Process for WideSink {
    type Message = WideMessage;
    fn on_message(
        &mut self,
        _from: libprocess::Pid,
        message: WideMessage,
        _ctx: &mut libprocess::Context<'_, Self>,
    ) {
        let _ = self.tx.send(match message {
            WideMessage::Wide(wide) => wide.f40,
            WideMessage::Ping(ping) => ping.seq,
        });
    }
}

/// A process whose protocol enum is larger than the inline bound still gets local
/// messages, boxed and decoded by name, from processes and from outside alike.
#[actix_rt::test]
async fn large_protocols_receive_local_messages_boxed() {
    assert!(std::mem::size_of::<WideMessage>() > 256);
    let node = tcp_node();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let sink = node.spawn("wide", WideSink { tx }).unwrap();
    let (a, _a_rx) = probe(&node, "a");
    let to = sink.pid().clone();
    a.dispatch(move |_, ctx| {
        ctx.send(&to, Wide { f40: 40, ..Default::default() });
        ctx.send(&to, Ping { seq: 7, ..Default::default() });
    })
    .await
    .unwrap();
    node.send(a.pid(), sink.pid(), Ping { seq: 8, ..Default::default() });
    assert_eq!(rx.recv().await, Some(40));
    assert_eq!(rx.recv().await, Some(7));
    assert_eq!(rx.recv().await, Some(8));
    node.shutdown().await;
}
