//! Agent attributes: named facts about a machine that schedulers use for
//! placement, from the agent's `--attributes` flag (Mesos:
//! src/common/attributes.cpp).
//!
//! ```text
//! --attributes='rack:r1;zone:eu-1;cores:16;slots:[1-4]'
//! ```
//!
//! Each `;`- or newline-separated piece is `name:value`; the value is split at
//! the *first* `:` only, so `uri:http://x` is the text `http://x`. Values use
//! the value syntax of [`crate::resources::values`]: a number is SCALAR,
//! `[b-e, ...]` is RANGES, anything else is TEXT (whitespace inside a value is
//! dropped, as in Mesos). Sets are not allowed for attributes. Unlike Mesos,
//! which aborts the agent on a malformed flag, parsing returns an error saying
//! what is wrong and where.

use std::fmt;
use std::str::FromStr;

use crate::mesos::Attribute;
use crate::mesos::value::{Ranges, Type};
use crate::resources::ParseProblem;
use crate::resources::ResourceError;
use crate::resources::values::{
    format_ranges, format_scalar, parse_value_at, ranges_eq, scalar_eq, type_name,
};

/// An agent's attributes, in the order given.
#[derive(Clone, Default)]
pub struct Attributes {
    attributes: Vec<Attribute>,
}

impl Attributes {
    /// No attributes.
    pub fn new() -> Attributes {
        Attributes::default()
    }

    /// Parses the `--attributes` syntax (`rack:r1;zone:eu-1`). The empty
    /// string is no attributes.
    pub fn parse(text: &str) -> Result<Attributes, ResourceError> {
        let mut attributes = Vec::new();
        for (offset, token) in crate::resources::parse_tokens(text, &[';', '\n']) {
            let error = |at: usize, problem| ResourceError::Parse {
                what: "attributes",
                input: text.to_string(),
                offset: offset + at,
                token: token.trim().to_string(),
                problem,
            };
            let Some(colon) = token.find(':') else {
                return Err(error(
                    token.len() - token.trim_start().len(),
                    ParseProblem::MissingColon,
                ));
            };
            let name = token[..colon].trim();
            if name.is_empty() {
                return Err(error(0, ParseProblem::EmptyName));
            }
            let attribute = parse_attribute_at(name, &token[colon + 1..])
                .map_err(|(at, problem)| error(colon + 1 + at, problem))?;
            attributes.push(attribute);
        }
        Ok(Attributes { attributes })
    }

    /// Validates each protobuf (from the wire) and keeps them in order.
    pub fn from_protos(
        protos: impl IntoIterator<Item = Attribute>,
    ) -> Result<Attributes, ResourceError> {
        let mut result = Attributes::new();
        for proto in protos {
            result.push(proto)?;
        }
        Ok(result)
    }

    /// Validates `attribute` and appends it.
    pub fn push(&mut self, attribute: Attribute) -> Result<(), ResourceError> {
        validate(&attribute)?;
        self.attributes.push(attribute);
        Ok(())
    }

