//! Maintenance (Mesos 0.25+): the schedule of machines' unavailability, and machines
//! brought DOWN and UP by the operator.
//!
//! A machine is `(hostname, ip)`, matched exactly against each agent's hostname and the
//! IP of its pid (Mesos: `Slave::machineId`). A machine in the schedule is `DRAINING`;
//! `START_MAINTENANCE` makes it `DOWN`: its agents are shut down and removed, and any
//! agent of a DOWN machine is refused (shut down) when it registers; `STOP_MAINTENANCE`
//! brings it `UP` again (it leaves the schedule). Every change is written to the
//! registry first (`UpdateSchedule`, `StartMaintenance`, `StopMaintenance`) and the
//! operator answered once it is committed.
//!
//! Offers of a scheduled machine's agents carry its `unavailability`, the allocator
//! knows it too, and frameworks using those agents get inverse offers
//! (`inverse_offers.rs`); their answers appear in the maintenance status.
//!
//! Mesos: master/maintenance.cpp (validation), master/http.cpp
//! `_updateMaintenanceSchedule`, `_startMaintenance`, `_stopMaintenance`,
//! `_getMaintenanceStatus`.

use std::collections::{BTreeMap, HashSet};

use libprocess::{Pid, Time};
use mesos_proto::ids::AgentId;
use mesos_proto::mesos::machine_info::Mode;
use mesos_proto::mesos::maintenance::{ClusterStatus, Schedule, cluster_status};
use mesos_proto::mesos::{self, MachineId, MachineInfo, internal, task_status};
use mesos_registrar::operations::MachineIds;
use mesos_registrar::{RegistryOperation, RegistryState};
use mesos_security::{Action, Principal};

use super::draining::{OperatorReply, OperatorRequest};
use super::registry::AfterRegistry;
use super::{MasterCore, Outgoing};

/// A machine's identity: `(hostname, ip)`.
pub(crate) type MachineKey = (Option<String>, Option<String>);

fn key(id: &MachineId) -> MachineKey {
    (id.hostname.clone().filter(|h| !h.is_empty()), id.ip.clone().filter(|i| !i.is_empty()))
}

/// What waits on a maintenance change in the registry.
#[derive(Debug, Clone)]
pub enum MaintenanceDone {
    /// The schedule is replaced.
    Schedule(Schedule),
    /// These machines go DOWN.
    Started(Vec<MachineId>),
    /// These machines come UP (and leave the schedule).
    Stopped(Vec<MachineId>),
}

/// Mesos: maintenance.cpp `validation::machine`.
fn validate_machine(id: &MachineId) -> Result<(), String> {
    let (hostname, ip) = key(id);
    if hostname.is_none() && ip.is_none() {
        return Err("Both 'hostname' and 'ip' for a machine are empty".into());
    }
    if let Some(ip) = ip
        && ip.parse::<std::net::Ipv4Addr>().is_err()
    {
        return Err(format!("Failed to parse IP '{ip}'"));
    }
    Ok(())
}

/// Mesos: maintenance.cpp `validation::machines`.
fn validate_machines(ids: &[MachineId]) -> Result<(), String> {
    if ids.is_empty() {
        return Err("List of machines is empty".into());
    }
    let mut seen = HashSet::new();
    for id in ids {
        validate_machine(id)?;
        if !seen.insert(key(id)) {
            return Err(format!("Machine '{id:?}' appears more than once in the schedule"));
        }
    }
    Ok(())
}

impl MasterCore {
    /// The machine an agent at `pid` with `hostname` is on.
    pub(crate) fn machine_of(hostname: &str, pid: &Pid) -> MachineKey {
        (Some(hostname.to_string()), Some(pid.address().ip().to_string()))
    }

    /// Whether the machine of an agent at `pid` with `hostname` is DOWN.
    pub(crate) fn machine_down(&self, hostname: &str, pid: &Pid) -> bool {
        // Asked for every (re-)registration: with no machine under maintenance no key is
        // built (two strings, one of them the pid's address formatted).
        if self.machines.is_empty() {
            return false;
        }
        self.machines.get(&Self::machine_of(hostname, pid)).is_some_and(|m| m.mode() == Mode::Down)
    }

    /// The scheduled unavailability of the machine of an agent at `pid` with
    /// `hostname`, shown on its offers.
    pub(crate) fn unavailability_of(
        &self,
        hostname: &str,
        pid: &Pid,
    ) -> Option<mesos::Unavailability> {
        // Asked for every offer: with no machine under maintenance (the usual case) no key
        // is built, which costs two strings.
        if self.machines.is_empty() {
            return None;
        }
        self.machines.get(&Self::machine_of(hostname, pid)).and_then(|m| m.unavailability)
    }

