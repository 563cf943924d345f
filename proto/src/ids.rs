//! Typed identifiers: `FrameworkId`, `AgentId`, `OfferId`, `TaskId`,
//! `ExecutorId`, `ContainerId`, `OperationId`.
//!
//! Each wraps the string of the matching protobuf ID message, so a task id can
//! never be passed where an agent id is expected. They convert both ways with
//! the v0 (`mesos::FrameworkId`, `mesos::SlaveId`, ...) and v1
//! (`mesos::v1::FrameworkId`, `mesos::v1::AgentId`, ...) messages; they order
//! and hash like their strings and print as them.
//!
//! Conversions accept any string, as Mesos does when decoding; whether an id a
//! framework *chose* is acceptable is a separate check, [`FrameworkId::validate`]
//! and friends (Mesos: common/validation.cpp `validateID`).
//!
//! # Generated ids
//!
//! The master names frameworks, agents and offers after its own id (or the
//! cluster's) and a counter (Mesos: master.cpp `newFrameworkId`,
//! `newSlaveId`, `newOfferId`):
//!
//! | id | format | example |
//! |---|---|---|
//! | framework | `<master id>-<NNNN>` (at least 4 digits) | `5e1c...-0007` |
//! | agent | `<master id>-S<n>` | `5e1c...-S3` |
//! | offer | `<master id>-O<n>` | `5e1c...-O12` |
//!
//! The counter is the caller's, so that it can be replicated with the
//! registry and a new leader never hands out an id twice.

use std::borrow::Borrow;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use crate::mesos;

/// Why an id is not acceptable (Mesos: `validateID`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is the empty string.
    #[error("{kind} must not be empty")]
    Empty {
        /// Which id: "task id", "framework id", ...
        kind: &'static str,
    },
    /// The id is longer than a file name may be (it names sandbox folders).
    #[error("{kind} '{id}' is longer than {MAX_ID_LEN} bytes")]
    TooLong {
        /// Which id.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// The id is `.` or `..`, which would escape its sandbox folder.
    #[error("{kind} '{id}' is not allowed")]
    Reserved {
        /// Which id.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// The id holds a control character or a path separator.
    #[error("{kind} '{id}' contains a control character or a path separator")]
    InvalidCharacter {
        /// Which id.
        kind: &'static str,
        /// The id.
        id: String,
    },
}

/// The longest id accepted, in bytes (`NAME_MAX`: ids become folder names).
pub const MAX_ID_LEN: usize = 255;

/// Mesos's `validateID` rules.
pub fn validate_id(kind: &'static str, id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { kind, id: id.to_string() });
    }
    if id == "." || id == ".." {
        return Err(IdError::Reserved { kind, id: id.to_string() });
    }
    if id.chars().any(|c| c.is_ascii_control() || c == '/' || c == '\\') {
        return Err(IdError::InvalidCharacter { kind, id: id.to_string() });
    }
    Ok(())
}

/// `(prefix, counter)` of an id made as `<prefix>-<marker><digits>`.
fn generated_parts<'a>(id: &'a str, marker: &str) -> Option<(&'a str, u64)> {
    let (prefix, tail) = id.rsplit_once('-')?;
    let digits = tail.strip_prefix(marker)?;
    if prefix.is_empty() || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(|counter| (prefix, counter))
}

