//! A faster decoder for the one message a master decodes by the thousand at once:
//! `ReregisterSlaveMessage`, which every agent sends a new leader after a failover
//! (issue 18, FAIL-1: 40,000 of them, 3.3 KB and ten tasks each with the benchmark's
//! load).
//!
//! It decodes into prost's own types and gives the same result as
//! [`prost::Message::decode`] for every input (a proptest below compares the two on
//! valid, truncated and corrupted messages), but walks the hot part of the message
//! itself: the tasks, their ids, resources and labels. What prost's generated code
//! spends there, per string about 140 instructions (a `Vec` reserved, then filled
//! through the `Buf` trait's chunk loop, then checked) and per repeated field a vector
//! grown from empty (labels 4 -> 8 -> 16 per task): here a string is one exact
//! allocation copied from the slice, and the tasks, each task's resources and its
//! labels are counted first so that their vectors are allocated once. Every other
//! field, at any level, goes to the generated code's `merge_field`, so nothing the
//! protocol may carry is decoded differently; and a message it finds malformed is
//! decoded again by prost, so that the error is prost's own.
//!
//! One difference, in what is refused only: prost counts nesting depth against its
//! recursion limit (100) and gives no way to enter a level from outside its crate, so
//! the fields handed back to it from inside a task start from the message's depth. A
//! message nested 101 or 102 levels deep inside a task's field is accepted where prost
//! would refuse it; the limit exists to bound the stack, which two levels do not
//! change.

use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};
use prost::{DecodeError, Message};

use crate::mesos::{self, internal};

/// `ReregisterSlaveMessage.tasks`.
const MESSAGE_TASKS: u32 = 3;
/// `Task.name`, `task_id`, `framework_id`, `slave_id`, `resources`, `labels`.
const TASK_NAME: u32 = 1;
const TASK_ID: u32 = 2;
const TASK_FRAMEWORK_ID: u32 = 3;
const TASK_AGENT_ID: u32 = 5;
const TASK_RESOURCES: u32 = 7;
const TASK_LABELS: u32 = 11;
/// `Resource.name` and `Resource.role`.
const RESOURCE_NAME: u32 = 1;
const RESOURCE_ROLE: u32 = 6;
/// `Labels.labels`; `Label.key`, `Label.value`; the `value` of every id message.
const LABELS_LABELS: u32 = 1;
const LABEL_KEY: u32 = 1;
const LABEL_VALUE: u32 = 2;
const ID_VALUE: u32 = 1;

/// Decodes a `ReregisterSlaveMessage`: what `internal::ReregisterSlaveMessage::decode`
/// returns, at about two thirds of its cost for a message full of tasks.
pub fn reregister_slave_message(
    buf: &[u8],
) -> Result<internal::ReregisterSlaveMessage, DecodeError> {
    match decode_message(buf) {
        Ok(message) => Ok(message),
        // A malformed message (rare: no agent sends one) is decoded again by prost,
        // so that what is refused, and the error saying why, are prost's own.
        Err(Malformed) => internal::ReregisterSlaveMessage::decode(buf),
    }
}

/// The input is not a valid encoding (which field and why is prost's to say).
#[derive(Debug)]
struct Malformed;

impl From<DecodeError> for Malformed {
    fn from(_: DecodeError) -> Malformed {
        Malformed
    }
}

fn decode_message(mut buf: &[u8]) -> Result<internal::ReregisterSlaveMessage, Malformed> {
    let mut message = internal::ReregisterSlaveMessage::default();
    let ctx = DecodeContext::default();
    message.tasks.reserve_exact(count(buf, MESSAGE_TASKS));
    while !buf.is_empty() {
        let (tag, wire_type) = decode_key(&mut buf)?;
        if tag == MESSAGE_TASKS && wire_type == WireType::LengthDelimited {
            // Decoded where it will stay: a `Task` is over a kilobyte, not moved again.
            message.tasks.push(mesos::Task::default());
            let task = message.tasks.last_mut().ok_or(Malformed)?;
            merge_task(task, delimited(&mut buf)?, &ctx)?;
        } else {
            message.merge_field(tag, wire_type, &mut buf, ctx.clone())?;
        }
    }
    Ok(message)
}

