//! The master's `master/*` metrics (Mesos: src/master/metrics.cpp).

use libprocess::Context;

use crate::process::MasterProcess;

/// Registers the master's gauges; they are refreshed after each event.
pub fn install(ctx: &mut Context<'_, MasterProcess>) {
    let metrics = ctx.node().metrics();
    metrics.gauge("master/elected").set(1.0);
}
