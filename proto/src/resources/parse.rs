//! The `--resources` text syntax (Mesos: resources.cpp
//! `Resources::fromSimpleString`, `Resources::parse`).
//!
//! ```text
//! resources := "" | "{}" | resource (";" resource)*
//! resource  := name ["(" role ")"] ":" value
//! value     := scalar | "[" b "-" e ("," b "-" e)* "]" | "{" item ("," item)* "}"
//! ```
//!
//! Whitespace around names, roles and inside values is ignored; empty
//! `;`-separated pieces are skipped. A resource without a role is reserved to
//! the default role (`*`, unreserved, unless the caller says otherwise).
//! Resources of one name must all have the same type.

use std::collections::BTreeMap;

use crate::mesos::Resource;
use crate::mesos::value::Type;

use super::error::{ParseProblem, ResourceError};
use super::resource::{self, static_reservation};
use super::values::{parse_value_at, type_name};
use super::{Entry, Resources, roles};

/// Parses `text` (either syntax) into validated resources.
pub(super) fn parse_resources(text: &str, default_role: &str) -> Result<Resources, ResourceError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "{}" {
        return Ok(Resources::new());
    }
    let protos = if trimmed.starts_with('[') {
        from_json(trimmed, default_role)?
    } else {
        from_simple_string(text, default_role)?
    };
    let mut result = Resources::new();
    let mut types: BTreeMap<String, i32> = BTreeMap::new();
    for mut proto in protos {
        resource::validate(&proto)?;
        resource::upgrade(&mut proto);
        check_command_line(&proto)?;
        let first = *types.entry(proto.name.clone()).or_insert(proto.r#type);
        if first != proto.r#type {
            return Err(ResourceError::MixedTypes {
                name: proto.name,
                first: type_name(first),
                second: type_name(proto.r#type),
            });
        }
        result.add_entry(Entry::new(proto));
    }
    Ok(result)
}

/// What only code may set, never the `--resources` flag (Mesos:
/// `validateCommandLineResources`). Only the JSON form can express these.
fn check_command_line(proto: &Resource) -> Result<(), ResourceError> {
    let feature = if resource::is_persistent_volume(proto) {
        "persistent volumes"
    } else if resource::is_revocable(proto) {
        "revocable resources"
    } else if resource::is_dynamically_reserved(proto) {
        "dynamic reservations"
    } else {
        return Ok(());
    };
    Err(ResourceError::NotForCommandLine {
        resource: resource::display(proto).to_string(),
        feature,
    })
}

/// The JSON array form Mesos also accepts: `[{"name": "cpus", "type":
/// "SCALAR", "scalar": {"value": 2}}, ...]`, decoded with the crate's
/// protobuf JSON mapping ([`crate::json`]). Resources that name no role get
/// `default_role`. Unlike the text form, JSON can express reservations,
/// disk info and revocability; the caller still rejects those the command
/// line must not set.
#[allow(deprecated)] // Sets the old-format `role` field, as Mesos does here.
fn from_json(text: &str, default_role: &str) -> Result<Vec<Resource>, ResourceError> {
    let items: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| ResourceError::Json { reason: e.to_string() })?;
    let mut protos = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let mut proto: Resource = crate::json::from_json(item)
            .map_err(|e| ResourceError::Json { reason: format!("resource #{index}: {e}") })?;
        if proto.role.is_none() && proto.reservations.is_empty() {
            proto.role = Some(default_role.to_string());
        }
        protos.push(proto);
    }
    Ok(protos)
}

/// One `;`-separated piece of the text, with its byte offset.
struct Token<'a> {
    text: &'a str,
    offset: usize,
}

impl Token<'_> {
    fn error(&self, input: &str, at: usize, problem: ParseProblem) -> ResourceError {
        ResourceError::Parse {
            what: "resources",
            input: input.to_string(),
            offset: self.offset + at,
            token: self.text.trim().to_string(),
            problem,
        }
    }
}

