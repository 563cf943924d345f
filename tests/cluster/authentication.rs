//! CRAM-MD5 on real processes: a `mesos-master` with `--authenticate_frameworks
//! --authenticate_agents`, a `mesos-agent` with `--credential`, and the SDK's v0 driver
//! (what `mesos-execute --principal --secret` runs) over real TCP on loopback.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use mesos_framework::execute::{ExecuteScheduler, ExecuteSpec};
use mesos_framework::scheduler::{DriverStatus, SchedulerConfig, framework_info, spawn_scheduler};
use mesos_proto::mesos::TaskState;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid as OsPid;

use super::{GUARD, wait_exit};

/// The processes of one test, stopped (SIGINT, then SIGKILL) and cleaned up on drop.
struct Processes {
    children: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Processes {
    fn drop(&mut self) {
        // The agent first (it stops its executors), then the master.
        for child in self.children.iter_mut().rev() {
            let _ = kill(OsPid::from_raw(child.id() as i32), Signal::SIGINT);
            if wait_exit(child).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts a master requiring authentication and an agent authenticating as `agent`;
/// returns once the agent logged its registration. Returns the master's port.
fn start_secured() -> (Processes, u16) {
    // The test binds both ports itself (the OS picks them) and hands each child its
    // listening socket, so no other test can take a port between a probe and the bind.
    let master_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let agent_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = master_listener.local_addr().unwrap().port();
    let agent_port = agent_listener.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("mesos-auth-test-{base}-{}", std::process::id()));
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in ["mesos-master", "mesos-agent", "mesos-executor"] {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_mesos-local"), bin.join(name)).unwrap();
    }
    let credentials = dir.join("credentials");
    std::fs::write(&credentials, "ops s3cret\nagent a6ent\n").unwrap();
    let credential = dir.join("agent-credential");
    std::fs::write(&credential, r#"{"principal": "agent", "secret": "a6ent"}"#).unwrap();
    let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
    let mut master = Command::new(bin.join("mesos-master"));
    let master_fd = libprocess::inherit::pass_listener(&mut master, &master_listener);
    let master = master
        .args([
            format!("--listen_fd={master_fd}"),
            "--ip=127.0.0.1".to_string(),
            format!("--port={base}"),
            "--registry=in_memory".into(),
            "--authenticate_frameworks".into(),
            "--authenticate_agents".into(),
            format!("--credentials={}", credentials.display()),
        ])
        .stdout(log("master.log"))
        .stderr(log("master.err"))
        .spawn()
        .unwrap();
    let mut processes = Processes { children: vec![master], dir: dir.clone() };
    let agent_dir = dir.join("agent");
    let mut agent = Command::new(bin.join("mesos-agent"));
    let agent_fd = libprocess::inherit::pass_listener(&mut agent, &agent_listener);
    let mut agent = agent
        .args([
            format!("--listen_fd={agent_fd}"),
            format!("--master=127.0.0.1:{base}"),
            "--ip=127.0.0.1".into(),
            format!("--port={agent_port}"),
            format!("--work_dir={}", agent_dir.display()),
            format!("--launcher_dir={}", bin.display()),
            "--resources=cpus:2;mem:1024".into(),
            "--registration_backoff_factor=100ms".into(),
            format!("--credential={}", credential.display()),
        ])
        .env("RUST_LOG", "info")
        .stdout(log("agent.log"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = agent.stderr.take().unwrap();
    processes.children.push(agent);
    // Wait (on the agent's own log, with the guard) until it authenticated and registered.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut authenticated = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            authenticated |= line.contains("authenticated with master");
            if line.contains("registered with master") {
                let _ = tx.send(authenticated);
            }
        }
    });
    let authenticated = rx.recv_timeout(GUARD).expect("the agent registered in time");
    assert!(authenticated, "the agent authenticated before registering");
    (processes, base)
}

/// Runs a one-task `mesos-execute` scheduler on a real node with `credential`.
fn execute(
    port: u16,
    credential: Option<(&str, &str)>,
) -> (DriverStatus, Vec<(String, TaskState)>) {
    actix_rt::System::new().block_on(async move {
        let node = mesos_framework::runtime::start_node().unwrap();
        let mut info = framework_info("auth-test");
        info.principal = credential.map(|(principal, _)| principal.to_string());
        let masters =
            mesos_framework::masters::parse_masters(&format!("127.0.0.1:{port}")).unwrap();
        let mut config = SchedulerConfig::new(info, masters);
        config.credential = credential.map(|(principal, secret)| mesos_security::Credential {
            principal: principal.into(),
            secret: secret.into(),
        });
        let spec = ExecuteSpec {
            name: "job".into(),
            command: "echo hi".into(),
            resources: mesos_framework::tasks::parse_resources("cpus:0.1;mem:32").unwrap(),
            instances: 1,
        };
        let scheduler = ExecuteScheduler::new(spec, Box::new(|_| {}));
        let mut handle = spawn_scheduler(&node, config, scheduler).unwrap();
        let (scheduler, status) = tokio::time::timeout(GUARD, handle.join())
            .await
            .expect("the driver ended in time")
            .unwrap();
        node.shutdown().await;
        (status, scheduler.ended().to_vec())
    })
}

/// Issue 13's proof: an agent and a v0 driver authenticate with CRAM-MD5 against a
/// master with `--authenticate_frameworks --authenticate_agents` and run a task; a
/// driver with a wrong secret is refused ("Master refused authentication"), one without
/// a credential is told it is not authenticated.
#[test]
fn cram_md5_agent_and_driver_run_a_task() {
    let (_processes, port) = start_secured();
    let (status, ended) = execute(port, Some(("ops", "s3cret")));
    assert_eq!(status, DriverStatus::Stopped);
    assert_eq!(ended, vec![("job".to_string(), TaskState::TaskFinished)]);

    let (status, ended) = execute(port, Some(("ops", "guess")));
    assert_eq!(status, DriverStatus::Aborted { message: "Master refused authentication".into() });
    assert!(ended.is_empty());

    let (status, _) = execute(port, None);
    assert!(
        matches!(&status, DriverStatus::Aborted { message } if message.contains("is not authenticated")),
        "{status:?}"
    );
}

/// One libprocess message as any TCP client can write it, claiming to be `from`.
fn forged_request(from: &str, name: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST /master/{name} HTTP/1.1\r\nLibprocess-From: {from}\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads from `listener` until the master delivers a message to `probe`: proof that it
/// has handled everything queued before the message that asked for it.
fn wait_for_delivery(listener: std::net::TcpListener, probe: &str) {
    use std::io::Read;
    let (tx, rx) = mpsc::channel();
    let wanted = format!("POST /{probe}/");
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else { return };
        let mut seen = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stream.read(&mut chunk) {
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&seen).contains(&wanted) {
                let _ = tx.send(());
                return;
            }
        }
    });
    rx.recv_timeout(GUARD).expect("the master answered the probe in time");
}

/// `GET /metrics/snapshot` of the master on `port`.
fn metrics(port: u16) -> serde_json::Value {
    let body = ureq::get(&format!("http://127.0.0.1:{port}/metrics/snapshot"))
        .call()
        .expect("GET /metrics/snapshot")
        .body_mut()
        .read_to_string()
        .expect("body");
    serde_json::from_str(&body).expect("JSON")
}

/// Issue 13: a forged `Libprocess-From` gets nothing. With an authenticated agent and
/// an authenticated v0 driver running a task, a hand-written TCP client claiming the
/// framework's pid sends `KillTaskMessage` and `UnregisterFrameworkMessage`, and claiming
/// the agent's pid a `StatusUpdateMessage` (TASK_FAILED): the master drops all three
/// (`master/invalid_sender_messages`), the framework stays registered and its task
/// running. The real driver then kills the task over its own connection, and the real
/// agent's TASK_KILLED reaches it.
#[test]
fn forged_libprocess_from_gets_nothing() {
    use libprocess::prost::Message as _;
    use mesos_proto::mesos::{FrameworkId, SlaveId, TaskId, TaskStatus, internal};
    use std::io::Write;

    let (_processes, port) = start_secured();
    actix_rt::System::new().block_on(async move {
        let node = mesos_framework::runtime::start_node().unwrap();
        let mut info = framework_info("victim");
        info.principal = Some("ops".into());
        let masters =
            mesos_framework::masters::parse_masters(&format!("127.0.0.1:{port}")).unwrap();
        let mut config = SchedulerConfig::new(info, masters);
        config.credential =
            Some(mesos_security::Credential { principal: "ops".into(), secret: "s3cret".into() });
        let spec = ExecuteSpec {
            name: "job".into(),
            command: "sleep 600".into(),
            resources: mesos_framework::tasks::parse_resources("cpus:0.1;mem:32").unwrap(),
            instances: 1,
        };
        let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
        let report = Box::new(move |line: &str| {
            let _ = lines_tx.send(line.to_string());
        });
        let mut handle = spawn_scheduler(&node, config, ExecuteScheduler::new(spec, report))
            .expect("the driver starts");
        let running = async {
            while let Some(line) = lines.recv().await {
                if line.contains("TASK_RUNNING") {
                    return;
                }
            }
        };
        tokio::time::timeout(GUARD, running).await.expect("the task runs in time");

        let state = super::master_state(port);
        let framework = &state["frameworks"][0];
        let framework_id = framework["id"].as_str().expect("a framework").to_string();
        let framework_pid = framework["pid"].as_str().expect("its pid").to_string();
        let agent = &state["slaves"][0];
        let agent_pid = agent["pid"].as_str().expect("the agent's pid").to_string();
        let agent_id = agent["id"].as_str().expect("the agent's id").to_string();

        let framework_id = FrameworkId { value: framework_id };
        let task_id = TaskId { value: "job".into() };
        let kill = internal::KillTaskMessage {
            framework_id: framework_id.clone(),
            task_id: task_id.clone(),
            kill_policy: None,
        };
        let unregister =
            internal::UnregisterFrameworkMessage { framework_id: framework_id.clone() };
        let mut status = TaskStatus { task_id, ..Default::default() };
        status.set_state(TaskState::TaskFailed);
        status.slave_id = Some(SlaveId { value: agent_id.clone() });
        let update = internal::StatusUpdateMessage {
            update: internal::StatusUpdate {
                framework_id,
                slave_id: Some(SlaveId { value: agent_id }),
                status,
                timestamp: 1.0,
                uuid: Some(vec![7; 16]),
                ..Default::default()
            },
            pid: Some(agent_pid.clone()),
        };
        // The forger asks, last, for an answer at an address of its own: once it comes,
        // the master has handled the three forged messages before it (one connection,
        // one mailbox, in order).
        let probe_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let probe = format!("forger@{}", probe_listener.local_addr().unwrap());
        let hello = internal::AuthenticateMessage { pid: probe.clone() };
        let mut bytes = Vec::new();
        for (from, name, body) in [
            (&framework_pid, "mesos.internal.KillTaskMessage", kill.encode_to_vec()),
            (
                &framework_pid,
                "mesos.internal.UnregisterFrameworkMessage",
                unregister.encode_to_vec(),
            ),
            (&agent_pid, "mesos.internal.StatusUpdateMessage", update.encode_to_vec()),
            (&probe, "mesos.internal.AuthenticateMessage", hello.encode_to_vec()),
        ] {
            bytes.extend(forged_request(from, name, &body));
        }
        let mut forger = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        forger.write_all(&bytes).unwrap();
        wait_for_delivery(probe_listener, "forger");

        assert_eq!(metrics(port)["master/invalid_sender_messages"], 3.0);
        let state = super::master_state(port);
        assert_eq!(state["frameworks"].as_array().map(Vec::len), Some(1), "{state}");
        assert_eq!(state["frameworks"][0]["active"], true, "{state}");
        assert_eq!(state["frameworks"][0]["tasks"][0]["state"], "TASK_RUNNING", "{state}");

        // The real framework, on its own connection, is still heard.
        let task = TaskId { value: "job".into() };
        handle.call(move |_, driver| driver.kill(&task)).await.expect("the driver runs");
        let (scheduler, status) = tokio::time::timeout(GUARD, handle.join())
            .await
            .expect("the driver ended in time")
            .unwrap();
        assert_eq!(status, DriverStatus::Stopped);
        assert_eq!(scheduler.ended(), [("job".to_string(), TaskState::TaskKilled)]);
        node.shutdown().await;
    });
}
