//! Operation feedback (issue 15, section 1): operations with an id are tracked, sent to
//! the agent, answered, acknowledged and reconciled. Ports of Mesos's
//! `OperationReconciliationTest` scenarios (src/tests/operation_reconciliation_tests.cpp)
//! with a fake agent that has the AGENT_OPERATION_FEEDBACK capability.

use std::time::Duration;

use mesos_proto::mesos::internal::{self, UpdateOperationStatusMessage, update_slave_message};
use mesos_proto::mesos::{self, OperationState, offer, scheduler};

use super::reservations::{ROLE, reserve, reserved, role_framework};
use super::support::{AgentMsg, Cluster, FakeAgent, FakeScheduler};

/// Registers `agent` as a Mesos 1.11 agent with operation feedback.
async fn register_with_feedback(agent: &mut FakeAgent, cluster: &Cluster) {
    agent.send(internal::RegisterSlaveMessage {
        slave: agent.info(),
        version: Some("1.11.0".into()),
        agent_capabilities: feedback_capabilities(),
        ..Default::default()
    });
    cluster.settle().await;
    let id = agent.drain().into_iter().find_map(|m| match m {
        AgentMsg::Registered(r) => Some(r.slave_id),
        _ => None,
    });
    agent.id = Some(id.expect("SlaveRegisteredMessage"));
}

async fn setup(cluster: &Cluster) -> (FakeAgent, FakeScheduler, mesos::Offer) {
    let mut agent = cluster.agent("cpus:2;mem:512");
    register_with_feedback(&mut agent, cluster).await;
    let mut scheduler = cluster.scheduler();
    scheduler.subscribe(cluster, role_framework("fw", ROLE)).await;
    cluster.settle().await;
    let mut offers = scheduler.offers();
    assert_eq!(offers.len(), 1);
    (agent, scheduler, offers.remove(0))
}

fn reserve_with_id(id: &str) -> offer::Operation {
    let mut operation = reserve(&reserved("cpus:1", ROLE));
    operation.id = Some(mesos::OperationId { value: id.into() });
    operation
}

fn applied(agent: &mut FakeAgent) -> Vec<internal::ApplyOperationMessage> {
    agent
        .drain()
        .into_iter()
        .filter_map(|m| match m {
            AgentMsg::ApplyOperation(a) => Some(a),
            AgentMsg::CheckpointResources(_) => panic!("no whole checkpoint for feedback"),
            _ => None,
        })
        .collect()
}

/// The agent's `UpdateSlaveMessage` reporting that it holds `apply`'s operation with
/// `status` as its latest (what an agent sends after a (re-)registration).
fn report_held(
    agent: &FakeAgent,
    apply: &internal::ApplyOperationMessage,
    status: &UpdateOperationStatusMessage,
) {
    let operation = mesos::Operation {
        framework_id: apply.framework_id.clone(),
        slave_id: agent.id.clone(),
        info: apply.operation_info.clone(),
        latest_status: status.status.clone(),
        statuses: vec![status.status.clone()],
        uuid: apply.operation_uuid.clone(),
    };
    agent.send(internal::UpdateSlaveMessage {
        slave_id: agent.id.clone().unwrap(),
        operations: Some(update_slave_message::Operations { operations: vec![operation] }),
        ..Default::default()
    });
}

/// What the agent answers: `state` for `apply`, with status uuid `status_uuid`.
fn answer(
    agent: &FakeAgent,
    apply: &internal::ApplyOperationMessage,
    state: OperationState,
    status_uuid: Option<&[u8]>,
) -> UpdateOperationStatusMessage {
    let status = mesos::OperationStatus {
        operation_id: apply.operation_info.id.clone(),
        state: state as i32,
        uuid: status_uuid.map(|u| mesos::Uuid { value: u.to_vec() }),
        slave_id: agent.id.clone(),
        ..Default::default()
    };
    UpdateOperationStatusMessage {
        framework_id: apply.framework_id.clone(),
        slave_id: agent.id.clone(),
        latest_status: Some(status.clone()),
        status,
        operation_uuid: Some(apply.operation_uuid.clone()),
    }
}

fn reconcile(scheduler: &FakeScheduler, operations: Vec<(&str, Option<mesos::SlaveId>)>) {
    let operations = operations
        .into_iter()
        .map(|(id, slave_id)| scheduler::call::reconcile_operations::Operation {
            operation_id: mesos::OperationId { value: id.into() },
            slave_id,
            resource_provider_id: None,
        })
        .collect();
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::ReconcileOperations as i32),
        reconcile_operations: Some(scheduler::call::ReconcileOperations { operations }),
        ..Default::default()
    });
}

