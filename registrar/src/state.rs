//! The registry state machine's state: what every master replicates.
//!
//! Mesos keeps `mesos.internal.Registry` (agents admitted / unreachable / gone, weights,
//! quota, maintenance) and loses everything else on failover. We keep that message as the
//! canonical encoding of the Mesos part, and add what Mesos loses:
//!
//! - registered frameworks with their `FrameworkInfo` and since when they are
//!   disconnected, so `failover_timeout` keeps running across a master failover;
//! - the ids of completed (removed) frameworks, so a removed framework cannot come back;
//! - the id counters and the cluster id, so a new leader never hands out an id twice.
//!
//! The whole state encodes as one [`RegistrySnapshot`] (a prost message declared here in
//! Rust, package `mesos.internal`): it is the raft snapshot's data and the backup format
//! of `mesos-registry dump` (there as JSON).

use std::collections::{BTreeMap, HashMap, VecDeque};

use mesos_proto::mesos::internal::Registry;
use mesos_proto::mesos::internal::registry::{GoneSlaves, Slaves, UnreachableSlaves};
use mesos_proto::mesos::{FrameworkInfo, TimeInfo};
use prost::Message as _;

use crate::RegistryError;

/// How many completed framework ids are remembered; at the bound the oldest is forgotten
/// (Mesos: `--max_completed_frameworks`, default 50; we keep more because forgetting one
/// lets that framework id be used again).
pub const MAX_COMPLETED_FRAMEWORKS: usize = 1000;

/// A framework the registry knows as registered.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RegisteredFramework {
    /// Its `FrameworkInfo`, with `id` set.
    #[prost(message, optional, tag = "1")]
    pub info: Option<FrameworkInfo>,
    /// When it first registered.
    #[prost(message, optional, tag = "2")]
    pub registered_time: Option<TimeInfo>,
    /// Since when it is disconnected; unset while connected. Its failover deadline is this
    /// plus `info.failover_timeout`.
    #[prost(message, optional, tag = "3")]
    pub disconnected_since: Option<TimeInfo>,
}

impl RegisteredFramework {
    /// The time (ns since the epoch) after which the master may remove the framework, if
    /// it is disconnected.
    pub fn failover_deadline_ns(&self) -> Option<i64> {
        let since = self.disconnected_since.as_ref()?.nanoseconds;
        let timeout_secs = self.info.as_ref().and_then(|i| i.failover_timeout).unwrap_or(0.0);
        Some(since.saturating_add((timeout_secs.max(0.0) * 1e9) as i64))
    }
}

/// The cluster id and the id counters. Every leader generates agent and framework ids
/// under the cluster id, and hands one out only once its admission or registration is
/// committed, which raises the counter past it; a new leader continues from the
/// counters, so no id is ever handed out twice. (Offer ids, never written to the
/// registry, carry the leader's raft term instead.)
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct IdCounters {
    /// The cluster id, the prefix of every generated id; set by the first leader.
    #[prost(string, tag = "1")]
    pub cluster_id: String,
    /// Agent ids `<cluster>-S<n>` with `n` below this may be in use.
    #[prost(uint64, tag = "2")]
    pub next_agent: u64,
    /// Framework ids `<cluster>-<NNNN>` with a number below this may be in use.
    #[prost(uint64, tag = "3")]
    pub next_framework: u64,
}

/// The encoded form of a whole [`RegistryState`] (raft snapshot data, backups).
///
/// Sent by nobody as a message: it travels inside raft snapshots and `mesos-registry`
/// files. Decoding rebuilds the lookup indexes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RegistrySnapshot {
    /// The Mesos registry.
    #[prost(message, optional, tag = "1")]
    pub registry: Option<Registry>,
    /// Registered frameworks, ordered by id.
    #[prost(message, repeated, tag = "2")]
    pub frameworks: Vec<RegisteredFramework>,
    /// Completed framework ids, oldest first.
    #[prost(string, repeated, tag = "3")]
    pub completed_frameworks: Vec<String>,
    /// The id counters.
    #[prost(message, optional, tag = "4")]
    pub ids: Option<IdCounters>,
}

