mod executor_http;
mod fake;
mod files_http;
mod http_authentication;
mod processes;
mod real_process;
mod recovery_sim;
mod scheduler;
mod sim_cluster;
mod support;
mod tasks_sim;
mod with_master;

/// True for terminal task states.
pub fn is_terminal(state: i32) -> bool {
    mesos_agent::status_update::is_terminal(state)
}
