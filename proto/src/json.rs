//! Mesos's JSON mapping of protobuf messages, both directions, for any message.
//!
//! The v1 HTTP APIs (`Content-Type: application/json`) and endpoints such as
//! `/state` speak the JSON dialect of Mesos's stout library (`stout/protobuf.hpp`,
//! `JSON::protobuf` and `protobuf::parse`), which differs from the canonical
//! proto3 JSON mapping. This module follows stout:
//!
//! Rendering ([`to_json`]):
//! - field names exactly as in the `.proto` (snake_case), never camelCase;
//! - enums as their value names (`"TASK_RUNNING"`);
//! - `bytes` as standard base64 with padding;
//! - 64-bit integers as JSON numbers (not strings), doubles as numbers
//!   (`"Infinity"`, `"-Infinity"`, `"NaN"` as strings, which JSON cannot hold);
//! - a singular field is written when it is set, **or** when it is unset but its
//!   `.proto` declares an explicit `[default = ...]` and is not deprecated (stout
//!   does this, so `/state` shows e.g. `"checkpoint": false`);
//! - repeated fields as arrays, only when non-empty; map fields as objects.
//!
//! Parsing ([`from_json`], [`from_json_str`]) accepts what real clients send and
//! what stout accepts:
//! - the top level must be an object; unknown field names are ignored;
//! - `null` leaves a field unset;
//! - numbers may be given as JSON numbers or as strings (`"5"`, `"1e3"`), doubles
//!   also as `"Infinity"` / `"-Infinity"`; booleans also as `"true"` / `"false"`;
//! - enums by name; an unknown name on an optional or repeated enum field is
//!   dropped (proto2 behaviour, so newer clients work against us), but on a
//!   required field it is an error. We also accept an enum's number;
//! - `bytes` as base64 (padding optional);
//! - a single value where an array is expected is an error, as in stout;
//! - after parsing, every required field (recursively) must be set.
//!
//! Deviation from stout, on purpose: a JSON number with a fractional part for
//! an integer field is an error here (stout silently truncates it), and error
//! messages carry the full field path (`offers[0].resources[1].scalar.value`).

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage,
    Value as PValue,
};
use serde_json::{Map, Number, Value};

/// Why a JSON document could not be turned into a message.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The text is not JSON at all.
    #[error("invalid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    /// A message (the top level, or a message field) was given as something
    /// other than a JSON object.
    #[error("{path}: expecting a JSON object for message {message}, found {found}")]
    NotAnObject {
        /// Field path to the value (`<root>` for the top level).
        path: String,
        /// Full protobuf name of the expected message.
        message: String,
        /// The JSON kind that was found.
        found: &'static str,
    },
    /// A field's JSON value has the wrong kind (e.g. an object for a string).
    #[error("{path}: expecting {expected}, found {found}")]
    WrongType {
        /// Field path to the value.
        path: String,
        /// What the field's protobuf type needs.
        expected: &'static str,
        /// The JSON kind that was found.
        found: &'static str,
    },
    /// A value has the right JSON kind but cannot be converted (bad number,
    /// out of range, bad base64, ...).
    #[error("{path}: {detail}")]
    InvalidValue {
        /// Field path to the value.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A required enum field names a value its enum does not have.
    #[error("{path}: unknown value '{value}' for enum {enum_name}")]
    UnknownEnumValue {
        /// Field path to the value.
        path: String,
        /// The name given.
        value: String,
        /// Full protobuf name of the enum.
        enum_name: String,
    },
    /// Required fields are missing after parsing.
    #[error("missing required fields: {}", fields.join(", "))]
    MissingRequired {
        /// Paths of the missing fields.
        fields: Vec<String>,
    },
    /// The parsed message could not be converted into the Rust type. Not
    /// expected to happen: the Rust type and the descriptor come from the same
    /// `.proto` files.
    #[error("cannot convert parsed message to {message}: {source}")]
    Transcode {
        /// Full protobuf name of the message.
        message: String,
        /// The decoding error.
        source: prost::DecodeError,
    },
}

