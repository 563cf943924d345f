//! The priority lane: a lane process's messages travel between nodes while the receiving
//! node's I/O thread is held by something else (a slow HTTP handler).

use std::sync::{Arc, Mutex};

use http::StatusCode;
use libprocess::http::{self as lhttp, Request};
use libprocess::testing::Ping;
use libprocess::{Context, Process};
use tokio::sync::mpsc;

use super::support::{Seen, http_call, next, probe, tcp_node};

libprocess::protocol! {
    enum HolderMessage { Ping(Ping) }
}

/// Installs `/hold`, a handler that blocks the thread serving it until released.
struct Holder {
    /// Told when the handler starts holding.
    holding: mpsc::UnboundedSender<()>,
    /// Received from (blocking) to let the handler go.
    release: Arc<Mutex<std::sync::mpsc::Receiver<()>>>,
}

impl Process for Holder {
    type Message = HolderMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        let (holding, release) = (self.holding.clone(), self.release.clone());
        ctx.route_shared(
            "/hold",
            Arc::new(move |_request: Request| {
                let (holding, release) = (holding.clone(), release.clone());
                Box::pin(async move {
                    let _ = holding.send(());
                    // Blocks the node's I/O thread on purpose: what a 30 MB rendering did.
                    let _ = release.lock().map(|release| release.recv());
                    lhttp::status(StatusCode::OK)
                })
            }),
        );
    }

    fn on_message(&mut self, _: libprocess::Pid, _: HolderMessage, _: &mut Context<'_, Self>) {}
}

/// With the receiving node's only I/O thread blocked inside an HTTP handler, a message
/// from a lane process of one node still reaches the lane process of the other: it is
/// written by the sender's lane, accepted, parsed and queued by the receiver's lane.
#[actix_rt::test]
async fn lane_messages_pass_a_held_io_thread() {
    let (a, b) = (tcp_node(), tcp_node());
    a.give_priority_lane("raft");
    b.give_priority_lane("raft");
    let (raft, mut seen) = probe(&b, "raft");
    let (holding_tx, mut holding) = mpsc::unbounded_channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let holder = Holder { holding: holding_tx, release: Arc::new(Mutex::new(release_rx)) };
    b.spawn("holder", holder).unwrap();
    let address = b.address();
    let held =
        tokio::spawn(async move { http_call(address, "GET", "/holder/hold", &[], vec![]).await });
    holding.recv().await.expect("the handler holds b's I/O thread");

    a.send(&a.pid("raft"), raft.pid(), Ping { seq: 7, payload: Default::default() });
    match next(&mut seen).await {
        Seen::Ping { seq, .. } => assert_eq!(seq, 7),
        other => panic!("expected the ping, got {other:?}"),
    }

    release.send(()).unwrap();
    assert_eq!(held.await.unwrap().0, 200);
    a.shutdown().await;
    b.shutdown().await;
}
