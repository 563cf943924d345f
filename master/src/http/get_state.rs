//! The v1 `GET_STATE` answer in protobuf, encoded by hand from the snapshot and streamed.
//!
//! Built as a `v1::master::Response`, every task went through `evolve` (its v0 encoding
//! decoded into the v1 type, which was encoded again for the answer): at 10,000 agents a
//! second of CPU for 100,000 tasks. The v0 and v1 types are the same on the wire (Mesos's
//! `evolve` is that very round trip, common/http.cpp), so here each task and executor is
//! written once, its v0 encoding as the bytes of the v1 field. The agents and frameworks,
//! which the master builds anew for the v1 API anyway (`agent_v1`, `framework_v1`), are
//! built and encoded one at a time. The bytes are those `prost` printed for the built
//! message (fields in tag order, as `prost` encodes them), which the test checks.
//!
//! The answer is written into a [`JsonOut`] (only its buffer and chunking, no JSON), so it
//! leaves in chunks as it is written, like `/master/state`.
//!
//! # Layout
//! - [`write_get_state`]: the whole `Response { type: GET_STATE, get_state }`.
//! - `Field`: a length-delimited field, its encoded length first, then its bytes.

use mesos_proto::mesos::v1::master::response;
use mesos_proto::mesos::{self, v1};
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};
use prost_reflect::ReflectMessage;

use super::json_out::JsonOut;
use super::json_wire;
use super::v1_queries::{get_agents, get_frameworks};
use crate::snapshot::StateSnapshot;

// Field numbers of the v1 messages written here (mesos/v1/master/master.proto).
/// `Response.type`, `Response.get_state`.
const RESPONSE_TYPE: u32 = 1;
const RESPONSE_GET_STATE: u32 = 9;
/// `GetState.get_tasks`, `.get_executors`, `.get_frameworks`, `.get_agents`.
const STATE_TASKS: u32 = 1;
const STATE_EXECUTORS: u32 = 2;
const STATE_FRAMEWORKS: u32 = 3;
const STATE_AGENTS: u32 = 4;
/// `GetTasks.tasks`, `GetTasks.completed_tasks`.
const TASKS_TASKS: u32 = 2;
const TASKS_COMPLETED: u32 = 3;
/// `GetExecutors.executors`; `GetExecutors.Executor.executor_info`, `.agent_id`.
const EXECUTORS_EXECUTORS: u32 = 1;
const EXECUTOR_INFO: u32 = 1;
const EXECUTOR_AGENT_ID: u32 = 2;
/// `GetFrameworks.frameworks`, `.completed_frameworks`; `GetAgents.agents`.
const FRAMEWORKS_FRAMEWORKS: u32 = 1;
const FRAMEWORKS_COMPLETED: u32 = 2;
const AGENTS_AGENTS: u32 = 1;

/// The length of a length-delimited field holding `len` bytes.
fn field_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// The key and length of a length-delimited field; its `len` bytes follow.
fn field_head(tag: u32, len: usize, out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
}

/// A message as the length-delimited field `tag` (what `prost` writes for a message field).
fn message(tag: u32, message: &impl Message, out: &mut Vec<u8>) {
    field_head(tag, message.encoded_len(), out);
    message.encode_raw(out);
}

fn message_len(tag: u32, message: &impl Message) -> usize {
    field_len(tag, message.encoded_len())
}

/// The tasks, then the completed tasks (`GetTasks` in tag order): written to `out`, or
/// with no `out` only counted (the bytes they take).
fn tasks(s: &StateSnapshot, mut out: Option<&mut JsonOut>) -> usize {
    let all = || s.frameworks.iter().chain(&s.completed_frameworks);
    let running = s.frameworks.iter().flat_map(|f| f.tasks.values());
    let completed = all().flat_map(|f| f.completed_tasks.iter().map(|t| &**t));
    let mut len = 0;
    // Writing, the length is not needed (it was counted before): a task's
    // `encoded_len` (its resources' and labels' too) is the dearest part of the answer.
    let mut each = |tag: u32, task: &mesos::Task| match out.as_deref_mut() {
        Some(out) => {
            message(tag, task, out.bytes_mut());
            out.boundary();
        }
        None => len += message_len(tag, task),
    };
    running.for_each(|task| each(TASKS_TASKS, task));
    completed.for_each(|task| each(TASKS_COMPLETED, task));
    len
}

