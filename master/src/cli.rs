//! The `mesos-master` program, callable from other binaries (`mesos-local` runs every
//! role from one executable).
//!
//! Parses the flags (command line, then `MESOS_*` environment), starts a libprocess
//! node on `--ip:--port` (or on the listening socket `--listen_fd` names), spawns the allocator and the master on it, prints
//! `mesos-master: master@ip:port (id ...)` once listening (with the real port when
//! `--port=0`), and runs until SIGINT or SIGTERM, then shuts the node down.

use std::io::Write;
use std::process::ExitCode;

use crate::flags::Flags;
use crate::launch::spawn_master;
use clap::Parser;
use clap::error::ErrorKind;
use libprocess::Node;

/// Runs `mesos-master` with these arguments (the first is the program name) until
/// SIGINT or SIGTERM.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let flags = match Flags::try_parse_from(args) {
        Ok(flags) => flags,
        Err(error) => {
            let help = matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
            // Printing to a closed stdout/stderr is not worth a panic.
            let _ = error.print();
            return if help { ExitCode::SUCCESS } else { ExitCode::from(1) };
        }
    };
    let mut flags = flags;
    let listener = match flags.listen_fd.map(libprocess::inherit::inherited_listener) {
        None => None,
        Some(Ok(listener)) => Some(listener),
        Some(Err(error)) => return fail(&format!("--listen_fd: {error}")),
    };
    if let Some(address) = listener.as_ref().and_then(|l| l.local_addr().ok()) {
        (flags.ip, flags.port) = (address.ip(), address.port());
    }
    let settings = match flags.validate() {
        Ok(settings) => settings,
        Err(error) => return fail(&error.to_string()),
    };
    let logging = libprocess::logging::LogOptions {
        program: "mesos-master".into(),
        log_dir: settings.flags.log_dir.clone(),
        level: settings.flags.logging_level,
    };
    let log_file = match libprocess::logging::init(&logging) {
        Ok(log_file) => log_file,
        Err(error) => return fail(&format!("cannot write log files in --log_dir: {error}")),
    };

    let system = actix_rt::System::new();
    system.block_on(async move {
        let builder = Node::builder(settings.address);
        let builder = match listener {
            Some(listener) => builder.listener(listener),
            None => builder,
        };
        let node = match builder.start() {
            Ok(node) => node,
            Err(error) => return fail(&format!("cannot listen on {}: {error}", settings.address)),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let mut options = settings.master_options(id.clone());
        options.seed = rand_seed(&id);
        options.registry = settings.registry_mode(node.address());
        options.log_file = log_file;
        let master = match spawn_master(&node, options) {
            Ok(master) => master,
            Err(error) => return fail(&format!("cannot start the master: {error}")),
        };
        // Say we are up only once the master has run `initialize` (its routes are
        // installed): a dispatch is handled after it. Before that, a request for a route
        // of the default process (`/health`) would find none and get a 404.
        let _ = master.master.dispatch(|_, _| ()).await;
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "mesos-master: {} (id {id})", master.master.pid());
        let _ = stdout.flush();
        let signal = wait_for_signal().await;
        tracing::info!(signal, "stopping");
        node.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// A seed for the allocator's shuffle, from this run's unique id (reproducible runs
/// pass their own seed through the library instead).
fn rand_seed(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Waits for SIGINT or SIGTERM and names the one that came.
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        },
        Err(error) => {
            tracing::warn!(%error, "cannot watch SIGTERM; stopping on SIGINT only");
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("mesos-master: {message}");
    ExitCode::from(1)
}
