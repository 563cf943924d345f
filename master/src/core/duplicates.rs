//! A re-registration sent again, unchanged: answered from the agent's record without
//! going through re-admission again.
//!
//! During a failover agents re-send their `ReregisterSlaveMessage` to the named leader
//! after 1 s, 2 s, 4 s, ... while their first copy still waits in its queue, so the new
//! leader handles several copies per agent. The master's actor recognises a copy before
//! decoding it (the same bytes from the same pid as the last re-registration it took,
//! with nothing sent to or received from that agent since: `crate::process`'s
//! `reregistrations` module); the core then only checks that the agent is still where
//! that re-registration left it and answers as the known-agent path would.

use libprocess::{Pid, Time};

use super::MasterCore;
use super::state::AgentState;

impl MasterCore {
    /// `from` sent again, byte for byte, the re-registration this master last took from
    /// it, and nothing about the agent changed since (the caller's judgement). When the
    /// agent is still registered at `from`, active and not deactivated (draining), and its
    /// machine is not DOWN, this does what the known-agent path would do for the same
    /// message and returns true: the agent is alive (pings reset), its re-registration is
    /// counted and time-stamped, and it gets `SlaveReregisteredMessage`, its frameworks'
    /// pids and its checkpointed resources, built from the current state. Otherwise it
    /// changes nothing and returns false: decode the message and take the full path.
    ///
    /// Why nothing else is needed: the known-agent path (Mesos: master.cpp
    /// `Master::reregisterSlave`, `reconcileKnownSlave`) would set the pid, version and
    /// links the identical message already set, would mark lost only tasks the master
    /// added since (a launch, which the caller sees as a `RunTaskMessage` sent to the
    /// agent), and would reactivate or drain only an agent that is not active or is
    /// deactivated, which go the full path here.
    pub fn answer_repeated_reregistration(&mut self, from: &Pid, now: Time) -> bool {
        if !self.agent_active_at(from) {
            return false;
        }
        let Some(agent_id) = self.agents_by_pid.get(from).cloned() else { return false };
        let Some(agent) = self.agents.get(&agent_id) else { return false };
        if self.deactivated.contains(&agent_id) || self.machine_down(&agent.info.hostname, from) {
            return false;
        }
        if let Some(agent) = self.agents.get_mut(&agent_id) {
            agent.reregistered_time = Some(now);
            agent.pings_missed = 0;
            agent.pong_received = true;
        }
        self.stats.slave_reregistrations += 1;
        self.send_agent_reregistered(&agent_id, from);
        true
    }

    /// True when an agent is registered at `pid` and active (connected, not
    /// unreachable).
    pub fn agent_active_at(&self, pid: &Pid) -> bool {
        self.agents_by_pid
            .get(pid)
            .and_then(|id| self.agents.get(id))
            .is_some_and(|agent| agent.pid == *pid && agent.state == AgentState::Active)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mesos_proto::mesos::{self, internal};
    use mesos_proto::resources::Resources;

    use super::super::tests::{core, drain, now};
    use super::super::{Outgoing, Output};
    use super::*;

    fn agent_pid() -> Pid {
        "slave(1)@10.0.1.1:5051".parse().unwrap()
    }

    /// The FAIL-1 shape: one framework, two running tasks.
    fn reregistration(tasks: usize) -> internal::ReregisterSlaveMessage {
        let agent_id = mesos::SlaveId { value: "agent-1".into() };
        let framework_id = mesos::FrameworkId { value: "f1".into() };
        let slave = mesos::SlaveInfo {
            hostname: "a1".into(),
            id: Some(agent_id.clone()),
            resources: Resources::parse("cpus:4;mem:1024").unwrap().to_protos(),
            ..Default::default()
        };
        let framework = mesos::FrameworkInfo {
            user: "u".into(),
            name: "n".into(),
            id: Some(framework_id.clone()),
            ..Default::default()
        };
        let tasks = (0..tasks)
            .map(|i| mesos::Task {
                name: format!("t{i}"),
                task_id: mesos::TaskId { value: format!("t{i}") },
                framework_id: framework_id.clone(),
                slave_id: agent_id.clone(),
                state: mesos::TaskState::TaskRunning as i32,
                resources: Resources::parse("cpus:0.1;mem:5").unwrap().to_protos(),
                ..Default::default()
            })
            .collect();
        internal::ReregisterSlaveMessage {
            slave,
            frameworks: vec![framework],
            tasks,
            ..Default::default()
        }
    }

    /// The messages the agent is sent, as text (outputs have no `PartialEq`).
    fn sends(outputs: &[Output]) -> Vec<String> {
        outputs
            .iter()
            .filter_map(|o| match o {
                Output::Send { to, message } => Some(format!("{to} {message:?}")),
                _ => None,
            })
            .collect()
    }

    /// A copy of the re-registration the master took is answered exactly as the full
    /// known-agent path answers the same message: the same messages to the agent.
    #[test]
    fn a_repeated_reregistration_is_answered_as_the_full_path_answers_it() {
        let mut core = core();
        core.on_reregister_agent(&agent_pid(), reregistration(2), now()).unwrap();
        drain(&mut core);
        let later = now() + Duration::from_secs(1);
        core.on_reregister_agent(&agent_pid(), reregistration(2), later).unwrap();
        let full = drain(&mut core);
        assert!(core.answer_repeated_reregistration(&agent_pid(), later));
        let fast = drain(&mut core);
        assert_eq!(sends(&fast), sends(&full));
        assert!(fast.iter().any(|o| matches!(
            o,
            Output::Send { message, .. } if matches!(**message, Outgoing::SlaveReregistered(_))
        )));
        assert_eq!(core.stats().slave_reregistrations, 3);
    }

    /// An agent that is not (or no longer) registered at that pid, or not active, is not
    /// answered from its record: the caller takes the full path.
    #[test]
    fn an_unknown_or_disconnected_agent_takes_the_full_path() {
        let mut core = core();
        assert!(!core.answer_repeated_reregistration(&agent_pid(), now()));
        core.on_reregister_agent(&agent_pid(), reregistration(2), now()).unwrap();
        drain(&mut core);
        let other: Pid = "slave(2)@10.0.1.1:5051".parse().unwrap();
        assert!(!core.answer_repeated_reregistration(&other, now()));
        core.on_exited(&agent_pid(), now());
        drain(&mut core);
        assert!(!core.answer_repeated_reregistration(&agent_pid(), now()));
        assert!(drain(&mut core).is_empty());
    }

    /// A re-registration that differs (here: a task the master had is missing) goes the
    /// full path, which the fast path could not replace: the task is lost.
    #[test]
    fn a_changed_reregistration_reconciles_tasks() {
        let mut core = core();
        core.on_reregister_agent(&agent_pid(), reregistration(2), now()).unwrap();
        drain(&mut core);
        core.on_reregister_agent(&agent_pid(), reregistration(1), now()).unwrap();
        let lost = core
            .frameworks
            .values()
            .flat_map(|f| f.tasks.values())
            .filter(|t| t.state() == mesos::TaskState::TaskLost)
            .count();
        assert_eq!(lost, 1);
        drain(&mut core);
    }
}
