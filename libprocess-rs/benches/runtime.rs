//! libprocess-rs benchmarks ACT-1, ACT-2, NET-1 and CODEC-1 (see
//! shared/design/BENCHMARKS.md), each a port of one of Apache libprocess's own benchmarks
//! (3rdparty/libprocess/src/tests/benchmarks.cpp) with the same workload.
//!
//! Run with `cargo bench -p libprocess --bench runtime`. Every scenario runs several times
//! and reports the median; the table is printed and written into `docs/benchmarks.md`
//! under `## libprocess` (only that section is replaced).
//!
//! Flags (after `--`): `--runs=N` (default 3), `--act1-pings=N` (default 15,000,000),
//! `--only=act1,act2,net1,codec1`, `--no-write` (print only), `--arm-ring` (ACT-1 with the
//! node's message ring recording, to measure its armed cost; see docs/libprocess.md).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix::{Actor, Addr, AsyncContext, Handler};
use bytes::Bytes;
use libprocess::testing::{Ping, Pong};
use libprocess::{Body, Context, Envelope, Inbound, MessageName, Node, Pid, Process};
use prost::Message as _;
use tokio::sync::oneshot;

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
    fn start() -> EchoServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_libprocess-echo"))
            .arg("--port=0")
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

/// Direct path (what libprocess's benchmark times: `consume(MessageEvent)`): look the
/// name up in the process's message table, decode, call the handler. Returns msgs/s.
fn codec_direct(bytes: &Bytes, window: Duration) -> f64 {
    let name = MessageName::owned("process.tests.Message");
    let mut count = 0u64;
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            match CodecMessage::decode(&name, Body::Encoded(bytes.clone())) {
                Ok(message) => handle_tree(&mut count, message),
                Err(error) => panic!("decode failed: {error}"),
            }
        }
        if start.elapsed() >= window {
            break;
        }
    }
    count as f64 / start.elapsed().as_secs_f64()
}

