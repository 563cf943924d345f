//! Mesos's JSON mapping of a protobuf message, written straight from its wire bytes.
//!
//! The v1 API's JSON answers are the JSON mapping of the v1 message
//! (`mesos_proto::json`, stout's `JSON::protobuf`). That mapping goes through a dynamic
//! message and a `serde_json::Value`: for `GET_STATE` at 10,000 agents, 78 MB of JSON,
//! seconds of CPU and a `Value` several times the size of the answer. Here the encoded
//! message is read field by field with its descriptor and each value is written into a
//! [`JsonOut`] as it is read, with the same rules, so the bytes are those the `Value`
//! printed (`get_state`'s test compares them):
//! - keys in byte order (a `Value` object, printed without `preserve_order`);
//! - a singular field when on the wire (the last occurrence wins), or when unset but
//!   declaring a non-deprecated `[default = ...]`; repeated fields only when non-empty
//!   (packed or not); map fields as objects, their keys in byte order, the last entry
//!   of a key winning;
//! - enums by name (the number when the enum does not name it), 64-bit integers as
//!   numbers, bytes in base64, non-finite doubles as `"NaN"`, `"Infinity"`, `"-Infinity"`.
//!
//! The bytes come from `prost`, so they are well formed; malformed input ends the
//! writing with [`Malformed`] (the caller has then written part of a document).
//!
//! # Layout
//! - [`Writer`]: the per-message-type field lists (sorted by name), then [`Writer::message`].
//! - `Wire`, `fields`: one message's fields as read from the wire.
//! - `value`, `scalar`, `map`: one field's JSON.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

use super::json_out::JsonOut;

/// The bytes were not a well-formed encoding of the message.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

/// A message in Mesos's JSON mapping, the text `mesos_proto::json::to_json_string`
/// prints, written from its encoding (no dynamic message, no `Value`): the v1 API's
/// JSON answers and events.
pub fn to_json_bytes<M: prost_reflect::ReflectMessage>(message: &M) -> Vec<u8> {
    let encoded = message.encode_to_vec();
    let mut out = JsonOut::new();
    match Writer::default().message(&message.descriptor(), &encoded, &mut out) {
        Ok(()) => out.into_bytes(),
        // Not expected (`prost` just encoded it): the mapping of the dynamic message.
        Err(Malformed) => mesos_proto::json::to_json_string(message).into_bytes(),
    }
}

/// One field occurrence as read from the wire.
#[derive(Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

/// A field of a message type, with what writing it needs.
struct Field {
    descriptor: FieldDescriptor,
    number: u32,
    kind: Kind,
    list: bool,
    map: bool,
    /// The JSON of its declared default, when stout prints an unset field with it.
    default: Option<serde_json::Value>,
}

/// Writes messages; keeps each message type's fields sorted by name (the key order).
#[derive(Default)]
pub struct Writer {
    types: HashMap<String, Arc<[Field]>>,
}

fn varint(bytes: &mut &[u8]) -> Result<u64, Malformed> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first().ok_or(Malformed)?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Malformed)
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], Malformed> {
    if bytes.len() < n {
        return Err(Malformed);
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

/// Every field occurrence of one message, sorted by field number (stable: the wire
/// order of a number's occurrences is kept).
fn fields(mut bytes: &[u8]) -> Result<Vec<(u32, Wire<'_>)>, Malformed> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let number = u32::try_from(key >> 3).map_err(|_| Malformed)?;
        let wire = match key & 7 {
            0 => Wire::Varint(varint(&mut bytes)?),
            1 => {
                let b: [u8; 8] = take(&mut bytes, 8)?.try_into().map_err(|_| Malformed)?;
                Wire::Fixed64(u64::from_le_bytes(b))
            }
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).map_err(|_| Malformed)?;
                Wire::Len(take(&mut bytes, len)?)
            }
            5 => {
                let b: [u8; 4] = take(&mut bytes, 4)?.try_into().map_err(|_| Malformed)?;
                Wire::Fixed32(u32::from_le_bytes(b))
            }
            // Groups (3, 4) are not used by Mesos's protos.
            _ => return Err(Malformed),
        };
        out.push((number, wire));
    }
    out.sort_by_key(|(number, _)| *number);
    Ok(out)
}

