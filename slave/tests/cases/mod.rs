mod files_http;
mod processes;
mod real_process;
mod scheduler;
mod support;
mod with_master;

/// True for terminal task states.
pub fn is_terminal(state: i32) -> bool {
    mesos_agent::status_update::is_terminal(state)
}
