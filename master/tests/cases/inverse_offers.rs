//! Inverse offers for maintenance, on the simulated network with the paused clock.
//! Ports of the inverse offer scenarios of Mesos's `MasterMaintenanceTest`
//! (src/tests/master_maintenance_tests.cpp): `InverseOffers`, `InverseOffersFilters`,
//! `AcceptInvalidInverseOffer`, and the rescinds of master.cpp `updateUnavailability`,
//! `deactivate` and `inverseOfferTimeout`.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use mesos_proto::mesos::{self, scheduler};
use serde_json::{Value, json};

use super::support::{Cluster, FakeAgent, FakeScheduler, SchedMsg, agent_framework_offer, task};

async fn call(cluster: &Cluster, body: Value) -> (StatusCode, Value) {
    let request = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1")
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    let response = cluster.node.handle_http(request).await;
    let status = response.status();
    let body = response.into_body().into_bytes().await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn machine(agent: &FakeAgent) -> Value {
    let ip = agent.pid().address().ip().to_string();
    json!({"hostname": format!("host-{ip}"), "ip": ip})
}

/// Schedules the agent's machine: unavailable from `start_secs` for an hour.
async fn schedule(cluster: &Cluster, agent: &FakeAgent, start_secs: i64) {
    let body = json!({"type": "UPDATE_MAINTENANCE_SCHEDULE",
        "update_maintenance_schedule": {"schedule": {"windows": [{
            "machine_ids": [machine(agent)],
            "unavailability": {"start": {"nanoseconds": start_secs * 1_000_000_000},
                               "duration": {"nanoseconds": 3_600_000_000_000_i64}}}]}}});
    assert_eq!(call(cluster, body).await.0, StatusCode::OK);
    cluster.settle().await;
}

/// The draining machines' inverse offer statuses (GET_MAINTENANCE_STATUS).
async fn statuses(cluster: &Cluster) -> Vec<Value> {
    let (status, body) = call(cluster, json!({"type": "GET_MAINTENANCE_STATUS"})).await;
    assert_eq!(status, StatusCode::OK);
    let machines = &body["get_maintenance_status"]["status"]["draining_machines"];
    assert_eq!(machines.as_array().map(Vec::len), Some(1), "{body}");
    machines[0]["statuses"].as_array().cloned().unwrap_or_default()
}

/// Inverse offers received so far (drains).
fn inverse_offers(scheduler: &mut FakeScheduler) -> Vec<mesos::InverseOffer> {
    scheduler
        .drain()
        .into_iter()
        .flat_map(|m| match m {
            SchedMsg::InverseOffers(m) => m.inverse_offers,
            _ => Vec::new(),
        })
        .collect()
}

/// Inverse offer ids rescinded so far (drains).
fn rescinded(scheduler: &mut FakeScheduler) -> Vec<mesos::OfferId> {
    scheduler
        .drain()
        .into_iter()
        .filter_map(|m| match m {
            SchedMsg::RescindInverseOffer(r) => Some(r.inverse_offer_id),
            _ => None,
        })
        .collect()
}

fn answer(scheduler: &FakeScheduler, accept: bool, id: &mesos::OfferId, refuse_seconds: f64) {
    use scheduler::call::{AcceptInverseOffers, DeclineInverseOffers, Type};
    let filters = Some(mesos::Filters { refuse_seconds: Some(refuse_seconds) });
    let ids = vec![id.clone()];
    let mut call = scheduler::Call::default();
    if accept {
        call.set_type(Type::AcceptInverseOffers);
        call.accept_inverse_offers = Some(AcceptInverseOffers { inverse_offer_ids: ids, filters });
    } else {
        call.set_type(Type::DeclineInverseOffers);
        call.decline_inverse_offers =
            Some(DeclineInverseOffers { inverse_offer_ids: ids, filters });
    }
    scheduler.call(call);
}

/// One agent on a scheduled machine, one framework running a task there; returns the
/// framework's first inverse offer.
async fn running_on_scheduled_agent(
    cluster: &Cluster,
) -> (FakeAgent, FakeScheduler, mesos::InverseOffer) {
    let (agent, mut scheduler, offer) = agent_framework_offer(cluster, "cpus:2;mem:1024").await;
    scheduler.accept(vec![offer.id.clone()], vec![task("t1", &offer, "cpus:1;mem:128")], 0.0);
    cluster.settle().await;
    scheduler.drain();
    schedule(cluster, &agent, 60).await;
    cluster.advance(Duration::from_secs(1)).await;
    let mut received = inverse_offers(&mut scheduler);
    assert_eq!(received.len(), 1, "one inverse offer for the one agent");
    (agent, scheduler, received.remove(0))
}

/// `MasterMaintenanceTest.InverseOffers`: a framework offered an agent on a scheduled
/// machine gets its offers with the unavailability and one inverse offer for the agent
/// (no resources, the window's unavailability, the agent's URL); no answer is in the
/// status yet. It declines (filter 0): the next round asks again and the status says
/// DECLINE; it accepts: asked again, status ACCEPT.
#[actix_rt::test]
async fn inverse_offers_answered() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    schedule(&cluster, &agent, 60).await;
    assert!(statuses(&cluster).await.is_empty());

    let mut scheduler = cluster.scheduler();
    let framework_id = scheduler.subscribe(&cluster, super::support::framework_info("fw")).await;
    cluster.settle().await;
    let messages = scheduler.drain();
    let offers: Vec<&mesos::Offer> = messages
        .iter()
        .flat_map(|m| if let SchedMsg::Offers(o) = m { o.offers.iter().collect() } else { vec![] })
        .collect();
    assert_eq!(offers.len(), 1, "{messages:?}");
    assert!(offers[0].unavailability.is_some(), "offers carry the unavailability");
    let inverse: Vec<&mesos::InverseOffer> = messages
        .iter()
        .flat_map(|m| match m {
            SchedMsg::InverseOffers(o) => o.inverse_offers.iter().collect(),
            _ => vec![],
        })
        .collect();
    assert_eq!(inverse.len(), 1, "{messages:?}");
    let first = inverse[0].clone();
    assert_eq!(first.slave_id, agent.id);
    assert_eq!(first.framework_id, framework_id);
    assert!(first.resources.is_empty(), "the whole agent");
    assert_eq!(first.unavailability.start.nanoseconds, 60_000_000_000);
    let url = first.url.clone().expect("the agent's url");
    assert_eq!(url.path.as_deref(), Some("/slave(1)"));
    assert_ne!(first.id, offers[0].id, "offer and inverse offer ids never collide");
    let (_, frameworks) = call(&cluster, json!({"type": "GET_FRAMEWORKS"})).await;
    let listed = &frameworks["get_frameworks"]["frameworks"][0]["inverse_offers"];
    assert_eq!(listed[0]["id"]["value"], json!(first.id.value), "GET_FRAMEWORKS lists it");

    answer(&scheduler, false, &first.id, 0.0);
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    let again = inverse_offers(&mut scheduler);
    assert_eq!(again.len(), 1, "asked again after a decline without a filter");
    let listed = statuses(&cluster).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], "DECLINE");
    assert_eq!(listed[0]["framework_id"]["value"], framework_id.value);

    answer(&scheduler, true, &again[0].id, 0.0);
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    assert_eq!(inverse_offers(&mut scheduler).len(), 1, "asked again after an accept");
    let listed = statuses(&cluster).await;
    assert_eq!(listed.len(), 1, "one answer per framework: the latest");
    assert_eq!(listed[0]["status"], "ACCEPT");
}

