//! Metrics: named counters and gauges, served flat at `/metrics/snapshot`.
//!
//! Mesos: 3rdparty/libprocess/include/process/metrics/. Names are Mesos's
//! (`master/tasks_running`, `allocator/event_queue_dispatches`); values are numbers.
//! Each metric is a counter or a gauge ([`Kind`]), as Mesos declares it; the
//! Prometheus rendering at `/metrics` ([`crate::prometheus`]) says which.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;

/// A monotonically increasing count.
#[derive(Clone, Default, Debug)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that can go up and down, set by its owner.
#[derive(Clone, Default, Debug)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

type GaugeFn = Arc<dyn Fn() -> f64 + Send + Sync>;

/// What a metric measures (Mesos: `process::metrics::Counter` or `Gauge`/`PullGauge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Counts events: only ever goes up (until the process restarts).
    Counter,
    /// A sample of some magnitude: goes up and down.
    Gauge,
}

/// A node's metric registry. Cloning shares it.
#[derive(Clone, Default)]
pub struct Metrics {
    counters: Arc<DashMap<String, Counter>>,
    gauges: Arc<DashMap<String, Gauge>>,
    computed: Arc<DashMap<String, (GaugeFn, Kind)>>,
}

impl Metrics {
    /// The counter called `name`, created at zero on first use.
    pub fn counter(&self, name: &str) -> Counter {
        self.counters.entry(name.to_string()).or_default().clone()
    }

    /// The gauge called `name`, created at zero on first use.
    pub fn gauge(&self, name: &str) -> Gauge {
        self.gauges.entry(name.to_string()).or_default().clone()
    }

    /// A gauge whose value is computed when a snapshot is taken.
    pub fn computed_gauge(&self, name: &str, f: impl Fn() -> f64 + Send + Sync + 'static) {
        self.computed.insert(name.to_string(), (Arc::new(f), Kind::Gauge));
    }

    /// A counter whose value is computed when a snapshot is taken (a count the owner
    /// keeps elsewhere and that only goes up, such as Mesos's `master/tasks_finished`).
    pub fn computed_counter(&self, name: &str, f: impl Fn() -> f64 + Send + Sync + 'static) {
        self.computed.insert(name.to_string(), (Arc::new(f), Kind::Counter));
    }

    /// Removes a metric of any kind.
    pub fn remove(&self, name: &str) {
        self.counters.remove(name);
        self.gauges.remove(name);
        self.computed.remove(name);
    }

    /// Every metric's current value, sorted by name.
    pub fn snapshot(&self) -> BTreeMap<String, f64> {
        self.snapshot_kinds().into_iter().map(|(name, (value, _))| (name, value)).collect()
    }

    /// Every metric's current value and kind, sorted by name. A computed metric
    /// replaces a plain one of the same name.
    pub fn snapshot_kinds(&self) -> BTreeMap<String, (f64, Kind)> {
        let mut all = BTreeMap::new();
        for entry in self.counters.iter() {
            all.insert(entry.key().clone(), (entry.value().get() as f64, Kind::Counter));
        }
        for entry in self.gauges.iter() {
            all.insert(entry.key().clone(), (entry.value().get(), Kind::Gauge));
        }
        // Copied out first: a computed metric may take time, and must not run while
        // holding a shard lock of the map.
        let computed: Vec<(String, (GaugeFn, Kind))> =
            self.computed.iter().map(|e| (e.key().clone(), e.value().clone())).collect();
        for (name, (f, kind)) in computed {
            all.insert(name, (f(), kind));
        }
        all
    }

    /// The snapshot as Mesos's flat JSON object.
    pub fn snapshot_json(&self) -> serde_json::Value {
        let map = self
            .snapshot()
            .into_iter()
            .map(|(name, value)| {
                let number = serde_json::Number::from_f64(value)
                    .unwrap_or_else(|| serde_json::Number::from(0));
                (name, serde_json::Value::Number(number))
            })
            .collect();
        serde_json::Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counters, gauges and computed gauges all appear in the flat snapshot.
    #[test]
    fn snapshot_is_flat_and_sorted() {
        let metrics = Metrics::default();
        metrics.counter("b/count").add(3);
        metrics.counter("b/count").inc();
        metrics.gauge("a/gauge").set(1.5);
        metrics.computed_gauge("c/computed", || 7.0);
        let json = metrics.snapshot_json();
        assert_eq!(json["b/count"], 4.0);
        assert_eq!(json["a/gauge"], 1.5);
        assert_eq!(json["c/computed"], 7.0);
        assert_eq!(metrics.snapshot().keys().next().map(String::as_str), Some("a/gauge"));
        metrics.remove("b/count");
        assert!(metrics.snapshot_json().get("b/count").is_none());
    }
}