/// Renders a message as a JSON value, in Mesos's mapping (see the module docs).
pub fn to_json<M: ReflectMessage>(message: &M) -> Value {
    message_to_json(&message.transcode_to_dynamic())
}

/// Renders a message as compact JSON text, in Mesos's mapping.
pub fn to_json_string<M: ReflectMessage>(message: &M) -> String {
    to_json(message).to_string()
}

/// Decodes the binary protobuf of the message called `full_name`
/// (`mesos.internal.RegisterSlaveMessage`) and renders it in Mesos's mapping; `None`
/// if no message of that name is known or the bytes are not one. The message ring's
/// `/messages/body` endpoint shows bodies this way.
pub fn bytes_to_json(full_name: &str, bytes: &[u8]) -> Option<Value> {
    let descriptor = crate::DESCRIPTOR_POOL.get_message_by_name(full_name)?;
    DynamicMessage::decode(descriptor, bytes).ok().map(|message| message_to_json(&message))
}

/// Parses a message of type `M` from a JSON value, accepting what Mesos accepts
/// (see the module docs).
pub fn from_json<M: ReflectMessage + Default>(json: &Value) -> Result<M, JsonError> {
    let descriptor = M::default().descriptor();
    let dynamic = parse_dynamic(&descriptor, json)?;
    dynamic.transcode_to::<M>().map_err(|source| JsonError::Transcode {
        message: descriptor.full_name().to_string(),
        source,
    })
}

/// Parses a message of type `M` from JSON text.
pub fn from_json_str<M: ReflectMessage + Default>(text: &str) -> Result<M, JsonError> {
    let json: Value = serde_json::from_str(text)?;
    from_json(&json)
}

/// Parses JSON into a dynamic message of the given type and checks that every
/// required field is set. Useful where the type is only known at run time.
pub fn parse_dynamic(
    descriptor: &MessageDescriptor,
    json: &Value,
) -> Result<DynamicMessage, JsonError> {
    let mut message = DynamicMessage::new(descriptor.clone());
    let object = as_object(json, descriptor, "<root>")?;
    parse_object(&mut message, object, "")?;
    let mut missing = Vec::new();
    missing_required(&message, "", &mut missing);
    if missing.is_empty() {
        Ok(message)
    } else {
        Err(JsonError::MissingRequired { fields: missing })
    }
}

// ---------------------------------------------------------------------------
// Rendering.

/// Renders a dynamic message; fields follow stout's `JSON::protobuf` rules.
pub fn message_to_json(message: &DynamicMessage) -> Value {
    let mut object = Map::new();
    for field in message.descriptor().fields() {
        if field.is_list() || field.is_map() {
            let value = message.get_field(&field);
            let empty = match value.as_ref() {
                PValue::List(items) => items.is_empty(),
                PValue::Map(entries) => entries.is_empty(),
                _ => true,
            };
            if !empty {
                object.insert(field.name().to_string(), field_to_json(&field, &value));
            }
        } else if message.has_field(&field) || has_explicit_default(&field) {
            // `get_field` yields the declared default when the field is unset.
            let value = message.get_field(&field);
            object.insert(field.name().to_string(), field_to_json(&field, &value));
        }
    }
    Value::Object(object)
}

/// Whether stout would print this unset singular field with its default.
fn has_explicit_default(field: &FieldDescriptor) -> bool {
    let proto = field.field_descriptor_proto();
    let deprecated = proto.options.as_ref().is_some_and(|o| o.deprecated());
    proto.default_value.is_some() && !deprecated
}

fn field_to_json(field: &FieldDescriptor, value: &PValue) -> Value {
    match value {
        PValue::List(items) => {
            Value::Array(items.iter().map(|v| value_to_json(&field.kind(), v)).collect())
        }
        PValue::Map(entries) => {
            let value_kind = match field.kind() {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other,
            };
            let mut object = Map::new();
            for (key, value) in entries {
                object.insert(map_key_to_string(key), value_to_json(&value_kind, value));
            }
            Value::Object(object)
        }
        single => value_to_json(&field.kind(), single),
    }
}

