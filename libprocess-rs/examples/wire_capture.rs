//! Captures the libprocess wire protocol between two real nodes on loopback: node `a`
//! sends a `Ping` to `echo` on node `b` through a recording TCP relay, which prints the
//! exact bytes each way (the request and the `202 Accepted` answer). Used for the example
//! in docs/libprocess.md. Run: `cargo run -p libprocess --example wire_capture`.

use std::time::Duration;

use bytes::Bytes;
use libprocess::testing::{Echo, Ping};
use libprocess::{Node, Pid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Copies `from` into `to`, printing every chunk as it passes.
async fn relay(
    label: &'static str,
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        println!("---- {label} ({n} bytes) ----\n{}", escape(&buffer[..n]));
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// Printable ASCII as is, CR LF as `\r\n` plus a line break, everything else as `\xNN`.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                out.push_str("\\r\\n\n");
                i += 1;
            }
            b @ 0x20..=0x7e => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
        i += 1;
    }
    out
}

fn main() {
    actix_rt::System::new().block_on(async {
        let b = Node::builder("127.0.0.1:0".parse().expect("literal")).start().expect("node b");
        let _echo = b.spawn("echo", Echo::default()).expect("spawn echo");
        let a = Node::builder("127.0.0.1:0".parse().expect("literal")).start().expect("node a");

        let relay_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let relay_address = relay_listener.local_addr().expect("relay address");
        let b_address = b.address();
        tokio::spawn(async move {
            let (inbound, _) = relay_listener.accept().await.expect("accept");
            let outbound = TcpStream::connect(b_address).await.expect("connect to b");
            let (in_read, in_write) = inbound.into_split();
            let (out_read, out_write) = outbound.into_split();
            tokio::spawn(relay("a -> b: request", in_read, out_write));
            relay("b -> a: answer", out_read, in_write).await;
        });

        // `echo` as seen through the relay: same id, the relay's address.
        let echo_via_relay = Pid::new("echo", relay_address);
        let from = a.pid("scheduler(1)");
        println!("node a: {}, node b: {} (relay {relay_address})", a.address(), b.address());
        a.send(&from, &echo_via_relay, Ping { seq: 7, payload: Bytes::from_static(b"hi") });
        // Give the request and its answer time to pass the relay (an example, not a test).
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.shutdown().await;
        b.shutdown().await;
    });
}
