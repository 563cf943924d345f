//! The allocator actor: the allocator's pure core on its own process, as in Mesos
//! (`HierarchicalAllocatorProcess`).
//!
//! The master tells it about agents, frameworks and resources coming back; it runs a
//! batch allocation every `--allocation_interval` and, after events that may free or
//! want resources, an event-triggered allocation over the agents they touched (coalesced:
//! one per burst of events). Decisions go back to the master, which makes the offers.
//!
//! The allocator is given the master's [`ProcessRef`] when it is constructed (the
//! master's id is reserved first, see [`crate::launch`]), so every allocation reaches the
//! master: there is no window in which decisions have nowhere to go. Mesos: the master
//! hands its `offer` callback to `Allocator::initialize`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use libprocess::{Context, Pid, Process, ProcessRef};
use mesos_proto::mesos;
use mesos_proto::resources::values::to_fixed;
use mesos_proto::resources::{ResourceQuantities, Resources, resource};

use crate::allocator::{
    AgentSpec, Allocator, AllocatorConfig, AllocatorResources, FrameworkCapabilities,
    FrameworkSpec, Used,
};
use crate::core::{AllocationDecision, AllocatorCall};
use crate::process::MasterProcess;

/// The full resource type plugs into the allocator core (Mesos's allocator works on
/// `Resources` throughout).
impl AllocatorResources for Resources {
    fn is_empty(&self) -> bool {
        Resources::is_empty(self)
    }

    fn contains(&self, other: &Self) -> bool {
        Resources::contains(self, other)
    }

    fn add(&mut self, other: &Self) {
        *self += other;
    }

    fn minus(&self, other: &Self) -> Self {
        self - other
    }

    fn subtract(&mut self, other: &Self) {
        *self -= other;
    }

    fn scalar_quantities(&self) -> ResourceQuantities {
        ResourceQuantities::from_scalar_resources(self)
    }

    fn contains_quantities(&self, quantities: &ResourceQuantities) -> bool {
        // `self.scalar_quantities().contains(quantities)`, summed in place: the
        // allocator asks this per agent and framework, and building the quantities
        // costs an allocation per name.
        quantities.iter_fixed().all(|(name, wanted)| {
            let held = self
                .iter()
                .filter(|r| r.name == name && r.r#type == mesos::value::Type::Scalar as i32)
                .filter_map(|r| r.scalar.as_ref())
                .map(|s| to_fixed(s.value))
                .filter(|&fixed| fixed > 0)
                .fold(0i64, i64::saturating_add);
            held >= wanted
        })
    }

    fn allocatable_to(&self, role: &str) -> Option<Self> {
        let all = self.iter().all(|r| resource::is_allocatable_to(r, role));
        if all { None } else { Some(Resources::allocatable_to(self, role)) }
    }

    fn strip_incapable(&self, capabilities: &FrameworkCapabilities) -> Option<Self> {
        let keep = |r: &mesos::Resource| {
            (capabilities.revocable_resources || r.revocable.is_none())
                && (capabilities.shared_resources || r.shared.is_none())
                && (capabilities.gpu_resources || r.name != "gpus")
        };
        if self.iter().all(keep) { None } else { Some(self.filter(keep)) }
    }

    fn split_quota(&self) -> (Self, Self) {
        let counts = |r: &mesos::Resource| {
            r.scalar.is_some() && r.reservations.is_empty() && r.revocable.is_none()
        };
        (self.filter(counts), self.filter(|r| !counts(r)))
    }

    fn reservation_quantities(&self) -> Vec<(String, ResourceQuantities)> {
        self.reservations()
            .into_iter()
            .map(|(role, reserved)| (role, ResourceQuantities::from_scalar_resources(&reserved)))
            .collect()
    }

    fn shrink(&self, caps: &BTreeMap<String, f64>, unlisted_unlimited: bool) -> Self {
        // What is left of each capped name as resources are walked.
        let mut left: BTreeMap<&str, f64> = caps.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let mut out = Resources::new();
        for resource in self.iter() {
            let Some(scalar) = &resource.scalar else {
                push(&mut out, resource.clone());
                continue;
            };
            let kept = match left.get_mut(resource.name.as_str()) {
                Some(cap) => {
                    let kept = scalar.value.min(*cap).max(0.0);
                    *cap -= kept;
                    kept
                }
                None if unlisted_unlimited => scalar.value,
                None => 0.0,
            };
            if kept > 0.0 {
                let mut cut = resource.clone();
                cut.scalar = Some(mesos::value::Scalar { value: kept });
                push(&mut out, cut);
            }
        }
        out
    }
}

/// Adds a resource taken from a valid bundle (or a smaller positive amount of
/// one), which `Resources::push` accepts; a refusal would only lose that piece
/// from an offer, so it is logged rather than fatal.
fn push(out: &mut Resources, resource: mesos::Resource) {
    if let Err(error) = out.push(resource) {
        tracing::warn!(%error, "resource dropped while shrinking to quota");
    }
}

libprocess::protocol! {
    /// The allocator takes no network messages: the master dispatches to it.
    pub enum AllocatorMessage {}
}

/// The allocator process.
pub struct AllocatorProcess {
    core: Allocator<Resources>,
    config: AllocatorConfig,
    interval: Duration,
    /// Where decisions go.
    master: ProcessRef<MasterProcess>,
    trigger_pending: bool,
    /// A framework was added: its first rounds go to the debug timeline
    /// ([`crate::TIMELINE`]), the event-triggered one and the next batch.
    rounds_traced: u8,
}

impl AllocatorProcess {
    /// An allocator with `config` that sends its decisions to `master`.
    pub fn new(config: AllocatorConfig, master: ProcessRef<MasterProcess>) -> AllocatorProcess {
        AllocatorProcess {
            interval: config.allocation_interval,
            core: Allocator::new(config.clone()),
            config,
            master,
            trigger_pending: false,
            rounds_traced: 0,
        }
    }