/// `MasterMaintenanceTest.InverseOffersFilters`: an answer's `refuse_seconds` keeps the
/// framework from being asked again about that agent until it passes; reviving offers
/// lifts it, as Mesos's `reviveOffers` clears inverse offer filters.
#[actix_rt::test]
async fn inverse_offers_filters() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, first) = running_on_scheduled_agent(&cluster).await;
    answer(&scheduler, true, &first.id, 10.0);
    cluster.settle().await;
    cluster.advance(Duration::from_secs(5)).await;
    assert!(inverse_offers(&mut scheduler).is_empty(), "filtered for 10 s");
    cluster.advance(Duration::from_secs(6)).await;
    let again = inverse_offers(&mut scheduler);
    assert_eq!(again.len(), 1, "asked again once the filter expired");

    answer(&scheduler, false, &again[0].id, 1000.0);
    cluster.settle().await;
    cluster.advance(Duration::from_secs(5)).await;
    assert!(inverse_offers(&mut scheduler).is_empty(), "filtered");
    let mut revive = scheduler::Call::default();
    revive.set_type(scheduler::call::Type::Revive);
    scheduler.call(revive);
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    assert_eq!(inverse_offers(&mut scheduler).len(), 1, "REVIVE clears the filter");
}

/// `MasterMaintenanceTest.AcceptInvalidInverseOffer`: answers naming unknown inverse
/// offers (or none) are ignored; the framework stays subscribed and hears nothing.
#[actix_rt::test]
async fn accept_invalid_inverse_offer() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, first) = running_on_scheduled_agent(&cluster).await;
    let bogus = mesos::OfferId { value: "invalid-inverse-offer".into() };
    answer(&scheduler, true, &bogus, 0.0);
    answer(&scheduler, false, &bogus, 0.0);
    let mut empty = scheduler::Call::default();
    empty.set_type(scheduler::call::Type::AcceptInverseOffers);
    empty.accept_inverse_offers = Some(Default::default());
    scheduler.call(empty);
    cluster.settle().await;
    let heard = scheduler.drain();
    assert!(!heard.iter().any(|m| matches!(m, SchedMsg::Error(_))), "{heard:?}");
    assert!(statuses(&cluster).await.is_empty(), "no answer recorded");
    let outstanding = cluster.inspect(|core| core.inverse_offers().count()).await;
    assert_eq!(outstanding, 1, "the real inverse offer is still outstanding");
    answer(&scheduler, true, &first.id, 0.0);
    cluster.settle().await;
    assert_eq!(statuses(&cluster).await.len(), 1);
}