    /// The attributes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Attribute> + '_ {
        self.attributes.iter()
    }

    /// The attributes as protobufs, for a message field.
    pub fn to_protos(&self) -> Vec<Attribute> {
        self.attributes.clone()
    }

    /// The number of attributes.
    pub fn len(&self) -> usize {
        self.attributes.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }

    /// The first attribute called `name`.
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The value of the first SCALAR attribute called `name`.
    pub fn scalar(&self, name: &str) -> Option<f64> {
        self.of_type(name, Type::Scalar).and_then(|a| a.scalar.as_ref()).map(|s| s.value)
    }

    /// The value of the first RANGES attribute called `name`.
    pub fn ranges(&self, name: &str) -> Option<&Ranges> {
        self.of_type(name, Type::Ranges).and_then(|a| a.ranges.as_ref())
    }

    /// The value of the first TEXT attribute called `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.of_type(name, Type::Text).and_then(|a| a.text.as_ref()).map(|t| t.value.as_str())
    }

    fn of_type(&self, name: &str, value_type: Type) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name && a.r#type == value_type as i32)
    }

    /// The summary the `/state` endpoints show (Mesos: common/http.cpp
    /// `model(Attributes)`): `{"rack": "r1", "cores": 16.0, "slots": "[1-4]"}`.
    /// A later attribute of the same name replaces an earlier one.
    pub fn to_state_json(&self) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        for a in &self.attributes {
            let value = match Type::try_from(a.r#type) {
                Ok(Type::Scalar) => {
                    serde_json::Value::from(a.scalar.as_ref().map_or(0.0, |s| s.value))
                }
                Ok(Type::Ranges) => format_ranges(&a.ranges.clone().unwrap_or_default()).into(),
                Ok(Type::Text) => a.text.as_ref().map_or(String::new(), |t| t.value.clone()).into(),
                _ => continue,
            };
            object.insert(a.name.clone(), value);
        }
        serde_json::Value::Object(object)
    }

    /// True if an attribute with the same name, type and value is present.
    pub fn contains(&self, attribute: &Attribute) -> bool {
        self.attributes.iter().any(|a| attribute_eq(a, attribute))
    }
}

/// Parses one attribute from its name and value text (Mesos:
/// `Attributes::parse(name, text)`).
pub fn parse_attribute(name: &str, value: &str) -> Result<Attribute, ResourceError> {
    parse_attribute_at(name, value).map_err(|(offset, problem)| ResourceError::Parse {
        what: "attribute",
        input: value.to_string(),
        offset,
        token: format!("{name}:{value}"),
        problem,
    })
}

fn parse_attribute_at(name: &str, text: &str) -> Result<Attribute, (usize, ParseProblem)> {
    let value = parse_value_at(text)?;
    let mut attribute =
        Attribute { name: name.to_string(), r#type: value.r#type, ..Default::default() };
    match Type::try_from(value.r#type) {
        Ok(Type::Scalar) => attribute.scalar = value.scalar,
        Ok(Type::Ranges) => attribute.ranges = value.ranges,
        Ok(Type::Text) => attribute.text = value.text,
        _ => {
            return Err((
                text.len() - text.trim_start().len(),
                ParseProblem::WrongType {
                    found: type_name(value.r#type),
                    expected: "a scalar, [ranges] or text",
                },
            ));
        }
    }
    Ok(attribute)
}

/// Checks an attribute as Mesos's `Attributes::isValid` does: a name, and a
/// SCALAR, RANGES or TEXT type whose value field is set.
pub fn validate(attribute: &Attribute) -> Result<(), ResourceError> {
    let problem = if attribute.name.is_empty() {
        Some("empty name")
    } else {
        match Type::try_from(attribute.r#type) {
            Ok(Type::Scalar) => match &attribute.scalar {
                None => Some("SCALAR attribute without a scalar"),
                Some(s) if !s.value.is_finite() => Some("scalar is not finite"),
                Some(_) => None,
            },
            Ok(Type::Ranges) => {
                attribute.ranges.is_none().then_some("RANGES attribute without ranges")
            }
            Ok(Type::Text) => attribute.text.is_none().then_some("TEXT attribute without text"),
            Ok(Type::Set) => Some("attributes cannot be sets"),
            Err(_) => Some("unknown value type"),
        }
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(ResourceError::InvalidAttribute {
            attribute: display_attribute(attribute).to_string(),
            problem,
        }),
    }
}

/// Same name, type and value; scalars compare at three decimals and ranges by
/// the numbers they hold.
pub fn attribute_eq(left: &Attribute, right: &Attribute) -> bool {
    if left.name != right.name || left.r#type != right.r#type {
        return false;
    }
    match Type::try_from(left.r#type) {
        Ok(Type::Scalar) => scalar_eq(
            left.scalar.as_ref().map_or(0.0, |s| s.value),
            right.scalar.as_ref().map_or(0.0, |s| s.value),
        ),
        Ok(Type::Ranges) => ranges_eq(
            &left.ranges.clone().unwrap_or_default(),
            &right.ranges.clone().unwrap_or_default(),
        ),
        Ok(Type::Text) => left.text == right.text,
        _ => false,
    }
}

/// Prints one attribute as `name:value`, the `--attributes` syntax.
pub fn display_attribute(attribute: &Attribute) -> impl fmt::Display + '_ {
    DisplayAttribute(attribute)
}

