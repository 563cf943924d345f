//! Scalar resource quantities: `cpus:2;mem:1024` without identity.
//!
//! A [`ResourceQuantities`] is what DRF needs to compute shares: how much of
//! each named scalar resource a client holds or the cluster has, with no
//! notion of roles, reservations or which ports. It mirrors Mesos's
//! `ResourceQuantities` (Mesos: `common/resource_quantities.cpp`): entries are
//! kept sorted by name, are never negative, and zero entries are dropped.
//!
//! Values use Mesos's fixed-point scalar arithmetic: every value is held as an
//! integer number of thousandths (Mesos: `values.cpp convertToFixed`, which
//! rounds `value * 1000` to the nearest integer). Sums and differences are
//! therefore exact, and `0.1 + 0.2 == 0.3` as it does in Mesos.
//!
//! This is a stand-in owned by the allocator until `mesos_proto` provides its
//! own quantities type next to its `Resources`; the two are to be unified
//! then, keeping these semantics.

use std::cmp::Ordering;
use std::fmt;

/// A resource name with its first 8 bytes cached as a big-endian integer,
/// so comparing names (the inner loop of DRF and of decline filters) is an
/// integer comparison that does not chase the string's heap pointer for
/// names of up to 8 bytes (`cpus`, `mem`, `disk`, `gpus`, `ports`).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Name {
    /// First 8 bytes, zero-padded, big-endian: orders like the bytes.
    prefix: u64,
    text: Box<str>,
}

