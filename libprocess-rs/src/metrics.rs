//! Metrics: named counters and gauges, served flat at `/metrics/snapshot`.
//!
//! Mesos: 3rdparty/libprocess/include/process/metrics/. Names are Mesos's
//! (`master/tasks_running`, `allocator/event_queue_dispatches`); values are numbers.

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

/// A node's metric registry. Cloning shares it.
#[derive(Clone, Default)]
pub struct Metrics {
    counters: Arc<DashMap<String, Counter>>,
    gauges: Arc<DashMap<String, Gauge>>,
    computed: Arc<DashMap<String, GaugeFn>>,
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
        self.computed.insert(name.to_string(), Arc::new(f));
    }

    /// Removes a metric of any kind.
    pub fn remove(&self, name: &str) {
        self.counters.remove(name);
        self.gauges.remove(name);
        self.computed.remove(name);
    }

    /// Every metric's current value, sorted by name.
    pub fn snapshot(&self) -> BTreeMap<String, f64> {
        let mut all = BTreeMap::new();
        for entry in self.counters.iter() {
            all.insert(entry.key().clone(), entry.value().get() as f64);
        }
        for entry in self.gauges.iter() {
            all.insert(entry.key().clone(), entry.value().get());
        }
        let computed: Vec<(String, GaugeFn)> =
            self.computed.iter().map(|e| (e.key().clone(), e.value().clone())).collect();
        for (name, f) in computed {
            all.insert(name, f());
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
