//! Nested containers, sessions and standalone containers through the real
//! `mesos-agent`'s operator API, driven by an HTTP client written here from Mesos's
//! docs (docs/operator-http-api.md, docs/recordio.md): JSON calls, RecordIO framing
//! (`<length>\n<bytes>`) of `ProcessIO` records, chunked transfer encoding. Nothing of
//! the agent's own types or helpers is used to speak the protocol.

use std::net::SocketAddr;
use std::path::PathBuf;

use libprocess::Node;
use mesos_proto::mesos::TaskState;
use mesos_proto::mesos::internal::RunTaskMessage;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::processes::{
    Processes, agent_listener, executor_pid, make_fifo, read_fifo, start_agent,
};
use super::support::{
    AGENT_ID, MasterEvent, TempDir, command_task, fake_master, framework, next_event, next_update,
    within,
};

/// One HTTP/1.1 response being read.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    chunked: bool,
    length: Option<usize>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        let found = self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
        found.map(|(_, v)| v.as_str())
    }

    /// The next piece of the body (`None` at its end): one chunk of a chunked body,
    /// or the whole of a sized one.
    async fn next_piece(&mut self) -> Option<Vec<u8>> {
        if !self.chunked {
            let length = self.length.take()?;
            let mut body = vec![0; length];
            self.reader.read_exact(&mut body).await.ok()?;
            return Some(body);
        }
        let mut line = String::new();
        self.reader.read_line(&mut line).await.ok()?;
        let size = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0; size + 2];
        self.reader.read_exact(&mut chunk).await.ok()?;
        chunk.truncate(size);
        (size > 0).then_some(chunk)
    }

    /// The rest of the body.
    async fn body(mut self) -> Vec<u8> {
        let mut all = Vec::new();
        while let Some(piece) = self.next_piece().await {
            all.extend(piece);
        }
        all
    }
}

/// POSTs `body` to the agent's `/api/v1` with `headers`.
async fn post(agent: SocketAddr, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(agent).await.expect("connect to the agent");
    let mut head = format!(
        "POST /slave(1)/api/v1 HTTP/1.1\r\nHost: {agent}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("send head");
    stream.write_all(body).await.expect("send body");
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).await.expect("status line");
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.expect("header");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let mut answer = Answer { status, headers, reader, chunked: false, length: None };
    answer.chunked =
        answer.header("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    answer.length = answer.header("Content-Length").and_then(|v| v.parse().ok());
    answer
}

/// A JSON call; its status and JSON body (Null when empty).
pub(super) async fn call(agent: SocketAddr, body: Value) -> (u16, Value) {
    let headers = [("Content-Type", "application/json"), ("Accept", "application/json")];
    let answer = within("a call", post(agent, &headers, body.to_string().as_bytes())).await;
    let status = answer.status;
    let body = within("its body", answer.body()).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// RecordIO records of a body: `<decimal length>\n<bytes>` one after the other.
fn records(mut body: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let newline = body.iter().position(|b| *b == b'\n').expect("record length");
        let length: usize = std::str::from_utf8(&body[..newline]).unwrap().parse().unwrap();
        let record = &body[newline + 1..newline + 1 + length];
        out.push(serde_json::from_slice(record).expect("a JSON record"));
        body = &body[newline + 1 + length..];
    }
    out
}

fn record(value: &Value) -> Vec<u8> {
    let bytes = value.to_string().into_bytes();
    let mut out = format!("{}\n", bytes.len()).into_bytes();
    out.extend(bytes);
    out
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            let c =
                if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] } else { b'=' };
            out.push(c as char);
        }
    }
    out
}

fn unbase64(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let digits: Vec<u32> = text
        .bytes()
        .filter(|b| *b != b'=')
        .map(|b| ALPHABET.find(b as char).unwrap() as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, d)| n | d << (18 - 6 * i));
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

