//! `mesos-local`'s flags (docs/interfaces.md), also read from `MESOS_<FLAG>`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

/// A whole cluster on this machine: masters and agents as child processes on loopback.
#[derive(Parser, Debug, Clone)]
#[command(name = "mesos-local", version, about)]
pub struct Flags {
    /// Masters to start (3 = an HA group replicated with raft; 1 = a single master).
    #[arg(long = "num_masters", env = "MESOS_NUM_MASTERS", default_value_t = 3)]
    pub num_masters: u16,

    /// Agents to start.
    #[arg(long = "num_agents", env = "MESOS_NUM_AGENTS", default_value_t = 2)]
    pub num_agents: u16,

    /// Where every process keeps its state and logs [default: a fresh folder under the
    /// system temp dir].
    #[arg(long = "work_dir", env = "MESOS_WORK_DIR")]
    pub work_dir: Option<PathBuf>,

    /// Address every process listens on.
    #[arg(long = "ip", env = "MESOS_IP", default_value = "127.0.0.1")]
    pub ip: IpAddr,

    /// First port: masters listen on port, port+1, ...; agents on port+11, port+12, ...
    /// 0: every process listens on a port the OS assigns (printed in the summary; no
    /// other program can take it between the choice and the start).
    #[arg(long = "port", env = "MESOS_PORT", default_value_t = 5050)]
    pub port: u16,

    /// Resources of each agent, in Mesos syntax [default: detected from the machine].
    #[arg(long = "resources", env = "MESOS_RESOURCES")]
    pub resources: Option<String>,

    /// Turn authentication on everywhere: write a credentials file with a fresh
    /// principal and secret into the work dir; start masters with `--credentials`,
    /// every `--authenticate_http_*` realm, `--authenticate_frameworks` and
    /// `--authenticate_agents` (CRAM-MD5); start agents with `--http_credentials`, both
    /// `--authenticate_http_*` and `--credential` (the same pair), and with
    /// `--authenticate_http_executors`, a generated `--jwt_secret_key` and
    /// `--http_command_executor` (every executor presents the token its agent signed);
    /// print the principal and secret, which frameworks pass as `--principal`/`--secret`.
    #[arg(long = "authenticate", env = "MESOS_AUTHENTICATE", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub authenticate: bool,

    /// Start an agent again when it exits (after a second, on the same port and work
    /// dir), as a service manager would: `kill -9` one to watch it recover its tasks
    /// and re-register. `false`: an agent that exits stays down (to watch the master
    /// mark it unreachable).
    #[arg(long = "restart_agents", env = "MESOS_RESTART_AGENTS", num_args = 0..=1, default_missing_value = "true", default_value_t = true, action = clap::ArgAction::Set)]
    pub restart_agents: bool,

    /// Passed to every agent. An agent waits a random time in `[0, factor]` before it
    /// registers, and before it re-registers with a newly elected master. Mesos's agents
    /// default to `1secs`, which spreads thousands of agents' re-registrations; a cluster
    /// on one machine has a few agents, so a shorter wait brings them back to a new
    /// leader sooner (docs/ha.md "Election timing").
    #[arg(long = "registration_backoff_factor", env = "MESOS_REGISTRATION_BACKOFF_FACTOR", default_value = "200ms", value_parser = duration)]
    pub registration_backoff_factor: String,
}

/// Checks Mesos duration syntax, and keeps the text to pass on to the agents.
fn duration(text: &str) -> Result<String, String> {
    libprocess::duration::parse_duration(text).map(|_| text.to_string()).map_err(|e| e.to_string())
}
