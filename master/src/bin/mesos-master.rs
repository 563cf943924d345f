//! `mesos-master`: one Mesos master on this machine (docs/interfaces.md).
//!
//! Parses the flags (command line, then `MESOS_*` environment), starts a libprocess
//! node on `--ip:--port`, spawns the allocator and the master on it, prints
//! `mesos-master: master@ip:port (id ...)` once listening (with the real port when
//! `--port=0`), and runs until SIGINT or SIGTERM, then shuts the node down.

use std::process::ExitCode;

/// The workspace's global allocator (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() -> ExitCode {
    mesos_master::cli::main(std::env::args_os())
}
