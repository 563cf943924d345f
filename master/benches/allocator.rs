//! Allocator benchmarks ALLOC-1 and ALLOC-2 (see BENCHMARKS.md), as a
//! `--release` bench binary printing Markdown tables.
//!
//! ```text
//! cargo bench -p mesos-master --bench allocator -- [alloc1|alloc2|all] [--rounds N] [--runs N]
//! ```
//!
//! ALLOC-1 copies Mesos's `HierarchicalAllocator_BENCHMARK_Test.DeclineOffers`:
//! N agents `cpus:24;mem:4096;disk:4096;ports:[31000-32000]`, each with
//! `cpus:16;mem:2014;disk:1024` (and 16 port ranges) used by framework
//! `i mod F`, all frameworks in role `*`; every round declines every offer
//! with `refuse_seconds = INT_MAX` and times the next batch allocation.
//! ALLOC-2 copies `BENCHMARK_HierarchicalAllocations.MultiFrameworkAllocations`.
//!
//! The allocator is measured exactly as the master runs it: `Allocator<Resources>`
//! over `mesos_proto`'s full `Resources` (protobuf `Resource`s with roles,
//! reservations and port ranges), ports included. (An earlier version also ran
//! a scalar-only stand-in type; the production type is now as fast, so it went.)
//! `ALLOC1_SIZES=10000x1000,...` picks the ALLOC-1 sizes; `ALLOC_DIGEST=1`
//! prints a digest of every round's offers, to show two builds decide alike.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mesos_master::allocator::{
    AgentId, AgentSpec, Allocation, Allocator, AllocatorConfig, AllocatorResources, FrameworkId,
    FrameworkSpec, Used,
};
use mesos_proto::resources::Resources;

/// A resource type the allocator can run on, parsed from Mesos's text form.
trait BenchResources: AllocatorResources + Clone {
    /// What the tables call it.
    const NAME: &'static str;
    /// Parses `text`; `ports` is a port-range list (`[a-b,c-d]`) that types
    /// without ranges leave out.
    fn parse(text: &str, ports: Option<&str>) -> Self;
}

impl BenchResources for Resources {
    const NAME: &'static str = "`Resources` (as the master runs it)";
    fn parse(text: &str, ports: Option<&str>) -> Self {
        let text = match ports {
            Some(ports) => format!("{text};ports:{ports}"),
            None => text.to_string(),
        };
        match Resources::parse(&text) {
            Ok(parsed) => parsed,
            Err(e) => panic!("bad benchmark resources {text}: {e}"),
        }
    }
}

/// Mesos's `fragment(createRange(31000, 32000), 16)`: 16 disjoint ranges spread
/// over the agent's port range, as 16 tasks holding a port each would leave it.
fn sixteen_port_ranges() -> String {
    let ranges: Vec<String> =
        (0..16).map(|i| format!("{}-{}", 31000 + i * 62, 31000 + i * 62 + 30)).collect();
    format!("[{}]", ranges.join(","))
}

