//! Order tests of the DRF sorter: the DRF paper's example, and the incremental
//! re-sorting checked against a full recompute over long pseudo-random sequences.

use super::{Sorter, q};

/// The DRF paper's example (Ghodsi et al. 2011, section 4.1): one agent of
/// <9 CPU, 18 GB>; user A runs tasks of <1 CPU, 4 GB>, user B tasks of
/// <3 CPU, 1 GB>. Offering one task at a time to the first user in DRF
/// order that still fits ends with A running 3 tasks and B running 2, both
/// at a dominant share of 2/3.
#[test]
fn drf_paper_example() {
    let mut s = Sorter::new("cpus:9;mem:18");
    s.add("A");
    s.add("B");
    let task = |c: &str| if c == "A" { q("cpus:1;mem:4") } else { q("cpus:3;mem:1") };
    let mut free = q("cpus:9;mem:18");
    let mut launched = [0, 0];
    'offer: loop {
        for client in s.sort().to_vec() {
            let need = task(client);
            if free.contains(&need) {
                free.subtract(&need);
                s.0.allocated(&client, &need);
                launched[usize::from(client == "B")] += 1;
                continue 'offer;
            }
        }
        break;
    }
    assert_eq!(launched, [3, 2]);
    assert!((s.0.share(&"A") - 2.0 / 3.0).abs() < 1e-9);
    assert!((s.0.share(&"B") - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(free, q("mem:4"));
}

/// The incremental path (`allocated` moving one node) gives the same order
/// as a full recompute, over a long pseudo-random sequence of operations.
#[test]
fn incremental_order_matches_full_resort() {
    let names: [&'static str; 8] = ["a", "b", "c/x", "c/y", "d/e/f", "d/e", "g", "d"];
    let mut s = Sorter::new("cpus:1000;mem:1000");
    for n in names {
        s.add(n);
    }
    s.0.update_weight("c", 2.0);
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut held = vec![0u32; names.len()];
    for step in 0..2000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let i = (seed % names.len() as u64) as usize;
        let amount = format!("cpus:{};mem:{}", 1 + seed % 3, 1 + (seed >> 8) % 3);
        if held[i] > 0 && (seed >> 20).is_multiple_of(3) {
            let all = s.0.allocation(&names[i]).clone();
            s.0.unallocated(&names[i], &all);
            held[i] = 0;
        } else {
            s.alloc(names[i], &amount);
            held[i] += 1;
        }
        if step % 7 == 0 {
            let incremental = s.sort();
            s.0.mark_dirty();
            assert_eq!(s.sort(), incremental, "step {step}");
        }
    }
}

/// A flat sorter (a role's framework sorter: many clients, all children of the
/// root) keeps the order `sort` returns in step with a full recompute while
/// allocations move clients, clients are (de)activated, added and removed, and
/// shares tie (equal amounts, so the count and path tie-breaks decide).
#[test]
fn flat_incremental_order_matches_full_resort() {
    const CLIENTS: usize = 60;
    let names: Vec<&'static str> =
        (0..CLIENTS).map(|i| &*Box::leak(format!("framework-{i:03}").into_boxed_str())).collect();
    let mut s = Sorter::new("cpus:100000;mem:100000");
    let mut present = [true; CLIENTS];
    let mut active = [true; CLIENTS];
    for n in &names {
        s.add(n);
    }
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for step in 0..20_000 {
        let r = next();
        let i = (r % CLIENTS as u64) as usize;
        let name = names[i];
        match (r >> 16) % 10 {
            _ if !present[i] => {
                s.add(name);
                present[i] = true;
                active[i] = true;
            }
            0 => {
                if active[i] {
                    s.0.deactivate(&name);
                } else {
                    s.0.activate(&name);
                }
                active[i] = !active[i];
            }
            1 if !s.0.allocation(&name).is_empty() => {
                let all = s.0.allocation(&name).clone();
                s.0.unallocated(&name, &all);
            }
            2 if s.0.allocation(&name).is_empty() => {
                s.0.remove(&name);
                present[i] = false;
            }
            3..=5 => s.alloc(name, &format!("cpus:{};mem:{}", 1 + (r >> 24) % 2, 1)),
            _ => s.alloc(name, "cpus:1;mem:1"),
        }
        if step % 3 == 0 {
            let incremental = s.sort();
            s.0.mark_dirty();
            assert_eq!(s.sort(), incremental, "step {step}");
        }
    }
}
