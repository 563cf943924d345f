//! The `mesos-registry` program as a function (`mesos-local` runs it too).
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

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::json::{from_registry_json, to_registry_json};
use crate::storage::restore;
use crate::{LogBackend, RaftRegistrarConfig, SledBackend, raft_peers};
use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

/// Back up and restore a master's replicated registry.
#[derive(Parser)]
#[command(name = "mesos-registry", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the committed registry as JSON.
    Dump {
        /// The master's --work_dir.
        #[arg(long = "work_dir")]
        work_dir: PathBuf,
    },
    /// Replace the registry with the JSON read from stdin.
    Restore {
        /// The master's --work_dir.
        #[arg(long = "work_dir")]
        work_dir: PathBuf,
        /// Every member of the HA group (ip:port,...), as given to mesos-master.
        #[arg(long = "masters")]
        masters: String,
    },
}

/// Runs `mesos-registry` with these arguments (the first is the program name).
/// `--help` and `--version` print to stdout and exit 0; a bad command line or a failed
/// dump/restore prints one `mesos-registry: ...` line to stderr and exits 1.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // clap returns `--help`/`--version` as an "error" meant for stdout.
            let code = if error.use_stderr() { 1 } else { 0 };
            // Printing can only fail if the stream is closed; the exit code still tells.
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mesos-registry: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// Runs one parsed command.
fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Dump { work_dir } => {
            if !work_dir.join("raft").exists() {
                bail!("no registry under {}", work_dir.join("raft").display());
            }
            let mut backend = SledBackend::open(&work_dir)?;
            let persisted = backend.load()?;
            let (state, applied) = persisted.committed_state()?;
            let mut json = to_registry_json(&state);
            json["raft"] = serde_json::json!({ "applied_index": applied });
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Command::Restore { work_dir, masters } => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("read stdin")?;
            let json: serde_json::Value =
                serde_json::from_str(&text).context("parse the registry JSON")?;
            let state = from_registry_json(&json)?;
            let placeholder = "0.0.0.0:0".parse().context("placeholder address")?;
            let members = RaftRegistrarConfig::parse_masters(Some(&masters), placeholder)?;
            let voters: Vec<u64> = raft_peers(&members).iter().map(|(id, _)| *id).collect();
            let mut backend = SledBackend::open(&work_dir)?;
            restore(&mut backend, &state, &voters)?;
            eprintln!(
                "restored {} agents, {} frameworks into {}",
                state.admitted_agents().len(),
                state.frameworks().len(),
                backend.path().display()
            );
        }
    }
    Ok(())
}
