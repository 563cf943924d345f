//! `mesos-master`'s flags (docs/interfaces.md, Mesos: src/master/flags.cpp).
//!
//! Parsed with clap: `--name=value` (Mesos's spelling, underscores kept), every flag
//! also read from `MESOS_<NAME>` with the command line winning, durations in Mesos's
//! syntax (`500ms`, `10mins`). [`Flags::validate`] turns them into [`Settings`] or a
//! [`FlagsError`]; the binary prints the error and exits with code 1.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use libprocess::duration::{format_duration, parse_duration};

use crate::launch::MasterOptions;

/// `--raft_tick`'s default, which a master built without parsing flags
/// (`MasterOptions::with_id`) runs too: the registrar's ([`mesos_registrar::DEFAULT_TICK`]).
pub const DEFAULT_RAFT_TICK: Duration = mesos_registrar::DEFAULT_TICK;

/// Where the registry (agents admitted, unreachable, gone; weights) is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Registry {
    /// In this process's memory: lost when the master stops (a group of one).
    #[value(name = "in_memory")]
    InMemory,
    /// Replicated by raft among the `--masters` group, stored under `--work_dir`.
    #[value(name = "raft")]
    Raft,
}

impl Registry {
    /// The flag's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Registry::InMemory => "in_memory",
            Registry::Raft => "raft",
        }
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

/// A duration that must not be zero (a zero raft tick would spin).
fn positive_duration(text: &str) -> Result<Duration, String> {
    let value = duration(text)?;
    if value.is_zero() { Err("must be more than zero".to_string()) } else { Ok(value) }
}

