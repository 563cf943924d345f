//! `mesos-local`: a whole Mesos cluster on this machine (docs/interfaces.md).
//!
//! One executable holds every role. Started as `mesos-local` it creates a work
//! directory, links `mesos-master`, `mesos-agent`, `mesos-executor`,
//! `mesos-default-executor` and `mesos-containerizer` to itself there,
//! and starts the masters and agents as child OS processes on loopback; started under
//! one of those names it *is* that program (the busybox trick), so
//! `cargo run --release --bin mesos-local` is all a newcomer needs to build and run.
//!
//! # Layout
//! * `cluster` — starting, watching and stopping the local cluster.
//! * `flags` — `mesos-local`'s flags.

mod cluster;
mod flags;
mod http;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

/// The workspace's global allocator (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let program = args
        .first()
        .and_then(|arg0| Path::new(arg0).file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    match program.as_str() {
        "mesos-master" => mesos_master::cli::main(args),
        "mesos-agent" => mesos_agent::cli::agent_main(args),
        "mesos-executor" => mesos_agent::cli::executor_main(args),
        "mesos-default-executor" => mesos_agent::cli::default_executor_main(args),
        "mesos-containerizer" => mesos_agent::containers::launcher::main(args),
        "mesos-registry" => mesos_registrar::cli::main(args),
        _ => cluster::main(args),
    }
}
