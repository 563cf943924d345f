//! `ResourceQuantities`: how much of each named resource, with every other
//! detail (roles, reservations, which ports) dropped (Mesos:
//! src/common/resource_quantities.cpp).
//!
//! The DRF sorter and quota use this: a role's share of `cpus` is its
//! allocated quantity over the cluster's total quantity. Ranges and sets count
//! their elements (`ports:[1-5]` is 5 ports). Amounts are kept in the same
//! three-decimal fixed point as scalar arithmetic, so sums are exact
//! (`0.1 + 0.2 == 0.3`, as in Mesos). Only positive amounts are held.
//!
//! This is the allocator's hot path (every DRF share and every allocation
//! touches it), so entries are a vector sorted by name rather than a map, and
//! each name caches its first 8 bytes as an integer: comparing `cpus` with
//! `mem` is one integer comparison, and adding bundles with the same names
//! (the usual case) is one pass with no search.

use std::borrow::Cow;
use std::cmp::Ordering;
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

/// A resource name with its first 8 bytes cached as a big-endian integer, so
/// comparing names (the inner loop of DRF and of decline filters) is an
/// integer comparison that does not chase the string's heap pointer for names
/// of up to 8 bytes (`cpus`, `mem`, `disk`, `gpus`, `ports`).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Name {
    /// First 8 bytes, zero-padded, big-endian: orders like the bytes.
    prefix: u64,
    /// Mesos's predefined names are borrowed, so building or cloning the
    /// quantities of an offer (the sorter does per offer) allocates nothing for them.
    text: Cow<'static, str>,
}

/// The names agents report in practice (Mesos's predefined resources).
const WELL_KNOWN: [&str; 5] = ["cpus", "mem", "disk", "gpus", "ports"];

fn prefix_of(name: &str) -> u64 {
    let mut word = [0u8; 8];
    let bytes = name.as_bytes();
    let n = bytes.len().min(8);
    word[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(word)
}

impl Name {
    fn new(name: &str) -> Name {
        let text = match WELL_KNOWN.iter().find(|&&known| known == name) {
            Some(known) => Cow::Borrowed(*known),
            None => Cow::Owned(name.to_string()),
        };
        Name { prefix: prefix_of(name), text }
    }

    /// Orders this name against `name` (whose prefix is `prefix`) exactly as
    /// `str` ordering would.
    fn cmp_parts(&self, prefix: u64, name: &str) -> Ordering {
        match self.prefix.cmp(&prefix) {
            // Equal zero-padded prefixes and both names within 8 bytes: the
            // shorter one is a prefix of the other.
            Ordering::Equal if self.text.len() <= 8 && name.len() <= 8 => {
                self.text.len().cmp(&name.len())
            }
            Ordering::Equal => (*self.text).cmp(name),
            other => other,
        }
    }

    fn cmp_name(&self, other: &Name) -> Ordering {
        self.cmp_parts(other.prefix, &other.text)
    }
}

/// Resource name -> amount, all amounts positive.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ResourceQuantities {
    /// `(name, amount in fixed point (thousandths))`, sorted by name, every
    /// amount > 0.
    entries: Vec<(Name, i64)>,
}

impl ResourceQuantities {
    /// No quantities.
    pub fn new() -> ResourceQuantities {
        ResourceQuantities::default()
    }

