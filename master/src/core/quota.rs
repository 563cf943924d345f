//! Quota and weights on the master: the operator's UPDATE_QUOTA and UPDATE_WEIGHTS
//! (and the legacy SET_QUOTA / REMOVE_QUOTA, `/quota`, `/weights`), validated and
//! authorized here, replicated through the registry, then handed to the allocator.
//!
//! The flow of an update:
//! 1. [`MasterCore::prepare_quota_update`] / [`MasterCore::prepare_weights_update`]
//!    validate the request against Mesos's rules and the `--acls`, and return the
//!    registry operation; nothing changes yet.
//! 2. The actor submits it to the registrar ([`AfterRegistry::QuotaUpdated`] /
//!    [`AfterRegistry::WeightsUpdated`]).
//! 3. Once committed, the master's tables change and the allocator is told.
//!
//! A new leader loads both tables from the registry in `recover`; registry weights
//! override `--weights` for their roles (Mesos: weights in the registry win over the
//! flag). Mesos: master/quota_handler.cpp, master/weights_handler.cpp, master.cpp
//! `_recover` (quotas and weights), master/quota.cpp `validate`.

use std::collections::BTreeMap;

use mesos_proto::mesos::{self, quota::QuotaConfig};
use mesos_proto::resources::{ResourceQuantities, roles};
use mesos_registrar::RegistryState;
use mesos_registrar::operations::{QuotaConfigs, RegistryOperation, Weights};
use mesos_security::{Action, Principal};

use super::registry::AfterRegistry;
use super::{AllocatorCall, MasterCore, MasterError};
use crate::allocator::Quota;

/// Most roles with a quota or a weight (each table); an update past it is refused, so
/// the tables, the registry entry and the allocator's quota bookkeeping stay bounded.
pub const MAX_QUOTA_ROLES: usize = 10_000;

/// The quota names Mesos allows (master/quota.cpp: quota is only for these).
const QUOTA_RESOURCES: [&str; 4] = ["cpus", "mem", "disk", "gpus"];

fn invalid(reason: impl Into<String>) -> MasterError {
    MasterError::InvalidCall { reason: reason.into() }
}

/// A `QuotaConfig`'s scalars as a map of amounts.
fn amounts(map: &BTreeMap<String, mesos::value::Scalar>) -> BTreeMap<String, f64> {
    map.iter().map(|(name, scalar)| (name.clone(), scalar.value)).collect()
}

/// The allocator's view of a `QuotaConfig`.
pub fn allocator_quota(config: &QuotaConfig) -> Quota {
    let mut guarantees = ResourceQuantities::new();
    for (name, amount) in amounts(&config.guarantees) {
        guarantees += &ResourceQuantities::single(&name, amount);
    }
    Quota { guarantees, limits: amounts(&config.limits) }
}

/// Mesos's checks of one config (master/quota.cpp `validate(QuotaConfig)`), plus
/// MESOS-7402's "no quota on nested roles yet".
fn validate_config(config: &QuotaConfig) -> Result<(), MasterError> {
    let role = &config.role;
    roles::validate(role).map_err(|e| invalid(format!("Invalid QuotaConfig: {e}")))?;
    if role == "*" {
        return Err(invalid("Invalid QuotaConfig: Invalid role: '*' cannot have quota"));
    }
    if role.contains('/') {
        return Err(invalid(format!(
            "Updating quota on nested role '{role}' is not supported yet"
        )));
    }
    for (kind, map) in [("guarantees", &config.guarantees), ("limits", &config.limits)] {
        for (name, scalar) in map {
            if !QUOTA_RESOURCES.contains(&name.as_str()) {
                return Err(invalid(format!(
                    "Invalid QuotaConfig: {kind} of '{name}' for role '{role}': \
                     quota is supported only for cpus, mem, disk and gpus"
                )));
            }
            if !(scalar.value.is_finite() && scalar.value >= 0.0) {
                return Err(invalid(format!(
                    "Invalid QuotaConfig: {kind} of '{name}' for role '{role}' must be a \
                     finite number >= 0, not {}",
                    scalar.value
                )));
            }
        }
    }
    for (name, guarantee) in &config.guarantees {
        if let Some(limit) = config.limits.get(name)
            && guarantee.value > limit.value
        {
            return Err(invalid(format!(
                "Invalid QuotaConfig: role '{role}' has guarantee of '{name}' ({}) greater \
                 than its limit ({})",
                guarantee.value, limit.value
            )));
        }
    }
    Ok(())
}

impl MasterCore {
    /// Role weights in force (`--weights` overlaid with the registry's).
    pub fn weights(&self) -> &BTreeMap<String, f64> {
        &self.weights
    }

