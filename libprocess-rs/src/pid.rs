//! Process identifiers: `id@ip:port`, exactly as libprocess prints and parses them.
//!
//! Mesos: 3rdparty/libprocess/include/process/pid.hpp (`UPID`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

/// The address of a process: its id on a node plus the node's socket address.
///
/// Displays as `id@ip:port` (`master@127.0.0.1:5050`, `slave(1)@10.0.0.2:5051`) and
/// parses the same form. Cloning is cheap (the id is reference counted).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid {
    id: Arc<str>,
    address: SocketAddr,
}

impl Pid {
    /// A pid for process `id` on the node listening at `address`.
    pub fn new(id: impl Into<Arc<str>>, address: SocketAddr) -> Pid {
        Pid { id: id.into(), address }
    }

    /// The "nobody" pid libprocess uses for messages sent from outside any process:
    /// an empty id at `0.0.0.0:0`.
    pub fn none() -> Pid {
        Pid::new("", SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
    }

    /// The process id, e.g. `master` or `slave(1)`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id as a shared string (no copy).
    pub fn id_arc(&self) -> &Arc<str> {
        &self.id
    }

    /// The node address (`ip:port`).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// True for [`Pid::none`]-like pids that name no process.
    pub fn is_none(&self) -> bool {
        self.id.is_empty() && self.address.port() == 0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.address)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a string is not a pid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PidParseError {
    /// There is no `@` between the id and the address.
    #[error("'{input}' is not a pid: expected id@ip:port")]
    MissingAt {
        /// The rejected text.
        input: String,
    },
    /// The part after `@` is not `ip:port`.
    #[error("'{input}' is not a pid: '{address}' is not ip:port")]
    BadAddress {
        /// The rejected text.
        input: String,
        /// The address part.
        address: String,
    },
    /// The id contains characters that cannot appear in a URL path segment.
    #[error("'{input}' is not a pid: the id contains '/' or whitespace")]
    BadId {
        /// The rejected text.
        input: String,
    },
}

impl FromStr for Pid {
    type Err = PidParseError;

    /// Parses `id@ip:port`. As in libprocess the id ends at the first `@`; `localhost`
    /// is accepted for `127.0.0.1` (no other name resolution happens here).
    fn from_str(s: &str) -> Result<Pid, PidParseError> {
        let s = s.trim();
        let Some((id, address)) = s.split_once('@') else {
            return Err(PidParseError::MissingAt { input: s.to_string() });
        };
        if id.contains(['/', ' ', '\t', '\r', '\n']) {
            return Err(PidParseError::BadId { input: s.to_string() });
        }
        let address = parse_address(address).ok_or_else(|| PidParseError::BadAddress {
            input: s.to_string(),
            address: address.to_string(),
        })?;
        Ok(Pid::new(id, address))
    }
}

/// Parses `ip:port` (also `[v6]:port` and `localhost:port`).
pub fn parse_address(s: &str) -> Option<SocketAddr> {
    if let Ok(address) = s.parse::<SocketAddr>() {
        return Some(address);
    }
    let (host, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    (host == "localhost").then(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pids print and parse exactly as libprocess's UPID does.
    #[test]
    fn display_and_parse_round_trip() {
        for text in
            ["master@127.0.0.1:5050", "slave(1)@10.0.0.2:5051", "(7)@[::1]:80", "@0.0.0.0:0"]
        {
            let pid: Pid = text.parse().unwrap();
            assert_eq!(pid.to_string(), text);
        }
        let pid: Pid = "scheduler-1@localhost:9000".parse().unwrap();
        assert_eq!(pid.to_string(), "scheduler-1@127.0.0.1:9000");
        assert_eq!(pid.id(), "scheduler-1");
    }

    /// Malformed pids are errors that say what is wrong.
    #[test]
    fn malformed_pids_are_errors() {
        assert!(matches!("master".parse::<Pid>(), Err(PidParseError::MissingAt { .. })));
        assert!(matches!("master@host".parse::<Pid>(), Err(PidParseError::BadAddress { .. })));
        assert!(matches!(
            "master@1.2.3.4:99999".parse::<Pid>(),
            Err(PidParseError::BadAddress { .. })
        ));
        assert!(matches!("a/b@1.2.3.4:1".parse::<Pid>(), Err(PidParseError::BadId { .. })));
        assert!(Pid::none().is_none());
    }
}
