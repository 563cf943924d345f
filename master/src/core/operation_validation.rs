//! Validation of the speculative offer operations (RESERVE, UNRESERVE, CREATE, DESTROY,
//! GROW_VOLUME, SHRINK_VOLUME), from a framework's ACCEPT or an operator's call.
//!
//! Pure functions: the operation, who asks, and the agent in; an error message out.
//!
//! Mesos: master/validation.cpp `operation::validate` (one per operation) and
//! `resource::validate` (disk info, dynamic reservations).

use std::collections::{BTreeSet, HashSet};

use mesos_proto::mesos::{self, offer, slave_info, volume};
use mesos_proto::resources::{Resources, resource};

use super::state::Agent;

/// Who asks for an operation.
pub(crate) struct Requester<'a> {
    /// The principal that must sign reservations and volumes (the framework's, or
    /// the operator's authenticated one); `None`: anything goes.
    pub principal: Option<&'a str>,
    /// The framework's info and roles, or `None` for the operator API.
    pub framework: Option<(&'a mesos::FrameworkInfo, &'a BTreeSet<String>)>,
}

/// Checks one speculative operation against the requester and the agent.
pub(crate) fn validate_operation(
    operation: &offer::Operation,
    requester: &Requester<'_>,
    agent: &Agent,
) -> Result<(), String> {
    use offer::operation::Type;
    let result = match operation.r#type() {
        Type::Reserve => match &operation.reserve {
            Some(reserve) => validate_reserve(reserve, requester, agent),
            None => Err("Expecting 'reserve' to be present".into()),
        },
        Type::Unreserve => match &operation.unreserve {
            Some(unreserve) => validate_unreserve(&unreserve.resources),
            None => Err("Expecting 'unreserve' to be present".into()),
        },
        Type::Create => match &operation.create {
            Some(create) => validate_create(&create.volumes, requester, agent),
            None => Err("Expecting 'create' to be present".into()),
        },
        Type::Destroy => match &operation.destroy {
            Some(destroy) => validate_destroy(&destroy.volumes, agent),
            None => Err("Expecting 'destroy' to be present".into()),
        },
        Type::GrowVolume => match &operation.grow_volume {
            Some(grow) => validate_grow(grow, agent),
            None => Err("Expecting 'grow_volume' to be present".into()),
        },
        Type::ShrinkVolume => match &operation.shrink_volume {
            Some(shrink) => validate_shrink(shrink, agent),
            None => Err("Expecting 'shrink_volume' to be present".into()),
        },
        other => Err(format!("{} is not a speculative operation", other.as_str_name())),
    };
    result.map_err(|error| format!("{error}; on agent {}", agent.id))
}

