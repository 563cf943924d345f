//! `ping-executor`: the executor of the `ping` example (started by the agent).

use mesos_examples::ping::PingExecutor;

fn main() -> anyhow::Result<()> {
    mesos_framework::runtime::init_logging();
    let status = actix_rt::System::new()
        .block_on(mesos_framework::executor::run_executor(PingExecutor::default()))?;
    tracing::info!(?status, "ping-executor done");
    Ok(())
}
