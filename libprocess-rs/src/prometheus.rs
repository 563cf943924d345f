//! The node's metrics in the Prometheus text exposition format (version 0.0.4), served
//! at `/metrics` beside Mesos's JSON `/metrics/snapshot`.
//!
//! Mesos has no Prometheus endpoint (operators run an exporter that scrapes
//! `/metrics/snapshot`); this renders the same figures directly. Names are Mesos's,
//! sanitised: `mesos_` in front, then every character outside `[A-Za-z0-9_]` becomes
//! `_` (`master/tasks_running` -> `mesos_master_tasks_running`,
//! `allocator/mesos/resources/cpus/total` -> `mesos_allocator_mesos_resources_cpus_total`).
//! Each metric gets `# HELP` (its Mesos name) and `# TYPE` (`counter` or `gauge`, as
//! Mesos declares it: [`Kind`]). Counters keep their Mesos name (no `_total` suffix is
//! added), which the 0.0.4 format allows. Two Mesos names that sanitise to the same
//! name (none do today) would yield one family: the first by Mesos name wins.

use std::collections::HashSet;
use std::fmt::Write;

use crate::metrics::{Kind, Metrics};

/// The content type of the rendering.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The Prometheus name of Mesos metric `name`.
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 6);
    out.push_str("mesos_");
    out.extend(name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }));
    out
}

/// Every metric of `metrics` in the text exposition format, sorted by Mesos name.
pub fn render(metrics: &Metrics) -> String {
    let mut text = String::new();
    let mut seen = HashSet::new();
    for (name, (value, kind)) in metrics.snapshot_kinds() {
        let family = sanitize(&name);
        if !seen.insert(family.clone()) {
            continue;
        }
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        // HELP text escapes `\` and newlines; Mesos names have neither, but stay safe.
        let help = name.replace('\\', "\\\\").replace('\n', "\\n");
        // Writing to a String cannot fail.
        let _ = writeln!(text, "# HELP {family} Mesos metric {help}");
        let _ = writeln!(text, "# TYPE {family} {kind}");
        let _ = writeln!(text, "{family} {}", number(value));
    }
    text
}

/// A value as Prometheus writes it (`NaN`, `+Inf`, `-Inf` for the special ones).
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf".to_string() } else { "-Inf".to_string() }
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are sanitised, each metric has HELP and TYPE, and counters and gauges are
    /// told apart.
    #[test]
    fn renders_help_type_and_sanitised_names() {
        let metrics = Metrics::default();
        metrics.counter("master/messages_register_slave").add(2);
        metrics.gauge("master/cpus_percent").set(0.25);
        metrics.computed_counter("master/tasks_finished", || 3.0);
        metrics.computed_gauge("allocator/mesos/resources/cpus/total", || 4.0);
        metrics.computed_gauge("weird/na.me-1", || f64::NAN);
        let text = render(&metrics);
        assert!(text.contains(
            "# HELP mesos_master_tasks_finished Mesos metric master/tasks_finished\n\
             # TYPE mesos_master_tasks_finished counter\nmesos_master_tasks_finished 3\n"
        ));
        assert!(text.contains("# TYPE mesos_master_messages_register_slave counter\n"));
        assert!(
            text.contains(
                "# TYPE mesos_master_cpus_percent gauge\nmesos_master_cpus_percent 0.25\n"
            )
        );
        assert!(text.contains("mesos_allocator_mesos_resources_cpus_total 4\n"));
        assert!(text.contains("mesos_weird_na_me_1 NaN\n"));
        assert_eq!(sanitize("slave/tasks_running"), "mesos_slave_tasks_running");
    }
}
