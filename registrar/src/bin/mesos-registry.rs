//! `mesos-registry`: back up and restore a master's replicated registry.
//!
//! ```text
//! mesos-registry dump --work_dir=/var/lib/mesos > registry.json
//! mesos-registry restore --work_dir=/var/lib/mesos --masters=ip:port,... < registry.json
//! ```
//!
//! Run it while the master that owns `--work_dir` is stopped (sled allows one process per
//! database). `dump` prints the committed registry; `restore` replaces the raft log under
//! `<work_dir>/raft` with a snapshot of the file's registry (the same file on every
//! member, with the whole group stopped).

/// The workspace's global allocator (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() -> std::process::ExitCode {
    mesos_registrar::cli::main(std::env::args_os())
}