/// A new schedule for the machine rescinds its offers and inverse offers and forgets
/// the answers; the next round sends an inverse offer with the new window (Mesos:
/// master.cpp `updateUnavailability`). Leaving the schedule rescinds them too, and no
/// more come.
#[actix_rt::test]
async fn rescheduling_rescinds_inverse_offers() {
    let cluster = Cluster::start(|_| {});
    let (agent, mut scheduler, first) = running_on_scheduled_agent(&cluster).await;
    answer(&scheduler, false, &first.id, 0.0);
    cluster.settle().await;
    cluster.advance(Duration::from_secs(1)).await;
    let second = inverse_offers(&mut scheduler).remove(0);
    assert_eq!(statuses(&cluster).await.len(), 1);

    schedule(&cluster, &agent, 120).await;
    assert!(statuses(&cluster).await.is_empty(), "answers are forgotten");
    cluster.advance(Duration::from_secs(1)).await;
    let messages = scheduler.drain();
    let rescinds: Vec<&mesos::OfferId> = messages
        .iter()
        .filter_map(|m| match m {
            SchedMsg::RescindInverseOffer(r) => Some(&r.inverse_offer_id),
            _ => None,
        })
        .collect();
    assert_eq!(rescinds, vec![&second.id], "{messages:?}");
    let third: Vec<&mesos::InverseOffer> = messages
        .iter()
        .flat_map(|m| match m {
            SchedMsg::InverseOffers(o) => o.inverse_offers.iter().collect(),
            _ => vec![],
        })
        .collect();
    assert_eq!(third.len(), 1, "{messages:?}");
    assert_eq!(third[0].unavailability.start.nanoseconds, 120_000_000_000);

    let empty = json!({"type": "UPDATE_MAINTENANCE_SCHEDULE",
        "update_maintenance_schedule": {"schedule": {"windows": []}}});
    assert_eq!(call(&cluster, empty).await.0, StatusCode::OK);
    cluster.settle().await;
    assert_eq!(rescinded(&mut scheduler), vec![third[0].id.clone()]);
    cluster.advance(Duration::from_secs(3)).await;
    assert!(inverse_offers(&mut scheduler).is_empty(), "no longer scheduled");
}

/// Deactivating the agent rescinds its inverse offers (Mesos: master.cpp
/// `deactivate(Slave*)`); none come while it is deactivated.
#[actix_rt::test]
async fn deactivating_the_agent_rescinds_inverse_offers() {
    let cluster = Cluster::start(|_| {});
    let (agent, mut scheduler, first) = running_on_scheduled_agent(&cluster).await;
    let id = agent.id.clone().unwrap().value;
    let body = json!({"type": "DEACTIVATE_AGENT", "deactivate_agent": {"agent_id": {"value": id}}});
    assert_eq!(call(&cluster, body).await.0, StatusCode::OK);
    cluster.settle().await;
    assert_eq!(rescinded(&mut scheduler), vec![first.id]);
    cluster.advance(Duration::from_secs(3)).await;
    assert!(inverse_offers(&mut scheduler).is_empty(), "none for a deactivated agent");
}

