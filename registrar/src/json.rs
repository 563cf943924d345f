//! The registry as JSON, for `mesos-registry dump|restore` (backups).
//!
//! ```text
//! {
//!   "registry": { ...mesos.internal.Registry in Mesos's JSON mapping... },
//!   "frameworks": [ { "info": {FrameworkInfo}, "registered_time": {"nanoseconds": n},
//!                     "disconnected_since": {"nanoseconds": n} } ],
//!   "completed_frameworks": [ "id", ... ],
//!   "ids": { "cluster_id": "...", "next_agent": n, "next_framework": n },
//!   "raft": { "applied_index": n }            (dump only; ignored by restore)
//! }
//! ```

use mesos_proto::json::{from_json, to_json};
use mesos_proto::mesos::internal::Registry;
use mesos_proto::mesos::{FrameworkInfo, TimeInfo};
use serde_json::{Value, json};

use crate::state::{IdCounters, RegisteredFramework, RegistrySnapshot};
use crate::{RegistryError, RegistryState};

fn invalid(reason: impl Into<String>) -> RegistryError {
    RegistryError::Invalid { reason: reason.into() }
}

/// Renders the registry as JSON.
pub fn to_registry_json(state: &RegistryState) -> Value {
    let frameworks: Vec<Value> = state
        .frameworks()
        .values()
        .map(|f| {
            let mut object = serde_json::Map::new();
            if let Some(info) = &f.info {
                object.insert("info".into(), to_json(info));
            }
            if let Some(t) = &f.registered_time {
                object.insert("registered_time".into(), to_json(t));
            }
            if let Some(t) = &f.disconnected_since {
                object.insert("disconnected_since".into(), to_json(t));
            }
            Value::Object(object)
        })
        .collect();
    let ids = state.ids();
    json!({
        "registry": to_json(state.registry()),
        "frameworks": frameworks,
        "completed_frameworks": state.completed_frameworks().collect::<Vec<_>>(),
        "ids": {
            "cluster_id": ids.cluster_id,
            "next_agent": ids.next_agent,
            "next_framework": ids.next_framework,
        },
    })
}

fn u64_field(object: &Value, name: &str) -> Result<u64, RegistryError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(value) => value
            .as_u64()
            .ok_or_else(|| invalid(format!("ids.{name} is not a non-negative integer"))),
    }
}

fn framework_from_json(value: &Value) -> Result<RegisteredFramework, RegistryError> {
    let message = |name: &str| value.get(name).filter(|v| !v.is_null());
    let info = message("info")
        .map(from_json::<FrameworkInfo>)
        .transpose()
        .map_err(|e| invalid(format!("frameworks[].info: {e}")))?;
    let time = |name: &str| {
        message(name)
            .map(from_json::<TimeInfo>)
            .transpose()
            .map_err(|e| invalid(format!("frameworks[].{name}: {e}")))
    };
    Ok(RegisteredFramework {
        info,
        registered_time: time("registered_time")?,
        disconnected_since: time("disconnected_since")?,
    })
}

/// Parses JSON made by [`to_registry_json`] back into a registry.
pub fn from_registry_json(value: &Value) -> Result<RegistryState, RegistryError> {
    let registry = match value.get("registry") {
        Some(r) if !r.is_null() => {
            from_json::<Registry>(r).map_err(|e| invalid(format!("registry: {e}")))?
        }
        _ => Registry::default(),
    };
    let frameworks = match value.get("frameworks") {
        Some(Value::Array(items)) => {
            items.iter().map(framework_from_json).collect::<Result<Vec<_>, _>>()?
        }
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(invalid("frameworks is not an array")),
    };
    let completed_frameworks = match value.get("completed_frameworks") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid("completed_frameworks holds a non-string"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(invalid("completed_frameworks is not an array")),
    };
    let ids_json = value.get("ids").cloned().unwrap_or(Value::Null);
    let ids = IdCounters {
        cluster_id: ids_json
            .get("cluster_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        next_agent: u64_field(&ids_json, "next_agent")?,
        next_framework: u64_field(&ids_json, "next_framework")?,
    };
    RegistryState::from_snapshot(RegistrySnapshot {
        registry: Some(registry),
        frameworks,
        completed_frameworks,
        ids: Some(ids),
    })
}
