//! `mesos-containerizer launch`: the launcher step the agent starts each `DEFAULT`
//! nested or standalone container through; it records the command's exit status for a
//! restarted agent (see `mesos_agent::containers::launcher`).

use std::process::ExitCode;

/// The workspace's global allocator (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() -> ExitCode {
    mesos_agent::containers::launcher::main(std::env::args_os())
}