/// `--offer_timeout` rescinds an unanswered inverse offer, and the allocator asks again
/// (Mesos: master.cpp `inverseOfferTimeout`).
#[actix_rt::test]
async fn inverse_offer_timeout() {
    let cluster = Cluster::start(|o| o.offer_timeout = Some(Duration::from_secs(30)));
    let (_agent, mut scheduler, first) = running_on_scheduled_agent(&cluster).await;
    cluster.advance(Duration::from_secs(20)).await;
    assert!(rescinded(&mut scheduler).is_empty());
    cluster.advance(Duration::from_secs(10)).await;
    let messages = scheduler.drain();
    assert!(
        messages.iter().any(
            |m| matches!(m, SchedMsg::RescindInverseOffer(r) if r.inverse_offer_id == first.id)
        ),
        "{messages:?}"
    );
    cluster.advance(Duration::from_secs(1)).await;
    let asked = messages.iter().filter(|m| matches!(m, SchedMsg::InverseOffers(_))).count();
    assert_eq!(asked + inverse_offers(&mut scheduler).len(), 1, "asked again");
}

async fn post_scheduler(cluster: &Cluster, headers: &[(&str, &str)], body: Value) -> StatusCode {
    let mut request = http::Request::builder().method(Method::POST).uri("/api/v1/scheduler");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Bytes::from(body.to_string())).unwrap();
    cluster.node.handle_http(request).await.status()
}

/// The next event of type `kind` on a v1 scheduler stream (skipping others).
async fn next_event(response: &mut libprocess::http::Response, kind: &str) -> Value {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        while let Some(newline) = buffer.iter().position(|b| *b == b'\n') {
            let length: usize = std::str::from_utf8(&buffer[..newline]).unwrap().parse().unwrap();
            if buffer.len() < newline + 1 + length {
                break;
            }
            let record: Vec<u8> = buffer.drain(..newline + 1 + length).skip(newline + 1).collect();
            let event: Value = serde_json::from_slice(&record).unwrap();
            if event["type"] == kind {
                return event;
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(20), response.body_mut().next_chunk())
            .await
            .expect("an event in time")
            .expect("stream still open");
        buffer.extend_from_slice(&chunk);
    }
}

/// A v1 HTTP framework (Mesos's `InverseOffers` test drives one): INVERSE_OFFERS comes
/// on its stream in v1 JSON, DECLINE_INVERSE_OFFERS is `202 Accepted` and recorded,
/// and a new schedule brings RESCIND_INVERSE_OFFER.
#[actix_rt::test]
async fn v1_http_framework_gets_and_answers_inverse_offers() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:2;mem:1024");
    agent.register(&cluster).await;
    schedule(&cluster, &agent, 60).await;
    let subscribe = json!({"type": "SUBSCRIBE",
        "subscribe": {"framework_info": {"user": "test", "name": "http"}}});
    let request = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/scheduler")
        .header("content-type", "application/json")
        .body(Bytes::from(subscribe.to_string()))
        .unwrap();
    let mut stream = cluster.node.handle_http(request).await;
    let stream_id = stream.headers()["mesos-stream-id"].to_str().unwrap().to_string();
    let subscribed = next_event(&mut stream, "SUBSCRIBED").await;
    let framework_id = subscribed["subscribed"]["framework_id"].clone();
    cluster.settle().await;
    let offers = next_event(&mut stream, "OFFERS").await;
    assert!(offers["offers"]["offers"][0]["unavailability"]["start"].is_object());
    let inverse = next_event(&mut stream, "INVERSE_OFFERS").await;
    let offer = inverse["inverse_offers"]["inverse_offers"][0].clone();
    assert_eq!(offer["agent_id"]["value"], json!(agent.id.clone().unwrap().value));
    assert_eq!(offer["unavailability"]["start"]["nanoseconds"], 60_000_000_000_i64);

    let headers = [("content-type", "application/json"), ("mesos-stream-id", stream_id.as_str())];
    let decline = json!({"framework_id": framework_id, "type": "DECLINE_INVERSE_OFFERS",
        "decline_inverse_offers": {"inverse_offer_ids": [offer["id"]],
                                   "filters": {"refuse_seconds": 0}}});
    assert_eq!(post_scheduler(&cluster, &headers, decline).await, StatusCode::ACCEPTED);
    cluster.settle().await;
    let listed = statuses(&cluster).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], "DECLINE");

    cluster.advance(Duration::from_secs(1)).await;
    let again = next_event(&mut stream, "INVERSE_OFFERS").await;
    let again_id = again["inverse_offers"]["inverse_offers"][0]["id"].clone();
    schedule(&cluster, &agent, 120).await;
    let rescind = next_event(&mut stream, "RESCIND_INVERSE_OFFER").await;
    assert_eq!(rescind["rescind_inverse_offer"]["inverse_offer_id"], again_id);
}
