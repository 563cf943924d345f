//! `mesos-executor`: the command executor the agent starts for command tasks.
//! Configured entirely by the environment the agent sets (`MESOS_SLAVE_PID`, ...).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use libprocess::Node;
use mesos_agent::executor::{CommandExecutor, ExecutorEnv, PosixTaskRunner};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("mesos-executor: the command executor; started by mesos-agent with MESOS_* environment variables.");
        return ExitCode::SUCCESS;
    }
    let env = match ExecutorEnv::from_env(|name| std::env::var(name).ok()) {
        Ok(env) => env,
        Err(error) => {
            eprintln!("mesos-executor: {error}");
            return ExitCode::from(1);
        }
    };
    let ip: IpAddr = std::env::var("LIBPROCESS_IP").ok().and_then(|ip| ip.parse().ok()).unwrap_or(env.agent.address().ip());
    actix_rt::System::new().block_on(async move {
        let node = match Node::builder(SocketAddr::new(ip, 0)).start() {
            Ok(node) => node,
            Err(error) => {
                eprintln!("mesos-executor: cannot listen: {error}");
                return ExitCode::from(1);
            }
        };
        let id = node.generate_id("executor");
        let executor = match node.spawn(id, CommandExecutor::new(env, Box::new(PosixTaskRunner))) {
            Ok(executor) => executor,
            Err(error) => {
                eprintln!("mesos-executor: {error}");
                return ExitCode::from(1);
            }
        };
        node.wait(executor.pid()).await;
        node.shutdown().await;
        ExitCode::SUCCESS
    })
}