fn map_key_to_string(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

fn value_to_json(kind: &Kind, value: &PValue) -> Value {
    match value {
        PValue::Bool(b) => Value::Bool(*b),
        PValue::I32(n) => Value::from(*n),
        PValue::I64(n) => Value::from(*n),
        PValue::U32(n) => Value::from(*n),
        PValue::U64(n) => Value::from(*n),
        PValue::F32(x) => float_to_json(f64::from(*x)),
        PValue::F64(x) => float_to_json(*x),
        PValue::String(s) => Value::String(s.clone()),
        PValue::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        PValue::EnumNumber(n) => match kind {
            Kind::Enum(e) => match e.get_value(*n) {
                Some(v) => Value::String(v.name().to_string()),
                // A number this enum does not name (from a newer peer): keep
                // the number rather than inventing a name.
                None => Value::from(*n),
            },
            _ => Value::from(*n),
        },
        PValue::Message(m) => message_to_json(m),
        PValue::List(items) => Value::Array(items.iter().map(|v| value_to_json(kind, v)).collect()),
        PValue::Map(entries) => {
            let mut object = Map::new();
            for (key, value) in entries {
                object.insert(map_key_to_string(key), value_to_json(kind, value));
            }
            Value::Object(object)
        }
    }
}

fn float_to_json(x: f64) -> Value {
    match Number::from_f64(x) {
        Some(n) => Value::Number(n),
        None if x.is_nan() => Value::String("NaN".into()),
        None if x > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

// ---------------------------------------------------------------------------
// Parsing.

fn kind_of(json: &Value) -> &'static str {
    match json {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_string() } else { format!("{path}.{name}") }
}

fn as_object<'a>(
    json: &'a Value,
    descriptor: &MessageDescriptor,
    path: &str,
) -> Result<&'a Map<String, Value>, JsonError> {
    json.as_object().ok_or_else(|| JsonError::NotAnObject {
        path: path.to_string(),
        message: descriptor.full_name().to_string(),
        found: kind_of(json),
    })
}

/// Fills `message` from `object`: one field per known key, unknown keys ignored.
fn parse_object(
    message: &mut DynamicMessage,
    object: &Map<String, Value>,
    path: &str,
) -> Result<(), JsonError> {
    let descriptor = message.descriptor();
    for (name, json) in object {
        // Mesos looks fields up by their .proto name only (FindFieldByName).
        let Some(field) = descriptor.get_field_by_name(name) else {
            continue;
        };
        let field_path = join(path, name);
        if json.is_null() {
            continue;
        }
        if field.is_map() {
            let map = parse_map(&field, json, &field_path)?;
            message.set_field(&field, map);
        } else if field.is_list() {
            let Value::Array(items) = json else {
                return Err(JsonError::WrongType {
                    path: field_path,
                    expected: "an array",
                    found: kind_of(json),
                });
            };
            let mut values = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if item.is_null() {
                    continue;
                }
                let item_path = format!("{field_path}[{i}]");
                if let Some(v) = parse_single(&field.kind(), item, &item_path, false)? {
                    values.push(v);
                }
            }
            message.set_field(&field, PValue::List(values));
        } else if let Some(v) = parse_single(&field.kind(), json, &field_path, field.is_required())?
        {
            message.set_field(&field, v);
        }
    }
    Ok(())
}

fn parse_map(field: &FieldDescriptor, json: &Value, path: &str) -> Result<PValue, JsonError> {
    let Kind::Message(entry) = field.kind() else {
        return Err(JsonError::InvalidValue {
            path: path.to_string(),
            detail: "map field without entry type".into(),
        });
    };
    let Value::Object(object) = json else {
        return Err(JsonError::WrongType {
            path: path.to_string(),
            expected: "an object (map)",
            found: kind_of(json),
        });
    };
    let key_kind = entry.map_entry_key_field().kind();
    let value_kind = entry.map_entry_value_field().kind();
    let mut map = std::collections::HashMap::with_capacity(object.len());
    for (key, json) in object {
        let entry_path = format!("{path}[{key}]");
        let key = parse_map_key(&key_kind, key, &entry_path)?;
        if let Some(value) = parse_single(&value_kind, json, &entry_path, false)? {
            map.insert(key, value);
        }
    }
    Ok(PValue::Map(map))
}