/// The JSON of a field's declared default, if stout prints the unset field with it.
fn default_json(field: &FieldDescriptor) -> Option<serde_json::Value> {
    let proto = field.field_descriptor_proto();
    let deprecated = proto.options.as_ref().is_some_and(|o| o.deprecated());
    if proto.default_value.is_none() || deprecated || field.is_list() || field.is_map() {
        return None;
    }
    // The mapping of the default, as `mesos_proto::json` prints it: one field of an
    // otherwise empty message.
    let message = prost_reflect::DynamicMessage::new(field.parent_message().clone());
    let json = mesos_proto::json::message_to_json(&message);
    json.get(field.name()).cloned()
}

impl Writer {
    fn type_of(&mut self, descriptor: &MessageDescriptor) -> Arc<[Field]> {
        if let Some(fields) = self.types.get(descriptor.full_name()) {
            return fields.clone();
        }
        let mut fields: Vec<Field> = descriptor
            .fields()
            .map(|f| Field {
                number: f.number(),
                kind: f.kind(),
                list: f.is_list(),
                map: f.is_map(),
                default: default_json(&f),
                descriptor: f,
            })
            .collect();
        fields.sort_by(|a, b| a.descriptor.name().cmp(b.descriptor.name()));
        let fields: Arc<[Field]> = fields.into();
        self.types.insert(descriptor.full_name().to_string(), fields.clone());
        fields
    }

    /// The message of type `descriptor` encoded in `bytes`, as a JSON object.
    pub fn message(
        &mut self,
        descriptor: &MessageDescriptor,
        bytes: &[u8],
        out: &mut JsonOut,
    ) -> Result<(), Malformed> {
        let wire = fields(bytes)?;
        let fields = self.type_of(descriptor);
        out.begin_object();
        for field in fields.iter() {
            let start = wire.partition_point(|(n, _)| *n < field.number);
            let end = wire.partition_point(|(n, _)| *n <= field.number);
            let occurrences = &wire[start..end];
            if field.map {
                if !occurrences.is_empty() {
                    out.key(field.descriptor.name());
                    self.map(field, occurrences, out)?;
                }
            } else if field.list {
                if !occurrences.is_empty() {
                    out.key(field.descriptor.name());
                    self.list(field, occurrences, out)?;
                }
            } else if let Some((_, last)) = occurrences.last() {
                out.key(field.descriptor.name());
                self.value(&field.kind, *last, out)?;
            } else if let Some(default) = &field.default {
                out.field(field.descriptor.name(), default);
            }
        }
        out.end_object();
        Ok(())
    }

