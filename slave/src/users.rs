//! Running executors and their tasks as another user (`--switch_user`).
//!
//! Mesos: slave.cpp `Framework::addExecutor` (the user is the executor command's
//! `user`, else the framework's; with `--switch_user`), paths.cpp
//! `createExecutorDirectory` (the sandbox is chowned to the user, and a user that
//! cannot be looked up drops the tasks before any container starts: "Failed to
//! chown directory to '<user>': No such user '<user>'"),
//! the launcher's `os::su` (initgroups, setgid, setuid before exec), and the fetcher,
//! which runs as the user.
//!
//! Only an agent running as root switches (any other agent could not; it runs
//! everything as itself, as it does with `--switch_user=false`).

use std::ffi::CString;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid, User};

/// A user to run as, looked up on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// The user's name.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    /// Every group it belongs to (`getgrouplist`), primary included.
    pub groups: Vec<u32>,
    /// Its home folder (`HOME` of the executor).
    pub home: PathBuf,
}

impl RunAs {
    /// Looks `name` up; the error is Mesos's.
    pub fn lookup(name: &str) -> Result<RunAs, String> {
        // Mesos: stout `os::chown(user, ...)`, whose `getpwnam` errors these are.
        let user = User::from_name(name)
            .map_err(|e| format!("Failed to get user information for '{name}': {e}"))?
            .ok_or_else(|| format!("No such user '{name}'"))?;
        let groups = CString::new(name)
            .ok()
            .and_then(|c| nix::unistd::getgrouplist(&c, user.gid).ok())
            .unwrap_or_else(|| vec![user.gid]);
        Ok(RunAs {
            name: name.to_string(),
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            groups: groups.into_iter().map(Gid::as_raw).collect(),
            home: user.dir,
        })
    }
}

/// Whether executors switch to their user: `--switch_user` and the agent is root.
pub fn switching(switch_user: bool) -> bool {
    switch_user && Uid::effective().is_root()
}

/// The user a launch runs as: the command's `user` (already the framework's when the
/// command has none), looked up, when switching; `Ok(None)` runs as the agent.
pub fn run_as(user: Option<&str>, switch_user: bool) -> Result<Option<RunAs>, String> {
    match user.filter(|u| !u.is_empty()) {
        Some(name) if switching(switch_user) => RunAs::lookup(name)
            .map(Some)
            .map_err(|e| format!("Failed to chown directory to '{name}': {e}")),
        _ => Ok(None),
    }
}

/// Gives `path` and everything below it to `user` (symlinks themselves, never their
/// targets). Mesos: stout `os::chown` (recursive, no following).
pub fn chown_tree(path: &Path, user: &RunAs) -> Result<(), String> {
    let (uid, gid) = (Some(user.uid), Some(user.gid));
    let fail = |p: &Path, e: std::io::Error| format!("cannot chown '{}': {e}", p.display());
    std::os::unix::fs::lchown(path, uid, gid).map_err(|e| fail(path, e))?;
    let metadata = std::fs::symlink_metadata(path).map_err(|e| fail(path, e))?;
    if metadata.is_dir() {
        for entry in std::fs::read_dir(path).map_err(|e| fail(path, e))? {
            let entry = entry.map_err(|e| fail(path, e))?;
            chown_tree(&entry.path(), user)?;
        }
    }
    Ok(())
}

/// Opens a file for reading with the file-system identity of `user` on this thread
/// (Linux's per-thread fsuid/fsgid), so that a `file://` URI is read with the task's
/// permissions, as Mesos's fetcher running as the user does; the agent's identity
/// is restored before returning. Supplementary groups stay the agent's.
pub fn open_as(path: &Path, user: Option<&RunAs>) -> std::io::Result<std::fs::File> {
    let Some(user) = user else { return std::fs::File::open(path) };
    let old_gid = nix::unistd::setfsgid(Gid::from_raw(user.gid));
    let old_uid = nix::unistd::setfsuid(Uid::from_raw(user.uid));
    let opened = std::fs::File::open(path);
    nix::unistd::setfsuid(old_uid);
    nix::unistd::setfsgid(old_gid);
    opened
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A user that does not exist fails with Mesos's message; root is found; without
    /// a user, or without switching, nothing switches.
    #[test]
    fn lookup_and_decision() {
        let error = run_as(Some("no-such-user-mesos-rs"), true);
        if switching(true) {
            let error = error.unwrap_err();
            assert!(error.starts_with("Failed to chown directory to 'no-such-user-mesos-rs'"));
            assert!(error.ends_with("No such user 'no-such-user-mesos-rs'"), "{error}");
        }
        let root = RunAs::lookup("root").expect("root exists");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups.contains(&0));
        assert_eq!(run_as(None, true), Ok(None));
        assert_eq!(run_as(Some("root"), false), Ok(None));
    }
}
