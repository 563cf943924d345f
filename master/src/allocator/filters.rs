//! Decline filters and the small utilities of the allocation loop.
//!
//! When a framework declines an offer with `Filters.refuse_seconds`, it asks
//! not to be offered *those resources or fewer* on *that agent* in *that
//! role* for a while (Mesos: `hierarchical.cpp RefusedOfferFilter`). A
//! filter covers an offer when the refused resources contain it, so a
//! larger offer (more became free) gets through.

use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::Duration;

/// Mesos's default `Filters.refuse_seconds`.
pub const DEFAULT_REFUSE: Duration = Duration::from_secs(5);

/// Longest filter Mesos honours; longer requests are cut to this.
pub const MAX_REFUSE: Duration = Duration::from_secs(365 * 24 * 3600);

/// Filters kept per (agent, framework, role). A framework that keeps
/// declining the same agent piles up filters; at the bound the one that
/// expires first is dropped, which at worst lets one offer through early.
pub const MAX_FILTERS_PER_KEY: usize = 8;

/// One decline filter.
#[derive(Debug, Clone)]
pub struct OfferFilter<R> {
    /// The declined resources; offers contained in them are filtered. Shared
    /// between the filters of one agent that refused equal resources (frameworks
    /// declining an agent's free resources in turn all refuse the same bundle),
    /// so an allocation round checks the bundle once per agent, not once per
    /// framework (see `allocate.rs`).
    pub refused: Arc<R>,
    /// When the filter stops applying, on the allocator's clock.
    pub expires_at: Duration,
    /// The first allocation round after the decline: the filter applies to
    /// it even if it has expired by then. This is MESOS-4302's guarantee
    /// (a filter never expires before the next allocation has seen it),
    /// which Mesos gets from the order of its timers.
    pub applies_through_round: u64,
}

impl<R> OfferFilter<R> {
    /// True if the filter is in force in round `round` at time `now`.
    pub fn applies(&self, now: Duration, round: u64) -> bool {
        now < self.expires_at || round <= self.applies_through_round
    }
}

/// How long a decline filter lasts, or `None` for no filter.
///
/// As Mesos (`HierarchicalAllocatorProcess::recoverResources`): negative or
/// non-finite values mean the default 5 s, values past 365 days are cut to
/// 365 days, zero means no filter, and any filter lasts at least one
/// allocation interval so it cannot expire before the next batch
/// allocation has seen it (MESOS-4302).
pub fn refuse_timeout(refuse_seconds: f64, allocation_interval: Duration) -> Option<Duration> {
    let timeout = if !refuse_seconds.is_finite() {
        if refuse_seconds == f64::INFINITY { MAX_REFUSE } else { DEFAULT_REFUSE }
    } else if refuse_seconds < 0.0 {
        DEFAULT_REFUSE
    } else if refuse_seconds > MAX_REFUSE.as_secs_f64() {
        MAX_REFUSE
    } else {
        Duration::from_secs_f64(refuse_seconds)
    };
    if timeout.is_zero() {
        return None;
    }
    Some(timeout.max(allocation_interval))
}

/// A fast hasher for the allocator's internal dense indices (the FxHash
/// mixing step of rustc). Keys are indices the allocator assigns itself,
/// never attacker-chosen, so a non-keyed hash is safe here.
#[derive(Default, Clone, Copy)]
pub struct IndexHasher {
    hash: u64,
}

impl IndexHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn mix(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for IndexHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Hash map keyed by internal indices.
pub type IndexMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<IndexHasher>>;

/// Hash set of internal indices.
pub type IndexSet<K> = std::collections::HashSet<K, BuildHasherDefault<IndexHasher>>;

/// A seedable pseudo-random source (SplitMix64) for the per-round agent
/// shuffle, so that a run replays exactly from its seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A source starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next pseudo-random 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Shuffles `items` uniformly (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Refuse timeouts follow Mesos: default for negative, capped at 365
    /// days, none for zero, at least one allocation interval.
    #[test]
    fn refuse_timeout_follows_mesos() {
        let interval = Duration::from_secs(1);
        assert_eq!(refuse_timeout(0.0, interval), None);
        assert_eq!(refuse_timeout(-3.0, interval), Some(DEFAULT_REFUSE));
        assert_eq!(refuse_timeout(f64::NAN, interval), Some(DEFAULT_REFUSE));
        assert_eq!(refuse_timeout(1e12, interval), Some(MAX_REFUSE));
        assert_eq!(refuse_timeout(f64::from(i32::MAX), interval), Some(MAX_REFUSE));
        assert_eq!(refuse_timeout(0.2, interval), Some(interval));
        assert_eq!(refuse_timeout(10.0, interval), Some(Duration::from_secs(10)));
    }

    /// The shuffle is a permutation and replays from its seed.
    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut a: Vec<u32> = (0..100).collect();
        let mut b = a.clone();
        SplitMix64::new(7).shuffle(&mut a);
        SplitMix64::new(7).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..100).collect::<Vec<_>>());
        a.sort_unstable();
        assert_eq!(a, (0..100).collect::<Vec<_>>());
    }
}
