//! libprocess-rs benchmarks ACT-1, ACT-2, NET-1 and CODEC-1 (see
//! shared/design/BENCHMARKS.md), each a port of one of Apache libprocess's own benchmarks
//! (3rdparty/libprocess/src/tests/benchmarks.cpp) with the same workload.
//!
//! Run with `cargo bench -p libprocess --bench runtime`. Every scenario runs several times
//! and reports the median; the table is printed and written into `docs/benchmarks.md`
//! under `## libprocess` (only that section is replaced).
//!
//! Flags (after `--`): `--runs=N` (default 5), `--act1-pings=N` (default 15,000,000),
//! `--only=act1,act2,net1,codec1`, `--no-write` (print only). For instruction counts:
//! `--act1-side=ours|bare` (one side of ACT-1 only), `--codec-profile=SUBMESSAGES,COUNT`
//! (the direct CODEC-1 path COUNT times, then exit), `--act2-cycles=N` (ACT-2's cycles per
//! run, 10,000 by default), `--net1-profile=CLIENTS,REQUESTS,INFLIGHT`
//! (one NET-1 shape across two OS processes, then exit; `LIBPROCESS_ECHO_BIN` picks the
//! echo server's binary; `--net1-io-threads=N` gives both nodes N I/O threads, 1 by
//! default, 0 for single-threaded nodes: see `NodeConfig::io_threads`; `--net1-raw`
//! runs the shape on the raw-socket baseline instead, for its CPU time and system calls).
//!
//! The Apache libprocess figures the tables compare with are *anchors*: its own
//! `benchmarks` binary (optimized build) measured on this machine type for issue 17,
//! not in the same run. Every libprocess-rs figure stands beside a baseline measured in
//! the same run (a bare actix pair, a raw socket) and interleaved with it.
//!
//! `--arm-ring`: ACT-1 with the node's message ring recording, to measure its armed
//! cost (see docs/libprocess.md).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix::{Actor, Addr, AsyncContext, Handler};
use bytes::Bytes;
use libprocess::testing::{Echo, Ping, Pong};
use libprocess::{Body, Context, Envelope, Inbound, MessageName, Node, NodeConfig, Pid, Process};
use prost::Message as _;
use tokio::sync::oneshot;

#[path = "runtime/raw.rs"]
mod raw;

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

/// ACT-1's request: an empty message, as libprocess's `"ping"` has no body.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BenchPing {}

impl prost::Name for BenchPing {
    const NAME: &'static str = "Ping";
    const PACKAGE: &'static str = "libprocess.bench";
    fn full_name() -> String {
        "libprocess.bench.Ping".into()
    }
}

/// ACT-1's answer: empty too.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BenchPong {}

impl prost::Name for BenchPong {
    const NAME: &'static str = "Pong";
    const PACKAGE: &'static str = "libprocess.bench";
    fn full_name() -> String {
        "libprocess.bench.Pong".into()
    }
}

/// CODEC-1's message: libprocess's `tests::Message` (benchmarks.proto), a tree whose
/// nodes carry two ints each.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TreeMessage {
    /// Two integers per node.
    #[prost(int32, repeated, tag = "1")]
    pub payload: Vec<i32>,
    /// Up to four children.
    #[prost(message, repeated, tag = "2")]
    pub submessages: Vec<TreeMessage>,
}

impl prost::Name for TreeMessage {
    const NAME: &'static str = "Message";
    const PACKAGE: &'static str = "process.tests";
    fn full_name() -> String {
        "process.tests.Message".into()
    }
}

libprocess::protocol! {
    /// What an ACT-1 server accepts.
    pub enum ServerMessage {
        /// Answered with a `BenchPong`.
        Ping(BenchPing),
    }
}

libprocess::protocol! {
    /// What an ACT-1 client accepts.
    pub enum ClientMessage {
        /// One round trip done.
        Pong(BenchPong),
    }
}

libprocess::protocol! {
    /// What a NET-1 client accepts.
    pub enum NetClientMessage {
        /// The echo server's answer.
        Pong(Pong),
    }
}

libprocess::protocol! {
    /// What the CODEC-1 handler accepts.
    pub enum CodecMessage {
        /// The tree.
        Tree(TreeMessage),
    }
}

libprocess::protocol! {
    /// ACT-2's processes accept no message at all.
    pub enum NoMessage {}
}

// ---------------------------------------------------------------------------------------
// ACT-1: Process_BENCHMARK_ThroughputPerformance
// ---------------------------------------------------------------------------------------

/// libprocess `Destination`: answers every ping.
struct Server;

impl Process for Server {
    type Message = ServerMessage;
    fn on_message(&mut self, from: Pid, message: ServerMessage, ctx: &mut Context<'_, Self>) {
        match message {
            ServerMessage::Ping(BenchPing {}) => ctx.send(&from, BenchPong {}),
        }
    }
}

/// libprocess `Client`: keeps up to 1,000 pings in flight until `repeat` are answered.
struct Client {
    server: Pid,
    repeat: u64,
    sent: u64,
    received: u64,
    done: Option<oneshot::Sender<()>>,
}

impl Client {
    fn run(&mut self, ctx: &mut Context<'_, Self>) {
        while self.sent < self.repeat.min(1000) {
            ctx.send(&self.server, BenchPing {});
            self.sent += 1;
        }
    }
}

impl Process for Client {
    type Message = ClientMessage;
    fn on_message(&mut self, _from: Pid, message: ClientMessage, ctx: &mut Context<'_, Self>) {
        match message {
            ClientMessage::Pong(BenchPong {}) => {
                self.received += 1;
                if self.sent < self.repeat {
                    ctx.send(&self.server, BenchPing {});
                    self.sent += 1;
                } else if self.received >= self.repeat
                    && let Some(done) = self.done.take()
                {
                    let _ = done.send(());
                }
            }
        }
    }
}

