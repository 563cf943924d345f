//! Dominant Resource Fairness end to end.

use std::time::Duration;

use mesos_proto::resources::Resources;

use super::support::{Cluster, FakeScheduler, framework_info, task};

/// One round for a scheduler: launch one task of `size` on each offer that fits it,
/// decline (for a long time) offers that do not.
fn act(scheduler: &mut FakeScheduler, prefix: &str, size: &str, launched: &mut u32) {
    let needed = Resources::parse(size).unwrap();
    for offer in scheduler.offers() {
        let mut offered = Resources::from_protos(offer.resources.clone()).unwrap();
        offered.unallocate();
        if offered.contains(&needed) {
            *launched += 1;
            let id = format!("{prefix}{launched}");
            scheduler.accept(vec![offer.id.clone()], vec![task(&id, &offer, size)], 0.0);
        } else {
            scheduler.decline(vec![offer.id.clone()], 1_000_000.0);
        }
    }
}

/// The DRF paper's example (Ghodsi et al., section 4.1): one agent of <9 CPU, 18 GB>;
/// user A runs tasks of <1 CPU, 4 GB>, user B tasks of <3 CPU, 1 GB>. Offering by
/// dominant share ends with A running 3 tasks and B running 2 (both at a 2/3 share).
#[actix_rt::test]
async fn drf_paper_example() {
    let cluster = Cluster::start(|_| {});
    let mut agent = cluster.agent("cpus:9;mem:18432");
    agent.register(&cluster).await;
    let mut a = cluster.scheduler();
    a.subscribe(&cluster, framework_info("A")).await;
    let mut b = cluster.scheduler();
    b.subscribe(&cluster, framework_info("B")).await;
    let (mut launched_a, mut launched_b) = (0, 0);
    for _ in 0..30 {
        cluster.settle().await;
        act(&mut a, "a", "cpus:1;mem:4096", &mut launched_a);
        act(&mut b, "b", "cpus:3;mem:1024", &mut launched_b);
        cluster.settle().await;
        cluster.advance(Duration::from_secs(1)).await;
    }
    assert_eq!((launched_a, launched_b), (3, 2));
}
