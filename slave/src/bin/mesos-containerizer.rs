//! `mesos-containerizer launch`: the launcher step the agent starts each `DEFAULT`
//! nested or standalone container through; it records the command's exit status for a
//! restarted agent (see `mesos_agent::containers::launcher`).

use std::process::ExitCode;

fn main() -> ExitCode {
    mesos_agent::containers::launcher::main(std::env::args_os())
}
