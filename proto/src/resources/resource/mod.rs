//! Rules for one protobuf `Resource`: validity, reservation format,
//! predicates (reserved? revocable? ...), when two resources may be combined,
//! and printing (Mesos: src/common/resources.cpp, the free functions and
//! `Resources::` statics).
//!
//! # Reservation formats
//!
//! Mesos has two ways to say a resource is reserved. The old
//! ("pre-reservation-refinement") format sets `role` (default `*` =
//! unreserved) and, for dynamic reservations, `reservation`. The current
//! ("post-reservation-refinement") format leaves both unset and keeps a stack
//! in `reservations`: the first entry is the original reservation, each later
//! one refines it to a sub-role, and the last one is the current owner.
//! [`upgrade`] turns the old format into the new one; everything inside a
//! [`Resources`](super::Resources) is in the new format.
//!
//! # Layout
//! * this file — construction, validation, format, predicates, equality and combination;
//! * `display` — printing ([`display`]).

use crate::mesos::resource::disk_info::source::Type as SourceType;
use crate::mesos::resource::reservation_info::Type as ReservationType;
use crate::mesos::resource::{DiskInfo, ReservationInfo};
use crate::mesos::value::{Ranges, Set, Type};
use crate::mesos::{Labels, Resource};

mod display;

pub use display::display;

use super::error::{InvalidResource, ResourceError};
use super::roles;
use super::values::{
    ranges_add, ranges_contains, ranges_eq, ranges_sub, scalar_cmp, set_add, set_contains, set_eq,
    set_sub, to_fixed,
};

/// A STATIC reservation for `role`, as `--resources=cpus(role):2` makes.
pub fn static_reservation(role: &str) -> ReservationInfo {
    ReservationInfo {
        r#type: Some(ReservationType::Static as i32),
        role: Some(role.to_string()),
        ..Default::default()
    }
}

/// A DYNAMIC reservation for `role`, made by `principal` (if any), with
/// `labels` (if any), as a RESERVE operation makes.
pub fn dynamic_reservation(
    role: &str,
    principal: Option<&str>,
    labels: Option<Labels>,
) -> ReservationInfo {
    ReservationInfo {
        r#type: Some(ReservationType::Dynamic as i32),
        role: Some(role.to_string()),
        principal: principal.map(str::to_string),
        labels,
    }
}

// ---------------------------------------------------------------------------
// Validation and format.
// ---------------------------------------------------------------------------

/// Checks `resource` against Mesos's rules (Mesos: `Resources::validate`):
/// a name; a known type other than TEXT with exactly the matching value field
/// set; no negative scalar (or a non-zero one that rounds to zero); no
/// inverted or overlapping ranges; no duplicate set items; disk info only on
/// `disk`; valid roles; a consistent reservation format (either one); `shared`
/// only on persistent volumes.
pub fn validate(resource: &Resource) -> Result<(), ResourceError> {
    check(resource).map_err(|problem| ResourceError::Invalid {
        resource: display(resource).to_string(),
        problem,
    })
}

