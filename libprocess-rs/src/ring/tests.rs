use super::*;

fn pid(id: &str) -> Pid {
    Pid::new(id, "127.0.0.1:5050".parse().expect("a literal address"))
}

fn ring(entries: usize, body_bytes: usize) -> MessageRing {
    let ring = MessageRing::new(RingConfig { entries, body_bytes }, Clock::paused());
    ring.arm();
    ring
}

fn push(ring: &MessageRing, n: usize, body: &[u8]) {
    for _ in 0..n {
        ring.record(Direction::Out, &pid("a"), &pid("b"), &MessageName::owned("x.Y"), body);
    }
}

fn seqs(page: &Page) -> Vec<u64> {
    page.entries.iter().map(|e| e.seq).collect()
}

/// More messages than the ring holds: the oldest go, a reader behind them is told how
/// many it missed, and the ring never holds more than its bound.
#[test]
fn bounded_ring_drops_the_oldest_and_counts_them() {
    let ring = ring(10, 1 << 20);
    push(&ring, 25, b"abc");
    assert_eq!(ring.len(), 10);
    let page = ring.read(Some(0), 100);
    assert_eq!(seqs(&page), (16..=25).collect::<Vec<_>>());
    assert_eq!(page.dropped, 15);
    assert_eq!(page.next, 25);
    // A reader that had seen up to 20 missed nothing.
    let page = ring.read(Some(20), 100);
    assert_eq!(seqs(&page), (21..=25).collect::<Vec<_>>());
    assert_eq!(page.dropped, 0);
    // Without a cursor: everything kept, nothing counted as dropped.
    assert_eq!(ring.read(None, 100).dropped, 0);
}

/// Kept bodies stay within the byte budget: the oldest bodies go first, their entries
/// stay (with their size), and a body larger than the budget is never kept.
#[test]
fn bodies_stay_within_the_byte_budget() {
    let ring = ring(100, 1000);
    push(&ring, 30, &[7u8; 100]);
    assert!(ring.body_bytes() <= 1000);
    assert_eq!(ring.body_bytes(), 1000);
    assert_eq!(ring.len(), 30);
    assert!(ring.body(20).is_none(), "an old body was discarded");
    let (entry, body) = ring.body(30).expect("the newest body is kept");
    assert_eq!((entry.size, body.len()), (100, 100));
    push(&ring, 1, &[1u8; 5000]);
    assert!(ring.body(31).is_none(), "too large for the whole budget");
    assert_eq!(ring.read(Some(30), 10).entries[0].size, 5000);
    assert_eq!(ring.body_bytes(), 1000, "the kept bodies were not touched");
}

/// Reading with `after`/`limit` in small steps while messages keep arriving visits
/// every message exactly once, in order.
#[test]
fn cursor_reads_have_no_duplicates_or_gaps() {
    let ring = ring(1000, 1 << 20);
    let mut seen = Vec::new();
    let mut cursor = None;
    for round in 0..50 {
        push(&ring, round % 7, b"m");
        let page = ring.read(cursor, 3);
        assert!(page.entries.len() <= 3);
        assert_eq!(page.dropped, 0);
        seen.extend(seqs(&page));
        cursor = Some(page.next);
    }
    loop {
        let page = ring.read(cursor, 500);
        if page.entries.is_empty() {
            break;
        }
        seen.extend(seqs(&page));
        cursor = Some(page.next);
    }
    let total: u64 = (0..50u64).map(|r| r % 7).sum();
    assert_eq!(seen, (1..=total).collect::<Vec<_>>());
    // Reads larger than one chunk come back whole.
    assert_eq!(ring.read(Some(0), 1000).entries.len() as u64, total);
    // A cursor from the future resumes at the newest entry.
    assert_eq!(ring.read(Some(10_000), 5).next, total);
}

/// Disarmed, nothing is recorded; armed, recording stops by itself `ARM_WINDOW` after
/// the last read.
#[test]
fn recording_needs_a_recent_reader() {
    let clock = Clock::paused();
    let ring = MessageRing::new(RingConfig::default(), clock.clone());
    assert!(!ring.is_armed());
    ring.observe_out(&pid("a"), &pid("b"), &MessageName::owned("x.Y"), b"z");
    assert!(ring.is_empty());
    ring.arm();
    ring.observe_out(&pid("a"), &pid("b"), &MessageName::owned("x.Y"), b"z");
    assert_eq!(ring.len(), 1);
    clock.advance(ARM_WINDOW + Duration::from_secs(1));
    ring.observe_out(&pid("a"), &pid("b"), &MessageName::owned("x.Y"), b"z");
    assert_eq!(ring.len(), 1);
    assert!(!ring.is_armed());
}
