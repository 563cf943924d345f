//! The one error type of the resource, value and attribute helpers.
//!
//! Parse errors say *what* was wrong and *where*: the byte offset into the
//! text the user gave (a `--resources` or `--attributes` flag, a quota string)
//! and the piece of text around it.

/// Everything that can go wrong when parsing, validating or doing checked
/// arithmetic on resources, values and attributes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResourceError {
    /// Text in Mesos's `--resources` / `--attributes` / value syntax could not
    /// be parsed.
    #[error("cannot parse {what} '{input}': {problem} at byte {offset} ('{token}')")]
    Parse {
        /// What was being parsed: "resources", "attributes", "value", ...
        what: &'static str,
        /// The whole text.
        input: String,
        /// Byte offset into `input` where the problem was found.
        offset: usize,
        /// The `;`-separated piece of `input` that holds the problem.
        token: String,
        /// What is wrong.
        problem: ParseProblem,
    },

    /// A resource (parsed, decoded from the wire or built in code) breaks one
    /// of Mesos's validity rules (Mesos: resources.cpp `Resources::validate`).
    #[error("invalid resource '{resource}': {problem}")]
    Invalid {
        /// The resource, printed.
        resource: String,
        /// The rule it breaks.
        problem: InvalidResource,
    },

    /// An agent attribute breaks Mesos's rules (Mesos: attributes.cpp
    /// `Attributes::isValid`): a name, and a SCALAR, RANGES or TEXT value
    /// matching its type.
    #[error("invalid attribute '{attribute}': {problem}")]
    InvalidAttribute {
        /// The attribute, printed.
        attribute: String,
        /// What is wrong.
        problem: &'static str,
    },

    /// Two resources with the same name have different value types
    /// (e.g. `foo:1;foo:[1-2]`), which Mesos rejects for a whole agent.
    #[error("resources named '{name}' have different types: {first} and {second}")]
    MixedTypes {
        /// The shared name.
        name: String,
        /// Type of the first resource with that name.
        first: &'static str,
        /// Type of the conflicting one.
        second: &'static str,
    },

    /// A resource uses a feature that may only be set programmatically, not
    /// through the `--resources` flag (Mesos:
    /// resources.cpp `validateCommandLineResources`).
    #[error("resource '{resource}': {feature} cannot be specified in --resources")]
    NotForCommandLine {
        /// The resource, printed.
        resource: String,
        /// "persistent volumes", "revocable resources" or "dynamic reservations".
        feature: &'static str,
    },

    /// A checked subtraction or conversion needed resources that were not
    /// there.
    #[error("{have} does not contain {want}")]
    NotContained {
        /// The resources held, printed.
        have: String,
        /// The resources asked for, printed.
        want: String,
    },

    /// A reservation could not be pushed onto (or popped from) resources.
    #[error("cannot change reservation of '{resource}': {reason}")]
    Reservation {
        /// The resource, printed.
        resource: String,
        /// Why not.
        reason: String,
    },

    /// The JSON array form of `--resources` was malformed or did not match
    /// the `Resource` message.
    #[error("cannot parse resources JSON: {reason}")]
    Json {
        /// What the JSON decoder said.
        reason: String,
    },
}

/// What is wrong with a piece of text (the `problem` of
/// [`ResourceError::Parse`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseProblem {
    /// Nothing where a value was expected.
    #[error("empty value")]
    EmptyValue,
    /// An opening bracket without its closing one, or the reverse.
    #[error("mismatched '{0}'")]
    MismatchedBracket(char),
    /// A character that has no place here.
    #[error("unexpected '{found}', expected {expected}")]
    Unexpected {
        /// The character found.
        found: char,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// The text ended early.
    #[error("unexpected end, expected {expected}")]
    UnexpectedEnd {
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A range bound that is not a non-negative 64-bit integer.
    #[error("'{text}' is not a non-negative integer")]
    BadInteger {
        /// The offending text.
        text: String,
    },
    /// A range whose begin is after its end.
    #[error("range {begin}-{end} is inverted")]
    InvertedRange {
        /// Range start.
        begin: u64,
        /// Range end.
        end: u64,
    },
    /// An empty item in a set (`{a,,b}`).
    #[error("empty set item")]
    EmptySetItem,
    /// A number that Mesos does not accept as a scalar.
    #[error("invalid scalar '{text}': {reason}")]
    BadScalar {
        /// The offending text.
        text: String,
        /// Why: "negative", "not finite", "subnormal", "too large".
        reason: &'static str,
    },
    /// A `name:value` pair without its `:`.
    #[error("missing ':' between name and value")]
    MissingColon,
    /// A resource `name:value` pair with more than one `:`.
    #[error("extra ':' (a resource is name:value or name(role):value)")]
    ExtraColon,
    /// `name(role` without `)` or `name)` without `(`.
    #[error("mismatched parentheses around the role")]
    MismatchedParentheses,
    /// Text after `name(role)` and before `:`.
    #[error("unexpected text after '(role)'")]
    TextAfterRole,
    /// A `name:value` pair with an empty name.
    #[error("empty name")]
    EmptyName,
    /// A role that Mesos does not accept.
    #[error("invalid role: {0}")]
    BadRole(String),
    /// A value of a type that is not allowed here (text for a resource, a set
    /// for an attribute, anything but a scalar for a quantity).
    #[error("a {found} value is not allowed here (expected {expected})")]
    WrongType {
        /// The type found.
        found: &'static str,
        /// The types allowed.
        expected: &'static str,
    },
}

/// The validity rule a resource breaks (the `problem` of
/// [`ResourceError::Invalid`]). Mesos: resources.cpp `Resources::validate`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidResource {
    /// `name` is empty.
    #[error("empty name")]
    EmptyName,
    /// `type` is not a known `Value.Type`.
    #[error("unknown value type {0}")]
    UnknownType(i32),
    /// TEXT resources do not exist.
    #[error("TEXT is not a resource type")]
    TextType,
    /// The field matching `type` is missing or another value field is set.
    #[error("{0} resource must set exactly the matching value field")]
    ValueFieldMismatch(&'static str),
    /// A scalar below zero, or non-zero but rounding to zero or less.
    #[error("scalar value {0} is negative or rounds to zero")]
    NonPositiveScalar(f64),
    /// A NaN, infinite, subnormal or too large scalar.
    #[error("scalar value {0} is not a finite number Mesos can hold")]
    UnrepresentableScalar(f64),
    /// A range with `begin > end`.
    #[error("range {begin}-{end} is inverted")]
    InvertedRange {
        /// Range start.
        begin: u64,
        /// Range end.
        end: u64,
    },
    /// Two ranges of one resource overlap.
    #[error("ranges overlap")]
    OverlappingRanges,
    /// A set holds an item twice.
    #[error("set item '{0}' appears twice")]
    DuplicateSetItem(String),
    /// `disk` info on a resource not named `disk`, or an inconsistent source.
    #[error("disk info: {0}")]
    Disk(&'static str),
    /// A role that Mesos does not accept.
    #[error("invalid role: {0}")]
    BadRole(String),
    /// The reservation fields are inconsistent (Mesos's reservation format
    /// rules, pre- and post-reservation-refinement).
    #[error("invalid reservation: {0}")]
    Reservation(&'static str),
    /// `shared` on something that is not a persistent volume.
    #[error("only persistent volumes can be shared")]
    Shared,
}