fn prefix_of(name: &str) -> u64 {
    let mut word = [0u8; 8];
    let bytes = name.as_bytes();
    let n = bytes.len().min(8);
    word[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(word)
}

impl Name {
    fn new(name: &str) -> Self {
        Name { prefix: prefix_of(name), text: name.into() }
    }

    /// Orders this name against `name` (whose prefix is `prefix`) exactly
    /// as `str` ordering would.
    fn cmp_parts(&self, prefix: u64, name: &str) -> Ordering {
        match self.prefix.cmp(&prefix) {
            // Equal zero-padded prefixes and both names within 8 bytes:
            // the shorter one is a prefix of the other.
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

/// One resource name and its quantity in thousandths.
type Entry = (Name, i64);

/// Converts a floating-point quantity to Mesos's fixed-point thousandths.
// Mesos: values.cpp convertToFixed (llround(value * 1000)).
pub fn to_fixed(value: f64) -> i64 {
    (value * 1000.0).round() as i64
}

/// Converts fixed-point thousandths back to a floating-point quantity.
// Mesos: values.cpp convertToFloating.
pub fn from_fixed(millis: i64) -> f64 {
    millis as f64 / 1000.0
}

/// Named scalar quantities, sorted by name, all strictly positive.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ResourceQuantities {
    /// Sorted by name; every value is > 0.
    entries: Vec<Entry>,
}

/// Why a quantities string could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseQuantitiesError {
    /// A `;`-separated token was not exactly `name:value`.
    #[error("failed to parse '{token}': expected 'name:value'")]
    Malformed {
        /// The offending token.
        token: String,
    },
    /// The value was not a finite number.
    #[error("failed to parse '{value}' as a scalar quantity")]
    NotANumber {
        /// The offending value text.
        value: String,
    },
    /// The value was negative.
    #[error("quantity of '{name}' is negative ({value})")]
    Negative {
        /// The resource name.
        name: String,
        /// The negative value.
        value: f64,
    },
}

impl ResourceQuantities {
    /// No resources at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// `value` of one resource `name` (nothing if `value` is 0).
    pub fn single(name: &str, value: f64) -> Self {
        let mut result = Self::new();
        result.add(name, value);
        result
    }

    /// Parses Mesos's `name:value;name:value` form; zero values are dropped
    /// and a repeated name adds up.
    // Mesos: resource_quantities.cpp ResourceQuantities::fromString.
    pub fn parse(text: &str) -> Result<Self, ParseQuantitiesError> {
        let mut result = Self::new();
        for token in text.split(';').map(str::trim).filter(|t| !t.is_empty()) {
            let mut parts = token.split(':');
            let (Some(name), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(ParseQuantitiesError::Malformed { token: token.to_string() });
            };
            let name = name.trim();
            let parsed: f64 = value
                .trim()
                .parse()
                .map_err(|_| ParseQuantitiesError::NotANumber { value: value.to_string() })?;
            if !parsed.is_finite() || name.is_empty() {
                return Err(ParseQuantitiesError::NotANumber { value: value.to_string() });
            }
            if parsed < 0.0 {
                return Err(ParseQuantitiesError::Negative {
                    name: name.to_string(),
                    value: parsed,
                });
            }
            result.add(name, parsed);
        }
        Ok(result)
    }

    /// True when there is no resource with a positive quantity.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of distinct resource names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The quantity of `name`, 0 when absent.
    pub fn get(&self, name: &str) -> f64 {
        from_fixed(self.get_fixed(name))
    }

    /// The quantity of `name` in thousandths, 0 when absent.
    pub fn get_fixed(&self, name: &str) -> i64 {
        match self.find(name) {
            Ok(i) => self.entries[i].1,
            Err(_) => 0,
        }
    }

    /// Binary search for `name`: its index, or where it would go.
    fn find(&self, name: &str) -> Result<usize, usize> {
        let prefix = prefix_of(name);
        self.entries.binary_search_by(|(n, _)| n.cmp_parts(prefix, name))
    }

    /// Iterates `(name, quantity)` in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.entries.iter().map(|(n, v)| (&*n.text, from_fixed(*v)))
    }

    /// Iterates `(name, thousandths)` in name order.
    pub fn iter_fixed(&self) -> impl Iterator<Item = (&str, i64)> + '_ {
        self.entries.iter().map(|(n, v)| (&*n.text, *v))
    }

    /// Adds `value` of `name`. Panics on a negative value: quantities are
    /// never negative, so a caller passing one has broken an invariant.
    pub fn add(&mut self, name: &str, value: f64) {
        assert!(value >= 0.0, "negative quantity {value} of {name}");
        self.add_fixed(name, to_fixed(value));
    }

    /// Adds `millis` thousandths of `name` (must be >= 0).
    pub fn add_fixed(&mut self, name: &str, millis: i64) {
        assert!(millis >= 0, "negative quantity {millis}/1000 of {name}");
        if millis == 0 {
            return;
        }
        match self.find(name) {
            Ok(i) => self.entries[i].1 += millis,
            Err(i) => self.entries.insert(i, (Name::new(name), millis)),
        }
    }

    /// True when every quantity in `other` is at most the one here.
    // Mesos: resource_quantities.cpp ResourceQuantities::contains.
    pub fn contains(&self, other: &ResourceQuantities) -> bool {
        let mut left = self.entries.iter().peekable();
        for (name, value) in &other.entries {
            loop {
                let Some((n, v)) = left.peek() else { return false };
                match n.cmp_name(name) {
                    Ordering::Less => {
                        left.next();
                    }
                    Ordering::Equal => {
                        if v < value {
                            return false;
                        }
                        left.next();
                        break;
                    }
                    Ordering::Greater => return false,
                }
            }
        }
        true
    }

    /// Adds every quantity of `other`.
    pub fn add_all(&mut self, other: &ResourceQuantities) {
        // Fast path: same names in the same order, the usual case when the
        // same kinds of resources are added over and over.
        if self.entries.len() == other.entries.len()
            && self.entries.iter().zip(&other.entries).all(|(a, b)| a.0.cmp_name(&b.0).is_eq())
        {
            for (a, b) in self.entries.iter_mut().zip(&other.entries) {
                a.1 += b.1;
            }
            return;
        }
        for (name, value) in &other.entries {
            self.add_fixed(&name.text, *value);
        }
    }

    /// Subtracts every quantity of `other`; an entry that would drop to zero
    /// or below is removed (Mesos's saturating `operator-=`).
    // Mesos: resource_quantities.cpp ResourceQuantities::operator-=.
    pub fn subtract_saturating(&mut self, other: &ResourceQuantities) {
        for (name, value) in &other.entries {
            if let Ok(i) = self.entries.binary_search_by(|(n, _)| n.cmp_name(name)) {
                if self.entries[i].1 <= *value {
                    self.entries.remove(i);
                } else {
                    self.entries[i].1 -= value;
                }
            }
        }
    }

    /// Subtracts `other`, which must be contained here: the caller holds it.
    /// Panics otherwise, because that means bookkeeping went wrong.
    pub fn subtract(&mut self, other: &ResourceQuantities) {
        assert!(self.contains(other), "{self} does not contain {other}");
        self.subtract_saturating(other);
    }

    /// `self + other` as a new value.
    pub fn plus(&self, other: &ResourceQuantities) -> ResourceQuantities {
        let mut result = self.clone();
        result.add_all(other);
        result
    }

    /// `self - other` as a new value, saturating at zero per name.
    pub fn minus(&self, other: &ResourceQuantities) -> ResourceQuantities {
        let mut result = self.clone();
        result.subtract_saturating(other);
        result
    }
}

