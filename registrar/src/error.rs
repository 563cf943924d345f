//! The registrar's errors: why the state machine refused an operation
//! ([`RegistryError`], replicated: every member refuses the same entry alike), and why a
//! submitted operation did not, or may not, take effect ([`RegistrarError`], local to
//! this master).

use libprocess::Pid;

/// Why the state machine refused an operation (the operation changed nothing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Mesos: "Agent already admitted".
    #[error("agent {agent_id} is already admitted")]
    AgentAlreadyAdmitted {
        /// The agent.
        agent_id: String,
    },
    /// Mesos: "Agent not yet admitted".
    #[error("agent {agent_id} is not admitted")]
    AgentNotAdmitted {
        /// The agent.
        agent_id: String,
    },
    /// Mesos: "Agent ... already marked as gone".
    #[error("agent {agent_id} is already marked gone")]
    AgentAlreadyGone {
        /// The agent.
        agent_id: String,
    },
    /// A gone agent may never come back.
    #[error("agent {agent_id} is gone")]
    AgentGone {
        /// The agent.
        agent_id: String,
    },
    /// Mesos: "Failed to find agent".
    #[error("agent {agent_id} is neither admitted nor unreachable")]
    UnknownAgent {
        /// The agent.
        agent_id: String,
    },
    /// A framework id registered twice.
    #[error("framework {framework_id} is already registered")]
    FrameworkAlreadyRegistered {
        /// The framework.
        framework_id: String,
    },
    /// A completed framework id cannot be registered again.
    #[error("framework {framework_id} has completed")]
    FrameworkCompleted {
        /// The framework.
        framework_id: String,
    },
    /// The framework is not registered.
    #[error("unknown framework {framework_id}")]
    UnknownFramework {
        /// The framework.
        framework_id: String,
    },
    /// The cluster id is already set to another value.
    #[error("cluster id is {current}, not {proposed}")]
    ClusterIdMismatch {
        /// The stored id.
        current: String,
        /// The refused id.
        proposed: String,
    },
    /// A required field is missing, or stored data does not decode.
    #[error("invalid registry data: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
}

/// Why a submitted operation did not (or may not) take effect, or why storage failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrarError {
    /// The operation was committed but refused by the state machine; nothing changed.
    #[error("operation refused at index {index}: {error}")]
    Rejected {
        /// The raft index of the refused entry.
        index: u64,
        /// Why it was refused.
        error: RegistryError,
    },
    /// This master is not the raft leader; nothing was proposed.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The leading registrar, if known.
        leader: Option<Pid>,
    },
    /// This master lost leadership (or its entry was overwritten) before the operation
    /// was applied. Its fate is unknown: a later leader may still commit it. The master
    /// must stop acting as leader.
    #[error("lost leadership of term {term} before the operation was applied")]
    LeadershipLost {
        /// The term this master led.
        term: u64,
    },
    /// Too many operations are in flight (the bound of the pending map).
    #[error("too many pending operations (limit {limit})")]
    TooManyPending {
        /// The bound.
        limit: usize,
    },
    /// The encoded operation is larger than one raft entry may be.
    #[error("operation of {bytes} bytes exceeds the {limit}-byte entry limit")]
    EntryTooLarge {
        /// Its size.
        bytes: usize,
        /// The bound.
        limit: usize,
    },
    /// Reading or writing the raft storage failed; the registrar has stopped.
    #[error("registry storage failed: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// raft-rs refused an input.
    #[error("raft: {reason}")]
    Raft {
        /// What raft said.
        reason: String,
    },
    /// The registrar process has terminated.
    #[error("the registrar has stopped")]
    Stopped,
    /// The registrar's configuration is unusable.
    #[error("registrar configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
}