/// One ACT-1 run on libprocess-rs: `pairs` client/server pairs, one per arbiter.
async fn act1_libprocess(
    node: &Node,
    arbiters: &[actix_rt::Arbiter],
    total: u64,
    run: usize,
) -> f64 {
    let per_client = total / arbiters.len() as u64;
    let mut clients = Vec::new();
    let mut waits = Vec::new();
    let mut pids = Vec::new();
    for (i, arbiter) in arbiters.iter().enumerate() {
        let server = node
            .spawn_on(&arbiter.handle(), format!("server-{run}-{i}"), || Server)
            .expect("spawn server");
        let (tx, rx) = oneshot::channel();
        let server_pid = server.pid().clone();
        let client = node
            .spawn_on(&arbiter.handle(), format!("client-{run}-{i}"), move || Client {
                server: server_pid,
                repeat: per_client,
                sent: 0,
                received: 0,
                done: Some(tx),
            })
            .expect("spawn client");
        // Make sure both have started before the clock starts.
        server.dispatch(|_, _| ()).await.expect("server up");
        client.dispatch(|_, _| ()).await.expect("client up");
        pids.push(server.pid().clone());
        pids.push(client.pid().clone());
        clients.push(client);
        waits.push(rx);
    }
    let start = Instant::now();
    for client in &clients {
        client.tell(|c, ctx| c.run(ctx)).expect("client alive");
    }
    for wait in waits {
        wait.await.expect("client finished");
    }
    let elapsed = start.elapsed();
    for pid in &pids {
        node.terminate(pid);
    }
    for pid in &pids {
        node.wait(pid).await;
    }
    (per_client * arbiters.len() as u64) as f64 / elapsed.as_secs_f64()
}

// The same shape on bare actix actors: no pids, names, mailbox table or decoding.

struct BarePing(Addr<BareClient>);
impl actix::Message for BarePing {
    type Result = ();
}
struct BarePong;
impl actix::Message for BarePong {
    type Result = ();
}
struct BareRun;
impl actix::Message for BareRun {
    type Result = ();
}

struct BareServer;
impl Actor for BareServer {
    type Context = actix::Context<Self>;
}
impl Handler<BarePing> for BareServer {
    type Result = ();
    fn handle(&mut self, ping: BarePing, _: &mut actix::Context<Self>) {
        ping.0.do_send(BarePong);
    }
}

struct BareClient {
    server: Addr<BareServer>,
    repeat: u64,
    sent: u64,
    received: u64,
    done: Option<oneshot::Sender<()>>,
}
impl Actor for BareClient {
    type Context = actix::Context<Self>;
}
impl Handler<BareRun> for BareClient {
    type Result = ();
    fn handle(&mut self, _: BareRun, ctx: &mut actix::Context<Self>) {
        while self.sent < self.repeat.min(1000) {
            self.server.do_send(BarePing(ctx.address()));
            self.sent += 1;
        }
    }
}
impl Handler<BarePong> for BareClient {
    type Result = ();
    fn handle(&mut self, _: BarePong, ctx: &mut actix::Context<Self>) {
        self.received += 1;
        if self.sent < self.repeat {
            self.server.do_send(BarePing(ctx.address()));
            self.sent += 1;
        } else if self.received >= self.repeat
            && let Some(done) = self.done.take()
        {
            let _ = done.send(());
        }
    }
}

async fn act1_bare_actix(arbiters: &[actix_rt::Arbiter], total: u64) -> f64 {
    let per_client = total / arbiters.len() as u64;
    let mut clients = Vec::new();
    let mut waits = Vec::new();
    for arbiter in arbiters {
        let server = BareServer::start_in_arbiter(&arbiter.handle(), |_| BareServer);
        let (tx, rx) = oneshot::channel();
        let client = BareClient::start_in_arbiter(&arbiter.handle(), move |_| BareClient {
            server,
            repeat: per_client,
            sent: 0,
            received: 0,
            done: Some(tx),
        });
        clients.push(client);
        waits.push(rx);
    }
    let start = Instant::now();
    for client in &clients {
        client.do_send(BareRun);
    }
    for wait in waits {
        wait.await.expect("bare client finished");
    }
    (per_client * arbiters.len() as u64) as f64 / start.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------------------------------
// ACT-2: Process_BENCHMARK_LargeNumberOfLinks
// ---------------------------------------------------------------------------------------

/// A process that does nothing (libprocess `ProcessBase`, and `EphemeralProcess`).
struct Idle;

impl Process for Idle {
    type Message = NoMessage;
    fn on_message(&mut self, _: Pid, message: NoMessage, _: &mut Context<'_, Self>) {
        match message {}
    }
}

/// libprocess `LinkerProcess`: links to its linkee when it starts.
struct Linker {
    to: Pid,
}

impl Process for Linker {
    type Message = NoMessage;
    fn initialize(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.link(&self.to);
    }
    fn on_message(&mut self, _: Pid, message: NoMessage, _: &mut Context<'_, Self>) {
        match message {}
    }
}

/// Returns (seconds to set up the links, seconds for the spawn/dispatch/terminate cycles).
async fn act2(links: usize, iterations: usize) -> (f64, f64) {
    let node =
        Node::builder("127.0.0.1:0".parse().expect("literal address")).start().expect("start node");
    let setup = Instant::now();
    let mut linkers = Vec::new();
    for i in 0..links {
        let linkee = node.spawn(format!("linkee-{i}"), Idle).expect("spawn linkee");
        let linker = node
            .spawn(format!("linker-{i}"), Linker { to: linkee.pid().clone() })
            .expect("spawn linker");
        linkers.push(linker);
    }
    // A linker has run `initialize` (and so linked) once it answers a dispatch.
    for linker in &linkers {
        linker.dispatch(|_, _| ()).await.expect("linker up");
    }
    let setup = setup.elapsed();

    let start = Instant::now();
    let mut ephemeral = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let process = node.spawn(format!("ephemeral-{i}"), Idle).expect("spawn ephemeral");
        // As in libprocess, the process terminates itself from a dispatch, so every
        // dispatch really runs before `wait` returns.
        process.tell(|_, ctx| ctx.terminate()).expect("ephemeral alive");
        ephemeral.push(process.pid().clone());
    }
    for pid in &ephemeral {
        node.wait(pid).await;
    }
    let cycles = start.elapsed();
    node.shutdown().await;
    (setup.as_secs_f64(), cycles.as_secs_f64())
}

