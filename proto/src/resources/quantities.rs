//! `ResourceQuantities`: how much of each named resource, with every other
//! detail (roles, reservations, which ports) dropped (Mesos:
//! src/common/resource_quantities.cpp).
//!
//! The DRF sorter and quota use this: a role's share of `cpus` is its
//! allocated quantity over the cluster's total quantity. Ranges and sets count
//! their elements (`ports:[1-5]` is 5 ports). Amounts are kept in the same
//! three-decimal fixed point as scalar arithmetic, so sums are exact. Only
//! positive amounts are held.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

use crate::mesos::value::Type;

use super::Resources;
use super::error::{ParseProblem, ResourceError};
use super::parse::tokens;
use super::values::{
    MAX_SCALAR, format_scalar, from_fixed, parse_value_at, ranges_len, scalar_input_problem,
    to_fixed,
};

/// Resource name -> amount, all amounts positive.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ResourceQuantities {
    /// Amounts in fixed point (thousandths), sorted by name, all > 0.
    fixed: BTreeMap<String, i64>,
}

impl ResourceQuantities {
    /// No quantities.
    pub fn new() -> ResourceQuantities {
        ResourceQuantities::default()
    }

    /// Parses `cpus:10;mem:1024;ports:3` (Mesos: `ResourceQuantities::fromString`).
    /// Names repeated are summed; zero amounts are dropped; amounts must be
    /// non-negative scalars. `{}` and the empty string are no quantities.
    pub fn parse(text: &str) -> Result<ResourceQuantities, ResourceError> {
        let mut result = ResourceQuantities::new();
        if text.trim() == "{}" {
            return Ok(result);
        }
        for (offset, token) in tokens(text, &[';']) {
            let error = |at: usize, problem| ResourceError::Parse {
                what: "resource quantities",
                input: text.to_string(),
                offset: offset + at,
                token: token.trim().to_string(),
                problem,
            };
            let Some(colon) = token.find(':') else {
                return Err(error(0, ParseProblem::MissingColon));
            };
            if let Some(extra) = token[colon + 1..].find(':') {
                return Err(error(colon + 1 + extra, ParseProblem::ExtraColon));
            }
            let name = token[..colon].trim();
            if name.is_empty() {
                return Err(error(0, ParseProblem::EmptyName));
            }
            let value = parse_value_at(&token[colon + 1..])
                .map_err(|(at, problem)| error(colon + 1 + at, problem))?;
            match (Type::try_from(value.r#type), value.scalar) {
                (Ok(Type::Scalar), Some(scalar)) => result.add_fixed(name, to_fixed(scalar.value)),
                _ => {
                    return Err(error(
                        colon + 1,
                        ParseProblem::WrongType {
                            found: super::values::type_name(value.r#type),
                            expected: "a scalar",
                        },
                    ));
                }
            }
        }
        Ok(result)
    }

    /// The quantities of `resources`: scalars by amount, ranges and sets by
    /// number of elements (Mesos: `ResourceQuantities::fromResources`).
    pub fn from_resources(resources: &Resources) -> ResourceQuantities {
        let mut result = ResourceQuantities::new();
        for resource in resources.iter() {
            let amount = match Type::try_from(resource.r#type) {
                Ok(Type::Scalar) => resource.scalar.as_ref().map_or(0.0, |s| s.value),
                Ok(Type::Ranges) => resource
                    .ranges
                    .as_ref()
                    // Port counts are far below 2^53; clamp the absurd.
                    .map_or(0.0, |r| (ranges_len(r) as f64).min(MAX_SCALAR)),
                Ok(Type::Set) => resource.set.as_ref().map_or(0.0, |s| s.item.len() as f64),
                _ => 0.0,
            };
            result.add_fixed(&resource.name, to_fixed(amount));
        }
        result
    }

    /// The quantities of only the scalar resources in `resources` (Mesos:
    /// `fromScalarResources`, which the allocator uses for totals).
    pub fn from_scalar_resources(resources: &Resources) -> ResourceQuantities {
        ResourceQuantities::from_resources(&resources.scalars())
    }

    /// Adds `amount` of `name`. The amount must be a finite, non-negative
    /// number no larger than [`MAX_SCALAR`]; zero adds nothing.
    pub fn add_quantity(&mut self, name: &str, amount: f64) -> Result<(), ResourceError> {
        if let Some(reason) = scalar_input_problem(amount) {
            return Err(ResourceError::Parse {
                what: "resource quantity",
                input: format!("{name}:{amount}"),
                offset: name.len() + 1,
                token: amount.to_string(),
                problem: ParseProblem::BadScalar { text: amount.to_string(), reason },
            });
        }
        self.add_fixed(name, to_fixed(amount));
        Ok(())
    }

    fn add_fixed(&mut self, name: &str, fixed: i64) {
        if fixed <= 0 {
            return;
        }
        let held = self.fixed.entry(name.to_string()).or_insert(0);
        *held = held.saturating_add(fixed);
    }

    /// The amount of `name`; zero if absent.
    pub fn get(&self, name: &str) -> f64 {
        self.fixed.get(name).map_or(0.0, |&f| from_fixed(f))
    }

    /// `(name, amount)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.fixed.iter().map(|(name, &f)| (name.as_str(), from_fixed(f)))
    }

    /// True if there are no quantities.
    pub fn is_empty(&self) -> bool {
        self.fixed.is_empty()
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.fixed.len()
    }

    /// True if every quantity of `that` is at most the same quantity here.
    pub fn contains(&self, that: &ResourceQuantities) -> bool {
        that.fixed
            .iter()
            .all(|(name, &want)| self.fixed.get(name).is_some_and(|&have| have >= want))
    }
}

impl AddAssign<&ResourceQuantities> for ResourceQuantities {
    fn add_assign(&mut self, that: &ResourceQuantities) {
        for (name, &fixed) in &that.fixed {
            self.add_fixed(name, fixed);
        }
    }
}

impl SubAssign<&ResourceQuantities> for ResourceQuantities {
    /// Subtracts name by name; a quantity that would reach zero or below is
    /// dropped (Mesos: `operator-=`).
    fn sub_assign(&mut self, that: &ResourceQuantities) {
        for (name, &fixed) in &that.fixed {
            if let Some(held) = self.fixed.get_mut(name) {
                if *held <= fixed {
                    self.fixed.remove(name);
                } else {
                    *held -= fixed;
                }
            }
        }
    }
}

impl Add<&ResourceQuantities> for &ResourceQuantities {
    type Output = ResourceQuantities;