/// Every agent's executors, each `{executor_info, agent_id}` (`GetExecutors.executors`).
fn executors(s: &StateSnapshot, mut out: Option<&mut JsonOut>) -> usize {
    let mut len = 0;
    for agent in s.agents.iter() {
        let agent_id: v1::AgentId = (&agent.id).into();
        for info in agent.executors.values().flat_map(|by_id| by_id.values()) {
            let executor =
                message_len(EXECUTOR_INFO, info) + message_len(EXECUTOR_AGENT_ID, &agent_id);
            len += field_len(EXECUTORS_EXECUTORS, executor);
            if let Some(out) = out.as_deref_mut() {
                let buf = out.bytes_mut();
                field_head(EXECUTORS_EXECUTORS, executor, buf);
                message(EXECUTOR_INFO, info, buf);
                message(EXECUTOR_AGENT_ID, &agent_id, buf);
                out.boundary();
            }
        }
    }
    len
}

/// The repeated message field `tag` of `items`, each followed by a chunk boundary.
fn repeated<M: Message>(tag: u32, items: &[M], out: &mut JsonOut) {
    for item in items {
        message(tag, item, out.bytes_mut());
        out.boundary();
    }
}

fn repeated_len<M: Message>(tag: u32, items: &[M]) -> usize {
    items.iter().map(|item| message_len(tag, item)).sum()
}

/// `Response { type: GET_STATE, get_state }`, byte for byte what `prost` encodes for the
/// response `operator_api::query` builds.
// Mesos: master/http.cpp `Master::Http::getState` (`_getState`, which also writes the
// answer field by field, for JSON and protobuf alike).
pub fn write_get_state(s: &StateSnapshot, out: &mut JsonOut) {
    // The agents and frameworks are built for the v1 API (their v0 forms differ): their
    // messages are small next to the tasks.
    #[allow(deprecated)]
    let response::GetFrameworks { frameworks, completed_frameworks, .. } = get_frameworks(s);
    #[allow(deprecated)]
    let response::GetAgents { agents, .. } = get_agents(s);
    let tasks_len = tasks(s, None);
    let executors_len = executors(s, None);
    let frameworks_len = repeated_len(FRAMEWORKS_FRAMEWORKS, &frameworks)
        + repeated_len(FRAMEWORKS_COMPLETED, &completed_frameworks);
    let agents_len = repeated_len(AGENTS_AGENTS, &agents);
    let state_len = field_len(STATE_TASKS, tasks_len)
        + field_len(STATE_EXECUTORS, executors_len)
        + field_len(STATE_FRAMEWORKS, frameworks_len)
        + field_len(STATE_AGENTS, agents_len);

    // Kept whole (the JSON answer's first step), the buffer takes the answer's size at
    // once instead of doubling its way there, copying what it holds each time.
    out.reserve_whole(
        key_len(RESPONSE_TYPE)
            + encoded_len_varint(response::Type::GetState as u64)
            + field_len(RESPONSE_GET_STATE, state_len),
    );
    let buf = out.bytes_mut();
    encode_key(RESPONSE_TYPE, WireType::Varint, buf);
    encode_varint(response::Type::GetState as u64, buf);
    field_head(RESPONSE_GET_STATE, state_len, buf);
    field_head(STATE_TASKS, tasks_len, buf);
    tasks(s, Some(out));
    field_head(STATE_EXECUTORS, executors_len, out.bytes_mut());
    executors(s, Some(out));
    field_head(STATE_FRAMEWORKS, frameworks_len, out.bytes_mut());
    repeated(FRAMEWORKS_FRAMEWORKS, &frameworks, out);
    repeated(FRAMEWORKS_COMPLETED, &completed_frameworks, out);
    field_head(STATE_AGENTS, agents_len, out.bytes_mut());
    repeated(AGENTS_AGENTS, &agents, out);
}

