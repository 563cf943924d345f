//! sled storage: reopening keeps the log, and writes acknowledged before a `kill -9`
//! of the writing process are all there afterwards.

#![allow(clippy::field_reassign_with_default)] // raft's protobuf-2 types have private fields.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use mesos_registrar::storage::LogBackend;
use mesos_registrar::{RaftStorage, SledBackend};
use raft::Storage as _;
use raft::eraftpb::{Entry, HardState};

const WRITER_DIR: &str = "MESOS_REGISTRAR_TEST_WRITER_DIR";

fn entry(index: u64, term: u64) -> Entry {
    let mut entry = Entry::default();
    entry.index = index;
    entry.term = term;
    entry.data = vec![index as u8; 300].into();
    entry
}

fn open(dir: &Path) -> RaftStorage {
    let mut storage = RaftStorage::open(Box::new(SledBackend::open(dir).expect("open sled")))
        .expect("open storage");
    storage.bootstrap(1, &[1, 2, 3]).expect("bootstrap");
    storage
}

/// Entries, hard state, conf state and snapshot written through sled are read back
/// after closing and reopening, including a compaction and an overwritten suffix.
#[test]
fn sled_log_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut storage = open(dir.path());
        let entries: Vec<Entry> = (1..=10).map(|i| entry(i, 1)).collect();
        let mut hs = HardState::default();
        hs.term = 2;
        hs.vote = 3;
        hs.commit = 6;
        storage.persist(&entries, Some(&hs)).unwrap();
        // A new leader overwrites the uncommitted suffix 8..=10 with 8..=9 of term 2.
        storage.persist(&[entry(8, 2), entry(9, 2)], None).unwrap();
        storage.compact(5, b"registry".to_vec()).unwrap();
    }
    let storage = open(dir.path());
    assert_eq!(storage.first_index().unwrap(), 6);
    assert_eq!(storage.last_index().unwrap(), 9);
    assert_eq!(storage.term(9).unwrap(), 2);
    assert_eq!(storage.term(5).unwrap(), 1, "the snapshot keeps the term of its index");
    let state = storage.initial_state().unwrap();
    assert_eq!((state.hard_state.term, state.hard_state.vote, state.hard_state.commit), (2, 3, 6));
    assert_eq!(state.conf_state.voters, vec![1, 2, 3]);
    assert_eq!(storage.member(), Some(1));
    assert_eq!(&storage.last_snapshot().data[..], b"registry");
}

/// Not a test on its own: the writer process the kill test starts (and kills). Appends
/// entries after whatever is stored and prints `ack <index>` after each durable write.
#[test]
#[ignore = "helper process of kill_9_keeps_acknowledged_writes"]
fn writer_child() {
    let Ok(dir) = std::env::var(WRITER_DIR) else { return };
    let mut backend = SledBackend::open(Path::new(&dir)).expect("open sled");
    let start = backend.load().expect("load").entries.keys().last().copied().unwrap_or(0) + 1;
    let mut storage = RaftStorage::open(Box::new(backend)).expect("open storage");
    storage.bootstrap(1, &[1]).expect("bootstrap");
    for index in start..start + 100_000 {
        storage.persist(&[entry(index, 1)], None).expect("persist");
        println!("ack {index}");
    }
}

/// Kill -9 durability: a child process appends entries through sled and acknowledges
/// each after it is durable; it is killed with SIGKILL mid-stream, three times over;
/// every acknowledged entry is there after each kill and the log has no gap.
#[test]
fn kill_9_keeps_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut last_acked = 0;
    for round in 0..3 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "cases::durability::writer_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the writer");
        let stdout = child.stdout.take().unwrap();
        let target = 40 + 17 * round;
        let mut acked_now = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(index) = line.strip_prefix("ack ") {
                last_acked = index.trim().parse().unwrap();
                acked_now += 1;
                if acked_now == target {
                    break;
                }
            }
        }
        assert_eq!(acked_now, target, "the writer acknowledged writes");
        child.kill().expect("SIGKILL the writer");
        child.wait().unwrap();
        let mut backend = SledBackend::open(dir.path()).expect("reopen after kill -9");
        let persisted = backend.load().expect("load after kill -9");
        let indexes: Vec<u64> = persisted.entries.keys().copied().collect();
        assert!(
            indexes.len() as u64 >= last_acked,
            "round {round}: {} entries, acked {last_acked}",
            indexes.len()
        );
        assert!(
            indexes.iter().enumerate().all(|(i, index)| *index == i as u64 + 1),
            "round {round}: a gap in the log"
        );
        for index in 1..=last_acked {
            assert_eq!(persisted.entries[&index].data.len(), 300);
        }
    }
}
