//! The fetcher on real processes: the real `mesos-agent` fetches a task's URIs from a
//! tiny HTTP server in the test (port 0), extracts and runs them, serves a second task
//! from its cache, and fails tasks whose URIs are missing or try to leave the sandbox.
//! A fake master in the test process drives it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use libprocess::Node;
use mesos_proto::mesos::command_info::Uri;
use mesos_proto::mesos::internal::{KillTaskMessage, RunTaskMessage, StatusUpdate};
use mesos_proto::mesos::{TaskId, TaskState, task_status};
use tokio::sync::mpsc;

use super::processes::{Processes, agent_listener, start_agent};
use super::support::{
    AGENT_ID, MasterEvent, TempDir, command_task, fake_master, framework, next_event, next_update,
    within,
};

/// A static file server on loopback that counts the requests for each path. Requests
/// under `held/` are announced on `arrived` and answered only once `release` is
/// called.
struct FileServer {
    address: SocketAddr,
    requests: Arc<Mutex<HashMap<String, u32>>>,
    held: Arc<Held>,
}

/// The gate of `held/` requests.
struct Held {
    released: Mutex<bool>,
    changed: std::sync::Condvar,
    arrived: mpsc::UnboundedSender<String>,
}

impl Held {
    fn wait(&self, path: &str) {
        let _ = self.arrived.send(path.to_string());
        let mut released = self.released.lock().expect("gate");
        while !*released {
            released = self.changed.wait(released).expect("gate");
        }
    }
}

impl FileServer {
    /// Serves the files of `root` (GET only; 404 for anything missing) from a thread
    /// that lives as long as the test binary.
    fn start(root: PathBuf) -> (FileServer, mpsc::UnboundedReceiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the file server");
        let address = listener.local_addr().expect("bound");
        let requests = Arc::new(Mutex::new(HashMap::new()));
        let (arrived, arrivals) = mpsc::unbounded_channel();
        let held =
            Arc::new(Held { released: Mutex::new(false), changed: Default::default(), arrived });
        let (counts, gate) = (requests.clone(), held.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (root, counts, gate) = (root.clone(), counts.clone(), gate.clone());
                std::thread::spawn(move || serve(stream, &root, &counts, &gate));
            }
        });
        (FileServer { address, requests, held }, arrivals)
    }

    /// Lets every held request (and later ones) be answered.
    fn release(&self) {
        *self.held.released.lock().expect("gate") = true;
        self.held.changed.notify_all();
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.address)
    }

    fn requests(&self, path: &str) -> u32 {
        self.requests.lock().expect("counts").get(&format!("/{path}")).copied().unwrap_or(0)
    }
}

fn serve(stream: TcpStream, root: &Path, counts: &Mutex<HashMap<String, u32>>, held: &Held) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    *counts.lock().expect("counts").entry(path.clone()).or_default() += 1;
    if path.starts_with("/held/") {
        held.wait(&path);
    }
    let file = root.join(path.trim_start_matches('/'));
    let mut stream = reader.into_inner();
    let _ = match std::fs::read(&file) {
        Ok(body) if !path.contains("..") => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body))
        }
        _ => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    };
}

/// A gzipped tar of `(path, contents, mode)` files.
fn tar_gz(files: &[(&str, &str, u32)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, contents, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(*mode);
        header.set_cksum();
        builder.append_data(&mut header, path, contents.as_bytes()).expect("tar entry");
    }
    let tar = builder.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("gzip");
    gz.finish().expect("gzip")
}

/// A tar whose only entry is named `name` verbatim (the tar crate's builder refuses
/// `..`, so the header is written by hand).
fn raw_tar(name: &str) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    header.set_size(4);
    header.set_mode(0o644);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, &b"evil"[..]).expect("tar entry");
    builder.into_inner().expect("tar")
}

fn fetched(url: String, configure: impl FnOnce(&mut Uri)) -> Uri {
    let mut uri = Uri { value: url, ..Uri::default() };
    configure(&mut uri);
    uri
}

fn task_with_uris(id: &str, command: &str, uris: Vec<Uri>) -> RunTaskMessage {
    let mut task = command_task(id, command);
    if let Some(command) = task.command.as_mut() {
        command.uris = uris;
    }
    RunTaskMessage { framework: framework(false), task, ..Default::default() }
}

