//! Links and `exited`: local termination, remote connection loss, reconnect.

use libprocess::testing::{Echo, Ping};

use super::support::{Seen, next, probe, tcp_node};

/// A process linked to a local process gets `exited` when it terminates; linking to a
/// process that is already gone gives `exited` at once.
#[actix_rt::test]
async fn local_link_fires_on_terminate() {
    let node = tcp_node();
    let (watcher, mut rx) = probe(&node, "watcher");
    let echo = node.spawn("echo", Echo::default()).unwrap();
    let echo_pid = echo.pid().clone();
    watcher.dispatch(move |_, ctx| ctx.link(&echo_pid)).await.unwrap();
    node.terminate(echo.pid());
    assert_eq!(next(&mut rx).await, Seen::Exited(echo.pid().clone()));

    let gone = node.pid("never-existed");
    let gone2 = gone.clone();
    watcher.dispatch(move |_, ctx| ctx.link(&gone2)).await.unwrap();
    assert_eq!(next(&mut rx).await, Seen::Exited(gone));
    node.shutdown().await;
}

/// Unlinked processes are not told.
#[actix_rt::test]
async fn unlink_stops_notifications() {
    let node = tcp_node();
    let (watcher, mut rx) = probe(&node, "watcher");
    let echo = node.spawn("echo", Echo::default()).unwrap();
    let pid = echo.pid().clone();
    watcher
        .dispatch(move |_, ctx| {
            ctx.link(&pid);
            ctx.unlink(&pid);
        })
        .await
        .unwrap();
    node.terminate(echo.pid());
    node.wait(echo.pid()).await;
    // A ping proves the probe's queue holds no exited before it.
    node.send(&node.pid("t"), watcher.pid(), Ping { seq: 9, ..Default::default() });
    assert!(matches!(next(&mut rx).await, Seen::Ping { seq: 9, .. }));
    node.shutdown().await;
}

/// Remote messages travel over TCP between two nodes; when the remote node goes away the
/// linked process gets `exited` (the connection broke), as in libprocess.
#[actix_rt::test]
async fn remote_link_fires_when_peer_node_dies() {
    let here = tcp_node();
    let there = tcp_node();
    let (watcher, mut rx) = probe(&here, "watcher");
    let echo = there.spawn("echo", Echo::default()).unwrap();
    let echo_pid = echo.pid().clone();
    watcher.dispatch(move |_, ctx| ctx.link(&echo_pid)).await.unwrap();
    here.send(watcher.pid(), echo.pid(), Ping { seq: 1, ..Default::default() });
    assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.pid().clone(), seq: 1 });

    there.shutdown().await;
    assert_eq!(next(&mut rx).await, Seen::Exited(echo.pid().clone()));
    here.shutdown().await;
}

/// Linking to an address where nothing listens fails the connection: `exited` at once.
#[actix_rt::test]
async fn remote_link_to_nowhere_fires() {
    let here = tcp_node();
    let (watcher, mut rx) = probe(&here, "watcher");
    // A socket bound but not listening: its port refuses connections, and no other test
    // can start listening there while the socket lives (a listener bound and dropped
    // would free the port for anyone).
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = closed.local_addr().unwrap().port();
    let nowhere: libprocess::Pid = format!("master@127.0.0.1:{port}").parse().unwrap();
    let target = nowhere.clone();
    watcher.dispatch(move |_, ctx| ctx.link(&target)).await.unwrap();
    assert_eq!(next(&mut rx).await, Seen::Exited(nowhere));
    drop(closed);
    here.shutdown().await;
}

/// A reconnecting link replaces the connection without reporting `exited`, and the
/// link keeps working: the peer's later death is still reported.
#[actix_rt::test]
async fn reconnect_link_moves_without_exited() {
    let here = tcp_node();
    let there = tcp_node();
    let (watcher, mut rx) = probe(&here, "watcher");
    let echo = there.spawn("echo", Echo::default()).unwrap();
    let pid = echo.pid().clone();
    let p = pid.clone();
    watcher.dispatch(move |_, ctx| ctx.link(&p)).await.unwrap();
    let p = pid.clone();
    watcher.dispatch(move |_, ctx| ctx.link_reconnect(&p)).await.unwrap();
    here.send(watcher.pid(), &pid, Ping { seq: 2, ..Default::default() });
    assert_eq!(next(&mut rx).await, Seen::Pong { from: pid.clone(), seq: 2 });
    there.shutdown().await;
    assert_eq!(next(&mut rx).await, Seen::Exited(pid));
    here.shutdown().await;
}