// ---------------------------------------------------------------------------------------
// NET-1: Process_BENCHMARK_ClientServer, across two OS processes
// ---------------------------------------------------------------------------------------

/// libprocess `ClientProcess`: `total` requests, `concurrency` in flight.
struct NetClient {
    server: Pid,
    total: u64,
    concurrency: u64,
    sent: u64,
    received: u64,
    started: Option<Instant>,
    done: Option<oneshot::Sender<Duration>>,
}

/// The 3-byte body: `Ping { seq: 0, payload: "1" }` encodes to `12 01 31`.
fn three_byte_ping() -> Ping {
    Ping { seq: 0, payload: Bytes::from_static(b"1") }
}

impl NetClient {
    fn run(&mut self, ctx: &mut Context<'_, Self>) {
        self.started = Some(Instant::now());
        while self.sent < self.concurrency.min(self.total) {
            ctx.send(&self.server, three_byte_ping());
            self.sent += 1;
        }
    }
}

impl Process for NetClient {
    type Message = NetClientMessage;
    fn on_message(&mut self, _from: Pid, message: NetClientMessage, ctx: &mut Context<'_, Self>) {
        match message {
            NetClientMessage::Pong(_) => {
                self.received += 1;
                if self.received == self.total {
                    if let (Some(done), Some(started)) = (self.done.take(), self.started) {
                        let _ = done.send(started.elapsed());
                    }
                } else if self.sent < self.total {
                    ctx.send(&self.server, three_byte_ping());
                    self.sent += 1;
                }
            }
        }
    }
}

/// Kills the echo server when dropped (closing its stdin asks it to exit first).
struct EchoServer {
    child: Child,
    pid: Pid,
}

