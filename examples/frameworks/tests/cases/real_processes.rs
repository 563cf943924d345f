//! Real processes on loopback: the `mesos-master` and `mesos-agent` binaries, then
//! `mesos-execute`, `hello` and `batch` (with its `pi-executor` started by the agent)
//! as users run them. The tests wait on events only (lines the processes print, the
//! masters' operator events): see `real_support`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;

use serde_json::Value;

use super::real_support::{
    MasterGroup, Processes, SandboxReaper, bin_dir, ensure_binaries, get_json, listener, run,
    spawn_lines, start_agent, start_agent_on, start_master, wait_for,
};

/// One cluster of real processes; `mesos-execute --command='echo hi'` exits 0 after
/// TASK_FINISHED, `hello` runs its tasks to completion and exits 0, and `batch` gets
/// its pi from `pi-executor`s the agent started.
#[test]
fn frameworks_run_on_a_real_cluster() {
    let dir = bin_dir();
    ensure_binaries();
    let temp = tempfile::tempdir().expect("a temp dir");
    let _reaper = SandboxReaper(temp.path().to_path_buf());
    let mut processes = Processes::default();
    let master = start_master(&dir, &mut processes);
    start_agent(&dir, &master, &temp.path().join("agent"), &mut processes);
    let master_flag = format!("--master={master}");

    let (code, out) =
        run(&dir.join("mesos-execute"), &[&master_flag, "--name=hi", "--command=echo hi"]);
    assert_eq!(code, Some(0), "mesos-execute output:\n{out}");
    assert!(out.contains("Received status update TASK_FINISHED for task 'hi'"), "{out}");

    let (code, out) = run(&dir.join("hello"), &[&master_flag, "--tasks=2"]);
    assert_eq!(code, Some(0), "hello output:\n{out}");
    assert!(out.contains("2 of 2 tasks finished"), "{out}");

    let (code, out) = run(&dir.join("batch"), &[&master_flag, "--tasks=2", "--samples=200000"]);
    assert_eq!(code, Some(0), "batch output:\n{out}");
    assert!(out.contains("pi is about 3.1"), "{out}");

    let (code, out) =
        run(&dir.join("mesos-execute"), &[&master_flag, "--name=bad", "--command=exit 1"]);
    assert_eq!(code, Some(1), "a failing task fails mesos-execute:\n{out}");
}

/// An HA group of three real masters (raft): `mesos-execute` and the agent are given the
/// whole list, find the leader through the followers' answers, and the task finishes;
/// `hello` does the same.
#[test]
fn frameworks_find_the_leader_of_a_real_ha_group() {
    let dir = bin_dir();
    ensure_binaries();
    let temp = tempfile::tempdir().expect("a temp dir");
    let _reaper = SandboxReaper(temp.path().to_path_buf());
    let mut processes = Processes::default();
    let group = MasterGroup::start(&dir, temp.path(), &mut processes).list();
    start_agent(&dir, &group, &temp.path().join("agent"), &mut processes);
    let master_flag = format!("--master={group}");

    let (code, out) =
        run(&dir.join("mesos-execute"), &[&master_flag, "--name=ha", "--command=echo ha"]);
    assert_eq!(code, Some(0), "mesos-execute output:\n{out}");
    assert!(out.contains("Received status update TASK_FINISHED for task 'ha'"), "{out}");

    let (code, out) = run(&dir.join("hello"), &[&master_flag, "--tasks=2"]);
    assert_eq!(code, Some(0), "hello output:\n{out}");
}

/// Starts `keeper` keeping `instances` copies of `sleep 1000` and returns it with a
/// channel of its stdout lines.
fn start_keeper(
    dir: &Path,
    master: &str,
    state_file: &Path,
    instances: usize,
) -> (Child, mpsc::Receiver<String>) {
    let args = [
        format!("--master={master}"),
        format!("--instances={instances}"),
        "--command=sleep 1000".to_string(),
        format!("--state_file={}", state_file.display()),
    ];
    spawn_lines(&dir.join("keeper"), &args)
}

