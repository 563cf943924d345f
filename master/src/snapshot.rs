//! Consistent copies of the master's state for the read-only HTTP endpoints.
//!
//! `/master/state` and friends must never stall the master (a long-standing Mesos
//! complaint: its `/state` blocks the master actor while it renders JSON). Here a request
//! asks the master only for a copy of its state, once per change: the copy is cached
//! until the master's state changes again, and all JSON rendering happens outside the
//! actor. Many clients polling an idle master cost the master nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use libprocess::{ProcessRef, Time};
use parking_lot::Mutex;

use crate::core::{
    Agent, AgentOperatorState, Framework, MasterCore, OfferEntry, Stats, UnreachableAgent,
};
use crate::http::task_json::TaskJsonCache;
use crate::process::MasterProcess;
use mesos_proto::ids::{AgentId, FrameworkId};
use mesos_proto::mesos;

/// A copy of everything the state endpoints show.
#[derive(Clone, Debug)]
pub struct StateSnapshot {
    /// This master.
    pub info: mesos::MasterInfo,
    /// When it started.
    pub start_time: Time,
    /// When it was elected.
    pub elected_time: Time,
    /// Registered agents, by id (shared with the master's core: copied only when the
    /// core changes one, [`crate::core::SharedMap`]).
    pub agents: Vec<Arc<Agent>>,
    /// The operator's state of the registered agents that are deactivated or draining
    /// (the others have the default).
    pub agent_operator_states: std::collections::HashMap<AgentId, AgentOperatorState>,
    /// Unreachable agents.
    pub unreachable: Vec<(AgentId, UnreachableAgent)>,
    /// Registered frameworks, by id (shared like the agents).
    pub frameworks: Vec<Arc<Framework>>,
    /// Removed frameworks (shared).
    pub completed_frameworks: Vec<Arc<Framework>>,
    /// Outstanding offers.
    pub offers: Vec<OfferEntry>,
    /// Outstanding inverse offers (maintenance).
    pub inverse_offers: Vec<mesos::InverseOffer>,
    /// Counters.
    pub stats: Stats,
    /// The master's flags, as `--name=value` pairs.
    pub flags: Vec<(String, String)>,
    /// Role weights in force (`--weights` overlaid with the registry's).
    pub weights: std::collections::BTreeMap<String, f64>,
    /// Quota configs in force, by role.
    pub quota_configs: std::collections::BTreeMap<String, mesos::quota::QuotaConfig>,
    /// Operations with feedback being tracked (GET_OPERATIONS).
    pub operations: Vec<mesos::Operation>,
    /// Where renderings of this snapshot find and keep each task's JSON: the master's
    /// one cache ([`SnapshotCell`] hands it to every copy it takes), shared by the
    /// renderings of every later snapshot; `None` renders every task afresh.
    pub task_json: Option<Arc<TaskJsonCache>>,
}

impl StateSnapshot {
    /// Copies the state of `core`: the agents, frameworks and tasks as pointers to the
    /// values the core shares (it copies one before changing it), the rest by value.
    pub fn of(core: &MasterCore, flags: Vec<(String, String)>) -> StateSnapshot {
        let (start_time, elected_time) = core.start_and_elected_time();
        let mut agents: Vec<Arc<Agent>> = core.shared_agents().cloned().collect();
        agents.sort_by(|a, b| a.id.cmp(&b.id));
        let mut frameworks: Vec<Arc<Framework>> = core.shared_frameworks().cloned().collect();
        frameworks.sort_by(|a, b| a.id.cmp(&b.id));
        let agent_operator_states = agents
            .iter()
            .map(|a| (a.id.clone(), core.agent_operator_state(&a.id)))
            .filter(|(_, state)| *state != AgentOperatorState::default())
            .collect();
        StateSnapshot {
            agent_operator_states,
            info: core.info().clone(),
            start_time,
            elected_time,
            agents,
            unreachable: core.unreachable_agents().map(|(id, u)| (id.clone(), u.clone())).collect(),
            frameworks,
            completed_frameworks: core.shared_completed_frameworks().cloned().collect(),
            offers: core.offers().cloned().collect(),
            inverse_offers: core.inverse_offers().cloned().collect(),
            stats: core.stats().clone(),
            flags,
            weights: core.weights().clone(),
            quota_configs: core.quota_configs().clone(),
            operations: core.operations().cloned().collect(),
            task_json: None,
        }
    }

    /// The outstanding offers made to `framework`, by offer id (the order `/state` and
    /// `/frameworks` list them in).
    pub fn offers_of(&self, framework: &FrameworkId) -> Vec<&mesos::Offer> {
        let mut offers: Vec<&mesos::Offer> =
            self.offers.iter().filter(|o| o.framework_id == *framework).map(|o| &o.offer).collect();
        offers.sort_by(|a, b| a.id.value.cmp(&b.id.value));
        offers
    }
}

/// The cached copy and the generation of master state it was taken at.
#[derive(Default)]
pub struct SnapshotCell {
    generation: AtomicU64,
    cached: Mutex<Option<(u64, Arc<StateSnapshot>)>>,
    renderings: Arc<crate::http::render::Renderings>,
    task_json: Arc<TaskJsonCache>,
}

impl SnapshotCell {
    /// The master's state changed: the next request takes a fresh copy.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The current state: the cached copy if nothing changed since, else a fresh one.
    pub async fn get(&self, master: &ProcessRef<MasterProcess>) -> Option<Arc<StateSnapshot>> {
        Some(self.get_at(master).await?.1)
    }

    /// [`SnapshotCell::get`] with the generation the copy shows (or a later one: a copy
    /// taken after the generation was read), for [`Self::renderings`].
    pub async fn get_at(
        &self,
        master: &ProcessRef<MasterProcess>,
    ) -> Option<(u64, Arc<StateSnapshot>)> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some((cached_at, snapshot)) = self.cached.lock().as_ref()
            && *cached_at == generation
        {
            return Some((generation, snapshot.clone()));
        }
        let mut snapshot = master.dispatch(|master, _| master.take_snapshot()).await.ok()?;
        snapshot.task_json = Some(self.task_json.clone());
        let snapshot = Arc::new(snapshot);
        *self.cached.lock() = Some((generation, snapshot.clone()));
        Some((generation, snapshot))
    }

    /// The tasks' JSON kept between renderings of this cell's copies.
    pub fn task_json(&self) -> &Arc<TaskJsonCache> {
        &self.task_json
    }

    /// The answers rendered from this cell's copies, shared between concurrent requests.
    pub fn renderings(&self) -> &Arc<crate::http::render::Renderings> {
        &self.renderings
    }
}