    /// Quota configs in force, by role.
    pub fn quota_configs(&self) -> &BTreeMap<String, QuotaConfig> {
        &self.quota_configs
    }

    /// A role's weight (1.0 if it has none).
    pub fn weight(&self, role: &str) -> f64 {
        self.weights.get(role).copied().unwrap_or(crate::allocator::sorter::DEFAULT_WEIGHT)
    }

    /// Loads weights and quota from the registry a new leader read, and tells the
    /// allocator (which a new term starts empty). Mesos: master.cpp `_recover`.
    pub(crate) fn load_quota_and_weights(&mut self, registry: &RegistryState) {
        for weight in &registry.registry().weights {
            if let Some(role) = &weight.info.role {
                self.weights.insert(role.clone(), weight.info.weight);
            }
        }
        for config in &registry.registry().quota_configs {
            self.quota_configs.insert(config.role.clone(), config.clone());
        }
        // Quotas set through pre-1.9 SET_QUOTA are guarantees only (and limits equal to
        // them, Mesos's upgrade rule); a newer config of the same role wins.
        #[allow(deprecated)]
        let legacy_quotas = &registry.registry().quotas;
        for legacy in legacy_quotas {
            let Some(role) = legacy.info.role.clone() else { continue };
            if self.quota_configs.contains_key(&role) {
                continue;
            }
            let scalars: BTreeMap<String, mesos::value::Scalar> = legacy
                .info
                .guarantee
                .iter()
                .filter_map(|r| r.scalar.as_ref().map(|s| (r.name.clone(), *s)))
                .collect();
            let config =
                QuotaConfig { role: role.clone(), guarantees: scalars.clone(), limits: scalars };
            self.quota_configs.insert(role, config);
        }
        self.tell_allocator_weights(self.weights.iter().map(|(r, w)| (r.clone(), *w)).collect());
        let configs: Vec<QuotaConfig> = self.quota_configs.values().cloned().collect();
        for config in configs {
            self.allocator(AllocatorCall::UpdateQuota {
                role: config.role.clone(),
                quota: allocator_quota(&config),
            });
        }
    }

    fn tell_allocator_weights(&mut self, weights: Vec<(String, f64)>) {
        if !weights.is_empty() {
            self.allocator(AllocatorCall::UpdateWeights { weights });
        }
    }

    /// What `role` consumes now, as Mesos's quota counts it: resources allocated to it
    /// in outstanding offers and in live tasks. Mesos: `RoleResourceBreakdown::consumedQuota`.
    pub fn role_consumed(&self, role: &str) -> ResourceQuantities {
        let mut consumed = ResourceQuantities::new();
        let mut add = |resources: &mesos_proto::resources::Resources| {
            if let Some(r) = resources.allocations().get(role) {
                consumed += &ResourceQuantities::from_scalar_resources(&r.non_revocable());
            }
        };
        for offer in self.offers.values() {
            add(&offer.resources);
        }
        for framework in self.frameworks.values() {
            for task in framework.tasks.values() {
                if task.state().is_terminal() {
                    continue;
                }
                if let Ok(resources) =
                    mesos_proto::resources::Resources::from_protos(task.resources.clone())
                {
                    add(&resources);
                }
            }
        }
        consumed
    }

    /// Step 1 of UPDATE_QUOTA (and SET_QUOTA / REMOVE_QUOTA): Mesos's validation, then
    /// the `update_quotas` ACLs for every role. `Ok` is the registry operation to commit.
    // Mesos: quota_handler.cpp QuotaHandler::update.
    pub fn prepare_quota_update(
        &self,
        principal: Option<&Principal>,
        configs: &[QuotaConfig],
        force: bool,
    ) -> Result<RegistryOperation, MasterError> {
        let mut seen = std::collections::BTreeSet::new();
        for config in configs {
            validate_config(config)?;
            if !seen.insert(config.role.as_str()) {
                return Err(invalid(format!(
                    "Invalid QuotaConfig: role '{}' appears more than once",
                    config.role
                )));
            }
        }
        for config in configs {
            let consumed = self.role_consumed(&config.role);
            let over = amounts(&config.limits)
                .into_iter()
                .find(|(name, limit)| consumed.get(name) > *limit + f64::EPSILON);
            if let Some((name, limit)) = over
                && !force
            {
                return Err(invalid(format!(
                    "Invalid QuotaConfig: Role '{}' is already consuming '{consumed}'; this is \
                     more than the requested limit {name}:{limit} (use 'force' flag to bypass \
                     this check)",
                    config.role
                )));
            }
        }
        let mut after = self.quota_configs.clone();
        for config in configs {
            after.insert(config.role.clone(), config.clone());
        }
        after.retain(|_, c| !(c.guarantees.is_empty() && c.limits.is_empty()));
        if after.len() > MAX_QUOTA_ROLES {
            return Err(invalid(format!("at most {MAX_QUOTA_ROLES} roles may have a quota")));
        }
        let total: ResourceQuantities = after.values().map(|c| allocator_quota(c).guarantees).fold(
            ResourceQuantities::new(),
            |mut sum, g| {
                sum += &g;
                sum
            },
        );
        let capacity = self.cluster_capacity();
        if !capacity.contains(&total) && !force {
            return Err(invalid(format!(
                "Invalid QuotaConfig: total quota guarantees '{total}' exceed cluster capacity \
                 '{capacity}' (use 'force' flag to bypass this check)"
            )));
        }
        for config in configs {
            if !self.authorized(principal, Action::UpdateQuota { role: &config.role }) {
                return Err(MasterError::Unauthorized {
                    message: format!("Not authorized to update quota for role '{}'", config.role),
                });
            }
        }
        Ok(RegistryOperation::UpdateQuota(QuotaConfigs { configs: configs.to_vec() }))
    }