fn has_capability(agent: &Agent, capability: slave_info::capability::Type) -> bool {
    agent.capabilities.iter().any(|c| c.r#type() == capability)
}

/// The resources parse and follow Mesos's rules for disk info and dynamic
/// reservations. Mesos: validation.cpp `resource::validate`.
fn validate_resources(protos: &[mesos::Resource]) -> Result<Resources, String> {
    let resources = Resources::from_protos(protos.iter().cloned())
        .map_err(|e| format!("Invalid resources: {e}"))?;
    for resource in resources.iter() {
        if resource::is_dynamically_reserved(resource) && resource::is_revocable(resource) {
            return Err(format!(
                "Dynamically reserved resource {} cannot be created from revocable resources",
                resource::display(resource)
            ));
        }
        let Some(disk) = &resource.disk else { continue };
        if disk.persistence.is_some() {
            if resource::is_revocable(resource) {
                return Err("Persistent volumes cannot be created from revocable resources".into());
            }
            if resource::is_unreserved(resource) {
                return Err("Persistent volumes cannot be created from unreserved resources".into());
            }
            let volume =
                disk.volume.as_ref().ok_or("Expecting 'volume' to be set for persistent volume")?;
            if volume.host_path.is_some() {
                return Err("Expecting 'host_path' to be unset for persistent volume".into());
            }
            // The id names the volume's folder on the agent: Mesos's id rules keep it
            // one safe path component.
            let id = disk.persistence.as_ref().map(|p| p.id.as_str()).unwrap_or_default();
            mesos_proto::ids::validate_id("persistence id", id)
                .map_err(|e| format!("Invalid persistence ID for persistent volume: {e}"))?;
        } else if disk.volume.is_some() {
            return Err("Non-persistent volume not supported".into());
        } else if disk.source.is_none() {
            return Err("DiskInfo is set but empty".into());
        }
    }
    Ok(resources)
}

/// All the resources are allocated to one role (framework operations only).
fn allocated_to_single_role(resources: &Resources) -> Result<String, String> {
    let mut role: Option<&str> = None;
    for resource in resources.iter() {
        let Some(this) = resource.allocation_info.as_ref().and_then(|a| a.role.as_deref()) else {
            return Err("The resources are not allocated to a role".into());
        };
        match role {
            Some(seen) if seen != this => {
                return Err(format!(
                    "The resources have multiple allocation roles ('{this}' and '{seen}') but only one allocation role is allowed"
                ));
            }
            _ => role = Some(this),
        }
    }
    role.map(str::to_string).ok_or_else(|| "Resources cannot be empty".into())
}

/// Mesos: validation.cpp `operation::validate(Reserve)`.
fn validate_reserve(
    reserve: &offer::operation::Reserve,
    requester: &Requester<'_>,
    agent: &Agent,
) -> Result<(), String> {
    let resources = validate_resources(&reserve.resources)?;
    if resources.is_empty() {
        return Err("Invalid resources: Resource cannot be empty".into());
    }
    if !reserve.source.is_empty() {
        validate_reservation_update(&reserve.source, &resources, requester)?;
    }
    for resource in resources.iter() {
        let shown = resource::display(resource);
        if !resource::is_dynamically_reserved(resource) {
            return Err(format!("Resource {shown} is not dynamically reserved"));
        }
        let role = resource::reservation_role(resource).unwrap_or_default();
        if !has_capability(agent, slave_info::capability::Type::HierarchicalRole)
            && role.contains('/')
        {
            return Err(format!(
                "Resource {shown} with reservation for hierarchical role '{role}' cannot be reserved on an agent without HIERARCHICAL_ROLE capability"
            ));
        }
        if !has_capability(agent, slave_info::capability::Type::ReservationRefinement)
            && resource::has_refined_reservations(resource)
        {
            return Err(format!(
                "Resource {shown} with reservation refinement cannot be reserved on an agent without RESERVATION_REFINEMENT capability"
            ));
        }
        check_reservation_principal(resource, requester.principal)?;
        check_reservation_role(resource, requester)?;
    }
    if requester.framework.is_some() {
        allocated_to_single_role(&resources)
            .map_err(|e| format!("Invalid reservation resources: {e}"))?;
    }
    Ok(())
}

/// RESERVE with `source` (a reservation update, Mesos 1.11): only through the operator
/// API; `source` and the target each carry one reservation stack, over the same
/// quantities. Conversions then consume `source` as given (it must be free).
/// Mesos: master.cpp `_accept` (refused for the scheduler API) and validation.cpp
/// `operation::validate(Reserve)`.
fn validate_reservation_update(
    source: &[mesos::Resource],
    target: &Resources,
    requester: &Requester<'_>,
) -> Result<(), String> {
    if requester.framework.is_some() {
        return Err("Reservation updates are not yet implemented for the scheduler API.".into());
    }
    let source = validate_resources(source).map_err(|e| format!("Invalid source: {e}"))?;
    let same_stack = |resources: &Resources| -> Result<(), String> {
        let mut stacks = resources.iter().map(|r| &r.reservations);
        let Some(first) = stacks.next() else { return Err("Resource cannot be empty".into()) };
        if stacks.all(|stack| stack == first) {
            Ok(())
        } else {
            Err(format!("Mixed reservations are not supported {resources}"))
        }
    };
    same_stack(&source).map_err(|e| format!("Invalid source: {e}"))?;
    same_stack(target).map_err(|e| format!("Invalid resources: {e}"))?;
    if source.to_unreserved() != target.to_unreserved() {
        return Err(format!(
            "Source and target resources should refer to identical resource quantities: {} vs. {}",
            source.to_unreserved(),
            target.to_unreserved()
        ));
    }
    Ok(())
}

fn check_reservation_principal(
    resource: &mesos::Resource,
    principal: Option<&str>,
) -> Result<(), String> {
    let Some(principal) = principal else { return Ok(()) };
    match resource.reservations.last().and_then(|r| r.principal.as_deref()) {
        None => Err(format!(
            "A reserve operation was attempted by principal '{principal}', but there is a reserved resource in the request with no principal set"
        )),
        Some(given) if given != principal => Err(format!(
            "A reserve operation was attempted by authenticated principal '{principal}', which does not match a reserved resource in the request with principal '{given}'"
        )),
        Some(_) => Ok(()),
    }
}

/// A framework reserves only what it was offered, for the role it was offered to,
/// which is one of its roles; the operator only what is not offered.
fn check_reservation_role(
    resource: &mesos::Resource,
    requester: &Requester<'_>,
) -> Result<(), String> {
    let shown = resource::display(resource);
    let role = resource::reservation_role(resource).unwrap_or_default();
    let allocation = resource.allocation_info.as_ref().and_then(|a| a.role.as_deref());
    let Some((_, roles)) = requester.framework else {
        return match allocation {
            Some(_) => Err("A reserve operation was attempted with an allocated resource, but the operator API only allows reservations to be made to unallocated resources".into()),
            None => Ok(()),
        };
    };
    let Some(allocation) = allocation else {
        return Err(format!(
            "A reserve operation was attempted on unallocated resource {shown}, but frameworks can only perform reservations on allocated resources"
        ));
    };
    if allocation != role {
        return Err(format!(
            "A reserve operation was attempted for a resource with role '{role}', but the resource was allocated to role '{allocation}'"
        ));
    }
    if !roles.contains(role) {
        return Err(format!(
            "A reserve operation was attempted for a resource with role '{role}', but the framework can only reserve resources with roles '{}'",
            roles.iter().cloned().collect::<Vec<_>>().join(",")
        ));
    }
    Ok(())
}

/// Mesos: validation.cpp `operation::validate(Unreserve)`. Whose reservation may be
/// removed is the `unreserve_resources` ACL's business, not validation's.
fn validate_unreserve(protos: &[mesos::Resource]) -> Result<(), String> {
    let resources = validate_resources(protos)?;
    for resource in resources.iter() {
        let shown = resource::display(resource);
        if !resource::is_dynamically_reserved(resource) {
            return Err(format!("Resource {shown} is not dynamically reserved"));
        }
        if resource::is_persistent_volume(resource) {
            return Err(format!(
                "A dynamically reserved persistent volume {shown} cannot be unreserved directly. Please destroy the persistent volume first then unreserve the resource"
            ));
        }
    }
    Ok(())
}

/// Every resource is a read-write persistent volume. Mesos: `validatePersistentVolume`.
fn validate_persistent_volumes(volumes: &Resources) -> Result<(), String> {
    for volume in volumes.iter() {
        let Some(disk) = &volume.disk else {
            return Err(format!(
                "Not a persistent volume: Resource {} does not have DiskInfo",
                resource::display(volume)
            ));
        };
        if disk.persistence.is_none() {
            return Err("Not a persistent volume: 'persistence' is not set in DiskInfo".into());
        }
        match &disk.volume {
            None => {
                return Err(
                    "Not a persistent volume: Expecting 'volume' to be set for persistent volume"
                        .into(),
                );
            }
            Some(v) if v.mode() == volume::Mode::Ro => {
                return Err(
                    "Not a persistent volume: Read-only persistent volume not supported".into()
                );
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Mesos: validation.cpp `operation::validate(Create)`.
fn validate_create(
    protos: &[mesos::Resource],
    requester: &Requester<'_>,
    agent: &Agent,
) -> Result<(), String> {
    let volumes = validate_resources(protos)?;
    validate_persistent_volumes(&volumes)?;
    let mut all: Vec<mesos::Resource> = agent.total.checkpointed().to_protos();
    all.extend(protos.iter().cloned());
    // Mesos: `validateUniquePersistenceID` (per role on an agent). Counted as protos:
    // two identical new volumes would merge in a `Resources`.
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for volume in all.iter().filter(|r| resource::is_persistent_volume(r)) {
        let role = resource::reservation_role(volume).unwrap_or("*").to_string();
        let id = volume
            .disk
            .as_ref()
            .and_then(|d| d.persistence.as_ref())
            .map(|p| p.id.clone())
            .unwrap_or_default();
        if !seen.insert((role, id.clone())) {
            return Err(format!("Persistence ID '{id}' is not unique"));
        }
    }
    for volume in volumes.iter() {
        let shown = resource::display(volume);
        if let Some((info, _)) = requester.framework
            && volume.shared.is_some()
            && !info
                .capabilities
                .iter()
                .any(|c| c.r#type() == mesos::framework_info::capability::Type::SharedResources)
        {
            return Err(format!(
                "Create volume operation for '{shown}' has been attempted by a framework with no SHARED_RESOURCES capability"
            ));
        }
        let role = resource::reservation_role(volume).unwrap_or_default();
        if !has_capability(agent, slave_info::capability::Type::HierarchicalRole)
            && role.contains('/')
        {
            return Err(format!(
                "Volume {shown} with reservation for hierarchical role '{role}' cannot be created on an agent without HIERARCHICAL_ROLE capability"
            ));
        }
        if let Some(principal) = requester.principal {
            let given = volume
                .disk
                .as_ref()
                .and_then(|d| d.persistence.as_ref())
                .and_then(|p| p.principal.as_deref());
            match given {
                None => {
                    return Err(format!(
                        "Create volume operation attempted by principal '{principal}', but there is a volume in the operation with no principal set in 'disk.persistence'"
                    ));
                }
                Some(given) if given != principal => {
                    return Err(format!(
                        "Create volume operation attempted by authenticated principal '{principal}', which does not match a volume in the operation with principal '{given}' set in 'disk.persistence'"
                    ));
                }
                Some(_) => {}
            }
        }
    }
    if requester.framework.is_some() {
        allocated_to_single_role(&volumes).map_err(|e| format!("Invalid volume resources: {e}"))?;
    }
    Ok(())
}

/// Mesos: validation.cpp `operation::validate(Destroy)`: the volumes exist on the
/// agent and no task or executor uses them.
fn validate_destroy(protos: &[mesos::Resource], agent: &Agent) -> Result<(), String> {
    let mut volumes = validate_resources(protos)?;
    volumes.unallocate();
    validate_persistent_volumes(&volumes)?;
    let checkpointed = agent.total.checkpointed();
    if volumes.iter().any(|v| !checkpointed.contains_resource(v)) {
        return Err("Persistent volumes not found".into());
    }
    for used in agent.used.values() {
        let mut used = used.clone();
        used.unallocate();
        if volumes.iter().any(|v| used.contains_resource(v)) {
            return Err("Persistent volumes in use".into());
        }
    }
    Ok(())
}

/// The volume must be a plain (not shared, not provider) persistent volume; the agent
/// must be able to resize volumes. Mesos: `operation::validate(GrowVolume)` and
/// `operation::validate(ShrinkVolume)`.
fn validate_resizable(volume: &mesos::Resource, agent: &Agent) -> Result<(), String> {
    let volumes = validate_resources(std::slice::from_ref(volume))?;
    validate_persistent_volumes(&volumes)?;
    if volume.provider_id.is_some() {
        return Err("Resizing a volume from a resource provider is not supported".into());
    }
    if volume.shared.is_some() {
        return Err("Resizing a shared persistent volume is not supported".into());
    }
    if !has_capability(agent, slave_info::capability::Type::ResizeVolume) {
        return Err(format!(
            "Volume {} cannot be resized on an agent without RESIZE_VOLUME capability",
            resource::display(volume)
        ));
    }
    Ok(())
}

fn validate_grow(grow: &offer::operation::GrowVolume, agent: &Agent) -> Result<(), String> {
    let addition = validate_resources(std::slice::from_ref(&grow.addition))
        .map_err(|e| format!("Invalid resource in the 'GrowVolume.addition' field: {e}"))?;
    if grow.addition.scalar.as_ref().is_none_or(|s| s.value <= 0.0) || addition.is_empty() {
        return Err("The size of 'GrowVolume.addition' field must be greater than zero".into());
    }
    validate_resizable(&grow.volume, agent)?;
    let stripped = mesos_proto::resources::conversions::strip_persistence(&grow.volume);
    let combined = Resources::from_protos([stripped]).map_err(|e| e.to_string())? + addition;
    if combined.len() != 1 {
        return Err(
            "Incompatible resources in the 'GrowVolume.volume' and 'GrowVolume.addition' fields"
                .into(),
        );
    }
    Ok(())
}

fn validate_shrink(shrink: &offer::operation::ShrinkVolume, agent: &Agent) -> Result<(), String> {
    if shrink.subtract.value <= 0.0 {
        return Err("The size of 'ShrinkVolume.subtract' field must be greater than zero".into());
    }
    let size = shrink.volume.scalar.as_ref().map(|s| s.value).unwrap_or(0.0);
    if shrink.subtract.value >= size {
        return Err(
            "The size of 'ShrinkVolume.subtract' field must be smaller than the size of 'ShrinkVolume.volume'"
                .into(),
        );
    }
    validate_resizable(&shrink.volume, agent)
}