/// With `ALLOC_DIGEST=1`, folds every round's offers (who, where, what, in order)
/// into one hash printed at exit, so two builds can be shown to make the same
/// decisions. Outside the timed calls.
fn digest_offers<R: BenchResources>(offers: &[Allocation<R>]) {
    use std::hash::{Hash, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static DIGEST: AtomicU64 = AtomicU64::new(0);
    if std::env::var_os("ALLOC_DIGEST").is_none() {
        return;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    DIGEST.load(Ordering::Relaxed).hash(&mut hasher);
    for offer in offers {
        format!("{offer:?}").hash(&mut hasher);
    }
    let digest = hasher.finish();
    DIGEST.store(digest, Ordering::Relaxed);
    eprintln!("offers digest {digest:016x}");
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn spec(role: &str) -> FrameworkSpec {
    FrameworkSpec { roles: BTreeSet::from([role.to_string()]), ..FrameworkSpec::default() }
}

/// One ALLOC-1 run; returns (agents-added time, per-round times, offers per round).
fn decline_offers<R: BenchResources>(
    agents: usize,
    frameworks: usize,
    rounds: usize,
) -> (Duration, Vec<Duration>, Vec<usize>) {
    let config = AllocatorConfig::default();
    let interval = config.allocation_interval;
    let mut allocator: Allocator<R> = Allocator::new(config);
    let ids: Vec<FrameworkId> =
        (0..frameworks).map(|i| FrameworkId::new(format!("framework-{i:05}"))).collect();
    for id in &ids {
        allocator.on_add_framework(id.clone(), spec("*"), true).expect("unique framework");
    }
    let total = R::parse("cpus:24;mem:4096;disk:4096", Some("[31000-32000]"));
    let used = R::parse("cpus:16;mem:2014;disk:1024", Some(&sixteen_port_ranges()));
    let mut now = Duration::ZERO;
    let start = Instant::now();
    for i in 0..agents {
        let used = vec![Used {
            framework_id: ids[i % frameworks].clone(),
            role: "*".into(),
            resources: used.clone(),
        }];
        allocator
            .on_add_agent(
                AgentId::new(format!("agent-{i:06}")),
                AgentSpec::default(),
                total.clone(),
                used,
            )
            .expect("unique agent");
    }
    // Mesos settles the allocations the additions trigger inside its timing.
    let mut offers: Vec<Allocation<R>> = allocator.allocate_candidates(now);
    let added = start.elapsed();

    let mut times = Vec::with_capacity(rounds);
    let mut counts = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        for offer in offers.drain(..) {
            for (role, resources) in &offer.resources {
                allocator
                    .on_recover_resources(
                        &offer.framework_id,
                        &offer.agent_id,
                        role,
                        resources,
                        Some(f64::from(i32::MAX)),
                        now,
                    )
                    .expect("offered resources are held");
            }
        }
        now += interval;
        let start = Instant::now();
        offers = allocator.allocate(now);
        times.push(start.elapsed());
        counts.push(offers.len());
        digest_offers(&offers);
    }
    (added, times, counts)
}

fn alloc1<R: BenchResources>(rounds: usize, runs: usize) {
    println!("### ALLOC-1 DeclineOffers ({rounds} rounds per run, {runs} runs, {})\n", R::NAME);
    println!(
        "| agents x frameworks | added agents (median) | first round | median round | slowest round | offers in first / last round |"
    );
    println!("|---|---|---|---|---|---|");
    let sizes: Vec<(usize, usize)> = match std::env::var("ALLOC1_SIZES") {
        Ok(list) => list
            .split(',')
            .filter_map(|s| s.split_once('x'))
            .filter_map(|(a, f)| Some((a.parse().ok()?, f.parse().ok()?)))
            .collect(),
        Err(_) => vec![(1000, 100), (5000, 500), (10_000, 1000), (10_000, 3000), (20_000, 2000)],
    };
    for (agents, frameworks) in sizes {
        let mut added = Vec::new();
        let mut first = Vec::new();
        let mut all = Vec::new();
        let mut counts = (0, 0);
        for _ in 0..runs {
            let (a, times, c) = decline_offers::<R>(agents, frameworks, rounds);
            added.push(a);
            first.push(times[0]);
            all.extend_from_slice(&times);
            counts = (c[0], c[c.len() - 1]);
        }
        let slowest = all.iter().copied().max().unwrap_or_default();
        println!(
            "| {agents} x {frameworks} | {} | {} | {} | {} | {} / {} |",
            ms(median(&mut added)),
            ms(median(&mut first)),
            ms(median(&mut all)),
            ms(slowest),
            counts.0,
            counts.1
        );
    }
    println!();
}

/// A framework profile of ALLOC-2.
struct Profile {
    name: &'static str,
    role: fn(usize) -> String,
    instances: usize,
    max_tasks: usize,
    task: &'static str,
    max_per_offer: usize,
}

fn alloc2<R: BenchResources>(runs: usize) {
    let profiles = [
        Profile {
            name: "Marathon",
            role: |i| format!("roleA-{}", i + 1),
            instances: 4,
            max_tasks: 4000,
            task: "cpus:0.07;mem:400",
            max_per_offer: 100,
        },
        Profile {
            name: "Jenkins",
            role: |_| "roleB".to_string(),
            instances: 500,
            max_tasks: 5,
            task: "cpus:0.1;mem:4000",
            max_per_offer: 1,
        },
        Profile {
            name: "Spark",
            role: |i| format!("roleC-{}", i + 1),
            instances: 50,
            max_tasks: 20,
            task: "cpus:1;mem:1000",
            max_per_offer: 5,
        },
    ];
    println!("### ALLOC-2 MultiFrameworkAllocations ({runs} runs, {})\n", R::NAME);
    println!(
        "| run | rounds (last with a launch) | tasks launched / target | median round | slowest round | total allocate time |"
    );
    println!("|---|---|---|---|---|---|");
    for run in 0..runs {
        let config = AllocatorConfig::default();
        let interval = config.allocation_interval;
        let mut allocator: Allocator<R> = Allocator::new(config);
        for a in 0..80 {
            allocator
                .on_add_agent(
                    AgentId::new(format!("agent-{a:02}")),
                    AgentSpec::default(),
                    R::parse("cpus:64;mem:488000", None),
                    Vec::new(),
                )
                .expect("unique agent");
        }
        // (framework id, task resources, max tasks, max per offer, launched)
        let mut frameworks = Vec::new();
        let mut target = 0;
        for p in &profiles {
            for i in 0..p.instances {
                let id = FrameworkId::new(format!("{}-{i}", p.name));
                allocator
                    .on_add_framework(id.clone(), spec(&(p.role)(i)), true)
                    .expect("unique framework");
                frameworks.push((id, R::parse(p.task, None), p.max_tasks, p.max_per_offer, 0usize));
                target += p.max_tasks;
            }
        }
        let index: std::collections::HashMap<FrameworkId, usize> =
            frameworks.iter().enumerate().map(|(i, f)| (f.0.clone(), i)).collect();
        let mut now = Duration::ZERO;
        let mut launched = 0;
        let mut times = Vec::new();
        let budget = Instant::now();
        // Like Mesos's run, stop after 30 s; also stop once 1000 rounds in
        // a row launched nothing (the allocation has reached a fixed point).
        let mut last_progress = 0;
        while launched < target
            && budget.elapsed() < Duration::from_secs(30)
            && times.len() < last_progress + 1000
        {
            now += interval;
            let start = Instant::now();
            let offers = allocator.allocate(now);
            times.push(start.elapsed());
            digest_offers(&offers);
            for offer in offers {
                let f = &mut frameworks[index[&offer.framework_id]];
                for (role, resources) in offer.resources {
                    let mut remaining = resources;
                    let mut in_offer = 0;
                    while remaining.contains(&f.1) && f.4 < f.2 && in_offer < f.3 {
                        remaining = remaining.minus(&f.1);
                        f.4 += 1;
                        in_offer += 1;
                        launched += 1;
                        last_progress = times.len();
                    }
                    allocator
                        .on_recover_resources(
                            &offer.framework_id,
                            &offer.agent_id,
                            &role,
                            &remaining,
                            None,
                            now,
                        )
                        .expect("offered resources are held");
                }
            }
        }
        let total: Duration = times.iter().sum();
        let slowest = times.iter().copied().max().unwrap_or_default();
        println!(
            "| {} | {} ({last_progress}) | {launched} / {target} | {} | {} | {} |",
            run + 1,
            times.len(),
            ms(median(&mut times)),
            ms(slowest),
            ms(total)
        );
    }
    println!();
}

/// The allocator the binaries run on, so the bench measures what users run
/// (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let rounds = flag("--rounds", 10).max(1);
    let runs = flag("--runs", 3).max(1);
    let which = args
        .iter()
        .find(|a| ["alloc1", "alloc2", "all"].contains(&a.as_str()))
        .map_or("all", String::as_str);
    match which {
        "alloc1" => alloc1::<Resources>(rounds, runs),
        "alloc2" => alloc2::<Resources>(runs),
        _ => {
            alloc1::<Resources>(rounds, runs);
            alloc2::<Resources>(runs);
        }
    }
}
