//! Arithmetic, comparison, parsing and printing of protobuf `Value`s: scalars,
//! ranges and sets (Mesos: src/common/values.cpp).
//!
//! * **Scalars** are doubles on the wire, but every sum, difference and
//!   comparison goes through a fixed-point form with three decimal digits
//!   (`llround(v * 1000)`), so that `0.1 + 0.2 == 0.3` and long chains of
//!   allocations and releases never drift. Values are printed from that fixed
//!   form, so `1.2345` prints as `1.235`.
//! * **Ranges** (ports) are sets of integers written as inclusive intervals.
//!   Every operation here returns them *coalesced*: sorted, with overlapping
//!   and adjacent intervals merged (`[1-4, 5-7]` is `[1-7]`). That canonical
//!   form is what makes equality structural.
//! * **Sets** are sets of strings; order is kept as given, duplicates are not
//!   added twice.
//!
//! The text syntax (`45.55`, `[31000-32000, 33000-34000]`, `{sda1, sda2}`,
//! anything else is text) is parsed by [`parse_value`]. As in Mesos, all
//! whitespace inside a value is ignored.
//!
//! # Layout
//! * this file — scalar, range and set arithmetic, comparison and printing;
//! * `parse` — the text syntax of one value ([`parse_value`]).

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::mesos::Value;
use crate::mesos::value::{Range, Ranges, Scalar, Set, Type};

mod parse;

pub use parse::parse_value;
pub(crate) use parse::parse_value_at;

// ---------------------------------------------------------------------------
// Scalars.
// ---------------------------------------------------------------------------

/// Scalars keep this many units per 1.0: three decimal digits.
pub const SCALAR_UNITS_PER_ONE: i64 = 1000;

/// The largest scalar accepted anywhere (1e15, a petabyte of megabytes).
///
/// Mesos converts with `llround(v * 1000)`, which overflows beyond about
/// 9.2e15; keeping inputs at or below 1e15 leaves room for sums of many such
/// values in the fixed-point form.
pub const MAX_SCALAR: f64 = 1e15;

/// The fixed-point form of a scalar: `round(v * 1000)`, halves away from zero
/// (Mesos: values.cpp `convertToFixed`). Saturates for values beyond
/// [`MAX_SCALAR`], which validation rejects before they get here.
pub fn to_fixed(value: f64) -> i64 {
    // `as` saturates on overflow and maps NaN to 0; validation keeps both out.
    (value * SCALAR_UNITS_PER_ONE as f64).round() as i64
}

/// Back from the fixed-point form. Divides in integers first so only
/// `[0, 999] / 1000` is done in floating point (Mesos: `convertToFloating`).
pub fn from_fixed(fixed: i64) -> f64 {
    let whole = (fixed / SCALAR_UNITS_PER_ONE) as f64;
    let fraction = (fixed % SCALAR_UNITS_PER_ONE) as f64 / SCALAR_UNITS_PER_ONE as f64;
    whole + fraction
}

/// `value` rounded to three decimal digits, as Mesos stores results.
pub fn normalize_scalar(value: f64) -> f64 {
    from_fixed(to_fixed(value))
}

/// `a + b` in Mesos's fixed-point arithmetic.
pub fn scalar_add(a: f64, b: f64) -> f64 {
    from_fixed(to_fixed(a).saturating_add(to_fixed(b)))
}

/// `a - b` in Mesos's fixed-point arithmetic (may be negative).
pub fn scalar_sub(a: f64, b: f64) -> f64 {
    from_fixed(to_fixed(a).saturating_sub(to_fixed(b)))
}

/// Compares two scalars at three decimal digits: `1.0001` equals `1.0`.
pub fn scalar_cmp(a: f64, b: f64) -> Ordering {
    to_fixed(a).cmp(&to_fixed(b))
}

/// `a == b` at three decimal digits.
pub fn scalar_eq(a: f64, b: f64) -> bool {
    to_fixed(a) == to_fixed(b)
}