/// Splits `text` at `separators`, keeping each piece's byte offset and
/// skipping pieces that are only whitespace.
pub(crate) fn tokens<'a>(text: &'a str, separators: &[char]) -> Vec<(usize, &'a str)> {
    let mut result = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        if separators.contains(&c) {
            result.push((start, &text[start..at]));
            start = at + c.len_utf8();
        }
    }
    result.push((start, &text[start..]));
    result.retain(|(_, piece)| !piece.trim().is_empty());
    result
}

/// Offset of the first non-whitespace character of `piece` (or its end).
fn first_non_space(piece: &str) -> usize {
    piece.len() - piece.trim_start().len()
}

fn from_simple_string(input: &str, default_role: &str) -> Result<Vec<Resource>, ResourceError> {
    let mut protos = Vec::new();
    for (offset, text) in tokens(input, &[';']) {
        let token = Token { text, offset };
        protos.push(parse_one(input, &token, default_role)?);
    }
    Ok(protos)
}

/// `name(role):value` or `name:value`.
fn parse_one(
    input: &str,
    token: &Token<'_>,
    default_role: &str,
) -> Result<Resource, ResourceError> {
    let text = token.text;
    let Some(colon) = text.find(':') else {
        return Err(token.error(input, first_non_space(text), ParseProblem::MissingColon));
    };
    if let Some(extra) = text[colon + 1..].find(':') {
        return Err(token.error(input, colon + 1 + extra, ParseProblem::ExtraColon));
    }
    let head = &text[..colon];

    let (name, name_at, role, role_at) = match (head.find('('), head.find(')')) {
        (None, None) => (head.trim(), first_non_space(head), default_role, 0),
        (Some(open), Some(close)) if open < close => {
            let after = &head[close + 1..];
            if !after.trim().is_empty() {
                return Err(token.error(
                    input,
                    close + 1 + first_non_space(after),
                    ParseProblem::TextAfterRole,
                ));
            }
            let role_text = &head[open + 1..close];
            (
                head[..open].trim(),
                first_non_space(head),
                role_text.trim(),
                open + 1 + first_non_space(role_text),
            )
        }
        (Some(open), None) => {
            return Err(token.error(input, open, ParseProblem::MismatchedParentheses));
        }
        (_, Some(close)) => {
            return Err(token.error(input, close, ParseProblem::MismatchedParentheses));
        }
    };
    if name.is_empty() {
        return Err(token.error(input, name_at, ParseProblem::EmptyName));
    }
    if let Err(why) = roles::validate(role) {
        return Err(token.error(input, role_at, ParseProblem::BadRole(why)));
    }

    let value = parse_value_at(&text[colon + 1..])
        .map_err(|(at, problem)| token.error(input, colon + 1 + at, problem))?;
    let value_type = Type::try_from(value.r#type).unwrap_or(Type::Text);
    if value_type == Type::Text {
        return Err(token.error(
            input,
            colon + 1 + first_non_space(&text[colon + 1..]),
            ParseProblem::WrongType { found: "TEXT", expected: "a scalar, [ranges] or {set}" },
        ));
    }
    Ok(Resource {
        name: name.to_string(),
        r#type: value.r#type,
        scalar: value.scalar,
        ranges: value.ranges,
        set: value.set,
        reservations: if role == roles::DEFAULT_ROLE {
            Vec::new()
        } else {
            vec![static_reservation(role)]
        },
        ..Default::default()
    })
}

/// Parses one resource from its parts (Mesos: `Resources::parse(name, value,
/// role)`): `parse_resource("ports", "[1-10]", "*")`. The result is in the
/// current format but not validated.
pub fn parse_resource(name: &str, value: &str, role: &str) -> Result<Resource, ResourceError> {
    let text = format!("{name}({role}):{value}");
    let token = Token { text: &text, offset: 0 };
    parse_one(&text, &token, role)
}
