//! `mesos-execute`: launch one command task (or `--instances=N`) on a Mesos cluster,
//! print every status update, and exit 0 only if every task finished.
//!
//! ```text
//! mesos-execute --master=127.0.0.1:5050 --name=hi --command='echo hi'
//! ```

use std::process::ExitCode;

use clap::Parser;
use mesos_framework::execute::{ExecuteScheduler, ExecuteSpec};
use mesos_framework::scheduler::{SchedulerConfig, framework_info, spawn_scheduler};

/// Flags, also read from `MESOS_<FLAG>` (the command line wins). Mesos: execute.cpp.
#[derive(Parser, Debug)]
#[command(
    name = "mesos-execute",
    version,
    about = "Launch a command task on a Mesos cluster and follow it"
)]
struct Flags {
    /// `ip:port` of the master, or a comma list of every master of the HA group.
    #[arg(long, env = "MESOS_MASTER")]
    master: String,
    /// Name of the task (its id, with `-N` appended when there are several).
    #[arg(long, env = "MESOS_NAME")]
    name: String,
    /// Shell command to run.
    #[arg(long, env = "MESOS_COMMAND")]
    command: String,
    /// Resources of each task, in `--resources` syntax.
    #[arg(long, env = "MESOS_RESOURCES", default_value = "cpus:0.1;mem:32")]
    resources: String,
    /// How many copies of the task to run.
    #[arg(long, env = "MESOS_INSTANCES", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    instances: u32,
    /// Role to subscribe with.
    #[arg(long, env = "MESOS_ROLE", default_value = "*")]
    role: String,
    /// Ask agents to checkpoint the task, so it survives an agent restart.
    #[arg(long, env = "MESOS_CHECKPOINT", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    checkpoint: bool,
    /// Name of the framework.
    #[arg(
        long = "framework_name",
        env = "MESOS_FRAMEWORK_NAME",
        default_value = "mesos-execute instance"
    )]
    framework_name: String,
    /// The principal to authenticate the framework as (CRAM-MD5, with --secret); also
    /// set as the framework's principal.
    #[arg(long, env = "MESOS_PRINCIPAL")]
    principal: Option<String>,
    /// The secret of --principal.
    #[arg(long, env = "MESOS_SECRET", requires = "principal")]
    secret: Option<String>,
}

/// The workspace's global allocator (docs/libprocess.md, "The allocator").
#[global_allocator]
static ALLOCATOR: libprocess::Allocator = libprocess::Allocator;

fn main() -> ExitCode {
    let flags = match Flags::try_parse() {
        Ok(flags) => flags,
        Err(error) => {
            let code = if error.use_stderr() { ExitCode::FAILURE } else { ExitCode::SUCCESS };
            let _ = error.print();
            return code;
        }
    };
    mesos_framework::runtime::init_logging();
    match actix_rt::System::new().block_on(run(flags)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("mesos-execute: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(flags: Flags) -> anyhow::Result<bool> {
    let resources = mesos_framework::tasks::parse_resources(&flags.resources)
        .map_err(|e| anyhow::anyhow!("bad --resources '{}': {e}", flags.resources))?;
    let masters = mesos_framework::masters::parse_masters(&flags.master)?;
    let mut framework = framework_info(&flags.framework_name);
    #[allow(deprecated)]
    {
        framework.role = Some(flags.role.clone());
    }
    framework.checkpoint = Some(flags.checkpoint);
    framework.principal = flags.principal.clone();
    // Mesos's mesos-execute authenticates when given a principal and a secret.
    let credential = match (flags.principal, flags.secret) {
        (Some(principal), Some(secret)) => Some(mesos_security::Credential { principal, secret }),
        _ => None,
    };
    let spec = ExecuteSpec {
        name: flags.name,
        command: flags.command,
        resources,
        instances: flags.instances,
    };
    let report = Box::new(|line: &str| say(line));
    let node = mesos_framework::runtime::start_node()?;
    let mut config = SchedulerConfig::new(framework, masters);
    config.seed = u64::from(std::process::id());
    config.credential = credential;
    let mut handle = spawn_scheduler(&node, config, ExecuteScheduler::new(spec, report))?;
    let (scheduler, status) = handle.join().await?;
    node.shutdown().await;
    let succeeded = scheduler.succeeded();
    for (task, state) in scheduler.ended() {
        say(&format!("Task '{task}' ended in {}", state.as_str_name()));
    }
    if !succeeded {
        say(&format!("Not every task finished (driver: {status:?})"));
    }
    Ok(succeeded)
}

/// Prints a line of the report. A closed stdout (the reader went away) must not stop the
/// scheduler, whose tasks are still running: the line is dropped.
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "{line}");
}