fn acknowledge(scheduler: &FakeScheduler, agent: &FakeAgent, id: &str, uuid: &[u8]) {
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::AcknowledgeOperationStatus as i32),
        acknowledge_operation_status: Some(scheduler::call::AcknowledgeOperationStatus {
            slave_id: agent.id.clone(),
            resource_provider_id: None,
            uuid: uuid.to_vec(),
            operation_id: mesos::OperationId { value: id.into() },
        }),
        ..Default::default()
    });
}

const STATUS_UUID: &[u8] = b"0123456789abcdef";

/// A RESERVE with an id goes to the agent as `ApplyOperationMessage` and is tracked as
/// OPERATION_PENDING (reconciliation says so); the agent's OPERATION_FINISHED reaches
/// the framework; its acknowledgement reaches the agent and ends the operation, after
/// which it is unknown (`OperationReconciliationTest.PendingOperation` and
/// `.UnknownOperationKnownAgent`).
#[actix_rt::test]
async fn operation_finishes_is_acknowledged_and_forgotten() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, offer) = setup(&cluster).await;
    scheduler.accept_operations(vec![offer.id.clone()], vec![reserve_with_id("op1")]);
    cluster.settle().await;
    let apply = applied(&mut agent);
    assert_eq!(apply.len(), 1);
    assert_eq!(apply[0].operation_info.id.as_ref().unwrap().value, "op1");
    assert_eq!(cluster.inspect(|m| m.operations().count()).await, 1);

    reconcile(&scheduler, vec![("op1", agent.id.clone())]);
    cluster.settle().await;
    let statuses = scheduler.operation_statuses();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].state(), OperationState::OperationPending);

    agent.send(answer(&agent, &apply[0], OperationState::OperationFinished, Some(STATUS_UUID)));
    cluster.settle().await;
    let statuses = scheduler.operation_statuses();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].state(), OperationState::OperationFinished);
    assert_eq!(statuses[0].uuid.as_ref().unwrap().value, STATUS_UUID);

    reconcile(&scheduler, vec![]);
    cluster.settle().await;
    let statuses = scheduler.operation_statuses();
    assert_eq!(statuses.len(), 1, "implicit reconciliation lists the operation");
    assert_eq!(statuses[0].state(), OperationState::OperationFinished);
    assert!(statuses[0].uuid.is_none(), "reconciliation answers are not reliable");

    acknowledge(&scheduler, &agent, "op1", STATUS_UUID);
    cluster.settle().await;
    let acks: Vec<_> = agent
        .drain()
        .into_iter()
        .filter_map(|m| match m {
            AgentMsg::AckOperation(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].status_uuid.value, STATUS_UUID);
    assert_eq!(acks[0].operation_uuid, apply[0].operation_uuid);
    assert_eq!(cluster.inspect(|m| m.operations().count()).await, 0);

    reconcile(&scheduler, vec![("op1", agent.id.clone())]);
    cluster.settle().await;
    let statuses = scheduler.operation_statuses();
    assert_eq!(statuses[0].state(), OperationState::OperationUnknown);
}

/// Reconciliation of operations the master does not know answers by the agent's
/// state: unknown agent or none named -> OPERATION_UNKNOWN
/// (`OperationReconciliationTest.UnknownOperationUnknownAgent`); an agent marked
/// unreachable -> its pending operations end OPERATION_UNREACHABLE, and asking again
/// answers OPERATION_UNREACHABLE (`.UnknownOperationUnreachableAgent`).
#[actix_rt::test]
async fn reconciliation_answers_by_agent_state() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, offer) = setup(&cluster).await;
    let stranger = mesos::SlaveId { value: "no-such-agent".into() };
    reconcile(&scheduler, vec![("x", Some(stranger)), ("y", None)]);
    cluster.settle().await;
    let statuses = scheduler.operation_statuses();
    assert_eq!(statuses.len(), 2);
    assert!(statuses.iter().all(|s| s.state() == OperationState::OperationUnknown));

    scheduler.accept_operations(vec![offer.id.clone()], vec![reserve_with_id("op1")]);
    cluster.settle().await;
    assert_eq!(applied(&mut agent).len(), 1);
    agent.pong.store(false, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..7 {
        cluster.advance(Duration::from_secs(15)).await;
    }
    let statuses = scheduler.operation_statuses();
    assert!(
        statuses.iter().any(|s| s.state() == OperationState::OperationUnreachable),
        "{statuses:?}"
    );
    assert_eq!(cluster.inspect(|m| m.operations().count()).await, 0);
    reconcile(&scheduler, vec![("op1", agent.id.clone())]);
    cluster.settle().await;
    let statuses = scheduler.operation_statuses();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].state(), OperationState::OperationUnreachable);
}