/// The terminal update of `task_id`, skipping the updates of other tasks and earlier
/// states.
async fn terminal_update(
    events: &mut mpsc::UnboundedReceiver<MasterEvent>,
    task_id: &str,
) -> StatusUpdate {
    loop {
        let update = next_update(events).await;
        if update.status.task_id.value == task_id && update.status.state().is_terminal() {
            return update;
        }
    }
}

/// The real agent's `/metrics/snapshot` (one plain HTTP/1.1 request, off the runtime).
async fn agent_metrics(agent: &libprocess::Pid) -> serde_json::Value {
    let address = agent.address();
    let get = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).expect("connect to the agent");
        let request = "GET /metrics/snapshot HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        std::io::Read::read_to_string(&mut stream, &mut response).expect("read");
        response
    });
    let response = within("the agent's metrics", get).await.expect("reader");
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
}

fn sandbox(work_dir: &Path, executor_id: &str) -> PathBuf {
    work_dir
        .join(format!("slaves/{AGENT_ID}/frameworks/FW-0001/executors/{executor_id}/runs/latest"))
}

/// The proof: a task fetches an archive (extracted) and a script (made
/// executable) over HTTP through the fetcher cache and runs the script on the
/// archive's content; a second task with the same URIs finishes too while the server
/// saw one request per URI (the cache served it). The fetcher's log is in the sandbox.
#[actix_rt::test]
async fn task_fetches_extracts_and_runs_then_hits_the_cache() {
    let dir = TempDir::new("fetch-http");
    let work_dir = dir.0.join("work");
    let files = dir.0.join("www");
    std::fs::create_dir_all(&files).expect("www");
    std::fs::write(files.join("app.tar.gz"), tar_gz(&[("app/data.txt", "payload-42\n", 0o644)]))
        .expect("archive");
    std::fs::write(files.join("run.sh"), "#!/bin/sh\necho \"got $(cat app/data.txt)\"\n")
        .expect("script");
    let (server, _arrivals) = FileServer::start(files);
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut processes = Processes::default();
    processes.agents.push(start_agent(master.pid(), &agent_listener(), &work_dir, &[]));
    let MasterEvent::Registered { from: agent } = next_event(&mut events).await else {
        panic!("expected registration")
    };

    let uris = || {
        vec![
            fetched(server.url("app.tar.gz"), |u| u.cache = Some(true)),
            fetched(server.url("run.sh"), |u| {
                u.cache = Some(true);
                u.executable = Some(true);
            }),
        ]
    };
    for task_id in ["task-1", "task-2"] {
        node.send(master.pid(), &agent, task_with_uris(task_id, "./run.sh", uris()));
        let update = terminal_update(&mut events, task_id).await;
        let sandbox = sandbox(&work_dir, task_id);
        let stderr = std::fs::read_to_string(sandbox.join("stderr")).unwrap_or_default();
        assert_eq!(
            update.status.state,
            TaskState::TaskFinished as i32,
            "{task_id}: {:?}; stderr: {stderr}",
            update.status.message
        );
        let stdout = std::fs::read_to_string(sandbox.join("stdout")).expect("stdout");
        assert!(stdout.contains("got payload-42"), "{task_id} stdout: {stdout}");
        assert!(stderr.contains("mesos-fetcher: Extracted 'app.tar.gz'"), "{stderr}");
    }
    assert_eq!(server.requests("app.tar.gz"), 1, "the second task got the archive from the cache");
    assert_eq!(server.requests("run.sh"), 1, "the second task got the script from the cache");
    let cache_files: Vec<_> =
        std::fs::read_dir(work_dir.join("fetch")).expect("cache dir").flatten().collect();
    assert_eq!(cache_files.len(), 2, "one cache file per URI");
    let cached_bytes: u64 = cache_files.iter().map(|f| f.metadata().expect("size").len()).sum();
    let metrics = agent_metrics(&agent).await;
    assert_eq!(metrics["containerizer/fetcher/task_fetches_succeeded"], 2.0, "{metrics}");
    assert_eq!(metrics["containerizer/fetcher/task_fetches_failed"], 0.0);
    assert_eq!(metrics["containerizer/fetcher/cache_size_used_bytes"], cached_bytes as f64);
    assert_eq!(metrics["containerizer/fetcher/cache_size_total_bytes"], (2u64 << 30) as f64);
    node.shutdown().await;
}

