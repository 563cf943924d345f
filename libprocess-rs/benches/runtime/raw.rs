//! NET-1's raw-socket baseline: the same bytes as a libprocess ping and pong, moved by a
//! plain tokio TCP ping-pong with no runtime around it (no actors, no HTTP parser, no
//! `202` answers, one connection per client instead of one per direction).
//!
//! The server is this bench binary started again with [`SERVER_FLAG`] in its own OS
//! process (one thread, as `libprocess-echo`), so both shapes cross the same process
//! boundary. It answers every complete request frame with one pong frame; the client
//! keeps `concurrency` requests in flight and sends one more per pong.

use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use bytes::Bytes;
use libprocess::Pid;
use libprocess::wire::encode_message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The flag that turns the bench binary into the raw echo server.
pub const SERVER_FLAG: &str = "--raw-echo-server";

/// The request and answer frames: exactly what libprocess-rs writes for a NET-1 ping
/// (`Ping { payload: "1" }`, body `12 01 31`) and its pong, with pids of the same length
/// as the real run's.
pub fn frames() -> (Bytes, Bytes) {
    let client: Pid = "net-client-0-0@127.0.0.1:40000".parse().expect("literal pid");
    let server: Pid = "echo@127.0.0.1:40001".parse().expect("literal pid");
    let body = [0x12, 0x01, 0x31];
    let ping = encode_message(&client, &server, "libprocess.testing.Ping", &body);
    let pong = encode_message(&server, &client, "libprocess.testing.Pong", &body);
    (ping, pong)
}

/// The raw echo server's main: prints its address, serves until stdin closes.
pub fn serve_main() {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind raw echo server");
        let address = listener.local_addr().expect("bound address");
        println!("{address}");
        let _ = std::io::stdout().flush();
        let (ping, pong) = frames();
        let (tx, mut stop) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            for _ in std::io::stdin().lock().lines() {}
            let _ = tx.send(());
        });
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    tokio::spawn(serve_connection(stream, ping.len(), pong.clone()));
                }
                _ = &mut stop => return,
            }
        }
    });
}

/// Answers each complete `request_len`-byte frame with `answer`, all answers to what one
/// read brought in one write.
async fn serve_connection(mut stream: TcpStream, request_len: usize, answer: Bytes) {
    let _ = stream.set_nodelay(true);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut partial = 0usize;
    let mut out = Vec::new();
    loop {
        let n = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        partial += n;
        let complete = partial / request_len;
        partial %= request_len;
        out.clear();
        for _ in 0..complete {
            out.extend_from_slice(&answer);
        }
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// The raw echo server in its own OS process; killed when dropped.
pub struct RawServer {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
}

impl RawServer {
    /// Starts this binary again as the raw echo server.
    pub fn start() -> RawServer {
        let exe = std::env::current_exe().expect("bench binary path");
        let mut child = Command::new(exe)
            .arg(SERVER_FLAG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start raw echo server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read raw server address");
        let address = line.trim().parse().expect("raw server prints its address");
        RawServer { child, address }
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client: `total` round trips on its own connection, `concurrency` in flight.
async fn client(address: SocketAddr, total: u64, concurrency: u64) {
    let (ping, pong) = frames();
    let mut stream = TcpStream::connect(address).await.expect("connect raw server");
    stream.set_nodelay(true).expect("nodelay");
    let mut out = Vec::new();
    let first = concurrency.min(total);
    for _ in 0..first {
        out.extend_from_slice(&ping);
    }
    stream.write_all(&out).await.expect("write pings");
    let (mut sent, mut received, mut partial) = (first, 0u64, 0usize);
    let mut buffer = vec![0u8; 64 * 1024];
    while received < total {
        let n = stream.read(&mut buffer).await.expect("read pongs");
        assert!(n > 0, "raw server closed the connection");
        partial += n;
        let complete = (partial / pong.len()) as u64;
        partial %= pong.len();
        received += complete;
        let more = complete.min(total - sent);
        if more > 0 {
            out.clear();
            for _ in 0..more {
                out.extend_from_slice(&ping);
            }
            stream.write_all(&out).await.expect("write pings");
            sent += more;
        }
    }
}

/// Runs `clients` clients at once against `address`; returns round trips per second.
pub async fn run(address: SocketAddr, clients: usize, requests: u64, concurrency: u64) -> f64 {
    let start = Instant::now();
    let runs: Vec<_> =
        (0..clients).map(|_| tokio::spawn(client(address, requests, concurrency))).collect();
    for run in runs {
        run.await.expect("raw client finished");
    }
    (clients as u64 * requests) as f64 / start.elapsed().as_secs_f64()
}
