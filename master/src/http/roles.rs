//! Roles as the operator sees them: `/master/roles` and the v1 `GET_ROLES` call.
//!
//! Both list the *known* roles and only those the `view_roles` ACLs let the caller see.
//! A role is known when it is in `--roles` (then only those are), or else when a
//! framework is subscribed to it or holds resources in it, an agent has resources
//! reserved to it, or it has a weight or a quota; the ancestors of a known role are
//! known too. Each role's figures cover its subroles (`a` counts what `a/b` holds):
//!
//! - *allocated*: what its frameworks' tasks and executors use; *offered*: what is in
//!   their outstanding offers; *reserved*: what the agents have reserved to it;
//! - *consumed quota* (Mesos 1.9+): allocated, plus the reservations nobody uses
//!   (reserved minus what tasks use of them): a reservation counts against its role's
//!   quota whether or not it is allocated.
//!
//! `/master/roles` shows all of that with the role's quota (`guarantee`, `limit`,
//! `consumed`) and weight. `GET_ROLES` carries what Mesos 1.11's `Role` message has:
//! weight, frameworks, and allocated plus offered as `resources` (`cpus`, `mem`, `disk`,
//! `gpus` only); its quota is `GET_QUOTA`'s.
//!
//! Mesos: master/readonly_handler.cpp `roles`, `getRoles`; master.cpp `knownRoles`,
//! `RoleResourceBreakdown`.

use std::collections::{BTreeMap, BTreeSet};

use mesos_proto::http_api::evolve;
use mesos_proto::mesos::{self, v1};
use mesos_proto::resources::{ResourceQuantities, Resources, roles};
use mesos_security::{Action, Authorizer, Principal};
use serde_json::{Value, json};

use super::endpoints::DEFAULT_WEIGHT;
use super::query::{Query, QueryError};
use crate::snapshot::StateSnapshot;

/// One known role and its figures (each covering its subroles).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleView {
    /// The role.
    pub name: String,
    /// Its weight (`--weights` or `UPDATE_WEIGHTS`; 1 when none is set).
    pub weight: f64,
    /// Its quota, if it has one.
    pub quota: Option<mesos::quota::QuotaConfig>,
    /// Used by its frameworks' tasks and executors.
    pub allocated: ResourceQuantities,
    /// In its frameworks' outstanding offers.
    pub offered: ResourceQuantities,
    /// Reserved to it on the agents.
    pub reserved: ResourceQuantities,
    /// What counts against its quota: allocated plus unused reservations.
    pub consumed: ResourceQuantities,
    /// Frameworks subscribed to exactly this role.
    pub frameworks: Vec<String>,
}

/// Whether `principal` may see `role` (`view_roles`); true without ACLs.
pub fn may_view_role(
    authorizer: Option<&Authorizer>,
    principal: Option<&Principal>,
    role: &str,
) -> bool {
    authorizer.is_none_or(|a| a.authorize(principal, Action::ViewRole { role }))
}

/// The known roles: `--roles` if given, else the roles of frameworks, allocations,
/// reservations, weights and quotas; with their ancestors, sorted.
// Mesos: master.cpp Master::knownRoles.
fn known_roles(s: &StateSnapshot) -> BTreeSet<String> {
    let listed: Vec<String> = s
        .flags
        .iter()
        .find(|(name, _)| name == "roles")
        .map(|(_, v)| v.split(',').map(str::trim).filter(|r| !r.is_empty()).map(String::from))
        .into_iter()
        .flatten()
        .collect();
    let named: Vec<String> = if listed.is_empty() {
        let mut named: Vec<String> = s.frameworks.iter().flat_map(|f| f.roles.clone()).collect();
        for agent in &s.agents {
            named.extend(agent.used_total().allocations().into_keys());
            named.extend(agent.total.reservations().into_keys());
        }
        named.extend(s.weights.keys().cloned());
        named.extend(s.quota_configs.keys().cloned());
        named
    } else {
        listed
    };
    let mut known = BTreeSet::new();
    for role in named {
        known.extend(roles::ancestors(&role).into_iter().map(String::from));
        known.insert(role);
    }
    known
}

/// Quantities of `resources` allocated to `role`'s subtree (ranges and sets counted by
/// their elements, as Mesos's `ResourceQuantities::fromResources` does).
fn allocated_to(resources: &Resources, role: &str) -> ResourceQuantities {
    ResourceQuantities::from_resources(&resources.allocated_to_role_subtree(role))
}

/// Quantities of `resources` reserved to `role`'s subtree.
fn reserved_to(resources: &Resources, role: &str) -> ResourceQuantities {
    ResourceQuantities::from_resources(&resources.reserved_to_role_subtree(role))
}

