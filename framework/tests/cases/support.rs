//! A scheduler that records what it is told, and ways to start it in a simulated cluster.

use std::time::Duration;

use libprocess::Node;
use mesos_framework::scheduler::{
    Event, Scheduler, SchedulerConfig, SchedulerDriver, SchedulerHandle, framework_info,
    spawn_scheduler,
};
use mesos_framework::testing::Cluster;
use mesos_proto::mesos::{self, FrameworkId, MasterInfo, Offer, OfferId, TaskStatus};

/// What to do with offers.
pub type OfferPolicy = Box<dyn FnMut(&mut SchedulerDriver, Vec<Offer>)>;

/// Records every callback as the driver's `Event`.
pub struct Recorder {
    pub events: Vec<Event>,
    pub on_offers: OfferPolicy,
}

impl Recorder {
    /// Holds every offer (neither accepts nor declines).
    pub fn holding() -> Recorder {
        Recorder { events: Vec::new(), on_offers: Box::new(|_, _| {}) }
    }

    /// Calls `policy` with every batch of offers.
    pub fn with(policy: impl FnMut(&mut SchedulerDriver, Vec<Offer>) + 'static) -> Recorder {
        Recorder { events: Vec::new(), on_offers: Box::new(policy) }
    }
}

impl Scheduler for Recorder {
    fn registered(
        &mut self,
        _d: &mut SchedulerDriver,
        framework_id: &FrameworkId,
        master: &MasterInfo,
    ) {
        self.events
            .push(Event::Registered { framework_id: framework_id.clone(), master: master.clone() });
    }
    fn reregistered(&mut self, _d: &mut SchedulerDriver, master: &MasterInfo) {
        self.events.push(Event::Reregistered { master: master.clone() });
    }
    fn disconnected(&mut self, _d: &mut SchedulerDriver) {
        self.events.push(Event::Disconnected);
    }
    fn resource_offers(&mut self, driver: &mut SchedulerDriver, offers: Vec<Offer>) {
        self.events.push(Event::Offers(offers.clone()));
        (self.on_offers)(driver, offers);
    }
    fn offer_rescinded(&mut self, _d: &mut SchedulerDriver, offer_id: &OfferId) {
        self.events.push(Event::Rescinded(offer_id.clone()));
    }
    fn status_update(&mut self, _d: &mut SchedulerDriver, status: &TaskStatus) {
        self.events.push(Event::Update(status.clone()));
    }
    fn framework_message(
        &mut self,
        _d: &mut SchedulerDriver,
        executor_id: &mesos::ExecutorId,
        agent_id: &mesos::SlaveId,
        data: &[u8],
    ) {
        self.events.push(Event::Message {
            agent_id: agent_id.clone(),
            executor_id: executor_id.clone(),
            data: data.to_vec(),
        });
    }
    fn error(&mut self, _d: &mut SchedulerDriver, message: &str) {
        self.events.push(Event::Error(message.to_string()));
    }
}

/// A framework config for `cluster`'s master (failover timeout one hour).
pub fn config(masters: Vec<libprocess::Pid>) -> SchedulerConfig {
    let mut info = framework_info("test");
    info.failover_timeout = Some(3600.0);
    SchedulerConfig::new(info, masters)
}

/// Starts `scheduler` on a new host of `cluster`.
pub fn start(
    cluster: &Cluster,
    config: SchedulerConfig,
    scheduler: Recorder,
) -> (Node, SchedulerHandle<Recorder>) {
    let node = cluster.host();
    let handle = spawn_scheduler(&node, config, scheduler).unwrap();
    (node, handle)
}

/// The events recorded so far.
pub async fn events(handle: &SchedulerHandle<Recorder>) -> Vec<Event> {
    handle.inspect(|s, _| s.events.clone()).await.unwrap()
}

/// The task states received so far, in order, as `(task id, state)`.
pub async fn updates(handle: &SchedulerHandle<Recorder>) -> Vec<(String, mesos::TaskState)> {
    events(handle)
        .await
        .into_iter()
        .filter_map(|e| match e {
            Event::Update(s) => Some((s.task_id.value.clone(), s.state())),
            _ => None,
        })
        .collect()
}

/// Advances until `handle` has recorded an event matching `want` (at most a minute).
pub async fn wait_for(
    cluster: &Cluster,
    handle: &SchedulerHandle<Recorder>,
    want: impl Fn(&Event) -> bool,
) -> bool {
    cluster
        .advance_until(Duration::from_millis(500), Duration::from_secs(60), async || {
            events(handle).await.iter().any(&want)
        })
        .await
}

/// Launches one command task per offer (ids `t<N>`), with `command`.
pub fn launch_each(command: &'static str) -> Recorder {
    let mut n = 0;
    Recorder::with(move |driver, offers| {
        for offer in offers {
            n += 1;
            let resources = mesos_framework::tasks::parse_resources("cpus:0.5;mem:64").unwrap();
            let task = mesos_framework::tasks::command_task(
                &format!("t{n}"),
                "t",
                &offer,
                &resources,
                command,
            );
            driver.launch(&offer.id, vec![task], None);
        }
    })
}