    /// Refuses an agent of a DOWN machine: it is told to shut down. Mesos: master.cpp
    /// `registerSlave`/`reregisterSlave` ("Agent attempted to register in DOWN mode").
    pub(crate) fn refuse_if_down(&mut self, hostname: &str, from: &Pid) -> bool {
        if !self.machine_down(hostname, from) {
            return false;
        }
        tracing::warn!(pid = %from, hostname, "refusing an agent of a DOWN machine");
        let message = "Agent attempted to (re-)register on a DOWN machine".to_string();
        self.send(from, Outgoing::Shutdown(internal::ShutdownMessage { message: Some(message) }));
        true
    }

    /// The maintenance schedule (GET_MAINTENANCE_SCHEDULE).
    pub fn maintenance_schedule(&self) -> Schedule {
        self.schedule.clone().unwrap_or_default()
    }

    /// DRAINING machines with the frameworks' answers to their inverse offers, and DOWN
    /// machines (GET_MAINTENANCE_STATUS).
    pub fn maintenance_status(&self) -> ClusterStatus {
        let mut status = ClusterStatus::default();
        for (key, machine) in &self.machines {
            match machine.mode() {
                Mode::Draining => status.draining_machines.push(cluster_status::DrainingMachine {
                    id: machine.id.clone(),
                    statuses: self.inverse_offer_statuses(key),
                }),
                Mode::Down => status.down_machines.push(machine.id.clone()),
                Mode::Up => {}
            }
        }
        status
    }

    /// UPDATE_MAINTENANCE_SCHEDULE. Mesos: master/http.cpp `_updateMaintenanceSchedule`.
    pub fn update_maintenance_schedule(
        &mut self,
        principal: Option<&Principal>,
        schedule: Schedule,
        request: OperatorRequest,
    ) -> OperatorReply {
        if let Err(error) = self.validate_schedule(&schedule) {
            return OperatorReply::BadRequest(error);
        }
        if !self.authorized(principal, Action::UpdateMaintenanceSchedule) {
            return OperatorReply::Forbidden;
        }
        let after = AfterRegistry::Maintenance {
            done: MaintenanceDone::Schedule(schedule.clone()),
            request,
        };
        self.registry(RegistryOperation::UpdateSchedule(schedule), after);
        OperatorReply::Pending
    }

    /// Mesos: maintenance.cpp `validation::schedule`.
    fn validate_schedule(&self, schedule: &Schedule) -> Result<(), String> {
        let mut updated = HashSet::new();
        for window in &schedule.windows {
            if window.machine_ids.is_empty() {
                return Err("List of machines in the maintenance window is empty".into());
            }
            if window.unavailability.duration.is_some_and(|d| d.nanoseconds < 0) {
                return Err("Unavailability 'duration' is negative".into());
            }
            for id in &window.machine_ids {
                validate_machine(id)?;
                if !updated.insert(key(id)) {
                    return Err(format!("Machine '{id:?}' appears more than once in the schedule"));
                }
            }
        }
        for (machine, info) in &self.machines {
            if info.mode() == Mode::Down && !updated.contains(machine) {
                return Err(format!(
                    "Machine '{:?}' is deactivated and cannot be removed from the schedule",
                    info.id
                ));
            }
        }
        Ok(())
    }

    /// START_MAINTENANCE (`/machine/down`). Mesos: master/http.cpp `_startMaintenance`.
    pub fn start_maintenance(
        &mut self,
        principal: Option<&Principal>,
        ids: Vec<MachineId>,
        request: OperatorRequest,
    ) -> OperatorReply {
        if let Err(reply) = self.check_transition(principal, &ids, Mode::Draining) {
            return reply;
        }
        let after =
            AfterRegistry::Maintenance { done: MaintenanceDone::Started(ids.clone()), request };
        self.registry(RegistryOperation::StartMaintenance(MachineIds { machines: ids }), after);
        OperatorReply::Pending
    }

    /// STOP_MAINTENANCE (`/machine/up`). Mesos: master/http.cpp `_stopMaintenance`.
    pub fn stop_maintenance(
        &mut self,
        principal: Option<&Principal>,
        ids: Vec<MachineId>,
        request: OperatorRequest,
    ) -> OperatorReply {
        if let Err(reply) = self.check_transition(principal, &ids, Mode::Down) {
            return reply;
        }
        let after =
            AfterRegistry::Maintenance { done: MaintenanceDone::Stopped(ids.clone()), request };
        self.registry(RegistryOperation::StopMaintenance(MachineIds { machines: ids }), after);
        OperatorReply::Pending
    }

    /// START/STOP_MAINTENANCE's checks, in Mesos's order: valid machines, each scheduled
    /// and in mode `from` (DRAINING to go down, DOWN to come up), then the ACL.
    fn check_transition(
        &self,
        principal: Option<&Principal>,
        ids: &[MachineId],
        from: Mode,
    ) -> Result<(), OperatorReply> {
        validate_machines(ids).map_err(OperatorReply::BadRequest)?;
        let (mode, verb, action) = match from {
            Mode::Down => ("DOWN", "brought up", Action::StopMaintenance),
            _ => ("DRAINING", "brought down", Action::StartMaintenance),
        };
        for id in ids {
            match self.machines.get(&key(id)) {
                None => {
                    return Err(OperatorReply::BadRequest(format!(
                        "Machine '{id:?}' is not part of a maintenance schedule"
                    )));
                }
                Some(m) if m.mode() != from => {
                    return Err(OperatorReply::BadRequest(format!(
                        "Machine '{id:?}' is not in {mode} mode and cannot be {verb}"
                    )));
                }
                Some(_) => {}
            }
        }
        if !self.authorized(principal, action) {
            return Err(OperatorReply::Forbidden);
        }
        Ok(())
    }