/// The `STDOUT` (or `STDERR`) data of `ProcessIO` records, concatenated.
fn output(records: &[Value], stream: &str) -> String {
    let mut text = Vec::new();
    for r in records {
        if r["type"] == "CONTROL" {
            assert_eq!(r["control"]["type"], "HEARTBEAT", "the only control output: {r}");
            continue;
        }
        assert_eq!(r["type"], "DATA", "output records are DATA or heartbeats: {r}");
        if r["data"]["type"] == stream {
            text.extend(unbase64(r["data"]["data"].as_str().unwrap_or_default()));
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

pub(super) fn nested_id(parent: &str, value: &str) -> Value {
    json!({"value": value, "parent": {"value": parent}})
}

/// A session's answer: RecordIO of JSON `ProcessIO`.
async fn launch_session(agent: SocketAddr, id: Value, command: &str, tty: Option<Value>) -> Answer {
    let mut session = json!({"container_id": id, "command": {"value": command}});
    if let Some(tty) = tty {
        session["container"] = json!({"type": "MESOS", "tty_info": tty});
    }
    let body = json!({"type": "LAUNCH_NESTED_CONTAINER_SESSION", "launch_nested_container_session": session});
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/recordio"),
        ("Message-Accept", "application/json"),
    ];
    within("the session", post(agent, &headers, body.to_string().as_bytes())).await
}

/// ATTACH_CONTAINER_INPUT: the container, then `inputs` (ProcessIO messages).
async fn attach_input(agent: SocketAddr, id: Value, inputs: &[Value]) -> u16 {
    let first = json!({"type": "ATTACH_CONTAINER_INPUT",
        "attach_container_input": {"type": "CONTAINER_ID", "container_id": id}});
    let mut body = record(&first);
    for io in inputs {
        let call = json!({"type": "ATTACH_CONTAINER_INPUT",
            "attach_container_input": {"type": "PROCESS_IO", "process_io": io}});
        body.extend(record(&call));
    }
    let headers =
        [("Content-Type", "application/recordio"), ("Message-Content-Type", "application/json")];
    let answer = within("the input", post(agent, &headers, &body)).await;
    answer.status
}

fn stdin(data: &[u8]) -> Value {
    json!({"type": "DATA", "data": {"type": "STDIN", "data": base64(data)}})
}

/// One ATTACH_CONTAINER_INPUT connection whose body is written record by record
/// (chunked transfer encoding: one chunk per record), as an interactive client does.
struct InputConnection {
    writer: tokio::net::tcp::OwnedWriteHalf,
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
}

impl InputConnection {
    /// Opens the connection and sends the first record, naming the container.
    async fn open(agent: SocketAddr, id: Value) -> InputConnection {
        let stream = TcpStream::connect(agent).await.expect("connect to the agent");
        let (reader, mut writer) = stream.into_split();
        let head = format!(
            "POST /slave(1)/api/v1 HTTP/1.1\r\nHost: {agent}\r\nContent-Type: application/recordio\r\nMessage-Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        writer.write_all(head.as_bytes()).await.expect("send head");
        let mut input = InputConnection { writer, reader: BufReader::new(reader) };
        input
            .send_call(json!({"type": "ATTACH_CONTAINER_INPUT",
                "attach_container_input": {"type": "CONTAINER_ID", "container_id": id}}))
            .await;
        input
    }

    async fn send_call(&mut self, call: Value) {
        let record = record(&call);
        let mut chunk = format!("{:x}\r\n", record.len()).into_bytes();
        chunk.extend(record);
        chunk.extend_from_slice(b"\r\n");
        self.writer.write_all(&chunk).await.expect("send a record");
    }

    /// Sends one `ProcessIO` message.
    async fn send(&mut self, io: Value) {
        self.send_call(json!({"type": "ATTACH_CONTAINER_INPUT",
            "attach_container_input": {"type": "PROCESS_IO", "process_io": io}}))
            .await;
    }

    /// The answer's status (the body may still be open).
    async fn status(&mut self) -> u16 {
        let mut line = String::new();
        within("the input's answer", self.reader.read_line(&mut line)).await.expect("status");
        line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }
}

/// WAIT_NESTED_CONTAINER: status and `exit_status`.
pub(super) async fn wait(agent: SocketAddr, id: Value) -> (u16, Option<i64>) {
    let (status, body) = call(
        agent,
        json!({"type": "WAIT_NESTED_CONTAINER", "wait_nested_container": {"container_id": id}}),
    )
    .await;
    (status, body["wait_nested_container"]["exit_status"].as_i64())
}

/// A real agent running one command task (`task-1`) that writes `note.txt` and waits;
/// the agent's address and the task's container id and sandbox, and what restarting
/// the agent takes (its processes, listener and master).
pub(super) struct Running {
    _dir: TempDir,
    pub(super) processes: Processes,
    pub(super) node: Node,
    pub(super) agent: SocketAddr,
    pub(super) container: String,
    pub(super) sandbox: PathBuf,
    pub(super) work_dir: PathBuf,
    pub(super) listener: std::net::TcpListener,
    pub(super) master: libprocess::Pid,
    pub(super) events: tokio::sync::mpsc::UnboundedReceiver<MasterEvent>,
}

impl Running {
    /// A folder of the test's own, for its fifos.
    pub(super) fn dir(&self) -> &std::path::Path {
        &self._dir.0
    }
}

async fn running_task(name: &str) -> Running {
    running_task_with(name, false).await
}

/// [`running_task`] for a framework that checkpoints (`checkpoint`), whose task
/// survives an agent restart.
pub(super) async fn running_task_with(name: &str, checkpoint: bool) -> Running {
    let dir = TempDir::new(name);
    let work_dir = dir.0.join("work");
    let node = Node::builder("127.0.0.1:0".parse::<SocketAddr>().unwrap()).start().expect("node");
    let (master, mut events) = fake_master(&node, true);
    let mut processes = Processes::default();
    let listener = agent_listener();
    let agent = listener.local_addr().expect("address");
    // Heartbeats often, so that a session's closed connection is noticed quickly.
    let extra = ["--http_heartbeat_interval=100ms"];
    processes.agents.push(start_agent(master.pid(), &listener, &work_dir, &extra));
    let MasterEvent::Registered { from } = next_event(&mut events).await else {
        panic!("expected registration")
    };
    // The task says on a fifo (with its pid, for the cleanup guard: it leads its own
    // process group) once its file is written, so the test waits on that.
    let written = dir.0.join("written.fifo");
    make_fifo(&written);
    let command = format!(
        "echo secret-from-task > note.txt; echo $$ > {}; exec sleep 1000",
        written.display()
    );
    let task = command_task("task-1", &command);
    node.send(
        master.pid(),
        &from,
        RunTaskMessage { framework: framework(checkpoint), task, ..Default::default() },
    );
    // The agent adds the container's status to the task's updates (Mesos:
    // `Slave::_statusUpdate`): where `mesos task exec` finds the container to nest in.
    let reported = loop {
        let update = next_update(&mut events).await;
        if update.status.state == TaskState::TaskRunning as i32 {
            break update.status.container_status.and_then(|c| c.container_id);
        }
    };
    if let Some(executor) = executor_pid(&work_dir, AGENT_ID, "FW-0001", "task-1") {
        processes.groups.push(executor);
    }
    let runs = work_dir.join(format!("slaves/{AGENT_ID}/frameworks/FW-0001/executors/task-1/runs"));
    let container = std::fs::read_link(runs.join("latest")).expect("runs/latest");
    let container = container.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(reported.map(|c| c.value).as_deref(), Some(container.as_str()));
    let sandbox = runs.join(&container);
    processes.groups.push(read_fifo(written).await.trim().parse().expect("the task's pid"));
    let master = master.pid().clone();
    Running {
        _dir: dir,
        processes,
        node,
        agent,
        container,
        sandbox,
        work_dir,
        listener,
        master,
        events,
    }
}

/// The proof (Mesos: `AgentAPITest.LaunchNestedContainerSession`,
/// `AttachContainerInput`, `LaunchNestedContainerSessionWithTTY`,
/// `LaunchNestedContainerSessionDisconnected`): `cat` of a file the task wrote, in a
/// session inside the task's container, streams the file back and exits 0; a
/// session's stdin is fed by ATTACH_CONTAINER_INPUT; ATTACH_CONTAINER_OUTPUT gives a
/// second client the same output; a TTY session sees its window
/// size and its resize; a session dies with its client's connection.
#[actix_rt::test]
async fn session_streams_output_and_takes_input() {
    let run = running_task("sessions").await;
    let agent = run.agent;

    let id = nested_id(&run.container, "exec-cat");
    let answer = launch_session(agent, id.clone(), "cat note.txt", None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("Content-Type"), Some("application/recordio"));
    assert_eq!(answer.header("Message-Content-Type"), Some("application/json"));
    let out = records(&within("the output", answer.body()).await);
    assert_eq!(output(&out, "STDOUT"), "secret-from-task\n");
    assert_eq!(wait(agent, id).await, (200, Some(0)));

    // stdin: `cat` echoes what ATTACH_CONTAINER_INPUT sends, until end of file.
    let id = nested_id(&run.container, "exec-stdin");
    let answer = launch_session(agent, id.clone(), "cat; echo done >&2", None).await;
    assert_eq!(answer.status, 200);
    let reading = tokio::spawn(answer.body());
    assert_eq!(attach_input(agent, id.clone(), &[stdin(b"hello "), stdin(b"input\n")]).await, 200);
    assert_eq!(attach_input(agent, id.clone(), &[stdin(b"more\n"), stdin(b"")]).await, 200);
    let out = records(&within("the echo", reading).await.expect("reader"));
    assert_eq!(output(&out, "STDOUT"), "hello input\nmore\n");
    assert_eq!(output(&out, "STDERR"), "done\n");
    assert_eq!(wait(agent, id.clone()).await, (200, Some(0)));
    assert_eq!(attach_input(agent, id, &[stdin(b"late\n")]).await, 400, "its input is closed");

    // ATTACH_CONTAINER_OUTPUT: a second client sees the same output.
    let id = nested_id(&run.container, "exec-two");
    let first = launch_session(agent, id.clone(), "read x; echo got $x", None).await;
    assert_eq!(first.status, 200);
    let attach = json!({"type": "ATTACH_CONTAINER_OUTPUT",
                        "attach_container_output": {"container_id": id}});
    let headers = [
        ("Content-Type", "application/json"),
        ("Accept", "application/recordio"),
        ("Message-Accept", "application/json"),
    ];
    let second = within("the attach", post(agent, &headers, attach.to_string().as_bytes())).await;
    assert_eq!(second.status, 200);
    let (first, second) = (tokio::spawn(first.body()), tokio::spawn(second.body()));
    assert_eq!(attach_input(agent, id.clone(), &[stdin(b"both\n"), stdin(b"")]).await, 200);
    for reader in [first, second] {
        let out = records(&within("an output", reader).await.expect("reader"));
        assert_eq!(output(&out, "STDOUT"), "got both\n");
    }
    assert_eq!(wait(agent, id).await, (200, Some(0)));

    // A TTY: the window size at launch, then (once the first size is out) a resize
    // through TTY_INFO.
    let id = nested_id(&run.container, "exec-tty");
    let tty = json!({"window_size": {"rows": 30, "columns": 100}});
    let mut answer =
        launch_session(agent, id.clone(), "stty size; read x; stty size", Some(tty)).await;
    assert_eq!(answer.status, 200);
    let mut seen = Vec::new();
    while !output(&records(&seen), "STDOUT").contains("30 100") {
        let piece = within("the first size", answer.next_piece()).await;
        seen.extend(piece.expect("the session ended before printing its size"));
    }
    let resize = json!({"type": "CONTROL",
        "control": {"type": "TTY_INFO", "tty_info": {"window_size": {"rows": 40, "columns": 120}}}});
    assert_eq!(attach_input(agent, id.clone(), &[resize, stdin(b"go\n")]).await, 200);
    seen.extend(within("the tty", answer.body()).await);
    let out = output(&records(&seen), "STDOUT");
    assert!(out.contains("40 120"), "the resize: {out:?}");
    assert_eq!(wait(agent, id).await, (200, Some(0)));

    // The client goes away: the session is killed (SIGKILL: raw wait status 9). The
    // agent notices at its next heartbeat write (every 100 ms here, 30 s by default).
    let id = nested_id(&run.container, "exec-gone");
    let answer = launch_session(agent, id.clone(), "sleep 1000", None).await;
    assert_eq!(answer.status, 200);
    drop(answer);
    assert_eq!(wait(agent, id).await, (200, Some(9)));
    run.node.shutdown().await;
}

/// Interactive input (Mesos: `AgentAPITest.AttachContainerInput`, with the input
/// streamed as `mesos task exec` streams it): a session runs `cat`; each line sent on
/// one open ATTACH_CONTAINER_INPUT connection comes back on the session's output
/// before the next is sent; a second input connection meanwhile gets `409`; end of
/// file (an empty DATA record) ends `cat`, the session (exit status 0) and the input's
/// answer (`200`), though the client never ended its request body.
#[actix_rt::test]
async fn interactive_input_echoes_line_by_line() {
    let run = running_task("interactive").await;
    let agent = run.agent;
    let id = nested_id(&run.container, "exec-interactive");
    let mut output_answer = launch_session(agent, id.clone(), "cat", None).await;
    assert_eq!(output_answer.status, 200);

    let mut input = InputConnection::open(agent, id.clone()).await;
    let mut seen = Vec::new();
    for line in ["first line\n", "second line\n", "third\n"] {
        input.send(stdin(line.as_bytes())).await;
        let expected: String = {
            let before = output(&records(&seen), "STDOUT");
            format!("{before}{line}")
        };
        while output(&records(&seen), "STDOUT") != expected {
            let piece = within("the echo of one line", output_answer.next_piece()).await;
            seen.extend(piece.expect("the session ended before echoing"));
        }
    }
    input.send(json!({"type": "CONTROL", "control": {"type": "HEARTBEAT"}})).await;

    let mut second = InputConnection::open(agent, id.clone()).await;
    assert_eq!(second.status().await, 409, "one input connection at a time");

    input.send(stdin(b"")).await;
    assert_eq!(input.status().await, 200, "the session's end answers the open input");
    seen.extend(within("the end of the output", output_answer.body()).await);
    assert_eq!(output(&records(&seen), "STDOUT"), "first line\nsecond line\nthird\n");
    assert_eq!(wait(agent, id).await, (200, Some(0)));
    run.node.shutdown().await;
}

/// LAUNCH/WAIT/KILL/REMOVE_NESTED_CONTAINER (Mesos: `AgentAPITest.NestedContainerLaunch`,
/// `NestedContainerWaitNotFound`, `NestedContainerKillNotFound`, `NestedContainerLaunchFalse`),
/// a standalone container (`AgentAPITest.LaunchStandaloneContainer`-like), and the 4xx
/// answers to unknown containers and parents and to bad bodies.
#[actix_rt::test]
async fn nested_and_standalone_container_lifecycle() {
    let run = running_task("nested").await;
    let agent = run.agent;
    let launch = |id: Value, command: &str| {
        json!({"type": "LAUNCH_NESTED_CONTAINER",
               "launch_nested_container": {"container_id": id, "command": {"value": command}}})
    };

    // A container that finishes: its own sandbox under the parent's, with its output.
    let id = nested_id(&run.container, "writer");
    let command = "echo $MESOS_SANDBOX > where.txt; cat ../../note.txt; exit 3";
    assert_eq!(call(agent, launch(id.clone(), command)).await.0, 200);
    assert_eq!(wait(agent, id.clone()).await, (200, Some(3 << 8)));
    let own = run.sandbox.join("containers/writer");
    let stdout = std::fs::read_to_string(own.join("stdout")).expect("its stdout");
    assert_eq!(stdout, "secret-from-task\n", "it ran in its own sandbox, under the task's");
    let where_ = std::fs::read_to_string(own.join("where.txt")).expect("where.txt");
    assert_eq!(where_.trim(), own.to_string_lossy());
    assert_eq!(call(agent, launch(id.clone(), "true")).await.0, 400, "exited, not removed");
    let remove =
        json!({"type": "REMOVE_NESTED_CONTAINER", "remove_nested_container": {"container_id": id}});
    assert_eq!(call(agent, remove.clone()).await.0, 200);
    assert!(!own.exists(), "REMOVE deletes its sandbox");
    assert_eq!(wait(agent, id.clone()).await.0, 404, "removed");
    assert_eq!(call(agent, remove).await.0, 404);

    // A container that runs until killed.
    let id = nested_id(&run.container, "sleeper");
    assert_eq!(call(agent, launch(id.clone(), "sleep 1000")).await.0, 200);
    assert_eq!(call(agent, launch(id.clone(), "sleep 1000")).await.0, 202, "already launched");
    let waiting = tokio::spawn(wait(agent, id.clone()));
    let remove =
        json!({"type": "REMOVE_NESTED_CONTAINER", "remove_nested_container": {"container_id": id}});
    assert_eq!(call(agent, remove.clone()).await.0, 400, "still running");
    let kill = json!({"type": "KILL_NESTED_CONTAINER",
                      "kill_nested_container": {"container_id": id, "signal": 15}});
    assert_eq!(call(agent, kill.clone()).await.0, 200);
    assert_eq!(within("the wait", waiting).await.expect("waiter"), (200, Some(15)));
    assert_eq!(call(agent, kill).await.0, 404, "already killed");
    assert_eq!(call(agent, remove).await.0, 200);

    // 4xx: unknown parent, unknown container, missing parent, bad bodies.
    let orphan = nested_id("no-such-parent", "c");
    assert_eq!(call(agent, launch(orphan.clone(), "true")).await.0, 400);
    assert_eq!(wait(agent, orphan.clone()).await.0, 404);
    let kill =
        json!({"type": "KILL_NESTED_CONTAINER", "kill_nested_container": {"container_id": orphan}});
    assert_eq!(call(agent, kill).await.0, 404);
    assert_eq!(call(agent, launch(json!({"value": "top"}), "true")).await.0, 400, "no parent");
    let dotted = nested_id(&run.container, "a.b");
    assert_eq!(call(agent, launch(dotted, "true")).await.0, 400, "a '.' in the id");
    assert_eq!(call(agent, json!({"type": "LAUNCH_NESTED_CONTAINER"})).await.0, 400);
    let headers = [("Content-Type", "application/json")];
    assert_eq!(post(agent, &headers, b"{not json").await.status, 400);
    let headers =
        [("Content-Type", "application/recordio"), ("Message-Content-Type", "application/json")];
    assert_eq!(post(agent, &headers, b"12\nshort").await.status, 400, "a truncated record");
    let session = launch_session(agent, nested_id("no-such-parent", "s"), "true", None).await;
    assert_eq!(session.status, 400);
    let output = json!({"type": "ATTACH_CONTAINER_OUTPUT",
                        "attach_container_output": {"container_id": nested_id(&run.container, "nope")}});
    assert_eq!(call(agent, output).await.0, 404);

    // A standalone container: its sandbox under the work dir.
    let id = json!({"value": "standalone-1"});
    let launch = json!({"type": "LAUNCH_CONTAINER",
                        "launch_container": {"container_id": id, "command": {"value": "echo hi"}}});
    assert_eq!(call(agent, launch).await.0, 200);
    let (status, body) =
        call(agent, json!({"type": "WAIT_CONTAINER", "wait_container": {"container_id": id}}))
            .await;
    assert_eq!((status, body["type"].as_str()), (200, Some("WAIT_CONTAINER")));
    assert_eq!(body["wait_container"]["exit_status"], 0);
    let sandbox = run.work_dir.join("containers/standalone-1");
    assert_eq!(std::fs::read_to_string(sandbox.join("stdout")).expect("stdout"), "hi\n");
    let remove = json!({"type": "REMOVE_CONTAINER", "remove_container": {"container_id": id}});
    assert_eq!(call(agent, remove).await.0, 200);
    run.node.shutdown().await;
}
