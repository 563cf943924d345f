//! `mesos-default-executor`: Mesos's default executor, which the agent starts for task
//! groups. Configured entirely by the environment the agent sets (`MESOS_SLAVE_PID`, ...).

use std::process::ExitCode;

/// The workspace's global allocator (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() -> ExitCode {
    mesos_agent::cli::default_executor_main(std::env::args_os())
}