    /// Forgets everything (the master lost leadership; the next leader starts afresh).
    pub fn reset(&mut self) {
        self.core = Allocator::new(self.config.clone());
    }

    /// Sets role weights (`--weights`).
    pub fn update_weights(&mut self, weights: &[(String, f64)]) {
        if let Err(error) = self.core.on_update_weights(weights) {
            tracing::warn!(%error, "invalid weights");
        }
    }

    /// The core (tests).
    pub fn core(&self) -> &Allocator<Resources> {
        &self.core
    }

    /// One call from the master.
    pub fn on_call(&mut self, call: AllocatorCall, ctx: &mut Context<'_, Self>) {
        let now = ctx.now().since_epoch();
        if let AllocatorCall::AddFramework { framework_id, .. } = &call
            && tracing::enabled!(target: crate::TIMELINE, tracing::Level::DEBUG)
        {
            tracing::debug!(target: crate::TIMELINE, %framework_id, "allocator: framework added");
            self.rounds_traced = 2;
        }
        if apply_call(&mut self.core, call, now) {
            self.trigger(ctx);
        }
    }

    /// Schedules one event-triggered allocation after the events already queued.
    fn trigger(&mut self, ctx: &mut Context<'_, Self>) {
        if self.trigger_pending {
            return;
        }
        self.trigger_pending = true;
        ctx.defer(|allocator: &mut AllocatorProcess, ctx| {
            allocator.trigger_pending = false;
            allocator.allocate(ctx, false);
        });
    }

    /// Runs an allocation round: all agents (`full`) or those events touched.
    pub fn allocate(&mut self, ctx: &mut Context<'_, Self>, full: bool) {
        let now = ctx.now().since_epoch();
        // Wall-clock time for the debug timeline only, never for a decision.
        let started = (self.rounds_traced > 0).then(std::time::Instant::now);
        let allocations =
            if full { self.core.allocate(now) } else { self.core.allocate_candidates(now) };
        if let Some(started) = started {
            self.rounds_traced -= 1;
            tracing::debug!(
                target: crate::TIMELINE,
                full,
                allocations = allocations.len(),
                took_us = started.elapsed().as_micros() as u64,
                "allocator: round done"
            );
        }
        // Mesos: hierarchical.cpp `generateAllocations` runs `generateInverseOffers`
        // after each round, on the same timer.
        let inverse = self.core.generate_inverse_offers(now);
        if !allocations.is_empty() {
            let decisions: Vec<AllocationDecision> =
                allocations.into_iter().map(AllocationDecision::from).collect();
            let sent = self.master.tell(move |master, ctx| master.on_allocations(decisions, ctx));
            if sent.is_err() {
                // Only while the node shuts down: the allocation is moot then.
                tracing::debug!("master is gone: allocation dropped");
            }
        }
        if !inverse.is_empty() {
            let sent = self.master.tell(move |master, ctx| master.on_inverse_offers(inverse, ctx));
            if sent.is_err() {
                tracing::debug!("master is gone: inverse offers dropped");
            }
        }
    }