/// Prints a scalar the way Mesos does: rounded to three decimals, trailing
/// zeros dropped, the integer part in full (`1.1`, `1000001`, `1.235`).
pub fn format_scalar(value: f64) -> String {
    let fixed = to_fixed(value);
    let sign = if fixed < 0 { "-" } else { "" };
    let magnitude = fixed.unsigned_abs();
    let units = SCALAR_UNITS_PER_ONE as u64;
    let (whole, fraction) = (magnitude / units, magnitude % units);
    if fraction == 0 {
        format!("{sign}{whole}")
    } else {
        let digits = format!("{fraction:03}");
        format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// Why `value` cannot be an input scalar, if it cannot (Mesos:
/// validation.cpp `validateInputScalarValue`, plus the [`MAX_SCALAR`] bound).
pub(crate) fn scalar_input_problem(value: f64) -> Option<&'static str> {
    if !value.is_finite() {
        Some("not finite")
    } else if value.is_subnormal() {
        Some("subnormal")
    } else if value < 0.0 {
        Some("negative")
    } else if value > MAX_SCALAR {
        Some("too large")
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// Ranges.
// ---------------------------------------------------------------------------

/// The intervals of `ranges` in canonical form: sorted, no two overlapping or
/// adjacent. Inverted intervals (`begin > end`, which validation rejects) hold
/// no numbers and are dropped. Ranges inside a `Resources` are always canonical
/// already, so this borrows them without copying; only ranges from elsewhere
/// are sorted and merged into a new list.
fn canonical(ranges: &Ranges) -> Cow<'_, [Range]> {
    let in_order = ranges.range.windows(2).all(|w| w[0].end.saturating_add(1) < w[1].begin);
    if in_order && ranges.range.iter().all(|r| r.begin <= r.end) {
        return Cow::Borrowed(&ranges.range);
    }
    let mut pairs: Vec<(u64, u64)> =
        ranges.range.iter().filter(|r| r.begin <= r.end).map(|r| (r.begin, r.end)).collect();
    merge(&mut pairs);
    Cow::Owned(from_pairs(pairs).range)
}

/// Sorts and merges `(begin, end)` pairs in place (Mesos: values.cpp
/// `internal::coalesce`). Adjacent intervals merge too: `1-4` and `5-7` make
/// `1-7`.
fn merge(pairs: &mut Vec<(u64, u64)>) {
    pairs.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(pairs.len());
    for &(begin, end) in pairs.iter() {
        match merged.last_mut() {
            // `saturating_add`: an interval ending at u64::MAX absorbs the rest.
            Some(last) if begin <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => merged.push((begin, end)),
        }
    }
    *pairs = merged;
}

fn from_pairs(pairs: Vec<(u64, u64)>) -> Ranges {
    Ranges { range: pairs.into_iter().map(|(begin, end)| Range { begin, end }).collect() }
}

/// Appends `[begin, end]` to a canonical list whose intervals all begin at or
/// before `begin`, merging it into the last one if they overlap or touch.
fn push_merged(out: &mut Vec<Range>, begin: u64, end: u64) {
    match out.last_mut() {
        // `saturating_add`: an interval ending at u64::MAX absorbs the rest.
        Some(last) if begin <= last.end.saturating_add(1) => last.end = last.end.max(end),
        _ => out.push(Range { begin, end }),
    }
}

/// Builds coalesced `Ranges` from inclusive `(begin, end)` pairs; inverted
/// pairs are dropped.
pub fn ranges_from(pairs: impl IntoIterator<Item = (u64, u64)>) -> Ranges {
    let mut pairs: Vec<(u64, u64)> = pairs.into_iter().filter(|(b, e)| b <= e).collect();
    merge(&mut pairs);
    from_pairs(pairs)
}

/// Rewrites `ranges` in canonical form: sorted, overlapping and adjacent
/// intervals merged (Mesos: values.cpp `coalesce`).
pub fn coalesce(ranges: &mut Ranges) {
    if let Cow::Owned(range) = canonical(ranges) {
        ranges.range = range;
    }
}

/// The union of two range lists, coalesced: one merge walk over both sorted
/// lists.
pub fn ranges_add(left: &Ranges, right: &Ranges) -> Ranges {
    let (left, right) = (canonical(left), canonical(right));
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (0, 0);
    while l < left.len() || r < right.len() {
        let next = match (left.get(l), right.get(r)) {
            (Some(a), Some(b)) if a.begin <= b.begin => {
                l += 1;
                a
            }
            (_, Some(b)) => {
                r += 1;
                b
            }
            (Some(a), None) => {
                l += 1;
                a
            }
            (None, None) => break,
        };
        push_merged(&mut out, next.begin, next.end);
    }
    Ranges { range: out }
}

/// The numbers in `left` that are not in `right`, coalesced (Mesos:
/// values.cpp `internal::subtract`). Well defined for any two ranges; it does
/// not require `right` to be inside `left`.
pub fn ranges_sub(left: &Ranges, right: &Ranges) -> Ranges {
    let (left, right) = (canonical(left), canonical(right));
    let mut result = Vec::with_capacity(left.len() + 1);
    // Both lists are sorted and disjoint: walk them together, carving each
    // left interval by the right intervals that overlap it.
    let mut r = 0;
    for interval in left.iter() {
        let (mut start, end) = (interval.begin, interval.end);
        while r < right.len() && right[r].end < start {
            r += 1;
        }
        let mut k = r;
        let mut covered_to_end = false;
        while k < right.len() && right[k].begin <= end {
            let (cut_begin, cut_end) = (right[k].begin, right[k].end);
            if cut_begin > start {
                result.push(Range { begin: start, end: cut_begin - 1 });
            }
            if cut_end >= end {
                covered_to_end = true;
                break;
            }
            start = start.max(cut_end + 1);
            k += 1;
        }
        if !covered_to_end {
            result.push(Range { begin: start, end });
        }
    }
    Ranges { range: result }
}

/// True if every number of `inner` is in `outer`.
pub fn ranges_contains(outer: &Ranges, inner: &Ranges) -> bool {
    let (outer, inner) = (canonical(outer), canonical(inner));
    // Canonical intervals are sorted and separated by gaps, so a contained
    // interval must sit inside a single one of them: walk both lists once.
    let mut o = 0;
    inner.iter().all(|i| {
        while o < outer.len() && outer[o].end < i.end {
            o += 1;
        }
        o < outer.len() && outer[o].begin <= i.begin
    })
}

/// True if both hold the same numbers, however they are split into intervals.
pub fn ranges_eq(left: &Ranges, right: &Ranges) -> bool {
    canonical(left) == canonical(right)
}

/// How many numbers the ranges hold (saturating at `u64::MAX`).
pub fn ranges_len(ranges: &Ranges) -> u64 {
    canonical(ranges)
        .iter()
        .fold(0u64, |total, r| total.saturating_add((r.end - r.begin).saturating_add(1)))
}

/// Prints ranges as `[a-b, c-d]`, in the order held.
pub fn format_ranges(ranges: &Ranges) -> String {
    let items: Vec<String> =
        ranges.range.iter().map(|r| format!("{}-{}", r.begin, r.end)).collect();
    format!("[{}]", items.join(", "))
}

// ---------------------------------------------------------------------------
// Sets.
// ---------------------------------------------------------------------------

/// `left` followed by the items of `right` it lacks.
pub fn set_add(left: &Set, right: &Set) -> Set {
    let mut result = left.clone();
    for item in &right.item {
        if !result.item.contains(item) {
            result.item.push(item.clone());
        }
    }
    result
}

/// The items of `left` that are not in `right`, in `left`'s order.
pub fn set_sub(left: &Set, right: &Set) -> Set {
    Set { item: left.item.iter().filter(|item| !right.item.contains(item)).cloned().collect() }
}

/// True if every item of `inner` is in `outer`.
pub fn set_contains(outer: &Set, inner: &Set) -> bool {
    inner.item.iter().all(|item| outer.item.contains(item))
}

/// True if both hold the same items, in any order.
pub fn set_eq(left: &Set, right: &Set) -> bool {
    set_contains(left, right) && set_contains(right, left)
}

/// Prints a set as `{a, b}`.
pub fn format_set(set: &Set) -> String {
    format!("{{{}}}", set.item.join(", "))
}

// ---------------------------------------------------------------------------
// Whole values.
// ---------------------------------------------------------------------------

/// The name of a `Value.Type` number, as Mesos spells it.
pub fn type_name(value_type: i32) -> &'static str {
    match Type::try_from(value_type) {
        Ok(Type::Scalar) => "SCALAR",
        Ok(Type::Ranges) => "RANGES",
        Ok(Type::Set) => "SET",
        Ok(Type::Text) => "TEXT",
        Err(_) => "UNKNOWN",
    }
}

/// Prints a value in the text syntax [`parse_value`] reads.
pub fn format_value(value: &Value) -> String {
    match Type::try_from(value.r#type) {
        Ok(Type::Scalar) => format_scalar(value.scalar.as_ref().map_or(0.0, |s| s.value)),
        Ok(Type::Ranges) => format_ranges(&value.ranges.clone().unwrap_or_default()),
        Ok(Type::Set) => format_set(&value.set.clone().unwrap_or_default()),
        Ok(Type::Text) => value.text.as_ref().map_or(String::new(), |t| t.value.clone()),
        Err(_) => String::from("?"),
    }
}

/// A SCALAR `Value`.
pub fn scalar_value(value: f64) -> Value {
    Value { r#type: Type::Scalar as i32, scalar: Some(Scalar { value }), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::error::{ParseProblem, ResourceError};

    fn ranges(text: &str) -> Ranges {
        parse_value(text).unwrap().ranges.unwrap()
    }

    fn set(text: &str) -> Set {
        parse_value(text).unwrap().set.unwrap()
    }

    fn pairs(r: &Ranges) -> Vec<(u64, u64)> {
        r.range.iter().map(|r| (r.begin, r.end)).collect()
    }

    /// Proves each of the four value kinds parses (ValuesTest.ValidInput).
    #[test]
    fn values_test_valid_input() {
        let v = parse_value("45.55").unwrap();
        assert_eq!(v.r#type, Type::Scalar as i32);
        assert_eq!(v.scalar.unwrap().value, 45.55);

        let v = parse_value("[10000-20000, 30000-50000]").unwrap();
        assert_eq!(v.r#type, Type::Ranges as i32);
        assert_eq!(pairs(&v.ranges.unwrap()), vec![(10000, 20000), (30000, 50000)]);

        let v = parse_value("{sda1, sda2}").unwrap();
        assert_eq!(v.r#type, Type::Set as i32);
        assert_eq!(v.set.unwrap().item, vec!["sda1", "sda2"]);

        let v = parse_value("123abc,s").unwrap();
        assert_eq!(v.r#type, Type::Text as i32);
        assert_eq!(v.text.unwrap().value, "123abc,s");
    }

    /// Proves malformed values are errors, not panics or text (ValuesTest.InvalidInput).
    #[test]
    fn values_test_invalid_input() {
        for bad in [
            "{aa,b}}",
            "[1-2]]",
            "[1-2b]",
            "  ",
            "nan",
            "-nan",
            "inf",
            "-inf",
            "infinity",
            "-infinity",
            "-1",
            "[1-2",
            "[5-3]",
            "[1-2,]",
            "[1]",
            "{a,,b}",
            "a[1-2]",
            "a{b}",
            "[1-2]x",
            "{a}b",
            "(",
            "1e-320",
            "1e16",
            "[1-99999999999999999999]",
        ] {
            assert!(parse_value(bad).is_err(), "{bad:?} should not parse");
        }
    }

    /// Proves errors say what is wrong and where (byte offset into the text).
    #[test]
    fn parse_errors_point_at_the_problem() {
        match parse_value("[1-2, 3-x]") {
            Err(ResourceError::Parse { offset, problem, .. }) => {
                assert_eq!(offset, 8);
                assert_eq!(problem, ParseProblem::BadInteger { text: "x".into() });
            }
            other => panic!("unexpected {other:?}"),
        }
        match parse_value("[1-2") {
            Err(ResourceError::Parse { offset, problem, .. }) => {
                assert_eq!(offset, 0);
                assert_eq!(problem, ParseProblem::MismatchedBracket('['));
            }
            other => panic!("unexpected {other:?}"),
        }
        let message = parse_value("[9-3]").unwrap_err().to_string();
        assert!(message.contains("9-3 is inverted"), "{message}");
    }

    /// Proves set subtraction removes exactly the shared items (ValuesTest.SetSubtraction).
    #[test]
    fn values_test_set_subtraction() {
        let set1 = set_sub(&set("{sda1, sda2, sda3}"), &set("{sda2, sda3}"));
        assert!(set_eq(&set1, &set("{sda1}")));
        let set3 = set_sub(&set("{sda4}"), &set1);
        assert!(set_eq(&set3, &set("{sda4}")));
    }

    /// Proves a single range parses to itself (ValuesTest.RangesParse).
    #[test]
    fn values_test_ranges_parse() {
        assert_eq!(pairs(&ranges("[1-10]")), vec![(1, 10)]);
        assert!(ranges("[]").range.is_empty());
    }

    /// Proves explicit coalescing merges overlapping and adjacent ranges (ValuesTest.RangesCoalesce).
    #[test]
    fn values_test_ranges_coalesce() {
        let mut r = Ranges {
            range: vec![
                Range { begin: 1, end: 4 },
                Range { begin: 3, end: 5 },
                Range { begin: 7, end: 8 },
                Range { begin: 8, end: 10 },
            ],
        };
        coalesce(&mut r);
        assert_eq!(pairs(&r), vec![(1, 5), (7, 10)]);
    }

    /// Proves parsing coalesces, in every overlap shape Mesos tests (ValuesTest.RangesCoalesceParse).
    #[test]
    fn values_test_ranges_coalesce_parse() {
        let cases: &[(&str, &[(u64, u64)])] = &[
            ("[4-6, 6-8, 5-9, 3-4, 2-5, 4-6, 1-1, 10-10, 4-6]", &[(1, 10)]),
            ("[4-6, 6-8]", &[(4, 8)]),
            ("[6-8, 4-6]", &[(4, 8)]),
            ("[1-10, 8-10]", &[(1, 10)]),
            ("[1-11, 8-10]", &[(1, 11)]),
            ("[1-4, 4-5, 7-8, 8-10]", &[(1, 5), (7, 10)]),
            ("[4-6, 7-8]", &[(4, 8)]),
            ("[4-6, 7-7]", &[(4, 7)]),
            ("[4-6, 7-7, 8-8, 9-9]", &[(4, 9)]),
            ("[4-6, 7-7, 9-10, 9-11]", &[(4, 7), (9, 11)]),
            ("[6-8, 6-8, 4-6, 6-8]", &[(4, 8)]),
        ];
        for (text, want) in cases {
            assert_eq!(pairs(&ranges(text)), *want, "{text}");
        }
    }

    /// Proves adding one range to coalesced ranges keeps them coalesced (ValuesTest.AddRangeCoalesce).
    #[test]
    fn values_test_add_range_coalesce() {
        let mut r = ranges("[1-4, 8-10]");
        r = ranges_add(&r, &ranges("[4-8]"));
        assert_eq!(pairs(&r), vec![(1, 10)]);
        r = ranges_add(&r, &ranges("[5-7]"));
        assert_eq!(pairs(&r), vec![(1, 10)]);
        r = ranges_add(&r, &ranges("[20-21]"));
        assert_eq!(pairs(&r), vec![(1, 10), (20, 21)]);
    }

    /// Proves range union in each overlap position (ValuesTest.RangesAddition).
    #[test]
    fn values_test_ranges_addition() {
        let cases = [
            ("[3-8]", "[4-10]", "[3-10]"),
            ("[3-8]", "[1-5]", "[1-8]"),
            ("[3-8]", "[1-10]", "[1-10]"),
            ("[3-8]", "[5-6]", "[3-8]"),
            ("[3-8]", "[10-12]", "[3-8, 10-12]"),
            ("[3-8]", "[9-12]", "[3-12]"),
            ("[1-4, 9-10, 20-22, 26-30]", "[5-8, 23-25]", "[1-10, 20-30]"),
        ];
        for (a, b, want) in cases {
            let sum = ranges_add(&ranges(a), &ranges(b));
            assert_eq!(pairs(&sum), pairs(&ranges(want)), "{a} + {b}");
        }
    }

    /// Proves range difference in each overlap position (ValuesTest.RangesSubtraction).
    #[test]
    fn values_test_ranges_subtraction() {
        let cases = [
            ("[3-8]", "[4-10]", "[3-3]"),
            ("[3-8]", "[1-5]", "[6-8]"),
            ("[3-8]", "[1-10]", "[]"),
            ("[3-8]", "[5-6]", "[3-4, 7-8]"),
            ("[3-8]", "[10-12]", "[3-8]"),
            ("[1-10, 20-30, 40-50]", "[2-9, 15-45, 48-50]", "[1-1, 10-10, 46-47]"),
            ("[20000-40000]", "[10000-20000, 30000-50000]", "[20001-29999]"),
            ("[0-18446744073709551615]", "[0-0]", "[1-18446744073709551615]"),
            (
                "[0-18446744073709551615]",
                "[18446744073709551615-18446744073709551615]",
                "[0-18446744073709551614]",
            ),
        ];
        for (a, b, want) in cases {
            let diff = ranges_sub(&ranges(a), &ranges(b));
            assert_eq!(pairs(&diff), pairs(&ranges(want)), "{a} - {b}");
        }
    }

    /// Proves containment and equality ignore how ranges are split.
    #[test]
    fn ranges_contains_and_eq() {
        assert!(ranges_contains(&ranges("[1-10]"), &ranges("[2-2, 4-5]")));
        assert!(!ranges_contains(&ranges("[2-3]"), &ranges("[2-2, 4-5]")));
        assert!(ranges_contains(&ranges("[1-4, 5-5]"), &ranges("[2-2, 4-5]")));
        assert!(ranges_eq(&ranges("[20-40]"), &ranges("[20-30, 31-39, 40-40]")));
        assert_eq!(ranges_len(&ranges("[1-10, 20-20]")), 11);
        assert_eq!(ranges_len(&ranges("[0-18446744073709551615]")), u64::MAX);
    }

    /// Proves the fixed-point rules: rounding, exact sums, printing (ResourcesTest.PrintingScalarPrecision).
    #[test]
    fn scalar_fixed_point() {
        assert_eq!(format_scalar(1.234), "1.234");
        assert_eq!(format_scalar(1.2345), "1.235");
        assert_eq!(format_scalar(1.2344), "1.234");
        assert_eq!(format_scalar(1.1), "1.1");
        assert_eq!(format_scalar(1000001.0), "1000001");
        assert_eq!(format_scalar(99999999999.9994), "99999999999.999");
        assert_eq!(format_scalar(0.0), "0");
        assert_eq!(format_scalar(-0.5), "-0.5");
        assert!(scalar_eq(scalar_add(0.1, 0.2), 0.3));
        assert_eq!(scalar_add(0.1, 0.2), 0.3);
        assert_eq!(normalize_scalar(1.5015), 1.502);
        assert_eq!(scalar_cmp(1.0001, 1.0), Ordering::Equal);
        assert_eq!(scalar_sub(1.0, 2.5), -1.5);
    }
}
