//! The master core's settings ([`MasterConfig`]), from the master's flags.

use std::time::Duration;

use libprocess::Pid;

/// The master's settings (from its flags).
#[derive(Clone, Debug)]
pub struct MasterConfig {
    /// This master's pid (`master@ip:port`).
    pub pid: Pid,
    /// The unique id of this master run; prefixes every ID it hands out.
    pub id: String,
    /// Advertised hostname.
    pub hostname: String,
    /// Period of agent health pings.
    pub agent_ping_timeout: Duration,
    /// Missed pings before an agent is unreachable.
    pub max_agent_ping_timeouts: u32,
    /// Rescind offers held longer than this.
    pub offer_timeout: Option<Duration>,
    /// Version reported in `MasterInfo`.
    pub version: String,
    /// The roles frameworks may subscribe to (`--roles`); `None` allows any valid role.
    pub roles: Option<std::collections::BTreeSet<String>>,
    /// After a failover, how long agents from the registry have to re-register.
    pub agent_reregister_timeout: Duration,
    /// The local authorizer (`--acls`); `None` authorizes everything, as Mesos does
    /// without an authorizer.
    pub authorizer: Option<std::sync::Arc<mesos_security::Authorizer>>,
    /// Role weights from `--weights` (the registry's, once written, win).
    pub weights: Vec<(String, f64)>,
}

impl MasterConfig {
    /// The master `pid` of run `id` advertising `hostname`, with Mesos's defaults for the
    /// rest (as `MasterOptions::with_id`): pings every 15 s, 5 missed before an agent is
    /// unreachable, no offer timeout, any role, 600 s to re-register after a failover,
    /// no authorizer, no weights; the version a libprocess node reports by default.
    pub fn with_defaults(pid: Pid, id: &str, hostname: &str) -> MasterConfig {
        MasterConfig {
            pid,
            id: id.to_string(),
            hostname: hostname.to_string(),
            agent_ping_timeout: Duration::from_secs(15),
            max_agent_ping_timeouts: 5,
            offer_timeout: None,
            version: libprocess::NodeConfig::default().version,
            roles: None,
            agent_reregister_timeout: Duration::from_secs(600),
            authorizer: None,
            weights: Vec::new(),
        }
    }
}