fn check(r: &Resource) -> Result<(), InvalidResource> {
    if r.name.is_empty() {
        return Err(InvalidResource::EmptyName);
    }
    let fields = (r.scalar.is_some(), r.ranges.is_some(), r.set.is_some());
    match Type::try_from(r.r#type) {
        Err(_) => return Err(InvalidResource::UnknownType(r.r#type)),
        Ok(Type::Text) => return Err(InvalidResource::TextType),
        Ok(Type::Scalar) => {
            let Some(scalar) = r.scalar.as_ref().filter(|_| fields == (true, false, false)) else {
                return Err(InvalidResource::ValueFieldMismatch("SCALAR"));
            };
            let value = scalar.value;
            // Unlike Mesos, also refuse NaN, infinities and values whose fixed
            // point form would overflow: they would poison every sum.
            if !value.is_finite() || value.abs() > super::values::MAX_SCALAR {
                return Err(InvalidResource::UnrepresentableScalar(value));
            }
            if value != 0.0 && to_fixed(value) <= 0 {
                return Err(InvalidResource::NonPositiveScalar(value));
            }
        }
        Ok(Type::Ranges) => {
            let Some(ranges) = r.ranges.as_ref().filter(|_| fields == (false, true, false)) else {
                return Err(InvalidResource::ValueFieldMismatch("RANGES"));
            };
            let mut pairs: Vec<(u64, u64)> = Vec::with_capacity(ranges.range.len());
            for range in &ranges.range {
                if range.begin > range.end {
                    return Err(InvalidResource::InvertedRange {
                        begin: range.begin,
                        end: range.end,
                    });
                }
                pairs.push((range.begin, range.end));
            }
            pairs.sort_unstable();
            if pairs.windows(2).any(|w| w[1].0 <= w[0].1) {
                return Err(InvalidResource::OverlappingRanges);
            }
        }
        Ok(Type::Set) => {
            let Some(set) = r.set.as_ref().filter(|_| fields == (false, false, true)) else {
                return Err(InvalidResource::ValueFieldMismatch("SET"));
            };
            for (i, item) in set.item.iter().enumerate() {
                if set.item[i + 1..].contains(item) {
                    return Err(InvalidResource::DuplicateSetItem(item.clone()));
                }
            }
        }
    }

    if let Some(disk) = &r.disk {
        check_disk(&r.name, disk)?;
    }
    check_reservations(r)?;

    if r.shared.is_some() && !(r.name == "disk" && is_persistent_volume(r)) {
        return Err(InvalidResource::Shared);
    }
    Ok(())
}

fn check_disk(name: &str, disk: &DiskInfo) -> Result<(), InvalidResource> {
    if name != "disk" {
        return Err(InvalidResource::Disk("only a resource named 'disk' may carry disk info"));
    }
    if let Some(source) = &disk.source {
        match SourceType::try_from(source.r#type) {
            Ok(SourceType::Path | SourceType::Mount) => {}
            Ok(SourceType::Block | SourceType::Raw) => {
                if source.mount.is_some() || source.path.is_some() {
                    return Err(InvalidResource::Disk(
                        "BLOCK and RAW disk sources cannot have a path or mount",
                    ));
                }
            }
            Ok(SourceType::Unknown) | Err(_) => {
                return Err(InvalidResource::Disk("unsupported disk source type"));
            }
        }
    }
    Ok(())
}

fn check_role(role: &str) -> Result<(), InvalidResource> {
    roles::validate(role).map_err(InvalidResource::BadRole)
}

/// Mesos's reservation rules for both formats (`Resources::validate`).
// The deprecated `role` field is the old format itself.
#[allow(deprecated)]
fn check_reservations(r: &Resource) -> Result<(), InvalidResource> {
    use InvalidResource::Reservation as Bad;
    if r.reservations.is_empty() {
        // Old format: `role`, plus `reservation` for dynamic reservations.
        check_role(r.role())?;
        if let Some(reservation) = &r.reservation {
            if reservation.r#type.is_some() {
                return Err(Bad("'reservation.type' must not be set in the old format"));
            }
            if reservation.role.is_some() {
                return Err(Bad("'reservation.role' must not be set in the old format"));
            }
            if r.role() == roles::DEFAULT_ROLE {
                return Err(Bad("role '*' cannot be dynamically reserved"));
            }
        }
        return Ok(());
    }

    for reservation in &r.reservations {
        let Some(kind) = reservation.r#type else {
            return Err(Bad("every reservation must set 'type'"));
        };
        let Some(role) = &reservation.role else {
            return Err(Bad("every reservation must set 'role'"));
        };
        if ReservationType::try_from(kind).is_err() {
            return Err(Bad("unknown reservation type"));
        }
        check_role(role)?;
        if role == roles::DEFAULT_ROLE {
            return Err(Bad("role '*' cannot be reserved"));
        }
    }
    // Each later reservation refines the one before to a strict sub-role.
    for pair in r.reservations.windows(2) {
        if pair[1].r#type() == ReservationType::Static {
            return Err(Bad("a refined reservation cannot be STATIC"));
        }
        if !roles::is_strict_subrole_of(pair[1].role(), pair[0].role()) {
            return Err(Bad("each refined reservation must be for a sub-role of the one before"));
        }
    }

    // The old fields may also be set (the "endpoint" format) if they agree
    // with a single reservation.
    if let [only] = r.reservations.as_slice() {
        if r.role.is_some() && r.role() != only.role() {
            return Err(Bad("'role' does not match the role in 'reservations'"));
        }
        match only.r#type() {
            ReservationType::Static => {
                if r.reservation.is_some() {
                    return Err(Bad("'reservation' must not be set for a STATIC reservation"));
                }
            }
            ReservationType::Dynamic => {
                if r.role.is_some() != r.reservation.is_some() {
                    return Err(Bad("'role' and 'reservation' must be both set or both unset"));
                }
                if let Some(old) = &r.reservation {
                    if old.principal() != only.principal() {
                        return Err(Bad("'reservation.principal' does not match 'reservations'"));
                    }
                    if !labels_eq(old.labels.as_ref(), only.labels.as_ref()) {
                        return Err(Bad("'reservation.labels' does not match 'reservations'"));
                    }
                }
            }
            ReservationType::Unknown => return Err(Bad("unknown reservation type")),
        }
    } else if r.role.is_some() || r.reservation.is_some() {
        return Err(Bad("'role' and 'reservation' must not be set with refined reservations"));
    }
    Ok(())
}