impl EchoServer {
    /// Starts `libprocess-echo` with `io_threads` I/O threads (0: single-threaded node).
    fn start(io_threads: usize) -> EchoServer {
        // LIBPROCESS_ECHO_BIN runs another build's server (before/after comparisons).
        let binary = std::env::var("LIBPROCESS_ECHO_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_libprocess-echo").to_string());
        let mut child = Command::new(binary)
            .arg("--port=0")
            .arg(format!("--io_threads={io_threads}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start libprocess-echo");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read echo pid");
        let pid = line.trim().parse().expect("libprocess-echo prints its pid");
        EchoServer { child, pid }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client node on this thread's runtime with `io_threads` I/O threads (0: its sockets
/// are served on this thread, where `net1_run` spawns the clients).
fn client_node(io_threads: usize) -> Node {
    let config = NodeConfig { io_threads, ..NodeConfig::default() };
    Node::builder("127.0.0.1:0".parse().expect("literal"))
        .config(config)
        .start()
        .expect("start node")
}

/// Runs `clients` clients of `requests` each with `concurrency` in flight against `server`;
/// returns (total rpcs/s, per-client elapsed times).
async fn net1_run(
    node: &Node,
    server: &Pid,
    clients: usize,
    requests: u64,
    concurrency: u64,
    run: &str,
) -> (f64, Vec<Duration>) {
    let mut refs = Vec::new();
    let mut waits = Vec::new();
    for i in 0..clients {
        let (tx, rx) = oneshot::channel();
        let client = node
            .spawn(
                format!("net-client-{run}-{i}"),
                NetClient {
                    server: server.clone(),
                    total: requests,
                    concurrency,
                    sent: 0,
                    received: 0,
                    started: None,
                    done: Some(tx),
                },
            )
            .expect("spawn net client");
        client.dispatch(|_, _| ()).await.expect("client up");
        refs.push(client);
        waits.push(rx);
    }
    let start = Instant::now();
    for client in &refs {
        client.tell(|c, ctx| c.run(ctx)).expect("client alive");
    }
    let mut per_client = Vec::new();
    for wait in waits {
        per_client.push(wait.await.expect("net client finished"));
    }
    let elapsed = start.elapsed();
    for client in &refs {
        node.terminate(client.pid());
        node.wait(client.pid()).await;
    }
    ((clients as u64 * requests) as f64 / elapsed.as_secs_f64(), per_client)
}

/// Requests of one timed 1-in-flight run, and of the untimed run before it.
const RTT_REQUESTS: u64 = 5_000;
const RTT_WARM_UP: u64 = 1_000;

/// One timed 1-in-flight run against `server` after an untimed one; rpcs/s.
async fn net1_rtt(node: &Node, server: &Pid, run: usize) -> f64 {
    net1_run(node, server, 1, RTT_WARM_UP, 1, &format!("rtt-warm-{run}")).await;
    net1_run(node, server, 1, RTT_REQUESTS, 1, &format!("rtt-{run}")).await.0
}

/// NET-1 in all its shapes, each run interleaved so the machine's load hits them alike:
/// libprocess-rs across two OS processes (nodes with one I/O thread, the default, and
/// single-threaded nodes, `io_threads = 0`), the raw-socket baseline across two OS
/// processes, and libprocess-rs in one process (local delivery, the shape libprocess
/// measures).
async fn net1_report(report: &mut String, arbiters: &[actix_rt::Arbiter], runs: usize) {
    let echo = EchoServer::start(1);
    let echo_st = EchoServer::start(0);
    let raw_server = raw::RawServer::start();
    let node = client_node(1);
    let node_st = client_node(0);
    let local_echo =
        node.spawn_on(&arbiters[0].handle(), "echo", Echo::default).expect("spawn local echo");
    local_echo.dispatch(|_, _| ()).await.expect("local echo up");
    // Warm-up: opens the connections both ways.
    net1_run(&node, &echo.pid, 1, 2_000, 250, "warm").await;
    net1_run(&node_st, &echo_st.pid, 1, 2_000, 250, "warm").await;
    raw::run(raw_server.address, 1, 2_000, 250).await;
    let mut f = Net1Figures::default();
    for run in 0..runs {
        f.totals.push(net1_run(&node, &echo.pid, 8, 10_000, 250, &format!("{run}")).await.0);
        f.totals_st
            .push(net1_run(&node_st, &echo_st.pid, 8, 10_000, 250, &format!("{run}")).await.0);
        f.raw_totals.push(raw::run(raw_server.address, 8, 10_000, 250).await);
        // 1 in flight: the three shapes in an order that turns run by run, each after an
        // untimed run of its own shape. Whichever shape ran first after the 8 x 250 bursts
        // lost about a quarter of its rate, the raw socket too (docs/benchmarks.md, NET-1).
        for shape in 0..3 {
            match (shape + run) % 3 {
                0 => f.rtts.push(net1_rtt(&node, &echo.pid, run).await),
                1 => f.rtts_st.push(net1_rtt(&node_st, &echo_st.pid, run).await),
                _ => {
                    raw::run(raw_server.address, 1, RTT_WARM_UP, 1).await;
                    f.raw_rtts.push(raw::run(raw_server.address, 1, RTT_REQUESTS, 1).await)
                }
            }
        }
        f.local.push(net1_run(&node, local_echo.pid(), 8, 10_000, 250, &format!("l{run}")).await.0);
        eprintln!(
            "NET-1 run {run}: 8x250 {} / single-threaded {} (raw {}), 1 in flight {} / single-threaded {} (raw {}), in one process {} rpcs/s",
            human(f.totals[run]),
            human(f.totals_st[run]),
            human(f.raw_totals[run]),
            human(f.rtts[run]),
            human(f.rtts_st[run]),
            human(f.raw_rtts[run]),
            human(f.local[run])
        );
    }
    node.shutdown().await;
    node_st.shutdown().await;
    drop((echo, echo_st, raw_server));
    f.write(report);
}

/// NET-1's figures, run by run.
#[derive(Default)]
struct Net1Figures {
    totals: Vec<f64>,
    totals_st: Vec<f64>,
    raw_totals: Vec<f64>,
    rtts: Vec<f64>,
    rtts_st: Vec<f64>,
    raw_rtts: Vec<f64>,
    local: Vec<f64>,
}

impl Net1Figures {
    fn write(&self, report: &mut String) {
        let m = |v: &Vec<f64>| median(v.clone());
        let _ = writeln!(
            report,
            "### NET-1: client/server (libprocess `Process_BENCHMARK_ClientServer`)\n"
        );
        let _ = writeln!(
            report,
            "Across two OS processes: the server is the `libprocess-echo` binary; the clients \
            are this process's node, 8 client processes x 10,000 requests, 250 in flight each; the request body is \
            3 bytes (`Ping {{ payload: \"1\" }}` encodes to `12 01 31`), the answer a `Pong` of 3 bytes. Every message is a \
            full libprocess HTTP request; both nodes being libprocess-rs, one persistent connection carries both directions and nothing is answered (docs/libprocess.md, \"Messages both ways on one connection\"; with an Apache libprocess peer: one connection per direction, each message answered `202`). \
            1 in flight: 1 client, 5,000 requests, after an untimed 1,000 of the same shape; the three 1-in-flight shapes (two node kinds, raw socket) take turns at going first after the 8 x 250 runs. Both nodes run either with one I/O thread (the default: sockets on \
            the I/O thread, processes on their arbiter) or single-threaded (`NodeConfig::io_threads = 0`, \
            `libprocess-echo --io_threads=0`: sockets served on the arbiter that runs the processes). *Raw socket*: the same request and answer bytes over a plain tokio TCP \
            ping-pong against this bench binary in its own OS process (`--raw-echo-server`, 1 thread), one connection per \
            client, no `202`: the floor for any runtime. *In one process*: the 8 x 250 shape against an `Echo` process on \
            the same node (local delivery), which is what libprocess's benchmark measures. All shapes interleaved, run by run.\n"
        );
        let _ = writeln!(
            report,
            "| shape | libprocess-rs (median) | runs | raw socket, same run | libprocess-rs / raw | anchor |"
        );
        let _ = writeln!(report, "|---|---|---|---|---|---|");
        for (shape, v) in [
            ("8 clients x 250 in flight, two OS processes, 1 I/O thread", &self.totals),
            ("8 clients x 250 in flight, two OS processes, single-threaded", &self.totals_st),
        ] {
            let _ = writeln!(
                report,
                "| {shape} | **{} rpcs/s** | [{}] | {} [{}] | {:.2} | - |",
                human(m(v)),
                spread(v, human),
                human(m(&self.raw_totals)),
                spread(&self.raw_totals, human),
                m(v) / m(&self.raw_totals)
            );
        }
        for (shape, v) in [
            ("1 in flight, two OS processes, 1 I/O thread", &self.rtts),
            ("1 in flight, two OS processes, single-threaded", &self.rtts_st),
        ] {
            let _ = writeln!(
                report,
                "| {shape} | **{} rpcs/s = {:.0} us RTT** | [{}] | {} [{}] | {:.2} | - |",
                human(m(v)),
                1e6 / m(v),
                spread(v, human),
                human(m(&self.raw_rtts)),
                spread(&self.raw_rtts, human),
                m(v) / m(&self.raw_rtts)
            );
        }
        let _ = writeln!(
            report,
            "| 8 clients x 250 in flight, one process | **{} rpcs/s** | [{}] | - | - | {:.2}x Apache libprocess's 1.05M rpcs/s (anchor, not this run) |\n",
            human(m(&self.local)),
            spread(&self.local, human),
            m(&self.local) / 1.05e6
        );
    }
}

// ---------------------------------------------------------------------------------------
// CODEC-1: Process_BENCHMARK_ProtobufInstallHandler
// ---------------------------------------------------------------------------------------

/// libprocess `createMessage`: a breadth-first tree of `submessages` nodes below the root,
/// branching 4, every node with payload `[1, 1]`.
fn tree_message(mut submessages: usize) -> TreeMessage {
    // Build breadth first by index, then assemble bottom up (prost owns children by value).
    let mut children: Vec<Vec<usize>> = vec![Vec::new()];
    let mut queue = VecDeque::from([0usize]);
    while let Some(node) = queue.pop_front() {
        for _ in 0..4 {
            if submessages == 0 {
                break;
            }
            let child = children.len();
            children.push(Vec::new());
            children[node].push(child);
            queue.push_back(child);
            submessages -= 1;
        }
    }
    let mut built: Vec<Option<TreeMessage>> = (0..children.len()).map(|_| None).collect();
    for node in (0..children.len()).rev() {
        let submessages = children[node]
            .iter()
            .map(|&c| built[c].take().expect("children built first"))
            .collect();
        built[node] = Some(TreeMessage { payload: vec![1, 1], submessages });
    }
    built[0].take().expect("root built")
}

/// The no-op handler: like libprocess's, it only receives the decoded message.
#[inline(never)]
fn handle_tree(count: &mut u64, message: CodecMessage) {
    match message {
        CodecMessage::Tree(tree) => {
            std::hint::black_box(&tree);
            *count += 1;
        }
    }
}

/// CPU time of the calling thread (`/proc/thread-self/schedstat`, nanoseconds), if the
/// system tells.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Times a single-threaded CODEC-1 window: ends it on the wall clock, but computes the
/// rate over the CPU time the thread actually ran, so a loaded machine (other processes
/// taking the core away) slows neither path. On an idle machine both are the same.
struct Stopwatch {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch { wall: Instant::now(), cpu: thread_cpu() }
    }

    fn wall(&self) -> Duration {
        self.wall.elapsed()
    }

    /// `count` per second of the thread's CPU time (wall time if unknown).
    fn rate(&self, count: u64) -> f64 {
        let elapsed = match (self.cpu, thread_cpu()) {
            (Some(start), Some(now)) if now > start => now - start,
            _ => self.wall.elapsed(),
        };
        count as f64 / elapsed.as_secs_f64()
    }
}

/// Direct path (what libprocess's benchmark times: `consume(MessageEvent)`): look the
/// name up in the process's message table, decode, call the handler. Returns msgs/s.
fn codec_direct(bytes: &Bytes, window: Duration) -> f64 {
    let name = MessageName::owned("process.tests.Message");
    let mut count = 0u64;
    let start = Stopwatch::start();
    loop {
        for _ in 0..64 {
            match CodecMessage::decode(&name, Body::Encoded(bytes.clone())) {
                Ok(message) => handle_tree(&mut count, message),
                Err(error) => panic!("decode failed: {error}"),
            }
        }
        if start.wall() >= window {
            break;
        }
    }
    start.rate(count)
}

/// Full path through the runtime: `Node::deliver` -> mailbox -> actor -> decode ->
/// `on_message`, 1,000 encoded messages in flight (the process re-sends each one it gets).
struct CodecSink {
    bytes: Bytes,
    name: MessageName,
    window: Duration,
    started: Option<Stopwatch>,
    handled: u64,
    in_flight: u64,
    result: Option<oneshot::Sender<f64>>,
    rate: f64,
}

impl CodecSink {
    fn resend(&self, ctx: &mut Context<'_, Self>) {
        let me = ctx.pid().clone();
        ctx.node().deliver(Envelope {
            from: me.clone(),
            to: me,
            name: self.name.clone(),
            body: Body::Encoded(self.bytes.clone()),
            via: None,
        });
    }

