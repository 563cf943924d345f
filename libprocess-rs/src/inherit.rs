//! Handing a listening socket to a child process, and taking it over in the child.
//!
//! A parent that must know its children's ports before they start (`mesos-local`
//! telling three masters where the others listen, a test that restarts a master on its
//! port) binds the listeners itself, on ports the OS assigns, and hands each child its
//! socket: the child inherits the descriptor, is told its number (`--listen_fd=N`), and
//! starts its node on it ([`crate::NodeBuilder::listener`]). Nothing binds a port,
//! releases it and binds it again, so no other process can take it in between. This is
//! systemd's socket activation (`sd_listen_fds(3)`) with the descriptor named by a flag.
//!
//! These are the crate's only `unsafe` blocks: a descriptor number that crosses `exec`
//! is outside what Rust's ownership can describe.

use std::collections::HashSet;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::socket::{SockType, getsockopt, sockopt};
use parking_lot::Mutex;

/// Arranges for the child that `command` spawns to inherit `listener` under the same
/// descriptor number, and returns that number (for the child's `--listen_fd`).
///
/// `listener` must stay open until the child is spawned. The parent may keep it after:
/// the port then stays reserved while the child is down, and a restarted child is handed
/// the same socket again. Only this child inherits it: the descriptor keeps its
/// close-on-exec flag in the parent, so children that other threads spawn meanwhile do
/// not get it.
#[allow(unsafe_code)]
pub fn pass_listener(command: &mut Command, listener: &TcpListener) -> RawFd {
    let fd = listener.as_raw_fd();
    let keep_across_exec = move || -> io::Result<()> {
        // SAFETY: `fd` is open in the parent while it spawns (the caller holds the
        // listener until `spawn` returns), so it is open in the forked child, which
        // runs nothing else before `exec`.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::empty()))?;
        Ok(())
    };
    // SAFETY: the closure runs in the child between fork and exec; it calls only
    // fcntl(2), which is async-signal-safe, and allocates nothing.
    unsafe { command.pre_exec(keep_across_exec) };
    fd
}

/// Descriptors taken over already: a second take-over would give two owners one socket.
static TAKEN: Mutex<Option<HashSet<RawFd>>> = Mutex::new(None);

/// Takes over the listening TCP socket this process inherited as descriptor `fd` (see
/// [`pass_listener`]). It is marked close-on-exec again, so the processes this one
/// starts (an agent's executors) do not inherit it. Fails, leaving the descriptor alone,
/// if `fd` is not an open listening TCP socket or was taken over already.
#[allow(unsafe_code)]
pub fn inherited_listener(fd: RawFd) -> io::Result<TcpListener> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("fd {fd} {why}"));
    let mut taken = TAKEN.lock();
    let taken = taken.get_or_insert_with(HashSet::new);
    if fd < 0 || taken.contains(&fd) {
        return Err(invalid("is not a descriptor this process inherited"));
    }
    // Linux names an open socket descriptor `socket:[inode]`; a closed one has no entry.
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map_err(|_| invalid("is not open (was it passed with the flag?)"))?;
    if !target.to_string_lossy().starts_with("socket:") {
        return Err(invalid("is not a socket"));
    }
    // SAFETY: the descriptor is open (checked just above) and nothing else in this
    // process knows its number, so nothing closes it while it is borrowed.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    if getsockopt(&borrowed, sockopt::SockType)? != SockType::Stream {
        return Err(invalid("is not a TCP socket"));
    }
    if !getsockopt(&borrowed, sockopt::AcceptConn)? {
        return Err(invalid("is a socket that does not listen"));
    }
    fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    taken.insert(fd);
    // SAFETY: an open socket descriptor (checked above) that nothing else in this
    // process owns: it was inherited, and `TAKEN` makes this the only take-over.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let listener = TcpListener::from(owned);
    listener.local_addr()?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A descriptor that is not a listening socket is refused and left open.
    #[test]
    fn refuses_what_is_not_a_listening_socket() {
        let file = std::fs::File::open("/proc/self/stat").expect("a file");
        let error = inherited_listener(file.as_raw_fd()).expect_err("a file is no socket");
        assert!(error.to_string().contains("not a socket"), "{error}");
        let stream = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
        let error = inherited_listener(stream.as_raw_fd()).expect_err("UDP is not TCP");
        assert!(error.to_string().contains("not a TCP socket"), "{error}");
        assert!(inherited_listener(-1).is_err());
        assert!(inherited_listener(100_000).is_err());
    }

    /// The spawned child, and only it, has the listener open under the same number.
    #[test]
    fn the_child_inherits_the_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut command = Command::new("readlink");
        let fd = pass_listener(&mut command, &listener);
        let out = command.arg(format!("/proc/self/fd/{fd}")).output().expect("run readlink");
        let target = String::from_utf8_lossy(&out.stdout);
        assert!(target.starts_with("socket:"), "the child sees fd {fd} as {target:?}");
        let out = Command::new("readlink")
            .arg(format!("/proc/self/fd/{fd}"))
            .output()
            .expect("run readlink");
        assert!(!out.status.success(), "another child does not inherit it");
    }
}
