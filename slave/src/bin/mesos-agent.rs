//! `mesos-agent`: one Mesos agent. See INTERFACES.md for its flags.

use std::process::ExitCode;

fn main() -> ExitCode {
    mesos_agent::cli::agent_main(std::env::args_os())
}
