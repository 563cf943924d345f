//! `GET /master/raft`: this master's view of its raft group, answered by every master.

use std::collections::HashMap;
use std::sync::Arc;

use http::StatusCode;
use libprocess::Context;
use libprocess::http::{self as lhttp, Response};
use serde_json::{Value, json};

use crate::leadership::LeaderView;
use crate::process::MasterProcess;
use mesos_registrar::{RaftStatus, Registrar};

/// Installs `/raft`: this master's raft id, term, role, leader, commit and applied
/// index, snapshot index, and the members with their replication progress (as the
/// leader sees it). `404` under `--registry=in_memory`; `503` if the registrar cannot
/// answer.
pub(super) fn install(
    ctx: &mut Context<'_, MasterProcess>,
    registrar: &Arc<dyn Registrar>,
    view: &Arc<LeaderView>,
) {
    let (registrar, view) = (registrar.clone(), view.clone());
    ctx.route_shared(
        "/raft",
        Arc::new(move |_request| {
            let status = registrar.raft_status();
            let (registrar, view) = (registrar.clone(), view.clone());
            Box::pin(async move {
                let Some(status) = status else {
                    return lhttp::text(
                        StatusCode::NOT_FOUND,
                        "this master runs --registry=in_memory: no raft",
                    );
                };
                match status.await {
                    Ok(status) => {
                        lhttp::json(StatusCode::OK, &raft_json(&status, &*registrar, &view))
                    }
                    Err(error) => lhttp::text(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
                }
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>
        }),
    );
}

/// The `/raft` document: `status` with every member's address and progress.
fn raft_json(status: &RaftStatus, registrar: &dyn Registrar, view: &LeaderView) -> Value {
    let address_of = |id: u64| registrar.address_of(id).map(|a| a.to_string());
    let progress: HashMap<u64, (u64, u64)> =
        status.progress.iter().map(|(id, matched, next)| (*id, (*matched, *next))).collect();
    let members: Vec<Value> = status
        .members
        .iter()
        .map(|id| {
            let (matched, next) = progress.get(id).copied().unzip();
            json!({ "id": id, "address": address_of(*id), "matched": matched, "next": next })
        })
        .collect();
    json!({
        "id": status.id,
        "term": status.term,
        "role": status.role,
        "leader": status.leader,
        "leader_address": address_of(status.leader),
        "leading": view.is_leading(),
        "commit": status.commit,
        "applied": status.applied,
        "snapshot_index": status.snapshot_index,
        "members": members,
    })
}