/// The command line of `mesos-master`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "mesos-master",
    version,
    about = "The Mesos master: pools agents' resources and offers them to frameworks.",
    after_help = "Every flag is also read from the environment as MESOS_<FLAG_IN_UPPER_CASE>; \
                  the command line wins. Durations: a number and a unit (ns, us, ms, secs, mins, hrs, days, weeks)."
)]
pub struct Flags {
    /// Address to listen on.
    #[arg(long = "ip", env = "MESOS_IP", default_value = "127.0.0.1")]
    pub ip: IpAddr,
    /// Port to listen on (0 picks a free port; the chosen one is printed at start).
    #[arg(long = "port", env = "MESOS_PORT", default_value_t = 5050)]
    pub port: u16,
    /// Serve on this inherited listening socket instead of binding --ip:--port (its
    /// address becomes --ip and --port): how `mesos-local --port=0` and the tests hand a
    /// master a port chosen before it starts. Not in Apache Mesos; no environment form.
    #[arg(long = "listen_fd")]
    pub listen_fd: Option<i32>,
    /// Where the raft log, snapshots and registry live; required with --registry=raft.
    #[arg(long = "work_dir", env = "MESOS_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// Also write log files in this folder, glog-style (`mesos-master.INFO` links to the
    /// current one; rotated, at most 8 of 64 MiB kept), served at `/master/log`. By
    /// default nothing is written to disk.
    #[arg(long = "log_dir", env = "MESOS_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
    /// Log events at or above this level: INFO, WARNING or ERROR (`RUST_LOG`, when
    /// set, takes precedence).
    #[arg(long = "logging_level", env = "MESOS_LOGGING_LEVEL", default_value = "INFO")]
    pub logging_level: libprocess::log_file::LogLevel,
    /// `in_memory` or `raft` [default: raft when --work_dir is set, else in_memory].
    #[arg(long = "registry", env = "MESOS_REGISTRY")]
    pub registry: Option<Registry>,
    /// Comma list `ip:port,...` of every member of the HA group, this one included;
    /// absent = a group of one.
    #[arg(long = "masters", env = "MESOS_MASTERS")]
    pub masters: Option<String>,
    /// Advertised hostname [default: the --ip].
    #[arg(long = "hostname", env = "MESOS_HOSTNAME")]
    pub hostname: Option<String>,
    /// Batch allocation period.
    #[arg(long = "allocation_interval", env = "MESOS_ALLOCATION_INTERVAL", default_value = "1secs", value_parser = duration)]
    pub allocation_interval: Duration,
    /// Rescind offers held longer than this [default: never].
    #[arg(long = "offer_timeout", env = "MESOS_OFFER_TIMEOUT", value_parser = duration)]
    pub offer_timeout: Option<Duration>,
    /// Ping period for agents.
    #[arg(long = "agent_ping_timeout", env = "MESOS_AGENT_PING_TIMEOUT", default_value = "15secs", value_parser = duration)]
    pub agent_ping_timeout: Duration,
    /// Missed pings before an agent is unreachable.
    #[arg(
        long = "max_agent_ping_timeouts",
        env = "MESOS_MAX_AGENT_PING_TIMEOUTS",
        default_value_t = 5
    )]
    pub max_agent_ping_timeouts: u32,
    /// After a failover, how long agents have to re-register.
    #[arg(long = "agent_reregister_timeout", env = "MESOS_AGENT_REREGISTER_TIMEOUT", default_value = "10mins", value_parser = duration)]
    pub agent_reregister_timeout: Duration,
    /// The raft tick: the leader heartbeats every tick and election timeouts count
    /// ticks, so with the default 5 a dead leader is replaced after 250-450 ms (HA-1 on
    /// real processes; no false election under client load in the leadership test, even
    /// at 25 ms; docs/ha.md, "Election timing"). Mesos has no such flag: its masters
    /// elect a leader through ZooKeeper, whose session timeout (`--zk_session_timeout`,
    /// 10 s) plays this part.
    #[arg(long = "raft_tick", env = "MESOS_RAFT_TICK", default_value = "50ms", value_parser = positive_duration)]
    // (`DEFAULT_RAFT_TICK` above is the same value, for code that starts masters without
    // parsing flags; a test keeps the two equal.)
    pub raft_tick: Duration,
    /// Base raft election timeout, in ticks: a follower that hears no leader for a
    /// time drawn from `[n, 2n)` ticks starts an election (see docs/ha.md, "Election
    /// timing").
    #[arg(long = "raft_election_ticks", env = "MESOS_RAFT_ELECTION_TICKS", default_value_t = 5, value_parser = clap::value_parser!(u16).range(2..))]
    pub raft_election_ticks: u16,
    /// Comma list of the roles frameworks may use [default: any role].
    #[arg(long = "roles", env = "MESOS_ROLES")]
    pub roles: Option<String>,
    /// Comma list of role weights, `role1=2,role2=1` [default: every role weighs 1].
    #[arg(long = "weights", env = "MESOS_WEIGHTS")]
    pub weights: Option<String>,
    /// Path (or `file://` URL) of a file of credentials: Mesos's JSON
    /// `{"credentials": [{"principal": "sherman", "secret": "kitesurf"}]}` or one
    /// `principal secret` per line.
    #[arg(long = "credentials", env = "MESOS_CREDENTIALS")]
    pub credentials: Option<String>,
    /// If true, only authenticated requests for read-only HTTP endpoints supporting
    /// authentication are allowed; if false, unauthenticated requests are allowed too.
    #[arg(long = "authenticate_http_readonly", env = "MESOS_AUTHENTICATE_HTTP_READONLY", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub authenticate_http_readonly: bool,
    /// If true, only authenticated requests for read-write HTTP endpoints supporting
    /// authentication are allowed; if false, unauthenticated requests are allowed too.
    #[arg(long = "authenticate_http_readwrite", env = "MESOS_AUTHENTICATE_HTTP_READWRITE", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub authenticate_http_readwrite: bool,
    /// If true, only authenticated HTTP frameworks are allowed to register; if false,
    /// HTTP frameworks are not authenticated.
    #[arg(long = "authenticate_http_frameworks", env = "MESOS_AUTHENTICATE_HTTP_FRAMEWORKS", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub authenticate_http_frameworks: bool,
    /// HTTP authenticator to use when handling requests to authenticated endpoints
    /// (only `basic` is built in; there is no support for several).
    #[arg(
        long = "http_authenticators",
        env = "MESOS_HTTP_AUTHENTICATORS",
        default_value = "basic"
    )]
    pub http_authenticators: String,
    /// HTTP authenticator to use when authenticating HTTP frameworks (`basic`). Must be
    /// used in conjunction with `--authenticate_http_frameworks`.
    #[arg(long = "http_framework_authenticators", env = "MESOS_HTTP_FRAMEWORK_AUTHENTICATORS")]
    pub http_framework_authenticators: Option<String>,
    /// The ACLs of the local authorizer, as Mesos's ACLs JSON: inline, or the path of a
    /// file holding it (`file:///path/to/acls.json` or `/path/to/acls.json`) [default: no
    /// authorization, everything is allowed].
    ///
    /// The format is the `ACLs` message of acls.proto (see docs/security.md). For each
    /// action, rules pair `principals` with an object (roles, users, framework
    /// principals, ...); the first rule matching a request decides, and `permissive`
    /// (default true) decides when none does. Example:
    /// {"permissive": false,
    ///  "register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"values": ["a"]}}],
    ///  "run_tasks": [{"principals": {"values": ["a", "b"]}, "users": {"values": ["c"]}}],
    ///  "teardown_frameworks": [{"principals": {"values": ["ops"]}, "framework_principals": {"type": "ANY"}}]}
    #[arg(long = "acls", env = "MESOS_ACLS", verbatim_doc_comment)]
    pub acls: Option<String>,
    /// Only authenticated frameworks may register (v0 drivers authenticate with
    /// CRAM-MD5). `--authenticate` is Mesos's older name.
    #[arg(long = "authenticate_frameworks", alias = "authenticate", env = "MESOS_AUTHENTICATE_FRAMEWORKS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub authenticate_frameworks: bool,
    /// Only authenticated agents may register (CRAM-MD5).
    #[arg(long = "authenticate_agents", env = "MESOS_AUTHENTICATE_AGENTS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub authenticate_agents: bool,
    /// The authenticator of frameworks and agents; only `crammd5`.
    #[arg(long = "authenticators", env = "MESOS_AUTHENTICATORS", default_value = "crammd5")]
    pub authenticators: String,
    /// How long a v0 authentication may take.
    #[arg(long = "authentication_v0_timeout", env = "MESOS_AUTHENTICATION_V0_TIMEOUT", default_value = "15secs", value_parser = duration)]
    pub authentication_v0_timeout: Duration,
}

