//! `mesos-agent`: one Mesos agent. See docs/interfaces.md for its flags.

use std::process::ExitCode;

fn main() -> ExitCode {
    mesos_agent::cli::agent_main(std::env::args_os())
}
