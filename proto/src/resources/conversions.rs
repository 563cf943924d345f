//! What an offer operation does to resources, and the agent's checkpointed resources.
//!
//! A RESERVE, UNRESERVE, CREATE, DESTROY, GROW_VOLUME or SHRINK_VOLUME is *speculative*:
//! the master applies it to its view at once, as one or more [`Conversion`]s (these
//! resources are consumed, those appear), and tells the agent. Dynamic reservations
//! and persistent volumes are the agent's *checkpointed resources*: the agent keeps
//! them on disk and reports them when it re-registers, and a master rebuilds the
//! agent's total from its static resources (`--resources`) plus those.
//!
//! Mesos: src/common/resources_utils.cpp `getResourceConversions`,
//! `applyCheckpointedResources`, `needCheckpointing`; src/common/resources.cpp
//! `Resources::apply`.

use crate::mesos::{Resource, offer};

use super::{Resources, resource};

/// One step of an operation: `consumed` leaves, `converted` takes its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversion {
    /// What the operation takes.
    pub consumed: Resources,
    /// What it gives back instead.
    pub converted: Resources,
    /// DESTROY of a shared volume: the volume must be gone entirely after the step
    /// (no other copy left in use).
    pub must_remove: Option<Resource>,
}

/// True for resources the agent checkpoints: dynamic reservations and persistent
/// volumes. Mesos: resources_utils.cpp `needCheckpointing`.
pub fn needs_checkpointing(resource: &Resource) -> bool {
    resource::is_dynamically_reserved(resource) || resource::is_persistent_volume(resource)
}

/// The resource a persistent volume was made from: no persistence, no volume, not
/// shared (and no disk info at all on the root disk).
pub fn strip_persistence(resource: &Resource) -> Resource {
    let mut stripped = resource.clone();
    match stripped.disk.as_mut() {
        Some(disk) if disk.source.is_some() => {
            disk.persistence = None;
            disk.volume = None;
        }
        _ => stripped.disk = None,
    }
    stripped.shared = None;
    stripped
}

fn parse(protos: &[Resource], what: &str) -> Result<Resources, String> {
    Resources::from_protos(protos.iter().cloned()).map_err(|e| format!("Invalid {what}: {e}"))
}

