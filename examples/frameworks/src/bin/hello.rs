//! `hello`: run N command tasks and exit when all finished (0 only if all finished).
//!
//! ```text
//! hello --master=127.0.0.1:5050 --tasks=3 --command='echo hello from $MESOS_TASK_ID'
//! ```

use clap::Parser;
use mesos_examples::flags::{ClusterFlags, parse};
use mesos_examples::hello::Hello;
use mesos_framework::scheduler::spawn_scheduler;

/// Flags of `hello`.
#[derive(Parser, Debug)]
#[command(name = "hello", about = "Run N command tasks on a Mesos cluster")]
struct Flags {
    #[command(flatten)]
    cluster: ClusterFlags,
    /// How many tasks.
    #[arg(long, env = "MESOS_TASKS", default_value_t = 3)]
    tasks: usize,
    /// The command each task runs.
    #[arg(long, env = "MESOS_COMMAND", default_value = "echo hello")]
    command: String,
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let flags: Flags = parse();
    mesos_framework::runtime::init_logging();
    actix_rt::System::new().block_on(async move {
        let node = mesos_framework::runtime::start_node()?;
        let hello = Hello::new(flags.tasks, &flags.command, flags.cluster.task_resources()?);
        let mut handle = spawn_scheduler(&node, flags.cluster.config("hello")?, hello)?;
        let (hello, status) = handle.join().await?;
        node.shutdown().await;
        println!("{} of {} tasks finished (driver {status:?})", hello.finished, hello.tasks);
        Ok(if hello.succeeded() {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::FAILURE
        })
    })
}