/// What a new leading master sees after a failover: the agent reports an operation
/// it holds (`UpdateSlaveMessage`) that this master never sent; the master learns it,
/// the agent's resent status reaches the framework and the acknowledgement reaches the
/// agent, so no acknowledgement is lost. An operation the master sent but the agent
/// does not report is asked about (`ReconcileOperationsMessage`); the agent's
/// OPERATION_DROPPED ends it (`OperationReconciliationTest.AgentPendingOperationAfterMasterFailover`
/// and `.PendingOperationDroppedAfterAgentRestart` in spirit).
#[actix_rt::test]
async fn agent_reports_operations_after_reregistration() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, offer) = setup(&cluster).await;
    scheduler.accept_operations(vec![offer.id.clone()], vec![reserve_with_id("sent")]);
    cluster.settle().await;
    let sent = applied(&mut agent).remove(0);

    // An operation of this framework from before the failover, finished, unacknowledged.
    let mut earlier = sent.clone();
    earlier.operation_info.id = Some(mesos::OperationId { value: "earlier".into() });
    earlier.operation_uuid = mesos::Uuid { value: b"earlier-uuid".to_vec() };
    let held = answer(&agent, &earlier, OperationState::OperationFinished, Some(STATUS_UUID));
    report_held(&agent, &earlier, &held);
    cluster.settle().await;
    let asked = agent.drain().into_iter().find_map(|m| match m {
        AgentMsg::ReconcileOperations(r) => Some(r),
        _ => None,
    });
    let asked = asked.expect("the unreported operation is asked about");
    assert_eq!(asked.operations.len(), 1);
    assert_eq!(asked.operations[0].operation_uuid.as_ref(), Some(&sent.operation_uuid));
    assert_eq!(cluster.inspect(|m| m.operations().count()).await, 2);

    let mut dropped = answer(&agent, &sent, OperationState::OperationDropped, None);
    dropped.framework_id = None;
    dropped.latest_status = None;
    agent.send(dropped);
    agent.send(held);
    cluster.settle().await;
    let statuses = scheduler.operation_statuses();
    let state_of = |id: &str| {
        statuses.iter().find(|s| s.operation_id.as_ref().unwrap().value == id).map(|s| s.state())
    };
    assert_eq!(state_of("sent"), Some(OperationState::OperationDropped));
    assert_eq!(state_of("earlier"), Some(OperationState::OperationFinished));

    acknowledge(&scheduler, &agent, "earlier", STATUS_UUID);
    cluster.settle().await;
    let acked = agent.drain().into_iter().any(
        |m| matches!(m, AgentMsg::AckOperation(a) if a.operation_uuid.value == b"earlier-uuid"),
    );
    assert!(acked, "the acknowledgement reaches the agent");
    assert_eq!(cluster.inspect(|m| m.operations().count()).await, 0);
}

/// An agent without AGENT_OPERATION_FEEDBACK (an old one) cannot give feedback: the
/// operation is refused with OPERATION_ERROR naming the capabilities, as in Mesos.
#[actix_rt::test]
async fn agent_without_feedback_capability_refuses_operations_with_ids() {
    let cluster = Cluster::start(|_| {});
    let (_agent, mut scheduler, offer) = super::reservations::setup(&cluster, "cpus:1").await;
    scheduler.accept_operations(vec![offer.id.clone()], vec![reserve_with_id("op1")]);
    cluster.settle().await;
    let statuses = scheduler.operation_statuses();
    assert_eq!(statuses[0].state(), OperationState::OperationError);
    assert!(statuses[0].message().contains("AGENT_OPERATION_FEEDBACK"));
}