/// Merges one encoded `Task` into `task`, as its generated `merge` would.
fn merge_task(
    task: &mut mesos::Task,
    mut buf: &[u8],
    ctx: &DecodeContext,
) -> Result<(), Malformed> {
    while !buf.is_empty() {
        let (tag, wire_type) = decode_key(&mut buf)?;
        if wire_type != WireType::LengthDelimited {
            task.merge_field(tag, wire_type, &mut buf, ctx.clone())?;
            continue;
        }
        match tag {
            TASK_NAME => task.name = string(&mut buf)?,
            TASK_ID => merge_id(&mut task.task_id, |id| &mut id.value, &mut buf, ctx)?,
            TASK_FRAMEWORK_ID => {
                merge_id(&mut task.framework_id, |id| &mut id.value, &mut buf, ctx)?;
            }
            TASK_AGENT_ID => merge_id(&mut task.slave_id, |id| &mut id.value, &mut buf, ctx)?,
            TASK_RESOURCES => {
                task.resources.push(mesos::Resource::default());
                let resource = task.resources.last_mut().ok_or(Malformed)?;
                merge_resource(resource, delimited(&mut buf)?, ctx)?;
            }
            TASK_LABELS => {
                let labels = task.labels.get_or_insert_with(Default::default);
                merge_labels(labels, delimited(&mut buf)?, ctx)?;
            }
            _ => task.merge_field(tag, wire_type, &mut buf, ctx.clone())?,
        }
    }
    Ok(())
}

/// Merges one encoded id message (`TaskID`, `FrameworkID`, `SlaveID`: a `value` string)
/// into `id`, whose string `value` returns.
fn merge_id<M: Message>(
    id: &mut M,
    value: fn(&mut M) -> &mut String,
    buf: &mut &[u8],
    ctx: &DecodeContext,
) -> Result<(), Malformed> {
    let mut body = delimited(buf)?;
    while !body.is_empty() {
        let (tag, wire_type) = decode_key(&mut body)?;
        if tag == ID_VALUE && wire_type == WireType::LengthDelimited {
            *value(id) = string(&mut body)?;
        } else {
            id.merge_field(tag, wire_type, &mut body, ctx.clone())?;
        }
    }
    Ok(())
}

/// Merges one encoded `Resource` into `resource`: its name and role here, the rest
/// (scalar, ranges, reservations, ...) by the generated code.
fn merge_resource(
    resource: &mut mesos::Resource,
    mut buf: &[u8],
    ctx: &DecodeContext,
) -> Result<(), Malformed> {
    while !buf.is_empty() {
        let (tag, wire_type) = decode_key(&mut buf)?;
        match (tag, wire_type) {
            (RESOURCE_NAME, WireType::LengthDelimited) => resource.name = string(&mut buf)?,
            // Deprecated in Mesos (reservations say the role now) but still on the wire.
            #[allow(deprecated)]
            (RESOURCE_ROLE, WireType::LengthDelimited) => resource.role = Some(string(&mut buf)?),
            _ => resource.merge_field(tag, wire_type, &mut buf, ctx.clone())?,
        }
    }
    Ok(())
}

/// Merges one encoded `Labels` into `labels` (its labels appended).
fn merge_labels(
    labels: &mut mesos::Labels,
    mut buf: &[u8],
    ctx: &DecodeContext,
) -> Result<(), Malformed> {
    labels.labels.reserve_exact(count(buf, LABELS_LABELS));
    let text = std::str::from_utf8(buf).ok();
    while !buf.is_empty() {
        let (tag, wire_type) = decode_key(&mut buf)?;
        if tag == LABELS_LABELS && wire_type == WireType::LengthDelimited {
            labels.labels.push(mesos::Label::default());
            let label = labels.labels.last_mut().ok_or(Malformed)?;
            let mut body = delimited(&mut buf)?;
            while !body.is_empty() {
                let (tag, wire_type) = decode_key(&mut body)?;
                match (tag, wire_type) {
                    (LABEL_KEY, WireType::LengthDelimited) => {
                        label.key = string_in(&mut body, text)?;
                    }
                    (LABEL_VALUE, WireType::LengthDelimited) => {
                        label.value = Some(string_in(&mut body, text)?);
                    }
                    _ => label.merge_field(tag, wire_type, &mut body, ctx.clone())?,
                }
            }
        } else {
            labels.merge_field(tag, wire_type, &mut buf, ctx.clone())?;
        }
    }
    Ok(())
}

