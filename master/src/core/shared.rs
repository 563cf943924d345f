//! A map whose values the state snapshots share instead of copying.
//!
//! `/master/state` and the other read-only endpoints render a [`crate::snapshot`] copy of
//! the master's state, taken on the master's actor after every change. A deep copy of
//! 10,000 agents and 100,000 tasks cost the actor about half a second per change (issue
//! 18, API-1). Here each agent, framework and task sits behind an [`Arc`]: a snapshot
//! copies pointers, and the core, when it changes a value a snapshot still holds, copies
//! that one value first ([`Arc::make_mut`], copy on write). A value no snapshot holds
//! is changed in place, as before.
//!
//! The methods mirror `HashMap`'s, so the core's code reads as it did over a plain map.
//!
//! Its map hashes with [`IdHasher`], as the core's other maps keyed by ids do.

use std::borrow::Borrow;
use std::collections::hash_map;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

/// The hasher of the core's maps keyed by ids (agents, frameworks, tasks): foldhash
/// with a random key per map, instead of std's SipHash.
///
/// Why: a new leader re-admitting 40,000 agents with ten tasks each hashes about 35
/// ids per agent into these maps (the framework's tasks, the agent's tasks and used
/// resources by framework, the frameworks, the agents), and SipHash-1-3 cost a quarter
/// of the core's re-admission (26k of 109k instructions per agent in `reregister`'s
/// count, 8-40 byte ids; foldhash about a fifth of that, see docs/benchmarks.md,
/// FAIL-1).
///
/// Why it is safe with ids others choose (a framework names its tasks, agents report
/// ids after a failover): the hash is still keyed. Each map draws its own seed from a
/// process-wide random seed (foldhash's `RandomState`, the default hasher of
/// hashbrown), so colliding ids cannot be computed offline, and nothing the master
/// returns exposes hash values. What foldhash does not claim is SipHash's proof as a
/// pseudo-random function: someone who could watch many maps' iteration orders might in
/// principle learn about a seed. The `quality` variant is used (an extra folded
/// multiply at the end: full avalanche) for the ids' sake. Keys from the network that
/// are not ids (pids, hostnames, roles) keep std's SipHash.
pub type IdHasher = foldhash::quality::RandomState;

/// A `HashMap` keyed by ids, with [`IdHasher`].
pub type IdMap<K, V> = HashMap<K, V, IdHasher>;

/// A `HashSet` of ids, with [`IdHasher`].
pub type IdSet<K> = HashSet<K, IdHasher>;

/// A `HashMap<K, V>` whose values are shared with snapshots (copied on write).
#[derive(Debug, Clone)]
pub struct SharedMap<K, V> {
    map: IdMap<K, Arc<V>>,
}

impl<K, V> Default for SharedMap<K, V> {
    fn default() -> Self {
        SharedMap { map: IdMap::default() }
    }
}

impl<K: Eq + Hash, V: Clone> SharedMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        SharedMap { map: IdMap::default() }
    }

    /// Makes room for `additional` more entries (a new leader sizes its agents for the
    /// registry's, instead of growing and rehashing the map as they come back).
    pub fn reserve(&mut self, additional: usize) {
        self.map.reserve(additional);
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True without entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key).map(|v| &**v)
    }

    /// The value of `key` to change: copied first if a snapshot shares it.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_mut(key).map(Arc::make_mut)
    }

    /// True if `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains_key(key)
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.map.insert(key, Arc::new(value)).map(Arc::unwrap_or_clone)
    }

    /// Removes the value of `key` (copied out if a snapshot shares it).
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove(key).map(Arc::unwrap_or_clone)
    }

    /// The keys.
    pub fn keys(&self) -> hash_map::Keys<'_, K, Arc<V>> {
        self.map.keys()
    }

    /// The values.
    pub fn values(&self) -> impl Iterator<Item = &V> + Clone {
        self.map.values().map(|v| &**v)
    }

    /// The values to change: every one a snapshot shares is copied first, so prefer
    /// [`SharedMap::values_mut_where`] when only a few change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.map.values_mut().map(Arc::make_mut)
    }

    /// The values for which `wanted` holds, to change (only those are copied).
    pub fn values_mut_where(
        &mut self,
        mut wanted: impl FnMut(&V) -> bool,
    ) -> impl Iterator<Item = &mut V> {
        self.map.values_mut().filter(move |v| wanted(v)).map(Arc::make_mut)
    }

    /// The entries.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + Clone {
        self.map.iter().map(|(k, v)| (k, &**v))
    }

    /// The entries to change (every shared value is copied first).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.map.iter_mut().map(|(k, v)| (k, Arc::make_mut(v)))
    }

    /// Keeps the entries for which `keep` holds (nothing is copied).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.map.retain(|k, v| keep(k, v));
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// The shared values themselves, for a snapshot to keep (a pointer copy each).
    pub fn shared_values(&self) -> impl Iterator<Item = &Arc<V>> {
        self.map.values()
    }
}

impl<K, Q, V> std::ops::Index<&Q> for SharedMap<K, V>
where
    K: Eq + Hash + Borrow<Q>,
    Q: Eq + Hash + ?Sized,
    V: Clone,
{
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        // Like `HashMap`'s `Index`: a missing key is the caller's broken invariant.
        &self.map[key]
    }
}

impl<K: Eq + Hash, V: Clone> FromIterator<(K, V)> for SharedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        SharedMap { map: iter.into_iter().map(|(k, v)| (k, Arc::new(v))).collect() }
    }
}

impl<K: Eq + Hash, V: Clone> Extend<(K, V)> for SharedMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        self.map.extend(iter.into_iter().map(|(k, v)| (k, Arc::new(v))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value a snapshot holds is copied before it changes, so the snapshot keeps what
    /// it saw; a value no snapshot holds changes in place.
    #[test]
    fn a_shared_value_is_copied_on_write() {
        let mut map: SharedMap<u32, String> = SharedMap::new();
        map.insert(1, "one".into());
        map.insert(2, "two".into());
        let snapshot: Vec<Arc<String>> = map.shared_values().cloned().collect();
        let before = Arc::as_ptr(&snapshot[0]);
        map.get_mut(&1).expect("present").push('!');
        assert_eq!(map.get(&1).map(String::as_str), Some("one!"));
        let mut seen: Vec<&str> = snapshot.iter().map(|s| s.as_str()).collect();
        seen.sort();
        assert_eq!(seen, ["one", "two"]);
        assert_eq!(Arc::as_ptr(&snapshot[0]), before);
        drop(snapshot);
        let in_place = map.get(&2).map(|s| s as *const String);
        map.get_mut(&2).expect("present").push('?');
        assert_eq!(map.get(&2).map(|s| s as *const String), in_place);
        assert_eq!(map.remove(&2).as_deref(), Some("two?"));
        assert_eq!(map.len(), 1);
    }
}
