//! `mesos-agent`: one Mesos agent. See docs/interfaces.md for its flags.

use std::process::ExitCode;

/// The workspace's global allocator (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() -> ExitCode {
    mesos_agent::cli::agent_main(std::env::args_os())
}