/// Rewrites a valid resource in the current ("post-reservation-refinement")
/// format: the reservation stack in `reservations`, `role` and `reservation`
/// cleared (Mesos: resources_utils.cpp `upgradeResource`).
#[allow(deprecated)] // Reads and clears the old-format `role` field.
pub fn upgrade(resource: &mut Resource) {
    if !resource.reservations.is_empty() {
        resource.role = None;
        resource.reservation = None;
        return;
    }
    let role = resource.role.take().unwrap_or_else(|| roles::DEFAULT_ROLE.to_string());
    if role == roles::DEFAULT_ROLE {
        resource.reservation = None;
        return;
    }
    let reservation = match resource.reservation.take() {
        None => static_reservation(&role),
        Some(old) => dynamic_reservation(&role, old.principal.as_deref(), old.labels),
    };
    resource.reservations.push(reservation);
}

/// True if [`upgrade`] would change nothing that [`same_metadata`] compares: it would
/// at most clear the old-format `role` (`*`) and `reservation` fields, so the resource
/// adds up as it is (see `Resources::add_protos`).
#[allow(deprecated)] // Reads the old-format `role` field.
pub(crate) fn upgrade_keeps_metadata(resource: &Resource) -> bool {
    !resource.reservations.is_empty()
        || resource.role.as_deref().is_none_or(|role| role == roles::DEFAULT_ROLE)
}

