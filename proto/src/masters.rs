//! The lists of masters programs are given: `--master` (whom a scheduler,
//! executor driver or agent talks to) and `--masters` (the HA group itself).
//!
//! Mesos finds the leader through ZooKeeper; we have none, so every client is
//! given the masters themselves, and this is the one parser of that list.
//! Every program that takes it (`mesos-agent`, `mesos-execute`, the SDK, the
//! example frameworks) reads it the same way.

use std::net::{SocketAddr, ToSocketAddrs};

use libprocess::Pid;

/// Why a list of masters was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MastersError {
    /// The list named no master at all.
    #[error("no master given (expected `ip:port` or a comma list of them)")]
    NoMasters,
    /// One entry is not `ip:port`, `host:port` or `master@ip:port`.
    #[error("bad master address '{input}': {reason}")]
    BadMaster {
        /// The entry as given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
}

/// Parses `--master`: `ip:port`, `host:port` or `master@ip:port` (an
/// `http://` in front and a `/` behind are allowed), comma separated, at least
/// one. Host names are resolved once, here, to their first IPv4 address;
/// repeated masters are listed once.
pub fn parse_masters(text: &str) -> Result<Vec<Pid>, MastersError> {
    let mut masters = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let entry = entry.strip_prefix("http://").unwrap_or(entry).trim_end_matches('/');
        let bad = |reason: &str| MastersError::BadMaster {
            input: entry.to_string(),
            reason: reason.to_string(),
        };
        let (id, address) = match entry.split_once('@') {
            Some((id, address)) if !id.is_empty() => (id, address),
            Some(_) => return Err(bad("empty process id before '@'")),
            None => ("master", entry),
        };
        let address: SocketAddr = match libprocess::pid::parse_address(address) {
            Some(address) => address,
            None => address
                .to_socket_addrs()
                .map_err(|e| bad(&e.to_string()))?
                .find(SocketAddr::is_ipv4)
                .ok_or_else(|| bad("no IPv4 address"))?,
        };
        let pid = Pid::new(id, address);
        if !masters.contains(&pid) {
            masters.push(pid);
        }
    }
    if masters.is_empty() {
        return Err(MastersError::NoMasters);
    }
    Ok(masters)
}

/// Parses `--masters`, the HA group: `ip:port`, comma separated, repeated
/// addresses listed once. Members are named by address only (their raft slot
/// is their place in the list), so no host names or process ids here. An
/// empty list is no members; what that means is the caller's choice.
pub fn parse_master_addresses(text: &str) -> Result<Vec<SocketAddr>, MastersError> {
    let mut members = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let member: SocketAddr = entry.parse().map_err(|_| MastersError::BadMaster {
            input: entry.to_string(),
            reason: "not an ip:port".to_string(),
        })?;
        if !members.contains(&member) {
            members.push(member);
        }
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves `--master` accepts `ip:port`, `localhost:port` and full pids, drops
    /// duplicates, and refuses empty or malformed lists with a precise error.
    #[test]
    fn parse_master_lists() {
        let masters = parse_masters(
            "10.0.0.1:5050, master@10.0.0.2:5050,localhost:5051,10.0.0.1:5050,http://10.0.0.3:5050/",
        )
        .unwrap();
        let text: Vec<String> = masters.iter().map(Pid::to_string).collect();
        assert_eq!(
            text,
            [
                "master@10.0.0.1:5050",
                "master@10.0.0.2:5050",
                "master@127.0.0.1:5051",
                "master@10.0.0.3:5050"
            ]
        );
        assert_eq!(parse_masters(" , "), Err(MastersError::NoMasters));
        assert_eq!(parse_masters(""), Err(MastersError::NoMasters));
        for bad in ["10.0.0.1", "@10.0.0.1:5050", "zk://x/mesos"] {
            assert!(matches!(parse_masters(bad), Err(MastersError::BadMaster { .. })), "{bad}");
        }
    }

    /// Proves `--masters` takes ip:port only, once each, and an empty list is empty.
    #[test]
    fn parse_group_members() {
        let members =
            parse_master_addresses("127.0.0.1:5050, 127.0.0.1:5051,127.0.0.1:5050").unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[1].port(), 5051);
        assert_eq!(parse_master_addresses(" "), Ok(vec![]));
        assert!(parse_master_addresses("localhost:5050").is_err());
        assert!(parse_master_addresses("master@127.0.0.1:5050").is_err());
    }
}
