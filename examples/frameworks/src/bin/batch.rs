//! `batch`: estimate pi with Monte-Carlo tasks run by the `pi-executor` binary.
//!
//! ```text
//! batch --master=127.0.0.1:5050 --tasks=4 --samples=1000000
//! ```

use std::path::PathBuf;

use clap::Parser;
use mesos_examples::batch::Batch;
use mesos_examples::flags::{ClusterFlags, executor_path, parse};
use mesos_framework::scheduler::spawn_scheduler;

/// Flags of `batch`.
#[derive(Parser, Debug)]
#[command(name = "batch", about = "Estimate pi with a batch of Monte-Carlo tasks")]
struct Flags {
    #[command(flatten)]
    cluster: ClusterFlags,
    /// How many tasks the job is split into.
    #[arg(long, env = "MESOS_TASKS", default_value_t = 4)]
    tasks: u64,
    /// Darts thrown per task.
    #[arg(long, env = "MESOS_SAMPLES", default_value_t = 1_000_000)]
    samples: u64,
    /// The executor binary (default: `pi-executor` next to this binary).
    #[arg(long, env = "MESOS_EXECUTOR")]
    executor: Option<PathBuf>,
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let flags: Flags = parse();
    mesos_framework::runtime::init_logging();
    let executor = executor_path(flags.executor.clone(), "pi-executor")?;
    actix_rt::System::new().block_on(async move {
        let node = mesos_framework::runtime::start_node()?;
        let batch = Batch::new(
            flags.tasks,
            flags.samples,
            flags.cluster.task_resources()?,
            &executor.display().to_string(),
        );
        let mut handle = spawn_scheduler(&node, flags.cluster.config("batch")?, batch)?;
        let (batch, _) = handle.join().await?;
        node.shutdown().await;
        Ok(if batch.pi.is_some() {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::FAILURE
        })
    })
}