/// Real processes: `ping`'s two executors (started by the real agent) exchange messages
/// through the scheduler; `keeper` keeps 2 tasks, is killed with kill -9, and a new
/// `keeper` with the same state file takes the framework over (same FrameworkID),
/// reconciles both tasks as alive and launches nothing.
#[test]
fn ping_and_keeper_on_a_real_cluster() {
    let dir = bin_dir();
    ensure_binaries();
    let temp = tempfile::tempdir().expect("a temp dir");
    let _reaper = SandboxReaper(temp.path().to_path_buf());
    let mut processes = Processes::default();
    let master = start_master(&dir, &mut processes);
    start_agent(&dir, &master, &temp.path().join("agent"), &mut processes);
    let master_flag = format!("--master={master}");

    let (code, out) = run(&dir.join("ping"), &[&master_flag, "--rounds=6"]);
    assert_eq!(code, Some(0), "ping output:\n{out}");
    assert!(out.contains("hit ball 6"), "{out}");

    let state_file = temp.path().join("keeper.id");
    let (mut first, lines) = start_keeper(&dir, &master, &state_file, 2);
    let registered = wait_for(&lines, "keeper registered as");
    let framework_id = registered.last().unwrap().rsplit(' ').next().unwrap().to_string();
    wait_for(&lines, "keeper launching");
    wait_for(&lines, "running");
    wait_for(&lines, "running");
    first.kill().expect("kill -9 the keeper");
    let _ = first.wait();

    let (mut second, lines) = start_keeper(&dir, &master, &state_file, 2);
    let takeover = wait_for(&lines, "keeper reconciled");
    let _ = second.kill();
    let _ = second.wait();
    assert!(
        takeover.iter().any(|l| l == &format!("taking over framework {framework_id}")),
        "{takeover:?}"
    );
    assert!(takeover.last().unwrap().contains("2 task(s) alive"), "{takeover:?}");
    assert!(
        !takeover.iter().any(|l| l.contains("launching") || l.contains("replacing")),
        "{takeover:?}"
    );
    let same_id = format!("keeper registered as {framework_id}");
    assert!(
        takeover.iter().any(|l| *l == same_id || l.contains("keeper re-registered")),
        "the master kept the FrameworkID: {takeover:?}"
    );
}