    /// A maintenance change is committed (or failed): act, then answer the operator.
    pub(crate) fn on_maintenance_done(
        &mut self,
        done: MaintenanceDone,
        request: OperatorRequest,
        result: Result<(), String>,
        now: Time,
    ) {
        if result.is_ok() {
            match done {
                MaintenanceDone::Schedule(schedule) => self.apply_schedule(schedule),
                MaintenanceDone::Started(ids) => self.machines_down(&ids, now),
                MaintenanceDone::Stopped(ids) => self.machines_up(&ids),
            }
        }
        self.outbox.push(super::Output::OperatorReply { request, result });
    }

    /// Scheduled machines keep their mode and take the new unavailability; new ones are
    /// DRAINING; unscheduled ones are forgotten (as the registry's `UpdateSchedule`).
    /// The agents of every machine in the old or new schedule have their offers and
    /// inverse offers rescinded and the allocator is told their new unavailability
    /// (Mesos: master/http.cpp `___updateMaintenanceSchedule` calls
    /// `updateUnavailability` for each).
    fn apply_schedule(&mut self, schedule: Schedule) {
        let mut machines = BTreeMap::new();
        for window in &schedule.windows {
            for id in &window.machine_ids {
                let mode = self.machines.get(&key(id)).map(MachineInfo::mode);
                let mut info = MachineInfo {
                    id: id.clone(),
                    mode: None,
                    unavailability: Some(window.unavailability),
                };
                info.set_mode(mode.unwrap_or(Mode::Draining));
                machines.insert(key(id), info);
            }
        }
        let old = std::mem::replace(&mut self.machines, machines);
        self.schedule = (!schedule.windows.is_empty()).then_some(schedule);
        let unscheduled: Vec<MachineKey> =
            old.into_keys().filter(|k| !self.machines.contains_key(k)).collect();
        for machine in unscheduled {
            self.update_unavailability(&machine, None);
        }
        let scheduled: Vec<(MachineKey, Option<mesos::Unavailability>)> =
            self.machines.iter().map(|(k, m)| (k.clone(), m.unavailability)).collect();
        for (machine, unavailability) in scheduled {
            self.update_unavailability(&machine, unavailability);
        }
    }

    /// The machines go DOWN: their agents are shut down and removed.
    fn machines_down(&mut self, ids: &[MachineId], now: Time) {
        let down: HashSet<MachineKey> = ids.iter().map(key).collect();
        let agents: Vec<(AgentId, Pid, mesos::SlaveInfo)> = self
            .agents
            .values()
            .filter(|a| down.contains(&Self::machine_of(&a.info.hostname, &a.pid)))
            .map(|a| (a.id.clone(), a.pid.clone(), a.info.clone()))
            .collect();
        let message = "Operator initiated 'Machine DOWN'";
        for (agent_id, pid, info) in agents {
            let shutdown = internal::ShutdownMessage { message: Some(message.into()) };
            self.send(&pid, Outgoing::Shutdown(shutdown));
            self.registry(RegistryOperation::RemoveAgent(info), AfterRegistry::Nothing);
            self.remove_agent(&agent_id, message, task_status::Reason::SlaveRemoved, now, false);
        }
        for id in ids {
            if let Some(machine) = self.machines.get_mut(&key(id)) {
                machine.set_mode(Mode::Down);
            }
        }
    }

    /// The machines come UP: they leave the schedule (empty windows go too).
    fn machines_up(&mut self, ids: &[MachineId]) {
        let up: HashSet<MachineKey> = ids.iter().map(key).collect();
        self.machines.retain(|k, _| !up.contains(k));
        // A DOWN machine has no agents (they were removed and are refused), so the
        // allocator has nothing to forget: agents registering from now on are plain.
        if let Some(schedule) = &mut self.schedule {
            for window in &mut schedule.windows {
                window.machine_ids.retain(|id| !up.contains(&key(id)));
            }
            schedule.windows.retain(|w| !w.machine_ids.is_empty());
            if schedule.windows.is_empty() {
                self.schedule = None;
            }
        }
    }

    /// The schedule and machines from the registry (Mesos: master.cpp `_recover`).
    pub(crate) fn recover_maintenance(&mut self, registry: &RegistryState) {
        self.schedule = registry.registry().schedules.first().cloned();
        let machines = registry.registry().machines.as_ref().map(|m| m.machines.as_slice());
        for machine in machines.unwrap_or_default() {
            self.machines.insert(key(&machine.info.id), machine.info.clone());
        }
    }
}