/// A length-delimited field's bytes (its length read from `buf`), `buf` moved past them.
#[inline]
fn delimited<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], Malformed> {
    let len = decode_varint(buf)?;
    if len > buf.len() as u64 {
        return Err(Malformed);
    }
    // In range: checked against the slice's length just above.
    let (field, rest) = buf.split_at(len as usize);
    *buf = rest;
    Ok(field)
}

/// A string field's value: one allocation of its exact length.
#[inline]
fn string(buf: &mut &[u8]) -> Result<String, Malformed> {
    std::str::from_utf8(delimited(buf)?).map(str::to_owned).map_err(|_| Malformed)
}

/// [`string`] for a field inside `text`, an enclosing message found to be valid UTF-8
/// as a whole (a `Labels`: its keys, values, tags and short lengths are all text). The
/// value is then cut from `text` without being checked again: `from_utf8` checks a
/// 4-25 byte string a byte at a time (~70 instructions), and a whole `Labels` (~170
/// bytes for ten labels) sixteen bytes at a time.
#[inline]
fn string_in(buf: &mut &[u8], text: Option<&str>) -> Result<String, Malformed> {
    let bytes = delimited(buf)?;
    if let Some(text) = text
        && let Some(start) = (bytes.as_ptr() as usize).checked_sub(text.as_ptr() as usize)
        && let Some(value) = text.get(start..start + bytes.len())
    {
        return Ok(value.to_owned());
    }
    std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| Malformed)
}

