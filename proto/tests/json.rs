//! JSON mapping tests: the request and event bodies shown in Apache Mesos 1.11's
//! docs/scheduler-http-api.md and docs/executor-http-api.md (Apache-2.0) parse
//! into our types and render back to the same JSON; bad input gives clear errors.

use mesos_proto::json::{JsonError, from_json, from_json_str, to_json};
use mesos_proto::mesos::v1::{self, executor, scheduler};
use prost::Message;
use prost_reflect::Kind;
use serde_json::Value;

enum Api {
    SchedulerCall,
    SchedulerEvent,
    ExecutorCall,
    ExecutorEvent,
}

/// The example bodies of the Mesos docs, in the order they appear there.
const DOC_EXAMPLES: &[(&str, Api, &str)] = &[
    (
        "scheduler_call_subscribe_0",
        Api::SchedulerCall,
        r#"{"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "foo", "name": "Example HTTP Framework", "roles": ["test1", "test2"], "capabilities": [{"type": "MULTI_ROLE"}]}, "suppressed_roles": ["test2"], "offer_constraints": {"role_constraints": {"test1": {"groups": [{"attribute_constraints": [{"selector": {"attribute_name": "foo"}, "predicate": {"exists": {}}}]}]}}}}}"#,
    ),
    (
        "scheduler_call_teardown_1",
        Api::SchedulerCall,
        r#"{"framework_id": {"value": "12220-3440-12532-2345"}, "type": "TEARDOWN"}"#,
    ),
    (
        "scheduler_call_accept_2",
        Api::SchedulerCall,
        r#"{"framework_id": {"value": "12220-3440-12532-2345"}, "type": "ACCEPT", "accept": {"offer_ids": [{"value": "12220-3440-12532-O12"}], "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{"name": "My Task", "task_id": {"value": "12220-3440-12532-my-task"}, "agent_id": {"value": "12220-3440-12532-S1233"}, "executor": {"command": {"shell": true, "value": "sleep 1000"}, "executor_id": {"value": "12214-23523-my-executor"}}, "resources": [{"allocation_info": {"role": "engineering"}, "name": "cpus", "role": "*", "type": "SCALAR", "scalar": {"value": 1.0}}, {"allocation_info": {"role": "engineering"}, "name": "mem", "role": "*", "type": "SCALAR", "scalar": {"value": 128.0}}], "limits": {"cpus": "Infinity", "mem": 512.0}}]}}], "filters": {"refuse_seconds": 5.0}}}"#,
    ),
    (
        "scheduler_call_decline_3",
        Api::SchedulerCall,
        r#"{"framework_id": {"value": "12220-3440-12532-2345"}, "type": "DECLINE", "decline": {"offer_ids": [{"value": "12220-3440-12532-O12"}, {"value": "12220-3440-12532-O13"}], "filters": {"refuse_seconds": 5.0}}}"#,
    ),
    (
        "scheduler_call_kill_4",
        Api::SchedulerCall,
        r#"{"framework_id": {"value": "12220-3440-12532-2345"}, "type": "KILL", "kill": {"task_id": {"value": "12220-3440-12532-my-task"}, "agent_id": {"value": "12220-3440-12532-S1233"}}}"#,
    ),
    (
        "scheduler_call_shutdown_5",
        Api::SchedulerCall,
        r#"{"framework_id": {"value": "12220-3440-12532-2345"}, "type": "SHUTDOWN", "shutdown": {"executor_id": {"value": "123450-2340-1232-my-executor"}, "agent_id": {"value": "12220-3440-12532-S1233"}}}"#,
    ),
    (
        "scheduler_call_acknowledge_6",
        Api::SchedulerCall,
        r#"{"framework_id": {"value": "12220-3440-12532-2345"}, "type": "ACKNOWLEDGE", "acknowledge": {"agent_id": {"value": "12220-3440-12532-S1233"}, "task_id": {"value": "12220-3440-12532-my-task"}, "uuid": "jhadf73jhakdlfha723adf"}}"#,
    ),
    (
        "scheduler_call_acknowledge_operation_status_7",
        Api::SchedulerCall,
        r#"{"framework_id": {"value": "12220-3440-12532-2345"}, "type": "ACKNOWLEDGE_OPERATION_STATUS", "acknowledge_operation_status": {"agent_id": {"value": "12220-3440-12532-S1233"}, "resource_provider_id": {"value": "12220-3440-12532-rp"}, "uuid": "jhadf73jhakdlfha723adf", "operation_id": "73jhakdlfha723adf"}}"#,
    ),
    (
        "scheduler_call_reconcile_8",
        Api::SchedulerCall,
        r#"{"framework_id": {"value": "12220-3440-12532-2345"}, "type": "RECONCILE", "reconcile": {"tasks": [{"task_id": {"value": "312325"}, "agent_id": {"value": "123535"}}]}}"#,
    ),
    (
        "scheduler_call_reconcile_operations_9",
        Api::SchedulerCall,
        r#"{"framework_id": {"value": "12220-3440-12532-2345"}, "type": "RECONCILE_OPERATIONS", "reconcile_operations": {"operations": [{"operation_id": {"value": "312325"}, "agent_id": {"value": "123535"}, "resource_provider_id": {"value": "927695"}}]}}"#,
    ),
    (
        "scheduler_call_message_10",
        Api::SchedulerCall,
        r#"{"framework_id": {"value": "12220-3440-12532-2345"}, "type": "MESSAGE", "message": {"agent_id": {"value": "12220-3440-12532-S1233"}, "executor_id": {"value": "my-framework-executor"}, "data": "adaf838jahd748jnaldf"}}"#,
    ),
    (
        "scheduler_call_request_11",
        Api::SchedulerCall,
        r#"{"framework_id": {"value": "12220-3440-12532-2345"}, "type": "REQUEST", "requests": [{"agent_id": {"value": "12220-3440-12532-S1233"}, "resources": {}}]}"#,
    ),
    (
        "scheduler_event_offers_12",
        Api::SchedulerEvent,
        r#"{"type": "OFFERS", "offers": [{"allocation_info": {"role": "engineering"}, "id": {"value": "12214-23523-O235235"}, "framework_id": {"value": "12124-235325-32425"}, "agent_id": {"value": "12325-23523-S23523"}, "hostname": "agent.host", "resources": [{"allocation_info": {"role": "engineering"}, "name": "cpus", "type": "SCALAR", "scalar": {"value": 2}, "role": "*"}], "attributes": [{"name": "os", "type": "TEXT", "text": {"value": "ubuntu16.04"}}], "executor_ids": [{"value": "12214-23523-my-executor"}]}]}"#,
    ),
    (
        "scheduler_event_rescind_13",
        Api::SchedulerEvent,
        r#"{"type": "RESCIND", "rescind": {"offer_id": {"value": "12214-23523-O235235"}}}"#,
    ),
    (
        "scheduler_event_update_14",
        Api::SchedulerEvent,
        r#"{"type": "UPDATE", "update": {"status": {"task_id": {"value": "12344-my-task"}, "state": "TASK_RUNNING", "source": "SOURCE_EXECUTOR", "uuid": "adfadfadbhgvjayd23r2uahj", "bytes": "uhdjfhuagdj63d7hadkf"}}}"#,
    ),
    (
        "scheduler_event_update_operation_status_15",
        Api::SchedulerEvent,
        r#"{"type": "UPDATE_OPERATION_STATUS", "update_operation_status": {"status": {"operation_id": {"value": "operation-1234"}, "state": "OPERATION_FAILED", "uuid": "adfadfadbhgvjayd23r2uahj", "agent_id": {"value": "12214-23523-S235235"}, "resource_provider_id": {"value": "83978-17885-1089645"}}}}"#,
    ),
    (
        "scheduler_event_message_16",
        Api::SchedulerEvent,
        r#"{"type": "MESSAGE", "message": {"agent_id": {"value": "12214-23523-S235235"}, "executor_id": {"value": "12214-23523-my-executor"}, "data": "adfadf3t2wa3353dfadf"}}"#,
    ),
    (
        "scheduler_event_failure_17",
        Api::SchedulerEvent,
        r#"{"type": "FAILURE", "failure": {"agent_id": {"value": "12214-23523-S235235"}, "executor_id": {"value": "12214-23523-my-executor"}, "status": 1}}"#,
    ),
    (
        "scheduler_event_error_18",
        Api::SchedulerEvent,
        r#"{"type": "ERROR", "message": "Framework is not authorized"}"#,
    ),
    ("scheduler_event_heartbeat_19", Api::SchedulerEvent, r#"{"type": "HEARTBEAT"}"#),
    (
        "scheduler_call_subscribe_20",
        Api::SchedulerCall,
        r#"{"framework_info": {"user": "foo", "name": "Example HTTP Framework"}, "type": "SUBSCRIBE"}"#,
    ),
    (
        "executor_call_subscribe_21",
        Api::ExecutorCall,
        r#"{"type": "SUBSCRIBE", "executor_id": {"value": "387aa966-8fc5-4428-a794-5a868a60d3eb"}, "framework_id": {"value": "49154f1b-8cf6-4421-bf13-8bd11dccd1f1"}, "subscribe": {"unacknowledged_tasks": [{"name": "dummy-task", "task_id": {"value": "d40f3f3e-bbe3-44af-a230-4cb1eae72f67"}, "agent_id": {"value": "f1c9cdc5-195e-41a7-a0d7-adaa9af07f81"}, "command": {"value": "ls", "arguments": ["-l", "/tmp"]}}], "unacknowledged_updates": [{"framework_id": {"value": "49154f1b-8cf6-4421-bf13-8bd11dccd1f1"}, "status": {"source": "SOURCE_EXECUTOR", "task_id": {"value": "d40f3f3e-bbe3-44af-a230-4cb1eae72f67"}, "state": "TASK_RUNNING", "uuid": "ZDQwZjNmM2UtYmJlMy00NGFmLWEyMzAtNGNiMWVhZTcyZjY3Cg=="}}]}}"#,
    ),
    (
        "executor_call_update_22",
        Api::ExecutorCall,
        r#"{"executor_id": {"value": "387aa966-8fc5-4428-a794-5a868a60d3eb"}, "framework_id": {"value": "9aaa9d0d-e00d-444f-bfbd-23dd197939a0-0000"}, "type": "UPDATE", "update": {"status": {"executor_id": {"value": "387aa966-8fc5-4428-a794-5a868a60d3eb"}, "source": "SOURCE_EXECUTOR", "state": "TASK_RUNNING", "task_id": {"value": "66724cec-2609-4fa0-8d93-c5fb2099d0f8"}, "uuid": "ZDQwZjNmM2UtYmJlMy00NGFmLWEyMzAtNGNiMWVhZTcyZjY3Cg=="}}}"#,
    ),
    (
        "executor_call_message_23",
        Api::ExecutorCall,
        r#"{"executor_id": {"value": "387aa966-8fc5-4428-a794-5a868a60d3eb"}, "framework_id": {"value": "9aaa9d0d-e00d-444f-bfbd-23dd197939a0-0000"}, "type": "MESSAGE", "message": {"data": "t+Wonz5fRFKMzCnEptlv5A=="}}"#,
    ),
    (
        "executor_event_launch_24",
        Api::ExecutorEvent,
        r#"{"type": "LAUNCH", "launch": {"framework_info": {"id": {"value": "49154f1b-8cf6-4421-bf13-8bd11dccd1f1"}, "user": "foo", "name": "my_framework"}, "task": {"name": "dummy-task", "task_id": {"value": "d40f3f3e-bbe3-44af-a230-4cb1eae72f67"}, "agent_id": {"value": "f1c9cdc5-195e-41a7-a0d7-adaa9af07f81"}, "command": {"value": "sleep", "arguments": ["100"]}}}}"#,
    ),
    (
        "executor_event_launch_group_25",
        Api::ExecutorEvent,
        r#"{"type": "LAUNCH_GROUP", "launch_group": {"task_group": {"tasks": [{"name": "dummy-task", "task_id": {"value": "d40f3f3e-bbe3-44af-a230-4cb1eae72f67"}, "agent_id": {"value": "f1c9cdc5-195e-41a7-a0d7-adaa9af07f81"}, "command": {"value": "sleep", "arguments": ["100"]}}]}}}"#,
    ),
    (
        "executor_event_kill_26",
        Api::ExecutorEvent,
        r#"{"type": "KILL", "kill": {"task_id": {"value": "d40f3f3e-bbe3-44af-a230-4cb1eae72f67"}}}"#,
    ),
    (
        "executor_event_acknowledged_27",
        Api::ExecutorEvent,
        r#"{"type": "ACKNOWLEDGED", "acknowledged": {"task_id": {"value": "d40f3f3e-bbe3-44af-a230-4cb1eae72f67"}, "uuid": "ZDQwZjNmM2UtYmJlMy00NGFmLWEyMzAtNGNiMWVhZTcyZjY3Cg=="}}"#,
    ),
    (
        "executor_event_message_28",
        Api::ExecutorEvent,
        r#"{"type": "MESSAGE", "message": {"data": "c2FtcGxlIGRhdGE="}}"#,
    ),
    ("executor_event_shutdown_29", Api::ExecutorEvent, r#"{"type": "SHUTDOWN"}"#),
    (
        "executor_event_error_30",
        Api::ExecutorEvent,
        r#"{"type": "ERROR", "error": {"message": "Unrecoverable error"}}"#,
    ),
];

/// True if every field of `original` that the schema knows appears in
/// `rendered` with the same value. Keys the schema does not know are skipped:
/// Mesos ignores them and so do we (several doc examples carry such keys,
/// e.g. `bytes` in UPDATE, `framework_id` inside executor updates). Numbers
/// compare numerically (`1.0` == `1`); strings that differ must be the same
/// bytes in base64 (the docs' uuids are not canonical base64). `rendered` may
/// hold more fields: stout prints fields with declared defaults.
fn contained(
    original: &Value,
    rendered: &Value,
    kind: Option<&Kind>,
    path: &str,
) -> Result<(), String> {
    match (original, rendered) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let field_kind = match kind {
                    Some(Kind::Message(m)) if !m.is_map_entry() => match m.get_field_by_name(k) {
                        Some(f) => Some(f.kind()),
                        None => continue,
                    },
                    Some(Kind::Message(m)) => Some(m.map_entry_value_field().kind()),
                    _ => None,
                };
                let w = b.get(k).ok_or_else(|| format!("{path}.{k} missing"))?;
                contained(v, w, field_kind.as_ref(), &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .try_for_each(|(i, (v, w))| contained(v, w, kind, &format!("{path}[{i}]"))),
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => Ok(()),
        (Value::String(a), Value::String(b)) if a == b => Ok(()),
        (Value::String(a), Value::String(b)) => {
            use base64::Engine as _;
            let lenient = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                    .with_decode_allow_trailing_bits(true),
            );
            match (lenient.decode(a), lenient.decode(b)) {
                (Ok(x), Ok(y)) if x == y => Ok(()),
                _ => Err(format!("{path}: {a:?} != {b:?}")),
            }
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{path}: {a} != {b}")),
    }
}

fn round_trip<M>(name: &str, text: &str)
where
    M: prost_reflect::ReflectMessage + Message + Default + PartialEq,
{
    let original: Value = serde_json::from_str(text).expect("doc example is JSON");
    let parsed: M = from_json(&original).unwrap_or_else(|e| panic!("{name}: {e}"));
    let rendered = to_json(&parsed);
    if let Err(e) =
        contained(&original, &rendered, Some(&Kind::Message(M::default().descriptor())), name)
    {
        panic!("{name}: rendered JSON lost or changed a field: {e}\nrendered: {rendered}");
    }
    // And the rendering parses back to the same message.
    let again: M = from_json(&rendered).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(to_json(&again) == rendered, "{name}: rendering not stable");
}

/// Doc examples that Mesos 1.11 itself rejects (stout's parser), so we do too:
/// the ACCEPT example gives `limits` values as bare numbers/strings where the
/// schema has a `Value.Scalar` message; the OFFERS example gives `offers` as an
/// array where the schema has the `Event.Offers` message; the
/// ACKNOWLEDGE_OPERATION_STATUS example gives `operation_id` as a string where
/// the schema has the `OperationID` message.
const DOC_ERRATA: &[&str] = &[
    "scheduler_call_accept_2",
    "scheduler_event_offers_12",
    "scheduler_call_acknowledge_operation_status_7",
    // Lost data rather than rejected: the REQUEST example puts `requests` at
    // the top level instead of inside `request`; Mesos ignores unknown keys,
    // so the requests vanish (checked in `doc_errata_are_rejected_like_mesos_does`).
    "scheduler_call_request_11",
    // The UPDATE_OPERATION_STATUS example gives `status.uuid` as a string
    // where the schema has the `UUID` message; Mesos rejects it too.
    "scheduler_event_update_operation_status_15",
    // The ERROR example puts `message` (a string) at the top level instead
    // of inside `error`; the top-level `message` is the `Event.Message`
    // message, so Mesos rejects it too.
    "scheduler_event_error_18",
    // The re-subscription example (failover section) puts `framework_info`
    // at the top level instead of inside `subscribe`; Mesos ignores the
    // unknown key, so it is lost.
    "scheduler_call_subscribe_20",
];

/// Every other example body of the scheduler and executor HTTP API docs
/// parses into the matching Call/Event and renders back with every field
/// unchanged.
#[test]
fn mesos_doc_examples_round_trip() {
    assert!(DOC_EXAMPLES.len() >= 30);
    for (name, api, text) in DOC_EXAMPLES {
        if DOC_ERRATA.contains(name) {
            continue;
        }
        match api {
            Api::SchedulerCall => round_trip::<scheduler::Call>(name, text),
            Api::SchedulerEvent => round_trip::<scheduler::Event>(name, text),
            Api::ExecutorCall => round_trip::<executor::Call>(name, text),
            Api::ExecutorEvent => round_trip::<executor::Event>(name, text),
        }
    }
}

/// The doc errata are rejected with errors naming the offending field, as
/// Mesos rejects them.
#[test]
fn doc_errata_are_rejected_like_mesos_does() {
    let find = |name: &str| {
        DOC_EXAMPLES.iter().find(|(n, _, _)| *n == name).map(|(_, _, t)| *t).expect("example")
    };
    let err = from_json_str::<scheduler::Call>(find(DOC_ERRATA[0])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "accept.operations[0].launch.task_infos[0].limits[cpus]: expecting a JSON object for message \
         mesos.v1.Value.Scalar, found a string"
    );
    let err = from_json_str::<scheduler::Event>(find(DOC_ERRATA[1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "offers: expecting a JSON object for message mesos.v1.scheduler.Event.Offers, found an array"
    );
}

/// The misplaced `requests` of the docs' REQUEST example are ignored, as Mesos
/// ignores unknown keys.
#[test]
fn doc_request_example_keeps_only_known_fields() {
    let (_, _, text) =
        DOC_EXAMPLES.iter().find(|(n, _, _)| *n == "scheduler_call_request_11").expect("example");
    let call: scheduler::Call = from_json_str(text).expect("parses");
    assert_eq!(call.r#type(), scheduler::call::Type::Request);
    assert!(call.request.is_none());
}

/// The docs' SUBSCRIBE and UPDATE examples land in the right typed fields.
#[test]
fn doc_examples_fill_typed_fields() {
    let (_, _, subscribe) =
        DOC_EXAMPLES.iter().find(|(n, _, _)| *n == "scheduler_call_subscribe_0").expect("example");
    let call: scheduler::Call = from_json_str(subscribe).expect("parses");
    assert_eq!(call.r#type(), scheduler::call::Type::Subscribe);
    let info = &call.subscribe.as_ref().expect("subscribe").framework_info;
    assert_eq!(info.user, "foo");
    assert_eq!(info.roles, ["test1", "test2"]);

    let (_, _, update) =
        DOC_EXAMPLES.iter().find(|(n, _, _)| *n == "scheduler_event_update_14").expect("example");
    let event: scheduler::Event = from_json_str(update).expect("parses");
    assert_eq!(event.r#type(), scheduler::event::Type::Update);
    let status = &event.update.as_ref().expect("update").status;
    assert_eq!(status.state(), v1::TaskState::TaskRunning);
    assert_eq!(status.source(), v1::task_status::Source::Executor);
}

/// Rendering follows stout: snake_case names, enum names, base64 bytes, int64
/// as numbers, unset fields omitted unless they declare a default, empty
/// repeated fields omitted.
#[test]
fn rendering_follows_mesos_conventions() {
    let status = v1::TaskStatus {
        task_id: v1::TaskId { value: "t".into() },
        state: v1::TaskState::TaskFailed as i32,
        data: Some(b"\x00\xffhi".to_vec()),
        unreachable_time: Some(v1::TimeInfo { nanoseconds: 1_700_000_000_123_456_789 }),
        ..Default::default()
    };
    let json = to_json(&status);
    assert_eq!(json["task_id"]["value"], "t");
    assert_eq!(json["state"], "TASK_FAILED");
    assert_eq!(json["data"], "AP9oaQ==");
    assert_eq!(json["unreachable_time"]["nanoseconds"].as_i64(), Some(1_700_000_000_123_456_789));
    assert!(json.get("message").is_none(), "unset field without default is omitted");
    assert!(json.get("agent_id").is_none());
    // `FrameworkInfo.failover_timeout` declares `[default = 0.0]`: stout prints it.
    let info = v1::FrameworkInfo { user: "u".into(), name: "n".into(), ..Default::default() };
    let json = to_json(&info);
    assert_eq!(json["failover_timeout"].as_f64(), Some(0.0));
    assert_eq!(json["checkpoint"], false);
    assert!(json.get("roles").is_none(), "empty repeated field is omitted");
    // `role` declares a default but is deprecated: stout omits it.
    assert!(json.get("role").is_none());
}

/// Parsing accepts what real clients send: numbers and booleans as strings,
/// unknown fields, nulls, unpadded base64, "Infinity".
#[test]
fn parsing_is_as_lenient_as_mesos() {
    let call: scheduler::Call = from_json_str(
        r#"{"type": "DECLINE", "framework_id": {"value": "f"}, "extra": [1, 2],
            "decline": {"offer_ids": [{"value": "o"}], "filters": {"refuse_seconds": "Infinity"}},
            "kill": null}"#,
    )
    .expect("parses");
    assert_eq!(call.r#type(), scheduler::call::Type::Decline);
    assert_eq!(
        call.decline.as_ref().and_then(|d| d.filters.as_ref()).map(|f| f.refuse_seconds()),
        Some(f64::INFINITY)
    );
    assert!(call.kill.is_none());

    let status: v1::TaskStatus = from_json_str(
        r#"{"task_id": {"value": "t"}, "state": "TASK_RUNNING", "healthy": "true",
            "timestamp": "1.5", "uuid": "AP9oaQ", "unreachable_time": {"nanoseconds": "9007199254740993"}}"#,
    )
    .expect("parses");
    assert_eq!(status.healthy, Some(true));
    assert_eq!(status.timestamp, Some(1.5));
    assert_eq!(status.uuid.as_deref(), Some(&b"\x00\xffhi"[..]));
    // 2^53 + 1 survives: 64-bit integers are not squeezed through a double.
    assert_eq!(status.unreachable_time.map(|t| t.nanoseconds), Some(9_007_199_254_740_993));
}

/// An unknown enum name is dropped on an optional field (proto2, so newer
/// clients keep working) but is an error on a required one.
#[test]
fn unknown_enum_names() {
    let call: scheduler::Call =
        from_json_str(r#"{"type": "TELEPORT"}"#).expect("optional enum: dropped");
    assert_eq!(call.r#type, None);
    let err = from_json_str::<v1::TaskStatus>(
        r#"{"task_id": {"value": "t"}, "state": "TASK_TELEPORTED"}"#,
    )
    .unwrap_err();
    assert!(matches!(err, JsonError::UnknownEnumValue { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "state: unknown value 'TASK_TELEPORTED' for enum mesos.v1.TaskState"
    );
}

/// Malformed JSON, wrong types, bad numbers and missing required fields give
/// errors that name the field.
#[test]
fn bad_input_gives_clear_errors() {
    let err = from_json_str::<scheduler::Call>("{\"type\": ").unwrap_err();
    assert!(matches!(err, JsonError::Syntax(_)), "{err:?}");

    let err = from_json_str::<scheduler::Call>("[1]").unwrap_err();
    assert_eq!(
        err.to_string(),
        "<root>: expecting a JSON object for message mesos.v1.scheduler.Call, found an array"
    );

    let err = from_json_str::<scheduler::Call>(r#"{"framework_id": "f"}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "framework_id: expecting a JSON object for message mesos.v1.FrameworkID, found a string"
    );

    let err = from_json_str::<scheduler::Call>(r#"{"accept": {"offer_ids": {"value": "o"}}}"#)
        .unwrap_err();
    assert_eq!(err.to_string(), "accept.offer_ids: expecting an array, found an object");

    let err = from_json_str::<v1::Offer>(
        r#"{"id": {"value": "o"}, "framework_id": {"value": "f"}, "agent_id": {"value": "a"}, "hostname": "h",
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": "lots"}}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "resources[0].scalar.value: cannot parse 'lots' as a number");

    let err = from_json_str::<v1::Value>(
        r#"{"type": "RANGES", "ranges": {"range": [{"begin": 1.5, "end": 2}]}}"#,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "ranges.range[0].begin: 1.5 is not an integer");

    let err = from_json_str::<v1::Address>(r#"{"port": 4294967296}"#).unwrap_err();
    assert_eq!(err.to_string(), "port: 4294967296 is out of range for this field");

    let err = from_json_str::<v1::TaskStatus>(
        r#"{"task_id": {"value": "t"}, "state": "TASK_RUNNING", "data": "%%%"}"#,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("data: invalid base64"), "{err}");

    let err = from_json_str::<v1::TaskStatus>(
        r#"{"task_id": {"value": "t"}, "state": "TASK_RUNNING", "healthy": 1}"#,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "healthy: expecting a boolean, found a number");

    let err = from_json_str::<scheduler::Call>(
        r#"{"type": "ACCEPT", "accept": {"offer_ids": [{"value": "o"}, {}], "operations": [{"launch": {"task_infos": [{"name": "t"}]}}]}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing required fields: accept.offer_ids[1].value, accept.operations[0].launch.task_infos[0].task_id, \
         accept.operations[0].launch.task_infos[0].agent_id"
    );
}
