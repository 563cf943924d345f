//! CRAM-MD5 on real processes: a `mesos-master` with `--authenticate_frameworks
//! --authenticate_agents`, a `mesos-agent` with `--credential`, and the SDK's v0 driver
//! (what `mesos-execute --principal --secret` runs) over real TCP on loopback. And HTTP
//! executor authentication under TLS: the command executor on the v1 HTTP API with its
//! token (`--http_command_executor`, `--authenticate_http_executors`).

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

/// A file under `dir` (searched depth-first, symlinks not followed) whose path
/// satisfies `wanted`.
fn find_file(dir: &std::path::Path, wanted: &dyn Fn(&str) -> bool) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let kind = entry.file_type().ok()?;
        if kind.is_dir() {
            if let Some(found) = find_file(&path, wanted) {
                return Some(found);
            }
        } else if kind.is_file() && wanted(&path.to_string_lossy()) {
            return Some(path);
        }
    }
    None
}

/// `GET path` over a connection made with `libprocess::tls::connect` (TLS with `tls`):
/// everything the server answered before it closed.
async fn get_over(address: std::net::SocketAddr, tls: &libprocess::tls::Tls, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timeout = std::time::Duration::from_secs(10);
    let mut stream = libprocess::tls::connect(address, Some(tls), timeout).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(GUARD, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// The issue's proof for HTTP executors under TLS: `mesos-local` with TLS on (mutual,
/// a CA the test makes), and its agent with `--authenticate_http_executors`,
/// `--jwt_secret_key` and `--http_command_executor` (as `MESOS_*` variables). A command
/// task from `mesos-execute` runs to `TASK_FINISHED`; its command executor ran on the v1
/// HTTP API (its log says so), which it reached over TLS with its token. A SUBSCRIBE
/// for that executor with a forged token (the right claims, another key) is refused
/// with `401`; in plain HTTP the agent does not answer at all. The master's web UI
/// proxy reaches the agent over TLS too.
#[test]
fn http_command_executor_authenticates_over_tls() {
    use mesos_framework::executor::{ExecutorEnv, HttpEndpoint};
    use mesos_proto::mesos::v1::executor::{Call, call};
    use mesos_security::jwt::{Claims, EXECUTOR_TOKEN_ENV, JwtKey};

    let dir = std::env::temp_dir().join(format!("mesos-exec-tls-{}", std::process::id()));
    let pki = libprocess::test_pki::TestPki::new(&dir.join("pki"), "exec test CA").expect("CA");
    let identity = pki.issue("cluster", &["127.0.0.1".parse().unwrap()]).expect("certificate");
    let key_file = dir.join("jwt.key");
    std::fs::write(&key_file, "the agent's executor key").unwrap();
    let mut env = pki.env(&identity);
    for (name, value) in [
        ("MESOS_AUTHENTICATE_HTTP_EXECUTORS", "true"),
        ("MESOS_HTTP_COMMAND_EXECUTOR", "true"),
        ("MESOS_JWT_SECRET_KEY", &key_file.to_string_lossy()),
    ] {
        env.push((name.to_string(), value.to_string()));
    }
    let (local, ports) = super::start_local_with(1, 1, &env, &[]);
    let agent_line =
        local.lines.iter().find(|l| l.contains("slave(1)@")).expect("an agent line").clone();
    let agent_pid = agent_line.split_whitespace().find(|w| w.starts_with("slave(1)@")).unwrap();
    let agent: libprocess::Pid = agent_pid.parse().expect("the agent's pid");

    let args = vec![
        format!("--master=127.0.0.1:{}", ports[0]),
        "--name=http-exec".to_string(),
        "--command=echo over-tls".to_string(),
    ];
    let (code, out) = super::execute(&super::mesos_execute(), &env, &args);
    assert_eq!(code, Some(0), "mesos-execute:\n{out}");
    assert!(out.contains("TASK_FINISHED for task 'http-exec'"), "{out}");

    let in_sandbox = |p: &str| p.contains("/executors/http-exec/runs/") && p.ends_with("/stderr");
    let stderr = find_file(&local.work_dir, &in_sandbox).expect("the executor's sandbox");
    let log = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(log.contains("command executor on the v1 executor HTTP API"), "{log}");

    // slaves/<agent id>/frameworks/<framework id>/executors/http-exec/runs/<container id>
    let parts: Vec<String> =
        stderr.iter().map(|part| part.to_string_lossy().into_owned()).collect();
    let after = |name: &str| {
        let at = parts.iter().position(|p| p == name).expect(name);
        parts[at + 1].clone()
    };
    let (agent_id, framework_id, container_id) =
        (after("slaves"), after("frameworks"), after("runs"));
    let forged = JwtKey::new(b"a guessed key".to_vec()).unwrap().sign(&Claims::executor(
        &framework_id,
        "http-exec",
        &container_id,
    ));
    let vars: std::collections::HashMap<String, String> = [
        ("MESOS_SLAVE_PID", agent.to_string()),
        ("MESOS_SLAVE_ID", agent_id),
        ("MESOS_FRAMEWORK_ID", framework_id.clone()),
        ("MESOS_EXECUTOR_ID", "http-exec".to_string()),
        ("MESOS_DIRECTORY", dir.to_string_lossy().into_owned()),
        (EXECUTOR_TOKEN_ENV, forged),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let executor_env = ExecutorEnv::from_map(&vars).expect("an executor environment");
    let subscribe = Call {
        framework_id: mesos_proto::mesos::v1::FrameworkId { value: framework_id },
        executor_id: mesos_proto::mesos::v1::ExecutorId { value: "http-exec".into() },
        r#type: Some(call::Type::Subscribe as i32),
        subscribe: Some(call::Subscribe::default()),
        ..Call::default()
    };
    let tls = pki.config(&identity).load().expect("load").expect("TLS on");
    actix_rt::System::new().block_on(async {
        let over_tls = HttpEndpoint::from_env(&executor_env, Some(tls.clone()));
        let refused = over_tls.subscribe(subscribe.clone(), |_| true).await;
        assert!(refused.contains("401"), "a forged token: {refused}");
        let plain = HttpEndpoint::from_env(&executor_env, None);
        let unanswered = plain.subscribe(subscribe, |_| true).await;
        assert!(!unanswered.contains("agent answered"), "plain HTTP: {unanswered}");

        let master = format!("127.0.0.1:{}", ports[0]).parse().unwrap();
        let proxied = format!("/master/proxy/{}/slave(1)/state", agent.address());
        let answer = get_over(master, &tls, &proxied).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    });
    drop(local);
    let _ = std::fs::remove_dir_all(&dir);
}