fn parse_map_key(kind: &Kind, key: &str, path: &str) -> Result<MapKey, JsonError> {
    let json = Value::String(key.to_string());
    let key = match kind {
        Kind::String => MapKey::String(key.to_string()),
        Kind::Bool => MapKey::Bool(parse_bool(&json, path)?),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => MapKey::I32(int_from(&json, path)?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => MapKey::I64(int_from(&json, path)?),
        Kind::Uint32 | Kind::Fixed32 => MapKey::U32(int_from(&json, path)?),
        Kind::Uint64 | Kind::Fixed64 => MapKey::U64(int_from(&json, path)?),
        _ => {
            return Err(JsonError::InvalidValue {
                path: path.to_string(),
                detail: "unsupported map key type".into(),
            });
        }
    };
    Ok(key)
}

/// Parses one non-null value of a field of kind `kind`. `Ok(None)` means the
/// value is dropped (an unknown name on a non-required enum field).
fn parse_single(
    kind: &Kind,
    json: &Value,
    path: &str,
    required: bool,
) -> Result<Option<PValue>, JsonError> {
    let value = match kind {
        Kind::Message(descriptor) => {
            let object = as_object(json, descriptor, path)?;
            let mut nested = DynamicMessage::new(descriptor.clone());
            parse_object(&mut nested, object, path)?;
            PValue::Message(nested)
        }
        Kind::String => match json {
            Value::String(s) => PValue::String(s.clone()),
            other => {
                return Err(JsonError::WrongType {
                    path: path.to_string(),
                    expected: "a string",
                    found: kind_of(other),
                });
            }
        },
        Kind::Bytes => match json {
            Value::String(s) => PValue::Bytes(decode_base64(s, path)?.into()),
            other => {
                return Err(JsonError::WrongType {
                    path: path.to_string(),
                    expected: "a base64 string",
                    found: kind_of(other),
                });
            }
        },
        Kind::Bool => PValue::Bool(parse_bool(json, path)?),
        Kind::Double => PValue::F64(parse_float(json, path)?),
        // Narrowing to f32 is what a float field means; stout does the same.
        Kind::Float => PValue::F32(parse_float(json, path)? as f32),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => PValue::I32(int_from(json, path)?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => PValue::I64(int_from(json, path)?),
        Kind::Uint32 | Kind::Fixed32 => PValue::U32(int_from(json, path)?),
        Kind::Uint64 | Kind::Fixed64 => PValue::U64(int_from(json, path)?),
        Kind::Enum(descriptor) => match json {
            Value::String(name) => match descriptor.get_value_by_name(name) {
                Some(v) => PValue::EnumNumber(v.number()),
                None if required => {
                    return Err(JsonError::UnknownEnumValue {
                        path: path.to_string(),
                        value: name.clone(),
                        enum_name: descriptor.full_name().to_string(),
                    });
                }
                // proto2: an unknown value of an optional enum is discarded.
                None => return Ok(None),
            },
            Value::Number(_) => {
                let number: i32 = int_from(json, path)?;
                match descriptor.get_value(number) {
                    Some(_) => PValue::EnumNumber(number),
                    None if required => {
                        return Err(JsonError::UnknownEnumValue {
                            path: path.to_string(),
                            value: number.to_string(),
                            enum_name: descriptor.full_name().to_string(),
                        });
                    }
                    None => return Ok(None),
                }
            }
            other => {
                return Err(JsonError::WrongType {
                    path: path.to_string(),
                    expected: "an enum name",
                    found: kind_of(other),
                });
            }
        },
    };
    Ok(Some(value))
}

/// Standard base64; padding optional and stray low bits in the last symbol
/// allowed, as stout's decoder (and Python's) allow.
fn decode_base64(text: &str, path: &str) -> Result<Vec<u8>, JsonError> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    LENIENT.decode(text).map_err(|e| JsonError::InvalidValue {
        path: path.to_string(),
        detail: format!("invalid base64: {e}"),
    })
}

fn parse_bool(json: &Value, path: &str) -> Result<bool, JsonError> {
    match json {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        Value::String(s) => Err(JsonError::InvalidValue {
            path: path.to_string(),
            detail: format!("cannot parse '{s}' as a boolean"),
        }),
        other => Err(JsonError::WrongType {
            path: path.to_string(),
            expected: "a boolean",
            found: kind_of(other),
        }),
    }
}

/// A JSON number, or a string holding one (stout parses such strings as JSON).
fn number_of<'a>(json: &'a Value, path: &str) -> Result<Cow<'a, Number>, JsonError> {
    match json {
        Value::Number(n) => Ok(Cow::Borrowed(n)),
        Value::String(s) => {
            serde_json::from_str::<Number>(s.trim()).map(Cow::Owned).map_err(|_| {
                JsonError::InvalidValue {
                    path: path.to_string(),
                    detail: format!("cannot parse '{s}' as a number"),
                }
            })
        }
        other => Err(JsonError::WrongType {
            path: path.to_string(),
            expected: "a number",
            found: kind_of(other),
        }),
    }
}

