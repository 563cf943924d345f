//! The container book's rules (Mesos: containerizer.cpp `launch`, `kill`, `remove`).

use super::*;

fn id(text: &str) -> ContainerId {
    text.parse().unwrap_or_default()
}

fn admit(book: &mut ContainerBook, text: &str) -> Result<(), LaunchError> {
    book.admit(&id(text), ContainerClass::Default, PathBuf::from("/s"), BTreeMap::new())
}

/// A container runs, is killed by its pid, exits, is waited for and removed; a launch
/// of a known id is ALREADY_LAUNCHED while it runs and refused once it exited.
#[test]
fn lifecycle() {
    let mut book = ContainerBook::new();
    admit(&mut book, "exec.task").unwrap();
    assert!(matches!(book.kill_target(&id("exec.task")), Err(ContainerError::NotRunning { .. })));
    book.on_started(&id("exec.task"), 42);
    assert_eq!(book.kill_target(&id("exec.task")), Ok(42));
    assert!(matches!(admit(&mut book, "exec.task"), Err(LaunchError::AlreadyRunning { .. })));
    assert!(matches!(book.remove(&id("exec.task")), Err(ContainerError::StillRunning { .. })));
    let exit = Exit { status: Some(256), message: None };
    assert!(book.on_exited(&id("exec.task"), exit.clone()));
    assert!(!book.on_exited(&id("exec.task"), exit.clone()), "an exit counts once");
    assert_eq!(book.get(&id("exec.task")).unwrap().state, ContainerState::Exited(exit));
    assert!(matches!(admit(&mut book, "exec.task"), Err(LaunchError::AlreadyExited { .. })));
    assert!(matches!(book.kill_target(&id("exec.task")), Err(ContainerError::NotRunning { .. })));
    assert!(book.remove(&id("exec.task")).is_ok());
    assert!(matches!(book.remove(&id("exec.task")), Err(ContainerError::Unknown { .. })));
    assert!(admit(&mut book, "exec.task").is_ok(), "a removed id can be used again");
}

/// The descendants of a container, deepest first, are what its end kills; the book is
/// bounded.
#[test]
fn descendants_and_bound() {
    let mut book = ContainerBook::new();
    for (n, text) in ["e.a", "e.a.b", "e.c", "f.a"].iter().enumerate() {
        admit(&mut book, text).unwrap();
        book.on_started(&id(text), n as u32 + 1);
    }
    let under: Vec<String> =
        book.running_under(&id("e")).iter().map(|(c, _)| c.to_string()).collect();
    assert_eq!(under, ["e.a.b", "e.a", "e.c"]);
    book.on_exited(&id("e.a.b"), Exit { status: Some(9), message: None });
    let forgotten = book.forget_exited_under(&id("e"));
    assert_eq!(forgotten.len(), 1);
    assert_eq!(book.len(), 3);
    for n in book.len()..MAX_CONTAINERS {
        admit(&mut book, &format!("g.c{n}")).unwrap();
    }
    assert_eq!(admit(&mut book, "g.more"), Err(LaunchError::Full));
}

/// Mesos's ContainerID rules: no '.', no space, a parent exactly when nested, and
/// (ours) a bounded depth.
#[test]
fn container_id_validation() {
    let nested = ContainerId::nested(ContainerId::new("parent"), "child");
    assert!(validate_container_id("c", &nested, Some(true)).is_ok());
    assert!(validate_container_id("c", &nested, Some(false)).is_err());
    assert!(validate_container_id("c", &ContainerId::new("top"), Some(true)).is_err());
    assert!(validate_container_id("c", &ContainerId::new("a b"), None).is_err());
    assert!(validate_container_id("c", &ContainerId::new("a.b"), None).is_err());
    assert!(validate_container_id("c", &ContainerId::new(""), None).is_err());
    assert!(validate_container_id("c", &ContainerId::new(".."), None).is_err());
    let mut deep = ContainerId::new("root");
    for n in 0..MAX_NESTING_DEPTH {
        deep = ContainerId::nested(deep, format!("c{n}"));
    }
    assert!(validate_container_id("c", &deep, None).is_err());
}