    fn run(&mut self, ctx: &mut Context<'_, Self>) {
        self.started = Some(Stopwatch::start());
        for _ in 0..1000 {
            self.resend(ctx);
            self.in_flight += 1;
        }
    }
}

impl Process for CodecSink {
    type Message = CodecMessage;
    fn on_message(&mut self, _from: Pid, message: CodecMessage, ctx: &mut Context<'_, Self>) {
        handle_tree(&mut self.handled, message);
        self.in_flight -= 1;
        let started = self.started.as_ref().expect("run before messages");
        if self.rate == 0.0 && self.handled.is_multiple_of(64) && started.wall() >= self.window {
            self.rate = started.rate(self.handled);
        }
        if self.rate == 0.0 {
            self.resend(ctx);
            self.in_flight += 1;
        } else if self.in_flight == 0
            && let Some(result) = self.result.take()
        {
            let _ = result.send(self.rate);
        }
    }
}

async fn codec_mailbox(node: &Node, bytes: &Bytes, window: Duration, run: &str) -> f64 {
    let (tx, rx) = oneshot::channel();
    let sink = node
        .spawn(
            format!("codec-{run}"),
            CodecSink {
                bytes: bytes.clone(),
                name: MessageName::owned("process.tests.Message"),
                window,
                started: None,
                handled: 0,
                in_flight: 0,
                result: Some(tx),
                rate: 0.0,
            },
        )
        .expect("spawn codec sink");
    sink.tell(|s, ctx| s.run(ctx)).expect("sink alive");
    let rate = rx.await.expect("codec run finished");
    node.terminate(sink.pid());
    node.wait(sink.pid()).await;
    rate
}

// ---------------------------------------------------------------------------------------
// Driver and report
// ---------------------------------------------------------------------------------------

struct Options {
    runs: usize,
    act1_pings: u64,
    /// `ours` or `bare`: run one side of ACT-1 only (to count its instructions).
    act1_side: Option<String>,
    /// ACT-2's spawn + dispatch + terminate cycles per run (libprocess: 10,000).
    act2_cycles: usize,
    only: Option<Vec<String>>,
    write: bool,
    arm_ring: bool,
}

impl Options {
    fn parse() -> Options {
        let mut options = Options {
            runs: 5,
            act1_pings: 15_000_000,
            act1_side: None,
            act2_cycles: 10_000,
            only: None,
            write: true,
            arm_ring: false,
        };
        for arg in std::env::args().skip(1) {
            if let Some(v) = arg.strip_prefix("--runs=") {
                options.runs = v.parse().expect("--runs=N");
            } else if let Some(v) = arg.strip_prefix("--act1-pings=") {
                options.act1_pings = v.parse().expect("--act1-pings=N");
            } else if let Some(v) = arg.strip_prefix("--act1-side=") {
                options.act1_side = Some(v.to_string());
            } else if let Some(v) = arg.strip_prefix("--act2-cycles=") {
                options.act2_cycles = v.parse().expect("--act2-cycles=N");
            } else if let Some(v) = arg.strip_prefix("--only=") {
                options.only = Some(v.split(',').map(str::to_string).collect());
            } else if arg == "--no-write" {
                options.write = false;
            } else if arg == "--arm-ring" {
                options.arm_ring = true;
            }
            // Anything else (cargo passes `--bench`) is ignored.
        }
        options
    }