struct DisplayAttribute<'a>(&'a Attribute);

impl fmt::Display for DisplayAttribute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(f, "{}:", a.name)?;
        match Type::try_from(a.r#type) {
            Ok(Type::Scalar) => {
                f.write_str(&format_scalar(a.scalar.as_ref().map_or(0.0, |s| s.value)))
            }
            Ok(Type::Ranges) => f.write_str(&format_ranges(&a.ranges.clone().unwrap_or_default())),
            Ok(Type::Text) => f.write_str(a.text.as_ref().map_or("", |t| t.value.as_str())),
            _ => f.write_str("?"),
        }
    }
}

impl PartialEq for Attributes {
    /// Same number of attributes, each present in the other, in any order
    /// (Mesos: `Attributes::operator==`).
    fn eq(&self, other: &Attributes) -> bool {
        self.len() == other.len()
            && self.iter().all(|a| other.contains(a))
            && other.iter().all(|a| self.contains(a))
    }
}

impl fmt::Display for Attributes {
    /// `rack:r1;zone:eu-1`, which [`Attributes::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, attribute) in self.attributes.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{}", display_attribute(attribute))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Attributes({self})")
    }
}

impl FromStr for Attributes {
    type Err = ResourceError;

    /// [`Attributes::parse`].
    fn from_str(text: &str) -> Result<Attributes, ResourceError> {
        Attributes::parse(text)
    }
}