/// Why the flags cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlagsError {
    /// A value that does not make sense.
    #[error("invalid --{flag}='{value}': {reason}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: String,
    },
}

/// Validated settings of a master.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen.
    pub address: SocketAddr,
    /// Advertised hostname.
    pub hostname: String,
    /// The registry.
    pub registry: Registry,
    /// The HA group (`--masters`), empty for a group of one.
    pub masters: Vec<SocketAddr>,
    /// Role whitelist (`None` = any role).
    pub roles: Option<Vec<String>>,
    /// Role weights.
    pub weights: Vec<(String, f64)>,
    /// The local authorizer (`--acls`), `None` without ACLs.
    pub authorizer: Option<std::sync::Arc<mesos_security::Authorizer>>,
    /// v0 authentication (`--authenticate_*`, `--credentials`).
    pub authentication: crate::authentication::AuthenticationConfig,
    /// The flags as given, for `/master/flags`.
    pub flags: Flags,
    /// The HTTP authenticators of the realms switched on (`--authenticate_http_*`).
    pub http_authenticator: mesos_security::HttpAuthenticator,
}

fn invalid(flag: &'static str, value: &str, reason: impl Into<String>) -> FlagsError {
    FlagsError::Invalid { flag, value: value.to_string(), reason: reason.into() }
}

/// Parses `role1=2,role2=1` (Mesos: master.cpp, `--weights`).
pub fn parse_weights(text: &str) -> Result<Vec<(String, f64)>, FlagsError> {
    let mut weights: Vec<(String, f64)> = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((role, weight)) = pair.split_once('=') else {
            return Err(invalid(
                "weights",
                text,
                format!("'{pair}' is not of the form role=weight"),
            ));
        };
        let role = role.trim();
        mesos_proto::resources::roles::validate(role)
            .map_err(|reason| invalid("weights", text, reason))?;
        let weight: f64 = weight.trim().parse().map_err(|_| {
            invalid("weights", text, format!("weight '{weight}' of role '{role}' is not a number"))
        })?;
        if !(weight.is_finite() && weight > 0.0) {
            return Err(invalid(
                "weights",
                text,
                format!("weight of role '{role}' must be a positive number"),
            ));
        }
        if weights.iter().any(|(r, _)| r == role) {
            return Err(invalid("weights", text, format!("role '{role}' is given twice")));
        }
        weights.push((role.to_string(), weight));
    }
    Ok(weights)
}

