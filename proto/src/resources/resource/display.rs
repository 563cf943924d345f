//! Printing one `Resource`: the `--resources` syntax where it can say everything, Mesos's
//! log form otherwise (Mesos: resources.cpp `operator<<(ostream&, const Resource&)`).

use std::fmt::{self, Write as _};

use crate::mesos::resource::DiskInfo;
use crate::mesos::resource::disk_info::source::Type as SourceType;
use crate::mesos::resource::reservation_info::Type as ReservationType;
use crate::mesos::value::Type;
use crate::mesos::{Labels, Resource};

use super::super::values::{format_ranges, format_scalar, format_set};
use super::{ranges_of, reservation_role, scalar_of, set_of};

/// Prints a resource. Unreserved and simply statically reserved resources
/// print in the `--resources` syntax (`cpus:2`, `cpus(role):2`,
/// `ports:[1-2]`), which [`Resources::parse`](super::Resources::parse) reads
/// back. Anything the flag cannot say is printed the way Mesos logs it:
/// `cpus(allocated: r)(reservations: [(DYNAMIC,r,principal)]){REV}:2`,
/// `disk[MOUNT:/mnt,id:/path]<SHARED>:64`.
pub fn display(resource: &Resource) -> impl fmt::Display + '_ {
    DisplayResource(resource)
}

struct DisplayResource<'a>(&'a Resource);

impl fmt::Display for DisplayResource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        f.write_str(&r.name)?;
        let simple = r.allocation_info.is_none()
            && r.disk.is_none()
            && r.revocable.is_none()
            && r.shared.is_none()
            && match r.reservations.as_slice() {
                [] => true,
                [only] => {
                    only.r#type() == ReservationType::Static
                        && only.principal.is_none()
                        && only.labels.is_none()
                }
                _ => false,
            };
        if simple {
            if let Some(role) = reservation_role(r) {
                write!(f, "({role})")?;
            }
        } else {
            write_metadata(f, r)?;
        }
        f.write_char(':')?;
        match Type::try_from(r.r#type) {
            Ok(Type::Scalar) => f.write_str(&format_scalar(scalar_of(r))),
            Ok(Type::Ranges) => f.write_str(&format_ranges(ranges_of(r))),
            Ok(Type::Set) => f.write_str(&format_set(set_of(r))),
            _ => f.write_str("?"),
        }
    }
}

fn write_labels(f: &mut fmt::Formatter<'_>, labels: &Labels) -> fmt::Result {
    let items: Vec<String> = labels
        .labels
        .iter()
        .map(|l| match &l.value {
            Some(v) => format!("{}: {v}", l.key),
            None => l.key.clone(),
        })
        .collect();
    write!(f, "{{{}}}", items.join(", "))
}

/// Mesos's `operator<<(ostream, Resource)` annotations.
fn write_metadata(f: &mut fmt::Formatter<'_>, r: &Resource) -> fmt::Result {
    if let Some(allocation) = &r.allocation_info {
        write!(f, "(allocated: {})", allocation.role())?;
    }
    if !r.reservations.is_empty() {
        f.write_str("(reservations: [")?;
        for (i, reservation) in r.reservations.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            let kind = match reservation.r#type() {
                ReservationType::Static => "STATIC",
                ReservationType::Dynamic => "DYNAMIC",
                ReservationType::Unknown => "UNKNOWN",
            };
            write!(f, "({kind},{}", reservation.role())?;
            if let Some(principal) = &reservation.principal {
                write!(f, ",{principal}")?;
            }
            if let Some(labels) = &reservation.labels {
                f.write_char(',')?;
                write_labels(f, labels)?;
            }
            f.write_char(')')?;
        }
        f.write_str("])")?;
    }
    if let Some(disk) = &r.disk {
        f.write_char('[')?;
        write_disk(f, disk)?;
        f.write_char(']')?;
    }
    if r.revocable.is_some() {
        f.write_str("{REV}")?;
    }
    if r.shared.is_some() {
        f.write_str("<SHARED>")?;
    }
    Ok(())
}

fn write_disk(f: &mut fmt::Formatter<'_>, disk: &DiskInfo) -> fmt::Result {
    if let Some(source) = &disk.source {
        let csi = (source.id.is_some() || source.profile.is_some())
            .then(|| format!("({},{},{})", source.vendor(), source.id(), source.profile()));
        let (kind, root) = match SourceType::try_from(source.r#type) {
            Ok(SourceType::Mount) => ("MOUNT", source.mount.as_ref().and_then(|m| m.root.clone())),
            Ok(SourceType::Path) => ("PATH", source.path.as_ref().and_then(|p| p.root.clone())),
            Ok(SourceType::Block) => ("BLOCK", None),
            Ok(SourceType::Raw) => ("RAW", None),
            _ => ("UNKNOWN", None),
        };
        f.write_str(kind)?;
        match (csi, root) {
            (Some(csi), _) => f.write_str(&csi)?,
            (None, Some(root)) => write!(f, ":{root}")?,
            (None, None) => {}
        }
    }
    if let Some(persistence) = &disk.persistence {
        if disk.source.is_some() {
            f.write_char(',')?;
        }
        f.write_str(&persistence.id)?;
    }
    if let Some(volume) = &disk.volume {
        f.write_char(':')?;
        if let Some(host_path) = &volume.host_path {
            write!(f, "{host_path}:")?;
        }
        f.write_str(&volume.container_path)?;
        if volume.host_path.is_some() {
            match volume.mode() {
                crate::mesos::volume::Mode::Rw => f.write_str(":rw")?,
                crate::mesos::volume::Mode::Ro => f.write_str(":ro")?,
            }
        }
    }
    Ok(())
}
