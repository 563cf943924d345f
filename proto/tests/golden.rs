//! Golden-bytes tests: our protobuf encoding equals what Apache Mesos's own
//! generated code produces, and our descriptors equal Mesos's schema.
//!
//! The golden files under `tests/golden/` were written by `make_golden.py` with
//! Google's Python protobuf runtime: package `mesos` through Mesos 1.11's
//! generated `mesos_pb2` (PyPI mesos.interface 1.11.0), the other packages through
//! Mesos 1.11.0's .proto sources compiled by Google's protoc. `scripts/test.sh`
//! regenerates what the installed package can and checks it is unchanged.

use std::path::PathBuf;

use mesos_proto::json::{from_json, to_json};
use mesos_proto::mesos;
use prost::Message;
use prost_reflect::ReflectMessage;
use serde_json::Value;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn case_json(name: &str) -> Value {
    let text = std::fs::read_to_string(golden_dir().join("cases.json")).expect("cases.json");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("cases.json is JSON");
    cases
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))["json"]
        .clone()
}

/// Checks one golden case for message type `M`; returns the decoded message.
fn check<M: ReflectMessage + Message + Default + PartialEq>(name: &str, type_name: &str) -> M {
    let golden = std::fs::read(golden_dir().join(format!("{name}.bin"))).expect("golden .bin");
    assert_eq!(M::default().descriptor().full_name(), type_name);

    // 1. The same content, parsed from Mesos-style JSON by us, encodes to
    //    exactly Mesos's bytes.
    let parsed: M = from_json(&case_json(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(parsed.encode_to_vec(), golden, "{name}: encoding differs from Mesos's");

    // 2. Mesos's bytes decode into our type and re-encode unchanged.
    let decoded = M::decode(golden.as_slice()).expect("decodes");
    assert_eq!(decoded.encode_to_vec(), golden, "{name}: re-encoding differs");
    assert!(decoded == parsed, "{name}: decoded differs from parsed");

    // 3. Our JSON rendering parses back to the same message's bytes. (Fields
    //    with declared defaults are rendered, so presence may grow; the
    //    second render must be a fixed point.)
    let rendered = to_json(&decoded);
    let reparsed: M = from_json(&rendered).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(to_json(&reparsed), rendered, "{name}: JSON round trip not stable");
    decoded
}

/// FrameworkInfo (roles, capabilities, labels, an offer_filters map) encodes like Mesos.
#[test]
fn framework_info() {
    let info: mesos::FrameworkInfo = check("framework_info", "mesos.FrameworkInfo");
    assert_eq!(info.roles, ["web", "batch/nightly"]);
    assert!(info.checkpoint());
}

/// TaskInfo with scalar/ranges resources, reservations, command, health check,
/// container and bytes data encodes like Mesos.
#[test]
fn task_info() {
    let task: mesos::TaskInfo = check("task_info", "mesos.TaskInfo");
    assert_eq!(task.resources.len(), 3);
    assert_eq!(task.data.as_deref(), Some(&b"hello world"[..]));
}

/// TaskStatus with state, source, reason, uuid, container status and a
/// negative int64 encodes like Mesos.
#[test]
fn task_status() {
    let status: mesos::TaskStatus = check("task_status", "mesos.TaskStatus");
    assert_eq!(status.state(), mesos::TaskState::TaskRunning);
    assert_eq!(status.reason(), mesos::task_status::Reason::TaskHealthCheckStatusUpdated);
    assert_eq!(status.unreachable_time.as_ref().map(|t| t.nanoseconds), Some(-1));
}

/// Offer with attributes of every type, disk info, shared/revocable resources,
/// URL and domain encodes like Mesos.
#[test]
fn offer() {
    let offer: mesos::Offer = check("offer", "mesos.Offer");
    assert_eq!(offer.attributes.len(), 4);
}

/// SlaveInfo encodes like Mesos.
#[test]
fn slave_info() {
    check::<mesos::SlaveInfo>("slave_info", "mesos.SlaveInfo");
}

/// MasterInfo (uint32 ip, capabilities) encodes like Mesos.
#[test]
fn master_info() {
    check::<mesos::MasterInfo>("master_info", "mesos.MasterInfo");
}

/// Offer.Operation LAUNCH_GROUP with an executor and a task group encodes like Mesos.
#[test]
fn operation_launch_group() {
    check::<mesos::offer::Operation>("operation_launch_group", "mesos.Offer.Operation");
}

/// v1 scheduler Call SUBSCRIBE encodes like Mesos.
#[test]
fn v1_call_subscribe() {
    check::<mesos::v1::scheduler::Call>("v1_call_subscribe", "mesos.v1.scheduler.Call");
}

/// v1 scheduler Call ACCEPT with a LAUNCH operation and task limits (a map) encodes like Mesos.
#[test]
fn v1_call_accept() {
    check::<mesos::v1::scheduler::Call>("v1_call_accept", "mesos.v1.scheduler.Call");
}

/// v1 scheduler Call ACKNOWLEDGE encodes like Mesos.
#[test]
fn v1_call_acknowledge() {
    check::<mesos::v1::scheduler::Call>("v1_call_acknowledge", "mesos.v1.scheduler.Call");
}

/// v1 scheduler Event OFFERS encodes like Mesos.
#[test]
fn v1_event_offers() {
    check::<mesos::v1::scheduler::Event>("v1_event_offers", "mesos.v1.scheduler.Event");
}

/// v1 scheduler Event UPDATE encodes like Mesos.
#[test]
fn v1_event_update() {
    check::<mesos::v1::scheduler::Event>("v1_event_update", "mesos.v1.scheduler.Event");
}

/// v1 executor Call UPDATE encodes like Mesos.
#[test]
fn v1_executor_call_update() {
    check::<mesos::v1::executor::Call>("v1_executor_call_update", "mesos.v1.executor.Call");
}

/// v1 operator Call GET_METRICS (a google.protobuf.Duration field) encodes like Mesos.
#[test]
fn v1_master_call_get_metrics() {
    check::<mesos::v1::master::Call>("v1_master_call_get_metrics", "mesos.v1.master.Call");
}

/// RegisterSlaveMessage encodes like Mesos.
#[test]
fn register_slave_message() {
    check::<mesos::internal::RegisterSlaveMessage>(
        "register_slave_message",
        "mesos.internal.RegisterSlaveMessage",
    );
}

/// ReregisterSlaveMessage with tasks and frameworks encodes like Mesos.
#[test]
fn reregister_slave_message() {
    check::<mesos::internal::ReregisterSlaveMessage>(
        "reregister_slave_message",
        "mesos.internal.ReregisterSlaveMessage",
    );
}

/// StatusUpdateMessage encodes like Mesos.
#[test]
fn status_update_message() {
    check::<mesos::internal::StatusUpdateMessage>(
        "status_update_message",
        "mesos.internal.StatusUpdateMessage",
    );
}

/// RunTaskMessage encodes like Mesos.
#[test]
fn run_task_message() {
    check::<mesos::internal::RunTaskMessage>("run_task_message", "mesos.internal.RunTaskMessage");
}

/// PingSlaveMessage encodes like Mesos.
#[test]
fn ping_slave_message() {
    check::<mesos::internal::PingSlaveMessage>(
        "ping_slave_message",
        "mesos.internal.PingSlaveMessage",
    );
}

/// The registry (agents admitted/unreachable/gone, weights, quota configs)
/// encodes like Mesos.
#[test]
fn registry() {
    check::<mesos::internal::Registry>("registry", "mesos.internal.Registry");
}