/// Reads `--acls` into the local authorizer; malformed ACLs (bad JSON, a missing
/// entity, a rule Mesos refuses) stop the master at start with the reason.
pub fn parse_acls(value: &str) -> Result<std::sync::Arc<mesos_security::Authorizer>, FlagsError> {
    mesos_security::Authorizer::from_flag(value)
        .map(std::sync::Arc::new)
        .map_err(|e| invalid("acls", value, e.to_string()))
}

/// Parses the `--roles` whitelist.
pub fn parse_roles(text: &str) -> Result<Vec<String>, FlagsError> {
    let mut roles = Vec::new();
    for role in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        mesos_proto::resources::roles::validate(role)
            .map_err(|reason| invalid("roles", text, reason))?;
        roles.push(role.to_string());
    }
    Ok(roles)
}

impl Flags {
    /// The registry asked for, with docs/interfaces.md's default.
    pub fn effective_registry(&self) -> Registry {
        self.registry.unwrap_or(if self.work_dir.is_some() {
            Registry::Raft
        } else {
            Registry::InMemory
        })
    }

    /// Checks every flag and combination; the first problem is the error.
    pub fn validate(&self) -> Result<Settings, FlagsError> {
        let registry = self.effective_registry();
        let address = SocketAddr::new(self.ip, self.port);
        let masters = match &self.masters {
            Some(list) => mesos_proto::masters::parse_master_addresses(list)
                .map_err(|e| invalid("masters", list, e.to_string()))?,
            None => Vec::new(),
        };
        if registry == Registry::Raft && self.work_dir.is_none() {
            return Err(invalid("registry", "raft", "--registry=raft needs --work_dir"));
        }
        if registry == Registry::InMemory && masters.len() > 1 {
            return Err(invalid(
                "masters",
                self.masters.as_deref().unwrap_or(""),
                "an HA group needs --registry=raft and --work_dir",
            ));
        }
        if masters.len() > 1 && !masters.contains(&address) && self.port != 0 {
            return Err(invalid(
                "masters",
                self.masters.as_deref().unwrap_or(""),
                format!("must include this master's --ip:--port {address}"),
            ));
        }
        for (flag, value) in [
            ("allocation_interval", self.allocation_interval),
            ("agent_ping_timeout", self.agent_ping_timeout),
        ] {
            if value.is_zero() {
                return Err(invalid(flag, &format_duration(value), "must be longer than zero"));
            }
        }
        if self.offer_timeout.is_some_and(|t| t.is_zero()) {
            return Err(invalid("offer_timeout", "0ns", "must be longer than zero"));
        }
        if self.max_agent_ping_timeouts == 0 {
            return Err(invalid("max_agent_ping_timeouts", "0", "must be at least 1"));
        }
        let hostname = self.hostname.clone().unwrap_or_else(|| self.ip.to_string());
        if hostname.trim().is_empty() {
            return Err(invalid("hostname", &hostname, "must not be empty"));
        }
        let roles = self.roles.as_deref().map(parse_roles).transpose()?;
        let weights = self.weights.as_deref().map(parse_weights).transpose()?.unwrap_or_default();
        let http_authenticator = self.http_authenticator()?;
        let authorizer = self.acls.as_deref().map(parse_acls).transpose()?;
        let authentication = self.authentication()?;
        Ok(Settings {
            address,
            hostname,
            registry,
            masters,
            roles,
            weights,
            authorizer,
            authentication,
            flags: self.clone(),
            http_authenticator,
        })
    }

    /// `--authenticate_*`, `--credentials`, `--authenticators`: reads the credentials.
    /// Mesos refuses to start when authentication is required without credentials.
    fn authentication(&self) -> Result<crate::authentication::AuthenticationConfig, FlagsError> {
        if self.authenticators != mesos_security::cram_md5::MODULE_NAME {
            return Err(invalid(
                "authenticators",
                &self.authenticators,
                "only 'crammd5' is built in",
            ));
        }
        if self.authentication_v0_timeout.is_zero() {
            return Err(invalid("authentication_v0_timeout", "0ns", "must be longer than zero"));
        }
        let credentials = match &self.credentials {
            Some(path) => Some(
                mesos_security::Credentials::read(path)
                    .map_err(|e| invalid("credentials", path, e.to_string()))?,
            ),
            None => None,
        };
        if (self.authenticate_frameworks || self.authenticate_agents) && credentials.is_none() {
            return Err(invalid(
                "credentials",
                "",
                "--authenticate_frameworks and --authenticate_agents need --credentials",
            ));
        }
        Ok(crate::authentication::AuthenticationConfig {
            authenticate_frameworks: self.authenticate_frameworks,
            authenticate_agents: self.authenticate_agents,
            credentials,
            timeout: self.authentication_v0_timeout,
        })
    }

