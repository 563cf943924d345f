//! `mesos-agent`: one Mesos agent. See INTERFACES.md for its flags.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use libprocess::Node;
use mesos_agent::agent::{Agent, prepare_recovery};
use mesos_agent::containerizer::PosixContainerizer;
use mesos_agent::flags::Flags;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let flags = match Flags::try_parse() {
        Ok(flags) => flags,
        Err(error) => {
            let code = if error.use_stderr() { 1 } else { 0 };
            // Printing can only fail if stderr is closed; the exit code still tells.
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let address = SocketAddr::new(flags.ip, flags.port);
    let config = match flags.into_config() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("mesos-agent: {error}");
            return ExitCode::from(1);
        }
    };
    let recovered = match prepare_recovery(&config) {
        Ok(recovered) => recovered,
        Err(error) => {
            eprintln!("mesos-agent: cannot recover from --work_dir: {error}");
            return ExitCode::from(1);
        }
    };
    actix_rt::System::new().block_on(async move {
        let node = match Node::builder(address).start() {
            Ok(node) => node,
            Err(error) => {
                eprintln!("mesos-agent: cannot listen on {address}: {error}");
                return ExitCode::from(1);
            }
        };
        node.set_default_process("slave(1)");
        let agent = Agent::new(config, Box::new(PosixContainerizer::new()), recovered);
        let agent = match node.spawn("slave(1)", agent) {
            Ok(agent) => agent,
            Err(error) => {
                eprintln!("mesos-agent: {error}");
                return ExitCode::from(1);
            }
        };
        tracing::info!(pid = %agent.pid(), "agent started");
        node.wait(agent.pid()).await;
        node.shutdown().await;
        ExitCode::SUCCESS
    })
}
