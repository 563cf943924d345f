//! Operation feedback end to end on the simulated network with a paused clock: our
//! master, our agent (restarted in the middle) and a v0 scheduler. Mesos:
//! `OperationReconciliationTest` / slave_tests' operation feedback scenarios.

use std::time::Duration;

use libprocess::Match;
use mesos_agent::checkpoint::read_state;
use mesos_agent::paths::Paths;
use mesos_proto::mesos::internal::{
    AcknowledgeOperationStatusMessage, ApplyOperationMessage, UpdateOperationStatusMessage,
};
use mesos_proto::mesos::{self, OperationState, offer, scheduler};
use mesos_proto::resources::{Resources, resource};

use super::scheduler::{SchedMsg, Scheduler};
use super::sim_cluster::{SimCluster, framework};
use super::support::within;

const ROLE: &str = "role1";

fn role_framework() -> mesos::FrameworkInfo {
    let mut info = framework(true);
    info.roles = vec![ROLE.into()];
    info.capabilities = vec![mesos::framework_info::Capability {
        r#type: Some(mesos::framework_info::capability::Type::MultiRole as i32),
    }];
    info
}

fn reserved(text: &str) -> Resources {
    let reservation = resource::dynamic_reservation(ROLE, None, None);
    Resources::parse(text).unwrap().push_reservation(&reservation).unwrap()
}

/// The next operation status the scheduler receives.
async fn next_operation_status(scheduler: &mut Scheduler) -> mesos::OperationStatus {
    loop {
        if let SchedMsg::OperationStatus(update) = scheduler.step().await {
            return update.status;
        }
    }
}

/// A RESERVE with an id: the master sends it as `ApplyOperationMessage`, the agent
/// applies and checkpoints it and reports OPERATION_FINISHED, which reaches the
/// scheduler. The agent is killed before the acknowledgement; the restarted agent
/// reads the operation back, reports it to the master and resends the same status;
/// the scheduler's acknowledgement reaches the agent, which forgets the operation (its
/// checkpoint holds none) as does the master.
#[actix_rt::test]
async fn operation_status_survives_agent_restart_until_acknowledged() {
    let mut cluster = SimCluster::start("operation-feedback");
    let mut scheduler = cluster.agent_and_scheduler(role_framework()).await;
    let agent_pid = cluster.agent_pid();
    let master_pid = cluster.master_pid();
    let applied = cluster.hooks.expect::<ApplyOperationMessage>(Match::any().to(&agent_pid));
    let offer = scheduler.offer().await;
    let mut operation = offer::Operation {
        r#type: Some(offer::operation::Type::Reserve as i32),
        id: Some(mesos::OperationId { value: "op1".into() }),
        reserve: Some(offer::operation::Reserve {
            resources: reserved("cpus:1").to_protos(),
            source: Vec::new(),
        }),
        ..Default::default()
    };
    operation.reserve.as_mut().unwrap().resources[0].allocation_info =
        Some(mesos::resource::AllocationInfo { role: Some(ROLE.into()) });
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::Accept as i32),
        accept: Some(scheduler::call::Accept {
            offer_ids: vec![offer.id.clone()],
            operations: vec![operation],
            filters: None,
        }),
        ..Default::default()
    });
    within("apply", applied).await;
    let first = next_operation_status(&mut scheduler).await;
    assert_eq!(first.state(), OperationState::OperationFinished, "{first:?}");
    let status_uuid = first.uuid.clone().expect("sent reliably");
    let work = Paths::new(cluster.dir.0.join("work"));
    let state = read_state(&work).expect("readable").expect("a checkpoint");
    assert_eq!(state.operations.len(), 1, "checkpointed until acknowledged");
    assert_eq!(Resources::from_protos(state.resources).unwrap(), reserved("cpus:1"));

    // The agent dies before the framework acknowledges; it comes back.
    cluster.crash_agent().await;
    let resent = cluster.hooks.expect::<UpdateOperationStatusMessage>(Match::any().to(&master_pid));
    cluster.start_agent().await;
    cluster.advance(Duration::from_secs(2)).await;
    within("resent", resent).await;
    let again = next_operation_status(&mut scheduler).await;
    assert_eq!(again.state(), OperationState::OperationFinished);
    assert_eq!(again.uuid.as_ref(), Some(&status_uuid), "the same status, resent");

    let acked =
        cluster.hooks.expect::<AcknowledgeOperationStatusMessage>(Match::any().to(&agent_pid));
    scheduler.call(scheduler::Call {
        r#type: Some(scheduler::call::Type::AcknowledgeOperationStatus as i32),
        acknowledge_operation_status: Some(scheduler::call::AcknowledgeOperationStatus {
            slave_id: again.slave_id.clone(),
            resource_provider_id: None,
            uuid: status_uuid.value.clone(),
            operation_id: mesos::OperationId { value: "op1".into() },
        }),
        ..Default::default()
    });
    within("acknowledged", acked).await;
    cluster.settle().await;
    let state = read_state(&work).expect("readable").expect("a checkpoint");
    assert!(state.operations.is_empty(), "forgotten once acknowledged");
    let tracked = cluster.master.master.dispatch(|m, _| m.core().operations().count()).await;
    assert_eq!(tracked.unwrap(), 0);

    // No more resends after the acknowledgement.
    let resends =
        cluster.hooks.drop_all::<UpdateOperationStatusMessage>(Match::any().to(&master_pid));
    cluster.advance(Duration::from_secs(30)).await;
    assert_eq!(resends.dropped(), 0, "no resend after the acknowledgement");
}