    fn list(
        &mut self,
        field: &Field,
        occurrences: &[(u32, Wire<'_>)],
        out: &mut JsonOut,
    ) -> Result<(), Malformed> {
        out.begin_array();
        for (_, wire) in occurrences {
            match (wire, packable(&field.kind)) {
                // A packed run of scalars.
                (Wire::Len(bytes), Some(wire_type)) => {
                    let mut bytes = *bytes;
                    while !bytes.is_empty() {
                        let one = match wire_type {
                            0 => Wire::Varint(varint(&mut bytes)?),
                            1 => Wire::Fixed64(u64::from_le_bytes(
                                take(&mut bytes, 8)?.try_into().map_err(|_| Malformed)?,
                            )),
                            _ => Wire::Fixed32(u32::from_le_bytes(
                                take(&mut bytes, 4)?.try_into().map_err(|_| Malformed)?,
                            )),
                        };
                        self.value(&field.kind, one, out)?;
                    }
                }
                _ => self.value(&field.kind, *wire, out)?,
            }
            out.boundary();
        }
        out.end_array();
        Ok(())
    }

    /// A map field: an object of its entries, keys in byte order, the last entry of a
    /// key winning (as inserting into a `Value` object).
    fn map(
        &mut self,
        field: &Field,
        occurrences: &[(u32, Wire<'_>)],
        out: &mut JsonOut,
    ) -> Result<(), Malformed> {
        let Kind::Message(entry) = &field.kind else { return Err(Malformed) };
        let (key_kind, value_kind) =
            (entry.map_entry_key_field().kind(), entry.map_entry_value_field().kind());
        let mut entries = Vec::with_capacity(occurrences.len());
        for (_, wire) in occurrences {
            let Wire::Len(bytes) = wire else { return Err(Malformed) };
            let wire = fields(bytes)?;
            let last = |n: u32| wire.iter().rev().find(|(m, _)| *m == n).map(|(_, w)| *w);
            let key = match last(1) {
                Some(wire) => map_key(&key_kind, wire)?,
                None => map_key(&key_kind, Wire::Len(&[]))?,
            };
            entries.push((key, last(2)));
        }
        // Stable: among equal keys the last entry stays last.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        out.begin_object();
        for (i, (key, value)) in entries.iter().enumerate() {
            if entries.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            out.key(key);
            match value {
                Some(wire) => self.value(&value_kind, *wire, out)?,
                // An entry without its value holds the kind's default.
                None => match &value_kind {
                    Kind::Message(m) => self.message(m, &[], out)?,
                    other => self.value(other, zero(other), out)?,
                },
            }
        }
        out.end_object();
        Ok(())
    }

    /// One value of `kind`.
    fn value(&mut self, kind: &Kind, wire: Wire<'_>, out: &mut JsonOut) -> Result<(), Malformed> {
        match (kind, wire) {
            (Kind::Message(m), Wire::Len(bytes)) => self.message(m, bytes, out),
            (Kind::String, Wire::Len(bytes)) => {
                out.str(std::str::from_utf8(bytes).map_err(|_| Malformed)?);
                Ok(())
            }
            (Kind::Bytes, Wire::Len(bytes)) => {
                out.str(&base64::engine::general_purpose::STANDARD.encode(bytes));
                Ok(())
            }
            (Kind::Enum(e), Wire::Varint(n)) => {
                let n = n as i32;
                match e.get_value(n) {
                    Some(v) => out.str(v.name()),
                    None => out.value(&n),
                }
                Ok(())
            }
            _ => scalar(kind, wire, out),
        }
    }
}

/// A number or boolean.
// The `as` casts are the protobuf wire rules: an int32 is sign-extended to a 64-bit
// varint, fixed-width values are their bits.
fn scalar(kind: &Kind, wire: Wire<'_>, out: &mut JsonOut) -> Result<(), Malformed> {
    let zigzag = |n: u64| ((n >> 1) as i64) ^ -((n & 1) as i64);
    match (kind, wire) {
        (Kind::Double, Wire::Fixed64(bits)) => float(f64::from_bits(bits), out),
        (Kind::Float, Wire::Fixed32(bits)) => float(f64::from(f32::from_bits(bits)), out),
        (Kind::Int32, Wire::Varint(n)) => out.value(&(n as i32)),
        (Kind::Int64, Wire::Varint(n)) => out.value(&(n as i64)),
        (Kind::Uint32, Wire::Varint(n)) => out.value(&(n as u32)),
        (Kind::Uint64, Wire::Varint(n)) => out.value(&n),
        (Kind::Sint32, Wire::Varint(n)) => out.value(&(zigzag(n) as i32)),
        (Kind::Sint64, Wire::Varint(n)) => out.value(&zigzag(n)),
        (Kind::Fixed32, Wire::Fixed32(n)) => out.value(&n),
        (Kind::Sfixed32, Wire::Fixed32(n)) => out.value(&(n as i32)),
        (Kind::Fixed64, Wire::Fixed64(n)) => out.value(&n),
        (Kind::Sfixed64, Wire::Fixed64(n)) => out.value(&(n as i64)),
        (Kind::Bool, Wire::Varint(n)) => out.value(&(n != 0)),
        _ => return Err(Malformed),
    }
    Ok(())
}

/// A double as the mapping prints it: a number, or a string for what JSON cannot hold.
fn float(x: f64, out: &mut JsonOut) {
    if x.is_finite() {
        out.value(&x);
    } else if x.is_nan() {
        out.str("NaN");
    } else if x > 0.0 {
        out.str("Infinity");
    } else {
        out.str("-Infinity");
    }
}

/// The wire type of a packable kind's elements (0 varint, 1 fixed64, 5 fixed32).
fn packable(kind: &Kind) -> Option<u8> {
    match kind {
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => Some(1),
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => Some(5),
        Kind::Int32
        | Kind::Int64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Sint32
        | Kind::Sint64
        | Kind::Bool
        | Kind::Enum(_) => Some(0),
        Kind::String | Kind::Bytes | Kind::Message(_) => None,
    }
}

/// The zero value of a scalar kind, as the wire would carry it.
fn zero(kind: &Kind) -> Wire<'static> {
    match packable(kind) {
        Some(0) => Wire::Varint(0),
        Some(1) => Wire::Fixed64(0),
        Some(_) => Wire::Fixed32(0),
        None => Wire::Len(&[]),
    }
}

/// A map key as the mapping prints it (`map_key_to_string` in `mesos_proto::json`).
fn map_key(kind: &Kind, wire: Wire<'_>) -> Result<String, Malformed> {
    let mut out = JsonOut::new();
    match (kind, wire) {
        (Kind::String, Wire::Len(bytes)) => {
            return std::str::from_utf8(bytes).map(str::to_string).map_err(|_| Malformed);
        }
        _ => scalar(kind, wire, &mut out)?,
    }
    String::from_utf8(out.into_bytes()).map_err(|_| Malformed)
}

#[cfg(test)]
mod tests {
    use mesos_proto::mesos::v1;
    use prost::Message;
    use prost::encoding::{WireType, encode_key, encode_varint};
    use prost_reflect::ReflectMessage;

    use super::*;

    /// What the `Value` mapping prints for `bytes` and what the writer writes.
    fn both(descriptor: &MessageDescriptor, bytes: &[u8]) -> (String, String) {
        let name = descriptor.full_name();
        let expected = mesos_proto::json::bytes_to_json(name, bytes).expect("decodes").to_string();
        let mut out = JsonOut::new();
        Writer::default().message(descriptor, bytes, &mut out).expect("well formed");
        (String::from_utf8(out.into_bytes()).expect("UTF-8"), expected)
    }

    fn len_field(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
        encode_key(tag, WireType::LengthDelimited, out);
        encode_varint(bytes.len() as u64, out);
        out.extend_from_slice(bytes);
    }

    /// Defaults of unset fields, packed and unpacked runs of one repeated field.
    #[test]
    fn defaults_and_packed_repeated_fields() {
        let check = v1::health_check::HttpCheckInfo { port: 8080, ..Default::default() };
        let mut bytes = check.encode_to_vec();
        let mut packed = Vec::new();
        encode_varint(200, &mut packed);
        encode_varint(201, &mut packed);
        len_field(4, &packed, &mut bytes);
        encode_key(4, WireType::Varint, &mut bytes);
        encode_varint(202, &mut bytes);
        let (written, expected) = both(&check.descriptor(), &bytes);
        assert_eq!(written, expected);
        assert!(written.contains(r#""protocol":"IPv4""#), "{written}");
        assert!(written.contains("[200,201,202]"), "{written}");
    }

    /// Enums the type does not name, non-finite doubles, maps with a repeated key, bytes.
    #[test]
    fn enums_doubles_maps_and_bytes() {
        let mut info = v1::FrameworkInfo {
            user: "u".into(),
            name: "n\"ame".into(),
            failover_timeout: Some(f64::NAN),
            capabilities: [Some(99), Some(3), None]
                .into_iter()
                .map(|r#type| v1::framework_info::Capability { r#type })
                .collect(),
            ..Default::default()
        };
        info.offer_filters.insert("b".into(), v1::OfferFilters::default());
        info.offer_filters.insert("c".into(), v1::OfferFilters::default());
        let mut bytes = info.encode_to_vec();
        // A second entry for "b" (the last wins) and one for "a", after the others.
        for key in ["b", "a"] {
            let mut entry = Vec::new();
            len_field(1, key.as_bytes(), &mut entry);
            len_field(2, &[], &mut entry);
            len_field(13, &entry, &mut bytes);
        }
        let (written, expected) = both(&info.descriptor(), &bytes);
        assert_eq!(written, expected);
        assert!(written.contains(r#""failover_timeout":"NaN""#), "{written}");

        let status = v1::TaskStatus {
            data: Some(vec![0, 255, 7]),
            timestamp: Some(f64::NEG_INFINITY),
            ..Default::default()
        };
        let (written, expected) = both(&status.descriptor(), &status.encode_to_vec());
        assert_eq!(written, expected);
    }

    #[test]
    fn malformed_bytes_are_an_error() {
        let descriptor = v1::TaskStatus::default().descriptor();
        let mut out = JsonOut::new();
        assert_eq!(Writer::default().message(&descriptor, &[0x0a, 5, 1], &mut out), Err(Malformed));
    }
}
