//! What the allocator needs from a resource bundle, as a trait.
//!
//! The allocator moves bundles of resources around (an agent's total, what
//! it has free, what a framework holds there, what an offer carries) and
//! compares them (does a decline filter cover this offer?). It never looks
//! inside one beyond that. [`AllocatorResources`] names exactly those
//! operations, so the core can run on any bundle type:
//!
//! - `mesos_proto`'s [`ResourceQuantities`] (implemented here): scalar
//!   amounts only, with no ports, reservations or revocable resources. Enough
//!   for DRF and for most of this module's unit tests.
//! - `mesos_proto`'s full `Resources` (ranges, roles, reservations), which the
//!   allocator actor runs on (implemented in `process.rs`), and which the
//!   benchmarks (`master/benches/allocator.rs`) measure.
//!
//! Mesos's allocator uses `Resources` throughout (Mesos:
//! `hierarchical.cpp`); the operations below are the ones it calls.

use std::collections::BTreeMap;
use std::fmt::Debug;

use mesos_proto::resources::ResourceQuantities;

/// A bundle of resources the allocator can track and offer.
///
/// Laws the allocator relies on: `a.contains(&b)` implies
/// `a.minus(&b).plus(&b) == a`; `contains` is reflexive; the empty bundle
/// is contained in everything.
pub trait AllocatorResources: Clone + Debug + Default + PartialEq {
    /// True when the bundle holds nothing.
    fn is_empty(&self) -> bool;

    /// True when every resource of `other` is also here (Mesos:
    /// `Resources::contains(Resources)`).
    fn contains(&self, other: &Self) -> bool;

    /// Adds `other` to this bundle.
    fn add(&mut self, other: &Self);

    /// `self` without `other`, dropping whatever of `other` is not here
    /// (Mesos's `operator-`).
    fn minus(&self, other: &Self) -> Self;

    /// Takes `other` out of this bundle in place: [`AllocatorResources::minus`]
    /// without building a new bundle (the bookkeeping of every offer does this).
    fn subtract(&mut self, other: &Self) {
        *self = self.minus(other);
    }

    /// The summed amounts of the scalar resources, for DRF shares.
    fn scalar_quantities(&self) -> ResourceQuantities;

    /// True when the scalar amounts here cover `quantities` (Mesos:
    /// `Resources::contains(ResourceQuantities)`, used for the minimum
    /// allocatable resources).
    fn contains_quantities(&self, quantities: &ResourceQuantities) -> bool;

    /// The part of the bundle that may be offered to `role`: unreserved
    /// resources and those reserved to `role` or an ancestor (Mesos:
    /// `Resources::allocatableTo`), or `None` when that is all of it (nothing
    /// here is reserved to another role), so the allocation loop copies
    /// nothing in the common case.
    fn allocatable_to(&self, role: &str) -> Option<Self>;

    /// The bundle without the kinds of resources a framework lacking
    /// these capabilities cannot receive (Mesos: `stripIncapableResources`),
    /// or `None` when nothing would be removed, so the hot allocation loop
    /// copies nothing in the common case.
    fn strip_incapable(&self, capabilities: &super::FrameworkCapabilities) -> Option<Self>;

    /// Splits the bundle into what counts against quota (unreserved,
    /// non-revocable scalar resources) and the rest (reservations, ranges,
    /// sets, revocable resources). Mesos: the `quotaResources` filter of
    /// `hierarchical.cpp __generateOffers`.
    fn split_quota(&self) -> (Self, Self);

    /// The bundle with its scalar amounts cut down to `caps` (name ->
    /// largest amount kept); names not in `caps` are kept whole when
    /// `unlisted_unlimited` (limits), dropped otherwise (quantities).
    /// Non-scalar resources are kept. Mesos: `shrinkResources`.
    fn shrink(&self, caps: &BTreeMap<String, f64>, unlisted_unlimited: bool) -> Self;

    /// The scalar amounts reserved to each role (the role of each resource's innermost
    /// reservation), which count against that role's quota whether or not anyone holds
    /// them. Mesos: `RoleTree::trackReservations` (`reservationScalarQuantities`).
    fn reservation_quantities(&self) -> Vec<(String, ResourceQuantities)>;
}

/// Quantities are scalar, unreserved, non-revocable and not shared, so
/// every role may use all of them and no capability strips any.
impl AllocatorResources for ResourceQuantities {
    fn is_empty(&self) -> bool {
        ResourceQuantities::is_empty(self)
    }

    fn contains(&self, other: &Self) -> bool {
        ResourceQuantities::contains(self, other)
    }

    fn add(&mut self, other: &Self) {
        *self += other;
    }

    fn minus(&self, other: &Self) -> Self {
        self - other
    }

    fn subtract(&mut self, other: &Self) {
        *self -= other;
    }

    fn scalar_quantities(&self) -> ResourceQuantities {
        self.clone()
    }

    fn contains_quantities(&self, quantities: &ResourceQuantities) -> bool {
        ResourceQuantities::contains(self, quantities)
    }

    fn allocatable_to(&self, _role: &str) -> Option<Self> {
        None
    }

    fn strip_incapable(&self, _capabilities: &super::FrameworkCapabilities) -> Option<Self> {
        None
    }

    fn split_quota(&self) -> (Self, Self) {
        (self.clone(), ResourceQuantities::new())
    }

    fn shrink(&self, caps: &BTreeMap<String, f64>, unlisted_unlimited: bool) -> Self {
        let mut out = ResourceQuantities::new();
        for (name, amount) in self.iter() {
            let kept = match caps.get(name) {
                Some(&cap) => amount.min(cap),
                None if unlisted_unlimited => amount,
                None => 0.0,
            };
            // `single` drops amounts that are not positive, so a cap of zero
            // (or below, from a consumed quota past its limit) keeps nothing.
            out += &ResourceQuantities::single(name, kept);
        }
        out
    }

    fn reservation_quantities(&self) -> Vec<(String, ResourceQuantities)> {
        Vec::new()
    }
}
