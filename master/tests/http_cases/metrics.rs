//! `/metrics/snapshot`: Mesos's master metric names, and values that follow the state.

use mesos_proto::mesos::TaskState;

use super::support::{Scene, TcpMaster, get, parse_prometheus};

/// Every Mesos master metric this master reports (Mesos: src/master/metrics.cpp).
const NAMES: &[&str] = &[
    "master/uptime_secs",
    "master/elected",
    "master/slaves_active",
    "master/slaves_inactive",
    "master/slaves_connected",
    "master/slaves_disconnected",
    "master/slaves_unreachable",
    "master/frameworks_active",
    "master/frameworks_inactive",
    "master/frameworks_connected",
    "master/frameworks_disconnected",
    "master/outstanding_offers",
    "master/tasks_staging",
    "master/tasks_starting",
    "master/tasks_running",
    "master/tasks_killing",
    "master/tasks_finished",
    "master/tasks_failed",
    "master/tasks_killed",
    "master/tasks_lost",
    "master/tasks_error",
    "master/tasks_dropped",
    "master/tasks_unreachable",
    "master/tasks_gone",
    "master/valid_status_updates",
    "master/invalid_status_updates",
    "master/slave_registrations",
    "master/slave_reregistrations",
    "master/slave_removals",
    "master/dropped_messages",
    "master/messages_register_slave",
    "master/messages_status_update",
    "master/messages_launch_tasks",
    "master/cpus_total",
    "master/cpus_used",
    "master/cpus_percent",
    "master/mem_total",
    "master/disk_used",
    "master/gpus_revocable_total",
    "allocator/mesos/resources/cpus/total",
    "allocator/mesos/resources/mem/offered_or_allocated",
];

/// An idle master reports every Mesos name, elected, with nothing registered.
#[actix_rt::test]
async fn names_on_an_idle_master() {
    let master = TcpMaster::start(|_| {});
    let metrics = get(master.address, "/metrics/snapshot").await;
    assert_eq!(metrics.status, 200);
    let metrics = metrics.json();
    for name in NAMES {
        assert!(metrics.get(name).is_some_and(|v| v.is_number()), "missing {name}");
    }
    assert_eq!(metrics["master/elected"].as_f64(), Some(1.0));
    assert_eq!(metrics["master/slaves_active"].as_f64(), Some(0.0));
    assert_eq!(metrics["master/frameworks_active"].as_f64(), Some(0.0));
    assert!(metrics["master/uptime_secs"].as_f64().is_some_and(|u| u >= 0.0));
}

/// The gauges follow the state at once, with no `/state` request in between: agents,
/// frameworks, offers, running and finished tasks, resources and status-update counts.
#[actix_rt::test]
async fn values_follow_the_state() {
    let mut scene = Scene::start().await;
    let address = scene.master.address;
    let value =
        |metrics: &serde_json::Value, name: &str| metrics[name].as_f64().unwrap_or(f64::NAN);
    let metrics = get(address, "/metrics/snapshot").await.json();
    assert_eq!(value(&metrics, "master/slaves_active"), 1.0);
    assert_eq!(value(&metrics, "master/slaves_connected"), 1.0);
    assert_eq!(value(&metrics, "master/frameworks_active"), 1.0);
    assert_eq!(value(&metrics, "master/frameworks_connected"), 1.0);
    assert_eq!(value(&metrics, "master/outstanding_offers"), 1.0);
    assert_eq!(value(&metrics, "master/slave_registrations"), 1.0);
    assert_eq!(value(&metrics, "master/cpus_total"), 4.0);
    assert_eq!(value(&metrics, "master/cpus_used"), 0.0);
    assert_eq!(value(&metrics, "allocator/mesos/resources/cpus/offered_or_allocated"), 4.0);

    scene.launch(&[("run", "cpus:1;mem:128"), ("done", "cpus:1;mem:128")]).await;
    scene.report("run", TaskState::TaskRunning, 1.0).await;
    scene.report("done", TaskState::TaskFinished, 2.0).await;
    let metrics = get(address, "/metrics/snapshot").await.json();
    assert_eq!(value(&metrics, "master/tasks_running"), 1.0);
    assert_eq!(value(&metrics, "master/tasks_finished"), 1.0);
    assert_eq!(value(&metrics, "master/tasks_staging"), 0.0);
    assert_eq!(value(&metrics, "master/valid_status_updates"), 2.0);
    assert_eq!(value(&metrics, "master/cpus_used"), 1.0);
    assert_eq!(value(&metrics, "master/cpus_percent"), 0.25);
    assert_eq!(value(&metrics, "master/mem_used"), 128.0);
}

