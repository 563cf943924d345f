//! `pi-executor`: the executor of the `batch` example (started by the agent).

use mesos_examples::batch::PiExecutor;

fn main() -> anyhow::Result<()> {
    mesos_framework::runtime::init_logging();
    let status = actix_rt::System::new()
        .block_on(mesos_framework::executor::run_executor(PiExecutor::default()))?;
    tracing::info!(?status, "pi-executor done");
    Ok(())
}