/// Rewrites a resource in the current format into the old one, for peers that
/// only know `role` and `reservation` (Mesos: `convertResourceFormat` to
/// `PRE_RESERVATION_REFINEMENT`). Refined reservations cannot be expressed
/// there, so a resource with more than one reservation is an error.
#[allow(deprecated)] // Writes the old-format `role` field.
pub fn downgrade(resource: &mut Resource) -> Result<(), ResourceError> {
    match resource.reservations.len() {
        0 => resource.role = Some(roles::DEFAULT_ROLE.to_string()),
        1 => {
            let only = resource.reservations.remove(0);
            if only.r#type() == ReservationType::Dynamic {
                resource.reservation = Some(ReservationInfo {
                    principal: only.principal,
                    labels: only.labels,
                    ..Default::default()
                });
            }
            resource.role = only.role;
        }
        _ => {
            return Err(ResourceError::Reservation {
                resource: display(resource).to_string(),
                reason: "refined reservations have no old-format equivalent".to_string(),
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Predicates. These expect the current format (see `upgrade`).
// ---------------------------------------------------------------------------

/// True if the resource holds nothing: a zero scalar, no ranges, no items.
pub fn is_empty(resource: &Resource) -> bool {
    match Type::try_from(resource.r#type) {
        Ok(Type::Scalar) => resource.scalar.as_ref().is_none_or(|s| to_fixed(s.value) == 0),
        Ok(Type::Ranges) => resource.ranges.as_ref().is_none_or(|r| r.range.is_empty()),
        Ok(Type::Set) => resource.set.as_ref().is_none_or(|s| s.item.is_empty()),
        _ => false,
    }
}

/// True if the resource has no reservation.
pub fn is_unreserved(resource: &Resource) -> bool {
    resource.reservations.is_empty()
}

/// The role that currently owns the reservation (the last on the stack), or
/// `None` if unreserved.
pub fn reservation_role(resource: &Resource) -> Option<&str> {
    resource.reservations.last().map(|r| r.role())
}

/// True if reserved; with `role`, true only if reserved to exactly `role`.
pub fn is_reserved(resource: &Resource, role: Option<&str>) -> bool {
    match (reservation_role(resource), role) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(owner), Some(role)) => owner == role,
    }
}

/// True if the current reservation is DYNAMIC.
pub fn is_dynamically_reserved(resource: &Resource) -> bool {
    resource.reservations.last().is_some_and(|r| r.r#type() == ReservationType::Dynamic)
}

/// True if the reservation stack has more than one level.
pub fn has_refined_reservations(resource: &Resource) -> bool {
    resource.reservations.len() > 1
}

/// True if a framework in `role` may be offered the resource: it is
/// unreserved, or reserved to `role` or to an ancestor of `role`.
pub fn is_allocatable_to(resource: &Resource, role: &str) -> bool {
    match reservation_role(resource) {
        None => true,
        Some(owner) => owner == role || roles::is_strict_subrole_of(role, owner),
    }
}

/// True if the resource is allocated to `role` or one of its descendants.
pub fn is_allocated_to_role_subtree(resource: &Resource, role: &str) -> bool {
    resource
        .allocation_info
        .as_ref()
        .and_then(|a| a.role.as_deref())
        .is_some_and(|owner| owner == role || roles::is_strict_subrole_of(owner, role))
}

/// True if the resource is reserved to `role` or one of its descendants.
pub fn is_reserved_to_role_subtree(resource: &Resource, role: &str) -> bool {
    reservation_role(resource)
        .is_some_and(|owner| owner == role || roles::is_strict_subrole_of(owner, role))
}

/// True if the resource is revocable (oversubscribed).
pub fn is_revocable(resource: &Resource) -> bool {
    resource.revocable.is_some()
}

/// True if the resource is shared (a shared persistent volume).
pub fn is_shared(resource: &Resource) -> bool {
    resource.shared.is_some()
}

/// True if the resource is a persistent volume.
pub fn is_persistent_volume(resource: &Resource) -> bool {
    resource.disk.as_ref().is_some_and(|d| d.persistence.is_some())
}

// ---------------------------------------------------------------------------
// Equality and combination.
// ---------------------------------------------------------------------------

/// Labels compare as unordered lists (Mesos: type_utils.cpp).
fn labels_eq(left: Option<&Labels>, right: Option<&Labels>) -> bool {
    match (left, right) {
        (None, None) => true,
        (Some(l), Some(r)) => {
            l.labels.len() == r.labels.len()
                && l.labels.iter().all(|label| r.labels.contains(label))
                && r.labels.iter().all(|label| l.labels.contains(label))
        }
        _ => false,
    }
}

/// Reservation equality as Mesos defines it (type, role, principal, labels).
pub(crate) fn reservation_eq(left: &ReservationInfo, right: &ReservationInfo) -> bool {
    left.r#type() == right.r#type()
        && left.role() == right.role()
        && left.principal == right.principal
        && labels_eq(left.labels.as_ref(), right.labels.as_ref())
}

/// Disk info equality: the source and the persistence id; the volume (how a
/// task mounts it) is ignored.
fn disk_eq(left: &DiskInfo, right: &DiskInfo) -> bool {
    let persistence_id = |d: &DiskInfo| d.persistence.as_ref().map(|p| p.id.clone());
    left.source == right.source && persistence_id(left) == persistence_id(right)
}

/// Everything but the amount matches (Mesos: `compareResourceMetadata`).
pub(crate) fn same_metadata(left: &Resource, right: &Resource) -> bool {
    left.name == right.name
        && left.r#type == right.r#type
        && left.allocation_info == right.allocation_info
        && left.reservations.len() == right.reservations.len()
        && left.reservations.iter().zip(&right.reservations).all(|(l, r)| reservation_eq(l, r))
        && match (&left.disk, &right.disk) {
            (None, None) => true,
            (Some(l), Some(r)) => disk_eq(l, r),
            _ => false,
        }
        && left.revocable.is_some() == right.revocable.is_some()
        && left.provider_id == right.provider_id
        && left.shared.is_some() == right.shared.is_some()
}

/// Equal metadata and equal amounts (Mesos: `operator==(Resource, Resource)`).
pub fn resource_eq(left: &Resource, right: &Resource) -> bool {
    same_metadata(left, right)
        && match Type::try_from(left.r#type) {
            Ok(Type::Scalar) => {
                scalar_cmp(scalar_of(left), scalar_of(right)) == std::cmp::Ordering::Equal
            }
            Ok(Type::Ranges) => ranges_eq(ranges_of(left), ranges_of(right)),
            Ok(Type::Set) => set_eq(set_of(left), set_of(right)),
            _ => false,
        }
}

fn scalar_of(r: &Resource) -> f64 {
    r.scalar.as_ref().map_or(0.0, |s| s.value)
}

static NO_RANGES: Ranges = Ranges { range: Vec::new() };
static NO_ITEMS: Set = Set { item: Vec::new() };

/// The ranges of `r`, empty if unset (saves cloning just to read them).
fn ranges_of(r: &Resource) -> &Ranges {
    r.ranges.as_ref().unwrap_or(&NO_RANGES)
}

/// The set of `r`, empty if unset.
fn set_of(r: &Resource) -> &Set {
    r.set.as_ref().unwrap_or(&NO_ITEMS)
}

/// Whether the disk kind lets two resources with the same metadata be merged
/// or split. MOUNT and BLOCK disks are indivisible; RAW disks with an identity
/// too; persistent volumes are only ever taken whole.
pub(crate) fn disk_divisible(r: &Resource) -> bool {
    let Some(disk) = &r.disk else { return true };
    if let Some(source) = &disk.source {
        match SourceType::try_from(source.r#type) {
            Ok(SourceType::Path) => {}
            Ok(SourceType::Mount | SourceType::Block) => return false,
            Ok(SourceType::Raw) if source.id.is_some() => return false,
            _ => {}
        }
    }
    disk.persistence.is_none()
}

/// True if `left + right` is one resource (Mesos: `internal::addable`).
/// Shared resources are added by counting copies, so they must be equal.
pub(crate) fn addable(left: &Resource, right: &Resource) -> bool {
    if left.shared.is_some() != right.shared.is_some() {
        return false;
    }
    if left.shared.is_some() {
        return resource_eq(left, right);
    }
    same_metadata(left, right) && disk_divisible(left)
}

/// True if `left - right` is one resource (Mesos: `internal::subtractable`).
/// Indivisible disks can only be subtracted whole.
pub(crate) fn subtractable(left: &Resource, right: &Resource) -> bool {
    if left.shared.is_some() != right.shared.is_some() {
        return false;
    }
    if left.shared.is_some() {
        return resource_eq(left, right);
    }
    same_metadata(left, right) && (disk_divisible(left) || resource_eq(left, right))
}

/// True if `left` holds at least `right` (Mesos: `contains(Resource, Resource)`).
pub(crate) fn contains(left: &Resource, right: &Resource) -> bool {
    subtractable(left, right)
        && match Type::try_from(left.r#type) {
            Ok(Type::Scalar) => scalar_cmp(scalar_of(right), scalar_of(left)).is_le(),
            Ok(Type::Ranges) => ranges_contains(ranges_of(left), ranges_of(right)),
            Ok(Type::Set) => set_contains(set_of(left), set_of(right)),
            _ => false,
        }
}

/// Adds the amount of `right` into `left`; they must be [`addable`].
pub(crate) fn add_amount(left: &mut Resource, right: &Resource) {
    match Type::try_from(left.r#type) {
        Ok(Type::Scalar) => {
            let sum = super::values::scalar_add(scalar_of(left), scalar_of(right));
            left.scalar.get_or_insert_default().value = sum;
        }
        Ok(Type::Ranges) => {
            let sum = ranges_add(ranges_of(left), ranges_of(right));
            left.ranges = Some(sum);
        }
        Ok(Type::Set) => {
            let sum = set_add(set_of(left), set_of(right));
            left.set = Some(sum);
        }
        _ => {}
    }
}

/// Takes the amount of `right` out of `left`; they must be [`subtractable`].
/// Returns false if the result would be negative (the caller drops it).
pub(crate) fn sub_amount(left: &mut Resource, right: &Resource) -> bool {
    match Type::try_from(left.r#type) {
        Ok(Type::Scalar) => {
            let diff = super::values::scalar_sub(scalar_of(left), scalar_of(right));
            left.scalar.get_or_insert_default().value = diff;
            diff >= 0.0
        }
        Ok(Type::Ranges) => {
            left.ranges = Some(ranges_sub(ranges_of(left), ranges_of(right)));
            true
        }
        Ok(Type::Set) => {
            left.set = Some(set_sub(set_of(left), set_of(right)));
            true
        }
        _ => true,
    }
}

/// Puts the amount of a valid resource in canonical form: scalars rounded to
/// three decimals, ranges coalesced.
pub(crate) fn normalize(resource: &mut Resource) {
    if let Some(scalar) = &mut resource.scalar {
        // `+ 0.0` turns -0.0 into 0.0.
        scalar.value = super::values::normalize_scalar(scalar.value) + 0.0;
    }
    if let Some(ranges) = &mut resource.ranges {
        super::values::coalesce(ranges);
    }
}
