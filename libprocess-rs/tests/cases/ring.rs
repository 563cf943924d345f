//! The message ring on running nodes: what is recorded where, nothing while disarmed,
//! and its two HTTP endpoints.

use std::sync::Arc;

use http::{Method, StatusCode};
use libprocess::prost::Message;
use libprocess::ring::{Direction, http as ring_http};
use libprocess::testing::{Echo, Ping, Pong};
use libprocess::{Clock, Node, SimNetwork};
use serde_json::{Value, json};

use super::support::{Seen, next, probe};

fn sim_node(sim: &SimNetwork, clock: &Clock, address: &str) -> Node {
    Node::builder(address.parse().unwrap()).simulated(sim).clock(clock.clone()).start().unwrap()
}

/// Two nodes; on `a1` a probe pings a local echo and the echo of `m1`, and waits for
/// both pongs.
async fn ping_round(
    a1: &Node,
    probe: &libprocess::ProcessRef<super::support::Probe>,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Seen>,
    local: &libprocess::Pid,
    remote: &libprocess::Pid,
    seq: u64,
) {
    a1.send(probe.pid(), local, Ping { seq, ..Default::default() });
    assert_eq!(next(rx).await, Seen::Pong { from: local.clone(), seq });
    a1.send(probe.pid(), remote, Ping { seq: seq + 1, ..Default::default() });
    assert_eq!(next(rx).await, Seen::Pong { from: remote.clone(), seq: seq + 1 });
}

/// Disarmed, messages local and remote, in and out, leave no trace in either node's
/// ring (the hot path only loads the armed flag). Armed, each node records the
/// messages its processes received (`in`, local ones once) and sent to another node
/// (`out`), with their encoded size and their bytes.
#[actix_rt::test]
async fn ring_records_only_when_armed_at_every_message_path() {
    let sim = SimNetwork::new();
    let clock = Clock::paused();
    let m1 = sim_node(&sim, &clock, "10.0.0.1:5050");
    let a1 = sim_node(&sim, &clock, "10.0.0.2:5051");
    let remote = m1.spawn("echo", Echo::default()).unwrap().pid().clone();
    let local = a1.spawn("echo", Echo::default()).unwrap().pid().clone();
    let (probe, mut rx) = probe(&a1, "probe");

    for seq in [1, 3, 5] {
        ping_round(&a1, &probe, &mut rx, &local, &remote, seq).await;
    }
    assert!(a1.message_ring().is_empty(), "nothing recorded while disarmed");
    assert!(m1.message_ring().is_empty(), "nothing recorded while disarmed");

    a1.message_ring().arm();
    m1.message_ring().arm();
    ping_round(&a1, &probe, &mut rx, &local, &remote, 11).await;
    let seen: Vec<_> = a1
        .message_ring()
        .read(None, 100)
        .entries
        .iter()
        .map(|e| (e.direction, e.from.to_string(), e.to.to_string(), e.name.to_string()))
        .collect();
    let (p, l, r) = (probe.pid().to_string(), local.to_string(), remote.to_string());
    let ping = "libprocess.testing.Ping".to_string();
    let pong = "libprocess.testing.Pong".to_string();
    assert_eq!(
        seen,
        vec![
            (Direction::In, p.clone(), l.clone(), ping.clone()),
            (Direction::In, l.clone(), p.clone(), pong.clone()),
            (Direction::Out, p.clone(), r.clone(), ping.clone()),
            (Direction::In, r.clone(), p.clone(), pong.clone()),
        ]
    );
    let on_m1: Vec<_> =
        m1.message_ring().read(None, 100).entries.iter().map(|e| e.direction).collect();
    assert_eq!(on_m1, vec![Direction::In, Direction::Out]);
    // The bodies are the messages sent, local (encoded by the ring) and remote alike.
    let (entry, body) = a1.message_ring().body(1).expect("kept");
    assert_eq!(entry.size, body.len());
    assert_eq!(Ping::decode(body).unwrap().seq, 11);
    let (_, body) = a1.message_ring().body(4).expect("kept");
    assert_eq!(Pong::decode(body).unwrap().seq, 12);

    a1.message_ring().disarm();
    ping_round(&a1, &probe, &mut rx, &local, &remote, 21).await;
    assert_eq!(a1.message_ring().len(), 4, "disarming stops recording");
    a1.shutdown().await;
    m1.shutdown().await;
}

async fn get(node: &Node, path: &str) -> (StatusCode, Value) {
    let response = node.request(Method::GET, path, "").await;
    let status = response.status();
    let body = response.into_body().into_bytes().await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// `GET /<id>/messages` arms the ring and pages through it by cursor;
/// `/<id>/messages/body` decodes a kept body with the node's decoder, says
/// `undecodable` for names it does not know, and is `404` once the body is gone.
#[actix_rt::test]
async fn messages_endpoints_page_and_decode() {
    let sim = SimNetwork::new();
    let clock = Clock::paused();
    let node = sim_node(&sim, &clock, "10.0.0.3:5050");
    let echo = node.spawn("echo", Echo::default()).unwrap();
    let decode: ring_http::BodyDecoder = Arc::new(|name, bytes| match name {
        "libprocess.testing.Ping" => Ping::decode(bytes).ok().map(|p| json!({ "seq": p.seq })),
        _ => None,
    });
    let handler =
        ring_http::handler(node.message_ring().clone(), node.address().to_string(), decode);
    echo.dispatch(move |_, ctx| ctx.route_shared("/messages", handler)).await.unwrap();
    let (probe, mut rx) = probe(&node, "probe");

    let (status, first) = get(&node, "/echo/messages").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first, json!({ "node": "10.0.0.3:5050", "next": 0, "dropped": 0, "messages": [] }));
    for seq in 1..=3 {
        node.send(probe.pid(), echo.pid(), Ping { seq, ..Default::default() });
        assert_eq!(next(&mut rx).await, Seen::Pong { from: echo.pid().clone(), seq });
    }
    let (_, page) = get(&node, "/echo/messages?after=0&limit=4").await;
    let names: Vec<_> =
        page["messages"].as_array().unwrap().iter().map(|m| m["name"].clone()).collect();
    assert_eq!(names.len(), 4);
    assert_eq!(page["next"], 4);
    assert_eq!(page["messages"][0]["seq"], 1);
    assert_eq!(page["messages"][0]["direction"], "in");
    assert_eq!(page["messages"][0]["from"], probe.pid().to_string());
    assert_eq!(page["messages"][0]["to"], echo.pid().to_string());
    assert_eq!(page["messages"][0]["size"], 2);
    let (_, rest) = get(&node, "/echo/messages?after=4").await;
    let seqs: Vec<_> =
        rest["messages"].as_array().unwrap().iter().map(|m| m["seq"].clone()).collect();
    assert_eq!(seqs, vec![json!(5), json!(6)]);
    assert_eq!(rest["next"], 6);

    assert_eq!(
        get(&node, "/echo/messages/body?seq=3").await,
        (
            StatusCode::OK,
            json!({ "seq": 3, "name": "libprocess.testing.Ping", "from": probe.pid().to_string(),
                    "to": echo.pid().to_string(), "direction": "in", "body": { "seq": 2 } })
        )
    );
    let (status, pong) = get(&node, "/echo/messages/body?seq=2").await;
    assert_eq!(
        (status, pong["body"].clone(), pong["undecodable"].clone()),
        (StatusCode::OK, Value::Null, json!(true))
    );
    assert_eq!(get(&node, "/echo/messages/body?seq=99").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&node, "/echo/messages?after=x").await.0, StatusCode::BAD_REQUEST);
    node.shutdown().await;
}