impl fmt::Display for ResourceQuantities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return f.write_str("{}");
        }
        for (i, (name, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{}:{}", name.text, from_fixed(*value))?;
        }
        Ok(())
    }
}

impl fmt::Debug for ResourceQuantities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> ResourceQuantities {
        ResourceQuantities::parse(text).expect("test input parses")
    }

    /// Parsing sorts by name, drops zeros and sums repeats, as Mesos's fromString.
    #[test]
    fn parse_sorts_drops_zero_and_sums() {
        let parsed = q("mem:10;cpus:0;disk:1;mem:5");
        assert_eq!(parsed.to_string(), "disk:1;mem:15");
        assert_eq!(parsed.get("cpus"), 0.0);
        assert!(matches!(
            ResourceQuantities::parse("cpus:-1"),
            Err(ParseQuantitiesError::Negative { .. })
        ));
        assert!(matches!(
            ResourceQuantities::parse("cpus"),
            Err(ParseQuantitiesError::Malformed { .. })
        ));
        assert!(matches!(
            ResourceQuantities::parse("cpus:x"),
            Err(ParseQuantitiesError::NotANumber { .. })
        ));
    }

    /// Fixed-point arithmetic makes 0.1 + 0.2 exactly 0.3 and rounds to 3 decimals.
    #[test]
    fn fixed_point_is_exact_to_three_decimals() {
        let mut a = q("cpus:0.1");
        a.add_all(&q("cpus:0.2"));
        assert_eq!(a, q("cpus:0.3"));
        assert_eq!(q("cpus:0.0004"), ResourceQuantities::new());
        assert_eq!(q("cpus:0.0006").get("cpus"), 0.001);
    }

    /// Containment is per name; a missing name on the left means not contained.
    #[test]
    fn contains_compares_per_name() {
        assert!(q("cpus:2;mem:10").contains(&q("cpus:2")));
        assert!(q("cpus:2;mem:10").contains(&q("")));
        assert!(!q("cpus:2;mem:10").contains(&q("cpus:3")));
        assert!(!q("cpus:2;mem:10").contains(&q("disk:1")));
        assert!(!q("").contains(&q("disk:1")));
    }

    /// Subtraction saturates and removes emptied entries, as Mesos's operator-=.
    #[test]
    fn subtract_saturates_and_drops_empty_entries() {
        assert_eq!(q("cpus:2;mem:10").minus(&q("cpus:3;disk:4")), q("mem:10"));
        let mut a = q("cpus:2;mem:10");
        a.subtract(&q("cpus:2;mem:4"));
        assert_eq!(a, q("mem:6"));
        assert_eq!(a.plus(&q("gpus:1")), q("gpus:1;mem:6"));
    }

    /// Names order exactly as strings do, including names sharing an
    /// 8-byte prefix and names longer than 8 bytes.
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
    }

    /// Subtracting what is not held is a broken invariant and panics.
    #[test]
    #[should_panic(expected = "does not contain")]
    fn subtract_more_than_held_panics() {
        q("cpus:1").subtract(&q("cpus:2"));
    }
}