    /// Reads `--credentials` and sets up an authenticator for every realm switched on,
    /// refusing what Mesos refuses at start. Mesos: master.cpp `Master::initialize`.
    fn http_authenticator(&self) -> Result<mesos_security::HttpAuthenticator, FlagsError> {
        use mesos_security::http_auth::{MASTER_READONLY, MASTER_READWRITE, MASTER_SCHEDULER};
        let credentials = match &self.credentials {
            Some(path) => {
                let credentials = mesos_security::Credentials::read(path)
                    .map_err(|e| invalid("credentials", path, e.to_string()))?;
                if credentials.is_empty() {
                    return Err(invalid(
                        "credentials",
                        path,
                        "Credentials file must contain at least one credential",
                    ));
                }
                Some(std::sync::Arc::new(credentials))
            }
            None => None,
        };
        let mut authenticator = mesos_security::HttpAuthenticator::default();
        let mut enable = |flag: &'static str, realm: &str, names: &str| {
            authenticator
                .enable(realm, names, credentials.as_ref())
                .map_err(|e| invalid(flag, "true", e.to_string()))
        };
        if self.authenticate_http_readonly {
            enable("authenticate_http_readonly", MASTER_READONLY, &self.http_authenticators)?;
        }
        if self.authenticate_http_readwrite {
            enable("authenticate_http_readwrite", MASTER_READWRITE, &self.http_authenticators)?;
        }
        if self.authenticate_http_frameworks {
            let Some(names) = &self.http_framework_authenticators else {
                return Err(invalid(
                    "authenticate_http_frameworks",
                    "true",
                    "Missing `--http_framework_authenticators` flag. This must be used in \
                     conjunction with `--authenticate_http_frameworks`",
                ));
            };
            enable("authenticate_http_frameworks", MASTER_SCHEDULER, names)?;
        }
        Ok(authenticator)
    }

    /// The flags with values, as `/master/flags` shows them (`name -> value`, the
    /// values printed the way they are written on the command line).
    pub fn list(&self) -> Vec<(String, String)> {
        let mut list = vec![
            ("ip", self.ip.to_string()),
            ("port", self.port.to_string()),
            ("registry", self.effective_registry().as_str().to_string()),
            ("hostname", self.hostname.clone().unwrap_or_else(|| self.ip.to_string())),
            ("allocation_interval", format_duration(self.allocation_interval)),
            ("agent_ping_timeout", format_duration(self.agent_ping_timeout)),
            ("max_agent_ping_timeouts", self.max_agent_ping_timeouts.to_string()),
            ("agent_reregister_timeout", format_duration(self.agent_reregister_timeout)),
            ("raft_tick", format_duration(self.raft_tick)),
            ("raft_election_ticks", self.raft_election_ticks.to_string()),
            ("authenticate_http_readonly", self.authenticate_http_readonly.to_string()),
            ("authenticate_http_readwrite", self.authenticate_http_readwrite.to_string()),
            ("authenticate_http_frameworks", self.authenticate_http_frameworks.to_string()),
            ("http_authenticators", self.http_authenticators.clone()),
            ("authenticate_frameworks", self.authenticate_frameworks.to_string()),
            ("authenticate_agents", self.authenticate_agents.to_string()),
            ("authenticators", self.authenticators.clone()),
            ("authentication_v0_timeout", format_duration(self.authentication_v0_timeout)),
            ("logging_level", self.logging_level.name().to_string()),
        ];
        let optional = [
            ("work_dir", self.work_dir.as_ref().map(|p| p.display().to_string())),
            ("log_dir", self.log_dir.as_ref().map(|p| p.display().to_string())),
            ("masters", self.masters.clone()),
            ("offer_timeout", self.offer_timeout.map(format_duration)),
            ("roles", self.roles.clone()),
            ("weights", self.weights.clone()),
            ("credentials", self.credentials.clone()),
            ("http_framework_authenticators", self.http_framework_authenticators.clone()),
            ("acls", self.acls.clone()),
        ];
        list.extend(optional.into_iter().filter_map(|(name, value)| value.map(|v| (name, v))));
        list.sort();
        list.into_iter().map(|(name, value)| (name.to_string(), value)).collect()
    }
}