/// The same answer in JSON (Mesos's mapping of the v1 `Response`, as
/// `mesos_proto::json` prints it): the protobuf answer, written whole first, then read
/// back field by field into JSON ([`json_wire`]), which leaves in chunks.
pub fn write_get_state_json(s: &StateSnapshot, out: &mut JsonOut) {
    let mut encoded = JsonOut::new();
    write_get_state(s, &mut encoded);
    let encoded = encoded.into_bytes();
    let descriptor = v1::master::Response::default().descriptor();
    if json_wire::Writer::default().message(&descriptor, &encoded, out).is_err() {
        // Not expected: the bytes were just encoded from the same messages the
        // descriptor describes. The client gets a truncated document.
        tracing::error!("GET_STATE: the encoded answer did not read back");
    }
}

#[cfg(test)]
mod tests {
    use mesos_proto::mesos::v1::master::call;

    use super::*;
    use crate::http::state_writer::tests::populated;

    /// GET_STATE of `s` as the v1 query builder makes it (the reference).
    fn built_get_state(s: &StateSnapshot) -> v1::master::Response {
        let query = super::super::v1_queries::query(
            call::Type::GetState,
            s,
            Default::default(),
            None,
            None,
        );
        query.unwrap_or_else(|_| panic!("GET_STATE refused"))
    }

    /// The hand-written answer is the very bytes `prost` encoded for the built
    /// `Response` (tasks and executors through `evolve`), also when chunked.
    #[test]
    fn written_by_hand_is_what_prost_encoded() {
        let s = populated();
        let built = built_get_state(&s);
        let expected = built.encode_to_vec();
        let mut out = JsonOut::new();
        write_get_state(&s, &mut out);
        let written = out.into_bytes();
        assert!(written.len() > 1000, "the snapshot is populated");
        assert_eq!(written, expected);
        let decoded = v1::master::Response::decode(&written[..]).expect("decodes");
        assert_eq!(decoded, built);
    }

    /// The other queries' JSON, and the SUBSCRIBED event's, written from the wire bytes
    /// (`json_wire::to_json_bytes`): the text of the `Value` mapping.
    #[test]
    fn queries_and_events_in_json_from_the_wire() {
        use mesos_proto::mesos::v1::master::event;
        let s = populated();
        for kind in [
            call::Type::GetAgents,
            call::Type::GetFrameworks,
            call::Type::GetTasks,
            call::Type::GetExecutors,
            call::Type::GetRoles,
            call::Type::GetMaster,
        ] {
            let Ok(built) =
                super::super::v1_queries::query(kind, &s, Default::default(), None, None)
            else {
                panic!("{kind:?} refused");
            };
            let expected = mesos_proto::json::to_json_string(&built);
            assert_eq!(String::from_utf8(json_wire::to_json_bytes(&built)).unwrap(), expected);
        }
        let state = built_get_state(&s);
        let subscribed = v1::master::Event {
            r#type: Some(event::Type::Subscribed as i32),
            subscribed: Some(event::Subscribed {
                get_state: state.get_state,
                heartbeat_interval_seconds: Some(15.0),
            }),
            ..Default::default()
        };
        let expected = mesos_proto::json::to_json_string(&subscribed);
        assert_eq!(String::from_utf8(json_wire::to_json_bytes(&subscribed)).unwrap(), expected);
    }

    /// The JSON written from the wire bytes is the very text the `Value` mapping printed.
    #[test]
    fn json_from_the_wire_is_what_the_value_mapping_printed() {
        let s = populated();
        let built = built_get_state(&s);
        let expected = mesos_proto::json::to_json_string(&built);
        let mut out = JsonOut::new();
        write_get_state_json(&s, &mut out);
        let written = String::from_utf8(out.into_bytes()).expect("UTF-8");
        assert!(written.len() > 1000, "the snapshot is populated");
        assert_eq!(written, expected);
    }
}