impl prost::Name for RegistrySnapshot {
    const NAME: &'static str = "RegistrySnapshot";
    const PACKAGE: &'static str = "mesos.internal";
    fn full_name() -> String {
        "mesos.internal.RegistrySnapshot".into()
    }
}

/// The replicated registry: the state every master applies committed operations to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegistryState {
    /// The Mesos part, in Mesos's own encoding.
    pub(crate) registry: Registry,
    /// Registered frameworks by id.
    pub(crate) frameworks: BTreeMap<String, RegisteredFramework>,
    /// Completed framework ids, oldest first (bounded by [`MAX_COMPLETED_FRAMEWORKS`]).
    pub(crate) completed_frameworks: VecDeque<String>,
    /// The id counters and the cluster id.
    pub(crate) ids: IdCounters,
    /// Agent id -> position in `registry.slaves.slaves` (Mesos's `slaveIDs` accumulator).
    pub(crate) admitted: HashMap<String, usize>,
    /// Agent id -> position in `registry.unreachable.slaves`.
    pub(crate) unreachable: HashMap<String, usize>,
    /// Agent id -> position in `registry.gone.slaves`.
    pub(crate) gone: HashMap<String, usize>,
}

impl RegistryState {
    /// An empty registry.
    pub fn new() -> RegistryState {
        RegistryState::default()
    }

    /// The Mesos registry (agents, weights, quota, maintenance, master info).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Registered frameworks by framework id.
    pub fn frameworks(&self) -> &BTreeMap<String, RegisteredFramework> {
        &self.frameworks
    }

    /// Ids of completed frameworks, oldest first.
    pub fn completed_frameworks(&self) -> impl Iterator<Item = &str> {
        self.completed_frameworks.iter().map(String::as_str)
    }

    /// The id counters and cluster id.
    pub fn ids(&self) -> &IdCounters {
        &self.ids
    }

    /// True if the agent is admitted.
    pub fn is_admitted(&self, agent_id: &str) -> bool {
        self.admitted.contains_key(agent_id)
    }

    /// True if the agent is marked unreachable.
    pub fn is_unreachable(&self, agent_id: &str) -> bool {
        self.unreachable.contains_key(agent_id)
    }

    /// True if the agent is marked gone.
    pub fn is_gone(&self, agent_id: &str) -> bool {
        self.gone.contains_key(agent_id)
    }

    /// Admitted agents.
    pub fn admitted_agents(&self) -> &[mesos_proto::mesos::internal::registry::Slave] {
        self.registry.slaves.as_ref().map(|s| s.slaves.as_slice()).unwrap_or(&[])
    }

    /// Unreachable agents.
    pub fn unreachable_agents(
        &self,
    ) -> &[mesos_proto::mesos::internal::registry::UnreachableSlave] {
        self.registry.unreachable.as_ref().map(|s| s.slaves.as_slice()).unwrap_or(&[])
    }

    /// Gone agents.
    pub fn gone_agents(&self) -> &[mesos_proto::mesos::internal::registry::GoneSlave] {
        self.registry.gone.as_ref().map(|s| s.slaves.as_slice()).unwrap_or(&[])
    }

    /// The snapshot message of this state.
    pub fn to_snapshot(&self) -> RegistrySnapshot {
        RegistrySnapshot {
            registry: Some(self.registry.clone()),
            frameworks: self.frameworks.values().cloned().collect(),
            completed_frameworks: self.completed_frameworks.iter().cloned().collect(),
            ids: Some(self.ids.clone()),
        }
    }

