//! Bounds and bad input: body and header limits, connection limits, mailbox bounds,
//! slow clients. Each bound answers with a clear error and disturbs nobody else.

use std::time::Duration;

use libprocess::testing::{Echo, Ping};
use libprocess::{Context, Delivered, Envelope, Node, NodeConfig, Pid, Process};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::support::{http_call, loopback, within};

fn node_with(config: NodeConfig) -> Node {
    Node::builder(loopback()).config(config).start().unwrap()
}

/// Bodies over the bound get `413`; heads over the bound get `431`.
#[actix_rt::test]
async fn body_and_header_limits() {
    let node = node_with(NodeConfig {
        max_body_bytes: 1024,
        max_header_bytes: 10_000,
        ..NodeConfig::default()
    });
    let _echo = node.spawn("echo", Echo::default()).unwrap();
    let (status, _, body) = http_call(
        node.address(),
        "POST",
        "/echo/libprocess.testing.Ping",
        &[("libprocess-from", "a@127.0.0.1:1")],
        vec![0u8; 2048],
    )
    .await;
    assert_eq!(status, 413);
    assert!(String::from_utf8_lossy(&body).contains("exceeds 1024 bytes"));

    let big = "x".repeat(6_000);
    let (status, _, _) =
        http_call(node.address(), "GET", "/echo/x", &[("x-big", &big), ("x-big2", &big)], vec![])
            .await;
    assert_eq!(status, 431);
    node.shutdown().await;
}