    fn wants(&self, id: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.iter().any(|o| o == id))
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

fn human(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2}M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1}k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// The 1-minute load average, as text (`/proc/loadavg`).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

fn spread(values: &[f64], fmt: impl Fn(f64) -> String) -> String {
    values.iter().map(|v| fmt(*v)).collect::<Vec<_>>().join(", ")
}

/// `--codec-profile=SUBMESSAGES,COUNT`: decodes the tree COUNT times through the direct
/// path and exits, for instruction counts (`valgrind --tool=callgrind`).
fn codec_profile(spec: &str) {
    let (n, count) = spec.split_once(',').expect("--codec-profile=SUBMESSAGES,COUNT");
    let (n, count): (usize, u64) = (n.parse().expect("submessages"), count.parse().expect("count"));
    let bytes = Bytes::from(tree_message(n).encode_to_vec());
    let name = MessageName::owned("process.tests.Message");
    let mut handled = 0u64;
    for _ in 0..count {
        match CodecMessage::decode(&name, Body::Encoded(bytes.clone())) {
            Ok(message) => handle_tree(&mut handled, message),
            Err(error) => panic!("decode failed: {error}"),
        }
    }
    println!("decoded {handled} messages of {} bytes", bytes.len());
}

/// `--net1-profile=CLIENTS,REQUESTS,INFLIGHT`: one NET-1 shape across two OS processes,
/// once after a warm-up, then exit; for instruction counts per round trip (the
/// difference of two REQUESTS, under `valgrind --tool=callgrind --trace-children=yes`,
/// which counts the echo server too).
fn net1_profile(spec: &str) {
    let parts: Vec<u64> = spec
        .split(',')
        .map(|p| p.parse().expect("--net1-profile=CLIENTS,REQUESTS,INFLIGHT"))
        .collect();
    let [clients, requests, inflight] = parts[..] else {
        panic!("--net1-profile=CLIENTS,REQUESTS,INFLIGHT")
    };
    let io_threads = std::env::args()
        .find_map(|a| a.strip_prefix("--net1-io-threads=").map(str::to_string))
        .map_or(1, |n| n.parse().expect("--net1-io-threads=N"));
    let system = actix_rt::System::new();
    if std::env::args().any(|a| a == "--net1-raw") {
        return system.block_on(async {
            let server = raw::RawServer::start();
            raw::run(server.address, 1, 2_000, 250).await;
            let rate = raw::run(server.address, clients as usize, requests, inflight).await;
            println!("raw: {clients} x {requests}, {inflight} in flight: {} rpcs/s", human(rate));
        });
    }
    system.block_on(async {
        let echo = EchoServer::start(io_threads);
        let node = client_node(io_threads);
        net1_run(&node, &echo.pid, 1, 2_000, 250, "warm").await;
        let (rate, _) = net1_run(&node, &echo.pid, clients as usize, requests, inflight, "p").await;
        println!("{clients} x {requests} requests, {inflight} in flight: {} rpcs/s", human(rate));
        node.shutdown().await;
    });
}

/// The allocator the binaries run on, so the bench measures what users run
/// (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() {
    if std::env::args().any(|a| a == raw::SERVER_FLAG) {
        return raw::serve_main();
    }
    if let Some(spec) =
        std::env::args().find_map(|a| a.strip_prefix("--net1-profile=").map(str::to_string))
    {
        return net1_profile(&spec);
    }
    if let Some(spec) =
        std::env::args().find_map(|a| a.strip_prefix("--codec-profile=").map(str::to_string))
    {
        return codec_profile(&spec);
    }
    let options = Options::parse();
    let runs = options.runs.max(1);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let mut report = String::new();
    let bench_started = Instant::now();