    /// Rebuilds a state from its snapshot message.
    pub fn from_snapshot(snapshot: RegistrySnapshot) -> Result<RegistryState, RegistryError> {
        let mut state = RegistryState {
            registry: snapshot.registry.unwrap_or_default(),
            frameworks: BTreeMap::new(),
            completed_frameworks: snapshot.completed_frameworks.into_iter().collect(),
            ids: snapshot.ids.unwrap_or_default(),
            ..RegistryState::default()
        };
        for framework in snapshot.frameworks {
            let id = framework.info.as_ref().and_then(|i| i.id.as_ref()).map(|id| id.value.clone());
            let Some(id) = id else {
                return Err(RegistryError::Invalid {
                    reason: "a registered framework has no id".into(),
                });
            };
            state.frameworks.insert(id, framework);
        }
        state.reindex()?;
        Ok(state)
    }

    /// The encoded size of the registry message (agents, weights, quota, maintenance),
    /// without the frameworks kept beside it (Mesos: `registrar/registry_size_bytes`,
    /// `Registry::ByteSize`). Walks the message without copying it.
    pub fn registry_size_bytes(&self) -> u64 {
        self.registry.encoded_len() as u64
    }

    /// Encodes the state (raft snapshot data).
    pub fn encode(&self) -> Vec<u8> {
        self.to_snapshot().encode_to_vec()
    }

    /// Decodes a state encoded with [`RegistryState::encode`]; empty bytes are the empty
    /// registry (a raft snapshot of a log that never had one).
    pub fn decode(bytes: &[u8]) -> Result<RegistryState, RegistryError> {
        if bytes.is_empty() {
            return Ok(RegistryState::new());
        }
        let snapshot = RegistrySnapshot::decode(bytes).map_err(|error| RegistryError::Invalid {
            reason: format!("undecodable registry: {error}"),
        })?;
        RegistryState::from_snapshot(snapshot)
    }

    /// Rebuilds the agent indexes from the registry lists; fails on a duplicate.
    fn reindex(&mut self) -> Result<(), RegistryError> {
        fn index<'a>(
            ids: impl Iterator<Item = &'a str>,
            list: &str,
        ) -> Result<HashMap<String, usize>, RegistryError> {
            let mut map = HashMap::new();
            for (position, id) in ids.enumerate() {
                if map.insert(id.to_string(), position).is_some() {
                    return Err(RegistryError::Invalid {
                        reason: format!("agent {id} twice in the {list} list"),
                    });
                }
            }
            Ok(map)
        }
        let admitted = self
            .admitted_agents()
            .iter()
            .map(|s| s.info.id.as_ref().map_or("", |id| id.value.as_str()));
        self.admitted = index(admitted, "admitted")?;
        self.unreachable =
            index(self.unreachable_agents().iter().map(|s| s.id.value.as_str()), "unreachable")?;
        self.gone = index(self.gone_agents().iter().map(|s| s.id.value.as_str()), "gone")?;
        Ok(())
    }

    pub(crate) fn slaves_mut(&mut self) -> &mut Vec<mesos_proto::mesos::internal::registry::Slave> {
        &mut self.registry.slaves.get_or_insert_with(Slaves::default).slaves
    }

    pub(crate) fn unreachable_mut(
        &mut self,
    ) -> &mut Vec<mesos_proto::mesos::internal::registry::UnreachableSlave> {
        &mut self.registry.unreachable.get_or_insert_with(UnreachableSlaves::default).slaves
    }

    pub(crate) fn gone_mut(
        &mut self,
    ) -> &mut Vec<mesos_proto::mesos::internal::registry::GoneSlave> {
        &mut self.registry.gone.get_or_insert_with(GoneSlaves::default).slaves
    }
}

/// Removes `list[position]` in O(1) by moving the last element into its place, and fixes
/// the moved element's entry in `index`. Order within an agent list carries no meaning,
/// and every replica applies the same operations in the same order, so all replicas agree.
pub(crate) fn swap_remove_indexed<T>(
    list: &mut Vec<T>,
    index: &mut HashMap<String, usize>,
    position: usize,
    id_of: impl Fn(&T) -> String,
) -> T {
    let removed = list.swap_remove(position);
    if let Some(moved) = list.get(position) {
        index.insert(id_of(moved), position);
    }
    removed
}