/// How many length-delimited fields `tag` the encoded message `buf` holds at its top
/// level, to size their vector once. It stops at the first malformed field (the decode
/// proper then reports it); the count can be no more than half the bytes, since each
/// such field takes two at least.
fn count(mut buf: &[u8], tag: u32) -> usize {
    let ctx = DecodeContext::default();
    let mut found = 0;
    while !buf.is_empty() {
        let Ok((field, wire_type)) = decode_key(&mut buf) else { break };
        if wire_type == WireType::LengthDelimited {
            if delimited(&mut buf).is_err() {
                break;
            }
            found += usize::from(field == tag);
        } else if skip_field(wire_type, field, &mut buf, ctx.clone()).is_err() {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[allow(deprecated)] // `role`: old agents still send it.
    fn resource(name: &str, value: f64, role: Option<&str>) -> mesos::Resource {
        mesos::Resource {
            name: name.into(),
            r#type: mesos::value::Type::Scalar as i32,
            scalar: Some(mesos::value::Scalar { value }),
            role: role.map(Into::into),
            allocation_info: role.map(|r| mesos::resource::AllocationInfo { role: Some(r.into()) }),
            ..Default::default()
        }
    }

    fn message(tasks: usize, labels: usize, text: &str) -> internal::ReregisterSlaveMessage {
        let slave = mesos::SlaveInfo {
            id: Some(mesos::SlaveId { value: format!("agent-{text}") }),
            hostname: text.into(),
            resources: vec![resource("cpus", 20.0, None)],
            ..Default::default()
        };
        let tasks = (0..tasks)
            .map(|i| mesos::Task {
                name: format!("{text}{i}"),
                task_id: mesos::TaskId { value: format!("task{i}") },
                framework_id: mesos::FrameworkId { value: format!("fw{}", i % 3) },
                slave_id: mesos::SlaveId { value: text.into() },
                state: mesos::TaskState::TaskRunning as i32,
                resources: vec![resource("cpus", 0.1, Some("*")), resource("mem", 5.0, None)],
                labels: (i % 4 != 3).then(|| mesos::Labels {
                    labels: (0..labels)
                        .map(|k| mesos::Label {
                            key: format!("key{k}{text}"),
                            value: (k % 2 == 0).then(|| format!("value{k}")),
                        })
                        .collect(),
                }),
                user: (i % 2 == 0).then(|| "root".into()),
                statuses: vec![mesos::TaskStatus {
                    task_id: mesos::TaskId { value: format!("task{i}") },
                    state: mesos::TaskState::TaskRunning as i32,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect();
        let frameworks = (0..3)
            .map(|k| mesos::FrameworkInfo {
                id: Some(mesos::FrameworkId { value: format!("fw{k}") }),
                user: "bench".into(),
                name: text.into(),
                ..Default::default()
            })
            .collect();
        internal::ReregisterSlaveMessage {
            slave,
            version: Some("1.11.0".into()),
            tasks,
            frameworks,
            ..Default::default()
        }
    }

    /// Both decoders on `bytes`: the same message, or both an error.
    fn same(bytes: &[u8]) {
        let prost = internal::ReregisterSlaveMessage::decode(bytes);
        let ours = reregister_slave_message(bytes);
        match (prost, ours) {
            (Ok(prost), Ok(ours)) => assert_eq!(prost, ours),
            (Err(prost), Err(ours)) => assert_eq!(prost.to_string(), ours.to_string()),
            (prost, ours) => panic!("prost {prost:?}, ours {ours:?}"),
        }
    }

    /// The FAIL-1 load decodes to what prost decodes.
    #[test]
    fn decodes_what_prost_decodes() {
        let bytes = message(10, 10, "agent7").encode_to_vec();
        let ours = reregister_slave_message(&bytes).expect("decodes");
        assert_eq!(ours, internal::ReregisterSlaveMessage::decode(&bytes[..]).expect("decodes"));
        assert_eq!(ours.tasks.len(), 10);
        assert_eq!(ours.tasks[0].labels.as_ref().map(|l| l.labels.len()), Some(10));
        same(&[]);
    }

    /// A field repeated where it is single merges or replaces as prost does: a second
    /// `labels` appends, a second id replaces the value, a second name wins.
    #[test]
    fn repeated_single_fields_merge_as_prost_merges() {
        let one = message(2, 3, "a").encode_to_vec();
        let two = message(3, 2, "b").encode_to_vec();
        same(&[one.clone(), two.clone()].concat());
        let task = message(1, 2, "x").tasks.remove(0).encode_to_vec();
        let other = message(1, 3, "y").tasks.remove(0).encode_to_vec();
        let both = [task, other].concat();
        let mut bytes = vec![((MESSAGE_TASKS << 3) | 2) as u8];
        prost::encoding::encode_varint(both.len() as u64, &mut bytes);
        bytes.extend_from_slice(&both);
        same(&bytes);
        let decoded = reregister_slave_message(&bytes).expect("decodes");
        assert_eq!(decoded.tasks[0].labels.as_ref().map(|l| l.labels.len()), Some(5));
    }

    /// Invalid UTF-8 in a label is refused, as prost refuses it.
    #[test]
    fn invalid_utf8_is_refused() {
        let mut bytes = message(1, 1, "agent").encode_to_vec();
        let at = bytes.windows(4).position(|w| w == b"key0").expect("a label key");
        bytes[at] = 0xff;
        assert!(reregister_slave_message(&bytes).is_err());
        same(&bytes);
    }

    /// Labels that are not text as a whole (a length of two bytes, a non-ASCII value)
    /// are checked one string at a time, and still decode to what prost decodes.
    #[test]
    fn labels_that_are_not_text_as_a_whole_decode_too() {
        let mut message = message(2, 3, "é");
        let labels = message.tasks[0].labels.as_mut().expect("labels");
        labels.labels.push(mesos::Label { key: "long".into(), value: Some("v".repeat(300)) });
        let bytes = message.encode_to_vec();
        same(&bytes);
        let decoded = reregister_slave_message(&bytes).expect("decodes");
        assert_eq!(decoded, message);
    }

    proptest! {
        /// Any message of the shape, cut short or with a byte changed anywhere, decodes
        /// to the same message as with prost, or is refused by both.
        #[test]
        fn agrees_with_prost(
            tasks in 0usize..6,
            labels in 0usize..5,
            text in "[a-z0-9é]{0,6}",
            cut in any::<prop::sample::Index>(),
            flip in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let bytes = message(tasks, labels, &text).encode_to_vec();
            same(&bytes);
            same(&bytes[..cut.index(bytes.len() + 1)]);
            let mut changed = bytes.clone();
            if !changed.is_empty() {
                changed[flip.index(bytes.len())] = byte;
            }
            same(&changed);
        }
    }
}
