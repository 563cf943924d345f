//! `keeper`: keep N copies of a command running. Ctrl-C stops the scheduler but leaves
//! its tasks running (failover); start it again with the same `--state_file` and it takes
//! them back. `curl -X POST <master>/master/teardown -d frameworkId=<id>` ends it all.
//!
//! ```text
//! keeper --master=127.0.0.1:5050 --instances=2 --command='sleep 1000' --state_file=/tmp/keeper.id
//! ```

use std::path::PathBuf;

use clap::Parser;
use mesos_examples::flags::{ClusterFlags, parse};
use mesos_examples::keeper::{Keeper, KeeperConfig};
use mesos_framework::scheduler::spawn_scheduler;

/// Flags of `keeper`.
#[derive(Parser, Debug)]
#[command(name = "keeper", about = "Keep N instances of a command running on a Mesos cluster")]
struct Flags {
    #[command(flatten)]
    cluster: ClusterFlags,
    /// How many copies to keep running.
    #[arg(long, env = "MESOS_INSTANCES", default_value_t = 2)]
    instances: usize,
    /// The command.
    #[arg(long, env = "MESOS_COMMAND", default_value = "sleep 1000")]
    command: String,
    /// Where the FrameworkID is kept between runs.
    #[arg(long = "state_file", env = "MESOS_STATE_FILE", default_value = "keeper.framework_id")]
    state_file: PathBuf,
    /// How long the master keeps the tasks while no keeper runs (Mesos duration).
    #[arg(long = "failover_timeout", env = "MESOS_FAILOVER_TIMEOUT", default_value = "1weeks",
          value_parser = |s: &str| libprocess::duration::parse_duration(s).map_err(|e| e.to_string()))]
    failover_timeout: std::time::Duration,
}

fn main() -> anyhow::Result<()> {
    let flags: Flags = parse();
    mesos_framework::runtime::init_logging();
    actix_rt::System::new().block_on(async move {
        let node = mesos_framework::runtime::start_node()?;
        let mut config = flags.cluster.config("keeper")?;
        config.framework.failover_timeout = Some(flags.failover_timeout.as_secs_f64());
        config.framework.checkpoint = Some(true);
        config.framework.id = Keeper::saved_framework_id(&flags.state_file);
        if let Some(id) = &config.framework.id {
            println!("taking over framework {}", id.value);
        }
        let keeper = Keeper::new(KeeperConfig {
            instances: flags.instances,
            command: flags.command,
            resources: flags.cluster.task_resources()?,
            state_file: Some(flags.state_file),
        });
        let mut handle = spawn_scheduler(&node, config, keeper)?;
        let ended = tokio::select! {
            _ = tokio::signal::ctrl_c() => None,
            ended = handle.join() => Some(ended),
        };
        let ended = match ended {
            Some(ended) => ended,
            None => {
                println!("stopping; the tasks keep running until a keeper takes them back");
                handle.call(|_, driver| driver.stop(true)).await?;
                handle.join().await
            }
        };
        println!("driver ended: {:?}", ended?.1);
        node.shutdown().await;
        Ok(())
    })
}