/// `/metrics` is the same figures in the Prometheus text format, as the reference
/// parser reads it: `mesos_` + the sanitised Mesos name, HELP naming the Mesos metric,
/// counters and gauges typed as Mesos declares them (master/metrics.hpp).
#[actix_rt::test]
async fn prometheus_text_parses_with_the_reference_parser() {
    let mut scene = Scene::start().await;
    scene.launch(&[("done", "cpus:1;mem:128")]).await;
    scene.report("done", TaskState::TaskFinished, 2.0).await;
    let response = get(scene.master.address, "/metrics").await;
    assert_eq!(response.status, 200);
    assert!(
        response.header("content-type").is_some_and(|c| c.starts_with("text/plain; version=0.0.4"))
    );
    let families = parse_prometheus(&response.body);
    let snapshot = get(scene.master.address, "/metrics/snapshot").await.json();
    // Every Mesos metric appears, once, under its sanitised name.
    for (name, _) in snapshot.as_object().expect("an object") {
        let family = format!("mesos_{}", name.replace(['/', '.', '-'], "_"));
        assert!(families.get(&family).is_some(), "{name} missing as {family}");
        assert_eq!(families[&family]["help"], format!("Mesos metric {name}"));
    }
    let kind = |family: &str| families[family]["type"].as_str().unwrap_or("").to_string();
    let value = |family: &str| {
        families[family]["samples"][0][1].as_str().and_then(|v| v.parse::<f64>().ok())
    };
    for counter in [
        "mesos_master_tasks_finished",
        "mesos_master_valid_status_updates",
        "mesos_master_slave_registrations",
        "mesos_master_messages_register_slave",
        "mesos_master_dropped_messages",
    ] {
        assert_eq!(kind(counter), "counter", "{counter}");
    }
    for gauge in [
        "mesos_master_tasks_running",
        "mesos_master_tasks_unreachable",
        "mesos_master_elected",
        "mesos_master_cpus_percent",
        "mesos_master_uptime_secs",
        "mesos_allocator_mesos_resources_cpus_total",
    ] {
        assert_eq!(kind(gauge), "gauge", "{gauge}");
    }
    assert_eq!(value("mesos_master_tasks_finished"), Some(1.0));
    assert_eq!(value("mesos_master_cpus_total"), Some(4.0));
    assert_eq!(value("mesos_master_elected"), Some(1.0));
}

/// The master's event queue sizes (read from its mailbox; zero on an idle master) and
/// the registrar's figures (Mesos: master/metrics.cpp `event_queue_*`,
/// registrar.cpp `registrar/*`): the admission of the agent and the master's recovery
/// were committed, so the commit latency has its last value and its percentiles, nothing
/// is queued, the registry has a size and its read at election was timed. Prometheus
/// has them as gauges.
#[actix_rt::test]
async fn event_queues_and_registrar_figures() {
    let scene = Scene::start().await;
    let metrics = get(scene.master.address, "/metrics/snapshot").await.json();
    let value = |name: &str| metrics[name].as_f64();
    for name in [
        "master/event_queue_messages",
        "master/event_queue_dispatches",
        "master/event_queue_http_requests",
    ] {
        assert_eq!(value(name), Some(0.0), "{name}");
    }
    assert!(value("registrar/state_store_ms").is_some_and(|ms| ms >= 0.0));
    assert!(value("registrar/state_store_ms/count").is_some_and(|n| n >= 2.0), "{metrics}");
    for statistic in ["min", "max", "p50", "p90", "p95", "p99", "p999", "p9999"] {
        let name = format!("registrar/state_store_ms/{statistic}");
        assert!(value(&name).is_some_and(|ms| ms >= 0.0), "{name}");
    }
    assert_eq!(value("registrar/queued_operations"), Some(0.0));
    assert!(value("registrar/registry_size_bytes").is_some_and(|bytes| bytes > 0.0));
    assert!(value("registrar/state_fetch_ms").is_some_and(|ms| ms >= 0.0));

    let families = parse_prometheus(&get(scene.master.address, "/metrics").await.body);
    for family in [
        "mesos_master_event_queue_messages",
        "mesos_master_event_queue_dispatches",
        "mesos_master_event_queue_http_requests",
        "mesos_registrar_state_store_ms",
        "mesos_registrar_state_store_ms_p99",
        "mesos_registrar_queued_operations",
        "mesos_registrar_registry_size_bytes",
    ] {
        assert_eq!(families[family]["type"], "gauge", "{family}");
    }
}