fn parse_float(json: &Value, path: &str) -> Result<f64, JsonError> {
    if let Value::String(s) = json {
        match s.as_str() {
            "Infinity" => return Ok(f64::INFINITY),
            "-Infinity" => return Ok(f64::NEG_INFINITY),
            "NaN" => return Ok(f64::NAN),
            _ => {}
        }
    }
    let number = number_of(json, path)?;
    number.as_f64().ok_or_else(|| JsonError::InvalidValue {
        path: path.to_string(),
        detail: format!("{number} is not a finite number"),
    })
}

/// An integer of type `T` from a JSON number or numeric string. Integral
/// floats (`5.0`, `1e3`) are accepted; fractions and out-of-range values are not.
fn int_from<T>(json: &Value, path: &str) -> Result<T, JsonError>
where
    T: TryFrom<i64> + TryFrom<u64>,
{
    let number = number_of(json, path)?;
    let out_of_range = || JsonError::InvalidValue {
        path: path.to_string(),
        detail: format!("{number} is out of range for this field"),
    };
    if let Some(n) = number.as_i64() {
        return T::try_from(n).map_err(|_| out_of_range());
    }
    if let Some(n) = number.as_u64() {
        return T::try_from(n).map_err(|_| out_of_range());
    }
    // A float: accept it only if it is a whole number that fits.
    let x = number.as_f64().unwrap_or(f64::NAN);
    if x.fract() != 0.0 || !x.is_finite() {
        return Err(JsonError::InvalidValue {
            path: path.to_string(),
            detail: format!("{number} is not an integer"),
        });
    }
    // Whole and finite: exact in i64 when |x| < 2^63, else try u64.
    if x >= -(2f64.powi(63)) && x < 2f64.powi(63) {
        T::try_from(x as i64).map_err(|_| out_of_range())
    } else if x >= 0.0 && x < 2f64.powi(64) {
        T::try_from(x as u64).map_err(|_| out_of_range())
    } else {
        Err(out_of_range())
    }
}

/// Collects the paths of required fields that are unset, recursively through
/// set message fields, lists and map values (like protobuf's IsInitialized).
fn missing_required(message: &DynamicMessage, path: &str, out: &mut Vec<String>) {
    for field in message.descriptor().fields() {
        let field_path = join(path, field.name());
        if field.is_required() && !message.has_field(&field) {
            out.push(field_path);
            continue;
        }
        if !message.has_field(&field) {
            continue;
        }
        match message.get_field(&field).as_ref() {
            PValue::Message(m) => missing_required(m, &field_path, out),
            PValue::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let PValue::Message(m) = item {
                        missing_required(m, &format!("{field_path}[{i}]"), out);
                    }
                }
            }
            PValue::Map(entries) => {
                for (key, value) in entries {
                    if let PValue::Message(m) = value {
                        missing_required(
                            m,
                            &format!("{field_path}[{}]", map_key_to_string(key)),
                            out,
                        );
                    }
                }
            }
            _ => {}
        }
    }
}