fn feedback_capabilities() -> Vec<mesos::slave_info::Capability> {
    use mesos::slave_info::capability::Type;
    [Type::MultiRole, Type::ResourceProvider, Type::AgentOperationFeedback, Type::AgentDraining]
        .into_iter()
        .map(|t| mesos::slave_info::Capability { r#type: Some(t as i32) })
        .collect()
}

/// `OperationReconciliationTest.AgentPendingOperationAfterMasterFailover` in spirit, with
/// a real raft group: the leader sends the operation, the agent finishes it, the leader
/// dies before the framework acknowledges. The agent re-registers with the new leader
/// and reports the operation (`UpdateSlaveMessage`); its status, resent, reaches the
/// re-subscribed framework (not before: the master neither forwards nor acknowledges it
/// while the framework is away), and the framework's acknowledgement reaches the agent.
#[actix_rt::test]
async fn no_acknowledgement_is_lost_across_master_failover() {
    let cluster = Cluster::start_ha(3, |_| {});
    let leader = cluster.elect().await;
    let leader_pid = cluster.masters[leader].1.master.pid().clone();
    let mut agent = cluster.agent("cpus:2;mem:512");
    agent.master = leader_pid.clone();
    register_with_feedback(&mut agent, &cluster).await;
    let mut scheduler = cluster.scheduler();
    scheduler.master = leader_pid;
    let mut info = role_framework("fw", ROLE);
    info.failover_timeout = Some(3600.0);
    let framework_id = scheduler.subscribe(&cluster, info.clone()).await;
    cluster.settle().await;
    let offer = scheduler.offers().remove(0);
    scheduler.accept_operations(vec![offer.id.clone()], vec![reserve_with_id("op1")]);
    cluster.settle().await;
    let apply = applied(&mut agent).remove(0);
    let finished = answer(&agent, &apply, OperationState::OperationFinished, Some(STATUS_UUID));

    let new_leader = cluster.fail_over(leader).await;
    let new_master = cluster.masters[new_leader].1.master.clone();

    // The agent comes back, reports the operation and resends its status.
    agent.master = new_master.pid().clone();
    let mut registered_info = info.clone();
    registered_info.id = Some(framework_id.clone());
    agent.send(internal::ReregisterSlaveMessage {
        slave: agent.info(),
        checkpointed_resources: reserved("cpus:1", ROLE).to_protos(),
        frameworks: vec![registered_info.clone()],
        version: Some("1.11.0".into()),
        agent_capabilities: feedback_capabilities(),
        ..Default::default()
    });
    cluster.settle().await;
    report_held(&agent, &apply, &finished);
    agent.send(finished.clone());
    cluster.settle().await;
    let new_pid = new_master.pid().clone();
    let known = new_master.dispatch(|m, _| m.core().operations().count()).await.unwrap();
    assert_eq!(known, 1, "the new leader learned the operation from the agent");
    let early_acks =
        agent.drain().iter().filter(|m| matches!(m, AgentMsg::AckOperation(_))).count();
    assert_eq!(early_acks, 0, "nobody acknowledges for a framework that may come back");

    // The framework re-subscribes; the agent's next resend reaches it.
    scheduler.resubscribe(new_pid, &framework_id, registered_info);
    cluster.settle().await;
    agent.send(finished);
    cluster.settle().await;
    let statuses = scheduler.operation_statuses();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(statuses[0].state(), OperationState::OperationFinished);
    acknowledge(&scheduler, &agent, "op1", STATUS_UUID);
    cluster.settle().await;
    let acked = agent.drain().into_iter().any(
        |m| matches!(m, AgentMsg::AckOperation(a) if a.operation_uuid == apply.operation_uuid),
    );
    assert!(acked, "the acknowledgement reaches the agent through the new leader");
    let known = new_master.dispatch(|m, _| m.core().operations().count()).await.unwrap();
    assert_eq!(known, 0);
}

/// The agent fails an operation the master applied speculatively: the master's books
/// follow the agent. The reservation leaves the master's agent total, the allocator
/// converts it back, and the next offer holds the unreserved cpus again; the framework
/// hears OPERATION_FAILED. (Mesos's agent aborts on such a failure and re-registers
/// with its checkpointed resources, which the master adopts; the outcome is the same.)
#[actix_rt::test]
async fn failed_operation_leaves_master_and_agent_agreeing() {
    let cluster = Cluster::start(|_| {});
    let (mut agent, mut scheduler, offer) = setup(&cluster).await;
    scheduler.accept_operations(vec![offer.id.clone()], vec![reserve_with_id("op1")]);
    cluster.settle().await;
    let apply = applied(&mut agent);
    assert_eq!(apply.len(), 1);
    let total = |core: &mesos_master::core::MasterCore| {
        core.agents().next().expect("the agent").total.clone()
    };
    let reservation = reserved("cpus:1", ROLE);
    assert!(cluster.inspect(total).await.contains(&reservation), "applied speculatively");

    let mut failed = answer(&agent, &apply[0], OperationState::OperationFailed, Some(STATUS_UUID));
    failed.status.message = Some("Failed to create the volume's directory".into());
    failed.latest_status = Some(failed.status.clone());
    agent.send(failed);
    cluster.settle().await;
    let received = scheduler.drain();
    scheduler.pending = received.clone();
    let statuses = scheduler.operation_statuses();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].state(), OperationState::OperationFailed);
    let after = cluster.inspect(total).await;
    assert!(!after.contains(&reservation), "the master follows the agent: {after}");
    assert_eq!(after, mesos_proto::resources::Resources::parse("cpus:2;mem:512").unwrap());

    // The allocator follows too: the next offer holds no reservation.
    scheduler.pending = received;
    let offers = scheduler.offers();
    assert_eq!(offers.len(), 1, "re-offered");
    let mut offered =
        mesos_proto::resources::Resources::from_protos(offers[0].resources.clone()).unwrap();
    offered.unallocate();
    assert_eq!(offered, mesos_proto::resources::Resources::parse("cpus:2;mem:512").unwrap());
}