/// The conversions of a speculative operation; other operations are an error.
/// Mesos: resources_utils.cpp `getResourceConversions`.
pub fn conversions(operation: &offer::Operation) -> Result<Vec<Conversion>, String> {
    use offer::operation::Type;
    let single = |consumed, converted| Conversion { consumed, converted, must_remove: None };
    match operation.r#type() {
        Type::Reserve => {
            let reserve = operation.reserve.as_ref().ok_or("RESERVE without 'reserve'")?;
            let reserved = parse(&reserve.resources, "resources")?;
            let consumed = if reserve.source.is_empty() {
                reserved.pop_reservation().map_err(|e| e.to_string())?
            } else {
                parse(&reserve.source, "source")?
            };
            Ok(vec![single(consumed, reserved)])
        }
        Type::Unreserve => {
            let unreserve = operation.unreserve.as_ref().ok_or("UNRESERVE without 'unreserve'")?;
            let mut result = Vec::new();
            for reserved in &unreserve.resources {
                let reserved = parse(std::slice::from_ref(reserved), "resources")?;
                let converted = reserved.pop_reservation().map_err(|e| e.to_string())?;
                result.push(single(reserved, converted));
            }
            Ok(result)
        }
        Type::Create => {
            let create = operation.create.as_ref().ok_or("CREATE without 'create'")?;
            let mut result = Vec::new();
            for volume in &create.volumes {
                let converted = parse(std::slice::from_ref(volume), "volumes")?;
                let consumed = parse(&[strip_persistence(volume)], "volumes")?;
                result.push(single(consumed, converted));
            }
            Ok(result)
        }
        Type::Destroy => {
            let destroy = operation.destroy.as_ref().ok_or("DESTROY without 'destroy'")?;
            let mut result = Vec::new();
            for volume in &destroy.volumes {
                let consumed = parse(std::slice::from_ref(volume), "volumes")?;
                let converted = parse(&[strip_persistence(volume)], "volumes")?;
                let must_remove = volume.shared.is_some().then(|| volume.clone());
                result.push(Conversion { consumed, converted, must_remove });
            }
            Ok(result)
        }
        Type::GrowVolume => {
            let grow = operation.grow_volume.as_ref().ok_or("GROW_VOLUME without 'grow_volume'")?;
            let addition = grow.addition.scalar.as_ref().map(|s| s.value).unwrap_or(0.0);
            let mut grown = grow.volume.clone();
            let scalar = grown.scalar.get_or_insert_with(Default::default);
            scalar.value += addition;
            let mut consumed = parse(std::slice::from_ref(&grow.volume), "volume")?;
            consumed += parse(std::slice::from_ref(&grow.addition), "addition")?;
            Ok(vec![single(consumed, parse(&[grown], "volume")?)])
        }
        Type::ShrinkVolume => {
            let shrink =
                operation.shrink_volume.as_ref().ok_or("SHRINK_VOLUME without 'shrink_volume'")?;
            let subtract = shrink.subtract.value;
            let mut freed = strip_persistence(&shrink.volume);
            freed.scalar = Some(shrink.subtract);
            let mut shrunk = shrink.volume.clone();
            let scalar = shrunk.scalar.get_or_insert_with(Default::default);
            scalar.value -= subtract;
            let consumed = parse(std::slice::from_ref(&shrink.volume), "volume")?;
            let converted = parse(&[shrunk, freed], "volume")?;
            Ok(vec![single(consumed, converted)])
        }
        Type::Launch | Type::LaunchGroup | Type::CreateDisk | Type::DestroyDisk => {
            Err("Operation not supported".into())
        }
        Type::Unknown => Err("Unknown operation".into()),
    }
}

impl Resources {
    /// These resources with `conversions` applied in order; an error if some
    /// step consumes what is not there. Mesos: resources.cpp `Resources::apply`.
    pub fn apply(&self, conversions: &[Conversion]) -> Result<Resources, String> {
        let mut result = self.clone();
        for conversion in conversions {
            if !result.contains(&conversion.consumed) {
                return Err(format!("{result} does not contain {}", conversion.consumed));
            }
            result -= &conversion.consumed;
            if let Some(volume) = &conversion.must_remove
                && result.contains_resource(volume)
            {
                return Err(format!(
                    "Persistent volume {} cannot be removed due to additional shared copies",
                    resource::display(volume)
                ));
            }
            result += &conversion.converted;
        }
        Ok(result)
    }

    /// The resources the agent must checkpoint (see [`needs_checkpointing`]).
    pub fn checkpointed(&self) -> Resources {
        self.filter(needs_checkpointing)
    }