/// The figures of every known role `visible` accepts.
// Mesos: master.cpp RoleResourceBreakdown (offered, allocated, reserved, consumedQuota).
pub fn role_views(s: &StateSnapshot, visible: impl Fn(&str) -> bool) -> Vec<RoleView> {
    let used: Vec<(Resources, &Resources)> =
        s.agents.iter().map(|agent| (agent.used_total(), &agent.total)).collect();
    let mut frameworks_of: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for framework in &s.frameworks {
        for role in &framework.roles {
            frameworks_of.entry(role).or_default().push(framework.id.to_string());
        }
    }
    known_roles(s)
        .into_iter()
        .filter(|role| visible(role))
        .map(|name| {
            let mut allocated = ResourceQuantities::new();
            let mut reserved = ResourceQuantities::new();
            let mut unused_reservations = ResourceQuantities::new();
            for (used, total) in &used {
                allocated += &allocated_to(used, &name);
                let on_agent = reserved_to(total, &name);
                unused_reservations += &(&on_agent - &reserved_to(used, &name));
                reserved += &on_agent;
            }
            let offered = s
                .offers
                .iter()
                .map(|o| allocated_to(&o.resources, &name))
                .fold(ResourceQuantities::new(), |sum, q| &sum + &q);
            RoleView {
                weight: s.weights.get(&name).copied().unwrap_or(DEFAULT_WEIGHT),
                quota: s.quota_configs.get(&name).cloned(),
                consumed: &allocated + &unused_reservations,
                allocated,
                offered,
                reserved,
                frameworks: frameworks_of.get(name.as_str()).cloned().unwrap_or_default(),
                name,
            }
        })
        .collect()
}

/// A quota config's scalars as JSON (`{"cpus": 1.0}`).
fn scalars_json(map: &BTreeMap<String, mesos::value::Scalar>) -> Value {
    Value::Object(map.iter().map(|(name, s)| (name.clone(), json!(s.value))).collect())
}

fn quantities_json(quantities: &ResourceQuantities) -> Value {
    Value::Object(
        quantities.iter().map(|(name, amount)| (name.to_string(), json!(amount))).collect(),
    )
}

/// `/master/roles` of the roles `visible` accepts.
pub fn roles_json(s: &StateSnapshot, visible: impl Fn(&str) -> bool) -> Value {
    let list: Vec<Value> = role_views(s, visible)
        .into_iter()
        .map(|role| {
            let guarantee = role.quota.as_ref().map(|c| scalars_json(&c.guarantees));
            let limit = role.quota.as_ref().map(|c| scalars_json(&c.limits));
            // Mesos keeps the pre-1.9 shape: `role`, singular `guarantee` and `limit`.
            json!({
                "name": role.name,
                "weight": role.weight,
                "quota": {
                    "role": role.name,
                    "guarantee": guarantee.unwrap_or(json!({})),
                    "limit": limit.unwrap_or(json!({})),
                    "consumed": quantities_json(&role.consumed),
                },
                "resources": quantities_json(&(&role.allocated + &role.offered)),
                "allocated": quantities_json(&role.allocated),
                "offered": quantities_json(&role.offered),
                "reserved": quantities_json(&role.reserved),
                "frameworks": role.frameworks,
            })
        })
        .collect();
    json!({ "roles": list })
}

/// `/master/roles` without ACLs (every known role).
pub fn roles(s: &StateSnapshot, _query: &Query) -> Result<Value, QueryError> {
    Ok(roles_json(s, |_| true))
}

/// GET_ROLES: the roles the `view_roles` ACLs let `principal` see.
// Mesos: master/readonly_handler.cpp ReadOnlyHandler::getRoles.
pub fn get_roles(
    s: &StateSnapshot,
    authorizer: Option<&Authorizer>,
    principal: Option<&Principal>,
) -> v1::master::response::GetRoles {
    let roles = role_views(s, |role| may_view_role(authorizer, principal, role))
        .into_iter()
        .map(|role| {
            let used = &role.allocated + &role.offered;
            // Only names known to be scalars, as Mesos does.
            let resources = ["cpus", "mem", "disk", "gpus"]
                .into_iter()
                .filter(|name| used.get(name) > 0.0)
                .map(|name| {
                    evolve(&mesos::Resource {
                        name: name.to_string(),
                        r#type: mesos::value::Type::Scalar as i32,
                        scalar: Some(mesos::value::Scalar { value: used.get(name) }),
                        ..Default::default()
                    })
                })
                .collect();
            let frameworks =
                role.frameworks.into_iter().map(|value| v1::FrameworkId { value }).collect();
            v1::Role { name: role.name, weight: role.weight, frameworks, resources }
        })
        .collect();
    v1::master::response::GetRoles { roles }
}