    let _ = writeln!(
        report,
        "Machine: {workers} cores, {}; build profile `bench` (release: opt-level 3, debug = 1); \
        rustc via `cargo bench -p libprocess --bench runtime`; global allocator mimalloc (`libprocess::Allocator`), \
        as in the binaries and `libprocess-echo`. Medians of {runs} runs (individual runs in brackets). \
        The machine is shared with other workers, so absolute figures are noisy; the ratios to a baseline measured in the \
        same run (bare actix, raw socket) much less so. Load average (1 min) when the run started: {}.\n",
        cpu_model(),
        load_average()
    );

    let system = actix_rt::System::new();
    system.block_on(async {
        let arbiters: Vec<actix_rt::Arbiter> = (0..workers).map(|_| actix_rt::Arbiter::new()).collect();

        if options.wants("act1") {
            let node = Node::builder("127.0.0.1:0".parse().expect("literal")).start().expect("start node");
            let total = options.act1_pings;
            let side = options.act1_side.as_deref();
            if options.arm_ring {
                node.message_ring().arm();
            }
            // Warm-up (allocator, arbiters), not reported.
            act1_libprocess(&node, &arbiters, 10_000, 999).await;
            let mut ours = Vec::new();
            let mut bare = Vec::new();
            for run in 0..runs {
                if side != Some("bare") {
                    ours.push(act1_libprocess(&node, &arbiters, total, run).await);
                }
                if side != Some("ours") {
                    bare.push(act1_bare_actix(&arbiters, total).await);
                }
                eprintln!("ACT-1 run {run}: libprocess-rs {} msg/s, bare actix {} msg/s",
                    human(ours.last().copied().unwrap_or(f64::NAN)), human(bare.last().copied().unwrap_or(f64::NAN)));
            }
            node.shutdown().await;
            let (o, b) = (median(ours.clone()), median(bare.clone()));
            let _ = writeln!(report, "### ACT-1: throughput (libprocess `Process_BENCHMARK_ThroughputPerformance`)\n");
            let _ = writeln!(report, "{workers} client/server pairs, one per actix arbiter (`Node::spawn_on`); {} pings in total \
                ({} per client), at most 1,000 in flight per client; empty message bodies; local delivery. \
                A ping and its pong count as one, as in libprocess (`repeat / elapsed`).\n", total, total / workers as u64);
            let _ = writeln!(report, "| runtime | msg/s (median) | runs | vs Apache libprocess (anchor 6.56M, not this run) |");
            let _ = writeln!(report, "|---|---|---|---|");
            let _ = writeln!(report, "| libprocess-rs | **{}** | [{}] | {:.2}x |", human(o), spread(&ours, human), o / 6.56e6);
            let _ = writeln!(report, "| bare actix pair (same shape, plain `Actor` + `Handler`) | {} | [{}] | {:.2}x |", human(b), spread(&bare, human), b / 6.56e6);
            let _ = writeln!(report, "\nlibprocess-rs / bare actix = **{:.2}** (the runtime's overhead over the actor library: \
                the mailbox cache, the conversion into the receiver's protocol enum, the hook check). \
                Runs interleaved: libprocess-rs then bare actix, run by run.\n", o / b);
        }

        if options.wants("act2") {
            let mut setups = Vec::new();
            let mut cycles = Vec::new();
            for run in 0..runs {
                let (setup, cycle) = act2(5_000, options.act2_cycles).await;
                eprintln!("ACT-2 run {run}: links {:.3} s, cycles {:.3} s", setup, cycle);
                setups.push(setup);
                cycles.push(cycle);
            }
            let ms = |s: f64| format!("{:.0} ms", s * 1e3);
            let c = median(cycles.clone());
            let _ = writeln!(report, "### ACT-2: many links (libprocess `Process_BENCHMARK_LargeNumberOfLinks`)\n");
            let _ = writeln!(report, "5,000 linked pairs (a linker links to its linkee in `initialize`), then 10,000 cycles of \
                spawn + dispatch (the process terminates itself in it) + terminate; the time is from the first spawn until \
                `wait` has returned for all 10,000 (as libprocess's `Elapsed`).\n");
            let _ = writeln!(report, "| phase | median | runs | vs anchor |");
            let _ = writeln!(report, "|---|---|---|---|");
            let _ = writeln!(report, "| set up 5,000 linked pairs | {} | [{}] | (not timed by libprocess) |", ms(median(setups.clone())), spread(&setups, ms));
            let _ = writeln!(report, "| {} spawn + dispatch + terminate | **{}** | [{}] | {:.3}x the time of Apache libprocess (anchor 425 ms, not this run) |\n",
                options.act2_cycles, ms(c), spread(&cycles, ms), c / 0.425);
        }

        if options.wants("net1") {
            net1_report(&mut report, &arbiters, runs).await;
        }

        if options.wants("codec1") {
            let node = Node::builder("127.0.0.1:0".parse().expect("literal")).start().expect("start node");
            let sizes = [0usize, 1, 5, 10, 50, 100, 500, 1000, 5000, 10000];
            let mut queueing_ns = f64::NAN;
            let anchors: [(usize, f64); 5] = [(0, 5.11e6), (5, 2.34e6), (50, 384e3), (500, 47.5e3), (10000, 2.21e3)];
            // Equal windows, long enough for hundreds of the largest messages, and the
            // two paths interleaved run by run: the load of a shared machine then hits
            // both alike, and the mailbox path (the direct path plus queueing) cannot
            // come out ahead by luck.
            let window = Duration::from_millis(400);
            let mailbox_window = window;
            let _ = writeln!(report, "### CODEC-1: decode + dispatch (libprocess `Process_BENCHMARK_ProtobufInstallHandler`)\n");
            let _ = writeln!(report, "libprocess's `tests::Message` tree (branching 4, payload two ints per node) defined with \
                prost derive. *Direct*: what libprocess times (`consume(MessageEvent)` on the process): look the name up in the \
                process's message table (`protocol!` enum), decode, call the no-op handler; {} windows of {} ms per size. \
                *Via mailbox*: the whole local path of an encoded message (as it arrives from the network): \
                `Node::deliver` -> process table -> the process's mailbox -> decode -> `on_message`, 1,000 in flight; {} windows of {} ms, \
                interleaved with the direct ones. Both run on one thread; their rates are per second of that thread's CPU time \
                (`/proc/thread-self/schedstat`), so that the load of a shared machine slows neither (on an idle machine CPU \
                time and wall time agree). The anchors are Apache libprocess's rates at 0 / 5 / 50 / 500 / 10,000 sub-messages.\n",
                runs, window.as_millis(), runs, mailbox_window.as_millis());
            let _ = writeln!(report, "| sub-messages | bytes | direct msg/s | direct MiB/s | via mailbox msg/s | via mailbox MiB/s | mailbox / direct | Apache libprocess (anchor) | ratio (direct) |");
            let _ = writeln!(report, "|---|---|---|---|---|---|---|---|---|");
            for (i, &n) in sizes.iter().enumerate() {
                let message = tree_message(n);
                let bytes = Bytes::from(message.encode_to_vec());
                let mut direct = Vec::new();
                let mut via = Vec::new();
                for run in 0..runs {
                    direct.push(codec_direct(&bytes, window));
                    via.push(codec_mailbox(&node, &bytes, mailbox_window, &format!("{i}-{run}")).await);
                }
                let (d, m) = (median(direct), median(via));
                if n == 0 {
                    queueing_ns = (1.0 / m - 1.0 / d) * 1e9;
                }
                let mib = |rate: f64| rate * bytes.len() as f64 / (1024.0 * 1024.0);
                let anchor = anchors.iter().find(|(s, _)| *s == n).map(|(_, a)| *a);
                let (anchor_text, ratio) = match anchor {
                    Some(a) => (format!("{} msg/s", human(a)), format!("{:.2}x", d / a)),
                    None => ("-".to_string(), "-".to_string()),
                };
                eprintln!("CODEC-1 {n} sub-messages ({} B): direct {} msg/s, mailbox {} msg/s", bytes.len(), human(d), human(m));
                let _ = writeln!(report, "| {n} | {} | {} | {:.1} | {} | {:.1} | {:.2} | {} | {} |",
                    bytes.len(), human(d), mib(d), human(m), mib(m), m / d, anchor_text, ratio);
            }
            let _ = writeln!(report, "\nThe mailbox path is the direct path plus queueing, which costs {:.0} ns per message in this \
                run (the 4 B row: 1 / mailbox - 1 / direct): from 500 sub-messages on that is under 2% of a message's cost, less \
                than the spread between runs, so there the two columns are equal within the noise and either may come out ahead.\n",
                queueing_ns);
            node.shutdown().await;
        }
        drop(arbiters);
    });
    let _ = writeln!(
        report,
        "Whole bench run: {:.0} s; load average (1 min) at its end: {}.",
        bench_started.elapsed().as_secs_f64(),
        load_average()
    );

