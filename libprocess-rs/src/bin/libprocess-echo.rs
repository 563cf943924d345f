//! `libprocess-echo`: a node with one `echo` process that answers every
//! `libprocess.testing.Ping` with a `Pong`. Used by the cross-process tests and the NET-1
//! benchmark. Prints `echo@ip:port` on its first line, then runs until killed or until its
//! standard input closes. `--io_threads=0` makes it a single-threaded node (its sockets
//! served on the thread that runs `echo`; see `NodeConfig::io_threads`).

use std::io::BufRead;

use libprocess::testing::Echo;
use libprocess::{Node, NodeConfig};

/// The workspace's global allocator (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() {
    let mut ip = "127.0.0.1".to_string();
    let mut port = 0u16;
    let mut io_threads = 1usize;
    for arg in std::env::args().skip(1) {
        if let Some(v) = arg.strip_prefix("--ip=") {
            ip = v.to_string();
        } else if let Some(v) = arg.strip_prefix("--port=") {
            port = v.parse().unwrap_or_else(|_| fail(&format!("bad --port '{v}'")));
        } else if let Some(v) = arg.strip_prefix("--io_threads=") {
            io_threads = v.parse().unwrap_or_else(|_| fail(&format!("bad --io_threads '{v}'")));
        } else if arg == "--help" {
            println!("usage: libprocess-echo [--ip=127.0.0.1] [--port=0] [--io_threads=1]");
            println!(
                "  --io_threads=0: single-threaded (sockets served on the echo process's thread)"
            );
            return;
        } else {
            fail(&format!("unknown flag '{arg}'"));
        }
    }
    let address = format!("{ip}:{port}").parse().unwrap_or_else(|_| fail("bad --ip/--port"));
    let system = actix_rt::System::new();
    system.block_on(async move {
        let config = NodeConfig { io_threads, ..NodeConfig::default() };
        let node =
            Node::builder(address).config(config).start().unwrap_or_else(|e| fail(&e.to_string()));
        let echo = node.spawn("echo", Echo::default()).unwrap_or_else(|e| fail(&e.to_string()));
        println!("{}", echo.pid());
        // Exit when the parent closes our stdin (so tests never leak this process).
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            for _ in std::io::stdin().lock().lines() {}
            let _ = tx.send(());
        });
        let _ = rx.await;
        node.shutdown().await;
    });
}

fn fail(message: &str) -> ! {
    eprintln!("libprocess-echo: {message}");
    std::process::exit(1);
}