/// Connections past the per-IP bound are closed at once; admitted ones keep working.
#[actix_rt::test]
async fn connection_limit() {
    let node = node_with(NodeConfig { max_connections_per_ip: 2, ..NodeConfig::default() });
    let mut first = TcpStream::connect(node.address()).await.unwrap();
    let _second = TcpStream::connect(node.address()).await.unwrap();
    let mut third = TcpStream::connect(node.address()).await.unwrap();
    let mut buf = [0u8; 64];
    let n = within(third.read(&mut buf)).await.unwrap_or(0);
    assert_eq!(n, 0, "the third connection is closed by the server");
    first.write_all(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let n = within(first.read(&mut buf)).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert_eq!(node.metrics().snapshot()["libprocess/connections_rejected"], 1.0);
    node.shutdown().await;
}

libprocess::protocol! {
    enum TinyMessage { Ping(Ping) }
}

struct Tiny;

impl Process for Tiny {
    type Message = TinyMessage;
    fn on_message(&mut self, _: Pid, _: TinyMessage, _: &mut Context<'_, Self>) {}
    fn mailbox_capacity(&self) -> usize {
        4
    }
}

/// A mailbox at its bound refuses further messages (counted), instead of growing.
#[actix_rt::test]
async fn mailbox_bound() {
    let node = node_with(NodeConfig::default());
    let tiny = node.spawn("tiny", Tiny).unwrap();
    // Let the actor start so its capacity is set; then queue without yielding.
    tiny.dispatch(|_, _| ()).await.unwrap();
    let results: Vec<Delivered> = (0..50)
        .map(|_| node.deliver(Envelope::local(node.pid("t"), tiny.pid().clone(), Ping::default())))
        .collect();
    assert_eq!(results[0], Delivered::Queued);
    assert!(results.contains(&Delivered::MailboxFull));
    assert!(node.metrics().snapshot()["libprocess/mailbox_full"] >= 1.0);
    node.shutdown().await;
}

/// `queue_sizes` counts what waits in a mailbox by kind (Mesos's `event_queue_messages`
/// and `event_queue_dispatches`): messages and dispatches queued while the process is
/// busy are counted, refused ones are not, and all counts return to zero once handled.
#[actix_rt::test]
async fn queue_sizes_count_waiting_items() {
    let node = node_with(NodeConfig::default());
    let tiny = node.spawn("tiny", Tiny).unwrap();
    tiny.dispatch(|_, _| ()).await.unwrap();
    assert_eq!(tiny.queue_sizes(), libprocess::QueueSizes::default());
    // Queued from this thread without yielding, so the process cannot take any yet.
    let delivered = (0..3)
        .map(|_| node.deliver(Envelope::local(node.pid("t"), tiny.pid().clone(), Ping::default())))
        .filter(|d| *d == Delivered::Queued)
        .count();
    tiny.tell(|_, _| ()).unwrap();
    let sizes = node.queue_sizes("tiny").expect("tiny runs");
    assert_eq!(sizes.messages, delivered);
    assert_eq!(sizes.dispatches, 1);
    assert_eq!(sizes.http_requests, 0);
    // Past the bound (4): refused messages are not counted.
    for _ in 0..10 {
        node.deliver(Envelope::local(node.pid("t"), tiny.pid().clone(), Ping::default()));
    }
    assert!(tiny.queue_sizes().messages <= 4, "{:?}", tiny.queue_sizes());
    // A dispatch is handled after everything queued before it: then nothing waits
    // but itself, which is off the count while it runs.
    let inside = tiny.dispatch(|_, ctx| ctx.queue_sizes()).await.unwrap();
    assert_eq!(inside, libprocess::QueueSizes::default());
    assert_eq!(tiny.queue_sizes(), libprocess::QueueSizes::default());
    assert_eq!(node.queue_sizes("nobody"), None);
    node.shutdown().await;
}

/// A client trickling a request head is cut off after the header timeout, while other
/// clients are served meanwhile and an idle persistent connection (as libprocess peers
/// keep) survives the same span.
#[actix_rt::test]
async fn slow_header_is_cut_idle_connection_survives() {
    let node = node_with(NodeConfig {
        header_read_timeout: Duration::from_millis(300),
        ..NodeConfig::default()
    });
    let mut idle = TcpStream::connect(node.address()).await.unwrap();
    let mut slow = TcpStream::connect(node.address()).await.unwrap();
    slow.write_all(b"POST /echo/x HTTP/1.1\r\nHos").await.unwrap();

    let (status, _, _) = http_call(node.address(), "GET", "/version", &[], vec![]).await;
    assert_eq!(status, 200, "others are served while the slow client stalls");

    let mut buf = [0u8; 256];
    let n = within(slow.read(&mut buf)).await.unwrap_or(0);
    assert!(n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408"), "slow client cut off");

    // The idle connection has now been idle for longer than the header timeout.
    idle.write_all(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let n = within(idle.read(&mut buf)).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "idle connection still served"
    );
    node.shutdown().await;
}

/// A body that never completes gets `408` after the body timeout.
#[actix_rt::test]
async fn slow_body_times_out() {
    let node = node_with(NodeConfig {
        body_read_timeout: Duration::from_millis(200),
        ..NodeConfig::default()
    });
    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    stream
        .write_all(b"POST /echo/x HTTP/1.1\r\nHost: x\r\nLibprocess-From: a@127.0.0.1:1\r\nContent-Length: 100\r\n\r\nonly ten..")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = within(stream.read(&mut buf)).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"));
    node.shutdown().await;
}

/// A persistent connection that has served a request and then stays quiet for longer
/// than hyper's default header timeout (30 s) is still open and served: libprocess peers
/// keep their connections (and the links over them) for as long as they run. Before the
/// fix, every connection quiet for 30 s was cut, which disconnected a scheduler from its
/// master and an executor from its agent. The 31 s are the runtime's paused clock's.
#[actix_rt::test]
async fn connection_quiet_for_31_seconds_survives() {
    // A single-threaded node serves its connections, hyper and its timers included, on
    // this test's runtime: with its clock paused, 31 s of silence pass at once, and every
    // timer due within them (hyper's header timer, were it set) fires first.
    let node = node_with(NodeConfig { io_threads: 0, ..NodeConfig::default() });
    tokio::time::pause();
    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    let mut buf = [0u8; 256];
    for round in 0..2 {
        if round == 1 {
            tokio::time::sleep(Duration::from_secs(31)).await;
        }
        stream.write_all(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        // No `within`: on a paused clock its timeout would be the next timer, and fire
        // while the node is idle between polls. A cut connection reads 0 bytes here.
        let n = stream.read(&mut buf).await.unwrap();
        assert!(
            String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
            "round {round}: {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    node.shutdown().await;
}

/// Writes `request` on a fresh connection and returns what comes back first (the
/// connection is left open: the server must answer without waiting for more bytes).
async fn first_answer(node: &Node, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(node.address()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = [0u8; 512];
    let n = within(stream.read(&mut buf)).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A `Content-Length` above the body bound is answered `413` at once, without waiting
/// for a body that will never be accepted (it used to wait for the body timeout).
#[actix_rt::test]
async fn declared_length_over_the_bound_is_refused_at_once() {
    let node = node_with(NodeConfig { max_body_bytes: 1024, ..NodeConfig::default() });
    let answer = first_answer(
        &node,
        b"POST /echo/x HTTP/1.1\r\nHost: x\r\nLibprocess-From: a@127.0.0.1:1\r\nContent-Length: 1000000\r\n\r\nabc",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    node.shutdown().await;
}

/// A chunked body with an invalid chunk size is answered `400` (the answer used to be
/// lost: hyper held it while the rest of the bad body sat unread in its buffer).
#[actix_rt::test]
async fn invalid_chunk_size_is_answered_400() {
    let node = node_with(NodeConfig::default());
    let _echo = node.spawn("echo", Echo::default()).unwrap();
    let answer = first_answer(
        &node,
        b"POST /echo/libprocess.testing.Ping HTTP/1.1\r\nHost: x\r\nLibprocess-From: a@127.0.0.1:1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    node.shutdown().await;
}

/// A process holds its own bound from the moment it is spawned, not only once it first
/// runs: messages delivered before then (the I/O threads deliver from the network at
/// once, e.g. to `libprocess-echo`'s process right after it printed its pid) are all
/// queued and handled in order. With actix's start-up bound of 16 the 17th and later were
/// refused (`503 mailbox full`): pongs went missing, which a peer saw as pongs out of
/// order (`ping_pong_across_os_processes`, about 1 run in 20 under load).
#[actix_rt::test]
async fn a_process_takes_messages_at_its_bound_before_it_first_runs() {
    let node = node_with(NodeConfig::default());
    let (probe, mut rx) = super::support::probe(&node, "fresh");
    // Queued from this thread without yielding: the probe has not run yet.
    let from = node.pid("sender");
    let delivered: Vec<Delivered> = (0..100)
        .map(|seq| {
            let ping = Ping { seq, ..Default::default() };
            node.deliver(Envelope::local(from.clone(), probe.pid().clone(), ping))
        })
        .collect();
    assert!(delivered.iter().all(|d| *d == Delivered::Queued), "{delivered:?}");
    for seq in 0..100 {
        let seen = super::support::next(&mut rx).await;
        assert_eq!(seen, super::support::Seen::Ping { from: from.clone(), seq });
    }
    node.shutdown().await;
}

/// [`Node::spawn_on`] gives the same guarantee for a process started on another thread.
#[actix_rt::test]
async fn a_process_spawned_on_an_arbiter_takes_messages_before_it_first_runs() {
    let node = node_with(NodeConfig::default());
    let arbiter = actix_rt::Arbiter::new();
    // The arbiter's thread is held up until every message is queued.
    let (hold, held) = std::sync::mpsc::channel::<()>();
    arbiter.spawn_fn(move || {
        let _ = held.recv();
    });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let probe =
        node.spawn_on(&arbiter.handle(), "fresh", move || super::support::Probe { tx }).unwrap();
    let from = node.pid("sender");
    let delivered: Vec<Delivered> = (0..100)
        .map(|seq| {
            let ping = Ping { seq, ..Default::default() };
            node.deliver(Envelope::local(from.clone(), probe.pid().clone(), ping))
        })
        .collect();
    hold.send(()).unwrap();
    assert!(delivered.iter().all(|d| *d == Delivered::Queued), "{delivered:?}");
    for seq in 0..100 {
        let seen = super::support::next(&mut rx).await;
        assert_eq!(seen, super::support::Seen::Ping { from: from.clone(), seq });
    }
    node.shutdown().await;
    arbiter.stop();
}
