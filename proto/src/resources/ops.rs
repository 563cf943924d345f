//! The standard traits on [`Resources`]: equality (Mesos: each contains the other),
//! `Display`/`FromStr` (the `--resources` syntax), conversions to and from protobuf
//! vectors, iteration, and the `+`/`-` operators with their `Sum`s.
//!
//! The operators are the arithmetic of the module docs' invariants: `+` merges entries,
//! `-` removes what would go below zero (Mesos: `Resources::operator+=`/`-=`).

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::str::FromStr;

use super::{Resources, resource};
use crate::mesos::Resource;
use crate::resources::ResourceError;

impl PartialEq for Resources {
    /// Same resources, in any order and however split (Mesos: each contains
    /// the other).
    fn eq(&self, other: &Resources) -> bool {
        self.contains(other) && other.contains(self)
    }
}

impl fmt::Display for Resources {
    /// `cpus:2; mem:1024; cpus(role):1; ports:[31000-32000]`, or `{}` when
    /// empty; [`Resources::parse`] reads this back for anything the
    /// `--resources` flag can express (see [`resource::display`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return f.write_str("{}");
        }
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", resource::display(&entry.resource))?;
            if let Some(copies) = entry.shared_count {
                write!(f, "<{copies}>")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Resources({self})")
    }
}

impl FromStr for Resources {
    type Err = ResourceError;

    /// [`Resources::parse`].
    fn from_str(text: &str) -> Result<Resources, ResourceError> {
        Resources::parse(text)
    }
}

impl TryFrom<Vec<Resource>> for Resources {
    type Error = ResourceError;

    /// [`Resources::from_protos`].
    fn try_from(protos: Vec<Resource>) -> Result<Resources, ResourceError> {
        Resources::from_protos(protos)
    }
}

impl From<Resources> for Vec<Resource> {
    fn from(resources: Resources) -> Vec<Resource> {
        resources.entries.into_iter().map(|e| e.resource).collect()
    }
}

impl<'a> IntoIterator for &'a Resources {
    type Item = &'a Resource;
    type IntoIter = Box<dyn Iterator<Item = &'a Resource> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl AddAssign<&Resources> for Resources {
    fn add_assign(&mut self, that: &Resources) {
        for entry in &that.entries {
            self.add_entry_ref(entry);
        }
    }
}

impl AddAssign<Resources> for Resources {
    fn add_assign(&mut self, that: Resources) {
        for entry in that.entries {
            self.add_entry(entry);
        }
    }
}

impl SubAssign<&Resources> for Resources {
    /// Takes `that` away; whatever is not held is ignored, and a resource
    /// that would go negative is removed (see [`Resources::checked_sub`]).
    fn sub_assign(&mut self, that: &Resources) {
        for entry in &that.entries {
            self.sub_entry(entry);
        }
    }
}

impl SubAssign<Resources> for Resources {
    fn sub_assign(&mut self, that: Resources) {
        *self -= &that;
    }
}

impl Add<&Resources> for &Resources {
    type Output = Resources;

    fn add(self, that: &Resources) -> Resources {
        let mut result = self.clone();
        result += that;
        result
    }
}

impl Add<&Resources> for Resources {
    type Output = Resources;

    fn add(mut self, that: &Resources) -> Resources {
        self += that;
        self
    }
}

impl Add<Resources> for Resources {
    type Output = Resources;

    fn add(mut self, that: Resources) -> Resources {
        self += that;
        self
    }
}

impl Sub<&Resources> for &Resources {
    type Output = Resources;

    fn sub(self, that: &Resources) -> Resources {
        let mut result = self.clone();
        result -= that;
        result
    }
}

impl Sub<&Resources> for Resources {
    type Output = Resources;

    fn sub(mut self, that: &Resources) -> Resources {
        self -= that;
        self
    }
}

impl Sub<Resources> for Resources {
    type Output = Resources;

    fn sub(mut self, that: Resources) -> Resources {
        self -= &that;
        self
    }
}

impl std::iter::Sum for Resources {
    fn sum<I: Iterator<Item = Resources>>(iter: I) -> Resources {
        iter.fold(Resources::new(), |total, r| total + r)
    }
}

impl<'a> std::iter::Sum<&'a Resources> for Resources {
    fn sum<I: Iterator<Item = &'a Resources>>(iter: I) -> Resources {
        iter.fold(Resources::new(), |total, r| total + r)
    }
}
