//! `Resources`: a bag of protobuf `mesos::Resource`s with Mesos's arithmetic
//! (Mesos: include/mesos/resources.hpp, src/common/resources.cpp).
//!
//! Agents report what they have, the allocator hands it out, the master
//! subtracts what tasks use and adds back what they free, all with this type.
//! `cpus:4;mem:8192;ports:[31000-32000]` plus `cpus:1` is `cpus:5;...`;
//! minus `ports:[31000-31009]` is `ports:[31010-32000]`.
//!
//! # Invariants
//!
//! A `Resources` only ever holds resources that are
//! * valid ([`validate`]) and in the current reservation format ([`upgrade`]),
//! * not empty: no zero scalar, no empty ranges or set — and so never negative,
//!   because a subtraction that would go below zero removes the resource,
//! * in canonical form: scalars rounded to three decimals, ranges coalesced,
//! * merged: no two entries could be added into one (same name, type,
//!   reservations, allocation, disk, ...). Entries that differ only in such
//!   metadata stay separate: `cpus:1` and `cpus(role):2` are two entries.
//!
//! Protobufs from outside (the wire, JSON, code) enter through
//! [`Resources::from_protos`] or [`Resources::push`], which validate them;
//! everything else (`+`, `-`, filters) keeps the invariants by construction.
//!
//! # Layout
//! * [`values`] — scalar fixed-point, range and set arithmetic; value syntax.
//! * [`resource`] — rules for one `Resource`: validity, format, predicates.
//! * [`roles`] — role names and the role tree.
//! * [`quantities`] — [`ResourceQuantities`], name -> amount, for the sorter.
//! * `ops` — the standard traits on [`Resources`]: `+`/`-`, `Sum`, equality, `Display`,
//!   `FromStr`, conversions to and from protobuf vectors.
//! * `parse` — the `--resources` text syntax.
//! * [`conversions`] — what offer operations do to resources ([`Resources::apply`]) and
//!   the agent's checkpointed resources ([`Resources::with_checkpointed`]).
//! * [`error`] — [`ResourceError`].

pub mod conversions;
pub mod error;
mod ops;
mod parse;
pub mod quantities;
pub mod resource;
pub mod roles;
pub mod values;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use crate::mesos::Resource;
use crate::mesos::resource::AllocationInfo;
use crate::mesos::resource::ReservationInfo;
use crate::mesos::value::{Ranges, Set, Type};

pub use error::{InvalidResource, ParseProblem, ResourceError};
pub use parse::parse_resource;
pub(crate) use parse::tokens as parse_tokens;
pub use quantities::ResourceQuantities;
pub use resource::{upgrade, validate};

/// One held resource. Shared resources (shared persistent volumes) are
/// counted rather than summed: two tasks using the same volume hold two
/// copies of one identical resource.
#[derive(Clone)]
struct Entry {
    resource: Resource,
    /// `Some(copies)` for shared resources, `None` otherwise.
    shared_count: Option<u64>,
}

impl Entry {
    /// A valid resource in the current format, amount normalized.
    fn new(mut resource: Resource) -> Entry {
        resource::normalize(&mut resource);
        let shared_count = resource.shared.is_some().then_some(1);
        Entry { resource, shared_count }
    }

    fn is_empty(&self) -> bool {
        self.shared_count == Some(0) || resource::is_empty(&self.resource)
    }
}

/// A collection of resources with Mesos's semantics. See the module docs for
/// its invariants.
#[derive(Clone, Default)]
pub struct Resources {
    entries: Vec<Entry>,
}

impl Resources {
    /// No resources.
    pub fn new() -> Resources {
        Resources::default()
    }

    /// Validates each protobuf, converts it to the current reservation format
    /// and adds it. Empty resources (`cpus:0`) are accepted and hold nothing.
    /// The first invalid resource is an error.
    pub fn from_protos(
        protos: impl IntoIterator<Item = Resource>,
    ) -> Result<Resources, ResourceError> {
        let mut result = Resources::new();
        for proto in protos {
            result.push(proto)?;
        }
        Ok(result)
    }