    fn add(self, that: &ResourceQuantities) -> ResourceQuantities {
        let mut result = self.clone();
        result += that;
        result
    }
}

impl Sub<&ResourceQuantities> for &ResourceQuantities {
    type Output = ResourceQuantities;

    fn sub(self, that: &ResourceQuantities) -> ResourceQuantities {
        let mut result = self.clone();
        result -= that;
        result
    }
}

impl<'a> std::iter::Sum<&'a ResourceQuantities> for ResourceQuantities {
    fn sum<I: Iterator<Item = &'a ResourceQuantities>>(iter: I) -> ResourceQuantities {
        iter.fold(ResourceQuantities::new(), |mut total, q| {
            total += q;
            total
        })
    }
}

impl fmt::Display for ResourceQuantities {
    /// `cpus:1; mem:512`, or `{}` when empty; [`ResourceQuantities::parse`]
    /// reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.fixed.is_empty() {
            return f.write_str("{}");
        }
        for (i, (name, amount)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{name}:{}", format_scalar(amount))?;
        }
        Ok(())
    }
}

impl fmt::Debug for ResourceQuantities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceQuantities({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> ResourceQuantities {
        ResourceQuantities::parse(text).unwrap()
    }

    fn r(text: &str) -> Resources {
        Resources::parse(text).unwrap()
    }

    /// Proves valid quantity strings parse, merging names and dropping zeros (QuantitiesTest.FromStringValid).
    #[test]
    fn quantities_test_from_string_valid() {
        assert!(q("").is_empty());
        assert!(q("{}").is_empty());
        assert_eq!(q("cpus:10").get("cpus"), 10.0);
        let both = q("cpus:10; mem:1024");
        assert_eq!((both.get("cpus"), both.get("mem")), (10.0, 1024.0));
        assert_eq!(q("cpus:1;cpus:2.5").get("cpus"), 3.5);
        assert!(q("cpus:0").is_empty());
        assert_eq!(q(" c p us :1").get("c p us"), 1.0);
    }

    /// Proves malformed quantity strings are errors (QuantitiesTest.FromStringInvalid).
    #[test]
    fn quantities_test_from_string_invalid() {
        for bad in [
            "cpus",
            "cpus:1:2",
            "cpus:-1",
            "cpus:nan",
            "cpus:inf",
            "ports:[1-2]",
            "foo:{a}",
            ":1",
            "cpus:abc",
        ] {
            assert!(ResourceQuantities::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// Proves scalars are summed across roles and non-scalars ignored (QuantitiesTest.FromScalarResources).
    #[test]
    fn quantities_test_from_scalar_resources() {
        let quantities = ResourceQuantities::from_scalar_resources(&r(
            "cpus:1;cpus(role1):2;mem:10;ports:[1-10]",
        ));
        assert_eq!(quantities, q("cpus:3;mem:10"));
    }

    /// Proves ranges and sets count their elements (QuantitiesTest.FromResources).
    #[test]
    fn quantities_test_from_resources() {
        let quantities =
            ResourceQuantities::from_resources(&r("cpus:1;ports:[1-10, 20-29];disks:{a,b,c}"));
        assert_eq!(quantities, q("cpus:1;ports:20;disks:3"));
    }

    /// Proves addition merges names and sums amounts (QuantitiesTest.Addition).
    #[test]
    fn quantities_test_addition() {
        assert_eq!(&q("cpus:1") + &q("mem:2"), q("cpus:1;mem:2"));
        assert_eq!(&q("cpus:1;mem:2") + &q("cpus:0.5"), q("cpus:1.5;mem:2"));
        assert_eq!(&q("") + &q("cpus:1"), q("cpus:1"));
    }

    /// Proves subtraction drops quantities that reach zero or below (QuantitiesTest.Subtraction).
    #[test]
    fn quantities_test_subtraction() {
        assert_eq!(&q("cpus:2;mem:2") - &q("cpus:1"), q("cpus:1;mem:2"));
        assert_eq!(&q("cpus:1") - &q("cpus:2"), q(""));
        assert_eq!(&q("cpus:1") - &q("mem:2"), q("cpus:1"));
        assert_eq!(&q("cpus:0.3") - &q("cpus:0.1"), q("cpus:0.2"));
    }

    /// Proves containment is per name (QuantitiesTest.Contains).
    #[test]
    fn quantities_test_contains() {
        assert!(q("").contains(&q("")));
        assert!(!q("").contains(&q("cpus:1")));
        assert!(q("cpus:1;mem:1").contains(&q("cpus:1")));
        assert!(!q("cpus:1").contains(&q("cpus:1;mem:1")));
        assert!(!q("cpus:0.5").contains(&q("cpus:1")));
    }

    /// Proves printing is sorted by name and reads back (QuantitiesTest.Stringify).
    #[test]
    fn quantities_test_stringify() {
        assert_eq!(q("").to_string(), "{}");
        assert_eq!(q("mem:1024;cpus:1.5").to_string(), "cpus:1.5; mem:1024");
        assert_eq!(q(&q("mem:1024;cpus:1.5").to_string()), q("cpus:1.5;mem:1024"));
    }

    /// Proves summing many quantities (QuantitiesTest.Sum).
    #[test]
    fn quantities_test_sum() {
        let parts = [q("cpus:1"), q("cpus:2;mem:3"), q("")];
        assert_eq!(parts.iter().sum::<ResourceQuantities>(), q("cpus:3;mem:3"));
    }

    /// Proves `add_quantity` refuses what a scalar cannot be.
    #[test]
    fn add_rejects_bad_amounts() {
        let mut quantities = ResourceQuantities::new();
        assert!(quantities.add_quantity("cpus", -1.0).is_err());
        assert!(quantities.add_quantity("cpus", f64::NAN).is_err());
        quantities.add_quantity("cpus", 0.0).unwrap();
        assert!(quantities.is_empty());
        quantities.add_quantity("cpus", 2.0).unwrap();
        assert_eq!(quantities.get("cpus"), 2.0);
    }
}
