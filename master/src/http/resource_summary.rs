//! Resources as Mesos's summary object (`{"cpus":1.0,"disk":0.0,"gpus":0.0,"mem":128.0,
//! "ports":"[31000-31009]"}`), written from borrowed resources.
//!
//! The same object as `Resources::to_state_json` (Mesos: common/http.cpp
//! `json(JSON::ObjectWriter*, const Resources&)`), without building a `Resources` or a
//! `Value` first: `/master/state` shows five of these per agent and one per task, and
//! copying 10,000 agents' and 100,000 tasks' resources into `Resources` to sum them cost
//! more than writing the rest of the document.
//!
//! The rule `to_state_json` follows: `cpus`, `gpus`, `mem` and `disk` are always there
//! (0.0 when absent); every other name too; scalars are summed in Mesos's fixed point,
//! ranges and sets are united; a revocable resource's name gets `_revocable`; a name's
//! type is that of its last resource; text values are left out.

use std::borrow::Cow;

use mesos_proto::mesos;
use mesos_proto::mesos::value::{Ranges, Set, Type};
use mesos_proto::resources::{Resources, resource, values};

use super::json_out::{JsonOut, key};

/// The names always shown, in byte order, with their keys.
const ALWAYS_SHOWN: [(&str, &[u8]); 4] =
    [("cpus", key!("cpus")), ("disk", key!("disk")), ("gpus", key!("gpus")), ("mem", key!("mem"))];

/// One name's values so far.
struct Sum {
    last_type: i32,
    scalar: Option<f64>,
    ranges: Option<Ranges>,
    set: Option<Set>,
}

/// Writes the summary of `resources` (entries of one or more `Resources`, or protos
/// that validate). Returns false, writing nothing, if one is shared: a shared volume
/// held in several copies counts once, which only `Resources` knows.
pub fn write<'r>(
    out: &mut JsonOut,
    resources: impl IntoIterator<Item = &'r mesos::Resource>,
) -> bool {
    // By name, in byte order: a sorted `Vec` rather than a `BTreeMap`, whose node (an
    // allocation of a kilobyte) cost more than the rest for a task's two or three names.
    let mut sums: Vec<(Cow<'r, str>, Sum)> = Vec::new();
    for r in resources {
        if resource::is_shared(r) {
            return false;
        }
        // An empty resource adds nothing to a `Resources`, not even its name.
        if resource::is_empty(r) {
            continue;
        }
        let key = if resource::is_revocable(r) {
            Cow::Owned(format!("{}_revocable", r.name))
        } else {
            Cow::Borrowed(r.name.as_str())
        };
        let at = match sums.binary_search_by(|(name, _)| name.as_ref().cmp(key.as_ref())) {
            Ok(at) => at,
            Err(at) => {
                let sum = Sum { last_type: r.r#type, scalar: None, ranges: None, set: None };
                sums.insert(at, (key, sum));
                at
            }
        };
        let sum = &mut sums[at].1;
        sum.last_type = r.r#type;
        match Type::try_from(r.r#type) {
            Ok(Type::Scalar) => {
                let value = r.scalar.as_ref().map_or(0.0, |s| s.value);
                sum.scalar = Some(values::scalar_add(sum.scalar.unwrap_or(0.0), value));
            }
            Ok(Type::Ranges) => {
                if let Some(ranges) = &r.ranges {
                    let total = sum.ranges.take().unwrap_or_default();
                    sum.ranges = Some(values::ranges_add(&total, ranges));
                }
            }
            Ok(Type::Set) => {
                if let Some(set) = &r.set {
                    let total = sum.set.take().unwrap_or_default();
                    sum.set = Some(values::set_add(&total, set));
                }
            }
            _ => {}
        }
    }
    // Merge the four names always shown with the sums, in byte order.
    let mut fixed = ALWAYS_SHOWN.into_iter().peekable();
    out.begin_object();
    for (name, sum) in &sums {
        while let Some((_, quoted)) = fixed.next_if(|(f, _)| *f < name.as_ref()) {
            out.known_key(quoted);
            out.f64(0.0);
        }
        let shown = fixed.next_if(|(f, _)| *f == name.as_ref()).map(|(_, quoted)| quoted);
        match Type::try_from(sum.last_type) {
            Ok(Type::Scalar) if sum.scalar.is_some() => {
                match shown {
                    Some(quoted) => out.known_key(quoted),
                    None => out.key(name),
                }
                out.f64(sum.scalar.unwrap_or(0.0));
            }
            Ok(Type::Ranges) if sum.ranges.is_some() => {
                let ranges = sum.ranges.as_ref().map(values::format_ranges);
                out.field_str(name, &ranges.unwrap_or_default());
            }
            Ok(Type::Set) if sum.set.is_some() => {
                let set = sum.set.as_ref().map(values::format_set);
                out.field_str(name, &set.unwrap_or_default());
            }
            // No value of its type: the name shows only if it is one of the four.
            _ if shown.is_some() => out.field_f64(name, 0.0),
            _ => {}
        }
    }
    for (_, quoted) in fixed {
        out.known_key(quoted);
        out.f64(0.0);
    }
    out.end_object();
    true
}

/// The summary of a `Resources`.
pub fn write_resources(out: &mut JsonOut, resources: &Resources) {
    if !write(out, resources.iter()) {
        out.value(&resources.to_state_json());
    }
}

/// True if every resource of `group` validates: `Resources::from_protos` takes the group
/// whole, or as nothing.
pub fn valid(group: &[mesos::Resource]) -> bool {
    group.iter().all(|r| resource::validate(r).is_ok())
}

/// The summary of one group of resource protos whose validity the caller checked
/// already ([`valid`]): a group that does not validate counts as nothing.
pub fn write_checked(out: &mut JsonOut, group: &[mesos::Resource], valid: bool) {
    let group = if valid { group } else { &[] };
    if !write(out, group.iter()) {
        let total = Resources::from_protos(group.iter().cloned()).unwrap_or_default();
        out.value(&total.to_state_json());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(resources: &Resources) -> String {
        let mut out = JsonOut::new();
        write_resources(&mut out, resources);
        String::from_utf8(out.into_bytes()).expect("UTF-8")
    }

    /// Scalars, ranges, sets, revocable and reserved resources, names before, between
    /// and after the four always shown: the same bytes as `Resources::to_state_json`.
    #[test]
    fn writes_what_to_state_json_prints() {
        for text in [
            "",
            "cpus:1",
            "cpus:0.1;mem:5;cpus(web):0.2",
            "cpus:4;mem:1024;disk:100;ports:[31000-31009,32000-32001];cpus(web):2",
            "a:1;cpus:1;e:2;zz:{x,y};gpus:1;mem:3;ports(r):[1-2]",
            "disk:0;foo:0;bar:{}",
        ] {
            let resources = Resources::parse(text).expect("resources");
            assert_eq!(written(&resources), resources.to_state_json().to_string(), "{text}");
        }
        let mut revocable = Resources::parse("cpus:2;mem:10").expect("resources").to_protos();
        revocable[0].revocable = Some(Default::default());
        let resources = Resources::from_protos(revocable).expect("resources");
        assert_eq!(written(&resources), resources.to_state_json().to_string());
    }
}
