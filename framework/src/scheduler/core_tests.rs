//! Unit tests of the scheduler driver's core: inputs in, outputs and events out.

use std::time::Duration;

use libprocess::Pid;
use mesos_proto::mesos::{self, internal, scheduler};

use super::core::{Event, Output, SchedulerCore};
use super::{REGISTRATION_RETRY_INTERVAL_MAX, SchedulerConfig, framework_info};

fn master() -> Pid {
    "master@10.0.0.1:5050".parse().unwrap()
}

fn core(failover_timeout: Option<f64>) -> SchedulerCore {
    let mut info = framework_info("t");
    info.failover_timeout = failover_timeout;
    SchedulerCore::new(SchedulerConfig::new(info, vec![master()])).unwrap()
}

fn retries(outputs: &[Output]) -> Vec<(Duration, u64)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::RetryTimer { after, epoch } => Some((*after, *epoch)),
            _ => None,
        })
        .collect()
}

fn subscribes(outputs: &[Output]) -> usize {
    outputs.iter().filter(|o| matches!(o, Output::Call { call, .. } if call.r#type() == scheduler::call::Type::Subscribe)).count()
}

/// Retry delays stay within the doubling bound, never past the 1 min cap, and never
/// past a tenth of the failover timeout; a stale timer sends nothing.
#[test]
fn backoff_is_bounded() {
    let mut core = core(None);
    core.start();
    let mut bound = Duration::from_secs(2);
    let mut epoch = 0;
    for _ in 0..12 {
        let outputs = core.drain_outputs();
        assert_eq!(subscribes(&outputs), 1);
        let [(after, e)] = retries(&outputs)[..] else { panic!("one retry timer") };
        assert!(after <= bound.min(REGISTRATION_RETRY_INTERVAL_MAX), "{after:?} > {bound:?}");
        bound *= 2;
        epoch = e;
        core.on_retry_timer(e);
    }
    core.drain_outputs();
    core.on_retry_timer(epoch); // consumed already: stale
    assert_eq!(subscribes(&core.drain_outputs()), 0);

    let mut short = self::core(Some(5.0));
    short.start();
    for _ in 0..6 {
        let outputs = short.drain_outputs();
        let [(after, e)] = retries(&outputs)[..] else { panic!("one retry timer") };
        assert!(after <= Duration::from_millis(500), "a tenth of the 5 s failover timeout");
        short.on_retry_timer(e);
    }
}

/// Only our masters' answers count; then offers and updates flow, updates carry
/// the uuid of their StatusUpdate, and the implicit acknowledgement echoes it.
#[test]
fn registration_then_updates_and_implicit_acks() {
    let mut core = core(None);
    core.start();
    core.drain_outputs();
    let stranger: Pid = "master@10.9.9.9:5050".parse().unwrap();
    let id = mesos::FrameworkId { value: "F".into() };
    core.on_subscribed(&stranger, id.clone(), Default::default());
    assert!(core.next_event().is_none() && !core.is_connected());
    core.on_subscribed(&master(), id.clone(), Default::default());
    assert!(
        matches!(core.next_event(), Some(Event::Registered { framework_id, .. }) if framework_id == id)
    );

    let status =
        mesos::TaskStatus { task_id: mesos::TaskId { value: "t".into() }, ..Default::default() };
    let update = internal::StatusUpdate {
        framework_id: id.clone(),
        slave_id: Some(mesos::SlaveId { value: "A".into() }),
        status,
        uuid: Some(vec![7; 16]),
        ..Default::default()
    };
    core.on_status_update(
        &stranger,
        internal::StatusUpdateMessage { update: update.clone(), pid: None },
    );
    assert!(core.next_event().is_none(), "updates from anyone but our master are dropped");
    core.on_status_update(&master(), internal::StatusUpdateMessage { update, pid: None });
    let Some(Event::Update(status)) = core.next_event() else { panic!("an update") };
    assert_eq!(status.uuid, Some(vec![7; 16]));
    core.after_status_update(&status);
    let outputs = core.drain_outputs();
    let [Output::Call { call, .. }] = &outputs[..] else { panic!("one ACKNOWLEDGE: {outputs:?}") };
    let ack = call.acknowledge.clone().unwrap();
    assert_eq!(
        (ack.task_id.value.as_str(), ack.slave_id.value.as_str(), ack.uuid),
        ("t", "A", vec![7; 16])
    );
}

/// A restarted scheduler (framework id given) forces its first SUBSCRIBE, and only
/// that one: after registration, re-subscriptions do not force.
#[test]
fn failover_forces_only_the_first_subscription() {
    let mut info = framework_info("t");
    info.id = Some(mesos::FrameworkId { value: "F".into() });
    let mut core = SchedulerCore::new(SchedulerConfig::new(info, vec![master()])).unwrap();
    let force = |outputs: Vec<Output>| {
        outputs.into_iter().find_map(|o| match o {
            Output::Call { call, .. } => call.subscribe.and_then(|s| s.force),
            _ => None,
        })
    };
    core.start();
    assert_eq!(force(core.drain_outputs()), Some(true));
    core.on_subscribed(&master(), mesos::FrameworkId { value: "F".into() }, Default::default());
    core.on_exited(&master());
    assert_eq!(
        core.next_event(),
        Some(Event::Registered {
            framework_id: mesos::FrameworkId { value: "F".into() },
            master: Default::default()
        })
    );
    assert_eq!(core.next_event(), Some(Event::Disconnected));
    assert_eq!(force(core.drain_outputs()), Some(false));
}

/// Regression (the real HA group's "Framework has been removed" ~1 run in 10): the
/// driver sends its last allowed SUBSCRIBE to a master, moves its candidate on at once,
/// and the master -- which had just become leader -- registers the framework. That answer
/// must be taken, not dropped as "from a master we did not ask" (the master then holds a
/// framework whose registration and offers the driver ignored, gets no reply to them,
/// and removes it when the connection later breaks).
#[test]
fn registration_from_a_master_we_moved_on_from_is_taken() {
    let second: Pid = "master@10.0.0.2:5050".parse().unwrap();
    let mut core = SchedulerCore::new(SchedulerConfig::new(
        framework_info("t"),
        vec![master(), second.clone()],
    ))
    .unwrap();
    core.start();
    for _ in 0..crate::masters::ATTEMPTS_PER_MASTER {
        let [(_, epoch)] = retries(&core.drain_outputs())[..] else { panic!("one retry timer") };
        core.on_retry_timer(epoch);
    }
    let outputs = core.drain_outputs();
    let to_first = outputs.iter().any(|o| matches!(o, Output::Call { to, .. } if *to == master()));
    assert!(to_first, "the last allowed SUBSCRIBE went to the first master: {outputs:?}");
    assert!(!core.is_connected());

    let id = mesos::FrameworkId { value: "F".into() };
    core.on_subscribed(&master(), id.clone(), Default::default());
    assert!(core.is_connected(), "the first master's registration is taken");
    assert!(
        matches!(core.next_event(), Some(Event::Registered { framework_id, .. }) if framework_id == id)
    );
    assert_eq!(core.master(), Some(&master()));
}

/// Inverse offers from our master reach the scheduler (a stranger's are dropped), a
/// rescind does too, and the answers become ACCEPT_INVERSE_OFFERS /
/// DECLINE_INVERSE_OFFERS calls to the master with the ids and filters given.
#[test]
fn inverse_offers_reach_the_scheduler_and_answers_reach_the_master() {
    use scheduler::call::Type;
    let mut core = core(None);
    core.start();
    core.on_subscribed(&master(), mesos::FrameworkId { value: "F".into() }, Default::default());
    core.next_event();
    core.drain_outputs();
    let id = mesos::OfferId { value: "m1-O7".into() };
    let inverse = mesos::InverseOffer {
        id: id.clone(),
        framework_id: mesos::FrameworkId { value: "F".into() },
        slave_id: Some(mesos::SlaveId { value: "A".into() }),
        ..Default::default()
    };
    let message =
        internal::InverseOffersMessage { inverse_offers: vec![inverse], pids: Vec::new() };
    let stranger: Pid = "master@10.9.9.9:5050".parse().unwrap();
    core.on_inverse_offers(&stranger, message.clone());
    assert!(core.next_event().is_none(), "only our master's");
    core.on_inverse_offers(&master(), message);
    assert!(matches!(core.next_event(), Some(Event::InverseOffers(o)) if o[0].id == id));
    let rescind = internal::RescindInverseOfferMessage { inverse_offer_id: id.clone() };
    core.on_rescind_inverse_offer(&master(), rescind);
    assert!(matches!(core.next_event(), Some(Event::InverseOfferRescinded(r)) if r == id));

    let filters = Some(mesos::Filters { refuse_seconds: Some(60.0) });
    core.accept_inverse_offers(vec![id.clone()], filters);
    core.decline_inverse_offers(vec![id.clone()], None);
    let calls: Vec<scheduler::Call> = core
        .drain_outputs()
        .into_iter()
        .filter_map(|o| match o {
            Output::Call { to, call } if to == master() => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].r#type(), Type::AcceptInverseOffers);
    let accept = calls[0].accept_inverse_offers.as_ref().unwrap();
    assert_eq!(accept.inverse_offer_ids, vec![id.clone()]);
    assert_eq!(accept.filters.and_then(|f| f.refuse_seconds), Some(60.0));
    assert_eq!(calls[1].r#type(), Type::DeclineInverseOffers);
    assert_eq!(calls[1].decline_inverse_offers.as_ref().unwrap().inverse_offer_ids, vec![id]);
}

/// Operation feedback: an `UpdateOperationStatusMessage` from our master becomes an
/// `operation_status` event (with the agent id filled in), never acknowledged
/// implicitly; `acknowledge_operation_status` sends ACKNOWLEDGE_OPERATION_STATUS with
/// the agent, operation id and uuid, and a status without uuid needs none;
/// `reconcile_operations` sends RECONCILE_OPERATIONS.
#[test]
fn operation_statuses_are_delivered_and_acknowledged_explicitly() {
    let mut core = core(None);
    core.start();
    let id = mesos::FrameworkId { value: "F".into() };
    core.on_subscribed(&master(), id.clone(), Default::default());
    core.next_event();
    core.drain_outputs();
    let status = mesos::OperationStatus {
        operation_id: Some(mesos::OperationId { value: "op1".into() }),
        state: mesos::OperationState::OperationFinished as i32,
        uuid: Some(mesos::Uuid { value: vec![9; 16] }),
        ..Default::default()
    };
    let update = internal::UpdateOperationStatusMessage {
        framework_id: Some(id),
        slave_id: Some(mesos::SlaveId { value: "A".into() }),
        status,
        ..Default::default()
    };
    core.on_operation_status(&master(), update);
    let Some(Event::OperationStatus(status)) = core.next_event() else { panic!("an event") };
    assert_eq!(status.slave_id.as_ref().unwrap().value, "A");
    assert!(core.drain_outputs().is_empty(), "no implicit acknowledgement");
    core.acknowledge_operation_status(&status).unwrap();
    let outputs = core.drain_outputs();
    let [Output::Call { call, .. }] = &outputs[..] else { panic!("one call: {outputs:?}") };
    let ack = call.acknowledge_operation_status.clone().unwrap();
    assert_eq!(
        (ack.operation_id.value.as_str(), ack.slave_id.unwrap().value.as_str(), ack.uuid),
        ("op1", "A", vec![9; 16])
    );
    let mut unreliable = status.clone();
    unreliable.uuid = None;
    core.acknowledge_operation_status(&unreliable).unwrap();
    assert!(core.drain_outputs().is_empty());
    core.reconcile_operations(Vec::new());
    let outputs = core.drain_outputs();
    assert!(matches!(&outputs[..], [Output::Call { call, .. }]
        if call.r#type() == scheduler::call::Type::ReconcileOperations));
}

/// Connected to a master, the driver stays when a follower names that master, and
/// subscribes again when the master names itself: it starts a new term of its own
/// (it lost its leadership and won it back), which forgot the framework.
#[test]
fn our_master_announcing_itself_is_subscribed_to_again() {
    let follower: Pid = "master@10.0.0.2:5050".parse().unwrap();
    let mut core = SchedulerCore::new(SchedulerConfig::new(
        framework_info("t"),
        vec![master(), follower.clone()],
    ))
    .unwrap();
    core.start();
    core.drain_outputs();
    let id = mesos::FrameworkId { value: "F".into() };
    core.on_subscribed(&master(), id, Default::default());
    assert!(core.is_connected());
    while core.next_event().is_some() {}
    core.drain_outputs();

    core.on_new_master(&follower, &master().to_string());
    assert!(core.is_connected(), "a follower naming our master changes nothing");
    assert_eq!(subscribes(&core.drain_outputs()), 0);

    core.on_new_master(&master(), &master().to_string());
    assert!(!core.is_connected(), "our master's new term forgot us");
    assert!(matches!(core.next_event(), Some(Event::Disconnected)));
    let outputs = core.drain_outputs();
    let to_master = outputs.iter().any(|o| matches!(o, Output::Call { to, call, .. } if *to == master() && call.r#type() == scheduler::call::Type::Subscribe));
    assert!(to_master, "SUBSCRIBE again, to the same master: {outputs:?}");
}