    fn schedule_batch(&self, ctx: &mut Context<'_, Self>) {
        ctx.delay(self.interval, |allocator: &mut AllocatorProcess, ctx| {
            allocator.allocate(ctx, true);
            allocator.schedule_batch(ctx);
        });
    }
}

/// Applies one call from the master to the allocator's core at `now` (time since the
/// epoch, for decline filters); true when it calls for an event-triggered allocation.
/// The actor's [`AllocatorProcess::on_call`] is this plus the trigger; the in-process
/// launch-cycle bench (`benches/launch_cycle.rs`) drives the core with it too.
pub fn apply_call(core: &mut Allocator<Resources>, call: AllocatorCall, now: Duration) -> bool {
    let (result, trigger) = match call {
        AllocatorCall::AddAgent { agent_id, hostname, total, used } => {
            let used = used
                .into_iter()
                .map(|(framework_id, role, resources)| Used { framework_id, role, resources })
                .collect();
            let spec = AgentSpec { hostname, ..AgentSpec::default() };
            (core.on_add_agent(agent_id, spec, total, used), true)
        }
        AllocatorCall::RemoveAgent { agent_id } => (core.on_remove_agent(&agent_id), false),
        AllocatorCall::ActivateAgent { agent_id } => (core.on_activate_agent(&agent_id), true),
        AllocatorCall::DeactivateAgent { agent_id } => (core.on_deactivate_agent(&agent_id), false),
        AllocatorCall::AddFramework { framework_id, info, suppressed_roles, active } => {
            (core.on_add_framework(framework_id, spec(&info, suppressed_roles), active), active)
        }
        AllocatorCall::UpdateFramework { framework_id, info, suppressed_roles } => {
            (core.on_update_framework(&framework_id, spec(&info, suppressed_roles)), true)
        }
        AllocatorCall::RemoveFramework { framework_id } => {
            (core.on_remove_framework(&framework_id), true)
        }
        AllocatorCall::ActivateFramework { framework_id } => {
            (core.on_activate_framework(&framework_id), true)
        }
        AllocatorCall::DeactivateFramework { framework_id } => {
            (core.on_deactivate_framework(&framework_id), false)
        }
        AllocatorCall::Recover { framework_id, agent_id, resources, refuse_seconds } => {
            let mut result = Ok(());
            for (role, by_role) in resources.allocations_unallocated() {
                let recovered = core.on_recover_resources(
                    &framework_id,
                    &agent_id,
                    &role,
                    &by_role,
                    refuse_seconds,
                    now,
                );
                result = result.and(recovered);
            }
            (result, true)
        }
        AllocatorCall::UpdateAllocation { framework_id, agent_id, role, consumed, converted } => (
            core.on_update_allocation(&framework_id, &agent_id, &role, &consumed, &converted),
            false,
        ),
        AllocatorCall::UpdateAvailable { agent_id, consumed, converted } => {
            (core.on_update_available(&agent_id, &consumed, &converted), true)
        }
        AllocatorCall::Suppress { framework_id, roles } => {
            (core.on_suppress_offers(&framework_id, &roles.into_iter().collect()), false)
        }
        AllocatorCall::Revive { framework_id, roles } => {
            (core.on_revive_offers(&framework_id, &roles.into_iter().collect()), true)
        }
        AllocatorCall::UpdateWeights { weights } => (core.on_update_weights(&weights), true),
        AllocatorCall::UpdateQuota { role, quota } => (core.on_update_quota(&role, quota), true),
        AllocatorCall::UpdateUnavailability { agent_id, unavailability } => {
            (core.on_update_unavailability(&agent_id, unavailability), true)
        }
        AllocatorCall::UpdateInverseOffer { agent_id, framework_id, refuse_seconds } => {
            (core.on_update_inverse_offer(&agent_id, &framework_id, refuse_seconds, now), false)
        }
    };
    if let Err(error) = result {
        tracing::warn!(%error, "allocator refused a call");
    }
    trigger
}

fn spec(info: &mesos::FrameworkInfo, suppressed: Vec<String>) -> FrameworkSpec {
    use mesos::framework_info::capability::Type;
    let has = |t: Type| info.capabilities.iter().any(|c| c.r#type() == t);
    FrameworkSpec {
        roles: crate::core::framework_roles(info),
        suppressed_roles: suppressed.into_iter().collect::<BTreeSet<_>>(),
        capabilities: FrameworkCapabilities {
            multi_role: has(Type::MultiRole),
            gpu_resources: has(Type::GpuResources),
            revocable_resources: has(Type::RevocableResources),
            shared_resources: has(Type::SharedResources),
            reservation_refinement: has(Type::ReservationRefinement),
        },
        ..FrameworkSpec::default()
    }
}

impl Process for AllocatorProcess {
    type Message = AllocatorMessage;

    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        self.schedule_batch(ctx);
    }

    fn on_message(&mut self, _from: Pid, message: AllocatorMessage, _ctx: &mut Context<'_, Self>) {
        match message {}
    }
}