/// GET_OPERATIONS shows an operation only to callers `view_roles` lets see every
/// resource it consumes (Mesos's `Master::Http::getOperations` with the VIEW_ROLE
/// approver): `ops` sees the RESERVE for `role1`, `dev` (no `role1`) sees none.
#[actix_rt::test]
async fn get_operations_is_filtered_by_view_roles() {
    use serde_json::json;
    let acls = json!({"view_roles": [
        {"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}},
        {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}},
    ]});
    let authorizer = mesos_security::Authorizer::from_flag(&acls.to_string()).expect("valid ACLs");
    let cluster = Cluster::start(move |options| {
        options.authorizer = Some(std::sync::Arc::new(authorizer));
    });
    let (mut agent, scheduler, offer) = setup(&cluster).await;
    scheduler.accept_operations(vec![offer.id.clone()], vec![reserve_with_id("op1")]);
    cluster.settle().await;
    assert_eq!(applied(&mut agent).len(), 1);
    let listed = |principal: &'static str| {
        let cluster = &cluster;
        async move {
            let body = json!({"type": "GET_OPERATIONS"});
            let (status, value) =
                super::roles::call(cluster, "/api/v1", Some(principal), Some(body)).await;
            assert_eq!(status, http::StatusCode::OK, "{value}");
            value["get_operations"]["operations"].as_array().cloned().unwrap_or_default()
        }
    };
    let seen = listed("ops").await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["info"]["id"]["value"], "op1");
    assert!(listed("dev").await.is_empty(), "role1 is hidden from dev");
}

/// `MasterDrainingTest` with an operation: a draining agent with no tasks but an
/// operation the framework has not acknowledged stays DRAINING (Mesos's
/// `checkAndTransitionDrainingAgent` checks `slave->operations`); the acknowledgement of
/// its terminal status makes it DRAINED.
#[actix_rt::test]
async fn drain_waits_for_pending_operations() {
    use serde_json::json;
    let cluster = Cluster::start(|_| {});
    let (mut agent, scheduler, offer) = setup(&cluster).await;
    scheduler.accept_operations(vec![offer.id.clone()], vec![reserve_with_id("op1")]);
    cluster.settle().await;
    let apply = applied(&mut agent);
    let id = agent.id.clone().unwrap();
    let drain = json!({"type": "DRAIN_AGENT", "drain_agent": {"agent_id": {"value": id.value}}});
    let (status, body) = super::roles::call(&cluster, "/api/v1", None, Some(drain)).await;
    assert_eq!(status, http::StatusCode::OK, "{body}");
    let state = move |core: &mesos_master::core::MasterCore| {
        core.drain_info(&id.clone().into()).map(|d| d.state())
    };
    assert_eq!(cluster.inspect(state.clone()).await, Some(mesos::DrainState::Draining));

    agent.send(answer(&agent, &apply[0], OperationState::OperationFinished, Some(STATUS_UUID)));
    cluster.settle().await;
    assert_eq!(
        cluster.inspect(state.clone()).await,
        Some(mesos::DrainState::Draining),
        "finished but not acknowledged: still pending"
    );
    acknowledge(&scheduler, &agent, "op1", STATUS_UUID);
    cluster.settle().await;
    for _ in 0..5 {
        cluster.advance(Duration::from_millis(100)).await;
    }
    assert_eq!(cluster.inspect(state).await, Some(mesos::DrainState::Drained));
}
