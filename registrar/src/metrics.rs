//! The registrar's metrics, under Mesos's names (Mesos: src/master/registrar.cpp
//! `RegistrarProcess::Metrics`, docs/monitoring.md "Registrar"):
//!
//! - `registrar/queued_operations`: operations submitted and not yet committed and
//!   applied (or refused).
//! - `registrar/registry_size_bytes`: the encoded size of the registry after the latest
//!   applied operation or read (Mesos: `Registry::ByteSize`).
//! - `registrar/state_store_ms`: how long the latest operation took from submit to
//!   applied, with `/count /min /max /p50 /p90 /p95 /p99 /p999 /p9999` over the
//!   operations of the last day (at most [`TIME_SERIES_CAPACITY`] of them) once there
//!   are two (Mesos: `Timer<Milliseconds>("registrar/state_store", Days(1))`).
//! - `registrar/state_fetch_ms`: how long the latest read of the whole registry took
//!   (the master reads it when it is elected; Mesos: the registrar's recovery fetch).
//!
//! [`MeasuredRegistrar`] wraps any [`Registrar`] and measures what passes through it on
//! the node's libprocess clock, so a test with a paused clock sees exact figures.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use libprocess::{Clock, Metrics, Time};
use parking_lot::Mutex;

use crate::{Completion, Leadership, Registrar, RegistryOperation, StateFuture, StatusFuture};

/// Most measurements a [`TimeSeries`] keeps; the oldest go first (Mesos:
/// `TIME_SERIES_CAPACITY`).
pub const TIME_SERIES_CAPACITY: usize = 1000;

/// How long a store measurement counts in the statistics (Mesos: `Days(1)`).
pub const STATE_STORE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// Measurements over time, bounded by a count and an age (Mesos: `TimeSeries`).
#[derive(Debug, Clone)]
pub struct TimeSeries {
    values: VecDeque<(Time, f64)>,
    capacity: usize,
    window: Duration,
}

/// Mesos's summary of a time series (`process::Statistics`): exists with two values
/// or more; percentiles interpolate linearly between the sorted values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statistics {
    /// Values counted.
    pub count: usize,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Percentiles 50, 90, 95, 99, 99.9 and 99.99, in that order.
    pub percentiles: [f64; 6],
}

/// The suffixes of [`Statistics::percentiles`], as Mesos names them.
pub const PERCENTILE_NAMES: [&str; 6] = ["p50", "p90", "p95", "p99", "p999", "p9999"];
const PERCENTILES: [f64; 6] = [0.5, 0.9, 0.95, 0.99, 0.999, 0.9999];

impl TimeSeries {
    /// An empty series keeping at most `capacity` values no older than `window`.
    pub fn new(capacity: usize, window: Duration) -> TimeSeries {
        TimeSeries { values: VecDeque::new(), capacity: capacity.max(1), window }
    }

    /// Adds `value` measured at `now`, dropping what is past the bounds.
    pub fn push(&mut self, now: Time, value: f64) {
        while self.values.len() >= self.capacity {
            self.values.pop_front();
        }
        while self.values.front().is_some_and(|(t, _)| now.saturating_since(*t) > self.window) {
            self.values.pop_front();
        }
        self.values.push_back((now, value));
    }

    /// How many values it holds.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The summary, or `None` with fewer than two values (Mesos: `Statistics::from`).
    pub fn statistics(&self) -> Option<Statistics> {
        if self.values.len() < 2 {
            return None;
        }
        let mut sorted: Vec<f64> = self.values.iter().map(|(_, v)| *v).collect();
        sorted.sort_by(f64::total_cmp);
        let percentile = |p: f64| {
            let position = p * (sorted.len() - 1) as f64;
            let index = position.floor() as usize;
            let delta = position - index as f64;
            match (sorted.get(index), sorted.get(index + 1)) {
                (Some(low), Some(high)) => low + (high - low) * delta,
                (Some(low), None) => *low,
                _ => 0.0,
            }
        };
        Some(Statistics {
            count: sorted.len(),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            percentiles: PERCENTILES.map(percentile),
        })
    }
}

/// What the metrics of one registrar hold between measurements.
struct Shared {
    metrics: Metrics,
    clock: Clock,
    queued: AtomicUsize,
    state_store: Mutex<TimeSeries>,
}

impl Shared {
    /// Records one measurement of the timer `name` (`registrar/state_store`): the last
    /// value under `<name>_ms`, the statistics of `series` (if kept) under
    /// `<name>_ms/<statistic>`.
    fn record(&self, name: &str, elapsed: Duration, series: Option<&Mutex<TimeSeries>>) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        self.metrics.gauge(&format!("{name}_ms")).set(ms);
        let Some(series) = series else { return };
        let statistics = {
            let mut series = series.lock();
            series.push(self.clock.now(), ms);
            series.statistics()
        };
        if let Some(statistics) = statistics {
            let set = |suffix: &str, value: f64| {
                self.metrics.gauge(&format!("{name}_ms/{suffix}")).set(value);
            };
            set("count", statistics.count as f64);
            set("min", statistics.min);
            set("max", statistics.max);
            for (suffix, value) in PERCENTILE_NAMES.iter().zip(statistics.percentiles) {
                set(suffix, value);
            }
        }
    }

    fn registry_size(&self, bytes: u64) {
        self.metrics.gauge("registrar/registry_size_bytes").set(bytes as f64);
    }
}

/// A [`Registrar`] that measures the one it wraps (see the module documentation).
pub struct MeasuredRegistrar {
    inner: Arc<dyn Registrar>,
    shared: Arc<Shared>,
}