/// Full path through the runtime: `Node::deliver` -> mailbox -> actor -> decode ->
/// `on_message`, 1,000 encoded messages in flight (the process re-sends each one it gets).
struct CodecSink {
    bytes: Bytes,
    name: MessageName,
    window: Duration,
    started: Option<Instant>,
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
        });
    }

    fn run(&mut self, ctx: &mut Context<'_, Self>) {
        self.started = Some(Instant::now());
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
        let started = self.started.expect("run before messages");
        if self.rate == 0.0 && self.handled.is_multiple_of(64) && started.elapsed() >= self.window {
            self.rate = self.handled as f64 / started.elapsed().as_secs_f64();
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
    only: Option<Vec<String>>,
    write: bool,
    arm_ring: bool,
}

impl Options {
    fn parse() -> Options {
        let mut options =
            Options { runs: 3, act1_pings: 15_000_000, only: None, write: true, arm_ring: false };
        for arg in std::env::args().skip(1) {
            if let Some(v) = arg.strip_prefix("--runs=") {
                options.runs = v.parse().expect("--runs=N");
            } else if let Some(v) = arg.strip_prefix("--act1-pings=") {
                options.act1_pings = v.parse().expect("--act1-pings=N");
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

fn spread(values: &[f64], fmt: impl Fn(f64) -> String) -> String {
    values.iter().map(|v| fmt(*v)).collect::<Vec<_>>().join(", ")
}

fn main() {
    let options = Options::parse();
    let runs = options.runs.max(1);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let mut report = String::new();
    let bench_started = Instant::now();

    let _ = writeln!(
        report,
        "Machine: {workers} cores, {}; build profile `bench` (release: opt-level 3, debug = 1); \
        rustc via `cargo bench -p libprocess --bench runtime`. Medians of {runs} runs (individual runs in brackets). \
        The machine is shared with other workers, so figures are noisy.\n",
        cpu_model()
    );

    let system = actix_rt::System::new();
    system.block_on(async {
        let arbiters: Vec<actix_rt::Arbiter> = (0..workers).map(|_| actix_rt::Arbiter::new()).collect();

        if options.wants("act1") {
            let node = Node::builder("127.0.0.1:0".parse().expect("literal")).start().expect("start node");
            let total = options.act1_pings;
            if options.arm_ring {
                node.message_ring().arm();
            }
            // Warm-up (allocator, arbiters), not reported.
            act1_libprocess(&node, &arbiters, (total / 20).max(10_000), 999).await;
            let mut ours = Vec::new();
            let mut bare = Vec::new();
            for run in 0..runs {
                ours.push(act1_libprocess(&node, &arbiters, total, run).await);
                bare.push(act1_bare_actix(&arbiters, total).await);
                eprintln!("ACT-1 run {run}: libprocess-rs {} msg/s, bare actix {} msg/s", human(ours[run]), human(bare[run]));
            }
            node.shutdown().await;
            let (o, b) = (median(ours.clone()), median(bare.clone()));
            let _ = writeln!(report, "### ACT-1: throughput (libprocess `Process_BENCHMARK_ThroughputPerformance`)\n");
            let _ = writeln!(report, "{workers} client/server pairs, one per actix arbiter (`Node::spawn_on`); {} pings in total \
                ({} per client), at most 1,000 in flight per client; empty message bodies; local delivery. \
                A ping and its pong count as one, as in libprocess (`repeat / elapsed`).\n", total, total / workers as u64);
            let _ = writeln!(report, "| runtime | msg/s (median) | runs | vs anchor 6.0M (Apache libprocess here) |");
            let _ = writeln!(report, "|---|---|---|---|");
            let _ = writeln!(report, "| libprocess-rs | **{}** | [{}] | {:.2}x |", human(o), spread(&ours, human), o / 6.0e6);
            let _ = writeln!(report, "| bare actix pair (same shape, plain `Actor` + `Handler`) | {} | [{}] | {:.2}x |", human(b), spread(&bare, human), b / 6.0e6);
            let _ = writeln!(report, "\nlibprocess-rs / bare actix = **{:.2}** (the runtime's overhead over the actor library: \
                pid lookup in the process table, typed envelope, hook check, name match and downcast). \
                Other anchors: Erlang 3.4M msg/s (2006); actix tell ~200 ns/msg (= 5M/s).\n", o / b);
        }

        if options.wants("act2") {
            let mut setups = Vec::new();
            let mut cycles = Vec::new();
            for run in 0..runs {
                let (setup, cycle) = act2(5_000, 10_000).await;
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
            let _ = writeln!(report, "| 10,000 spawn + dispatch + terminate | **{}** | [{}] | {:.2}x the time of Apache libprocess here (125 ms); ractor creates 10,000 actors in 26 ms |\n",
                ms(c), spread(&cycles, ms), c / 0.125);
        }

        if options.wants("net1") {
            let echo = EchoServer::start();
            let node = Node::builder("127.0.0.1:0".parse().expect("literal")).start().expect("start node");
            // Warm-up: opens the connection both ways.
            net1_run(&node, &echo.pid, 1, 2_000, 250, "warm").await;
            let mut totals = Vec::new();
            let mut rtts = Vec::new();
            for run in 0..runs {
                let (rate, _) = net1_run(&node, &echo.pid, 8, 10_000, 250, &format!("{run}")).await;
                let (one, _) = net1_run(&node, &echo.pid, 1, 5_000, 1, &format!("rtt-{run}")).await;
                eprintln!("NET-1 run {run}: {} rpcs/s, 1 in flight {} rpcs/s", human(rate), human(one));
                totals.push(rate);
                rtts.push(one);
            }
            node.shutdown().await;
            drop(echo);
            let (t, r) = (median(totals.clone()), median(rtts.clone()));
            let _ = writeln!(report, "### NET-1: client/server over loopback (libprocess `Process_BENCHMARK_ClientServer`)\n");
            let _ = writeln!(report, "Server: the `libprocess-echo` binary in its own OS process (1 I/O thread). Clients: this \
                process's node (1 I/O thread), 8 client processes x 10,000 requests, 250 in flight each; the request body is \
                3 bytes (`Ping {{ payload: \"1\" }}` encodes to `12 01 31`), the answer a `Pong` of 3 bytes. Round-trip \
                latency: 1 client, 1 in flight, 5,000 requests. Every message is a full libprocess HTTP request on a \
                persistent connection (one per direction, as libprocess).\n");
            let _ = writeln!(report, "| figure | median | runs | vs anchor |");
            let _ = writeln!(report, "|---|---|---|---|");
            let _ = writeln!(report, "| 8 clients x 250 in flight | **{} rpcs/s** | [{}] | {:.2}x of Apache libprocess here, *in one process* (~0.8M rpcs/s) |",
                human(t), spread(&totals, human), t / 0.8e6);
            let _ = writeln!(report, "| 1 in flight | **{} round trips/s = {:.0} us RTT** | [{}] | {:.2}x of a C TCP ping-pong (13.8k/s, 72 us) |\n",
                human(r), 1e6 / r, spread(&rtts, human), r / 13.8e3);
        }

        if options.wants("codec1") {
            let node = Node::builder("127.0.0.1:0".parse().expect("literal")).start().expect("start node");
            let sizes = [0usize, 1, 5, 10, 50, 100, 500, 1000, 5000, 10000];
            let anchors: [(usize, f64); 5] = [(0, 5.29e6), (5, 2.45e6), (50, 418e3), (500, 44.5e3), (10000, 2.4e3)];
            let window = Duration::from_millis(1000 / runs as u64);
            let mailbox_window = Duration::from_millis(500 / runs as u64);
            let _ = writeln!(report, "### CODEC-1: decode + dispatch (libprocess `Process_BENCHMARK_ProtobufInstallHandler`)\n");
            let _ = writeln!(report, "libprocess's `tests::Message` tree (branching 4, payload two ints per node) defined with \
                prost derive. *Direct*: what libprocess times (`consume(MessageEvent)` on the process): look the name up in the \
                process's message table (`protocol!` enum), decode, call the no-op handler; {} windows of {} ms per size. \
                *Via mailbox*: the whole local path of an encoded message (as it arrives from the network): \
                `Node::deliver` -> process table -> actix mailbox -> decode -> `on_message`, 1,000 in flight; {} windows of {} ms.\n",
                runs, window.as_millis(), runs, mailbox_window.as_millis());
            let _ = writeln!(report, "| sub-messages | bytes | direct msg/s | direct MiB/s | via mailbox msg/s | via mailbox MiB/s | Apache libprocess here | ratio (direct) |");
            let _ = writeln!(report, "|---|---|---|---|---|---|---|---|");
            for (i, &n) in sizes.iter().enumerate() {
                let message = tree_message(n);
                let bytes = Bytes::from(message.encode_to_vec());
                let direct: Vec<f64> = (0..runs).map(|_| codec_direct(&bytes, window)).collect();
                let mut via = Vec::new();
                for run in 0..runs {
                    via.push(codec_mailbox(&node, &bytes, mailbox_window, &format!("{i}-{run}")).await);
                }
                let (d, m) = (median(direct), median(via));
                let mib = |rate: f64| rate * bytes.len() as f64 / (1024.0 * 1024.0);
                let anchor = anchors.iter().find(|(s, _)| *s == n).map(|(_, a)| *a);
                let (anchor_text, ratio) = match anchor {
                    Some(a) => (format!("{} msg/s", human(a)), format!("{:.2}x", d / a)),
                    None => ("-".to_string(), "-".to_string()),
                };
                eprintln!("CODEC-1 {n} sub-messages ({} B): direct {} msg/s, mailbox {} msg/s", bytes.len(), human(d), human(m));
                let _ = writeln!(report, "| {n} | {} | {} | {:.1} | {} | {:.1} | {} | {} |",
                    bytes.len(), human(d), mib(d), human(m), mib(m), anchor_text, ratio);
            }
            let _ = writeln!(report);
            node.shutdown().await;
        }
        drop(arbiters);
    });
    let _ = writeln!(report, "Whole bench run: {:.0} s.", bench_started.elapsed().as_secs_f64());

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
