mod files_http;
mod real_process;
mod support;

/// True for terminal task states.
pub fn is_terminal(state: i32) -> bool {
    mesos_agent::status_update::is_terminal(state)
}