/// Defines a string id newtype with its conversions.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, kind = $kind:literal, v0 = $v0:path, v1 = $v1:path) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Wraps `value` as is.
            pub fn new(value: impl Into<String>) -> $name {
                $name(value.into())
            }

            /// The id's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, by value.
            pub fn into_string(self) -> String {
                self.0
            }

            /// Checks Mesos's rules for ids: not empty, at most [`MAX_ID_LEN`]
            /// bytes, not `.` or `..`, no control characters, `/` or `\`.
            pub fn validate(&self) -> Result<(), IdError> {
                validate_id($kind, &self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Infallible;

            /// Any string is an id; see `validate` for Mesos's rules.
            fn from_str(text: &str) -> Result<$name, Infallible> {
                Ok($name(text.to_string()))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> $name {
                $name(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> $name {
                $name(value.to_string())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<$v0> for $name {
            fn from(id: $v0) -> $name {
                $name(id.value)
            }
        }

        impl From<&$v0> for $name {
            fn from(id: &$v0) -> $name {
                $name(id.value.clone())
            }
        }

        impl From<$name> for $v0 {
            fn from(id: $name) -> $v0 {
                From::from(&id)
            }
        }

        impl From<&$name> for $v0 {
            fn from(id: &$name) -> $v0 {
                $v0 { value: id.0.clone() }
            }
        }

        impl From<$v1> for $name {
            fn from(id: $v1) -> $name {
                $name(id.value)
            }
        }

        impl From<&$v1> for $name {
            fn from(id: &$v1) -> $name {
                $name(id.value.clone())
            }
        }

        impl From<$name> for $v1 {
            fn from(id: $name) -> $v1 {
                From::from(&id)
            }
        }

        impl From<&$name> for $v1 {
            fn from(id: &$name) -> $v1 {
                $v1 { value: id.0.clone() }
            }
        }
    };
}

string_id!(
    /// Names a framework; assigned by the master on first subscription
    /// (`<master id>-<NNNN>`, see [`FrameworkId::generate`]).
    FrameworkId, kind = "framework id", v0 = mesos::FrameworkId, v1 = mesos::v1::FrameworkId
);
string_id!(
    /// Names an agent; assigned by the master on first registration
    /// (`<master id>-S<n>`). On the v0 wire it is a `SlaveID`.
    AgentId, kind = "agent id", v0 = mesos::SlaveId, v1 = mesos::v1::AgentId
);
string_id!(
    /// Names an offer (`<master id>-O<n>`).
    OfferId, kind = "offer id", v0 = mesos::OfferId, v1 = mesos::v1::OfferId
);
string_id!(
    /// Names a task; chosen by the framework, unique within it.
    TaskId, kind = "task id", v0 = mesos::TaskId, v1 = mesos::v1::TaskId
);
string_id!(
    /// Names an executor; chosen by the framework (or the agent, for command
    /// tasks), unique within the framework on one agent.
    ExecutorId, kind = "executor id", v0 = mesos::ExecutorId, v1 = mesos::v1::ExecutorId
);
string_id!(
    /// Names an offer operation, chosen by the framework when it wants
    /// feedback on it.
    OperationId, kind = "operation id", v0 = mesos::OperationId, v1 = mesos::v1::OperationId
);

impl FrameworkId {
    /// The id the master gives its `counter`-th framework:
    /// `<master_id>-<counter>`, the counter zero-padded to 4 digits
    /// (Mesos: master.cpp `Master::newFrameworkId`).
    pub fn generate(master_id: &str, counter: u64) -> FrameworkId {
        FrameworkId(format!("{master_id}-{counter:04}"))
    }

    /// The master id and counter of an id made by [`FrameworkId::generate`],
    /// or `None` for an id of another shape.
    pub fn generated_parts(&self) -> Option<(&str, u64)> {
        generated_parts(&self.0, "")
    }
}

impl AgentId {
    /// The id the master gives its `counter`-th agent: `<master_id>-S<counter>`
    /// (Mesos: master.cpp `Master::newSlaveId`).
    pub fn generate(master_id: &str, counter: u64) -> AgentId {
        AgentId(format!("{master_id}-S{counter}"))
    }

    /// The master id and counter of an id made by [`AgentId::generate`].
    pub fn generated_parts(&self) -> Option<(&str, u64)> {
        generated_parts(&self.0, "S")
    }
}

impl OfferId {
    /// The id the master gives its `counter`-th offer: `<master_id>-O<counter>`
    /// (Mesos: master.cpp `Master::newOfferId`).
    pub fn generate(master_id: &str, counter: u64) -> OfferId {
        OfferId(format!("{master_id}-O{counter}"))
    }

    /// The master id and counter of an id made by [`OfferId::generate`].
    pub fn generated_parts(&self) -> Option<(&str, u64)> {
        generated_parts(&self.0, "O")
    }
}

/// Names a container on an agent. Nested containers (for task groups and
/// debug containers) carry their parent; printed, ancestors come first,
/// joined by `.` as Mesos prints them (`parent.child`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerId {
    value: String,
    parent: Option<Box<ContainerId>>,
}

impl ContainerId {
    /// A top-level container.
    pub fn new(value: impl Into<String>) -> ContainerId {
        ContainerId { value: value.into(), parent: None }
    }

    /// A container nested in `parent`.
    pub fn nested(parent: ContainerId, value: impl Into<String>) -> ContainerId {
        ContainerId { value: value.into(), parent: Some(Box::new(parent)) }
    }

    /// This container's own name (without its ancestors).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The container this one is nested in, if any.
    pub fn parent(&self) -> Option<&ContainerId> {
        self.parent.as_deref()
    }

    /// The top-level ancestor (itself if not nested).
    pub fn root(&self) -> &ContainerId {
        let mut current = self;
        while let Some(parent) = current.parent() {
            current = parent;
        }
        current
    }

    /// Checks Mesos's id rules on this container and its ancestors.
    pub fn validate(&self) -> Result<(), IdError> {
        validate_id("container id", &self.value)?;
        if self.value.contains('.') {
            // A '.' would make the printed form ambiguous.
            return Err(IdError::InvalidCharacter { kind: "container id", id: self.value.clone() });
        }
        self.parent().map_or(Ok(()), ContainerId::validate)
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent() {
            write!(f, "{parent}.")?;
        }
        f.write_str(&self.value)
    }
}

impl FromStr for ContainerId {
    type Err = Infallible;

    /// Reads the printed form: `a.b.c` is `c` nested in `b` nested in `a`.
    fn from_str(text: &str) -> Result<ContainerId, Infallible> {
        let mut parts = text.split('.');
        // `split` always yields at least one piece.
        let mut id = ContainerId::new(parts.next().unwrap_or_default());
        for part in parts {
            id = ContainerId::nested(id, part);
        }
        Ok(id)
    }
}

/// Converts both protobuf ContainerID shapes, whose fields are the same.
macro_rules! container_id_proto {
    ($proto:path) => {
        impl From<&$proto> for ContainerId {
            fn from(proto: &$proto) -> ContainerId {
                ContainerId {
                    value: proto.value.clone(),
                    parent: proto.parent.as_deref().map(|p| Box::new(ContainerId::from(p))),
                }
            }
        }

        impl From<$proto> for ContainerId {
            fn from(proto: $proto) -> ContainerId {
                ContainerId::from(&proto)
            }
        }

        impl From<&ContainerId> for $proto {
            fn from(id: &ContainerId) -> $proto {
                $proto {
                    value: id.value.clone(),
                    parent: id.parent().map(|p| Box::new(From::from(p))),
                }
            }
        }

        impl From<ContainerId> for $proto {
            fn from(id: ContainerId) -> $proto {
                From::from(&id)
            }
        }
    };
}

container_id_proto!(mesos::ContainerId);
container_id_proto!(mesos::v1::ContainerId);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message;

    /// Proves generated ids have Mesos's shapes and their parts can be read back.
    #[test]
    fn generated_ids_follow_mesos_formats() {
        let master = "5e1c7a36-2f5a-4f0e-9c53-0b6a3f6c1d2e";
        let framework = FrameworkId::generate(master, 7);
        assert_eq!(framework.as_str(), format!("{master}-0007"));
        assert_eq!(framework.generated_parts(), Some((master, 7)));
        assert_eq!(FrameworkId::generate(master, 12345).as_str(), format!("{master}-12345"));

        let agent = AgentId::generate(master, 3);
        assert_eq!(agent.as_str(), format!("{master}-S3"));
        assert_eq!(agent.generated_parts(), Some((master, 3)));

        let offer = OfferId::generate(master, 12);
        assert_eq!(offer.as_str(), format!("{master}-O12"));
        assert_eq!(offer.generated_parts(), Some((master, 12)));

        assert_eq!(AgentId::new("my-agent").generated_parts(), None);
        assert_eq!(OfferId::new("x-O").generated_parts(), None);
        assert_eq!(FrameworkId::new("-0001").generated_parts(), None);
    }

    /// Proves ids convert to the v0 and v1 messages and back, and encode as the protobuf string.
    #[test]
    fn ids_convert_to_and_from_protobuf() {
        let agent = AgentId::new("a-S1");
        let v0: mesos::SlaveId = agent.clone().into();
        assert_eq!(v0.value, "a-S1");
        assert_eq!(AgentId::from(&v0), agent);
        let v1: mesos::v1::AgentId = (&agent).into();
        assert_eq!(AgentId::from(v1), agent);
        // Field 1, length-delimited: 0x0a, length 4, "a-S1".
        assert_eq!(v0.encode_to_vec(), b"\x0a\x04a-S1".to_vec());

        let task: TaskId = "t1".parse().unwrap();
        assert_eq!(mesos::TaskId::from(&task).value, "t1");
        assert_eq!(task.to_string(), "t1");
    }

    /// Proves nested container ids keep their parents through protobuf and text.
    #[test]
    fn container_ids_nest() {
        let child = ContainerId::nested(ContainerId::new("parent"), "child");
        assert_eq!(child.to_string(), "parent.child");
        assert_eq!(child.root().value(), "parent");
        let proto = mesos::ContainerId::from(&child);
        assert_eq!(proto.parent.as_ref().map(|p| p.value.as_str()), Some("parent"));
        assert_eq!(ContainerId::from(proto), child);
        assert_eq!("parent.child".parse::<ContainerId>().unwrap(), child);
        assert!(child.validate().is_ok());
        assert!(ContainerId::new("a.b").validate().is_err());
    }

    /// Proves Mesos's id rules (ValidationTest for validateID).
    #[test]
    fn validate_id_rules() {
        assert!(TaskId::new("task-1").validate().is_ok());
        assert!(TaskId::new("täsk").validate().is_ok());
        assert_eq!(TaskId::new("").validate(), Err(IdError::Empty { kind: "task id" }));
        for bad in [".", "..", "a/b", "a\\b", "a\nb", "a\x7fb", &"x".repeat(256)] {
            assert!(TaskId::new(bad).validate().is_err(), "{bad:?}");
        }
        assert!(TaskId::new("x".repeat(255)).validate().is_ok());
    }

    /// Proves ids can be looked up in maps by `&str`.
    #[test]
    fn ids_borrow_as_str() {
        let mut map = std::collections::HashMap::new();
        map.insert(FrameworkId::new("f1"), 1);
        assert_eq!(map.get("f1"), Some(&1));
    }

    proptest! {
        /// Proves generate and generated_parts are inverse for any uuid-like master id and counter.
        #[test]
        fn generate_then_parts(master in "[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", counter in any::<u64>()) {
            let (framework, agent, offer) = (
                FrameworkId::generate(&master, counter),
                AgentId::generate(&master, counter),
                OfferId::generate(&master, counter),
            );
            prop_assert_eq!(framework.generated_parts(), Some((master.as_str(), counter)));
            prop_assert_eq!(agent.generated_parts(), Some((master.as_str(), counter)));
            prop_assert_eq!(offer.generated_parts(), Some((master.as_str(), counter)));
        }

        /// Proves the printed container id parses back to the same nesting.
        #[test]
        fn container_id_text_round_trip(parts in proptest::collection::vec("[a-z0-9-]{1,8}", 1..4)) {
            let id: ContainerId = parts.join(".").parse().unwrap();
            prop_assert_eq!(id.to_string(), parts.join("."));
            prop_assert_eq!(ContainerId::from(mesos::ContainerId::from(&id)), id);
        }
    }
}