    /// `self += Resources::from_protos(protos.to_vec())?` without the copies: a protobuf
    /// that merges into an entry already held (a task's `cpus:0.1` into a running total
    /// of `cpus`) is read where it lies, and only one that starts a new entry or needs
    /// rewriting into the current format is copied. All are validated first: on an
    /// error nothing is added. The master sums its tasks' resources this way when an
    /// agent re-registers with them (issue 18, FAIL-1).
    pub fn add_protos(&mut self, protos: &[Resource]) -> Result<(), ResourceError> {
        for proto in protos {
            validate(proto)?;
        }
        if self.entries.is_empty() {
            // A first task's resources size the vector: no growth from 4 entries for
            // 2 (issue 18, FAIL-1: five of these per re-registering agent).
            self.entries.reserve_exact(protos.len());
        }
        for proto in protos {
            // Merging the borrowed protobuf is merging its upgraded, normalized entry:
            // `upgrade` here touches only fields `addable` ignores, and the amounts are
            // added in canonical form (fixed-point scalars, coalesced ranges) anyway.
            let shared_count = proto.shared.is_some().then_some(1);
            if resource::upgrade_keeps_metadata(proto) && self.merge_held(proto, shared_count) {
                continue;
            }
            let mut owned = proto.clone();
            upgrade(&mut owned);
            self.add_entry(Entry::new(owned));
        }
        Ok(())
    }

    /// Validates `resource`, converts it to the current reservation format
    /// and adds it.
    pub fn push(&mut self, mut resource: Resource) -> Result<(), ResourceError> {
        validate(&resource)?;
        upgrade(&mut resource);
        self.add_entry(Entry::new(resource));
        Ok(())
    }

    /// Parses Mesos's `--resources` syntax, unreserved unless a role is given:
    /// `cpus:4;mem:8192;disk:20000;ports:[31000-32000];cpus(role):2;disks:{a,b}`,
    /// or the JSON array of `Resource` objects that Mesos also accepts.
    /// `{}` and the empty string are no resources.
    pub fn parse(text: &str) -> Result<Resources, ResourceError> {
        parse::parse_resources(text, roles::DEFAULT_ROLE)
    }

    /// [`Resources::parse`], with resources that name no role reserved to
    /// `default_role` (`*` for unreserved).
    pub fn parse_with_default_role(
        text: &str,
        default_role: &str,
    ) -> Result<Resources, ResourceError> {
        parse::parse_resources(text, default_role)
    }