/// A URI the server does not have fails the task with TASK_FAILED,
/// REASON_CONTAINER_LAUNCH_FAILED and a message naming the URI and the HTTP code; an
/// `output_file` out of the sandbox and an archive with a `..` entry fail the same way
/// and write nothing outside the sandbox.
#[actix_rt::test]
async fn missing_and_escaping_uris_fail_the_task() {
    let dir = TempDir::new("fetch-fail");
    let work_dir = dir.0.join("work");
    let files = dir.0.join("www");
    std::fs::create_dir_all(&files).expect("www");
    std::fs::write(files.join("evil.tar"), raw_tar("../../../../../evil")).expect("archive");
    std::fs::write(files.join("ok.sh"), "echo ok").expect("script");
    let (server, _arrivals) = FileServer::start(files);
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut processes = Processes::default();
    processes.agents.push(start_agent(master.pid(), &agent_listener(), &work_dir, &[]));
    let MasterEvent::Registered { from: agent } = next_event(&mut events).await else {
        panic!("expected registration")
    };

    let cases = [
        ("missing", fetched(server.url("missing.sh"), |_| {}), "received HTTP return code 404"),
        (
            "escape-output",
            fetched(server.url("ok.sh"), |u| u.output_file = Some("../../../../evil".into())),
            "must be within the sandbox directory",
        ),
        ("escape-archive", fetched(server.url("evil.tar"), |_| {}), "outside the sandbox"),
    ];
    for (task_id, uri, expected) in cases {
        let value = uri.value.clone();
        node.send(master.pid(), &agent, task_with_uris(task_id, "echo never", vec![uri]));
        let update = terminal_update(&mut events, task_id).await;
        assert_eq!(update.status.state, TaskState::TaskFailed as i32, "{task_id}");
        assert_eq!(
            update.status.reason,
            Some(task_status::Reason::ContainerLaunchFailed as i32),
            "{task_id}"
        );
        let message = update.status.message.unwrap_or_default();
        assert!(
            message.contains(&format!("Failed to fetch '{value}'")) && message.contains(expected),
            "{task_id}: {message}"
        );
    }
    let metrics = agent_metrics(&agent).await;
    assert_eq!(metrics["containerizer/fetcher/task_fetches_failed"], 3.0, "{metrics}");
    let sandboxes = work_dir.join(format!("slaves/{AGENT_ID}/frameworks/FW-0001/executors"));
    for outside in [dir.0.join("evil"), work_dir.join("evil"), sandboxes.join("evil")] {
        assert!(!outside.exists(), "{} was written", outside.display());
    }
    node.shutdown().await;
}

/// The agent keeps working while a download hangs (the fetch runs off its actor): a
/// kill of the task whose URI the server holds answers `TASK_KILLED`
/// (`REASON_TASK_KILLED_DURING_LAUNCH`) at once, and a task without URIs runs
/// meanwhile.
#[actix_rt::test]
async fn kill_while_fetching_does_not_wait_for_the_download() {
    let dir = TempDir::new("fetch-kill");
    let work_dir = dir.0.join("work");
    let files = dir.0.join("www");
    std::fs::create_dir_all(files.join("held")).expect("www");
    std::fs::write(files.join("held/app.sh"), "echo never").expect("script");
    let (server, mut arrivals) = FileServer::start(files);
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut processes = Processes::default();
    processes.agents.push(start_agent(master.pid(), &agent_listener(), &work_dir, &[]));
    let MasterEvent::Registered { from: agent } = next_event(&mut events).await else {
        panic!("expected registration")
    };

    let uri = fetched(server.url("held/app.sh"), |u| u.executable = Some(true));
    node.send(master.pid(), &agent, task_with_uris("fetching", "./app.sh", vec![uri]));
    let path = within("the download to start", arrivals.recv()).await.expect("server alive");
    assert_eq!(path, "/held/app.sh");
    node.send(master.pid(), &agent, task_with_uris("plain", "echo plain", vec![]));
    assert_eq!(
        terminal_update(&mut events, "plain").await.status.state,
        TaskState::TaskFinished as i32
    );
    let kill = KillTaskMessage {
        framework_id: framework(false).id.expect("id"),
        task_id: TaskId { value: "fetching".into() },
        kill_policy: None,
    };
    node.send(master.pid(), &agent, kill);
    let killed = terminal_update(&mut events, "fetching").await;
    assert_eq!(killed.status.state, TaskState::TaskKilled as i32);
    assert_eq!(killed.status.reason, Some(task_status::Reason::TaskKilledDuringLaunch as i32));
    server.release();
    node.shutdown().await;
}