impl Settings {
    /// What [`crate::launch::spawn_master`] needs, for a master with id `id`.
    pub fn master_options(&self, id: impl Into<String>) -> MasterOptions {
        let mut options = MasterOptions::with_id(id);
        options.hostname = self.hostname.clone();
        options.allocation_interval = self.flags.allocation_interval;
        options.agent_ping_timeout = self.flags.agent_ping_timeout;
        options.max_agent_ping_timeouts = self.flags.max_agent_ping_timeouts;
        options.offer_timeout = self.flags.offer_timeout;
        options.weights = self.weights.clone();
        options.roles = self.roles.clone();
        options.agent_reregister_timeout = self.flags.agent_reregister_timeout;
        options.raft_tick = self.flags.raft_tick;
        options.raft_election_ticks = usize::from(self.flags.raft_election_ticks);
        options.authentication = self.authentication.clone();
        options.flags = self.flags.list();
        options.http_authenticator = self.http_authenticator.clone();
        options.authorizer = self.authorizer.clone();
        options
    }

    /// The registry mode for a master bound to `bound` (the real address when `--port=0`).
    pub fn registry_mode(&self, bound: SocketAddr) -> crate::launch::RegistryMode {
        match (self.registry, &self.flags.work_dir) {
            (Registry::Raft, Some(work_dir)) => {
                let masters =
                    if self.masters.is_empty() { vec![bound] } else { self.masters.clone() };
                crate::launch::RegistryMode::Raft { masters, work_dir: work_dir.clone() }
            }
            _ => crate::launch::RegistryMode::InMemory,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Flags, clap::Error> {
        Flags::try_parse_from(std::iter::once("mesos-master").chain(args.iter().copied()))
    }

    /// Defaults are docs/interfaces.md's; Mesos duration syntax and weights parse.
    #[test]
    fn defaults_and_values() {
        let flags = parse(&[]).unwrap();
        assert_eq!(flags.port, 5050);
        assert_eq!(flags.allocation_interval, Duration::from_secs(1));
        assert_eq!(flags.agent_reregister_timeout, Duration::from_secs(600));
        assert_eq!(flags.raft_tick, DEFAULT_RAFT_TICK);
        assert_eq!(flags.effective_registry(), Registry::InMemory);
        let settings =
            parse(&["--port=0", "--offer_timeout=500ms", "--weights=a=2,b/c=0.5", "--roles=a,b"])
                .unwrap()
                .validate()
                .unwrap();
        assert_eq!(settings.flags.offer_timeout, Some(Duration::from_millis(500)));
        assert_eq!(settings.weights, vec![("a".to_string(), 2.0), ("b/c".to_string(), 0.5)]);
        assert_eq!(settings.roles, Some(vec!["a".to_string(), "b".to_string()]));
        assert!(
            settings.flags.list().contains(&("offer_timeout".to_string(), "500ms".to_string()))
        );
    }

    /// Bad values and impossible combinations are errors that say what is wrong; an HA
    /// group and the raft registry are accepted.
    #[test]
    fn refusals() {
        assert!(parse(&["--allocation_interval=1parsec"]).is_err());
        assert!(parse(&["--no_such_flag=1"]).is_err());
        let raft = parse(&["--registry=raft"]).unwrap().validate().unwrap_err();
        assert!(raft.to_string().contains("needs --work_dir"), "{raft}");
        let group =
            parse(&["--masters=127.0.0.1:5050,127.0.0.1:5051"]).unwrap().validate().unwrap_err();
        assert!(group.to_string().contains("needs --registry=raft"), "{group}");
        let outsider = parse(&["--work_dir=/tmp/x", "--masters=127.0.0.1:6050,127.0.0.1:6051"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(outsider.to_string().contains("must include"), "{outsider}");
        assert!(parse(&["--masters=nonsense", "--work_dir=/tmp/x"]).unwrap().validate().is_err());
        let ha =
            parse(&["--work_dir=/tmp/x", "--masters=127.0.0.1:5050,127.0.0.1:5051,127.0.0.1:5052"])
                .unwrap()
                .validate()
                .unwrap();
        assert_eq!(ha.registry, Registry::Raft);
        assert_eq!(ha.masters.len(), 3);
        assert!(parse(&["--registry=in_memory", "--work_dir=/tmp/x"]).unwrap().validate().is_ok());
    }

    /// HTTP authentication is refused at start without credentials, without
    /// `--http_framework_authenticators`, or with an authenticator other than `basic`;
    /// with a credentials file every realm asked for is on.
    #[test]
    fn http_authentication_flags() {
        use mesos_security::http_auth::{MASTER_READONLY, MASTER_READWRITE, MASTER_SCHEDULER};
        let error = parse(&["--authenticate_http_readonly"]).unwrap().validate().unwrap_err();
        assert!(error.to_string().contains("No credentials provided"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(&path, "ops s3cret\n").unwrap();
        let credentials = format!("--credentials={}", path.display());
        let error = parse(&[&credentials, "--authenticate_http_frameworks"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(error.to_string().contains("Missing `--http_framework_authenticators`"), "{error}");
        let error =
            parse(&[&credentials, "--authenticate_http_readwrite", "--http_authenticators=jwt"])
                .unwrap()
                .validate()
                .unwrap_err();
        assert!(error.to_string().contains("'jwt'"), "{error}");
        let settings = parse(&[
            &credentials,
            "--authenticate_http_readonly=true",
            "--authenticate_http_readwrite",
            "--authenticate_http_frameworks",
            "--http_framework_authenticators=basic",
        ])
        .unwrap()
        .validate()
        .unwrap();
        for realm in [MASTER_READONLY, MASTER_READWRITE, MASTER_SCHEDULER] {
            assert!(settings.http_authenticator.is_enabled(realm), "{realm}");
        }
        let off = parse(&[&credentials, "--authenticate_http_readonly=false"]).unwrap().validate();
        assert!(off.unwrap().http_authenticator.is_empty());
    }

    /// `--acls` takes Mesos's ACLs JSON inline or from a file; malformed ACLs are refused
    /// at start with the reason.
    #[test]
    fn acls() {
        let json = r#"{"permissive":false,"run_tasks":[{"principals":{"type":"ANY"},"users":{"values":["c"]}}]}"#;
        let settings = parse(&[&format!("--acls={json}")]).unwrap().validate().unwrap();
        let authorizer = settings.authorizer.expect("--acls gives an authorizer");
        assert!(!authorizer.acls().permissive());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acls.json");
        std::fs::write(&path, json).unwrap();
        let from_file =
            parse(&[&format!("--acls=file://{}", path.display())]).unwrap().validate().unwrap();
        assert!(from_file.authorizer.is_some());
        assert!(parse(&[]).unwrap().validate().unwrap().authorizer.is_none());
        for bad in [
            "{nope",
            r#"{"run_tasks":[{"principals":{"type":"ANY"}}]}"#,
            r#"{"get_endpoints":[{"principals":{"type":"ANY"},"paths":{"values":["/state"]}}]}"#,
            "file:///nonexistent/acls.json",
        ] {
            let error = parse(&[&format!("--acls={bad}")]).unwrap().validate().unwrap_err();
            assert!(error.to_string().starts_with("invalid --acls="), "{error}");
        }
    }

    /// The authentication flags: `--authenticate` is the old name of
    /// `--authenticate_frameworks`; requiring authentication needs `--credentials`,
    /// which is read (JSON or text); only `crammd5` is an authenticator.
    #[test]
    fn authentication_flags() {
        let dir = std::env::temp_dir().join(format!("master-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials");
        std::fs::write(&path, r#"{"credentials":[{"principal":"ops","secret":"s3cret"}]}"#)
            .unwrap();
        let credentials = format!("--credentials={}", path.display());
        let settings = parse(&["--authenticate", "--authenticate_agents", &credentials])
            .unwrap()
            .validate()
            .unwrap();
        assert!(settings.authentication.authenticate_frameworks);
        assert!(settings.authentication.authenticate_agents);
        let loaded = settings.authentication.credentials.unwrap();
        assert_eq!(loaded.secret("ops"), Some("s3cret"));
        let missing = parse(&["--authenticate_frameworks"]).unwrap().validate().unwrap_err();
        assert!(missing.to_string().contains("need --credentials"), "{missing}");
        assert!(parse(&["--authenticators=kerberos"]).unwrap().validate().is_err());
        let off = parse(&[]).unwrap().validate().unwrap();
        assert!(!off.authentication.authenticate_frameworks);
        assert!(off.authentication.credentials.is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