impl MeasuredRegistrar {
    /// Wraps `inner`, registering the metrics in `metrics` and timing on `clock`.
    pub fn new(inner: Arc<dyn Registrar>, clock: Clock, metrics: Metrics) -> MeasuredRegistrar {
        let shared = Arc::new(Shared {
            metrics: metrics.clone(),
            clock,
            queued: AtomicUsize::new(0),
            state_store: Mutex::new(TimeSeries::new(TIME_SERIES_CAPACITY, STATE_STORE_WINDOW)),
        });
        let queued = shared.clone();
        metrics.computed_gauge("registrar/queued_operations", move || {
            queued.queued.load(Ordering::Relaxed) as f64
        });
        MeasuredRegistrar { inner, shared }
    }
}

/// Counts an operation as queued until dropped (so a completion dropped unfinished,
/// as when the master stops, still leaves the count).
struct QueuedOperation(Arc<Shared>);

impl Drop for QueuedOperation {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Registrar for MeasuredRegistrar {
    fn submit(&self, operation: RegistryOperation) -> Completion {
        self.shared.queued.fetch_add(1, Ordering::Relaxed);
        let queued = QueuedOperation(self.shared.clone());
        let started = self.shared.clock.now();
        let completion = self.inner.submit(operation);
        Box::pin(async move {
            let result = completion.await;
            let shared = &queued.0;
            if let Ok(applied) = &result {
                let elapsed = shared.clock.now().saturating_since(started);
                shared.record("registrar/state_store", elapsed, Some(&shared.state_store));
                shared.registry_size(applied.registry_size_bytes);
            }
            drop(queued);
            result
        })
    }

    fn leadership(&self) -> tokio::sync::watch::Receiver<Leadership> {
        self.inner.leadership()
    }

    fn state(&self) -> StateFuture {
        let shared = self.shared.clone();
        let started = shared.clock.now();
        let state = self.inner.state();
        Box::pin(async move {
            let result = state.await;
            if let Ok(state) = &result {
                let elapsed = shared.clock.now().saturating_since(started);
                shared.record("registrar/state_fetch", elapsed, None);
                shared.registry_size(state.registry_size_bytes());
            }
            result
        })
    }

    fn raft_status(&self) -> Option<StatusFuture> {
        self.inner.raft_status()
    }

    fn address_of(&self, raft_id: u64) -> Option<std::net::SocketAddr> {
        self.inner.address_of(raft_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InMemoryRegistrar;

    fn at(ms: u64) -> Time {
        Time::default() + Duration::from_millis(ms)
    }

    /// Percentiles interpolate as Mesos's `Statistics` do; one value has none.
    #[test]
    fn statistics_as_mesos_computes_them() {
        let mut series = TimeSeries::new(10, Duration::from_secs(60));
        series.push(at(0), 4.0);
        assert_eq!(series.statistics(), None);
        for (i, value) in [1.0, 3.0, 2.0].into_iter().enumerate() {
            series.push(at(i as u64 + 1), value);
        }
        let s = series.statistics().expect("four values");
        assert_eq!((s.count, s.min, s.max), (4, 1.0, 4.0));
        // Sorted 1, 2, 3, 4: p50 sits halfway between 2 and 3; p90 at 2.7 of 3.
        assert_eq!(s.percentiles[0], 2.5);
        assert!((s.percentiles[1] - 3.7).abs() < 1e-9);
        assert!(s.percentiles[5] <= 4.0 && s.percentiles[5] > 3.99);
    }

    /// The series keeps at most its capacity, and nothing older than its window.
    #[test]
    fn time_series_is_bounded() {
        let mut series = TimeSeries::new(3, Duration::from_secs(10));
        for i in 0..5 {
            series.push(at(i), i as f64);
        }
        assert_eq!(series.len(), 3);
        assert_eq!(series.statistics().map(|s| s.min), Some(2.0));
        series.push(at(60_000), 100.0);
        assert_eq!(series.len(), 1, "the old values aged out");
    }

    /// Submits are timed from submit to applied on the libprocess clock; the queue
    /// counts what is in flight; reads are timed and size the registry.
    #[test]
    fn measures_submits_and_reads() {
        let clock = Clock::new();
        clock.pause();
        let metrics = Metrics::default();
        let inner: Arc<dyn Registrar> = Arc::new(InMemoryRegistrar::default());
        let registrar = MeasuredRegistrar::new(inner, clock.clone(), metrics.clone());
        let operation = || RegistryOperation::InitializeCluster("c".into());
        let first = registrar.submit(operation());
        assert_eq!(metrics.snapshot()["registrar/queued_operations"], 1.0);
        clock.advance(Duration::from_millis(7));
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(first).expect("applied");
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot["registrar/queued_operations"], 0.0);
        assert_eq!(snapshot["registrar/state_store_ms"], 7.0);
        assert!(!snapshot.contains_key("registrar/state_store_ms/p50"), "one value: no stats");
        let second = registrar.submit(operation());
        clock.advance(Duration::from_millis(3));
        runtime.block_on(second).expect("applied");
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot["registrar/state_store_ms"], 3.0);
        assert_eq!(snapshot["registrar/state_store_ms/count"], 2.0);
        assert_eq!(snapshot["registrar/state_store_ms/min"], 3.0);
        assert_eq!(snapshot["registrar/state_store_ms/max"], 7.0);
        assert_eq!(snapshot["registrar/state_store_ms/p50"], 5.0);
        assert!(snapshot.contains_key("registrar/state_store_ms/p9999"));
        assert!(snapshot["registrar/registry_size_bytes"] >= 0.0);

        let read = registrar.state();
        runtime.block_on(read).expect("state");
        assert_eq!(metrics.snapshot()["registrar/state_fetch_ms"], 0.0);
    }
}