/// Runs `mesos-registry` with `args` and `input` on its stdin.
fn mesos_registry(dir: &Path, args: &[String], input: &[u8]) -> Output {
    let mut child = Command::new(dir.join("mesos-registry"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mesos-registry");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input)
        .expect("write mesos-registry's stdin");
    child.wait_with_output().expect("wait for mesos-registry")
}

/// `mesos-registry dump` of a stopped member's work dir, as JSON.
fn dump(dir: &Path, work_dir: &Path) -> Value {
    let out =
        mesos_registry(dir, &["dump".into(), format!("--work_dir={}", work_dir.display())], b"");
    assert!(out.status.success(), "dump failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("dump prints JSON")
}

/// `mesos-registry restore` of `input` into `work_dir`, for the group `masters`.
fn restore(dir: &Path, work_dir: &Path, masters: &str, input: &[u8]) -> Output {
    let args = [
        "restore".to_string(),
        format!("--work_dir={}", work_dir.display()),
        format!("--masters={masters}"),
    ];
    mesos_registry(dir, &args, input)
}

/// The agent IDs and the framework IDs a registry dump holds.
fn registry_ids(dump: &Value) -> (Vec<String>, Vec<String>) {
    let strings = |list: &Value, pointer: &str| -> Vec<String> {
        let mut ids: Vec<String> = list
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.pointer(pointer)?.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    };
    (
        strings(&dump["registry"]["slaves"]["slaves"], "/info/id/value"),
        strings(&dump["frameworks"], "/info/id/value"),
    )
}

/// `mesos-registry restore` as an operator uses it. A group of three real masters with an
/// agent and a `keeper` framework (one checkpointed `sleep` task) is stopped and one
/// member's registry is dumped. Malformed input is refused with a clear error and leaves
/// both a populated and an empty work dir untouched. The dump is then restored into the
/// empty work dirs of a NEW group (other ports, other dirs): each restored member dumps
/// exactly the old registry; once started, every member runs from the restored snapshot
/// and the new leader serves the old framework (recovered) before anyone reconnects; the
/// old agent restarted against the new group re-registers with its agent ID and task; the
/// keeper takes its framework back with its task still running and launches nothing; and
/// after the new group ran, a member's dump still holds the old agent and framework.
#[test]
fn registry_restore_moves_a_cluster_to_a_new_master_group() {
    let dir = bin_dir();
    ensure_binaries();
    let temp = tempfile::tempdir().expect("a temp dir");
    let _reaper = SandboxReaper(temp.path().to_path_buf());
    let mut processes = Processes::default();
    let mut old = MasterGroup::start(&dir, &temp.path().join("old"), &mut processes);
    // The agent's listening socket is held for the whole test: restarted against the
    // new group, the agent gets its port (part of its `SlaveInfo`) back.
    let (agent_dir, agent_listener) = (temp.path().join("agent"), listener());
    let agent = start_agent_on(&dir, &old.list(), &agent_dir, &agent_listener, &mut processes);
    let state_file = temp.path().join("keeper.id");
    let (keeper, lines) = start_keeper(&dir, &old.list(), &state_file, 1);
    let keeper = processes.hold(keeper);
    let registered = wait_for(&lines, "keeper registered as");
    let framework_id = registered.last().unwrap().rsplit(' ').next().unwrap().to_string();
    wait_for(&lines, "running");
    let (_, (agent_id, task_id)) =
        old.wait("the keeper's task on the old group's leader", |state| {
            let agents = state.active_agents();
            let task = state.tasks_of(&framework_id).pop().ok_or("no keeper task")?;
            let on = state.running_on(&framework_id, &task)?;
            if agents.len() == 1 && agents.contains_key(&on) {
                Ok((on, task))
            } else {
                Err(format!("agents {agents:?}"))
            }
        });

    // The whole old cluster stops (the task keeps running: it is checkpointed).
    processes.kill(keeper);
    processes.kill(agent);
    old.kill_all(&mut processes);
    let backup = dump(&dir, &old.work_dirs[0]);
    assert_eq!(
        registry_ids(&backup),
        (vec![agent_id.clone()], vec![framework_id.clone()]),
        "{backup:#}"
    );
    let backup_text = serde_json::to_vec_pretty(&backup).unwrap();

    // Malformed input: a clear error, and no work dir changes.
    let mut new = MasterGroup::new(&dir, &temp.path().join("new"));
    std::fs::create_dir_all(&new.work_dirs[0]).unwrap();
    for (target, masters) in [(&old.work_dirs[0], old.list()), (&new.work_dirs[0], new.list())] {
        let out = restore(&dir, target, &masters, b"{\"registry\": {\"slaves\": ");
        let error = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "malformed JSON restored into {}: {error}",
            target.display()
        );
        assert!(error.contains("parse the registry JSON"), "{error}");
    }
    assert_eq!(
        dump(&dir, &old.work_dirs[0]),
        backup,
        "a refused restore left the registry as it was"
    );
    assert_eq!(
        std::fs::read_dir(&new.work_dirs[0]).unwrap().count(),
        0,
        "a refused restore wrote nothing"
    );

    // The backup restored into the new group's empty work dirs.
    for work_dir in &new.work_dirs {
        let out = restore(&dir, work_dir, &new.list(), &backup_text);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "restore into {}: {said}", work_dir.display());
        assert!(said.contains("restored 1 agents, 1 frameworks"), "{said}");
        let mut restored = dump(&dir, work_dir);
        let mut original = backup.clone();
        restored.as_object_mut().unwrap().remove("raft");
        original.as_object_mut().unwrap().remove("raft");
        assert_eq!(restored, original, "the restored registry is the backup");
    }
    new.start_all(&mut processes);
    // Before any agent or framework talks to it, the new leader has the old framework
    // from the restored registry, and every member started from the restored snapshot.
    let (leader, ()) = new.wait("the new leader to serve the restored framework", |state| {
        match state.frameworks.get(&framework_id) {
            Some((_, true)) => Ok(()),
            other => Err(format!("framework {framework_id}: {other:?} in {:?}", state.frameworks)),
        }
    });
    for n in 0..3 {
        if n != leader {
            new.wait_following(n);
        }
        let (_, raft) = get_json(&new.address(n), "/master/raft").expect("/master/raft");
        assert_eq!(raft["snapshot_index"], 1, "member {n} runs from the restored snapshot: {raft}");
    }

    // The old agent, pointed at the new group, re-registers as itself with its task.
    start_agent_on(&dir, &new.list(), &agent_dir, &agent_listener, &mut processes);
    new.wait("the old agent on the new leader", |state| {
        let agents = state.active_agents();
        if agents.keys().eq([&agent_id]) { Ok(()) } else { Err(format!("agents {agents:?}")) }
    });
    // The keeper takes its framework back from the new group: its task is alive.
    let (keeper, lines) = start_keeper(&dir, &new.list(), &state_file, 1);
    processes.hold(keeper);
    let takeover = wait_for(&lines, "keeper reconciled");
    assert!(
        takeover.iter().any(|l| l == &format!("taking over framework {framework_id}")),
        "{takeover:?}"
    );
    assert!(takeover.last().unwrap().contains("1 task(s) alive"), "{takeover:?}");
    assert!(
        !takeover.iter().any(|l| l.contains("launching") || l.contains("replacing")),
        "{takeover:?}"
    );
    new.wait("the keeper's old task on the new leader", |state| {
        let keeper = state.frameworks.get(&framework_id);
        if keeper != Some(&(true, false)) {
            return Err(format!("keeper (active, recovered) not back: {keeper:?}"));
        }
        let on = state.running_on(&framework_id, &task_id)?;
        if on == agent_id { Ok(()) } else { Err(format!("task {task_id} moved to {on}")) }
    });

    // What the new group keeps in its own registry.
    new.kill_all(&mut processes);
    assert_eq!(registry_ids(&dump(&dir, &new.work_dirs[1])), (vec![agent_id], vec![framework_id]));
}

/// Every ID a test saw, with what it named: seeing an ID again is fine only for the same
/// thing (an agent, a framework, a master run, an offer, a task on its agent).
#[derive(Default)]
struct IdLedger(HashMap<String, String>);

impl IdLedger {
    fn record(&mut self, id: &str, what: &str) {
        assert!(!id.is_empty(), "an empty ID for {what}");
        if let Some(earlier) = self.0.insert(id.to_string(), what.to_string()) {
            assert_eq!(earlier, what, "ID {id} named two things");
        }
    }
}

/// A `mesos-execute` of one long-running task, left running.
struct NewTask {
    framework_id: String,
    task_id: String,
    agent_id: String,
}

/// Starts `mesos-execute` with a `sleep` task named `name` and waits until it runs;
/// records its framework, offer and task in `ids`.
fn launch_new_task(
    dir: &Path,
    master: &str,
    name: &str,
    processes: &mut Processes,
    ids: &mut IdLedger,
) -> NewTask {
    let args = [
        format!("--master={master}"),
        format!("--name={name}"),
        "--command=sleep 1000".into(),
        "--checkpoint".into(),
    ];
    let (child, lines) = spawn_lines(&dir.join("mesos-execute"), &args);
    processes.hold(child);
    let seen = wait_for(&lines, &format!("Received status update TASK_RUNNING for task '{name}'"));
    let after = |prefix: &str| -> Vec<String> {
        let line = seen
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no '{prefix}' in {seen:?}"));
        line.split(['\'', ' ']).filter(|w| !w.is_empty()).map(String::from).collect()
    };
    let framework_id = after("Subscribed with ID ")[0].clone();
    // "<agent> with offer <offer>"
    let submitted = after(&format!("Submitted task '{name}' to agent "));
    let (agent_id, offer_id) = (submitted[0].clone(), submitted[3].clone());
    ids.record(&framework_id, &format!("framework {name}"));
    ids.record(&offer_id, &format!("offer taken by {name}"));
    ids.record(&format!("{framework_id}/{name}"), &format!("task on {agent_id}"));
    NewTask { framework_id, task_id: name.to_string(), agent_id }
}

/// The scenario with real processes: three `mesos-master`, two `mesos-agent`, a
/// `keeper` framework keeping two `sleep` tasks. The leading master is killed with kill -9
/// three times in a row; each time, once a new leader acts, the killed master is restarted
/// with its work dir, flags and port and follows the new leader, so the group stays at
/// three. The test follows the leader's operator events (`SUBSCRIBE`) and the masters'
/// lines; it never polls. On the first
/// leader and after every failover: both agents are registered with the leader under the
/// same IDs, the keeper under its FrameworkID, every task (the keeper's and those of the
/// earlier rounds) is still TASK_RUNNING on the same agent with nothing completed, and a
/// NEW task (its own `mesos-execute` framework) gets running. Across the four leaders no
/// ID ever names two things: master runs, agents, frameworks, offers, tasks, executors.
/// The keeper never launched or replaced anything after its first launch.
#[test]
fn real_ha_group_survives_repeated_kill_9_of_the_leader() {
    let dir = bin_dir();
    ensure_binaries();
    let temp = tempfile::tempdir().expect("a temp dir");
    let _reaper = SandboxReaper(temp.path().to_path_buf());
    let mut processes = Processes::default();
    let mut group = MasterGroup::start(&dir, temp.path(), &mut processes);
    for n in 0..2 {
        start_agent(&dir, &group.list(), &temp.path().join(format!("agent{n}")), &mut processes);
    }
    let (keeper, keeper_lines) =
        start_keeper(&dir, &group.list(), &temp.path().join("keeper.id"), 2);
    processes.hold(keeper);
    let registered = wait_for(&keeper_lines, "keeper registered as");
    let keeper_id = registered.last().unwrap().rsplit(' ').next().unwrap().to_string();

    let mut ids = IdLedger::default();
    ids.record(&keeper_id, "framework keeper");
    // (framework, task) -> agent: every task that must keep running.
    let mut tasks: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut agents: BTreeMap<String, String> = BTreeMap::new();
    let mut leader = group.leader();
    for round in 0..=3 {
        if round > 0 {
            let old = leader;
            group.kill_member(old, &mut processes);
            leader = group.leader();
            assert_ne!(leader, old);
            group.start_member(old, &mut processes);
            group.wait_following(old);
        }
        let (now_leading, state) = group.wait(&format!("the cluster on leader {round}"), |state| {
            let active = state.active_agents();
            if active.len() != 2 || (!agents.is_empty() && active != agents) {
                return Err(format!("agents {active:?}, expected {agents:?}"));
            }
            let keeper = state.frameworks.get(&keeper_id);
            if keeper != Some(&(true, false)) {
                return Err(format!("keeper (active, recovered) not re-registered: {keeper:?}"));
            }
            if round == 0 && tasks.is_empty() {
                for id in state.tasks_of(&keeper_id) {
                    let on = state.running_on(&keeper_id, &id)?;
                    tasks.insert((keeper_id.clone(), id), on);
                }
                if tasks.len() != 2 {
                    tasks.clear();
                    return Err(format!("keeper tasks {:?}", state.tasks));
                }
            }
            for ((framework_id, task_id), agent) in &tasks {
                let on = state.running_on(framework_id, task_id)?;
                assert_eq!(&on, agent, "task {task_id} of {framework_id} moved");
                if state.completed.iter().any(|(f, _)| f == framework_id) {
                    return Err(format!("completed tasks: {:?}", state.completed));
                }
            }
            agents = active;
            Ok(state.clone())
        });
        leader = now_leading;
        ids.record(&group.id(leader), &format!("leader of round {round}"));
        for (id, pid) in &agents {
            ids.record(id, &format!("agent {pid}"));
        }
        for ((framework_id, task_id), (_, agent)) in &state.tasks {
            ids.record(&format!("{framework_id}/{task_id}"), &format!("task on {agent}"));
        }
        for ((framework_id, executor), task_id) in &state.executors {
            ids.record(
                &format!("{framework_id}/executor {executor}"),
                &format!("executor of {task_id}"),
            );
        }
        for (offer, framework_id) in &state.offers {
            ids.record(offer, &format!("offer to {framework_id}"));
        }
        let new =
            launch_new_task(&dir, &group.list(), &format!("new-{round}"), &mut processes, &mut ids);
        assert!(agents.contains_key(&new.agent_id), "{} runs on a registered agent", new.task_id);
        tasks.insert((new.framework_id, new.task_id), new.agent_id);
    }
    let keeper_said: Vec<String> = keeper_lines.try_iter().chain(registered).collect();
    assert!(
        !keeper_said.iter().any(|l| l.contains("replacing") || l.contains("ended")),
        "{keeper_said:?}"
    );
    assert!(
        keeper_said.iter().filter(|l| l.contains("keeper launching")).count() == 1,
        "{keeper_said:?}"
    );
}