    println!("\n{report}");
    if options.write {
        write_section(&report);
    }
}

/// Replaces the text between `## libprocess` and the next `## ` heading of
/// docs/benchmarks.md (creating the file or the section if missing); other sections stay
/// exactly as they are.
fn write_section(body: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/benchmarks.md");
    let heading = "## libprocess";
    let section = format!(
        "{heading}\n\n<!-- Written by `cargo bench -p libprocess --bench runtime`; edits here are overwritten. -->\n\n{body}\n"
    );
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let updated = if existing.is_empty() {
        format!(
            "# Benchmarks\n\nResults of the scenarios in shared/design/BENCHMARKS.md, one section per crate.\n\n{section}"
        )
    } else if let Some(start) = find_heading(&existing, heading) {
        let after = start + heading.len();
        let end = existing[after..].find("\n## ").map(|i| after + i + 1).unwrap_or(existing.len());
        format!("{}{}{}", &existing[..start], section, &existing[end..])
    } else {
        let separator = if existing.ends_with("\n\n") {
            ""
        } else if existing.ends_with('\n') {
            "\n"
        } else {
            "\n\n"
        };
        format!("{existing}{separator}{section}")
    };
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    match std::fs::write(&path, updated) {
        Ok(()) => eprintln!("wrote {}", path.display()),
        Err(error) => eprintln!("cannot write {}: {error}", path.display()),
    }
}

/// The byte offset of a line that is exactly `heading` (not a longer heading).
fn find_heading(text: &str, heading: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == heading {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}
