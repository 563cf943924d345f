//! The `mesos-registry` binary's command line, run as a real process.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mesos-registry"))
        .args(args)
        .output()
        .expect("the test can start the binary cargo built for it")
}

/// `--help` prints the usage (both subcommands) to stdout and exits 0, with no `Error:`
/// or backtrace; `--version` likewise.
#[test]
fn help_and_version_exit_zero() {
    let help = run(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("dump") && text.contains("restore"), "{text}");
    assert!(help.stderr.is_empty(), "{}", String::from_utf8_lossy(&help.stderr));
    let version = run(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).contains("mesos-registry"));
}

/// A bad command line and a failed dump exit 1 with one clear message on stderr.
#[test]
fn errors_exit_one_with_a_message() {
    let unknown = run(&["--bogus"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--bogus"));
    let missing = run(&["dump", "--work_dir=/nonexistent/mesos-registry-test"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.starts_with("mesos-registry: no registry under"), "{stderr}");
    assert!(!stderr.contains("Backtrace"), "{stderr}");
}
