//! The three-master HA cluster of `mesos-local` on real processes: kill -9 of the leader,
//! a master whose disk was wiped, and the whole cluster under TLS.

use super::*;

/// The three-master HA cluster of `mesos-local`: pymesos pointed at a follower follows
/// its redirect to the leader and runs tasks; after kill -9 of the leading master a new
/// leader is elected, the agents re-register, and pymesos (pointed at a survivor) runs
/// tasks again.
#[test]
fn ha_cluster_survives_kill_9_of_the_leader() {
    let (local, ports) = start_local(3, 2);
    let (leader_port, leader_pid, leader_dir) = leader_line(&local.lines);
    let follower = *ports.iter().find(|p| **p != leader_port).unwrap();
    let (status, output) = pymesos(&format!("127.0.0.1:{follower}"), "echo one", 2);
    assert_eq!(status, Some(0), "through a follower:\n{output}");

    kill(OsPid::from_raw(leader_pid), Signal::SIGKILL).unwrap();
    let line = local.wait_line(|l| l.starts_with("mesos-local: leading master is now"));
    assert!(!line.ends_with(&format!(":{leader_port}")), "a different master leads: {line}");
    let survivor = follower;
    let (status, output) = pymesos(&format!("127.0.0.1:{survivor}"), "echo two", 2);
    assert_eq!(status, Some(0), "after the leader died:\n{output}");
    assert_eq!(output.matches("TASK_FINISHED").count(), 2, "{output}");

    // The dead leader's registry is on disk: `mesos-registry dump` reads it (a backup).
    let dump = Command::new(local.work_dir.join("bin/mesos-registry"))
        .arg("dump")
        .arg(format!("--work_dir={}", leader_dir.display()))
        .output()
        .expect("run mesos-registry");
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let registry: serde_json::Value = serde_json::from_slice(&dump.stdout).expect("JSON");
    let text = registry.to_string();
    assert_eq!(
        text.matches("\"hostname\":\"127.0.0.1\"").count(),
        2,
        "both agents are in the registry: {text}"
    );
    drop(local);
}

/// A master whose disk is lost (kill -9, then its raft log deleted) is started again on
/// the same address: its log is blank, the other masters have one, so it rejoins as the
/// next incarnation of its slot (raft id slot + 256) through a membership change and
/// catches up. It is a real voter afterwards: when the leader is then killed, the new
/// leader can only be elected with its vote.
#[test]
fn ha_master_with_a_wiped_disk_rejoins_the_group() {
    let (local, ports) = start_local(3, 1);
    let leader = leader_line(&local.lines);
    let follower = local
        .lines
        .iter()
        .find(|l| l.trim_start().starts_with("master") && !l.contains("(leader)"));
    let wiped = master_line(follower.expect("a follower"));
    let (port, pid, dir) = wiped;
    kill(OsPid::from_raw(pid), Signal::SIGKILL).unwrap();
    local.wait_line(|l| l.contains(&format!("(os pid {pid}) exited")));
    std::fs::remove_dir_all(dir.join("raft")).expect("wipe the raft log");

    // The killed master's port was freed by its death (mesos-local keeps no copy of a
    // child's listener); it is bound again at once, by the restarted master.
    let list = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>().join(",");
    let mut child = Command::new(local.work_dir.join("bin/mesos-master"))
        .args([
            "--ip=127.0.0.1".to_string(),
            format!("--port={port}"),
            format!("--work_dir={}", dir.display()),
        ])
        .args(["--registry=raft".to_string(), format!("--masters={list}")])
        .stderr(Stdio::piped())
        .spawn()
        .expect("restart the wiped master");
    let stderr = child.stderr.take().expect("stderr");
    let restarted = KillOnDrop(child);
    let (lines, _later) =
        read_lines_until(stderr, |l| l.contains("rejoined the group as a new member"));
    assert!(lines.iter().any(|l| l.contains("the group has a log")), "{lines:?}");

    // A master's slot is its place in the sorted `--masters` list (registrar/members.rs).
    let mut sorted = ports.clone();
    sorted.sort_unstable();
    let slot = sorted.iter().position(|p| *p == port).expect("a master's port") as u64 + 1;
    let status = raft_status(port);
    assert_eq!(status["id"], slot + 256, "{status}");
    let (leader_port, leader_pid, _) = leader;
    kill(OsPid::from_raw(leader_pid), Signal::SIGKILL).unwrap();
    let line = local.wait_line(|l| l.starts_with("mesos-local: leading master is now"));
    assert!(!line.ends_with(&format!(":{leader_port}")), "a different master leads: {line}");
    let status = raft_status(port);
    let members: Vec<u64> = status["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["id"].as_u64())
        .collect();
    assert!(members.contains(&(slot + 256)) && !members.contains(&slot), "{status}");
    drop(restarted);
    drop(local);
}

/// What a plain-HTTP client gets from `port`: whatever bytes come back before the server
/// closes or 5 s pass.
fn plain_http_answer(port: u16) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = stream.write_all(b"GET /master/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

/// The whole HA cluster under TLS (`LIBPROCESS_SSL_*`, mutual TLS, certificates from a CA
/// the test makes): raft between the masters, agents, the executors the agents start
/// (they inherit the setting), `mesos-execute`, and mesos-local's own HTTPS queries. A
/// plain-HTTP client gets no HTTP answer; `mesos-execute` runs a task; after kill -9 of
/// the leader a new one is elected over TLS and `mesos-execute` runs a task again.
#[test]
fn ha_cluster_runs_under_tls() {
    let pki_dir = std::env::temp_dir().join(format!("mesos-local-tls-{}", std::process::id()));
    let pki = libprocess::test_pki::TestPki::new(&pki_dir, "mesos-rs test CA").expect("CA");
    let identity = pki.issue("cluster", &["127.0.0.1".parse().unwrap()]).expect("certificate");
    let env = pki.env(&identity);
    let execute_bin = mesos_execute();
    let (local, ports) = start_local_with(3, 1, &env, &[]);
    let (leader_port, leader_pid, _) = leader_line(&local.lines);
    assert!(local.lines.iter().any(|l| l.contains("web UI  https://")), "{:?}", local.lines);

    let answer = plain_http_answer(leader_port);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP answered: {:?}",
        String::from_utf8_lossy(&answer)
    );

    let masters = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>().join(",");
    let args = |name: &str| {
        vec![
            format!("--master={masters}"),
            format!("--name={name}"),
            format!("--command=echo {name}"),
        ]
    };
    let (code, out) = execute(&execute_bin, &env, &args("tls-one"));
    assert_eq!(code, Some(0), "mesos-execute over TLS:\n{out}");
    assert!(out.contains("TASK_FINISHED for task 'tls-one'"), "{out}");

    kill(OsPid::from_raw(leader_pid), Signal::SIGKILL).unwrap();
    let line = local.wait_line(|l| l.starts_with("mesos-local: leading master is now"));
    assert!(!line.ends_with(&format!(":{leader_port}")), "a different master leads: {line}");
    let (code, out) = execute(&execute_bin, &env, &args("tls-two"));
    assert_eq!(code, Some(0), "mesos-execute over TLS after the failover:\n{out}");
    assert!(out.contains("TASK_FINISHED for task 'tls-two'"), "{out}");
    drop(local);
    let _ = std::fs::remove_dir_all(&pki_dir);
}