impl From<Attributes> for Vec<Attribute> {
    fn from(attributes: Attributes) -> Vec<Attribute> {
        attributes.attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn range_pairs(ranges: &Ranges) -> Vec<(u64, u64)> {
        ranges.range.iter().map(|r| (r.begin, r.end)).collect()
    }

    /// Proves scalar, ranges and text attributes parse, and text keeps later ':' (AttributesTest.Parsing).
    #[test]
    fn attributes_test_parsing() {
        let a = Attributes::parse("cpus:45.55;ports:[10000-20000, 30000-50000];rack:rack1,rack2")
            .unwrap();
        let all: Vec<&Attribute> = a.iter().collect();
        assert_eq!(all[0].name, "cpus");
        assert_eq!(all[0].r#type, Type::Scalar as i32);
        assert_eq!(a.scalar("cpus"), Some(45.55));
        assert_eq!(all[1].name, "ports");
        assert_eq!(range_pairs(a.ranges("ports").unwrap()), vec![(10000, 20000), (30000, 50000)]);
        assert_eq!(a.text("rack"), Some("rack1,rack2"));

        let b = Attributes::parse("attr1:foo:bar;attr2:baz:qux:").unwrap();
        assert_eq!(b.text("attr1"), Some("foo:bar"));
        assert_eq!(b.text("attr2"), Some("baz:qux:"));

        let c = Attributes::parse("rack:a\nzone : eu-1").unwrap();
        assert_eq!((c.text("rack"), c.text("zone")), (Some("a"), Some("eu-1")));
        assert!(Attributes::parse("").unwrap().is_empty());
    }

    /// Proves equality ignores order and range splitting but not values (AttributesTest.Equality).
    #[test]
    fn attributes_test_equality() {
        let a = Attributes::parse("cpus:45.55;ports:[10000-20000, 30000-50000];rack:rack1,rack2")
            .unwrap();
        assert_eq!(
            a,
            Attributes::parse("cpus:45.55;ports:[10000-20000,30000-50000];rack:rack1,rack2")
                .unwrap()
        );
        assert_eq!(Attributes::parse("").unwrap(), Attributes::parse("").unwrap());
        assert_ne!(a, Attributes::parse("").unwrap());
        assert_ne!(a, Attributes::parse("cpus:45.55;ports:45.55;rack:45.55").unwrap());
        assert_ne!(Attributes::parse("").unwrap(), a);
        assert_eq!(
            Attributes::parse("rack:rack1;dedicated:customer1;dedicated:customer2").unwrap(),
            Attributes::parse("dedicated:customer2;dedicated:customer1;rack:rack1").unwrap()
        );
    }

    /// Proves malformed --attributes text is an error naming the place, not a panic.
    #[test]
    fn malformed_attributes_are_errors() {
        for bad in ["rack", ":a", "rack:", "rack:{a,b}", "ports:[1-", "a:1;b", "x:[2-1]", "x:a{b"] {
            assert!(Attributes::parse(bad).is_err(), "{bad:?}");
        }
        match Attributes::parse("rack:a;zone") {
            Err(ResourceError::Parse { offset, problem, token, .. }) => {
                assert_eq!(offset, 7);
                assert_eq!(problem, ParseProblem::MissingColon);
                assert_eq!(token, "zone");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Proves the /state summary of attributes has Mesos's shape (model(Attributes)).
    #[test]
    fn attributes_state_json() {
        let a = Attributes::parse("rack:r1;cores:16;slots:[1-4]").unwrap();
        assert_eq!(
            a.to_state_json(),
            serde_json::json!({"rack": "r1", "cores": 16.0, "slots": "[1-4]"})
        );
    }

    /// Proves protobufs from the wire are validated as Mesos's isValid does.
    #[test]
    fn attributes_from_protos_are_validated() {
        let good = parse_attribute("rack", "r1").unwrap();
        assert!(Attributes::from_protos(vec![good.clone()]).is_ok());
        let mut no_text = good.clone();
        no_text.text = None;
        assert!(Attributes::from_protos(vec![no_text]).is_err());
        let mut set = good;
        set.r#type = Type::Set as i32;
        assert!(Attributes::from_protos(vec![set]).is_err());
    }

    fn attribute_text() -> impl Strategy<Value = String> {
        let name = "[a-z][a-z0-9_]{0,6}";
        let value = prop_oneof![
            (0u32..100_000, 0u32..1000).prop_map(|(w, f)| format!("{w}.{f:03}")),
            proptest::collection::vec((0u64..1000, 0u64..50), 0..4).prop_map(|pairs| {
                let items: Vec<String> =
                    pairs.iter().map(|(b, len)| format!("{b}-{}", b + len)).collect();
                format!("[{}]", items.join(", "))
            }),
            // Text, except what Rust reads as a number ("inf", "nan").
            "[a-z][a-z0-9.-]{0,8}".prop_filter("text, not a number", |t| t.parse::<f64>().is_err()),
        ];
        proptest::collection::vec((name, value), 0..5).prop_map(|pairs| {
            pairs.iter().map(|(n, v)| format!("{n}:{v}")).collect::<Vec<_>>().join(";")
        })
    }

    proptest! {
        /// Proves printing parsed attributes and parsing the text gives them back.
        #[test]
        fn parse_display_round_trip(text in attribute_text()) {
            let parsed = Attributes::parse(&text).unwrap();
            let again = Attributes::parse(&parsed.to_string()).unwrap();
            prop_assert_eq!(&again, &parsed);
            prop_assert_eq!(again.to_string(), parsed.to_string());
        }

        /// Proves arbitrary input never panics the parser.
        #[test]
        fn arbitrary_input_never_panics(text in "\\PC{0,40}") {
            let _ = Attributes::parse(&text);
        }
    }
}
