//! `mesos-master`: one Mesos master on this machine (docs/interfaces.md).
//!
//! Parses the flags (command line, then `MESOS_*` environment), starts a libprocess
//! node on `--ip:--port`, spawns the allocator and the master on it, prints
//! `mesos-master: master@ip:port (id ...)` once listening (with the real port when
//! `--port=0`), and runs until SIGINT or SIGTERM, then shuts the node down.

use std::process::ExitCode;

// mimalloc rather than glibc's malloc: a re-registering agent's message decodes into a
// few hundred small allocations, and glibc's malloc/free were half of the instructions
// of re-admitting it after a failover (docs/benchmarks.md, FAIL-1).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    mesos_master::cli::main(std::env::args_os())
}