    /// `amount` of one resource `name`. An amount that is not positive (or not
    /// a number) gives no quantities; one past [`MAX_SCALAR`] is clamped.
    pub fn single(name: &str, amount: f64) -> ResourceQuantities {
        let mut result = ResourceQuantities::new();
        // `f64::min` would turn NaN into MAX_SCALAR; keep it out first.
        if !amount.is_nan() {
            result.add_fixed(name, to_fixed(amount.min(MAX_SCALAR)));
        }
        result
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
    /// `fromScalarResources`, which the allocator uses for DRF shares and
    /// totals). Copies no resource: the allocator calls it on every offer.
    pub fn from_scalar_resources(resources: &Resources) -> ResourceQuantities {
        let mut result = ResourceQuantities::new();
        for resource in resources.iter() {
            if let (Ok(Type::Scalar), Some(scalar)) =
                (Type::try_from(resource.r#type), &resource.scalar)
            {
                result.add_fixed(&resource.name, to_fixed(scalar.value));
            }
        }
        result
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

    /// Adds `fixed` thousandths of `name`; nothing if `fixed` is not positive.
    fn add_fixed(&mut self, name: &str, fixed: i64) {
        if fixed <= 0 {
            return;
        }
        match self.find(name) {
            Ok(i) => self.entries[i].1 = self.entries[i].1.saturating_add(fixed),
            Err(i) => self.entries.insert(i, (Name::new(name), fixed)),
        }
    }

    /// Binary search for `name`: its index, or where it would go.
    fn find(&self, name: &str) -> Result<usize, usize> {
        let prefix = prefix_of(name);
        self.entries.binary_search_by(|(n, _)| n.cmp_parts(prefix, name))
    }

    /// The amount of `name`; zero if absent.
    pub fn get(&self, name: &str) -> f64 {
        from_fixed(self.get_fixed(name))
    }

    /// The amount of `name` in thousandths (the fixed point of scalar
    /// arithmetic); zero if absent.
    pub fn get_fixed(&self, name: &str) -> i64 {
        self.find(name).map_or(0, |i| self.entries[i].1)
    }

    /// `(name, amount)` pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.entries.iter().map(|(name, fixed)| (&*name.text, from_fixed(*fixed)))
    }

    /// `(name, thousandths)` pairs in name order.
    pub fn iter_fixed(&self) -> impl Iterator<Item = (&str, i64)> + '_ {
        self.entries.iter().map(|(name, fixed)| (&*name.text, *fixed))
    }

    /// True if there are no quantities.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if every quantity of `that` is at most the same quantity here
    /// (Mesos: `ResourceQuantities::contains`). One merge walk of both lists.
    pub fn contains(&self, that: &ResourceQuantities) -> bool {
        let mut here = self.entries.iter().peekable();
        for (name, want) in &that.entries {
            loop {
                let Some((held_name, have)) = here.peek() else { return false };
                match held_name.cmp_name(name) {
                    Ordering::Less => {
                        here.next();
                    }
                    Ordering::Equal if have < want => return false,
                    Ordering::Equal => {
                        here.next();
                        break;
                    }
                    Ordering::Greater => return false,
                }
            }
        }
        true
    }

    /// Subtracts `that`, which the caller holds: bookkeeping (the allocator's
    /// sorter) that takes back what it handed out.
    ///
    /// # Panics
    ///
    /// If `that` is not contained here: the books are wrong, a broken
    /// invariant rather than bad input.
    pub fn subtract(&mut self, that: &ResourceQuantities) {
        assert!(self.contains(that), "{self} does not contain {that}");
        *self -= that;
    }
}

impl AddAssign<&ResourceQuantities> for ResourceQuantities {
    fn add_assign(&mut self, that: &ResourceQuantities) {
        // Fast path: the same names in the same order, the usual case when
        // the same kinds of resources are added over and over.
        if self.entries.len() == that.entries.len()
            && self.entries.iter().zip(&that.entries).all(|(a, b)| a.0.cmp_name(&b.0).is_eq())
        {
            for (held, added) in self.entries.iter_mut().zip(&that.entries) {
                held.1 = held.1.saturating_add(added.1);
            }
            return;
        }
        for (name, fixed) in &that.entries {
            self.add_fixed(&name.text, *fixed);
        }
    }
}

impl SubAssign<&ResourceQuantities> for ResourceQuantities {
    /// Subtracts name by name; a quantity that would reach zero or below is
    /// dropped (Mesos: `operator-=`).
    fn sub_assign(&mut self, that: &ResourceQuantities) {
        for (name, fixed) in &that.entries {
            if let Ok(i) = self.entries.binary_search_by(|(n, _)| n.cmp_name(name)) {
                if self.entries[i].1 <= *fixed {
                    self.entries.remove(i);
                } else {
                    self.entries[i].1 -= fixed;
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
        if self.entries.is_empty() {
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

    /// Proves fixed point makes 0.1 + 0.2 exactly 0.3 and rounds to 3 decimals.
    #[test]
    fn fixed_point_is_exact_to_three_decimals() {
        let mut a = q("cpus:0.1");
        a += &q("cpus:0.2");
        assert_eq!(a, q("cpus:0.3"));
        assert_eq!(q("cpus:0.0004"), ResourceQuantities::new());
        assert_eq!(q("cpus:0.0006").get("cpus"), 0.001);
        assert_eq!(q("cpus:0.3").get_fixed("cpus"), 300);
    }

    /// Proves `single` holds one positive amount and nothing for the rest.
    #[test]
    fn single_holds_one_positive_amount() {
        assert_eq!(ResourceQuantities::single("mem", 32.0), q("mem:32"));
        assert!(ResourceQuantities::single("mem", 0.0).is_empty());
        assert!(ResourceQuantities::single("mem", -1.0).is_empty());
        assert!(ResourceQuantities::single("mem", f64::NAN).is_empty());
    }

    /// Proves names order exactly as strings do, including names sharing an
    /// 8-byte prefix and names longer than 8 bytes (the cached prefix).
    #[test]
    fn names_order_like_strings() {
        let names = [
            "",
            "a",
            "ab",
            "cpus",
            "cpusx",
            "cpus_long_name",
            "cpus_long_other",
            "disk",
            "mem",
            "z",
        ];
        for a in names {
            for b in names {
                assert_eq!(Name::new(a).cmp_name(&Name::new(b)), a.cmp(b), "{a} vs {b}");
            }
        }
        let parsed = q("cpus_long_other:1;cpusx:2;cpus_long_name:3;cpus:4");
        let order: Vec<&str> = parsed.iter().map(|(n, _)| n).collect();
        assert_eq!(order, ["cpus", "cpus_long_name", "cpus_long_other", "cpusx"]);
        let fixed: Vec<(&str, i64)> = parsed.iter_fixed().collect();
        assert_eq!(fixed[0], ("cpus", 4000));
    }

    /// Proves `subtract` takes back what is held and saturating `-` drops the rest.
    #[test]
    fn subtract_takes_back_what_is_held() {
        let mut a = q("cpus:2;mem:10");
        a.subtract(&q("cpus:2;mem:4"));
        assert_eq!(a, q("mem:6"));
        assert_eq!(&q("cpus:2;mem:10") - &q("cpus:3;disk:4"), q("mem:10"));
    }

    /// Proves subtracting what is not held is a broken invariant and panics.
    #[test]
    #[should_panic(expected = "does not contain")]
    fn subtract_more_than_held_panics() {
        q("cpus:1").subtract(&q("cpus:2"));
    }

    /// Proves the scalar quantities copy nothing but the scalars' amounts.
    #[test]
    fn scalar_quantities_skip_ranges_and_sets() {
        let quantities =
            ResourceQuantities::from_scalar_resources(&r("cpus:1;ports:[1-10];disks:{a,b}"));
        assert_eq!(quantities, q("cpus:1"));
    }
}