    /// An agent's total: its static resources (`self`, from `--resources`) with the
    /// checkpointed ones (reservations, volumes) applied: each checkpointed resource
    /// replaces the static resource it was made from, which must be there.
    /// Mesos: resources_utils.cpp `applyCheckpointedResources`.
    pub fn with_checkpointed(&self, checkpointed: &Resources) -> Result<Resources, String> {
        let mut total = self.clone();
        for resource in checkpointed.iter() {
            if !needs_checkpointing(resource) {
                return Err(format!(
                    "Unexpected checkpointed resources {}",
                    resource::display(resource)
                ));
            }
            let mut stripped = resource.clone();
            if resource::is_dynamically_reserved(resource) {
                // Only the first (static) level can come from the agent's flags.
                stripped.reservations.truncate(1);
                if stripped.reservations.first().is_some_and(|r| {
                    r.r#type() != crate::mesos::resource::reservation_info::Type::Static
                }) {
                    stripped.reservations.clear();
                }
            }
            if resource::is_persistent_volume(resource) {
                stripped = strip_persistence(&stripped);
            }
            stripped.shared = None;
            let stripped = Resources::from_protos([stripped]).map_err(|e| e.to_string())?;
            if !total.contains(&stripped) {
                return Err(format!(
                    "Incompatible agent resources: {total} does not contain {stripped}"
                ));
            }
            total -= &stripped;
            total += Resources::from_protos([resource.clone()]).map_err(|e| e.to_string())?;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::resource::{DiskInfo, disk_info};
    use crate::mesos::{Volume, volume};

    fn reserve(resources: &Resources) -> offer::Operation {
        offer::Operation {
            r#type: Some(offer::operation::Type::Reserve as i32),
            reserve: Some(offer::operation::Reserve {
                resources: resources.to_protos(),
                source: Vec::new(),
            }),
            ..Default::default()
        }
    }

    fn volume_of(disk: &Resources, id: &str) -> Resource {
        let mut volume = disk.to_protos().remove(0);
        volume.disk = Some(Box::new(DiskInfo {
            persistence: Some(disk_info::Persistence { id: id.into(), principal: None }),
            volume: Some(Volume {
                container_path: "data".into(),
                mode: volume::Mode::Rw as i32,
                ..Default::default()
            }),
            ..Default::default()
        }));
        volume
    }

    /// RESERVE then CREATE then DESTROY then UNRESERVE brings the resources back to
    /// where they started, and the checkpointed set at each step is what the agent
    /// must keep; the total rebuilt from static + checkpointed matches.
    #[test]
    fn reserve_create_destroy_unreserve_round_trip() {
        let total = Resources::parse("cpus:2;mem:512;disk:1024").unwrap();
        let static_total = total.clone();
        let reservation = super::resource::dynamic_reservation("web", Some("ops"), None);
        let reserved =
            Resources::parse("cpus:1;disk:512").unwrap().push_reservation(&reservation).unwrap();
        let step1 = total.apply(&conversions(&reserve(&reserved)).unwrap()).unwrap();
        assert_eq!(step1.checkpointed(), reserved);
        assert_eq!(static_total.with_checkpointed(&step1.checkpointed()).unwrap(), step1);

        let disk = reserved.named("disk");
        let volume = volume_of(&disk, "v1");
        let create = offer::Operation {
            r#type: Some(offer::operation::Type::Create as i32),
            create: Some(offer::operation::Create { volumes: vec![volume.clone()] }),
            ..Default::default()
        };
        let step2 = step1.apply(&conversions(&create).unwrap()).unwrap();
        assert!(step2.persistent_volumes().contains_resource(&volume));
        assert_eq!(static_total.with_checkpointed(&step2.checkpointed()).unwrap(), step2);
        assert!(step2.apply(&conversions(&create).unwrap()).is_err(), "the disk is used up");

        let destroy = offer::Operation {
            r#type: Some(offer::operation::Type::Destroy as i32),
            destroy: Some(offer::operation::Destroy { volumes: vec![volume] }),
            ..Default::default()
        };
        let step3 = step2.apply(&conversions(&destroy).unwrap()).unwrap();
        assert_eq!(step3, step1);
        let unreserve = offer::Operation {
            r#type: Some(offer::operation::Type::Unreserve as i32),
            unreserve: Some(offer::operation::Unreserve { resources: reserved.to_protos() }),
            ..Default::default()
        };
        assert_eq!(step3.apply(&conversions(&unreserve).unwrap()).unwrap(), total);
    }

    /// Checkpointed resources the static resources cannot account for are refused.
    #[test]
    fn incompatible_checkpointed_resources_are_refused() {
        let static_total = Resources::parse("cpus:1").unwrap();
        let reservation = super::resource::dynamic_reservation("web", None, None);
        let reserved = Resources::parse("cpus:2").unwrap().push_reservation(&reservation).unwrap();
        assert!(static_total.with_checkpointed(&reserved).is_err());
    }
}