    /// Non-revocable scalar resources of every registered agent, connected or not.
    // Mesos: quota_handler.cpp, "We include resources from all registered agents".
    fn cluster_capacity(&self) -> ResourceQuantities {
        let mut capacity = ResourceQuantities::new();
        for agent in self.agents.values() {
            capacity += &ResourceQuantities::from_scalar_resources(&agent.total.non_revocable());
        }
        capacity
    }

    /// Step 1 of UPDATE_WEIGHTS: valid roles and positive weights, then the
    /// `update_weights` ACLs for every role. Mesos: weights_handler.cpp `_updateWeights`.
    pub fn prepare_weights_update(
        &self,
        principal: Option<&Principal>,
        weights: &[mesos::WeightInfo],
    ) -> Result<RegistryOperation, MasterError> {
        let mut seen = std::collections::BTreeSet::new();
        for info in weights {
            let role = info.role.as_deref().unwrap_or("");
            roles::validate(role)
                .map_err(|e| invalid(format!("Invalid role '{role}' in weights: {e}")))?;
            if !(info.weight.is_finite() && info.weight > 0.0) {
                return Err(invalid(format!(
                    "Invalid weight '{}' of role '{role}': weights must be positive",
                    info.weight
                )));
            }
            if !seen.insert(role) {
                return Err(invalid(format!("role '{role}' appears more than once")));
            }
        }
        let new_roles = seen.iter().filter(|r| !self.weights.contains_key(**r)).count();
        if self.weights.len() + new_roles > MAX_QUOTA_ROLES {
            return Err(invalid(format!("at most {MAX_QUOTA_ROLES} roles may have a weight")));
        }
        for role in seen {
            if !self.authorized(principal, Action::UpdateWeight { role }) {
                return Err(MasterError::Unauthorized {
                    message: format!("Not authorized to update weight for role '{role}'"),
                });
            }
        }
        Ok(RegistryOperation::UpdateWeights(Weights { weights: weights.to_vec() }))
    }

    /// Step 3: a quota update is committed; the tables and the allocator follow.
    pub(crate) fn on_quota_updated(&mut self, configs: Vec<QuotaConfig>) {
        for config in configs {
            let quota = allocator_quota(&config);
            if quota.is_default() {
                self.quota_configs.remove(&config.role);
            } else {
                self.quota_configs.insert(config.role.clone(), config.clone());
            }
            tracing::info!(role = %config.role, ?quota, "quota updated");
            self.allocator(AllocatorCall::UpdateQuota { role: config.role, quota });
        }
    }

    /// Step 3: a weights update is committed.
    pub(crate) fn on_weights_updated(&mut self, weights: Vec<mesos::WeightInfo>) {
        let mut changed = Vec::new();
        for info in weights {
            let role = info.role.unwrap_or_default();
            self.weights.insert(role.clone(), info.weight);
            changed.push((role, info.weight));
        }
        tracing::info!(?changed, "weights updated");
        self.tell_allocator_weights(changed);
    }

    /// The registry continuation for an update prepared above.
    pub fn after_quota_update(operation: &RegistryOperation) -> AfterRegistry {
        match operation {
            RegistryOperation::UpdateQuota(op) => {
                AfterRegistry::QuotaUpdated { configs: op.configs.clone() }
            }
            RegistryOperation::UpdateWeights(op) => {
                AfterRegistry::WeightsUpdated { weights: op.weights.clone() }
            }
            _ => AfterRegistry::Nothing,
        }
    }
}
