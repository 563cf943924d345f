//! `ping`: two executors play ping-pong through this scheduler.
//!
//! ```text
//! ping --master=127.0.0.1:5050 --rounds=10
//! ```

use std::path::PathBuf;

use clap::Parser;
use mesos_examples::flags::{ClusterFlags, executor_path, parse};
use mesos_examples::ping::Ping;
use mesos_framework::scheduler::spawn_scheduler;

/// Flags of `ping`.
#[derive(Parser, Debug)]
#[command(name = "ping", about = "Two executors exchange messages through the framework")]
struct Flags {
    #[command(flatten)]
    cluster: ClusterFlags,
    /// Hits before the game ends.
    #[arg(long, env = "MESOS_ROUNDS", default_value_t = 10)]
    rounds: u64,
    /// The executor binary (default: `ping-executor` next to this binary).
    #[arg(long, env = "MESOS_EXECUTOR")]
    executor: Option<PathBuf>,
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let flags: Flags = parse();
    mesos_framework::runtime::init_logging();
    let executor = executor_path(flags.executor.clone(), "ping-executor")?;
    actix_rt::System::new().block_on(async move {
        let node = mesos_framework::runtime::start_node()?;
        let ping = Ping::new(
            flags.rounds,
            flags.cluster.task_resources()?,
            &executor.display().to_string(),
        );
        let mut handle = spawn_scheduler(&node, flags.cluster.config("ping")?, ping)?;
        let (ping, _) = handle.join().await?;
        node.shutdown().await;
        let done = ping.hits.last().is_some_and(|(_, n)| *n >= flags.rounds);
        Ok(if done { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE })
    })
}