    /// True if there are no resources.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of distinct resource entries (not the amount).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The resources, one protobuf per entry (a shared resource held in
    /// several copies appears once; see [`Resources::count`]).
    pub fn iter(&self) -> impl Iterator<Item = &Resource> + '_ {
        self.entries.iter().map(|e| &e.resource)
    }

    /// The resources as protobufs, for a message field.
    pub fn to_protos(&self) -> Vec<Resource> {
        self.iter().cloned().collect()
    }

    /// How many copies of `resource` are held: 0 or 1 for ordinary
    /// resources, the number of copies for a shared one.
    pub fn count(&self, resource: &Resource) -> u64 {
        self.entries
            .iter()
            .find(|e| resource::resource_eq(&e.resource, resource))
            .map_or(0, |e| e.shared_count.unwrap_or(1))
    }

    // -- Arithmetic ---------------------------------------------------------

    fn add_entry(&mut self, entry: Entry) {
        if !self.merge_into_held(&entry) {
            self.entries.push(entry);
        }
    }

    /// [`Resources::add_entry`] for a borrowed entry: copied only when it does not
    /// merge into one already held (adding `cpus:1` to `cpus:4` copies nothing).
    fn add_entry_ref(&mut self, entry: &Entry) {
        if !self.merge_into_held(entry) {
            self.entries.push(entry.clone());
        }
    }

    /// Adds `entry` into the held entry it merges with; false if there is none
    /// (an empty entry counts as added: it holds nothing).
    fn merge_into_held(&mut self, entry: &Entry) -> bool {
        self.merge_held(&entry.resource, entry.shared_count)
    }

    /// [`Resources::merge_into_held`] for a resource in the current format and its
    /// count of copies (`Some` for a shared resource).
    fn merge_held(&mut self, resource: &Resource, shared_count: Option<u64>) -> bool {
        if shared_count == Some(0) || resource::is_empty(resource) {
            return true;
        }
        let held = self.entries.iter_mut().find(|held| resource::addable(&held.resource, resource));
        let Some(held) = held else { return false };
        match (&mut held.shared_count, shared_count) {
            (Some(copies), Some(more)) => *copies = copies.saturating_add(more),
            _ => resource::add_amount(&mut held.resource, resource),
        }
        true
    }

    fn sub_entry(&mut self, entry: &Entry) {
        if entry.is_empty() {
            return;
        }
        let Some(index) = self
            .entries
            .iter()
            .position(|held| resource::subtractable(&held.resource, &entry.resource))
        else {
            return;
        };
        let held = &mut self.entries[index];
        let non_negative = match (&mut held.shared_count, entry.shared_count) {
            (Some(copies), Some(fewer)) => match copies.checked_sub(fewer) {
                Some(left) => {
                    *copies = left;
                    true
                }
                None => false,
            },
            _ => resource::sub_amount(&mut held.resource, &entry.resource),
        };
        // Taking away more than is held removes the resource: a Resources is
        // never negative (Mesos does the same, silently). Use
        // `checked_sub` where over-subtraction is a bug to report.
        if !non_negative || held.is_empty() {
            self.entries.remove(index);
        }
    }

    /// True if these resources hold at least `that` (Mesos: `contains`).
    pub fn contains(&self, that: &Resources) -> bool {
        // Both sides are merged, so when every wanted entry is one that merges with
        // its kind (anything but an indivisible disk), distinct wanted entries have
        // distinct metadata and each can only come out of the one held entry with its
        // metadata: checking them one by one is the whole answer, with no copy. This
        // is the allocator's decline-filter check, run per framework per agent.
        if that
            .entries
            .iter()
            .all(|e| e.shared_count.is_some() || resource::disk_divisible(&e.resource))
        {
            return that
                .entries
                .iter()
                .all(|entry| self.entries.iter().any(|held| contains_entry(held, entry)));
        }
        let mut remaining = self.clone();
        for entry in &that.entries {
            if !remaining.entries.iter().any(|held| contains_entry(held, entry)) {
                return false;
            }
            remaining.sub_entry(entry);
        }
        true
    }

    /// True if `resource` is valid and held (Mesos: `contains(Resource)`).
    pub fn contains_resource(&self, resource: &Resource) -> bool {
        let mut resource = resource.clone();
        if validate(&resource).is_err() {
            return false;
        }
        upgrade(&mut resource);
        let entry = Entry::new(resource);
        self.entries.iter().any(|held| contains_entry(held, &entry))
    }

    /// True if, ignoring roles and all other metadata, there is at least
    /// `quantities` of each name (ranges and sets count their elements).
    pub fn contains_quantities(&self, quantities: &ResourceQuantities) -> bool {
        ResourceQuantities::from_resources(self).contains(quantities)
    }

    /// `self - that`, or an error if `that` is not all held. Use this where
    /// taking more than is there would be a bookkeeping bug.
    pub fn checked_sub(&self, that: &Resources) -> Result<Resources, ResourceError> {
        if !self.contains(that) {
            return Err(ResourceError::NotContained {
                have: self.to_string(),
                want: that.to_string(),
            });
        }
        Ok(self - that)
    }

    /// Takes `consumed` out and puts `converted` in, as an offer operation
    /// does (RESERVE turns unreserved into reserved, CREATE turns disk into
    /// a volume). An error, changing nothing, if `consumed` is not all held
    /// (Mesos: resources.cpp `ResourceConversion::apply`).
    pub fn convert(
        &self,
        consumed: &Resources,
        converted: &Resources,
    ) -> Result<Resources, ResourceError> {
        let mut result = self.checked_sub(consumed)?;
        result += converted;
        Ok(result)
    }

    /// The summary the `/state` endpoints show (Mesos: common/http.cpp
    /// `model(Resources)`): `{"cpus": 2.0, "gpus": 0.0, "mem": 1024.0,
    /// "disk": 0.0, "ports": "[31000-32000]", "cpus_revocable": 1.0}`.
    /// Each name is summed over all roles; ranges and sets are printed;
    /// revocable resources get a `_revocable` suffix. `cpus`, `gpus`, `mem`
    /// and `disk` are always present.
    pub fn to_state_json(&self) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        for name in ["cpus", "gpus", "mem", "disk"] {
            object.insert(name.to_string(), serde_json::Value::from(0.0));
        }
        for (part, suffix) in [(self.non_revocable(), ""), (self.revocable(), "_revocable")] {
            for (name, value_type) in part.types() {
                let value = match value_type {
                    Type::Scalar => part.scalar(&name).map(serde_json::Value::from),
                    Type::Ranges => part.ranges(&name).map(|r| values::format_ranges(&r).into()),
                    Type::Set => part.set(&name).map(|s| values::format_set(&s).into()),
                    Type::Text => None,
                };
                if let Some(value) = value {
                    object.insert(format!("{name}{suffix}"), value);
                }
            }
        }
        serde_json::Value::Object(object)
    }

    // -- Filters ------------------------------------------------------------

    /// The resources for which `predicate` holds.
    pub fn filter(&self, mut predicate: impl FnMut(&Resource) -> bool) -> Resources {
        Resources {
            entries: self.entries.iter().filter(|e| predicate(&e.resource)).cloned().collect(),
        }
    }

    /// Reserved resources; with `Some(role)`, only those reserved to `role`
    /// (`*` names no reservation, so `Some("*")` gives nothing).
    pub fn reserved(&self, role: Option<&str>) -> Resources {
        self.filter(|r| resource::is_reserved(r, role))
    }

    /// Unreserved resources.
    pub fn unreserved(&self) -> Resources {
        self.filter(resource::is_unreserved)
    }

    /// Reserved resources grouped by the role that owns the reservation.
    pub fn reservations(&self) -> BTreeMap<String, Resources> {
        let mut result: BTreeMap<String, Resources> = BTreeMap::new();
        for entry in &self.entries {
            if let Some(role) = resource::reservation_role(&entry.resource) {
                result.entry(role.to_string()).or_default().add_entry(entry.clone());
            }
        }
        result
    }

    /// What a framework in `role` may use: unreserved resources and those
    /// reserved to `role` or its ancestors.
    pub fn allocatable_to(&self, role: &str) -> Resources {
        self.filter(|r| resource::is_allocatable_to(r, role))
    }

    /// Resources allocated to `role` or its descendants.
    pub fn allocated_to_role_subtree(&self, role: &str) -> Resources {
        self.filter(|r| resource::is_allocated_to_role_subtree(r, role))
    }

    /// Resources reserved to `role` or its descendants.
    pub fn reserved_to_role_subtree(&self, role: &str) -> Resources {
        self.filter(|r| resource::is_reserved_to_role_subtree(r, role))
    }

    /// Revocable resources.
    pub fn revocable(&self) -> Resources {
        self.filter(resource::is_revocable)
    }

    /// Non-revocable resources.
    pub fn non_revocable(&self) -> Resources {
        self.filter(|r| !resource::is_revocable(r))
    }

    /// Shared resources.
    pub fn shared(&self) -> Resources {
        self.filter(resource::is_shared)
    }

    /// Non-shared resources.
    pub fn non_shared(&self) -> Resources {
        self.filter(|r| !resource::is_shared(r))
    }

    /// Persistent volumes.
    pub fn persistent_volumes(&self) -> Resources {
        self.filter(resource::is_persistent_volume)
    }

    /// Resources named `name` (all roles).
    pub fn named(&self, name: &str) -> Resources {
        self.filter(|r| r.name == name)
    }

    /// Scalar resources.
    pub fn scalars(&self) -> Resources {
        self.filter(|r| r.r#type == Type::Scalar as i32)
    }

    /// The distinct resource names.
    pub fn names(&self) -> BTreeSet<String> {
        self.iter().map(|r| r.name.clone()).collect()
    }

    /// The value type of each resource name.
    pub fn types(&self) -> BTreeMap<String, Type> {
        self.iter()
            .filter_map(|r| Type::try_from(r.r#type).ok().map(|t| (r.name.clone(), t)))
            .collect()
    }

    // -- Allocation and reservations -----------------------------------------

    /// Marks every resource as allocated to `role`, replacing any earlier
    /// allocation (the master does this before offering).
    pub fn allocate(&mut self, role: &str) {
        let allocation = AllocationInfo { role: Some(role.to_string()) };
        self.map_metadata(|r| r.allocation_info = Some(allocation.clone()));
    }

    /// Clears the allocation of every resource.
    pub fn unallocate(&mut self) {
        self.map_metadata(|r| r.allocation_info = None);
    }

    /// Allocated resources grouped by the role they are allocated to.
    /// Unallocated resources are left out.
    pub fn allocations(&self) -> BTreeMap<String, Resources> {
        let mut result: BTreeMap<String, Resources> = BTreeMap::new();
        for entry in &self.entries {
            if let Some(role) = entry.resource.allocation_info.as_ref().and_then(|a| a.role.clone())
            {
                result.entry(role).or_default().add_entry(entry.clone());
            }
        }
        result
    }

    /// [`Resources::allocations`] with each role's resources unallocated (what the
    /// allocator's `addSlave` takes as an agent's used resources), copying each entry
    /// once.
    pub fn allocations_unallocated(&self) -> BTreeMap<String, Resources> {
        fn role_of(entry: &Entry) -> Option<&String> {
            entry.resource.allocation_info.as_ref().and_then(|a| a.role.as_ref())
        }
        let mut result: BTreeMap<String, Resources> = BTreeMap::new();
        for (index, entry) in self.entries.iter().enumerate() {
            let Some(role) = role_of(entry) else { continue };
            let mut entry = entry.clone();
            entry.resource.allocation_info = None;
            match result.get_mut(role.as_str()) {
                Some(resources) => resources.add_entry(entry),
                None => {
                    // Sized for the role's entries: no growth (and copies) as they come.
                    let same = self.entries[index..].iter().filter(|e| role_of(e) == Some(role));
                    let mut entries = Vec::with_capacity(same.count());
                    entries.push(entry);
                    result.insert(role.clone(), Resources { entries });
                }
            }
        }
        result
    }

    /// The same resources with `reservation` pushed on top of each one's
    /// reservation stack (a RESERVE). The result must be valid: the new
    /// reservation refines the current one.
    pub fn push_reservation(
        &self,
        reservation: &ReservationInfo,
    ) -> Result<Resources, ResourceError> {
        let mut result = Resources::new();
        for entry in &self.entries {
            let mut entry = entry.clone();
            entry.resource.reservations.push(reservation.clone());
            validate(&entry.resource)?;
            result.add_entry(entry);
        }
        Ok(result)
    }

    /// The same resources with the top reservation removed (an UNRESERVE).
    /// Every resource must be reserved.
    pub fn pop_reservation(&self) -> Result<Resources, ResourceError> {
        let mut result = Resources::new();
        for entry in &self.entries {
            let mut entry = entry.clone();
            if entry.resource.reservations.pop().is_none() {
                return Err(ResourceError::Reservation {
                    resource: resource::display(&entry.resource).to_string(),
                    reason: "it is not reserved".to_string(),
                });
            }
            result.add_entry(entry);
        }
        Ok(result)
    }

    /// The same resources with every reservation removed (Mesos:
    /// `toUnreserved`).
    pub fn to_unreserved(&self) -> Resources {
        let mut result = self.clone();
        result.map_metadata(|r| r.reservations.clear());
        result
    }

    /// The same amounts, all marked as statically reserved to `role`, or
    /// unreserved if `role` is `*` (old Mesos's `flatten(role)`): used to
    /// compare or add up resources across reservation boundaries.
    pub fn flatten(&self, role: &str) -> Result<Resources, ResourceError> {
        let unreserved = self.to_unreserved();
        if role == roles::DEFAULT_ROLE {
            return Ok(unreserved);
        }
        unreserved.push_reservation(&resource::static_reservation(role))
    }

    /// Applies `change` to every resource's metadata, then re-merges entries
    /// that have become addable.
    fn map_metadata(&mut self, mut change: impl FnMut(&mut Resource)) {
        let entries = std::mem::take(&mut self.entries);
        for mut entry in entries {
            change(&mut entry.resource);
            self.add_entry(entry);
        }
    }

    // -- Amounts ------------------------------------------------------------

    /// The total of scalar resource `name` over all roles, or `None` if there
    /// is none.
    pub fn scalar(&self, name: &str) -> Option<f64> {
        let mut found = false;
        let total = self.iter().filter(|r| r.name == name && r.r#type == Type::Scalar as i32).fold(
            0.0,
            |total, r| {
                found = true;
                values::scalar_add(total, r.scalar.as_ref().map_or(0.0, |s| s.value))
            },
        );
        found.then_some(total)
    }

    /// The union of ranges resource `name` over all roles, or `None`.
    pub fn ranges(&self, name: &str) -> Option<Ranges> {
        self.iter()
            .filter(|r| r.name == name && r.r#type == Type::Ranges as i32)
            .filter_map(|r| r.ranges.as_ref())
            .fold(None, |total: Option<Ranges>, r| {
                Some(values::ranges_add(&total.unwrap_or_default(), r))
            })
    }

    /// The union of set resource `name` over all roles, or `None`.
    pub fn set(&self, name: &str) -> Option<Set> {
        self.iter()
            .filter(|r| r.name == name && r.r#type == Type::Set as i32)
            .filter_map(|r| r.set.as_ref())
            .fold(None, |total: Option<Set>, s| {
                Some(values::set_add(&total.unwrap_or_default(), s))
            })
    }

    /// CPUs, over all roles.
    pub fn cpus(&self) -> Option<f64> {
        self.scalar("cpus")
    }

    /// GPUs, over all roles.
    pub fn gpus(&self) -> Option<f64> {
        self.scalar("gpus")
    }

    /// Memory in megabytes, over all roles.
    pub fn mem_mb(&self) -> Option<f64> {
        self.scalar("mem")
    }

    /// Disk in megabytes, over all roles.
    pub fn disk_mb(&self) -> Option<f64> {
        self.scalar("disk")
    }

    /// Ports, over all roles, coalesced.
    pub fn ports(&self) -> Option<Ranges> {
        self.ranges("ports")
    }
}

/// Like `resource::contains`, with shared resources compared by copies.
fn contains_entry(held: &Entry, wanted: &Entry) -> bool {
    match (held.shared_count, wanted.shared_count) {
        (Some(have), Some(want)) => {
            have >= want && resource::resource_eq(&held.resource, &wanted.resource)
        }
        (None, None) => resource::contains(&held.resource, &wanted.resource),
        _ => false,
    }
}
