//! Reading the checkpoint back after a restart; the decisions are the core's
//! (`core/recovery.rs`).
//!
//! 1. Before the process starts, [`prepare_recovery`] reads the checkpoint; an
//!    unreadable file stops the agent with an error naming it.
//! 2. When the process starts, the containerizer is asked which checkpointed
//!    executor processes still run ([`crate::core::containers_to_probe`]), and the
//!    core takes back the state ([`crate::core::AgentCore::recover`]).

use std::collections::HashSet;

use libprocess::Context;
use mesos_proto::ids::ContainerId;

use super::{Agent, AgentConfig};
use crate::checkpoint::{RecoveredState, read_state};
use crate::core::containers_to_probe;
use crate::error::AgentError;
use crate::paths::Paths;

/// Reads the checkpoint under `--work_dir` and checks it belongs to an agent with
/// the same resources and attributes. `Ok(None)`: nothing to recover.
pub fn prepare_recovery(config: &AgentConfig) -> Result<Option<RecoveredState>, AgentError> {
    let paths = Paths::new(&config.work_dir);
    let Some(state) = read_state(&paths)? else { return Ok(None) };
    let agent_id = state.info.id.as_ref().map(|id| id.value.clone()).unwrap_or_default();
    let incompatible = |reason: String| AgentError::IncompatibleAgentInfo {
        path: paths.agent_info_file(&agent_id),
        reason,
        latest: paths.latest_agent_link(),
    };
    let same_resources =
        mesos_proto::resources::Resources::from_protos(state.info.resources.clone()).ok()
            == mesos_proto::resources::Resources::from_protos(config.resources.clone()).ok();
    if !same_resources {
        return Err(incompatible("the resources differ from --resources".into()));
    }
    if state.info.attributes != config.attributes {
        return Err(incompatible("the attributes differ from --attributes".into()));
    }
    // Mesos: slave.cpp `Slave::recover`: the checkpointed reservations and volumes
    // must still fit the resources the agent is started with.
    let fits = mesos_proto::resources::Resources::from_protos(config.resources.clone())
        .map_err(|e| e.to_string())
        .and_then(|total| {
            let checkpointed =
                mesos_proto::resources::Resources::from_protos(state.resources.clone())
                    .map_err(|e| e.to_string())?;
            total.with_checkpointed(&checkpointed)
        });
    if let Err(reason) = fits {
        return Err(incompatible(format!("the checkpointed resources do not fit: {reason}")));
    }
    Ok(Some(state))
}

impl Agent {
    /// Starts recovery from the state given to [`Agent::new`].
    pub(super) fn start_recovery(&mut self, ctx: &mut Context<'_, Self>) {
        let state = self.recovered.take();
        let probes = state.as_ref().map(containers_to_probe).unwrap_or_default();
        let alive: HashSet<ContainerId> = probes
            .into_iter()
            .filter(|(container_id, os_pid)| self.containerizer.recover(container_id, *os_pid))
            .map(|(container_id, _)| container_id)
            .collect();
        self.core.recover(state, &alive, ctx.now());
        self.recover_containers(&alive, ctx);
        self.flush(ctx);
        self.gc_recovered(ctx);
    }
}
